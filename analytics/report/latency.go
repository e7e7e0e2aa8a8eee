package report

import (
	"cmp"
	"context"
	"slices"
	"strings"

	"github.com/ixpd/ixpd/analytics"
)

// coarseBuckets is how many 2 % histogram buckets make one bin of the
// distribution chart and table: 1.02¹² ≈ 1.27, about ten bins a decade.
const coarseBuckets = 12

// quantiles are the quantiles of the distribution table.
var quantiles = []struct {
	name string
	q    float64
}{{"p05", 0.05}, {"p25", 0.25}, {"p50", 0.5}, {"p75", 0.75}, {"p95", 0.95}, {"p99", 0.99}}

// Latency is the month's latency: per target, per comparison group, per
// member, and the distributions via the exchange and via transit.
type Latency struct {
	// Targets are the targets that are not a member's address.
	Targets []TargetStats            `json:"targets"`
	Groups  []analytics.LatencyGroup `json:"groups"`
	// Members are the targets that are a member's peering-LAN address.
	Members      []MemberLatency `json:"members"`
	Distribution Distribution    `json:"distribution"`
}

// TargetStats is one target's statistics over the month.
type TargetStats struct {
	analytics.LatencyTarget
	Stats analytics.LatencyStats `json:"stats"`
}

// MemberLatency is the latency to one member's peering-LAN address.
type MemberLatency struct {
	ASN      uint32  `json:"asn"`
	Name     string  `json:"name"`
	Target   string  `json:"target"`
	Address  string  `json:"address"`
	Method   string  `json:"method"`
	Sent     uint64  `json:"sent"`
	Received uint64  `json:"received"`
	LossPct  float64 `json:"loss_pct"`
	// MedianMs and P95Ms are nil without answers.
	MedianMs *float64 `json:"median_ms"`
	P95Ms    *float64 `json:"p95_ms"`
}

// Distribution is the round-trip times of every answer in the month via
// the exchange and via transit, and the bins the chart draws.
type Distribution struct {
	IXP     PathDistribution `json:"ixp"`
	Transit PathDistribution `json:"transit"`
	// Bins span both paths' answers, each coarseBuckets histogram buckets
	// wide; empty without answers.
	Bins []DistributionBin `json:"bins"`
}

// PathDistribution is the answers of every target of one path.
type PathDistribution struct {
	Path    string                 `json:"path"`
	Targets []string               `json:"targets"`
	Stats   analytics.LatencyStats `json:"stats"`
	// Quantiles come from the merged histogram (within 1 %), clamped to
	// the exact minimum and maximum; empty without answers.
	Quantiles []Quantile `json:"quantiles"`
	hist      analytics.LatencyHistogram
}

// Quantile is one quantile of a distribution.
type Quantile struct {
	Name string  `json:"name"` // p05, p25, p50, p75, p95, p99
	Q    float64 `json:"q"`
	Ms   float64 `json:"ms"`
}

// DistributionBin is one bin of the distribution: answers with a
// round-trip time in [LowerMs, UpperMs) per path, and their share of the
// path's answers.
type DistributionBin struct {
	LowerMs      float64 `json:"lower_ms"`
	UpperMs      float64 `json:"upper_ms"`
	IXPCount     uint64  `json:"ixp_count"`
	IXPShare     float64 `json:"ixp_share"`
	TransitCount uint64  `json:"transit_count"`
	TransitShare float64 `json:"transit_share"`
}

