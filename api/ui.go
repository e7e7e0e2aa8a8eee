package api

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"fmt"
	"io/fs"
	"mime"
	"net/http"
	"path"
	"strconv"
	"strings"
	"sync"

	"github.com/gin-gonic/gin"
)

// The dashboard: one HTML shell at / and its assets (plain ES modules, CSS
// and the vendored ECharts bundle, see ui/vendor.sh) under /ui/. The shell
// asks /api/v1/ui/config first and fetches member-level data only with a
// token.
//
//go:embed ui/index.html ui/assets
var uiFiles embed.FS

// assetsPlaceholder in index.html stands for the versioned asset prefix.
const assetsPlaceholder = "%ASSETS%"

// Cache rules: versioned asset URLs never change; the shell and
// unversioned URLs are checked every time.
const (
	cacheForever = "public, max-age=31536000, immutable"
	cacheCheck   = "no-cache"
)

// uiCSP keeps the dashboard to its own origin. Styles may be inline:
// ECharts sets them on the elements it draws.
const uiCSP = "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data: blob:; " +
	"connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"

// uiAssets are the embedded dashboard files.
type uiAssets struct {
	// version is a hash of every asset: the prefix /ui/<version>/ that
	// the shell links to, so that assets can be cached for good.
	version string
	index   []byte
	files   fs.FS

	mu      sync.Mutex
	gzipped map[string][]byte
}

// newUIAssets reads the embedded files (memory only, no I/O).
func newUIAssets() (*uiAssets, error) {
	files, err := fs.Sub(uiFiles, "ui/assets")
	if err != nil {
		return nil, fmt.Errorf("dashboard assets: %w", err)
	}
	h := sha256.New()
	err = fs.WalkDir(files, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := fs.ReadFile(files, p)
		if err != nil {
			return err
		}
		h.Write(fmt.Appendf(nil, "%s\x00%d\x00", p, len(b)))
		h.Write(b)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("dashboard assets: %w", err)
	}
	index, err := uiFiles.ReadFile("ui/index.html")
	if err != nil {
		return nil, fmt.Errorf("dashboard shell: %w", err)
	}
	u := &uiAssets{version: hex.EncodeToString(h.Sum(nil))[:16], files: files, gzipped: map[string][]byte{}}
	u.index = bytes.ReplaceAll(index, []byte(assetsPlaceholder), []byte("/ui/"+u.version))
	return u, nil
}

// uiContentTypes are the types of the files the dashboard ships, fixed
// here rather than read from the system's MIME tables.
var uiContentTypes = map[string]string{
	".html": "text/html; charset=utf-8",
	".js":   "text/javascript; charset=utf-8",
	".css":  "text/css; charset=utf-8",
	".svg":  "image/svg+xml",
	".txt":  "text/plain; charset=utf-8",
	".json": "application/json",
	".png":  "image/png",
}

func uiContentType(name string) string {
	ext := path.Ext(name)
	if t, ok := uiContentTypes[ext]; ok {
		return t
	}
	if t := mime.TypeByExtension(ext); t != "" {
		return t
	}
	return "application/octet-stream"
}

// compressible reports whether an asset is worth sending gzipped.
func compressible(contentType string, size int) bool {
	return size > 1024 && (strings.HasPrefix(contentType, "text/") || contentType == "image/svg+xml" || contentType == "application/json")
}

// gzip returns the gzipped asset, compressing it on first use.
func (u *uiAssets) gzip(name string, b []byte) []byte {
	u.mu.Lock()
	defer u.mu.Unlock()
	if z, ok := u.gzipped[name]; ok {
		return z
	}
	var buf bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&buf, gzip.BestCompression) // the level is valid
	_, _ = zw.Write(b)                                       // writes to memory do not fail
	_ = zw.Close()
	u.gzipped[name] = buf.Bytes()
	return u.gzipped[name]
}

