// Command ixpd is the Internet exchange appliance: route server, flow
// analytics and API in one daemon.
//
//	ixpd run -config FILE      start the appliance
//	ixpd check -config FILE    validate the config and members file (-dump prints the effective config)
//	ixpd report -config FILE -month YYYY-MM -format html|csv|json [-o FILE]
//	                           the regulator's monthly report
//	ixpd backup -config FILE -o FILE
//	                           a consistent copy of the DuckDB store, also while ixpd runs
//	ixpd restore -config FILE BACKUP
//	                           put a backup in place of the DuckDB store (ixpd stopped)
//	ixpd token -name NAME      make an API token and its config entry
//	ixpd version               print the version
package main

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/netip"
	"os"
	"os/signal"
	"runtime"
	"runtime/debug"
	"runtime/pprof"
	"syscall"
	"time"
	_ "time/tzdata" // ixp.time_zone works on hosts without a zoneinfo database

	"github.com/prometheus/client_golang/prometheus"
	"go.yaml.in/yaml/v3"

	"github.com/ixpd/ixpd/analytics/latency"
	"github.com/ixpd/ixpd/flow/enrich"
	"github.com/ixpd/ixpd/routeserver"
	"github.com/ixpd/ixpd/routeserver/members"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = ""

func main() {
	os.Exit(cli(os.Args[1:], os.Stdout, os.Stderr))
}

const usage = `usage: ixpd <command> [flags]

commands:
  run -config FILE           start the appliance (-cpuprofile, -memprofile FILE for profiling)
  check -config FILE [-dump] validate the config and members file; -dump prints the effective config
  replay -config FILE CAPTURE...
                             feed the flow datagrams in pcap/pcapng files through the collector into the store
  report -config FILE -month YYYY-MM [-format html|csv|json] [-o FILE]
                             the regulator's monthly report (from the store, or from the running ixpd's
                             API with the token in $IXPD_TOKEN when it holds the store)
  backup -config FILE -o FILE
                             write a consistent copy of the DuckDB store to FILE (from the running ixpd's
                             API with the token in $IXPD_TOKEN when it holds the store)
  restore -config FILE BACKUP
                             put BACKUP in place of the DuckDB store, migrated to this version; the store's
                             file is kept as <file>.before-restore-<time>; stop ixpd first
  token -name NAME           make a new API token and the config entry for it
  reflect -listen HOST:PORT [-delay D] [-loss F]
                             answer TWAMP-light test packets (RFC 5357), for latency probes to your network
  version                    print the version
`

// cli runs one subcommand and returns the exit code. Messages to stderr
// are best effort: the exit code already tells the outcome.
func cli(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		_, _ = fmt.Fprint(stderr, usage)
		return 2
	}
	fs := flag.NewFlagSet("ixpd "+args[0], flag.ContinueOnError)
	fs.SetOutput(stderr)
	configPath := fs.String("config", "/etc/ixpd/ixpd.yaml", "configuration file")
	var err error
	switch args[0] {
	case "run":
		cpuProfile := fs.String("cpuprofile", "", "write a CPU profile to this file until ixpd stops")
		memProfile := fs.String("memprofile", "", "write a heap profile to this file when ixpd stops")
		if err = fs.Parse(args[1:]); err != nil {
			return 2
		}
		err = withProfiles(*cpuProfile, *memProfile, func() error { return run(*configPath, stderr) })
	case "check":
		dump := fs.Bool("dump", false, "print the effective configuration with every default")
		if err = fs.Parse(args[1:]); err != nil {
			return 2
		}
		err = check(*configPath, *dump, stdout)
	case "report":
		month := fs.String("month", time.Now().UTC().AddDate(0, -1, 0).Format("2006-01"), "the month, YYYY-MM (default: the last full month, UTC)")
		format := fs.String("format", "html", "html, csv or json")
		out := fs.String("o", "", "write to this file instead of standard output")
		if err = fs.Parse(args[1:]); err != nil {
			return 2
		}
		err = monthlyReport(*configPath, *month, *format, *out, stdout, stderr)
	case "replay":
		if err = fs.Parse(args[1:]); err != nil {
			return 2
		}
		err = replay(*configPath, fs.Args(), stdout, stderr)
	case "backup":
		out := fs.String("o", "", "the backup file to write (replaced atomically)")
		if err = fs.Parse(args[1:]); err != nil {
			return 2
		}
		err = backup(*configPath, *out, stdout, stderr)
	case "restore":
		if err = fs.Parse(args[1:]); err != nil {
			return 2
		}
		err = restore(*configPath, fs.Args(), stdout, stderr)
	case "token":
		name := fs.String("name", "", "the token's name, e.g. noc")
		if err = fs.Parse(args[1:]); err != nil {
			return 2
		}
		err = token(*name, stdout)
	case "reflect":
		listen := fs.String("listen", "0.0.0.0:862", "UDP host:port to answer on")
		delay := fs.Duration("delay", 0, "delay added to every answer (for tests and demos)")
		loss := fs.Float64("loss", 0, "share of test packets dropped on purpose, 0 to 1 (for tests and demos)")
		seed := fs.Uint64("seed", 0, "seed for the drops (0: random)")
		if err = fs.Parse(args[1:]); err != nil {
			return 2
		}
		err = runReflector(*listen, latency.ReflectorOptions{Delay: *delay, Loss: *loss, Seed: *seed}, stderr)
	case "version", "-version", "--version":
		_, err = fmt.Fprintln(stdout, "ixpd", buildVersion())
	case "help", "-h", "-help", "--help":
		_, err = fmt.Fprint(stdout, usage)
	default:
		_, _ = fmt.Fprintf(stderr, "ixpd: unknown command %q\n%s", args[0], usage)
		return 2
	}
	if err != nil {
		_, _ = fmt.Fprintln(stderr, "ixpd:", err)
		return 1
	}
	return 0
}

