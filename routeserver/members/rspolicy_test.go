package members

import (
	"net/netip"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestRouteServerExtension(t *testing.T) {
	data := []byte(`{"version": "1.0", "timestamp": "2025-03-01T12:00:00Z",
  "ixp_list": [{"ixp_id": 1, "ixf_id": 1, "shortname": "LAB-IX"}],
  "member_list": [
    {"asnum": 38800, "connection_list": [{"ixp_id": 1, "vlan_list": [{"vlan_id": 1,
      "ipv4": {"address": "192.0.2.10", "as_macro": "AS-ONE", "routeserver": true},
      "ipv6": {"address": "2001:db8::10", "as_macro": "AS-ONE", "routeserver": true}}]}],
     "ixpd": {"routeserver": {"blackhole": true, "extra_next_hops": ["192.0.2.99", "::ffff:192.0.2.98"],
       "extra_prefixes": ["198.51.100.0/24", "203.0.113.0/24 le 32"], "blocklist": ["198.51.100.128/25"],
       "skip_filters": ["first_as", "irr"]}}},
    {"asnum": 38801, "connection_list": [{"ixp_id": 1, "vlan_list": [{"vlan_id": 1,
      "ipv4": {"address": "192.0.2.11", "routeserver": true}}]}]},
    {"asnum": 38802, "connection_list": [{"ixp_id": 1}], "ixpd": {"routeserver": {"as_sets": ["AS-X", "AS-Y"]}}}
  ]}`)
	set, err := Parse(data, Options{})
	if err != nil {
		t.Fatal(err)
	}
	want := RouteServerPolicy{
		Blackhole:     true,
		ExtraNextHops: []netip.Addr{netip.MustParseAddr("192.0.2.99"), netip.MustParseAddr("192.0.2.98")},
		ExtraPrefixes: []string{"198.51.100.0/24", "203.0.113.0/24 le 32"},
		Blocklist:     []string{"198.51.100.128/25"},
		SkipFilters:   []string{"first_as", "irr"},
	}
	if diff := cmp.Diff(set.Members[0].RouteServer, want, cmpOpts...); diff != "" {
		t.Errorf("extension (-got +want):\n%s", diff)
	}
	for i, want := range [][]string{{"AS-ONE"}, {"AS38801"}, {"AS-X", "AS-Y"}} {
		if diff := cmp.Diff(set.Members[i].ASSets(), want); diff != "" {
			t.Errorf("member %d ASSets (-got +want):\n%s", i, diff)
		}
	}
}
