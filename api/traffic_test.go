package api

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http/httptest"
	"net/netip"
	"testing"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/ixpd/ixpd/analytics"
	"github.com/ixpd/ixpd/analytics/duckdb"
	"github.com/ixpd/ixpd/flow"
)

// trafficAPI serves a DuckDB store holding three 5-minute bins of IXP
// traffic between members 38800 and 17993, and one flow that is not
// IXP-exchanged.
func trafficAPI(t *testing.T) (*Component, time.Time) {
	t.Helper()
	store := memoryStore(t)
	ctx := context.Background()
	start := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	f := func(at time.Duration, bytes uint64, src, dst uint32, ixp bool) flow.Flow {
		return flow.Flow{TimeReceived: start.Add(at), Exporter: netip.MustParseAddr("127.0.0.10"), Protocol: flow.ProtocolSFlow5,
			Bytes: bytes, Packets: 1, EType: 0x0800, Role: flow.RoleIXPSwitch, SrcMember: src, DstMember: dst, IXPExchanged: ixp}
	}
	if err := store.WriteFlows(ctx, []flow.Flow{
		f(1*time.Minute, 30_000_000, 38800, 17993, true), // bin 0: 30 MB → 800,000 bps
		f(2*time.Minute, 7_500_000, 17993, 38800, true),  // bin 0: +7.5 MB → 1,000,000 bps
		f(6*time.Minute, 75_000_000, 38800, 17993, true), // bin 1: 2,000,000 bps
		f(14*time.Minute, 3_750_000, 38800, 17993, true), // bin 2: 100,000 bps
		f(14*time.Minute, 99_000_000, 38800, 0, false),   // not IXP traffic
	}); err != nil {
		t.Fatal(err)
	}
	cfg := Configuration{Tokens: []Token{{Name: "noc", SHA256: testTokenHash()}}}
	a := newTestAPI(t, cfg, nil)
	a.deps.Store = store
	return a, start
}

func TestTrafficSummary(t *testing.T) {
	a, start := trafficAPI(t)
	// Four bins from 00:00 to 00:20: 1,000,000, 2,000,000, 100,000 and a
	// missing one (0). Sorted: 0, 100k, 1M, 2M; n = 4 < 20 drops none, so
	// p95 = the peak. Average (1M + 2M + 0.1M + 0) / 4 = 775,000.
	code, body := do(t, a.Handler(), "GET", "/api/v1/traffic/summary?from="+start.Format(time.RFC3339)+"&to="+start.Add(20*time.Minute).Format(time.RFC3339), "")
	if code != 200 {
		t.Fatalf("%d %v", code, body)
	}
	got := map[string]any{"peak_bps": body["peak_bps"], "peak_at": body["peak_at"], "p95_bps": body["p95_bps"], "avg_bps": body["avg_bps"],
		"volume_bytes": body["volume_bytes"], "bins": body["bins"], "missing_bins": body["missing_bins"]}
	want := map[string]any{"peak_bps": 2e6, "peak_at": "2026-11-01T00:05:00Z", "p95_bps": 2e6, "avg_bps": 775000.0,
		"volume_bytes": 116_250_000.0, "bins": 4.0, "missing_bins": 1.0}
	if diff := cmp.Diff(got, want); diff != "" {
		t.Errorf("summary (-got +want):\n%s", diff)
	}
}

func TestTrafficSeriesAndMatrix(t *testing.T) {
	a, start := trafficAPI(t)
	rng := "from=" + start.Format(time.RFC3339) + "&to=" + start.Add(15*time.Minute).Format(time.RFC3339)
	code, body := do(t, a.Handler(), "GET", "/api/v1/traffic?"+rng+"&step=15m", "")
	if code != 200 {
		t.Fatalf("%d %v", code, body)
	}
	// One 15-minute bin: 116.25 MB × 8 / 900 s = 1,033,333.3 bps.
	series := body["series"].([]any)
	pts := series[0].(map[string]any)["points"].([]any)
	if len(series) != 1 || len(pts) != 1 || pts[0].([]any)[1].(float64) < 1033333 || pts[0].([]any)[1].(float64) > 1033334 {
		t.Errorf("series %v", series)
	}
	if code, _ := do(t, a.Handler(), "GET", "/api/v1/traffic?"+rng+"&group_by=pair", ""); code != 401 {
		t.Errorf("pair series without a token: %d", code)
	}
	code, body = do(t, a.Handler(), "GET", "/api/v1/traffic/matrix?"+rng, testToken)
	if code != 200 {
		t.Fatalf("%d %v", code, body)
	}
	want := []any{
		map[string]any{"src_asn": 38800.0, "dst_asn": 17993.0, "bytes": 108_750_000.0},
		map[string]any{"src_asn": 17993.0, "dst_asn": 38800.0, "bytes": 7_500_000.0},
	}
	if diff := cmp.Diff(body["pairs"], any(want)); diff != "" {
		t.Errorf("matrix (-got +want):\n%s", diff)
	}
}

