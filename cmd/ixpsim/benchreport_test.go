package main

import (
	"flag"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

var updateGolden = flag.Bool("update", false, "rewrite the golden files under testdata/")

// fixedHarnessResult is a bench run with every part, made up so that a
// median of per-run ratios differs from the ratio of the medians.
func fixedHarnessResult() *harnessResult {
	start := time.Date(2026, 11, 29, 14, 2, 0, 0, time.UTC)
	rsRun := func(target string, run int, wall, cpu float64, rssMiB int64) runResult {
		return runResult{Target: target, Run: run, Converged: true, WallSeconds: wall, RSCPUSeconds: cpu, RSPeakRSSBytes: rssMiB * mib}
	}
	rs := &report{Members: 100, Prefixes: 1000, Runs: 3, Results: map[string][]runResult{
		// Per-run wall ratios 10, 15 and 15: median 15, where the medians'
		// ratio is 100/8 = 12.5; CPU 25, 32, 24.3: median 25 (160/6 =
		// 26.7); RSS 125, 145, 120: median 125 (5800/40 = 145).
		"ixpd": {rsRun("ixpd", 1, 100, 150, 5000), rsRun("ixpd", 2, 90, 160, 5800), rsRun("ixpd", 3, 120, 170, 6000)},
		"bird": {rsRun("bird", 1, 10, 6, 40), rsRun("bird", 2, 6, 5, 40), rsRun("bird", 3, 8, 7, 50)},
	}}
	rs.Summary = []targetSummary{summarize("ixpd", rs.Results["ixpd"]), summarize("bird", rs.Results["bird"])}
	rsSmall := &report{Members: 30, Prefixes: 5000, Runs: 3, Results: map[string][]runResult{
		"ixpd": {{Target: "ixpd", Run: 1, Error: "did not converge within 10m0s"}},
		"bird": {rsRun("bird", 1, 4.5, 1.3, 43)},
	}}
	rsSmall.Summary = []targetSummary{summarize("ixpd", rsSmall.Results["ixpd"]), summarize("bird", rsSmall.Results["bird"])}

	fr := func(target string, run int, rate, accepted, cpu float64) flowRun {
		sent := int64(rate * 15)
		return flowRun{Target: target, Run: run, OfferedFlowRate: rate, Sent: sendReport{Flows: sent, FlowRate: rate, CPUSeconds: 1},
			Accepted: int64(accepted * 15), AcceptedRate: accepted, LossPercent: 100 * (rate - accepted) / rate,
			CPUSeconds: cpu, FlowsPerCPU: accepted * 15 / cpu, PeakRSS: 100 * mib, CPUSource: "cgroup"}
	}
	flow := &flowReport{DurationSeconds: 15, RunCount: 2, Stream: "sFlow v5", Runs: []flowRun{
		fr(targetGoflow2, 1, 50000, 50000, 5), fr(targetSfacctd, 1, 50000, 49900, 1), fr(targetIXPDDuckDB, 1, 50000, 50000, 4),
		fr(targetGoflow2, 1, 400000, 300000, 20), fr(targetSfacctd, 1, 400000, 399000, 6), fr(targetIXPDDuckDB, 1, 400000, 400000, 20),
		fr(targetGoflow2, 2, 50000, 50000, 6), fr(targetSfacctd, 2, 50000, 49900, 1.5), fr(targetIXPDDuckDB, 2, 50000, 50000, 4),
		fr(targetGoflow2, 2, 400000, 310000, 21), fr(targetSfacctd, 2, 400000, 399000, 7), fr(targetIXPDDuckDB, 2, 400000, 400000, 22),
	}}
	flow.summarize([]string{targetGoflow2, targetSfacctd, targetIXPDDuckDB}, []float64{50000, 400000})

	api := &apiReport{Month: "2026-10", Members: 50, Requests: 50, RunCount: 3, Runs: []storeRun{{
		Store: storeDuckDB, Month: "2026-10", Flows: 10_000_000, LoadSeconds: 32.5, LoadRate: 307692,
		Endpoints: []endpointTiming{
			{Endpoint: "map.geojson", FirstMs: 180, P50Ms: 0.1, P95Ms: 0.1, StoreFirstMs: 150, StoreP50Ms: 120, StoreP95Ms: 130,
				FirstOverStoreP50: 1.5, P95OverStoreP95: 0.001},
			{Endpoint: "traffic/summary", FirstMs: 114, P50Ms: 113, P95Ms: 123, StoreFirstMs: 110, StoreP50Ms: 100, StoreP95Ms: 105,
				FirstOverStoreP50: 1.14, P95OverStoreP95: 1.17},
		},
	}}}
	probeRep := &probeReport{Targets: 1000, IntervalSeconds: 1, DurationSeconds: 30, RunCount: 3,
		Summary: []probeSummary{
			{Method: "twamp", Scheduler: "heap", Runs: 3, OK: 3, Sent: 29990, Received: 29990, LateP50Ms: 0.55, LateP99Ms: 1.08, LateMaxMs: 54, CPUPercent: 4.6, HeapMiB: 12.7},
			{Method: "twamp", Scheduler: "tickers", Runs: 3, OK: 3, Sent: 30000, Received: 30000, LateP50Ms: 1.11, LateP99Ms: 2.1, LateMaxMs: 5.6, CPUPercent: 4.4, HeapMiB: 9.7},
		},
		Ratios:  []probeRatio{{Method: "twamp", Runs: 3, P50: 0.5, P99: 0.51, CPU: 1.05}},
		Skipped: map[string]string{"icmp": "icmp ipv4 socket: operation not permitted"},
	}
	return &harnessResult{
		Command: "ixpsim bench -runs 3 -o docs/BENCHMARKS.md", Parts: benchParts, Runs: 3,
		Started: start, Finished: start.Add(56*time.Minute + 20*time.Second),
		Machine: machineFacts{CPUModel: "AMD EPYC", CPUs: 2, MemoryBytes: 24_650_000_000, Kernel: "6.18.44", GoVersion: "go1.26.8",
			LoadStart: 0.22, LoadEnd: 1.5, Versions: []programVersion{{"ixpd", "v0.3.0"}, {"BIRD", "2.0.12"}, {"goflow2", "v2.2.6"},
				{"pmacct", "sfacctd 1.7.7-git, nfacctd 1.7.7-git"}, {"ClickHouse", ""}}},
		RS: []rsPart{
			{Members: 100, Prefixes: 1000, Args: "rs-bench -members 100 -prefixes 1000 -runs 3", Report: rs},
			{Members: 30, Prefixes: 5000, Args: "rs-bench -members 30 -prefixes 5000 -runs 3", Report: rsSmall,
				Error: "rs 30×5000: ixpd | run 1\ndid not converge"},
		},
		Flow:    []flowPart{{Stream: "sFlow v5", Args: "flow-bench -targets goflow2,sfacctd,ixpd-duckdb", Report: flow}},
		APIArgs: "api-bench -stores duckdb -runs 3", API: api,
		ProbeArgs: "probe-bench -runs 3", Probe: probeRep,
		NotRun: map[string]string{targetIXPDClickHse: "clickhouse-server: program not found"},
	}
}

func TestHarnessMarkdown(t *testing.T) {
	var b strings.Builder
	if err := fixedHarnessResult().writeMarkdown(&b); err != nil {
		t.Fatal(err)
	}
	got := b.String()
	golden := filepath.Join("testdata", "bench_section.md")
	if *updateGolden {
		if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(got, string(want)); diff != "" {
		t.Errorf("markdown (-got +want); go test -run TestHarnessMarkdown -update rewrites %s:\n%s", golden, diff)
	}
	// What the golden file must hold, independently of it: the per-run
	// ratio medians, not the ratios of the medians.
	for _, line := range []string{
		"## make bench, 2026-11-29\n",
		"| 100 × 1,000 | **ixpd/bird** | 3 run(s) | **15.00** | **25.00** | **125.00** |\n",
		"| 30 × 5,000 | ixpd | 0/1 | – | – | – |\n",
		// goflow2 at 50k: 750,000/5 and /6 flows per CPU-s, ixpd 187,500:
		// ratios 1.25 and 1.5, median 1.375. At 400k goflow2 loses 25 %
		// (not bold): ratios 1.333 and 1.232, median 1.28.
		"| ixpd-duckdb / goflow2 | **1.38** | 1.28 |\n",
		"| twamp | **heap/tickers** | 3 run(s) | | **0.50** | **0.51** | | **1.05** | |\n",
		"| ClickHouse | – |\n",
		"Not run: ixpd-clickhouse (clickhouse-server: program not found).\n",
	} {
		if !strings.Contains(got, line) {
			t.Errorf("markdown lacks %q", line)
		}
	}
}

func TestAppendSection(t *testing.T) {
	const section = "## make bench, 2026-11-29\n\nfigures\n"
	tests := []struct {
		name, old, want string
		missing         bool
	}{
		{name: "no file", missing: true, want: section},
		{name: "empty", old: "", want: section},
		{name: "ends with a blank line", old: "# Benchmarks\n\n", want: "# Benchmarks\n\n" + section},
		{name: "ends with a newline", old: "# Benchmarks\n\n| a | b |\n", want: "# Benchmarks\n\n| a | b |\n\n" + section},
		{name: "no final newline", old: "# Benchmarks\n\ntext", want: "# Benchmarks\n\ntext\n\n" + section},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "BENCHMARKS.md")
			if !tt.missing {
				if err := os.WriteFile(path, []byte(tt.old), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			if err := appendSection(path, section); err != nil {
				t.Fatal(err)
			}
			got, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(string(got), tt.want); diff != "" {
				t.Errorf("file (-got +want):\n%s", diff)
			}
			// A second run appends below and leaves the first alone.
			if err := appendSection(path, "## make bench, 2026-11-30\n"); err != nil {
				t.Fatal(err)
			}
			again, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			if want := tt.want + "\n## make bench, 2026-11-30\n"; string(again) != want {
				t.Errorf("after a second append:\n%s\nwant:\n%s", again, want)
			}
		})
	}
}

func TestParseCPUInfo(t *testing.T) {
	const cpuinfo = `processor	: 0
vendor_id	: AuthenticAMD
model name	: AMD EPYC 7B13
flags		: fpu vme

processor	: 1
vendor_id	: AuthenticAMD
model name	: AMD EPYC 7B13
`
	model, n := parseCPUInfo([]byte(cpuinfo))
	if model != "AMD EPYC 7B13" || n != 2 {
		t.Errorf("parseCPUInfo = %q, %d; want AMD EPYC 7B13, 2", model, n)
	}
	if got := parseLoadAvg("0.22 0.61 1.18 1/101 19155\n"); got != 0.22 {
		t.Errorf("parseLoadAvg = %v", got)
	}
	if got := parseLoadAvg(""); got != -1 {
		t.Errorf("parseLoadAvg(\"\") = %v", got)
	}
}

func TestParseVersions(t *testing.T) {
	tests := []struct {
		name, got, want string
	}{
		{"clickhouse-client", parseClickHouseVersion("ClickHouse client version 18.16.1.\n"), "18.16.1"},
		{"clickhouse", parseClickHouseVersion("ClickHouse local version 24.8.4.13 (official build).\n"), "24.8.4.13"},
		{"clickhouse garbage", parseClickHouseVersion("Unknown option specified: version\n"), ""},
		{"sfacctd", parsePmacctVersion("sFlow Accounting Daemon, sfacctd 1.7.7-git [RELEASE]\n\nArguments:\n"), "sfacctd 1.7.7-git"},
		{"nfacctd", parsePmacctVersion("NetFlow Accounting Daemon, nfacctd 1.7.8 [20220106-0 (abcdef)]\n"), "nfacctd 1.7.8"},
		{"not pmacct", parsePmacctVersion("bash: sfacctd: command not found\n"), ""},
	}
	for _, tt := range tests {
		if tt.got != tt.want {
			t.Errorf("%s: got %q, want %q", tt.name, tt.got, tt.want)
		}
	}
}

func TestFmtNum(t *testing.T) {
	tests := []struct {
		v    float64
		dec  int
		want string
	}{
		{0, 0, "0"}, {999, 0, "999"}, {1000, 0, "1,000"}, {1234567.891, 2, "1,234,567.89"}, {-45000, 1, "-45,000.0"}, {0.456, 2, "0.46"},
	}
	for _, tt := range tests {
		if got := fmtNum(tt.v, tt.dec); got != tt.want {
			t.Errorf("fmtNum(%v, %d) = %q, want %q", tt.v, tt.dec, got, tt.want)
		}
	}
	for r, want := range map[float64]string{50000: "50k", 400000: "400k", 12500: "12,500"} {
		if got := rateLabel(r); got != want {
			t.Errorf("rateLabel(%v) = %q, want %q", r, got, want)
		}
	}
}

// TestCollectMachineFacts reads this machine's facts from /proc (CI runs
// on Linux, so it always runs there).
func TestCollectMachineFacts(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("reads /proc")
	}
	m := collectMachineFacts()
	osrelease, err := os.ReadFile("/proc/sys/kernel/osrelease")
	if err != nil {
		t.Fatal(err)
	}
	if m.Kernel != strings.TrimSpace(string(osrelease)) || m.Kernel == "" {
		t.Errorf("kernel %q, want %q", m.Kernel, osrelease)
	}
	if m.CPUs < 1 || m.MemoryBytes < 1<<20 || m.GoVersion != runtime.Version() || m.LoadStart < 0 {
		t.Errorf("facts %+v", m)
	}
	if runtime.GOARCH == "amd64" && m.CPUModel == "" {
		t.Errorf("no CPU model from /proc/cpuinfo")
	}
}
