package rpki_test

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/ixpd/ixpd/routeserver/rpki"
)

func TestLoadVRPFileShared(t *testing.T) {
	tests := []struct {
		file  string
		count int
		// first and last are the first and last VRP in sort order.
		first, last rpki.VRP
		contains    []rpki.VRP
	}{
		{
			file:     "stayrtr/smalltest.rpki.json",
			count:    2,
			first:    vrp("1.0.0.0/24", 24, 13335),
			last:     vrp("2001:200:136::/48", 48, 9367), // written "AS9367"
			contains: []rpki.VRP{vrp("2001:200:136::/48", 48, 9367)},
		},
		{
			file:  "stayrtr/test.rpki.json",
			count: 19,
			first: vrp("1.0.0.0/24", 24, 13335),
			last:  vrp("2800:40::/32", 48, 16814),
			contains: []rpki.VRP{
				vrp("192.0.2.0/24", 24, 1),
				vrp("2800:38::/32", 128, 27808),
				vrp("2800:40::/32", 32, 16814), // the same prefix twice, other maxLength
			},
		},
		{
			// Every VRP twice, from two trust anchor names: 28 entries.
			file:     "arouteserver/ripe-rpki-cache.json",
			count:    14,
			first:    vrp("193.0.0.0/21", 21, 3333),
			last:     vrp("2001:7fd::/48", 48, 25152),
			contains: []rpki.VRP{vrp("193.0.24.0/22", 26, 3333), vrp("193.0.14.0/23", 23, 25152)},
		},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			vrps, err := rpki.LoadVRPFile(sharedData + tt.file)
			if err != nil {
				t.Fatal(err)
			}
			if len(vrps) != tt.count {
				t.Errorf("got %d VRPs, want %d", len(vrps), tt.count)
			}
			if len(vrps) == 0 {
				return
			}
			if vrps[0] != tt.first {
				t.Errorf("first VRP %v, want %v", vrps[0], tt.first)
			}
			if last := vrps[len(vrps)-1]; last != tt.last {
				t.Errorf("last VRP %v, want %v", last, tt.last)
			}
			for _, v := range tt.contains {
				if !slices.Contains(vrps, v) {
					t.Errorf("%v missing", v)
				}
			}
		})
	}
}

func TestParseVRPsSortsAndRemovesDuplicates(t *testing.T) {
	in := `{"roas": [
		{"asn": 2, "prefix": "2001:db8::/32", "maxLength": 48},
		{"asn": "AS1", "prefix": "192.0.2.0/24", "maxLength": 24},
		{"asn": 3, "prefix": "10.0.0.0/8", "maxLength": 24},
		{"asn": 1, "prefix": "192.0.2.0/24", "maxLength": 24, "ta": "other"},
		{"asn": 1, "prefix": "192.0.2.0/24", "maxLength": 25},
		{"asn": 0, "prefix": "192.0.2.0/24", "maxLength": 24},
		{"asn": "as4294967295", "prefix": "10.0.0.0/8"},
		{"asn": 5, "prefix": "::ffff:10.0.0.0/104", "maxLength": 128}
	]}`
	got, err := rpki.ParseVRPs(strings.NewReader(in))
	if err != nil {
		t.Fatal(err)
	}
	want := []rpki.VRP{
		vrp("10.0.0.0/8", 8, 4294967295), // maxLength defaults to the prefix length
		vrp("10.0.0.0/8", 24, 3),
		vrp("192.0.2.0/24", 24, 0),
		vrp("192.0.2.0/24", 24, 1),
		vrp("192.0.2.0/24", 25, 1),
		vrp("::ffff:10.0.0.0/104", 128, 5), // an IPv6 prefix
		vrp("2001:db8::/32", 48, 2),
	}
	if diff := cmp.Diff(got, want, cmp.Comparer(func(a, b rpki.VRP) bool { return a == b })); diff != "" {
		t.Errorf("ParseVRPs() (-got +want):\n%s", diff)
	}
}

