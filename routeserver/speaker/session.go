package speaker

import (
	"bufio"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"sync"
	"time"

	"github.com/osrg/gobgp/v4/pkg/packet/bgp"
)

// Session is one established BGP session. Its methods are safe for
// concurrent use.
type Session struct {
	cfg  Config
	conn net.Conn
	br   *bufio.Reader

	peerASN      uint32
	peerRouterID netip.Addr
	peerFamilies []Family
	hold         time.Duration

	wmu sync.Mutex // serialises writes to conn

	ended   chan struct{} // closed by terminate
	done    chan struct{} // closed when the goroutines have returned
	endOnce sync.Once
	mu      sync.Mutex
	err     error
	wg      sync.WaitGroup

	// Reader state, owned by the handshake and then the reader goroutine.
	buf       [bgp.BGP_MAX_MESSAGE_LENGTH]byte
	announced []netip.Prefix
	withdrawn []netip.Prefix
}

// keepaliveMsg is the encoded KEEPALIVE; it never changes.
var keepaliveMsg = func() []byte {
	b, err := bgp.NewBGPKeepAliveMessage().Serialize()
	if err != nil {
		panic(err)
	}
	return b
}()

// Dial connects from cfg.LocalAddr to cfg.Remote and completes the BGP
// handshake (OPEN, then KEEPALIVE, from both sides). ctx bounds the
// connection and the handshake; it does not limit the session afterwards.
func Dial(ctx context.Context, cfg Config) (*Session, error) {
	if err := cfg.validate(); err != nil {
		return nil, fmt.Errorf("dial %s: %w", cfg.Remote, err)
	}
	if !cfg.Remote.IsValid() {
		return nil, errors.New("dial: remote address missing")
	}
	d := net.Dialer{LocalAddr: &net.TCPAddr{IP: cfg.LocalAddr.AsSlice()}}
	conn, err := d.DialContext(ctx, "tcp", cfg.Remote.String())
	if err != nil {
		return nil, fmt.Errorf("dial %s from %s: %w", cfg.Remote, cfg.LocalAddr, err)
	}
	s, err := handshake(ctx, conn, cfg)
	if err != nil {
		return nil, fmt.Errorf("bgp handshake with %s: %w", cfg.Remote, err)
	}
	return s, nil
}

// Accept runs the BGP handshake on a connection accepted by the caller and
// returns the established session, which owns conn from then on. cfg.Remote
// is ignored; cfg.LocalAddr may be left empty. On error conn is closed.
func Accept(ctx context.Context, conn net.Conn, cfg Config) (*Session, error) {
	if !cfg.LocalAddr.IsValid() {
		if ap, err := netip.ParseAddrPort(conn.LocalAddr().String()); err == nil {
			cfg.LocalAddr = ap.Addr()
		}
	}
	if err := cfg.validate(); err != nil {
		_ = conn.Close() // the configuration error is the one to report
		return nil, fmt.Errorf("accept %s: %w", conn.RemoteAddr(), err)
	}
	s, err := handshake(ctx, conn, cfg)
	if err != nil {
		return nil, fmt.Errorf("bgp handshake with %s: %w", conn.RemoteAddr(), err)
	}
	return s, nil
}

// handshake sends the OPEN, checks the peer's, exchanges KEEPALIVEs and
// starts the session's goroutines. It closes conn on error.
func handshake(ctx context.Context, conn net.Conn, cfg Config) (_ *Session, err error) {
	s := &Session{
		cfg:   cfg,
		conn:  conn,
		br:    bufio.NewReaderSize(conn, 64<<10),
		ended: make(chan struct{}),
		done:  make(chan struct{}),
	}
	defer func() {
		if err != nil {
			_ = conn.Close() // err is the one to report
		}
	}()
	if dl, ok := ctx.Deadline(); ok {
		if err := conn.SetDeadline(dl); err != nil {
			return nil, fmt.Errorf("set handshake deadline: %w", err)
		}
	}
	// A deadline in the past unblocks the handshake's reads and writes; it
	// fails only on a closed conn, whose reads and writes fail anyway.
	stop := context.AfterFunc(ctx, func() { _ = conn.SetDeadline(time.Unix(1, 0)) })
	defer stop()
	ctxErr := func(err error) error {
		if ctx.Err() != nil {
			return fmt.Errorf("%w: %w", ctx.Err(), err)
		}
		return err
	}

	open, err := openMessage(&cfg)
	if err != nil {
		return nil, err
	}
	if _, err := conn.Write(open); err != nil {
		return nil, ctxErr(fmt.Errorf("send open: %w", err))
	}

	typ, body, err := s.readMessage()
	if err != nil {
		return nil, ctxErr(fmt.Errorf("wait for open: %w", err))
	}
	switch typ {
	case bgp.BGP_MSG_OPEN:
	case bgp.BGP_MSG_NOTIFICATION:
		return nil, receivedNotification(body)
	default:
		return nil, s.reject(bgp.BGP_ERROR_FSM_ERROR, bgp.BGP_ERROR_SUB_RECEIVE_UNEXPECTED_MESSAGE_IN_OPENSENT_STATE)
	}
	if nerr := s.checkOpen(body); nerr != nil {
		return nil, s.reject(nerr.Code, nerr.Subcode)
	}
	if _, err := conn.Write(keepaliveMsg); err != nil {
		return nil, ctxErr(fmt.Errorf("send keepalive: %w", err))
	}

	typ, body, err = s.readMessage()
	if err != nil {
		return nil, ctxErr(fmt.Errorf("wait for keepalive: %w", err))
	}
	switch typ {
	case bgp.BGP_MSG_KEEPALIVE:
	case bgp.BGP_MSG_NOTIFICATION:
		return nil, receivedNotification(body)
	default:
		return nil, s.reject(bgp.BGP_ERROR_FSM_ERROR, bgp.BGP_ERROR_SUB_RECEIVE_UNEXPECTED_MESSAGE_IN_OPENCONFIRM_STATE)
	}
	if !stop() {
		return nil, ctx.Err()
	}
	if err := conn.SetDeadline(time.Time{}); err != nil {
		return nil, fmt.Errorf("clear handshake deadline: %w", err)
	}

	s.wg.Add(1)
	go s.readLoop()
	if s.hold > 0 {
		s.wg.Add(1)
		go s.keepaliveLoop()
	}
	go func() {
		s.wg.Wait()
		close(s.done)
	}()
	return s, nil
}

