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
// materialized view; latency bins and route-server session snapshots in
// ReplacingMergeTree tables partitioned by month and read with FINAL;
// retention by dropping whole partitions. Values from callers reach queries only as bound parameters
// (18.16 has no server-side query parameters: the driver binds them
// client-side, escaped).
//
// Scale-out: with Configuration.Cluster, every table above is a local
// table on each server of the cluster (flows_local, flows_5m_local and its
// view, latency_5m_local, routeserver_sessions_local), and tables of the usual names are Distributed
// tables over them on every server, so that writes and reads are the same
// statements as on one server (see cluster.go).
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
	"errors"
	"fmt"
	"log/slog"
	"slices"
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
	tableSessions   = "routeserver_sessions"
)

// Store is the ClickHouse analytics store. Its methods are safe for
// concurrent use; each batch or query takes one pooled connection.
type Store struct {
	logger  *slog.Logger
	cfg     Configuration
	metrics *metrics
	conn    driver.Conn // to the server at Addr: writes and reads
	nodes   []node      // every server Migrate and ApplyRetention work on
	closed  atomic.Bool

	mu       sync.Mutex
	version  serverVersion            // of the server at Addr, known after Migrate
	versions map[string]serverVersion // of every server, by address, as Migrate saw them
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
	var settings clickhouse.Settings
	if cfg.Cluster != "" {
		settings = clickhouse.Settings{
			// An INSERT into a Distributed table returns once every
			// shard has stored its rows, so that the batch is stored
			// (or failed) when WriteFlows returns and reads see it at
			// once. 18.16 has no SYSTEM FLUSH DISTRIBUTED to wait for
			// the background sends of the default mode; current
			// releases keep this name as an alias of
			// distributed_foreground_insert.
			"insert_distributed_sync": 1,
		}
	}
	conn, err := open(logger, cfg, cfg.Addr, cfg.MaxOpenConns, settings)
	if err != nil {
		return nil, err
	}
	s := &Store{logger: logger, cfg: cfg, metrics: m, conn: conn}
	s.nodes = []node{{addr: cfg.Addr, conn: conn, shard: slices.Contains(cfg.Shards, cfg.Addr)}}
	for _, addr := range cfg.Shards {
		if addr == cfg.Addr {
			continue
		}
		// Only DDL and retention go to these: a small pool each.
		c, err := open(logger, cfg, addr, 2, nil)
		if err != nil {
			_ = s.closeConns()
			return nil, err
		}
		s.nodes = append(s.nodes, node{addr: addr, conn: c, shard: true})
	}
	return s, nil
}

// open returns a connection pool to the server at addr; it does no I/O.
func open(logger *slog.Logger, cfg Configuration, addr string, maxConns int, settings clickhouse.Settings) (driver.Conn, error) {
	opts := &clickhouse.Options{
		Protocol: clickhouse.Native,
		Addr:     []string{addr},
		// No database in the handshake: it may not exist before Migrate.
		// Every statement names its tables in full.
		Auth:         clickhouse.Auth{Username: cfg.User, Password: cfg.Password},
		DialTimeout:  cfg.DialTimeout,
		ReadTimeout:  cfg.ReadTimeout,
		MaxOpenConns: maxConns,
		MaxIdleConns: maxConns,
		Settings:     settings,
		ClientInfo: clickhouse.ClientInfo{Products: []struct{ Name, Version string }{
			{Name: "ixpd", Version: "1"},
		}},
		Logger: slog.New(driverHandler{logger.Handler()}).With("driver", "clickhouse-go", "server", addr),
	}
	if cfg.Compress {
		opts.Compression = &clickhouse.Compression{Method: clickhouse.CompressionLZ4}
	}
	conn, err := clickhouse.Open(opts)
	if err != nil {
		return nil, fmt.Errorf("clickhouse options for %s: %w", addr, err)
	}
	return conn, nil
}

// Close closes the connections; every later call fails with an error
// wrapping analytics.ErrUnavailable.
func (s *Store) Close() error {
	if s.closed.Swap(true) {
		return nil
	}
	return s.closeConns()
}

func (s *Store) closeConns() error {
	var errs []error
	for _, n := range s.nodes {
		if err := n.conn.Close(); err != nil {
			errs = append(errs, fmt.Errorf("close clickhouse connections to %s: %w", n.addr, err))
		}
	}
	return errors.Join(errs...)
}

// ServerVersion is the version of the server as Migrate saw it ("" before).
func (s *Store) ServerVersion() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.version.String()
}

// table returns the qualified name of one of the store's tables, the one
// that writes and reads use (in a cluster, the Distributed table). The
// database name is a checked plain identifier (Configuration.Validate).
func (s *Store) table(name string) string { return s.cfg.Database + "." + name }

// usable returns errClosed after Close.
func (s *Store) usable(ctx context.Context) error {
	if s.closed.Load() {
		return errClosed
	}
	return ctx.Err()
}
