package duckdb

import (
	"context"
	"database/sql/driver"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"testing"
	"time"

	duckdb "github.com/duckdb/duckdb-go/v2"

	"github.com/ixpd/ixpd/analytics/storetest"
	"github.com/ixpd/ixpd/flow"
)

// Reproduce with:
//
//	go test -run '^$' -bench BenchmarkWriteFlows -benchtime 200x ./analytics/duckdb/
//
// "store" is WriteFlows as shipped (raw rows through the appender, rollup
// MERGEd, one transaction). The others write the same batches differently,
// in the same run, as anchors for the ratios in the report: "raw-only"
// skips the rollup (the appender's own cost), "rollup=partial" appends
// unmerged rollup rows (summed at query time), "rollup=on-conflict" upserts
// into a rollup with a primary key. "prefilled" starts with a month of
// rollups for 1,000 keys per bin (8.6M rows) in the table.

const benchBatch = 10_000

// benchBatches returns batches of benchBatch flows between 100 members,
// batch i received in [i·30 s, (i+1)·30 s) after the start, so that the
// rollup grows as it does with live traffic. Members are drawn uniformly
// (nearly every flow its own rollup row: the worst case) or from a Zipf
// law (a few big pairs, as at a real exchange).
func benchBatches(n int, zipf bool) [][]flow.Flow {
	start := time.Date(2024, time.March, 1, 0, 0, 0, 0, time.UTC)
	r := rand.New(rand.NewPCG(1, 2))
	member := func() uint32 { return 64500 + r.Uint32N(100) }
	if zipf {
		z := rand.NewZipf(r, 1.3, 1, 99)
		member = func() uint32 { return 64500 + uint32(z.Uint64()) }
	}
	batches := make([][]flow.Flow, n)
	for i := range batches {
		from := start.Add(time.Duration(i) * 30 * time.Second)
		batches[i] = storetest.GenerateFlows(uint64(i), benchBatch, from, 30*time.Second)
		for j := range batches[i] {
			f := &batches[i][j]
			if f.SrcMember != 0 {
				f.SrcMember = member()
			}
			if f.DstMember != 0 {
				f.DstMember = member()
			}
		}
	}
	return batches
}

type rollupWriter func(ctx context.Context, c driver.Conn, rollup map[rollupKey]rollupSums) error

func BenchmarkWriteFlows(b *testing.B) {
	for _, traffic := range []string{"uniform", "zipf"} {
		b.Run(traffic, func(b *testing.B) { benchmarkWriteFlows(b, benchBatches(50, traffic == "zipf")) })
	}
}

