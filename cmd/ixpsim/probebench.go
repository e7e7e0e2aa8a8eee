package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	probe "github.com/ixpd/ixpd/analytics/latency"
)

// probeBenchOptions are probe-bench's flags.
type probeBenchOptions struct {
	targets  int
	interval time.Duration
	duration time.Duration
	methods  []string
	runs     int
	json     bool
}

func parseProbeBenchFlags(args []string, stderr io.Writer) (*probeBenchOptions, error) {
	o := &probeBenchOptions{}
	fs := flag.NewFlagSet("probe-bench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		_, _ = fmt.Fprint(stderr, `usage: ixpsim probe-bench [flags]

Probes -targets targets once per -interval on loopback for -duration with
the latency prober's timer heap and, as the anchor in the same run, with a
goroutine and time.Ticker per target (analytics/latency's
RunSchedulerBench, in this process), and reports how late probes leave
after their slot, CPU and heap; heap/tickers ratios are the median of each
run's. ICMP needs a ping or raw socket; without one it is skipped.

`)
		fs.PrintDefaults()
	}
	var methods string
	fs.IntVar(&o.targets, "targets", 1000, "targets probed")
	fs.DurationVar(&o.interval, "interval", time.Second, "probe interval of every target")
	fs.DurationVar(&o.duration, "duration", 30*time.Second, "probing time per method and scheduler")
	fs.StringVar(&methods, "methods", "twamp,icmp", "probe methods, in order: twamp (reflector in this process), icmp (answered by the kernel)")
	fs.IntVar(&o.runs, "runs", 1, "runs; figures are the median")
	fs.BoolVar(&o.json, "json", false, "print results as JSON")
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("probe-bench: unexpected argument %q", fs.Arg(0))
	}
	for m := range strings.SplitSeq(methods, ",") {
		switch m = strings.TrimSpace(m); m {
		case probe.MethodTWAMP, probe.MethodICMP:
			if slices.Contains(o.methods, m) {
				return nil, fmt.Errorf("-methods: %s twice", m)
			}
			o.methods = append(o.methods, m)
		case "":
		default:
			return nil, fmt.Errorf("-methods: unknown method %q (want twamp, icmp)", m)
		}
	}
	if len(o.methods) == 0 {
		return nil, errors.New("-methods: none given")
	}
	if o.targets < 1 || o.interval <= 0 || o.duration <= 0 || o.runs < 1 {
		return nil, errors.New("-targets, -interval, -duration and -runs must be positive")
	}
	return o, nil
}

// probeRun is one method and scheduler in one run.
type probeRun struct {
	Run        int     `json:"run"`
	Method     string  `json:"method"`
	Scheduler  string  `json:"scheduler"`
	Sent       uint64  `json:"sent"`
	Received   uint64  `json:"received"`
	LateP50Ms  float64 `json:"late_p50_ms"`
	LateP99Ms  float64 `json:"late_p99_ms"`
	LateMaxMs  float64 `json:"late_max_ms"`
	CPUPercent float64 `json:"cpu_percent_of_a_core"`
	HeapMiB    float64 `json:"heap_mib"`
	Error      string  `json:"error,omitempty"`
}

// probeSummary is the median of a method and scheduler's runs that
// completed.
type probeSummary struct {
	Method     string  `json:"method"`
	Scheduler  string  `json:"scheduler"`
	Runs       int     `json:"runs"`
	OK         int     `json:"completed_runs"`
	Sent       float64 `json:"sent"`
	Received   float64 `json:"received"`
	LateP50Ms  float64 `json:"late_p50_ms"`
	LateP99Ms  float64 `json:"late_p99_ms"`
	LateMaxMs  float64 `json:"late_max_ms"`
	CPUPercent float64 `json:"cpu_percent_of_a_core"`
	HeapMiB    float64 `json:"heap_mib"`
}

// probeRatio is the heap's figures over the tickers' for one method: the
// median of the runs where both completed.
type probeRatio struct {
	Method string  `json:"method"`
	Runs   int     `json:"runs"`
	P50    float64 `json:"late_p50"`
	P99    float64 `json:"late_p99"`
	CPU    float64 `json:"cpu"`
}

// probeReport is probe-bench's result.
type probeReport struct {
	Targets         int               `json:"targets"`
	IntervalSeconds float64           `json:"interval_seconds"`
	DurationSeconds float64           `json:"duration_seconds"`
	RunCount        int               `json:"run_count"`
	Runs            []probeRun        `json:"runs"`
	Summary         []probeSummary    `json:"summary"`
	Ratios          []probeRatio      `json:"ratios_heap_over_tickers"`
	Skipped         map[string]string `json:"skipped,omitempty"`
}

var probeSchedulers = []string{probe.SchedulerHeap, probe.SchedulerTickers}

func probeBenchCmd(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	o, err := parseProbeBenchFlags(args, stderr)
	if err != nil {
		return err
	}
	rep, err := runProbeBench(ctx, o, stderr)
	if err != nil {
		return err
	}
	if o.json {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(rep)
	}
	return rep.writeTable(stdout)
}

// runProbeBench runs each method with each scheduler o.runs times. A
// method that cannot start on its first try (ICMP without a socket) is
// skipped, with the reason in the report.
func runProbeBench(ctx context.Context, o *probeBenchOptions, stderr io.Writer) (*probeReport, error) {
	logger := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	rep := &probeReport{Targets: o.targets, IntervalSeconds: o.interval.Seconds(), DurationSeconds: o.duration.Seconds(),
		RunCount: o.runs, Skipped: map[string]string{}}
	for run := 1; run <= o.runs; run++ {
		for _, m := range o.methods {
			for _, sched := range probeSchedulers {
				if _, skip := rep.Skipped[m]; skip {
					continue
				}
				progressf(stderr, "ixpsim probe-bench: %s/%s, %d targets for %s, run %d of %d\n", m, sched, o.targets, o.duration, run, o.runs)
				res, err := probe.RunSchedulerBench(ctx, logger, probe.BenchOptions{Targets: o.targets, Interval: o.interval,
					Duration: o.duration, Method: m, Scheduler: sched})
				if ctx.Err() != nil {
					return nil, ctx.Err()
				}
				if err != nil && run == 1 && sched == probeSchedulers[0] && res.Sent == 0 {
					rep.Skipped[m] = err.Error()
					progressf(stderr, "ixpsim probe-bench: skipping %s: %v\n", m, err)
					continue
				}
				r := probeRun{Run: run, Method: m, Scheduler: sched, Sent: res.Sent, Received: res.Received,
					LateP50Ms: ms(res.Late.P50), LateP99Ms: ms(res.Late.P99), LateMaxMs: ms(res.Late.Max),
					CPUPercent: res.CPUPercent, HeapMiB: res.HeapMiB}
				if err != nil {
					r.Error = err.Error()
				}
				rep.Runs = append(rep.Runs, r)
			}
		}
	}
	rep.summarize(o.methods)
	return rep, nil
}

func (rep *probeReport) summarize(methods []string) {
	for _, m := range methods {
		for _, sched := range probeSchedulers {
			s := probeSummary{Method: m, Scheduler: sched}
			var sent, recv, p50, p99, mx, cpu, heap []float64
			for _, r := range rep.Runs {
				if r.Method != m || r.Scheduler != sched {
					continue
				}
				s.Runs++
				if r.Error != "" {
					continue
				}
				s.OK++
				sent, recv = append(sent, float64(r.Sent)), append(recv, float64(r.Received))
				p50, p99, mx = append(p50, r.LateP50Ms), append(p99, r.LateP99Ms), append(mx, r.LateMaxMs)
				cpu, heap = append(cpu, r.CPUPercent), append(heap, r.HeapMiB)
			}
			if s.Runs == 0 {
				continue
			}
			s.Sent, s.Received, s.LateP50Ms, s.LateP99Ms = median(sent), median(recv), median(p50), median(p99)
			s.LateMaxMs, s.CPUPercent, s.HeapMiB = median(mx), median(cpu), median(heap)
			rep.Summary = append(rep.Summary, s)
		}
		var p50, p99, cpu []float64
		for _, h := range rep.Runs {
			if h.Method != m || h.Scheduler != probe.SchedulerHeap || h.Error != "" {
				continue
			}
			for _, t := range rep.Runs {
				if t.Method == m && t.Scheduler == probe.SchedulerTickers && t.Run == h.Run && t.Error == "" &&
					t.LateP50Ms > 0 && t.LateP99Ms > 0 && t.CPUPercent > 0 {
					p50, p99, cpu = append(p50, h.LateP50Ms/t.LateP50Ms), append(p99, h.LateP99Ms/t.LateP99Ms), append(cpu, h.CPUPercent/t.CPUPercent)
				}
			}
		}
		if len(p99) > 0 {
			rep.Ratios = append(rep.Ratios, probeRatio{Method: m, Runs: len(p99), P50: median(p50), P99: median(p99), CPU: median(cpu)})
		}
	}
}

// writeTable writes the report as a table and returns the first write
// error.
func (rep *probeReport) writeTable(w io.Writer) error {
	var err error
	printf := func(to io.Writer, format string, args ...any) {
		if err == nil {
			_, err = fmt.Fprintf(to, format, args...)
		}
	}
	printf(w, "probe-bench: %d targets every %gs for %gs per method and scheduler; %d run(s), medians\n\n",
		rep.Targets, rep.IntervalSeconds, rep.DurationSeconds, rep.RunCount)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	printf(tw, "method\tscheduler\truns\tsent\tanswered\tlate p50 ms\tlate p99 ms\tlate max ms\tCPU %% of a core\theap MiB\t\n")
	for _, s := range rep.Summary {
		printf(tw, "%s\t%s\t%d/%d\t%.0f\t%.0f\t%.2f\t%.2f\t%.2f\t%.1f\t%.1f\t\n", s.Method, s.Scheduler, s.OK, s.Runs,
			s.Sent, s.Received, s.LateP50Ms, s.LateP99Ms, s.LateMaxMs, s.CPUPercent, s.HeapMiB)
	}
	if err == nil {
		err = tw.Flush()
	}
	for _, r := range rep.Ratios {
		printf(w, "%s heap/tickers: late p50 %.2f, late p99 %.2f, CPU %.2f (%d run(s))\n", r.Method, r.P50, r.P99, r.CPU, r.Runs)
	}
	for _, r := range rep.Runs {
		if r.Error != "" {
			printf(w, "%s/%s run %d failed: %s\n", r.Method, r.Scheduler, r.Run, r.Error)
		}
	}
	for _, m := range slices.Sorted(maps.Keys(rep.Skipped)) {
		printf(w, "%s not run: %s\n", m, rep.Skipped[m])
	}
	return err
}
