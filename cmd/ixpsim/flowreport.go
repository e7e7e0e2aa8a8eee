package main

import (
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"runtime"
	"slices"
	"strings"
	"text/tabwriter"
)

// maxLossPercent is the loss at or under which a target keeps up with an
// offered rate.
const maxLossPercent = 1.0

// flowSummary is one target at one offered rate: the median of each
// figure over the runs that completed.
type flowSummary struct {
	Target          string  `json:"target"`
	OfferedFlowRate float64 `json:"offered_flows_per_second"`
	Runs            int     `json:"runs"`
	OK              int     `json:"completed_runs"`
	SentFlowRate    float64 `json:"sent_flows_per_second"`
	AcceptedRate    float64 `json:"accepted_flows_per_second"`
	LossPercent     float64 `json:"loss_percent"`
	KernelDropFlows float64 `json:"kernel_drop_flows"`
	CPUSeconds      float64 `json:"cpu_seconds"`
	FlowsPerCPU     float64 `json:"flows_per_cpu_second"`
	PeakRSS         int64   `json:"peak_rss_bytes"`
	SenderCPU       float64 `json:"sender_cpu_seconds"`
	StoreCPU        float64 `json:"store_cpu_seconds,omitempty"`
	CPUSource       string  `json:"cpu_source,omitempty"`
}

// flowRatio is an ixpd target's flows per CPU-second over an anchor's at
// one offered rate: the median, over the runs where both completed, of
// the two figures' ratio in that run.
type flowRatio struct {
	Target          string  `json:"target"`
	Anchor          string  `json:"anchor"`
	OfferedFlowRate float64 `json:"offered_flows_per_second"`
	Ratio           float64 `json:"ratio"`
	Runs            int     `json:"runs"`
	// KeptUp: both targets' median loss is at or under maxLossPercent.
	KeptUp bool `json:"both_kept_up"`
}

// flowReport is flow-bench's result.
type flowReport struct {
	DurationSeconds float64    `json:"duration_seconds"`
	BatchSize       int        `json:"ixpd_batch_size"`
	Workers         int        `json:"ixpd_workers"`
	IPFIXShare      float64    `json:"ipfix_share"`
	Stream          string     `json:"stream"`
	RunCount        int        `json:"run_count"`
	Machine         machine    `json:"machine"`
	SenderCeiling   sendReport `json:"sender_ceiling"`
	// Runs is every measurement, floods included.
	Runs    []flowRun     `json:"runs"`
	Summary []flowSummary `json:"summary"`
	Ratios  []flowRatio   `json:"ratios_flows_per_cpu"`
	// Ceiling is, per target, the highest offered rate with a median loss
	// ≤ 1 %.
	Ceiling map[string]float64 `json:"ceiling_flows_per_second"`
	// Headline is, per ixpd target and anchor, the ratio at the highest
	// rate where both kept up.
	Headline     map[string]map[string]float64 `json:"headline_ratio,omitempty"`
	ClickHouse2k bool                          `json:"clickhouse_200k_reached"`
	FloodRSSCap  int64                         `json:"flood_rss_cap_bytes"`
}

func rateKey(r float64) string { return fmt.Sprintf("%.0f", r) }

// streamName describes the offered stream.
func streamName(ipfixShare float64) string {
	switch ipfixShare {
	case 0:
		return "sFlow v5"
	case 1:
		return "IPFIX"
	}
	return fmt.Sprintf("sFlow v5 + %.0f %% IPFIX", 100*ipfixShare)
}

func newFlowReport(b *flowBench, runs []flowRun) *flowReport {
	rep := &flowReport{
		DurationSeconds: b.o.duration.Seconds(), BatchSize: b.o.batchSize, Workers: b.o.workers,
		IPFIXShare: b.o.ipfixShare, Stream: streamName(b.o.ipfixShare), RunCount: b.o.runs,
		SenderCeiling: b.senderC, Runs: runs, FloodRSSCap: b.o.floodRSSCap,
		Machine: machine{CPUs: runtime.NumCPU(), MemoryBytes: memTotal(), GoVersion: runtime.Version()},
	}
	rep.summarize(b.o.targets, b.o.rates)
	return rep
}

