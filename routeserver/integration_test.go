package routeserver_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/netip"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/ixpd/ixpd/routeserver"
	"github.com/ixpd/ixpd/routeserver/members"
	"github.com/ixpd/ixpd/routeserver/peertest"
	"github.com/ixpd/ixpd/routeserver/speaker"
)

// The route server under test, with real BIRD 2 and OpenBGPD members on
// loopback addresses.

const rsASN = 64512

var (
	rs4       = netip.MustParseAddr("127.0.0.1")
	rs6       = netip.MustParseAddr("fd00:ffff::1")
	lans      = []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8"), netip.MustParsePrefix("fd00:ffff::/64"), netip.MustParsePrefix("16.99.0.0/24")}
	cmpRoutes = cmp.Options{
		cmp.Comparer(func(a, b netip.Addr) bool { return a == b }),
		cmp.Comparer(func(a, b netip.Prefix) bool { return a == b }),
	}
)

// member is one member of the test exchange: its entry in the members file
// and what it announces.
type member struct {
	name      string
	asn       uint32
	addr4     netip.Addr
	addr6     netip.Addr
	maxPrefix int
	routes    []peertest.Route
}

func (m member) peertest(port int) peertest.Member {
	return peertest.Member{Name: m.name, ASN: m.asn, Addr4: m.addr4, Addr6: m.addr6, RSAddr4: rs4, RSAddr6: rs6,
		RSASN: rsASN, Port: port, Routes: m.routes}
}

// membersJSON writes an IX-F Member Export 1.0 file for ms.
func membersJSON(t *testing.T, ms []member) []byte {
	t.Helper()
	type ip struct {
		Address     string `json:"address"`
		RouteServer bool   `json:"routeserver"`
		MaxPrefix   int    `json:"max_prefix,omitempty"`
	}
	type vlan struct {
		VLANID int `json:"vlan_id"`
		IPv4   *ip `json:"ipv4,omitempty"`
		IPv6   *ip `json:"ipv6,omitempty"`
	}
	type conn struct {
		IXPID    int    `json:"ixp_id"`
		VLANList []vlan `json:"vlan_list"`
	}
	type mem struct {
		ASNum    uint32 `json:"asnum"`
		Name     string `json:"name"`
		ConnList []conn `json:"connection_list"`
	}
	var list []mem
	for _, m := range ms {
		v := vlan{VLANID: 1}
		if m.addr4.IsValid() {
			v.IPv4 = &ip{Address: m.addr4.String(), RouteServer: true, MaxPrefix: m.maxPrefix}
		}
		if m.addr6.IsValid() {
			v.IPv6 = &ip{Address: m.addr6.String(), RouteServer: true, MaxPrefix: m.maxPrefix}
		}
		list = append(list, mem{ASNum: m.asn, Name: m.name, ConnList: []conn{{IXPID: 1, VLANList: []vlan{v}}}})
	}
	data, err := json.Marshal(map[string]any{"version": "1.0", "timestamp": "2026-11-01T00:00:00Z",
		"ixp_list":    []map[string]any{{"ixp_id": 1, "shortname": "TEST-IX", "vlan": []map[string]any{{"id": 1}}}},
		"member_list": list})
	if err != nil {
		t.Fatal(err)
	}
	return data
}

func parseMembers(t *testing.T, ms []member) *members.Set {
	t.Helper()
	set, err := members.Parse(membersJSON(t, ms), members.Options{PeeringLANs: lans})
	if err != nil {
		t.Fatalf("members file: %v", err)
	}
	return set
}

func pfx(s string) netip.Prefix { return netip.MustParsePrefix(s) }
func addr(s string) netip.Addr  { return netip.MustParseAddr(s) }

// exchange is a running route server with its members.
type exchange struct {
	t       *testing.T
	rs      *routeserver.Component
	port    int
	routers map[string]*peertest.Router
}

func (x *exchange) neighbor(id string) (routeserver.Neighbor, bool) {
	ns, err := x.rs.Neighbors(context.Background())
	if err != nil {
		x.t.Fatal(err)
	}
	for _, n := range ns {
		if n.ID == id {
			return n, true
		}
	}
	return routeserver.Neighbor{}, false
}

