package api

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/ixpd/ixpd/analytics/duckdb"
	"github.com/ixpd/ixpd/flow/collector"
	"github.com/ixpd/ixpd/routeserver"
	"github.com/ixpd/ixpd/routeserver/members"
)

const testToken = "s3cret-token"

// testTokenHash is the config entry's hash of testToken.
func testTokenHash() string {
	sum := sha256.Sum256([]byte(testToken))
	return hex.EncodeToString(sum[:])
}

func freePort(t *testing.T) uint16 {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := uint16(ln.Addr().(*net.TCPAddr).Port)
	if err := ln.Close(); err != nil {
		t.Fatal(err)
	}
	return port
}

// newTestAPI starts a real route server with one configured member (which
// never connects) and builds the API on it.
func newTestAPI(t *testing.T, cfg Configuration, reload func(context.Context) error) *Component {
	t.Helper()
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	reg := prometheus.NewRegistry()
	rsCfg := routeserver.DefaultConfiguration()
	rsCfg.ASN = 64512
	rsCfg.RouterID = netip.MustParseAddr("127.0.0.1")
	rsCfg.Listen = routeserver.ListenAddresses{netip.AddrPortFrom(netip.MustParseAddr("127.0.0.1"), freePort(t))}
	rsCfg.Passive = true
	set := &members.Set{Members: []members.Member{{ASN: 38800, Name: "Example A", Addresses: []members.Address{
		{Family: members.IPv4, IP: netip.MustParseAddr("127.0.0.2"), RouteServer: true, MaxPrefix: 10}}}}}
	rs := startRouteServer(t, logger, reg, rsCfg, set)
	if cfg.Listen == "" {
		cfg.Listen = "127.0.0.1:0"
	}
	a, err := New(logger, reg, cfg, Dependencies{RouteServer: rs, Reload: reload, Gatherer: reg, Version: "test"})
	if err != nil {
		t.Fatal(err)
	}
	return a
}

func do(t *testing.T, h http.Handler, method, path, token string) (int, map[string]any) {
	t.Helper()
	req := httptest.NewRequest(method, path, nil)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	var body map[string]any
	if strings.HasPrefix(rec.Header().Get("Content-Type"), "application/json") {
		if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil {
			t.Fatalf("%s %s: body is not JSON: %v: %s", method, path, err, rec.Body.String())
		}
	}
	return rec.Code, body
}

