package duckdb

import (
	"context"
	"database/sql/driver"
	"errors"
	"fmt"
	"net/netip"
	"time"

	duckdb "github.com/duckdb/duckdb-go/v2"

	"github.com/ixpd/ixpd/analytics"
	"github.com/ixpd/ixpd/flow"
)

// rollupKey is the key of a flows_5m row.
type rollupKey struct {
	bin                  int64 // Unix microseconds
	exporter             [16]byte
	role, pathClass, fam uint8
	srcMember, dstMember uint32
	ixpExchanged         bool
	domestic             bool
}

type rollupSums struct{ bytes, packets, flows uint64 }

// rollupColumns are the columns of the batch of rollup rows that
// mergeRollupSQL reads, in AppendRow order.
var rollupColumns = []struct {
	name string
	typ  duckdb.Type
}{
	{"bin", duckdb.TYPE_TIMESTAMP},
	{"exporter", duckdb.TYPE_BLOB},
	{"role", duckdb.TYPE_UTINYINT},
	{"path_class", duckdb.TYPE_UTINYINT},
	{"src_member", duckdb.TYPE_UINTEGER},
	{"dst_member", duckdb.TYPE_UINTEGER},
	{"family", duckdb.TYPE_UTINYINT},
	{"ixp_exchanged", duckdb.TYPE_BOOLEAN},
	{"domestic", duckdb.TYPE_BOOLEAN},
	{"bytes", duckdb.TYPE_UBIGINT},
	{"packets", duckdb.TYPE_UBIGINT},
	{"flows", duckdb.TYPE_UBIGINT},
}

// mergeRollupSQL adds the batch's rollup rows (the query appender's table
// "batch") to flows_5m: a key already there gets its sums increased, a new
// key is inserted. Each key appears once in the batch, so that the query
// may run on part of the rows at a time (the appender flushes when full).
//
// MERGE rather than INSERT ... ON CONFLICT: ON CONFLICT needs a unique ART
// index, which grows with the table (years of rollups) and slows every
// batch as it does (see BenchmarkWriteFlows); MERGE joins on the batch's
// few bins and zone maps skip the rest of the table.
const mergeRollupSQL = `MERGE INTO flows_5m AS r
USING batch AS b
ON r.bin = b.bin AND r.exporter = b.exporter AND r.role = b.role AND r.path_class = b.path_class
	AND r.src_member = b.src_member AND r.dst_member = b.dst_member AND r.family = b.family
	AND r.ixp_exchanged = b.ixp_exchanged AND r.domestic = b.domestic
WHEN MATCHED THEN UPDATE SET bytes = r.bytes + b.bytes, packets = r.packets + b.packets, flows = r.flows + b.flows
WHEN NOT MATCHED THEN INSERT BY NAME`

// family is the GroupFamily key of an EtherType.
func family(etype uint16) uint8 {
	switch etype {
	case 0x0800:
		return 4
	case 0x86dd:
		return 6
	}
	return 0
}

// addr16 is an address as stored: 16 bytes, IPv4 mapped into IPv6, all
// zeros when missing.
func addr16(a netip.Addr) [16]byte {
	if !a.IsValid() {
		return [16]byte{}
	}
	return a.As16()
}

// aggregate sums a batch into rollup rows.
func aggregate(flows []flow.Flow) map[rollupKey]rollupSums {
	sums := make(map[rollupKey]rollupSums, len(flows)/8)
	for i := range flows {
		f := &flows[i]
		k := rollupKey{
			bin:          analytics.Bin(f.TimeReceived).UnixMicro(),
			exporter:     addr16(f.Exporter),
			role:         uint8(f.Role),
			pathClass:    uint8(f.PathClass),
			fam:          family(f.EType),
			srcMember:    f.SrcMember,
			dstMember:    f.DstMember,
			ixpExchanged: f.IXPExchanged,
			domestic:     f.Domestic,
		}
		v := sums[k]
		v.bytes += f.Bytes
		v.packets += f.Packets
		v.flows++
		sums[k] = v
	}
	return sums
}

// WriteFlows stores a batch of flows and adds it to the rollups in one
// transaction: on any error nothing of the batch is stored.
func (s *Store) WriteFlows(ctx context.Context, flows []flow.Flow) error {
	db, err := s.database()
	if err != nil {
		return s.fail(opWrite, err)
	}
	if len(flows) == 0 {
		return nil
	}
	rollup := aggregate(flows)

	s.writeMu.Lock()
	defer s.writeMu.Unlock()
	start := time.Now()
	defer func() { s.metrics.insertSeconds.Observe(time.Since(start).Seconds()) }()
	conn, err := db.Conn(ctx)
	if err != nil {
		return s.fail(opWrite, fmt.Errorf("get connection: %w", err))
	}
	defer func() { _ = conn.Close() }() // back to the pool; fails only when already closed
	err = conn.Raw(func(dc any) error {
		c, ok := dc.(driver.Conn)
		if !ok {
			return fmt.Errorf("unexpected driver connection %T", dc)
		}
		return s.writeBatch(ctx, c, flows, rollup)
	})
	if err != nil {
		return s.fail(opWrite, fmt.Errorf("batch of %d flows: %w", len(flows), err))
	}
	s.metrics.rowsInserted.WithLabelValues(tableFlows).Add(float64(len(flows)))
	s.metrics.rowsInserted.WithLabelValues(tableRollup).Add(float64(len(rollup)))
	return nil
}

