package report

import (
	"fmt"
	"html"
	"html/template"
	"math"
	"strings"
	"time"
)

// Chart geometry, in SVG user units (the charts scale to the page).
const (
	chartW      = 720.0
	chartH      = 300.0
	chartLeft   = 70.0
	chartRight  = 16.0
	chartTop    = 34.0
	chartBottom = 56.0
	plotW       = chartW - chartLeft - chartRight
	plotH       = chartH - chartTop - chartBottom
)

// Chart colours: blue for the exchange, red (hatched) for transit, so
// they also differ in grey print.
const (
	colourIXP     = "#1f5fa8"
	colourTransit = "#b8323b"
	colourPeak    = "#b8323b"
	colourP95     = "#7a9cc6"
)

// svg builds one chart.
type svg struct {
	b  strings.Builder
	id string
}

// newSVG opens a chart with its title and description, both read out by
// screen readers.
func newSVG(id, title, desc string) *svg {
	s := &svg{id: id}
	fmt.Fprintf(&s.b, `<svg class="chart" id="%s" viewBox="0 0 %g %g" role="img" aria-labelledby="%s-title %s-desc">`,
		id, chartW, chartH, id, id)
	fmt.Fprintf(&s.b, `<title id="%s-title">%s</title><desc id="%s-desc">%s</desc>`, id, html.EscapeString(title), id, html.EscapeString(desc))
	return s
}

func (s *svg) raw(format string, args ...any) { fmt.Fprintf(&s.b, format, args...) }

// text writes a label; anchor is start, middle or end.
func (s *svg) text(x, y float64, anchor, class, t string) {
	fmt.Fprintf(&s.b, `<text x="%.1f" y="%.1f" text-anchor="%s" class="%s">%s</text>`, x, y, anchor, class, html.EscapeString(t))
}

// yAxis draws horizontal grid lines with labels for ticks (in the shown
// unit) scaled to top, and the axis title.
func (s *svg) yAxis(ticks []float64, top float64, title string) {
	for _, t := range ticks {
		y := chartTop + plotH - t/top*plotH
		s.raw(`<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" class="grid"/>`, chartLeft, y, chartLeft+plotW, y)
		s.text(chartLeft-6, y+3.5, "end", "tick", short(t))
	}
	s.raw(`<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" class="axis"/>`, chartLeft, chartTop, chartLeft, chartTop+plotH)
	s.raw(`<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" class="axis"/>`, chartLeft, chartTop+plotH, chartLeft+plotW, chartTop+plotH)
	s.raw(`<text x="14" y="%.1f" text-anchor="middle" class="label" transform="rotate(-90 14 %.1f)">%s</text>`,
		chartTop+plotH/2, chartTop+plotH/2, html.EscapeString(title))
}

// xTitle writes the title under the x axis.
func (s *svg) xTitle(title string) {
	s.text(chartLeft+plotW/2, chartH-8, "middle", "label", title)
}

// legend writes coloured keys at the top right.
func (s *svg) legend(items ...[2]string) {
	x := chartLeft + plotW
	for i := len(items) - 1; i >= 0; i-- {
		it := items[i]
		w := 7*float64(len(it[1])) + 22
		x -= w
		s.raw(`<rect x="%.1f" y="10" width="12" height="10" fill="%s" stroke="#333" stroke-width="0.5"/>`, x, it[0])
		s.text(x+16, 19, "start", "tick", it[1])
	}
}

func (s *svg) html() template.HTML {
	s.b.WriteString(`</svg>`)
	return template.HTML(s.b.String()) // built here from escaped text only
}

// niceTicks returns 0 and evenly spaced round values up to at least v, and
// the top of the axis.
func niceTicks(v float64) ([]float64, float64) {
	if v <= 0 || math.IsNaN(v) || math.IsInf(v, 0) {
		return []float64{0, 1}, 1
	}
	raw := v / 5
	mag := math.Pow(10, math.Floor(math.Log10(raw)))
	step := mag
	for _, m := range []float64{1, 2, 2.5, 5, 10} {
		if m*mag >= raw {
			step = m * mag
			break
		}
	}
	var ticks []float64
	for t := 0.0; ; t += step {
		ticks = append(ticks, t)
		if t >= v*(1-1e-9) {
			return ticks, t
		}
	}
}

