package main

import (
	"context"
	"log/slog"
	"maps"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/ixpd/ixpd/analytics"
	"github.com/ixpd/ixpd/routeserver"
)

// sessionRecorder writes the route server's census to the store at every
// multiple of the interval (UTC), for the monthly report's members and
// routing section.
type sessionRecorder struct {
	rs       *routeserver.Component
	store    analytics.SessionStore
	interval time.Duration
	logger   *slog.Logger
	failures prometheus.Counter
	cancel   context.CancelFunc
	done     chan struct{}
}

func newSessionRecorder(logger *slog.Logger, reg prometheus.Registerer, rs *routeserver.Component, st analytics.SessionStore, interval time.Duration) *sessionRecorder {
	r := &sessionRecorder{rs: rs, store: st, interval: interval, logger: logger.With("component", "session recorder"),
		failures: prometheus.NewCounter(prometheus.CounterOpts{Name: "ixpd_reports_session_snapshot_failures_total",
			Help: "Route-server session snapshots that could not be taken or stored."})}
	reg.MustRegister(r.failures)
	return r
}

func (r *sessionRecorder) Start(context.Context) error {
	ctx, cancel := context.WithCancel(context.Background())
	r.cancel, r.done = cancel, make(chan struct{})
	go func() {
		defer close(r.done)
		for {
			now := time.Now()
			next := now.Truncate(r.interval).Add(r.interval)
			t := time.NewTimer(next.Sub(now))
			select {
			case <-ctx.Done():
				t.Stop()
				return
			case <-t.C:
			}
			if err := r.record(ctx, next); err != nil && ctx.Err() == nil {
				r.failures.Inc()
				r.logger.Warn("record route-server sessions", "err", err)
			}
		}
	}()
	return nil
}

func (r *sessionRecorder) Stop(context.Context) error {
	if r.cancel != nil {
		r.cancel()
		<-r.done
	}
	return nil
}

// record takes the census and stores it as the snapshot of at.
func (r *sessionRecorder) record(ctx context.Context, at time.Time) error {
	census, err := r.rs.Census(ctx)
	if err != nil {
		return err
	}
	snaps := make([]analytics.SessionSnapshot, 0, len(census))
	for _, c := range census {
		snaps = append(snaps, sessionSnapshot(at, c))
	}
	if len(snaps) == 0 {
		return nil
	}
	return r.store.WriteSessions(ctx, snaps)
}

// sessionSnapshot turns one neighbor's census into a stored snapshot.
func sessionSnapshot(at time.Time, c routeserver.SessionCensus) analytics.SessionSnapshot {
	s := analytics.SessionSnapshot{Time: at.UTC().Truncate(time.Second), ASN: c.ASN, Address: c.Address.String(), Up: c.Up,
		Received: uint32(c.Received), Accepted: uint32(c.Accepted), Filtered: uint32(c.Filtered),
		RPKIValid: uint32(c.RPKIValid), RPKIUnknown: uint32(c.RPKIUnknown), RPKIInvalid: uint32(c.RPKIInvalid),
		IRRValid: uint32(c.IRRValid)}
	if len(c.Reasons) > 0 {
		s.Reasons = maps.Clone(c.Reasons)
	}
	return s
}
