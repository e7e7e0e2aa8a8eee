package enrich

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/ixpd/ixpd/flow"
)

// sharedRIR returns the path of a real delegated file in ../shared/data/rir beside the repository (go
// test runs in the package folder). When it is missing the test is skipped, or fails when CI=true.
func sharedRIR(tb testing.TB, name string) string {
	tb.Helper()
	path := filepath.Join("..", "..", "..", "shared", "data", "rir", name)
	if _, err := os.Stat(path); err != nil {
		if os.Getenv("CI") != "true" {
			tb.Skipf("real RIR file not available: %v", err)
		}
		tb.Fatalf("CI=true and the real RIR file is missing: %v", err)
	}
	return path
}

// countryCase is an end of a flow and the country it must get.
type countryCase struct {
	addr string // "" for none
	asn  uint32
	want string
}

func checkCountries(t *testing.T, e *Enricher, cases []countryCase) {
	t.Helper()
	for _, c := range cases {
		f := flow.Flow{SrcAS: c.asn}
		if c.addr != "" {
			f.SrcAddr = addr(c.addr)
		}
		e.Enrich(&f)
		if f.SrcCountry != c.want {
			t.Errorf("address %q AS%d: country %q, want %q", c.addr, c.asn, f.SrcCountry, c.want)
		}
	}
}