// waitReceived waits until the member has received exactly want.
func (x *exchange) waitReceived(t *testing.T, name string, want []peertest.Route) {
	t.Helper()
	r := x.routers[name]
	peertest.WaitFor(t, 60*time.Second, name+" receives the expected routes", func() (bool, string) {
		got, err := r.Received(context.Background())
		if err != nil {
			return false, err.Error()
		}
		diff := cmp.Diff(got, want, cmpRoutes)
		return diff == "", "(-got +want)\n" + diff
	})
}

// The members and what they announce. A route's name says what is wrong
// with it; expectFiltered lists the reasons the route server must give.
var (
	memberA = member{name: "a", asn: 38800, addr4: addr("127.0.0.2"), addr6: addr("fd00:ffff::2"), maxPrefix: 50, routes: []peertest.Route{
		{Prefix: pfx("16.38.0.0/24"), HasMED: true, MED: 50, Communities: []string{"38800:100"}, LargeCommunities: []string{"38800:1:1"}},
		{Prefix: pfx("16.38.8.0/24")},
		{Prefix: pfx("2a10:3880::/32")},
		{Prefix: pfx("10.38.0.0/16")},                             // bogon
		{Prefix: pfx("16.99.0.0/24")},                             // the peering LAN
		{Prefix: pfx("0.0.0.0/0")},                                // default: bogon and too short
		{Prefix: pfx("16.38.2.0/25")},                             // too long
		{Prefix: pfx("16.0.0.0/7")},                               // too short
		{Prefix: pfx("2001:db8:38::/48")},                         // IPv6 documentation
		{Prefix: pfx("fc00:38::/48")},                             // outside 2000::/3
		{Prefix: pfx("2a10:3880:1::/64")},                         // IPv6 too long
		{Prefix: pfx("16.38.3.0/24"), ASPath: []uint32{64999}},    // private ASN in the path
		{Prefix: pfx("16.38.4.0/24"), ASPath: repeat(38800, 32)},  // 33 ASNs
		{Prefix: pfx("16.38.5.0/24"), NextHop: addr("127.0.0.3")}, // another member's next hop
		{Prefix: pfx("16.38.6.0/24"), NoOwnASN: true, ASPath: []uint32{3356}},
		{Prefix: pfx("16.38.7.0/25"), ASPath: []uint32{4200000001}}, // too long and private ASN
		{Prefix: pfx("16.40.0.0/24"), NextHop: addr("127.0.0.99")},  // shorter than B's valid path, filtered
	}}
	memberB = member{name: "b", asn: 17993, addr4: addr("127.0.0.3"), addr6: addr("fd00:ffff::3"), maxPrefix: 50, routes: []peertest.Route{
		{Prefix: pfx("16.179.0.0/24")},
		{Prefix: pfx("2a10:1799::/32"), Communities: []string{"17993:6"}},
		{Prefix: pfx("16.38.0.0/24"), ASPath: []uint32{3356}},
		{Prefix: pfx("16.40.0.0/24"), ASPath: []uint32{3356}},
	}}
	memberC = member{name: "c", asn: 131214, addr4: addr("127.0.0.4"), maxPrefix: 4, routes: []peertest.Route{
		{Prefix: pfx("16.131.0.0/24")},
		{Prefix: pfx("16.131.1.0/24")},
	}}
	memberD = member{name: "d", asn: 58400, addr4: addr("127.0.0.5"), addr6: addr("fd00:ffff::5"), maxPrefix: 50, routes: []peertest.Route{
		{Prefix: pfx("16.58.0.0/24"), LargeCommunities: []string{"58400:7:7"}},
		{Prefix: pfx("2a10:5840::/32")},
	}}
	memberE = member{name: "e", asn: 23500, addr4: addr("127.0.0.6"), maxPrefix: 10}
	memberF = member{name: "f", asn: 45000, addr4: addr("127.0.0.7"), maxPrefix: 10, routes: []peertest.Route{
		{Prefix: pfx("16.45.0.0/24")},
	}}
)

