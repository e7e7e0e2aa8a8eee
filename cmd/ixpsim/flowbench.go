package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// flow-bench targets.
const (
	targetGoflow2      = "goflow2"
	targetIXPDDuckDB   = "ixpd-duckdb"
	targetIXPDClickHse = "ixpd-clickhouse"
	goflow2Module      = "github.com/netsampler/goflow2/v2/cmd/goflow2@v2.2.6"
	flowsPerDatagram   = 8
)

// flowAnchors are the targets ixpd's are compared with, in a ratio of
// flows per CPU-second at the same offered rate and run.
var flowAnchors = []string{targetGoflow2, targetSfacctd, targetNfacctd}

func isIXPDTarget(t string) bool { return t == targetIXPDDuckDB || t == targetIXPDClickHse }

// flowBenchOptions are flow-bench's flags.
type flowBenchOptions struct {
	targets      []string
	rates        []float64 // offered flows per second
	duration     time.Duration
	runs         int
	json         bool
	ixpdBin      string
	goflow2Bin   string
	sfacctdBin   string
	nfacctdBin   string
	clickhouse   string
	batchSize    int
	workers      int
	ipfixShare   float64
	flood        time.Duration
	floodRSSCap  int64
	profileDir   string
	keep         bool
	drainTimeout time.Duration
	drainQuiet   time.Duration
}

