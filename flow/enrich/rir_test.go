package enrich

import (
	"fmt"
	"net/netip"
	"os"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

// equateNetip compares netip values by ==.
var equateNetip = cmpopts.EquateComparable(netip.Addr{}, netip.Prefix{})

func TestParseLine(t *testing.T) {
	tests := []struct {
		name    string
		line    string
		want    *rirRecord
		wantErr string
	}{
		{name: "comment", line: "# CONDITIONS OF USE"},
		{name: "blank", line: "   "},
		{name: "header", line: "2|apnic|20260618|85300|19830613|20260617|+1000"},
		{name: "header with version 2.3", line: "2.3|ripencc|1407103199|86140|19830705|20140803|+0200"},
		{name: "summary", line: "apnic|*|ipv4|*|54666|summary"},
		{name: "asn", line: "apnic|WS|asn|17993|1|20011105|allocated",
			want: &rirRecord{Country: "WS", Type: rirASN, Start: 17993, Count: 1}},
		{name: "asn range", line: "apnic|TW|asn|1768|2|20020801|allocated",
			want: &rirRecord{Country: "TW", Type: rirASN, Start: 1768, Count: 2}},
		{name: "ipv4", line: "apnic|WS|ipv4|202.4.32.0|8192|19981012|allocated",
			want: &rirRecord{Country: "WS", Type: rirIPv4, Start: 202<<24 | 4<<16 | 32<<8, Count: 8192}},
		{name: "ipv4 not a power of two, extended format",
			line: "afrinic|ZA|ipv4|196.4.20.0|2560|19930831|allocated|F369838C",
			want: &rirRecord{Country: "ZA", Type: rirIPv4, Start: 196<<24 | 4<<16 | 20<<8, Count: 2560}},
		{name: "ipv4 up to the end of the space", line: "x|US|ipv4|255.255.255.0|256|20200101|assigned",
			want: &rirRecord{Country: "US", Type: rirIPv4, Start: 0xffffff00, Count: 256}},
		{name: "ipv6", line: "apnic|WS|ipv6|2402:ae80::|32|20150729|allocated",
			want: &rirRecord{Country: "WS", Type: rirIPv6, Prefix: netip.MustParsePrefix("2402:ae80::/32")}},
		{name: "no date, spaces, CR", line: " ripencc | EU |ipv4|2.16.0.0|524288||allocated\r",
			want: &rirRecord{Country: "EU", Type: rirIPv4, Start: 2<<24 | 16<<16, Count: 524288}},
		{name: "status in capitals", line: "x|NZ|asn|681|1|20020801|ASSIGNED",
			want: &rirRecord{Country: "NZ", Type: rirASN, Start: 681, Count: 1}},
		{name: "available", line: "afrinic|ZZ|asn|5536|1||available|", wantErr: "not delegated"},
		{name: "reserved", line: "afrinic|ZA|ipv6|2c0f:f000::|32|20080101|reserved|", wantErr: "not delegated"},
		{name: "allocated to ZZ", line: "x|ZZ|asn|5536|1|20200101|allocated", wantErr: "not delegated"},
		{name: "bad header", line: "2|apnic|20260618", wantErr: `bad header line "2|apnic|20260618"`},
		{name: "short", line: "bad|WS|ipv4|198.51.100.0",
			wantErr: `4 fields, want at least 7: "bad|WS|ipv4|198.51.100.0"`},
		{name: "no country", line: "apnic||ipv6|2001:de3::|48|20250703|assigned",
			wantErr: `ipv6 record 2001:de3:: has country "", not an ISO 3166-1 alpha-2 code`},
		{name: "country name", line: "x|Samoa|asn|1|1|20200101|allocated",
			wantErr: `asn record 1 has country "Samoa", not an ISO 3166-1 alpha-2 code`},
		{name: "lower-case country", line: "x|ws|asn|1|1|20200101|allocated",
			wantErr: `asn record 1 has country "ws", not an ISO 3166-1 alpha-2 code`},
		{name: "unknown status", line: "x|WS|asn|1|1|20200101|transferred", wantErr: `unknown status "transferred"`},
		{name: "unknown type", line: "x|WS|ipx|1|1|20200101|allocated", wantErr: `unknown type "ipx"`},
		{name: "asn not a number", line: "x|WS|asn|AS1|1|20200101|allocated",
			wantErr: `asn record: start "AS1" is not an AS number`},
		{name: "asn above 32 bits", line: "x|WS|asn|4294967296|1|20200101|allocated",
			wantErr: `asn record: start "4294967296" is not an AS number`},
		{name: "asn range past the end", line: "x|WS|asn|4294967295|2|20200101|allocated",
			wantErr: "asn record 4294967295: count 2 runs past the end of the 32-bit space"},
		{name: "ipv4 count zero", line: "x|WS|ipv4|198.51.100.0|0|20200101|allocated",
			wantErr: `ipv4 record 198.51.100.0: count "0" is not a positive number`},
		{name: "ipv4 count negative", line: "x|WS|ipv4|198.51.100.0|-1|20200101|allocated",
			wantErr: `ipv4 record 198.51.100.0: count "-1" is not a positive number`},
		{name: "ipv4 past the end", line: "x|WS|ipv4|255.255.255.0|512|20200101|allocated",
			wantErr: "ipv4 record 255.255.255.0: count 512 runs past the end of the 32-bit space"},
		{name: "ipv4 bad address", line: "x|WS|ipv4|198.51.300.0|256|20200101|allocated",
			wantErr: `ipv4 record: start "198.51.300.0" is not an IPv4 address`},
		{name: "ipv4 record with an IPv6 address", line: "x|WS|ipv4|2001:db8::|256|20200101|allocated",
			wantErr: `ipv4 record: start "2001:db8::" is not an IPv4 address`},
		{name: "ipv6 record with an IPv4 address", line: "x|WS|ipv6|198.51.100.0|24|20200101|allocated",
			wantErr: `ipv6 record: start "198.51.100.0" is not an IPv6 address`},
		{name: "ipv6 record with a mapped address", line: "x|WS|ipv6|::ffff:198.51.100.0|120|20200101|allocated",
			wantErr: `ipv6 record: start "::ffff:198.51.100.0" is not an IPv6 address`},
		{name: "ipv6 length", line: "x|WS|ipv6|2001:db8::|129|20200101|allocated",
			wantErr: `ipv6 record 2001:db8::: prefix length "129" is not 0 to 128`},
		{name: "ipv6 host bits", line: "x|WS|ipv6|2001:db8::1|48|20200101|allocated",
			wantErr: "ipv6 record 2001:db8::1: host bits set for /48"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseLine(tt.line)
			gotErr := ""
			if err != nil {
				gotErr = err.Error()
			}
			if diff := cmp.Diff(gotErr, tt.wantErr); diff != "" {
				t.Errorf("error (-got +want):\n%s", diff)
			}
			if diff := cmp.Diff(got, tt.want, equateNetip); diff != "" {
				t.Errorf("record (-got +want):\n%s", diff)
			}
		})
	}
}