func TestEndpoints(t *testing.T) {
	var reloads int
	reloadErr := error(nil)
	a := newTestAPI(t, Configuration{Tokens: []Token{{Name: "noc", SHA256: testTokenHash()}}}, func(context.Context) error {
		reloads++
		return reloadErr
	})
	h := a.Handler()
	tests := []struct {
		name      string
		method    string
		path      string
		token     string
		wantCode  int
		wantError string // error.code, "" for success
		wantInMsg string
	}{
		{name: "health", method: "GET", path: "/healthz", wantCode: 200},
		{name: "openapi", method: "GET", path: "/api/v1/openapi.json", wantCode: 200},
		{name: "neighbors without token", method: "GET", path: "/api/v1/routeserver/neighbors", wantCode: 401, wantError: "unauthorized"},
		{name: "neighbors wrong token", method: "GET", path: "/api/v1/routeserver/neighbors", token: "guess", wantCode: 401, wantError: "unauthorized"},
		{name: "neighbors", method: "GET", path: "/api/v1/routeserver/neighbors", token: testToken, wantCode: 200},
		{name: "routes", method: "GET", path: "/api/v1/routeserver/neighbors/127.0.0.2/routes/received", token: testToken, wantCode: 200},
		{name: "bad kind", method: "GET", path: "/api/v1/routeserver/neighbors/127.0.0.2/routes/stolen", token: testToken, wantCode: 400, wantError: "bad_request", wantInMsg: "kind"},
		{name: "bad id", method: "GET", path: "/api/v1/routeserver/neighbors/rs1/routes/received", token: testToken, wantCode: 400, wantError: "bad_request", wantInMsg: "id"},
		{name: "unknown neighbor", method: "GET", path: "/api/v1/routeserver/neighbors/127.0.0.9/routes/filtered", token: testToken, wantCode: 404, wantError: "not_found"},
		{name: "lookup without prefix", method: "GET", path: "/api/v1/routeserver/lookup", token: testToken, wantCode: 400, wantError: "bad_request", wantInMsg: "prefix"},
		{name: "lookup bad prefix", method: "GET", path: "/api/v1/routeserver/lookup?prefix=16.0.0.0/33", token: testToken, wantCode: 400, wantError: "bad_request", wantInMsg: "prefix"},
		{name: "lookup", method: "GET", path: "/api/v1/routeserver/lookup?prefix=16.0.0.1", token: testToken, wantCode: 200},
		{name: "reasons", method: "GET", path: "/api/v1/routeserver/reasons", token: testToken, wantCode: 200},
		{name: "reload without token", method: "POST", path: "/api/v1/routeserver/reload", wantCode: 401, wantError: "unauthorized"},
		{name: "reload", method: "POST", path: "/api/v1/routeserver/reload", token: testToken, wantCode: 200},
		{name: "reload GET", method: "GET", path: "/api/v1/routeserver/reload", token: testToken, wantCode: 405, wantError: "method_not_allowed"},
		{name: "unknown path", method: "GET", path: "/api/v1/nothing", wantCode: 404, wantError: "not_found"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, body := do(t, h, tt.method, tt.path, tt.token)
			if code != tt.wantCode {
				t.Fatalf("status %d, want %d (body %v)", code, tt.wantCode, body)
			}
			e, _ := body["error"].(map[string]any)
			if tt.wantError == "" {
				if e != nil {
					t.Fatalf("unexpected error %v", e)
				}
				return
			}
			if e == nil || e["code"] != tt.wantError {
				t.Fatalf("error %v, want code %q", body, tt.wantError)
			}
			if msg, _ := e["message"].(string); !strings.Contains(msg, tt.wantInMsg) {
				t.Errorf("message %q does not name %q", msg, tt.wantInMsg)
			}
		})
	}
	if reloads != 1 {
		t.Errorf("reload called %d times, want 1", reloads)
	}
	reloadErr = errors.New("/member_list/0/asnum: 0 is reserved")
	code, body := do(t, h, "POST", "/api/v1/routeserver/reload", testToken)
	if e, _ := body["error"].(map[string]any); code != 422 || e["code"] != "invalid_members_file" || !strings.Contains(e["message"].(string), "asnum") {
		t.Errorf("failed reload: %d %v", code, body)
	}
}

func TestNeighborsBody(t *testing.T) {
	a := newTestAPI(t, Configuration{PublicLookingGlass: true}, nil)
	code, body := do(t, a.Handler(), "GET", "/api/v1/routeserver/neighbors", "")
	if code != 200 {
		t.Fatalf("status %d: %v", code, body)
	}
	ns := body["neighbors"].([]any)
	if len(ns) != 1 {
		t.Fatalf("neighbors %v, want one", ns)
	}
	n := ns[0].(map[string]any)
	got := map[string]any{"id": n["id"], "asn": n["asn"], "description": n["description"], "max_prefix": n["max_prefix"], "routes": n["routes"]}
	want := map[string]any{"id": "127.0.0.2", "asn": 38800.0, "description": "Example A", "max_prefix": 10.0,
		"routes": map[string]any{"received": 0.0, "accepted": 0.0, "filtered": 0.0, "exported": 0.0}}
	if diff := cmp.Diff(got, want); diff != "" {
		t.Errorf("neighbor (-got +want):\n%s", diff)
	}
	if st := n["state"]; st == "established" || st == "" {
		t.Errorf("state %v for a member that never connected", st)
	}
}

