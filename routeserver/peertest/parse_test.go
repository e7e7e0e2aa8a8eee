package peertest

import (
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestParseBIRDRoutes(t *testing.T) {
	for _, tc := range []struct {
		name    string
		out     string
		want    []Route
		wantErr string
	}{
		{
			name: "ipv4 with every attribute",
			out: `BIRD 2.0.12 ready.
Table master4:
10.3.0.0/24          unicast [ixp4 14:29:21.927 from 127.0.0.1] * (100/?) [AS64997i]
	dev lo
	Type: BGP univ
	BGP.origin: IGP
	BGP.as_path: 65003 64997
	BGP.next_hop: 127.0.0.4
	BGP.med: 7
	BGP.local_pref: 100
	BGP.community: (65003,7) (65000,100)
	BGP.large_community: (65003, 1, 2) (64512, 1101, 3)
10.1.1.0/24          unicast [ixp4 14:29:21.968 from 127.0.0.1] * (100/?) [AS64998i]
	dev lo
	Type: BGP univ
	BGP.origin: IGP
	BGP.as_path: 64998
	BGP.next_hop: 127.0.0.99
	BGP.local_pref: 100
`,
			want: []Route{
				{Prefix: pfx("10.3.0.0/24"), NextHop: addr("127.0.0.4"), ASPath: []uint32{65003, 64997}, MED: 7,
					HasMED: true, Communities: []string{"65003:7", "65000:100"},
					LargeCommunities: []string{"65003:1:2", "64512:1101:3"}},
				{Prefix: pfx("10.1.1.0/24"), NextHop: addr("127.0.0.99"), ASPath: []uint32{64998}},
			},
		},
		{
			name: "ipv6 with link-local next hop, a second route and an empty path",
			out: `BIRD 2.0.12 ready.
Table master6:
2001:db8:3::/48      unicast [ixp6 14:40:54.770 from fd00:ffff::1] * (100/?) [AS65003i]
	dev lo
	Type: BGP univ
	BGP.origin: IGP
	BGP.as_path: 65003
	BGP.next_hop: fd00:ffff::98 fe80::1
	BGP.med: 0
	BGP.local_pref: 100
                     unreachable [ixp6 14:40:55.770 from fd00:ffff::1] (100/-) [i]
	Type: BGP univ
	BGP.origin: IGP
	BGP.as_path: 
	BGP.next_hop: fd00:ffff::97
	BGP.local_pref: 100
`,
			want: []Route{
				{Prefix: pfx("2001:db8:3::/48"), NextHop: addr("fd00:ffff::98"), ASPath: []uint32{65003},
					HasMED: true},
				{Prefix: pfx("2001:db8:3::/48"), NextHop: addr("fd00:ffff::97")},
			},
		},
		{
			name:    "as set",
			out:     "10.0.0.0/8 unicast [ixp4 14:40:54.770 from 127.0.0.1] * (100) [AS1?]\n\tBGP.as_path: 1 {2 3}\n",
			wantErr: "only AS_SEQUENCE",
		},
		{
			name:    "bad community",
			out:     "10.0.0.0/8 unicast [ixp4 14:40:54.770 from 127.0.0.1] * (100) [AS1?]\n\tBGP.community: (70000,1)\n",
			wantErr: `community "70000:1"`,
		},
		{
			name: "no routes",
			out:  "BIRD 2.0.12 ready.\n",
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := parseBIRDRoutes(tc.out)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("parseBIRDRoutes() error = %v, want one containing %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(got, tc.want, routeCmp); diff != "" {
				t.Errorf("parseBIRDRoutes() (-got +want):\n%s", diff)
			}
		})
	}
}

func TestParseBIRDProtocols(t *testing.T) {
	out := `BIRD 2.0.12 ready.
Name       Proto      Table      State  Since         Info
device1    Device     ---        up     14:40:53.962  
own4       Static     master4    up     14:40:53.962  
ixp4       BGP        ---        up     14:40:54.737  Established   
ixp6       BGP        ---        start  14:29:13.332  Active        Socket: Connection refused
`
	want := map[string]bool{"ixp4": true, "ixp6": false}
	if diff := cmp.Diff(parseBIRDProtocols(out), want); diff != "" {
		t.Errorf("parseBIRDProtocols() (-got +want):\n%s", diff)
	}
}