var expectFiltered = map[netip.Prefix][]uint32{
	pfx("10.38.0.0/16"):     {3},
	pfx("16.99.0.0/24"):     {3},
	pfx("0.0.0.0/0"):        {2, 3},
	pfx("16.38.2.0/25"):     {1},
	pfx("16.0.0.0/7"):       {2},
	pfx("2001:db8:38::/48"): {3},
	pfx("fc00:38::/48"):     {3},
	pfx("2a10:3880:1::/64"): {1},
	pfx("16.38.3.0/24"):     {4},
	pfx("16.38.4.0/24"):     {5},
	pfx("16.38.5.0/24"):     {8},
	pfx("16.38.6.0/24"):     {7},
	pfx("16.38.7.0/25"):     {1, 4},
	pfx("16.40.0.0/24"):     {8},
}

func repeat(asn uint32, n int) []uint32 {
	out := make([]uint32, n)
	for i := range out {
		out[i] = asn
	}
	return out
}

// sent is a route as a member receives it from another member through a
// transparent route server: the announcer's own path, next hop, MED and
// communities.
func sent(from member, r peertest.Route) peertest.Route {
	out := r
	out.NoOwnASN = false
	if !r.NoOwnASN {
		out.ASPath = append([]uint32{from.asn}, r.ASPath...)
	}
	if !r.NextHop.IsValid() {
		out.NextHop = from.addr4
		if r.Prefix.Addr().Is6() {
			out.NextHop = from.addr6
		}
	}
	return out
}

// expected computes what each member must receive: for every prefix the
// best valid path among the other members (shortest AS path), in the
// families of the member's sessions.
func expected(to member, others ...member) []peertest.Route {
	best := map[netip.Prefix]peertest.Route{}
	for _, m := range others {
		if m.name == to.name {
			continue
		}
		for _, r := range m.routes {
			if _, bad := expectFiltered[r.Prefix]; bad && m.name == "a" {
				continue
			}
			if r.Prefix.Addr().Is4() && !to.addr4.IsValid() || r.Prefix.Addr().Is6() && !to.addr6.IsValid() {
				continue
			}
			s := sent(m, r)
			if cur, ok := best[r.Prefix]; ok && len(cur.ASPath) <= len(s.ASPath) {
				continue
			}
			best[r.Prefix] = s
		}
	}
	out := make([]peertest.Route, 0, len(best))
	for _, r := range best {
		out = append(out, r)
	}
	peertest.SortRoutes(out)

	return out
}