// TestOpenAPIMatchesRouter keeps the OpenAPI document and the router in
// step: every route is documented and every documented operation exists.
func TestOpenAPIMatchesRouter(t *testing.T) {
	a := newTestAPI(t, Configuration{}, nil)
	var routes []string
	for _, r := range a.router().Routes() {
		// The dashboard's embedded files are not API operations; the
		// document mentions them under "/".
		if r.Path == "/ui/*filepath" {
			continue
		}
		path := r.Path
		for _, seg := range strings.Split(path, "/") {
			if strings.HasPrefix(seg, ":") {
				path = strings.Replace(path, seg, "{"+seg[1:]+"}", 1)
			}
		}
		routes = append(routes, r.Method+" "+path)
	}
	var doc struct {
		Paths map[string]map[string]json.RawMessage `json:"paths"`
	}
	if err := json.Unmarshal(openAPIDocument, &doc); err != nil {
		t.Fatalf("openapi.json: %v", err)
	}
	var documented []string
	for path, ops := range doc.Paths {
		for method := range ops {
			documented = append(documented, strings.ToUpper(method)+" "+path)
		}
	}
	slices.Sort(routes)
	slices.Sort(documented)
	if diff := cmp.Diff(routes, documented); diff != "" {
		t.Errorf("router vs OpenAPI (-router +document):\n%s", diff)
	}
}

func TestMetrics(t *testing.T) {
	a := newTestAPI(t, Configuration{PublicLookingGlass: true}, nil)
	do(t, a.Handler(), "GET", "/api/v1/routeserver/neighbors", "")
	req := httptest.NewRequest("GET", "/metrics", nil)
	rec := httptest.NewRecorder()
	a.Handler().ServeHTTP(rec, req)
	for _, want := range []string{
		`ixpd_api_requests_total{code="200",route="/api/v1/routeserver/neighbors"} 1`,
		`ixpd_routeserver_neighbor_up{asn="38800",neighbor="127.0.0.2"} 0`,
		`ixpd_routeserver_neighbor_routes{asn="38800",kind="received",neighbor="127.0.0.2"} 0`,
	} {
		if !strings.Contains(rec.Body.String(), want) {
			t.Errorf("metrics lack %q", want)
		}
	}
}

