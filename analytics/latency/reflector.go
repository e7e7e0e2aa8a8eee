package latency

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"
)

// ReflectorOptions configure a Reflector.
type ReflectorOptions struct {
	// Delay is added to every answer, as if the path were that much
	// longer: it is applied before the receive timestamp T2 (T2 is the
	// arrival time plus Delay), so a sender computing
	// T4 − T1 − (T3 − T2) sees it. Packets wait in a queue; one waiting
	// packet does not hold up the next.
	Delay time.Duration
	// Loss is the share of test packets dropped at random, 0 to 1.
	Loss float64
	// Seed makes the drops repeatable; 0 draws a random seed.
	Seed uint64
	// QueueSize bounds the answers waiting out Delay; beyond it test
	// packets are dropped and counted. 0 means 65536.
	QueueSize int
}

// ReflectorStats count what a Reflector did since it was made.
type ReflectorStats struct {
	Received  uint64 // valid test packets
	Reflected uint64 // answers sent
	Dropped   uint64 // dropped on purpose (Loss)
	Malformed uint64 // datagrams too short to be test packets
	Overflow  uint64 // dropped because the delay queue was full
	Errors    uint64 // failed reads and writes
}

// Reflector is a TWAMP-light session-reflector (RFC 5357 §4.2,
// unauthenticated mode, no control session). It answers every test
// packet with the reflected format: its own sequence number, T3, its
// error estimate, T2, and the sender's sequence number, timestamp, error
// estimate and TTL copied from the test packet. It is stateless in the
// sense of RFC 8972 §4: its sequence number is the sender's. The answer
// is as long as the test packet, and at least 41 bytes.
type Reflector struct {
	logger *slog.Logger
	opts   ReflectorOptions

	rngMu sync.Mutex
	rng   *rand.Rand

	received, reflected, dropped, malformed, overflow, errs atomic.Uint64
}

// NewReflector checks the options and returns a reflector; it does no
// I/O.
func NewReflector(logger *slog.Logger, opts ReflectorOptions) (*Reflector, error) {
	if opts.Delay < 0 {
		return nil, fmt.Errorf("reflector delay: %s is negative", opts.Delay)
	}
	if !(opts.Loss >= 0 && opts.Loss <= 1) {
		return nil, fmt.Errorf("reflector loss: %v is outside 0..1", opts.Loss)
	}
	if opts.QueueSize < 0 {
		return nil, fmt.Errorf("reflector queue size: %d is negative", opts.QueueSize)
	}
	if opts.QueueSize == 0 {
		opts.QueueSize = 65536
	}
	seed := opts.Seed
	if seed == 0 {
		seed = rand.Uint64()
	}
	return &Reflector{
		logger: logger.With("component", "twamp_reflector"),
		opts:   opts,
		rng:    newLossRNG(seed),
	}, nil
}

// newLossRNG is the generator of a reflector's drops: one draw per test
// packet received, dropped when below Loss.
func newLossRNG(seed uint64) *rand.Rand {
	return rand.New(rand.NewPCG(seed, seed^0xda3e39cb94b95bdb))
}

// Stats returns the counters.
func (r *Reflector) Stats() ReflectorStats {
	return ReflectorStats{
		Received: r.received.Load(), Reflected: r.reflected.Load(), Dropped: r.dropped.Load(),
		Malformed: r.malformed.Load(), Overflow: r.overflow.Load(), Errors: r.errs.Load(),
	}
}

// ListenAndServe listens on the UDP address addr ("127.0.0.21:862",
// "[::]:862") and serves until ctx is done.
func (r *Reflector) ListenAndServe(ctx context.Context, addr string) error {
	ua, err := net.ResolveUDPAddr("udp", addr)
	if err != nil {
		return fmt.Errorf("reflector address %q: %w", addr, err)
	}
	conn, err := net.ListenUDP("udp", ua)
	if err != nil {
		return fmt.Errorf("reflector: %w", err)
	}
	return r.Serve(ctx, conn)
}

// delayed is an answer waiting out the delay.
type delayed struct {
	packet []byte
	to     netip.AddrPort
	at     time.Time // when to send, monotonic
}