// uiIndex serves the dashboard's shell.
func (a *Component) uiIndex(c *gin.Context) {
	a.serveUI(c, "index.html", a.ui.index, cacheCheck)
}

// uiAsset serves /ui/<version>/<file> for good and /ui/<file> with a check
// each time; anything else is a 404.
func (a *Component) uiAsset(c *gin.Context) {
	name := strings.TrimPrefix(c.Param("filepath"), "/")
	cache := cacheCheck
	if v, rest, ok := strings.Cut(name, "/"); ok && v == a.ui.version {
		name, cache = rest, cacheForever
	}
	var b []byte
	var err error
	if fs.ValidPath(name) && name != "." {
		b, err = fs.ReadFile(a.ui.files, name)
	} else {
		err = fs.ErrNotExist
	}
	if err != nil {
		c.AbortWithStatusJSON(http.StatusNotFound, errorBody{Error: errorDetail{Code: "not_found", Message: "no such dashboard file: " + c.Request.URL.Path}})
		return
	}
	a.serveUI(c, name, b, cache)
}

// serveUI writes one dashboard file with its type, cache rule and
// security headers, gzipped when the client takes it.
func (a *Component) serveUI(c *gin.Context, name string, b []byte, cache string) {
	ct := uiContentType(name)
	h := c.Writer.Header()
	h.Set("Cache-Control", cache)
	h.Set("X-Content-Type-Options", "nosniff")
	if strings.HasPrefix(ct, "text/html") {
		h.Set("Content-Security-Policy", uiCSP)
		h.Set("X-Frame-Options", "DENY")
		h.Set("Referrer-Policy", "no-referrer")
	}
	if cache == cacheCheck {
		etag := `"` + a.ui.version + `"`
		h.Set("ETag", etag)
		if c.GetHeader("If-None-Match") == etag {
			c.Status(http.StatusNotModified)
			return
		}
	}
	if compressible(ct, len(b)) {
		h.Add("Vary", "Accept-Encoding")
		if acceptsGzip(c.GetHeader("Accept-Encoding")) {
			h.Set("Content-Encoding", "gzip")
			b = a.ui.gzip(name, b)
		}
	}
	c.Data(http.StatusOK, ct, b)
}

// acceptsGzip reports whether an Accept-Encoding header takes gzip.
func acceptsGzip(header string) bool {
	for part := range strings.SplitSeq(header, ",") {
		enc, params, _ := strings.Cut(part, ";")
		if !strings.EqualFold(strings.TrimSpace(enc), "gzip") {
			continue
		}
		q, ok := strings.CutPrefix(strings.ReplaceAll(params, " ", ""), "q=")
		if !ok {
			return true
		}
		f, err := strconv.ParseFloat(q, 64)
		return err != nil || f > 0
	}
	return false
}

// uiConfig answers GET /api/v1/ui/config: what the dashboard needs before
// it asks anything else: the exchange, the time zone to show, whether the
// looking glass needs a token and which parts this ixpd serves, so that
// it never fires a request bound to fail, and which of the exchange's
// route servers answers (the footer shows it).
func (a *Component) uiConfig(c *gin.Context) {
	ex := a.deps.Exchange
	tz := ex.TimeZone
	if tz == "" {
		tz = "UTC"
	}
	store := a.deps.Store != nil
	c.Header("Cache-Control", "no-cache")
	c.JSON(http.StatusOK, gin.H{
		"name": ex.Name, "name_long": ex.NameLong, "country": ex.Country, "city": ex.City,
		"time_zone": tz, "public_looking_glass": a.cfg.PublicLookingGlass, "tokens": len(a.tokens.Load().hashes) > 0,
		"version": a.deps.Version, "instance": a.deps.Instance,
		"features": gin.H{
			"route_server": a.deps.RouteServer != nil,
			"traffic":      store,
			"latency":      store && a.deps.LatencyTargets != nil,
			"ixf":          a.deps.IXF != nil,
		},
	})
}