// runReflector runs a TWAMP-light reflector until SIGINT or SIGTERM.
func runReflector(listen string, opts latency.ReflectorOptions, logOut io.Writer) error {
	logger := slog.New(slog.NewTextHandler(logOut, nil))
	r, err := latency.NewReflector(logger, opts)
	if err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	logger.Info("TWAMP-light reflector", "listen", listen, "delay", opts.Delay, "loss", opts.Loss)
	err = r.ListenAndServe(ctx, listen)
	st := r.Stats()
	logger.Info("reflector stopped", "received", st.Received, "reflected", st.Reflected, "dropped", st.Dropped, "malformed", st.Malformed)
	if errors.Is(err, context.Canceled) {
		return nil
	}
	return err
}

// withProfiles runs fn under the CPU profiler and writes a heap profile
// after it, when asked to.
func withProfiles(cpu, mem string, fn func() error) (err error) {
	if cpu != "" {
		f, ferr := os.Create(cpu)
		if ferr != nil {
			return fmt.Errorf("cpu profile: %w", ferr)
		}
		if perr := pprof.StartCPUProfile(f); perr != nil {
			_ = f.Close() // the StartCPUProfile error is the one to report
			return fmt.Errorf("cpu profile: %w", perr)
		}
		defer func() {
			pprof.StopCPUProfile()
			if cerr := f.Close(); cerr != nil {
				err = errors.Join(err, fmt.Errorf("cpu profile: %w", cerr))
			}
		}()
	}
	err = fn()
	if mem != "" {
		f, ferr := os.Create(mem)
		if ferr != nil {
			return errors.Join(err, fmt.Errorf("heap profile: %w", ferr))
		}
		runtime.GC()
		if werr := errors.Join(pprof.WriteHeapProfile(f), f.Close()); werr != nil {
			return errors.Join(err, fmt.Errorf("heap profile: %w", werr))
		}
	}
	return err
}

func buildVersion() string {
	if version != "" {
		return version
	}
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, s := range bi.Settings {
			if s.Key == "vcs.revision" && len(s.Value) >= 12 {
				return "dev-" + s.Value[:12]
			}
		}
		if bi.Main.Version != "" {
			return bi.Main.Version
		}
	}
	return "dev"
}

// loadMembers reads the members file named by the config.
func loadMembers(cfg Config) (*members.Set, error) {
	return members.Load(cfg.resolve(cfg.MembersFile), members.Options{
		PeeringLANs: []netip.Prefix(cfg.IXP.PeeringLAN),
		SchemaFile:  cfg.resolve(cfg.MembersSchema),
	})
}

