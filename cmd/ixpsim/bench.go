package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"slices"
	"strings"
	"time"
)

// The parts of ixpsim bench, in the order they run.
const (
	partRS    = "rs"
	partFlow  = "flow"
	partAPI   = "api"
	partProbe = "probe"
)

var benchParts = []string{partRS, partFlow, partAPI, partProbe}

// harnessOptions are bench's flags.
type harnessOptions struct {
	runs        int
	parts       []string
	quick       bool
	out         string
	ixpdBin     string
	birdBin     string
	goflow2Bin  string
	sfacctdBin  string
	nfacctdBin  string
	clickhouse  string
	flowTargets []string // nil: every target whose program is there
	command     string   // the command line, for the report
}

func parseHarnessFlags(args []string, stderr io.Writer) (*harnessOptions, error) {
	o := &harnessOptions{}
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		_, _ = fmt.Fprint(stderr, `usage: ixpsim bench [flags]

Runs the benchmarks one part after the other, each as its own command
does, every figure the median of -runs runs and every ixpd figure also as
a ratio over its anchor measured in the same run:

  rs     route-server convergence and memory, ixpd vs BIRD 2, 100 members ×
         1,000 prefixes and 30 × 5,000 (rs-bench)
  flow   flow ingest in flows per CPU-second, ixpd into DuckDB and into
         ClickHouse vs goflow2 decoding to /dev/null and pmacct writing a
         file: an sFlow stream (sfacctd) and an IPFIX stream (nfacctd)
         (flow-bench)
  api    API latency of the month summary, matrix, savings and map feed vs
         the store queries behind them (api-bench)
  probe  latency-probe scheduling error, 1,000 targets, the prober's timer
         heap vs a ticker per target (probe-bench)

Then it writes a dated markdown section with the machine's facts and one
table per part to stdout and, with -o, appends it to that file. A full run
takes about an hour on 2 cores; -quick is a smoke run of a few minutes.

`)
		fs.PrintDefaults()
	}
	var parts, flowTargets string
	fs.IntVar(&o.runs, "runs", 3, "runs of every part; figures are the median")
	fs.StringVar(&parts, "parts", strings.Join(benchParts, ","), "parts to run: rs, flow, api, probe")
	fs.BoolVar(&o.quick, "quick", false, "tiny sizes for a smoke run: rs 10×100, flow 2 rates × 3 s, api on a day's flows, probe 100 targets × 5 s")
	fs.StringVar(&o.out, "o", "", "append the markdown section to this `file` (docs/BENCHMARKS.md); it is always printed to stdout")
	fs.StringVar(&o.ixpdBin, "ixpd", "bin/ixpd", "ixpd binary")
	fs.StringVar(&o.birdBin, "bird", "bird", "BIRD 2 binary")
	fs.StringVar(&o.goflow2Bin, "goflow2", "", "goflow2 binary; \"\" builds "+goflow2Module+" into a cache folder")
	fs.StringVar(&o.sfacctdBin, "sfacctd", "sfacctd", "pmacct's sfacctd binary")
	fs.StringVar(&o.nfacctdBin, "nfacctd", "nfacctd", "pmacct's nfacctd binary")
	fs.StringVar(&o.clickhouse, "clickhouse", "", "clickhouse-server binary (\"\": found on $PATH or /usr/sbin)")
	fs.StringVar(&flowTargets, "flow-targets", "", "flow targets to run (\"\": all whose programs are there): goflow2, sfacctd, nfacctd, ixpd-duckdb, ixpd-clickhouse")
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("bench: unexpected argument %q", fs.Arg(0))
	}
	if o.runs < 1 {
		return nil, fmt.Errorf("-runs %d: need at least 1", o.runs)
	}
	for p := range strings.SplitSeq(parts, ",") {
		p = strings.TrimSpace(p)
		switch {
		case p == "":
		case !slices.Contains(benchParts, p):
			return nil, fmt.Errorf("-parts: unknown part %q (want rs, flow, api, probe)", p)
		case slices.Contains(o.parts, p):
			return nil, fmt.Errorf("-parts: %s twice", p)
		default:
			o.parts = append(o.parts, p)
		}
	}
	if len(o.parts) == 0 {
		return nil, errors.New("-parts: none given")
	}
	slices.SortStableFunc(o.parts, func(a, b string) int { return slices.Index(benchParts, a) - slices.Index(benchParts, b) })
	for t := range strings.SplitSeq(flowTargets, ",") {
		switch t = strings.TrimSpace(t); t {
		case "":
		case targetGoflow2, targetSfacctd, targetNfacctd, targetIXPDDuckDB, targetIXPDClickHse:
			o.flowTargets = append(o.flowTargets, t)
		default:
			return nil, fmt.Errorf("-flow-targets: unknown target %q", t)
		}
	}
	o.command = "ixpsim bench " + strings.Join(args, " ")
	return o, nil
}

