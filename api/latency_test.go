package api

import (
	"context"
	"encoding/json"
	"math"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/ixpd/ixpd/analytics"
)

// latencyAPI serves a DuckDB store with two bins for a comparison pair and
// a member target.
func latencyAPI(t *testing.T) (*Component, time.Time) {
	t.Helper()
	store := memoryStore(t)
	ctx := context.Background()
	start := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	rtts := func(base float64, n int) []float64 {
		out := make([]float64, n)
		for i := range out {
			out[i] = base + float64(i%5)*0.01*base
		}
		return out
	}
	bins := []analytics.LatencyBin{
		analytics.NewLatencyBin(start, "apia-ixp", 300, rtts(2, 300)),
		analytics.NewLatencyBin(start.Add(analytics.BinSize), "apia-ixp", 300, rtts(2, 300)),
		analytics.NewLatencyBin(start, "apia-transit", 300, rtts(150, 240)),
		analytics.NewLatencyBin(start.Add(analytics.BinSize), "apia-transit", 300, rtts(150, 240)),
		analytics.NewLatencyBin(start, "AS38800 127.0.0.2", 300, rtts(0.5, 300)),
	}
	if err := store.WriteLatency(ctx, bins); err != nil {
		t.Fatal(err)
	}
	a := newTestAPI(t, Configuration{Tokens: []Token{{Name: "noc", SHA256: testTokenHash()}}}, nil)
	a.deps.Store = store
	a.deps.LatencyTargets = func() []LatencyTarget {
		return []LatencyTarget{
			{Name: "apia-ixp", Address: "127.0.0.21:8620", Method: "twamp", Path: PathIXP, Group: "apia"},
			{Name: "apia-transit", Address: "127.0.0.22:8620", Method: "twamp", Path: PathTransit, Group: "apia"},
			{Name: "AS38800 127.0.0.2", Address: "127.0.0.2", Method: "icmp", Path: PathIXP, MemberASN: 38800},
		}
	}
	return a, start
}

type latencyBody struct {
	Targets []struct {
		Name   string                 `json:"name"`
		Stats  analytics.LatencyStats `json:"stats"`
		Series []struct {
			Time time.Time `json:"time"`
			analytics.LatencyStats
		} `json:"series"`
	} `json:"targets"`
	Groups []latencyGroup `json:"groups"`
}

func getLatency(t *testing.T, a *Component, query, token string) (int, latencyBody) {
	t.Helper()
	req := httptest.NewRequest("GET", "/api/v1/latency?"+query, nil)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	rec := httptest.NewRecorder()
	a.Handler().ServeHTTP(rec, req)
	var body latencyBody
	if rec.Code == http.StatusOK {
		if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil {
			t.Fatal(err)
		}
	}
	return rec.Code, body
}

func TestLatencyEndpoint(t *testing.T) {
	a, start := latencyAPI(t)
	rng := "from=" + start.Format(time.RFC3339) + "&to=" + start.Add(time.Hour).Format(time.RFC3339)
	code, body := getLatency(t, a, rng, "")
	if code != http.StatusOK {
		t.Fatalf("status %d", code)
	}
	if len(body.Targets) != 2 {
		t.Fatalf("public view: %d targets, want the 2 comparison targets (no member target)", len(body.Targets))
	}
	ixp, transit := body.Targets[0], body.Targets[1]
	if ixp.Name != "apia-ixp" || ixp.Stats.Sent != 600 || ixp.Stats.Received != 600 || ixp.Stats.LossPct != 0 || len(ixp.Series) != 2 {
		t.Errorf("apia-ixp: %+v", ixp)
	}
	if transit.Stats.Sent != 600 || transit.Stats.Received != 480 || math.Abs(transit.Stats.LossPct-20) > 1e-9 {
		t.Errorf("apia-transit loss: %+v", transit.Stats)
	}
	if math.Abs(ixp.Stats.MedianMs-2.02)/2.02 > 0.02 || math.Abs(transit.Stats.MedianMs-151.5)/151.5 > 0.02 {
		t.Errorf("medians %v and %v, want about 2.02 and 151.5", ixp.Stats.MedianMs, transit.Stats.MedianMs)
	}
	if len(body.Groups) != 1 || body.Groups[0].GainMs == nil ||
		math.Abs(*body.Groups[0].GainMs-(transit.Stats.MedianMs-ixp.Stats.MedianMs)) > 1e-9 {
		t.Errorf("groups: %+v", body.Groups)
	}
	// A member's own target needs a token.
	if code, _ := getLatency(t, a, rng+"&target=AS38800+127.0.0.2", ""); code != http.StatusUnauthorized {
		t.Errorf("member target without a token: %d, want 401", code)
	}
	code, body = getLatency(t, a, rng+"&target=AS38800+127.0.0.2", testToken)
	if code != http.StatusOK || len(body.Targets) != 1 || body.Targets[0].Stats.Received != 300 {
		t.Errorf("member target with a token: %d %+v", code, body.Targets)
	}
	if code, _ := getLatency(t, a, rng, testToken); code != http.StatusOK {
		t.Errorf("with a token: %d", code)
	}
	if code, _ := getLatency(t, a, rng+"&target=nowhere", ""); code != http.StatusBadRequest {
		t.Errorf("unknown target: %d, want 400", code)
	}
	if code, _ := getLatency(t, a, "from=yesterday", ""); code != http.StatusBadRequest {
		t.Errorf("bad from: %d, want 400", code)
	}
}

func TestMapFeedMedianLatency(t *testing.T) {
	a, start := latencyAPI(t)
	feed := a.buildMapFeed(context.Background(), start.AddDate(0, 1, 0)) // last full month: the data's
	props := feed["properties"].(gin.H)
	got, ok := props["median_latency_ms"].(float64)
	// IXP-path targets: apia-ixp (600 answers around 2 ms) and the member
	// (300 around 0.5 ms): the median is near 2 ms.
	if !ok || math.Abs(got-2.0)/2.0 > 0.03 {
		t.Errorf("median_latency_ms = %v, want about 2", props["median_latency_ms"])
	}
}

func TestLatencyLiveBin(t *testing.T) {
	a, start := latencyAPI(t)
	live := analytics.NewLatencyBin(start.Add(2*analytics.BinSize), "apia-ixp", 100, []float64{4, 4, 4, 4})
	a.deps.LatencyLive = func(name string) (analytics.LatencyBin, bool) {
		if name == "apia-ixp" {
			return live, true
		}
		return analytics.LatencyBin{}, false
	}
	rng := "from=" + start.Format(time.RFC3339) + "&to=" + start.Add(time.Hour).Format(time.RFC3339)
	code, body := getLatency(t, a, rng, "")
	if code != http.StatusOK {
		t.Fatalf("status %d", code)
	}
	ixp := body.Targets[0]
	if ixp.Stats.Sent != 700 || ixp.Stats.Received != 604 || len(ixp.Series) != 3 || ixp.Stats.MaxMs != 4 {
		t.Errorf("with the live bin: %+v, %d points", ixp.Stats, len(ixp.Series))
	}
	// Outside the range, it is left out.
	rng = "from=" + start.Format(time.RFC3339) + "&to=" + start.Add(2*analytics.BinSize).Format(time.RFC3339)
	if _, body := getLatency(t, a, rng, ""); body.Targets[0].Stats.Sent != 600 {
		t.Errorf("live bin outside the range counted: %+v", body.Targets[0].Stats)
	}
}
