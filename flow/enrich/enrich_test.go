package enrich

import (
	"net"
	"net/netip"
	"os"
	"strings"
	"sync"
	"testing"

	"github.com/gaissmai/bart"
	"github.com/google/go-cmp/cmp"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/ixpd/ixpd/flow"
	"github.com/ixpd/ixpd/routeserver/members"
)

var (
	addr   = netip.MustParseAddr
	prefix = netip.MustParsePrefix
)

// Exporters of the test configuration.
var (
	switchAddr = addr("192.0.2.250")
	edgeAddr   = addr("192.0.2.251") // AS65001's border router
	otherAddr  = addr("192.0.2.252") // not configured
)

// Interfaces of the edge exporter.
const (
	ifIXP       = 1
	ifTransit   = 2
	ifCustomer  = 3
	ifCustomer2 = 4
	ifOther     = 99 // not configured
)

// MACs of the test members, as flows carry them.
const (
	macA      = 0x02000000000a
	macB      = 0x02000000000b
	macShared = 0x0200000000dd // listed by both D and E
	macNone   = 0x0200000000ff // no member's
)

// testMembers are the members of the test exchange; the peering LAN is 192.0.2.0/24 and
// 2001:db8:ffff::/64.
func testMembers() *members.Set {
	return &members.Set{Version: "1.0", Members: []members.Member{
		{ASN: 65001, Name: "A", MACs: []net.HardwareAddr{mac("02:00:00:00:00:0a")},
			Addresses: []members.Address{{Family: members.IPv4, IP: addr("192.0.2.10")},
				{Family: members.IPv6, IP: addr("2001:db8:ffff::10")}}},
		{ASN: 65002, Name: "B", MACs: []net.HardwareAddr{mac("02:00:00:00:00:0b")},
			Addresses: []members.Address{{Family: members.IPv4, IP: addr("192.0.2.11")}}},
		{ASN: 65003, Name: "C (no MAC in the file)",
			Addresses: []members.Address{{Family: members.IPv4, IP: addr("192.0.2.12")}}},
		{ASN: 65004, Name: "D", MACs: []net.HardwareAddr{mac("02:00:00:00:00:dd")},
			Addresses: []members.Address{{Family: members.IPv4, IP: addr("192.0.2.14")}}},
		{ASN: 65005, Name: "E (D's MAC too)", MACs: []net.HardwareAddr{mac("02:00:00:00:00:dd"),
			mac("02:00:00:00:00:0e:00:01")}},
	}}
}

func mac(s string) net.HardwareAddr {
	hw, err := net.ParseMAC(s)
	if err != nil {
		panic(err)
	}
	return hw
}

// testConfig uses testdata/delegated-small: AU 198.51.100.0/24 with WS 198.51.100.64/26 inside, FJ
// 203.0.113.0/25 and 203.0.113.128/26, WS 2001:db8:1::/48 inside AU 2001:db8::/32; AS64500-64501
// WS, AS64502 NZ, AS65001-65003 AU.
func testConfig() Config {
	return Config{
		Country:        "WS",
		DelegatedFiles: []string{"testdata/delegated-small"},
		Overrides: map[netip.Prefix]string{
			prefix("198.51.100.128/25"):       "TO",
			prefix("203.0.113.0/26"):          "WS",
			prefix("::ffff:203.0.113.64/122"): "NZ",
		},
		Exporters: map[netip.Addr]Exporter{
			switchAddr: {Role: flow.RoleIXPSwitch},
			// Configured by its IPv4-mapped form: flows from the plain IPv4 address must match.
			netip.AddrFrom16(edgeAddr.As16()): {Role: flow.RoleMemberEdge, MemberASN: 65001,
				Interfaces: map[uint32]InterfaceRole{ifIXP: IfIXP, ifTransit: IfTransit,
					ifCustomer: IfCustomer, ifCustomer2: IfCustomer}},
		},
	}
}

// routeTable is a route-server snapshot for the tests.
type routeTable struct{ t bart.Table[uint32] }

func (r *routeTable) OriginAS(a netip.Addr) (uint32, bool) { return r.t.Lookup(a) }

