package report_test

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"io"
	"log/slog"
	"math"
	"net/netip"
	"strconv"
	"strings"
	"testing"
	"time"
	_ "time/tzdata" // Pacific/Apia on hosts without a zoneinfo database

	"github.com/google/go-cmp/cmp"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/ixpd/ixpd/analytics"
	"github.com/ixpd/ixpd/analytics/duckdb"
	"github.com/ixpd/ixpd/analytics/report"
	"github.com/ixpd/ixpd/flow"
)

// The test exchange: three members, one with an edge exporter; data in
// October and November 2026, nothing before.
var (
	nov    = time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	oct    = time.Date(2026, 10, 1, 0, 0, 0, 0, time.UTC)
	testAt = time.Date(2026, 12, 5, 8, 0, 0, 0, time.UTC)
)

func testConfig() report.Config {
	return report.Config{
		Exchange:     report.Exchange{Name: "SIXP", Country: "WS", City: "Apia"},
		TransitPrice: analytics.SavingsParam{Value: 10, Low: 5, High: 20, Source: "regional transit quotes 2026"},
		IXPCost:      analytics.SavingsParam{Value: 2, Low: 1, High: 3, Source: "config savings.ixp_cost_usd_per_mbps_month"},
		Alpha:        analytics.SavingsParam{Value: 1, Low: 0.5, High: 1, Source: "default"},
		Targets: []analytics.LatencyTarget{
			{Name: "apia-ixp", Address: "127.0.0.21:8620", Method: "twamp", Path: analytics.LatencyPathIXP, Group: "apia"},
			{Name: "apia-transit", Address: "127.0.0.22:8620", Method: "twamp", Path: analytics.LatencyPathTransit, Group: "apia"},
			{Name: "AS64500 192.0.2.1", Address: "192.0.2.1", Method: "icmp", Path: analytics.LatencyPathIXP, MemberASN: 64500},
		},
		Members: []report.Member{{ASN: 64501, Name: "Example B"}, {ASN: 64500, Name: "Example A", EdgeExporter: true},
			{ASN: 64502, Name: "Example C"}},
		Sources: []report.Source{{Name: "Members file", Detail: "members.json (IX-F Member Export 1.0)", Date: oct},
			{Name: "RPKI RTR cache", Detail: "rtr://127.0.0.1:3323 (live)"}},
		Version: "test",
	}
}

