package clickhouse_test

import (
	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"

	"errors"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/ixpd/ixpd/analytics"
	"github.com/ixpd/ixpd/analytics/clickhouse"
	"github.com/ixpd/ixpd/analytics/clickhouse/chtest"
	"github.com/ixpd/ixpd/analytics/storetest"
	"github.com/ixpd/ixpd/flow"
)

func TestMain(m *testing.M) { chtest.Main(m) }

var _ storetest.RawReader = (*clickhouse.Store)(nil)

// open returns a store over a fresh database of srv, closed when t ends.
func open(t testing.TB, srv *chtest.Server, reg prometheus.Registerer) *clickhouse.Store {
	t.Helper()
	cfg := clickhouse.DefaultConfiguration()
	cfg.Addr = srv.Addr
	cfg.Database = srv.NewDatabase(t)
	cfg.DialTimeout = 2 * time.Second
	cfg.ReadTimeout = 10 * time.Second
	return openConfig(t, cfg, reg)
}

func TestStoreSuite(t *testing.T) {
	srv := chtest.Shared(t)
	storetest.Run(t, func(t *testing.T) analytics.Store {
		cfg := clickhouse.DefaultConfiguration()
		cfg.Addr = srv.Addr
		cfg.Database = srv.NewDatabase(t)
		s, err := clickhouse.New(slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelWarn})),
			prometheus.NewRegistry(), cfg)
		if err != nil {
			t.Fatalf("New() error: %v", err)
		}
		return s
	})
}

func TestMigrate(t *testing.T) {
	srv := chtest.Shared(t)
	s := open(t, srv, nil)
	for i := range 3 {
		if err := s.Migrate(t.Context()); err != nil {
			t.Fatalf("Migrate() #%d error: %v", i+1, err)
		}
	}
	if s.ServerVersion() == "" {
		t.Fatal("ServerVersion() is empty after Migrate")
	}
	t.Logf("server version %s", s.ServerVersion())

	conn := srv.Conn(t)
	tables := tablesOf(t, conn, dbOf(t, s))
	for name, want := range map[string][]string{
		"schema_migrations":    {"MergeTree"},
		"flows":                {"MergeTree", "PARTITION BY toYYYYMMDD(time_received)"},
		"flows_5m":             {"SummingMergeTree", "PARTITION BY toYYYYMM(bin)"},
		"flows_5m_mv":          {"MaterializedView"},
		"latency_5m":           {"ReplacingMergeTree", "PARTITION BY toYYYYMM(time)", "ORDER BY (target, time)"},
		"routeserver_sessions": {"ReplacingMergeTree", "PARTITION BY toYYYYMM(time)", "ORDER BY (time, address)"},
	} {
		got, ok := tables[name]
		if !ok {
			t.Errorf("table %s missing after Migrate (have %v)", name, tables)
			continue
		}
		for _, w := range want {
			if !strings.Contains(got, w) {
				t.Errorf("table %s: engine %q does not contain %q", name, got, w)
			}
		}
	}

	// Each migration is recorded once, however often Migrate ran.
	var versions []uint32
	rows, err := conn.Query(t.Context(), "SELECT version FROM "+dbOf(t, s)+".schema_migrations ORDER BY version")
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var v uint32
		if err := rows.Scan(&v); err != nil {
			t.Fatal(err)
		}
		versions = append(versions, v)
	}
	if err := rows.Close(); err != nil {
		t.Fatal(err)
	}
	want := []uint32{1, 2, 4, 5}
	if !clickhouse.PreLowCardinality(s.ServerVersion()) {
		want = []uint32{1, 2, 3, 4, 5}
	}
	if !slices.Equal(versions, want) {
		t.Errorf("schema_migrations versions = %v, want %v (server %s)", versions, want, s.ServerVersion())
	}
}

// dbOf returns the store's database name.
func dbOf(t testing.TB, s *clickhouse.Store) string {
	t.Helper()
	return clickhouse.DatabaseOf(s)
}