func testRoutes() *routeTable {
	r := &routeTable{}
	r.t.Insert(prefix("198.51.100.0/24"), 64502)
	r.t.Insert(prefix("198.51.100.0/28"), 65002) // member B's
	r.t.Insert(prefix("2001:db8::/32"), 64500)
	return r
}

func newTestEnricher(t testing.TB, routes RouteLookup) *Enricher {
	t.Helper()
	e, err := New(testConfig(), testMembers(), routes, nil)
	if err != nil {
		t.Fatal(err)
	}
	return e
}

// memberFields is the member attribution of a flow.
type memberFields struct {
	Role                 flow.Role
	SrcMember, DstMember uint32
	IXPExchanged         bool
	PathClass            flow.PathClass
}

func memberFieldsOf(f *flow.Flow) memberFields {
	return memberFields{f.Role, f.SrcMember, f.DstMember, f.IXPExchanged, f.PathClass}
}

func TestEnrichSwitchSample(t *testing.T) {
	e := newTestEnricher(t, nil)
	sw := flow.RoleIXPSwitch
	tests := []struct {
		name             string
		srcMAC, dstMAC   uint64
		srcAddr, dstAddr string
		want             memberFields
	}{
		{name: "two members by MAC", srcMAC: macA, dstMAC: macB, srcAddr: "198.51.100.1", dstAddr: "203.0.113.1",
			want: memberFields{Role: sw, SrcMember: 65001, DstMember: 65002, IXPExchanged: true}},
		{name: "the other way", srcMAC: macB, dstMAC: macA, srcAddr: "203.0.113.1", dstAddr: "198.51.100.1",
			want: memberFields{Role: sw, SrcMember: 65002, DstMember: 65001, IXPExchanged: true}},
		{name: "same member on both ends", srcMAC: macA, dstMAC: macA, srcAddr: "198.51.100.1", dstAddr: "198.51.100.2",
			want: memberFields{Role: sw, SrcMember: 65001, DstMember: 65001}},
		{name: "source not a member", srcMAC: macNone, dstMAC: macB, srcAddr: "198.51.100.1", dstAddr: "203.0.113.1",
			want: memberFields{Role: sw, DstMember: 65002}},
		{name: "destination not a member", srcMAC: macA, dstMAC: macNone, srcAddr: "198.51.100.1", dstAddr: "203.0.113.1",
			want: memberFields{Role: sw, SrcMember: 65001}},
		{name: "neither a member", srcMAC: macNone, dstMAC: macNone, srcAddr: "198.51.100.1", dstAddr: "203.0.113.1",
			want: memberFields{Role: sw}},
		{name: "no MACs: by peering-LAN address", srcAddr: "192.0.2.12", dstAddr: "2001:db8:ffff::10",
			want: memberFields{Role: sw, SrcMember: 65003, DstMember: 65001, IXPExchanged: true}},
		{name: "MAC of no member: by address", srcMAC: macNone, dstMAC: macB, srcAddr: "192.0.2.12", dstAddr: "192.0.2.10",
			want: memberFields{Role: sw, SrcMember: 65003, DstMember: 65002, IXPExchanged: true}},
		{name: "MAC wins over address", srcMAC: macA, dstMAC: macB, srcAddr: "192.0.2.11", dstAddr: "192.0.2.10",
			want: memberFields{Role: sw, SrcMember: 65001, DstMember: 65002, IXPExchanged: true}},
		{name: "IPv4-mapped peering-LAN address", srcAddr: "::ffff:192.0.2.12", dstAddr: "::ffff:192.0.2.11",
			want: memberFields{Role: sw, SrcMember: 65003, DstMember: 65002, IXPExchanged: true}},
		{name: "same member by MAC and address", srcMAC: macA, srcAddr: "198.51.100.1", dstAddr: "2001:db8:ffff::10",
			want: memberFields{Role: sw, SrcMember: 65001, DstMember: 65001}},
		{name: "MAC of two members is no member", srcMAC: macShared, dstMAC: macA, srcAddr: "198.51.100.1", dstAddr: "198.51.100.2",
			want: memberFields{Role: sw, DstMember: 65001}},
		{name: "MAC of two members, then by address", srcMAC: macShared, dstMAC: macA, srcAddr: "192.0.2.14", dstAddr: "198.51.100.2",
			want: memberFields{Role: sw, SrcMember: 65004, DstMember: 65001, IXPExchanged: true}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := flow.Flow{Exporter: switchAddr, SrcMAC: tt.srcMAC, DstMAC: tt.dstMAC,
				SrcAddr: addr(tt.srcAddr), DstAddr: addr(tt.dstAddr), InIf: ifIXP, OutIf: ifTransit}
			e.Enrich(&f)
			if diff := cmp.Diff(memberFieldsOf(&f), tt.want); diff != "" {
				t.Errorf("attribution (-got +want):\n%s", diff)
			}
		})
	}
}

