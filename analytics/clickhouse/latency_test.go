package clickhouse_test

import (
	"slices"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/ixpd/ixpd/analytics"
	"github.com/ixpd/ixpd/analytics/clickhouse/chtest"
	"github.com/ixpd/ixpd/analytics/storetest"
)

// TestLatencyReplaceBeforeMerge writes bins again while merges are
// stopped, so that the table holds every version of them in separate
// parts: reads must show only the last, before and after the merge.
func TestLatencyReplaceBeforeMerge(t *testing.T) {
	srv := chtest.Shared(t)
	s := open(t, srv, nil)
	ctx := t.Context()
	if err := s.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	conn := srv.Conn(t)
	table := dbOf(t, s) + ".latency_5m"
	if err := conn.Exec(ctx, "SYSTEM STOP MERGES "+table); err != nil {
		t.Fatal(err)
	}
	// Two days across the end of a month: two partitions.
	start := time.Date(2024, time.March, 31, 0, 0, 0, 0, time.UTC)
	latest := map[string]analytics.LatencyBin{}
	key := func(b analytics.LatencyBin) string { return b.Target + "@" + b.Time.Format(time.RFC3339) }
	var rows uint64
	for v := range uint64(4) {
		bins := storetest.GenerateLatency(100+v, storetest.LatencyTargets, start, 2*288)
		if v > 0 {
			// Each version rewrites a different share of the bins.
			bins = slices.DeleteFunc(bins, func(b analytics.LatencyBin) bool { return b.Time.Unix()/300%int64(v+1) != 0 })
		}
		if err := s.WriteLatency(ctx, bins); err != nil {
			t.Fatal(err)
		}
		rows += uint64(len(bins))
		for _, b := range bins {
			latest[key(b)] = b
		}
	}
	var stored, parts uint64
	if err := conn.QueryRow(ctx, "SELECT count() FROM "+table).Scan(&stored); err != nil {
		t.Fatal(err)
	}
	err := conn.QueryRow(ctx, "SELECT count() FROM system.parts WHERE database = ? AND table = 'latency_5m' AND active",
		dbOf(t, s)).Scan(&parts)
	if err != nil {
		t.Fatal(err)
	}
	if stored != rows || parts != 8 {
		t.Fatalf("unmerged table: %d rows in %d parts, want %d rows in 8 parts (merges should be stopped)", stored, parts, rows)
	}

	want := make([]analytics.LatencyBin, 0, len(latest))
	for _, b := range latest {
		if len(b.Buckets) == 0 {
			b.Buckets, b.Counts = nil, nil
		}
		want = append(want, b)
	}
	slices.SortFunc(want, func(a, b analytics.LatencyBin) int {
		if a.Target != b.Target {
			if a.Target < b.Target {
				return -1
			}
			return 1
		}
		return a.Time.Compare(b.Time)
	})
	check := func(t *testing.T) {
		t.Helper()
		got, err := s.Latency(ctx, analytics.LatencyQuery{From: start, To: start.Add(48 * time.Hour)})
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(got, want); diff != "" {
			t.Errorf("Latency() (-got +want):\n%s", diff)
		}
		got, err = s.Latency(ctx, analytics.LatencyQuery{From: start.Add(23 * time.Hour), To: start.Add(25 * time.Hour),
			Targets: []string{"Zagreb"}})
		if err != nil {
			t.Fatal(err)
		}
		var wantZ []analytics.LatencyBin
		for _, b := range want {
			if b.Target == "Zagreb" && !b.Time.Before(start.Add(23*time.Hour)) && b.Time.Before(start.Add(25*time.Hour)) {
				wantZ = append(wantZ, b)
			}
		}
		if diff := cmp.Diff(got, wantZ); diff != "" {
			t.Errorf("Latency(Zagreb, 2 h) (-got +want):\n%s", diff)
		}
	}
	t.Run("unmerged", check)

	if err := conn.Exec(ctx, "SYSTEM START MERGES "+table); err != nil {
		t.Fatal(err)
	}
	if err := conn.Exec(ctx, "OPTIMIZE TABLE "+table+" FINAL"); err != nil {
		t.Fatal(err)
	}
	if err := conn.QueryRow(ctx, "SELECT count() FROM "+table).Scan(&stored); err != nil {
		t.Fatal(err)
	}
	if stored != uint64(len(want)) {
		t.Errorf("merged table: %d rows, want %d (one per target and bin)", stored, len(want))
	}
	t.Run("merged", check)
}