// TestUnavailable kills the server under a store: every method then fails
// with an error wrapping analytics.ErrUnavailable; after a restart the
// same store writes again.
func TestUnavailable(t *testing.T) {
	srv := chtest.Start(t)
	reg := prometheus.NewRegistry()
	s := open(t, srv, reg)
	ctx := t.Context()
	if err := s.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	base := time.Date(2024, time.March, 10, 21, 0, 0, 0, time.UTC)
	first := storetest.GenerateFlows(1, 1000, base, time.Hour)
	if err := s.WriteFlows(ctx, first); err != nil {
		t.Fatal(err)
	}

	srv.Kill(t)
	everything := analytics.TotalsQuery{From: base.AddDate(-1, 0, 0), To: base.AddDate(1, 0, 0)}
	second := storetest.GenerateFlows(2, 1000, base, time.Hour)
	for name, call := range map[string]func() error{
		"WriteFlows": func() error { return s.WriteFlows(ctx, second) },
		"Totals":     func() error { _, err := s.Totals(ctx, everything); return err },
		"Series": func() error {
			_, err := s.Series(ctx, analytics.SeriesQuery{From: everything.From, To: everything.To,
				Step: analytics.BinSize, GroupBy: analytics.GroupNone})
			return err
		},
		"RawFlows":       func() error { _, err := s.RawFlows(ctx, everything.From, everything.To); return err },
		"ApplyRetention": func() error { return s.ApplyRetention(ctx, base, analytics.DefaultRetention) },
		"Migrate":        func() error { return s.Migrate(ctx) },
		"WriteLatency": func() error {
			return s.WriteLatency(ctx, storetest.GenerateLatency(1, storetest.LatencyTargets, base, 3))
		},
		"Latency": func() error {
			_, err := s.Latency(ctx, analytics.LatencyQuery{From: everything.From, To: everything.To})
			return err
		},
		"WriteSessions": func() error {
			return s.WriteSessions(ctx, storetest.GenerateSessions(1, storetest.SessionAddresses, base, time.Hour, 1))
		},
		"Sessions": func() error {
			_, err := s.Sessions(ctx, analytics.SessionQuery{From: everything.From, To: everything.To})
			return err
		},
	} {
		err := call()
		if !errors.Is(err, analytics.ErrUnavailable) {
			t.Errorf("%s() with the server down: error %v, want one wrapping analytics.ErrUnavailable", name, err)
		}
	}
	for _, op := range []string{"write", "latency_write", "latency_read", "sessions_write", "sessions_read"} {
		if got := counterValue(t, reg, "ixpd_analytics_clickhouse_errors_total", op, "unavailable"); got != 1 {
			t.Errorf("errors_total{op=%s,kind=unavailable} = %v, want 1", op, got)
		}
	}

	srv.Restart(t)
	if err := s.WriteFlows(ctx, second); err != nil {
		t.Fatalf("WriteFlows() after the server restarted: %v", err)
	}
	// A restart while the store is idle leaves dead connections in its
	// pool: the next write must not fail on them.
	srv.Restart(t)
	third := storetest.GenerateFlows(3, 1000, base, time.Hour)
	if err := s.WriteFlows(ctx, third); err != nil {
		t.Fatalf("WriteFlows() after an idle restart: %v", err)
	}
	got, err := s.Totals(ctx, everything)
	if err != nil {
		t.Fatal(err)
	}
	if got.Flows != 3000 {
		t.Errorf("Totals() after restarts: %d flows, want 3000", got.Flows)
	}
}