// Serve answers the test packets arriving on conn until ctx is done or
// conn is closed; it closes conn and returns nil then. Answers still
// waiting out the delay are dropped.
func (r *Reflector) Serve(ctx context.Context, conn *net.UDPConn) error {
	ctx, cancel := context.WithCancel(ctx)
	stop := context.AfterFunc(ctx, func() { _ = conn.Close() })
	var wg sync.WaitGroup
	defer func() {
		stop()
		cancel()
		wg.Wait()
		_ = conn.Close()
	}()

	v6 := false
	if la, ok := conn.LocalAddr().(*net.UDPAddr); ok {
		v6 = la.IP.To4() == nil
	}
	if err := enableRxTimestamps(conn); err != nil {
		r.logger.Debug("no kernel receive timestamps", "err", err)
	}
	if err := enableRxTTL(conn, v6); err != nil {
		r.logger.Debug("no received TTL", "err", err)
	}
	_ = setTTL(conn, v6, 255) // RFC 5357 §4.2: answers leave with TTL 255
	growReceiveBuffer(conn)

	var queue chan delayed
	if r.opts.Delay > 0 {
		queue = make(chan delayed, r.opts.QueueSize)
		wg.Go(func() { r.sendDelayed(ctx, conn, queue) })
	}

	buf := make([]byte, 65536)
	oob := make([]byte, oobSize)
	for {
		n, oobn, _, from, err := conn.ReadMsgUDPAddrPort(buf, oob)
		user := time.Now()
		if err != nil {
			if ctx.Err() != nil || errors.Is(err, net.ErrClosed) {
				return nil
			}
			r.errs.Add(1)
			continue
		}
		if n < TWAMPSenderSize {
			r.malformed.Add(1)
			continue
		}
		r.received.Add(1)
		if r.opts.Loss > 0 && r.drop() {
			r.dropped.Add(1)
			continue
		}
		info := parseRxInfo(oob[:oobn])
		rx := info.at
		if rx.IsZero() {
			rx = user
		}
		ttl := max(info.ttl, 0)
		packet := r.reflect(buf[:n], rx.Add(r.opts.Delay), uint8(min(ttl, 255)))
		if queue == nil {
			r.send(conn, packet, from)
			continue
		}
		// Due at rx + Delay, on the monotonic clock of user.
		at := user.Add(r.opts.Delay - max(user.Sub(rx), 0))
		select {
		case queue <- delayed{packet: packet, to: from, at: at}:
		default:
			r.overflow.Add(1)
		}
	}
}

func (r *Reflector) drop() bool {
	r.rngMu.Lock()
	defer r.rngMu.Unlock()
	return r.rng.Float64() < r.opts.Loss
}

// reflect builds the answer to a test packet received at t2 (delay
// included); T3 is written when it leaves.
func (r *Reflector) reflect(req []byte, t2 time.Time, ttl uint8) []byte {
	s, _ := ParseTWAMPSender(req) // the length was checked
	out := AppendTWAMPReflected(make([]byte, 0, max(len(req), TWAMPReflectedSize)), TWAMPReflected{
		Seq:            s.Seq,
		Estimate:       unsyncedEstimate,
		Receive:        t2,
		SenderSeq:      s.Seq,
		SenderEstimate: s.Estimate,
		SenderTTL:      ttl,
	}, len(req))
	copy(out[28:36], req[4:12]) // the sender's timestamp, bit for bit
	return out
}

// send stamps T3 and sends an answer.
func (r *Reflector) send(conn *net.UDPConn, packet []byte, to netip.AddrPort) {
	putTWAMPTimestamp(packet, time.Now())
	if _, err := conn.WriteToUDPAddrPort(packet, to); err != nil {
		r.errs.Add(1)
		return
	}
	r.reflected.Add(1)
}

// sendDelayed sends the queued answers when they are due. The delay is
// the same for every packet, so the queue is in the order of the due
// times and one timer serves it.
func (r *Reflector) sendDelayed(ctx context.Context, conn *net.UDPConn, queue <-chan delayed) {
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	for {
		var d delayed
		select {
		case <-ctx.Done():
			return
		case d = <-queue:
		}
		if wait := time.Until(d.at); wait > 0 {
			timer.Reset(wait)
			select {
			case <-ctx.Done():
				return
			case <-timer.C:
			}
		}
		r.send(conn, d.packet, d.to)
	}
}
