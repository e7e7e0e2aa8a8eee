package report

import (
	"encoding/csv"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/ixpd/ixpd/analytics"
)

// csvHeader is the first row of the CSV form.
var csvHeader = []string{"section", "name", "key", "value", "unit"}

// csvRows collects the rows of the CSV form.
type csvRows [][]string

func (c *csvRows) add(section, name, key, value, unit string) {
	*c = append(*c, []string{section, name, key, value, unit})
}
func (c *csvRows) number(section, name, key string, v float64, unit string) {
	c.add(section, name, key, formatFloat(v), unit)
}
func (c *csvRows) optNumber(section, name, key string, v *float64, unit string) {
	s := ""
	if v != nil {
		s = formatFloat(*v)
	}
	c.add(section, name, key, s, unit)
}
func (c *csvRows) unsigned(section, name, key string, v uint64, unit string) {
	c.add(section, name, key, strconv.FormatUint(v, 10), unit)
}
func (c *csvRows) count(section, name, key string, v int) {
	c.add(section, name, key, strconv.Itoa(v), "count")
}
func (c *csvRows) boolean(section, name, key string, v bool) {
	c.add(section, name, key, strconv.FormatBool(v), "boolean")
}
func (c *csvRows) instant(section, name, key string, t time.Time) {
	c.add(section, name, key, formatTime(t), "time")
}
func (c *csvRows) optInstant(section, name, key string, t *time.Time) {
	s := ""
	if t != nil {
		s = formatTime(*t)
	}
	c.add(section, name, key, s, "time")
}

// formatFloat writes v in full precision, as the CSV and data-value
// attributes have it.
func formatFloat(v float64) string { return strconv.FormatFloat(v, 'g', -1, 64) }

// formatTime writes t in RFC 3339, UTC.
func formatTime(t time.Time) string { return t.UTC().Format(time.RFC3339) }

// WriteCSV writes the report in long form, one figure a row, under the
// header section,name,key,value,unit: the same figures as WriteJSON, at
// full precision, times in RFC 3339 UTC, unknown values empty.
func (r *Report) WriteCSV(w io.Writer) error {
	var c csvRows
	r.csvReport(&c)
	r.csvTraffic(&c)
	r.csvSavings(&c)
	r.csvLocalShare(&c)
	r.csvRouting(&c)
	r.csvLatency(&c)
	for _, s := range r.Sources {
		c.add("source", s.Name, "detail", s.Detail, "")
		c.optInstant("source", s.Name, "date", timePtr(s.Date))
	}
	cw := csv.NewWriter(w)
	if err := cw.Write(csvHeader); err != nil {
		return err
	}
	if err := cw.WriteAll(c); err != nil {
		return err
	}
	return cw.Error()
}

func (r *Report) csvReport(c *csvRows) {
	c.add("report", "", "month", r.Month, "YYYY-MM")
	c.instant("report", "", "from", r.From)
	c.instant("report", "", "to", r.To)
	c.instant("report", "", "generated_at", r.GeneratedAt)
	c.boolean("report", "", "partial", r.Partial)
	c.add("report", "", "time_zone", r.TimeZone, "")
	c.add("report", "", "version", r.Version, "")
	c.add("report", "", "exchange.name", r.Exchange.Name, "")
	c.add("report", "", "exchange.country", r.Exchange.Country, "ISO 3166-1 alpha-2")
	c.add("report", "", "exchange.city", r.Exchange.City, "")
	c.boolean("report", "", "no_data", r.NoData)
}

func (r *Report) csvTraffic(c *csvRows) {
	s := r.Summary
	c.number("summary", "", "peak_bps", s.PeakBps, "bps")
	c.instant("summary", "", "peak_at", s.PeakAt)
	c.number("summary", "", "p95_bps", s.P95Bps, "bps")
	c.number("summary", "", "avg_bps", s.AvgBps, "bps")
	c.unsigned("summary", "", "volume_bytes", s.VolumeBytes, "bytes")
	c.count("summary", "", "bins", s.Bins)
	c.count("summary", "", "missing_bins", s.MissingBins)
	for _, f := range s.Families {
		c.number("family", f.Name, "peak_bps", f.PeakBps, "bps")
		c.instant("family", f.Name, "peak_at", f.PeakAt)
		c.number("family", f.Name, "p95_bps", f.P95Bps, "bps")
		c.number("family", f.Name, "avg_bps", f.AvgBps, "bps")
		c.unsigned("family", f.Name, "volume_bytes", f.VolumeBytes, "bytes")
	}
	for _, d := range r.Traffic.Days {
		c.number("day", d.Date, "peak_bps", d.PeakBps, "bps")
		c.instant("day", d.Date, "peak_at", d.PeakAt)
		c.number("day", d.Date, "avg_bps", d.AvgBps, "bps")
		c.unsigned("day", d.Date, "volume_bytes", d.VolumeBytes, "bytes")
		c.count("day", d.Date, "missing_bins", d.MissingBins)
		c.boolean("day", d.Date, "no_data", d.NoData)
	}
	for _, h := range r.Traffic.Hours {
		c.number("hour", formatTime(h.Start), "peak_bps", h.PeakBps, "bps")
	}
	for _, m := range r.Traffic.Months {
		c.number("month_table", m.Month, "peak_bps", m.PeakBps, "bps")
		c.number("month_table", m.Month, "p95_bps", m.P95Bps, "bps")
		c.number("month_table", m.Month, "avg_bps", m.AvgBps, "bps")
		c.unsigned("month_table", m.Month, "volume_bytes", m.VolumeBytes, "bytes")
		c.number("month_table", m.Month, "savings_usd_p95", m.SavingsUSDP95, "USD/month")
		c.boolean("month_table", m.Month, "no_data", m.NoData)
	}
}