// monthName is "November 2026" for a month's first instant.
func monthName(t time.Time) string { return t.Format("January 2006") }

// trafficChart draws the hourly maximum of the 5-minute rate over the
// month as an area, with each day's peak marked; "" without traffic.
func (r *Report) trafficChart() template.HTML {
	peak := 0.0
	for _, h := range r.Traffic.Hours {
		peak = max(peak, h.PeakBps)
	}
	if peak == 0 {
		return ""
	}
	div, unit := rateUnit(peak)
	ticks, top := niceTicks(peak / div)
	span := r.To.Sub(r.From).Seconds()
	x := func(t time.Time) float64 { return chartLeft + t.Sub(r.From).Seconds()/span*plotW }
	y := func(bps float64) float64 { return chartTop + plotH - bps/div/top*plotH }
	s := newSVG("chart-traffic", fmt.Sprintf("IXP traffic in %s: hourly maximum of the 5-minute rate, in %s, with daily peaks", monthName(r.From), unit),
		fmt.Sprintf("Area: the highest 5-minute rate of each UTC hour of %s, in %s. Dots: each UTC day's peak. "+
			"The month's peak is %s at %s. The tables after the chart give the same numbers.",
			monthName(r.From), unit, humanBps(r.Summary.PeakBps), r.showTime(r.Summary.PeakAt)))
	s.legend([2]string{colourIXP, "hourly maximum"}, [2]string{colourPeak, "daily peak"})
	s.yAxis(ticks, top, "Rate ("+unit+")")
	var path strings.Builder
	fmt.Fprintf(&path, "M%.1f %.1f", x(r.From), chartTop+plotH)
	for _, h := range r.Traffic.Hours {
		fmt.Fprintf(&path, " L%.1f %.1f L%.1f %.1f", x(h.Start), y(h.PeakBps), x(h.Start.Add(time.Hour)), y(h.PeakBps))
	}
	fmt.Fprintf(&path, " L%.1f %.1f Z", x(r.To), chartTop+plotH)
	s.raw(`<path d="%s" fill="%s" fill-opacity="0.35" stroke="%s" stroke-width="0.8"/>`, path.String(), colourIXP, colourIXP)
	for d := r.From; d.Before(r.To); d = d.AddDate(0, 0, 1) {
		s.raw(`<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" class="axis"/>`, x(d), chartTop+plotH, x(d), chartTop+plotH+4)
		if d.Day()%2 == 1 {
			s.text(x(d.Add(12*time.Hour)), chartTop+plotH+16, "middle", "tick", fmt.Sprint(d.Day()))
		}
	}
	for _, d := range r.Traffic.Days {
		if d.NoData || d.PeakBps == 0 {
			continue
		}
		s.raw(`<circle cx="%.1f" cy="%.1f" r="2.6" fill="%s"><title>%s: peak %s at %s</title></circle>`,
			x(d.PeakAt.Add(2*time.Minute+30*time.Second)), y(d.PeakBps), colourPeak, d.Date, html.EscapeString(humanBps(d.PeakBps)),
			html.EscapeString(r.showTime(d.PeakAt)))
	}
	s.xTitle("Day of " + monthName(r.From) + " (UTC days)")
	return s.html()
}

// monthsChart draws the peak and p95 of each month of the monthly table
// as bars; "" when none has traffic.
func (r *Report) monthsChart() template.HTML {
	rows := r.Traffic.Months
	peak := 0.0
	for _, m := range rows {
		peak = max(peak, m.PeakBps)
	}
	if peak == 0 || len(rows) == 0 {
		return ""
	}
	div, unit := rateUnit(peak)
	ticks, top := niceTicks(peak / div)
	first, last := rows[0].Month, rows[len(rows)-1].Month
	s := newSVG("chart-months", fmt.Sprintf("Monthly peak and 95th percentile of IXP traffic, %s to %s, in %s", first, last, unit),
		fmt.Sprintf("For each month from %s to %s, two bars: the peak 5-minute rate and the 95th percentile, in %s. "+
			"Months without traffic are marked no data. The table after the chart gives the same numbers.", first, last, unit))
	s.legend([2]string{colourPeak, "peak"}, [2]string{colourP95, "95th percentile"})
	s.yAxis(ticks, top, "Rate ("+unit+")")
	gw := plotW / float64(len(rows))
	bw := gw * 0.34
	base := chartTop + plotH
	h := func(bps float64) float64 { return bps / div / top * plotH }
	for i, m := range rows {
		gx := chartLeft + float64(i)*gw
		if m.NoData {
			s.text(gx+gw/2, base-6, "middle", "tick", "no data")
		} else {
			s.raw(`<rect x="%.1f" y="%.1f" width="%.1f" height="%.1f" fill="%s"><title>%s peak %s</title></rect>`,
				gx+gw*0.14, base-h(m.PeakBps), bw, h(m.PeakBps), colourPeak, m.Month, html.EscapeString(humanBps(m.PeakBps)))
			s.raw(`<rect x="%.1f" y="%.1f" width="%.1f" height="%.1f" fill="%s"><title>%s p95 %s</title></rect>`,
				gx+gw*0.14+bw, base-h(m.P95Bps), bw, h(m.P95Bps), colourP95, m.Month, html.EscapeString(humanBps(m.P95Bps)))
		}
		s.text(gx+gw/2, base+16, "middle", "tick", m.Month)
	}
	s.xTitle("Month (UTC calendar months)")
	return s.html()
}

