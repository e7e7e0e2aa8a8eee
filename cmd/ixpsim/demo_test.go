package main

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"net"
	"net/netip"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/ixpd/ixpd/flow"
	"github.com/ixpd/ixpd/flow/decoder"
	"github.com/ixpd/ixpd/flow/enrich"
	"github.com/ixpd/ixpd/routeserver/members"
)

const exampleConfig = "../../deploy/examples/ixpd.yaml"

// exampleExchange loads the example exchange and the embedded routes.
func exampleExchange(t *testing.T) (*demoExchange, []demoRoute) {
	t.Helper()
	x, err := loadDemoExchange(exampleConfig)
	if err != nil {
		t.Fatal(err)
	}
	routes, err := parseDemoRoutes(demoRoutesFile)
	if err != nil {
		t.Fatal(err)
	}
	return x, routes
}

func TestDemoRoutesData(t *testing.T) {
	_, routes := exampleExchange(t)
	if len(routes) != 426 {
		t.Errorf("%d routes, want the 426 of demodata/README.md", len(routes))
	}
	seen := map[netip.Prefix]bool{}
	for _, r := range routes {
		if seen[r.Prefix] || !r.Prefix.Addr().Is4() || r.Prefix.Bits() > 24 || r.Prefix.Bits() < 8 || r.Origin == 0 || len(r.Country) != 2 {
			t.Errorf("route %+v: duplicate, not IPv4 /8–/24, or without origin and country", r)
		}
		seen[r.Prefix] = true
	}
}

// TestLoadDemoExchange reads the example configuration as the demo plays
// it, and checks that its demo token is the one the demo prints.
func TestLoadDemoExchange(t *testing.T) {
	x, _ := exampleExchange(t)
	var sessions []string
	for _, m := range x.members {
		for _, s := range m.sessions {
			sessions = append(sessions, s.IP.String())
		}
	}
	want := []string{"127.0.0.2", "fd00:ffff::2", "127.0.0.3", "fd00:ffff::3", "127.0.0.4"}
	if diff := cmp.Diff(sessions, want); diff != "" {
		t.Errorf("sessions (-got +want):\n%s", diff)
	}
	if x.rsASN != 64512 || x.sflowTo.String() != "127.0.0.1:16343" || x.netflowTo.String() != "127.0.0.1:12055" ||
		x.api.String() != "127.0.0.1:18080" || len(x.switches) != 1 || len(x.edges) != 2 || len(x.targets) != 2 {
		t.Errorf("exchange %+v", x)
	}
	if rs, ok := x.rsAddrFor(netip.MustParseAddr("127.0.0.2")); !ok || rs.String() != "127.0.0.1:1179" {
		t.Errorf("IPv4 members dial %v %v, want 127.0.0.1:1179", rs, ok)
	}
	if _, ok := x.rsAddrFor(netip.MustParseAddr("fd00:ffff::2")); ok {
		t.Error("IPv6 members dial, but the route server listens on no IPv6 address: they must wait for it")
	}
	if len(x.rir.v4["WS"]) == 0 || len(x.rir.v6["WS"]) != 8 || len(x.rir.v4["AU"]) == 0 {
		t.Errorf("RIR blocks: %d WS IPv4, %d WS IPv6, %d AU IPv4", len(x.rir.v4["WS"]), len(x.rir.v6["WS"]), len(x.rir.v4["AU"]))
	}
	sum := sha256.Sum256([]byte(demoToken))
	if x.tokenNames[hex.EncodeToString(sum[:])] != "demo" {
		t.Errorf("the example config does not accept the demo token %q as \"demo\"", demoToken)
	}
}

func TestRangePrefixes(t *testing.T) {
	tests := []struct {
		start string
		count uint64
		want  []string
	}{
		{start: "202.4.32.0", count: 8192, want: []string{"202.4.32.0/19"}},
		{start: "10.0.0.0", count: 768, want: []string{"10.0.0.0/23", "10.0.2.0/24"}},
		{start: "10.0.1.0", count: 512, want: []string{"10.0.1.0/24", "10.0.2.0/24"}},
		{start: "255.255.255.255", count: 1, want: []string{"255.255.255.255/32"}},
	}
	for _, tt := range tests {
		a := netip.MustParseAddr(tt.start).As4()
		var got []string
		for _, p := range rangePrefixes(uint32(a[0])<<24|uint32(a[1])<<16|uint32(a[2])<<8|uint32(a[3]), tt.count) {
			got = append(got, p.String())
		}
		if diff := cmp.Diff(got, tt.want); diff != "" {
			t.Errorf("%s+%d (-got +want):\n%s", tt.start, tt.count, diff)
		}
	}
}

