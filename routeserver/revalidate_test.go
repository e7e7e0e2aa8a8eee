package routeserver

import (
	"net/netip"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestChangedVRPs(t *testing.T) {
	v := func(p string, maxLen uint8, asn uint32) vrp {
		return vrp{prefix: netip.MustParsePrefix(p), maxLen: maxLen, asn: asn}
	}
	old := []vrp{v("16.1.0.0/16", 24, 1), v("16.2.0.0/16", 16, 2), v("16.3.0.0/24", 24, 3), v("2001:db8::/32", 48, 4)}
	next := []vrp{v("16.1.0.0/16", 24, 1), v("16.2.0.0/16", 20, 2), v("2001:db8::/32", 48, 4), v("2001:db8:1::/48", 48, 5)}
	got := changedVRPs(old, next)
	want := []netip.Prefix{netip.MustParsePrefix("16.2.0.0/16"), netip.MustParsePrefix("16.2.0.0/16"),
		netip.MustParsePrefix("16.3.0.0/24"), netip.MustParsePrefix("2001:db8:1::/48")}
	if diff := cmp.Diff(got, want, cmp.Comparer(func(a, b netip.Prefix) bool { return a == b })); diff != "" {
		t.Errorf("changed (-got +want):\n%s", diff)
	}
	if got := changedVRPs(next, next); len(got) != 0 {
		t.Errorf("no change gave %v", got)
	}
	if got := changedVRPs(nil, old); len(got) != len(old) {
		t.Errorf("from nothing: %d changed, want %d", len(got), len(old))
	}
}