func TestMetrics(t *testing.T) {
	srv := chtest.Shared(t)
	reg := prometheus.NewRegistry()
	s := open(t, srv, reg)
	if err := s.Migrate(t.Context()); err != nil {
		t.Fatal(err)
	}
	base := time.Date(2024, time.March, 10, 21, 0, 0, 0, time.UTC)
	if err := s.WriteFlows(t.Context(), storetest.GenerateFlows(1, 1234, base, time.Hour)); err != nil {
		t.Fatal(err)
	}
	bad := storetest.GenerateFlows(2, 10, base, time.Hour)
	bad[3].SrcCountry = "XYZ"
	if err := s.WriteFlows(t.Context(), bad); err == nil {
		t.Fatal("WriteFlows(bad country) succeeded")
	}
	// 2 targets × 3 bins, and one of them again: 6 rows sent.
	bins := storetest.GenerateLatency(3, []string{"a", "b"}, base.AddDate(0, -2, 0), 3)
	bins = append(bins, bins[0])
	if err := s.WriteLatency(t.Context(), bins); err != nil {
		t.Fatal(err)
	}
	bins[0].Time = bins[0].Time.Add(time.Second)
	if err := s.WriteLatency(t.Context(), bins); err == nil {
		t.Fatal("WriteLatency(unaligned bin) succeeded")
	}
	if _, err := s.Latency(t.Context(), analytics.LatencyQuery{From: base.AddDate(-1, 0, 0), To: base}); err != nil {
		t.Fatal(err)
	}
	// 2 addresses × 2 times, and one of them again: 4 rows sent.
	snaps := storetest.GenerateSessions(4, []string{"192.0.2.1", "2001:db8::1"}, base.AddDate(0, -2, 0), time.Hour, 2)
	snaps = append(snaps, snaps[0])
	if err := s.WriteSessions(t.Context(), snaps); err != nil {
		t.Fatal(err)
	}
	snaps[0].Address = ""
	if err := s.WriteSessions(t.Context(), snaps); err == nil {
		t.Fatal("WriteSessions(empty address) succeeded")
	}
	if _, err := s.Sessions(t.Context(), analytics.SessionQuery{From: base.AddDate(-1, 0, 0), To: base}); err != nil {
		t.Fatal(err)
	}
	if err := s.ApplyRetention(t.Context(), base.AddDate(0, 0, 40), analytics.Retention{Raw: 30 * 24 * time.Hour,
		Rollup: 60 * 24 * time.Hour}); err != nil {
		t.Fatal(err)
	}
	want := `
# HELP ixpd_analytics_clickhouse_partitions_dropped_total Partitions dropped by retention, by table.
# TYPE ixpd_analytics_clickhouse_partitions_dropped_total counter
ixpd_analytics_clickhouse_partitions_dropped_total{table="flows"} 1
ixpd_analytics_clickhouse_partitions_dropped_total{table="flows_5m"} 0
ixpd_analytics_clickhouse_partitions_dropped_total{table="latency_5m"} 1
ixpd_analytics_clickhouse_partitions_dropped_total{table="routeserver_sessions"} 1
# HELP ixpd_analytics_clickhouse_rows_failed_total Raw flow rows in batches that failed, rejected or not (see errors_total).
# TYPE ixpd_analytics_clickhouse_rows_failed_total counter
ixpd_analytics_clickhouse_rows_failed_total 10
# HELP ixpd_analytics_clickhouse_rows_inserted_total Rows inserted per table (flows, latency bins and session snapshots; the rollups are filled by the server's materialized view).
# TYPE ixpd_analytics_clickhouse_rows_inserted_total counter
ixpd_analytics_clickhouse_rows_inserted_total{table="flows"} 1234
ixpd_analytics_clickhouse_rows_inserted_total{table="latency_5m"} 6
ixpd_analytics_clickhouse_rows_inserted_total{table="routeserver_sessions"} 4
`
	err := testutil.GatherAndCompare(reg, strings.NewReader(want),
		"ixpd_analytics_clickhouse_rows_inserted_total", "ixpd_analytics_clickhouse_rows_failed_total",
		"ixpd_analytics_clickhouse_partitions_dropped_total")
	if err != nil {
		t.Error(err)
	}
	for _, op := range []string{"write", "latency_write", "sessions_write"} {
		if got := counterValue(t, reg, "ixpd_analytics_clickhouse_errors_total", op, "other"); got != 1 {
			t.Errorf("errors_total{op=%s,kind=other} = %v, want 1", op, got)
		}
	}
	if n := testutil.CollectAndCount(reg, "ixpd_analytics_clickhouse_query_seconds"); n != 5 {
		t.Errorf("query_seconds: %d series, want 5 (totals, series, raw_flows, latency_read, sessions_read)", n)
	}
	if n := testutil.CollectAndCount(reg, "ixpd_analytics_clickhouse_insert_seconds"); n != 1 {
		t.Errorf("insert_seconds: %d series, want 1", n)
	}
}

