package clickhouse

import (
	"context"
	"fmt"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"

	"github.com/ixpd/ixpd/analytics"
)

// sessionColumns are the columns of the session table, in the order of
// the slices that sessionColumnValues returns and of Sessions' SELECT.
var sessionColumns = []string{
	"time", "asn", "address", "up", "received", "accepted", "filtered",
	"rpki_valid", "rpki_unknown", "rpki_invalid", "irr_valid", "reason_codes", "reason_counts",
}

// WriteSessions writes the snapshots as one native INSERT block with an
// explicit column list. An (Address, Time) written again is a new row in
// a ReplacingMergeTree: merges keep the row inserted last, and Sessions
// reads with FINAL, so that the last one is the only one seen even before
// they merge (see WriteLatency). Times are stored to the second; of
// several snapshots of the batch with the same (Address, Time), only the
// last is sent.
//
// Snapshots that the table cannot hold (see analytics.CheckSessions) fail
// the whole batch before anything is sent. The server writes one part per
// month in the block; a server that dies in the middle of a block that
// spans two months can keep one of them.
func (s *Store) WriteSessions(ctx context.Context, snaps []analytics.SessionSnapshot) error {
	if err := s.usable(ctx); err != nil {
		return s.fail(opSessionsWrite, err)
	}
	if len(snaps) == 0 {
		return nil
	}
	if err := analytics.CheckSessions(snaps); err != nil {
		return s.fail(opSessionsWrite, err)
	}
	snaps = analytics.LastSessions(snaps)
	batch, err := s.prepareBatch(ctx, tableSessions, sessionColumns)
	if err != nil {
		return s.fail(opSessionsWrite, err)
	}
	if err := appendSessions(batch, snaps); err != nil {
		_ = batch.Abort()
		return s.fail(opSessionsWrite, err)
	}
	if err := batch.Send(); err != nil {
		return s.fail(opSessionsWrite, fmt.Errorf("send batch of %d session snapshots: %w", len(snaps), err))
	}
	s.metrics.rowsInserted.WithLabelValues(tableSessions).Add(float64(len(snaps)))
	return nil
}

func appendSessions(batch driver.Batch, snaps []analytics.SessionSnapshot) error {
	values := sessionColumnValues(snaps)
	if len(values) != len(sessionColumns) {
		return fmt.Errorf("internal error: %d column values for %d columns", len(values), len(sessionColumns))
	}
	for i, v := range values {
		if err := batch.Column(i).Append(v); err != nil {
			return fmt.Errorf("append column %s: %w", sessionColumns[i], err)
		}
	}
	return nil
}

// sessionColumnValues turns snapshots into one slice per column of
// sessionColumns.
func sessionColumnValues(snaps []analytics.SessionSnapshot) []any {
	n := len(snaps)
	var (
		times                        = make([]time.Time, n)
		asns                         = make([]uint32, n)
		addresses                    = make([]string, n)
		up                           = make([]uint8, n)
		received, accepted, filtered = make([]uint32, n), make([]uint32, n), make([]uint32, n)
		valid, unknown, invalid      = make([]uint32, n), make([]uint32, n), make([]uint32, n)
		irrValid                     = make([]uint32, n)
		codes                        = make([][]uint16, n)
		counts                       = make([][]uint32, n)
	)
	for i := range snaps {
		sn := &snaps[i]
		// DateTime drops the fraction of a second.
		times[i], asns[i], addresses[i], up[i] = sn.Time, sn.ASN, sn.Address, boolByte(sn.Up)
		received[i], accepted[i], filtered[i] = sn.Received, sn.Accepted, sn.Filtered
		valid[i], unknown[i], invalid[i], irrValid[i] = sn.RPKIValid, sn.RPKIUnknown, sn.RPKIInvalid, sn.IRRValid
		codes[i], counts[i] = analytics.SplitReasons(sn.Reasons)
	}
	return []any{
		times, asns, addresses, up, received, accepted, filtered,
		valid, unknown, invalid, irrValid, codes, counts,
	}
}

// Sessions reads the snapshots whose time is in [q.From, q.To), sorted by
// time and address (bytewise, as ClickHouse compares strings).
//
// Like Latency, it reads the ReplacingMergeTree with FINAL, which keeps
// the row of an (address, time) inserted last; the WHERE clause uses only
// a sorting key column, so that it drops whole (address, time) groups.
func (s *Store) Sessions(ctx context.Context, q analytics.SessionQuery) ([]analytics.SessionSnapshot, error) {
	if err := s.usable(ctx); err != nil {
		return nil, s.fail(opSessionsRead, err)
	}
	query := "SELECT toUInt32(time), asn, address, up, received, accepted, filtered," +
		" rpki_valid, rpki_unknown, rpki_invalid, irr_valid, reason_codes, reason_counts" +
		" FROM " + s.table(tableSessions) + " FINAL" +
		" WHERE time >= toDateTime(?) AND time < toDateTime(?)" +
		" ORDER BY time, address"
	start := time.Now()
	rows, err := s.conn.Query(ctx, query, unixSeconds(q.From), unixSeconds(q.To))
	if err != nil {
		return nil, s.fail(opSessionsRead, err)
	}
	defer func() { _ = rows.Close() }()
	var snaps []analytics.SessionSnapshot
	for rows.Next() {
		var (
			sn     analytics.SessionSnapshot
			t      uint32
			up     uint8
			codes  []uint16
			counts []uint32
		)
		if err := rows.Scan(&t, &sn.ASN, &sn.Address, &up, &sn.Received, &sn.Accepted, &sn.Filtered,
			&sn.RPKIValid, &sn.RPKIUnknown, &sn.RPKIInvalid, &sn.IRRValid, &codes, &counts); err != nil {
			return nil, s.fail(opSessionsRead, err)
		}
		sn.Time, sn.Up = time.Unix(int64(t), 0).UTC(), up != 0
		if sn.Reasons, err = analytics.JoinReasons(codes, counts); err != nil {
			return nil, s.fail(opSessionsRead, fmt.Errorf("%s at %s: %w", sn.Address, sn.Time, err))
		}
		snaps = append(snaps, sn)
	}
	if err := rows.Err(); err != nil {
		return nil, s.fail(opSessionsRead, err)
	}
	s.metrics.querySeconds.WithLabelValues(opSessionsRead).Observe(time.Since(start).Seconds())
	return snaps, nil
}
