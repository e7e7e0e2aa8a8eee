// Package duckdb is the embedded analytics store, the default: one DuckDB
// file, so that ixpd runs on a bare machine. Raw flows go to the flows
// table through DuckDB's appender; the 5-minute rollups in flows_5m are
// updated in the same transaction, because DuckDB has no materialized
// views. Latency bins are in latency_5m, one row per target and bin, and
// route-server session snapshots in routeserver_sessions, one row per
// address and time. DuckDB has no partitions either: retention deletes
// whole days.
//
// Store.Backup copies the database to a new file in one read transaction,
// beside the writers; Restore puts such a copy in place of a store's file,
// migrated, when no process holds it (backup.go).
package duckdb

import (
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"

	duckdb "github.com/duckdb/duckdb-go/v2"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/ixpd/ixpd/analytics"
)

// memoryPath opens a database that lives in memory only.
const memoryPath = ":memory:"

// Operation names, for errors and the errors metric.
const (
	opMigrate   = "migrate"
	opWrite     = "write"
	opTotals    = "totals"
	opSeries    = "series"
	opRawFlows  = "raw_flows"
	opRetention = "retention"
	opBackup    = "backup"

	opLatencyWrite  = "latency_write"
	opLatencyRead   = "latency_read"
	opSessionsWrite = "sessions_write"
	opSessionsRead  = "sessions_read"
)

// errClosed is returned by every method after Close.
var errClosed = fmt.Errorf("duckdb store closed: %w", analytics.ErrUnavailable)

// Store is the DuckDB analytics store. Its methods are safe for concurrent
// use; writes (batches, retention, migrations) run one at a time, reads run
// beside them on DuckDB's snapshots.
type Store struct {
	logger      *slog.Logger
	cfg         Configuration
	metrics     *metrics
	rollupBatch rollupBatch

	mu     sync.Mutex // guards db and closed
	db     *sql.DB
	closed bool

	// writeMu serializes writers: concurrent transactions that update the
	// same rollup rows would fail on DuckDB's write-write conflicts.
	writeMu sync.Mutex
	// backupMu runs backups one at a time (see Backup).
	backupMu sync.Mutex
}

var _ analytics.Store = (*Store)(nil)

// New returns a store for cfg. It does no I/O: the database file is opened
// by the first method called, normally Migrate.
func New(logger *slog.Logger, reg prometheus.Registerer, cfg Configuration) (*Store, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	rb, err := newRollupBatch()
	if err != nil {
		return nil, err
	}
	m, err := newMetrics(reg)
	if err != nil {
		return nil, err
	}
	return &Store{
		logger:      logger.With("component", "analytics", "store", "duckdb"),
		cfg:         cfg,
		metrics:     m,
		rollupBatch: rb,
	}, nil
}

// database returns the open database, opening it on first use.
func (s *Store) database() (*sql.DB, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil, errClosed
	}
	if s.db != nil {
		return s.db, nil
	}
	path := s.cfg.Path
	if file, _, _ := strings.Cut(path, "?"); file != memoryPath && file != "" {
		if err := os.MkdirAll(filepath.Dir(file), 0o750); err != nil {
			return nil, fmt.Errorf("open %s: %w: %w", path, analytics.ErrUnavailable, err)
		}
	}
	// Through a connector, not sql.Open("duckdb", ...): nothing here
	// depends on the driver registry.
	c, err := duckdb.NewConnector(path, nil)
	if err != nil {
		return nil, fmt.Errorf("open %s: %w: %w", path, analytics.ErrUnavailable, err)
	}
	s.db = sql.OpenDB(c)
	s.logger.Info("duckdb opened", "path", path)
	return s.db, nil
}

// Close closes the database. Later calls return errors wrapping
// analytics.ErrUnavailable; closing twice is harmless.
func (s *Store) Close() error {
	s.mu.Lock()
	db, closed := s.db, s.closed
	s.closed = true
	s.mu.Unlock()
	if closed || db == nil {
		return nil
	}
	if err := db.Close(); err != nil {
		return fmt.Errorf("close duckdb %s: %w", s.cfg.Path, err)
	}
	return nil
}

func (s *Store) isClosed() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.closed
}

// fail counts a failed operation and wraps its error; errors that mean
// the database cannot be used now also wrap analytics.ErrUnavailable.
func (s *Store) fail(op string, err error) error {
	if !errors.Is(err, analytics.ErrUnavailable) {
		if s.isClosed() {
			// Closed while the operation ran: database/sql's error for
			// that is not one errors.Is can recognize.
			err = fmt.Errorf("%w: %w", errClosed, err)
		} else if unavailable(err) {
			err = fmt.Errorf("%w: %w", analytics.ErrUnavailable, err)
		}
	}
	s.metrics.errors.WithLabelValues(op).Inc()
	return fmt.Errorf("duckdb %s: %w", strings.ReplaceAll(op, "_", " "), err)
}

// unavailable tells errors of the database or its disk, which a retry may
// get past, from errors of the data or the query, which it will not.
func unavailable(err error) bool {
	if errors.Is(err, sql.ErrConnDone) || errors.Is(err, driver.ErrBadConn) {
		return true
	}
	var de *duckdb.Error
	if errors.As(err, &de) {
		switch de.Type {
		case duckdb.ErrorTypeIO, duckdb.ErrorTypeConnection, duckdb.ErrorTypeFatal,
			duckdb.ErrorTypeOutOfMemory, duckdb.ErrorTypeTransaction, duckdb.ErrorTypePermission:
			return true
		}
	}
	return false
}