// TestRealAPNIC loads APNIC's delegated file of 2026-06-18 and checks Samoa's (WS) resources and a few
// others, each verified in the file with grep.
func TestRealAPNIC(t *testing.T) {
	path := sharedRIR(t, "delegated-apnic-latest")
	e, err := New(Config{Country: "WS", DelegatedFiles: []string{path}}, nil, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	checkCountries(t, e, []countryCase{
		// apnic|WS|ipv4|202.4.32.0|8192|19981012|allocated, between PH 202.4.0.0+4096 and AU 202.4.64.0+8192.
		{addr: "202.4.32.0", want: "WS"},
		{addr: "202.4.63.255", want: "WS"},
		{addr: "202.4.15.255", want: "PH"},
		{addr: "202.4.64.0", want: "AU"},
		{addr: "202.4.16.1", want: ""}, // not in the file
		// apnic|WS|ipv4|43.241.164.0|1024, 103.55.178.0|256, 123.176.72.0|2048, 203.99.255.0|256
		{addr: "43.241.167.200", want: "WS"},
		{addr: "103.55.178.9", want: "WS"},
		{addr: "123.176.79.1", want: "WS"},
		{addr: "203.99.255.255", want: "WS"},
		// apnic|WS|ipv6|2402:ae80::|32, 2001:df1:4c40::|48, 2407:2800::|32
		{addr: "2402:ae80:1234::1", want: "WS"},
		{addr: "2001:df1:4c40:ffff::1", want: "WS"},
		{addr: "2407:2800::53", want: "WS"},
		// apnic|WS|asn|17993, 38800, 153053 (the address plays no part when unknown)
		{asn: 17993, want: "WS"},
		{addr: "10.1.2.3", asn: 38800, want: "WS"},
		{asn: 153053, want: "WS"},
		// Others: apnic|AU|ipv4|1.1.1.0|256, CN 1.0.1.0|256, JP ipv6 2001:200::/35, JP asn 173,
		// TW asn 1768|2 (a range), FJ asn 4638, US ipv4 164.152.166.0|512.
		{addr: "1.1.1.1", want: "AU"},
		{addr: "1.0.1.1", want: "CN"},
		{addr: "2001:200:1fff::1", want: "JP"},
		{asn: 173, want: "JP"},
		{asn: 1769, want: "TW"},
		{asn: 1770, want: ""},
		{asn: 4638, want: "FJ"},
		{addr: "164.152.167.255", want: "US"},
		// The address decides before the AS: a Samoan address with a Japanese AS.
		{addr: "202.4.32.1", asn: 173, want: "WS"},
	})

	// The file has one line that is not valid: an assigned IPv6 record without a country.
	files := e.RIRFiles()
	want := []FileReport{{
		Path: path, IPv4: 54666, IPv6: 16933 - 1, ASN: 13701, Malformed: 1,
		Problems: []*LineError{{File: path, Line: 68748,
			Reason: `ipv6 record 2001:de3:: has country "", not an ISO 3166-1 alpha-2 code`}},
	}}
	if diff := cmp.Diff(files, want); diff != "" {
		t.Errorf("RIRFiles (-got +want):\n%s", diff)
	}

	// A Samoan flow between two Samoan networks is domestic; one to Australia is not.
	f := flow.Flow{SrcAddr: addr("202.4.32.10"), DstAddr: addr("2402:ae80::10")}
	e.Enrich(&f)
	if !f.Domestic {
		t.Errorf("%s to %s: %s to %s, not domestic", f.SrcAddr, f.DstAddr, f.SrcCountry, f.DstCountry)
	}
	f = flow.Flow{SrcAddr: addr("202.4.32.10"), DstAddr: addr("1.1.1.1")}
	e.Enrich(&f)
	if f.Domestic {
		t.Errorf("%s to %s: %s to %s, domestic", f.SrcAddr, f.DstAddr, f.SrcCountry, f.DstCountry)
	}
}

// TestRealThreeRIRs loads the APNIC, AFRINIC (extended, with counts that are not powers of two) and
// RIPE NCC files together.
func TestRealThreeRIRs(t *testing.T) {
	paths := []string{
		sharedRIR(t, "delegated-apnic-latest"),
		sharedRIR(t, "delegated-afrinic-extended-latest"),
		sharedRIR(t, "delegated-ripencc-latest"),
	}
	e, err := New(Config{Country: "WS", DelegatedFiles: paths}, nil, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	checkCountries(t, e, []countryCase{
		{addr: "202.4.32.1", want: "WS"},
		// afrinic|ZA|ipv4|164.146.0.0|393216 is 164.146.0.0/15 and 164.148.0.0/14.
		{addr: "164.146.0.0", want: "ZA"},
		{addr: "164.151.255.255", want: "ZA"},
		{addr: "164.152.0.1", want: ""},
		// afrinic|ZA|ipv4|196.4.20.0|2560: its last address, then the next record (assigned, 1536).
		{addr: "196.4.29.255", want: "ZA"},
		{addr: "196.4.30.1", want: "ZA"},
		// afrinic|KE|ipv6|2001:4358::|32, afrinic|ZA|asn|1228
		{addr: "2001:4358::1", want: "KE"},
		{asn: 1228, want: "ZA"},
		// ripencc|FR|ipv4|2.0.0.0|1048576, ripencc|EU|ipv4|2.16.0.0|524288, ripencc|DE|ipv6|2001:608::|32
		{addr: "2.15.255.255", want: "FR"},
		{addr: "2.16.0.1", want: "EU"},
		{addr: "2001:608::1", want: "DE"},
		// afrinic|ZZ|asn|5536|1||available: not a delegation.
		{asn: 5536, want: ""},
	})
	files := e.RIRFiles()
	if len(files) != 3 {
		t.Fatalf("%d file reports, want 3", len(files))
	}
	afrinic := files[1]
	afrinic.Problems = nil
	if diff := cmp.Diff(afrinic, FileReport{Path: paths[1], IPv4: 3135 + 1486, IPv6: 956 + 312, ASN: 2272,
		NotDelegated: 2977 + 2359 + 697 + 448 + 357 + 20}); diff != "" {
		t.Errorf("AFRINIC report (-got +want):\n%s", diff)
	}
	if files[2].Malformed != 0 || files[2].IPv4 != 26558+23576 {
		t.Errorf("RIPE NCC report: %+v", files[2])
	}
}

// BenchmarkEnrich enriches flows with the three real RIR files loaded (about 200,000 prefixes), a
// route-server table and the test members. Compare with the anchor in the same run:
//
//	go test -run '^$' -bench 'Enrich' -benchmem ./flow/enrich/
//
// The anchor is one longest-prefix lookup in the same RIR table: the ratio enrich/anchor is how many
// lookups' worth a flow costs, whatever the machine (Enrich makes up to eight: two route-server, two
// override, two RIR prefix and two RIR asn lookups, plus three map lookups).
func BenchmarkEnrich(b *testing.B) {
	paths := []string{
		sharedRIR(b, "delegated-apnic-latest"),
		sharedRIR(b, "delegated-afrinic-extended-latest"),
		sharedRIR(b, "delegated-ripencc-latest"),
	}
	cfg := testConfig()
	cfg.DelegatedFiles = paths
	e, err := New(cfg, testMembers(), testRoutes(), nil)
	if err != nil {
		b.Fatal(err)
	}
	cases := []struct {
		name string
		f    flow.Flow
	}{
		{"ixp_switch", flow.Flow{Exporter: switchAddr, SrcMAC: macA, DstMAC: macB,
			SrcAddr: addr("202.4.32.10"), DstAddr: addr("2.16.0.1"), SrcAS: 17993}},
		{"ixp_switch_ipv6", flow.Flow{Exporter: switchAddr, SrcMAC: macA, DstMAC: macB,
			SrcAddr: addr("2402:ae80::10"), DstAddr: addr("2001:4358::1")}},
		{"member_edge", flow.Flow{Exporter: edgeAddr, InIf: ifIXP, OutIf: ifCustomer,
			SrcAddr: addr("198.51.100.1"), DstAddr: addr("123.176.72.1"), SrcAS: 65002}},
		{"unknown_exporter", flow.Flow{Exporter: otherAddr, SrcAddr: addr("10.0.0.1"), DstAddr: addr("1.1.1.1")}},
	}
	b.Run("anchor_one_lookup", func(b *testing.B) {
		b.ReportAllocs()
		a := addr("202.4.32.10")
		for b.Loop() {
			if _, ok := e.countries.rirAddr(a); !ok {
				b.Fatal("202.4.32.10 not found")
			}
		}
	})
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			f := c.f
			for b.Loop() {
				e.Enrich(&f)
			}
		})
	}
	b.Run("parallel", func(b *testing.B) {
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			i := 0
			for pb.Next() {
				f := cases[i%len(cases)].f
				e.Enrich(&f)
				i++
			}
		})
	})
}