// memoryStore is a migrated in-memory DuckDB store.
func memoryStore(t *testing.T) *duckdb.Store {
	t.Helper()
	st, err := duckdb.New(slog.New(slog.NewTextHandler(io.Discard, nil)), prometheus.NewRegistry(), duckdb.Configuration{Path: ":memory:"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	if err := st.Migrate(context.Background()); err != nil {
		t.Fatal(err)
	}
	return st
}

func ixpFlow(at time.Time, bytes uint64, etype uint16) flow.Flow {
	return flow.Flow{TimeReceived: at, Exporter: netip.MustParseAddr("127.0.0.10"), Protocol: flow.ProtocolSFlow5,
		Bytes: bytes, Packets: 1, EType: etype, Role: flow.RoleIXPSwitch, SrcMember: 64500, DstMember: 64501, IXPExchanged: true}
}

func edgeFlow(at time.Time, pc flow.PathClass, bytes uint64, src, dst uint32) flow.Flow {
	return flow.Flow{TimeReceived: at, Exporter: netip.MustParseAddr("127.0.0.20"), Protocol: flow.ProtocolIPFIX,
		Bytes: bytes, Packets: 1, EType: 0x0800, Role: flow.RoleMemberEdge, PathClass: pc, Domestic: true, SrcMember: src, DstMember: dst}
}

// filledStore holds known traffic, latency and sessions:
//   - October: one IXP bin of 1 Mbit/s; a snapshot with AS64500 and AS64502.
//   - November: IPv4 and IPv6 bins with the peak (4 Mbit/s) on the 2nd at
//     13:05, 600 bins of background from the 10th, domestic traffic of
//     AS64500 (300 bytes via the exchange, 100 via transit), latency of a
//     comparison pair and of AS64500, and two snapshots.
func filledStore(t *testing.T) *duckdb.Store {
	t.Helper()
	st := memoryStore(t)
	ctx := context.Background()
	flows := []flow.Flow{
		ixpFlow(oct.Add(14*24*time.Hour+12*time.Hour), 37_500_000, 0x0800),
		ixpFlow(nov.Add(time.Minute), 30_000_000, 0x0800),                              // 800 kbit/s
		ixpFlow(nov.Add(6*time.Minute), 75_000_000, 0x86dd),                            // 2 Mbit/s, IPv6
		ixpFlow(nov.Add(24*time.Hour+13*time.Hour+7*time.Minute), 150_000_000, 0x0800), // 4 Mbit/s: the peak
		ixpFlow(nov.AddDate(0, 1, 0).Add(-time.Minute), 3_750_000, 0x0800),             // last bin of the month
		{TimeReceived: nov.Add(time.Hour), Exporter: netip.MustParseAddr("127.0.0.10"), Protocol: flow.ProtocolSFlow5,
			Bytes: 99_000_000, Packets: 1, EType: 0x0800, Role: flow.RoleIXPSwitch, SrcMember: 64500}, // not IXP traffic
		edgeFlow(nov.Add(5*time.Hour), flow.PathViaIXP, 300, 64500, 0),
		edgeFlow(nov.Add(5*time.Hour), flow.PathViaTransit, 100, 0, 64500),
		edgeFlow(nov.Add(5*time.Hour), flow.PathInternal, 999, 64500, 64500),
	}
	for i := range 600 {
		flows = append(flows, ixpFlow(nov.Add(9*24*time.Hour+time.Duration(i)*analytics.BinSize), 1_000_000+uint64(i)*1000, 0x0800))
	}
	if err := st.WriteFlows(ctx, flows); err != nil {
		t.Fatal(err)
	}
	rtts := func(base float64, n int) []float64 {
		out := make([]float64, n)
		for i := range out {
			out[i] = base + float64(i%5)*0.01*base
		}
		return out
	}
	if err := st.WriteLatency(ctx, []analytics.LatencyBin{
		analytics.NewLatencyBin(nov, "apia-ixp", 300, rtts(2, 300)),
		analytics.NewLatencyBin(nov.Add(analytics.BinSize), "apia-ixp", 300, rtts(2.2, 300)),
		analytics.NewLatencyBin(nov, "apia-transit", 300, rtts(150, 240)),
		analytics.NewLatencyBin(nov.Add(analytics.BinSize), "apia-transit", 300, rtts(160, 240)),
		analytics.NewLatencyBin(nov, "AS64500 192.0.2.1", 300, rtts(0.5, 297)),
		analytics.NewLatencyBin(oct, "apia-ixp", 300, rtts(9, 300)), // another month
	}); err != nil {
		t.Fatal(err)
	}
	t1, t2 := nov.Add(14*24*time.Hour), nov.AddDate(0, 1, 0).Add(-time.Hour)
	if err := st.WriteSessions(ctx, []analytics.SessionSnapshot{
		{Time: nov.Add(-time.Hour), ASN: 64500, Address: "192.0.2.1", Up: true},
		{Time: nov.Add(-time.Hour), ASN: 64502, Address: "192.0.2.3", Up: true},
		{Time: t1, ASN: 64500, Address: "192.0.2.1", Up: true},
		{Time: t1, ASN: 64500, Address: "2001:db8::1", Up: true},
		{Time: t1, ASN: 64501, Address: "192.0.2.2", Up: false},
		{Time: t2, ASN: 64500, Address: "192.0.2.1", Up: true, Received: 100, Accepted: 90, Filtered: 10,
			RPKIValid: 60, RPKIUnknown: 35, RPKIInvalid: 5, IRRValid: 80, Reasons: map[uint16]uint32{13: 5, 9: 4, 3: 2}},
		{Time: t2, ASN: 64500, Address: "2001:db8::1", Up: false},
		{Time: t2, ASN: 64501, Address: "192.0.2.2", Up: true, Received: 50, Accepted: 50, RPKIValid: 50, IRRValid: 50},
	}); err != nil {
		t.Fatal(err)
	}
	return st
}

func buildWith(st analytics.Store, cfg report.Config, month string) (*report.Report, error) {
	return report.Build(context.Background(), st, cfg, month, testAt)
}

func build(t *testing.T, st analytics.Store, month string) *report.Report {
	t.Helper()
	r, err := buildWith(st, testConfig(), month)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func TestSummaryAndSavingsEqualAnalytics(t *testing.T) {
	st := filledStore(t)
	r := build(t, st, "2026-11")
	ctx := context.Background()
	end := nov.AddDate(0, 1, 0)
	points, err := st.Series(ctx, analytics.SeriesQuery{From: nov, To: end, Step: analytics.BinSize, GroupBy: analytics.GroupNone, IXPExchanged: true})
	if err != nil {
		t.Fatal(err)
	}
	want := analytics.Summarize(analytics.FillSeries(points, nov, end, analytics.BinSize))
	got := analytics.Summary{PeakBps: r.Summary.PeakBps, PeakAt: r.Summary.PeakAt, P95Bps: r.Summary.P95Bps, AvgBps: r.Summary.AvgBps,
		VolumeBytes: r.Summary.VolumeBytes, Bins: r.Summary.Bins, MissingBins: r.Summary.MissingBins}
	if diff := cmp.Diff(got, want); diff != "" {
		t.Errorf("summary (-got +want):\n%s", diff)
	}
	if r.Summary.PeakBps != 4e6 || !r.Summary.PeakAt.Equal(nov.Add(37*time.Hour+5*time.Minute)) || r.Summary.Bins != 8640 ||
		r.Summary.MissingBins != 8640-604 || r.Summary.P95Bps == 0 {
		t.Errorf("summary %+v, want peak 4 Mbit/s on the 2nd at 13:05, 8640 bins of which 604 with traffic, p95 > 0", r.Summary)
	}
	var v4, v6 report.FamilySummary
	for _, f := range r.Summary.Families {
		switch f.Family {
		case 4:
			v4 = f
		case 6:
			v6 = f
		}
	}
	if v6.PeakBps != 2e6 || v6.VolumeBytes != 75_000_000 || v4.PeakBps != 4e6 || v4.VolumeBytes+v6.VolumeBytes != r.Summary.VolumeBytes {
		t.Errorf("families %+v", r.Summary.Families)
	}

	cfg := testConfig()
	res, _, err := analytics.MonthSavings(ctx, st, analytics.SavingsInput{Month: "2026-11", TransitPrice: cfg.TransitPrice, IXPCost: cfg.IXPCost, Alpha: cfg.Alpha})
	if err != nil {
		t.Fatal(err)
	}
	s := r.Savings
	gotS := []float64{s.P95Mbps, s.PeakMbps, s.SavingsUSDP95, s.SavingsUSDPeak, s.Band.LowUSD, s.Band.HighUSD, s.BandPeak.LowUSD, s.BandPeak.HighUSD}
	wantS := []float64{res.P95Mbps, res.PeakMbps, res.P95USD, res.PeakUSD, res.P95Band.LowUSD, res.P95Band.HighUSD, res.PeakBand.LowUSD, res.PeakBand.HighUSD}
	if diff := cmp.Diff(gotS, wantS); diff != "" {
		t.Errorf("savings (-got +want):\n%s", diff)
	}
	// Peak basis: 1 × 4 Mbit/s × (10 − 2) = 32 USD; band 0.5 × 4 × (5 − 3) = 4 to 1 × 4 × (20 − 1) = 76.
	if s.SavingsUSDPeak != 32 || s.BandPeak != (report.Band{LowUSD: 4, HighUSD: 76}) || s.Inputs.TransitPrice.Source != "regional transit quotes 2026" || s.Method == "" {
		t.Errorf("savings %+v", s)
	}

	// Local share: AS64500 has 300 bytes via the exchange and 100 via transit.
	ls := r.LocalShare
	if ls.Overall.LocalShare == nil || *ls.Overall.LocalShare != 0.75 || len(ls.Members) != 3 {
		t.Fatalf("local share %+v", ls)
	}
	if m := ls.Members[0]; m.ASN != 64500 || m.LocalShare == nil || *m.LocalShare != 0.75 || m.Name != "Example A" {
		t.Errorf("AS64500 %+v", m)
	}
	if m := ls.Members[1]; m.ASN != 64501 || m.LocalShare != nil || m.Note != analytics.NoteNoEdgeExporter {
		t.Errorf("AS64501 %+v", m)
	}

	// Latency gain as analytics computes it over the month's bins.
	bins, err := analytics.LatencyBinsByTarget(ctx, st, nov, end, cfg.Targets)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(r.Latency.Groups, analytics.LatencyGroups(cfg.Targets, bins)); diff != "" {
		t.Errorf("groups (-got +want):\n%s", diff)
	}
	if g := r.Latency.Groups; len(g) != 1 || g[0].GainMs == nil || *g[0].GainMs < 140 || *g[0].GainMs > 160 {
		t.Errorf("groups %+v, want one gain of about 150 ms", g)
	}
	if len(r.Latency.Targets) != 2 || len(r.Latency.Members) != 1 || r.Latency.Members[0].ASN != 64500 ||
		r.Latency.Members[0].MedianMs == nil || math.Abs(r.Latency.Members[0].LossPct-1) > 1e-9 {
		t.Errorf("latency targets %+v members %+v", r.Latency.Targets, r.Latency.Members)
	}
	d := r.Latency.Distribution
	if d.IXP.Stats.Received != 897 || d.Transit.Stats.Received != 480 || len(d.IXP.Quantiles) != 6 || len(d.Bins) == 0 {
		t.Errorf("distribution ixp %+v transit %+v, %d bins", d.IXP.Stats, d.Transit.Stats, len(d.Bins))
	}
	var ixpSum, transitSum uint64
	for i, b := range d.Bins {
		ixpSum += b.IXPCount
		transitSum += b.TransitCount
		if b.UpperMs <= b.LowerMs || (i > 0 && math.Abs(b.LowerMs-d.Bins[i-1].UpperMs) > 1e-9*b.LowerMs) {
			t.Errorf("bin %d [%v, %v) does not follow the one before", i, b.LowerMs, b.UpperMs)
		}
	}
	if ixpSum != 897 || transitSum != 480 {
		t.Errorf("distribution bins hold %d and %d answers, want 897 and 480", ixpSum, transitSum)
	}
	if r.NoData || r.Partial {
		t.Errorf("no_data %v partial %v for a past month with data", r.NoData, r.Partial)
	}
}

func TestDailyAndMonthlyTables(t *testing.T) {
	r := build(t, filledStore(t), "2026-11")
	days := r.Traffic.Days
	if len(days) != 30 || days[0].Date != "2026-11-01" || days[29].Date != "2026-11-30" {
		t.Fatalf("%d days from %v", len(days), days[0].Date)
	}
	// Day 1: bins of 800 kbit/s and 2 Mbit/s; day 2: the 4 Mbit/s peak;
	// day 3: nothing; day 30: 100 kbit/s in its last bin.
	if d := days[0]; d.PeakBps != 2e6 || !d.PeakAt.Equal(nov.Add(5*time.Minute)) || d.VolumeBytes != 105_000_000 ||
		math.Abs(d.AvgBps-2.8e6/288) > 1e-6 || d.MissingBins != 286 || d.NoData {
		t.Errorf("day 1: %+v", d)
	}
	if d := days[1]; d.PeakBps != 4e6 || !d.PeakAt.Equal(nov.Add(37*time.Hour+5*time.Minute)) {
		t.Errorf("day 2: %+v", d)
	}
	if d := days[2]; !d.NoData || d.PeakBps != 0 {
		t.Errorf("day 3: %+v", d)
	}
	if d := days[29]; d.PeakBps != 1e5 || !d.PeakAt.Equal(nov.AddDate(0, 1, 0).Add(-analytics.BinSize)) {
		t.Errorf("day 30: %+v", d)
	}
	if len(r.Traffic.Hours) != 720 || r.Traffic.Hours[37].PeakBps != 4e6 || !r.Traffic.Hours[37].Start.Equal(nov.Add(37*time.Hour)) {
		t.Errorf("hours: %d, hour 37 %+v", len(r.Traffic.Hours), r.Traffic.Hours[37])
	}
	months := r.Traffic.Months
	if len(months) != 12 || months[0].Month != "2025-12" || months[11].Month != "2026-11" {
		t.Fatalf("months %+v", months)
	}
	for _, m := range months[:10] {
		if !m.NoData || m.PeakBps != 0 {
			t.Errorf("month %s before any data: %+v", m.Month, m)
		}
	}
	// October: one bin of 1 Mbit/s; p95 over 8928 bins is 0.
	if m := months[10]; m.Month != "2026-10" || m.NoData || m.PeakBps != 1e6 || m.VolumeBytes != 37_500_000 || m.P95Bps != 0 || m.SavingsUSDP95 != 0 {
		t.Errorf("October: %+v", m)
	}
	if m := months[11]; m.PeakBps != r.Summary.PeakBps || m.P95Bps != r.Summary.P95Bps || m.SavingsUSDP95 != r.Savings.SavingsUSDP95 {
		t.Errorf("November row %+v, summary %+v", m, r.Summary)
	}
}

func TestRouting(t *testing.T) {
	st := filledStore(t)
	r := build(t, st, "2026-11")
	ro := r.Routing
	last := nov.AddDate(0, 1, 0).Add(-time.Hour)
	if ro.Snapshots != 2 || ro.LastSnapshot == nil || !ro.LastSnapshot.Equal(last) || ro.MembersAtEnd != 2 || ro.SessionsAtEnd != 3 ||
		ro.SessionsUpAtEnd != 2 || ro.ReceivedRoutes != 150 || ro.AcceptedRoutes != 140 || ro.FilteredRoutes != 10 {
		t.Errorf("routing %+v", ro)
	}
	wantReasons := []report.ReasonCount{{Code: 3, Name: "Prefix is a bogon", Routes: 2},
		{Code: 9, Name: "IRR: prefix not in the peer's AS-SET", Routes: 4}, {Code: 13, Name: "RPKI: invalid", Routes: 5}}
	if diff := cmp.Diff(ro.FilteredByReason, wantReasons); diff != "" {
		t.Errorf("reasons (-got +want):\n%s", diff)
	}
	f := func(v float64) *float64 { return &v }
	if diff := cmp.Diff(ro.RPKI, report.RPKICoverage{Checked: true, ValidRoutes: 110, UnknownRoutes: 35, InvalidRoutes: 5,
		ValidShare: f(110.0 / 150), UnknownShare: f(35.0 / 150), InvalidShare: f(5.0 / 150)}); diff != "" {
		t.Errorf("RPKI (-got +want):\n%s", diff)
	}
	if diff := cmp.Diff(ro.IRR, report.IRRCoverage{Checked: true, ValidRoutes: 130, ValidShare: f(130.0 / 150)}); diff != "" {
		t.Errorf("IRR (-got +want):\n%s", diff)
	}
	if !ro.JoinsKnown || cmp.Diff(ro.Joins, []report.MemberRef{{ASN: 64501, Name: "Example B"}}) != "" ||
		cmp.Diff(ro.Leaves, []report.MemberRef{{ASN: 64502, Name: "Example C"}}) != "" {
		t.Errorf("joins %+v leaves %+v known %v", ro.Joins, ro.Leaves, ro.JoinsKnown)
	}
	type sess struct {
		ASN                uint32
		Address            string
		UpShare            float64
		UpAtEnd            bool
		Received, Filtered uint32
	}
	var got []sess
	for _, s := range ro.Sessions {
		got = append(got, sess{s.ASN, s.Address, s.UpShare, s.UpAtEnd, s.Received, s.Filtered})
	}
	want := []sess{{64500, "192.0.2.1", 1, true, 100, 10}, {64500, "2001:db8::1", 0.5, false, 0, 0}, {64501, "192.0.2.2", 0.5, true, 50, 0}}
	if diff := cmp.Diff(got, want); diff != "" {
		t.Errorf("sessions (-got +want):\n%s", diff)
	}

	// October: the month before has no snapshots.
	r = build(t, st, "2026-10")
	if r.Routing.JoinsKnown || r.Routing.Snapshots != 1 || !strings.Contains(r.Routing.Note, "2026-09") {
		t.Errorf("October routing %+v", r.Routing)
	}
}

// Without RPKI or IRR on the route server, the report says so instead of
// giving shares of 0.
func TestRoutingWithoutRPKIOrIRR(t *testing.T) {
	st := memoryStore(t)
	at := time.Date(2026, 11, 3, 10, 0, 0, 0, time.UTC)
	if err := st.WriteSessions(context.Background(), []analytics.SessionSnapshot{{Time: at, ASN: 64500, Address: "192.0.2.10",
		Up: true, Received: 12, Accepted: 11, Filtered: 1, Reasons: map[uint16]uint32{3: 1}}}); err != nil {
		t.Fatal(err)
	}
	r := build(t, st, "2026-11")
	ro := r.Routing
	if ro.RPKI.Checked || ro.RPKI.ValidShare != nil || ro.RPKI.UnknownShare != nil || ro.RPKI.InvalidShare != nil ||
		ro.IRR.Checked || ro.IRR.ValidShare != nil {
		t.Errorf("RPKI %+v IRR %+v, want unchecked without shares", ro.RPKI, ro.IRR)
	}
	var html bytes.Buffer
	if err := r.WriteHTML(&html); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"RPKI origin validation was not on", "IRR filtering was not on"} {
		if !strings.Contains(html.String(), want) {
			t.Errorf("the HTML does not say %q", want)
		}
	}
}

func TestNoDataMonth(t *testing.T) {
	st := filledStore(t)
	for _, month := range []string{"2027-03", "2019-01"} {
		t.Run(month, func(t *testing.T) {
			r := build(t, st, month)
			if !r.NoData {
				t.Fatalf("no_data false for %s", month)
			}
			if r.Partial != (month == "2027-03") {
				t.Errorf("partial %v", r.Partial)
			}
			var h, c, j bytes.Buffer
			if err := r.WriteHTML(&h); err != nil {
				t.Fatal(err)
			}
			if err := r.WriteCSV(&c); err != nil {
				t.Fatal(err)
			}
			if err := r.WriteJSON(&j); err != nil {
				t.Fatal(err)
			}
			for _, want := range []string{"No data for " + month, "Methodology and limitations", "Data dictionary", "ICMP", "p95"} {
				if !strings.Contains(h.String(), want) {
					t.Errorf("HTML lacks %q", want)
				}
			}
			checkHTML(t, h.String())
			checkCSVMatchesJSON(t, c.Bytes(), j.Bytes())
			if !strings.Contains(c.String(), "report,,no_data,true,boolean") {
				t.Error("CSV lacks no_data true")
			}
		})
	}
	// The months before 2027-03 in its table include November 2026.
	r := build(t, st, "2027-03")
	if m := r.Traffic.Months[7]; m.Month != "2026-11" || m.NoData || m.PeakBps != 4e6 {
		t.Errorf("2026-11 in the table of 2027-03: %+v", m)
	}
}

func TestBadMonth(t *testing.T) {
	st := memoryStore(t)
	for _, month := range []string{"2026-13", "2026-1", "november", "", "2026-11-01"} {
		_, err := report.Build(context.Background(), st, testConfig(), month, testAt)
		if err == nil || !strings.HasPrefix(err.Error(), "month") {
			t.Errorf("Build(%q): %v, want an error naming month", month, err)
		}
	}
}

func TestFormats(t *testing.T) {
	r := build(t, filledStore(t), "2026-11")
	var h, c, j bytes.Buffer
	if err := r.WriteHTML(&h); err != nil {
		t.Fatal(err)
	}
	if err := r.WriteCSV(&c); err != nil {
		t.Fatal(err)
	}
	if err := r.WriteJSON(&j); err != nil {
		t.Fatal(err)
	}
	checkCSVMatchesJSON(t, c.Bytes(), j.Bytes())
	figures := checkHTML(t, h.String())
	if n := strings.Count(h.String(), "<svg"); n != 3 {
		t.Errorf("%d charts, want 3 (traffic, months, latency)", n)
	}
	csvValues := csvRows(t, c.Bytes())
	for figure, csvKey := range map[string]string{
		"peak_bps": "summary,,peak_bps", "p95_bps": "summary,,p95_bps", "avg_bps": "summary,,avg_bps",
		"volume_bytes": "summary,,volume_bytes", "peak_at": "summary,,peak_at", "missing_bins": "summary,,missing_bins",
		"savings.savings_usd_p95": "savings,,savings_usd_p95", "savings.band.low_usd": "savings,,band.low_usd",
		"savings.band_peak.high_usd": "savings,,band_peak.high_usd", "local_share.overall.local_share": "local_share,overall,local_share",
		"latency.groups.apia.gain_ms": "latency_group,apia,gain_ms", "routing.rpki.valid_share": "rpki,,valid_share",
		"families.6.peak_bps": "family,IPv6,peak_bps",
	} {
		got, ok := figures[figure]
		if !ok {
			t.Errorf("HTML has no data-figure=%q", figure)
			continue
		}
		if want := csvValues[csvKey]; got != want {
			t.Errorf("data-figure %q has %q, CSV %q", figure, got, want)
		}
	}
	var decoded struct {
		Summary struct {
			PeakBps float64 `json:"peak_bps"`
		} `json:"summary"`
		Savings map[string]any `json:"savings"`
	}
	if err := json.Unmarshal(j.Bytes(), &decoded); err != nil {
		t.Fatal(err)
	}
	if decoded.Summary.PeakBps != 4e6 {
		t.Errorf("JSON summary.peak_bps %v", decoded.Summary.PeakBps)
	}
	for _, k := range []string{"p95_mbps", "peak_mbps", "savings_usd_p95", "savings_usd_peak", "band", "band_peak", "inputs", "method"} {
		if _, ok := decoded.Savings[k]; !ok {
			t.Errorf("JSON savings lacks %q", k)
		}
	}
	if !strings.HasPrefix(c.String(), "section,name,key,value,unit\n") || !strings.Contains(c.String(), "month_table,2026-10,peak_bps,1e+06,bps") {
		t.Errorf("CSV starts %.200q", c.String())
	}
}

func TestLocationShown(t *testing.T) {
	cfg := testConfig()
	loc, err := time.LoadLocation("Pacific/Apia") // from time/tzdata when the host has none
	if err != nil {
		t.Fatal(err)
	}
	cfg.Location = loc
	r, err := report.Build(context.Background(), filledStore(t), cfg, "2026-11", testAt)
	if err != nil {
		t.Fatal(err)
	}
	var h bytes.Buffer
	if err := r.WriteHTML(&h); err != nil {
		t.Fatal(err)
	}
	// The peak at 2026-11-02 13:05 UTC is 2026-11-03 02:05 in Apia (UTC+13).
	if r.TimeZone != "Pacific/Apia" || !strings.Contains(h.String(), "Pacific/Apia") || !strings.Contains(h.String(), "2026-11-03 02:05") {
		t.Errorf("time zone %q; HTML does not show the peak in Apia time", r.TimeZone)
	}
	if r.From != nov {
		t.Errorf("from %v: month bounds must stay UTC", r.From)
	}
}

// csvRows maps "section,name,key" to the value of a CSV.
func csvRows(t *testing.T, data []byte) map[string]string {
	t.Helper()
	recs, err := csv.NewReader(bytes.NewReader(data)).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for _, rec := range recs[1:] {
		out[strings.Join(rec[:3], ",")] = rec[3]
	}
	return out
}

// identifiers are JSON keys whose numbers name things rather than measure
// them; the CSV has them in its name column.
var identifiers = map[string]bool{"asn": true, "member_asn": true, "code": true, "family": true, "q": true}

// checkCSVMatchesJSON checks that the CSV carries exactly the JSON's
// figures: the same numbers, times and booleans, as many times each.
func checkCSVMatchesJSON(t *testing.T, csvData, jsonData []byte) {
	t.Helper()
	dec := json.NewDecoder(bytes.NewReader(jsonData))
	dec.UseNumber()
	var doc any
	if err := dec.Decode(&doc); err != nil {
		t.Fatal(err)
	}
	jsonNums, jsonTimes, jsonBools := map[float64]int{}, map[int64]int{}, map[bool]int{}
	var walk func(key string, v any)
	walk = func(key string, v any) {
		switch v := v.(type) {
		case map[string]any:
			for k, e := range v {
				walk(k, e)
			}
		case []any:
			for _, e := range v {
				walk(key, e)
			}
		case json.Number:
			if identifiers[key] {
				return
			}
			f, err := strconv.ParseFloat(string(v), 64)
			if err != nil {
				t.Fatalf("JSON %s: %v", key, err)
			}
			jsonNums[f]++
		case string:
			if tm, err := time.Parse(time.RFC3339, v); err == nil && key != "start" {
				jsonTimes[tm.Unix()]++
			}
		case bool:
			jsonBools[v]++
		}
	}
	walk("", doc)
	recs, err := csv.NewReader(bytes.NewReader(csvData)).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(recs[0], []string{"section", "name", "key", "value", "unit"}); diff != "" {
		t.Errorf("CSV header (-got +want):\n%s", diff)
	}
	csvNums, csvTimes, csvBools := map[float64]int{}, map[int64]int{}, map[bool]int{}
	for _, rec := range recs[1:] {
		value, unit := rec[3], rec[4]
		switch {
		case value == "" || unit == "" || unit == "ASN" || unit == "YYYY-MM" || strings.HasPrefix(unit, "ISO"):
		case unit == "time":
			tm, err := time.Parse(time.RFC3339, value)
			if err != nil {
				t.Errorf("CSV %v: %v", rec, err)
			}
			csvTimes[tm.Unix()]++
		case unit == "boolean":
			csvBools[value == "true"]++
		default:
			f, err := strconv.ParseFloat(value, 64)
			if err != nil {
				t.Errorf("CSV %v: %v", rec, err)
			}
			csvNums[f]++
		}
	}
	if diff := cmp.Diff(csvNums, jsonNums); diff != "" {
		t.Errorf("numbers: count per value (-CSV +JSON):\n%s", diff)
	}
	if diff := cmp.Diff(csvTimes, jsonTimes); diff != "" {
		t.Errorf("times: count per Unix time (-CSV +JSON):\n%s", diff)
	}
	if diff := cmp.Diff(csvBools, jsonBools); diff != "" {
		t.Errorf("booleans (-CSV +JSON):\n%s", diff)
	}
}
