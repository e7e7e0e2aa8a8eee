package routeserver_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/ixpd/ixpd/routeserver"
	"github.com/ixpd/ixpd/routeserver/members"
	"github.com/ixpd/ixpd/routeserver/peertest"
)

// The scenario suite, in the manner of arouteserver's live tests: real
// BIRD 2 members announce a route for every filter, RPKI state, IRR case,
// control community, blackhole and graceful-shutdown case, and each test
// asserts exactly which members receive which routes with which
// attributes, and which routes show as filtered with which reasons. RPKI
// comes from a real stayrtr and from a VRP file at once.

const scRS = 64512

var (
	scRS4 = addr("127.0.3.1")
	scRS6 = addr("fd00:ffff::3:1")
	// The members. D has a 4-byte ASN, so it can only be named in large
	// communities, and no IRR data (its routes are not IRR-checked).
	scA = scMember{name: "a", asn: 11000, addr4: addr("127.0.3.2"), addr6: addr("fd00:ffff::3:2"), asMacro: "AS-A"}
	scB = scMember{name: "b", asn: 12000, addr4: addr("127.0.3.3"), asMacro: "AS-B", skip: []string{"transit_free"}}
	scC = scMember{name: "c", asn: 13000, addr4: addr("127.0.3.4"), addr6: addr("fd00:ffff::3:4"), blackhole: true}
	scD = scMember{name: "d", asn: 131073, addr4: addr("127.0.3.5")}

	bhNH4 = addr("127.0.3.66")
	bhNH6 = addr("fd00:ffff::3:66")
)

type scMember struct {
	name         string
	asn          uint32
	addr4, addr6 netip.Addr
	asMacro      string
	blackhole    bool
	skip         []string
}

// announcement is one route a member sends and what must become of it.
type announcement struct {
	from  *scMember
	route peertest.Route
	// filtered lists the reasons when the route server must filter it.
	filtered []uint32
	// to lists the members that receive it; nil means every other member
	// with a session of the route's family.
	to []*scMember
	// prepend is how many more times the announcer's ASN each receiver
	// sees.
	prepend map[*scMember]int
	// nextHop is the next hop the receivers see when the route server
	// rewrites it.
	nextHop netip.Addr
	// info are the route server's informational large communities the
	// receivers see; addComm the standard ones it adds.
	info, addComm []string
	// scrubbed are the communities the route server takes off.
	scrubbed, scrubbedLarge []string
}

func rpkiValid() string   { return "64512:1000:1" }
func rpkiUnknown() string { return "64512:1000:2" }
func irrValid() string    { return "64512:1001:1" }

