package main

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/ixpd/ixpd/routeserver/peertest"
)

// Two route servers on one peering LAN, as exchanges run them: two ixpd
// daemons with their own router ids and addresses, the same ASN and the
// same members file, one primary and one secondary, and real BIRD members
// with a session to each.

// rsNeighbor is a neighbor as GET /api/v1/routeserver/neighbors shows it.
type rsNeighbor struct {
	ID     string     `json:"id"`
	ASN    uint32     `json:"asn"`
	State  string     `json:"state"`
	Since  *time.Time `json:"since"`
	Uptime float64    `json:"uptime_seconds"`
	Routes struct {
		Received, Accepted, Filtered, Exported int
	} `json:"routes"`
}

// instanceBody is the instance every describing endpoint shows.
type instanceBody struct {
	Name            string `json:"name"`
	Role            string `json:"role"`
	CollectsFlows   bool   `json:"collects_flows"`
	ProbesLatency   bool   `json:"probes_latency"`
	RecordsSessions bool   `json:"records_sessions"`
}

// routeServerInstance is one of the two ixpd daemons.
type routeServerInstance struct {
	name, role string
	addr       netip.Addr
	config     string
	api        client
	sflowPort  int
	d          *daemon
}

func (x *routeServerInstance) start(t *testing.T, bin string) {
	t.Helper()
	x.d = startDaemon(t, bin, x.config)
	peertest.WaitFor(t, 20*time.Second, x.name+" API up", func() (bool, string) {
		code := x.api.get("/healthz", nil)
		return code == 200, fmt.Sprintf("status %d", code)
	})
}

// stop sends SIGTERM and waits for a clean exit.
func (x *routeServerInstance) stop(t *testing.T) {
	t.Helper()
	x.d.stop(t)
}

// neighbors returns the neighbors by id.
func (x *routeServerInstance) neighbors(t *testing.T) map[string]rsNeighbor {
	t.Helper()
	var body struct {
		Neighbors []rsNeighbor `json:"neighbors"`
	}
	if code := x.api.get("/api/v1/routeserver/neighbors", &body); code != 200 {
		return nil
	}
	out := map[string]rsNeighbor{}
	for _, n := range body.Neighbors {
		out[n.ID] = n
	}
	return out
}

// udpBound reports whether something holds the UDP port on 127.0.0.1.
func udpBound(port int) bool {
	c, err := net.ListenPacket("udp", fmt.Sprintf("127.0.0.1:%d", port))
	if err != nil {
		return true
	}
	_ = c.Close() // the socket only tested the port
	return false
}

// prefixesOf lists the prefixes of routes.
func prefixesOf(routes []peertest.Route) []string {
	out := make([]string, len(routes))
	for i, r := range routes {
		out[i] = r.Prefix.String()
	}
	return out
}

