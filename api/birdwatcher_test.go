package api

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"os"
	"slices"
	"strconv"
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

// Alice-LG's time layouts: its default servertime (ttl, cached_at), and the
// servertime_short and servertime_ext that the README tells operators to
// set (Alice-LG's defaults, "2006-01-02" and an RFC 1123 form, do not read
// BIRD's times).
const (
	aliceServerTime      = "2006-01-02T15:04:05.999999999Z07:00"
	aliceServerTimeShort = "2006-01-02 15:04:05"
	aliceServerTimeExt   = "2006-01-02 15:04:05"
)

const bwRSASN = 64512

// bwMember is a simulated member of the test exchange.
type bwMember struct {
	asn    uint32
	name   string
	addr   netip.Addr
	addr6  netip.Addr // configured, never connects; zero for none
	routes []bwAnnouncement
}

type bwAnnouncement struct {
	prefixes []string
	attrs    speaker.Attributes
}

var (
	bwAlpha = bwMember{asn: 38800, name: "Alpha", addr: netip.MustParseAddr("127.0.0.2"), addr6: netip.MustParseAddr("2001:db8:ffff::2"),
		routes: []bwAnnouncement{
			{prefixes: []string{"16.38.0.0/24"}, attrs: speaker.Attributes{ASPath: []uint32{38800}, MED: 50, HasMED: true,
				Communities: []uint32{38800<<16 | 100}, LargeCommunities: []speaker.LargeCommunity{{GlobalAdmin: 38800, LocalData1: 1, LocalData2: 2}}}},
			// Filtered: a bogon (reason 3) and a /25 (prefix too long, 1).
			{prefixes: []string{"10.38.0.0/16", "16.38.2.0/25"}, attrs: speaker.Attributes{ASPath: []uint32{38800}}},
		}}
	bwBravo = bwMember{asn: 17993, name: "Bravo", addr: netip.MustParseAddr("127.0.0.3"),
		routes: []bwAnnouncement{
			{prefixes: []string{"16.179.0.0/24"}, attrs: speaker.Attributes{ASPath: []uint32{17993, 131214}}},
			// Not to Alpha (Euro-IX 0:peer-as): not exported to it.
			{prefixes: []string{"16.179.1.0/24"}, attrs: speaker.Attributes{ASPath: []uint32{17993, 131214}, Communities: []uint32{38800}}},
		}}
)

// Protocol ids of the test exchange.
const (
	bwAlphaID  = "AS38800_127_0_0_2"
	bwAlpha6ID = "AS38800_2001_db8_ffff__2"
	bwBravoID  = "AS17993_127_0_0_3"
)

