package speaker

import (
	"errors"
	"net/netip"
	"slices"
	"testing"

	"github.com/osrg/gobgp/v4/pkg/packet/bgp"
)

// parseWithGoBGP decodes msgs with GoBGP's full parser and returns their
// announced and withdrawn prefixes.
func parseWithGoBGP(t *testing.T, msgs [][]byte) (announced, withdrawn []netip.Prefix) {
	t.Helper()
	for _, m := range msgs {
		if len(m) > bgp.BGP_MAX_MESSAGE_LENGTH {
			t.Fatalf("message of %d octets", len(m))
		}
		msg, err := bgp.ParseBGPMessage(m)
		if err != nil {
			t.Fatalf("gobgp cannot parse: %v", err)
		}
		u := msg.Body.(*bgp.BGPUpdate)
		for _, n := range u.NLRI {
			announced = append(announced, n.NLRI.(*bgp.IPAddrPrefix).Prefix)
		}
		for _, n := range u.WithdrawnRoutes {
			withdrawn = append(withdrawn, n.NLRI.(*bgp.IPAddrPrefix).Prefix)
		}
		for _, pa := range u.PathAttributes {
			switch pa := pa.(type) {
			case *bgp.PathAttributeMpReachNLRI:
				for _, n := range pa.Value {
					announced = append(announced, n.NLRI.(*bgp.IPAddrPrefix).Prefix)
				}
			case *bgp.PathAttributeMpUnreachNLRI:
				for _, n := range pa.Value {
					withdrawn = append(withdrawn, n.NLRI.(*bgp.IPAddrPrefix).Prefix)
				}
			}
		}
	}
	return announced, withdrawn
}

func TestEncodeUpdatesPacking(t *testing.T) {
	v4attrs := Attributes{ASPath: []uint32{210001, 220001}, NextHop: netip.MustParseAddr("127.0.0.10")}
	v6attrs := Attributes{ASPath: []uint32{210001, 220001}, NextHop: netip.MustParseAddr("2001:db8::10")}
	mixedLengths := []netip.Prefix{
		netip.MustParsePrefix("16.0.0.0/8"), netip.MustParsePrefix("16.1.0.0/17"),
		netip.MustParsePrefix("16.2.3.4/32"), netip.MustParsePrefix("0.0.0.0/0"),
	}
	tests := []struct {
		name     string
		prefixes []netip.Prefix
		attrs    Attributes
		messages int
	}{
		// 4096 - 23 octets of header and lengths - 4 ORIGIN - 13 AS_PATH
		// - 7 NEXT_HOP leaves 4049 octets: 1012 /24s of 4 octets.
		{name: "ipv4 one message", prefixes: v4Prefixes(1012), attrs: v4attrs, messages: 1},
		{name: "ipv4 two messages", prefixes: v4Prefixes(1013), attrs: v4attrs, messages: 2},
		{name: "ipv4 many", prefixes: v4Prefixes(10000), attrs: v4attrs, messages: 10},
		{name: "ipv4 mixed lengths", prefixes: mixedLengths, attrs: v4attrs, messages: 1},
		// 4096 - 23 - 4 - 13 - 25 of MP_REACH_NLRI leaves 4031: 575 /48s
		// of 7 octets.
		{name: "ipv6 one message", prefixes: v6Prefixes(575), attrs: v6attrs, messages: 1},
		{name: "ipv6 two messages", prefixes: v6Prefixes(576), attrs: v6attrs, messages: 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			msgs, err := EncodeUpdates(tt.prefixes, tt.attrs)
			if err != nil {
				t.Fatal(err)
			}
			if len(msgs) != tt.messages {
				t.Errorf("%d messages, want %d", len(msgs), tt.messages)
			}
			got, _ := parseWithGoBGP(t, msgs)
			if !slices.Equal(got, tt.prefixes) {
				t.Errorf("gobgp decodes %d prefixes %v..., want %d", len(got), got[:min(3, len(got))], len(tt.prefixes))
			}
			// The speaker's own decoder agrees.
			var mine []netip.Prefix
			for _, m := range msgs {
				var nerr *NotificationError
				mine, _, _, nerr = decodeUpdate(m[bgp.BGP_HEADER_LENGTH:], mine, nil)
				if nerr != nil {
					t.Fatal(nerr)
				}
			}
			if !slices.Equal(mine, tt.prefixes) {
				t.Errorf("decodeUpdate finds %d prefixes, want %d", len(mine), len(tt.prefixes))
			}

			wmsgs, err := EncodeWithdrawals(tt.prefixes)
			if err != nil {
				t.Fatal(err)
			}
			_, wd := parseWithGoBGP(t, wmsgs)
			if !slices.Equal(wd, tt.prefixes) {
				t.Errorf("withdrawals decode to %d prefixes, want %d", len(wd), len(tt.prefixes))
			}
		})
	}
}

func TestEncodeUpdatesErrors(t *testing.T) {
	v4 := netip.MustParseAddr("127.0.0.1")
	tests := []struct {
		name     string
		prefixes []netip.Prefix
		attrs    Attributes
		want     error
	}{
		{
			name:     "mixed families",
			prefixes: []netip.Prefix{netip.MustParsePrefix("16.0.0.0/24"), netip.MustParsePrefix("2001:db8::/48")},
			attrs:    Attributes{NextHop: v4},
			want:     ErrMixedFamilies,
		},
		{name: "ipv4 with ipv6 next hop", prefixes: v4Prefixes(1), attrs: Attributes{NextHop: netip.MustParseAddr("::1")}},
		{name: "ipv6 with ipv4 next hop", prefixes: v6Prefixes(1), attrs: Attributes{NextHop: v4}},
		{name: "too many communities", prefixes: v4Prefixes(1), attrs: Attributes{NextHop: v4, Communities: make([]uint32, 1100)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := EncodeUpdates(tt.prefixes, tt.attrs)
			if err == nil || (tt.want != nil && !errors.Is(err, tt.want)) {
				t.Errorf("err = %v, want %v", err, tt.want)
			}
		})
	}
}