func TestSplitRange(t *testing.T) {
	tests := []struct {
		name  string
		start string
		count uint64
		want  []string
	}{
		{name: "one address", start: "198.51.100.7", count: 1, want: []string{"198.51.100.7/32"}},
		{name: "aligned power of two", start: "202.4.32.0", count: 8192, want: []string{"202.4.32.0/19"}},
		{name: "not a power of two (AFRINIC)", start: "196.4.20.0", count: 2560,
			want: []string{"196.4.20.0/22", "196.4.24.0/22", "196.4.28.0/23"}},
		{name: "384 Ki addresses (AFRINIC)", start: "164.146.0.0", count: 393216,
			want: []string{"164.146.0.0/15", "164.148.0.0/14"}},
		{name: "power of two, not aligned", start: "198.51.100.128", count: 256,
			want: []string{"198.51.100.128/25", "198.51.101.0/25"}},
		{name: "odd start and count", start: "198.51.100.3", count: 6,
			want: []string{"198.51.100.3/32", "198.51.100.4/30", "198.51.100.8/32"}},
		{name: "the whole space", start: "0.0.0.0", count: 1 << 32, want: []string{"0.0.0.0/0"}},
		{name: "the last address", start: "255.255.255.255", count: 1, want: []string{"255.255.255.255/32"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := netip.MustParseAddr(tt.start).As4()
			start := uint32(b[0])<<24 | uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3])
			var got []string
			splitRange(start, tt.count, func(s uint32, bits int) {
				got = append(got, netip.PrefixFrom(uint32Addr(s), bits).String())
			})
			if diff := cmp.Diff(got, tt.want); diff != "" {
				t.Errorf("prefixes (-got +want):\n%s", diff)
			}
		})
	}
}

