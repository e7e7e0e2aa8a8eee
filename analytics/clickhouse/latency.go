package clickhouse

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"

	"github.com/ixpd/ixpd/analytics"
)

// latencyColumns are the columns of the latency table, in the order of
// the slices that latencyColumnValues returns and of Latency's SELECT.
var latencyColumns = []string{
	"time", "target", "sent", "received",
	"min_ms", "median_ms", "mean_ms", "p95_ms", "max_ms",
	"jitter_ms", "jitter_sum_ms", "jitter_n", "buckets", "counts",
}

// WriteLatency writes the bins as one native INSERT block with an explicit
// column list. A (Target, Time) written again is a new row in a
// ReplacingMergeTree: merges keep the row inserted last, and Latency reads
// with FINAL, so that the last one is the only one seen even before they
// merge. Of several bins of the batch with the same (Target, Time), only
// the last is sent.
//
// Bins that the table cannot hold (see analytics.CheckLatencyBins) fail the whole batch
// before anything is sent. The server writes one part per month in the
// block; a server that dies in the middle of a block that spans two months
// can keep one of them.
func (s *Store) WriteLatency(ctx context.Context, bins []analytics.LatencyBin) error {
	if err := s.usable(ctx); err != nil {
		return s.fail(opLatencyWrite, err)
	}
	if len(bins) == 0 {
		return nil
	}
	if err := analytics.CheckLatencyBins(bins); err != nil {
		return s.fail(opLatencyWrite, err)
	}
	bins = analytics.LastLatencyBins(bins)
	batch, err := s.prepareBatch(ctx, tableLatency, latencyColumns)
	if err != nil {
		return s.fail(opLatencyWrite, err)
	}
	if err := appendLatency(batch, bins); err != nil {
		_ = batch.Abort()
		return s.fail(opLatencyWrite, err)
	}
	if err := batch.Send(); err != nil {
		return s.fail(opLatencyWrite, fmt.Errorf("send batch of %d latency bins: %w", len(bins), err))
	}
	s.metrics.rowsInserted.WithLabelValues(tableLatency).Add(float64(len(bins)))
	return nil
}

func appendLatency(batch driver.Batch, bins []analytics.LatencyBin) error {
	values := latencyColumnValues(bins)
	if len(values) != len(latencyColumns) {
		return fmt.Errorf("internal error: %d column values for %d columns", len(values), len(latencyColumns))
	}
	for i, v := range values {
		if err := batch.Column(i).Append(v); err != nil {
			return fmt.Errorf("append column %s: %w", latencyColumns[i], err)
		}
	}
	return nil
}

// latencyColumnValues turns bins into one slice per column of
// latencyColumns.
func latencyColumnValues(bins []analytics.LatencyBin) []any {
	n := len(bins)
	var (
		times                   = make([]time.Time, n)
		targets                 = make([]string, n)
		sent, received, jitterN = make([]uint32, n), make([]uint32, n), make([]uint32, n)
		minMs, medianMs, meanMs = make([]float64, n), make([]float64, n), make([]float64, n)
		p95Ms, maxMs            = make([]float64, n), make([]float64, n)
		jitterMs, jitterSumMs   = make([]float64, n), make([]float64, n)
		buckets                 = make([][]uint16, n)
		counts                  = make([][]uint32, n)
	)
	for i := range bins {
		b := &bins[i]
		times[i], targets[i] = b.Time, b.Target
		sent[i], received[i] = b.Sent, b.Received
		minMs[i], medianMs[i], meanMs[i], p95Ms[i], maxMs[i] = b.MinMs, b.MedianMs, b.MeanMs, b.P95Ms, b.MaxMs
		jitterMs[i], jitterSumMs[i], jitterN[i] = b.JitterMs, b.JitterSumMs, b.JitterN
		// The driver writes a nil slice as an empty array.
		buckets[i], counts[i] = b.Buckets, b.Counts
	}
	return []any{
		times, targets, sent, received,
		minMs, medianMs, meanMs, p95Ms, maxMs,
		jitterMs, jitterSumMs, jitterN, buckets, counts,
	}
}

// Latency reads the bins whose start is in [q.From, q.To) of q.Targets
// (every target when empty), sorted by target and time.
//
// The table is a ReplacingMergeTree that may still hold several rows of
// a (target, time) until their parts merge: the query reads it with
// FINAL, which merges them on the fly and keeps the one inserted last,
// the same choice as the background merge (18.16 and current releases
// alike). The WHERE clause uses only sorting key columns, so that it
// drops whole (target, time) groups, never the last row of one alone.
// argMax would need a version column to choose the last row by; FINAL
// needs none.
func (s *Store) Latency(ctx context.Context, q analytics.LatencyQuery) ([]analytics.LatencyBin, error) {
	if err := s.usable(ctx); err != nil {
		return nil, s.fail(opLatencyRead, err)
	}
	var query strings.Builder
	query.WriteString("SELECT toUInt32(time), target, sent, received, min_ms, median_ms, mean_ms, p95_ms, max_ms," +
		" jitter_ms, jitter_sum_ms, jitter_n, buckets, counts FROM " + s.table(tableLatency) + " FINAL" +
		" WHERE time >= toDateTime(?) AND time < toDateTime(?)")
	args := []any{unixSeconds(q.From), unixSeconds(q.To)}
	if len(q.Targets) > 0 {
		// One placeholder per target: the values are bound, and IN on
		// the first key column uses the primary index.
		query.WriteString(" AND target IN (?" + strings.Repeat(", ?", len(q.Targets)-1) + ")")
		for _, t := range q.Targets {
			args = append(args, t)
		}
	}
	query.WriteString(" ORDER BY target, time")

	start := time.Now()
	rows, err := s.conn.Query(ctx, query.String(), args...)
	if err != nil {
		return nil, s.fail(opLatencyRead, err)
	}
	defer func() { _ = rows.Close() }()
	var bins []analytics.LatencyBin
	for rows.Next() {
		var (
			b analytics.LatencyBin
			t uint32
		)
		if err := rows.Scan(&t, &b.Target, &b.Sent, &b.Received, &b.MinMs, &b.MedianMs, &b.MeanMs, &b.P95Ms,
			&b.MaxMs, &b.JitterMs, &b.JitterSumMs, &b.JitterN, &b.Buckets, &b.Counts); err != nil {
			return nil, s.fail(opLatencyRead, err)
		}
		b.Time = time.Unix(int64(t), 0).UTC()
		if len(b.Buckets) == 0 && len(b.Counts) == 0 {
			b.Buckets, b.Counts = nil, nil
		}
		bins = append(bins, b)
	}
	if err := rows.Err(); err != nil {
		return nil, s.fail(opLatencyRead, err)
	}
	s.metrics.querySeconds.WithLabelValues(opLatencyRead).Observe(time.Since(start).Seconds())
	return bins, nil
}