// newExchangeAPI starts a real route server, connects Alpha and Bravo to it
// as light BGP speakers, announces their routes, waits until the route
// server holds them, and builds the API on it.
func newExchangeAPI(t *testing.T, cfg Configuration) (*Component, *routeserver.Component) {
	t.Helper()
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	reg := prometheus.NewRegistry()
	lo := netip.MustParseAddr("127.0.0.1")
	port := freePort(t)
	rsCfg := routeserver.DefaultConfiguration()
	rsCfg.ASN = bwRSASN
	rsCfg.RouterID = lo
	rsCfg.Listen = routeserver.ListenAddresses{netip.AddrPortFrom(lo, port)}
	rsCfg.Passive = true
	set := &members.Set{}
	for _, m := range []bwMember{bwAlpha, bwBravo} {
		mm := members.Member{ASN: m.asn, Name: m.name, Addresses: []members.Address{
			{Family: members.IPv4, IP: m.addr, RouteServer: true, MaxPrefix: 100}}}
		if m.addr6.IsValid() {
			mm.Addresses = append(mm.Addresses, members.Address{Family: members.IPv6, IP: m.addr6, RouteServer: true, MaxPrefix: 100})
		}
		set.Members = append(set.Members, mm)
	}
	rs := startRouteServer(t, logger, reg, rsCfg, set)
	ctx := context.Background()
	for _, m := range []bwMember{bwAlpha, bwBravo} {
		dctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		s, err := speaker.Dial(dctx, speaker.Config{LocalAddr: m.addr, Remote: netip.AddrPortFrom(lo, port), ASN: m.asn, RouterID: m.addr})
		cancel()
		if err != nil {
			t.Fatalf("member %s: %v", m.name, err)
		}
		t.Cleanup(func() {
			_ = s.Close() // Close always returns nil
			<-s.Done()
		})
		for _, ann := range m.routes {
			var ps []netip.Prefix
			for _, p := range ann.prefixes {
				ps = append(ps, netip.MustParsePrefix(p))
			}
			attrs := ann.attrs
			attrs.NextHop = m.addr
			msgs, err := speaker.EncodeUpdates(ps, attrs)
			if err != nil {
				t.Fatal(err)
			}
			for _, msg := range msgs {
				if err := s.Send(msg); err != nil {
					t.Fatalf("member %s: %v", m.name, err)
				}
			}
		}
	}
	want := map[string]routeserver.RouteCounts{
		bwAlpha.addr.String(): {Received: 3, Accepted: 1, Filtered: 2, Exported: 1},
		bwBravo.addr.String(): {Received: 2, Accepted: 2, Filtered: 0, Exported: 1},
	}
	peertest.WaitFor(t, 30*time.Second, "the route server holds and passes on every route", func() (bool, string) {
		ns, err := rs.Neighbors(ctx)
		if err != nil {
			return false, err.Error()
		}
		got := map[string]routeserver.RouteCounts{}
		for _, n := range ns {
			if _, ok := want[n.ID]; ok {
				got[n.ID] = n.Routes
			}
		}
		diff := cmp.Diff(got, want)
		return diff == "", "route counts (-got +want):\n" + diff
	})
	if cfg.Listen == "" {
		cfg.Listen = "127.0.0.1:0"
	}
	a, err := New(logger, reg, cfg, Dependencies{RouteServer: rs, Gatherer: reg, Version: "test"})
	if err != nil {
		t.Fatal(err)
	}
	return a, rs
}

// aliceGet fetches path as Alice-LG does: a plain GET without headers,
// whose status code is never looked at, and a JSON body.
func aliceGet(t *testing.T, base, path string) (int, map[string]any) {
	t.Helper()
	resp, err := http.Get(base + path)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = resp.Body.Close() }() // read to the end below
	var body map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		t.Fatalf("GET %s: body is not JSON: %v", path, err)
	}
	return resp.StatusCode, body
}

// aliceTime reads a time as Alice-LG's parseServerTime does (UTC).
func aliceTime(v any, layout string) (time.Time, bool) {
	s, ok := v.(string)
	if !ok {
		return time.Time{}, false
	}
	ts, err := time.ParseInLocation(layout, s, time.UTC)
	return ts, err == nil
}

// aliceMeta applies Alice-LG's checks of the "api" envelope and "ttl":
// parseAPIStatus and the routes stream decoder assert api.Version and
// api.result_from_cache unchecked, and a ttl that does not parse is an
// HTTP 500.
func aliceMeta(t *testing.T, path string, body map[string]any) {
	t.Helper()
	meta, ok := body["api"].(map[string]any)
	if !ok {
		t.Fatalf("%s: no api object (Alice-LG: invalid API response received from server): %v", path, body)
	}
	if _, ok := meta["Version"].(string); !ok {
		t.Errorf("%s: api.Version %#v is not a string (Alice-LG panics)", path, meta["Version"])
	}
	if _, ok := meta["result_from_cache"].(bool); !ok {
		t.Errorf("%s: api.result_from_cache %#v is not a bool (Alice-LG panics)", path, meta["result_from_cache"])
	}
	cache, _ := meta["cache_status"].(map[string]any)
	cachedAt, _ := cache["cached_at"].(map[string]any)
	if _, ok := aliceTime(cachedAt["date"], aliceServerTime); !ok {
		t.Errorf("%s: api.cache_status.cached_at.date %#v does not parse as %s", path, cachedAt["date"], aliceServerTime)
	}
	ttl, ok := aliceTime(body["ttl"], aliceServerTime)
	if !ok {
		t.Errorf("%s: ttl %#v does not parse as %s (Alice-LG answers 500)", path, body["ttl"], aliceServerTime)
	} else if now := time.Now(); !ttl.After(now) || ttl.After(now.Add(time.Hour)) {
		t.Errorf("%s: ttl %s is not shortly after now", path, ttl)
	}
}