func benchmarkWriteFlows(b *testing.B, batches [][]flow.Flow) {
	rollupRows := 0
	for _, batch := range batches {
		rollupRows += len(aggregate(batch))
	}
	b.Logf("%.2f rollup rows per flow", float64(rollupRows)/float64(len(batches)*benchBatch))
	for _, bc := range []struct {
		name      string
		rollup    rollupWriter // nil: Store.WriteFlows
		prefilled bool
	}{
		{name: "store"},
		{name: "store/prefilled", prefilled: true},
		{name: "raw-only", rollup: func(context.Context, driver.Conn, map[rollupKey]rollupSums) error { return nil }},
		{name: "rollup=partial", rollup: appendRollupPartial},
		{name: "rollup=on-conflict", rollup: upsertRollup},
		{name: "rollup=on-conflict/prefilled", rollup: upsertRollup, prefilled: true},
	} {
		for _, where := range []string{"file", "memory"} {
			if bc.prefilled && where == "memory" {
				continue
			}
			b.Run(fmt.Sprintf("%s/%s", bc.name, where), func(b *testing.B) {
				path := memoryPath
				if where == "file" {
					path = filepath.Join(b.TempDir(), "bench.duckdb")
				}
				s := newStore(b, path)
				defer func() { _ = s.Close() }()
				ctx := b.Context()
				if err := s.Migrate(ctx); err != nil {
					b.Fatal(err)
				}
				db, _ := s.database()
				if bc.rollup != nil && isUpsert(bc.name) {
					if _, err := db.ExecContext(ctx, `DROP TABLE flows_5m; CREATE TABLE flows_5m (
						bin TIMESTAMP, exporter BLOB, role UTINYINT, path_class UTINYINT, src_member UINTEGER,
						dst_member UINTEGER, family UTINYINT, ixp_exchanged BOOLEAN, domestic BOOLEAN,
						bytes UBIGINT NOT NULL, packets UBIGINT NOT NULL, flows UBIGINT NOT NULL,
						PRIMARY KEY (bin, exporter, role, path_class, src_member, dst_member, family, ixp_exchanged, domestic))`); err != nil {
						b.Fatal(err)
					}
				}
				if bc.prefilled {
					// 30 days before the batches, 1,000 keys per bin.
					if _, err := db.ExecContext(ctx, `INSERT INTO flows_5m
						SELECT make_timestamp(epoch_us(TIMESTAMP '2024-01-31') + (i // 1000) * 300000000),
							unhex('00000000000000000000ffffc0000201'), 1, 0, 64500 + (i % 1000) // 10, 64500 + i % 10,
							4, true, false, 1000, 10, 1
						FROM range(30 * 288 * 1000) t(i)`); err != nil {
						b.Fatal(err)
					}
				}
				i := 0
				for b.Loop() {
					batch := batches[i%len(batches)]
					if i >= len(batches) {
						b.StopTimer()
						shift := time.Duration(len(batches)) * 30 * time.Second // one cycle later
						for j := range batch {
							batch[j].TimeReceived = batch[j].TimeReceived.Add(shift)
						}
						b.StartTimer()
					}
					var err error
					if bc.rollup == nil {
						err = s.WriteFlows(ctx, batch)
					} else {
						err = benchWrite(ctx, s, batch, bc.rollup)
					}
					if err != nil {
						b.Fatal(err)
					}
					i++
				}
				b.ReportMetric(float64(i*benchBatch)/b.Elapsed().Seconds(), "flows/s")
				b.ReportMetric(0, "ns/op")
			})
		}
	}
}

func isUpsert(name string) bool { return len(name) >= 18 && name[:18] == "rollup=on-conflict" }

// benchWrite is writeBatch with another rollup writer.
func benchWrite(ctx context.Context, s *Store, flows []flow.Flow, rollup rollupWriter) error {
	db, err := s.database()
	if err != nil {
		return err
	}
	sums := aggregate(flows)
	conn, err := db.Conn(ctx)
	if err != nil {
		return err
	}
	defer func() { _ = conn.Close() }()
	return conn.Raw(func(dc any) error {
		c := dc.(driver.Conn)
		tx, err := c.(driver.ConnBeginTx).BeginTx(ctx, driver.TxOptions{})
		if err != nil {
			return err
		}
		if err := appendFlows(ctx, c, flows); err != nil {
			return err
		}
		if err := rollup(ctx, c, sums); err != nil {
			return err
		}
		return tx.Commit()
	})
}

func appendRollupPartial(ctx context.Context, c driver.Conn, rollup map[rollupKey]rollupSums) error {
	a, err := duckdb.NewAppenderFromConn(c, "", tableRollup)
	if err != nil {
		return err
	}
	for k, v := range rollup {
		exporter := k.exporter
		if err := a.AppendRow(time.UnixMicro(k.bin).UTC(), exporter[:], k.role, k.pathClass, k.srcMember,
			k.dstMember, k.fam, k.ixpExchanged, k.domestic, v.bytes, v.packets, v.flows); err != nil {
			return err
		}
	}
	return a.CloseWithCancel(ctx)
}

func upsertRollup(ctx context.Context, c driver.Conn, rollup map[rollupKey]rollupSums) error {
	rb, err := newRollupBatch()
	if err != nil {
		return err
	}
	a, err := duckdb.NewQueryAppender(c, `INSERT INTO flows_5m BY NAME SELECT * FROM batch
		ON CONFLICT DO UPDATE SET bytes = bytes + excluded.bytes, packets = packets + excluded.packets,
			flows = flows + excluded.flows`, "batch", rb.types, rb.names)
	if err != nil {
		return err
	}
	for k, v := range rollup {
		exporter := k.exporter
		if err := a.AppendRow(time.UnixMicro(k.bin).UTC(), exporter[:], k.role, k.pathClass, k.srcMember,
			k.dstMember, k.fam, k.ixpExchanged, k.domestic, v.bytes, v.packets, v.flows); err != nil {
			return err
		}
	}
	return a.CloseWithCancel(ctx)
}
