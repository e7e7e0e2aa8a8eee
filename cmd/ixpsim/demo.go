package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/ixpd/ixpd/analytics/latency"
)

// demoToken is the API token of the example configuration. It is public:
// deploy/examples/ixpd.yaml accepts it so that the demo can show the
// member-level endpoints. Never accept it on a real exchange.
const demoToken = "sixp-demo-only-not-a-secret"

// demoOptions are the flags of ixpsim demo.
type demoOptions struct {
	config   string
	ixpdBin  string
	ixpdLog  string
	bgp      demoBGPOptions
	flows    demoFlowOptions
	ixpDelay time.Duration
	trDelay  time.Duration
	trLoss   float64
	duration time.Duration
	status   time.Duration
	token    string
}

func parseDemoFlags(args []string, stderr io.Writer) (*demoOptions, error) {
	o := &demoOptions{}
	fs := flag.NewFlagSet("demo", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		_, _ = fmt.Fprint(stderr, `usage: ixpsim demo [flags]

Plays the exchange of an ixpd configuration file on 127.0.0.x: a BGP
speaker for every route-server session of its members file, announcing
real prefix/origin pairs; the exchange's switch exporting sFlow v5 samples
between members along a diurnal curve; members' edge routers exporting
IPFIX with domestic and foreign traffic over IXP and transit interfaces;
and TWAMP-light reflectors for its latency targets, IXP-like and
transit-like. With -ixpd it starts ixpd on the same file first and stops
it on Ctrl-C. The same -seed gives the same announcements and, for the
same rates and duration, the same flows.

`)
		fs.PrintDefaults()
	}
	fs.StringVar(&o.config, "config", "deploy/examples/ixpd.yaml", "ixpd `configuration` to play")
	fs.StringVar(&o.ixpdBin, "ixpd", "", "ixpd `binary` to start with -config (\"\": an ixpd already runs)")
	fs.StringVar(&o.ixpdLog, "ixpd-log", "", "ixpd's log `file` (default data/ixpd-demo.log beside the config)")
	fs.Uint64Var(&o.bgp.seed, "seed", 1, "seed of announcements and traffic")
	fs.IntVar(&o.bgp.prefixes, "prefixes", 60, "prefixes per member and family (at most 3/4 of the session's max_prefix)")
	fs.IntVar(&o.bgp.filtered, "filtered", 1, "bad IPv4 routes per member, for the route server to filter")
	fs.Float64Var(&o.flows.sflowRate, "sflow-rate", 64, "switch samples per second at the diurnal mean")
	fs.Float64Var(&o.flows.ipfixRate, "ipfix-rate", 16, "IPFIX records per second per edge router at the diurnal mean")
	switchRate := fs.Uint("switch-sampling", 0, "sFlow sampling rate (0: the exporter's sampling_rate, else 2048)")
	edgeRate := fs.Uint("edge-sampling", 0, "IPFIX sampling rate (0: the exporter's sampling_rate, else 1000)")
	fs.DurationVar(&o.flows.period, "period", 24*time.Hour, "length of one day of the diurnal curve")
	fs.Float64Var(&o.flows.startHour, "start-hour", 18, "hour of the curve at the start (0-24)")
	fs.DurationVar(&o.flows.tick, "tick", 100*time.Millisecond, "flow generator step")
	fs.DurationVar(&o.ixpDelay, "ixp-delay", 2*time.Millisecond, "delay of the reflectors of path: ixp targets")
	fs.DurationVar(&o.trDelay, "transit-delay", 150*time.Millisecond, "delay of the reflectors of path: transit targets")
	fs.Float64Var(&o.trLoss, "transit-loss", 0.005, "share of probes the transit reflectors drop")
	fs.DurationVar(&o.duration, "duration", 0, "stop after sending this long's flows (0: at Ctrl-C)")
	fs.DurationVar(&o.status, "status", 15*time.Second, "print what the API shows this often (0: never)")
	fs.StringVar(&o.token, "token", demoToken, "API token for the member-level endpoints")
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("demo: unexpected argument %q", fs.Arg(0))
	}
	o.flows.seed = o.bgp.seed
	o.flows.switchSampling, o.flows.edgeSampling = uint32(*switchRate), uint32(*edgeRate)
	switch {
	case o.bgp.prefixes < 0:
		return nil, fmt.Errorf("demo: -prefixes %d is negative", o.bgp.prefixes)
	case o.flows.sflowRate < 0 || o.flows.ipfixRate < 0:
		return nil, errors.New("demo: rates must not be negative")
	case o.flows.period <= 0 || o.flows.tick <= 0 || o.flows.tick > time.Minute:
		return nil, errors.New("demo: -period must be positive and -tick between 0 and 1m")
	case o.flows.startHour < 0 || o.flows.startHour >= 24:
		return nil, fmt.Errorf("demo: -start-hour %v is outside 0-24", o.flows.startHour)
	}
	return o, nil
}