func TestRouteServerWithRealMembers(t *testing.T) {
	peertest.Require(t)
	ctx := t.Context()
	for _, a := range []netip.Addr{rs6, memberA.addr6, memberB.addr6, memberD.addr6} {
		if err := peertest.EnsureLoopbackAddr(a); err != nil {
			t.Fatal(err)
		}
	}
	port, err := peertest.FreePort(rs6, memberA.addr6, memberB.addr6, memberD.addr6)
	if err != nil {
		t.Fatal(err)
	}

	cfg := routeserver.DefaultConfiguration()
	cfg.ASN = rsASN
	cfg.RouterID = rs4
	cfg.Listen = routeserver.ListenAddresses{netip.AddrPortFrom(rs4, uint16(port)), netip.AddrPortFrom(rs6, uint16(port))}
	cfg.PeerPort = uint16(port)
	cfg.ConnectRetry = time.Second
	cfg.HoldTime = 9 * time.Second
	cfg.MaxPrefix.RestartAfter = 3 * time.Second
	cfg.PeeringLANs = lans
	// B's paths run through AS3356: transit-free filtering is the
	// scenario suite's business.
	cfg.Filters.TransitFree = false

	all := []member{memberA, memberB, memberC, memberD, memberE}
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	if testing.Verbose() {
		logger = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
	}
	rs, err := routeserver.New(logger, prometheus.NewRegistry(), cfg, routeserver.Dependencies{Members: parseMembers(t, all)})
	if err != nil {
		t.Fatal(err)
	}
	if err := rs.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = rs.Stop(context.Background()) })

	x := &exchange{t: t, rs: rs, port: port, routers: map[string]*peertest.Router{}}
	start := func(m member, openbgpd bool) {
		t.Helper()
		startFn := peertest.StartBIRD
		if openbgpd {
			startFn = peertest.StartOpenBGPD
		}
		r, err := startFn(ctx, t.TempDir(), m.peertest(port))
		if err != nil {
			t.Fatalf("start %s: %v", m.name, err)
		}
		t.Cleanup(func() { _ = r.Stop() })
		x.routers[m.name] = r
	}
	start(memberA, false)
	start(memberB, false)
	start(memberC, false)
	start(memberD, true)
	for _, name := range []string{"a", "b", "c", "d"} {
		wctx, cancel := context.WithTimeout(ctx, 60*time.Second)
		if err := x.routers[name].WaitEstablished(wctx); err != nil {
			cancel()
			t.Fatalf("%s: %v", name, err)
		}
		cancel()
	}
	members4 := []member{memberA, memberB, memberC, memberD}

	t.Run("each member receives the others' valid routes unchanged", func(t *testing.T) {
		t.Cleanup(func() {
			if t.Failed() {
				for _, id := range []string{"127.0.0.5", "fd00:ffff::5"} {
					rs, err := x.rs.Routes(ctx, id, routeserver.Received)
					t.Logf("received from %s: %+v %v", id, rs, err)
				}
				t.Logf("d log: %s", x.routers["d"].LogTail())
			}
		})
		for _, m := range members4 {
			x.waitReceived(t, m.name, expected(m, members4...))
		}
	})

	t.Run("filtered routes show with their reasons", func(t *testing.T) {
		var got map[netip.Prefix][]uint32
		peertest.WaitFor(t, 30*time.Second, "A's filtered routes", func() (bool, string) {
			rs, err := rs.Routes(ctx, "127.0.0.2", routeserver.Filtered)
			if err != nil {
				return false, err.Error()
			}
			rs6, err := rs6Routes(ctx, x.rs, routeserver.Filtered)
			if err != nil {
				return false, err.Error()
			}
			got = map[netip.Prefix][]uint32{}
			for _, r := range append(rs, rs6...) {
				for _, reason := range r.RejectReasons {
					got[r.Prefix] = append(got[r.Prefix], reason.Code)
				}
			}
			diff := cmp.Diff(got, expectFiltered, cmpRoutes)
			return diff == "", "(-got +want)\n" + diff
		})
		n, _ := x.neighbor("127.0.0.2")
		n6, _ := x.neighbor("fd00:ffff::2")
		if got, want := n.Routes.Filtered+n6.Routes.Filtered, len(expectFiltered); got != want {
			t.Errorf("filtered count %d, want %d", got, want)
		}
		if got, want := n.Routes.Received+n6.Routes.Received, len(memberA.routes); got != want {
			t.Errorf("received count %d, want %d", got, want)
		}
		// A filtered route is never exported, and the valid path for the
		// same prefix is (path-hiding mitigation).
		exp, err := rs.Routes(ctx, "127.0.0.4", routeserver.Exported)
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range exp {
			if _, bad := expectFiltered[r.Prefix]; bad && r.Neighbor == "127.0.0.2" {
				t.Errorf("filtered route %s exported to C", r.Prefix)
			}
		}
		_, paths, err := rs.Lookup(ctx, pfx("16.40.0.0/24"))
		if err != nil {
			t.Fatal(err)
		}
		var states []string
		for _, p := range paths {
			states = append(states, fmt.Sprintf("%s %s best=%v", p.Neighbor, p.State, p.Best))
		}
		slices.Sort(states)
		if diff := cmp.Diff(states, []string{"127.0.0.2 filtered best=false", "127.0.0.3 accepted best=true"}); diff != "" {
			t.Errorf("lookup 16.40.0.0/24 (-got +want):\n%s", diff)
		}
	})

	t.Run("session state for the IX-F export", func(t *testing.T) {
		for _, tt := range []struct {
			addr                    string
			configured, established bool
		}{{"127.0.0.2", true, true}, {"fd00:ffff::3", true, true}, {"127.0.0.6", true, false}, {"127.0.0.9", false, false}} {
			c, e := rs.SessionState(addr(tt.addr))
			if c != tt.configured || e != tt.established {
				t.Errorf("SessionState(%s) = %v, %v; want %v, %v", tt.addr, c, e, tt.configured, tt.established)
			}
		}
	})

	t.Run("flow enrichment sees the origin AS of accepted routes", func(t *testing.T) {
		if err := rs.RefreshSnapshot(); err != nil {
			t.Fatal(err)
		}
		for _, tt := range []struct {
			addr   string
			origin uint32
			ok     bool
		}{
			{"16.38.0.5", 38800, true},    // A's route, path [38800] beats B's [17993 3356]
			{"16.40.0.9", 3356, true},     // A's shorter route is filtered: B's origin
			{"16.38.2.200", 0, false},     // only a filtered /25 covers it
			{"10.38.1.1", 0, false},       // a bogon, filtered
			{"2a10:1799::1", 17993, true}, // IPv6
			{"16.131.0.1", 131214, true},  // C
			{"203.0.113.1", 0, false},     // nobody
		} {
			got, ok := rs.OriginAS(addr(tt.addr))
			if got != tt.origin || ok != tt.ok {
				t.Errorf("OriginAS(%s) = %d, %v; want %d, %v", tt.addr, got, ok, tt.origin, tt.ok)
			}
		}
	})

	t.Run("a malformed UPDATE costs only that session", func(t *testing.T) {
		var received = make(chan netip.Prefix, 1000)
		sess, err := speaker.Dial(ctx, speaker.Config{LocalAddr: memberE.addr4, Remote: netip.AddrPortFrom(rs4, uint16(port)),
			ASN: memberE.asn, RouterID: memberE.addr4, HoldTime: 9 * time.Second,
			OnUpdate: func(announced, _ []netip.Prefix, _ speaker.RawAttributes) {
				for _, p := range announced {
					select {
					case received <- p:
					default:
					}
				}
			}})
		if err != nil {
			t.Fatalf("speaker E: %v", err)
		}
		defer func() { _ = sess.Close() }() // Close always returns nil
		msgs, err := speaker.EncodeUpdates([]netip.Prefix{pfx("16.235.0.0/24")}, speaker.Attributes{
			ASPath: []uint32{memberE.asn}, NextHop: memberE.addr4})
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range msgs {
			if err := sess.Send(m); err != nil {
				t.Fatal(err)
			}
		}
		withE := append(expected(memberB, members4...), sent(memberE, peertest.Route{Prefix: pfx("16.235.0.0/24")}))
		peertest.SortRoutes(withE)
		x.waitReceived(t, "b", withE)

		// An UPDATE whose withdrawn-routes length runs past its end.
		malformed := []byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
			0x00, 0x17, 0x02, 0x00, 0xff}
		if err := sess.Send(malformed); err != nil {
			t.Fatal(err)
		}
		select {
		case <-sess.Done():
		case <-time.After(30 * time.Second):
			t.Fatal("session with E still up after a malformed UPDATE")
		}
		var ne *speaker.NotificationError
		if !errors.As(sess.Err(), &ne) || ne.Code != 3 || ne.Sent {
			t.Errorf("E's session ended with %v, want an UPDATE Message Error NOTIFICATION from the route server", sess.Err())
		}
		// E's route is gone, everything else stays.
		x.waitReceived(t, "b", expected(memberB, members4...))
		for _, name := range []string{"a", "b", "c", "d"} {
			if v4, _, err := x.routers[name].Established(ctx); err != nil || !v4 {
				t.Errorf("%s lost its session (%v)", name, err)
			}
		}
		n, _ := x.neighbor("127.0.0.6")
		if n.State == "established" || n.LastError == "" {
			t.Errorf("neighbor E: state %q, last error %q", n.State, n.LastError)
		}
	})

	t.Run("nobody but a member gets a session", func(t *testing.T) {
		stranger := addr("127.0.0.8")
		dctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		defer cancel()
		sess, err := speaker.Dial(dctx, speaker.Config{LocalAddr: stranger, Remote: netip.AddrPortFrom(rs4, uint16(port)),
			ASN: 23600, RouterID: stranger})
		if err == nil {
			_ = sess.Close() // Close always returns nil
			t.Fatal("a session from an address that is not in the members file came up")
		}
		if _, ok := x.neighbor(stranger.String()); ok {
			t.Error("the stranger is listed as a neighbor")
		}
	})

	t.Run("a member that restarts comes back", func(t *testing.T) {
		if err := x.routers["a"].Restart(ctx); err != nil {
			t.Fatal(err)
		}
		wctx, cancel := context.WithTimeout(ctx, 60*time.Second)
		defer cancel()
		if err := x.routers["a"].WaitEstablished(wctx); err != nil {
			t.Fatal(err)
		}
		x.waitReceived(t, "a", expected(memberA, members4...))
		x.waitReceived(t, "c", expected(memberC, members4...))
	})

	t.Run("a member over its max-prefix is torn down, others keep their routes", func(t *testing.T) {
		c := x.routers["c"]
		over := append(slices.Clone(memberC.routes),
			peertest.Route{Prefix: pfx("16.131.2.0/24")}, peertest.Route{Prefix: pfx("16.131.3.0/24")}, peertest.Route{Prefix: pfx("16.131.4.0/24")})
		if err := c.SetRoutes(ctx, over); err != nil {
			t.Fatal(err)
		}
		peertest.WaitFor(t, 30*time.Second, "C held down for max prefix", func() (bool, string) {
			n, _ := x.neighbor("127.0.0.4")
			return n.State == "max_prefix", "state " + n.State
		})
		if n, _ := x.neighbor("127.0.0.4"); !strings.Contains(n.LastError, "maximum number of prefixes (4) exceeded") {
			t.Errorf("C's last error %q, want the Cease the route server sent", n.LastError)
		}
		peertest.WaitFor(t, 10*time.Second, "C's BIRD logs the Cease", func() (bool, string) {
			tail := c.LogTail()
			return strings.Contains(tail, "Maximum number of prefixes reached"), tail
		})
		withoutC := []member{memberA, memberB, memberD}
		x.waitReceived(t, "b", expected(memberB, withoutC...))
		x.waitReceived(t, "d", expected(memberD, withoutC...))
		if v4, _, _ := x.routers["a"].Established(ctx); !v4 {
			t.Error("A lost its session")
		}
		// Back under the limit: the session returns after restart_after.
		if err := c.SetRoutes(ctx, memberC.routes); err != nil {
			t.Fatal(err)
		}
		wctx, cancel := context.WithTimeout(ctx, 60*time.Second)
		defer cancel()
		if err := c.WaitEstablished(wctx); err != nil {
			t.Fatal(err)
		}
		x.waitReceived(t, "b", expected(memberB, members4...))
	})

	t.Run("reload adds, removes and changes members without resetting the others", func(t *testing.T) {
		before, _ := x.neighbor("127.0.0.3")
		if before.State != "established" || before.Since == nil {
			t.Fatalf("B before reload: %+v", before)
		}
		b := memberB
		b.maxPrefix = 60
		next := []member{memberA, b, memberC, memberF}
		if err := rs.SetMembers(ctx, parseMembers(t, next)); err != nil {
			t.Fatal(err)
		}
		start(memberF, false)
		wctx, cancel := context.WithTimeout(ctx, 60*time.Second)
		defer cancel()
		if err := x.routers["f"].WaitEstablished(wctx); err != nil {
			t.Fatal(err)
		}
		live := []member{memberA, memberB, memberC, memberF}
		x.waitReceived(t, "f", expected(memberF, live...))
		x.waitReceived(t, "b", expected(memberB, live...))
		peertest.WaitFor(t, 30*time.Second, "D's sessions closed", func() (bool, string) {
			v4, v6, err := x.routers["d"].Established(ctx)
			return err == nil && !v4 && !v6, fmt.Sprintf("v4 %v v6 %v err %v", v4, v6, err)
		})
		if _, ok := x.neighbor("127.0.0.5"); ok {
			t.Error("D still listed after removal")
		}
		after, _ := x.neighbor("127.0.0.3")
		if after.State != "established" || after.Since == nil || !after.Since.Equal(*before.Since) || after.MaxPrefix != 60 {
			t.Errorf("B after reload: state %s since %v (before %v) max_prefix %d; want an untouched session with max_prefix 60",
				after.State, after.Since, before.Since, after.MaxPrefix)
		}
	})
}

// rs6Routes lists A's IPv6 routes of one kind.
func rs6Routes(ctx context.Context, rs *routeserver.Component, kind routeserver.RouteKind) ([]routeserver.Route, error) {
	return rs.Routes(ctx, "fd00:ffff::2", kind)
}