// rsSize is one route-server workload.
type rsSize struct{ members, prefixes int }

// flowStream is one flow-bench invocation: a stream and its targets.
type flowStream struct {
	name       string // "sFlow v5" or "IPFIX"
	ipfixShare float64
	anchor     string // the pmacct daemon for this stream
	rates      string
	duration   time.Duration
}

// harnessPlan is what each part runs, full size or -quick.
type harnessPlan struct {
	rsSizes    []rsSize
	rsTimeout  time.Duration
	streams    []flowStream
	drainQuiet time.Duration
	apiArgs    []string
	probeArgs  []string
}

func newHarnessPlan(quick bool) harnessPlan {
	if quick {
		return harnessPlan{
			rsSizes:   []rsSize{{10, 100}},
			rsTimeout: 2 * time.Minute,
			streams: []flowStream{
				{"sFlow v5", 0, targetSfacctd, "20k,50k", 3 * time.Second},
				{"IPFIX", 1, targetNfacctd, "20k", 3 * time.Second},
			},
			drainQuiet: 2 * time.Second,
			// A day's worth of the month's flows.
			apiArgs:   []string{"-duckdb-flows", "300000", "-clickhouse-flows", "300000", "-requests", "5"},
			probeArgs: []string{"-targets", "100", "-duration", "5s"},
		}
	}
	return harnessPlan{
		rsSizes:   []rsSize{{100, 1000}, {30, 5000}},
		rsTimeout: 10 * time.Minute,
		streams: []flowStream{
			{"sFlow v5", 0, targetSfacctd, "50k,100k,200k,400k", 15 * time.Second},
			{"IPFIX", 1, targetNfacctd, "100k,200k", 15 * time.Second},
		},
		drainQuiet: 3 * time.Second,
		apiArgs:    []string{"-requests", "50"},
		probeArgs:  []string{"-targets", "1000", "-duration", "30s"},
	}
}

// rsPart is one route-server size's result.
type rsPart struct {
	Members  int     `json:"members"`
	Prefixes int     `json:"prefixes"`
	Args     string  `json:"args"`
	Report   *report `json:"report,omitempty"`
	Error    string  `json:"error,omitempty"`
}

// flowPart is one stream's result.
type flowPart struct {
	Stream string      `json:"stream"`
	Args   string      `json:"args"`
	Report *flowReport `json:"report,omitempty"`
	Error  string      `json:"error,omitempty"`
}

// harnessResult is everything a bench run measured.
type harnessResult struct {
	Command  string       `json:"command"`
	Parts    []string     `json:"parts"`
	Runs     int          `json:"runs"`
	Quick    bool         `json:"quick"`
	Started  time.Time    `json:"started"`
	Finished time.Time    `json:"finished"`
	Machine  machineFacts `json:"machine"`
	RS       []rsPart     `json:"rs,omitempty"`
	Flow     []flowPart   `json:"flow,omitempty"`
	APIArgs  string       `json:"api_args,omitempty"`
	API      *apiReport   `json:"api,omitempty"`
	APIError string       `json:"api_error,omitempty"`
	// Probe is the probe part's report.
	ProbeArgs  string       `json:"probe_args,omitempty"`
	Probe      *probeReport `json:"probe,omitempty"`
	ProbeError string       `json:"probe_error,omitempty"`
	// NotRun says, per part or target, why it did not run.
	NotRun map[string]string `json:"not_run,omitempty"`
}

// benchCmd is the bench subcommand.
func benchCmd(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	o, err := parseHarnessFlags(args, stderr)
	if err != nil {
		return err
	}
	res, err := runHarness(ctx, o, stderr)
	if ctx.Err() != nil {
		return ctx.Err() // an interrupted run writes nothing
	}
	var md strings.Builder
	if werr := res.writeMarkdown(&md); werr != nil {
		return werr
	}
	if _, werr := io.WriteString(stdout, md.String()); werr != nil {
		return werr
	}
	if o.out != "" {
		if aerr := appendSection(o.out, md.String()); aerr != nil {
			return errors.Join(err, aerr)
		}
		progressf(stderr, "ixpsim bench: appended to %s\n", o.out)
	}
	return err
}

