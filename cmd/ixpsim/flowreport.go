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

// flowReport is flow-bench's result.
type flowReport struct {
	DurationSeconds float64    `json:"duration_seconds"`
	BatchSize       int        `json:"ixpd_batch_size"`
	Workers         int        `json:"ixpd_workers"`
	IPFIXShare      float64    `json:"ipfix_share"`
	Machine         machine    `json:"machine"`
	SenderCeiling   sendReport `json:"sender_ceiling"`
	Runs            []flowRun  `json:"runs"`
	// Ceiling is, per target, the highest offered rate with loss ≤ 1 %.
	Ceiling map[string]float64 `json:"ceiling_flows_per_second"`
	// Ratio is, per ixpd target and offered rate, its flows per CPU-second
	// over goflow2's at the same rate.
	Ratio map[string]map[string]float64 `json:"ratio_flows_per_cpu_vs_goflow2"`
	// Headline is each ixpd target's ratio at the highest rate where both
	// it and goflow2 kept up.
	Headline     map[string]float64 `json:"headline_ratio,omitempty"`
	ClickHouse2k bool               `json:"clickhouse_200k_reached"`
	FloodRSSCap  int64              `json:"flood_rss_cap_bytes"`
}

func rateKey(r float64) string { return fmt.Sprintf("%.0f", r) }

func newFlowReport(b *flowBench, runs []flowRun) *flowReport {
	rep := &flowReport{
		DurationSeconds: b.o.duration.Seconds(), BatchSize: b.o.batchSize, Workers: b.o.workers,
		IPFIXShare: b.o.ipfixShare, SenderCeiling: b.senderC, Runs: runs, FloodRSSCap: b.o.floodRSSCap,
		Machine:  machine{CPUs: runtime.NumCPU(), MemoryBytes: memTotal(), GoVersion: runtime.Version()},
		Ceiling:  map[string]float64{},
		Ratio:    map[string]map[string]float64{},
		Headline: map[string]float64{},
	}
	byRate := map[string]map[float64]*flowRun{}
	for i := range runs {
		r := &runs[i]
		if r.Flood || r.Error != "" {
			continue
		}
		if byRate[r.Target] == nil {
			byRate[r.Target] = map[float64]*flowRun{}
		}
		byRate[r.Target][r.OfferedFlowRate] = r
		if r.LossPercent <= maxLossPercent && r.OfferedFlowRate > rep.Ceiling[r.Target] {
			rep.Ceiling[r.Target] = r.OfferedFlowRate
		}
		if r.Target == targetIXPDClickHse && r.OfferedFlowRate >= 200000 && r.LossPercent <= maxLossPercent {
			rep.ClickHouse2k = true
		}
	}
	gf := byRate[targetGoflow2]
	for t, rs := range byRate {
		if t == targetGoflow2 || gf == nil {
			continue
		}
		rep.Ratio[t] = map[string]float64{}
		best := -1.0
		for rate, r := range rs {
			g := gf[rate]
			if g == nil || g.FlowsPerCPU == 0 {
				continue
			}
			ratio := r.FlowsPerCPU / g.FlowsPerCPU
			rep.Ratio[t][rateKey(rate)] = ratio
			if r.LossPercent <= maxLossPercent && g.LossPercent <= maxLossPercent && rate > best {
				best = rate
				rep.Headline[t] = ratio
			}
		}
	}
	return rep
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
	printf(w, "flow-bench: sFlow v5, 8 samples per datagram, %.0f s per target and rate; ixpd batch_size %d, workers %d; IPFIX share %.2f\n",
		rep.DurationSeconds, rep.BatchSize, rep.Workers, rep.IPFIXShare)
	printf(w, "machine: %d CPUs, %.1f GiB, %s\n", rep.Machine.CPUs, float64(rep.Machine.MemoryBytes)/(1<<30), rep.Machine.GoVersion)
	sc := rep.SenderCeiling
	printf(w, "sender alone (to a socket nobody reads): %.0f flows/s, %.2f CPU s per %.1f s\n\n", sc.FlowRate, sc.CPUSeconds, sc.Seconds)

	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	printf(tw, "target\toffered flows/s\tsent flows/s\taccepted flows/s\tloss %%\tkernel drops\tCPU s\tflows/CPU-s\tpeak RSS MiB\tsender CPU s\tstore CPU s\t\n")
	for _, r := range rep.Runs {
		if r.Flood {
			continue
		}
		if r.Error != "" {
			printf(tw, "%s\t%.0f\terror\t\t\t\t\t\t\t\t\t\n", r.Target, r.OfferedFlowRate)
			continue
		}
		store := "-"
		if r.Target == targetIXPDClickHse {
			store = fmt.Sprintf("%.2f", r.StoreCPUSeconds)
		}
		printf(tw, "%s\t%.0f\t%.0f\t%.0f\t%.2f\t%d\t%.2f\t%.0f\t%.1f\t%.2f\t%s\t\n", r.Target, r.OfferedFlowRate, r.Sent.FlowRate,
			r.AcceptedRate, r.LossPercent, r.KernelDrops*flowsPerDatagram, r.CPUSeconds, r.FlowsPerCPU, float64(r.PeakRSS)/mib, r.Sent.CPUSeconds, store)
	}
	if err == nil {
		err = tw.Flush()
	}
	printf(w, "(kernel drops: flows in datagrams the kernel dropped for a full receive buffer)\n")
	for _, r := range rep.Runs {
		if r.Error != "" {
			printf(w, "\n%s at %.0f flows/s failed: %s\n", r.Target, r.OfferedFlowRate, r.Error)
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
		printf(w, "  %s %s: %s\n", r.Target, what, strings.Join(parts, " "))
	}

	printf(w, "\nceiling (highest offered rate with loss ≤ %.0f%%):", maxLossPercent)
	for _, t := range slices.Sorted(maps.Keys(rep.Ceiling)) {
		printf(w, " %s %.0f;", t, rep.Ceiling[t])
	}
	printf(w, "\n")
	for _, t := range slices.Sorted(maps.Keys(rep.Ratio)) {
		printf(w, "%s/goflow2 flows per CPU-second:", t)
		rates := slices.Sorted(maps.Keys(rep.Ratio[t]))
		slices.SortFunc(rates, func(a, b string) int { return len(a)*1e9 - len(b)*1e9 + strings.Compare(a, b) })
		for _, k := range rates {
			printf(w, " %s: %.2f;", k, rep.Ratio[t][k])
		}
		if h, ok := rep.Headline[t]; ok {
			printf(w, " at the highest rate both keep up: %.2f (goal ≥ 0.80: %v)", h, h >= 0.8)
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
