package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/ixpd/ixpd/analytics"
	"github.com/ixpd/ixpd/analytics/clickhouse"
	"github.com/ixpd/ixpd/analytics/duckdb"
	"github.com/ixpd/ixpd/analytics/latency"
	"github.com/ixpd/ixpd/analytics/report"
	"github.com/ixpd/ixpd/api"
	"github.com/ixpd/ixpd/flow/collector"
	"github.com/ixpd/ixpd/flow/enrich"
	"github.com/ixpd/ixpd/routeserver"
	"github.com/ixpd/ixpd/routeserver/members"
)

// app holds the components in the order they start.
type app struct {
	cfg       Config
	logger    *slog.Logger
	rs        *routeserver.Component
	store     analytics.Store
	storeLife *storeComponent
	enricher  *enrich.Enricher
	flows     *collector.Component
	prober    *latency.Prober // nil when nothing is probed
	sessions  *sessionRecorder
	api       *api.Component
	reg       *prometheus.Registry

	reloads *prometheus.CounterVec
	// cfgNow is the configuration in force: cfg with the keys a reload
	// applies in place (liveKeys) as last reloaded.
	cfgNow        atomic.Pointer[Config]
	configReloads *prometheus.CounterVec
	restartNeeded prometheus.Gauge
	members       atomic.Pointer[members.Set] // the members file in force

	secretsReloads *prometheus.CounterVec
}

// component is the lifecycle every component shares.
type component interface {
	Start(context.Context) error
	Stop(context.Context) error
}

func newApp(cfg Config, logger *slog.Logger) (*app, error) {
	set, err := loadMembers(cfg)
	if err != nil {
		return nil, err
	}
	a := &app{cfg: cfg, logger: logger, reg: prometheus.NewRegistry()}
	a.reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	a.reloads = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "ixpd_members_reloads_total",
		Help: "Members file reloads by result (ok, error)."}, []string{"result"})
	a.reg.MustRegister(a.reloads)
	a.cfgNow.Store(&cfg)
	a.configReloads = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "ixpd_config_reloads_total",
		Help: "Config file reloads by result (ok, error)."}, []string{"result"})
	a.restartNeeded = prometheus.NewGauge(prometheus.GaugeOpts{Name: "ixpd_config_restart_needed",
		Help: "1 when the config file has changes that wait for a restart."})
	a.reg.MustRegister(a.configReloads, a.restartNeeded)

	passwords, err := a.loadSecretsAtStart()
	if err != nil {
		return nil, err
	}
	a.rs, err = routeserver.New(logger, a.reg, cfg.routeServer(), routeserver.Dependencies{Members: set, Passwords: passwords})
	if err != nil {
		return nil, fmt.Errorf("build route server: %w", err)
	}
	if err := a.buildFlows(set, a.rs); err != nil {
		return nil, err
	}
	a.members.Store(set)
	a.logInstance()
	if cfg.Instance.primary() {
		a.sessions = newSessionRecorder(logger, a.reg, a.rs, a.store, cfg.Reports.SessionInterval)
	}
	if cfg.Instance.primary() && cfg.Latency.Enabled() {
		a.prober, err = latency.New(logger, a.reg, cfg.Latency, latency.Dependencies{Sink: a.store, Members: probedMembers(set)})
		if err != nil {
			return nil, fmt.Errorf("build latency prober: %w", err)
		}
	}
	a.api, err = api.New(logger, a.reg, cfg.apiConfig(), api.Dependencies{
		RouteServer: a.rs, Flows: a.flows, Store: a.store, Savings: cfg.Savings, IXF: a.ixf,
		Exchange: api.Exchange{Name: cfg.IXP.Name, NameLong: cfg.IXP.NameLong, Country: cfg.IXP.Country, City: cfg.IXP.City,
			Latitude: cfg.IXP.Latitude, Longitude: cfg.IXP.Longitude, TimeZone: cfg.IXP.TimeZone, Members: func() int { return len(a.memberASNs()) },
			MemberASNs:  a.memberASNs,
			EdgeMembers: edgeMembers(cfg)}, Reload: a.reload, Gatherer: a.reg, Version: buildVersion(), Instance: cfg.instanceInfo(),
		LatencyTargets: a.latencyTargets, LatencyLive: a.latencyLive,
		Report: func(ctx context.Context, month string) (*report.Report, error) {
			return report.Build(ctx, a.store, a.reportConfig(), month, time.Now())
		},
		Backup: a.backupFunc(),
	})
	if err != nil {
		return nil, fmt.Errorf("build API: %w", err)
	}
	return a, nil
}

// namedComponent is a component and its name for messages.
type namedComponent struct {
	name string
	c    component
}

func (a *app) components() []namedComponent {
	cs := []namedComponent{{"store", a.storeLife}, {"route server", a.rs}}
	if a.flows != nil { // nil on a secondary instance
		cs = append(cs, namedComponent{"flow collector", a.flows})
	}
	if a.prober != nil {
		cs = append(cs, namedComponent{"latency prober", a.prober})
	}
	if a.sessions != nil { // nil on a secondary instance
		cs = append(cs, namedComponent{"session recorder", a.sessions})
	}
	return append(cs, namedComponent{"API", a.api})
}

