package report

import (
	_ "embed"
	"html/template"
	"io"
	"strconv"
	"time"
)

//go:embed report.html.tmpl
var htmlTemplate string

// page is what the HTML template renders.
type page struct {
	*Report
	MonthTitle                              string
	TrafficChart, MonthsChart, LatencyChart template.HTML
	Paths                                   []pathRow
	QuantileNames                           []string
}

type pathRow struct {
	Label string
	D     PathDistribution
}

// WriteHTML writes the report as one self-contained HTML file: inline CSS
// (A4 print layout) and SVG charts, no scripts and no outside resources.
// Every chart has a title, a description and a table with its numbers
// after it.
func (r *Report) WriteHTML(w io.Writer) error {
	shown := *r // r stays untouched: WriteHTML may run on several goroutines
	shown.loc = r.location()
	r = &shown
	t, err := template.New("report").Funcs(r.funcs()).Parse(htmlTemplate)
	if err != nil {
		return err
	}
	p := page{Report: r, MonthTitle: monthName(r.From),
		TrafficChart: r.trafficChart(), MonthsChart: r.monthsChart(), LatencyChart: r.latencyChart(),
		Paths: []pathRow{{"Via the exchange", r.Latency.Distribution.IXP}, {"Via transit", r.Latency.Distribution.Transit}}}
	for _, q := range quantiles {
		p.QuantileNames = append(p.QuantileNames, q.name)
	}
	return t.Execute(w, p)
}

// funcs are the template's helpers.
func (r *Report) funcs() template.FuncMap {
	na := "n/a"
	return template.FuncMap{
		"fig":      figure,
		"raw":      rawValue,
		"short":    short,
		"bps":      humanBps,
		"bytes":    humanBytes,
		"usd":      humanUSD,
		"ratio":    humanRatio,
		"ms":       humanMs,
		"showTime": r.showTime,
		"showTimePtr": func(t *time.Time) string {
			if t == nil {
				return na
			}
			return r.showTime(*t)
		},
		"utc":  func(t time.Time) string { return t.UTC().Format("2006-01-02 15:04") },
		"date": func(t time.Time) string { return t.UTC().Format(time.DateOnly) },
		"pct":  func(v float64) string { return strconv.FormatFloat(v, 'f', 2, 64) + " %" },
		"deref": func(v *float64) float64 {
			if v == nil {
				return 0
			}
			return *v
		},
		"optMs": func(v *float64) string {
			if v == nil {
				return na
			}
			return humanMs(*v)
		},
		"optRatio": func(v *float64) string {
			if v == nil {
				return na
			}
			return humanRatio(*v)
		},
		"quantile": func(p PathDistribution, name string) string {
			for _, q := range p.Quantiles {
				if q.Name == name {
					return humanMs(q.Ms)
				}
			}
			return na
		},
	}
}
