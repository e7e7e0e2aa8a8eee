package clickhouse

import (
	"fmt"

	"github.com/prometheus/client_golang/prometheus"
)

// Operations, the values of the op label.
const (
	opMigrate   = "migrate"
	opWrite     = "write"
	opTotals    = "totals"
	opSeries    = "series"
	opRawFlows  = "raw_flows"
	opRetention = "retention"

	opLatencyWrite  = "latency_write"
	opLatencyRead   = "latency_read"
	opSessionsWrite = "sessions_write"
	opSessionsRead  = "sessions_read"
)

type metrics struct {
	rowsInserted      *prometheus.CounterVec
	rowsFailed        prometheus.Counter
	insertSeconds     prometheus.Histogram
	querySeconds      *prometheus.HistogramVec
	errors            *prometheus.CounterVec
	partitionsDropped *prometheus.CounterVec
}

func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	const ns, sub = "ixpd", "analytics_clickhouse"
	m := &metrics{
		rowsInserted: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: ns, Subsystem: sub, Name: "rows_inserted_total",
			Help: "Rows inserted per table (flows, latency bins and session snapshots; the rollups are filled by the server's materialized view).",
		}, []string{"table"}),
		rowsFailed: prometheus.NewCounter(prometheus.CounterOpts{
			Namespace: ns, Subsystem: sub, Name: "rows_failed_total",
			Help: "Raw flow rows in batches that failed, rejected or not (see errors_total).",
		}),
		insertSeconds: prometheus.NewHistogram(prometheus.HistogramOpts{
			Namespace: ns, Subsystem: sub, Name: "insert_seconds",
			Help:    "Time to write one batch of flows (one native INSERT block), successful batches only.",
			Buckets: prometheus.ExponentialBuckets(0.001, 2, 16),
		}),
		querySeconds: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: ns, Subsystem: sub, Name: "query_seconds",
			Help:    "Time to answer a read query, by op.",
			Buckets: prometheus.ExponentialBuckets(0.001, 2, 16),
		}, []string{"op"}),
		errors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: ns, Subsystem: sub, Name: "errors_total",
			Help: "Failed store operations, by op and kind (unavailable: the server could not be reached or was overloaded; other).",
		}, []string{"op", "kind"}),
		partitionsDropped: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: ns, Subsystem: sub, Name: "partitions_dropped_total",
			Help: "Partitions dropped by retention, by table.",
		}, []string{"table"}),
	}
	for _, op := range []string{opMigrate, opWrite, opTotals, opSeries, opRawFlows, opRetention, opLatencyWrite, opLatencyRead,
		opSessionsWrite, opSessionsRead} {
		for _, kind := range []string{"unavailable", "other"} {
			m.errors.WithLabelValues(op, kind)
		}
	}
	for _, op := range []string{opTotals, opSeries, opRawFlows, opLatencyRead, opSessionsRead} {
		m.querySeconds.WithLabelValues(op)
	}
	for _, table := range []string{tableFlows, tableLatency, tableSessions} {
		m.rowsInserted.WithLabelValues(table)
	}
	for _, table := range []string{tableFlows, tableFlows5m, tableLatency, tableSessions} {
		m.partitionsDropped.WithLabelValues(table)
	}
	if reg == nil {
		return m, nil
	}
	for _, c := range []prometheus.Collector{m.rowsInserted, m.rowsFailed, m.insertSeconds, m.querySeconds,
		m.errors, m.partitionsDropped} {
		if err := reg.Register(c); err != nil {
			return nil, fmt.Errorf("register clickhouse store metrics: %w", err)
		}
	}
	return m, nil
}
