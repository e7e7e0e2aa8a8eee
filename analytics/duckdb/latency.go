package duckdb

import (
	"context"
	"database/sql/driver"
	"errors"
	"fmt"
	"strings"
	"time"

	duckdb "github.com/duckdb/duckdb-go/v2"

	"github.com/ixpd/ixpd/analytics"
)

// deleteLatencySQL deletes the rows of latency_5m whose (target, time) is
// in the query appender's table "batch".
const deleteLatencySQL = `DELETE FROM latency_5m AS l USING batch AS b
WHERE l.target = b.target AND l.time = b.time`

// WriteLatency stores the bins in one transaction: it deletes the rows of
// the bins' (Target, Time) pairs and appends the bins, so that a bin
// written again replaces the old one; on any error nothing of the batch is
// stored. Of several bins of the batch with the same (Target, Time), only
// the last is stored.
func (s *Store) WriteLatency(ctx context.Context, bins []analytics.LatencyBin) error {
	if err := analytics.CheckLatencyBins(bins); err != nil {
		return s.fail(opLatencyWrite, err)
	}
	bins = analytics.LastLatencyBins(bins)
	return s.replaceRows(ctx, opLatencyWrite, tableLatency, len(bins), "latency bins",
		func(c driver.Conn) error { return deleteLatency(ctx, c, bins) },
		func(c driver.Conn) error { return appendLatency(ctx, c, bins) })
}

// replaceRows deletes rows of table and appends n new ones in one
// transaction, under the write lock: del deletes the rows the new ones
// replace, app appends them. On any error nothing is changed.
func (s *Store) replaceRows(ctx context.Context, op, table string, n int, what string, del, app func(driver.Conn) error) error {
	db, err := s.database()
	if err != nil {
		return s.fail(op, err)
	}
	if n == 0 {
		return nil
	}
	s.writeMu.Lock()
	defer s.writeMu.Unlock()
	conn, err := db.Conn(ctx)
	if err != nil {
		return s.fail(op, fmt.Errorf("get connection: %w", err))
	}
	defer func() { _ = conn.Close() }() // back to the pool; fails only when already closed
	err = conn.Raw(func(dc any) error {
		c, ok := dc.(driver.Conn)
		if !ok {
			return fmt.Errorf("unexpected driver connection %T", dc)
		}
		return inTx(ctx, c, func() error {
			if err := del(c); err != nil {
				return fmt.Errorf("delete from %s: %w", table, err)
			}
			if err := app(c); err != nil {
				return fmt.Errorf("append to %s: %w", table, err)
			}
			return nil
		})
	})
	if err != nil {
		return s.fail(op, fmt.Errorf("batch of %d %s: %w", n, what, err))
	}
	s.metrics.rowsInserted.WithLabelValues(table).Add(float64(n))
	return nil
}

// deleteLatency feeds the bins' keys to deleteLatencySQL.
func deleteLatency(ctx context.Context, c driver.Conn, bins []analytics.LatencyBin) error {
	var types []duckdb.TypeInfo
	for _, t := range []duckdb.Type{duckdb.TYPE_VARCHAR, duckdb.TYPE_TIMESTAMP} {
		ti, err := duckdb.NewTypeInfo(t)
		if err != nil {
			return err
		}
		types = append(types, ti)
	}
	a, err := duckdb.NewQueryAppender(c, deleteLatencySQL, "batch", types, []string{"target", "time"})
	if err != nil {
		return err
	}
	for i := range bins {
		if err := a.AppendRow(bins[i].Target, bins[i].Time.UTC()); err != nil {
			return errors.Join(err, a.Close())
		}
	}
	return a.CloseWithCancel(ctx)
}