// memberASNs lists the members, without the exchange's own entries
// (member_type "ixp", such as its route servers).
func (a *app) memberASNs() []uint32 {
	var out []uint32
	for _, m := range a.members.Load().Members {
		if m.Type != "ixp" {
			out = append(out, m.ASN)
		}
	}
	return out
}

// probedMembers lists every member address for the latency prober.
func probedMembers(set *members.Set) []latency.Member {
	var out []latency.Member
	for _, m := range set.Members {
		for _, addr := range m.Addresses {
			out = append(out, latency.Member{ASN: m.ASN, Address: addr.IP})
		}
	}
	return out
}

// latencyLive is a target's bin in progress.
func (a *app) latencyLive(name string) (analytics.LatencyBin, bool) {
	if a.prober == nil {
		return analytics.LatencyBin{}, false
	}
	r, err := a.prober.Recent(name)
	if err != nil {
		return analytics.LatencyBin{}, false
	}
	return r.Current, true
}

// latencyTargets describes the prober's targets for the API.
func (a *app) latencyTargets() []api.LatencyTarget {
	if a.prober == nil {
		return nil
	}
	ts := a.prober.Targets()
	out := make([]api.LatencyTarget, len(ts))
	for i, t := range ts {
		path := t.Path
		if t.MemberASN != 0 && path == "" {
			path = api.PathIXP // a member's peering-LAN address is reached across the exchange
		}
		out[i] = api.LatencyTarget{Name: t.Name, Address: t.Address, Method: t.Method, Path: path, Group: t.Group, MemberASN: t.MemberASN}
	}
	return out
}

// retentionInterval is how often old data is dropped.
const retentionInterval = time.Hour

// storeComponent gives the store the start/stop lifecycle: migrations at
// start, retention every hour, close at stop.
type storeComponent struct {
	s         analytics.Store
	retention analytics.Retention
	logger    *slog.Logger
	cancel    context.CancelFunc
	done      chan struct{}
}

func (c *storeComponent) Start(ctx context.Context) error {
	if err := c.s.Migrate(ctx); err != nil {
		return err
	}
	runCtx, cancel := context.WithCancel(context.Background())
	c.cancel, c.done = cancel, make(chan struct{})
	go func() {
		defer close(c.done)
		t := time.NewTicker(retentionInterval)
		defer t.Stop()
		for {
			if err := c.s.ApplyRetention(runCtx, time.Now(), c.retention); err != nil && runCtx.Err() == nil {
				c.logger.Warn("apply retention", "err", err)
			}
			select {
			case <-runCtx.Done():
				return
			case <-t.C:
			}
		}
	}()
	return nil
}

func (c *storeComponent) Stop(context.Context) error {
	if c.cancel != nil {
		c.cancel()
		<-c.done
	}
	return c.s.Close()
}

// newStore builds the configured store (no I/O).
func newStore(cfg Config, logger *slog.Logger, reg prometheus.Registerer) (analytics.Store, error) {
	switch cfg.Storage.Driver {
	case "clickhouse":
		s, err := clickhouse.New(logger, reg, cfg.Storage.ClickHouse)
		if err != nil {
			return nil, fmt.Errorf("build ClickHouse store: %w", err)
		}
		return s, nil
	default:
		s, err := duckdb.New(logger, reg, duckdb.Configuration{Path: cfg.resolve(cfg.Storage.DuckDBPath)})
		if err != nil {
			return nil, fmt.Errorf("build DuckDB store: %w", err)
		}
		return s, nil
	}
}

// enrichConfig turns the config file's parts into the enricher's.
func enrichConfig(cfg Config) (enrich.Config, error) {
	ec := enrich.Config{Country: cfg.IXP.Country, Overrides: map[netip.Prefix]string{}, Exporters: map[netip.Addr]enrich.Exporter{}}
	for _, f := range cfg.Domestic.DelegatedFiles {
		ec.DelegatedFiles = append(ec.DelegatedFiles, cfg.resolve(f))
	}
	for k, v := range cfg.Domestic.Overrides {
		p, err := netip.ParsePrefix(k)
		if err != nil {
			return ec, fmt.Errorf("domestic.overrides: %q is not a prefix", k)
		}
		ec.Overrides[p] = v
	}
	for i, e := range cfg.Flow.Exporters {
		role, _ := collector.ParseRole(e.Role) // checked by Validate
		x := enrich.Exporter{Role: role, MemberASN: e.MemberASN, Interfaces: map[uint32]enrich.InterfaceRole{}}
		for idx, r := range e.Interfaces {
			ir, err := enrich.ParseInterfaceRole(r)
			if err != nil {
				return ec, fmt.Errorf("flow.exporters[%d].interfaces.%d: %w", i, idx, err)
			}
			x.Interfaces[idx] = ir
		}
		ec.Exporters[e.Address] = x
	}
	return ec, nil
}