func TestEnrichMemberEdge(t *testing.T) {
	e := newTestEnricher(t, nil)
	const member = 65001
	edge := flow.RoleMemberEdge
	// Every pair of interface roles: unknown (not configured), ixp, transit, customer.
	tests := []struct {
		in, out uint32
		want    memberFields
	}{
		{ifOther, ifOther, memberFields{Role: edge}},
		{ifOther, ifIXP, memberFields{Role: edge, PathClass: flow.PathViaIXP, SrcMember: member}},
		{ifOther, ifTransit, memberFields{Role: edge, PathClass: flow.PathViaTransit, SrcMember: member}},
		{ifOther, ifCustomer, memberFields{Role: edge}},
		{ifIXP, ifOther, memberFields{Role: edge, PathClass: flow.PathViaIXP, DstMember: member}},
		{ifIXP, ifIXP, memberFields{Role: edge, PathClass: flow.PathViaIXP}},
		{ifIXP, ifTransit, memberFields{Role: edge, PathClass: flow.PathViaIXP}},
		{ifIXP, ifCustomer, memberFields{Role: edge, PathClass: flow.PathViaIXP, DstMember: member}},
		{ifTransit, ifOther, memberFields{Role: edge, PathClass: flow.PathViaTransit, DstMember: member}},
		{ifTransit, ifIXP, memberFields{Role: edge, PathClass: flow.PathViaIXP}},
		{ifTransit, ifTransit, memberFields{Role: edge, PathClass: flow.PathViaTransit}},
		{ifTransit, ifCustomer, memberFields{Role: edge, PathClass: flow.PathViaTransit, DstMember: member}},
		{ifCustomer, ifOther, memberFields{Role: edge}},
		{ifCustomer, ifIXP, memberFields{Role: edge, PathClass: flow.PathViaIXP, SrcMember: member}},
		{ifCustomer, ifTransit, memberFields{Role: edge, PathClass: flow.PathViaTransit, SrcMember: member}},
		{ifCustomer, ifCustomer2, memberFields{Role: edge, PathClass: flow.PathInternal, SrcMember: member, DstMember: member}},
	}
	roleName := map[uint32]string{ifOther: "unknown", ifIXP: "ixp", ifTransit: "transit", ifCustomer: "customer",
		ifCustomer2: "customer"}
	for _, tt := range tests {
		t.Run(roleName[tt.in]+"_to_"+roleName[tt.out], func(t *testing.T) {
			// Member MACs and peering-LAN addresses play no part on a member-edge record.
			f := flow.Flow{Exporter: edgeAddr, InIf: tt.in, OutIf: tt.out, SrcMAC: macB, DstMAC: macA,
				SrcAddr: addr("192.0.2.11"), DstAddr: addr("192.0.2.12")}
			e.Enrich(&f)
			if diff := cmp.Diff(memberFieldsOf(&f), tt.want); diff != "" {
				t.Errorf("attribution (-got +want):\n%s", diff)
			}
		})
	}
}