// TestPlanAnnouncements checks that a seed gives the same announcements,
// another seed others, and that every plan stays within the member's
// limit and what the route server accepts.
func TestPlanAnnouncements(t *testing.T) {
	x, routes := exampleExchange(t)
	o := demoBGPOptions{seed: 1, prefixes: 60, filtered: 1}
	a, b := planAnnouncements(x, routes, o), planAnnouncements(x, routes, o)
	if diff := cmp.Diff(a, b, cmp.Comparer(func(p, q netip.Prefix) bool { return p == q }), cmp.Comparer(func(p, q netip.Addr) bool { return p == q })); diff != "" {
		t.Fatalf("seed 1 twice (-first +second):\n%s", diff)
	}
	o.seed = 2
	if c := planAnnouncements(x, routes, o); slices.Equal(a[0].accepted(), c[0].accepted()) {
		t.Error("seeds 1 and 2 give AS38800 the same announcements")
	}

	origin := map[netip.Prefix]demoRoute{}
	for _, r := range routes {
		origin[r.Prefix] = r
	}
	announcedBy := map[netip.Prefix]uint32{}
	for _, p := range a {
		if n := p.count(); n == 0 || n > quota(60, p.MaxPrefix) {
			t.Errorf("AS%d %s announces %d routes; max_prefix %d", p.Member, p.Local, n, p.MaxPrefix)
		}
		for _, g := range p.Groups {
			if g.Path[0] != p.Member || len(g.Path) > 2 {
				t.Errorf("AS%d %s: path %v does not start with the member", p.Member, p.Local, g.Path)
			}
			for _, pfx := range g.Prefixes {
				if pfx.Addr().Is4() != p.Local.Is4() {
					t.Errorf("AS%d %s announces %s of the other family", p.Member, p.Local, pfx)
				}
				if by, ok := announcedBy[pfx]; ok && by != p.Member {
					t.Errorf("%s announced by AS%d and AS%d", pfx, by, p.Member)
				}
				announcedBy[pfx] = p.Member
				r, real := origin[pfx]
				switch {
				case p.IPv6:
					if len(g.Path) != 1 || pfx.Bits() > 48 {
						t.Errorf("AS%d: IPv6 %s with path %v", p.Member, pfx, g.Path)
					}
				case !real || r.Origin != g.Path[len(g.Path)-1]:
					t.Errorf("AS%d announces %s with path %v: not a real prefix/origin pair", p.Member, pfx, g.Path)
				case len(g.Path) == 2 && r.Country == x.country:
					t.Errorf("AS%d announces %s of %s, a network in the exchange's country: it must stay off the exchange", p.Member, pfx, r.Country)
				}
			}
		}
		for _, f := range p.Filtered {
			if f.Bits() != 25 || !p.own()[0].Overlaps(f) {
				t.Errorf("AS%d: filtered route %s is not a /25 of its first prefix", p.Member, f)
			}
		}
		if _, err := p.messages(); err != nil {
			t.Error(err)
		}
	}
	if len(a[0].own()) != 1 || a[0].own()[0] != netip.MustParsePrefix("202.87.208.0/22") {
		t.Errorf("AS38800 originates %v, want its real 202.87.208.0/22", a[0].own())
	}
}

// demoTraffic builds the example's generator for a seed.
func demoTraffic(t *testing.T, seed uint64) *trafficGen {
	t.Helper()
	x, routes := exampleExchange(t)
	plans := planAnnouncements(x, routes, demoBGPOptions{seed: seed, prefixes: 60, filtered: 1})
	g, notes := newTrafficGen(x, plans, demoFlowOptions{seed: seed, tick: 100 * time.Millisecond, period: time.Hour,
		startHour: 18, sflowRate: 64, ipfixRate: 16})
	if len(notes) > 0 || g.sw == nil || len(g.sw.ports) != 3 || len(g.edges) != 2 {
		t.Fatalf("generator: notes %q, switch %+v, %d edges", notes, g.sw, len(g.edges))
	}
	return g
}

