package irr

import (
	"net/netip"
	"testing"
)

func rng(prefix string, lo, hi uint8) PrefixRange {
	return PrefixRange{Prefix: netip.MustParsePrefix(prefix), Min: lo, Max: hi}
}

func TestParsePrefixRange(t *testing.T) {
	tests := []struct {
		in      string
		want    PrefixRange
		wantErr string
	}{
		{in: "192.0.2.0/24", want: rng("192.0.2.0/24", 24, 24)},
		{in: "  192.0.2.0/24  ", want: rng("192.0.2.0/24", 24, 24)},
		{in: "192.0.0.0/22 le 24", want: rng("192.0.0.0/22", 22, 24)},
		{in: "192.0.0.0/22 LE 24", want: rng("192.0.0.0/22", 22, 24)},
		{in: "192.0.2.0/24 ge 26", want: rng("192.0.2.0/24", 26, 32)},
		{in: "2001:db8::/32 ge 40 le 48", want: rng("2001:db8::/32", 40, 48)},
		{in: "2001:db8::/32 le 48 ge 40", want: rng("2001:db8::/32", 40, 48)},
		{in: "2001:db8::/32 ge 40", want: rng("2001:db8::/32", 40, 128)},
		{in: "0.0.0.0/0 ge 0 le 0", want: rng("0.0.0.0/0", 0, 0)},
		{in: "192.0.2.0/24+", want: rng("192.0.2.0/24", 24, 32)},
		{in: "2001:db8::/32+", want: rng("2001:db8::/32", 32, 128)},
		{in: "192.0.2.0/24^+", want: rng("192.0.2.0/24", 24, 32)},
		{in: "192.0.2.0/24^-", want: rng("192.0.2.0/24", 25, 32)},
		{in: "192.0.2.0/24^26", want: rng("192.0.2.0/24", 26, 26)},
		{in: "192.0.2.0/24^25-28", want: rng("192.0.2.0/24", 25, 28)},
		{in: "192.0.2.1/32", want: rng("192.0.2.1/32", 32, 32)},

		{in: "", wantErr: `prefix range "": empty`},
		{in: "192.0.2.0", wantErr: `prefix range "192.0.2.0": "192.0.2.0" has no prefix length`},
		{in: "192.0.2.0/33", wantErr: `prefix range "192.0.2.0/33": "192.0.2.0/33" is not an IP prefix`},
		{in: "example/24", wantErr: `prefix range "example/24": "example/24" is not an IP prefix`},
		{in: "192.0.2.0/22 le 24", wantErr: `prefix range "192.0.2.0/22 le 24": 192.0.2.0/22 has host bits set (192.0.0.0/22?)`},
		{in: "192.0.2.1/24", wantErr: `prefix range "192.0.2.1/24": 192.0.2.1/24 has host bits set (192.0.2.0/24?)`},
		{in: "192.0.2.0/24 le 20", wantErr: `prefix range "192.0.2.0/24 le 20": length 20 is below the prefix length 24`},
		{in: "192.0.2.0/24 ge 20", wantErr: `prefix range "192.0.2.0/24 ge 20": length 20 is below the prefix length 24`},
		{in: "192.0.2.0/24 le 33", wantErr: `prefix range "192.0.2.0/24 le 33": length 33 is above 32`},
		{in: "192.0.2.0/24 ge 40", wantErr: `prefix range "192.0.2.0/24 ge 40": length 40 is above 32`},
		{in: "2001:db8::/32 le 129", wantErr: `prefix range "2001:db8::/32 le 129": length 129 is above 128`},
		{in: "192.0.2.0/24 ge 28 le 26", wantErr: `prefix range "192.0.2.0/24 ge 28 le 26": ge 28 is above le 26`},
		{in: "192.0.2.0/24 ge 25 ge 26", wantErr: `prefix range "192.0.2.0/24 ge 25 ge 26": ge given twice`},
		{in: "192.0.2.0/24 le", wantErr: `prefix range "192.0.2.0/24 le": "le" needs a length`},
		{in: "192.0.2.0/24 le x", wantErr: `prefix range "192.0.2.0/24 le x": le "x": not a prefix length`},
		{in: "192.0.2.0/24 upto 28", wantErr: `prefix range "192.0.2.0/24 upto 28": unknown word "upto" (want ge or le)`},
		{in: "192.0.2.0/24+ le 28", wantErr: `prefix range "192.0.2.0/24+ le 28": "le 28" after ^+`},
		{in: "192.0.2.1/32^-", wantErr: `prefix range "192.0.2.1/32^-": /32 has no more specifics`},
		{in: "192.0.2.0/24^x", wantErr: `prefix range "192.0.2.0/24^x": range operator "^x": want ^+, ^-, ^n or ^n-m`},
		{in: "192.0.2.0/24^28-26", wantErr: `prefix range "192.0.2.0/24^28-26": range operator "^28-26": 28 is above 26`},
		{in: "192.0.2.0/24^20", wantErr: `prefix range "192.0.2.0/24^20": length 20 is below the prefix length 24`},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := ParsePrefixRange(tt.in)
			if tt.wantErr != "" {
				if err == nil || err.Error() != tt.wantErr {
					t.Fatalf("ParsePrefixRange(%q) error = %v, want %s", tt.in, err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("ParsePrefixRange(%q): %v", tt.in, err)
			}
			if got != tt.want {
				t.Fatalf("ParsePrefixRange(%q) = %v, want %v", tt.in, got, tt.want)
			}
		})
	}
}