func TestEnrichUnknownExporter(t *testing.T) {
	e := newTestEnricher(t, nil)
	f := flow.Flow{Exporter: otherAddr, SrcMAC: macA, DstMAC: macB, InIf: ifIXP, OutIf: ifCustomer,
		SrcAddr: addr("198.51.100.65"), DstAddr: addr("2001:db8:1::1")}
	e.Enrich(&f)
	if diff := cmp.Diff(memberFieldsOf(&f), memberFields{Role: flow.RoleUnknown}); diff != "" {
		t.Errorf("attribution (-got +want):\n%s", diff)
	}
	if !f.Domestic {
		t.Errorf("countries %q and %q are not domestic; countries do not depend on the exporter", f.SrcCountry, f.DstCountry)
	}
}

// ends are the AS numbers and countries of a flow.
type ends struct {
	SrcAS, DstAS           uint32
	SrcCountry, DstCountry string
	Domestic               bool
}

func TestEnrichASAndCountry(t *testing.T) {
	withRoutes := newTestEnricher(t, testRoutes())
	noRoutes := newTestEnricher(t, nil)
	tests := []struct {
		name             string
		e                *Enricher
		srcAddr, dstAddr string
		srcAS, dstAS     uint32 // from the exporter
		want             ends
	}{
		{name: "RIR prefixes, domestic", e: noRoutes, srcAddr: "198.51.100.65", dstAddr: "2001:db8:1:2::1",
			want: ends{SrcCountry: "WS", DstCountry: "WS", Domestic: true}},
		{name: "longest RIR prefix wins", e: noRoutes, srcAddr: "198.51.100.1", dstAddr: "2001:db8:2::1",
			want: ends{SrcCountry: "AU", DstCountry: "AU"}},
		{name: "one end abroad", e: noRoutes, srcAddr: "198.51.100.65", dstAddr: "203.0.113.130",
			want: ends{SrcCountry: "WS", DstCountry: "FJ"}},
		{name: "override wins over RIR prefix", e: noRoutes, srcAddr: "198.51.100.129", dstAddr: "203.0.113.1",
			want: ends{SrcCountry: "TO", DstCountry: "WS"}},
		{name: "override wins over a member's AS", e: noRoutes, srcAddr: "198.51.100.200", dstAddr: "198.51.100.65",
			srcAS: 65001, want: ends{SrcAS: 65001, SrcCountry: "TO", DstCountry: "WS"}},
		{name: "IPv4-mapped override and address", e: noRoutes, srcAddr: "::ffff:203.0.113.70", dstAddr: "::ffff:198.51.100.65",
			want: ends{SrcCountry: "NZ", DstCountry: "WS"}},
		{name: "member AS is domestic over RIR prefix", e: noRoutes, srcAddr: "198.51.100.1", dstAddr: "203.0.113.130",
			srcAS: 65002, dstAS: 65003, want: ends{SrcAS: 65002, DstAS: 65003, SrcCountry: "WS", DstCountry: "WS", Domestic: true}},
		{name: "member peering-LAN address is domestic", e: noRoutes, srcAddr: "192.0.2.10", dstAddr: "2001:db8:ffff::10",
			want: ends{SrcCountry: "WS", DstCountry: "WS", Domestic: true}},
		{name: "other peering-LAN address is not known", e: noRoutes, srcAddr: "192.0.2.99", dstAddr: "192.0.2.10",
			want: ends{SrcCountry: "", DstCountry: "WS"}},
		{name: "RIR asn when the address is unknown", e: noRoutes, srcAddr: "192.0.2.99", dstAddr: "10.0.0.1",
			srcAS: 64501, dstAS: 64502, want: ends{SrcAS: 64501, DstAS: 64502, SrcCountry: "WS", DstCountry: "NZ"}},
		{name: "RIR address wins over RIR asn", e: noRoutes, srcAddr: "198.51.100.1", dstAddr: "203.0.113.130",
			srcAS: 64500, dstAS: 64500, want: ends{SrcAS: 64500, DstAS: 64500, SrcCountry: "AU", DstCountry: "FJ"}},
		{name: "nothing known", e: noRoutes, srcAddr: "10.0.0.1", dstAddr: "2001:db9::1",
			srcAS: 64999, want: ends{SrcAS: 64999}},
		{name: "no addresses", e: noRoutes, srcAS: 64500, want: ends{SrcAS: 64500, SrcCountry: "WS"}},
		{name: "no route server: exporter AS kept", e: noRoutes, srcAddr: "198.51.100.1", dstAddr: "2001:db8:2::1",
			srcAS: 64999, dstAS: 64998, want: ends{SrcAS: 64999, DstAS: 64998, SrcCountry: "AU", DstCountry: "AU"}},
		{name: "route server wins over exporter AS", e: withRoutes, srcAddr: "198.51.100.1", dstAddr: "2001:db8:2::1",
			srcAS: 64999, dstAS: 64998, want: ends{SrcAS: 65002, DstAS: 64500, SrcCountry: "WS", DstCountry: "AU"}},
		{name: "route server's longest prefix", e: withRoutes, srcAddr: "198.51.100.16", dstAddr: "::ffff:198.51.100.1",
			want: ends{SrcAS: 64502, DstAS: 65002, SrcCountry: "AU", DstCountry: "WS"}},
		{name: "route server does not know: exporter AS kept", e: withRoutes, srcAddr: "10.0.0.1", dstAddr: "2001:db9::1",
			srcAS: 64501, dstAS: 65003, want: ends{SrcAS: 64501, DstAS: 65003, SrcCountry: "WS", DstCountry: "WS", Domestic: true}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := flow.Flow{Exporter: switchAddr, SrcAS: tt.srcAS, DstAS: tt.dstAS}
			if tt.srcAddr != "" {
				f.SrcAddr = addr(tt.srcAddr)
			}
			if tt.dstAddr != "" {
				f.DstAddr = addr(tt.dstAddr)
			}
			tt.e.Enrich(&f)
			got := ends{f.SrcAS, f.DstAS, f.SrcCountry, f.DstCountry, f.Domestic}
			if diff := cmp.Diff(got, tt.want); diff != "" {
				t.Errorf("AS and countries (-got +want):\n%s", diff)
			}
		})
	}
}

