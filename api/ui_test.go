package api

import (
	"bytes"
	"compress/gzip"
	"io"
	"maps"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func uiGet(t *testing.T, h http.Handler, target string, header ...string) *httptest.ResponseRecorder {
	t.Helper()
	req := httptest.NewRequest("GET", target, nil)
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}

// References a page or module makes that the browser loads.
var (
	htmlRef   = regexp.MustCompile(`<(?:script|link|img)\b[^>]*?\b(?:src|href)="([^"]+)"`)
	anyHref   = regexp.MustCompile(`\b(?:src|href)\s*=\s*["']([^"']+)["']`)
	jsImport  = regexp.MustCompile(`(?m)^\s*(?:import|export)\b[^'"]*?\bfrom\s*['"]([^'"]+)['"]|^\s*import\s*['"]([^'"]+)['"]|\bimport\(\s*['"]([^'"]+)['"]\s*\)`)
	cssURL    = regexp.MustCompile(`url\(\s*['"]?([^'")]+)['"]?\s*\)`)
	offOrigin = regexp.MustCompile(`(?i)(?:\b(?:src|href|action)\s*=\s*["']?|\bimport\s*\(?\s*["']|\bfrom\s*["']|\bfetch\(\s*["']|\burl\(\s*["']?|\bimportScripts\(\s*["']|\bnew\s+(?:Worker|EventSource|WebSocket)\(\s*["'])(?:https?:|wss?:)?//`)
	anyURL    = regexp.MustCompile(`(?i)\b(?:https?|wss?)://[^\s"'<>)]*`)
)

// svgNamespaces are the URLs an SVG file must name; they are not fetched.
var svgNamespaces = []string{"http://www.w3.org/2000/svg", "http://www.w3.org/1999/xlink"}

func TestUIShellAndAssets(t *testing.T) {
	h := newTestAPI(t, Configuration{}, nil).Handler()
	rec := uiGet(t, h, "/")
	if rec.Code != 200 || rec.Header().Get("Content-Type") != "text/html; charset=utf-8" {
		t.Fatalf("GET /: %d %q", rec.Code, rec.Header().Get("Content-Type"))
	}
	if cc := rec.Header().Get("Cache-Control"); cc != "no-cache" {
		t.Errorf("GET /: Cache-Control %q, want no-cache", cc)
	}
	if csp := rec.Header().Get("Content-Security-Policy"); !strings.Contains(csp, "default-src 'self'") {
		t.Errorf("GET /: Content-Security-Policy %q", csp)
	}
	shell := rec.Body.String()
	if strings.Contains(shell, assetsPlaceholder) {
		t.Errorf("the shell still holds %s", assetsPlaceholder)
	}
	if etag := rec.Header().Get("ETag"); etag == "" || uiGet(t, h, "/", "If-None-Match", etag).Code != http.StatusNotModified {
		t.Errorf("GET / with If-None-Match %q: not 304", etag)
	}
	checkOnOrigin(t, "/", shell)

	// Crawl from the shell: every reference of the shell, of each module
	// and of each style sheet is served with the right type.
	base, _ := url.Parse("http://ixpd.test/")
	type ref struct{ from, to string }
	var queue []ref
	for _, m := range htmlRef.FindAllStringSubmatch(shell, -1) {
		queue = append(queue, ref{"/", m[1]})
	}
	seen := map[string]bool{}
	var modules int
	for len(queue) > 0 {
		r := queue[0]
		queue = queue[1:]
		from, _ := url.Parse(r.from)
		u := base.ResolveReference(from).ResolveReference(mustParseURL(t, r.to))
		if u.Host != base.Host {
			t.Errorf("%s refers to another host: %s", r.from, r.to)
			continue
		}
		if seen[u.Path] {
			continue
		}
		seen[u.Path] = true
		rec := uiGet(t, h, u.RequestURI())
		if rec.Code != 200 {
			t.Errorf("%s (from %s): %d", u.Path, r.from, rec.Code)
			continue
		}
		if got, want := rec.Header().Get("Content-Type"), uiContentType(u.Path); got != want {
			t.Errorf("%s: Content-Type %q, want %q", u.Path, got, want)
		}
		if cc := rec.Header().Get("Cache-Control"); cc != cacheForever {
			t.Errorf("%s: Cache-Control %q, want %q (the shell links versioned URLs)", u.Path, cc, cacheForever)
		}
		body := rec.Body.String()
		vendored := strings.Contains(u.Path, "/vendor/")
		if vendored {
			if m := offOrigin.FindString(body); m != "" {
				t.Errorf("%s loads from another origin: %q", u.Path, m)
			}
		} else {
			checkOnOrigin(t, u.Path, body)
		}
		switch path.Ext(u.Path) {
		case ".js":
			if vendored {
				continue
			}
			modules++
			for _, m := range jsImport.FindAllStringSubmatch(body, -1) {
				queue = append(queue, ref{u.Path, m[1] + m[2] + m[3]})
			}
		case ".css":
			for _, m := range cssURL.FindAllStringSubmatch(body, -1) {
				if !strings.HasPrefix(m[1], "data:") {
					queue = append(queue, ref{u.Path, m[1]})
				}
			}
		}
	}
	if modules < 10 {
		t.Errorf("crawled %d modules; the dashboard has more (%v)", modules, seen)
	}
	for _, want := range []string{"/echarts.min.js", "/app.css", "/app.js", "/icon.svg", "/js/pages/overview.js"} {
		if !slices.ContainsFunc(slices.Collect(maps.Keys(seen)), func(p string) bool { return strings.HasSuffix(p, want) }) {
			t.Errorf("nothing served ends in %s (%v)", want, seen)
		}
	}
}

// checkOnOrigin fails when ixpd's own files name any URL beyond the SVG
// namespaces: they must work without internet access.
func checkOnOrigin(t *testing.T, name, body string) {
	t.Helper()
	for _, u := range anyURL.FindAllString(body, -1) {
		if !slices.Contains(svgNamespaces, u) {
			t.Errorf("%s names %s: the dashboard must not reach beyond ixpd", name, u)
		}
	}
	for _, m := range anyHref.FindAllStringSubmatch(body, -1) {
		if strings.HasPrefix(m[1], "//") {
			t.Errorf("%s refers to another host: %s", name, m[1])
		}
	}
}

func mustParseURL(t *testing.T, s string) *url.URL {
	t.Helper()
	u, err := url.Parse(s)
	if err != nil {
		t.Fatalf("reference %q: %v", s, err)
	}
	return u
}

func TestUIAssetRules(t *testing.T) {
	a := newTestAPI(t, Configuration{}, nil)
	h := a.Handler()
	v := a.ui.version
	tests := []struct {
		name, path  string
		wantCode    int
		wantType    string
		wantCaching string
	}{
		{name: "versioned module", path: "/ui/" + v + "/app.js", wantCode: 200, wantType: "text/javascript; charset=utf-8", wantCaching: cacheForever},
		{name: "unversioned module", path: "/ui/app.js", wantCode: 200, wantType: "text/javascript; charset=utf-8", wantCaching: cacheCheck},
		{name: "style sheet", path: "/ui/" + v + "/app.css", wantCode: 200, wantType: "text/css; charset=utf-8", wantCaching: cacheForever},
		{name: "icon", path: "/ui/" + v + "/icon.svg", wantCode: 200, wantType: "image/svg+xml", wantCaching: cacheForever},
		{name: "licence", path: "/ui/" + v + "/vendor/LICENSE-echarts.txt", wantCode: 200, wantType: "text/plain; charset=utf-8", wantCaching: cacheForever},
		{name: "unknown file", path: "/ui/nope.js", wantCode: 404, wantType: "application/json; charset=utf-8"},
		{name: "unknown versioned file", path: "/ui/" + v + "/nope.js", wantCode: 404, wantType: "application/json; charset=utf-8"},
		{name: "old version", path: "/ui/0123456789abcdef/app.js", wantCode: 404, wantType: "application/json; charset=utf-8"},
		{name: "directory", path: "/ui/js/", wantCode: 404, wantType: "application/json; charset=utf-8"},
		{name: "root of /ui/", path: "/ui/", wantCode: 404, wantType: "application/json; charset=utf-8"},
		{name: "shell under /ui/ is not there", path: "/ui/index.html", wantCode: 404, wantType: "application/json; charset=utf-8"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := uiGet(t, h, tt.path)
			got := []string{http.StatusText(rec.Code), rec.Header().Get("Content-Type"), rec.Header().Get("Cache-Control")}
			want := []string{http.StatusText(tt.wantCode), tt.wantType, tt.wantCaching}
			if diff := cmp.Diff(got, want); diff != "" {
				t.Errorf("GET %s: status, type, caching (-got +want):\n%s", tt.path, diff)
			}
			if rec.Header().Get("X-Content-Type-Options") != "nosniff" && rec.Code == 200 {
				t.Errorf("GET %s: no X-Content-Type-Options: nosniff", tt.path)
			}
		})
	}

	plain := uiGet(t, h, "/ui/"+v+"/vendor/echarts.min.js")
	zipped := uiGet(t, h, "/ui/"+v+"/vendor/echarts.min.js", "Accept-Encoding", "br, gzip")
	if zipped.Header().Get("Content-Encoding") != "gzip" || zipped.Body.Len() >= plain.Body.Len() {
		t.Fatalf("gzip: %q, %d bytes for %d", zipped.Header().Get("Content-Encoding"), zipped.Body.Len(), plain.Body.Len())
	}
	zr, err := gzip.NewReader(zipped.Body)
	if err != nil {
		t.Fatal(err)
	}
	unzipped, err := io.ReadAll(zr)
	if err != nil || !bytes.Equal(unzipped, plain.Body.Bytes()) {
		t.Errorf("gzipped bundle differs from the plain one (%v)", err)
	}
}

