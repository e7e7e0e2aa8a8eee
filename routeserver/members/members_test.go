package members

import (
	"net"
	"net/netip"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

// cmpOpts compare the types of this package in tests.
var cmpOpts = []cmp.Option{cmpopts.EquateComparable(netip.Addr{})}

func TestFamilyString(t *testing.T) {
	tests := []struct {
		family Family
		want   string
	}{
		{family: IPv4, want: "ipv4"},
		{family: IPv6, want: "ipv6"},
		{family: 0, want: "Family(0)"},
	}
	for _, tt := range tests {
		if got := tt.family.String(); got != tt.want {
			t.Errorf("Family(%d).String() = %q, want %q", uint8(tt.family), got, tt.want)
		}
	}
}

// fullSet is what testdata/valid/full.json holds.
func fullSet() *Set {
	mac := func(s string) net.HardwareAddr {
		m, err := net.ParseMAC(s)
		if err != nil {
			panic(err)
		}
		return m
	}
	ip := netip.MustParseAddr
	return &Set{
		Version:   "1.0",
		Timestamp: time.Date(2025, 3, 1, 11, 0, 0, 0, time.UTC),
		Members: []Member{
			{
				ASN:           64512,
				Name:          "Lab ISP One",
				Type:          "peering",
				PeeringPolicy: "open",
				URL:           "https://one.lab.example/",
				Addresses: []Address{
					{Family: IPv4, IP: ip("127.0.0.10"), RouteServer: true, MaxPrefix: 100, ASMacro: "AS-LABONE", VLANID: 10},
					{Family: IPv6, IP: ip("fd00:ffff::10"), RouteServer: true, MaxPrefix: 50, ASMacro: "AS-LABONE-V6", VLANID: 10},
					{Family: IPv4, IP: ip("127.0.0.11"), VLANID: 10},
				},
				MACs: []net.HardwareAddr{mac("02:00:00:00:00:0a"), mac("02:00:00:00:00:0b")},
			},
			{
				ASN:           4200000001,
				Name:          "Lab Content Two",
				Type:          "peering",
				PeeringPolicy: "selective",
				Addresses: []Address{
					{Family: IPv6, IP: ip("fd00:ffff::20"), RouteServer: true, VLANID: 10},
				},
			},
			{
				ASN:  112,
				Name: "AS112 Lab Node",
				Type: "other",
				Addresses: []Address{
					{Family: IPv4, IP: ip("127.0.0.112"), RouteServer: true, MaxPrefix: 2, VLANID: 10},
				},
			},
			{
				ASN:  65534,
				Name: "LAB-IX Route Servers",
				Type: "ixp",
				Addresses: []Address{
					{Family: IPv4, IP: ip("127.0.0.1"), VLANID: 10},
					{Family: IPv6, IP: ip("fd00:ffff::1"), VLANID: 10},
				},
			},
			{ASN: 4294967294, Name: "Lab Member Being Provisioned"},
			{
				ASN: 65000,
				Addresses: []Address{
					{Family: IPv4, IP: ip("127.0.0.200")},
				},
			},
		},
	}
}

func TestSessions(t *testing.T) {
	set, err := Load("testdata/valid/full.json", Options{PeeringLANs: labLANs})
	if err != nil {
		t.Fatalf("Load() error: %v", err)
	}
	type session struct {
		ASN uint32
		IP  string
	}
	var got []session
	for _, s := range set.Sessions() {
		got = append(got, session{ASN: s.Member.ASN, IP: s.Address.IP.String()})
		if !s.Address.RouteServer {
			t.Errorf("Sessions() returned %s without RouteServer", s.Address.IP)
		}
	}
	want := []session{
		{ASN: 64512, IP: "127.0.0.10"},
		{ASN: 64512, IP: "fd00:ffff::10"},
		{ASN: 4200000001, IP: "fd00:ffff::20"},
		{ASN: 112, IP: "127.0.0.112"},
	}
	if diff := cmp.Diff(got, want); diff != "" {
		t.Errorf("Sessions() (-got +want):\n%s", diff)
	}
	if s := set.Sessions(); &set.Members[0] != s[0].Member {
		t.Errorf("Sessions()[0].Member does not point into the Set")
	}
	if got := (&Set{}).Sessions(); got != nil {
		t.Errorf("Sessions() of an empty Set = %v, want nil", got)
	}
}
