package latency

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"time"

	"golang.org/x/net/icmp"
	"golang.org/x/net/ipv4"
	"golang.org/x/net/ipv6"
	"golang.org/x/sync/errgroup"
)

// icmpPayload is the echo payload: the prober's nonce and the probe
// number, 8 bytes each.
const icmpPayload = 16

// icmpEngine sends echo requests from one socket per address family.
type icmpEngine struct {
	p     *Prober
	v4    *icmpSocket
	v6    *icmpSocket
	need4 bool
	need6 bool
}

// icmpSocket is one shared ICMP socket.
type icmpSocket struct {
	v6      bool
	raw     bool // a raw socket (else an unprivileged ping socket)
	ip      *net.IPConn
	udp     *net.UDPConn
	id      uint16 // echo identifier of a raw socket
	nonce   [8]byte
	pending *pendingTable
}

func newICMPEngine(p *Prober) *icmpEngine {
	e := &icmpEngine{p: p}
	e.need4, e.need6 = familiesOf(p.targets, MethodICMP)
	return e
}

// familiesOf tells whether any target of method is IPv4, and IPv6.
func familiesOf(targets []*target, method string) (v4, v6 bool) {
	for _, t := range targets {
		if t.Method == method {
			v4 = v4 || t.addr.Addr().Is4()
			v6 = v6 || !t.addr.Addr().Is4()
		}
	}
	return v4, v6
}

func (e *icmpEngine) open() error {
	e.v4, e.v6 = nil, nil // the last run's, closed
	var err error
	if e.need4 {
		if e.v4, err = e.openFamily(false); err != nil {
			return err
		}
	}
	if e.need6 {
		if e.v6, err = e.openFamily(true); err != nil {
			e.close()
			return err
		}
	}
	return nil
}

func (e *icmpEngine) openFamily(v6 bool) (*icmpSocket, error) {
	s, err := openICMP(v6, e.p.cfg.Timeout)
	if err != nil {
		return nil, err
	}
	family := "ipv4"
	if v6 {
		family = "ipv6"
	}
	e.p.logger.Info("icmp socket open", "family", family, "raw", s.raw, "kernel_timestamps", kernelTimestamps)
	return s, nil
}

func (e *icmpEngine) add(ctx context.Context, eg *errgroup.Group, t *target) error {
	need, sock, v6 := &e.need4, &e.v4, false
	if !t.addr.Addr().Is4() {
		need, sock, v6 = &e.need6, &e.v6, true
	}
	if eg != nil && *sock == nil {
		// No probe of this family is sent before t is scheduled, after
		// this: the scheduler does not read *sock meanwhile.
		s, err := e.openFamily(v6)
		if err != nil {
			return err
		}
		*sock = s
		eg.Go(func() error { return e.read(ctx, s) })
	}
	*need = true
	return nil
}

// openICMP opens an unprivileged ping socket, else a raw one.
func openICMP(v6 bool, timeout time.Duration) (*icmpSocket, error) {
	s := &icmpSocket{v6: v6, pending: newPendingTable(timeout, ^uint64(0))}
	if _, err := rand.Read(s.nonce[:]); err != nil {
		return nil, fmt.Errorf("icmp nonce: %w", err)
	}
	s.id = binary.BigEndian.Uint16(s.nonce[:2])
	family := "ipv4"
	if v6 {
		family = "ipv6"
	}
	udp, perr := listenPing(v6)
	if perr == nil {
		s.udp = udp
		growReceiveBuffer(udp)
		if err := enableRxTimestamps(udp); err != nil && kernelTimestamps {
			_ = udp.Close()
			return nil, fmt.Errorf("icmp %s socket: %w", family, err)
		}
		return s, nil
	}
	network, laddr := "ip4:icmp", &net.IPAddr{IP: net.IPv4zero}
	if v6 {
		network, laddr = "ip6:ipv6-icmp", &net.IPAddr{IP: net.IPv6unspecified}
	}
	ip, rerr := net.ListenIP(network, laddr)
	if rerr != nil {
		return nil, fmt.Errorf("open icmp %s socket: unprivileged ping socket: %w (see sysctl net.ipv4.ping_group_range); raw socket: %w (needs root or CAP_NET_RAW)",
			family, perr, rerr)
	}
	s.ip, s.raw = ip, true
	growReceiveBuffer(ip)
	var ferr error
	if v6 {
		var f ipv6.ICMPFilter
		f.SetAll(true)
		f.Accept(ipv6.ICMPTypeEchoReply)
		ferr = ipv6.NewPacketConn(ip).SetICMPFilter(&f)
	} else {
		var f ipv4.ICMPFilter
		f.SetAll(true)
		f.Accept(ipv4.ICMPTypeEchoReply)
		ferr = ipv4.NewPacketConn(ip).SetICMPFilter(&f)
	}
	if ferr != nil {
		_ = ip.Close()
		return nil, fmt.Errorf("icmp %s socket: filter echo replies: %w", family, ferr)
	}
	if err := enableRxTimestamps(ip); err != nil && kernelTimestamps {
		_ = ip.Close()
		return nil, fmt.Errorf("icmp %s socket: %w", family, err)
	}
	return s, nil
}