func TestAcceptsGzip(t *testing.T) {
	for header, want := range map[string]bool{
		"":                     false,
		"gzip":                 true,
		"gzip, deflate, br":    true,
		"br;q=1.0, gzip;q=0.8": true,
		"GZIP":                 true,
		"gzip;q=0":             false,
		"gzip; q=0.0":          false,
		"deflate":              false,
		"x-gzip2":              false,
	} {
		if got := acceptsGzip(header); got != want {
			t.Errorf("acceptsGzip(%q) = %v, want %v", header, got, want)
		}
	}
}

func TestUIConfig(t *testing.T) {
	a := newTestAPI(t, Configuration{Tokens: []Token{{Name: "noc", SHA256: testTokenHash()}}}, nil)
	code, body := do(t, a.Handler(), "GET", "/api/v1/ui/config", "")
	want := map[string]any{"name": "", "name_long": "", "country": "", "city": "", "time_zone": "UTC", "public_looking_glass": false,
		"tokens": true, "version": "test",
		"instance": map[string]any{"name": "", "role": "", "collects_flows": false, "probes_latency": false, "records_sessions": false},
		"features": map[string]any{"route_server": true, "traffic": false, "latency": false, "ixf": false}}
	if diff := cmp.Diff(body, want); code != 200 || diff != "" {
		t.Errorf("GET /api/v1/ui/config: %d (-got +want):\n%s", code, diff)
	}

	b := newTestAPI(t, Configuration{PublicLookingGlass: true}, nil)
	b.deps.Exchange = Exchange{Name: "SIXP", NameLong: "Samoa Internet Exchange Point", Country: "WS", City: "Apia", TimeZone: "Pacific/Apia"}
	b.deps.Store = memoryStore(t)
	b.deps.LatencyTargets = func() []LatencyTarget { return nil }
	_, body = do(t, b.Handler(), "GET", "/api/v1/ui/config", "")
	got := map[string]any{"name": body["name"], "country": body["country"], "time_zone": body["time_zone"],
		"public_looking_glass": body["public_looking_glass"], "tokens": body["tokens"], "features": body["features"]}
	want = map[string]any{"name": "SIXP", "country": "WS", "time_zone": "Pacific/Apia", "public_looking_glass": true, "tokens": false,
		"features": map[string]any{"route_server": true, "traffic": true, "latency": true, "ixf": false}}
	if diff := cmp.Diff(got, want); diff != "" {
		t.Errorf("configured exchange (-got +want):\n%s", diff)
	}
}