func TestStartStop(t *testing.T) {
	a := newTestAPI(t, Configuration{}, nil)
	ctx := context.Background()
	if err := a.Start(ctx); err != nil {
		t.Fatal(err)
	}
	resp, err := http.Get("http://" + a.Addr().String() + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	_ = resp.Body.Close() // the status code is all this test reads
	if resp.StatusCode != 200 {
		t.Errorf("healthz %d", resp.StatusCode)
	}
	if err := a.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := http.Get("http://" + a.Addr().String() + "/healthz"); err == nil {
		t.Error("still serving after Stop")
	}
}

func TestPprof(t *testing.T) {
	a := newTestAPI(t, Configuration{Pprof: true, Tokens: []Token{{Name: "noc", SHA256: testTokenHash()}}}, nil)
	if code, _ := do(t, a.Handler(), "GET", "/debug/pprof/", ""); code != 401 {
		t.Errorf("pprof without a token: %d", code)
	}
	if code, _ := do(t, a.Handler(), "GET", "/debug/pprof/heap?debug=1", testToken); code != 200 {
		t.Errorf("heap profile: %d", code)
	}
	off := newTestAPI(t, Configuration{Tokens: []Token{{Name: "noc", SHA256: testTokenHash()}}}, nil)
	if code, _ := do(t, off.Handler(), "GET", "/debug/pprof/heap", testToken); code != 404 {
		t.Errorf("pprof off: %d", code)
	}
}

func TestFlowExporters(t *testing.T) {
	cfg := Configuration{Tokens: []Token{{Name: "noc", SHA256: testTokenHash()}}}
	a := newTestAPI(t, cfg, nil)
	if code, body := do(t, a.Handler(), "GET", "/api/v1/flow/exporters", testToken); code != 503 {
		t.Errorf("without a collector: %d %v", code, body)
	}
	store, err := duckdb.New(slog.New(slog.NewTextHandler(io.Discard, nil)), prometheus.NewRegistry(), duckdb.Configuration{Path: ":memory:"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = store.Close() })
	ccfg := collector.DefaultConfiguration()
	ccfg.SpoolDir = t.TempDir()
	ccfg.SFlowListen = "127.0.0.1:0"
	col, err := collector.New(slog.New(slog.NewTextHandler(io.Discard, nil)), prometheus.NewRegistry(), ccfg, collector.Dependencies{Writer: store})
	if err != nil {
		t.Fatal(err)
	}
	a.deps.Flows = col
	if code, _ := do(t, a.Handler(), "GET", "/api/v1/flow/exporters", ""); code != 401 {
		t.Errorf("without a token: %d", code)
	}
	code, body := do(t, a.Handler(), "GET", "/api/v1/flow/exporters", testToken)
	if es, ok := body["exporters"].([]any); code != 200 || !ok || len(es) != 0 {
		t.Errorf("exporters: %d %v", code, body)
	}
}

func TestIXFExport(t *testing.T) {
	a := newTestAPI(t, Configuration{}, nil)
	if code, _ := do(t, a.Handler(), "GET", "/ixf/participants.json", ""); code != 503 {
		t.Errorf("without an export: %d", code)
	}
	a.deps.IXF = func(context.Context) ([]byte, error) { return []byte(`{"version":"1.0"}`), nil }
	req := httptest.NewRequest("GET", "/ixf/participants.json", nil)
	rec := httptest.NewRecorder()
	a.Handler().ServeHTTP(rec, req)
	if rec.Code != 200 || rec.Body.String() != `{"version":"1.0"}` || rec.Header().Get("Access-Control-Allow-Origin") != "*" {
		t.Errorf("export: %d %q %v", rec.Code, rec.Body.String(), rec.Header())
	}
}

func TestPublicRateLimit(t *testing.T) {
	a := newTestAPI(t, Configuration{PublicRate: 0.001, PublicBurst: 2}, nil)
	a.deps.IXF = func(context.Context) ([]byte, error) { return []byte(`{}`), nil }
	codes := []int{}
	for range 3 {
		code, _ := do(t, a.Handler(), "GET", "/ixf/participants.json", "")
		codes = append(codes, code)
	}
	if diff := cmp.Diff(codes, []int{200, 200, 429}); diff != "" {
		t.Errorf("status codes (-got +want):\n%s", diff)
	}
	// Another client has its own bucket; token-protected endpoints are not limited.
	req := httptest.NewRequest("GET", "/ixf/participants.json", nil)
	req.RemoteAddr = "198.51.100.9:4000"
	rec := httptest.NewRecorder()
	a.Handler().ServeHTTP(rec, req)
	if rec.Code != 200 {
		t.Errorf("another client: %d", rec.Code)
	}
}

func TestGracefulShutdownEndpoint(t *testing.T) {
	h := newTestAPI(t, Configuration{Tokens: []Token{{Name: "noc", SHA256: testTokenHash()}}}, nil).Handler()
	if code, _ := do(t, h, "POST", "/api/v1/routeserver/gshut?enabled=true", ""); code != http.StatusUnauthorized {
		t.Errorf("without a token: status %d, want 401", code)
	}
	code, body := do(t, h, "POST", "/api/v1/routeserver/gshut?enabled=maybe", testToken)
	if code != http.StatusBadRequest || !strings.Contains(fmt.Sprint(body), "enabled") {
		t.Errorf("enabled=maybe: status %d %v, want 400 naming enabled", code, body)
	}
	for _, on := range []bool{true, false} {
		code, body := do(t, h, "POST", fmt.Sprintf("/api/v1/routeserver/gshut?enabled=%v", on), testToken)
		if code != http.StatusOK || body["graceful_shutdown"] != on {
			t.Errorf("enabled=%v: status %d %v", on, code, body)
		}
		code, body = do(t, h, "GET", "/api/v1/routeserver/status", testToken)
		if code != http.StatusOK || body["graceful_shutdown"] != on || body["asn"] != float64(64512) {
			t.Errorf("status after enabled=%v: %d %v", on, code, body)
		}
	}
}

// startRouteServer starts a real route server for the test's life.
func startRouteServer(t *testing.T, logger *slog.Logger, reg prometheus.Registerer, cfg routeserver.Configuration, set *members.Set) *routeserver.Component {
	t.Helper()
	rs, err := routeserver.New(logger, reg, cfg, routeserver.Dependencies{Members: set})
	if err != nil {
		t.Fatal(err)
	}
	if err := rs.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = rs.Stop(context.Background()) })
	return rs
}