func TestParseVRPsEmpty(t *testing.T) {
	for _, in := range []string{`{"roas": []}`, "\uFEFF{\"metadata\": {\"x\": [1, 2]}, \"roas\": [], \"aspas\": {}}"} {
		got, err := rpki.ParseVRPs(strings.NewReader(in))
		if err != nil {
			t.Errorf("ParseVRPs(%q) error %v", in, err)
			continue
		}
		if got == nil || len(got) != 0 {
			t.Errorf("ParseVRPs(%q) = %#v, want an empty non-nil slice", in, got)
		}
	}
}

func TestParseVRPsBad(t *testing.T) {
	tests := []struct {
		name string
		in   string
		// want are substrings of the error, in order.
		want []string
	}{
		{name: "empty", in: "", want: []string{"not JSON: unexpected end of JSON input at line 1"}},
		{name: "not JSON", in: "{\n  \"roas\": [\n    {\"asn\": x}\n  ]\n}",
			want: []string{"roas[0]: not JSON: invalid character 'x' looking for beginning of value at line 3, column 13 (offset 26)"}},
		{name: "truncated", in: "{\"roas\": [\n{\"asn\": 1, \"prefix\": \"1.0.0.0/24\"",
			want: []string{"not JSON: unexpected end of JSON input at line 2"}},
		{name: "trailing garbage", in: `{"roas": []} x`, want: []string{"invalid character 'x' after top-level value at line 1, column 14"}},
		{name: "second document", in: `{"roas": []} {}`, want: []string{"want nothing after the top-level object, got an object"}},
		{name: "top level array", in: `[{"asn": 1}]`, want: []string{`want an object with a "roas" array, got an array (line 1)`}},
		{name: "missing roas", in: `{"metadata": {}, "roa": []}`, want: []string{`missing "roas"`}},
		{name: "roas null", in: `{"roas": null}`, want: []string{"roas: want an array, got null"}},
		{name: "roas object", in: `{"roas": {"a": [1, {}]}}`, want: []string{"roas: want an array, got an object"}},
		{name: "roas twice", in: `{"roas": [], "roas": []}`, want: []string{"roas: appears twice"}},
		{name: "entry not an object", in: `{"roas": [{"asn": 1, "prefix": "1.0.0.0/24", "maxLength": 24}, 5, "x"]}`,
			want: []string{"roas[1]: want an object, got number", "roas[2]: want an object, got string"}},
		{name: "asn missing", in: `{"roas": [{"prefix": "1.0.0.0/24", "maxLength": 24}]}`, want: []string{"roas[0].asn: missing (line 1)"}},
		{name: "asn word", in: `{"roas": [{"asn": "AS", "prefix": "1.0.0.0/24", "maxLength": 24}]}`,
			want: []string{`roas[0].asn: "AS" is not "AS<number>"`}},
		{name: "asn without AS", in: `{"roas": [{"asn": "13335", "prefix": "1.0.0.0/24", "maxLength": 24}]}`,
			want: []string{`roas[0].asn: "13335" is not "AS<number>"`}},
		{name: "asn letters", in: `{"roas": [{"asn": "AS13x", "prefix": "1.0.0.0/24", "maxLength": 24}]}`,
			want: []string{`roas[0].asn: "AS13x" is not an AS number`}},
		{name: "asn negative", in: `{"roas": [{"asn": -1, "prefix": "1.0.0.0/24", "maxLength": 24}]}`,
			want: []string{"roas[0].asn: -1 is not an AS number"}},
		{name: "asn fraction", in: `{"roas": [{"asn": 1.5, "prefix": "1.0.0.0/24", "maxLength": 24}]}`,
			want: []string{"roas[0].asn: 1.5 is not an AS number"}},
		{name: "asn too big", in: `{"roas": [{"asn": 4294967296, "prefix": "1.0.0.0/24", "maxLength": 24}]}`,
			want: []string{"roas[0].asn: 4294967296 is out of range (0 to 4294967295)"}},
		{name: "asn string too big", in: `{"roas": [{"asn": "AS4294967296", "prefix": "1.0.0.0/24", "maxLength": 24}]}`,
			want: []string{`roas[0].asn: "AS4294967296" is out of range`}},
		{name: "asn null", in: `{"roas": [{"asn": null, "prefix": "1.0.0.0/24", "maxLength": 24}]}`,
			want: []string{"roas[0].asn: null is not an AS number"}},
		{name: "prefix missing", in: `{"roas": [{"asn": 1, "maxLength": 24}]}`, want: []string{"roas[0].prefix: missing"}},
		{name: "prefix not a string", in: `{"roas": [{"asn": 1, "prefix": 10, "maxLength": 24}]}`,
			want: []string{"roas[0].prefix: want a string, got 10"}},
		{name: "prefix without length", in: `{"roas": [{"asn": 1, "prefix": "1.0.0.0", "maxLength": 24}]}`,
			want: []string{`roas[0].prefix: "1.0.0.0" is not a prefix`}},
		{name: "prefix garbage", in: `{"roas": [{"asn": 1, "prefix": "1.0.0.0/33", "maxLength": 24}]}`,
			want: []string{`roas[0].prefix: "1.0.0.0/33" is not a prefix`}},
		{name: "prefix host bits", in: `{"roas": [{"asn": 1, "prefix": "2001:db8::1/32", "maxLength": 48}]}`,
			want: []string{"roas[0].prefix: 2001:db8::1/32 has host bits set (the prefix is 2001:db8::/32)"}},
		{name: "maxLength short", in: `{"roas": [{"asn": 1, "prefix": "10.0.0.0/16", "maxLength": 8}]}`,
			want: []string{"roas[0].maxLength: 8 is shorter than the prefix length of 10.0.0.0/16"}},
		{name: "maxLength long IPv4", in: `{"roas": [{"asn": 1, "prefix": "10.0.0.0/16", "maxLength": 33}]}`,
			want: []string{"roas[0].maxLength: 33 is longer than 32, the longest IPv4 prefix"}},
		{name: "maxLength long IPv6", in: `{"roas": [{"asn": 1, "prefix": "2001:db8::/32", "maxLength": 129}]}`,
			want: []string{"roas[0].maxLength: 129 is longer than 128, the longest IPv6 prefix"}},
		{name: "maxLength huge", in: `{"roas": [{"asn": 1, "prefix": "2001:db8::/32", "maxLength": 300}]}`,
			want: []string{"roas[0].maxLength: 300 is not a prefix length"}},
		{name: "maxLength string", in: `{"roas": [{"asn": 1, "prefix": "2001:db8::/32", "maxLength": "48"}]}`,
			want: []string{`roas[0].maxLength: "48" is not a prefix length`}},
		{
			name: "several problems with lines",
			in: "{\"roas\": [\n" +
				"  {\"asn\": 1, \"prefix\": \"1.0.0.0/24\", \"maxLength\": 24},\n" +
				"  {\n    \"asn\": \"ASx\",\n    \"prefix\": \"1.0.0.1/24\",\n    \"maxLength\": 24\n  },\n" +
				"  {\"asn\": 2, \"prefix\": \"1.0.0.0/24\",\n   \"maxLength\": 33}\n" +
				"]}",
			want: []string{
				`roas[1].asn: "ASx" is not an AS number (line 4); `,
				"roas[1].prefix: 1.0.0.1/24 has host bits set (the prefix is 1.0.0.0/24) (line 5); ",
				"roas[2].maxLength: 33 is longer than 32, the longest IPv4 prefix (line 9)",
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			vrps, err := rpki.ParseVRPs(strings.NewReader(tt.in))
			if err == nil {
				t.Fatalf("ParseVRPs() = %v, want an error", vrps)
			}
			if vrps != nil {
				t.Errorf("ParseVRPs() returned VRPs and an error")
			}
			var perr *rpki.ParseError
			if !errors.As(err, &perr) {
				t.Errorf("error %T is not a *ParseError", err)
			}
			rest := err.Error()
			for _, w := range tt.want {
				i := strings.Index(rest, w)
				if i < 0 {
					t.Fatalf("error\n\t%s\ndoes not have, in order,\n\t%s", err, strings.Join(tt.want, "\n\t"))
				}
				rest = rest[i+len(w):]
			}
		})
	}
}