func TestParseBgpctl(t *testing.T) {
	rib := `{
	"rib": [
		{
			"prefix": "2001:db8:1::/48",
			"aspath": "65001 65001 65001",
			"exit_nexthop": "fd00:ffff::2",
			"true_nexthop": "fd00:ffff::2",
			"metric": 10,
			"communities": ["NO_EXPORT", "65000:1"],
			"large_communities": ["65001:1:7"]
		},
		{
			"prefix": "10.1.1.0/24",
			"aspath": "",
			"exit_nexthop": "127.0.0.2",
			"metric": 0
		}
	]
}`
	got, err := parseBgpctlRIB([]byte(rib))
	if err != nil {
		t.Fatal(err)
	}
	want := []Route{
		{Prefix: pfx("2001:db8:1::/48"), NextHop: addr("fd00:ffff::2"), ASPath: []uint32{65001, 65001, 65001},
			MED: 10, HasMED: true, Communities: []string{"65535:65281", "65000:1"},
			LargeCommunities: []string{"65001:1:7"}},
		{Prefix: pfx("10.1.1.0/24"), NextHop: addr("127.0.0.2")},
	}
	if diff := cmp.Diff(got, want, routeCmp); diff != "" {
		t.Errorf("parseBgpctlRIB() (-got +want):\n%s", diff)
	}
	if got, err := parseBgpctlRIB([]byte("{\n\n}")); err != nil || len(got) != 0 {
		t.Errorf("parseBgpctlRIB(empty) = %v, %v; want no routes", got, err)
	}

	summary := `{"neighbors": [
		{"remote_addr": "127.0.0.1", "state": "Established"},
		{"remote_addr": "fd00:ffff::1", "state": "Active"}
	]}`
	up, err := parseBgpctlSummary([]byte(summary))
	if err != nil {
		t.Fatal(err)
	}
	wantUp := map[netip.Addr]string{addr("127.0.0.1"): "Established", addr("fd00:ffff::1"): "Active"}
	if diff := cmp.Diff(up, wantUp, routeCmp); diff != "" {
		t.Errorf("parseBgpctlSummary() (-got +want):\n%s", diff)
	}
}

func TestSortRoutes(t *testing.T) {
	routes := []Route{
		{Prefix: pfx("2001:db8::/32")},
		{Prefix: pfx("10.0.0.0/16"), Communities: []string{"65000:10", "65000:9", "1:2"},
			LargeCommunities: []string{"2:1:1", "1:10:1", "1:9:1"}},
		{Prefix: pfx("10.0.0.0/8")},
	}
	sortRoutes(routes)
	want := []Route{
		{Prefix: pfx("10.0.0.0/8")},
		{Prefix: pfx("10.0.0.0/16"), Communities: []string{"1:2", "65000:9", "65000:10"},
			LargeCommunities: []string{"1:9:1", "1:10:1", "2:1:1"}},
		{Prefix: pfx("2001:db8::/32")},
	}
	if diff := cmp.Diff(routes, want, routeCmp); diff != "" {
		t.Errorf("sortRoutes() (-got +want):\n%s", diff)
	}
}

func TestMemberValidate(t *testing.T) {
	good := Member{
		Name: "m1", ASN: 65001, RSASN: 65000, Port: 1179,
		Addr4: addr("127.0.0.2"), RSAddr4: addr("127.0.0.1"),
		Addr6: addr("fd00:ffff::2"), RSAddr6: addr("fd00:ffff::1"),
		Routes: []Route{{Prefix: pfx("10.0.0.0/24")}, {Prefix: pfx("2001:db8::/32")}},
	}
	if err := good.validate(); err != nil {
		t.Fatalf("validate() of a good member: %v", err)
	}
	for _, tc := range []struct {
		name    string
		change  func(*Member)
		wantErr string
	}{
		{"bad name", func(m *Member) { m.Name = "m 1" }, `member name "m 1"`},
		{"ibgp", func(m *Member) { m.ASN = 65000 }, "must be eBGP"},
		{"no port", func(m *Member) { m.Port = 0 }, "port 0 out of range"},
		{"no address", func(m *Member) { m.Addr4, m.Addr6 = netip.Addr{}, netip.Addr{} }, "neither addr4 nor addr6"},
		{"v6 as addr4", func(m *Member) { m.Addr4 = addr("fd00::1") }, "addr4 fd00::1 is not IPv4"},
		{"no rs addr6", func(m *Member) { m.RSAddr6 = netip.Addr{} }, "rs_addr6 invalid IP is not"},
		{"no router id", func(m *Member) {
			m.Addr4, m.Routes = netip.Addr{}, nil
			m.Addr6 = addr("fd00:ffff::")
		}, "no router id"},
		{"host bits", func(m *Member) { m.Routes[0].Prefix = pfx("10.0.0.1/24") }, "host bits set"},
		{"no v4 session", func(m *Member) { m.Addr4 = netip.Addr{} }, "member has no IPv4 session"},
		{"next hop family", func(m *Member) { m.Routes[0].NextHop = addr("fd00::9") }, "not of the prefix's family"},
		{"community", func(m *Member) { m.Routes[0].Communities = []string{"65536:1"} }, `community "65536:1"`},
		{"large community", func(m *Member) { m.Routes[0].LargeCommunities = []string{"1:2"} }, `large community "1:2"`},
		{"twice", func(m *Member) { m.Routes[1].Prefix = m.Routes[0].Prefix }, "announced twice"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := good
			m.Routes = slices.Clone(good.Routes)
			tc.change(&m)
			err := m.validate()
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("validate() error = %v, want one containing %q", err, tc.wantErr)
			}
		})
	}
}

