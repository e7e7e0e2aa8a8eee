package clickhouse

import (
	"context"
	"encoding/hex"
	"fmt"
	"math"
	"net/netip"
	"time"

	"github.com/ixpd/ixpd/analytics"
	"github.com/ixpd/ixpd/flow"
)

// unixSeconds returns t as a DateTime value: Unix seconds rounded up (the
// stored receive times are whole seconds, rounded down, so that a bound on
// a whole second is exact) and clamped to DateTime's range.
func unixSeconds(t time.Time) uint32 {
	u := t.Unix()
	if t.Nanosecond() > 0 {
		u++
	}
	return uint32(min(max(u, 0), math.MaxUint32))
}

// Totals sums the raw flows received in [q.From, q.To), at the precision of
// one second.
func (s *Store) Totals(ctx context.Context, q analytics.TotalsQuery) (analytics.Totals, error) {
	if err := s.usable(ctx); err != nil {
		return analytics.Totals{}, s.fail(opTotals, err)
	}
	query := "SELECT count(), sum(bytes), sum(packets) FROM " + s.table(tableFlows) +
		" WHERE time_received >= toDateTime(?) AND time_received < toDateTime(?)"
	args := []any{unixSeconds(q.From), unixSeconds(q.To)}
	if q.Exporter != "" {
		a, err := netip.ParseAddr(q.Exporter)
		if err != nil {
			return analytics.Totals{}, s.fail(opTotals, fmt.Errorf("exporter: %w", err))
		}
		var b [16]byte
		putAddr(b[:], a)
		query += " AND exporter = toFixedString(unhex(?), 16)"
		args = append(args, hex.EncodeToString(b[:]))
	}
	start := time.Now()
	var t analytics.Totals
	if err := s.conn.QueryRow(ctx, query, args...).Scan(&t.Flows, &t.Bytes, &t.Packets); err != nil {
		return analytics.Totals{}, s.fail(opTotals, err)
	}
	s.metrics.querySeconds.WithLabelValues(opTotals).Observe(time.Since(start).Seconds())
	return t, nil
}

// groupKeys are the rollup expressions behind each GroupBy: Key, Key2.
var groupKeys = map[analytics.GroupBy][2]string{
	analytics.GroupNone:      {"toUInt64(0)", "toUInt64(0)"},
	"":                       {"toUInt64(0)", "toUInt64(0)"},
	analytics.GroupMember:    {"toUInt64(src_member)", "toUInt64(0)"},
	analytics.GroupPair:      {"toUInt64(src_member)", "toUInt64(dst_member)"},
	analytics.GroupFamily:    {"toUInt64(family)", "toUInt64(0)"},
	analytics.GroupPathClass: {"toUInt64(path_class)", "toUInt64(0)"},
}

// Series sums the 5-minute rollup bins whose start is in [q.From, q.To) into
// epoch-aligned bins of q.Step. The rollup table is a SummingMergeTree that
// merges lazily, so the query always sums with GROUP BY.
func (s *Store) Series(ctx context.Context, q analytics.SeriesQuery) ([]analytics.Point, error) {
	if err := s.usable(ctx); err != nil {
		return nil, s.fail(opSeries, err)
	}
	if q.Step <= 0 || q.Step%analytics.BinSize != 0 || q.Step > math.MaxUint32*time.Second {
		return nil, s.fail(opSeries, fmt.Errorf("step %s is not a positive multiple of %s", q.Step, analytics.BinSize))
	}
	keys, ok := groupKeys[q.GroupBy]
	if !ok {
		return nil, s.fail(opSeries, fmt.Errorf("unknown group_by %q", q.GroupBy))
	}
	step := uint32(q.Step / time.Second)
	query := "SELECT toUInt64(intDiv(toUInt32(bin), ?) * ?) AS t, " + keys[0] + " AS k1, " + keys[1] + " AS k2," +
		" sum(bytes), sum(packets), sum(flows) FROM " + s.table(tableFlows5m) +
		" WHERE bin >= toDateTime(?) AND bin < toDateTime(?)"
	args := []any{step, step, unixSeconds(q.From), unixSeconds(q.To)}
	if q.IXPExchanged {
		query += " AND ixp_exchanged = 1"
	}
	if q.Domestic {
		query += " AND domestic = 1"
	}
	if q.Role != flow.RoleUnknown {
		query += " AND role = ?"
		args = append(args, uint8(q.Role))
	}
	if q.PathClass != flow.PathUnknown {
		query += " AND path_class = ?"
		args = append(args, uint8(q.PathClass))
	}
	query += " GROUP BY t, k1, k2 ORDER BY t, k1, k2"

	start := time.Now()
	rows, err := s.conn.Query(ctx, query, args...)
	if err != nil {
		return nil, s.fail(opSeries, err)
	}
	defer func() { _ = rows.Close() }()
	var points []analytics.Point
	for rows.Next() {
		var (
			p analytics.Point
			t uint64
		)
		if err := rows.Scan(&t, &p.Key, &p.Key2, &p.Bytes, &p.Packets, &p.Flows); err != nil {
			return nil, s.fail(opSeries, err)
		}
		p.Time = time.Unix(int64(t), 0).UTC()
		points = append(points, p)
	}
	if err := rows.Err(); err != nil {
		return nil, s.fail(opSeries, err)
	}
	s.metrics.querySeconds.WithLabelValues(opSeries).Observe(time.Since(start).Seconds())
	return points, nil
}