// reject sends a NOTIFICATION during the handshake and returns it as the
// error. Sending is best effort: handshake closes the connection after it
// either way.
func (s *Session) reject(code, subcode uint8) error {
	_ = s.conn.SetWriteDeadline(time.Now().Add(time.Second))
	_, _ = s.conn.Write(notification(code, subcode, nil))
	return &NotificationError{Code: code, Subcode: subcode, Sent: true}
}

func receivedNotification(body []byte) *NotificationError {
	e := &NotificationError{}
	if len(body) >= 2 {
		e.Code, e.Subcode = body[0], body[1]
		e.Data = append([]byte(nil), body[2:]...)
	}
	return e
}

// readMessage reads one message into s.buf and returns its type and body.
// Framing errors come back as a *NotificationError to send.
func (s *Session) readMessage() (uint8, []byte, error) {
	hdr := s.buf[:bgp.BGP_HEADER_LENGTH]
	if _, err := io.ReadFull(s.br, hdr); err != nil {
		return 0, nil, err
	}
	for _, b := range hdr[:16] {
		if b != 0xff {
			return 0, nil, &NotificationError{Code: bgp.BGP_ERROR_MESSAGE_HEADER_ERROR, Subcode: bgp.BGP_ERROR_SUB_CONNECTION_NOT_SYNCHRONIZED, Sent: true}
		}
	}
	n := int(binary.BigEndian.Uint16(hdr[16:18]))
	typ := hdr[18]
	if n < bgp.BGP_HEADER_LENGTH || n > len(s.buf) {
		return 0, nil, &NotificationError{Code: bgp.BGP_ERROR_MESSAGE_HEADER_ERROR, Subcode: bgp.BGP_ERROR_SUB_BAD_MESSAGE_LENGTH, Data: append([]byte(nil), hdr[16:18]...), Sent: true}
	}
	if typ < bgp.BGP_MSG_OPEN || typ > bgp.BGP_MSG_ROUTE_REFRESH {
		return 0, nil, &NotificationError{Code: bgp.BGP_ERROR_MESSAGE_HEADER_ERROR, Subcode: bgp.BGP_ERROR_SUB_BAD_MESSAGE_TYPE, Data: []byte{typ}, Sent: true}
	}
	body := s.buf[bgp.BGP_HEADER_LENGTH:n]
	if _, err := io.ReadFull(s.br, body); err != nil {
		return 0, nil, err
	}
	return typ, body, nil
}

// readLoop reads messages until the session ends.
func (s *Session) readLoop() {
	defer s.wg.Done()
	var lastDeadline time.Time
	for {
		if s.hold > 0 {
			// Moving the deadline on every message costs more than the
			// messages themselves when a peer sends one prefix per UPDATE,
			// so it moves at most every hold/8: the hold timer fires
			// between 7/8 and all of the hold time after the last message.
			if now := time.Now(); now.Sub(lastDeadline) > s.hold/8 {
				if err := s.conn.SetReadDeadline(now.Add(s.hold)); err != nil {
					s.terminate(fmt.Errorf("set hold timer: %w", err), nil)
					return
				}
				lastDeadline = now
			}
		}
		typ, body, err := s.readMessage()
		if err != nil {
			s.readFailed(err)
			return
		}
		switch typ {
		case bgp.BGP_MSG_UPDATE:
			ann, wd, attrs, nerr := decodeUpdate(body, s.announced[:0], s.withdrawn[:0])
			s.announced, s.withdrawn = ann, wd
			if nerr != nil {
				s.fail(nerr)
				return
			}
			if s.cfg.OnUpdate != nil {
				s.cfg.OnUpdate(ann, wd, attrs)
			}
		case bgp.BGP_MSG_KEEPALIVE:
			if len(body) != 0 {
				s.fail(&NotificationError{Code: bgp.BGP_ERROR_MESSAGE_HEADER_ERROR, Subcode: bgp.BGP_ERROR_SUB_BAD_MESSAGE_LENGTH, Sent: true})
				return
			}
		case bgp.BGP_MSG_NOTIFICATION:
			s.terminate(receivedNotification(body), nil)
			return
		case bgp.BGP_MSG_OPEN:
			s.fail(&NotificationError{Code: bgp.BGP_ERROR_FSM_ERROR, Subcode: bgp.BGP_ERROR_SUB_RECEIVE_UNEXPECTED_MESSAGE_IN_ESTABLISHED_STATE, Sent: true})
			return
		case bgp.BGP_MSG_ROUTE_REFRESH:
			// Not advertised; a peer that sends one anyway gets nothing.
		}
	}
}

