// Package api is ixpd's HTTP API: the looking glass, operations, health,
// Prometheus metrics and the OpenAPI document that describes it all.
// gin stays inside this package; handlers call plain Go methods.
package api

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"os"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"golang.org/x/sync/errgroup"

	"github.com/ixpd/ixpd/analytics"
	"github.com/ixpd/ixpd/analytics/report"
	"github.com/ixpd/ixpd/flow/collector"
	"github.com/ixpd/ixpd/routeserver"
)

// Dependencies are the components the API serves.
type Dependencies struct {
	RouteServer *routeserver.Component
	// Exchange describes the exchange for the map feed.
	Exchange Exchange
	// Savings are the inputs of the savings estimate.
	Savings Savings
	// Store is the analytics store (nil: traffic endpoints answer 503).
	Store analytics.Store
	// Flows is the flow collector (nil when not running).
	Flows *collector.Component
	// IXF returns the exchange's IX-F Member Export (nil: not served).
	IXF func(context.Context) ([]byte, error)
	// LatencyTargets lists the latency probe targets (nil: none).
	LatencyTargets func() []LatencyTarget
	// LatencyLive returns a target's bin in progress, not stored yet
	// (nil, or false: none).
	LatencyLive func(target string) (analytics.LatencyBin, bool)
	// Reload re-reads the members file and applies it.
	Reload func(context.Context) error
	// Gatherer serves /metrics.
	Gatherer prometheus.Gatherer
	// Version is shown by /healthz.
	Version string
	// Instance says which of the exchange's route servers this is.
	Instance Instance
	// Report builds the monthly report of a month, YYYY-MM (nil: not
	// served).
	Report func(ctx context.Context, month string) (*report.Report, error)
	// Backup makes a consistent copy of the embedded analytics store and
	// returns it open for reading; the API sends it and closes it (nil:
	// not served, as for ClickHouse, which its own tools back up).
	Backup func(ctx context.Context) (*os.File, error)
}

// Component is the HTTP API.
type Component struct {
	logger    *slog.Logger
	cfg       Configuration
	deps      Dependencies
	tokens    atomic.Pointer[tokenChecker]
	savingsIn atomic.Pointer[Savings]
	metrics   *metrics
	handler   http.Handler
	mapCache  mapCache
	limiter   *limiter
	ui        *uiAssets

	srv *http.Server
	eg  errgroup.Group
	// Addr is the address the API listens on once started.
	addr net.Addr
	// bwSrv serves api.birdwatcher_listen; nil when it is off.
	bwSrv  *http.Server
	bwAddr net.Addr
	// certs serves api.tls; nil when the API serves plain HTTP.
	certs *certificates
}

type metrics struct {
	requests     *prometheus.CounterVec
	duration     *prometheus.HistogramVec
	authFailures prometheus.Counter
	rateLimited  prometheus.Counter
}

// New builds the API and its router; it does no I/O.
func New(logger *slog.Logger, reg prometheus.Registerer, cfg Configuration, deps Dependencies) (*Component, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	a := &Component{logger: logger.With("component", "api"), cfg: cfg, deps: deps}
	a.SetTokens(cfg.Tokens)
	a.SetSavings(deps.Savings)
	a.metrics = &metrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "ixpd_api_requests_total",
			Help: "HTTP requests by route and status code."}, []string{"route", "code"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "ixpd_api_request_duration_seconds",
			Help: "HTTP request duration by route.", Buckets: prometheus.DefBuckets}, []string{"route"}),
		authFailures: prometheus.NewCounter(prometheus.CounterOpts{Name: "ixpd_api_auth_failures_total",
			Help: "Requests refused for a missing or wrong token."}),
		rateLimited: prometheus.NewCounter(prometheus.CounterOpts{Name: "ixpd_api_rate_limited_total",
			Help: "Requests to public endpoints refused for going over the per-client rate."}),
	}
	if cfg.PublicRate > 0 {
		a.limiter = newLimiter(cfg.PublicRate, cfg.PublicBurst)
	}
	for _, c := range []prometheus.Collector{a.metrics.requests, a.metrics.duration, a.metrics.authFailures, a.metrics.rateLimited} {
		if err := reg.Register(c); err != nil {
			return nil, fmt.Errorf("register API metrics: %w", err)
		}
	}
	if cfg.TLS.Enabled() {
		a.certs = newCertificates(cfg.TLS)
		for _, c := range []prometheus.Collector{a.certs.reloads, a.certs.expiry} {
			if err := reg.Register(c); err != nil {
				return nil, fmt.Errorf("register API metrics: %w", err)
			}
		}
	}
	ui, err := newUIAssets()
	if err != nil {
		return nil, err
	}
	a.ui = ui
	a.handler = a.router()
	return a, nil
}

