package api

import (
	"errors"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/ixpd/ixpd/analytics"
)

// Bounds on what one request may ask of the store.
const (
	maxRange = 400 * 24 * time.Hour // a bit more than a year of rollups
	maxBins  = 10000
)

// timeRange is a request's from/to/step.
type timeRange struct {
	from, to time.Time
	step     time.Duration
}

// parseRange reads from and to (RFC 3339, default the last 24 h) and step
// (a multiple of 5m; default: 5m up to two days, else 1h).
func parseRange(c *gin.Context, now time.Time) (timeRange, error) {
	r := timeRange{to: now.UTC(), from: now.UTC().Add(-24 * time.Hour)}
	for _, p := range []struct {
		name string
		dst  *time.Time
	}{{"from", &r.from}, {"to", &r.to}} {
		if v := c.Query(p.name); v != "" {
			t, err := time.Parse(time.RFC3339, v)
			if err != nil {
				return r, &badRequest{param: p.name, err: fmt.Errorf("%q is not an RFC 3339 time such as 2026-11-01T00:00:00Z", v)}
			}
			*p.dst = t.UTC()
		}
	}
	if !r.to.After(r.from) {
		return r, &badRequest{param: "to", err: errors.New("must be after from")}
	}
	if r.to.Sub(r.from) > maxRange {
		return r, &badRequest{param: "from", err: fmt.Errorf("the range is longer than %d days", int(maxRange.Hours()/24))}
	}
	r.step = analytics.BinSize
	if r.to.Sub(r.from) > 48*time.Hour {
		r.step = time.Hour
	}
	if v := c.Query("step"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d <= 0 || d%analytics.BinSize != 0 {
			return r, &badRequest{param: "step", err: fmt.Errorf("%q is not a positive multiple of 5m such as 5m or 1h", v)}
		}
		r.step = d
	}
	if r.to.Sub(r.from)/r.step > maxBins {
		return r, &badRequest{param: "step", err: fmt.Errorf("%s gives more than %d bins over this range", r.step, maxBins)}
	}
	return r, nil
}

// ixpTraffic is the query for traffic across the exchange: samples between
// two different members.
func ixpTraffic(r timeRange, step time.Duration, group analytics.GroupBy) analytics.SeriesQuery {
	return analytics.SeriesQuery{From: r.from, To: r.to, Step: step, GroupBy: group, IXPExchanged: true}
}

// storeAndRange is the store and the request's range, or false after an
// error answer.
func (a *Component) storeAndRange(c *gin.Context) (analytics.Store, timeRange, bool) {
	st, ok := a.store(c)
	if !ok {
		return nil, timeRange{}, false
	}
	r, err := parseRange(c, time.Now())
	if err != nil {
		writeError(c, err)
		return nil, timeRange{}, false
	}
	return st, r, true
}

func (a *Component) store(c *gin.Context) (analytics.Store, bool) {
	if a.deps.Store == nil {
		writeError(c, errNotServed)
		return nil, false
	}
	return a.deps.Store, true
}

// trafficSummary is peak, p95, average and volume of IXP traffic, overall
// and per address family, and the rate of the last complete bin.
func (a *Component) trafficSummary(c *gin.Context) {
	st, r, ok := a.storeAndRange(c)
	if !ok {
		return
	}
	points, err := st.Series(c.Request.Context(), ixpTraffic(r, analytics.BinSize, analytics.GroupFamily))
	if err != nil {
		writeError(c, err)
		return
	}
	c.JSON(http.StatusOK, summaryBody(points, r, time.Now()))
}

// summaryBody is the traffic summary of 5-minute points grouped by
// family: the overall figures, the same per family (IPv4 and IPv6 always,
// others when they carry traffic) and the current rate, which is the rate
// of the last complete 5-minute bin before min(to, now), null when that bin
// has no traffic.
func summaryBody(points []analytics.Point, r timeRange, now time.Time) gin.H {
	bins, fams := analytics.SummarizeFamilies(points, r.from, r.to)
	s := analytics.Summarize(bins)
	body := gin.H{"from": r.from, "to": r.to, "bins": s.Bins, "missing_bins": s.MissingBins}
	maps.Copy(body, summaryFigures(s))
	families := make([]gin.H, 0, len(fams))
	for _, fs := range fams {
		f := summaryFigures(fs.Summary)
		f["family"] = fs.Family
		families = append(families, f)
	}
	body["families"] = families
	end := r.to
	if now.Before(end) {
		end = now
	}
	current := analytics.Bin(end).Add(-analytics.BinSize)
	body["current_at"], body["current_bps"] = current, nil
	for _, b := range bins {
		if b.Start.Equal(current) && !b.Missing {
			body["current_bps"] = b.Bps
		}
	}
	return body
}

// summaryFigures are the figures of a summary shown overall and per family.
func summaryFigures(s analytics.Summary) gin.H {
	out := gin.H{"peak_bps": s.PeakBps, "p95_bps": s.P95Bps, "avg_bps": s.AvgBps, "volume_bytes": s.VolumeBytes}
	if s.Bins > 0 {
		out["peak_at"] = s.PeakAt
	}
	return out
}

// groupKey names a series' group in the response.
func groupKey(g analytics.GroupBy, k analytics.SeriesKey) gin.H {
	switch g {
	case analytics.GroupMember:
		return gin.H{"src_asn": k.Key}
	case analytics.GroupPair:
		return gin.H{"src_asn": k.Key, "dst_asn": k.Key2}
	case analytics.GroupFamily:
		return gin.H{"family": k.Key}
	}
	return gin.H{}
}