func TestTwoRouteServers(t *testing.T) {
	peertest.Require(t)
	bin := daemonBinary(t)
	dir := t.TempDir()
	ctx := t.Context()
	token := "e2e-token-0123456789"

	type member struct {
		name, addr, prefix string
		asn                uint32
		r                  *peertest.Router
	}
	members := []*member{
		{name: "a", addr: "127.0.0.2", prefix: "16.38.0.0/24", asn: 38800},
		{name: "b", addr: "127.0.0.3", prefix: "16.179.0.0/24", asn: 17993},
		{name: "c", addr: "127.0.0.4", prefix: "16.131.0.0/24", asn: 131214},
	}
	rs1Addr, rs2Addr := netip.MustParseAddr("127.0.0.1"), netip.MustParseAddr("127.0.0.5")
	// Both route servers and every member use one port, each on its own address.
	bgpPort, err := peertest.FreePort(rs2Addr, netip.MustParseAddr("127.0.0.2"), netip.MustParseAddr("127.0.0.3"), netip.MustParseAddr("127.0.0.4"))
	if err != nil {
		t.Fatal(err)
	}
	ports := freePorts(t, 4)

	// One members file: the members, and the exchange's two route servers
	// as its own entry (member_type ixp), as an IX-F export lists them.
	var entries []string
	for _, m := range members {
		entries = append(entries, e2eMember(int(m.asn), strings.ToUpper(m.name), m.addr))
	}
	entries = append(entries, `{"asnum": 64512, "member_type": "ixp", "name": "E2E route servers", "connection_list": [
	  {"ixp_id": 1, "vlan_list": [{"vlan_id": 1, "ipv4": {"address": "127.0.0.1", "routeserver": false}}]},
	  {"ixp_id": 1, "vlan_list": [{"vlan_id": 1, "ipv4": {"address": "127.0.0.5", "routeserver": false}}]}]}`)
	if err := os.WriteFile(filepath.Join(dir, "members.json"), []byte(fmt.Sprintf(e2eMembers, strings.Join(entries, ","))), 0o644); err != nil {
		t.Fatal(err)
	}

	rs := []*routeServerInstance{
		{name: "rs1", role: "primary", addr: rs1Addr, api: client{t: t, base: fmt.Sprintf("http://127.0.0.1:%d", ports[0]), token: token}, sflowPort: ports[2]},
		{name: "rs2", role: "secondary", addr: rs2Addr, api: client{t: t, base: fmt.Sprintf("http://127.0.0.1:%d", ports[1]), token: token}, sflowPort: ports[3]},
	}
	for _, x := range rs {
		// The same config but for the instance, the addresses and the
		// store: both list a flow listener and a latency target, which only
		// the primary runs.
		x.config = filepath.Join(dir, x.name+".yaml")
		cfg := fmt.Sprintf(`ixp: {name: E2E-IX, country: WS, peering_lan: [127.0.0.0/8]}
instance: {name: %[1]s, role: %[2]s}
members_file: members.json
routeserver:
  asn: 64512
  router_id: %[3]s
  listen: %[3]s:%[4]d
  peer_port: %[4]d
  connect_retry: 1s
flow:
  sflow_listen: 127.0.0.1:%[5]d
storage: {duckdb_path: data/%[1]s.duckdb}
latency:
  targets: [{name: api, address: "127.0.0.1:%[6]d", method: tcp}]
api:
  listen: %[7]s
  tokens:
%[8]s
`, x.name, x.role, x.addr, bgpPort, x.sflowPort, ports[0], strings.TrimPrefix(x.api.base, "http://"), tokenEntry(token))
		if err := os.WriteFile(x.config, []byte(cfg), 0o644); err != nil {
			t.Fatal(err)
		}
		var out, errOut strings.Builder
		if code := cli([]string{"check", "-config", x.config}, &out, &errOut); code != 0 {
			t.Fatalf("check %s: %d %s", x.name, code, errOut.String())
		}
		x.start(t, bin)
	}
	primary, secondary := rs[0], rs[1]

	// Each instance says which it is, on every endpoint that describes it.
	for _, x := range rs {
		want := instanceBody{Name: x.name, Role: x.role, CollectsFlows: x.role == "primary", ProbesLatency: x.role == "primary",
			RecordsSessions: x.role == "primary"}
		for _, path := range []string{"/healthz", "/api/v1/ui/config", "/api/v1/routeserver/status"} {
			var body struct {
				Instance instanceBody `json:"instance"`
			}
			if code := x.api.get(path, &body); code != 200 {
				t.Fatalf("%s %s: status %d", x.name, path, code)
			}
			if diff := cmp.Diff(body.Instance, want); diff != "" {
				t.Errorf("%s %s: instance (-got +want):\n%s", x.name, path, diff)
			}
		}
	}
	// The secondary binds no flow listener and runs no prober, though its
	// config lists them; the primary does both.
	if !udpBound(primary.sflowPort) {
		t.Errorf("the primary's sFlow port %d is not bound", primary.sflowPort)
	}
	if udpBound(secondary.sflowPort) {
		t.Errorf("the secondary's sFlow port %d is bound", secondary.sflowPort)
	}
	for _, x := range rs {
		var metrics string
		x.api.get("/metrics", &metrics)
		for _, name := range []string{"ixpd_flow_written_flows_total", "ixpd_flow_enrich_flows_total", "ixpd_analytics_latency_targets", "ixpd_reports_session_snapshot_failures_total"} {
			if got, want := strings.Contains(metrics, name), x.role == "primary"; got != want {
				t.Errorf("%s /metrics has %s: %v, want %v", x.name, name, got, want)
			}
		}
	}
	if !strings.Contains(secondary.d.log(), "not_started=flow.sflow_listen,latency") {
		t.Errorf("the secondary does not say what it leaves to the primary:\n%s", secondary.d.log())
	}

	// Every member peers with both route servers.
	for _, m := range members {
		m.r, err = peertest.StartBIRD(ctx, t.TempDir(), peertest.Member{Name: m.name, ASN: m.asn, Addr4: netip.MustParseAddr(m.addr),
			RSAddr4: rs1Addr, OtherRS: []netip.Addr{rs2Addr}, RSASN: 64512, Port: bgpPort,
			Routes: []peertest.Route{{Prefix: netip.MustParsePrefix(m.prefix)}}})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = m.r.Stop() })
	}
	for _, m := range members {
		wctx, cancel := context.WithTimeout(ctx, 60*time.Second)
		err := m.r.WaitEstablished(wctx)
		cancel()
		if err != nil {
			t.Fatal(err)
		}
	}
	// others is what member m must receive: every other member's prefix.
	others := func(m *member) []string {
		var out []string
		for _, o := range members {
			if o != m {
				out = append(out, o.prefix)
			}
		}
		slices.Sort(out)
		return out
	}
	receivesFrom := func(what string, from ...netip.Addr) {
		t.Helper()
		peertest.WaitFor(t, 30*time.Second, what, func() (bool, string) {
			var why []string
			for _, m := range members {
				for _, a := range from {
					got, err := m.r.ReceivedFrom(ctx, a)
					ps := prefixesOf(got)
					slices.Sort(ps)
					if err != nil || !slices.Equal(ps, others(m)) {
						why = append(why, fmt.Sprintf("%s from %s: %v %v, want %v", m.name, a, ps, err, others(m)))
					}
				}
			}
			return len(why) == 0, strings.Join(why, "; ")
		})
	}
	receivesFrom("every member receives every other member's route from both route servers", rs1Addr, rs2Addr)

	// Both instances show the same members with the same route counts.
	sameNeighbors := func(what string) {
		t.Helper()
		peertest.WaitFor(t, 30*time.Second, what, func() (bool, string) {
			summary := func(ns map[string]rsNeighbor) map[string]string {
				out := map[string]string{}
				for id, n := range ns {
					out[id] = fmt.Sprintf("AS%d %s %+v", n.ASN, n.State, n.Routes)
				}
				return out
			}
			p, s := summary(primary.neighbors(t)), summary(secondary.neighbors(t))
			ok := len(p) == len(members) && cmp.Equal(p, s)
			for _, n := range p {
				ok = ok && strings.Contains(n, "established") && strings.Contains(n, "Received:1 Accepted:1 Filtered:0 Exported:2")
			}
			return ok, fmt.Sprintf("primary %v, secondary %v", p, s)
		})
	}
	sameNeighbors("both instances show the same neighbors and route counts")

	// Maintenance of the primary: graceful shutdown first (its routes now
	// carry GRACEFUL_SHUTDOWN, 65535:0, so members prefer the secondary's),
	// then stop it.
	if code := primary.api.do("POST", "/api/v1/routeserver/gshut?enabled=true", nil); code != 200 {
		t.Fatalf("gshut on the primary: %d", code)
	}
	peertest.WaitFor(t, 30*time.Second, "the primary's routes carry 65535:0", func() (bool, string) {
		for _, m := range members {
			got, err := m.r.ReceivedFrom(ctx, rs1Addr)
			if err != nil || len(got) != len(members)-1 {
				return false, fmt.Sprintf("%s: %+v %v", m.name, got, err)
			}
			for _, r := range got {
				if !slices.Contains(r.Communities, "65535:0") {
					return false, fmt.Sprintf("%s: %+v", m.name, r)
				}
			}
		}
		return true, ""
	})
	// The secondary's sessions as they are before the primary goes.
	type since struct{ member, rs time.Time }
	before := map[string]since{}
	secondaryBefore := secondary.neighbors(t)
	for _, m := range members {
		ss, err := m.r.Sessions(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range ss {
			if s.RS == rs2Addr {
				n := secondaryBefore[m.addr]
				if !s.Established || s.Since.IsZero() || n.Since == nil {
					t.Fatalf("%s: session with the secondary %+v, the secondary says %+v", m.name, s, n)
				}
				before[m.name] = since{member: s.Since, rs: *n.Since}
			}
		}
	}
	primary.stop(t)
	peertest.WaitFor(t, 30*time.Second, "the members' sessions with the primary are down", func() (bool, string) {
		var why []string
		for _, m := range members {
			ss, err := m.r.Sessions(ctx)
			if err != nil {
				return false, err.Error()
			}
			for _, s := range ss {
				if s.RS == rs1Addr && s.Established {
					why = append(why, m.name+" still up")
				}
			}
		}
		return len(why) == 0, strings.Join(why, "; ")
	})
	// Members keep every route, now through the secondary alone.
	for _, m := range members {
		got, err := m.r.Received(ctx)
		ps := prefixesOf(got)
		slices.Sort(ps)
		if err != nil || !slices.Equal(ps, others(m)) {
			t.Errorf("%s with the primary down: received %v %v, want %v", m.name, ps, err, others(m))
		}
		if got, err := m.r.ReceivedFrom(ctx, rs1Addr); err != nil || len(got) != 0 {
			t.Errorf("%s with the primary down: still %d routes from it (%v)", m.name, len(got), err)
		}
	}
	for id, n := range secondary.neighbors(t) {
		if n.State != "established" || n.Routes.Exported != 2 {
			t.Errorf("secondary with the primary down: neighbor %s %+v", id, n)
		}
	}

	// The primary comes back: its sessions and routes return, and the
	// secondary's sessions were never reset.
	primary.start(t, bin)
	for _, m := range members {
		wctx, cancel := context.WithTimeout(ctx, 60*time.Second)
		err := m.r.WaitEstablished(wctx)
		cancel()
		if err != nil {
			t.Fatal(err)
		}
	}
	receivesFrom("every member receives every other member's route from both route servers again", rs1Addr, rs2Addr)
	sameNeighbors("both instances show the same neighbors and route counts again")
	after := secondary.neighbors(t)
	for _, m := range members {
		ss, err := m.r.Sessions(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range ss {
			if s.RS == rs2Addr && (!s.Established || !s.Since.Equal(before[m.name].member)) {
				t.Errorf("%s: the session with the secondary was reset: %+v, established since %s before", m.name, s, before[m.name].member)
			}
		}
		n := after[m.addr]
		t.Logf("%s: session with the secondary established since %s (member) and %v (route server), uptime %.0f s then %.0f s",
			m.name, before[m.name].member.Format(time.RFC3339Nano), n.Since, secondaryBefore[m.addr].Uptime, n.Uptime)
		if n.Since == nil || !n.Since.Equal(before[m.name].rs) || n.Uptime <= secondaryBefore[m.addr].Uptime {
			t.Errorf("%s: the secondary's session was reset: since %v uptime %.0f s, before since %s uptime %.0f s",
				m.name, n.Since, n.Uptime, before[m.name].rs, secondaryBefore[m.addr].Uptime)
		}
	}
	for _, m := range members {
		got, err := m.r.ReceivedFrom(ctx, rs1Addr)
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range got {
			if slices.Contains(r.Communities, "65535:0") {
				t.Errorf("%s: the restarted primary still sends %s with 65535:0", m.name, r.Prefix)
			}
		}
	}
	for _, x := range rs {
		x.stop(t)
	}
}