// TestTrafficDeterministic runs two generators with one seed for a
// minute of ticks: same datagrams, same totals; another seed differs.
func TestTrafficDeterministic(t *testing.T) {
	const ticks = 600
	now := time.Date(2026, 11, 2, 3, 4, 5, 0, time.UTC)
	run := func(seed uint64) ([][]byte, demoTotals) {
		g := demoTraffic(t, seed)
		var dgs [][]byte
		for k := range ticks {
			for _, d := range g.next(now.Add(time.Duration(k) * g.o.tick)) {
				dgs = append(dgs, d.b)
			}
		}
		return dgs, g.totals
	}
	d1, t1 := run(7)
	d2, t2 := run(7)
	if len(d1) != len(d2) || !slices.EqualFunc(d1, d2, bytes.Equal) {
		t.Error("seed 7 twice: different datagrams")
	}
	if diff := cmp.Diff(t1, t2); diff != "" {
		t.Errorf("seed 7 twice: totals (-first +second):\n%s", diff)
	}
	if _, t3 := run(8); t3.SFlowBytes == t1.SFlowBytes || t3.IPFIXBytes == t1.IPFIXBytes {
		t.Errorf("seeds 7 and 8 give the same byte totals %d, %d", t1.SFlowBytes, t1.IPFIXBytes)
	}
	// A minute of a one-hour day from 18:00: the curve's level between
	// 18:00 and 18:24, 1.5 to 1.6 times the mean; 64 samples/s and 16
	// records/s per edge router at the mean. Accumulators lose less than one
	// sample per pair or class.
	low, high := 60*1.5, 60*1.6
	if n := float64(t1.SFlowSamples); n < 64*low-6 || n > 64*high {
		t.Errorf("%v sFlow samples in a minute, want %v to %v", n, 64*low, 64*high)
	}
	if n := float64(t1.IPFIXRecords); n < 2*16*low-8 || n > 2*16*high {
		t.Errorf("%v IPFIX records in a minute, want %v to %v", n, 2*16*low, 2*16*high)
	}
	if t1.IPFIXTemplates != 2*ticks/templateEvery {
		t.Errorf("%d templates, want %d", t1.IPFIXTemplates, 2*ticks/templateEvery)
	}
}

// demoRoutes is the route server's view of the plans for the enricher.
type demoRoutes []sessionPlan

func (d demoRoutes) OriginAS(a netip.Addr) (uint32, bool) {
	best, origin := -1, uint32(0)
	for _, p := range d {
		for _, g := range p.Groups {
			for _, pfx := range g.Prefixes {
				if pfx.Contains(a) && pfx.Bits() > best {
					best, origin = pfx.Bits(), g.Path[len(g.Path)-1]
				}
			}
		}
	}
	return origin, best >= 0
}

// TestDemoFlowsAttribution feeds a minute of the demo's datagrams through
// ixpd's decoder and enricher with the example's configuration: every
// sFlow sample is IXP traffic between the member pair it was generated
// for, and every IPFIX record lands in the path class and domestic class
// it was generated for, byte for byte.
func TestDemoFlowsAttribution(t *testing.T) {
	x, routes := exampleExchange(t)
	g := demoTraffic(t, 3)
	plans := planAnnouncements(x, routes, demoBGPOptions{seed: 3, prefixes: 60, filtered: 1})
	set, err := members.Load(filepath.Join(filepath.Dir(exampleConfig), "members.json"), members.Options{})
	if err != nil {
		t.Fatal(err)
	}
	ec := enrich.Config{Country: x.country, DelegatedFiles: []string{filepath.Join(filepath.Dir(exampleConfig), "delegated-apnic-extract.txt")},
		Exporters: map[netip.Addr]enrich.Exporter{}}
	dc := decoder.Config{Exporters: map[netip.Addr]decoder.Exporter{}}
	for _, s := range x.switches {
		ec.Exporters[s.addr] = enrich.Exporter{Role: flow.RoleIXPSwitch}
		dc.Exporters[s.addr] = decoder.Exporter{Role: flow.RoleIXPSwitch}
	}
	for _, e := range x.edges {
		ifs := map[uint32]enrich.InterfaceRole{}
		for idx, r := range e.interfaces {
			if ifs[idx], err = enrich.ParseInterfaceRole(r); err != nil {
				t.Fatal(err)
			}
		}
		ec.Exporters[e.addr] = enrich.Exporter{Role: flow.RoleMemberEdge, MemberASN: e.memberASN, Interfaces: ifs}
		dc.Exporters[e.addr] = decoder.Exporter{Role: flow.RoleMemberEdge}
	}
	en, err := enrich.New(ec, set, demoRoutes(plans), nil)
	if err != nil {
		t.Fatal(err)
	}
	dec, err := decoder.New(nil, dc)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	var flows []flow.Flow
	for k := range 600 {
		at := now.Add(time.Duration(k) * g.o.tick)
		for _, d := range g.next(at) {
			if flows, err = dec.Decode(netip.AddrPortFrom(d.from, 40000), at, d.b, flows); err != nil {
				t.Fatalf("decode: %v", err)
			}
		}
	}
	pairs := map[[2]uint32]uint64{}
	classes := map[uint32][numClasses]uint64{}
	var v4, v6 int
	for i := range flows {
		f := &flows[i]
		en.Enrich(f)
		switch f.Role {
		case flow.RoleIXPSwitch:
			if !f.IXPExchanged {
				t.Fatalf("sFlow sample not IXP traffic: %+v", f)
			}
			switch {
			case f.EType == 0x86dd && f.SrcAddr.Is6() && f.DstAddr.Is6():
				v6++
			case f.EType == 0x0800 && f.SrcAddr.Is4():
				v4++
			default:
				t.Fatalf("sFlow sample of EtherType %#x from %s to %s", f.EType, f.SrcAddr, f.DstAddr)
			}
			pairs[[2]uint32{f.SrcMember, f.DstMember}] += f.Bytes
		case flow.RoleMemberEdge:
			c := 0
			switch {
			case f.PathClass == flow.PathViaIXP && f.Domestic:
				c = classDomesticIXP
			case f.PathClass == flow.PathViaIXP:
				c = classForeignIXP
			case f.PathClass == flow.PathViaTransit && f.Domestic:
				c = classDomesticTransit
			case f.PathClass == flow.PathViaTransit:
				c = classForeignTransit
			default:
				t.Fatalf("edge flow with path %v: %+v", f.PathClass, f)
			}
			member := f.SrcMember
			if member == 0 {
				member = f.DstMember
			}
			cb := classes[member]
			cb[c] += f.Bytes
			classes[member] = cb
		default:
			t.Fatalf("flow of role %v", f.Role)
		}
	}
	// Members that announce IPv6 exchange some of their traffic over it.
	if v6 == 0 || v6 > v4 {
		t.Errorf("%d IPv4 and %d IPv6 sFlow samples, want about a third IPv6 where both members have it", v4, v6)
	}
	if diff := cmp.Diff(pairs, g.totals.PairBytes); diff != "" {
		t.Errorf("bytes per member pair as ixpd attributes them (-ixpd +generated):\n%s", diff)
	}
	if diff := cmp.Diff(classes, g.totals.ClassBytes); diff != "" {
		t.Errorf("edge bytes per member and class as ixpd attributes them (-ixpd +generated):\n%s", diff)
	}
	if len(pairs) != 6 || len(classes) != 2 {
		t.Errorf("%d member pairs and %d edge members, want 6 and 2", len(pairs), len(classes))
	}
	for asn, cb := range classes {
		for c, b := range cb {
			if b == 0 {
				t.Errorf("AS%d: no %s bytes", asn, classNames[c])
			}
		}
		share := float64(cb[classDomesticIXP]) / float64(cb[classDomesticIXP]+cb[classDomesticTransit])
		if share < 0.5 || share > 0.9 {
			t.Errorf("AS%d: local share %.2f, want about 0.7", asn, share)
		}
	}
}