func (s *icmpSocket) close() {
	if s == nil {
		return
	}
	if s.udp != nil {
		_ = s.udp.Close()
	}
	if s.ip != nil {
		_ = s.ip.Close()
	}
}

func (e *icmpEngine) close() {
	e.v4.close()
	e.v6.close()
}

func (e *icmpEngine) run(ctx context.Context, eg *errgroup.Group) {
	for _, s := range []*icmpSocket{e.v4, e.v6} {
		if s != nil {
			eg.Go(func() error { return e.read(ctx, s) })
		}
	}
}

// send writes an echo request; an error counts and the probe is lost.
func (e *icmpEngine) send(t *target, due time.Time) {
	// Only the socket of t's family is read: SetMembers may be opening
	// the other.
	var s *icmpSocket
	var typ icmp.Type
	if t.addr.Addr().Is4() {
		s, typ = e.v4, ipv4.ICMPTypeEcho
	} else {
		s, typ = e.v6, ipv6.ICMPTypeEchoRequest
	}
	key := s.pending.newKey()
	data := make([]byte, icmpPayload)
	copy(data, s.nonce[:])
	binary.BigEndian.PutUint64(data[8:], key)
	msg := icmp.Message{Type: typ, Body: &icmp.Echo{ID: int(s.id), Seq: int(uint16(key)), Data: data}}
	// The checksum: computed here for IPv4; for ICMPv6 and for ping
	// sockets the kernel computes it.
	b, err := msg.Marshal(nil)
	if err != nil {
		e.p.metrics.probeErrors.WithLabelValues(MethodICMP, reasonOther).Inc()
		return
	}
	var dst net.Addr
	a := t.addr.Addr()
	if s.raw {
		dst = &net.IPAddr{IP: a.AsSlice(), Zone: a.Zone()}
	} else {
		dst = &net.UDPAddr{IP: a.AsSlice(), Zone: a.Zone()}
	}
	now := time.Now()
	ref := e.p.sentAt(t, due, now)
	s.pending.put(key, pendingProbe{t: t, ref: ref, sent: now})
	if s.raw {
		_, err = s.ip.WriteTo(b, dst)
	} else {
		_, err = s.udp.WriteTo(b, dst)
	}
	if err != nil {
		e.p.metrics.probeErrors.WithLabelValues(MethodICMP, reasonSend).Inc()
		e.p.logger.Debug("icmp send failed", "target", t.Name, "err", err)
	}
}

// read matches echo replies to their probes until the socket closes.
func (e *icmpEngine) read(ctx context.Context, s *icmpSocket) error {
	buf := make([]byte, 1500)
	oob := make([]byte, oobSize)
	proto := 1 // ICMP
	if s.v6 {
		proto = 58 // ICMPv6
	}
	var errs int
	for {
		var n, oobn int
		var from netip.Addr
		var err error
		if s.raw {
			var addr *net.IPAddr
			n, oobn, _, addr, err = s.ip.ReadMsgIP(buf, oob)
			if addr != nil {
				from, _ = netip.AddrFromSlice(addr.IP)
			}
		} else {
			var ap netip.AddrPort
			n, oobn, _, ap, err = s.udp.ReadMsgUDPAddrPort(buf, oob)
			from = ap.Addr()
		}
		user := time.Now()
		if err != nil {
			if ctx.Err() != nil || errors.Is(err, net.ErrClosed) {
				return nil
			}
			// Ping sockets report ICMP errors (unreachable) as read
			// errors: the probe is simply not answered.
			errs++
			if errs%1000 == 0 {
				e.p.logger.Warn("icmp read errors", "err", err, "count", errs)
			}
			continue
		}
		b := buf[:n]
		if s.raw && !s.v6 && n >= 20 && b[0]>>4 == 4 {
			b = b[int(b[0]&0x0f)*4:] // the IPv4 header of a raw socket
		}
		msg, err := icmp.ParseMessage(proto, b)
		if err != nil {
			e.p.metrics.ignored.WithLabelValues(MethodICMP, reasonMalformed).Inc()
			continue
		}
		echo, ok := msg.Body.(*icmp.Echo)
		if !ok || (msg.Type != ipv4.ICMPTypeEchoReply && msg.Type != ipv6.ICMPTypeEchoReply) {
			continue // not a reply (the raw filter passes replies only)
		}
		if len(echo.Data) < icmpPayload || [8]byte(echo.Data[:8]) != s.nonce || (s.raw && uint16(echo.ID) != s.id) {
			continue // another program's
		}
		key := binary.BigEndian.Uint64(echo.Data[8:])
		p, ok := s.pending.take(key, netip.AddrPortFrom(from.Unmap(), 0))
		if !ok {
			e.p.metrics.ignored.WithLabelValues(MethodICMP, reasonUnmatched).Inc()
			continue
		}
		info := parseRxInfo(oob[:oobn])
		e.p.answer(MethodICMP, p.ref, p.sent, info.at, user, 0)
	}
}