// summarize fills Summary, Ratios, Ceiling, Headline and ClickHouse2k from
// Runs.
func (rep *flowReport) summarize(targets []string, rates []float64) {
	rep.Ceiling, rep.Headline = map[string]float64{}, map[string]map[string]float64{}
	type key struct {
		target string
		rate   float64
	}
	byKey := map[key][]*flowRun{}
	for i := range rep.Runs {
		r := &rep.Runs[i]
		if !r.Flood {
			byKey[key{r.Target, r.OfferedFlowRate}] = append(byKey[key{r.Target, r.OfferedFlowRate}], r)
		}
	}
	sums := map[key]*flowSummary{}
	for _, t := range targets {
		for _, rate := range rates {
			runs := byKey[key{t, rate}]
			if len(runs) == 0 {
				continue
			}
			s := flowSummary{Target: t, OfferedFlowRate: rate, Runs: len(runs)}
			var sent, acc, loss, kern, cpu, fpc, rss, scpu, store []float64
			for _, r := range runs {
				if r.Error != "" {
					continue
				}
				s.OK++
				s.CPUSource = r.CPUSource
				sent, acc, loss = append(sent, r.Sent.FlowRate), append(acc, r.AcceptedRate), append(loss, r.LossPercent)
				kern, cpu = append(kern, float64(r.KernelDrops*flowsPerDatagram)), append(cpu, r.CPUSeconds)
				fpc, rss = append(fpc, r.FlowsPerCPU), append(rss, float64(r.PeakRSS))
				scpu, store = append(scpu, r.Sent.CPUSeconds), append(store, r.StoreCPUSeconds)
			}
			s.SentFlowRate, s.AcceptedRate, s.LossPercent = median(sent), median(acc), median(loss)
			s.KernelDropFlows, s.CPUSeconds, s.FlowsPerCPU = median(kern), median(cpu), median(fpc)
			s.PeakRSS, s.SenderCPU, s.StoreCPU = int64(median(rss)), median(scpu), median(store)
			rep.Summary = append(rep.Summary, s)
			sums[key{t, rate}] = &rep.Summary[len(rep.Summary)-1]
			if s.OK > 0 && s.LossPercent <= maxLossPercent {
				rep.Ceiling[t] = max(rep.Ceiling[t], rate)
				if t == targetIXPDClickHse && rate >= 200000 {
					rep.ClickHouse2k = true
				}
			}
		}
	}
	for _, t := range targets {
		if !isIXPDTarget(t) {
			continue
		}
		for _, a := range flowAnchors {
			best := -1.0
			for _, rate := range rates {
				var ratios []float64
				for _, r := range byKey[key{t, rate}] {
					for _, ar := range byKey[key{a, rate}] {
						if ar.Run == r.Run && r.Error == "" && ar.Error == "" && ar.FlowsPerCPU > 0 {
							ratios = append(ratios, r.FlowsPerCPU/ar.FlowsPerCPU)
						}
					}
				}
				if len(ratios) == 0 {
					continue
				}
				fr := flowRatio{Target: t, Anchor: a, OfferedFlowRate: rate, Ratio: median(ratios), Runs: len(ratios)}
				ts, as := sums[key{t, rate}], sums[key{a, rate}]
				fr.KeptUp = ts.LossPercent <= maxLossPercent && as.LossPercent <= maxLossPercent
				rep.Ratios = append(rep.Ratios, fr)
				if fr.KeptUp && rate > best {
					best = rate
					if rep.Headline[t] == nil {
						rep.Headline[t] = map[string]float64{}
					}
					rep.Headline[t][a] = fr.Ratio
				}
			}
		}
	}
}

func (rep *flowReport) writeJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(rep)
}

