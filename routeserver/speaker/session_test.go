package speaker

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/osrg/gobgp/v4/pkg/packet/bgp"
)

// pair holds two sessions connected over loopback: dialer dialled
// acceptor's listener.
type pair struct {
	dialer, acceptor *Session
}

// baseConfig is a speaker with AS asn on 127.0.0.1 for both families.
func baseConfig(asn uint32) Config {
	lo := netip.MustParseAddr("127.0.0.1")
	return Config{
		LocalAddr: lo,
		ASN:       asn,
		RouterID:  lo,
		Families:  []Family{IPv4Unicast, IPv6Unicast},
	}
}

// connect brings up a session between dcfg (dialling) and acfg
// (accepting) and closes both when the test ends.
func connect(t *testing.T, dcfg, acfg Config) pair {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = ln.Close() }()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()

	type result struct {
		s   *Session
		err error
	}
	accepted := make(chan result, 1)
	go func() {
		conn, err := ln.Accept()
		if err != nil {
			accepted <- result{err: err}
			return
		}
		s, err := Accept(ctx, conn, acfg)
		accepted <- result{s, err}
	}()
	dcfg.Remote = netip.MustParseAddrPort(ln.Addr().String())
	d, derr := Dial(ctx, dcfg)
	a := <-accepted
	if derr != nil || a.err != nil {
		t.Fatalf("dial: %v; accept: %v", derr, a.err)
	}
	t.Cleanup(func() {
		_ = d.Close() // Close always returns nil
		_ = a.s.Close()
		<-d.Done()
		<-a.s.Done()
	})
	return pair{dialer: d, acceptor: a.s}
}

// collector gathers what OnUpdate reports.
type collector struct {
	mu        sync.Mutex
	announced []netip.Prefix
	withdrawn []netip.Prefix
	attrs     []Attributes
	updates   int
	changed   chan struct{}
}

func newCollector() *collector { return &collector{changed: make(chan struct{}, 1)} }

func (c *collector) onUpdate(t *testing.T) func(a, w []netip.Prefix, attrs RawAttributes) {
	return func(a, w []netip.Prefix, attrs RawAttributes) {
		c.mu.Lock()
		c.updates++
		c.announced = append(c.announced, a...)
		c.withdrawn = append(c.withdrawn, w...)
		if len(a) > 0 {
			d, err := attrs.Decode()
			if err != nil {
				t.Errorf("decode attributes: %v", err)
			}
			c.attrs = append(c.attrs, d)
		}
		c.mu.Unlock()
		select {
		case c.changed <- struct{}{}:
		default:
		}
	}
}

// waitFor waits until cond holds under the collector's lock.
func (c *collector) waitFor(t *testing.T, s *Session, cond func() bool) {
	t.Helper()
	timeout := time.After(10 * time.Second)
	for {
		c.mu.Lock()
		ok := cond()
		c.mu.Unlock()
		if ok {
			return
		}
		select {
		case <-c.changed:
		case <-s.Done():
			t.Fatalf("session ended: %v", s.Err())
		case <-timeout:
			t.Fatal("timed out")
		}
	}
}

func sendAll(t *testing.T, s *Session, msgs [][]byte) {
	t.Helper()
	for _, m := range msgs {
		if err := s.Send(m); err != nil {
			t.Fatal(err)
		}
	}
}

func v4Prefixes(n int) []netip.Prefix {
	out := make([]netip.Prefix, n)
	for i := range out {
		out[i] = netip.PrefixFrom(netip.AddrFrom4([4]byte{16, byte(i >> 8), byte(i), 0}), 24)
	}
	return out
}

func v6Prefixes(n int) []netip.Prefix {
	out := make([]netip.Prefix, n)
	for i := range out {
		out[i] = netip.PrefixFrom(netip.AddrFrom16([16]byte{0x20, 0x01, 0x06, 0x7c, byte(i >> 8), byte(i)}), 48)
	}
	return out
}

