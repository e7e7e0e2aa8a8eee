package duckdb

import (
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/ixpd/ixpd/analytics"
	"github.com/ixpd/ixpd/analytics/storetest"
)

var _ storetest.RawReader = (*Store)(nil)

func newStoreReg(t testing.TB, path string, reg prometheus.Registerer) *Store {
	t.Helper()
	s, err := New(slog.New(slog.DiscardHandler), reg, Configuration{Path: path})
	if err != nil {
		t.Fatalf("New() error: %v", err)
	}
	return s
}

func newStore(t testing.TB, path string) *Store {
	t.Helper()
	return newStoreReg(t, path, prometheus.NewRegistry())
}

func TestStoreFile(t *testing.T) {
	storetest.Run(t, func(t *testing.T) analytics.Store {
		return newStore(t, filepath.Join(t.TempDir(), "sub", "ixpd.duckdb"))
	})
}

func TestStoreMemory(t *testing.T) {
	storetest.Run(t, func(t *testing.T) analytics.Store { return newStore(t, memoryPath) })
}

func TestConfiguration(t *testing.T) {
	if got := DefaultConfiguration().Path; got != "data/ixpd.duckdb" {
		t.Errorf("DefaultConfiguration().Path = %q, want data/ixpd.duckdb", got)
	}
	_, err := New(slog.New(slog.DiscardHandler), prometheus.NewRegistry(), Configuration{})
	if err == nil || err.Error() != "duckdb_path: must not be empty" {
		t.Errorf("New(empty path) error = %v, want duckdb_path: must not be empty", err)
	}
}

// TestReopen checks that data and the schema version survive a restart.
func TestReopen(t *testing.T) {
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "ixpd.duckdb")
	start := time.Date(2024, time.March, 10, 12, 0, 0, 0, time.UTC)
	flows := storetest.GenerateFlows(1, 1000, start, time.Hour)
	s := newStore(t, path)
	if err := s.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	if err := s.WriteFlows(ctx, flows); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	s = newStore(t, path)
	defer func() { _ = s.Close() }()
	if err := s.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	got, err := s.Totals(ctx, analytics.TotalsQuery{From: start, To: start.Add(time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	if got.Flows != uint64(len(flows)) {
		t.Errorf("Totals() after reopening: %d flows, want %d", got.Flows, len(flows))
	}
	db, err := s.database()
	if err != nil {
		t.Fatal(err)
	}
	var versions, latest int
	if err := db.QueryRowContext(ctx, `SELECT count(*), max(version) FROM schema_migrations`).Scan(&versions, &latest); err != nil {
		t.Fatal(err)
	}
	if versions != len(migrations) || latest != len(migrations) {
		t.Errorf("schema_migrations: %d rows, latest %d; want %d and %d", versions, latest, len(migrations), len(migrations))
	}

	// A schema from a newer ixpd is refused, not downgraded.
	if _, err := db.ExecContext(ctx, `INSERT INTO schema_migrations VALUES (99, 'future', now()::TIMESTAMP)`); err != nil {
		t.Fatal(err)
	}
	if err := s.Migrate(ctx); err == nil {
		t.Errorf("Migrate() over schema version 99 succeeded, want an error")
	}
}

func TestOpenFails(t *testing.T) {
	file := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(file, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	s := newStore(t, filepath.Join(file, "ixpd.duckdb")) // a directory that is a file
	defer func() { _ = s.Close() }()
	if err := s.Migrate(t.Context()); !errors.Is(err, analytics.ErrUnavailable) {
		t.Errorf("Migrate() error = %v, want one wrapping ErrUnavailable", err)
	}
}

func TestMetrics(t *testing.T) {
	ctx := t.Context()
	reg := prometheus.NewRegistry()
	s := newStoreReg(t, memoryPath, reg)
	defer func() { _ = s.Close() }()
	if err := s.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	start := time.Date(2024, time.March, 10, 12, 0, 0, 0, time.UTC)
	flows := storetest.GenerateFlows(1, 500, start, time.Hour)
	if err := s.WriteFlows(ctx, flows); err != nil {
		t.Fatal(err)
	}
	rollupRows := len(aggregate(flows))
	flows[10].SrcCountry = "XYZ"
	if err := s.WriteFlows(ctx, flows); err == nil {
		t.Fatal("WriteFlows(bad batch) succeeded")
	}
	for _, c := range []struct {
		name string
		c    prometheus.Collector
		want float64
	}{
		{"rows_inserted_total{table=flows}", s.metrics.rowsInserted.WithLabelValues(tableFlows), 500},
		{"rows_inserted_total{table=flows_5m}", s.metrics.rowsInserted.WithLabelValues(tableRollup), float64(rollupRows)},
		{"errors_total{op=write}", s.metrics.errors.WithLabelValues(opWrite), 1},
		{"errors_total{op=totals}", s.metrics.errors.WithLabelValues(opTotals), 0},
	} {
		if got := testutil.ToFloat64(c.c); got != c.want {
			t.Errorf("%s = %v, want %v", c.name, got, c.want)
		}
	}
	if n := testutil.CollectAndCount(s.metrics.insertSeconds); n != 1 {
		t.Errorf("insert histogram: %d series, want 1", n)
	}
	// A second store on the same registry is refused.
	if _, err := New(slog.New(slog.DiscardHandler), reg, Configuration{Path: memoryPath}); err == nil {
		t.Errorf("New() on a registry that has the metrics succeeded, want an error")
	}
}

// TestCloseWhileWriting checks that Close does not wait on, or deadlock
// with, batches in flight, and that writers then see ErrUnavailable.
func TestCloseWhileWriting(t *testing.T) {
	ctx := t.Context()
	s := newStore(t, filepath.Join(t.TempDir(), "ixpd.duckdb"))
	if err := s.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	start := time.Date(2024, time.March, 10, 12, 0, 0, 0, time.UTC)
	batch := storetest.GenerateFlows(1, 2000, start, time.Hour)
	written := make(chan struct{}, 100)
	errs := make(chan error, 2)
	for range 2 {
		go func() {
			for {
				if err := s.WriteFlows(ctx, batch); err != nil {
					errs <- err
					return
				}
				select {
				case written <- struct{}{}:
				default:
				}
			}
		}()
	}
	<-written
	<-written
	if err := s.Close(); err != nil {
		t.Fatalf("Close() error: %v", err)
	}
	for range 2 {
		if err := <-errs; !errors.Is(err, analytics.ErrUnavailable) {
			t.Errorf("WriteFlows() during Close() error = %v, want one wrapping ErrUnavailable", err)
		}
	}
}