// demoLog prints the demo's lines, one writer at a time.
type demoLog struct {
	mu    sync.Mutex
	w     io.Writer
	start time.Time
}

func (l *demoLog) printf(format string, args ...any) {
	l.mu.Lock()
	defer l.mu.Unlock()
	el := time.Since(l.start).Truncate(time.Second)
	_, _ = fmt.Fprintf(l.w, "[%3d:%02d] %s\n", int(el.Minutes()), int(el.Seconds())%60, fmt.Sprintf(format, args...)) // best effort, like a logger
}

func (l *demoLog) lines(s string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	_, _ = io.WriteString(l.w, s) // best effort
}

// demoCmd is the demo subcommand.
func demoCmd(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	o, err := parseDemoFlags(args, stderr)
	if err != nil {
		return err
	}
	return runDemo(ctx, o, stdout)
}

// runDemo plays the exchange until ctx ends or -duration passes, then
// stops everything it started, ixpd last.
func runDemo(ctx context.Context, o *demoOptions, stdout io.Writer) error {
	x, err := loadDemoExchange(o.config)
	if err != nil {
		return err
	}
	routes, err := parseDemoRoutes(demoRoutesFile)
	if err != nil {
		return err
	}
	out := &demoLog{w: stdout, start: time.Now()}
	plans := planAnnouncements(x, routes, o.bgp)
	gen, notes := newTrafficGen(x, plans, o.flows)

	runCtx, cancel := context.WithCancel(ctx)
	defer cancel()

	// What must be up before ixpd: the reflectors and the sockets on which
	// members wait for the route server.
	refl, err := startReflectors(runCtx, x, o)
	if err != nil {
		cancel()
		refl.wait()
		return err
	}
	speakers := &demoSpeakers{x: x, plans: plans, out: out}
	lns := speakers.listen()
	var ixpd *rsProcess
	if o.ixpdBin != "" {
		ixpd, err = startDemoIXPD(runCtx, o, x, out)
	}
	sender := &demoSender{g: gen, sflowTo: x.sflowTo, ipfix: x.netflowTo}
	if err == nil {
		err = sender.open()
	}
	if err != nil {
		cancel()
		for _, ln := range lns {
			_ = ln.Close() // never served
		}
		refl.wait()
		if ixpd != nil {
			stopDemoIXPD(ixpd, out)
		}
		return err
	}
	printDemoBanner(out, o, x, plans, gen, notes, ixpd)

	speakers.run(runCtx, lns)
	// -duration counts from here, in ticks, so that it always sends the
	// same flows.
	var wg sync.WaitGroup
	flowsDone := make(chan struct{})
	wg.Go(func() {
		defer close(flowsDone)
		sender.run(runCtx, int(o.duration/o.flows.tick))
	})
	if o.status > 0 {
		st := &demoStatus{x: x, token: o.token, out: out}
		wg.Go(func() { st.loop(runCtx, o.status) })
	}
	var exited <-chan struct{} // nil: never
	if ixpd != nil {
		exited = ixpd.exited
	}
	var ixpdErr error
	select {
	case <-flowsDone: // -duration is over, or ctx ended
	case <-runCtx.Done():
	case <-exited:
		ixpdErr = fmt.Errorf("ixpd stopped: %w", ixpd.exitError())
	}
	if ixpdErr == nil {
		what := "flows, BGP sessions, reflectors"
		if ixpd != nil {
			what += ", then ixpd"
		}
		out.printf("stopping: %s", what)
	}
	cancel()
	// Members first, then the exchange.
	wg.Wait()
	speakers.wait()
	sender.close()
	refl.wait()
	if ixpd != nil {
		stopDemoIXPD(ixpd, out)
	}
	t := gen.totals
	out.printf("sent %d sFlow samples (%s sampled) in %d datagrams, %d IPFIX records (%s) in %d messages; %d send errors",
		t.SFlowSamples, humanBytes(t.SFlowBytes), t.SFlowDatagrams, t.IPFIXRecords, humanBytes(t.IPFIXBytes), t.IPFIXMessages, sender.sendErrors)
	return ixpdErr
}

