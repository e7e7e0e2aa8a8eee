package report_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/ixpd/ixpd/api"
)

// TestReportEqualsAPI checks that the report's JSON figures for November
// are the API's for the same month, store and configuration.
func TestReportEqualsAPI(t *testing.T) {
	st := filledStore(t)
	savings := api.Savings{
		TransitPrice: api.SavingsInput{Value: 10, Low: 5, High: 20, Source: "regional transit quotes 2026"},
		IXPCost:      api.SavingsInput{Value: 2, Low: 1, High: 3},
		Alpha:        api.SavingsInput{Value: 1, Low: 0.5, High: 1},
	}
	cfg := testConfig()
	cfg.TransitPrice, cfg.IXPCost, cfg.Alpha = savings.Params()
	var asns []uint32
	edge := map[uint32]bool{}
	for _, m := range cfg.Members {
		asns = append(asns, m.ASN)
		if m.EdgeExporter {
			edge[m.ASN] = true
		}
	}
	sum := sha256.Sum256([]byte("report-test-token"))
	reg := prometheus.NewRegistry()
	a, err := api.New(slog.New(slog.NewTextHandler(io.Discard, nil)), reg,
		api.Configuration{Listen: "127.0.0.1:0", Tokens: []api.Token{{Name: "test", SHA256: hex.EncodeToString(sum[:])}}},
		api.Dependencies{Store: st, Savings: savings, Gatherer: reg, Version: "test",
			Exchange:       api.Exchange{MemberASNs: func() []uint32 { return asns }, EdgeMembers: edge},
			LatencyTargets: func() []api.LatencyTarget { return cfg.Targets }})
	if err != nil {
		t.Fatal(err)
	}
	get := func(path string) map[string]any {
		t.Helper()
		req := httptest.NewRequest("GET", path, nil)
		req.Header.Set("Authorization", "Bearer report-test-token")
		rec := httptest.NewRecorder()
		a.Handler().ServeHTTP(rec, req)
		if rec.Code != http.StatusOK {
			t.Fatalf("GET %s: %d %s", path, rec.Code, rec.Body.String())
		}
		var body map[string]any
		if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil {
			t.Fatal(err)
		}
		return body
	}

	r, err := buildWith(st, cfg, "2026-11")
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := r.WriteJSON(&buf); err != nil {
		t.Fatal(err)
	}
	var rep map[string]any
	if err := json.Unmarshal(buf.Bytes(), &rep); err != nil {
		t.Fatal(err)
	}
	section := func(path ...string) map[string]any {
		m := rep
		for _, p := range path {
			m = m[p].(map[string]any)
		}
		return m
	}
	rng := "from=2026-11-01T00:00:00Z&to=2026-12-01T00:00:00Z"

	summary := get("/api/v1/traffic/summary?" + rng)
	for _, k := range []string{"from", "to", "current_at", "current_bps"} { // the range, and the live rate
		delete(summary, k)
	}
	wantSummary := section("summary")
	for _, f := range wantSummary["families"].([]any) {
		delete(f.(map[string]any), "name")
	}
	if diff := cmp.Diff(wantSummary, summary); diff != "" {
		t.Errorf("summary (-report +API):\n%s", diff)
	}

	apiSavings := get("/api/v1/savings?month=2026-11")
	repSavings := section("savings")
	delete(repSavings, "formula")
	if diff := cmp.Diff(repSavings, apiSavings); diff != "" {
		t.Errorf("savings (-report +API):\n%s", diff)
	}

	domestic := get("/api/v1/domestic?" + rng)
	local := section("local_share")
	for _, m := range local["members"].([]any) {
		delete(m.(map[string]any), "name")
	}
	if diff := cmp.Diff(local, map[string]any{"overall": domestic["overall"], "members": domestic["members"]}); diff != "" {
		t.Errorf("local share (-report +API):\n%s", diff)
	}

	latency := get("/api/v1/latency?" + rng)
	lat := section("latency")
	if diff := cmp.Diff(lat["groups"], latency["groups"]); diff != "" {
		t.Errorf("latency groups (-report +API):\n%s", diff)
	}
	repStats := map[string]map[string]any{}
	for _, tg := range lat["targets"].([]any) {
		m := tg.(map[string]any)
		repStats[m["name"].(string)] = m["stats"].(map[string]any)
	}
	for _, m := range lat["members"].([]any) {
		mm := m.(map[string]any)
		repStats[mm["target"].(string)] = map[string]any{"loss_pct": mm["loss_pct"], "median_ms": mm["median_ms"], "p95_ms": mm["p95_ms"],
			"sent": mm["sent"], "received": mm["received"]}
	}
	for _, tg := range latency["targets"].([]any) {
		m := tg.(map[string]any)
		name := m["name"].(string)
		want := m["stats"].(map[string]any)
		got := repStats[name]
		if len(got) == 5 { // a member: only the figures the report shows
			for k := range want {
				if _, ok := got[k]; !ok {
					delete(want, k)
				}
			}
		}
		if diff := cmp.Diff(got, want); diff != "" {
			t.Errorf("latency of %s (-report +API):\n%s", name, diff)
		}
	}
	if len(latency["targets"].([]any)) != 3 {
		t.Errorf("API latency targets %v", latency["targets"])
	}
}
