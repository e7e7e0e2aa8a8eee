package clickhouse

import (
	"context"
	"fmt"
	"math"
	"net/netip"
	"strings"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"

	"github.com/ixpd/ixpd/flow"
)

// flowColumns are the columns WriteFlows fills, in the order of the slices
// that flowColumnValues returns.
var flowColumns = []string{
	"time_received", "exporter", "protocol", "sampling_rate", "bytes", "packets",
	"src_addr", "dst_addr", "src_port", "dst_port", "ip_proto", "etype", "in_if", "out_if",
	"src_mac", "dst_mac", "src_as", "dst_as", "role", "src_member", "dst_member",
	"ixp_exchanged", "path_class", "src_country", "dst_country", "domestic",
}

// WriteFlows writes the batch as one native INSERT block with an explicit
// column list; the materialized view adds it to the rollups.
//
// All or nothing: flows that ClickHouse could not store (a country longer
// than two bytes, a receive time outside DateTime's 1970–2106) fail the
// whole batch before anything is sent. A block is then inserted whole or
// not at all, with these limits of ClickHouse's own: the server writes one
// part per partition (UTC day) in the block and the rollup rows after the
// raw rows, so a server that dies in the middle of a block spanning two
// days, or between the raw part and the rollup part, can leave part of it.
// Failing to connect or losing the connection wraps analytics.ErrUnavailable;
// such a batch may have been stored if the connection broke after the
// server received the whole block (the pipeline's retry then counts it
// twice).
func (s *Store) WriteFlows(ctx context.Context, flows []flow.Flow) error {
	if err := s.usable(ctx); err != nil {
		s.metrics.rowsFailed.Add(float64(len(flows)))
		return s.fail(opWrite, err)
	}
	if len(flows) == 0 {
		return nil
	}
	if err := checkFlows(flows); err != nil {
		s.metrics.rowsFailed.Add(float64(len(flows)))
		return s.fail(opWrite, err)
	}
	start := time.Now()
	if err := s.insert(ctx, flows); err != nil {
		s.metrics.rowsFailed.Add(float64(len(flows)))
		return s.fail(opWrite, err)
	}
	s.metrics.insertSeconds.Observe(time.Since(start).Seconds())
	s.metrics.rowsInserted.WithLabelValues(tableFlows).Add(float64(len(flows)))
	return nil
}

// checkFlows rejects what the columns cannot hold.
func checkFlows(flows []flow.Flow) error {
	for i := range flows {
		f := &flows[i]
		if u := f.TimeReceived.Unix(); u < 0 || u > math.MaxUint32 {
			return fmt.Errorf("flow %d of %d: receive time %s is outside 1970-01-01..2106-02-07", i, len(flows), f.TimeReceived)
		}
		if len(f.SrcCountry) > 2 {
			return fmt.Errorf("flow %d of %d: source country %q is not an ISO 3166-1 alpha-2 code", i, len(flows), f.SrcCountry)
		}
		if len(f.DstCountry) > 2 {
			return fmt.Errorf("flow %d of %d: destination country %q is not an ISO 3166-1 alpha-2 code", i, len(flows), f.DstCountry)
		}
	}
	return nil
}

func (s *Store) insert(ctx context.Context, flows []flow.Flow) error {
	batch, err := s.prepareBatch(ctx, tableFlows, flowColumns)
	if err != nil {
		return err
	}
	if err := appendColumns(batch, flows); err != nil {
		_ = batch.Abort()
		return err
	}
	if err := batch.Send(); err != nil {
		return fmt.Errorf("send batch of %d flows: %w", len(flows), err)
	}
	return nil
}

// prepareBatch starts a native INSERT into table with an explicit column
// list (which 18.16 needs with clickhouse-go).
func (s *Store) prepareBatch(ctx context.Context, table string, columns []string) (driver.Batch, error) {
	query := "INSERT INTO " + s.table(table) + " (" + strings.Join(columns, ", ") + ")"
	batch, err := s.conn.PrepareBatch(ctx, query)
	if err != nil && unavailable(err) && ctx.Err() == nil {
		// A pooled connection may have died with a server restart:
		// nothing was sent yet, so one more try on a new connection is
		// safe.
		batch, err = s.conn.PrepareBatch(ctx, query)
	}
	if err != nil {
		return nil, fmt.Errorf("prepare batch: %w", err)
	}
	return batch, nil
}