// TestWriteFlowsOneFlowPerRow checks the raw table and the rollups after a
// write, straight in SQL: one raw row per flow, and rollup sums that match
// once ClickHouse has merged the parts.
func TestWriteFlowsOneFlowPerRow(t *testing.T) {
	srv := chtest.Shared(t)
	s := open(t, srv, nil)
	if err := s.Migrate(t.Context()); err != nil {
		t.Fatal(err)
	}
	base := time.Date(2024, time.March, 10, 21, 0, 0, 0, time.UTC)
	var flows []flow.Flow
	for i := range 3 {
		batch := storetest.GenerateFlows(uint64(i), 5000, base, time.Hour)
		if err := s.WriteFlows(t.Context(), batch); err != nil {
			t.Fatal(err)
		}
		flows = append(flows, batch...)
	}
	conn := srv.Conn(t)
	db := dbOf(t, s)
	if err := conn.Exec(t.Context(), "OPTIMIZE TABLE "+db+".flows_5m FINAL"); err != nil {
		t.Fatal(err)
	}
	var raw, rolled uint64
	if err := conn.QueryRow(t.Context(), "SELECT count() FROM "+db+".flows").Scan(&raw); err != nil {
		t.Fatal(err)
	}
	if err := conn.QueryRow(t.Context(), "SELECT sum(flows) FROM "+db+".flows_5m").Scan(&rolled); err != nil {
		t.Fatal(err)
	}
	if raw != uint64(len(flows)) || rolled != uint64(len(flows)) {
		t.Errorf("raw rows %d, rollup flows %d, want %d each", raw, rolled, len(flows))
	}
	// Merged, the rollup has one row per key and bin.
	var dup uint64
	err := conn.QueryRow(t.Context(), "SELECT count() FROM (SELECT bin, role, ixp_exchanged, domestic, path_class,"+
		" src_member, dst_member, family, exporter, count() AS n FROM "+db+".flows_5m"+
		" GROUP BY bin, role, ixp_exchanged, domestic, path_class, src_member, dst_member, family, exporter HAVING n > 1)").Scan(&dup)
	if err != nil {
		t.Fatal(err)
	}
	if dup != 0 {
		t.Errorf("%d rollup keys still have several rows after OPTIMIZE FINAL", dup)
	}
}

// counterValue returns the value of the errors counter with the given
// op and kind labels.
func counterValue(t testing.TB, reg *prometheus.Registry, name, op, kind string) float64 {
	t.Helper()
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range families {
		if mf.GetName() != name {
			continue
		}
		for _, m := range mf.GetMetric() {
			labels := map[string]string{}
			for _, l := range m.GetLabel() {
				labels[l.GetName()] = l.GetValue()
			}
			if labels["op"] == op && labels["kind"] == kind {
				return m.GetCounter().GetValue()
			}
		}
	}
	t.Fatalf("no %s{op=%q,kind=%q}", name, op, kind)
	return 0
}

// TestMigrateConcurrently migrates one fresh database from several stores
// at once, as several ixpd processes starting together would.
func TestMigrateConcurrently(t *testing.T) {
	srv := chtest.Shared(t)
	first := open(t, srv, nil)
	db := dbOf(t, first)
	stores := []*clickhouse.Store{first}
	for range 3 {
		cfg := clickhouse.DefaultConfiguration()
		cfg.Addr, cfg.Database = srv.Addr, db
		s, err := clickhouse.New(nil, prometheus.NewRegistry(), cfg)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = s.Close() })
		stores = append(stores, s)
	}
	errs := make([]error, len(stores))
	var wg sync.WaitGroup
	for i, s := range stores {
		wg.Go(func() { errs[i] = s.Migrate(t.Context()) })
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		t.Fatalf("concurrent Migrate: %v", err)
	}
	base := time.Date(2024, time.March, 10, 21, 0, 0, 0, time.UTC)
	flows := storetest.GenerateFlows(1, 100, base, time.Hour)
	if err := stores[1].WriteFlows(t.Context(), flows); err != nil {
		t.Fatal(err)
	}
	got, err := stores[2].Series(t.Context(), analytics.SeriesQuery{From: base, To: base.Add(time.Hour),
		Step: time.Hour, GroupBy: analytics.GroupNone})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got[0].Flows != 100 {
		t.Errorf("Series() after concurrent Migrate = %+v, want one point of 100 flows (the view must exist once)", got)
	}
}

// tablesOf maps each table of database db to its engine and full engine
// clause.
func tablesOf(t *testing.T, conn driver.Conn, db string) map[string]string {
	t.Helper()
	tables := map[string]string{}
	rows, err := conn.Query(t.Context(), "SELECT name, engine, engine_full FROM system.tables WHERE database = ?", db)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var name, engine, full string
		if err := rows.Scan(&name, &engine, &full); err != nil {
			t.Fatal(err)
		}
		tables[name] = engine + " " + full
	}
	if err := rows.Close(); err != nil {
		t.Fatal(err)
	}
	return tables
}