// RawFlows returns the raw flows received in [from, to), ordered by
// TimeReceived, for tests and debugging. TimeReceived comes back in whole
// seconds, UTC; TimeStart and TimeEnd are not stored and come back zero; a
// missing address comes back invalid, an IPv4 address (also one written as
// ::ffff:a.b.c.d) as IPv4.
func (s *Store) RawFlows(ctx context.Context, from, to time.Time) ([]flow.Flow, error) {
	if err := s.usable(ctx); err != nil {
		return nil, s.fail(opRawFlows, err)
	}
	query := "SELECT toUInt32(time_received), exporter, protocol, sampling_rate, bytes, packets," +
		" src_addr, dst_addr, src_port, dst_port, ip_proto, etype, in_if, out_if, src_mac, dst_mac," +
		" src_as, dst_as, role, src_member, dst_member, ixp_exchanged, path_class," +
		" toString(src_country), toString(dst_country), domestic" +
		" FROM " + s.table(tableFlows) +
		" WHERE time_received >= toDateTime(?) AND time_received < toDateTime(?) ORDER BY time_received"
	start := time.Now()
	rows, err := s.conn.Query(ctx, query, unixSeconds(from), unixSeconds(to))
	if err != nil {
		return nil, s.fail(opRawFlows, err)
	}
	defer func() { _ = rows.Close() }()
	var flows []flow.Flow
	for rows.Next() {
		var (
			f                          flow.Flow
			t                          uint32
			exporter, srcAddr, dstAddr [16]byte
			protocol, role, pathClass  uint8
			ixp, domestic              uint8
		)
		err := rows.Scan(&t, &exporter, &protocol, &f.SamplingRate, &f.Bytes, &f.Packets,
			&srcAddr, &dstAddr, &f.SrcPort, &f.DstPort, &f.IPProto, &f.EType, &f.InIf, &f.OutIf,
			&f.SrcMAC, &f.DstMAC, &f.SrcAS, &f.DstAS, &role, &f.SrcMember, &f.DstMember, &ixp, &pathClass,
			&f.SrcCountry, &f.DstCountry, &domestic)
		if err != nil {
			return nil, s.fail(opRawFlows, err)
		}
		f.TimeReceived = time.Unix(int64(t), 0).UTC()
		f.Exporter = addrFrom16(exporter)
		f.SrcAddr = addrFrom16(srcAddr)
		f.DstAddr = addrFrom16(dstAddr)
		f.Protocol, f.Role, f.PathClass = flow.Protocol(protocol), flow.Role(role), flow.PathClass(pathClass)
		f.IXPExchanged, f.Domestic = ixp != 0, domestic != 0
		flows = append(flows, f)
	}
	if err := rows.Err(); err != nil {
		return nil, s.fail(opRawFlows, err)
	}
	s.metrics.querySeconds.WithLabelValues(opRawFlows).Observe(time.Since(start).Seconds())
	return flows, nil
}
