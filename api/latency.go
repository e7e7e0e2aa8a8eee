package api

import (
	"context"
	"fmt"
	"math"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/ixpd/ixpd/analytics"
)

// LatencyTarget describes a probe target for the API: the prober measures,
// the store keeps bins by Name, and this says what the name stands for.
type LatencyTarget struct {
	Name    string `json:"name"`
	Address string `json:"address"`
	Method  string `json:"method"`
	// Path is "ixp" or "transit": how the probes reach the target.
	Path  string `json:"path"`
	Group string `json:"group,omitempty"`
	// MemberASN is set for a member's peering-LAN address, probed because
	// it is in the members file: member-level data, shown with a token.
	MemberASN uint32 `json:"member_asn,omitempty"`
}

// Latency paths.
const (
	PathIXP     = "ixp"
	PathTransit = "transit"
)

// latencyPoint is one step of a target's series.
type latencyPoint struct {
	Time time.Time `json:"time"`
	analytics.LatencyStats
}

type latencyTargetBody struct {
	LatencyTarget
	Stats  analytics.LatencyStats `json:"stats"`
	Series []latencyPoint         `json:"series"`
}

// latencyGroup compares the exchange path with the transit path.
type latencyGroup struct {
	Group           string   `json:"group"`
	IXPMedianMs     *float64 `json:"ixp_median_ms"`
	TransitMedianMs *float64 `json:"transit_median_ms"`
	// GainMs is the transit median minus the IXP median: how much faster
	// the exchange path is.
	GainMs *float64 `json:"gain_ms"`
}

// latency answers GET /api/v1/latency?from&to&step&target=: per-target
// statistics and series, and the gain per comparison group. Member
// targets (members' peering-LAN addresses) need a token.
func (a *Component) latency(c *gin.Context) {
	st, ok := a.store(c)
	if !ok {
		return
	}
	r, err := parseRange(c, time.Now())
	if err != nil {
		writeError(c, err)
		return
	}
	var targets []LatencyTarget
	if a.deps.LatencyTargets != nil {
		targets = a.deps.LatencyTargets()
	}
	member := a.tokens.valid(c.GetHeader("Authorization"))
	visible := targets[:0:0]
	for _, t := range targets {
		if t.MemberASN == 0 || member {
			visible = append(visible, t)
		}
	}
	if want := c.Query("target"); want != "" {
		names := strings.Split(want, ",")
		var picked []LatencyTarget
		for _, n := range names {
			i := slices.IndexFunc(visible, func(t LatencyTarget) bool { return t.Name == n })
			if i < 0 {
				if !member && slices.ContainsFunc(targets, func(t LatencyTarget) bool { return t.Name == n }) {
					a.metrics.authFailures.Inc()
					writeError(c, errUnauthorized)
					return
				}
				writeError(c, &badRequest{param: "target", err: fmt.Errorf("%q is not a latency target", n)})
				return
			}
			picked = append(picked, visible[i])
		}
		visible = picked
	}
	bins, err := latencyBins(c.Request.Context(), st, r.from, r.to, visible)
	if err != nil {
		writeError(c, err)
		return
	}
	a.addLiveBins(bins, visible, r)
	body := gin.H{"from": r.from, "to": r.to, "step": r.step.String(), "targets": targetBodies(visible, bins, r),
		"groups": latencyGroups(visible, bins)}
	c.JSON(http.StatusOK, body)
}

// addLiveBins adds each target's bin in progress, when it falls in the
// range and is not stored yet, so that the last minutes show before their
// bin closes.
func (a *Component) addLiveBins(bins map[string][]analytics.LatencyBin, targets []LatencyTarget, r timeRange) {
	if a.deps.LatencyLive == nil {
		return
	}
	for _, t := range targets {
		live, ok := a.deps.LatencyLive(t.Name)
		if !ok || live.Sent == 0 || live.Time.Before(r.from) || !live.Time.Before(r.to) {
			continue
		}
		stored := bins[t.Name]
		if n := len(stored); n > 0 && !stored[n-1].Time.Before(live.Time) {
			continue
		}
		bins[t.Name] = append(stored, live)
	}
}

