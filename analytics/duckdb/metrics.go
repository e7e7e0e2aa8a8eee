package duckdb

import (
	"fmt"

	"github.com/prometheus/client_golang/prometheus"
)

type metrics struct {
	rowsInserted  *prometheus.CounterVec
	rowsDeleted   *prometheus.CounterVec
	insertSeconds prometheus.Histogram
	errors        *prometheus.CounterVec
}

func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	m := &metrics{
		rowsInserted: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "ixpd_analytics_duckdb_rows_inserted_total",
			Help: "Rows written per table: raw flows appended, rollup rows merged, latency bins and session snapshots written.",
		}, []string{"table"}),
		rowsDeleted: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "ixpd_analytics_duckdb_rows_deleted_total",
			Help: "Rows deleted by retention per table.",
		}, []string{"table"}),
		insertSeconds: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "ixpd_analytics_duckdb_insert_seconds",
			Help:    "Time to write one batch of flows and its rollups, committed or not.",
			Buckets: prometheus.ExponentialBuckets(0.001, 2, 16),
		}),
		errors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "ixpd_analytics_duckdb_errors_total",
			Help: "Failed store operations (a failed batch stores nothing).",
		}, []string{"op"}),
	}
	for _, c := range []prometheus.Collector{m.rowsInserted, m.rowsDeleted, m.insertSeconds, m.errors} {
		if err := reg.Register(c); err != nil {
			return nil, fmt.Errorf("register duckdb store metrics: %w", err)
		}
	}
	for _, table := range []string{tableFlows, tableRollup, tableLatency, tableSessions} {
		m.rowsInserted.WithLabelValues(table)
		m.rowsDeleted.WithLabelValues(table)
	}
	for _, op := range []string{opMigrate, opWrite, opTotals, opSeries, opRawFlows, opRetention, opLatencyWrite, opLatencyRead,
		opSessionsWrite, opSessionsRead, opBackup} {
		m.errors.WithLabelValues(op)
	}
	return m, nil
}
