package main

import (
	"bufio"
	"context"
	_ "embed"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/ixpd/ixpd/routeserver/members"
	"github.com/ixpd/ixpd/routeserver/speaker"
)

// The demo's BGP side: every route-server session of the members file is
// played by a light speaker (routeserver/speaker) that announces real
// prefix/origin pairs from demodata/ (see demodata/README.md).
//
// What a member announces, for a given seed:
//   - IPv4: the pairs whose origin is the member's own AS (path [member]);
//     then customers: the pairs of origins that are neither members nor in
//     the exchange's country (those stay off the exchange and are reached
//     via transit), an origin's prefixes going to one member, origins
//     taken in an order drawn from the seed, each to the member with the
//     most room left (path [member, origin]); and -filtered deliberately
//     bad routes (a /25 of its first prefix) that the route server filters.
//   - IPv6: the data has no IPv6 routes of these origins, so the IPv6
//     prefixes are generated: the exchange country's IPv6 blocks of the RIR
//     files, dealt to the members with IPv6 sessions in an order drawn from
//     the seed, each with two /48s inside a block shorter than /48.
//
// Every member announces at most -prefixes routes per family and never more
// than three quarters of its session's max_prefix.

//go:embed demodata/pacific-routes-20100701.txt
var demoRoutesFile string

// demoRoute is one real prefix/origin pair.
type demoRoute struct {
	Prefix  netip.Prefix
	Origin  uint32
	Country string // the origin AS's country
}

// parseDemoRoutes reads "prefix origin country" lines; # starts a comment.
func parseDemoRoutes(text string) ([]demoRoute, error) {
	var out []demoRoute
	sc := bufio.NewScanner(strings.NewReader(text))
	for line := 1; sc.Scan(); line++ {
		s := strings.TrimSpace(sc.Text())
		if s == "" || s[0] == '#' {
			continue
		}
		f := strings.Fields(s)
		if len(f) != 3 {
			return nil, fmt.Errorf("demo routes line %d: %d fields, want prefix, origin, country", line, len(f))
		}
		p, err := netip.ParsePrefix(f[0])
		if err != nil {
			return nil, fmt.Errorf("demo routes line %d: %w", line, err)
		}
		asn, err := strconv.ParseUint(f[1], 10, 32)
		if err != nil {
			return nil, fmt.Errorf("demo routes line %d: origin: %w", line, err)
		}
		out = append(out, demoRoute{Prefix: p.Masked(), Origin: uint32(asn), Country: f[2]})
	}
	return out, sc.Err()
}

// announceGroup is a set of prefixes with one AS path.
type announceGroup struct {
	Path     []uint32
	Prefixes []netip.Prefix
}

// sessionPlan is what one route-server session announces.
type sessionPlan struct {
	Member    uint32
	Name      string
	Local     netip.Addr // the member's peering-LAN address
	RouterID  netip.Addr
	IPv6      bool
	MaxPrefix int
	Groups    []announceGroup
	Filtered  []netip.Prefix // announced with path [member]; the route server filters them
}

// count returns the number of prefixes the session announces.
func (p *sessionPlan) count() int {
	n := len(p.Filtered)
	for _, g := range p.Groups {
		n += len(g.Prefixes)
	}
	return n
}

// accepted returns the prefixes the route server should accept.
func (p *sessionPlan) accepted() []netip.Prefix {
	var out []netip.Prefix
	for _, g := range p.Groups {
		out = append(out, g.Prefixes...)
	}
	return out
}

// own returns the prefixes the member originates itself.
func (p *sessionPlan) own() []netip.Prefix {
	for _, g := range p.Groups {
		if len(g.Path) == 1 {
			return g.Prefixes
		}
	}
	return nil
}

// customers returns the prefixes of the member's customers.
func (p *sessionPlan) customers() []netip.Prefix {
	var out []netip.Prefix
	for _, g := range p.Groups {
		if len(g.Path) > 1 {
			out = append(out, g.Prefixes...)
		}
	}
	return out
}

// demoBGPOptions are the flags of the BGP side.
type demoBGPOptions struct {
	seed     uint64
	prefixes int // per member and family
	filtered int // bad IPv4 routes per member
}

// quota is how many routes a session with limit maxPrefix may get.
func quota(perSession, maxPrefix int) int {
	q := perSession
	if maxPrefix > 0 {
		q = min(q, maxPrefix*3/4)
	}
	return max(q, 0)
}

