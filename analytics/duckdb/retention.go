package duckdb

import (
	"context"
	"fmt"
	"time"

	"github.com/ixpd/ixpd/analytics"
)

// ApplyRetention deletes the UTC days of raw flows that end at or before
// now − r.Raw and the days of rollups, latency bins and session snapshots
// that end at or before now − r.Rollup.
// DuckDB has no partitions to drop: these are DELETEs on whole days, which
// its zone maps on day and bin keep cheap; the space is reused after the
// next checkpoint. A period of zero or less keeps that table forever.
func (s *Store) ApplyRetention(ctx context.Context, now time.Time, r analytics.Retention) error {
	db, err := s.database()
	if err != nil {
		return s.fail(opRetention, err)
	}
	s.writeMu.Lock()
	defer s.writeMu.Unlock()
	for _, d := range []struct {
		table  string
		keep   time.Duration
		delete string
	}{
		{tableFlows, r.Raw, `DELETE FROM flows WHERE day < DATE '1970-01-01' + $1::INTEGER`},
		{tableRollup, r.Rollup, `DELETE FROM flows_5m WHERE bin < make_timestamp($1::BIGINT * 86400000000)`},
		{tableLatency, r.Rollup, `DELETE FROM latency_5m WHERE time < make_timestamp($1::BIGINT * 86400000000)`},
		{tableSessions, r.Rollup, `DELETE FROM routeserver_sessions WHERE time < make_timestamp($1::BIGINT * 86400000000)`},
	} {
		if d.keep <= 0 {
			continue
		}
		cutoff := firstKeptDay(now, d.keep)
		res, err := db.ExecContext(ctx, d.delete, cutoff.Unix()/86400)
		if err != nil {
			return s.fail(opRetention, fmt.Errorf("%s before %s: %w", d.table, cutoff.Format(time.DateOnly), err))
		}
		n, err := res.RowsAffected()
		if err != nil {
			return s.fail(opRetention, fmt.Errorf("%s before %s: %w", d.table, cutoff.Format(time.DateOnly), err))
		}
		s.metrics.rowsDeleted.WithLabelValues(d.table).Add(float64(n))
		if n > 0 {
			s.logger.Info("retention applied", "table", d.table, "before", cutoff.Format(time.DateOnly), "rows", n)
		}
	}
	return nil
}

// firstKeptDay is the start of the UTC day that holds now − keep: the days
// before it end at or before now − keep.
func firstKeptDay(now time.Time, keep time.Duration) time.Time {
	t := now.Add(-keep).UTC()
	return time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, time.UTC)
}