// writeBatch appends the raw flows and merges the rollup rows inside one
// transaction of c. DuckDB's appenders write into the connection's open
// transaction, so a rollback takes back what they flushed.
func (s *Store) writeBatch(ctx context.Context, c driver.Conn, flows []flow.Flow, rollup map[rollupKey]rollupSums) error {
	return inTx(ctx, c, func() error {
		if err := appendFlows(ctx, c, flows); err != nil {
			return fmt.Errorf("append to %s: %w", tableFlows, err)
		}
		if err := s.mergeRollup(ctx, c, rollup); err != nil {
			return fmt.Errorf("merge into %s: %w", tableRollup, err)
		}
		return nil
	})
}

// inTx runs fn inside one transaction of c: committed when fn succeeds,
// rolled back when it fails.
func inTx(ctx context.Context, c driver.Conn, fn func() error) (err error) {
	beginner, ok := c.(driver.ConnBeginTx)
	if !ok {
		return fmt.Errorf("driver connection %T cannot begin transactions", c)
	}
	tx, err := beginner.BeginTx(ctx, driver.TxOptions{})
	if err != nil {
		return fmt.Errorf("begin: %w", err)
	}
	defer func() {
		if err == nil {
			return
		}
		if rbErr := tx.Rollback(); rbErr != nil {
			// The connection is in an unknown state: have database/sql drop it.
			err = errors.Join(err, fmt.Errorf("rollback: %w", rbErr), driver.ErrBadConn)
		}
	}()
	if err := fn(); err != nil {
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("commit: %w", err)
	}
	return nil
}

func appendFlows(ctx context.Context, c driver.Conn, flows []flow.Flow) error {
	a, err := duckdb.NewAppenderFromConn(c, "", tableFlows)
	if err != nil {
		return err
	}
	// One backing array for every address of the batch.
	addrs := make([]byte, 0, 3*16*len(flows))
	row := make([]driver.Value, 27)
	for i := range flows {
		f := &flows[i]
		exporter, src, dst := addr16(f.Exporter), addr16(f.SrcAddr), addr16(f.DstAddr)
		n := len(addrs)
		addrs = append(append(append(addrs, exporter[:]...), src[:]...), dst[:]...)
		t := f.TimeReceived.UTC()
		row[0] = t
		row[1] = time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, time.UTC)
		row[2] = addrs[n : n+16 : n+16]
		row[3] = uint8(f.Protocol)
		row[4] = f.SamplingRate
		row[5] = f.Bytes
		row[6] = f.Packets
		row[7] = addrs[n+16 : n+32 : n+32]
		row[8] = addrs[n+32 : n+48 : n+48]
		row[9] = f.SrcPort
		row[10] = f.DstPort
		row[11] = f.IPProto
		row[12] = f.EType
		row[13] = f.InIf
		row[14] = f.OutIf
		row[15] = f.SrcMAC
		row[16] = f.DstMAC
		row[17] = f.SrcAS
		row[18] = f.DstAS
		row[19] = uint8(f.Role)
		row[20] = f.SrcMember
		row[21] = f.DstMember
		row[22] = f.IXPExchanged
		row[23] = uint8(f.PathClass)
		row[24] = f.SrcCountry
		row[25] = f.DstCountry
		row[26] = f.Domestic
		if err := a.AppendRow(row...); err != nil {
			return errors.Join(fmt.Errorf("flow %d: %w", i, err), a.Close())
		}
	}
	// Close flushes: constraint errors show up here.
	return a.CloseWithCancel(ctx)
}

// rollupBatch describes the query appender's table of rollup rows.
type rollupBatch struct {
	types []duckdb.TypeInfo
	names []string
}

func newRollupBatch() (rollupBatch, error) {
	b := rollupBatch{types: make([]duckdb.TypeInfo, len(rollupColumns)), names: make([]string, len(rollupColumns))}
	for i, col := range rollupColumns {
		ti, err := duckdb.NewTypeInfo(col.typ)
		if err != nil {
			return b, fmt.Errorf("rollup column %s: %w", col.name, err)
		}
		b.types[i], b.names[i] = ti, col.name
	}
	return b, nil
}

// mergeRollup feeds the rollup rows to mergeRollupSQL.
func (s *Store) mergeRollup(ctx context.Context, c driver.Conn, rollup map[rollupKey]rollupSums) error {
	a, err := duckdb.NewQueryAppender(c, mergeRollupSQL, "batch", s.rollupBatch.types, s.rollupBatch.names)
	if err != nil {
		return err
	}
	row := make([]driver.Value, len(rollupColumns))
	for k, v := range rollup {
		exporter := k.exporter
		row[0] = time.UnixMicro(k.bin).UTC()
		row[1] = exporter[:]
		row[2] = k.role
		row[3] = k.pathClass
		row[4] = k.srcMember
		row[5] = k.dstMember
		row[6] = k.fam
		row[7] = k.ixpExchanged
		row[8] = k.domestic
		row[9] = v.bytes
		row[10] = v.packets
		row[11] = v.flows
		if err := a.AppendRow(row...); err != nil {
			return errors.Join(err, a.Close())
		}
	}
	return a.CloseWithCancel(ctx)
}
