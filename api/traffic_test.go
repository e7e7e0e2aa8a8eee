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
	a.deps.Savings = Savings{
		TransitPrice: SavingsInput{Value: 10, Low: 5, High: 20, Source: "regional transit quotes 2026"},
		IXPCost:      SavingsInput{Value: 2, Low: 1, High: 3},
		Alpha:        SavingsInput{Value: 1, Low: 0.5, High: 1},
	}
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
