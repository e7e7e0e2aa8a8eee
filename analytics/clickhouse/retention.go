package clickhouse

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/ixpd/ixpd/analytics"
)

// partitioning says how a table's partition IDs map to time: flows by
// UTC day (toYYYYMMDD), rollups, latency bins and session snapshots by UTC
// month (toYYYYMM).
type partitioning struct {
	table  string
	layout string                          // of the partition ID
	next   func(start time.Time) time.Time // end of the partition that begins at start
}

var (
	byDay      = partitioning{tableFlows, "20060102", func(t time.Time) time.Time { return t.AddDate(0, 0, 1) }}
	byMonth    = partitioning{tableFlows5m, "200601", func(t time.Time) time.Time { return t.AddDate(0, 1, 0) }}
	latencyBy  = partitioning{tableLatency, "200601", func(t time.Time) time.Time { return t.AddDate(0, 1, 0) }}
	sessionsBy = partitioning{tableSessions, "200601", func(t time.Time) time.Time { return t.AddDate(0, 1, 0) }}
)

// ApplyRetention drops the partitions that end at or before the cutoffs
// now − r.Raw (raw flows, partitioned by UTC day) and now − r.Rollup
// (rollups, latency bins and session snapshots, partitioned by UTC month:
// a month goes when all of it is past the cutoff, so they are kept up to a
// month longer than r.Rollup). A period that is not positive keeps
// everything. Dropping a partition is
// instant and frees its disk space at once; ClickHouse refuses to drop a
// partition larger than the server's max_partition_size_to_drop (50 GB by
// default).
//
// In a cluster it drops the partitions of the local tables of every
// server; a server that fails does not keep the others from theirs, and
// the next call drops what it left.
func (s *Store) ApplyRetention(ctx context.Context, now time.Time, r analytics.Retention) error {
	if err := s.usable(ctx); err != nil {
		return s.fail(opRetention, err)
	}
	var errs []error
	for _, n := range s.nodes {
		if err := s.retainNode(ctx, n, now, r); err != nil {
			if s.clustered() {
				err = fmt.Errorf("server %s: %w", n.addr, err)
			}
			errs = append(errs, err)
		}
	}
	if err := errors.Join(errs...); err != nil {
		return s.fail(opRetention, err)
	}
	return nil
}

func (s *Store) retainNode(ctx context.Context, n node, now time.Time, r analytics.Retention) error {
	for _, c := range []struct {
		p      partitioning
		period time.Duration
	}{{byDay, r.Raw}, {byMonth, r.Rollup}, {latencyBy, r.Rollup}, {sessionsBy, r.Rollup}} {
		if c.period <= 0 {
			continue
		}
		if err := s.dropBefore(ctx, n, c.p, now.Add(-c.period)); err != nil {
			return err
		}
	}
	return nil
}

// dropBefore drops the partitions of p's table on the server n (its local
// table in a cluster) that end at or before cutoff.
func (s *Store) dropBefore(ctx context.Context, n node, p partitioning, cutoff time.Time) error {
	table := s.localTable(p.table)
	ids, err := s.partitions(ctx, n, table)
	if err != nil {
		return err
	}
	var old []string
	for _, id := range ids {
		start, err := time.ParseInLocation(p.layout, id, time.UTC)
		if err != nil {
			return fmt.Errorf("partition %q of %s is not a %s partition: was the table changed by hand?", id, table, p.layout)
		}
		if !p.next(start).After(cutoff) {
			// Formatted from the parsed date: only digits reach the query.
			old = append(old, start.Format(p.layout))
		}
	}
	for _, id := range old {
		if err := n.conn.Exec(ctx, "ALTER TABLE "+s.table(table)+" DROP PARTITION ID ?", id); err != nil {
			return fmt.Errorf("drop partition %s of %s: %w", id, table, err)
		}
		s.metrics.partitionsDropped.WithLabelValues(p.table).Inc()
		s.logger.Info("partition dropped", "table", table, "partition", id, "cutoff", cutoff.UTC(), "server", n.addr)
	}
	return nil
}

// partitions lists the IDs of the table's partitions on the server n that
// have active parts.
func (s *Store) partitions(ctx context.Context, n node, table string) ([]string, error) {
	rows, err := n.conn.Query(ctx, "SELECT DISTINCT partition_id FROM system.parts"+
		" WHERE database = ? AND table = ? AND active ORDER BY partition_id", s.cfg.Database, table)
	if err != nil {
		return nil, fmt.Errorf("list partitions of %s: %w", table, err)
	}
	defer func() { _ = rows.Close() }()
	var ids []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, fmt.Errorf("list partitions of %s: %w", table, err)
		}
		ids = append(ids, id)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list partitions of %s: %w", table, err)
	}
	return ids, nil
}