// demoReflectors are the TWAMP-light reflectors of the latency targets.
type demoReflectors struct{ wg sync.WaitGroup }

func (r *demoReflectors) wait() { r.wg.Wait() }

// startReflectors answers every TWAMP target of x: IXP-like or
// transit-like by its path. They stop when ctx ends; wait waits for them,
// also after an error.
func startReflectors(ctx context.Context, x *demoExchange, o *demoOptions) (*demoReflectors, error) {
	r := &demoReflectors{}
	logger := slog.New(slog.DiscardHandler)
	for i, t := range x.targets {
		opts := latency.ReflectorOptions{Delay: o.ixpDelay, Seed: o.bgp.seed + uint64(i) + 1}
		if t.path == "transit" {
			opts.Delay, opts.Loss = o.trDelay, o.trLoss
		}
		refl, err := latency.NewReflector(logger, opts)
		if err != nil {
			return r, fmt.Errorf("reflector %s: %w", t.name, err)
		}
		// Bind now, so that a busy address is an error here.
		ready := make(chan error, 1)
		r.wg.Go(func() {
			err := refl.ListenAndServe(ctx, t.addr.String())
			select {
			case ready <- err:
			default:
			}
		})
		select {
		case err := <-ready:
			if ctx.Err() == nil {
				return r, fmt.Errorf("reflector %s on %s: %w", t.name, t.addr, err)
			}
		case <-time.After(100 * time.Millisecond):
		}
	}
	return r, nil
}

// startDemoIXPD starts ixpd on the demo's configuration and waits for its
// API.
func startDemoIXPD(ctx context.Context, o *demoOptions, x *demoExchange, out *demoLog) (*rsProcess, error) {
	bin, err := filepath.Abs(o.ixpdBin)
	if err != nil {
		return nil, err
	}
	if _, err := os.Stat(bin); err != nil {
		return nil, fmt.Errorf("%w (build it with: make build)", err)
	}
	conf, err := filepath.Abs(o.config)
	if err != nil {
		return nil, err
	}
	logPath := o.ixpdLog
	if logPath == "" {
		logPath = filepath.Join(filepath.Dir(conf), "data", "ixpd-demo.log")
	}
	if err := os.MkdirAll(filepath.Dir(logPath), 0o755); err != nil {
		return nil, err
	}
	p, err := startProcess(bin, []string{"run", "-config", conf}, filepath.Dir(conf), logPath)
	if err != nil {
		return nil, err
	}
	out.printf("ixpd pid %d started: %s run -config %s (log: %s)", p.pid(), o.ixpdBin, o.config, logPath)
	url := "http://" + x.api.String() + "/healthz"
	if err := p.waitReady(ctx, time.Minute, 100*time.Millisecond, func() error { return httpOK(ctx, url) }); err != nil {
		p.stop()
		return nil, fmt.Errorf("ixpd did not come up: %w", err)
	}
	return p, nil
}

// stopDemoIXPD stops ixpd as Ctrl-C would: SIGINT to its process group,
// SIGKILL after 30 seconds, and SIGKILL to anything left in the group.
func stopDemoIXPD(p *rsProcess, out *demoLog) {
	select {
	case <-p.exited:
	default:
		_ = syscall.Kill(-p.pid(), syscall.SIGINT) // ESRCH: already gone, and p.exited says so
		select {
		case <-p.exited:
		case <-time.After(30 * time.Second):
			out.printf("ixpd did not stop within 30 s: killing it")
			_ = syscall.Kill(-p.pid(), syscall.SIGKILL)
			<-p.exited
		}
	}
	_ = syscall.Kill(-p.pid(), syscall.SIGKILL) // strays in its group, if any
	if p.waitErr != nil {
		out.printf("ixpd stopped: %v (log: %s)", p.waitErr, p.log)
		return
	}
	out.printf("ixpd stopped (log: %s)", p.log)
}