func TestEnrichOverwritesEveryField(t *testing.T) {
	e := newTestEnricher(t, nil)
	f := flow.Flow{Exporter: otherAddr, SrcAddr: addr("10.0.0.1"), DstAddr: addr("10.0.0.2"),
		Role: flow.RoleMemberEdge, SrcMember: 1, DstMember: 2, IXPExchanged: true, PathClass: flow.PathInternal,
		SrcCountry: "WS", DstCountry: "WS", Domestic: true}
	want := f
	want.Role, want.SrcMember, want.DstMember, want.IXPExchanged, want.PathClass = flow.RoleUnknown, 0, 0, false, flow.PathUnknown
	want.SrcCountry, want.DstCountry, want.Domestic = "", "", false
	e.Enrich(&f)
	if diff := cmp.Diff(f, want, equateNetip); diff != "" {
		t.Errorf("flow (-got +want):\n%s", diff)
	}
}

func TestNewErrors(t *testing.T) {
	tests := []struct {
		name   string
		modify func(*Config)
		want   string
	}{
		{name: "country", modify: func(c *Config) { c.Country = "Samoa" },
			want: `ixp.country: "Samoa" is not an ISO 3166-1 alpha-2 code such as WS`},
		{name: "no country", modify: func(c *Config) { c.Country = "" },
			want: `ixp.country: "" is not an ISO 3166-1 alpha-2 code such as WS`},
		{name: "missing file", modify: func(c *Config) { c.DelegatedFiles = append(c.DelegatedFiles, "testdata/nonexistent") },
			want: "domestic.delegated_files[1]: open testdata/nonexistent: no such file or directory"},
		{name: "override country", modify: func(c *Config) { c.Overrides[prefix("10.0.0.0/8")] = "ws" },
			want: `domestic.overrides[10.0.0.0/8]: "ws" is not an ISO 3166-1 alpha-2 code such as WS`},
		{name: "override prefix", modify: func(c *Config) { c.Overrides[netip.Prefix{}] = "WS" },
			want: "domestic.overrides: a prefix is not valid"},
		{name: "edge without member", modify: func(c *Config) {
			c.Exporters[addr("192.0.2.9")] = Exporter{Role: flow.RoleMemberEdge}
		}, want: "flow.exporters[192.0.2.9].member_asn: required for a member_edge exporter"},
		{name: "no role", modify: func(c *Config) { c.Exporters[addr("192.0.2.9")] = Exporter{MemberASN: 65001} },
			want: `flow.exporters[192.0.2.9].role: "unknown" is not ixp_switch or member_edge`},
		{name: "bad interface role", modify: func(c *Config) {
			c.Exporters[addr("192.0.2.9")] = Exporter{Role: flow.RoleMemberEdge, MemberASN: 65001,
				Interfaces: map[uint32]InterfaceRole{7: 9}}
		}, want: "flow.exporters[192.0.2.9].interfaces[7]: 9 is not an interface role"},
		{name: "interface role unknown", modify: func(c *Config) {
			c.Exporters[addr("192.0.2.9")] = Exporter{Role: flow.RoleMemberEdge, MemberASN: 65001,
				Interfaces: map[uint32]InterfaceRole{7: IfUnknown}}
		}, want: "flow.exporters[192.0.2.9].interfaces[7]: 0 is not an interface role"},
		{name: "no exporter address", modify: func(c *Config) { c.Exporters[netip.Addr{}] = Exporter{Role: flow.RoleIXPSwitch} },
			want: "flow.exporters: an exporter has no address"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := testConfig()
			tt.modify(&cfg)
			_, err := New(cfg, nil, nil, nil)
			if err == nil || err.Error() != tt.want {
				t.Errorf("New: %v, want %s", err, tt.want)
			}
		})
	}
}

