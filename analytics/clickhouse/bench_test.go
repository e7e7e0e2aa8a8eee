package clickhouse_test

import (
	"fmt"
	"log/slog"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/ixpd/ixpd/analytics/clickhouse"
	"github.com/ixpd/ixpd/analytics/clickhouse/chtest"
	"github.com/ixpd/ixpd/analytics/storetest"
)

// BenchmarkWriteFlows writes native batches of 10k and 100k generated flows
// (one minute of traffic each, so one partition) into a fresh database,
// with and without LZ4 compression of the blocks, and reports flows/s.
func BenchmarkWriteFlows(b *testing.B) {
	srv := chtest.Shared(b)
	base := time.Date(2024, time.March, 10, 21, 0, 0, 0, time.UTC)
	for _, size := range []int{10_000, 100_000} {
		flows := storetest.GenerateFlows(1, size, base, time.Minute)
		for _, compress := range []bool{false, true} {
			b.Run(fmt.Sprintf("batch=%d/compress=%t", size, compress), func(b *testing.B) {
				cfg := clickhouse.DefaultConfiguration()
				cfg.Addr = srv.Addr
				cfg.Database = srv.NewDatabase(b)
				cfg.Compress = compress
				s, err := clickhouse.New(slog.New(slog.DiscardHandler), prometheus.NewRegistry(), cfg)
				if err != nil {
					b.Fatal(err)
				}
				defer func() { _ = s.Close() }()
				if err := s.Migrate(b.Context()); err != nil {
					b.Fatal(err)
				}
				for b.Loop() {
					if err := s.WriteFlows(b.Context(), flows); err != nil {
						b.Fatal(err)
					}
				}
				b.ReportMetric(float64(b.N)*float64(size)/b.Elapsed().Seconds(), "flows/s")
			})
		}
	}
}