func TestTrafficBadParameters(t *testing.T) {
	a, _ := trafficAPI(t)
	for _, tt := range []struct{ query, param string }{
		{"from=yesterday", "from"},
		{"to=2026-13-01T00:00:00Z", "to"},
		{"from=2026-11-02T00:00:00Z&to=2026-11-01T00:00:00Z", "to"},
		{"from=2020-01-01T00:00:00Z&to=2026-01-01T00:00:00Z", "from"},
		{"step=7m", "step"},
		{"step=-5m", "step"},
		{"from=2026-01-01T00:00:00Z&to=2026-12-01T00:00:00Z&step=5m", "step"},
		{"group_by=country", "group_by"},
	} {
		code, body := do(t, a.Handler(), "GET", "/api/v1/traffic?"+tt.query, "")
		e, _ := body["error"].(map[string]any)
		if msg, _ := e["message"].(string); code != 400 || len(msg) < len(tt.param) || msg[:len(tt.param)] != tt.param {
			t.Errorf("%s: %d %v, want 400 naming %s", tt.query, code, body, tt.param)
		}
	}
}

func TestSavings(t *testing.T) {
	a, _ := trafficAPI(t)
	a.SetSavings(Savings{
		TransitPrice: SavingsInput{Value: 10, Low: 5, High: 20, Source: "regional transit quotes 2026"},
		IXPCost:      SavingsInput{Value: 2, Low: 1, High: 3},
		Alpha:        SavingsInput{Value: 1, Low: 0.5, High: 1},
	})
	code, body := do(t, a.Handler(), "GET", "/api/v1/savings?month=2026-11", "")
	if code != 200 {
		t.Fatalf("%d %v", code, body)
	}
	// November 2026: 8,640 bins, three with traffic; peak 2 Mbps. p95 drops
	// the top 432 bins, so it is 0. Peak savings 1 × 2 × (10 − 2) = 16 USD;
	// peak band 0.5 × 2 × (5 − 3) = 2 to 1 × 2 × (20 − 1) = 38.
	got := map[string]any{"month": body["month"], "p95_mbps": body["p95_mbps"], "peak_mbps": body["peak_mbps"],
		"savings_usd_p95": body["savings_usd_p95"], "savings_usd_peak": body["savings_usd_peak"], "band_peak": body["band_peak"],
		"alpha": body["alpha"], "transit": body["transit_price_usd_per_mbps_month"], "ixp": body["ixp_cost_usd_per_mbps_month"]}
	want := map[string]any{"month": "2026-11", "p95_mbps": 0.0, "peak_mbps": 2.0, "savings_usd_p95": 0.0, "savings_usd_peak": 16.0,
		"band_peak": map[string]any{"low_usd": 2.0, "high_usd": 38.0}, "alpha": 1.0, "transit": 10.0, "ixp": 2.0}
	if diff := cmp.Diff(got, want); diff != "" {
		t.Errorf("savings (-got +want):\n%s", diff)
	}
	inputs := body["inputs"].(map[string]any)
	if src := inputs["transit_price"].(map[string]any)["source"]; src != "regional transit quotes 2026" {
		t.Errorf("transit price source %v", src)
	}
	if body["method"] == "" {
		t.Error("no method text")
	}
	if code, body := do(t, a.Handler(), "GET", "/api/v1/savings?month=2026-13", ""); code != 400 {
		t.Errorf("bad month: %d %v", code, body)
	}
}

