// Package clickhouse is the ClickHouse implementation of analytics.Store,
// for production and scale-out. It speaks ClickHouse's native protocol
// (clickhouse-go v2) and works with Debian's ClickHouse 18.16 as well as
// current releases: the schema is written in what 18.16 understands, and
// newer features are added by migrations that wait until the server is
// recent enough (see migrations in schema.go).
//
// Storage: raw flows in a MergeTree table partitioned by UTC day, with
// addresses as FixedString(16) (IPv4 mapped into ::ffff:0:0/96); 5-minute
// rollups in a SummingMergeTree table partitioned by month and fed by a
// materialized view; latency bins in a ReplacingMergeTree table
// partitioned by month and read with FINAL; retention by dropping whole
// partitions. Values from callers reach queries only as bound parameters
// (18.16 has no server-side query parameters: the driver binds them
// client-side, escaped).
//
// Operators: Addr is the native port (9000), not HTTP. DROP PARTITION is
// refused for partitions above the server's max_partition_size_to_drop
// (50 GB by default); raise it if a day of raw flows can be larger.
//
// Tests run a real clickhouse-server (see package chtest); set
// IXPD_CLICKHOUSE_BIN to a current release's clickhouse binary to run them
// against it instead of Debian's 18.16.
package clickhouse

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"

	"github.com/ClickHouse/clickhouse-go/v2"
	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/ixpd/ixpd/analytics"
)

// Table names inside the configured database.
const (
	tableMigrations = "schema_migrations"
	tableFlows      = "flows"
	tableFlows5m    = "flows_5m"
	tableLatency    = "latency_5m"
)

// Store is the ClickHouse analytics store. Its methods are safe for
// concurrent use; each batch or query takes one pooled connection.
type Store struct {
	logger  *slog.Logger
	cfg     Configuration
	metrics *metrics
	conn    driver.Conn
	closed  atomic.Bool

	mu      sync.Mutex
	version serverVersion // known after Migrate
}

var _ analytics.Store = (*Store)(nil)

// New returns a store for cfg. It does no I/O: the first connection is made
// by the first method that needs one, usually Migrate.
func New(logger *slog.Logger, reg prometheus.Registerer, cfg Configuration) (*Store, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	logger = logger.With("component", "analytics_clickhouse")
	m, err := newMetrics(reg)
	if err != nil {
		return nil, err
	}
	opts := &clickhouse.Options{
		Protocol: clickhouse.Native,
		Addr:     []string{cfg.Addr},
		// No database in the handshake: it may not exist before Migrate.
		// Every statement names its tables in full.
		Auth:         clickhouse.Auth{Username: cfg.User, Password: cfg.Password},
		DialTimeout:  cfg.DialTimeout,
		ReadTimeout:  cfg.ReadTimeout,
		MaxOpenConns: cfg.MaxOpenConns,
		MaxIdleConns: cfg.MaxOpenConns,
		ClientInfo: clickhouse.ClientInfo{Products: []struct{ Name, Version string }{
			{Name: "ixpd", Version: "1"},
		}},
		Logger: slog.New(driverHandler{logger.Handler()}).With("driver", "clickhouse-go"),
	}
	if cfg.Compress {
		opts.Compression = &clickhouse.Compression{Method: clickhouse.CompressionLZ4}
	}
	conn, err := clickhouse.Open(opts)
	if err != nil {
		return nil, fmt.Errorf("clickhouse options: %w", err)
	}
	return &Store{logger: logger, cfg: cfg, metrics: m, conn: conn}, nil
}

// Close closes the connections; every later call fails with an error
// wrapping analytics.ErrUnavailable.
func (s *Store) Close() error {
	if s.closed.Swap(true) {
		return nil
	}
	if err := s.conn.Close(); err != nil {
		return fmt.Errorf("close clickhouse connections: %w", err)
	}
	return nil
}

// ServerVersion is the version of the server as Migrate saw it ("" before).
func (s *Store) ServerVersion() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.version.String()
}

// table returns the qualified name of one of the store's tables. The
// database name is a checked plain identifier (Configuration.Validate).
func (s *Store) table(name string) string { return s.cfg.Database + "." + name }

// usable returns errClosed after Close.
func (s *Store) usable(ctx context.Context) error {
	if s.closed.Load() {
		return errClosed
	}
	return ctx.Err()
}