func appendLatency(ctx context.Context, c driver.Conn, bins []analytics.LatencyBin) error {
	a, err := duckdb.NewAppenderFromConn(c, "", tableLatency)
	if err != nil {
		return err
	}
	for i := range bins {
		b := &bins[i]
		buckets, counts := b.Buckets, b.Counts
		if len(buckets) == 0 { // checked: so is counts
			buckets, counts = []uint16{}, []uint32{}
		}
		if err := a.AppendRow(b.Time.UTC(), b.Target, b.Sent, b.Received,
			b.MinMs, b.MedianMs, b.MeanMs, b.P95Ms, b.MaxMs,
			b.JitterMs, b.JitterSumMs, b.JitterN, buckets, counts); err != nil {
			return errors.Join(fmt.Errorf("bin %d: %w", i, err), a.Close())
		}
	}
	return a.CloseWithCancel(ctx)
}

// ceilMicro is t in Unix microseconds, rounded up: the stored bin starts
// are whole microseconds, so that t ≤ start ⇔ ceilMicro(t) ≤ start.
func ceilMicro(t time.Time) int64 {
	us := t.UnixMicro()
	if t.Nanosecond()%1000 != 0 {
		us++
	}
	return us
}

// Latency reads the bins whose start is in [q.From, q.To) of q.Targets
// (every target when empty), sorted by target (bytewise) and time.
func (s *Store) Latency(ctx context.Context, q analytics.LatencyQuery) ([]analytics.LatencyBin, error) {
	db, err := s.database()
	if err != nil {
		return nil, s.fail(opLatencyRead, err)
	}
	var query strings.Builder
	query.WriteString(`SELECT epoch_us(time), target, sent, received, min_ms, median_ms, mean_ms, p95_ms, max_ms,
			jitter_ms, jitter_sum_ms, jitter_n, buckets, counts
		FROM latency_5m
		WHERE time >= make_timestamp($1) AND time < make_timestamp($2)`)
	args := []any{ceilMicro(q.From), ceilMicro(q.To)}
	if len(q.Targets) > 0 {
		// One placeholder per target: the values are bound.
		query.WriteString(" AND target IN (")
		for i, t := range q.Targets {
			args = append(args, t)
			if i > 0 {
				query.WriteString(", ")
			}
			fmt.Fprintf(&query, "$%d", len(args))
		}
		query.WriteString(")")
	}
	query.WriteString(" ORDER BY target, time")
	rows, err := db.QueryContext(ctx, query.String(), args...)
	if err != nil {
		return nil, s.fail(opLatencyRead, err)
	}
	defer func() { _ = rows.Close() }() // rows.Err reports read errors
	var bins []analytics.LatencyBin
	for rows.Next() {
		var (
			b               analytics.LatencyBin
			t               int64
			buckets, counts any
		)
		if err := rows.Scan(&t, &b.Target, &b.Sent, &b.Received, &b.MinMs, &b.MedianMs, &b.MeanMs, &b.P95Ms,
			&b.MaxMs, &b.JitterMs, &b.JitterSumMs, &b.JitterN, &buckets, &counts); err != nil {
			return nil, s.fail(opLatencyRead, err)
		}
		b.Time = time.UnixMicro(t).UTC()
		if b.Buckets, err = listOf[uint16](buckets); err == nil {
			b.Counts, err = listOf[uint32](counts)
		}
		if err != nil {
			return nil, s.fail(opLatencyRead, fmt.Errorf("%s at %s: %w", b.Target, b.Time, err))
		}
		bins = append(bins, b)
	}
	if err := rows.Err(); err != nil {
		return nil, s.fail(opLatencyRead, err)
	}
	return bins, nil
}

// listOf converts a LIST value as the driver scans it ([]any) into a
// slice of T; an empty list gives nil.
func listOf[T uint16 | uint32](v any) ([]T, error) {
	list, ok := v.([]any)
	if !ok {
		return nil, fmt.Errorf("list of %T, want []any", v)
	}
	if len(list) == 0 {
		return nil, nil
	}
	out := make([]T, len(list))
	for i, e := range list {
		x, ok := e.(T)
		if !ok {
			var want T
			return nil, fmt.Errorf("list element %d is %T, want %T", i, e, want)
		}
		out[i] = x
	}
	return out, nil
}
