package main

import (
	"bytes"
	"context"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestParseHarnessFlags(t *testing.T) {
	tests := []struct {
		name      string
		args      []string
		wantParts []string
		wantRuns  int
		wantErr   string
	}{
		{name: "defaults", wantParts: benchParts, wantRuns: 3},
		{name: "parts in run order", args: []string{"-parts", "probe, flow", "-runs", "1"}, wantParts: []string{partFlow, partProbe}, wantRuns: 1},
		{name: "unknown part", args: []string{"-parts", "rs,bgp"}, wantErr: `-parts: unknown part "bgp" (want rs, flow, api, probe)`},
		{name: "part twice", args: []string{"-parts", "rs,rs"}, wantErr: "-parts: rs twice"},
		{name: "no runs", args: []string{"-runs", "0"}, wantErr: "-runs 0: need at least 1"},
		{name: "unknown flow target", args: []string{"-flow-targets", "fluentd"}, wantErr: `-flow-targets: unknown target "fluentd"`},
		{name: "argument", args: []string{"now"}, wantErr: `bench: unexpected argument "now"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o, err := parseHarnessFlags(tt.args, io.Discard)
			if tt.wantErr != "" {
				if err == nil || err.Error() != tt.wantErr {
					t.Fatalf("error %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(o.parts, tt.wantParts); diff != "" || o.runs != tt.wantRuns {
				t.Errorf("parts (-got +want):\n%s\nruns %d, want %d", diff, o.runs, tt.wantRuns)
			}
		})
	}
}

// TestHarnessPlan checks the sizes each part runs: the full ones
// and -quick's.
func TestHarnessPlan(t *testing.T) {
	full, quick := newHarnessPlan(false), newHarnessPlan(true)
	if diff := cmp.Diff(full.rsSizes, []rsSize{{100, 1000}, {30, 5000}}, cmp.AllowUnexported(rsSize{})); diff != "" {
		t.Errorf("full rs sizes (-got +want):\n%s", diff)
	}
	if diff := cmp.Diff(quick.rsSizes, []rsSize{{10, 100}}, cmp.AllowUnexported(rsSize{})); diff != "" {
		t.Errorf("quick rs sizes (-got +want):\n%s", diff)
	}
	for _, p := range []harnessPlan{full, quick} {
		if len(p.streams) != 2 || p.streams[0].anchor != targetSfacctd || p.streams[0].ipfixShare != 0 ||
			p.streams[1].anchor != targetNfacctd || p.streams[1].ipfixShare != 1 {
			t.Errorf("streams %+v: want sFlow with sfacctd, then IPFIX with nfacctd", p.streams)
		}
		// Every part's arguments parse as its own command's.
		for _, s := range p.streams {
			args := []string{"-targets", "goflow2," + s.anchor + ",ixpd-duckdb", "-rates", s.rates, "-duration", s.duration.String(),
				"-ipfix-share", strconv.FormatFloat(s.ipfixShare, 'g', -1, 64), "-drain-quiet", p.drainQuiet.String()}
			if _, err := parseFlowBenchFlags(args, io.Discard); err != nil {
				t.Errorf("flow-bench %v: %v", args, err)
			}
		}
		if _, err := parseAPIBenchFlags(p.apiArgs, io.Discard); err != nil {
			t.Errorf("api-bench %v: %v", p.apiArgs, err)
		}
		if _, err := parseProbeBenchFlags(p.probeArgs, io.Discard); err != nil {
			t.Errorf("probe-bench %v: %v", p.probeArgs, err)
		}
	}
	if quick.streams[0].rates != "20k,50k" || quick.streams[0].duration != 3*time.Second {
		t.Errorf("quick sFlow stream %+v: want 2 rates × 3 s", quick.streams[0])
	}
	if !slices2Equal(quick.probeArgs, []string{"-targets", "100", "-duration", "5s"}) ||
		!slices2Equal(full.probeArgs, []string{"-targets", "1000", "-duration", "30s"}) {
		t.Errorf("probe args: quick %v, full %v", quick.probeArgs, full.probeArgs)
	}
}

func slices2Equal(a, b []string) bool { return strings.Join(a, "\x00") == strings.Join(b, "\x00") }

func TestFlowBenchTargetsNeedTheirStream(t *testing.T) {
	for _, tt := range []struct {
		args    []string
		wantErr bool
	}{
		{[]string{"-targets", "sfacctd"}, false},
		{[]string{"-targets", "sfacctd", "-ipfix-share", "0.25"}, true},
		{[]string{"-targets", "nfacctd"}, true},
		{[]string{"-targets", "nfacctd,goflow2,ixpd-duckdb", "-ipfix-share", "1"}, false},
		{[]string{"-targets", "goflow2", "-runs", "0"}, true},
	} {
		if _, err := parseFlowBenchFlags(tt.args, io.Discard); (err != nil) != tt.wantErr {
			t.Errorf("flow-bench %v: error %v, want error %v", tt.args, err, tt.wantErr)
		}
	}
}

// TestFlowReportMedians checks that figures are medians over runs and
// ratios the median of each run's own ratio, paired by run.
func TestFlowReportMedians(t *testing.T) {
	run := func(target string, n int, fpc, loss float64) flowRun {
		return flowRun{Target: target, Run: n, OfferedFlowRate: 100000, FlowsPerCPU: fpc, LossPercent: loss, CPUSeconds: 1}
	}
	rep := &flowReport{Runs: []flowRun{
		run(targetGoflow2, 1, 100, 0), run(targetIXPDDuckDB, 1, 300, 0), run(targetSfacctd, 1, 1000, 0.1),
		run(targetGoflow2, 2, 200, 0), run(targetIXPDDuckDB, 2, 200, 0), run(targetSfacctd, 2, 1000, 0.1),
		run(targetGoflow2, 3, 150, 5), run(targetIXPDDuckDB, 3, 600, 0), {Target: targetSfacctd, Run: 3, OfferedFlowRate: 100000, Error: "boom"},
	}}
	rep.summarize([]string{targetGoflow2, targetSfacctd, targetIXPDDuckDB}, []float64{100000})
	got := map[string]float64{}
	for _, s := range rep.Summary {
		got[s.Target+" fpc"], got[s.Target+" ok"], got[s.Target+" loss"] = s.FlowsPerCPU, float64(s.OK), s.LossPercent
	}
	for _, r := range rep.Ratios {
		got[r.Target+"/"+r.Anchor], got[r.Target+"/"+r.Anchor+" runs"] = r.Ratio, float64(r.Runs)
	}
	want := map[string]float64{
		"goflow2 fpc": 150, "goflow2 ok": 3, "goflow2 loss": 0,
		"sfacctd fpc": 1000, "sfacctd ok": 2, "sfacctd loss": 0.1,
		"ixpd-duckdb fpc": 300, "ixpd-duckdb ok": 3, "ixpd-duckdb loss": 0,
		// Per run 3, 1 and 4: median 3 (the medians' ratio would be 2).
		"ixpd-duckdb/goflow2": 3, "ixpd-duckdb/goflow2 runs": 3,
		// Run 3 of sfacctd failed: 0.3 and 0.2.
		"ixpd-duckdb/sfacctd": 0.25, "ixpd-duckdb/sfacctd runs": 2,
	}
	if diff := cmp.Diff(got, want); diff != "" {
		t.Errorf("summary (-got +want):\n%s", diff)
	}
	if h := rep.Headline[targetIXPDDuckDB]; h[targetGoflow2] != 3 || h[targetSfacctd] != 0.25 {
		t.Errorf("headline %v", rep.Headline)
	}
	if rep.Ceiling[targetGoflow2] != 100000 {
		t.Errorf("ceiling %v: goflow2's median loss is 0", rep.Ceiling)
	}
}

func TestCgroupPaths(t *testing.T) {
	const hybrid = `25 30 0:23 / /sys/fs/cgroup ro,nosuid,nodev,noexec shared:9 - tmpfs tmpfs ro,mode=755
26 25 0:24 / /sys/fs/cgroup/unified rw,nosuid,nodev,noexec,relatime shared:10 - cgroup2 cgroup2 rw
27 25 0:25 / /sys/fs/cgroup/cpu rw,nosuid,nodev,noexec,relatime shared:11 - cgroup cgroup rw,cpu
`
	if got, err := parseCgroup2Mount([]byte(hybrid)); err != nil || got != "/sys/fs/cgroup/unified" {
		t.Errorf("hybrid: %q, %v", got, err)
	}
	const v1 = `27 25 0:25 / /sys/fs/cgroup/cpu rw,nosuid - cgroup cgroup rw,cpu
`
	if _, err := parseCgroup2Mount([]byte(v1)); err == nil {
		t.Error("cgroup v1 only: no error")
	}
	if got, err := unifiedCgroupPath([]byte("4:memory:/a\n0::/user.slice/session-1.scope\n")); err != nil || got != "/user.slice/session-1.scope" {
		t.Errorf("unified path %q, %v", got, err)
	}
	if _, err := unifiedCgroupPath([]byte("4:memory:/a\n")); err == nil {
		t.Error("no 0:: line: no error")
	}
}

// TestHarnessQuick runs "ixpsim bench -parts flow,probe -quick" end to
// end with pmacct's daemons, and ixpd into DuckDB when there is an ixpd
// binary, and checks what it appends to a copy of a benchmarks file.
func TestHarnessQuick(t *testing.T) {
	if testing.Short() { // only make test-short skips it; CI runs it
		t.Skip("end-to-end bench run (about a minute)")
	}
	needPmacct(t, targetSfacctd)
	needPmacct(t, targetNfacctd)
	targets := []string{targetSfacctd, targetNfacctd}
	ixpd := ixpdBinary(t)
	if ixpd != "" {
		targets = append(targets, targetIXPDDuckDB)
	}
	// flow-bench runs this executable's flow-send: the test binary
	// cannot, so the bench runs from a built ixpsim.
	self := filepath.Join(t.TempDir(), "ixpsim")
	if out, err := exec.Command("go", "build", "-o", self, ".").CombinedOutput(); err != nil {
		t.Fatalf("build ixpsim: %v\n%s", err, out)
	}
	doc := filepath.Join(t.TempDir(), "BENCHMARKS.md")
	const above = "# Benchmarks\n\n## Flow ingest\n\n| a | b |\n"
	if err := os.WriteFile(doc, []byte(above), 0o644); err != nil {
		t.Fatal(err)
	}
	args := []string{"bench", "-parts", "flow,probe", "-quick", "-runs", "1", "-flow-targets", strings.Join(targets, ","), "-o", doc}
	if ixpd != "" {
		args = append(args, "-ixpd", ixpd)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	var stdout, stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, self, args...)
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	start := time.Now()
	if err := cmd.Run(); err != nil {
		t.Fatalf("ixpsim %v: %v\n%s", args, err, stderr.String())
	}
	t.Logf("ixpsim bench -quick took %s", time.Since(start).Round(time.Second))
	b, err := os.ReadFile(doc)
	if err != nil {
		t.Fatal(err)
	}
	got := string(b)
	if !strings.HasPrefix(got, above+"\n## make bench, ") {
		t.Fatalf("the file does not keep what was above and start the section after a blank line:\n%s", got)
	}
	if section := got[len(above)+1:]; section != stdout.String() {
		t.Errorf("appended section differs from stdout:\n%s\n---\n%s", section, stdout.String())
	}
	for _, want := range []string{
		"### Flow ingest, sFlow v5 stream", "### Flow ingest, IPFIX stream", "### Latency probe scheduling",
		"| twamp | heap | 1/1 |", "| twamp | **heap/tickers** | 1 run(s) |", "**Quick sizes**",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("section lacks %q:\n%s", want, got)
		}
	}
	// Every flow target took (almost) all flows at both quick rates.
	rows := map[string][]string{targetSfacctd: {"20,000", "50,000"}, targetNfacctd: {"20,000"}}
	if ixpd != "" {
		rows[targetIXPDDuckDB] = []string{"20,000", "50,000"}
		for _, want := range []string{"| ixpd-duckdb / sfacctd | **", "| ixpd-duckdb / nfacctd | **"} {
			if !strings.Contains(got, want) {
				t.Errorf("section lacks the ratio row %q:\n%s", want, got)
			}
		}
	}
	for target, rates := range rows {
		for _, rate := range rates {
			loss, ok := rowLoss(got, target, rate)
			if !ok {
				t.Errorf("no completed row for %s at %s flows/s:\n%s", target, rate, got)
				continue
			}
			if loss > maxLossPercent {
				t.Errorf("%s at %s flows/s lost %.2f %%", target, rate, loss)
			}
		}
	}
}

// rowLoss finds "| target | rate | 1/1 | accepted | loss % |" in a flow
// table and returns the loss.
func rowLoss(md, target, rate string) (float64, bool) {
	prefix := "| " + target + " | " + rate + " | 1/1 | "
	for line := range strings.Lines(md) {
		if rest, ok := strings.CutPrefix(line, prefix); ok {
			f := strings.Split(rest, " | ")
			if len(f) < 2 {
				return 0, false
			}
			v, err := strconv.ParseFloat(strings.ReplaceAll(f[1], ",", ""), 64)
			return v, err == nil
		}
	}
	return 0, false
}
