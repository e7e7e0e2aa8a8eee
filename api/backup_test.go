package api

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
)

// The backup endpoint wants a token and a POST, sends the copy the
// dependency makes with its length, closes it, and says when there is
// none to make.
func TestStoreBackupEndpoint(t *testing.T) {
	content := bytes.Repeat([]byte("DUCK backup "), 10000)
	path := filepath.Join(t.TempDir(), "copy.duckdb")
	if err := os.WriteFile(path, content, 0o600); err != nil {
		t.Fatal(err)
	}
	var opened []*os.File
	var fail error
	backup := func(context.Context) (*os.File, error) {
		if fail != nil {
			return nil, fail
		}
		f, err := os.Open(path)
		opened = append(opened, f)
		return f, err
	}
	newAPI := func(backup func(context.Context) (*os.File, error)) http.Handler {
		reg := prometheus.NewRegistry()
		cfg := DefaultConfiguration()
		cfg.Listen, cfg.Tokens = "127.0.0.1:0", []Token{{Name: "noc", SHA256: testTokenHash()}}
		a, err := New(slog.New(slog.NewTextHandler(io.Discard, nil)), reg, cfg, Dependencies{Gatherer: reg, Backup: backup})
		if err != nil {
			t.Fatal(err)
		}
		return a.Handler()
	}
	h := newAPI(backup)
	call := func(h http.Handler, method, token string) *httptest.ResponseRecorder {
		req := httptest.NewRequest(method, "/api/v1/store/backup", nil)
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		return rec
	}

	if rec := call(h, http.MethodPost, ""); rec.Code != http.StatusUnauthorized {
		t.Errorf("without a token: status %d, want 401", rec.Code)
	}
	if rec := call(h, http.MethodGet, testToken); rec.Code != http.StatusMethodNotAllowed {
		t.Errorf("GET: status %d, want 405", rec.Code)
	}
	if len(opened) != 0 {
		t.Fatalf("refused requests made %d copies", len(opened))
	}
	rec := call(h, http.MethodPost, testToken)
	if rec.Code != http.StatusOK || !bytes.Equal(rec.Body.Bytes(), content) {
		t.Fatalf("status %d, %d bytes; want 200 and the %d bytes of the copy", rec.Code, rec.Body.Len(), len(content))
	}
	if got := rec.Header().Get("Content-Length"); got != strconv.Itoa(len(content)) {
		t.Errorf("Content-Length %q, want %d", got, len(content))
	}
	if got := rec.Header().Get("Content-Disposition"); !strings.HasPrefix(got, `attachment; filename="ixpd-backup-`) {
		t.Errorf("Content-Disposition %q", got)
	}
	if len(opened) != 1 {
		t.Fatalf("%d copies made, want 1", len(opened))
	}
	if err := opened[0].Close(); !errors.Is(err, os.ErrClosed) {
		t.Errorf("the copy was not closed after it was sent (Close: %v)", err)
	}

	fail = errors.New("disk full")
	if rec := call(h, http.MethodPost, testToken); rec.Code != http.StatusInternalServerError || !strings.Contains(rec.Body.String(), `"internal"`) {
		t.Errorf("failed copy: status %d, body %s; want 500 and the error envelope", rec.Code, rec.Body.String())
	}
	if rec := call(newAPI(nil), http.MethodPost, testToken); rec.Code != http.StatusServiceUnavailable || !strings.Contains(rec.Body.String(), "not served") {
		t.Errorf("without a backup: status %d, body %s; want 503, not served", rec.Code, rec.Body.String())
	}
}