func TestMapFeed(t *testing.T) {
	a, start := trafficAPI(t)
	edge := func(pc flow.PathClass, bytes uint64) flow.Flow {
		return flow.Flow{TimeReceived: start.Add(time.Hour), Exporter: netip.MustParseAddr("127.0.0.20"), Protocol: flow.ProtocolIPFIX,
			Bytes: bytes, Packets: 1, EType: 0x0800, Role: flow.RoleMemberEdge, PathClass: pc, Domestic: true}
	}
	if err := a.deps.Store.WriteFlows(context.Background(), []flow.Flow{edge(flow.PathViaIXP, 300), edge(flow.PathViaTransit, 100)}); err != nil {
		t.Fatal(err)
	}
	a.deps.Exchange = Exchange{Name: "SIXP", Country: "WS", City: "Apia", Latitude: -13.8333, Longitude: -171.7667, Members: func() int { return 4 }}
	f := a.buildMapFeed(context.Background(), time.Date(2026, 12, 5, 0, 0, 0, 0, time.UTC))
	props := f["properties"].(gin.H)
	got := map[string]any{"type": f["type"], "coordinates": f["geometry"].(gin.H)["coordinates"], "member_count": props["member_count"],
		"peak_bps": props["peak_bps"], "p95_bps": props["p95_bps"], "period": props["period"], "local_share": props["local_share"],
		"median_latency_ms": props["median_latency_ms"]}
	want := map[string]any{"type": "Feature", "coordinates": []float64{-171.7667, -13.8333}, "member_count": 4,
		"peak_bps": 2e6, "p95_bps": 0.0, "period": "2026-11", "local_share": 0.75, "median_latency_ms": nil}
	if diff := cmp.Diff(got, want); diff != "" {
		t.Errorf("map feed (-got +want):\n%s", diff)
	}
	req := httptest.NewRequest("GET", "/api/v1/map.geojson", nil)
	rec := httptest.NewRecorder()
	a.Handler().ServeHTTP(rec, req)
	var feed struct {
		Type     string `json:"type"`
		Geometry struct {
			Type        string    `json:"type"`
			Coordinates []float64 `json:"coordinates"`
		} `json:"geometry"`
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &feed); err != nil || rec.Code != 200 || feed.Type != "Feature" || feed.Geometry.Type != "Point" ||
		rec.Header().Get("Access-Control-Allow-Origin") != "*" {
		t.Errorf("GET map.geojson: %d %v %s", rec.Code, err, rec.Body.String())
	}
}

func TestDomestic(t *testing.T) {
	a, start := trafficAPI(t)
	edge := func(pc flow.PathClass, bytes uint64, src, dst uint32) flow.Flow {
		return flow.Flow{TimeReceived: start.Add(time.Hour), Exporter: netip.MustParseAddr("127.0.0.20"), Protocol: flow.ProtocolIPFIX,
			Bytes: bytes, Packets: 1, EType: 0x0800, Role: flow.RoleMemberEdge, PathClass: pc, Domestic: true, SrcMember: src, DstMember: dst}
	}
	if err := a.deps.Store.WriteFlows(context.Background(), []flow.Flow{
		edge(flow.PathViaIXP, 300, 38800, 0), edge(flow.PathViaTransit, 100, 0, 38800), edge(flow.PathInternal, 999, 38800, 38800),
	}); err != nil {
		t.Fatal(err)
	}
	a.deps.Exchange = Exchange{MemberASNs: func() []uint32 { return []uint32{38800, 17993} }, EdgeMembers: map[uint32]bool{38800: true}}
	rng := "from=" + start.Format(time.RFC3339) + "&to=" + start.Add(24*time.Hour).Format(time.RFC3339)
	if code, _ := do(t, a.Handler(), "GET", "/api/v1/domestic?"+rng, ""); code != 401 {
		t.Errorf("without a token: %d", code)
	}
	code, body := do(t, a.Handler(), "GET", "/api/v1/domestic?"+rng, testToken)
	if code != 200 {
		t.Fatalf("%d %v", code, body)
	}
	want := map[string]any{
		"overall": map[string]any{"via_ixp_bytes": 300.0, "via_transit_bytes": 100.0, "local_share": 0.75},
		"members": []any{
			map[string]any{"asn": 17993.0, "via_ixp_bytes": 0.0, "via_transit_bytes": 0.0, "local_share": nil, "note": "no edge exporter: local share not computable"},
			map[string]any{"asn": 38800.0, "via_ixp_bytes": 300.0, "via_transit_bytes": 100.0, "local_share": 0.75},
		},
	}
	got := map[string]any{"overall": body["overall"], "members": body["members"]}
	if diff := cmp.Diff(got, want); diff != "" {
		t.Errorf("domestic (-got +want):\n%s", diff)
	}
}

