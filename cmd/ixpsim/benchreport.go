package main

import (
	"fmt"
	"io"
	"maps"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"time"
)

// machineFacts describe where ixpsim bench ran.
type machineFacts struct {
	CPUModel    string  `json:"cpu_model"`
	CPUs        int     `json:"cpus"`
	MemoryBytes int64   `json:"memory_bytes"`
	Kernel      string  `json:"kernel"`
	GoVersion   string  `json:"go_version"`
	LoadStart   float64 `json:"load_average_start"`
	LoadEnd     float64 `json:"load_average_end"`
	// Versions are the programs measured, in a fixed order; "" when
	// missing.
	Versions []programVersion `json:"versions"`
}

// programVersion is one program's version.
type programVersion struct {
	Name    string `json:"name"`
	Version string `json:"version"`
}

// collectMachineFacts reads the CPU, memory, kernel and load average from
// /proc; programVersions adds the programs' versions.
func collectMachineFacts() machineFacts {
	m := machineFacts{MemoryBytes: memTotal(), GoVersion: runtime.Version(), LoadStart: loadAverage()}
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		m.CPUModel, m.CPUs = parseCPUInfo(b)
	}
	if m.CPUs == 0 {
		m.CPUs = runtime.NumCPU()
	}
	if b, err := os.ReadFile("/proc/sys/kernel/osrelease"); err == nil {
		m.Kernel = strings.TrimSpace(string(b))
	}
	return m
}

// parseCPUInfo returns the first "model name" of /proc/cpuinfo and the
// number of "processor" entries.
func parseCPUInfo(b []byte) (model string, cpus int) {
	for line := range strings.Lines(string(b)) {
		k, v, ok := strings.Cut(line, ":")
		if !ok {
			continue
		}
		switch strings.TrimSpace(k) {
		case "processor":
			cpus++
		case "model name":
			if model == "" {
				model = strings.TrimSpace(v)
			}
		}
	}
	return model, cpus
}

// loadAverage is the one-minute load average, -1 if unknown.
func loadAverage() float64 {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return -1
	}
	return parseLoadAvg(string(b))
}

func parseLoadAvg(s string) float64 {
	f := strings.Fields(s)
	if len(f) == 0 {
		return -1
	}
	v, err := strconv.ParseFloat(f[0], 64)
	if err != nil {
		return -1
	}
	return v
}

// programVersions asks each program bench measures for its version.
func programVersions(o *harnessOptions) []programVersion {
	first := func(s string) string {
		s, _, _ = strings.Cut(strings.TrimSpace(s), "\n")
		return strings.TrimSpace(s)
	}
	var ixpd string
	if out, err := runOutput(o.ixpdBin, "version"); err == nil {
		ixpd = strings.TrimPrefix(first(out), "ixpd ")
	}
	var pm []string
	for _, bin := range []string{o.sfacctdBin, o.nfacctdBin} {
		if v := pmacctVersion(bin); v != "" {
			pm = append(pm, v)
		}
	}
	return []programVersion{
		{"ixpd", ixpd},
		{"BIRD", strings.TrimPrefix(first(birdVersion(o.birdBin)), "BIRD version ")},
		{"goflow2", goflow2Version(o.goflow2Bin)},
		{"pmacct", strings.Join(pm, ", ")},
		{"ClickHouse", clickhouseVersion(o.clickhouse)},
	}
}

// goflow2Version is the module version for the binary bench builds
// (go install leaves its -v empty), else what -v prints.
func goflow2Version(bin string) string {
	if bin == "" {
		return ""
	}
	if filepath.Base(filepath.Dir(bin)) == "goflow2-v2.2.6" {
		return "v2.2.6"
	}
	out, err := runOutput(bin, "-v")
	if err != nil {
		return ""
	}
	return strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(out), "GoFlow2"))
}