func TestSessionRoundTrip(t *testing.T) {
	recv := newCollector()
	dcfg := baseConfig(4200000001)
	acfg := baseConfig(210001)
	acfg.PeerASN = dcfg.ASN
	acfg.OnUpdate = recv.onUpdate(t)
	p := connect(t, dcfg, acfg)

	if got := p.dialer.PeerASN(); got != acfg.ASN {
		t.Errorf("dialer sees peer AS %d, want %d", got, acfg.ASN)
	}
	if got := p.acceptor.PeerASN(); got != dcfg.ASN {
		t.Errorf("acceptor sees peer AS %d, want %d", got, dcfg.ASN)
	}
	if got, want := p.dialer.PeerFamilies(), []Family{IPv4Unicast, IPv6Unicast}; !slices.Equal(got, want) {
		t.Errorf("peer families %v, want %v", got, want)
	}

	tests := []struct {
		name     string
		prefixes []netip.Prefix
		attrs    Attributes
	}{
		{
			name:     "ipv4",
			prefixes: v4Prefixes(3000),
			attrs: Attributes{
				Origin:           OriginIGP,
				ASPath:           []uint32{4200000001, 220001},
				NextHop:          netip.MustParseAddr("127.0.0.1"),
				MED:              50,
				HasMED:           true,
				Communities:      []uint32{65000<<16 | 1, 0<<16 | 64512},
				LargeCommunities: []LargeCommunity{{64512, 1101, 3}, {210001, 0, 7}},
			},
		},
		{
			name:     "ipv6",
			prefixes: v6Prefixes(1500),
			attrs: Attributes{
				Origin:  OriginIncomplete,
				ASPath:  []uint32{4200000001},
				NextHop: netip.MustParseAddr("2001:db8::1"),
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			recv.mu.Lock()
			recv.announced, recv.withdrawn, recv.attrs = nil, nil, nil
			recv.mu.Unlock()

			msgs, err := EncodeUpdates(tt.prefixes, tt.attrs)
			if err != nil {
				t.Fatal(err)
			}
			sendAll(t, p.dialer, msgs)
			recv.waitFor(t, p.acceptor, func() bool { return len(recv.announced) >= len(tt.prefixes) })
			recv.mu.Lock()
			if diff := cmp.Diff(recv.announced, tt.prefixes, cmp.Comparer(func(a, b netip.Prefix) bool { return a == b })); diff != "" {
				t.Errorf("announced (-got +want):\n%s", diff)
			}
			if len(recv.attrs) != len(msgs) {
				t.Errorf("%d updates with attributes, want %d", len(recv.attrs), len(msgs))
			}
			for _, got := range recv.attrs {
				if diff := cmp.Diff(got, tt.attrs, cmp.Comparer(func(a, b netip.Addr) bool { return a == b })); diff != "" {
					t.Errorf("attributes (-got +want):\n%s", diff)
					break
				}
			}
			recv.mu.Unlock()

			msgs, err = EncodeWithdrawals(tt.prefixes)
			if err != nil {
				t.Fatal(err)
			}
			sendAll(t, p.dialer, msgs)
			recv.waitFor(t, p.acceptor, func() bool { return len(recv.withdrawn) >= len(tt.prefixes) })
			recv.mu.Lock()
			if !slices.Equal(recv.withdrawn, tt.prefixes) {
				t.Errorf("withdrawn %d prefixes, not the %d announced", len(recv.withdrawn), len(tt.prefixes))
			}
			recv.mu.Unlock()
		})
	}

	t.Run("end-of-rib", func(t *testing.T) {
		recv.mu.Lock()
		before := recv.updates
		recv.announced, recv.withdrawn = nil, nil
		recv.mu.Unlock()
		sendAll(t, p.dialer, [][]byte{EncodeEndOfRIB(IPv4Unicast), EncodeEndOfRIB(IPv6Unicast)})
		recv.waitFor(t, p.acceptor, func() bool { return recv.updates == before+2 })
		recv.mu.Lock()
		defer recv.mu.Unlock()
		if len(recv.announced)+len(recv.withdrawn) != 0 {
			t.Errorf("end-of-rib carried prefixes: %v %v", recv.announced, recv.withdrawn)
		}
	})
}