// traffic is the IXP traffic series in bits per second, split by a group.
// Per-member groups need a token.
func (a *Component) traffic(c *gin.Context) {
	st, r, ok := a.storeAndRange(c)
	if !ok {
		return
	}
	group := analytics.GroupBy(c.DefaultQuery("group_by", "none"))
	switch group {
	case analytics.GroupNone, analytics.GroupFamily:
	case analytics.GroupMember, analytics.GroupPair:
		if !a.tokens.Load().valid(c.GetHeader("Authorization")) {
			a.metrics.authFailures.Inc()
			writeError(c, errUnauthorized)
			return
		}
	default:
		writeError(c, &badRequest{param: "group_by", err: fmt.Errorf("%q is not none, member, pair or family", group)})
		return
	}
	// 5-minute bins, read once: each step's average is its bytes over the
	// step, its max the highest 5-minute rate inside it.
	points, err := st.Series(c.Request.Context(), ixpTraffic(r, analytics.BinSize, group))
	if err != nil {
		writeError(c, err)
		return
	}
	byKey := analytics.FillSeriesByKey(points, r.from, r.to, r.step)
	if group == analytics.GroupNone && len(byKey) == 0 {
		byKey[analytics.SeriesKey{}] = analytics.FillSeries(nil, r.from, r.to, r.step)
	}
	var maxByKey map[analytics.SeriesKey][]float64
	if r.step > analytics.BinSize {
		maxByKey = stepMaxima(points, byKey, r.step)
	}
	keys := make([]analytics.SeriesKey, 0, len(byKey))
	for k := range byKey {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(x, y analytics.SeriesKey) int {
		if x.Key != y.Key {
			return cmpUint(x.Key, y.Key)
		}
		return cmpUint(x.Key2, y.Key2)
	})
	series := make([]gin.H, 0, len(keys))
	for _, k := range keys {
		bins := byKey[k]
		pts := make([][2]any, 0, len(bins))
		for _, b := range bins {
			pts = append(pts, [2]any{b.Start, b.Bps})
		}
		s := groupKey(group, k)
		s["points"] = pts
		if maxByKey != nil {
			maxima := maxByKey[k]
			maxPts := make([][2]any, 0, len(bins))
			for i, b := range bins {
				m := 0.0
				if maxima != nil {
					m = maxima[i]
				}
				maxPts = append(maxPts, [2]any{b.Start, m})
			}
			s["max_points"] = maxPts
		}
		series = append(series, s)
	}
	c.JSON(http.StatusOK, gin.H{"from": r.from, "to": r.to, "step": r.step.String(), "group_by": group, "series": series})
}

// stepMaxima is, per group and per step of steps (the filled series of
// each group in steps of step), the highest rate of a 5-minute bin inside
// the step. points are 5-minute bins sorted by Time, Key, Key2 (as
// Store.Series returns them); a bin without a point counts as zero, and
// points of one bin and group given more than once are summed first.
func stepMaxima(points []analytics.Point, steps map[analytics.SeriesKey][]analytics.SeriesBin, step time.Duration) map[analytics.SeriesKey][]float64 {
	out := make(map[analytics.SeriesKey][]float64, len(steps))
	for i := 0; i < len(points); {
		p := points[i]
		bytes := p.Bytes
		for i++; i < len(points) && points[i].Time.Equal(p.Time) && points[i].Key == p.Key && points[i].Key2 == p.Key2; i++ {
			bytes += points[i].Bytes
		}
		k := analytics.SeriesKey{Key: p.Key, Key2: p.Key2}
		bins := steps[k]
		if len(bins) == 0 || p.Time.Before(bins[0].Start) {
			continue
		}
		j := int(p.Time.Sub(bins[0].Start) / step)
		if j >= len(bins) {
			continue
		}
		m := out[k]
		if m == nil {
			m = make([]float64, len(bins))
			out[k] = m
		}
		m[j] = max(m[j], 8*float64(bytes)/analytics.BinSize.Seconds())
	}
	return out
}

// matrix is the bytes exchanged per (source member, destination member).
func (a *Component) matrix(c *gin.Context) {
	st, r, ok := a.storeAndRange(c)
	if !ok {
		return
	}
	// One bin for the whole range (at most two, as bins are aligned to the
	// epoch): the store sums by pair, not ixpd per hour and pair.
	whole := (r.to.Sub(r.from) + analytics.BinSize - 1) / analytics.BinSize * analytics.BinSize
	points, err := st.Series(c.Request.Context(), ixpTraffic(r, whole, analytics.GroupPair))
	if err != nil {
		writeError(c, err)
		return
	}
	sums := map[analytics.SeriesKey]uint64{}
	for _, p := range points {
		sums[analytics.SeriesKey{Key: p.Key, Key2: p.Key2}] += p.Bytes
	}
	pairs := make([]gin.H, 0, len(sums))
	keys := make([]analytics.SeriesKey, 0, len(sums))
	for k := range sums {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(x, y analytics.SeriesKey) int { return cmpUint(sums[y], sums[x]) })
	for _, k := range keys {
		pairs = append(pairs, gin.H{"src_asn": k.Key, "dst_asn": k.Key2, "bytes": sums[k]})
	}
	c.JSON(http.StatusOK, gin.H{"from": r.from, "to": r.to, "pairs": pairs})
}

func cmpUint(a, b uint64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}