func (r *Report) csvSavings(c *csvRows) {
	s := r.Savings
	c.add("savings", "", "month", s.Month, "YYYY-MM")
	c.number("savings", "", "p95_mbps", s.P95Mbps, "Mbps")
	c.number("savings", "", "peak_mbps", s.PeakMbps, "Mbps")
	c.number("savings", "", "transit_price_usd_per_mbps_month", s.TransitPrice, "USD/Mbps/month")
	c.number("savings", "", "ixp_cost_usd_per_mbps_month", s.IXPCost, "USD/Mbps/month")
	c.number("savings", "", "alpha", s.Alpha, "ratio")
	c.number("savings", "", "savings_usd_p95", s.SavingsUSDP95, "USD/month")
	c.number("savings", "", "savings_usd_peak", s.SavingsUSDPeak, "USD/month")
	c.number("savings", "", "band.low_usd", s.Band.LowUSD, "USD/month")
	c.number("savings", "", "band.high_usd", s.Band.HighUSD, "USD/month")
	c.number("savings", "", "band_peak.low_usd", s.BandPeak.LowUSD, "USD/month")
	c.number("savings", "", "band_peak.high_usd", s.BandPeak.HighUSD, "USD/month")
	c.add("savings", "", "method", s.Method, "")
	c.add("savings", "", "formula", s.Formula, "")
	for _, in := range []struct {
		name, unit string
		p          analytics.SavingsParam
	}{{"transit_price", "USD/Mbps/month", s.Inputs.TransitPrice}, {"ixp_cost", "USD/Mbps/month", s.Inputs.IXPCost}, {"alpha", "ratio", s.Inputs.Alpha}} {
		c.number("savings_input", in.name, "value", in.p.Value, in.unit)
		c.number("savings_input", in.name, "low", in.p.Low, in.unit)
		c.number("savings_input", in.name, "high", in.p.High, in.unit)
		c.add("savings_input", in.name, "source", in.p.Source, "")
	}
	c.count("savings_input", "", "bins", s.Inputs.Bins)
	c.count("savings_input", "", "missing_bins", s.Inputs.MissingBins)
}

func (r *Report) csvLocalShare(c *csvRows) {
	share := func(section, name string, d analytics.DomesticShare) {
		c.unsigned(section, name, "via_ixp_bytes", d.ViaIXPBytes, "bytes")
		c.unsigned(section, name, "via_transit_bytes", d.ViaTransitBytes, "bytes")
		c.optNumber(section, name, "local_share", d.LocalShare, "ratio")
		c.add(section, name, "note", d.Note, "")
	}
	share("local_share", "overall", r.LocalShare.Overall)
	for _, m := range r.LocalShare.Members {
		name := strconv.FormatUint(uint64(m.ASN), 10)
		c.add("member", name, "name", m.Name, "")
		share("member", name, m.DomesticShare)
	}
}