// printDemoBanner says what the demo plays and how to look at it.
func printDemoBanner(out *demoLog, o *demoOptions, x *demoExchange, plans []sessionPlan, g *trafficGen, notes []string, ixpd *rsProcess) {
	var b strings.Builder
	w := func(format string, args ...any) { fmt.Fprintf(&b, format+"\n", args...) }
	api := "http://" + x.api.String()
	w("")
	w("ixpsim demo: %s, seed %d", x.name, o.bgp.seed)
	w("  BGP      %d sessions to AS%d:", len(plans), x.rsASN)
	for _, l := range describePlans(plans) {
		w("             %s", l)
	}
	if g.sw != nil {
		w("  sFlow    switch %s → %s: %d member ports, %.0f samples/s at the daily mean, 1:%d", g.sw.agent, x.sflowTo, len(g.sw.ports), o.flows.sflowRate, g.sw.rate)
	}
	for _, e := range g.edges {
		w("  IPFIX    edge router %s of AS%d → %s: %.0f records/s at the daily mean, 1:%d", e.exporter, e.asn, x.netflowTo, o.flows.ipfixRate, e.rate)
	}
	for _, t := range x.targets {
		d := o.ixpDelay
		if t.path == "transit" {
			d = o.trDelay
		}
		w("  TWAMP    %s reflector on %s (%s path, +%s)", t.name, t.addr, t.path, d)
	}
	w("  curve    one day every %s, starting at %02.0f:00 of the curve", o.flows.period, o.flows.startHour)
	for _, n := range notes {
		w("  note     %s", n)
	}
	w("")
	w("Dashboard: %s/   (member pages ask for the token below)", api)
	w("API:       %s/api/v1/…   (JSON; described at %s/api/v1/openapi.json)", api, api)
	if x.bwListen != "" {
		w("Alice-LG:  http://%s/  (birdwatcher-compatible endpoints)", x.bwListen)
	}
	w("Try:")
	w("  curl -s %s/api/v1/routeserver/neighbors", api)
	w("  curl -s %s/api/v1/traffic/summary", api)
	w("  curl -s '%s/api/v1/savings?month=%s'", api, time.Now().UTC().Format("2006-01"))
	w("  curl -s %s/api/v1/latency", api)
	sum := sha256.Sum256([]byte(o.token))
	if name, ok := x.tokenNames[hex.EncodeToString(sum[:])]; ok {
		tag := ""
		if o.token == demoToken {
			tag = "   # DEMO ONLY: this token is public; never accept it on a real exchange"
		}
		w("  TOKEN=%s%s", o.token, tag)
		w("  curl -s -H \"Authorization: Bearer $TOKEN\" %s/api/v1/traffic/matrix     # token %q", api, name)
		w("  curl -s -H \"Authorization: Bearer $TOKEN\" %s/api/v1/domestic", api)
		w("  curl -s -H \"Authorization: Bearer $TOKEN\" '%s/api/v1/reports/monthly/%s?format=html' > report.html", api, time.Now().UTC().Format("2006-01"))
	} else {
		w("  (the config accepts no -token given here: /traffic/matrix and /domestic need one of its tokens)")
	}
	if ixpd != nil {
		w("Ctrl-C stops the demo and ixpd.")
	} else {
		w("Ctrl-C stops the demo.")
	}
	w("")
	out.lines(b.String())
}

// humanBytes formats a byte count with a decimal unit.
func humanBytes(n uint64) string {
	v, units := float64(n), []string{"B", "kB", "MB", "GB", "TB", "PB"}
	i := 0
	for v >= 1000 && i < len(units)-1 {
		v /= 1000
		i++
	}
	return fmt.Sprintf("%.1f %s", v, units[i])
}
