package analytics

import (
	"context"
	"math"
	"slices"
	"time"
)

// Latency paths: how the probes reach a target.
const (
	LatencyPathIXP     = "ixp"
	LatencyPathTransit = "transit"
)

// LatencyTarget describes a probe target: the prober measures, the store
// keeps bins by Name, and this says what the name stands for.
type LatencyTarget struct {
	Name    string `json:"name"`
	Address string `json:"address"`
	Method  string `json:"method"`
	// Path is LatencyPathIXP or LatencyPathTransit.
	Path  string `json:"path"`
	Group string `json:"group,omitempty"`
	// MemberASN is set for a member's peering-LAN address, probed because
	// it is in the members file: member-level data.
	MemberASN uint32 `json:"member_asn,omitempty"`
}

// LatencyGroup compares the exchange path with the transit path for one
// comparison group of targets.
type LatencyGroup struct {
	Group           string   `json:"group"`
	IXPMedianMs     *float64 `json:"ixp_median_ms"`
	TransitMedianMs *float64 `json:"transit_median_ms"`
	// GainMs is the transit median minus the IXP median: how much faster
	// the exchange path is. Nil unless both medians are known.
	GainMs *float64 `json:"gain_ms"`
}

// LatencyBinsByTarget reads the bins of targets whose start is in
// [from, to), by target name (each target's bins sorted by time).
func LatencyBinsByTarget(ctx context.Context, st LatencyStore, from, to time.Time, targets []LatencyTarget) (map[string][]LatencyBin, error) {
	out := map[string][]LatencyBin{}
	if len(targets) == 0 {
		return out, nil
	}
	names := make([]string, len(targets))
	for i, t := range targets {
		names[i] = t.Name
	}
	bins, err := st.Latency(ctx, LatencyQuery{From: from, To: to, Targets: names})
	if err != nil {
		return nil, err
	}
	for _, b := range bins {
		out[b.Target] = append(out[b.Target], b)
	}
	return out, nil
}

// LatencyGroups compares, per group (sorted by name), the median over
// the bins of every IXP-path target with the median over the bins of
// every transit-path target. Targets without a group are left out.
func LatencyGroups(targets []LatencyTarget, binsByTarget map[string][]LatencyBin) []LatencyGroup {
	type paths struct{ ixp, transit []LatencyBin }
	byGroup := map[string]*paths{}
	var names []string
	for _, t := range targets {
		if t.Group == "" {
			continue
		}
		g := byGroup[t.Group]
		if g == nil {
			g = &paths{}
			byGroup[t.Group] = g
			names = append(names, t.Group)
		}
		switch t.Path {
		case LatencyPathIXP:
			g.ixp = append(g.ixp, binsByTarget[t.Name]...)
		case LatencyPathTransit:
			g.transit = append(g.transit, binsByTarget[t.Name]...)
		}
	}
	slices.Sort(names)
	out := make([]LatencyGroup, 0, len(names))
	for _, n := range names {
		g := byGroup[n]
		lg := LatencyGroup{Group: n, IXPMedianMs: medianPtr(g.ixp), TransitMedianMs: medianPtr(g.transit)}
		if lg.IXPMedianMs != nil && lg.TransitMedianMs != nil {
			gain := *lg.TransitMedianMs - *lg.IXPMedianMs
			lg.GainMs = &gain
		}
		out = append(out, lg)
	}
	return out
}

// LatencyMedian is the median RTT in milliseconds over bins (see
// MergeLatency); false without answers.
func LatencyMedian(bins []LatencyBin) (float64, bool) {
	st := MergeLatency(bins)
	if st.Received == 0 || math.IsNaN(st.MedianMs) {
		return 0, false
	}
	return st.MedianMs, true
}

func medianPtr(bins []LatencyBin) *float64 {
	m, ok := LatencyMedian(bins)
	if !ok {
		return nil
	}
	return &m
}

// LatencyBucketBounds returns the bounds [low, high) in milliseconds of
// histogram bucket b (see LatencyBucket); bucket 0 also holds everything
// below its low bound.
func LatencyBucketBounds(b uint16) (lowMs, highMs float64) {
	return latencyBucketBase * math.Pow(LatencyBucketRatio, float64(b)),
		latencyBucketBase * math.Pow(LatencyBucketRatio, float64(b)+1)
}

// LatencyHistogram is a merged RTT histogram: Counts[i] answers fell in
// bucket Buckets[i] (ascending, see LatencyBucket).
type LatencyHistogram struct {
	Buckets []uint16
	Counts  []uint64
}

// MergeLatencyHistograms adds up the histograms of bins.
func MergeLatencyHistograms(bins []LatencyBin) LatencyHistogram {
	sums := map[uint16]uint64{}
	for _, b := range bins {
		for i, k := range b.Buckets {
			if i < len(b.Counts) {
				sums[k] += uint64(b.Counts[i])
			}
		}
	}
	var h LatencyHistogram
	for k, n := range sums {
		if n > 0 {
			h.Buckets = append(h.Buckets, k)
		}
	}
	slices.Sort(h.Buckets)
	h.Counts = make([]uint64, len(h.Buckets))
	for i, k := range h.Buckets {
		h.Counts[i] = sums[k]
	}
	return h
}

// Total is the number of answers in h.
func (h LatencyHistogram) Total() uint64 {
	var n uint64
	for _, c := range h.Counts {
		n += c
	}
	return n
}

// Quantile is the value (see LatencyBucketValue) of the bucket that holds
// the q-quantile by nearest rank, the rule MergeLatency uses; false for
// an empty histogram.
func (h LatencyHistogram) Quantile(q float64) (float64, bool) {
	total := h.Total()
	if total == 0 {
		return 0, false
	}
	rank := max(uint64(math.Ceil(q*float64(total))), 1)
	var seen uint64
	for i, k := range h.Buckets {
		seen += h.Counts[i]
		if seen >= rank {
			return LatencyBucketValue(k), true
		}
	}
	return LatencyBucketValue(h.Buckets[len(h.Buckets)-1]), true
}