// runHarness runs the parts in turn. The error joins the parts that
// failed; their results say so too.
func runHarness(ctx context.Context, o *harnessOptions, stderr io.Writer) (*harnessResult, error) {
	plan := newHarnessPlan(o.quick)
	res := &harnessResult{Command: o.command, Parts: o.parts, Runs: o.runs, Quick: o.quick,
		Started: time.Now().UTC(), NotRun: map[string]string{}}
	res.Machine = collectMachineFacts()
	var errs []error
	fail := func(what string, err error) string {
		errs = append(errs, fmt.Errorf("%s: %w", what, err))
		progressf(stderr, "ixpsim bench: %s: %v\n", what, err)
		return err.Error()
	}
	ixpd := fileExists(o.ixpdBin)
	if !ixpd {
		res.NotRun["ixpd"] = o.ixpdBin + " not found (make build)"
	}
	for i, part := range o.parts {
		if ctx.Err() != nil {
			break
		}
		progressf(stderr, "ixpsim bench: part %s (%d of %d), %d run(s)\n", part, i+1, len(o.parts), o.runs)
		switch part {
		case partRS:
			targets := []string{}
			if ixpd {
				targets = append(targets, "ixpd")
			}
			if _, err := exec.LookPath(o.birdBin); err == nil {
				targets = append(targets, "bird")
			} else {
				res.NotRun["bird"] = err.Error()
			}
			if len(targets) == 0 {
				res.NotRun[partRS] = "neither ixpd nor BIRD is there"
				continue
			}
			for _, size := range plan.rsSizes {
				args := []string{"-members", fmt.Sprint(size.members), "-prefixes", fmt.Sprint(size.prefixes),
					"-runs", fmt.Sprint(o.runs), "-timeout", plan.rsTimeout.String(), "-targets", strings.Join(targets, ","),
					"-ixpd", o.ixpdBin, "-bird", o.birdBin}
				p := rsPart{Members: size.members, Prefixes: size.prefixes, Args: "rs-bench " + strings.Join(args, " ")}
				rsOpts, err := parseBenchFlags(args, stderr)
				if err == nil {
					p.Report, err = runRSBench(ctx, rsOpts, stderr)
				}
				if err != nil && ctx.Err() == nil {
					p.Error = fail(fmt.Sprintf("rs %d×%d", size.members, size.prefixes), err)
				}
				res.RS = append(res.RS, p)
			}
		case partFlow:
			res.Flow = append(res.Flow, runHarnessFlow(ctx, o, plan, ixpd, res, fail, stderr)...)
		case partAPI:
			if !ixpd {
				res.NotRun[partAPI] = "needs ixpd: " + res.NotRun["ixpd"]
				continue
			}
			stores := []string{storeDuckDB}
			if _, err := clickhouseBinary(o.clickhouse); err == nil {
				stores = append(stores, storeClickHouse)
			} else {
				res.NotRun["api clickhouse"] = err.Error()
			}
			args := append([]string{"-stores", strings.Join(stores, ","), "-runs", fmt.Sprint(o.runs), "-ixpd", o.ixpdBin},
				plan.apiArgs...)
			if o.clickhouse != "" {
				args = append(args, "-clickhouse", o.clickhouse)
			}
			res.APIArgs = "api-bench " + strings.Join(args, " ")
			apiOpts, err := parseAPIBenchFlags(args, stderr)
			if err == nil {
				res.API, err = runAPIBench(ctx, apiOpts, stderr)
			}
			if err == nil && res.API != nil {
				for _, r := range res.API.Runs {
					if r.Err != "" {
						err = errors.Join(err, fmt.Errorf("%s: %s", r.Store, r.Err))
					}
				}
			}
			if err != nil && ctx.Err() == nil {
				res.APIError = fail("api", err)
			}
		case partProbe:
			args := append([]string{"-runs", fmt.Sprint(o.runs)}, plan.probeArgs...)
			res.ProbeArgs = "probe-bench " + strings.Join(args, " ")
			probeOpts, err := parseProbeBenchFlags(args, stderr)
			if err == nil {
				res.Probe, err = runProbeBench(ctx, probeOpts, stderr)
			}
			if err != nil && ctx.Err() == nil {
				res.ProbeError = fail("probe", err)
			}
		}
	}
	res.Finished = time.Now().UTC()
	res.Machine.LoadEnd = loadAverage()
	res.Machine.Versions = programVersions(o)
	return res, errors.Join(errs...)
}

