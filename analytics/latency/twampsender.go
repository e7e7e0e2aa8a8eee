package latency

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"time"

	"golang.org/x/sync/errgroup"
)

// twampEngine is a TWAMP-light session-sender with one UDP socket per
// address family.
type twampEngine struct {
	p     *Prober
	v4    *twampSocket
	v6    *twampSocket
	need4 bool
	need6 bool
}

type twampSocket struct {
	v6      bool
	conn    *net.UDPConn
	pending *pendingTable
	buf     []byte // the packet being sent; the scheduler goroutine's
}

func newTWAMPEngine(p *Prober) *twampEngine {
	e := &twampEngine{p: p}
	e.need4, e.need6 = familiesOf(p.targets, MethodTWAMP)
	return e
}

func (e *twampEngine) open() error {
	e.v4, e.v6 = nil, nil // the last run's, closed
	var err error
	if e.need4 {
		if e.v4, err = openTWAMP(false, e.p.cfg.Timeout); err != nil {
			return err
		}
	}
	if e.need6 {
		if e.v6, err = openTWAMP(true, e.p.cfg.Timeout); err != nil {
			e.close()
			return err
		}
	}
	return nil
}

func openTWAMP(v6 bool, timeout time.Duration) (*twampSocket, error) {
	network, laddr := "udp4", &net.UDPAddr{IP: net.IPv4zero}
	if v6 {
		network, laddr = "udp6", &net.UDPAddr{IP: net.IPv6unspecified}
	}
	conn, err := net.ListenUDP(network, laddr)
	if err != nil {
		return nil, fmt.Errorf("open twamp %s socket: %w", network, err)
	}
	growReceiveBuffer(conn)
	// RFC 5357 §4.1.2: the sender's TTL is 255, so the reflector's copy
	// of what arrived tells the hops.
	if err := setTTL(conn, v6, 255); err != nil && kernelTimestamps {
		_ = conn.Close()
		return nil, fmt.Errorf("twamp %s socket: set TTL: %w", network, err)
	}
	if err := enableRxTimestamps(conn); err != nil && kernelTimestamps {
		_ = conn.Close()
		return nil, fmt.Errorf("twamp %s socket: %w", network, err)
	}
	return &twampSocket{v6: v6, conn: conn, pending: newPendingTable(timeout, 0xffffffff),
		buf: make([]byte, 0, TWAMPReflectedSize)}, nil
}

func (e *twampEngine) add(ctx context.Context, eg *errgroup.Group, t *target) error {
	need, sock, v6 := &e.need4, &e.v4, false
	if !t.addr.Addr().Is4() {
		need, sock, v6 = &e.need6, &e.v6, true
	}
	if eg != nil && *sock == nil {
		// No probe of this family is sent before t is scheduled, after
		// this: the scheduler does not read *sock meanwhile.
		s, err := openTWAMP(v6, e.p.cfg.Timeout)
		if err != nil {
			return err
		}
		*sock = s
		eg.Go(func() error { return e.read(ctx, s) })
	}
	*need = true
	return nil
}

func (e *twampEngine) close() {
	for _, s := range []*twampSocket{e.v4, e.v6} {
		if s != nil {
			_ = s.conn.Close()
		}
	}
}

func (e *twampEngine) run(ctx context.Context, eg *errgroup.Group) {
	for _, s := range []*twampSocket{e.v4, e.v6} {
		if s != nil {
			eg.Go(func() error { return e.read(ctx, s) })
		}
	}
}

// send writes a test packet padded to the reflected size (RFC 6038
// symmetric size).
func (e *twampEngine) send(t *target, due time.Time) {
	// Only the socket of t's family is read: SetMembers may be opening
	// the other.
	var s *twampSocket
	if t.addr.Addr().Is4() {
		s = e.v4
	} else {
		s = e.v6
	}
	key := s.pending.newKey()
	now := time.Now()
	s.buf = AppendTWAMPSender(s.buf[:0], TWAMPSender{Seq: uint32(key), Timestamp: now, Estimate: unsyncedEstimate},
		TWAMPReflectedSize)
	ref := e.p.sentAt(t, due, now)
	s.pending.put(key, pendingProbe{t: t, ref: ref, sent: now})
	if _, err := s.conn.WriteToUDPAddrPort(s.buf, t.addr); err != nil {
		e.p.metrics.probeErrors.WithLabelValues(MethodTWAMP, reasonSend).Inc()
		e.p.logger.Debug("twamp send failed", "target", t.Name, "err", err)
	}
}

// read matches reflected packets to their probes until the socket
// closes.
func (e *twampEngine) read(ctx context.Context, s *twampSocket) error {
	buf := make([]byte, 2048)
	oob := make([]byte, oobSize)
	var errs int
	for {
		n, oobn, _, from, err := s.conn.ReadMsgUDPAddrPort(buf, oob)
		user := time.Now()
		if err != nil {
			if ctx.Err() != nil || errors.Is(err, net.ErrClosed) {
				return nil
			}
			// ICMP port unreachable from a closed reflector port comes
			// back as a read error: that probe is lost.
			errs++
			if errs%1000 == 0 {
				e.p.logger.Warn("twamp read errors", "err", err, "count", errs)
			}
			continue
		}
		r, err := ParseTWAMPReflected(buf[:n])
		if err != nil {
			e.p.metrics.ignored.WithLabelValues(MethodTWAMP, reasonMalformed).Inc()
			continue
		}
		p, ok := s.pending.take(uint64(r.SenderSeq), netip.AddrPortFrom(from.Addr().Unmap(), from.Port()))
		if !ok {
			e.p.metrics.ignored.WithLabelValues(MethodTWAMP, reasonUnmatched).Inc()
			continue
		}
		info := parseRxInfo(oob[:oobn])
		// T3 − T2, both on the reflector's clock; answer ignores a
		// negative or implausibly long one.
		residence := r.Timestamp.Sub(r.Receive)
		e.p.answer(MethodTWAMP, p.ref, p.sent, info.at, user, residence)
	}
}
