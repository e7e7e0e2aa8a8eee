package api

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/ixpd/ixpd/analytics"
)

// LatencyTarget describes a probe target for the API (see
// analytics.LatencyTarget).
type LatencyTarget = analytics.LatencyTarget

// Latency paths.
const (
	PathIXP     = analytics.LatencyPathIXP
	PathTransit = analytics.LatencyPathTransit
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
type latencyGroup = analytics.LatencyGroup

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
	member := a.tokens.Load().valid(c.GetHeader("Authorization"))
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
	bins, err := analytics.LatencyBinsByTarget(c.Request.Context(), st, r.from, r.to, visible)
	if err != nil {
		writeError(c, err)
		return
	}
	a.addLiveBins(bins, visible, r)
	body := gin.H{"from": r.from, "to": r.to, "step": r.step.String(), "targets": targetBodies(visible, bins, r),
		"groups": analytics.LatencyGroups(visible, bins)}
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
	bins, err := analytics.LatencyBinsByTarget(ctx, st, from, to, ixp)
	if err != nil {
		return 0, false
	}
	var all []analytics.LatencyBin
	for _, bs := range bins {
		all = append(all, bs...)
	}
	return analytics.LatencyMedian(all)
}