func TestInterfaceRoleText(t *testing.T) {
	for _, want := range []InterfaceRole{IfIXP, IfTransit, IfCustomer} {
		text, err := want.MarshalText()
		if err != nil {
			t.Fatal(err)
		}
		var got InterfaceRole
		if err := got.UnmarshalText(text); err != nil || got != want {
			t.Errorf("UnmarshalText(%q) = %v, %v; want %v", text, got, err, want)
		}
	}
	var r InterfaceRole
	if err := r.UnmarshalText([]byte("peering")); err == nil ||
		err.Error() != `"peering" is not an interface role (ixp, transit or customer)` {
		t.Errorf("UnmarshalText(peering): %v", err)
	}
}

func TestNewWithoutFilesOrMembers(t *testing.T) {
	e, err := New(Config{Country: "WS"}, nil, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	f := flow.Flow{Exporter: switchAddr, SrcAddr: addr("198.51.100.1"), SrcAS: 65001}
	e.Enrich(&f)
	if diff := cmp.Diff(f.Role, flow.RoleUnknown); diff != "" {
		t.Errorf("role (-got +want):\n%s", diff)
	}
	if f.SrcCountry != "" || f.Domestic {
		t.Errorf("country %q, domestic %v with no data; want none", f.SrcCountry, f.Domestic)
	}
	if len(e.RIRFiles()) != 0 {
		t.Errorf("RIRFiles() = %v, want none", e.RIRFiles())
	}
}

func TestRIRFiles(t *testing.T) {
	cfg := testConfig()
	cfg.DelegatedFiles = append(cfg.DelegatedFiles, "testdata/delegated-bad")
	e, err := New(cfg, nil, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	files := e.RIRFiles()
	if len(files) != 2 {
		t.Fatalf("%d reports, want 2", len(files))
	}
	if diff := cmp.Diff(files[0], FileReport{Path: "testdata/delegated-small", IPv4: 3, IPv6: 2, ASN: 3, NotDelegated: 1}); diff != "" {
		t.Errorf("report (-got +want):\n%s", diff)
	}
	if files[1].Malformed != 13 || files[1].Problems[0].Line != 6 {
		t.Errorf("delegated-bad: %d malformed, first at line %d; want 13, line 6", files[1].Malformed, files[1].Problems[0].Line)
	}
	// A later file wins for the same prefix: delegated-bad has 198.51.100.0/24 in WS.
	f := flow.Flow{SrcAddr: addr("198.51.100.1")}
	e.Enrich(&f)
	if f.SrcCountry != "WS" {
		t.Errorf("198.51.100.1 in %q, want WS from the later file", f.SrcCountry)
	}
	// The caller's copy is its own.
	files[1].Problems[0].Line = 0
	files[1].Problems = nil
	if again := e.RIRFiles(); len(again[1].Problems) != 13 {
		t.Errorf("RIRFiles changed by its caller")
	}
}

func TestMetrics(t *testing.T) {
	reg := prometheus.NewPedanticRegistry()
	cfg := testConfig()
	cfg.DelegatedFiles = append(cfg.DelegatedFiles, "testdata/delegated-bad")
	e, err := New(cfg, testMembers(), nil, reg)
	if err != nil {
		t.Fatal(err)
	}
	flows := []flow.Flow{
		{Exporter: switchAddr, SrcMAC: macA, DstMAC: macB, SrcAddr: addr("198.51.100.65"), DstAddr: addr("198.51.100.66")},
		{Exporter: switchAddr, SrcMAC: macA, DstMAC: macA, SrcAddr: addr("198.51.100.65"), DstAddr: addr("10.0.0.1")},
		{Exporter: switchAddr, SrcMAC: macNone, DstMAC: macNone},
		{Exporter: edgeAddr, InIf: ifIXP, OutIf: ifCustomer},
		{Exporter: edgeAddr, InIf: ifOther, OutIf: ifCustomer},
		{Exporter: otherAddr},
	}
	for i := range flows {
		e.Enrich(&flows[i])
	}
	// A second Enricher on the same registerer (a reload) shares the counters.
	e2, err := New(cfg, testMembers(), nil, reg)
	if err != nil {
		t.Fatal(err)
	}
	e2.Enrich(&flow.Flow{Exporter: otherAddr})

	want := `
# HELP ixpd_flow_enrich_flows_total Flows enriched, by the role of their exporter (unknown: not in the configuration).
# TYPE ixpd_flow_enrich_flows_total counter
ixpd_flow_enrich_flows_total{role="ixp_switch"} 3
ixpd_flow_enrich_flows_total{role="member_edge"} 2
ixpd_flow_enrich_flows_total{role="unknown"} 2
# HELP ixpd_flow_enrich_rir_lines_skipped_total Records of the RIR delegated files not loaded, by file and reason (malformed, not_delegated).
# TYPE ixpd_flow_enrich_rir_lines_skipped_total counter
ixpd_flow_enrich_rir_lines_skipped_total{file="testdata/delegated-bad",reason="malformed"} 26
ixpd_flow_enrich_rir_lines_skipped_total{file="testdata/delegated-bad",reason="not_delegated"} 2
ixpd_flow_enrich_rir_lines_skipped_total{file="testdata/delegated-small",reason="malformed"} 0
ixpd_flow_enrich_rir_lines_skipped_total{file="testdata/delegated-small",reason="not_delegated"} 2
# HELP ixpd_flow_enrich_same_member_samples_total Peering-LAN switch samples whose two ends are the same member (not IXP-exchanged).
# TYPE ixpd_flow_enrich_same_member_samples_total counter
ixpd_flow_enrich_same_member_samples_total 1
# HELP ixpd_flow_enrich_unknown_country_total Flows with an end whose country is not known, by end.
# TYPE ixpd_flow_enrich_unknown_country_total counter
ixpd_flow_enrich_unknown_country_total{end="dst"} 6
ixpd_flow_enrich_unknown_country_total{end="src"} 5
# HELP ixpd_flow_enrich_unknown_member_samples_total Peering-LAN switch samples whose source or destination MAC and address match no member, by end.
# TYPE ixpd_flow_enrich_unknown_member_samples_total counter
ixpd_flow_enrich_unknown_member_samples_total{end="dst"} 1
ixpd_flow_enrich_unknown_member_samples_total{end="src"} 1
# HELP ixpd_flow_enrich_unknown_path_flows_total Member-edge flows whose interface roles give no path class (an interface missing from the configuration).
# TYPE ixpd_flow_enrich_unknown_path_flows_total counter
ixpd_flow_enrich_unknown_path_flows_total 1
`
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want)); err != nil {
		t.Error(err)
	}
	problems, err := testutil.GatherAndLint(reg)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range problems {
		t.Errorf("metric %s: %s", p.Metric, p.Text)
	}
}