func TestDecodeUpdateErrors(t *testing.T) {
	good, err := EncodeUpdates(v6Prefixes(3), Attributes{ASPath: []uint32{1}, NextHop: netip.MustParseAddr("2001:db8::1")})
	if err != nil {
		t.Fatal(err)
	}
	body := good[0][bgp.BGP_HEADER_LENGTH:]
	tests := []struct {
		name    string
		body    []byte
		subcode uint8
	}{
		{name: "short", body: []byte{0, 0, 0}, subcode: bgp.BGP_ERROR_SUB_MALFORMED_ATTRIBUTE_LIST},
		{name: "withdrawn past end", body: []byte{0, 9, 0, 0}, subcode: bgp.BGP_ERROR_SUB_MALFORMED_ATTRIBUTE_LIST},
		{name: "attributes past end", body: []byte{0, 0, 0, 9, 1}, subcode: bgp.BGP_ERROR_SUB_MALFORMED_ATTRIBUTE_LIST},
		{name: "attribute past end", body: []byte{0, 0, 0, 4, 0x40, 1, 5, 0}, subcode: bgp.BGP_ERROR_SUB_ATTRIBUTE_LENGTH_ERROR},
		{name: "withdrawn prefix too long", body: []byte{0, 2, 40, 1, 0, 0}, subcode: bgp.BGP_ERROR_SUB_MALFORMED_ATTRIBUTE_LIST},
		{name: "nlri truncated", body: []byte{0, 0, 0, 0, 24, 16, 0}, subcode: bgp.BGP_ERROR_SUB_INVALID_NETWORK_FIELD},
		{
			name: "mp_reach prefix truncated",
			body: func() []byte {
				b := slices.Clone(body)
				// MP_REACH_NLRI comes first, short enough for a one-octet
				// length; its last prefix is a /48 (7 octets): claim /56.
				if b[5] != byte(bgp.BGP_ATTR_TYPE_MP_REACH_NLRI) || b[4]&byte(bgp.BGP_ATTR_FLAG_EXTENDED_LENGTH) != 0 {
					t.Fatalf("first attribute is %d with flags %#x", b[5], b[4])
				}
				end := 7 + int(b[6])
				b[end-7] = 56
				return b
			}(),
			subcode: bgp.BGP_ERROR_SUB_OPTIONAL_ATTRIBUTE_ERROR,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, _, _, nerr := decodeUpdate(tt.body, nil, nil)
			if nerr == nil {
				t.Fatal("no error")
			}
			if nerr.Code != bgp.BGP_ERROR_UPDATE_MESSAGE_ERROR || nerr.Subcode != tt.subcode {
				t.Errorf("error %d/%d, want 3/%d", nerr.Code, nerr.Subcode, tt.subcode)
			}
		})
	}
}

func TestDecodeUpdateDoesNotAllocate(t *testing.T) {
	msgs, err := EncodeUpdates(v4Prefixes(1000), Attributes{ASPath: []uint32{210001, 220001}, NextHop: netip.MustParseAddr("127.0.0.10")})
	if err != nil {
		t.Fatal(err)
	}
	body := msgs[0][bgp.BGP_HEADER_LENGTH:]
	ann := make([]netip.Prefix, 0, 2000)
	wd := make([]netip.Prefix, 0, 16)
	allocs := testing.AllocsPerRun(100, func() {
		var nerr *NotificationError
		ann, wd, _, nerr = decodeUpdate(body, ann[:0], wd[:0])
		if nerr != nil {
			t.Fatal(nerr)
		}
	})
	if allocs != 0 {
		t.Errorf("%v allocations per UPDATE of 1000 prefixes, want 0", allocs)
	}
}

func BenchmarkDecodeUpdate(b *testing.B) {
	msgs, err := EncodeUpdates(v4Prefixes(1000), Attributes{ASPath: []uint32{210001, 220001}, NextHop: netip.MustParseAddr("127.0.0.10")})
	if err != nil {
		b.Fatal(err)
	}
	body := msgs[0][bgp.BGP_HEADER_LENGTH:]
	var ann, wd []netip.Prefix
	b.ReportAllocs()
	b.SetBytes(int64(len(body)))
	for b.Loop() {
		ann, wd, _, _ = decodeUpdate(body, ann[:0], wd[:0])
	}
	b.ReportMetric(float64(len(ann)), "prefixes/op")
}

func FuzzDecodeUpdate(f *testing.F) {
	v4, _ := EncodeUpdates(v4Prefixes(5), Attributes{ASPath: []uint32{210001}, NextHop: netip.MustParseAddr("127.0.0.10"), Communities: []uint32{1}})
	v6, _ := EncodeUpdates(v6Prefixes(5), Attributes{ASPath: []uint32{210001}, NextHop: netip.MustParseAddr("2001:db8::1"), HasMED: true})
	w6, _ := EncodeWithdrawals(v6Prefixes(2))
	for _, m := range [][]byte{v4[0], v6[0], w6[0], EncodeEndOfRIB(IPv6Unicast)} {
		f.Add(m[bgp.BGP_HEADER_LENGTH:])
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		ann, wd, attrs, nerr := decodeUpdate(body, nil, nil)
		if nerr != nil {
			return
		}
		for _, p := range append(ann, wd...) {
			if !p.IsValid() {
				t.Fatalf("invalid prefix %v", p)
			}
		}
		_, _ = attrs.Decode() // must not panic; any error is fine
	})
}