// aliceNeighbor is what Alice-LG's parseNeighbors makes of a protocol.
type aliceNeighbor struct {
	Address, State, Description    string
	ASN                            int
	Received, Accepted, Filtered   int
	Exported                       int
	StateChanged                   bool // state_changed parsed
	HasConnection, HasBGPState, Up bool
}

// aliceNeighbors applies parseNeighbors: protocols and each protocol's
// routes object are asserted unchecked, counts are numbers.
func aliceNeighbors(t *testing.T, path string, body map[string]any) map[string]aliceNeighbor {
	t.Helper()
	aliceMeta(t, path, body)
	protocols, ok := body["protocols"].(map[string]any)
	if !ok {
		t.Fatalf("%s: protocols %#v is not an object (Alice-LG panics)", path, body["protocols"])
	}
	out := map[string]aliceNeighbor{}
	for id, v := range protocols {
		p, ok := v.(map[string]any)
		if !ok {
			t.Fatalf("%s: protocol %s is not an object (Alice-LG panics)", path, id)
		}
		routes, ok := p["routes"].(map[string]any)
		if !ok {
			t.Fatalf("%s: protocol %s has no routes object (Alice-LG panics)", path, id)
		}
		count := func(key string) int {
			v, present := routes[key]
			if !present {
				return 0
			}
			f, ok := v.(float64)
			if !ok {
				t.Errorf("%s: %s routes.%s %#v is not a number (Alice-LG panics)", path, id, key, v)
			}
			return int(f)
		}
		str := func(key string) string {
			s, ok := p[key].(string)
			if !ok {
				t.Errorf("%s: %s.%s %#v is not a string", path, id, key, p[key])
			}
			return s
		}
		n := aliceNeighbor{Address: str("neighbor_address"), State: strings.ToLower(str("state")), Description: str("description"),
			Accepted: count("imported"), Filtered: count("filtered"), Exported: count("exported")}
		n.Received = n.Accepted + n.Filtered
		asn, ok := p["neighbor_as"].(float64)
		if !ok {
			t.Errorf("%s: %s.neighbor_as %#v is not a number", path, id, p["neighbor_as"])
		}
		n.ASN = int(asn)
		_, n.StateChanged = aliceTime(p["state_changed"], aliceServerTimeShort)
		conn, _ := p["connection"].(string)
		bgpState, _ := p["bgp_state"].(string)
		n.HasConnection, n.HasBGPState = conn != "", bgpState != ""
		n.Up = n.State == "up"
		out[id] = n
	}
	return out
}

// aliceRoute is what Alice-LG's parseRouteData makes of a route.
type aliceRoute struct {
	Network, Gateway, LearntFrom, NeighborID string
	Primary                                  bool
	ASPath                                   []int
	NextHop, Origin, MED, LocalPref          string
	Communities, LargeCommunities            [][]int
}