func appendColumns(batch driver.Batch, flows []flow.Flow) error {
	values := flowColumnValues(flows)
	if len(values) != len(flowColumns) {
		return fmt.Errorf("internal error: %d column values for %d columns", len(values), len(flowColumns))
	}
	for i, v := range values {
		if err := batch.Column(i).Append(v); err != nil {
			return fmt.Errorf("append column %s: %w", flowColumns[i], err)
		}
	}
	return nil
}

// flowColumnValues turns flows into one slice per column of flowColumns.
func flowColumnValues(flows []flow.Flow) []any {
	n := len(flows)
	var (
		timeReceived                   = make([]time.Time, n)
		addrBuf                        = make([]byte, 3*16*n)
		exporter, srcAddr, dstAddr     = make([][]byte, n), make([][]byte, n), make([][]byte, n)
		protocol, ipProto, role        = make([]uint8, n), make([]uint8, n), make([]uint8, n)
		ixp, pathClass, domestic       = make([]uint8, n), make([]uint8, n), make([]uint8, n)
		sampling, inIf, outIf          = make([]uint32, n), make([]uint32, n), make([]uint32, n)
		srcAS, dstAS                   = make([]uint32, n), make([]uint32, n)
		srcMember, dstMember           = make([]uint32, n), make([]uint32, n)
		bytes, packets, srcMAC, dstMAC = make([]uint64, n), make([]uint64, n), make([]uint64, n), make([]uint64, n)
		srcPort, dstPort, etype        = make([]uint16, n), make([]uint16, n), make([]uint16, n)
		srcCountry, dstCountry         = make([]string, n), make([]string, n)
	)
	addr := func(i, k int, a netip.Addr) []byte {
		b := addrBuf[(3*i+k)*16 : (3*i+k+1)*16 : (3*i+k+1)*16]
		putAddr(b, a)
		return b
	}
	for i := range flows {
		f := &flows[i]
		timeReceived[i] = f.TimeReceived
		exporter[i] = addr(i, 0, f.Exporter)
		srcAddr[i] = addr(i, 1, f.SrcAddr)
		dstAddr[i] = addr(i, 2, f.DstAddr)
		protocol[i] = uint8(f.Protocol)
		sampling[i] = f.SamplingRate
		bytes[i], packets[i] = f.Bytes, f.Packets
		srcPort[i], dstPort[i] = f.SrcPort, f.DstPort
		ipProto[i] = f.IPProto
		etype[i] = f.EType
		inIf[i], outIf[i] = f.InIf, f.OutIf
		srcMAC[i], dstMAC[i] = f.SrcMAC, f.DstMAC
		srcAS[i], dstAS[i] = f.SrcAS, f.DstAS
		role[i] = uint8(f.Role)
		srcMember[i], dstMember[i] = f.SrcMember, f.DstMember
		ixp[i] = boolByte(f.IXPExchanged)
		pathClass[i] = uint8(f.PathClass)
		srcCountry[i], dstCountry[i] = f.SrcCountry, f.DstCountry
		domestic[i] = boolByte(f.Domestic)
	}
	return []any{
		timeReceived, exporter, protocol, sampling, bytes, packets,
		srcAddr, dstAddr, srcPort, dstPort, ipProto, etype, inIf, outIf,
		srcMAC, dstMAC, srcAS, dstAS, role, srcMember, dstMember,
		ixp, pathClass, srcCountry, dstCountry, domestic,
	}
}

// putAddr writes a as 16 bytes: IPv6 as is, IPv4 mapped into
// ::ffff:0:0/96, a missing address as zeros (which reads back as missing,
// so :: cannot be stored).
func putAddr(b []byte, a netip.Addr) {
	if !a.IsValid() {
		clear(b)
		return
	}
	a16 := a.As16()
	copy(b, a16[:])
}

// addrFrom16 is putAddr's inverse.
func addrFrom16(b [16]byte) netip.Addr {
	if b == [16]byte{} {
		return netip.Addr{}
	}
	return netip.AddrFrom16(b).Unmap()
}

func boolByte(b bool) uint8 {
	if b {
		return 1
	}
	return 0
}