func TestParseDelegatedReportsLines(t *testing.T) {
	f, err := os.Open("testdata/delegated-bad")
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = f.Close() }() // read only
	var got []string
	report, err := parseDelegated(f, "testdata/delegated-bad", func(r rirRecord) {
		got = append(got, fmt.Sprintf("%s %d %d+%d", r.Country, r.Type, r.Start, r.Count))
	})
	if err != nil {
		t.Fatal(err)
	}
	want := FileReport{
		Path: "testdata/delegated-bad", IPv4: 1, ASN: 1, NotDelegated: 1, Malformed: 13,
		Problems: []*LineError{
			{File: "testdata/delegated-bad", Line: 6, Reason: `4 fields, want at least 7: "bad|WS|ipv4|198.51.100.0"`},
			{File: "testdata/delegated-bad", Line: 7, Reason: `ipv4 record: start "198.51.300.0" is not an IPv4 address`},
			{File: "testdata/delegated-bad", Line: 8, Reason: `ipv4 record: start "2001:db8::" is not an IPv4 address`},
			{File: "testdata/delegated-bad", Line: 9, Reason: "ipv4 record 255.255.255.0: count 512 runs past the end of the 32-bit space"},
			{File: "testdata/delegated-bad", Line: 10, Reason: `ipv4 record 198.51.101.0: count "0" is not a positive number`},
			{File: "testdata/delegated-bad", Line: 11, Reason: `asn record 64500 has country "Samoa", not an ISO 3166-1 alpha-2 code`},
			{File: "testdata/delegated-bad", Line: 12, Reason: `ipv6 record 2001:db8:: has country "", not an ISO 3166-1 alpha-2 code`},
			{File: "testdata/delegated-bad", Line: 13, Reason: "ipv6 record 2001:db8::1: host bits set for /48"},
			{File: "testdata/delegated-bad", Line: 14, Reason: `ipv6 record 2001:db8::: prefix length "129" is not 0 to 128`},
			{File: "testdata/delegated-bad", Line: 15, Reason: `asn record: start "AS64500" is not an AS number`},
			{File: "testdata/delegated-bad", Line: 16, Reason: "asn record 4294967295: count 2 runs past the end of the 32-bit space"},
			{File: "testdata/delegated-bad", Line: 17, Reason: `unknown status "transferred"`},
			{File: "testdata/delegated-bad", Line: 18, Reason: `unknown type "ipx"`},
		},
	}
	if diff := cmp.Diff(report, want); diff != "" {
		t.Errorf("report (-got +want):\n%s", diff)
	}
	if diff := cmp.Diff(got, []string{"WS 1 3325256704+256", "WS 0 64501+1"}); diff != "" {
		t.Errorf("records (-got +want):\n%s", diff)
	}
	if got, want := report.Problems[0].Error(), `testdata/delegated-bad:6: 4 fields, want at least 7: "bad|WS|ipv4|198.51.100.0"`; got != want {
		t.Errorf("Error() = %q, want %q", got, want)
	}
}

func TestParseDelegatedKeepsFirstProblems(t *testing.T) {
	var b strings.Builder
	for range maxProblems + 50 {
		b.WriteString("x|WS|asn|AS1|1|20200101|allocated\n")
	}
	b.WriteString("x|WS|asn|1|1|20200101|allocated\n")
	n := 0
	report, err := parseDelegated(strings.NewReader(b.String()), "many", func(rirRecord) { n++ })
	if err != nil {
		t.Fatal(err)
	}
	if report.Malformed != maxProblems+50 || len(report.Problems) != maxProblems || n != 1 || report.ASN != 1 {
		t.Errorf("Malformed %d, %d problems kept, %d records (ASN %d); want %d, %d, 1, 1",
			report.Malformed, len(report.Problems), n, report.ASN, maxProblems+50, maxProblems)
	}
	if got := report.Problems[maxProblems-1].Line; got != maxProblems {
		t.Errorf("last problem kept is line %d, want %d", got, maxProblems)
	}
}

func TestParseDelegatedLineTooLong(t *testing.T) {
	text := "x|WS|asn|1|1|20200101|allocated\n# " + strings.Repeat("x", maxLine) + "\n"
	_, err := parseDelegated(strings.NewReader(text), "long", func(rirRecord) {})
	want := fmt.Sprintf("long:2: line longer than %d bytes", maxLine)
	if err == nil || err.Error() != want {
		t.Errorf("error %v, want %s", err, want)
	}
}

func FuzzParseLine(f *testing.F) {
	for _, s := range []string{
		"2|apnic|20260618|85300|19830613|20260617|+1000",
		"apnic|*|ipv4|*|54666|summary",
		"apnic|WS|ipv4|202.4.32.0|8192|19981012|allocated",
		"afrinic|ZA|ipv4|196.4.20.0|2560|19930831|allocated|F369838C",
		"apnic|WS|ipv6|2402:ae80::|32|20150729|allocated",
		"apnic|TW|asn|1768|2|20020801|allocated",
		"afrinic|ZZ|asn|5536|1||available|",
		"apnic||ipv6|2001:de3::|48|20250703|assigned",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, line string) {
		rec, err := parseLine(line)
		if err != nil || rec == nil {
			return
		}
		if !validCountry(rec.Country) {
			t.Fatalf("record with country %q", rec.Country)
		}
		switch rec.Type {
		case rirASN, rirIPv4:
			if rec.Count == 0 || uint64(rec.Start)+rec.Count > 1<<32 {
				t.Fatalf("range %d+%d", rec.Start, rec.Count)
			}
			var covered uint64
			splitRange(rec.Start, rec.Count, func(start uint32, bits int) {
				if bits < 0 || bits > 32 || uint64(start)&(1<<(32-bits)-1) != 0 {
					t.Fatalf("block %d/%d not aligned", start, bits)
				}
				covered += 1 << (32 - bits)
			})
			if covered != rec.Count {
				t.Fatalf("blocks cover %d of %d", covered, rec.Count)
			}
		case rirIPv6:
			if !rec.Prefix.IsValid() || rec.Prefix.Masked() != rec.Prefix || !rec.Prefix.Addr().Is6() {
				t.Fatalf("prefix %s", rec.Prefix)
			}
		}
	})
}