// aliceRoutes applies the routes stream decoder and parseRouteData, with
// the type assertions that would panic made into test errors, and the
// silently dropped values (as_path numbers, unparsable ages) too.
func aliceRoutes(t *testing.T, path string, body map[string]any) []aliceRoute {
	t.Helper()
	aliceMeta(t, path, body)
	list, ok := body["routes"].([]any)
	if !ok {
		t.Fatalf("%s: routes %#v is not a list", path, body["routes"])
	}
	var out []aliceRoute
	for i, v := range list {
		rd, ok := v.(map[string]any)
		if !ok {
			t.Fatalf("%s: routes[%d] is not an object", path, i)
		}
		str := func(m map[string]any, key string) string {
			s, ok := m[key].(string)
			if !ok {
				t.Errorf("%s: routes[%d].%s %#v is not a string", path, i, key, m[key])
			}
			return s
		}
		r := aliceRoute{Network: str(rd, "network"), Gateway: str(rd, "gateway"), LearntFrom: str(rd, "learnt_from"),
			NeighborID: str(rd, "from_protocol")}
		_ = str(rd, "interface")
		if r.LearntFrom == "" {
			r.LearntFrom = r.Gateway
		}
		if _, ok := rd["metric"].(float64); !ok {
			t.Errorf("%s: routes[%d].metric %#v is not a number", path, i, rd["metric"])
		}
		if r.Primary, ok = rd["primary"].(bool); !ok {
			t.Errorf("%s: routes[%d].primary %#v is not a bool", path, i, rd["primary"])
		}
		types, _ := rd["type"].([]any)
		if len(types) == 0 {
			t.Errorf("%s: routes[%d].type %#v is not a list of strings", path, i, rd["type"])
		}
		for _, ty := range types {
			if _, ok := ty.(string); !ok {
				t.Errorf("%s: routes[%d].type %#v is not a list of strings", path, i, rd["type"])
			}
		}
		if age, ok := aliceTime(rd["age"], aliceServerTimeShort); !ok || age.After(time.Now()) || time.Since(age) > time.Hour {
			t.Errorf("%s: routes[%d].age %#v is not a recent %q time", path, i, rd["age"], aliceServerTimeShort)
		}
		bgp, ok := rd["bgp"].(map[string]any)
		if !ok {
			t.Fatalf("%s: routes[%d].bgp is not an object", path, i)
		}
		r.Origin, r.NextHop = str(bgp, "origin"), str(bgp, "next_hop")
		asPath, _ := bgp["as_path"].([]any)
		for _, asn := range asPath {
			s, ok := asn.(string)
			n, err := strconv.Atoi(s)
			if !ok || err != nil {
				t.Errorf("%s: routes[%d].bgp.as_path element %#v is not a number in a string (Alice-LG drops it)", path, i, asn)
			}
			r.ASPath = append(r.ASPath, n)
		}
		for _, key := range []string{"local_pref", "med"} {
			v, present := bgp[key]
			if !present {
				continue
			}
			s, ok := v.(string)
			if _, err := strconv.Atoi(s); !ok || err != nil {
				t.Errorf("%s: routes[%d].bgp.%s %#v is not a number in a string", path, i, key, v)
			}
			if key == "med" {
				r.MED = s
			} else {
				r.LocalPref = s
			}
		}
		numbers := func(key string, n int) [][]int {
			var out [][]int
			list, _ := bgp[key].([]any)
			for _, c := range list {
				parts, ok := c.([]any)
				if !ok || len(parts) != n {
					t.Errorf("%s: routes[%d].bgp.%s element %#v is not a list of %d numbers", path, i, key, c, n)
					continue
				}
				var nums []int
				for _, p := range parts {
					f, ok := p.(float64)
					if !ok {
						t.Errorf("%s: routes[%d].bgp.%s element %#v holds a non-number (Alice-LG panics)", path, i, key, c)
					}
					nums = append(nums, int(f))
				}
				out = append(out, nums)
			}
			return out
		}
		r.Communities = numbers("communities", 2)
		r.LargeCommunities = numbers("large_communities", 3)
		ext, _ := bgp["ext_communities"].([]any)
		for _, c := range ext {
			parts, ok := c.([]any)
			if !ok || len(parts) != 3 {
				t.Errorf("%s: routes[%d].bgp.ext_communities element %#v is not a triple", path, i, c)
				continue
			}
			for _, p := range parts[1:] {
				if _, ok := p.(string); !ok {
					t.Errorf("%s: routes[%d].bgp.ext_communities element %#v holds a non-string (Alice-LG panics)", path, i, c)
				}
			}
		}
		out = append(out, r)
	}
	return out
}

// aliceDedup is what Alice-LG's single_table source shows as a neighbor's
// accepted and filtered routes: filtered routes from another gateway are
// dropped, and received routes that also appear filtered.
func aliceDedup(received, filtered []aliceRoute) (accepted, kept []aliceRoute) {
	if len(received) == 0 {
		return nil, filtered
	}
	peer, learntFrom := received[0].Gateway, received[0].LearntFrom
	seen := map[string]bool{}
	for _, r := range filtered {
		if r.Gateway == peer || r.Gateway == learntFrom || r.LearntFrom == peer {
			kept = append(kept, r)
			seen[r.Network] = true
		}
	}
	for _, r := range received {
		if !seen[r.Network] {
			accepted = append(accepted, r)
		}
	}
	return accepted, kept
}

func networks(rs []aliceRoute) []string {
	out := []string{}
	for _, r := range rs {
		out = append(out, r.Network)
	}
	return out
}