// planAnnouncements decides what every session of x announces. The result
// depends only on x, routes and o.
func planAnnouncements(x *demoExchange, routes []demoRoute, o demoBGPOptions) []sessionPlan {
	isMember := map[uint32]bool{}
	for _, m := range x.members {
		isMember[m.asn] = true
	}
	// One entry per member and family, with the smallest limit of its
	// sessions; every session of a member and family announces the same.
	type slot struct {
		member *demoMember
		v6     bool
		room   int
		own    []netip.Prefix
		cust   []announceGroup
		v6pfx  []netip.Prefix
	}
	var slots []*slot
	find := func(asn uint32, v6 bool) *slot {
		for _, s := range slots {
			if s.member.asn == asn && s.v6 == v6 {
				return s
			}
		}
		return nil
	}
	for i := range x.members {
		m := &x.members[i]
		for _, a := range m.sessions {
			v6 := a.Family == members.IPv6
			s := find(m.asn, v6)
			if s == nil {
				s = &slot{member: m, v6: v6, room: o.prefixes}
				slots = append(slots, s)
			}
			s.room = min(s.room, quota(o.prefixes, a.MaxPrefix))
		}
	}
	// Reserve the bad routes first, then the member's own prefixes.
	bad := map[*slot]int{}
	for _, s := range slots {
		if s.v6 {
			continue
		}
		for _, r := range routes {
			if r.Origin == s.member.asn && r.Prefix.Addr().Is4() && len(s.own) < s.room {
				s.own = append(s.own, r.Prefix)
			}
		}
		if len(s.own) > 0 {
			bad[s] = min(o.filtered, s.room-len(s.own))
		}
		s.room -= len(s.own) + bad[s]
	}
	// Customers: origins in a seeded order, each to the IPv4 slot with the
	// most room.
	byOrigin := map[uint32][]netip.Prefix{}
	var origins []uint32
	for _, r := range routes {
		if isMember[r.Origin] || r.Country == x.country || !r.Prefix.Addr().Is4() {
			continue
		}
		if _, ok := byOrigin[r.Origin]; !ok {
			origins = append(origins, r.Origin)
		}
		byOrigin[r.Origin] = append(byOrigin[r.Origin], r.Prefix)
	}
	rng := rand.New(rand.NewPCG(o.seed, 0xb6))
	rng.Shuffle(len(origins), func(i, j int) { origins[i], origins[j] = origins[j], origins[i] })
	for _, origin := range origins {
		var best *slot
		for _, s := range slots {
			if !s.v6 && s.room > 0 && (best == nil || s.room > best.room) {
				best = s
			}
		}
		if best == nil {
			break
		}
		ps := byOrigin[origin]
		ps = ps[:min(len(ps), best.room)]
		best.cust = append(best.cust, announceGroup{Path: []uint32{best.member.asn, origin}, Prefixes: ps})
		best.room -= len(ps)
	}
	// IPv6: the country's blocks dealt in a seeded order.
	blocks := slices.Clone(x.rir.v6[x.country])
	rng.Shuffle(len(blocks), func(i, j int) { blocks[i], blocks[j] = blocks[j], blocks[i] })
	var v6slots []*slot
	for _, s := range slots {
		if s.v6 {
			v6slots = append(v6slots, s)
		}
	}
	for i, b := range blocks {
		if len(v6slots) == 0 {
			break
		}
		s := v6slots[i%len(v6slots)]
		add := []netip.Prefix{b}
		if b.Bits() < 48 {
			for range 2 {
				add = append(add, subPrefix(rng, b, 48))
			}
		}
		for _, p := range add {
			if s.room > 0 && !slices.Contains(s.v6pfx, p) {
				s.v6pfx = append(s.v6pfx, p)
				s.room--
			}
		}
	}

	var plans []sessionPlan
	for i := range x.members {
		m := &x.members[i]
		for _, a := range m.sessions {
			v6 := a.Family == members.IPv6
			s := find(m.asn, v6)
			p := sessionPlan{Member: m.asn, Name: m.name, Local: a.IP, IPv6: v6, MaxPrefix: a.MaxPrefix,
				RouterID: routerID(m, a.IP)}
			own := s.own
			if v6 {
				own = s.v6pfx
			}
			if len(own) > 0 {
				p.Groups = append(p.Groups, announceGroup{Path: []uint32{m.asn}, Prefixes: slices.Clone(own)})
			}
			p.Groups = append(p.Groups, s.cust...)
			if !v6 && len(own) > 0 {
				for k := range bad[s] {
					// A /25 is longer than the route server's /24 limit.
					p.Filtered = append(p.Filtered, subPrefix(rand.New(rand.NewPCG(o.seed, uint64(k))), own[0], 25))
				}
			}
			plans = append(plans, p)
		}
	}
	return plans
}