// buildLatency fills Latency; false when no target has a bin in the month.
func (r *Report) buildLatency(ctx context.Context, st analytics.LatencyStore, cfg Config) (bool, error) {
	targets := slices.Clone(cfg.Targets)
	slices.SortStableFunc(targets, func(a, b analytics.LatencyTarget) int { return strings.Compare(a.Name, b.Name) })
	bins, err := analytics.LatencyBinsByTarget(ctx, st, r.From, r.To, targets)
	if err != nil {
		return false, err
	}
	names := memberNames(cfg.Members)
	l := Latency{Targets: []TargetStats{}, Members: []MemberLatency{},
		Groups: analytics.LatencyGroups(targets, bins)}
	var ixp, transit []analytics.LatencyBin
	l.Distribution.IXP = PathDistribution{Path: analytics.LatencyPathIXP, Targets: []string{}}
	l.Distribution.Transit = PathDistribution{Path: analytics.LatencyPathTransit, Targets: []string{}}
	has := false
	for _, t := range targets {
		tb := bins[t.Name]
		has = has || len(tb) > 0
		stats := analytics.MergeLatency(tb)
		switch t.Path {
		case analytics.LatencyPathIXP:
			ixp = append(ixp, tb...)
			l.Distribution.IXP.Targets = append(l.Distribution.IXP.Targets, t.Name)
		case analytics.LatencyPathTransit:
			transit = append(transit, tb...)
			l.Distribution.Transit.Targets = append(l.Distribution.Transit.Targets, t.Name)
		}
		if t.MemberASN == 0 {
			l.Targets = append(l.Targets, TargetStats{LatencyTarget: t, Stats: stats})
			continue
		}
		name := names[t.MemberASN]
		m := MemberLatency{ASN: t.MemberASN, Name: name, Target: t.Name, Address: t.Address, Method: t.Method,
			Sent: stats.Sent, Received: stats.Received, LossPct: stats.LossPct}
		if stats.Received > 0 {
			med, p95 := stats.MedianMs, stats.P95Ms
			m.MedianMs, m.P95Ms = &med, &p95
		}
		l.Members = append(l.Members, m)
	}
	slices.SortStableFunc(l.Members, func(a, b MemberLatency) int { return cmp.Compare(a.ASN, b.ASN) })
	l.Distribution.IXP.fill(ixp)
	l.Distribution.Transit.fill(transit)
	l.Distribution.Bins = distributionBins(l.Distribution.IXP.hist, l.Distribution.Transit.hist)
	if l.Groups == nil {
		l.Groups = []analytics.LatencyGroup{}
	}
	r.Latency = l
	return has, nil
}

// fill computes the statistics and quantiles of bins.
func (p *PathDistribution) fill(bins []analytics.LatencyBin) {
	p.Stats = analytics.MergeLatency(bins)
	p.hist = analytics.MergeLatencyHistograms(bins)
	p.Quantiles = []Quantile{}
	if p.Stats.Received == 0 {
		return
	}
	for _, q := range quantiles {
		v, ok := p.hist.Quantile(q.q)
		if !ok {
			return
		}
		p.Quantiles = append(p.Quantiles, Quantile{Name: q.name, Q: q.q, Ms: min(max(v, p.Stats.MinMs), p.Stats.MaxMs)})
	}
}

// distributionBins spreads both histograms over common bins of
// coarseBuckets buckets, from the lowest answer to the highest.
func distributionBins(ixp, transit analytics.LatencyHistogram) []DistributionBin {
	counts := func(h analytics.LatencyHistogram) map[int]uint64 {
		out := map[int]uint64{}
		for i, b := range h.Buckets {
			out[int(b)/coarseBuckets] += h.Counts[i]
		}
		return out
	}
	ci, ct := counts(ixp), counts(transit)
	lo, hi := -1, -1
	for _, m := range []map[int]uint64{ci, ct} {
		for k := range m {
			if lo < 0 || k < lo {
				lo = k
			}
			if k > hi {
				hi = k
			}
		}
	}
	out := []DistributionBin{}
	if lo < 0 {
		return out
	}
	ti, tt := ixp.Total(), transit.Total()
	share := func(n, total uint64) float64 {
		if total == 0 {
			return 0
		}
		return float64(n) / float64(total)
	}
	for k := lo; k <= hi; k++ {
		low, _ := analytics.LatencyBucketBounds(uint16(k * coarseBuckets))
		_, high := analytics.LatencyBucketBounds(uint16(min(k*coarseBuckets+coarseBuckets-1, 65535)))
		out = append(out, DistributionBin{LowerMs: low, UpperMs: high, IXPCount: ci[k], IXPShare: share(ci[k], ti),
			TransitCount: ct[k], TransitShare: share(ct[k], tt)})
	}
	return out
}