// runHarnessFlow runs flow-bench once per stream with the targets whose
// programs are there.
func runHarnessFlow(ctx context.Context, o *harnessOptions, plan harnessPlan, ixpd bool, res *harnessResult,
	fail func(string, error) string, stderr io.Writer) []flowPart {
	want := func(t string) bool { return o.flowTargets == nil || slices.Contains(o.flowTargets, t) }
	have := map[string]bool{targetIXPDDuckDB: ixpd, targetIXPDClickHse: ixpd}
	if want(targetGoflow2) && o.goflow2Bin == "" {
		bin, err := buildGoflow2(ctx, stderr)
		if err != nil {
			res.NotRun[targetGoflow2] = err.Error()
		}
		o.goflow2Bin = bin
	}
	have[targetGoflow2] = o.goflow2Bin != ""
	for _, p := range []struct{ target, bin string }{{targetSfacctd, o.sfacctdBin}, {targetNfacctd, o.nfacctdBin}} {
		if _, err := exec.LookPath(p.bin); err == nil {
			have[p.target] = true
		} else if want(p.target) {
			res.NotRun[p.target] = err.Error() + " (Debian: apt-get install pmacct)"
		}
	}
	if _, err := clickhouseBinary(o.clickhouse); err != nil {
		have[targetIXPDClickHse] = false
		if want(targetIXPDClickHse) {
			res.NotRun[targetIXPDClickHse] = err.Error()
		}
	}
	var parts []flowPart
	for _, s := range plan.streams {
		var targets []string
		for _, t := range []string{targetGoflow2, s.anchor, targetIXPDDuckDB, targetIXPDClickHse} {
			if want(t) && have[t] {
				targets = append(targets, t)
			}
		}
		if len(targets) == 0 {
			res.NotRun["flow "+s.name] = "none of its targets is there"
			continue
		}
		args := []string{"-targets", strings.Join(targets, ","), "-rates", s.rates, "-duration", s.duration.String(),
			"-ipfix-share", fmt.Sprint(s.ipfixShare), "-runs", fmt.Sprint(o.runs), "-flood", "0",
			"-drain-quiet", plan.drainQuiet.String(), "-ixpd", o.ixpdBin}
		for _, f := range [][2]string{{"-goflow2", o.goflow2Bin}, {"-sfacctd", o.sfacctdBin}, {"-nfacctd", o.nfacctdBin}, {"-clickhouse", o.clickhouse}} {
			if f[1] != "" {
				args = append(args, f[0], f[1])
			}
		}
		p := flowPart{Stream: s.name, Args: "flow-bench " + strings.Join(args, " ")}
		fo, err := parseFlowBenchFlags(args, stderr)
		if err == nil {
			p.Report, err = runFlowBench(ctx, fo, stderr)
		}
		if err == nil {
			for _, r := range p.Report.Runs {
				if r.Error != "" {
					err = errors.Join(err, fmt.Errorf("%s run %d at %.0f flows/s: %s", r.Target, r.Run, r.OfferedFlowRate, r.Error))
				}
			}
		}
		if err != nil && ctx.Err() == nil {
			p.Error = fail("flow "+s.name, err)
		}
		parts = append(parts, p)
		if ctx.Err() != nil {
			break
		}
	}
	return parts
}

// appendSection appends md to the file at path (made if missing) with one
// blank line before it. It only appends: what the file holds stays as it
// is.
func appendSection(path, md string) error {
	old, err := os.ReadFile(path)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	sep := ""
	switch {
	case len(old) == 0:
	case strings.HasSuffix(string(old), "\n\n"):
	case strings.HasSuffix(string(old), "\n"):
		sep = "\n"
	default:
		sep = "\n\n"
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
	if err != nil {
		return err
	}
	if _, err := io.WriteString(f, sep+md); err != nil {
		_ = f.Close() // the write error is the one to report
		return fmt.Errorf("append to %s: %w", path, err)
	}
	return f.Close()
}