// subPrefix returns a random prefix of length bits inside p.
func subPrefix(rng *rand.Rand, p netip.Prefix, bits int) netip.Prefix {
	b := p.Addr().AsSlice()
	for i := p.Bits(); i < bits; i++ {
		if rng.IntN(2) == 1 {
			b[i/8] |= 0x80 >> (i % 8)
		}
	}
	a, _ := netip.AddrFromSlice(b)
	return netip.PrefixFrom(a, bits)
}

// routerID is a member's BGP identifier: its IPv4 peering-LAN address, else
// one derived from its AS number.
func routerID(m *demoMember, local netip.Addr) netip.Addr {
	if local.Is4() {
		return local
	}
	for _, s := range m.sessions {
		if s.IP.Is4() {
			return s.IP
		}
	}
	return netip.AddrFrom4([4]byte{10, byte(m.asn >> 16), byte(m.asn >> 8), byte(m.asn)})
}

// messages encodes the session's UPDATEs and its End-of-RIB.
func (p *sessionPlan) messages() ([][]byte, error) {
	var out [][]byte
	groups := p.Groups
	if len(p.Filtered) > 0 {
		groups = append(slices.Clone(groups), announceGroup{Path: []uint32{p.Member}, Prefixes: p.Filtered})
	}
	for _, g := range groups {
		msgs, err := speaker.EncodeUpdates(g.Prefixes, speaker.Attributes{Origin: speaker.OriginIGP, ASPath: g.Path, NextHop: p.Local})
		if err != nil {
			return nil, fmt.Errorf("AS%d %s: %w", p.Member, p.Local, err)
		}
		out = append(out, msgs...)
	}
	return append(out, speaker.EncodeEndOfRIB(p.family())), nil
}

func (p *sessionPlan) family() speaker.Family {
	if p.IPv6 {
		return speaker.IPv6Unicast
	}
	return speaker.IPv4Unicast
}

// demoSpeakers runs one simulated member router per session plan.
type demoSpeakers struct {
	x     *demoExchange
	plans []sessionPlan
	out   *demoLog
	wg    sync.WaitGroup
}

// retryDelay is the pause before a member router dials again.
const retryDelay = 3 * time.Second

// listen opens the sockets of the sessions that wait for the route server
// (those of a family the route server does not listen on), so that they
// are ready before it dials. A session whose socket cannot be opened is
// left out and said so.
func (d *demoSpeakers) listen() map[int]net.Listener {
	lns := map[int]net.Listener{}
	for i := range d.plans {
		p := &d.plans[i]
		if _, ok := d.x.rsAddrFor(p.Local); ok {
			continue
		}
		if d.x.passive {
			d.out.printf("BGP: AS%d %s left out: the route server is passive and listens on no %s address", p.Member, p.Local, familyName(p.Local))
			continue
		}
		addr := netip.AddrPortFrom(p.Local, d.x.peerPort)
		ln, err := net.Listen("tcp", addr.String())
		if err != nil {
			hint := ""
			switch {
			case errors.Is(err, syscall.EADDRNOTAVAIL):
				hint = fmt.Sprintf(" (add the address: sudo ip addr add %s dev lo)", netip.PrefixFrom(p.Local, p.Local.BitLen()))
			case errors.Is(err, syscall.EACCES):
				hint = fmt.Sprintf(" (port %d needs root or CAP_NET_BIND_SERVICE; or set routeserver.peer_port)", d.x.peerPort)
			}
			d.out.printf("BGP: AS%d %s left out: cannot wait for the route server on %s: %v%s", p.Member, p.Local, addr, err, hint)
			continue
		}
		lns[i] = ln
	}
	return lns
}

func familyName(a netip.Addr) string {
	if a.Is4() {
		return "IPv4"
	}
	return "IPv6"
}