func TestTrafficIPv6Only(t *testing.T) {
	store := memoryStore(t)
	ctx := context.Background()
	start := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	// One IPv6 flow per bin over an hour: 3,750,000 bytes → 100,000 bps.
	var flows []flow.Flow
	for i := range 12 {
		flows = append(flows, flow.Flow{TimeReceived: start.Add(time.Duration(i) * analytics.BinSize), Exporter: netip.MustParseAddr("2001:db8::10"),
			SrcAddr: netip.MustParseAddr("2001:db8:1::1"), DstAddr: netip.MustParseAddr("2001:db8:2::1"),
			Protocol: flow.ProtocolSFlow5, Bytes: 3_750_000, Packets: 1, EType: 0x86dd, Role: flow.RoleIXPSwitch,
			SrcMember: 38800, DstMember: 17993, IXPExchanged: true})
	}
	if err := store.WriteFlows(ctx, flows); err != nil {
		t.Fatal(err)
	}
	a := newTestAPI(t, Configuration{}, nil)
	a.deps.Store = store
	rng := "from=" + start.Format(time.RFC3339) + "&to=" + start.Add(time.Hour).Format(time.RFC3339)
	code, body := do(t, a.Handler(), "GET", "/api/v1/traffic/summary?"+rng, "")
	if code != 200 || body["peak_bps"] != 1e5 || body["p95_bps"] != 1e5 || body["avg_bps"] != 1e5 || body["missing_bins"] != 0.0 {
		t.Errorf("summary: %d %v", code, body)
	}
	code, body = do(t, a.Handler(), "GET", "/api/v1/traffic?"+rng+"&group_by=family&step=1h", "")
	series, _ := body["series"].([]any)
	if code != 200 || len(series) != 1 || series[0].(map[string]any)["family"] != 6.0 {
		t.Errorf("family series: %d %v", code, body)
	}
}

// memoryStore is a migrated in-memory DuckDB store for the test.
func memoryStore(t *testing.T) *duckdb.Store {
	t.Helper()
	store, err := duckdb.New(slog.New(slog.NewTextHandler(io.Discard, nil)), prometheus.NewRegistry(), duckdb.Configuration{Path: ":memory:"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = store.Close() })
	if err := store.Migrate(context.Background()); err != nil {
		t.Fatal(err)
	}
	return store
}

// familyAPI is trafficAPI plus IPv6 traffic: 7.5 MB at 00:11 (bin 2,
// 200,000 bps) and 3.75 MB at 00:16 (bin 3, 100,000 bps).
func familyAPI(t *testing.T) (*Component, time.Time) {
	t.Helper()
	a, start := trafficAPI(t)
	v6 := func(at time.Duration, bytes uint64) flow.Flow {
		return flow.Flow{TimeReceived: start.Add(at), Exporter: netip.MustParseAddr("127.0.0.10"), Protocol: flow.ProtocolSFlow5,
			Bytes: bytes, Packets: 1, EType: 0x86dd, Role: flow.RoleIXPSwitch, SrcMember: 17993, DstMember: 38800, IXPExchanged: true}
	}
	if err := a.deps.Store.WriteFlows(context.Background(), []flow.Flow{v6(11*time.Minute, 7_500_000), v6(16*time.Minute, 3_750_000)}); err != nil {
		t.Fatal(err)
	}
	return a, start
}