func TestParseVRPsReportsTwentyProblems(t *testing.T) {
	var entries []string
	for i := range 30 {
		entries = append(entries, fmt.Sprintf(`{"asn": %d, "prefix": "10.0.0.0/8", "maxLength": 40}`, i))
	}
	_, err := rpki.ParseVRPs(strings.NewReader(`{"roas": [` + strings.Join(entries, ",") + `]}`))
	var perr *rpki.ParseError
	if !errors.As(err, &perr) {
		t.Fatalf("error %v is not a *ParseError", err)
	}
	if len(perr.Problems) != 20 || perr.Omitted != 10 {
		t.Errorf("%d problems and %d omitted, want 20 and 10", len(perr.Problems), perr.Omitted)
	}
	if p := perr.Problems[19]; p.Path != "roas[19].maxLength" || p.Line != 1 {
		t.Errorf("problem 20 is %+v", p)
	}
	if !strings.HasSuffix(err.Error(), "; and 10 more problems") {
		t.Errorf("error %q does not count the omitted problems", err)
	}
}

func TestLoadVRPFileErrorsNameTheFile(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.json")
	if err := os.WriteFile(bad, []byte(`{"roas": [{"asn": 1, "prefix": "10.0.0.0/8", "maxLength": 7}]}`), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := rpki.LoadVRPFile(bad)
	want := "VRP file " + bad + ": roas[0].maxLength: 7 is shorter than the prefix length of 10.0.0.0/8 (line 1)"
	if err == nil || err.Error() != want {
		t.Errorf("LoadVRPFile() error\n\t%v\nwant\n\t%s", err, want)
	}
	missing := filepath.Join(dir, "missing.json")
	_, err = rpki.LoadVRPFile(missing)
	if !errors.Is(err, fs.ErrNotExist) || !strings.HasPrefix(err.Error(), "VRP file "+missing+": ") {
		t.Errorf("LoadVRPFile(missing) error %v", err)
	}
}

func TestParseVRPsRoundTrip(t *testing.T) {
	want := syntheticVRPs(10_000)
	got, err := rpki.ParseVRPs(strings.NewReader(string(vrpJSON(want))))
	if err != nil {
		t.Fatal(err)
	}
	slices.SortFunc(want, compareForTest)
	if !slices.Equal(got, want) {
		t.Errorf("got %d VRPs back from %d", len(got), len(want))
	}
}

// compareForTest orders VRPs as ParseVRPs documents.
func compareForTest(a, b rpki.VRP) int {
	if c := a.Prefix.Addr().Compare(b.Prefix.Addr()); c != 0 {
		return c
	}
	if c := a.Prefix.Bits() - b.Prefix.Bits(); c != 0 {
		return c
	}
	if c := int(a.MaxLength) - int(b.MaxLength); c != 0 {
		return c
	}
	switch {
	case a.ASN < b.ASN:
		return -1
	case a.ASN > b.ASN:
		return 1
	}
	return 0
}

// FuzzParseVRPs checks that ParseVRPs never panics and returns either
// valid sorted VRPs or problems with a place or a message.
func FuzzParseVRPs(f *testing.F) {
	files, err := filepath.Glob(sharedData + "*/*.json")
	if err != nil {
		f.Fatal(err)
	}
	for _, file := range files {
		data, err := os.ReadFile(file)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Add([]byte(`{"roas": [{"asn": "AS1", "prefix": "10.0.0.0/8", "maxLength": 7}, 5, {"prefix": "::/0"}]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		vrps, err := rpki.ParseVRPs(strings.NewReader(string(data)))
		if err != nil {
			var perr *rpki.ParseError
			if !errors.As(err, &perr) || len(perr.Problems) == 0 {
				t.Fatalf("error without problems: %v", err)
			}
			for _, p := range perr.Problems {
				if p.Message == "" {
					t.Errorf("problem without a message at %q", p.Path)
				}
			}
			return
		}
		for i, v := range vrps {
			if !v.Prefix.IsValid() || v.Prefix.Masked() != v.Prefix || int(v.MaxLength) < v.Prefix.Bits() || int(v.MaxLength) > v.Prefix.Addr().BitLen() {
				t.Errorf("invalid VRP %v", v)
			}
			if i > 0 && compareForTest(vrps[i-1], v) >= 0 {
				t.Errorf("%v and %v out of order or duplicate", vrps[i-1], v)
			}
		}
	})
}