func parseFlowBenchFlags(args []string, stderr io.Writer) (*flowBenchOptions, error) {
	o := &flowBenchOptions{}
	fs := flag.NewFlagSet("flow-bench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		_, _ = fmt.Fprint(stderr, `usage: ixpsim flow-bench [flags]

Sends the same sFlow v5 stream (8 samples per datagram, from an
"ixpsim flow-send" child process) at each offered rate to each target in
turn: goflow2 v2.2.6 decoding to /dev/null, pmacct's sfacctd writing CSV to
a file, ixpd storing into DuckDB, ixpd storing into a private ClickHouse
server. With -ipfix-share 1 the stream is IPFIX, and pmacct's nfacctd
takes it in sfacctd's place. Reports flows accepted (decoded for goflow2,
written to the file for pmacct, to the store for ixpd), loss, CPU seconds,
peak RSS and flows per CPU-second, with -runs N the median of N runs, and
ixpd's flows per CPU-second over each anchor's; then floods ixpd to show
its memory stays bounded.

`)
		fs.PrintDefaults()
	}
	var targets, rates string
	var floodCapMiB int64
	fs.StringVar(&targets, "targets", "goflow2,sfacctd,ixpd-duckdb,ixpd-clickhouse", "targets to run, in order: goflow2, sfacctd (sFlow only), nfacctd (with -ipfix-share 1), ixpd-duckdb, ixpd-clickhouse")
	fs.StringVar(&rates, "rates", "50k,100k,200k,400k", "offered flows per second, comma separated (k = ×1000); datagrams/s = rate/8")
	fs.DurationVar(&o.duration, "duration", 15*time.Second, "sending time per target and rate")
	fs.IntVar(&o.runs, "runs", 1, "runs of every target and rate; figures are the median, ratios the median of each run's")
	fs.BoolVar(&o.json, "json", false, "print results as JSON")
	fs.StringVar(&o.ixpdBin, "ixpd", "bin/ixpd", "ixpd binary")
	fs.StringVar(&o.goflow2Bin, "goflow2", "", "goflow2 binary; \"\" builds "+goflow2Module+" into a cache folder")
	fs.StringVar(&o.sfacctdBin, "sfacctd", "sfacctd", "pmacct's sfacctd binary")
	fs.StringVar(&o.nfacctdBin, "nfacctd", "nfacctd", "pmacct's nfacctd binary")
	fs.StringVar(&o.clickhouse, "clickhouse", "", "clickhouse-server binary (\"\": found on $PATH or /usr/sbin)")
	fs.IntVar(&o.batchSize, "batch-size", 100000, "ixpd flow.batch_size")
	fs.IntVar(&o.workers, "workers", 2, "ixpd flow.workers")
	fs.Float64Var(&o.ipfixShare, "ipfix-share", 0, "share of the offered datagrams sent as IPFIX (0..1) from 127.0.0.20; 1: IPFIX only")
	fs.DurationVar(&o.flood, "flood", 20*time.Second, "flood each ixpd target this long at the sender's full speed (0: no flood)")
	fs.Int64Var(&floodCapMiB, "flood-rss-cap", 1024, "ixpd's RSS must stay under this many MiB in the flood")
	fs.StringVar(&o.profileDir, "ixpd-cpuprofile", "", "write a CPU profile of each ixpd run into `dir`")
	fs.BoolVar(&o.keep, "keep", false, "keep each run's directory")
	fs.DurationVar(&o.drainTimeout, "drain-timeout", 2*time.Minute, "longest wait for a target to finish after the sender stops")
	fs.DurationVar(&o.drainQuiet, "drain-quiet", 3*time.Second, "a target has finished when its count has not moved for this long (ixpd and pmacct write every second)")
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("flow-bench: unexpected argument %q", fs.Arg(0))
	}
	for _, t := range strings.Split(targets, ",") {
		switch t = strings.TrimSpace(t); t {
		case targetGoflow2, targetSfacctd, targetNfacctd, targetIXPDDuckDB, targetIXPDClickHse:
			if slices.Contains(o.targets, t) {
				return nil, fmt.Errorf("-targets: %s twice", t)
			}
			o.targets = append(o.targets, t)
		case "":
		default:
			return nil, fmt.Errorf("-targets: unknown target %q (want %s, %s, %s, %s, %s)", t,
				targetGoflow2, targetSfacctd, targetNfacctd, targetIXPDDuckDB, targetIXPDClickHse)
		}
	}
	if len(o.targets) == 0 {
		return nil, errors.New("-targets: none given")
	}
	for _, r := range strings.Split(rates, ",") {
		r = strings.TrimSpace(r)
		mult := 1.0
		if s, ok := strings.CutSuffix(r, "k"); ok {
			r, mult = s, 1000
		}
		v, err := strconv.ParseFloat(r, 64)
		if err != nil || v <= 0 {
			return nil, fmt.Errorf("-rates: bad rate %q", r)
		}
		o.rates = append(o.rates, v*mult)
	}
	if o.duration <= 0 {
		return nil, errors.New("-duration must be positive")
	}
	if o.ipfixShare < 0 || o.ipfixShare > 1 {
		return nil, fmt.Errorf("-ipfix-share %g: want 0..1", o.ipfixShare)
	}
	if slices.Contains(o.targets, targetSfacctd) && o.ipfixShare != 0 {
		return nil, fmt.Errorf("-targets %s takes sFlow only: needs -ipfix-share 0, not %g", targetSfacctd, o.ipfixShare)
	}
	if slices.Contains(o.targets, targetNfacctd) && o.ipfixShare != 1 {
		return nil, fmt.Errorf("-targets %s takes IPFIX only: needs -ipfix-share 1, not %g", targetNfacctd, o.ipfixShare)
	}
	if o.runs < 1 {
		return nil, fmt.Errorf("-runs %d: need at least 1", o.runs)
	}
	if o.drainQuiet <= 0 {
		return nil, fmt.Errorf("-drain-quiet %s: need a positive duration", o.drainQuiet)
	}
	o.floodRSSCap = floodCapMiB << 20
	return o, nil
}

// flowRun is one target at one offered rate.
type flowRun struct {
	Target          string             `json:"target"`
	Run             int                `json:"run"`
	Flood           bool               `json:"flood,omitempty"`
	OfferedFlowRate float64            `json:"offered_flows_per_second"` // 0 in a flood: as fast as the sender goes
	Sent            sendReport         `json:"sent"`
	Accepted        int64              `json:"accepted_flows"`
	AcceptedRate    float64            `json:"accepted_flows_per_second"`
	Loss            int64              `json:"loss_flows"`
	LossPercent     float64            `json:"loss_percent"`
	Drops           map[string]float64 `json:"drops,omitempty"` // ixpd's counters by kind and reason
	KernelDrops     int64              `json:"kernel_rcvbuf_drops"`
	CPUSeconds      float64            `json:"cpu_seconds"`
	// CPUSource is where CPUSeconds comes from: "cgroup" (every process
	// the target ran) or "proc" (its process group's utime and stime,
	// without forked children nobody waited for).
	CPUSource       string  `json:"cpu_source"`
	PeakRSS         int64   `json:"peak_rss_bytes"`
	FlowsPerCPU     float64 `json:"flows_per_cpu_second"`
	StoreCPUSeconds float64 `json:"store_cpu_seconds,omitempty"` // clickhouse-server
	StoreRows       int64   `json:"store_rows,omitempty"`        // rows in ClickHouse, as a check
	DrainSeconds    float64 `json:"drain_seconds"`
	MaxRSSSeen      int64   `json:"max_rss_seen_bytes,omitempty"` // flood: VmRSS sampled every 100 ms
	Survived        bool    `json:"survived"`
	Profile         string  `json:"cpu_profile,omitempty"`
	Error           string  `json:"error,omitempty"`
}

// flowBench holds what lives across runs.
type flowBench struct {
	o        *flowBenchOptions
	self     string // this executable, for flow-send
	root     string // temporary folder of the whole bench
	ch       *chServer
	chRun    int
	stderr   io.Writer
	senderC  sendReport // the sender's own ceiling
	noCgroup string     // why CPU time comes from /proc, once known
	seq      int        // runs started, for unique names
}

func flowBenchCmd(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	o, err := parseFlowBenchFlags(args, stderr)
	if err != nil {
		return err
	}
	rep, err := runFlowBench(ctx, o, stderr)
	if err != nil {
		return err
	}
	if o.json {
		return rep.writeJSON(stdout)
	}
	return rep.writeTable(stdout)
}

// runFlowBench runs every target at every rate o.runs times (in each run
// the targets one after the other at each rate, so that a target and its
// anchors are measured close in time), then floods the ixpd targets.
func runFlowBench(ctx context.Context, o *flowBenchOptions, stderr io.Writer) (*flowReport, error) {
	self, err := os.Executable()
	if err != nil {
		return nil, err
	}
	root, err := os.MkdirTemp("", "ixpsim-flow-bench-")
	if err != nil {
		return nil, err
	}
	b := &flowBench{o: o, self: self, root: root, stderr: stderr}
	defer func() {
		if b.ch != nil {
			b.ch.proc.stop()
		}
		if !o.keep {
			_ = os.RemoveAll(root)
		} else {
			_, _ = fmt.Fprintf(stderr, "flow-bench: kept %s\n", root)
		}
	}()
	if err := b.prepare(ctx); err != nil {
		return nil, err
	}
	b.logf("sender ceiling: %.0f flows/s (%.0f datagrams/s) on %.2f CPU s in %.1f s",
		b.senderC.FlowRate, b.senderC.DgramRate, b.senderC.CPUSeconds, b.senderC.Seconds)
	var runs []flowRun
	for run := 1; run <= o.runs; run++ {
		for _, rate := range o.rates {
			for _, t := range o.targets {
				if ctx.Err() != nil {
					return nil, ctx.Err()
				}
				r := b.run(ctx, t, run, rate, o.duration, false)
				b.logRun(&r)
				runs = append(runs, r)
			}
		}
	}
	if o.flood > 0 {
		for _, t := range o.targets {
			if !isIXPDTarget(t) || ctx.Err() != nil {
				continue
			}
			r := b.run(ctx, t, 1, 0, o.flood, true)
			b.logRun(&r)
			runs = append(runs, r)
		}
	}
	if ctx.Err() != nil {
		return nil, ctx.Err()
	}
	if b.noCgroup != "" {
		b.logf("CPU time from /proc (process group), not a cgroup: %s", b.noCgroup)
	}
	return newFlowReport(b, runs), nil
}

func (b *flowBench) logf(format string, args ...any) {
	_, _ = fmt.Fprintf(b.stderr, "flow-bench: "+format+"\n", args...)
}

func (b *flowBench) logRun(r *flowRun) {
	if r.Error != "" {
		b.logf("%s run %d at %.0f flows/s: %s", r.Target, r.Run, r.OfferedFlowRate, r.Error)
		return
	}
	b.logf("%s run %d offered %.0f sent %.0f flows/s: accepted %d (%.0f/s), loss %.2f%%, CPU %.2f s, %.0f flows/CPU-s, peak RSS %.1f MiB",
		r.Target, r.Run, r.OfferedFlowRate, r.Sent.FlowRate, r.Accepted, r.AcceptedRate, r.LossPercent, r.CPUSeconds, r.FlowsPerCPU, float64(r.PeakRSS)/mib)
	if r.Target == targetIXPDClickHse {
		b.logf("  clickhouse-server: %.2f CPU s, %d rows in the flows table", r.StoreCPUSeconds, r.StoreRows)
	}
}

// prepare checks and builds the programs, starts ClickHouse and measures
// the sender alone.
func (b *flowBench) prepare(ctx context.Context) error {
	o := b.o
	if slices.Contains(o.targets, targetIXPDDuckDB) || slices.Contains(o.targets, targetIXPDClickHse) {
		if _, err := os.Stat(o.ixpdBin); errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("%s: %w (build it with: go build -o bin/ixpd ./cmd/ixpd)", o.ixpdBin, errNoBinary)
		}
		abs, err := filepath.Abs(o.ixpdBin)
		if err != nil {
			return err
		}
		o.ixpdBin = abs
	}
	if slices.Contains(o.targets, targetGoflow2) && o.goflow2Bin == "" {
		bin, err := buildGoflow2(ctx, b.stderr)
		if err != nil {
			return err
		}
		o.goflow2Bin = bin
	}
	for _, p := range []struct {
		target string
		bin    *string
	}{{targetSfacctd, &o.sfacctdBin}, {targetNfacctd, &o.nfacctdBin}} {
		if !slices.Contains(o.targets, p.target) {
			continue
		}
		bin, err := exec.LookPath(*p.bin)
		if err != nil {
			return fmt.Errorf("%s: %w (Debian: apt-get install pmacct)", *p.bin, errNoBinary)
		}
		*p.bin = bin
	}
	if slices.Contains(o.targets, targetIXPDClickHse) {
		argv, err := clickhouseBinary(o.clickhouse)
		if err != nil {
			return err
		}
		if b.ch, err = startClickHouse(ctx, argv, filepath.Join(b.root, "clickhouse")); err != nil {
			return err
		}
	}
	// The sender alone, to a socket that nobody reads: how fast it can go.
	sink, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		return err
	}
	defer func() { _ = sink.Close() }()
	rep, err := b.send(ctx, sink.LocalAddr().String(), sink.LocalAddr().String(), 0, min(3*time.Second, o.duration/2))
	if err != nil {
		return fmt.Errorf("sender ceiling: %w", err)
	}
	b.senderC = rep
	return nil
}

// buildGoflow2 installs goflow2 v2.2.6 with the go command into a cache
// folder (kept between runs) and returns the binary.
func buildGoflow2(ctx context.Context, stderr io.Writer) (string, error) {
	cache, err := os.UserCacheDir()
	if err != nil {
		cache = os.TempDir()
	}
	dir := filepath.Join(cache, "ixpsim", "goflow2-v2.2.6")
	bin := filepath.Join(dir, "goflow2")
	if _, err := os.Stat(bin); err == nil {
		return bin, nil
	}
	_, _ = fmt.Fprintf(stderr, "flow-bench: building %s into %s\n", goflow2Module, dir)
	cmd := exec.CommandContext(ctx, "go", "install", goflow2Module)
	cmd.Dir = os.TempDir() // outside any module
	cmd.Env = append(os.Environ(), "GOBIN="+dir, "GOFLAGS=-mod=mod")
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go install %s: %w\n%s", goflow2Module, err, out)
	}
	return bin, nil
}

// send runs flow-send as a child process (own process group, killed with
// the bench) and returns its report: -ipfix-share of the datagrams as
// IPFIX to ipfixTo, the others as sFlow to sflowTo.
func (b *flowBench) send(ctx context.Context, sflowTo, ipfixTo string, flowRate float64, d time.Duration) (sendReport, error) {
	dgRate := flowRate / flowsPerDatagram
	share := b.o.ipfixShare
	args := []string{"flow-send", "-duration", d.String()}
	if share < 1 {
		args = append(args, "-sflow", sflowTo, "-rate", strconv.FormatFloat(dgRate*(1-share), 'f', 1, 64))
	}
	if share > 0 {
		args = append(args, "-ipfix", ipfixTo, "-ipfix-rate", strconv.FormatFloat(dgRate*share, 'f', 1, 64))
	}
	var out, errOut bytes.Buffer
	cmd := exec.CommandContext(ctx, b.self, args...)
	cmd.Stdout, cmd.Stderr = &out, &errOut
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Run(); err != nil {
		return sendReport{}, fmt.Errorf("flow-send: %w: %s", err, bytes.TrimSpace(errOut.Bytes()))
	}
	var rep sendReport
	if err := json.Unmarshal(out.Bytes(), &rep); err != nil {
		return sendReport{}, fmt.Errorf("flow-send output %q: %w", out.String(), err)
	}
	return rep, nil
}

// started is a target process ready for traffic.
type started struct {
	proc       *rsProcess
	cg         *cpuCgroup // nil: CPU time from /proc
	metricsURL string
	sflowAddr  string
	ipfixAddr  string
	profile    string
	// count reads the flows the target took so far, and for goflow2 and
	// ixpd the scrape it read them from.
	count    func(ctx context.Context) (float64, promSamples, error)
	database string // ClickHouse database of this run
	pmacct   bool   // killed at the end: pmacct takes seconds to exit
}

// stop ends the target and removes its cgroup.
func (s *started) stop() {
	if s.pmacct {
		s.proc.kill()
	} else {
		s.proc.stop()
	}
	if s.cg != nil {
		s.cg.remove()
		s.cg = nil
	}
}

// cpu returns the target's CPU time so far and where it comes from.
func (s *started) cpu() (time.Duration, string, error) {
	if s.cg != nil {
		d, err := s.cg.usage()
		return d, "cgroup", err
	}
	d, err := groupCPU(s.proc.pid())
	return d, "proc", err
}

// scrapeCount counts flows from the target's metrics.
func scrapeCount(url string, accepted func(promSamples) float64) func(context.Context) (float64, promSamples, error) {
	return func(ctx context.Context) (float64, promSamples, error) {
		m, err := scrapeMetrics(ctx, url)
		if err != nil {
			return 0, nil, err
		}
		return accepted(m), m, nil
	}
}

func goflow2Accepted(m promSamples) float64 {
	return m.sum("goflow2_flow_process_sf_samples_total", `type="FlowSample"`) +
		m.sum("goflow2_flow_process_nf_flowset_records_total", `type="DataFlowSet"`)
}

func ixpdAccepted(m promSamples) float64 { return m.sum("ixpd_flow_written_flows_total") }

// start starts target t in dir, in a cgroup of its own where the system
// allows one.
func (b *flowBench) start(ctx context.Context, t, dir, tag string) (*started, error) {
	var ports [4]uint16
	for i := range ports {
		p, err := freePort() // UDP and TCP port spaces differ; these are free in both in practice
		if err != nil {
			return nil, err
		}
		ports[i] = p
	}
	s := &started{
		metricsURL: fmt.Sprintf("http://127.0.0.1:%d/metrics", ports[0]),
		sflowAddr:  fmt.Sprintf("127.0.0.1:%d", ports[1]),
		ipfixAddr:  fmt.Sprintf("127.0.0.1:%d", ports[2]),
	}
	var (
		bin  string
		args []string
	)
	readyPort := ports[1] // the flow port that must be bound
	switch t {
	case targetGoflow2:
		bin = b.o.goflow2Bin
		listen := "sflow://" + s.sflowAddr
		if b.o.ipfixShare > 0 {
			listen += ",netflow://" + s.ipfixAddr
		}
		args = []string{"-listen", listen, "-transport", "file", "-transport.file", "/dev/null",
			"-format", "bin", "-addr", fmt.Sprintf("127.0.0.1:%d", ports[0]), "-loglevel", "warn"}
		s.count = scrapeCount(s.metricsURL, goflow2Accepted)
	case targetSfacctd, targetNfacctd:
		bin = b.o.sfacctdBin
		listen := s.sflowAddr
		if t == targetNfacctd {
			bin, listen, readyPort = b.o.nfacctdBin, s.ipfixAddr, ports[2]
		}
		out := filepath.Join(dir, "flows.csv")
		conf, err := pmacctConfig(t, netip.MustParseAddrPort(listen), out)
		if err != nil {
			return nil, err
		}
		confPath := filepath.Join(dir, "pmacct.conf")
		if err := os.WriteFile(confPath, conf, 0o644); err != nil {
			return nil, err
		}
		args, s.pmacct = []string{"-f", confPath}, true
		pc := newPrintCounter(out)
		s.count = func(context.Context) (float64, promSamples, error) {
			n, err := pc.read()
			return float64(n), nil, err
		}
	default:
		bin = b.o.ixpdBin
		storage := "storage:\n  driver: duckdb\n  duckdb_path: ixpd.duckdb\n"
		if t == targetIXPDClickHse {
			b.chRun++
			s.database = fmt.Sprintf("ixpd_bench_%d", b.chRun)
			storage = fmt.Sprintf("storage:\n  driver: clickhouse\n  clickhouse: {addr: %q, database: %s}\n", b.ch.addr, s.database)
		}
		conf := fmt.Sprintf(flowIXPDConfig, ports[3], s.sflowAddr, s.ipfixAddr, b.o.workers, b.o.batchSize,
			sflowAgentAddr, ipfixSourceAddr, memberASN(0), storage, ports[0])
		confPath := filepath.Join(dir, "ixpd.yaml")
		if err := os.WriteFile(confPath, []byte(conf), 0o644); err != nil {
			return nil, err
		}
		members, err := ixfMembers(2, 1000, time.Now())
		if err != nil {
			return nil, err
		}
		if err := os.WriteFile(filepath.Join(dir, "members.json"), members, 0o644); err != nil {
			return nil, err
		}
		args = []string{"run", "-config", confPath}
		if b.o.profileDir != "" {
			s.profile = filepath.Join(b.o.profileDir, tag+".pprof")
			args = append(args, "-cpuprofile", s.profile)
		}
		s.count = scrapeCount(s.metricsURL, ixpdAccepted)
	}
	p, err := b.startIn(t, bin, args, dir, s)
	if err != nil {
		return nil, err
	}
	s.proc = p
	// Ready: the flow port is bound and the metrics answer; for pmacct,
	// its print plugin is ready.
	err = s.proc.waitReady(ctx, 60*time.Second, 50*time.Millisecond, func() error {
		if s.pmacct {
			return pmacctReady(filepath.Join(dir, "target.log"), readyPort)
		}
		if _, err := scrapeMetrics(ctx, s.metricsURL); err != nil {
			return fmt.Errorf("metrics: %w", err)
		}
		bound, err := udpBound(readyPort)
		if err == nil && !bound {
			err = fmt.Errorf("flow port %d not bound", readyPort)
		}
		return err
	})
	if err != nil {
		if s.cg != nil {
			s.cg.remove()
		}
		return nil, fmt.Errorf("%s: %w", t, err)
	}
	return s, nil
}

// startIn starts the target's process, in a new cgroup (s.cg) when the
// system gives one; b.noCgroup keeps why not.
func (b *flowBench) startIn(t, bin string, args []string, dir string, s *started) (*rsProcess, error) {
	b.seq++
	logPath := filepath.Join(dir, "target.log")
	if b.noCgroup == "" {
		cg, err := newCPUCgroup(fmt.Sprintf("%s-%d", t, b.seq))
		if err == nil {
			p, err := startProcessIn(bin, args, dir, logPath, cg)
			if err == nil {
				s.cg = cg
				return p, nil
			}
			cg.remove()
			b.noCgroup = fmt.Sprintf("start in a cgroup: %v", err)
		} else {
			b.noCgroup = err.Error()
		}
	}
	return startProcess(bin, args, dir, logPath)
}

// flowIXPDConfig is ixpd's configuration for the bench; keys not set keep
// their defaults.
const flowIXPDConfig = `# ixpd for ixpsim flow-bench
ixp:
  name: BENCH
  country: WS
  peering_lan: [127.0.0.0/8]
members_file: members.json
log:
  level: warn
routeserver:
  asn: 64512
  router_id: 127.0.0.1
  listen: 127.0.0.1:%d
  passive: true
flow:
  sflow_listen: %s
  netflow_listen: %s
  workers: %d
  receive_buffer: 33554432
  batch_size: %d
  spool_dir: spool
  exporters:
    - {address: %s, role: ixp_switch}
    - {address: %s, role: member_edge, member_asn: %d}
%sapi:
  listen: 127.0.0.1:%d
`

// run starts t, sends at flowRate (0: the sender's full speed) for d,
// waits until the target has taken everything it will, and measures.
func (b *flowBench) run(ctx context.Context, t string, run int, flowRate float64, d time.Duration, flood bool) flowRun {
	r := flowRun{Target: t, Run: run, OfferedFlowRate: flowRate, Flood: flood}
	tag := fmt.Sprintf("%s-%.0f-run%d", t, flowRate, run)
	if flood {
		tag = t + "-flood"
	}
	dir := filepath.Join(b.root, tag)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		r.Error = err.Error()
		return r
	}
	if err := b.measure(ctx, &r, t, tag, dir, flowRate, d); err != nil {
		r.Error = err.Error()
	}
	return r
}

func (b *flowBench) measure(ctx context.Context, r *flowRun, t, tag, dir string, flowRate float64, d time.Duration) error {
	s, err := b.start(ctx, t, dir, tag)
	if err != nil {
		return err
	}
	defer s.stop()
	pid := s.proc.pid()
	cpu0, _, err := s.cpu()
	if err != nil {
		return err
	}
	var chCPU0 time.Duration
	if b.ch != nil && t == targetIXPDClickHse {
		if chCPU0, err = procCPU(b.ch.proc.pid()); err != nil {
			return err
		}
	}
	kern0, err := udpRcvbufErrors()
	if err != nil {
		return err
	}

	// Watch RSS while sending (the flood's figure).
	watchDone := make(chan struct{})
	stopWatch := make(chan struct{})
	go func() {
		defer close(watchDone)
		tick := time.NewTicker(100 * time.Millisecond)
		defer tick.Stop()
		for {
			if rss, err := procRSS(pid); err == nil && rss > r.MaxRSSSeen {
				r.MaxRSSSeen = rss
			}
			select {
			case <-stopWatch:
				return
			case <-tick.C:
			}
		}
	}()
	var once sync.Once
	endWatch := func() { once.Do(func() { close(stopWatch); <-watchDone }) }
	defer endWatch()

	sent, err := b.send(ctx, s.sflowAddr, s.ipfixAddr, flowRate, d)
	if err != nil {
		return err
	}
	r.Sent = sent

	// Drain: until the accepted count has not moved for drainQuiet
	// (ixpd's batch_interval is one second, pmacct's print_refresh_time
	// too).
	drainStart := time.Now()
	var m promSamples
	last, still := -1.0, time.Now()
	for {
		select {
		case <-s.proc.exited:
			return s.proc.exitError()
		default:
		}
		var v float64
		if v, m, err = s.count(ctx); err != nil {
			return err
		}
		if v != last {
			last, still = v, time.Now()
		}
		if time.Since(still) >= b.o.drainQuiet || time.Since(drainStart) > b.o.drainTimeout {
			break
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(250 * time.Millisecond):
		}
	}
	endWatch()
	r.DrainSeconds = still.Sub(drainStart).Seconds()
	cpu1, source, err := s.cpu()
	if err != nil {
		return err
	}
	r.CPUSource = source
	if r.PeakRSS, err = groupHWM(pid); err != nil {
		return err
	}
	kern1, err := udpRcvbufErrors()
	if err != nil {
		return err
	}
	r.KernelDrops = kern1 - kern0
	r.CPUSeconds = (cpu1 - cpu0).Seconds()
	r.Accepted = int64(last)
	r.Loss = sent.Flows - r.Accepted
	if sent.Flows > 0 {
		r.LossPercent = 100 * float64(r.Loss) / float64(sent.Flows)
	}
	r.AcceptedRate = float64(r.Accepted) / sent.Seconds
	if r.CPUSeconds > 0 {
		r.FlowsPerCPU = float64(r.Accepted) / r.CPUSeconds
	}
	if isIXPDTarget(t) {
		r.Drops = map[string]float64{}
		for reason, v := range m.byLabel("ixpd_flow_dropped_datagrams_total", "reason") {
			r.Drops["datagrams "+reason] = v
		}
		for reason, v := range m.byLabel("ixpd_flow_dropped_flows_total", "reason") {
			r.Drops["flows "+reason] = v
		}
		for kind, v := range m.byLabel("ixpd_flow_decoder_errors_total", "kind") {
			r.Drops["decoder "+kind] = v
		}
	}
	if t == targetIXPDClickHse {
		chCPU1, err := procCPU(b.ch.proc.pid())
		if err != nil {
			return err
		}
		r.StoreCPUSeconds = (chCPU1 - chCPU0).Seconds()
		out, err := b.ch.query(ctx, "SELECT count() FROM "+s.database+".flows")
		if err != nil {
			return err
		}
		if r.StoreRows, err = strconv.ParseInt(strings.TrimSpace(out), 10, 64); err != nil {
			return err
		}
	}
	select {
	case <-s.proc.exited:
	default:
		r.Survived = true
	}
	s.stop()
	r.Profile = s.profile
	return nil
}
