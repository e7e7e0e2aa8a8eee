package clickhouse

import (
	"context"
	sqldriver "database/sql/driver"
	"errors"
	"fmt"
	"io"
	"net"
	"syscall"

	"github.com/ClickHouse/clickhouse-go/v2"

	"github.com/ixpd/ixpd/analytics"
)

// errClosed is returned by every method after Close.
var errClosed = errors.New("clickhouse store closed")

// Server exception codes that mean "not now" rather than "never": the
// batch or query may succeed when retried later.
var retryableCodes = map[int32]bool{
	159: true, // TIMEOUT_EXCEEDED
	164: true, // READONLY (replica in read-only mode)
	202: true, // TOO_MANY_SIMULTANEOUS_QUERIES
	203: true, // NO_FREE_CONNECTION
	209: true, // SOCKET_TIMEOUT
	210: true, // NETWORK_ERROR
	241: true, // MEMORY_LIMIT_EXCEEDED
	242: true, // TABLE_IS_READ_ONLY
	252: true, // TOO_MANY_PARTS (inserts faster than merges)
	279: true, // ALL_CONNECTION_TRIES_FAILED (a shard of a cluster is down)
}

// unavailable tells whether err means that the server cannot be used now:
// it could not be reached, the connection broke, the store is closed, the
// caller's deadline ran out waiting for it, or the server is overloaded.
// A server exception about the query or data itself is not, and neither is
// the caller cancelling.
func unavailable(err error) bool {
	var exc *clickhouse.Exception
	switch {
	case err == nil, errors.Is(err, context.Canceled):
		return false
	case errors.As(err, &exc):
		return retryableCodes[exc.Code]
	case errors.Is(err, errClosed),
		errors.Is(err, clickhouse.ErrConnectionClosed),
		errors.Is(err, clickhouse.ErrAcquireConnTimeout),
		errors.Is(err, context.DeadlineExceeded),
		errors.Is(err, sqldriver.ErrBadConn),
		errors.Is(err, io.EOF),
		errors.Is(err, io.ErrUnexpectedEOF),
		errors.Is(err, net.ErrClosed),
		errors.Is(err, syscall.ECONNREFUSED),
		errors.Is(err, syscall.ECONNRESET),
		errors.Is(err, syscall.EPIPE):
		return true
	}
	var netErr net.Error
	return errors.As(err, &netErr)
}

// fail counts a failed operation and wraps err with the operation, and
// with analytics.ErrUnavailable when the server cannot be used now.
func (s *Store) fail(op string, err error) error {
	if unavailable(err) {
		s.metrics.errors.WithLabelValues(op, "unavailable").Inc()
		return fmt.Errorf("clickhouse %s: %w: %w", op, analytics.ErrUnavailable, err)
	}
	s.metrics.errors.WithLabelValues(op, "other").Inc()
	return fmt.Errorf("clickhouse %s: %w", op, err)
}