func TestCloseSendsCease(t *testing.T) {
	p := connect(t, baseConfig(210001), baseConfig(64512))
	if err := p.acceptor.Close(); err != nil {
		t.Fatal(err)
	}
	select {
	case <-p.dialer.Done():
	case <-time.After(10 * time.Second):
		t.Fatal("dialer did not end after the peer's Cease")
	}
	var nerr *NotificationError
	if !errors.As(p.dialer.Err(), &nerr) {
		t.Fatalf("dialer error %v, want a NotificationError", p.dialer.Err())
	}
	want := &NotificationError{Code: bgp.BGP_ERROR_CEASE, Subcode: bgp.BGP_ERROR_SUB_ADMINISTRATIVE_SHUTDOWN}
	if diff := cmp.Diff(nerr, want); diff != "" {
		t.Errorf("notification (-got +want):\n%s", diff)
	}
	if !errors.Is(p.acceptor.Err(), ErrClosed) {
		t.Errorf("closing side error %v, want ErrClosed", p.acceptor.Err())
	}
	if err := p.acceptor.Send(EncodeEndOfRIB(IPv4Unicast)); !errors.Is(err, ErrClosed) {
		t.Errorf("Send after Close: %v, want ErrClosed", err)
	}
}

func TestMalformedUpdateEndsSession(t *testing.T) {
	p := connect(t, baseConfig(210001), baseConfig(64512))
	msgs, err := EncodeUpdates(v4Prefixes(2), Attributes{ASPath: []uint32{210001}, NextHop: netip.MustParseAddr("127.0.0.1")})
	if err != nil {
		t.Fatal(err)
	}
	bad := slices.Clone(msgs[0])
	bad[len(bad)-4] = 33 // an IPv4 prefix of 33 bits
	if err := p.dialer.Send(bad); err != nil {
		t.Fatal(err)
	}
	for _, s := range []*Session{p.acceptor, p.dialer} {
		select {
		case <-s.Done():
		case <-time.After(10 * time.Second):
			t.Fatal("session did not end")
		}
	}
	want := &NotificationError{Code: bgp.BGP_ERROR_UPDATE_MESSAGE_ERROR, Subcode: bgp.BGP_ERROR_SUB_INVALID_NETWORK_FIELD}
	if !errors.Is(p.acceptor.Err(), want) {
		t.Errorf("receiver error %v, want %v", p.acceptor.Err(), want)
	}
	var nerr *NotificationError
	if !errors.As(p.acceptor.Err(), &nerr) || !nerr.Sent {
		t.Errorf("receiver error %v is not a sent notification", p.acceptor.Err())
	}
	if !errors.Is(p.dialer.Err(), want) {
		t.Errorf("sender error %v, want %v", p.dialer.Err(), want)
	}
}

func TestBadPeerAS(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = ln.Close() }()
	acfg := baseConfig(64512)
	acfg.PeerASN = 210002
	accepted := make(chan error, 1)
	go func() {
		conn, err := ln.Accept()
		if err == nil {
			_, err = Accept(context.Background(), conn, acfg)
		}
		accepted <- err
	}()
	dcfg := baseConfig(210001)
	dcfg.Remote = netip.MustParseAddrPort(ln.Addr().String())
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_, err = Dial(ctx, dcfg)
	want := &NotificationError{Code: bgp.BGP_ERROR_OPEN_MESSAGE_ERROR, Subcode: bgp.BGP_ERROR_SUB_BAD_PEER_AS}
	if !errors.Is(err, want) {
		t.Errorf("dial error %v, want %v", err, want)
	}
	if err := <-accepted; !errors.Is(err, want) {
		t.Errorf("accept error %v, want %v", err, want)
	}
}