// SetTokens replaces the accepted bearer tokens (a config reload); the
// entries are checked by Configuration.Validate.
func (a *Component) SetTokens(tokens []Token) {
	t := newTokenChecker(tokens)
	a.tokens.Store(&t)
}

// SetSavings replaces the inputs of the savings estimate (a config
// reload); they are checked by Savings.Validate.
func (a *Component) SetSavings(s Savings) {
	a.savingsIn.Store(&s)
}

// Handler returns the API's HTTP handler (for tests and embedding).
func (a *Component) Handler() http.Handler { return a.handler }

// Addr is the listening address after Start.
func (a *Component) Addr() net.Addr { return a.addr }

func (a *Component) router() *gin.Engine {
	gin.SetMode(gin.ReleaseMode)
	r := gin.New()
	r.Use(gin.Recovery(), a.observe())
	r.HandleMethodNotAllowed = true
	r.NoRoute(func(c *gin.Context) {
		c.AbortWithStatusJSON(http.StatusNotFound, errorBody{Error: errorDetail{Code: "not_found", Message: "no such endpoint: " + c.Request.URL.Path}})
	})
	r.NoMethod(func(c *gin.Context) {
		c.AbortWithStatusJSON(http.StatusMethodNotAllowed, errorBody{Error: errorDetail{Code: "method_not_allowed", Message: c.Request.Method + " is not allowed here"}})
	})

	r.GET("/healthz", a.healthz)
	r.GET("/metrics", gin.WrapH(promhttp.HandlerFor(a.deps.Gatherer, promhttp.HandlerOpts{})))
	r.GET("/api/v1/openapi.json", a.openAPI)
	r.GET("/", a.uiIndex)
	r.GET("/ui/*filepath", a.uiAsset)
	r.GET("/api/v1/ui/config", a.uiConfig)

	lg := r.Group("/api/v1/routeserver")
	if !a.cfg.PublicLookingGlass {
		lg.Use(a.require())
	}
	lg.GET("/neighbors", a.neighbors)
	lg.GET("/neighbors/:id/routes/:kind", a.routes)
	lg.GET("/lookup", a.lookup)
	lg.GET("/reasons", a.reasons)
	lg.GET("/status", a.rsStatus)
	bw := r.Group("/birdwatcher")
	if !a.cfg.PublicLookingGlass {
		bw.Use(a.require())
	}
	a.birdwatcherRoutes(bw)
	r.POST("/api/v1/routeserver/reload", a.require(), a.reload)
	r.POST("/api/v1/routeserver/gshut", a.require(), a.gshut)
	r.GET("/api/v1/flow/exporters", a.require(), a.exporters)
	public := a.rateLimit()
	r.GET("/ixf/participants.json", public, a.ixf)
	r.GET("/api/v1/traffic", public, a.traffic)
	r.GET("/api/v1/traffic/summary", public, a.trafficSummary)
	r.GET("/api/v1/traffic/matrix", a.require(), a.matrix)
	r.GET("/api/v1/savings", public, a.savings)
	r.GET("/api/v1/map.geojson", public, a.mapFeed)
	r.GET("/api/v1/latency", public, a.latency)
	r.GET("/api/v1/domestic", a.require(), a.domestic)
	r.GET("/api/v1/reports/monthly/:month", a.require(), a.monthlyReport)
	r.POST("/api/v1/store/backup", a.require(), a.storeBackup)
	if a.cfg.Pprof {
		// Not in the OpenAPI document: a debugging aid, off by default.
		r.GET("/debug/pprof/*profile", a.require(), gin.WrapF(func(w http.ResponseWriter, req *http.Request) {
			switch strings.TrimPrefix(req.URL.Path, "/debug/pprof/") {
			case "profile":
				pprof.Profile(w, req)
			case "trace":
				pprof.Trace(w, req)
			default:
				pprof.Index(w, req)
			}
		}))
	}
	return r
}

