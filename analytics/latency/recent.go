package latency

import (
	"fmt"
	"time"

	"github.com/ixpd/ixpd/analytics"
)

// Recent is what the prober holds in memory about one target.
type Recent struct {
	Target Target `json:"target"`
	// Current covers the bin in progress: the probes settled so far
	// (answered, or sent at least a timeout ago). Its Time is the bin's
	// start; Sent is 0 early in a bin.
	Current analytics.LatencyBin `json:"current"`
	// Bins are the last completed bins, oldest first (recent_bins of
	// them at most).
	Bins []analytics.LatencyBin `json:"bins"`
}

// Gain compares the two paths of a group: the median RTT via transit
// minus the median via the exchange (positive: the exchange is faster).
type Gain struct {
	Group           string  `json:"group"`
	IXP             string  `json:"ixp"`     // the ixp target's name
	Transit         string  `json:"transit"` // the transit target's name
	IXPMedianMs     float64 `json:"ixp_median_ms"`
	TransitMedianMs float64 `json:"transit_median_ms"`
	GainMs          float64 `json:"gain_ms"`
}

// Targets lists the targets probed: members first, in the order of the
// last list (New or SetMembers), then the configured ones in their order.
func (p *Prober) Targets() []Target {
	targets := p.probed()
	out := make([]Target, len(targets))
	for i, t := range targets {
		out[i] = t.Target
	}
	return out
}

// Recent returns the recent figures of a target; an unknown name gives an
// error wrapping ErrUnknownTarget.
func (p *Prober) Recent(name string) (Recent, error) {
	p.tmu.RLock()
	t, ok := p.byName[name]
	p.tmu.RUnlock()
	if !ok {
		return Recent{}, fmt.Errorf("%w: %q", ErrUnknownTarget, name)
	}
	return p.recent(t, time.Now()), nil
}

// RecentAll returns the recent figures of every target, in the order of
// Targets.
func (p *Prober) RecentAll() []Recent {
	now := time.Now()
	targets := p.probed()
	out := make([]Recent, len(targets))
	for i, t := range targets {
		out[i] = p.recent(t, now)
	}
	return out
}

func (p *Prober) recent(t *target, now time.Time) Recent {
	cur, bins := p.rec.current(t, now)
	return Recent{Target: t.Target, Current: cur, Bins: bins}
}

// RecentGains returns the gain of every group over the completed bins
// kept in memory; a group whose ixp or transit target has no answer yet
// is left out.
func (p *Prober) RecentGains() []Gain {
	stats := map[string]analytics.LatencyStats{}
	for _, r := range p.RecentAll() {
		if r.Target.Group != "" {
			stats[r.Target.Name] = analytics.MergeLatency(r.Bins)
		}
	}
	return Gains(p.Targets(), stats)
}

// Gains pairs the ixp and transit targets of each group and computes the
// gain from their statistics (for example from analytics.MergeLatency
// over the bins of a period), by target name. Groups come in the order of
// their first target; a group missing a path or statistics with answers
// is left out.
func Gains(targets []Target, stats map[string]analytics.LatencyStats) []Gain {
	type pair struct{ ixp, transit string }
	var order []string
	groups := map[string]*pair{}
	for _, t := range targets {
		if t.Group == "" {
			continue
		}
		g, ok := groups[t.Group]
		if !ok {
			g = &pair{}
			groups[t.Group] = g
			order = append(order, t.Group)
		}
		switch t.Path {
		case PathIXP:
			g.ixp = t.Name
		case PathTransit:
			g.transit = t.Name
		}
	}
	var out []Gain
	for _, name := range order {
		g := groups[name]
		ixp, ok1 := stats[g.ixp]
		transit, ok2 := stats[g.transit]
		if !ok1 || !ok2 || ixp.Received == 0 || transit.Received == 0 {
			continue
		}
		out = append(out, Gain{
			Group: name, IXP: g.ixp, Transit: g.transit,
			IXPMedianMs: ixp.MedianMs, TransitMedianMs: transit.MedianMs,
			GainMs: transit.MedianMs - ixp.MedianMs,
		})
	}
	return out
}