// latencyBins reads the bins of targets, by target name.
func latencyBins(ctx context.Context, st analytics.LatencyStore, from, to time.Time, targets []LatencyTarget) (map[string][]analytics.LatencyBin, error) {
	out := map[string][]analytics.LatencyBin{}
	if len(targets) == 0 {
		return out, nil
	}
	names := make([]string, len(targets))
	for i, t := range targets {
		names[i] = t.Name
	}
	bins, err := st.Latency(ctx, analytics.LatencyQuery{From: from, To: to, Targets: names})
	if err != nil {
		return nil, err
	}
	for _, b := range bins {
		out[b.Target] = append(out[b.Target], b)
	}
	return out, nil
}

// targetBodies builds each target's statistics over the range and its
// series in steps of r.step (a step without bins is absent).
func targetBodies(targets []LatencyTarget, bins map[string][]analytics.LatencyBin, r timeRange) []latencyTargetBody {
	out := make([]latencyTargetBody, 0, len(targets))
	for _, t := range targets {
		tb := latencyTargetBody{LatencyTarget: t, Stats: analytics.MergeLatency(bins[t.Name]), Series: []latencyPoint{}}
		var step []analytics.LatencyBin
		var stepStart time.Time
		flush := func() {
			if len(step) > 0 {
				tb.Series = append(tb.Series, latencyPoint{Time: stepStart, LatencyStats: analytics.MergeLatency(step)})
			}
			step = nil
		}
		for _, b := range bins[t.Name] {
			s := b.Time.Truncate(r.step)
			if !s.Equal(stepStart) {
				flush()
				stepStart = s
			}
			step = append(step, b)
		}
		flush()
		out = append(out, tb)
	}
	return out
}

// latencyGroups compares, per group, the median over every IXP-path
// target with the median over every transit-path target.
func latencyGroups(targets []LatencyTarget, bins map[string][]analytics.LatencyBin) []latencyGroup {
	type paths struct{ ixp, transit []analytics.LatencyBin }
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
		case PathIXP:
			g.ixp = append(g.ixp, bins[t.Name]...)
		case PathTransit:
			g.transit = append(g.transit, bins[t.Name]...)
		}
	}
	slices.Sort(names)
	out := make([]latencyGroup, 0, len(names))
	for _, n := range names {
		g := byGroup[n]
		lg := latencyGroup{Group: n, IXPMedianMs: median(g.ixp), TransitMedianMs: median(g.transit)}
		if lg.IXPMedianMs != nil && lg.TransitMedianMs != nil {
			gain := *lg.TransitMedianMs - *lg.IXPMedianMs
			lg.GainMs = &gain
		}
		out = append(out, lg)
	}
	return out
}

// median is the median RTT over bins, or nil without answers.
func median(bins []analytics.LatencyBin) *float64 {
	st := analytics.MergeLatency(bins)
	if st.Received == 0 || math.IsNaN(st.MedianMs) {
		return nil
	}
	return &st.MedianMs
}

// ixpMedianLatency is the median RTT over every IXP-path target in
// [from, to), for the map feed; false without answers.
func (a *Component) ixpMedianLatency(ctx context.Context, st analytics.LatencyStore, from, to time.Time) (float64, bool) {
	if a.deps.LatencyTargets == nil {
		return 0, false
	}
	var ixp []LatencyTarget
	for _, t := range a.deps.LatencyTargets() {
		if t.Path == PathIXP {
			ixp = append(ixp, t)
		}
	}
	bins, err := latencyBins(ctx, st, from, to, ixp)
	if err != nil {
		return 0, false
	}
	var all []analytics.LatencyBin
	for _, bs := range bins {
		all = append(all, bs...)
	}
	m := median(all)
	if m == nil {
		return 0, false
	}
	return *m, true
}