// buildFlows builds the store and, on a primary instance, the enricher and
// the collector. routes may be nil (replay runs without the route server).
func (a *app) buildFlows(set *members.Set, routes enrich.RouteLookup) error {
	var err error
	if a.store, err = newStore(a.cfg, a.logger, a.reg); err != nil {
		return err
	}
	a.storeLife = &storeComponent{s: a.store, logger: a.logger,
		retention: analytics.Retention{Raw: a.cfg.Storage.Retention.Raw, Rollup: a.cfg.Storage.Retention.Rollup}}
	if !a.cfg.Instance.primary() {
		return nil // a secondary collects no flows (instance.role): no enricher, no collector
	}
	ec, err := enrichConfig(a.cfg)
	if err != nil {
		return err
	}
	if a.enricher, err = enrich.New(ec, set, routes, a.reg); err != nil {
		return fmt.Errorf("build flow attribution: %w", err)
	}
	for _, r := range a.enricher.RIRFiles() {
		for _, le := range r.Problems {
			a.logger.Warn("RIR file line skipped", "err", le)
		}
	}
	flowCfg := a.cfg.Flow
	flowCfg.SpoolDir = a.cfg.resolve(flowCfg.SpoolDir)
	a.flows, err = collector.New(a.logger, a.reg, flowCfg, collector.Dependencies{Writer: a.store, Enricher: a.enricher})
	if err != nil {
		return fmt.Errorf("build flow collector: %w", err)
	}
	return nil
}

// start starts the components in order; on failure it stops those started.
func (a *app) start(ctx context.Context) error {
	cs := a.components()
	for i, c := range cs {
		if err := c.c.Start(ctx); err != nil {
			for j := i - 1; j >= 0; j-- {
				_ = cs[j].c.Stop(ctx)
			}
			return fmt.Errorf("start %s: %w", c.name, err)
		}
	}
	return nil
}

// stop stops the components in reverse order.
func (a *app) stop(ctx context.Context) error {
	cs := a.components()
	var errs []error
	for i := len(cs) - 1; i >= 0; i-- {
		if err := cs[i].c.Stop(ctx); err != nil {
			errs = append(errs, fmt.Errorf("stop %s: %w", cs[i].name, err))
		}
	}
	return errors.Join(errs...)
}

// reload re-reads the members file and the route server's filter data
// (IRR, PeeringDB, VRP file). A members file with errors changes nothing; a
// bad data file leaves that file's previous data in force.
func (a *app) reload(ctx context.Context) error {
	cfg, cfgErr := a.reloadConfig()
	dataErr := a.rs.ReloadData(ctx)
	if dataErr != nil {
		a.logger.Error("route-server data reload", "err", dataErr)
	}
	dataErr = errors.Join(cfgErr, dataErr)
	if err := a.reloadSecrets(ctx, cfg); err != nil {
		dataErr = errors.Join(dataErr, err)
	}
	set, err := loadMembers(cfg)
	if err != nil {
		a.reloads.WithLabelValues("error").Inc()
		return errors.Join(err, dataErr)
	}
	if a.enricher != nil { // nil on a secondary instance
		a.enricher.SetMembers(set)
	}
	a.members.Store(set)
	if err := a.rs.SetMembers(ctx, set); err != nil {
		a.reloads.WithLabelValues("error").Inc()
		return fmt.Errorf("apply members: %w", err)
	}
	if a.prober != nil {
		if err := a.prober.SetMembers(probedMembers(set)); err != nil {
			a.reloads.WithLabelValues("error").Inc()
			return fmt.Errorf("apply members to the latency prober: %w", err)
		}
	}
	a.reloads.WithLabelValues("ok").Inc()
	a.logger.Info("members reloaded", "members", len(set.Members), "sessions", len(set.Sessions()))
	return dataErr
}

// ixf renders the IX-F Member Export from the members file in force and the
// route server's sessions.
func (a *app) ixf(context.Context) ([]byte, error) {
	ixp := a.cfg.IXP
	info := members.IXPInfo{IXFID: ixp.IXFID, PeeringDBID: ixp.PeeringDBID, ShortName: ixp.Name, Name: ixp.NameLong,
		Country: ixp.Country, URL: ixp.URL, SupportEmail: ixp.SupportEmail, PeeringLANs: ixp.PeeringLAN, VLANID: 1}
	if info.IXFID == 0 {
		info.IXFID = 1 // not registered with IX-F yet: the schema wants a positive id
	}
	return members.Export(a.members.Load(), info, time.Now(), a.rs.SessionState)
}

// edgeMembers are the members with a member_edge exporter.
func edgeMembers(cfg Config) map[uint32]bool {
	out := map[uint32]bool{}
	for _, e := range cfg.Flow.Exporters {
		if e.Role == "member_edge" {
			out[e.MemberASN] = true
		}
	}
	return out
}