// observe counts and times every request by its route pattern.
func (a *Component) observe() gin.HandlerFunc {
	return func(c *gin.Context) {
		start := time.Now()
		c.Next()
		route := c.FullPath()
		if route == "" {
			route = "unmatched"
		}
		a.metrics.requests.WithLabelValues(route, strconv.Itoa(c.Writer.Status())).Inc()
		a.metrics.duration.WithLabelValues(route).Observe(time.Since(start).Seconds())
	}
}

// Start listens and serves in the background.
func (a *Component) Start(ctx context.Context) error {
	ln, err := (&net.ListenConfig{}).Listen(ctx, "tcp", a.cfg.Listen)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", a.cfg.Listen, err)
	}
	a.addr = ln.Addr()
	a.srv = &http.Server{Handler: a.handler, ReadHeaderTimeout: 10 * time.Second,
		ErrorLog: slog.NewLogLogger(a.logger.Handler(), slog.LevelWarn)}
	if a.certs != nil {
		cert, err := a.certs.load()
		if err != nil {
			_ = ln.Close()
			return err
		}
		a.logCertificate("API certificate loaded", cert)
		a.srv.TLSConfig = a.certs.tlsConfig()
	}
	a.eg.Go(func() error {
		serve := a.srv.Serve
		if a.srv.TLSConfig != nil {
			// The certificate comes from TLSConfig.GetCertificate.
			serve = func(ln net.Listener) error { return a.srv.ServeTLS(ln, "", "") }
		}
		if err := serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			return fmt.Errorf("serve API: %w", err)
		}
		return nil
	})
	a.logger.Info("API listening", "addr", a.addr.String(), "tls", a.certs != nil)
	if a.cfg.BirdwatcherListen == "" {
		return nil
	}
	bln, err := (&net.ListenConfig{}).Listen(ctx, "tcp", a.cfg.BirdwatcherListen)
	if err != nil {
		_ = a.srv.Close()
		return fmt.Errorf("listen on %s (api.birdwatcher_listen): %w", a.cfg.BirdwatcherListen, err)
	}
	a.bwAddr = bln.Addr()
	a.bwSrv = &http.Server{Handler: a.birdwatcherRouter(), ReadHeaderTimeout: 10 * time.Second,
		ErrorLog: slog.NewLogLogger(a.logger.Handler(), slog.LevelWarn)}
	a.eg.Go(func() error {
		if err := a.bwSrv.Serve(bln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			return fmt.Errorf("serve birdwatcher API: %w", err)
		}
		return nil
	})
	a.logger.Info("birdwatcher-compatible API listening (no token)", "addr", a.bwAddr.String())
	return nil
}

// BirdwatcherAddr is the birdwatcher listener's address after Start; nil
// when api.birdwatcher_listen is off.
func (a *Component) BirdwatcherAddr() net.Addr { return a.bwAddr }

// Stop finishes requests in flight and closes the listener.
func (a *Component) Stop(ctx context.Context) error {
	if a.srv == nil {
		return nil
	}
	var errs []error
	if err := a.srv.Shutdown(ctx); err != nil {
		errs = append(errs, fmt.Errorf("shut down API: %w", err))
	}
	if a.bwSrv != nil {
		if err := a.bwSrv.Shutdown(ctx); err != nil {
			errs = append(errs, fmt.Errorf("shut down birdwatcher API: %w", err))
		}
	}
	errs = append(errs, a.eg.Wait())
	return errors.Join(errs...)
}

func (a *Component) healthz(c *gin.Context) {
	c.JSON(http.StatusOK, gin.H{"status": "ok", "version": a.deps.Version, "instance": a.deps.Instance})
}

func (a *Component) exporters(c *gin.Context) {
	if a.deps.Flows == nil {
		writeError(c, errFlowsOff)
		return
	}
	es, err := a.deps.Flows.Exporters(c.Request.Context())
	if err != nil {
		writeError(c, err)
		return
	}
	c.JSON(http.StatusOK, gin.H{"exporters": es})
}

// ixf serves the IX-F Member Export: public, and readable from any origin
// (PeeringDB and connectivity maps fetch it).
func (a *Component) ixf(c *gin.Context) {
	if a.deps.IXF == nil {
		writeError(c, errNotServed)
		return
	}
	body, err := a.deps.IXF(c.Request.Context())
	if err != nil {
		writeError(c, err)
		return
	}
	c.Header("Access-Control-Allow-Origin", "*")
	c.Header("Cache-Control", "public, max-age=300")
	c.Data(http.StatusOK, "application/json", body)
}