// TestSetMembersConcurrent swaps between two member sets that map the same MACs to different members
// while flows are enriched: every flow must see one set or the other, never a mix. Run with -race.
func TestSetMembersConcurrent(t *testing.T) {
	first := testMembers()
	second := &members.Set{Members: []members.Member{
		{ASN: 65011, MACs: []net.HardwareAddr{mac("02:00:00:00:00:0a")}},
		{ASN: 65012, MACs: []net.HardwareAddr{mac("02:00:00:00:00:0b")}},
	}}
	e, err := New(testConfig(), first, testRoutes(), nil)
	if err != nil {
		t.Fatal(err)
	}
	const workers, flowsEach, swaps = 4, 20000, 2000
	type pair struct{ src, dst uint32 }
	var wg sync.WaitGroup
	seen := make([]map[pair]int, workers)
	for w := range workers {
		seen[w] = map[pair]int{}
		wg.Go(func() {
			f := flow.Flow{Exporter: switchAddr, SrcMAC: macA, DstMAC: macB,
				SrcAddr: addr("198.51.100.1"), DstAddr: addr("2001:db8:1::1")}
			for range flowsEach {
				e.Enrich(&f)
				seen[w][pair{f.SrcMember, f.DstMember}]++
			}
		})
	}
	for i := range swaps {
		if i%2 == 0 {
			e.SetMembers(second)
		} else {
			e.SetMembers(first)
		}
	}
	wg.Wait()
	for w, s := range seen {
		for p, n := range s {
			if p != (pair{65001, 65002}) && p != (pair{65011, 65012}) {
				t.Errorf("worker %d: %d flows from AS%d to AS%d, a mix of two member sets", w, n, p.src, p.dst)
			}
		}
	}
	e.SetMembers(nil)
	f := flow.Flow{Exporter: switchAddr, SrcMAC: macA, DstMAC: macB}
	e.Enrich(&f)
	if f.SrcMember != 0 || f.DstMember != 0 {
		t.Errorf("after SetMembers(nil): members %d and %d, want none", f.SrcMember, f.DstMember)
	}
}

