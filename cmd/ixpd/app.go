package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/ixpd/ixpd/api"
	"github.com/ixpd/ixpd/routeserver"
)

// app holds the components in the order they start.
type app struct {
	cfg    Config
	logger *slog.Logger
	rs     *routeserver.Component
	api    *api.Component
	reg    *prometheus.Registry

	reloads *prometheus.CounterVec
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

	a.rs, err = routeserver.New(logger, a.reg, cfg.RouteServer, routeserver.Dependencies{Members: set})
	if err != nil {
		return nil, fmt.Errorf("build route server: %w", err)
	}
	a.api, err = api.New(logger, a.reg, cfg.API, api.Dependencies{
		RouteServer: a.rs, Reload: a.reload, Gatherer: a.reg, Version: buildVersion(),
	})
	if err != nil {
		return nil, fmt.Errorf("build API: %w", err)
	}
	return a, nil
}

func (a *app) components() []struct {
	name string
	c    component
} {
	return []struct {
		name string
		c    component
	}{{"route server", a.rs}, {"API", a.api}}
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

// reload re-reads the members file; a file with errors changes nothing.
func (a *app) reload(ctx context.Context) error {
	set, err := loadMembers(a.cfg)
	if err != nil {
		a.reloads.WithLabelValues("error").Inc()
		return err
	}
	if err := a.rs.SetMembers(ctx, set); err != nil {
		a.reloads.WithLabelValues("error").Inc()
		return fmt.Errorf("apply members: %w", err)
	}
	a.reloads.WithLabelValues("ok").Inc()
	a.logger.Info("members reloaded", "members", len(set.Members), "sessions", len(set.Sessions()))
	return nil
}
