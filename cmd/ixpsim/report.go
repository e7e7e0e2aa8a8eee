package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"runtime"
	"slices"
	"strings"
	"text/tabwriter"
)

// targetSummary is the median of a target's converged runs.
type targetSummary struct {
	Target      string  `json:"target"`
	Runs        int     `json:"runs"`
	Converged   int     `json:"converged_runs"`
	Skipped     string  `json:"skipped,omitempty"`
	WallSeconds float64 `json:"wall_seconds"`
	RSCPU       float64 `json:"rs_cpu_seconds"`
	RSPeakRSS   int64   `json:"rs_peak_rss_bytes"`
	BenchCPU    float64 `json:"bench_cpu_seconds"`
	// Failure holds the last run that did not converge, if any.
	Failure *runResult `json:"failure,omitempty"`
}

// machine describes where the bench ran.
type machine struct {
	CPUs        int    `json:"cpus"`
	MemoryBytes int64  `json:"memory_bytes"`
	BIRD        string `json:"bird,omitempty"`
	GoVersion   string `json:"go_version"`
}

type report struct {
	Members    int                    `json:"members"`
	Prefixes   int                    `json:"prefixes"`
	HeldTarget int                    `json:"held_target"`
	Runs       int                    `json:"runs"`
	BIRDTables string                 `json:"bird_tables"`
	Machine    machine                `json:"machine"`
	Summary    []targetSummary        `json:"summary"`
	Ratio      map[string]float64     `json:"ratio_ixpd_bird,omitempty"`
	Results    map[string][]runResult `json:"results"`
}

func median(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

func summarize(name string, runs []runResult) targetSummary {
	s := targetSummary{Target: name, Runs: len(runs)}
	var wall, cpu, rss, bench []float64
	for i := range runs {
		r := &runs[i]
		if !r.Converged {
			s.Failure = r
			continue
		}
		s.Converged++
		wall = append(wall, r.WallSeconds)
		cpu = append(cpu, r.RSCPUSeconds)
		rss = append(rss, float64(r.RSPeakRSSBytes))
		bench = append(bench, r.BenchCPUSeconds)
	}
	s.WallSeconds, s.RSCPU, s.RSPeakRSS, s.BenchCPU = median(wall), median(cpu), int64(median(rss)), median(bench)
	return s
}

func memTotal() int64 {
	b, err := os.ReadFile("/proc/meminfo")
	if err != nil {
		return 0
	}
	var kb int64
	for line := range strings.Lines(string(b)) {
		if _, err := fmt.Sscanf(line, "MemTotal: %d kB", &kb); err == nil {
			return kb * 1024
		}
	}
	return 0
}

func newReport(o *benchOptions, results map[string][]runResult, skipped map[string]string) *report {
	rep := &report{
		Members: o.members, Prefixes: o.prefixes, HeldTarget: (o.members - 1) * o.prefixes,
		Runs: o.runs, BIRDTables: o.birdTables, Results: results,
		Machine: machine{CPUs: runtime.NumCPU(), MemoryBytes: memTotal(), GoVersion: runtime.Version()},
	}
	if slices.Contains(o.targets, "bird") {
		rep.Machine.BIRD = birdVersion(o.birdBin)
	}
	byName := map[string]targetSummary{}
	for _, name := range o.targets {
		s := summarize(name, results[name])
		s.Skipped = skipped[name]
		rep.Summary = append(rep.Summary, s)
		byName[name] = s
	}
	ix, bd := byName["ixpd"], byName["bird"]
	if ix.Converged > 0 && bd.Converged > 0 && bd.WallSeconds > 0 && bd.RSCPU > 0 && bd.RSPeakRSS > 0 {
		rep.Ratio = map[string]float64{
			"wall":      ix.WallSeconds / bd.WallSeconds,
			"rs_cpu":    ix.RSCPU / bd.RSCPU,
			"rs_rss":    float64(ix.RSPeakRSS) / float64(bd.RSPeakRSS),
			"bench_cpu": ix.BenchCPU / bd.BenchCPU,
		}
	}
	return rep
}

func (rep *report) writeJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(rep)
}

const mib = 1 << 20

// writeTable writes the report as a table and returns the first write
// error.
func (rep *report) writeTable(w io.Writer) error {
	var err error
	printf := func(to io.Writer, format string, args ...any) {
		if err == nil {
			_, err = fmt.Fprintf(to, format, args...)
		}
	}
	printf(w, "rs-bench: %d members × %d IPv4 prefixes, each member must hold %d; %d run(s), median of converged runs\n",
		rep.Members, rep.Prefixes, rep.HeldTarget, rep.Runs)
	printf(w, "machine: %d CPUs, %.1f GiB; %s; BIRD tables: %s\n\n",
		rep.Machine.CPUs, float64(rep.Machine.MemoryBytes)/(1<<30), rep.Machine.BIRD, rep.BIRDTables)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	printf(tw, "target\tconverged\twall s\tRS CPU s\tRS peak RSS MiB\tbench CPU s\t\n")
	for _, s := range rep.Summary {
		switch {
		case s.Skipped != "":
			printf(tw, "%s\tnot run\t-\t-\t-\t-\t\n", s.Target)
		case s.Converged == 0:
			f := s.Failure
			printf(tw, "%s\tno\t-\t%.1f\t%.1f\t%.1f\t\n", s.Target, f.RSCPUSeconds, float64(f.RSPeakRSSBytes)/mib, f.BenchCPUSeconds)
		default:
			printf(tw, "%s\t%d/%d\t%.2f\t%.2f\t%.1f\t%.2f\t\n", s.Target, s.Converged, s.Runs,
				s.WallSeconds, s.RSCPU, float64(s.RSPeakRSS)/mib, s.BenchCPU)
		}
	}
	if rep.Ratio != nil {
		printf(tw, "ixpd/bird\t\t%.2f\t%.2f\t%.2f\t%.2f\t\n", rep.Ratio["wall"], rep.Ratio["rs_cpu"], rep.Ratio["rs_rss"], rep.Ratio["bench_cpu"])
	}
	if err == nil {
		err = tw.Flush()
	}
	for _, s := range rep.Summary {
		if s.Skipped != "" {
			printf(w, "\n%s not run: %s\n", s.Target, s.Skipped)
		}
		if f := s.Failure; f != nil {
			printf(w, "\n%s run %d did not converge: %s\n  sessions up %d/%d, members complete %d/%d, prefixes held min %d / median %d of %d\n",
				s.Target, f.Run, f.Error, f.SessionsUp, rep.Members, f.MembersComplete, rep.Members, f.HeldMin, f.HeldMedian, f.HeldTarget)
			printf(w, "  (CPU and RSS in the table for a target that did not converge are at the moment it gave up)\n")
		}
	}
	if rep.Ratio == nil {
		printf(w, "\nixpd/bird ratio: needs a converged run of both\n")
	}
	return err
}