func (r *Report) csvRouting(c *csvRows) {
	ro := r.Routing
	c.count("routing", "", "snapshots", ro.Snapshots)
	c.optInstant("routing", "", "first_snapshot", ro.FirstSnapshot)
	c.optInstant("routing", "", "last_snapshot", ro.LastSnapshot)
	c.count("routing", "", "members_at_end", ro.MembersAtEnd)
	c.count("routing", "", "sessions_at_end", ro.SessionsAtEnd)
	c.count("routing", "", "sessions_up_at_end", ro.SessionsUpAtEnd)
	c.unsigned("routing", "", "received_routes", ro.ReceivedRoutes, "routes")
	c.unsigned("routing", "", "accepted_routes", ro.AcceptedRoutes, "routes")
	c.unsigned("routing", "", "filtered_routes", ro.FilteredRoutes, "routes")
	c.boolean("routing", "", "joins_known", ro.JoinsKnown)
	c.add("routing", "", "note", ro.Note, "")
	for _, s := range ro.Sessions {
		n := "AS" + strconv.FormatUint(uint64(s.ASN), 10) + " " + s.Address
		c.add("session", n, "name", s.Name, "")
		c.count("session", n, "snapshots", s.Snapshots)
		c.count("session", n, "up_snapshots", s.UpSnapshots)
		c.number("session", n, "up_share", s.UpShare, "ratio")
		c.boolean("session", n, "up_at_end", s.UpAtEnd)
		c.instant("session", n, "last_seen", s.LastSeen)
		c.unsigned("session", n, "received_routes", uint64(s.Received), "routes")
		c.unsigned("session", n, "accepted_routes", uint64(s.Accepted), "routes")
		c.unsigned("session", n, "filtered_routes", uint64(s.Filtered), "routes")
	}
	for _, fr := range ro.FilteredByReason {
		n := strconv.FormatUint(uint64(fr.Code), 10)
		c.add("filtered_reason", n, "name", fr.Name, "")
		c.unsigned("filtered_reason", n, "routes", fr.Routes, "routes")
	}
	c.boolean("rpki", "", "checked", ro.RPKI.Checked)
	c.unsigned("rpki", "", "valid_routes", ro.RPKI.ValidRoutes, "routes")
	c.unsigned("rpki", "", "unknown_routes", ro.RPKI.UnknownRoutes, "routes")
	c.unsigned("rpki", "", "invalid_routes", ro.RPKI.InvalidRoutes, "routes")
	c.optNumber("rpki", "", "valid_share", ro.RPKI.ValidShare, "ratio")
	c.optNumber("rpki", "", "unknown_share", ro.RPKI.UnknownShare, "ratio")
	c.optNumber("rpki", "", "invalid_share", ro.RPKI.InvalidShare, "ratio")
	c.boolean("irr", "", "checked", ro.IRR.Checked)
	c.unsigned("irr", "", "valid_routes", ro.IRR.ValidRoutes, "routes")
	c.optNumber("irr", "", "valid_share", ro.IRR.ValidShare, "ratio")
	for _, m := range ro.Joins {
		c.add("join", strconv.FormatUint(uint64(m.ASN), 10), "name", m.Name, "")
	}
	for _, m := range ro.Leaves {
		c.add("leave", strconv.FormatUint(uint64(m.ASN), 10), "name", m.Name, "")
	}
}

func (r *Report) csvLatency(c *csvRows) {
	stats := func(section, name string, s analytics.LatencyStats) {
		c.unsigned(section, name, "sent", s.Sent, "count")
		c.unsigned(section, name, "received", s.Received, "count")
		c.number(section, name, "loss_pct", s.LossPct, "percent")
		c.number(section, name, "min_ms", s.MinMs, "ms")
		c.number(section, name, "median_ms", s.MedianMs, "ms")
		c.number(section, name, "mean_ms", s.MeanMs, "ms")
		c.number(section, name, "p95_ms", s.P95Ms, "ms")
		c.number(section, name, "max_ms", s.MaxMs, "ms")
		c.number(section, name, "jitter_ms", s.JitterMs, "ms")
	}
	l := r.Latency
	for _, t := range l.Targets {
		c.add("latency_target", t.Name, "address", t.Address, "")
		c.add("latency_target", t.Name, "method", t.Method, "")
		c.add("latency_target", t.Name, "path", t.Path, "")
		c.add("latency_target", t.Name, "group", t.Group, "")
		stats("latency_target", t.Name, t.Stats)
	}
	for _, g := range l.Groups {
		c.optNumber("latency_group", g.Group, "ixp_median_ms", g.IXPMedianMs, "ms")
		c.optNumber("latency_group", g.Group, "transit_median_ms", g.TransitMedianMs, "ms")
		c.optNumber("latency_group", g.Group, "gain_ms", g.GainMs, "ms")
	}
	for _, m := range l.Members {
		c.add("latency_member", m.Target, "asn", strconv.FormatUint(uint64(m.ASN), 10), "ASN")
		c.add("latency_member", m.Target, "name", m.Name, "")
		c.add("latency_member", m.Target, "address", m.Address, "")
		c.add("latency_member", m.Target, "method", m.Method, "")
		c.unsigned("latency_member", m.Target, "sent", m.Sent, "count")
		c.unsigned("latency_member", m.Target, "received", m.Received, "count")
		c.number("latency_member", m.Target, "loss_pct", m.LossPct, "percent")
		c.optNumber("latency_member", m.Target, "median_ms", m.MedianMs, "ms")
		c.optNumber("latency_member", m.Target, "p95_ms", m.P95Ms, "ms")
	}
	for _, p := range []PathDistribution{l.Distribution.IXP, l.Distribution.Transit} {
		c.add("latency_path", p.Path, "targets", strings.Join(p.Targets, ";"), "")
		stats("latency_path", p.Path, p.Stats)
		for _, q := range p.Quantiles {
			c.number("latency_quantile", p.Path, q.Name, q.Ms, "ms")
		}
	}
	for i, b := range l.Distribution.Bins {
		n := strconv.Itoa(i + 1)
		c.number("latency_bin", n, "lower_ms", b.LowerMs, "ms")
		c.number("latency_bin", n, "upper_ms", b.UpperMs, "ms")
		c.unsigned("latency_bin", n, "ixp_count", b.IXPCount, "count")
		c.number("latency_bin", n, "ixp_share", b.IXPShare, "ratio")
		c.unsigned("latency_bin", n, "transit_count", b.TransitCount, "count")
		c.number("latency_bin", n, "transit_share", b.TransitShare, "ratio")
	}
}