// TestBirdwatcherForAliceLG reads every endpoint Alice-LG's birdwatcher
// source calls over a real connection to api.birdwatcher_listen, without a
// token, decodes it as Alice-LG does, and checks the contents against what
// the members announced and the route server's own looking glass.
func TestBirdwatcherForAliceLG(t *testing.T) {
	cfg := DefaultConfiguration()
	cfg.Listen = "127.0.0.1:0"
	cfg.BirdwatcherListen = "127.0.0.1:0"
	cfg.Tokens = []Token{{Name: "noc", SHA256: testTokenHash()}}
	a, rs := newExchangeAPI(t, cfg)
	ctx := context.Background()
	if err := a.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = a.Stop(ctx) })
	base := "http://" + a.BirdwatcherAddr().String()
	get := func(t *testing.T, path string) map[string]any {
		t.Helper()
		code, body := aliceGet(t, base, path)
		if code != http.StatusOK {
			t.Fatalf("GET %s: status %d: %v", path, code, body)
		}
		return body
	}

	t.Run("status", func(t *testing.T) {
		body := get(t, "/status")
		aliceMeta(t, "/status", body)
		st, ok := body["status"].(map[string]any)
		if !ok {
			t.Fatalf("no status object (Alice-LG panics): %v", body)
		}
		for key, layout := range map[string]string{"current_server": aliceServerTimeShort, "last_reboot": aliceServerTimeShort,
			"last_reconfig": aliceServerTimeExt} {
			if _, ok := aliceTime(st[key], layout); !ok {
				t.Errorf("status.%s %#v does not parse as %q", key, st[key], layout)
			}
		}
		if st["router_id"] != "127.0.0.1" || st["message"] != "Daemon is up and running" || st["version"] != "ixpd test" {
			t.Errorf("status %v", st)
		}
	})

	want := map[string]aliceNeighbor{
		bwAlphaID: {Address: "127.0.0.2", State: "up", Description: "Alpha", ASN: 38800, Received: 3, Accepted: 1, Filtered: 2, Exported: 1,
			StateChanged: true, HasConnection: true, HasBGPState: true, Up: true},
		bwAlpha6ID: {Address: "2001:db8:ffff::2", State: "down", Description: "Alpha", ASN: 38800,
			StateChanged: true, HasConnection: true, HasBGPState: true},
		bwBravoID: {Address: "127.0.0.3", State: "up", Description: "Bravo", ASN: 17993, Received: 2, Accepted: 2, Exported: 1,
			StateChanged: true, HasConnection: true, HasBGPState: true, Up: true},
	}
	for _, path := range []string{"/protocols/bgp", "/protocols"} {
		t.Run(path, func(t *testing.T) {
			got := aliceNeighbors(t, path, get(t, path))
			if diff := cmp.Diff(got, want); diff != "" {
				t.Errorf("neighbors (-got +want):\n%s", diff)
			}
			// Alice-LG's counts are the looking glass's own.
			ns, err := rs.Neighbors(ctx)
			if err != nil {
				t.Fatal(err)
			}
			for _, n := range ns {
				id := protocolID(n.ASN, n.Address)
				g := got[id]
				if g.Received != n.Routes.Received || g.Accepted != n.Routes.Accepted || g.Filtered != n.Routes.Filtered || g.Exported != n.Routes.Exported {
					t.Errorf("%s: Alice-LG counts %d/%d/%d/%d, looking glass %+v", id, g.Received, g.Accepted, g.Filtered, g.Exported, n.Routes)
				}
			}
		})
	}

	reason := func(code uint32) []int { return []int{bwRSASN, 1101, int(code)} }
	t.Run("received and filtered routes of a neighbor", func(t *testing.T) {
		received := aliceRoutes(t, "/routes/protocol/"+bwAlphaID, get(t, "/routes/protocol/"+bwAlphaID))
		filtered := aliceRoutes(t, "/routes/filtered/"+bwAlphaID, get(t, "/routes/filtered/"+bwAlphaID))
		accepted, kept := aliceDedup(received, filtered)
		if diff := cmp.Diff(networks(accepted), []string{"16.38.0.0/24"}); diff != "" {
			t.Errorf("accepted (-got +want):\n%s", diff)
		}
		if diff := cmp.Diff(networks(kept), []string{"10.38.0.0/16", "16.38.2.0/25"}); diff != "" {
			t.Errorf("filtered (-got +want):\n%s", diff)
		}
		if len(accepted)+len(kept) != want[bwAlphaID].Received {
			t.Errorf("Alice-LG shows %d received routes, the neighbor list says %d", len(accepted)+len(kept), want[bwAlphaID].Received)
		}
		r := received[0]
		if r.Gateway != "127.0.0.2" || r.NeighborID != bwAlphaID || r.NextHop != "127.0.0.2" || r.Origin != "IGP" || r.MED != "50" ||
			!slices.Equal(r.ASPath, []int{38800}) {
			t.Errorf("accepted route %+v", r)
		}
		if !slices.ContainsFunc(r.Communities, func(c []int) bool { return slices.Equal(c, []int{38800, 100}) }) ||
			!slices.ContainsFunc(r.LargeCommunities, func(c []int) bool { return slices.Equal(c, []int{38800, 1, 2}) }) {
			t.Errorf("accepted route lost its communities: %v %v", r.Communities, r.LargeCommunities)
		}
		for _, c := range r.LargeCommunities {
			if c[0] == bwRSASN && c[1] == 1101 {
				t.Errorf("accepted route carries a reject reason %v", c)
			}
		}
		// The reasons Alice-LG's [rejection_reasons] look up.
		for i, code := range []uint32{routeserver.ReasonBogon, routeserver.ReasonPrefixTooLong} {
			if i >= len(kept) {
				break
			}
			if !slices.ContainsFunc(kept[i].LargeCommunities, func(c []int) bool { return slices.Equal(c, reason(code)) }) {
				t.Errorf("filtered %s: large communities %v lack %v", kept[i].Network, kept[i].LargeCommunities, reason(code))
			}
			if kept[i].NeighborID != bwAlphaID || kept[i].Gateway != "127.0.0.2" {
				t.Errorf("filtered route %+v", kept[i])
			}
		}
	})

	t.Run("not exported", func(t *testing.T) {
		for _, tt := range []struct {
			id   string
			addr netip.Addr
			want []string
		}{
			{bwAlphaID, bwAlpha.addr, []string{"16.179.1.0/24 from " + bwBravoID}}, // Bravo's 0:38800
			{bwBravoID, bwBravo.addr, nil},
		} {
			path := "/routes/noexport/" + tt.id
			body := get(t, path)
			var got []string
			for _, r := range aliceRoutes(t, path, body) {
				got = append(got, r.Network+" from "+r.NeighborID)
			}
			if diff := cmp.Diff(got, tt.want); diff != "" {
				t.Errorf("%s: not exported (-got +want):\n%s", tt.id, diff)
			}
			// The same as the looking glass's, each with its reason.
			lg, err := rs.Routes(ctx, tt.addr.String(), routeserver.NotExported)
			if err != nil {
				t.Fatal(err)
			}
			var fromLG []string
			for _, r := range lg {
				fromLG = append(fromLG, r.Prefix.String()+" from "+protocolID(r.NeighborASN, netip.MustParseAddr(r.Neighbor)))
			}
			if diff := cmp.Diff(got, fromLG); diff != "" {
				t.Errorf("%s: birdwatcher vs looking glass (-birdwatcher +looking glass):\n%s", tt.id, diff)
			}
			routes, _ := body["routes"].([]any)
			for i, r := range routes {
				if reason, _ := r.(map[string]any)["noexport_reason"].(string); reason != lg[i].NoExportReason || reason == "" {
					t.Errorf("%s: routes[%d].noexport_reason %q, looking glass %q", tt.id, i, reason, lg[i].NoExportReason)
				}
			}
		}
	})

	t.Run("tables for the routes store", func(t *testing.T) {
		accepted := []string{"16.38.0.0/24 from " + bwAlphaID, "16.179.0.0/24 from " + bwBravoID, "16.179.1.0/24 from " + bwBravoID}
		filtered := []string{"10.38.0.0/16 from " + bwAlphaID, "16.38.2.0/25 from " + bwAlphaID}
		for _, tt := range []struct {
			path string
			want []string
		}{
			{"/routes/table/master", accepted},
			{"/routes/table/master/filtered", filtered},
			{"/routes/table/master4", accepted},
			{"/routes/table/master4/filtered", filtered},
			{"/routes/table/master6", nil},
			{"/routes/table/master6/filtered", nil},
			{"/routes/peer/127.0.0.3", accepted[1:]},
		} {
			var got []string
			for _, r := range aliceRoutes(t, tt.path, get(t, tt.path)) {
				got = append(got, r.Network+" from "+r.NeighborID)
			}
			if diff := cmp.Diff(got, tt.want); diff != "" {
				t.Errorf("%s (-got +want):\n%s", tt.path, diff)
			}
		}
	})

	t.Run("counts", func(t *testing.T) {
		for path, n := range map[string]float64{"/routes/count/protocol/" + bwBravoID: 2, "/routes/count/table/master": 3,
			"/routes/count/table/master4": 3, "/routes/count/table/master6": 0} {
			body := get(t, path)
			aliceMeta(t, path, body)
			if body["routes"] != n {
				t.Errorf("%s: routes %v, want %v", path, body["routes"], n)
			}
		}
	})

	t.Run("errors", func(t *testing.T) {
		for _, tt := range []struct {
			path   string
			code   int
			inText string
		}{
			{"/routes/protocol/AS1_127_0_0_9", 404, "AS1_127_0_0_9"},
			{"/routes/filtered/AS17993_127_0_0_2", 404, `protocol "AS17993_127_0_0_2": not found`}, // Alpha's address, Bravo's AS
			{"/routes/noexport/127.0.0.2", 404, `protocol "127.0.0.2": not found`},
			{"/routes/count/protocol/nobody", 404, `protocol "nobody": not found`},
			{"/routes/table/master5", 404, `table "master5": not found`},
			{"/routes/table/T65001/filtered", 404, `table "T65001": not found`},
			{"/routes/count/table/master5", 404, `table "master5": not found`},
			{"/routes/peer/127.0.0.9", 404, "not found"},
			{"/routes/peer/alpha", 400, "addr"},
		} {
			code, body := aliceGet(t, base, tt.path)
			msg, ok := body["error"].(string)
			if code != tt.code || !ok || !strings.Contains(msg, tt.inText) {
				t.Errorf("%s: %d %v, want %d and a birdwatcher error naming %q", tt.path, code, body, tt.code, tt.inText)
			}
			// Alice-LG reads an error string without "api" as
			// "bird error: ..." and finds no routes in it.
			if _, ok := body["api"]; ok {
				t.Errorf("%s: error body has an api object", tt.path)
			}
			if _, ok := body["routes"]; ok {
				t.Errorf("%s: error body has routes", tt.path)
			}
		}
	})
}