// readFailed ends the session after a read error.
func (s *Session) readFailed(err error) {
	var nerr *NotificationError
	switch {
	case errors.As(err, &nerr):
		s.fail(nerr)
	case errors.Is(err, os.ErrDeadlineExceeded):
		s.fail(&NotificationError{Code: bgp.BGP_ERROR_HOLD_TIMER_EXPIRED, Sent: true})
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		s.terminate(fmt.Errorf("peer closed the connection: %w", err), nil)
	default:
		s.terminate(fmt.Errorf("read: %w", err), nil)
	}
}

// fail sends the NOTIFICATION nerr and ends the session with it.
func (s *Session) fail(nerr *NotificationError) {
	s.terminate(nerr, notification(nerr.Code, nerr.Subcode, nerr.Data))
}

func (s *Session) keepaliveLoop() {
	defer s.wg.Done()
	t := time.NewTicker(s.hold / 3)
	defer t.Stop()
	for {
		select {
		case <-s.ended:
			return
		case <-t.C:
			if err := s.write(keepaliveMsg); err != nil {
				s.terminate(fmt.Errorf("send keepalive: %w", err), nil)
				return
			}
		}
	}
}

func (s *Session) write(b []byte) error {
	s.wmu.Lock()
	_, err := s.conn.Write(b)
	s.wmu.Unlock()
	return err
}

// terminate ends the session once: it records err, sends notif when not
// nil (waiting at most a second) and closes the connection. Sending and
// closing are best effort: the session has ended with err whatever they
// return.
func (s *Session) terminate(err error, notif []byte) {
	s.endOnce.Do(func() {
		s.mu.Lock()
		s.err = err
		s.mu.Unlock()
		close(s.ended)
		if notif != nil {
			// The deadline also unblocks a Send stuck on a full socket.
			_ = s.conn.SetWriteDeadline(time.Now().Add(time.Second))
			_ = s.write(notif)
		}
		_ = s.conn.Close()
	})
}

// Send writes msg, one or more complete BGP messages, to the peer as it is.
// It does not check the bytes, so tests can send malformed messages.
func (s *Session) Send(msg []byte) error {
	select {
	case <-s.ended:
		return ErrClosed
	default:
	}
	if err := s.write(msg); err != nil {
		select {
		case <-s.ended:
			return ErrClosed
		default:
		}
		err = fmt.Errorf("send: %w", err)
		s.terminate(err, nil)
		return err
	}
	return nil
}

// Close sends a Cease (administrative shutdown) NOTIFICATION and closes the
// connection. The session's goroutines return soon after; Done is closed
// when they have. Close on an ended session does nothing. It always returns
// nil: why the session ended is in Err.
func (s *Session) Close() error {
	s.terminate(ErrClosed, notification(bgp.BGP_ERROR_CEASE, bgp.BGP_ERROR_SUB_ADMINISTRATIVE_SHUTDOWN, nil))
	return nil
}

// Done is closed when the session has ended and its goroutines have
// returned; OnUpdate is not called after that.
func (s *Session) Done() <-chan struct{} { return s.done }

// Err returns nil while the session is up and, once it has ended, why: a
// *NotificationError for a NOTIFICATION received or sent, ErrClosed after
// Close, or the I/O error.
func (s *Session) Err() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.err
}

// PeerASN is the AS number in the peer's OPEN (its 4-octet-AS capability).
func (s *Session) PeerASN() uint32 { return s.peerASN }

// PeerRouterID is the BGP identifier in the peer's OPEN.
func (s *Session) PeerRouterID() netip.Addr { return s.peerRouterID }

// PeerFamilies lists the families of the peer's multiprotocol capability
// that this speaker supports, whether or not it announced them itself.
func (s *Session) PeerFamilies() []Family { return append([]Family(nil), s.peerFamilies...) }

// HoldTime is the negotiated hold time; zero means no keepalives and no
// hold timer.
func (s *Session) HoldTime() time.Duration { return s.hold }

// LocalAddr is the session's local address and port.
func (s *Session) LocalAddr() netip.AddrPort {
	ap, _ := netip.ParseAddrPort(s.conn.LocalAddr().String())
	return ap
}