// The announcements. Prefix IDs follow the member: 16.10/16 is A's space
// in its AS-SET, 16.20/16 B's, 16.30/16 C's.
func scenario() []announcement {
	a, b, c, d := &scA, &scB, &scC, &scD
	r := func(p string, path ...uint32) peertest.Route { return peertest.Route{Prefix: pfx(p), ASPath: path} }
	with := func(rt peertest.Route, comms []string, large []string) peertest.Route {
		rt.Communities, rt.LargeCommunities = comms, large
		return rt
	}
	ok := []string{rpkiUnknown(), irrValid()}
	return []announcement{
		// IRR and RPKI.
		{from: a, route: r("16.10.0.0/24"), info: ok},
		{from: a, route: r("16.10.1.0/24"), info: []string{rpkiValid(), irrValid()}}, // ROA from stayrtr
		{from: a, route: r("16.10.2.0/24"), filtered: []uint32{13}},                  // ROA for another origin
		{from: a, route: r("16.40.0.0/24"), info: []string{rpkiValid(), irrValid()}}, // not in AS-A, but its ROA (from the VRP file) counts as a route object
		{from: a, route: r("16.41.0.0/24"), filtered: []uint32{9}},                   // not in AS-A
		{from: a, route: r("16.10.5.0/24", 12345), filtered: []uint32{10}},           // origin not in AS-A
		{from: a, route: r("16.11.0.0/24"), info: ok},                                // A's extra prefix
		{from: a, route: r("16.10.3.0/24"), info: ok},                                // turns RPKI-invalid later
		{from: a, route: r("2a10:10::/32"), info: ok},                                // IPv6
		{from: a, route: r("2a10:11::/32"), filtered: []uint32{9}},                   // IPv6 outside AS-A
		{from: d, route: r("16.131.0.0/24"), info: []string{rpkiUnknown()}},          // no IRR data: not IRR-checked
		{from: b, route: r("16.20.0.0/24"), info: ok},
		{from: c, route: r("16.30.0.0/24"), info: ok},
		// Other filters.
		{from: a, route: r("16.10.9.0/24"), filtered: []uint32{17}},                                          // A's own blocklist
		{from: a, route: r("16.50.1.0/24"), filtered: []uint32{9, 17}},                                       // global blocklist
		{from: a, route: r("16.10.6.0/24", 3356, 11001), filtered: []uint32{14}},                             // transit-free ASN
		{from: b, route: r("16.20.1.0/24", 3356, 12001), info: ok},                                           // B is excepted from the transit-free filter
		{from: c, route: r("16.30.1.0/24", 3356, 13000), filtered: []uint32{14}},                             // C is not
		{from: a, route: r("16.10.7.0/24", 14000, 11001), filtered: []uint32{16}},                            // never via route servers (PeeringDB)
		{from: a, route: peertest.Route{Prefix: pfx("16.10.8.0/24"), NextHop: addr("127.0.3.99")}, info: ok}, // A's extra next hop
		{from: a, route: peertest.Route{Prefix: pfx("16.10.4.0/24"), NextHop: addr("127.0.3.98")}, filtered: []uint32{8}},
		// Control communities; the route server's are scrubbed, the
		// members' own pass.
		{from: a, route: with(r("16.10.10.0/24"), []string{"0:12000", "11000:1"}, nil), to: []*scMember{c, d}, info: ok, scrubbed: []string{"0:12000"}},
		{from: a, route: with(r("16.10.11.0/24"), []string{"0:64512", "64512:13000"}, nil), to: []*scMember{c}, info: ok,
			scrubbed: []string{"0:64512", "64512:13000"}},
		{from: a, route: with(r("16.10.12.0/24"), nil, []string{"64512:0:64512", "64512:1:131073"}), to: []*scMember{d}, info: ok,
			scrubbedLarge: []string{"64512:0:64512", "64512:1:131073"}},
		{from: a, route: with(r("16.10.13.0/24"), []string{"65502:12000"}, nil), prepend: map[*scMember]int{b: 2}, info: ok, scrubbed: []string{"65502:12000"}},
		{from: a, route: with(r("16.10.14.0/24"), nil, []string{"64512:103:0", "11000:5:5"}), prepend: map[*scMember]int{b: 3, c: 3, d: 3}, info: ok,
			scrubbedLarge: []string{"64512:103:0"}},
		{from: a, route: with(r("16.10.15.0/24"), nil, []string{"64512:0:13000"}), to: []*scMember{b, d}, info: ok, scrubbedLarge: []string{"64512:0:13000"}},
		{from: a, route: with(r("16.10.16.0/24"), nil, []string{"64512:0:131073"}), to: []*scMember{b, c}, info: ok, scrubbedLarge: []string{"64512:0:131073"}},
		// Blackholing: inside A's space, only to C who opted in, next hop
		// rewritten, NO_EXPORT added; outside it, filtered.
		{from: a, route: with(r("16.10.0.66/32"), []string{"65535:666"}, nil), to: []*scMember{c}, nextHop: bhNH4,
			info: []string{rpkiUnknown()}, addComm: []string{"65535:65281"}},
		{from: a, route: with(r("16.41.0.66/32"), []string{"65535:666"}, nil), filtered: []uint32{1, 9}},
		{from: a, route: with(r("2a10:10::66/128"), nil, []string{"64512:666:0"}), to: []*scMember{c}, nextHop: bhNH6,
			info: []string{rpkiUnknown()}, addComm: []string{"65535:666", "65535:65281"}},
		// A path held back by a control community does not hide the next
		// best one: C gets B's longer path for 16.61.0.0/24.
		{from: a, route: with(r("16.61.0.0/24"), []string{"0:13000"}, nil), to: []*scMember{b, d}, info: ok, scrubbed: []string{"0:13000"}},
		{from: b, route: r("16.61.0.0/24", 12001), to: []*scMember{a, c}, info: ok},
		// Graceful shutdown from a member: A's shorter path loses to B's.
		{from: a, route: with(r("16.60.0.0/24"), []string{"65535:0"}, nil), to: []*scMember{b}, info: ok},
		{from: b, route: r("16.60.0.0/24", 12001), to: []*scMember{a, c, d}, info: ok},
	}
}