// run plays every session until ctx ends: the member router dials the
// route server, or waits on lns for it, announces its routes, and starts
// again when the session ends.
func (d *demoSpeakers) run(ctx context.Context, lns map[int]net.Listener) {
	for i := range d.plans {
		p := &d.plans[i]
		msgs, err := p.messages()
		if err != nil {
			d.out.printf("BGP: %v", err)
			continue
		}
		cfg := speaker.Config{LocalAddr: p.Local, ASN: p.Member, PeerASN: d.x.rsASN, RouterID: p.RouterID,
			Families: []speaker.Family{p.family()}}
		sv := server{plan: p, msgs: msgs, closeAfter: time.Duration(i) * closeGap}
		if rs, ok := d.x.rsAddrFor(p.Local); ok {
			cfg.Remote = rs
			d.wg.Go(func() { d.dialLoop(ctx, &sv, cfg) })
		} else if ln := lns[i]; ln != nil {
			d.wg.Go(func() { d.acceptLoop(ctx, &sv, cfg, ln) })
		}
	}
}

// closeGap staggers the sessions' Cease at the end: the route server
// withdraws a closed session's routes from the others, and a session
// closing at that moment makes it log a failed write.
const closeGap = 150 * time.Millisecond

// server holds a session's announcements.
type server struct {
	plan       *sessionPlan
	msgs       [][]byte
	closeAfter time.Duration // after ctx ends
}

// wait returns when every session has ended.
func (d *demoSpeakers) wait() { d.wg.Wait() }

func (d *demoSpeakers) dialLoop(ctx context.Context, sv *server, cfg speaker.Config) {
	p := sv.plan
	reported := false
	for ctx.Err() == nil {
		dctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		s, err := speaker.Dial(dctx, cfg)
		cancel()
		if err != nil {
			if !reported && ctx.Err() == nil {
				d.out.printf("BGP: AS%d %s: %v (retrying every %s)", p.Member, p.Local, err, retryDelay)
				reported = true
			}
			sleepCtx(ctx, retryDelay)
			continue
		}
		reported = false
		d.serve(ctx, sv, s)
		sleepCtx(ctx, retryDelay)
	}
}

func (d *demoSpeakers) acceptLoop(ctx context.Context, sv *server, cfg speaker.Config, ln net.Listener) {
	p := sv.plan
	stop := context.AfterFunc(ctx, func() { _ = ln.Close() }) // unblocks Accept
	defer stop()
	defer func() { _ = ln.Close() }() // already closed when ctx ended
	for ctx.Err() == nil {
		conn, err := ln.Accept()
		if err != nil {
			if ctx.Err() == nil {
				d.out.printf("BGP: AS%d %s: accept: %v", p.Member, p.Local, err)
				sleepCtx(ctx, retryDelay)
			}
			continue
		}
		hctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		s, err := speaker.Accept(hctx, conn, cfg)
		cancel()
		if err != nil {
			if ctx.Err() == nil {
				d.out.printf("BGP: AS%d %s: %v", p.Member, p.Local, err)
			}
			continue
		}
		d.serve(ctx, sv, s)
	}
}

// serve announces sv's routes on an established session and holds it
// until it ends or ctx does (then it closes it with a Cease).
func (d *demoSpeakers) serve(ctx context.Context, sv *server, s *speaker.Session) {
	p := sv.plan
	for _, m := range sv.msgs {
		if err := s.Send(m); err != nil {
			break
		}
	}
	d.out.printf("BGP: AS%d %s established, %d prefixes announced", p.Member, p.Local, p.count())
	select {
	case <-ctx.Done():
		time.Sleep(sv.closeAfter)
		_ = s.Close() // always nil
		<-s.Done()
	case <-s.Done():
		if err := s.Err(); err != nil && !errors.Is(err, speaker.ErrClosed) {
			d.out.printf("BGP: AS%d %s session ended: %v", p.Member, p.Local, err)
		}
	}
}

// sleepCtx waits d or until ctx ends.
func sleepCtx(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
}

// describePlans summarises the plans, one line per session.
func describePlans(plans []sessionPlan) []string {
	var out []string
	for _, p := range plans {
		customerASes := 0
		for _, g := range p.Groups {
			if len(g.Path) > 1 {
				customerASes++
			}
		}
		line := fmt.Sprintf("AS%-6d %-13s %3d prefixes (max_prefix %d): %d own", p.Member, p.Local, p.count(), p.MaxPrefix, len(p.own()))
		if customerASes > 0 {
			line += fmt.Sprintf(", %d from %d customer ASes", len(p.customers()), customerASes)
		}
		if len(p.Filtered) > 0 {
			line += fmt.Sprintf(", %d for the route server to filter", len(p.Filtered))
		}
		out = append(out, line)
	}
	return out
}