// TestMRTDump checks the dump OpenBGPD imports by reading it back with bgpctl.
func TestMRTDump(t *testing.T) {
	bgpctl, err := lookPath("bgpctl")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal(err)
		}
		t.Skip(err)
	}
	long := make([]uint32, 300) // more than one AS_SEQUENCE segment
	for i := range long {
		long[i] = 4200000000 + uint32(i)
	}
	m := Member{Name: "m", ASN: 65010, Addr4: addr("127.0.0.10"), Addr6: addr("fd00:ffff::10")}
	routes := []Route{
		{Prefix: pfx("10.10.0.0/16"), ASPath: []uint32{64999}},
		{Prefix: pfx("10.11.0.0/23"), NoOwnASN: true},
		{Prefix: pfx("10.12.0.0/24"), ASPath: long, NoOwnASN: true},
		{Prefix: pfx("2001:db8:10::/48")},
		{Prefix: pfx("0.0.0.0/0"), ASPath: []uint32{64999}}, // skipped by bgpctl
	}
	file := filepath.Join(t.TempDir(), "dump.mrt")
	if err := os.WriteFile(file, mrtDump(m, routes), 0o644); err != nil {
		t.Fatal(err)
	}
	// bgpctl 7.7 leaves the JSON of "show mrt" unterminated: read the text.
	out, err := exec.Command(bgpctl, "show", "mrt", "detail", "file", file).Output()
	if err != nil {
		t.Fatalf("bgpctl show mrt: %v", err)
	}
	got := parseBgpctlMRTText(t, string(out))
	want := []Route{
		{Prefix: pfx("10.10.0.0/16"), NextHop: m.Addr4, ASPath: []uint32{65010, 64999}},
		{Prefix: pfx("10.11.0.0/23"), NextHop: m.Addr4},
		{Prefix: pfx("10.12.0.0/24"), NextHop: m.Addr4, ASPath: long},
		{Prefix: pfx("2001:db8:10::/48"), NextHop: m.Addr6, ASPath: []uint32{65010}},
	}
	if diff := cmp.Diff(got, want, routeCmp); diff != "" {
		t.Errorf("bgpctl show mrt of mrtDump() (-got +want):\n%s", diff)
	}
}

// parseBgpctlMRTText reads prefix, AS path and next hop from "bgpctl show mrt detail" output.
func parseBgpctlMRTText(t *testing.T, out string) []Route {
	t.Helper()
	var routes []Route
	for block := range strings.SplitSeq(out, "BGP routing table entry for ") {
		lines := strings.Split(strings.TrimSpace(block), "\n")
		if len(lines) < 2 {
			continue
		}
		r := Route{Prefix: netip.MustParsePrefix(lines[0])}
		rest := lines[1:]
		if !strings.HasPrefix(strings.TrimSpace(rest[0]), "Nexthop") {
			path, err := parseASPath(rest[0])
			if err != nil {
				t.Fatal(err)
			}
			r.ASPath, rest = path, rest[1:]
		}
		nh := strings.Fields(rest[0])
		if len(nh) < 2 || nh[0] != "Nexthop" {
			t.Fatalf("no next hop in %q", block)
		}
		r.NextHop = netip.MustParseAddr(nh[1])
		routes = append(routes, r)
	}
	return routes
}
