package api

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/ixpd/ixpd/analytics/report"
)

// The report endpoint checks its parameters, wants a token and serves each
// format with its type; a month without data is a report that says so.
func TestMonthlyReportEndpoint(t *testing.T) {
	st := memoryStore(t)
	reg := prometheus.NewRegistry()
	var asked []string
	a, err := New(slog.New(slog.NewTextHandler(io.Discard, nil)), reg,
		Configuration{Listen: "127.0.0.1:0", Tokens: []Token{{Name: "noc", SHA256: testTokenHash()}}},
		Dependencies{Store: st, Gatherer: reg, Report: func(ctx context.Context, month string) (*report.Report, error) {
			asked = append(asked, month)
			return report.Build(ctx, st, report.Config{Exchange: report.Exchange{Name: "TEST-IX", Country: "WS"}}, month, time.Now())
		}})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, path, token string
		wantCode          int
		wantType          string
		wantIn            string
	}{
		{"no token", "/api/v1/reports/monthly/2026-09", "", 401, "application/json", "unauthorized"},
		{"html", "/api/v1/reports/monthly/2026-09", testToken, 200, "text/html", "No data for"},
		{"csv", "/api/v1/reports/monthly/2026-09?format=csv", testToken, 200, "text/csv", "section,name,key,value,unit"},
		{"json", "/api/v1/reports/monthly/2026-09?format=json", testToken, 200, "application/json", `"no_data": true`},
		{"bad month", "/api/v1/reports/monthly/2026-9", testToken, 400, "application/json", "month"},
		{"bad format", "/api/v1/reports/monthly/2026-09?format=pdf", testToken, 400, "application/json", `\"pdf\" is not html, csv or json`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req := httptest.NewRequest(http.MethodGet, tc.path, nil)
			if tc.token != "" {
				req.Header.Set("Authorization", "Bearer "+tc.token)
			}
			rec := httptest.NewRecorder()
			a.Handler().ServeHTTP(rec, req)
			if rec.Code != tc.wantCode || !strings.HasPrefix(rec.Header().Get("Content-Type"), tc.wantType) || !strings.Contains(rec.Body.String(), tc.wantIn) {
				t.Errorf("status %d type %q body %.300s; want %d %q with %q", rec.Code, rec.Header().Get("Content-Type"), rec.Body.String(), tc.wantCode, tc.wantType, tc.wantIn)
			}
		})
	}
	if len(asked) != 3 {
		t.Errorf("the report was built for %v, want three times (bad requests never reach it)", asked)
	}
}