// expect computes what m receives.
func (s scMember) expect(anns []announcement) []peertest.Route {
	var out []peertest.Route
	for _, an := range anns {
		if an.filtered != nil || an.from.name == s.name {
			continue
		}
		v4 := an.route.Prefix.Addr().Is4()
		if v4 && !s.addr4.IsValid() || !v4 && !s.addr6.IsValid() {
			continue
		}
		if an.to != nil && !slices.ContainsFunc(an.to, func(t *scMember) bool { return t.name == s.name }) {
			continue
		}
		rt := an.route
		path := []uint32{an.from.asn}
		for range an.prepend[memberByName(s.name)] {
			path = append(path, an.from.asn)
		}
		rt.ASPath = append(path, rt.ASPath...)
		switch {
		case an.nextHop.IsValid():
			rt.NextHop = an.nextHop
		case !rt.NextHop.IsValid() && v4:
			rt.NextHop = an.from.addr4
		case !rt.NextHop.IsValid():
			rt.NextHop = an.from.addr6
		}
		rt.Communities = append(without(rt.Communities, an.scrubbed), an.addComm...)
		rt.LargeCommunities = append(without(rt.LargeCommunities, an.scrubbedLarge), an.info...)
		out = append(out, rt)
	}
	peertest.SortRoutes(out)
	return out
}

func memberByName(name string) *scMember {
	for _, m := range []*scMember{&scA, &scB, &scC, &scD} {
		if m.name == name {
			return m
		}
	}
	return nil
}

func without(list, drop []string) []string {
	var out []string
	for _, v := range list {
		if !slices.Contains(drop, v) {
			out = append(out, v)
		}
	}
	return out
}

// scCensus computes the census of the scenario's sessions: each route
// counts on its sender's session of the route's family. An accepted
// route's RPKI and IRR states are its info communities; a filtered one is
// RPKI invalid for reason 13 and unknown otherwise (no other filtered
// route of the scenario is covered by a VRP), and IRR valid when its
// member has IRR data (all but D) and neither IRR reason (9, 10) applies.
// The members in down have their sessions down and no routes.
func scCensus(anns []announcement, down ...*scMember) []routeserver.SessionCensus {
	var out []routeserver.SessionCensus
	for _, m := range []*scMember{&scA, &scB, &scC, &scD} {
		for _, a := range []netip.Addr{m.addr4, m.addr6} {
			if a.IsValid() {
				out = append(out, routeserver.SessionCensus{ASN: m.asn, Address: a, Up: !slices.Contains(down, m)})
			}
		}
	}
	slices.SortFunc(out, func(a, b routeserver.SessionCensus) int { return a.Address.Compare(b.Address) })
	byAddr := map[netip.Addr]*routeserver.SessionCensus{}
	for i := range out {
		byAddr[out[i].Address] = &out[i]
	}
	for _, an := range anns {
		if slices.Contains(down, an.from) {
			continue
		}
		n := byAddr[an.from.addr4]
		if an.route.Prefix.Addr().Is6() {
			n = byAddr[an.from.addr6]
		}
		n.Received++
		if an.filtered == nil {
			n.Accepted++
			switch {
			case slices.Contains(an.info, rpkiValid()):
				n.RPKIValid++
			case slices.Contains(an.info, rpkiUnknown()):
				n.RPKIUnknown++
			}
			if slices.Contains(an.info, irrValid()) {
				n.IRRValid++
			}
			continue
		}
		n.Filtered++
		if n.Reasons == nil {
			n.Reasons = map[uint16]uint32{}
		}
		for _, code := range an.filtered {
			n.Reasons[uint16(code)]++
		}
		if slices.Contains(an.filtered, routeserver.ReasonRPKIInvalid) {
			n.RPKIInvalid++
		} else {
			n.RPKIUnknown++
		}
		if an.from != &scD && !slices.Contains(an.filtered, routeserver.ReasonIRRPrefix) &&
			!slices.Contains(an.filtered, routeserver.ReasonIRROrigin) {
			n.IRRValid++
		}
	}
	return out
}

var cmpScenario = cmp.Options{cmpRoutes, cmpopts.EquateEmpty(), cmpopts.SortSlices(func(a, b string) bool { return a < b })}