// check validates the configuration and the members file and prints every
// problem.
func check(path string, dump bool, out io.Writer) error {
	cfg, err := loadConfigAndFiles(path)
	if err != nil {
		return err
	}
	set, err := loadMembers(cfg)
	if err != nil {
		return err
	}
	if err := routeserver.CheckData(cfg.routeServer()); err != nil {
		return err
	}
	ec, err := enrichConfig(cfg)
	if err != nil {
		return err
	}
	en, err := enrich.New(ec, set, nil, prometheus.NewRegistry())
	if err != nil {
		return err
	}
	for _, r := range en.RIRFiles() {
		for _, p := range r.Problems {
			if _, err := fmt.Fprintln(out, "warning:", p); err != nil {
				return err
			}
		}
	}
	if err := checkPasswords(cfg, set, out); err != nil {
		return err
	}
	if dump {
		return dumpConfig(cfg, out)
	}
	_, err = fmt.Fprintf(out, "%s: ok (%d members, %d route-server sessions)\n", path, len(set.Members), len(set.Sessions()))
	return err
}

// dumpConfig writes the effective configuration as YAML.
func dumpConfig(cfg Config, out io.Writer) error {
	if cfg.Storage.ClickHouse.Password != "" {
		cfg.Storage.ClickHouse.Password = "<redacted>" // the dump is for reading, not a copy of the secret
	}
	enc := yaml.NewEncoder(out)
	enc.SetIndent(2)
	if err := enc.Encode(cfg); err != nil {
		return fmt.Errorf("dump config: %w", err)
	}
	return enc.Close()
}

// token prints a new random token and the config entry that accepts it.
func token(name string, out io.Writer) error {
	if name == "" {
		return errors.New("token: -name is required (e.g. -name noc)")
	}
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return fmt.Errorf("token: %w", err)
	}
	tok := hex.EncodeToString(b)
	if _, err := fmt.Fprintf(out, "token: %s\n\nadd to the config file under api.tokens:\n  - {name: %s, sha256: %s}\n", tok, name, sha256hex(tok)); err != nil {
		return fmt.Errorf("token: %w", err)
	}
	return nil
}

func newLogger(cfg Log, w io.Writer) *slog.Logger {
	var lvl slog.Level
	_ = lvl.UnmarshalText([]byte(cfg.Level))
	opts := &slog.HandlerOptions{Level: lvl}
	if cfg.Format == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}

// replay feeds capture files through the flow pipeline into the store,
// with the capture's timestamps, and prints a summary.
func replay(path string, files []string, out, logOut io.Writer) error {
	if len(files) == 0 {
		return errors.New("replay: name at least one capture file")
	}
	cfg, err := LoadConfig(path)
	if err != nil {
		return err
	}
	if !cfg.Instance.primary() {
		return fmt.Errorf("replay: instance.role is %s, which writes no flows; replay with the primary's config", cfg.Instance.Role)
	}
	logger := newLogger(cfg.Log, logOut)
	set, err := loadMembers(cfg)
	if err != nil {
		return err
	}
	a := &app{cfg: cfg, logger: logger, reg: prometheus.NewRegistry()}
	if err := a.buildFlows(set, nil); err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := a.store.Migrate(ctx); err != nil {
		return errors.Join(fmt.Errorf("replay: %w", err), a.store.Close())
	}
	sum, err := a.flows.Replay(ctx, files)
	if cerr := a.store.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("replay: %w", err)
	}
	if _, err := fmt.Fprintln(out, sum.String()); err != nil {
		return err
	}
	for _, e := range sum.Exporters {
		if _, err := fmt.Fprintf(out, "  exporter %s %s role %s sampling %d: %d datagrams, %d flows, %d errors\n",
			e.Address, e.Protocol, e.Role, e.SamplingRate, e.Datagrams, e.Flows, e.Errors); err != nil {
			return err
		}
	}
	return nil
}

// run starts the appliance and serves until SIGINT or SIGTERM; SIGHUP
// reloads the members file and the route server's filter data.
func run(path string, logOut io.Writer) error {
	cfg, err := loadConfigAndFiles(path)
	if err != nil {
		return err
	}
	logger := newLogger(cfg.Log, logOut)
	slog.SetDefault(logger)

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	app, err := newApp(cfg, logger)
	if err != nil {
		return err
	}
	if err := app.start(ctx); err != nil {
		return err
	}
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	sd := serviceNotifier{logger: logger} // READY=1 after SIGHUP is handled: systemd may reload at once
	sd.ready(app.serviceStatus(nil))
	for {
		select {
		case <-ctx.Done():
			logger.Info("shutting down")
			sd.stopping()
			stopCtx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			return app.stop(stopCtx)
		case <-hup:
			sd.reloading()
			err := app.reload(ctx)
			if err != nil {
				logger.Error("reload incomplete: what could not be read stays as it was", "err", err)
			}
			sd.ready(app.serviceStatus(err))
		}
	}
}

func sha256hex(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])
}