func TestEnrichDoesNotAllocate(t *testing.T) {
	if testing.CoverMode() != "" && os.Getenv("CI") != "true" {
		t.Skip("coverage counters change allocation counts")
	}
	e, err := New(testConfig(), testMembers(), testRoutes(), prometheus.NewRegistry())
	if err != nil {
		t.Fatal(err)
	}
	flows := []flow.Flow{
		{Exporter: switchAddr, SrcMAC: macA, DstMAC: macB, SrcAddr: addr("198.51.100.65"), DstAddr: addr("2001:db8:1::1")},
		{Exporter: edgeAddr, InIf: ifIXP, OutIf: ifCustomer, SrcAddr: addr("::ffff:203.0.113.1"), DstAddr: addr("10.0.0.1"), SrcAS: 64502},
		{Exporter: otherAddr, SrcAddr: addr("2001:db9::1"), DstAddr: addr("192.0.2.10")},
	}
	for i := range flows {
		if allocs := testing.AllocsPerRun(1000, func() { e.Enrich(&flows[i]) }); allocs != 0 {
			t.Errorf("flow %d: %v allocations per Enrich, want 0", i, allocs)
		}
	}
}

func TestEgressSampleIsNotIXPTraffic(t *testing.T) {
	e := newTestEnricher(t, nil)
	ing := flow.Flow{Exporter: switchAddr, SrcMAC: macA, DstMAC: macB,
		SrcAddr: addr("198.51.100.1"), DstAddr: addr("203.0.113.1"), EType: 0x0800}
	egr := ing
	egr.Egress = true
	e.Enrich(&ing)
	e.Enrich(&egr)
	if !ing.IXPExchanged || egr.IXPExchanged {
		t.Errorf("ingress sample IXP traffic %v, egress %v; want true, false", ing.IXPExchanged, egr.IXPExchanged)
	}
}
