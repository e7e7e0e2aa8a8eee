package members

import (
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// exportTime is the export time of the tests.
var exportTime = time.Date(2025, 3, 2, 9, 30, 0, 0, time.FixedZone("CET", 3600))

// labIXP describes the exchange of the fixtures under testdata/, with every field set.
func labIXP() IXPInfo {
	return IXPInfo{
		IXFID:        1,
		PeeringDBID:  4242,
		ShortName:    "LAB-IX",
		Name:         "Laboratory Internet Exchange",
		Country:      "ZZ",
		URL:          "https://ix.lab.example/?lang=en&view=members",
		SupportEmail: "noc@ix.lab.example",
		PeeringLANs:  labLANs,
		VLANID:       10,
	}
}

// orderingSet has addresses that cannot all be paired into vlan_list entries, and MAC addresses.
func orderingSet() *Set {
	ip := netip.MustParseAddr
	return &Set{Members: []Member{{
		ASN:  64512,
		Type: "other",
		Addresses: []Address{
			{Family: IPv6, IP: ip("fd00:ffff::30"), VLANID: 10},
			{Family: IPv4, IP: ip("127.0.0.30"), RouteServer: true, VLANID: 10},
			{Family: IPv4, IP: ip("127.0.0.31"), VLANID: 10},
			{Family: IPv6, IP: ip("fd00:ffff::31"), VLANID: 20},
			{Family: IPv4, IP: ip("127.0.0.32")},
			{Family: IPv6, IP: ip("fd00:ffff::32")},
		},
		MACs: []net.HardwareAddr{{2, 0, 0, 0, 0, 0x30}, {2, 0, 0, 0, 0, 0x31}},
	}}}
}

// loadValid loads a fixture of testdata/valid.
func loadValid(t *testing.T, name string) *Set {
	t.Helper()
	set, err := Load(filepath.Join("testdata", "valid", name+".json"), Options{PeeringLANs: labLANs})
	if err != nil {
		t.Fatalf("Load() error: %v", err)
	}
	return set
}

// validNames returns the names of the fixtures of testdata/valid, without extension.
func validNames(t *testing.T) []string {
	t.Helper()
	files, err := filepath.Glob("testdata/valid/*.json")
	if err != nil {
		t.Fatal(err)
	}
	if len(files) == 0 {
		t.Fatal("no fixture in testdata/valid")
	}
	names := make([]string, len(files))
	for i, f := range files {
		names[i] = strings.TrimSuffix(filepath.Base(f), ".json")
	}
	return names
}

// TestExportGolden compares the export of each fixture with testdata/export/<name>.json byte for
// byte. Run with -update to rewrite the golden files, then review them.
func TestExportGolden(t *testing.T) {
	tests := []struct {
		name string
		ixp  IXPInfo
	}{
		{name: "full", ixp: labIXP()},
		// Only the required fields: the optional ones must be left out.
		{name: "minimal", ixp: IXPInfo{IXFID: 1, ShortName: "LAB-IX"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Export(loadValid(t, tt.name), tt.ixp, exportTime, nil)
			if err != nil {
				t.Fatalf("Export() error: %v", err)
			}
			golden := filepath.Join("testdata", "export", tt.name+".json")
			if *update {
				if err := os.MkdirAll(filepath.Dir(golden), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(golden, got, 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(strings.Split(string(got), "\n"), strings.Split(string(want), "\n")); diff != "" {
				t.Errorf("Export() (-got +want):\n%s", diff)
			}
			again, err := Export(loadValid(t, tt.name), tt.ixp, exportTime, nil)
			if err != nil {
				t.Fatalf("second Export() error: %v", err)
			}
			if string(again) != string(got) {
				t.Errorf("two exports of the same Set differ")
			}
		})
	}
}

// TestExportSchema validates exports against the official IX-F 1.0 schema.
func TestExportSchema(t *testing.T) {
	schemaFile := officialSchema(t)
	sets := map[string]*Set{"ordering": orderingSet()}
	for _, name := range validNames(t) {
		sets[name] = loadValid(t, name)
	}
	for name, set := range sets {
		for _, ixp := range []IXPInfo{labIXP(), {IXFID: 1, ShortName: "LAB-IX"}} {
			data, err := Export(set, ixp, exportTime, nil)
			if err != nil {
				t.Fatalf("%s: Export() error: %v", name, err)
			}
			problems, err := validateSchema(schemaFile, data)
			if err != nil {
				t.Fatalf("%s: validateSchema() error: %v", name, err)
			}
			for _, p := range problems {
				t.Errorf("%s: %v", name, p)
			}
		}
	}
}

// TestExportRoundTrip checks that Parse gives back the exported members, with an empty member_type
// read back as "peering".
func TestExportRoundTrip(t *testing.T) {
	tests := []struct {
		name string
		set  func(t *testing.T) *Set
	}{
		{name: "ordering", set: func(*testing.T) *Set { return orderingSet() }},
	}
	for _, name := range validNames(t) {
		tests = append(tests, struct {
			name string
			set  func(t *testing.T) *Set
		}{name: name, set: func(t *testing.T) *Set { return loadValid(t, name) }})
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			set := tt.set(t)
			data, err := Export(set, labIXP(), exportTime, nil)
			if err != nil {
				t.Fatalf("Export() error: %v", err)
			}
			got, err := Parse(data, Options{PeeringLANs: labLANs})
			if err != nil {
				t.Fatalf("Parse(Export()) error: %v\n%s", err, data)
			}
			want := &Set{Version: "1.0", Timestamp: exportTime.UTC(), Members: tt.set(t).Members}
			for i := range want.Members {
				if want.Members[i].Type == "" {
					want.Members[i].Type = "peering"
				}
			}
			if diff := cmp.Diff(got, want, cmpOpts...); diff != "" {
				t.Errorf("Parse(Export()) (-got +want):\n%s", diff)
			}
		})
	}
}

// TestExportRouteServerState checks the routeserver flags written for each live state.
func TestExportRouteServerState(t *testing.T) {
	// In full.json, these addresses have routeserver set; 127.0.0.1 (a route server) has not.
	const (
		one4  = "127.0.0.10"
		one6  = "fd00:ffff::10"
		two6  = "fd00:ffff::20"
		as112 = "127.0.0.112"
		rs4   = "127.0.0.1"
	)
	type state struct{ configured, established bool }
	stateOf := func(states map[string]state) SessionState {
		return func(addr netip.Addr) (bool, bool) {
			s := states[addr.String()]
			return s.configured, s.established
		}
	}
	tests := []struct {
		name  string
		state SessionState
		want  []string // addresses whose routeserver flag is true
	}{
		{
			name:  "unknown state keeps the flags of the Set",
			state: nil,
			want:  []string{one4, one6, two6, as112},
		},
		{
			name: "configured sessions keep their flag, established or not",
			state: stateOf(map[string]state{
				one4:  {configured: true, established: true},
				one6:  {configured: true, established: false},
				two6:  {configured: true, established: true},
				as112: {configured: true, established: false},
			}),
			want: []string{one4, one6, two6, as112},
		},
		{
			name: "sessions not configured on the route server lose their flag",
			state: stateOf(map[string]state{
				one4: {configured: true, established: true},
				two6: {configured: false, established: false},
			}),
			want: []string{one4},
		},
		{
			name: "a session the Set does not ask for gets no flag",
			state: stateOf(map[string]state{
				rs4:   {configured: true, established: true},
				as112: {configured: true, established: true},
			}),
			want: []string{as112},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			data, err := Export(loadValid(t, "full"), labIXP(), exportTime, tt.state)
			if err != nil {
				t.Fatalf("Export() error: %v", err)
			}
			set, err := Parse(data, Options{PeeringLANs: labLANs})
			if err != nil {
				t.Fatalf("Parse(Export()) error: %v", err)
			}
			var got []string
			for _, s := range set.Sessions() {
				got = append(got, s.Address.IP.String())
			}
			if diff := cmp.Diff(got, tt.want); diff != "" {
				t.Errorf("routeserver flags (-got +want):\n%s", diff)
			}
		})
	}
}

func TestExportErrors(t *testing.T) {
	ip := netip.MustParseAddr
	oneAddress := func(a Address) *Set {
		return &Set{Members: []Member{{ASN: 64512}, {ASN: 64513, Addresses: []Address{a}}}}
	}
	tests := []struct {
		name string
		set  *Set
		ixp  IXPInfo
		want string
	}{
		{
			name: "no set",
			ixp:  labIXP(),
			want: "export members: no member set",
		},
		{
			name: "no ixf_id",
			set:  &Set{},
			ixp:  IXPInfo{ShortName: "LAB-IX"},
			want: "export members: ixf_id: 0 is not an IX-F database id",
		},
		{
			name: "no shortname",
			set:  &Set{},
			ixp:  IXPInfo{IXFID: 1},
			want: "export members: shortname: required",
		},
		{
			name: "negative peeringdb_id",
			set:  &Set{},
			ixp:  IXPInfo{IXFID: 1, ShortName: "LAB-IX", PeeringDBID: -1},
			want: "export members: peeringdb_id: -1 is negative",
		},
		{
			name: "VLAN id out of range",
			set:  &Set{},
			ixp:  IXPInfo{IXFID: 1, ShortName: "LAB-IX", VLANID: 4096},
			want: "export members: vlan id: 4096 is not an 802.1Q VLAN id",
		},
		{
			name: "invalid peering LAN",
			set:  &Set{},
			ixp:  IXPInfo{IXFID: 1, ShortName: "LAB-IX", PeeringLANs: []netip.Prefix{{}}},
			want: "export members: peering LAN invalid Prefix is not a prefix",
		},
		{
			name: "address of the wrong family",
			set:  oneAddress(Address{Family: IPv4, IP: ip("fd00:ffff::10")}),
			ixp:  labIXP(),
			want: "export members: member_list[1] (AS64513): address fd00:ffff::10: not an ipv4 address",
		},
		{
			name: "unknown family",
			set:  oneAddress(Address{IP: ip("127.0.0.10")}),
			ixp:  labIXP(),
			want: "export members: member_list[1] (AS64513): address 127.0.0.10: unknown family Family(0)",
		},
		{
			name: "negative max_prefix",
			set:  oneAddress(Address{Family: IPv4, IP: ip("127.0.0.10"), MaxPrefix: -1}),
			ixp:  labIXP(),
			want: "export members: member_list[1] (AS64513): address 127.0.0.10: max_prefix -1 is negative",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			data, err := Export(tt.set, tt.ixp, exportTime, nil)
			if err == nil {
				t.Fatalf("Export() = %s, want an error", data)
			}
			if got := err.Error(); got != tt.want {
				t.Errorf("Export() error = %q, want %q", got, tt.want)
			}
		})
	}
}
