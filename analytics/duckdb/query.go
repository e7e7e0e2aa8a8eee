package duckdb

import (
	"context"
	"fmt"
	"net/netip"
	"strings"
	"time"

	"github.com/ixpd/ixpd/analytics"
	"github.com/ixpd/ixpd/flow"
)

// Times go to DuckDB as Unix microseconds through make_timestamp, so that no
// time zone setting of the session can shift them; TIMESTAMP columns hold
// UTC. Bounds are taken to the microsecond, the columns' precision.

// Totals sums the raw flows received in [q.From, q.To).
func (s *Store) Totals(ctx context.Context, q analytics.TotalsQuery) (analytics.Totals, error) {
	var t analytics.Totals
	db, err := s.database()
	if err != nil {
		return t, s.fail(opTotals, err)
	}
	query := `SELECT count(*)::UBIGINT, coalesce(sum(bytes), 0)::UBIGINT, coalesce(sum(packets), 0)::UBIGINT
		FROM flows WHERE time_received >= make_timestamp($1) AND time_received < make_timestamp($2)`
	args := []any{q.From.UnixMicro(), q.To.UnixMicro()}
	if q.Exporter != "" {
		a, err := netip.ParseAddr(q.Exporter)
		if err != nil {
			return t, s.fail(opTotals, fmt.Errorf("exporter: %w", err))
		}
		b := addr16(a)
		query += ` AND exporter = $3`
		args = append(args, b[:])
	}
	if err := db.QueryRowContext(ctx, query, args...).Scan(&t.Flows, &t.Bytes, &t.Packets); err != nil {
		return t, s.fail(opTotals, err)
	}
	return t, nil
}

// groupKeys are the SQL expressions of Point.Key and Point.Key2 per GroupBy.
var groupKeys = map[analytics.GroupBy][2]string{
	analytics.GroupNone:      {"0", "0"},
	analytics.GroupMember:    {"src_member", "0"},
	analytics.GroupPair:      {"src_member", "dst_member"},
	analytics.GroupFamily:    {"family", "0"},
	analytics.GroupPathClass: {"path_class", "0"},
}

// Series sums the rollup bins that start in [q.From, q.To) into bins of
// q.Step counted from the Unix epoch.
func (s *Store) Series(ctx context.Context, q analytics.SeriesQuery) ([]analytics.Point, error) {
	if q.Step <= 0 || q.Step%analytics.BinSize != 0 {
		return nil, s.fail(opSeries, fmt.Errorf("step %s is not a positive multiple of %s", q.Step, analytics.BinSize))
	}
	keys, ok := groupKeys[q.GroupBy]
	if !ok {
		return nil, s.fail(opSeries, fmt.Errorf("unknown group_by %q", q.GroupBy))
	}
	db, err := s.database()
	if err != nil {
		return nil, s.fail(opSeries, err)
	}
	var where strings.Builder
	args := []any{q.Step.Microseconds(), q.From.UnixMicro(), q.To.UnixMicro()}
	if q.IXPExchanged {
		where.WriteString(" AND ixp_exchanged")
	}
	if q.Domestic {
		where.WriteString(" AND domestic")
	}
	if q.Role != flow.RoleUnknown {
		args = append(args, uint8(q.Role))
		fmt.Fprintf(&where, " AND role = $%d", len(args))
	}
	if q.PathClass != flow.PathUnknown {
		args = append(args, uint8(q.PathClass))
		fmt.Fprintf(&where, " AND path_class = $%d", len(args))
	}
	query := fmt.Sprintf(`SELECT epoch_us(bin) // $1 * $1 AS t, %s AS k1, %s AS k2,
			sum(bytes)::UBIGINT, sum(packets)::UBIGINT, sum(flows)::UBIGINT
		FROM flows_5m
		WHERE bin >= make_timestamp($2) AND bin < make_timestamp($3)%s
		GROUP BY ALL ORDER BY ALL`, keys[0], keys[1], where.String())
	rows, err := db.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, s.fail(opSeries, err)
	}
	defer func() { _ = rows.Close() }() // rows.Err reports read errors
	var points []analytics.Point
	for rows.Next() {
		var p analytics.Point
		var t int64
		if err := rows.Scan(&t, &p.Key, &p.Key2, &p.Bytes, &p.Packets, &p.Flows); err != nil {
			return nil, s.fail(opSeries, err)
		}
		p.Time = time.UnixMicro(t).UTC()
		points = append(points, p)
	}
	if err := rows.Err(); err != nil {
		return nil, s.fail(opSeries, err)
	}
	return points, nil
}

// RawFlows returns the raw flows received in [from, to), ordered by
// TimeReceived. TimeStart and TimeEnd are not stored and come back zero.
// It is meant for tests and debugging: it reads every column.
func (s *Store) RawFlows(ctx context.Context, from, to time.Time) ([]flow.Flow, error) {
	db, err := s.database()
	if err != nil {
		return nil, s.fail(opRawFlows, err)
	}
	rows, err := db.QueryContext(ctx, `SELECT time_received, exporter, protocol, sampling_rate, bytes, packets,
			src_addr, dst_addr, src_port, dst_port, proto, etype, in_if, out_if, src_mac, dst_mac, src_as, dst_as,
			role, src_member, dst_member, ixp_exchanged, path_class, src_country, dst_country, domestic
		FROM flows WHERE time_received >= make_timestamp($1) AND time_received < make_timestamp($2)
		ORDER BY time_received`, from.UnixMicro(), to.UnixMicro())
	if err != nil {
		return nil, s.fail(opRawFlows, err)
	}
	defer func() { _ = rows.Close() }() // rows.Err reports read errors
	var flows []flow.Flow
	for rows.Next() {
		var f flow.Flow
		var exporter, src, dst []byte
		if err := rows.Scan(&f.TimeReceived, &exporter, &f.Protocol, &f.SamplingRate, &f.Bytes, &f.Packets,
			&src, &dst, &f.SrcPort, &f.DstPort, &f.IPProto, &f.EType, &f.InIf, &f.OutIf, &f.SrcMAC, &f.DstMAC,
			&f.SrcAS, &f.DstAS, &f.Role, &f.SrcMember, &f.DstMember, &f.IXPExchanged, &f.PathClass,
			&f.SrcCountry, &f.DstCountry, &f.Domestic); err != nil {
			return nil, s.fail(opRawFlows, err)
		}
		f.TimeReceived = f.TimeReceived.UTC()
		if f.Exporter, err = addrFrom(exporter); err == nil {
			if f.SrcAddr, err = addrFrom(src); err == nil {
				f.DstAddr, err = addrFrom(dst)
			}
		}
		if err != nil {
			return nil, s.fail(opRawFlows, err)
		}
		flows = append(flows, f)
	}
	if err := rows.Err(); err != nil {
		return nil, s.fail(opRawFlows, err)
	}
	return flows, nil
}

// addrFrom reverses addr16.
func addrFrom(b []byte) (netip.Addr, error) {
	if len(b) != 16 {
		return netip.Addr{}, fmt.Errorf("address of %d bytes, want 16", len(b))
	}
	a := netip.AddrFrom16([16]byte(b))
	if a.IsUnspecified() {
		return netip.Addr{}, nil
	}
	return a.Unmap(), nil
}