// writeTable writes the report as tables and returns the first write
// error.
func (rep *flowReport) writeTable(w io.Writer) error {
	var err error
	printf := func(to io.Writer, format string, args ...any) {
		if err == nil {
			_, err = fmt.Fprintf(to, format, args...)
		}
	}
	printf(w, "flow-bench: %s, 8 flows per datagram, %.0f s per target and rate, %d run(s), medians; ixpd batch_size %d, workers %d\n",
		rep.Stream, rep.DurationSeconds, rep.RunCount, rep.BatchSize, rep.Workers)
	printf(w, "machine: %d CPUs, %.1f GiB, %s\n", rep.Machine.CPUs, float64(rep.Machine.MemoryBytes)/(1<<30), rep.Machine.GoVersion)
	sc := rep.SenderCeiling
	printf(w, "sender alone (to a socket nobody reads): %.0f flows/s, %.2f CPU s per %.1f s\n\n", sc.FlowRate, sc.CPUSeconds, sc.Seconds)

	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	printf(tw, "target\toffered flows/s\truns\tsent flows/s\taccepted flows/s\tloss %%\tkernel drops\tCPU s\tflows/CPU-s\tpeak RSS MiB\tsender CPU s\tstore CPU s\t\n")
	for _, s := range rep.Summary {
		if s.OK == 0 {
			printf(tw, "%s\t%.0f\t0/%d\terror\t\t\t\t\t\t\t\t\t\n", s.Target, s.OfferedFlowRate, s.Runs)
			continue
		}
		store := "-"
		if s.Target == targetIXPDClickHse {
			store = fmt.Sprintf("%.2f", s.StoreCPU)
		}
		printf(tw, "%s\t%.0f\t%d/%d\t%.0f\t%.0f\t%.2f\t%.0f\t%.2f\t%.0f\t%.1f\t%.2f\t%s\t\n", s.Target, s.OfferedFlowRate, s.OK, s.Runs,
			s.SentFlowRate, s.AcceptedRate, s.LossPercent, s.KernelDropFlows, s.CPUSeconds, s.FlowsPerCPU, float64(s.PeakRSS)/mib, s.SenderCPU, store)
	}
	if err == nil {
		err = tw.Flush()
	}
	printf(w, "(kernel drops: flows in datagrams the kernel dropped for a full receive buffer)\n")
	sources := map[string]bool{}
	for _, s := range rep.Summary {
		if s.CPUSource != "" {
			sources[s.CPUSource] = true
		}
	}
	if sources["proc"] {
		printf(w, "(CPU s from /proc: the process group's utime+stime; forked children nobody waits for, such as pmacct's print writers, are missing)\n")
	}
	for _, r := range rep.Runs {
		if r.Error != "" {
			printf(w, "\n%s run %d at %.0f flows/s failed: %s\n", r.Target, r.Run, r.OfferedFlowRate, r.Error)
		}
	}
	printf(w, "\nixpd drop counters (non-zero):\n")
	for _, r := range rep.Runs {
		if len(r.Drops) == 0 {
			continue
		}
		var parts []string
		for _, k := range slices.Sorted(maps.Keys(r.Drops)) {
			parts = append(parts, fmt.Sprintf("%s=%.0f", k, r.Drops[k]))
		}
		what := rateKey(r.OfferedFlowRate)
		if r.Flood {
			what = "flood"
		}
		printf(w, "  %s run %d %s: %s\n", r.Target, r.Run, what, strings.Join(parts, " "))
	}

	printf(w, "\nceiling (highest offered rate with median loss ≤ %.0f%%):", maxLossPercent)
	for _, t := range slices.Sorted(maps.Keys(rep.Ceiling)) {
		printf(w, " %s %.0f;", t, rep.Ceiling[t])
	}
	printf(w, "\n")
	type pair struct{ target, anchor string }
	var pairs []pair
	for _, r := range rep.Ratios {
		if p := (pair{r.Target, r.Anchor}); !slices.Contains(pairs, p) {
			pairs = append(pairs, p)
		}
	}
	for _, p := range pairs {
		printf(w, "%s/%s flows per CPU-second:", p.target, p.anchor)
		for _, r := range rep.Ratios {
			if r.Target == p.target && r.Anchor == p.anchor {
				printf(w, " %s: %.2f;", rateKey(r.OfferedFlowRate), r.Ratio)
			}
		}
		if h, ok := rep.Headline[p.target][p.anchor]; ok {
			printf(w, " at the highest rate both keep up: %.2f", h)
			if p.anchor == targetGoflow2 {
				printf(w, " (goal ≥ 0.80: %v)", h >= 0.8)
			}
		}
		printf(w, "\n")
	}
	printf(w, "ixpd into ClickHouse at ≥ 200k flows/s with loss ≤ %.0f%%: %v\n", maxLossPercent, rep.ClickHouse2k)

	for _, r := range rep.Runs {
		if !r.Flood {
			continue
		}
		if r.Error != "" {
			printf(w, "\nflood %s: failed: %s\n", r.Target, r.Error)
			continue
		}
		printf(w, "\nflood %s: sent %.0f flows/s for %.0f s (sender CPU %.2f s), written %.0f flows/s, loss %.1f%%, kernel drops %d flows, max RSS %.1f MiB (cap %.0f MiB: %v), peak RSS %.1f MiB, survived: %v\n",
			r.Target, r.Sent.FlowRate, r.Sent.Seconds, r.Sent.CPUSeconds, r.AcceptedRate, r.LossPercent, r.KernelDrops*flowsPerDatagram,
			float64(r.MaxRSSSeen)/mib, float64(rep.FloodRSSCap)/mib, r.PeakRSS < rep.FloodRSSCap, float64(r.PeakRSS)/mib, r.Survived)
	}
	return err
}
