package duckdb

import (
	"context"
	"database/sql/driver"
	"errors"
	"fmt"
	"time"

	duckdb "github.com/duckdb/duckdb-go/v2"

	"github.com/ixpd/ixpd/analytics"
)

// deleteSessionsSQL deletes the rows of routeserver_sessions whose
// (address, time) is in the query appender's table "batch".
const deleteSessionsSQL = `DELETE FROM routeserver_sessions AS r USING batch AS b
WHERE r.address = b.address AND r.time = b.time`

// WriteSessions stores the snapshots in one transaction: it deletes the
// rows of the snapshots' (Address, Time) pairs and appends the snapshots,
// so that a snapshot written again replaces the old one; on any error
// nothing of the batch is stored. Times are stored to the second; of
// several snapshots of the batch with the same (Address, Time), only the
// last is stored.
func (s *Store) WriteSessions(ctx context.Context, snaps []analytics.SessionSnapshot) error {
	if err := analytics.CheckSessions(snaps); err != nil {
		return s.fail(opSessionsWrite, err)
	}
	snaps = analytics.LastSessions(snaps)
	return s.replaceRows(ctx, opSessionsWrite, tableSessions, len(snaps), "session snapshots",
		func(c driver.Conn) error { return deleteSessions(ctx, c, snaps) },
		func(c driver.Conn) error { return appendSessions(ctx, c, snaps) })
}

// sessionSecond is the snapshot's time as stored: UTC, whole seconds.
func sessionSecond(t time.Time) time.Time { return time.Unix(t.Unix(), 0).UTC() }

// deleteSessions feeds the snapshots' keys to deleteSessionsSQL.
func deleteSessions(ctx context.Context, c driver.Conn, snaps []analytics.SessionSnapshot) error {
	var types []duckdb.TypeInfo
	for _, t := range []duckdb.Type{duckdb.TYPE_VARCHAR, duckdb.TYPE_TIMESTAMP} {
		ti, err := duckdb.NewTypeInfo(t)
		if err != nil {
			return err
		}
		types = append(types, ti)
	}
	a, err := duckdb.NewQueryAppender(c, deleteSessionsSQL, "batch", types, []string{"address", "time"})
	if err != nil {
		return err
	}
	for i := range snaps {
		if err := a.AppendRow(snaps[i].Address, sessionSecond(snaps[i].Time)); err != nil {
			return errors.Join(err, a.Close())
		}
	}
	return a.CloseWithCancel(ctx)
}

func appendSessions(ctx context.Context, c driver.Conn, snaps []analytics.SessionSnapshot) error {
	a, err := duckdb.NewAppenderFromConn(c, "", tableSessions)
	if err != nil {
		return err
	}
	for i := range snaps {
		sn := &snaps[i]
		codes, counts := analytics.SplitReasons(sn.Reasons)
		if err := a.AppendRow(sessionSecond(sn.Time), sn.ASN, sn.Address, sn.Up,
			sn.Received, sn.Accepted, sn.Filtered, sn.RPKIValid, sn.RPKIUnknown, sn.RPKIInvalid, sn.IRRValid,
			codes, counts); err != nil {
			return errors.Join(fmt.Errorf("snapshot %d (%s at %s): %w", i, sn.Address, sn.Time, err), a.Close())
		}
	}
	return a.CloseWithCancel(ctx)
}

// Sessions reads the snapshots whose time is in [q.From, q.To), sorted by
// time and address (bytewise).
func (s *Store) Sessions(ctx context.Context, q analytics.SessionQuery) ([]analytics.SessionSnapshot, error) {
	db, err := s.database()
	if err != nil {
		return nil, s.fail(opSessionsRead, err)
	}
	// The stored times are whole seconds, so whole microseconds:
	// ceilMicro makes the bounds exact.
	rows, err := db.QueryContext(ctx, `SELECT epoch_us(time), asn, address, up, received, accepted, filtered,
			rpki_valid, rpki_unknown, rpki_invalid, irr_valid, reason_codes, reason_counts
		FROM routeserver_sessions
		WHERE time >= make_timestamp($1) AND time < make_timestamp($2)
		ORDER BY time, address`, ceilMicro(q.From), ceilMicro(q.To))
	if err != nil {
		return nil, s.fail(opSessionsRead, err)
	}
	defer func() { _ = rows.Close() }() // rows.Err reports read errors
	var snaps []analytics.SessionSnapshot
	for rows.Next() {
		var (
			sn            analytics.SessionSnapshot
			t             int64
			codes, counts any
		)
		if err := rows.Scan(&t, &sn.ASN, &sn.Address, &sn.Up, &sn.Received, &sn.Accepted, &sn.Filtered,
			&sn.RPKIValid, &sn.RPKIUnknown, &sn.RPKIInvalid, &sn.IRRValid, &codes, &counts); err != nil {
			return nil, s.fail(opSessionsRead, err)
		}
		sn.Time = time.UnixMicro(t).UTC()
		c, err := listOf[uint16](codes)
		var n []uint32
		if err == nil {
			n, err = listOf[uint32](counts)
		}
		if err == nil {
			sn.Reasons, err = analytics.JoinReasons(c, n)
		}
		if err != nil {
			return nil, s.fail(opSessionsRead, fmt.Errorf("%s at %s: %w", sn.Address, sn.Time, err))
		}
		snaps = append(snaps, sn)
	}
	if err := rows.Err(); err != nil {
		return nil, s.fail(opSessionsRead, err)
	}
	return snaps, nil
}