func TestTrafficSummaryFamiliesAndCurrent(t *testing.T) {
	a, start := familyAPI(t)
	rng := func(to time.Duration) string {
		return "from=" + start.Format(time.RFC3339) + "&to=" + start.Add(to).Format(time.RFC3339)
	}
	// 5-minute bins from 00:00: IPv4 1,000,000, 2,000,000, 100,000, 0;
	// IPv6 0, 0, 200,000, 100,000; together 1M, 2M, 300k, 100k.
	ipv4 := map[string]any{"family": 4.0, "peak_bps": 2e6, "peak_at": "2026-11-01T00:05:00Z", "p95_bps": 2e6, "avg_bps": 775000.0, "volume_bytes": 116_250_000.0}
	ipv6 := map[string]any{"family": 6.0, "peak_bps": 2e5, "peak_at": "2026-11-01T00:10:00Z", "p95_bps": 2e5, "avg_bps": 75000.0, "volume_bytes": 11_250_000.0}
	tests := []struct {
		name string
		to   time.Duration
		want map[string]any
	}{
		{name: "last bin has traffic", to: 20 * time.Minute, want: map[string]any{
			"peak_bps": 2e6, "peak_at": "2026-11-01T00:05:00Z", "p95_bps": 2e6, "avg_bps": 850000.0, "volume_bytes": 127_500_000.0,
			"bins": 4.0, "missing_bins": 0.0, "families": []any{ipv4, ipv6},
			"current_bps": 1e5, "current_at": "2026-11-01T00:15:00Z"}},
		// to = 00:17: the bin of 00:15 is not complete, so current is
		// the bin of 00:10 (IPv4 100,000 + IPv6 200,000).
		{name: "to inside a bin", to: 17 * time.Minute, want: map[string]any{
			"peak_bps": 2e6, "peak_at": "2026-11-01T00:05:00Z", "p95_bps": 2e6, "avg_bps": 850000.0, "volume_bytes": 127_500_000.0,
			"bins": 4.0, "missing_bins": 0.0, "families": []any{ipv4, ipv6},
			"current_bps": 3e5, "current_at": "2026-11-01T00:10:00Z"}},
		// Six bins, the last two empty: current is null; IPv6 average
		// 300,000 / 6 = 50,000, IPv4 3,100,000 / 6.
		{name: "last bin empty", to: 30 * time.Minute, want: map[string]any{
			"peak_bps": 2e6, "peak_at": "2026-11-01T00:05:00Z", "p95_bps": 2e6, "avg_bps": 3_400_000.0 / 6, "volume_bytes": 127_500_000.0,
			"bins": 6.0, "missing_bins": 2.0, "families": []any{
				map[string]any{"family": 4.0, "peak_bps": 2e6, "peak_at": "2026-11-01T00:05:00Z", "p95_bps": 2e6, "avg_bps": 3_100_000.0 / 6, "volume_bytes": 116_250_000.0},
				map[string]any{"family": 6.0, "peak_bps": 2e5, "peak_at": "2026-11-01T00:10:00Z", "p95_bps": 2e5, "avg_bps": 50000.0, "volume_bytes": 11_250_000.0},
			},
			"current_bps": nil, "current_at": "2026-11-01T00:25:00Z"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, body := do(t, a.Handler(), "GET", "/api/v1/traffic/summary?"+rng(tt.to), "")
			if code != 200 {
				t.Fatalf("%d %v", code, body)
			}
			got := map[string]any{}
			for k := range tt.want {
				got[k] = body[k]
			}
			if diff := cmp.Diff(got, tt.want, cmpopts.EquateApprox(1e-12, 0)); diff != "" {
				t.Errorf("summary (-got +want):\n%s", diff)
			}
		})
	}
}

// TestSummaryCurrentBeforeTo takes the current rate before now when to
// is still ahead.
func TestSummaryCurrentBeforeTo(t *testing.T) {
	start := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	r := timeRange{from: start, to: start.Add(time.Hour), step: analytics.BinSize}
	points := []analytics.Point{
		{Time: start, Key: 4, Bytes: 37_500_000},                            // 1,000,000 bps
		{Time: start.Add(5 * time.Minute), Key: 4, Bytes: 75_000_000},       // 2,000,000 bps
		{Time: start.Add(5 * time.Minute), Key: 6, Bytes: 3_750_000},        // + 100,000 bps
		{Time: start.Add(10 * time.Minute), Key: 4, Bytes: 3_750_000},       // the bin in progress at 00:12:30
		{Time: start.Add(15 * time.Minute), Key: 0x88cc, Bytes: 37_500_000}, // another family
	}
	body := summaryBody(points, r, start.Add(12*time.Minute+30*time.Second))
	if at, _ := body["current_at"].(time.Time); body["current_bps"] != 2.1e6 || !at.Equal(start.Add(5*time.Minute)) {
		t.Errorf("current %v at %v, want 2.1e6 at 00:05", body["current_bps"], body["current_at"])
	}
	var fams []uint64
	for _, f := range body["families"].([]gin.H) {
		fams = append(fams, f["family"].(uint64))
	}
	if diff := cmp.Diff(fams, []uint64{4, 6, 0x88cc}); diff != "" {
		t.Errorf("families (-got +want):\n%s", diff)
	}
}