func TestKeepalivesHoldSession(t *testing.T) {
	dcfg := baseConfig(210001)
	dcfg.HoldTime = 3 * time.Second
	acfg := baseConfig(64512)
	acfg.HoldTime = 30 * time.Second
	p := connect(t, dcfg, acfg)
	for _, s := range []*Session{p.dialer, p.acceptor} {
		if s.HoldTime() != 3*time.Second {
			t.Errorf("negotiated hold time %s, want 3s", s.HoldTime())
		}
	}
	// With nothing but keepalives on the wire the session must outlive
	// twice its hold time.
	select {
	case <-p.dialer.Done():
		t.Fatalf("session ended: %v", p.dialer.Err())
	case <-p.acceptor.Done():
		t.Fatalf("session ended: %v", p.acceptor.Err())
	case <-time.After(2 * p.dialer.HoldTime()):
	}
}

func TestHoldTimerExpires(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = ln.Close() }()
	// A peer that completes the handshake and then falls silent.
	peerCfg := baseConfig(64512)
	peerCfg.HoldTime = 3 * time.Second
	type peerResult struct {
		wire []byte // all the peer read
		err  error
	}
	got := make(chan peerResult, 1)
	go func() {
		conn, err := ln.Accept()
		if err != nil {
			return
		}
		defer func() { _ = conn.Close() }()
		open, _ := openMessage(&peerCfg)
		for _, msg := range [][]byte{open, keepaliveMsg} {
			if _, err := conn.Write(msg); err != nil {
				got <- peerResult{err: fmt.Errorf("silent peer: %w", err)}
				return
			}
		}
		var all []byte
		buf := make([]byte, 4096)
		for {
			n, err := conn.Read(buf)
			all = append(all, buf[:n]...)
			if err != nil {
				got <- peerResult{wire: all}
				return
			}
		}
	}()
	cfg := baseConfig(210001)
	cfg.HoldTime = 3 * time.Second
	cfg.Remote = netip.MustParseAddrPort(ln.Addr().String())
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	s, err := Dial(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = s.Close() }() // Close always returns nil
	select {
	case <-s.Done():
	case <-time.After(10 * time.Second):
		t.Fatal("hold timer did not expire")
	}
	want := &NotificationError{Code: bgp.BGP_ERROR_HOLD_TIMER_EXPIRED, Sent: true}
	if diff := cmp.Diff(s.Err(), error(want)); diff != "" {
		t.Errorf("error (-got +want):\n%s", diff)
	}
	// The silent peer saw our OPEN, KEEPALIVEs and then the NOTIFICATION.
	peer := <-got
	if peer.err != nil {
		t.Fatal(peer.err)
	}
	wire := peer.wire
	var last *bgp.BGPMessage
	for len(wire) >= bgp.BGP_HEADER_LENGTH {
		n := int(wire[16])<<8 | int(wire[17])
		m, err := bgp.ParseBGPMessage(wire[:n])
		if err != nil {
			t.Fatal(err)
		}
		last, wire = m, wire[n:]
	}
	if last == nil || last.Header.Type != bgp.BGP_MSG_NOTIFICATION {
		t.Fatalf("last message %+v is not a NOTIFICATION", last)
	}
	if n := last.Body.(*bgp.BGPNotification); n.ErrorCode != bgp.BGP_ERROR_HOLD_TIMER_EXPIRED {
		t.Errorf("notification code %d, want %d", n.ErrorCode, bgp.BGP_ERROR_HOLD_TIMER_EXPIRED)
	}
}

func TestConfigValidate(t *testing.T) {
	tests := []struct {
		name string
		cfg  Config
		ok   bool
	}{
		{name: "ok", cfg: baseConfig(1), ok: true},
		{name: "asn 0", cfg: baseConfig(0)},
		{name: "ipv6 router id", cfg: Config{LocalAddr: netip.MustParseAddr("::1"), ASN: 1, RouterID: netip.MustParseAddr("::1")}},
		{name: "hold time 2s", cfg: func() Config { c := baseConfig(1); c.HoldTime = 2 * time.Second; return c }()},
		{name: "hold time 0", cfg: func() Config { c := baseConfig(1); c.HoldTime = -1; return c }(), ok: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := tt.cfg.validate(); (err == nil) != tt.ok {
				t.Errorf("validate() = %v, want ok %v", err, tt.ok)
			}
		})
	}
}