func TestBirdwatcherAccess(t *testing.T) {
	withToken := func(cfg Configuration) Configuration {
		cfg.Tokens = []Token{{Name: "noc", SHA256: testTokenHash()}}
		return cfg
	}
	closed := newTestAPI(t, withToken(Configuration{}), nil).Handler()
	public := newTestAPI(t, withToken(Configuration{PublicLookingGlass: true}), nil).Handler()
	tests := []struct {
		name  string
		api   http.Handler
		token string
		want  int
	}{
		{name: "no token", api: closed, want: 401},
		{name: "a wrong token", api: closed, token: "guess", want: 401},
		{name: "token", api: closed, token: testToken, want: 200},
		{name: "public looking glass", api: public, want: 200},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, path := range []string{"/birdwatcher/status", "/birdwatcher/protocols/bgp", "/birdwatcher/routes/table/master"} {
				req := httptest.NewRequest("GET", path, nil)
				if tt.token != "" {
					req.Header.Set("Authorization", "Bearer "+tt.token)
				}
				rec := httptest.NewRecorder()
				tt.api.ServeHTTP(rec, req)
				if rec.Code != tt.want {
					t.Errorf("%s: status %d, want %d: %s", path, rec.Code, tt.want, rec.Body.String())
				}
			}
		})
	}

	// The birdwatcher listener asks for no token and serves nothing else.
	cfg := withToken(DefaultConfiguration())
	cfg.Listen, cfg.BirdwatcherListen = "127.0.0.1:0", "127.0.0.1:0"
	a := newTestAPI(t, cfg, nil)
	ctx := context.Background()
	if err := a.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = a.Stop(ctx) })
	for path, want := range map[string]int{"/status": 200, "/protocols/bgp": 200, "/api/v1/routeserver/neighbors": 404, "/metrics": 404} {
		resp, err := http.Get("http://" + a.BirdwatcherAddr().String() + path)
		if err != nil {
			t.Fatal(err)
		}
		_ = resp.Body.Close()
		if resp.StatusCode != want {
			t.Errorf("birdwatcher listener %s: status %d, want %d", path, resp.StatusCode, want)
		}
	}
}