func TestTrafficMaxPoints(t *testing.T) {
	a, start := familyAPI(t)
	rng := "from=" + start.Format(time.RFC3339) + "&to=" + start.Add(30*time.Minute).Format(time.RFC3339)
	type series struct {
		Family    *float64 `json:"family"`
		Points    [][2]any `json:"points"`
		MaxPoints [][2]any `json:"max_points"`
	}
	get := func(t *testing.T, query string) []series {
		t.Helper()
		req := httptest.NewRequest("GET", "/api/v1/traffic?"+rng+query, nil)
		rec := httptest.NewRecorder()
		a.Handler().ServeHTTP(rec, req)
		var body struct {
			Series []series `json:"series"`
		}
		if err := json.Unmarshal(rec.Body.Bytes(), &body); rec.Code != 200 || err != nil {
			t.Fatalf("%s: %d %v %s", query, rec.Code, err, rec.Body.String())
		}
		return body.Series
	}
	s0, s15 := "2026-11-01T00:00:00Z", "2026-11-01T00:15:00Z"
	// 15-minute steps. Step 0 holds 123.75 MB (× 8 / 900 s = 1,100,000
	// bps) and 5-minute bins of 1M, 2M and 300k; step 1 holds 3.75 MB
	// (33,333.3 bps) in one bin of 100k and two empty ones.
	want := []series{{
		Points:    [][2]any{{s0, 1_100_000.0}, {s15, 100_000.0 / 3}},
		MaxPoints: [][2]any{{s0, 2e6}, {s15, 1e5}},
	}}
	approx := cmpopts.EquateApprox(1e-12, 0)
	if diff := cmp.Diff(get(t, "&step=15m"), want, approx); diff != "" {
		t.Errorf("step 15m (-got +want):\n%s", diff)
	}
	four, six := 4.0, 6.0
	want = []series{
		{Family: &four, Points: [][2]any{{s0, 116_250_000.0 * 8 / 900}, {s15, 0.0}}, MaxPoints: [][2]any{{s0, 2e6}, {s15, 0.0}}},
		{Family: &six, Points: [][2]any{{s0, 7_500_000.0 * 8 / 900}, {s15, 100_000.0 / 3}}, MaxPoints: [][2]any{{s0, 2e5}, {s15, 1e5}}},
	}
	if diff := cmp.Diff(get(t, "&step=15m&group_by=family"), want, approx); diff != "" {
		t.Errorf("step 15m by family (-got +want):\n%s", diff)
	}
	// With 5-minute steps the maxima would be the points: left out.
	got := get(t, "&step=5m")
	if len(got) != 1 || len(got[0].Points) != 6 || got[0].MaxPoints != nil {
		t.Errorf("step 5m: %+v", got)
	}
	// No traffic at all: zero maxima for the one series of group none.
	empty := "from=2026-10-01T00:00:00Z&to=2026-10-01T01:00:00Z"
	req := httptest.NewRequest("GET", "/api/v1/traffic?"+empty+"&step=30m", nil)
	rec := httptest.NewRecorder()
	a.Handler().ServeHTTP(rec, req)
	var body struct {
		Series []series `json:"series"`
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil || len(body.Series) != 1 ||
		!cmp.Equal(body.Series[0].MaxPoints, [][2]any{{"2026-10-01T00:00:00Z", 0.0}, {"2026-10-01T00:30:00Z", 0.0}}) {
		t.Errorf("empty range: %v %s", err, rec.Body.String())
	}
}
