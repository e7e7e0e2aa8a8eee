package main

import (
	"net/netip"
	"slices"
	"testing"
	"time"

	"github.com/ixpd/ixpd/routeserver/speaker"
	"github.com/osrg/gobgp/v4/pkg/packet/bgp"
)

func TestMemberAddr(t *testing.T) {
	tests := []struct {
		i    int
		want string
	}{
		{0, "127.0.0.10"},
		{1, "127.0.0.11"},
		{245, "127.0.0.255"},
		{246, "127.0.1.0"},
		{999, "127.0.3.241"},
		{maxMembers - 1, "127.0.39.25"},
	}
	for _, tt := range tests {
		if got := memberAddr(tt.i); got.String() != tt.want {
			t.Errorf("memberAddr(%d) = %s, want %s", tt.i, got, tt.want)
		}
	}
	seen := map[netip.Addr]bool{}
	for i := range maxMembers {
		a := memberAddr(i)
		if seen[a] || !peeringLAN.Contains(a) || a == rsAddr {
			t.Fatalf("member %d: address %s repeats, leaves the peering LAN or is the route server's", i, a)
		}
		seen[a] = true
	}
}

func TestPrefixIndex(t *testing.T) {
	tests := []struct {
		g    int
		want string
	}{
		{0, "16.0.0.0/24"},
		{1, "16.0.1.0/24"},
		{256, "16.1.0.0/24"},
		{65536, "17.0.0.0/24"},
		{maxPrefixes - 1, "100.63.255.0/24"},
	}
	for _, tt := range tests {
		p := prefixOf(tt.g)
		if p.String() != tt.want {
			t.Errorf("prefixOf(%d) = %s, want %s", tt.g, p, tt.want)
		}
		if g, ok := indexOf(p); !ok || g != tt.g {
			t.Errorf("indexOf(%s) = %d, %v; want %d", p, g, ok, tt.g)
		}
	}
	for _, s := range []string{"15.255.255.0/24", "100.64.0.0/24", "16.0.0.0/23", "16.0.0.0/25", "2001:db8::/48"} {
		if g, ok := indexOf(netip.MustParsePrefix(s)); ok {
			t.Errorf("indexOf(%s) = %d, want not generated", s, g)
		}
	}
	// Every generated prefix is outside the special-purpose blocks the
	// route servers filter.
	for _, b := range bogonsV4 {
		bp := netip.MustParsePrefix(b)
		if bp.Overlaps(prefixOf(0)) || bp.Overlaps(prefixOf(maxPrefixes-1)) {
			t.Errorf("bogon %s overlaps the generated range", b)
		}
		first, last := prefixOf(0).Addr(), prefixOf(maxPrefixes-1).Addr()
		if bp.Addr().Compare(first) >= 0 && bp.Addr().Compare(last) <= 0 {
			t.Errorf("bogon %s lies inside the generated range", b)
		}
	}
}

func TestCheckScale(t *testing.T) {
	tests := []struct {
		n, k int
		ok   bool
	}{
		{100, 1000, true},
		{30, 5000, true},
		{1, 10, false},
		{maxMembers + 1, 1, false},
		{10, 0, false},
		{1000, maxPrefixes/1000 + 1, false},
	}
	for _, tt := range tests {
		if err := checkScale(tt.n, tt.k); (err == nil) != tt.ok {
			t.Errorf("checkScale(%d, %d) = %v, want ok %v", tt.n, tt.k, err, tt.ok)
		}
	}
}

func TestEncodeMember(t *testing.T) {
	const k = 1500
	msgs, err := encodeMember(3, k)
	if err != nil {
		t.Fatal(err)
	}
	// 1500 /24s need two UPDATEs, then the End-of-RIB.
	if len(msgs) != 3 {
		t.Fatalf("%d messages, want 3", len(msgs))
	}
	var got []netip.Prefix
	for _, m := range msgs {
		msg, err := bgp.ParseBGPMessage(m)
		if err != nil {
			t.Fatal(err)
		}
		u := msg.Body.(*bgp.BGPUpdate)
		for _, n := range u.NLRI {
			got = append(got, n.NLRI.(*bgp.IPAddrPrefix).Prefix)
		}
		for _, pa := range u.PathAttributes {
			switch pa := pa.(type) {
			case *bgp.PathAttributeNextHop:
				if pa.Value != memberAddr(3) {
					t.Errorf("next hop %s, want %s", pa.Value, memberAddr(3))
				}
			case *bgp.PathAttributeAsPath:
				if s := bgp.AsPathString(pa); s != "210003 220003" {
					t.Errorf("AS path %q", s)
				}
			}
		}
	}
	if !slices.Equal(got, memberPrefixes(3, k)) {
		t.Errorf("messages carry %d prefixes, not member 3's %d", len(got), k)
	}
	for _, p := range got {
		if g, ok := indexOf(p); !ok || g/k != 3 {
			t.Fatalf("prefix %s (index %d) does not belong to member 3", p, g)
		}
	}
}

func TestBitset(t *testing.T) {
	b := newBitset(130)
	if !b.set(0) || !b.set(129) || b.set(129) {
		t.Fatal("set")
	}
	if b.count() != 2 {
		t.Errorf("count %d, want 2", b.count())
	}
	if !b.clear(129) || b.clear(129) {
		t.Fatal("clear")
	}
	b.reset()
	if b.count() != 0 {
		t.Errorf("count after reset %d", b.count())
	}
}

// TestConvergenceTracking drives the members' callbacks by hand.
func TestConvergenceTracking(t *testing.T) {
	const n, k = 3, 4
	members := make([]*member, n)
	for i := range members {
		members[i] = &member{idx: i}
	}
	r := newRunState(members, k)
	cb := make([]func(a, w []netip.Prefix, _ speaker.RawAttributes), n)
	for i, m := range members {
		cb[i] = r.onUpdate(m)
	}
	converged := func() bool {
		select {
		case <-r.converged:
			return true
		default:
			return false
		}
	}
	// Member 0 gets members 1 and 2's prefixes, one twice, and its own.
	cb[0](append(memberPrefixes(1, k), memberPrefixes(1, k)[0]), nil, nil)
	cb[0](memberPrefixes(0, k), nil, nil)
	cb[0](memberPrefixes(2, k), nil, nil)
	if got := members[0].held.Load(); got != 2*k {
		t.Errorf("member 0 holds %d, want %d", got, 2*k)
	}
	if got := members[0].unexpected.Load(); got != k {
		t.Errorf("member 0 unexpected %d, want %d", got, k)
	}
	// A withdrawal takes member 0 out of the complete set and back.
	cb[0](nil, memberPrefixes(2, k)[:1], nil)
	if r.complete.Load() != 0 {
		t.Errorf("complete %d after a withdrawal, want 0", r.complete.Load())
	}
	cb[0](memberPrefixes(2, k)[:1], nil, nil)
	cb[1](append(memberPrefixes(0, k), memberPrefixes(2, k)...), nil, nil)
	if converged() {
		t.Fatal("converged with member 2 empty")
	}
	if lo, med := r.heldStats(); lo != 0 || med != 2*k {
		t.Errorf("held min %d median %d, want 0 and %d", lo, med, 2*k)
	}
	before := time.Now()
	cb[2](append(memberPrefixes(0, k), memberPrefixes(1, k)...), nil, nil)
	if !converged() {
		t.Fatal("not converged when every member holds every other's prefixes")
	}
	if r.convergedAt.Before(before) {
		t.Error("convergence time before the last update")
	}
}