// latencyChart draws the share of answers per round-trip-time bin via the
// exchange and via transit; "" without answers.
func (r *Report) latencyChart() template.HTML {
	bins := r.Latency.Distribution.Bins
	if len(bins) == 0 {
		return ""
	}
	peak := 0.0
	for _, b := range bins {
		peak = max(peak, 100*b.IXPShare, 100*b.TransitShare)
	}
	ticks, top := niceTicks(peak)
	s := newSVG("chart-latency", fmt.Sprintf("Round-trip time via the exchange and via transit in %s: share of answers per bin, in %% (time in ms, log scale)", monthName(r.From)),
		fmt.Sprintf("For each round-trip-time bin from %s to %s (each bin 1.27 times wider than the one before), two bars: "+
			"the share of all answers via the exchange, and via transit, that fell in it. Medians: %s via the exchange, %s via transit. "+
			"The tables after the chart give the same numbers.", humanMs(bins[0].LowerMs), humanMs(bins[len(bins)-1].UpperMs),
			medianText(r.Latency.Distribution.IXP), medianText(r.Latency.Distribution.Transit)))
	s.raw(`<defs><pattern id="hatch-transit" patternUnits="userSpaceOnUse" width="5" height="5"><rect width="5" height="5" fill="#f3d3d5"/><path d="M0 5 L5 0" stroke="%s" stroke-width="1.4"/></pattern></defs>`, colourTransit)
	s.legend([2]string{colourIXP, "via the exchange"}, [2]string{"url(#hatch-transit)", "via transit"})
	s.yAxis(ticks, top, "Share of answers (%)")
	gw := plotW / float64(len(bins))
	base := chartTop + plotH
	h := func(share float64) float64 { return 100 * share / top * plotH }
	every := int(math.Ceil(float64(len(bins)) / 9))
	for i, b := range bins {
		gx := chartLeft + float64(i)*gw
		rng := html.EscapeString(short(b.LowerMs) + "–" + short(b.UpperMs) + " ms")
		if b.IXPCount > 0 {
			s.raw(`<rect x="%.2f" y="%.2f" width="%.2f" height="%.2f" fill="%s"><title>%s via the exchange: %s</title></rect>`,
				gx+gw*0.1, base-h(b.IXPShare), gw*0.4, h(b.IXPShare), colourIXP, rng, humanRatio(b.IXPShare))
		}
		if b.TransitCount > 0 {
			s.raw(`<rect x="%.2f" y="%.2f" width="%.2f" height="%.2f" fill="url(#hatch-transit)" stroke="%s" stroke-width="0.6"><title>%s via transit: %s</title></rect>`,
				gx+gw*0.5, base-h(b.TransitShare), gw*0.4, h(b.TransitShare), colourTransit, rng, humanRatio(b.TransitShare))
		}
		if i%every == 0 {
			s.raw(`<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" class="axis"/>`, gx, base, gx, base+4)
			s.text(gx, base+16, "middle", "tick", short(b.LowerMs))
		}
	}
	s.xTitle("Round-trip time (ms, log scale; bin lower bounds)")
	return s.html()
}

func medianText(p PathDistribution) string {
	if p.Stats.Received == 0 {
		return "none"
	}
	return humanMs(p.Stats.MedianMs)
}
