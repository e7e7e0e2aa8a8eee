package api

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestInstance checks that every endpoint that describes this ixpd says
// which of the exchange's route servers answers.
func TestInstance(t *testing.T) {
	a := newTestAPI(t, Configuration{Tokens: []Token{{Name: "noc", SHA256: testTokenHash()}}}, nil)
	a.deps.Instance = Instance{Name: "rs2", Role: "secondary"}
	want := map[string]any{"name": "rs2", "role": "secondary", "collects_flows": false, "probes_latency": false, "records_sessions": false}
	for _, tc := range []struct {
		method, path string
	}{
		{"GET", "/healthz"},
		{"GET", "/api/v1/ui/config"},
		{"GET", "/api/v1/routeserver/status"},
		{"POST", "/api/v1/routeserver/gshut?enabled=false"},
	} {
		t.Run(tc.path, func(t *testing.T) {
			code, body := do(t, a.Handler(), tc.method, tc.path, testToken)
			if code != 200 {
				t.Fatalf("%s %s: status %d %v", tc.method, tc.path, code, body)
			}
			if diff := cmp.Diff(body["instance"], any(want)); diff != "" {
				t.Errorf("%s %s: instance (-got +want):\n%s", tc.method, tc.path, diff)
			}
		})
	}
	// The status keeps its own fields beside the instance.
	if _, body := do(t, a.Handler(), "GET", "/api/v1/routeserver/status", testToken); body["asn"] != float64(64512) || body["router_id"] != "127.0.0.1" {
		t.Errorf("status lost the route server's fields: %v", body)
	}
}