// clickhouseVersion asks clickhouse-client, or the single clickhouse
// binary, for its version.
func clickhouseVersion(server string) string {
	for _, c := range [][]string{{"clickhouse-client", "--version"}, {"clickhouse", "--version"}, {server, "--version"}} {
		if c[0] == "" {
			continue
		}
		if _, err := exec.LookPath(c[0]); err != nil {
			continue
		}
		if out, err := runOutput(c[0], c[1:]...); err == nil {
			if v := parseClickHouseVersion(out); v != "" {
				return v
			}
		}
	}
	return ""
}

// parseClickHouseVersion reads "ClickHouse client version 18.16.1." as
// "18.16.1".
func parseClickHouseVersion(out string) string {
	_, v, ok := strings.Cut(out, "version ")
	if !ok {
		return ""
	}
	v, _, _ = strings.Cut(v, "\n")
	f := strings.Fields(v)
	if len(f) == 0 {
		return ""
	}
	return strings.TrimSuffix(f[0], ".")
}

// mdWriter writes markdown and keeps the first write error.
type mdWriter struct {
	w   io.Writer
	err error
}

func (m *mdWriter) printf(format string, args ...any) {
	if m.err == nil {
		_, m.err = fmt.Fprintf(m.w, format, args...)
	}
}

// fmtNum formats v with dec decimals and thousands separators.
func fmtNum(v float64, dec int) string {
	s := strconv.FormatFloat(v, 'f', dec, 64)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	whole, frac, _ := strings.Cut(s, ".")
	var b strings.Builder
	for i, c := range whole {
		if i > 0 && (len(whole)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	out := b.String()
	if frac != "" {
		out += "." + frac
	}
	if neg {
		out = "-" + out
	}
	return out
}

// rateLabel writes a rate as 50k.
func rateLabel(r float64) string {
	if r >= 1000 && int64(r)%1000 == 0 {
		return fmt.Sprintf("%dk", int64(r)/1000)
	}
	return fmtNum(r, 0)
}

// writeMarkdown writes the dated section with the machine's facts and one
// table per part.
func (res *harnessResult) writeMarkdown(w io.Writer) error {
	m := &mdWriter{w: w}
	took := res.Finished.Sub(res.Started).Round(time.Minute)
	m.printf("## make bench, %s\n\n", res.Started.Format(time.DateOnly))
	m.printf("`%s`: parts %s; %d run(s) of each; %s–%s UTC (%s).", strings.TrimSpace(res.Command), strings.Join(res.Parts, ", "),
		res.Runs, res.Started.Format("2006-01-02 15:04"), res.Finished.Format("15:04"), strings.TrimSuffix(took.String(), "0s"))
	if res.Quick {
		m.printf(" **Quick sizes**: a smoke run, not figures to quote.")
	}
	m.printf("\n\n")
	mf := res.Machine
	m.printf("| machine | |\n| --- | --- |\n")
	m.printf("| CPU | %s × %d |\n", orDash(mf.CPUModel), mf.CPUs)
	m.printf("| memory | %s GiB |\n", fmtNum(float64(mf.MemoryBytes)/(1<<30), 1))
	m.printf("| kernel | Linux %s |\n", orDash(mf.Kernel))
	m.printf("| Go | %s |\n", mf.GoVersion)
	for _, v := range mf.Versions {
		m.printf("| %s | %s |\n", v.Name, orDash(v.Version))
	}
	m.printf("| load average (1 min) | %s at the start, %s at the end |\n\n", fmtNum(mf.LoadStart, 2), fmtNum(mf.LoadEnd, 2))
	m.printf("Each figure is the median of the runs that completed; a ratio (bold) is the median, over the runs, of ixpd's " +
		"figure divided by its anchor's from the same run. The load average shows whether other jobs shared the machine.\n")
	if len(res.NotRun) > 0 {
		var parts []string
		for _, k := range slices.Sorted(maps.Keys(res.NotRun)) {
			parts = append(parts, fmt.Sprintf("%s (%s)", k, res.NotRun[k]))
		}
		m.printf("\nNot run: %s.\n", strings.Join(parts, "; "))
	}
	if slices.Contains(res.Parts, partRS) {
		res.writeRS(m)
	}
	if slices.Contains(res.Parts, partFlow) {
		res.writeFlow(m)
	}
	if slices.Contains(res.Parts, partAPI) {
		res.writeAPI(m)
	}
	if slices.Contains(res.Parts, partProbe) {
		res.writeProbe(m)
	}
	return m.err
}

func orDash(s string) string {
	if s == "" {
		return "–"
	}
	return s
}

// rsRunRatios returns, for ixpd's wall time, CPU and peak RSS over
// BIRD's in the same run, the median over the runs where both converged
// (NaN where BIRD's figure is 0 in every run: under a clock tick of CPU),
// and how many runs had both.
func rsRunRatios(rep *report) (wall, cpu, rss float64, n int) {
	var ws, cs, rs []float64
	for _, ix := range rep.Results["ixpd"] {
		for _, bd := range rep.Results["bird"] {
			if ix.Run != bd.Run || !ix.Converged || !bd.Converged {
				continue
			}
			n++
			if bd.WallSeconds > 0 {
				ws = append(ws, ix.WallSeconds/bd.WallSeconds)
			}
			if bd.RSCPUSeconds > 0 {
				cs = append(cs, ix.RSCPUSeconds/bd.RSCPUSeconds)
			}
			if bd.RSPeakRSSBytes > 0 {
				rs = append(rs, float64(ix.RSPeakRSSBytes)/float64(bd.RSPeakRSSBytes))
			}
		}
	}
	orNaN := func(xs []float64) float64 {
		if len(xs) == 0 {
			return math.NaN()
		}
		return median(xs)
	}
	return orNaN(ws), orNaN(cs), orNaN(rs), n
}

// boldRatio writes a ratio in bold, or a dash for NaN.
func boldRatio(v float64) string {
	if math.IsNaN(v) {
		return "–"
	}
	return "**" + fmtNum(v, 2) + "**"
}

func (res *harnessResult) writeRS(m *mdWriter) {
	m.printf("\n### Route-server convergence: ixpd vs BIRD 2\n\n")
	if r, ok := res.NotRun[partRS]; ok {
		m.printf("Not run: %s.\n", r)
		return
	}
	m.printf("Until every member holds every other member's prefixes; CPU and peak RSS of the route server.\n\n")
	m.printf("| members × prefixes | target | converged | wall s | RS CPU s | RS peak RSS MiB |\n")
	m.printf("| --- | --- | --- | ---: | ---: | ---: |\n")
	for _, p := range res.RS {
		size := fmt.Sprintf("%s × %s", fmtNum(float64(p.Members), 0), fmtNum(float64(p.Prefixes), 0))
		if p.Report == nil {
			m.printf("| %s | – | error | | | |\n", size)
			continue
		}
		for _, s := range p.Report.Summary {
			switch {
			case s.Skipped != "":
				m.printf("| %s | %s | not run | | | |\n", size, s.Target)
			case s.Converged == 0:
				m.printf("| %s | %s | 0/%d | – | – | – |\n", size, s.Target, s.Runs)
			default:
				m.printf("| %s | %s | %d/%d | %s | %s | %s |\n", size, s.Target, s.Converged, s.Runs,
					fmtNum(s.WallSeconds, 2), fmtNum(s.RSCPU, 2), fmtNum(float64(s.RSPeakRSS)/mib, 1))
			}
		}
		if wall, cpu, rss, n := rsRunRatios(p.Report); n > 0 {
			m.printf("| %s | **ixpd/bird** | %d run(s) | %s | %s | %s |\n", size, n, boldRatio(wall), boldRatio(cpu), boldRatio(rss))
		}
	}
	m.printf("\n")
	for _, p := range res.RS {
		m.printf("- `ixpsim %s`", p.Args)
		if p.Error != "" {
			m.printf(": **failed**: %s", oneLine(p.Error))
		}
		m.printf("\n")
	}
}

func (res *harnessResult) writeFlow(m *mdWriter) {
	for _, p := range res.Flow {
		rep := p.Report
		m.printf("\n### Flow ingest, %s stream: ixpd vs goflow2 and pmacct\n\n", p.Stream)
		if rep == nil {
			m.printf("`ixpsim %s` **failed**: %s\n", p.Args, oneLine(p.Error))
			continue
		}
		m.printf("%s s per target and rate; accepted = decoded (goflow2), written to the file (pmacct), written to the store (ixpd); "+
			"CPU s of the target's processes. `ixpsim %s`", fmtNum(rep.DurationSeconds, 0), p.Args)
		if p.Error != "" {
			m.printf(" (**failed in part**: %s)", oneLine(p.Error))
		}
		m.printf("\n\n")
		m.printf("| target | offered flows/s | runs | accepted flows/s | loss %% | CPU s | flows/CPU-s | peak RSS MiB |\n")
		m.printf("| --- | ---: | --- | ---: | ---: | ---: | ---: | ---: |\n")
		for _, s := range rep.Summary {
			if s.OK == 0 {
				m.printf("| %s | %s | 0/%d | error | | | | |\n", s.Target, fmtNum(s.OfferedFlowRate, 0), s.Runs)
				continue
			}
			m.printf("| %s | %s | %d/%d | %s | %s | %s | %s | %s |\n", s.Target, fmtNum(s.OfferedFlowRate, 0), s.OK, s.Runs,
				fmtNum(s.AcceptedRate, 0), fmtNum(s.LossPercent, 2), fmtNum(s.CPUSeconds, 2), fmtNum(s.FlowsPerCPU, 0), fmtNum(float64(s.PeakRSS)/mib, 1))
		}
		if len(rep.Ratios) == 0 {
			m.printf("\nNo ratio: needs an ixpd target and an anchor.\n")
			continue
		}
		var rates []float64
		type pair struct{ target, anchor string }
		var pairs []pair
		for _, r := range rep.Ratios {
			if !slices.Contains(rates, r.OfferedFlowRate) {
				rates = append(rates, r.OfferedFlowRate)
			}
			if p := (pair{r.Target, r.Anchor}); !slices.Contains(pairs, p) {
				pairs = append(pairs, p)
			}
		}
		slices.Sort(rates)
		m.printf("\nFlows per CPU-second, ixpd over the anchor at the same offered rate (bold: both lost ≤ 1 %%):\n\n| ratio |")
		for _, r := range rates {
			m.printf(" %s |", rateLabel(r))
		}
		m.printf("\n| --- |%s\n", strings.Repeat(" ---: |", len(rates)))
		for _, pr := range pairs {
			m.printf("| %s / %s |", pr.target, pr.anchor)
			for _, rate := range rates {
				i := slices.IndexFunc(rep.Ratios, func(r flowRatio) bool {
					return r.Target == pr.target && r.Anchor == pr.anchor && r.OfferedFlowRate == rate
				})
				switch {
				case i < 0:
					m.printf(" – |")
				case rep.Ratios[i].KeptUp:
					m.printf(" **%s** |", fmtNum(rep.Ratios[i].Ratio, 2))
				default:
					m.printf(" %s |", fmtNum(rep.Ratios[i].Ratio, 2))
				}
			}
			m.printf("\n")
		}
	}
}

func (res *harnessResult) writeAPI(m *mdWriter) {
	m.printf("\n### API latency on a month of flows: the API vs the store queries behind it\n\n")
	if r, ok := res.NotRun[partAPI]; ok {
		m.printf("Not run: %s.\n", r)
		return
	}
	rep := res.API
	if rep == nil {
		m.printf("`ixpsim %s` **failed**: %s\n", res.APIArgs, oneLine(res.APIError))
		return
	}
	m.printf("%d members, month %s, %d sequential requests per endpoint after a first one; the anchor (store) is the "+
		"handler's store queries timed in the bench's process. The first `map.geojson` request builds the feed, the "+
		"others come from its one-minute cache. `ixpsim %s`", rep.Members, rep.Month, rep.Requests, res.APIArgs)
	if res.APIError != "" {
		m.printf(" (**failed in part**: %s)", oneLine(res.APIError))
	}
	m.printf("\n\n")
	var loads []string
	for _, r := range rep.Runs {
		if r.LoadSeconds > 0 {
			loads = append(loads, fmt.Sprintf("%s %s flows at %s flows/s", r.Store, fmtNum(float64(r.Flows), 0), fmtNum(r.LoadRate, 0)))
		}
	}
	if len(loads) > 0 {
		m.printf("Loaded: %s.\n\n", strings.Join(loads, "; "))
	}
	m.printf("| store | endpoint | API first ms | API p50 ms | API p95 ms | store p50 ms | store p95 ms | API p95 / store p95 | API first / store p50 |\n")
	m.printf("| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |\n")
	for _, r := range rep.Runs {
		for _, e := range r.Endpoints {
			m.printf("| %s | `%s` | %s | %s | %s | %s | %s | **%s** | **%s** |\n", r.Store, e.Endpoint, fmtNum(e.FirstMs, 1),
				fmtNum(e.P50Ms, 1), fmtNum(e.P95Ms, 1), fmtNum(e.StoreP50Ms, 1), fmtNum(e.StoreP95Ms, 1),
				fmtNum(e.P95OverStoreP95, 2), fmtNum(e.FirstOverStoreP50, 2))
		}
	}
}

func (res *harnessResult) writeProbe(m *mdWriter) {
	m.printf("\n### Latency probe scheduling: the prober's timer heap vs a ticker per target\n\n")
	rep := res.Probe
	if rep == nil {
		m.printf("`ixpsim %s` **failed**: %s\n", res.ProbeArgs, oneLine(res.ProbeError))
		return
	}
	m.printf("%s targets every %s s, %s s per method and scheduler; late = how long after its slot a probe left. `ixpsim %s`\n\n",
		fmtNum(float64(rep.Targets), 0), fmtNum(rep.IntervalSeconds, 0), fmtNum(rep.DurationSeconds, 0), res.ProbeArgs)
	m.printf("| method | scheduler | runs | sent / answered | late p50 ms | late p99 ms | late max ms | CPU %% of a core | heap MiB |\n")
	m.printf("| --- | --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |\n")
	for _, s := range rep.Summary {
		m.printf("| %s | %s | %d/%d | %s / %s | %s | %s | %s | %s | %s |\n", s.Method, s.Scheduler, s.OK, s.Runs,
			fmtNum(s.Sent, 0), fmtNum(s.Received, 0), fmtNum(s.LateP50Ms, 2), fmtNum(s.LateP99Ms, 2), fmtNum(s.LateMaxMs, 2),
			fmtNum(s.CPUPercent, 1), fmtNum(s.HeapMiB, 1))
		if s.Scheduler != probeSchedulers[len(probeSchedulers)-1] {
			continue
		}
		if i := slices.IndexFunc(rep.Ratios, func(r probeRatio) bool { return r.Method == s.Method }); i >= 0 {
			r := rep.Ratios[i]
			m.printf("| %s | **heap/tickers** | %d run(s) | | **%s** | **%s** | | **%s** | |\n", s.Method, r.Runs,
				fmtNum(r.P50, 2), fmtNum(r.P99, 2), fmtNum(r.CPU, 2))
		}
	}
	for _, k := range slices.Sorted(maps.Keys(rep.Skipped)) {
		m.printf("\n%s not run: %s\n", k, oneLine(rep.Skipped[k]))
	}
	if res.ProbeError != "" {
		m.printf("\n**Failed in part**: %s\n", oneLine(res.ProbeError))
	}
}

// oneLine keeps an error message on one markdown line.
func oneLine(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	if len(s) > 300 {
		s = s[:300] + "…"
	}
	return strings.ReplaceAll(s, "|", "\\|")
}