// scMembersFile writes the members file with the ixpd extension.
func scMembersFile(t *testing.T, ms []*scMember) []byte {
	t.Helper()
	var list []map[string]any
	for _, m := range ms {
		vlan := map[string]any{"vlan_id": 1}
		if m.addr4.IsValid() {
			vlan["ipv4"] = map[string]any{"address": m.addr4.String(), "routeserver": true, "max_prefix": 100, "as_macro": m.asMacro}
		}
		if m.addr6.IsValid() {
			vlan["ipv6"] = map[string]any{"address": m.addr6.String(), "routeserver": true, "max_prefix": 100, "as_macro": m.asMacro}
		}
		rs := map[string]any{"blackhole": m.blackhole}
		if m.skip != nil {
			rs["skip_filters"] = m.skip
		}
		if m.name == "a" {
			rs["extra_prefixes"] = []string{"16.11.0.0/24"}
			rs["extra_next_hops"] = []string{"127.0.3.99"}
			rs["blocklist"] = []string{"16.10.9.0/24 le 32"}
		}
		list = append(list, map[string]any{"asnum": m.asn, "name": "member " + m.name,
			"connection_list": []any{map[string]any{"ixp_id": 1, "vlan_list": []any{vlan}}},
			"ixpd":            map[string]any{"routeserver": rs}})
	}
	data, err := json.Marshal(map[string]any{"version": "1.0", "timestamp": "2026-11-01T00:00:00Z",
		"ixp_list":    []map[string]any{{"ixp_id": 1, "shortname": "TEST-IX", "vlan": []map[string]any{{"id": 1}}}},
		"member_list": list})
	if err != nil {
		t.Fatal(err)
	}
	return data
}

func writeFile(t *testing.T, path, data string) {
	t.Helper()
	// Write beside and rename, as an operator's cron job would.
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, []byte(data), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, path); err != nil {
		t.Fatal(err)
	}
}

// IRR data as bgpq4 -j writes it.
const (
	scIRRPrefixes = `{ "AS-A": [
    { "prefix": "16.10.0.0\/16", "exact": false, "greater-equal": 16, "less-equal": 24 },
    { "prefix": "16.60.0.0\/24", "exact": true },
    { "prefix": "16.61.0.0\/24", "exact": true }
], "AS-B": [
    { "prefix": "16.20.0.0\/16", "exact": false, "greater-equal": 16, "less-equal": 24 },
    { "prefix": "16.60.0.0\/24", "exact": true },
    { "prefix": "16.61.0.0\/24", "exact": true }
], "AS13000": [
    { "prefix": "16.30.0.0\/16", "exact": false, "greater-equal": 16, "less-equal": 24 }
] }`
	scIRRPrefixes6 = `{ "AS-A": [ { "prefix": "2a10:10::\/32", "exact": true } ] }`
	scIRRASNs      = `{"AS-A": [11000, 11001], "AS-B": [12000, 12001], "AS13000": [13000]}`
)

func vrpJSON(roas ...string) string {
	var items []string
	for _, r := range roas {
		f := strings.Fields(r) // prefix maxlen asn
		items = append(items, fmt.Sprintf(`{"prefix": %q, "maxLength": %s, "asn": "AS%s", "ta": "test"}`, f[0], f[1], f[2]))
	}
	return `{"metadata": {"buildtime": "2026-11-28T00:00:00Z"}, "roas": [` + strings.Join(items, ",") + `]}`
}

// startStayRTR runs Debian's stayrtr serving file.
func startStayRTR(t *testing.T, file string) string {
	t.Helper()
	bin, err := exec.LookPath("stayrtr")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("stayrtr is not installed (apt-get install stayrtr)")
		}
		t.Skip("stayrtr is not installed")
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	bind := ln.Addr().String()
	_ = ln.Close()
	ml, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	metrics := ml.Addr().String()
	_ = ml.Close()
	cmd := exec.Command(bin, "-bind", bind, "-cache", file, "-refresh", "1", "-checktime=false",
		"-metrics.addr", metrics, "-loglevel", "warn")
	logf, err := os.Create(filepath.Join(t.TempDir(), "stayrtr.log"))
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		if t.Failed() {
			b, _ := os.ReadFile(logf.Name())
			t.Logf("stayrtr log:\n%s", b)
		}
	})
	return bind
}

type scExchange struct {
	rs      *routeserver.Component
	routers map[string]*peertest.Router
	dir     string
}

