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
	// With -filters all: the medians of the change events that completed,
	// and of the peak RSS at the end of the run.
	VRPChangeSeconds float64 `json:"vrp_change_seconds,omitempty"`
	IRRChangeSeconds float64 `json:"irr_change_seconds,omitempty"`
	VRPChangeRuns    int     `json:"vrp_change_runs,omitempty"`
	IRRChangeRuns    int     `json:"irr_change_runs,omitempty"`
	RSPeakRSSEnd     int64   `json:"rs_peak_rss_end_bytes,omitempty"`
	// Failure holds the last run that did not converge, if any.
	Failure *runResult `json:"failure,omitempty"`
	// EventFailure holds the last converged run whose change events did
	// not complete, if any.
	EventFailure *runResult `json:"event_failure,omitempty"`
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
	Filters    string                 `json:"filters"`
	VRPs       int                    `json:"vrps,omitempty"`
	Change     int                    `json:"change,omitempty"`
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
	var wall, cpu, rss, bench, vrp, irr, rssEnd []float64
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
		if r.VRPChange != nil && r.VRPChange.Done {
			vrp = append(vrp, r.VRPChange.Seconds)
		}
		if r.IRRChange != nil && r.IRRChange.Done {
			irr = append(irr, r.IRRChange.Seconds)
		}
		if (r.VRPChange != nil && !r.VRPChange.Done) || (r.IRRChange != nil && !r.IRRChange.Done) {
			s.EventFailure = r
		}
		if r.RSPeakRSSEndBytes > 0 {
			rssEnd = append(rssEnd, float64(r.RSPeakRSSEndBytes))
		}
	}
	s.WallSeconds, s.RSCPU, s.RSPeakRSS, s.BenchCPU = median(wall), median(cpu), int64(median(rss)), median(bench)
	s.VRPChangeSeconds, s.IRRChangeSeconds, s.RSPeakRSSEnd = median(vrp), median(irr), int64(median(rssEnd))
	s.VRPChangeRuns, s.IRRChangeRuns = len(vrp), len(irr)
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
		Runs: o.runs, BIRDTables: o.birdTables, Results: results, Filters: o.filters,
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
		if ix.VRPChangeRuns > 0 && bd.VRPChangeRuns > 0 && bd.VRPChangeSeconds > 0 {
			rep.Ratio["vrp_change"] = ix.VRPChangeSeconds / bd.VRPChangeSeconds
		}
		if ix.IRRChangeRuns > 0 && bd.IRRChangeRuns > 0 && bd.IRRChangeSeconds > 0 {
			rep.Ratio["irr_change"] = ix.IRRChangeSeconds / bd.IRRChangeSeconds
		}
		if ix.RSPeakRSSEnd > 0 && bd.RSPeakRSSEnd > 0 {
			rep.Ratio["rs_rss_end"] = float64(ix.RSPeakRSSEnd) / float64(bd.RSPeakRSSEnd)
		}
	}
	if o.filters == filtersAll {
		rep.VRPs, rep.Change = o.vrps, o.change
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
	all := rep.Filters == filtersAll
	printf(w, "rs-bench: %d members × %d IPv4 prefixes, each member must hold %d; %d run(s), median of converged runs\n",
		rep.Members, rep.Prefixes, rep.HeldTarget, rep.Runs)
	if all {
		printf(w, "filters: all (%d VRPs, IRR AS-SET per member, PeeringDB, blocklist, control communities, blackholing); each change takes away %d /24s\n",
			rep.VRPs, rep.Change)
	}
	printf(w, "machine: %d CPUs, %.1f GiB; %s; BIRD tables: %s\n\n",
		rep.Machine.CPUs, float64(rep.Machine.MemoryBytes)/(1<<30), rep.Machine.BIRD, rep.BIRDTables)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	extra := func(s targetSummary) string {
		if !all {
			return ""
		}
		f := func(runs int, v float64) string {
			if runs == 0 {
				return "-"
			}
			return fmt.Sprintf("%.2f", v)
		}
		end := "-"
		if s.RSPeakRSSEnd > 0 {
			end = fmt.Sprintf("%.1f", float64(s.RSPeakRSSEnd)/mib)
		}
		return f(s.VRPChangeRuns, s.VRPChangeSeconds) + "\t" + f(s.IRRChangeRuns, s.IRRChangeSeconds) + "\t" + end + "\t"
	}
	head, none := "", ""
	if all {
		head, none = "VRP change s\tIRR change s\tRS peak RSS end MiB\t", "-\t-\t-\t"
	}
	printf(tw, "target\tconverged\twall s\tRS CPU s\tRS peak RSS MiB\tbench CPU s\t%s\n", head)
	for _, s := range rep.Summary {
		switch {
		case s.Skipped != "":
			printf(tw, "%s\tnot run\t-\t-\t-\t-\t%s\n", s.Target, none)
		case s.Converged == 0:
			f := s.Failure
			printf(tw, "%s\tno\t-\t%.1f\t%.1f\t%.1f\t%s\n", s.Target, f.RSCPUSeconds, float64(f.RSPeakRSSBytes)/mib, f.BenchCPUSeconds, none)
		default:
			printf(tw, "%s\t%d/%d\t%.2f\t%.2f\t%.1f\t%.2f\t%s\n", s.Target, s.Converged, s.Runs,
				s.WallSeconds, s.RSCPU, float64(s.RSPeakRSS)/mib, s.BenchCPU, extra(s))
		}
	}
	if rep.Ratio != nil {
		ratios := ""
		if all {
			r := func(k string) string {
				if v, ok := rep.Ratio[k]; ok {
					return fmt.Sprintf("%.2f", v)
				}
				return "-"
			}
			ratios = r("vrp_change") + "\t" + r("irr_change") + "\t" + r("rs_rss_end") + "\t"
		}
		printf(tw, "ixpd/bird\t\t%.2f\t%.2f\t%.2f\t%.2f\t%s\n", rep.Ratio["wall"], rep.Ratio["rs_cpu"], rep.Ratio["rs_rss"], rep.Ratio["bench_cpu"], ratios)
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
		if f := s.EventFailure; f != nil {
			printf(w, "\n%s run %d: a change event did not complete: %s\n", s.Target, f.Run, f.Error)
		}
	}
	if all {
		printf(w, "\nchange events (every run): reload command s, withdrawals of changed / other prefixes, changed prefixes re-announced, held prefixes sent again\n")
		for _, s := range rep.Summary {
			for _, r := range rep.Results[s.Target] {
				for _, e := range []struct {
					name string
					ev   *eventResult
				}{{"VRP", r.VRPChange}, {"IRR", r.IRRChange}} {
					if e.ev == nil {
						continue
					}
					printf(w, "  %s run %d %s change: done %v in %.2f s, command %.2f s, %d / %d withdrawals, %d re-announced, %d sent again\n",
						s.Target, r.Run, e.name, e.ev.Done, e.ev.Seconds, e.ev.CommandSeconds, e.ev.Withdrawn, e.ev.OtherWithdrawals, e.ev.Reannounced, e.ev.Repeated)
				}
			}
		}
	}
	if rep.Ratio == nil {
		printf(w, "\nixpd/bird ratio: needs a converged run of both\n")
	}
	return err
}