// TestDemoDuration runs the demo twice for a second, without ixpd, into
// UDP sockets of the test: the same seed and duration send the same flows.
func TestDemoDuration(t *testing.T) {
	if testing.Short() { // only make test-short skips it; CI runs it
		t.Skip("sends flows for two seconds")
	}
	conf, _ := demoTestConfig(t, t.TempDir())
	x, err := loadDemoExchange(conf)
	if err != nil {
		t.Fatal(err)
	}
	var received [2]atomic.Int64 // bytes at the sFlow and NetFlow listeners
	for i, ap := range []netip.AddrPort{x.sflowTo, x.netflowTo} {
		c, err := net.ListenUDP("udp", net.UDPAddrFromAddrPort(ap))
		if err != nil {
			t.Fatal(err)
		}
		if err := c.SetReadBuffer(8 << 20); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = c.Close() }) // ends the reader
		go func() {
			buf := make([]byte, 65536)
			for {
				n, err := c.Read(buf)
				if err != nil {
					return
				}
				received[i].Add(int64(n))
			}
		}()
	}
	sent := regexp.MustCompile(`sent .*`)
	run := func() (string, [2]int64) {
		o, err := parseDemoFlags([]string{"-config", conf, "-duration", "1s", "-status", "0", "-seed", "5"}, io.Discard)
		if err != nil {
			t.Fatal(err)
		}
		var out bytes.Buffer
		if err := runDemo(t.Context(), o, &out); err != nil {
			t.Fatal(err)
		}
		// The reader has had the last datagram when a quiet 200 ms pass.
		var got [2]int64
		for {
			prev := [2]int64{received[0].Load(), received[1].Load()}
			time.Sleep(200 * time.Millisecond)
			if got = [2]int64{received[0].Swap(0), received[1].Swap(0)}; got == prev {
				break
			}
			received[0].Add(got[0])
			received[1].Add(got[1])
		}
		return string(sent.Find(out.Bytes())), got
	}
	line1, got1 := run()
	line2, got2 := run()
	if line1 == "" || line1 != line2 || got1 != got2 || got1[0] == 0 || got1[1] == 0 {
		t.Errorf("two runs of a second with seed 5:\n%s, %v bytes received\n%s, %v bytes received", line1, got1, line2, got2)
	}
	if !strings.HasSuffix(line1, "; 0 send errors") {
		t.Errorf("send errors: %s", line1)
	}
}