func TestBirdwatcherListenConfig(t *testing.T) {
	tests := []struct {
		name, listen, want string // want "" for valid
	}{
		{name: "off", listen: ""},
		{name: "loopback", listen: "127.0.0.1:29184"},
		{name: "IPv6", listen: "[::1]:29184"},
		{name: "no port", listen: "127.0.0.1", want: `api.birdwatcher_listen: "127.0.0.1" is not host:port (IPv6 as [addr]:port)`},
		{name: "a name", listen: "alice.example.net:29184", want: `api.birdwatcher_listen: "alice.example.net:29184" is not host:port (IPv6 as [addr]:port)`},
		{name: "the main listener", listen: "127.0.0.1:8080", want: `api.birdwatcher_listen: 127.0.0.1:8080 is also api.listen; give it its own port`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := DefaultConfiguration()
			cfg.BirdwatcherListen = tt.listen
			err := cfg.Validate()
			got := ""
			if err != nil {
				got = err.Error()
			}
			if got != tt.want {
				t.Errorf("Validate() = %q, want %q", got, tt.want)
			}
			if tt.want == "" {
				return
			}
			if _, err := New(slog.New(slog.NewTextHandler(io.Discard, nil)), prometheus.NewRegistry(), cfg, Dependencies{}); err == nil || err.Error() != tt.want {
				t.Errorf("New() = %v, want %q", err, tt.want)
			}
		})
	}
}