func TestPrefixRangeString(t *testing.T) {
	tests := []struct {
		r    PrefixRange
		want string
	}{
		{rng("192.0.2.0/24", 24, 24), "192.0.2.0/24"},
		{rng("192.0.0.0/22", 22, 24), "192.0.0.0/22 le 24"},
		{rng("10.0.0.0/8", 16, 32), "10.0.0.0/8 ge 16"},
		{rng("10.0.0.0/8", 9, 24), "10.0.0.0/8 ge 9 le 24"},
		{rng("2001:db8::/32", 32, 128), "2001:db8::/32 le 128"},
		{rng("2001:db8::/32", 48, 128), "2001:db8::/32 ge 48"},
		{rng("2001:db8::/32", 40, 48), "2001:db8::/32 ge 40 le 48"},
	}
	for _, tt := range tests {
		t.Run(tt.want, func(t *testing.T) {
			if got := tt.r.String(); got != tt.want {
				t.Fatalf("String() = %q, want %q", got, tt.want)
			}
			back, err := ParsePrefixRange(tt.want)
			if err != nil || back != tt.r {
				t.Fatalf("ParsePrefixRange(%q) = %v, %v, want %v", tt.want, back, err, tt.r)
			}
		})
	}
}

func TestContains(t *testing.T) {
	tests := []struct {
		r     PrefixRange
		route string
		want  bool
	}{
		{rng("192.0.2.0/24", 24, 24), "192.0.2.0/24", true},
		{rng("192.0.2.0/24", 24, 24), "192.0.2.0/25", false},
		{rng("192.0.2.0/24", 24, 24), "192.0.0.0/23", false},
		{rng("192.0.2.0/24", 24, 24), "198.51.100.0/24", false},
		{rng("192.0.0.0/22", 22, 24), "192.0.3.0/24", true},
		{rng("192.0.0.0/22", 22, 24), "192.0.3.0/25", false},
		{rng("192.0.0.0/22", 22, 24), "192.0.4.0/24", false},
		{rng("10.0.0.0/8", 9, 24), "10.0.0.0/8", false},
		{rng("10.0.0.0/8", 9, 24), "10.128.0.0/9", true},
		{rng("10.0.0.0/8", 9, 24), "10.255.255.0/24", true},
		{rng("10.0.0.0/8", 9, 24), "10.255.255.128/25", false},
		{rng("10.0.0.0/8", 8, 32), "10.1.2.3/32", true},
		{rng("10.0.0.0/8", 8, 32), "11.0.0.0/8", false},
		// host bits of the route are ignored
		{rng("192.0.2.0/24", 24, 24), "192.0.2.7/24", true},
		{rng("2001:db8::/32", 32, 48), "2001:db8:ffff::/48", true},
		{rng("2001:db8::/32", 32, 48), "2001:db8::/49", false},
		{rng("2001:db8::/32", 32, 48), "2001:db9::/48", false},
		// no match across address families, IPv4-mapped IPv6 included
		{rng("0.0.0.0/0", 0, 32), "::/0", false},
		{rng("::/0", 0, 128), "0.0.0.0/0", false},
		{rng("192.0.2.0/24", 24, 128), "::ffff:192.0.2.0/120", false},
		{rng("::/0", 0, 128), "::ffff:192.0.2.0/120", true},
	}
	for _, tt := range tests {
		t.Run(tt.r.String()+" "+tt.route, func(t *testing.T) {
			if got := tt.r.Contains(netip.MustParsePrefix(tt.route)); got != tt.want {
				t.Fatalf("%v.Contains(%s) = %v, want %v", tt.r, tt.route, got, tt.want)
			}
		})
	}
	if (PrefixRange{}).Contains(netip.MustParsePrefix("0.0.0.0/0")) {
		t.Error("the zero PrefixRange contains 0.0.0.0/0")
	}
	if rng("0.0.0.0/0", 0, 32).Contains(netip.Prefix{}) {
		t.Error("0.0.0.0/0 le 32 contains the zero Prefix")
	}
}