func TestScenarios(t *testing.T) {
	peertest.Require(t)
	ctx := t.Context()
	for _, a := range []netip.Addr{scRS6, scA.addr6, scC.addr6} {
		if err := peertest.EnsureLoopbackAddr(a); err != nil {
			t.Fatal(err)
		}
	}
	dir := t.TempDir()
	path := func(n string) string { return filepath.Join(dir, n) }
	writeFile(t, path("irr-v4.json"), scIRRPrefixes)
	writeFile(t, path("irr-v6.json"), scIRRPrefixes6)
	writeFile(t, path("asns.json"), scIRRASNs)
	writeFile(t, path("peeringdb.json"), `{"data": [{"asn": 14000, "info_never_via_route_servers": true}, {"asn": 11000, "info_never_via_route_servers": false}]}`)
	writeFile(t, path("stayrtr.json"), vrpJSON("16.10.1.0/24 24 11000", "16.10.2.0/24 24 99999"))
	writeFile(t, path("vrps.json"), vrpJSON("16.40.0.0/24 24 11000"))
	rtr := startStayRTR(t, path("stayrtr.json"))

	port, err := peertest.FreePort(scRS6, scA.addr6, scC.addr6)
	if err != nil {
		t.Fatal(err)
	}
	grpcPort, err := peertest.FreePort()
	if err != nil {
		t.Fatal(err)
	}
	cfg := routeserver.DefaultConfiguration()
	cfg.ASN = scRS
	cfg.RouterID = scRS4
	cfg.Listen = routeserver.ListenAddresses{netip.AddrPortFrom(scRS4, uint16(port)), netip.AddrPortFrom(scRS6, uint16(port))}
	cfg.PeerPort = uint16(port)
	cfg.ConnectRetry = time.Second
	cfg.HoldTime = 9 * time.Second
	cfg.PeeringLANs = lans
	cfg.Filters.NeverViaRouteServers = true
	cfg.Filters.Blocklist = []string{"16.50.0.0/16 le 24"}
	cfg.PeeringDBFile = path("peeringdb.json")
	cfg.IRR.PrefixLists = []string{path("irr-v*.json")}
	cfg.IRR.ASSets = []string{path("asns.json")}
	cfg.RPKI.RTR = []string{rtr}
	cfg.RPKI.VRPFile = path("vrps.json")
	cfg.Blackhole = routeserver.Blackhole{Enabled: true, NextHopIPv4: bhNH4, NextHopIPv6: bhNH6}
	cfg.GRPCListen = fmt.Sprintf("127.0.0.1:%d", grpcPort)

	all := []*scMember{&scA, &scB, &scC, &scD}
	set, err := members.Parse(scMembersFile(t, all), members.Options{PeeringLANs: lans})
	if err != nil {
		t.Fatal(err)
	}
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	if testing.Verbose() {
		logger = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
	}
	rs, err := routeserver.New(logger, prometheus.NewRegistry(), cfg, routeserver.Dependencies{Members: set})
	if err != nil {
		t.Fatal(err)
	}
	if err := rs.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = rs.Stop(context.Background()) })

	anns := scenario()
	x := &scExchange{rs: rs, routers: map[string]*peertest.Router{}, dir: dir}
	for _, m := range all {
		var routes []peertest.Route
		for _, an := range anns {
			if an.from == m {
				routes = append(routes, an.route)
			}
		}
		r, err := peertest.StartBIRD(ctx, t.TempDir(), peertest.Member{Name: m.name, ASN: m.asn, Addr4: m.addr4, Addr6: m.addr6,
			RSAddr4: scRS4, RSAddr6: scRS6, RSASN: scRS, Port: port, Routes: routes})
		if err != nil {
			t.Fatalf("start %s: %v", m.name, err)
		}
		t.Cleanup(func() { _ = r.Stop() })
		x.routers[m.name] = r
	}
	for _, m := range all {
		wctx, cancel := context.WithTimeout(ctx, 60*time.Second)
		if err := x.routers[m.name].WaitEstablished(wctx); err != nil {
			cancel()
			t.Fatalf("%s: %v", m.name, err)
		}
		cancel()
	}

	waitAll := func(t *testing.T, anns []announcement) {
		t.Helper()
		for _, m := range all {
			want := m.expect(anns)
			peertest.WaitFor(t, 60*time.Second, m.name+" receives exactly the expected routes", func() (bool, string) {
				got, err := x.routers[m.name].Received(ctx)
				if err != nil {
					return false, err.Error()
				}
				diff := cmp.Diff(got, want, cmpScenario)
				return diff == "", "(-got +want)\n" + diff
			})
		}
	}
	waitFiltered := func(t *testing.T, anns []announcement) {
		t.Helper()
		want := map[netip.Prefix][]uint32{}
		for _, an := range anns {
			if an.filtered != nil {
				want[an.route.Prefix] = an.filtered
			}
		}
		peertest.WaitFor(t, 30*time.Second, "filtered routes with their reasons", func() (bool, string) {
			got := map[netip.Prefix][]uint32{}
			for _, id := range []string{"127.0.3.2", "fd00:ffff::3:2", "127.0.3.3", "127.0.3.4", "fd00:ffff::3:4", "127.0.3.5"} {
				rts, err := rs.Routes(ctx, id, routeserver.Filtered)
				if err != nil {
					return false, err.Error()
				}
				for _, r := range rts {
					for _, reason := range r.RejectReasons {
						got[r.Prefix] = append(got[r.Prefix], reason.Code)
					}
				}
			}
			diff := cmp.Diff(got, want, cmpRoutes)
			return diff == "", "(-got +want)\n" + diff
		})
	}

	waitCensus := func(t *testing.T, anns []announcement, down ...*scMember) {
		t.Helper()
		want := scCensus(anns, down...)
		peertest.WaitFor(t, 30*time.Second, "the census of every session", func() (bool, string) {
			got, err := rs.Census(ctx)
			if err != nil {
				return false, err.Error()
			}
			diff := cmp.Diff(got, want, cmpRoutes)
			return diff == "", "(-got +want)\n" + diff
		})
	}

	t.Run("every member receives exactly what the policy allows", func(t *testing.T) {
		waitAll(t, anns)
	})
	t.Run("filtered routes show with their reasons", func(t *testing.T) {
		waitFiltered(t, anns)
	})
	t.Run("the census counts every session's routes", func(t *testing.T) {
		waitCensus(t, anns)
		got, err := rs.Census(ctx)
		if err != nil {
			t.Fatal(err)
		}
		// Spelled out for A's IPv4 session, in case scCensus shares a
		// mistake with Census.
		i := slices.IndexFunc(got, func(c routeserver.SessionCensus) bool { return c.Address == scA.addr4 })
		if i < 0 {
			t.Fatalf("no census of %s", scA.addr4)
		}
		a := got[i]
		wantReasons := map[uint16]uint32{1: 1, 8: 1, 9: 3, 10: 1, 13: 1, 14: 1, 16: 1, 17: 2}
		if diff := cmp.Diff(a.Reasons, wantReasons); diff != "" {
			t.Errorf("census of %s: reasons (-got +want):\n%s", scA.addr4, diff)
		}
		if a.RPKIValid != 2 || a.RPKIInvalid != 1 || a.Filtered != 9 || !a.Up {
			t.Errorf("census of %s: %d RPKI valid, %d invalid, %d filtered, up %t; want 2, 1, 9, up",
				scA.addr4, a.RPKIValid, a.RPKIInvalid, a.Filtered, a.Up)
		}
		// The looking glass counts the same routes its own way.
		ns, err := rs.Neighbors(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, n := range ns {
			i := slices.IndexFunc(got, func(c routeserver.SessionCensus) bool { return c.Address == n.Address })
			if i < 0 {
				t.Errorf("neighbor %s has no census", n.Address)
				continue
			}
			c := got[i]
			if c.Received != n.Routes.Received || c.Accepted != n.Routes.Accepted || c.Filtered != n.Routes.Filtered {
				t.Errorf("census of %s: %d received, %d accepted, %d filtered; Neighbors says %+v",
					n.Address, c.Received, c.Accepted, c.Filtered, n.Routes)
			}
		}
		if len(ns) != len(got) {
			t.Errorf("%d census entries for %d neighbors", len(got), len(ns))
		}
	})
	t.Run("graceful shutdown from a member lowers the route's preference", func(t *testing.T) {
		_, paths, err := rs.Lookup(ctx, pfx("16.60.0.0/24"))
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, p := range paths {
			lp := uint32(100)
			if p.LocalPref != nil {
				lp = *p.LocalPref
			}
			got = append(got, fmt.Sprintf("%s lp=%d best=%v", p.Neighbor, lp, p.Best))
		}
		slices.Sort(got)
		if diff := cmp.Diff(got, []string{"127.0.3.2 lp=2 best=false", "127.0.3.3 lp=100 best=true"}); diff != "" {
			t.Errorf("paths for 16.60.0.0/24 (-got +want):\n%s", diff)
		}
	})
	t.Run("not-exported routes say why", func(t *testing.T) {
		rts, err := rs.Routes(ctx, "127.0.3.3", routeserver.NotExported)
		if err != nil {
			t.Fatal(err)
		}
		got := map[string]string{}
		for _, r := range rts {
			got[r.Prefix.String()] = r.NoExportReason
		}
		want := map[string]string{
			"16.10.10.0/24": "do not announce to AS12000 (64512:0:12000)",
			"16.10.11.0/24": "announced to nobody but the members it names (64512:0:64512)",
			"16.10.12.0/24": "announced to nobody but the members it names (64512:0:64512)",
			"16.10.0.66/32": "blackhole route; AS12000 does not take blackholes",
		}
		if diff := cmp.Diff(got, want); diff != "" {
			t.Errorf("not exported to B (-got +want):\n%s", diff)
		}
	})

	since := map[string]time.Time{}
	ns, err := rs.Neighbors(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range ns {
		if n.Since != nil {
			since[n.ID] = *n.Since
		}
	}
	sessionsStayed := func(t *testing.T) {
		t.Helper()
		ns, err := rs.Neighbors(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, n := range ns {
			if n.State != "established" || n.Since == nil || !n.Since.Equal(since[n.ID]) {
				t.Errorf("session %s: state %s since %v, want established since %v", n.ID, n.State, n.Since, since[n.ID])
			}
		}
	}

	t.Run("a VRP change from stayrtr flips a route while sessions stay up", func(t *testing.T) {
		writeFile(t, path("stayrtr.json"), vrpJSON("16.10.1.0/24 24 11000", "16.10.2.0/24 24 99999", "16.10.3.0/24 24 77777"))
		start := time.Now()
		next := setFiltered(anns, "16.10.3.0/24", []uint32{13})
		waitAll(t, next)
		waitFiltered(t, next)
		t.Logf("VRP change to members updated: %s", time.Since(start).Round(100*time.Millisecond))
		waitCensus(t, next) // one more RPKI invalid, one less unknown
		sessionsStayed(t)
		anns = next
	})
	t.Run("a VRP file change flips a route back", func(t *testing.T) {
		writeFile(t, path("vrps.json"), vrpJSON("16.40.0.0/24 24 11000", "16.10.3.0/24 24 11000"))
		if err := rs.ReloadData(ctx); err != nil {
			t.Fatal(err)
		}
		next := setAccepted(anns, "16.10.3.0/24", []string{rpkiValid(), irrValid()})
		// stayrtr still says 77777 for 16.10.3.0/24, the file says 11000:
		// one matching VRP makes the route valid (RFC 6811).
		waitAll(t, next)
		waitFiltered(t, next)
		sessionsStayed(t)
		anns = next
	})
	t.Run("new IRR data refilters without session resets", func(t *testing.T) {
		writeFile(t, path("irr-v4.json"), strings.Replace(scIRRPrefixes, `"exact": true }
], "AS-B"`, `"exact": true },
    { "prefix": "16.41.0.0\/24", "exact": true }
], "AS-B"`, 1))
		if err := rs.ReloadData(ctx); err != nil {
			t.Fatal(err)
		}
		next := setAccepted(anns, "16.41.0.0/24", []string{rpkiUnknown(), irrValid()})
		// The blackhole request inside it is now in A's space too.
		next = setAccepted(next, "16.41.0.66/32", []string{rpkiUnknown()})
		for i := range next {
			if next[i].route.Prefix == pfx("16.41.0.66/32") {
				next[i].to, next[i].nextHop, next[i].addComm = []*scMember{&scC}, bhNH4, []string{"65535:65281"}
			}
		}
		waitAll(t, next)
		waitFiltered(t, next)
		sessionsStayed(t)
		anns = next
	})
	t.Run("malformed files are refused and the previous data stays", func(t *testing.T) {
		for _, tt := range []struct{ file, data, want string }{
			{"irr-v4.json", `{ "AS-A": [ { "prefix": "16.10.0.0/33", "exact": true } ] }`, "irr-v4.json"},
			{"asns.json", `{"AS-A": ["x"]}`, "asns.json"},
			{"peeringdb.json", `{"data": [{"asn": "AS14000"}]}`, "peeringdb.json"},
			{"vrps.json", `{"roas": [{"prefix": "16.40.0.0/24", "maxLength": 99, "asn": 11000}]}`, "vrps.json"},
		} {
			old, err := os.ReadFile(path(tt.file))
			if err != nil {
				t.Fatal(err)
			}
			writeFile(t, path(tt.file), tt.data)
			err = rs.ReloadData(ctx)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("%s: reload error %v, want one naming %s", tt.file, err, tt.want)
			}
			writeFile(t, path(tt.file), string(old))
		}
		// The previous data stayed in force: nothing changed for anyone.
		time.Sleep(3 * time.Second) // a wrongly emptied data set would show by now
		waitAll(t, anns)
		waitFiltered(t, anns)
		sessionsStayed(t)
	})
	t.Run("graceful shutdown of the whole route server", func(t *testing.T) {
		if err := rs.SetGracefulShutdown(ctx, true); err != nil {
			t.Fatal(err)
		}
		gshut := make([]announcement, len(anns))
		for i, an := range anns {
			an.addComm = append(slices.Clone(an.addComm), "65535:0")
			if slices.Contains(an.route.Communities, "65535:0") {
				an.addComm = an.addComm[:len(an.addComm)-1] // once is enough
			}
			gshut[i] = an
		}
		waitAll(t, gshut)
		if !rs.Status().GracefulShutdown {
			t.Error("Status says not in graceful shutdown")
		}
		if err := rs.SetGracefulShutdown(ctx, false); err != nil {
			t.Fatal(err)
		}
		waitAll(t, anns)
		sessionsStayed(t)
	})
	t.Run("the gobgp CLI lists neighbors and routes", func(t *testing.T) {
		out := gobgpCLI(t, grpcPort, "neighbor")
		for _, m := range all {
			if !strings.Contains(out, m.addr4.String()) {
				t.Errorf("gobgp neighbor: no %s in\n%s", m.addr4, out)
			}
		}
		if strings.Count(out, "Establ") < len(all) {
			t.Errorf("gobgp neighbor: want %d established sessions in\n%s", len(all), out)
		}
		out = gobgpCLI(t, grpcPort, "neighbor", scA.addr4.String(), "adj-in")
		for _, p := range []string{"16.10.0.0/24", "16.10.2.0/24", "16.10.13.0/24"} {
			if !strings.Contains(out, p) {
				t.Errorf("gobgp neighbor %s adj-in: no %s in\n%s", scA.addr4, p, out)
			}
		}
		out = gobgpCLI(t, grpcPort, "neighbor", scB.addr4.String(), "adj-out")
		if !strings.Contains(out, "16.20.1.0/24") && !strings.Contains(out, "16.10.0.0/24") {
			t.Errorf("gobgp neighbor %s adj-out: want A's routes in\n%s", scB.addr4, out)
		}
	})
	// Last: it takes a member away.
	t.Run("a stopped member shows down in the census, without routes", func(t *testing.T) {
		waitCensus(t, anns)
		if err := x.routers[scD.name].Stop(); err != nil {
			t.Fatal(err)
		}
		waitCensus(t, anns, &scD)
	})
}

// setFiltered returns anns with the route for prefix filtered for codes.
func setFiltered(anns []announcement, prefix string, codes []uint32) []announcement {
	out := slices.Clone(anns)
	for i := range out {
		if out[i].route.Prefix == pfx(prefix) {
			out[i].filtered = codes
		}
	}
	return out
}

// setAccepted returns anns with the route for prefix accepted with info.
func setAccepted(anns []announcement, prefix string, info []string) []announcement {
	out := slices.Clone(anns)
	for i := range out {
		if out[i].route.Prefix == pfx(prefix) {
			out[i].filtered, out[i].info = nil, info
		}
	}
	return out
}

// gobgpCLI runs GoBGP's own CLI (a Go tool of this module) against the
// route server's gRPC API.
func gobgpCLI(t *testing.T, port int, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "go", append([]string{"tool", "gobgp", "-u", "127.0.0.1", "-p", fmt.Sprint(port)}, args...)...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("gobgp %v: %v\n%s", args, err, out)
	}
	return string(out)
}