func TestProtocolID(t *testing.T) {
	tests := []struct {
		asn  uint32
		addr string
		want string
	}{
		{65001, "192.0.2.1", "AS65001_192_0_2_1"},
		{65001, "2001:db8::1", "AS65001_2001_db8__1"},
		{4200000000, "2001:db8:0:1::a", "AS4200000000_2001_db8_0_1__a"},
		{65001, "::ffff:192.0.2.1", "AS65001_192_0_2_1"},
		{65001, "::1", "AS65001___1"},
	}
	for _, tt := range tests {
		if got := protocolID(tt.asn, netip.MustParseAddr(tt.addr)); got != tt.want {
			t.Errorf("protocolID(%d, %s) = %q, want %q", tt.asn, tt.addr, got, tt.want)
		}
	}
}

// TestREADMEAliceConfig keeps the Alice-LG example in the README in step
// with what this surface serves.
func TestREADMEAliceConfig(t *testing.T) {
	b, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"type = single_table",
		"api = http://127.0.0.1:29184\n",
		"servertime = 2006-01-02T15:04:05Z07:00",
		"servertime_short = " + aliceServerTimeShort,
		"servertime_ext = " + aliceServerTimeExt,
		"timezone = UTC",
	} {
		if !strings.Contains(string(b), want) {
			t.Errorf("README's Alice-LG example lacks %q", want)
		}
	}
	names := map[string]string{}
	for _, r := range routeserver.Reasons() {
		names[strconv.Itoa(int(r.Code))] = r.Name
	}
	listed := 0
	for line := range strings.Lines(string(b)) {
		code, name, ok := strings.Cut(strings.TrimPrefix(strings.TrimSpace(line), "64512:1101:"), " = ")
		if !ok || !strings.HasPrefix(line, "64512:1101:") {
			continue
		}
		listed++
		if names[code] != name {
			t.Errorf("README's [rejection_reasons] has %q for code %s; the route server says %q", name, code, names[code])
		}
	}
	if listed == 0 {
		t.Error("README's Alice-LG example lists no [rejection_reasons]")
	}
}
