package irr

import (
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"testing"
)

// samples holds bgpq4's own reference outputs (tests/reference in the bgpq4 repository) for
// "bgpq4 -j -l NN AS112" and friends.
const samples = "../../../shared/data/irr/bgpq4/"

func prefixes(s string) Input {
	return Input{Name: "p.json", Kind: KindPrefixes, Reader: strings.NewReader(s)}
}

func asns(s string) Input {
	return Input{Name: "a.json", Kind: KindASNs, Reader: strings.NewReader(s)}
}

func mustParse(t *testing.T, inputs ...Input) *Data {
	t.Helper()
	d, err := Parse(inputs...)
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	return d
}

func checkPrefixes(t *testing.T, d *Data, name string, want ...PrefixRange) {
	t.Helper()
	got, ok := d.Prefixes(name)
	if !ok {
		t.Fatalf("Prefixes(%q): name not present", name)
	}
	if want == nil {
		want = []PrefixRange{}
	}
	if !slices.Equal(got, want) {
		t.Fatalf("Prefixes(%q) (-got +want):\n-%v\n+%v", name, got, want)
	}
}

func checkASNs(t *testing.T, d *Data, name string, want ...uint32) {
	t.Helper()
	got, ok := d.ASNs(name)
	if !ok {
		t.Fatalf("ASNs(%q): name not present", name)
	}
	if !slices.Equal(got, want) {
		t.Fatalf("ASNs(%q) (-got +want):\n-%v\n+%v", name, got, want)
	}
}

func TestLoadSamples(t *testing.T) {
	d, err := Load([]string{samples + "json--4.txt", samples + "json--6.txt"}, []string{samples + "json--asp.txt"})
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	checkPrefixes(t, d, "NN",
		rng("192.31.196.0/24", 24, 24),
		rng("192.175.48.0/24", 24, 24),
		rng("2001:4:112::/48", 48, 48),
		rng("2620:4f:8000::/48", 48, 48))
	checkASNs(t, d, "nn", 112)
	if got := d.Names(); !slices.Equal(got, []string{"NN"}) {
		t.Errorf("Names() = %q, want [NN]", got)
	}
	names, ranges, numbers := d.Stats()
	if names != 1 || ranges != 4 || numbers != 1 {
		t.Errorf("Stats() = %d, %d, %d, want 1, 4, 1", names, ranges, numbers)
	}

	// One family alone.
	d, err = Load([]string{samples + "json--6.txt"}, nil)
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	checkPrefixes(t, d, "NN", rng("2001:4:112::/48", 48, 48), rng("2620:4f:8000::/48", 48, 48))
	if _, ok := d.ASNs("NN"); ok {
		t.Error("ASNs(NN) present with no AS file")
	}
}

// TestSampleKindMismatch gives bgpq4's AS list as a prefix file and the reverse.
func TestSampleKindMismatch(t *testing.T) {
	_, err := Load([]string{samples + "json--asp.txt"}, []string{samples + "json--4.txt"})
	want := samples + `json--asp.txt:2:3: NN[0]: want a prefix entry {"prefix": ..., "exact": ...}, got a number (an AS list from bgpq4 -t? give it as an AS file)` + "\n" +
		samples + `json--4.txt:2:5: NN[0]: want an AS number, got an object (a prefix list? give it as a prefix file)` + "\n" +
		samples + `json--4.txt:3:5: NN[1]: want an AS number, got an object (a prefix list? give it as a prefix file)`
	if err == nil || err.Error() != want {
		t.Fatalf("Load error:\n%v\nwant:\n%s", err, want)
	}
}

// TestForms reads every entry form bgpq4 writes (printer.c, bgpq4_print_json_prefix) and the one
// it does not (greater-equal alone).
func TestForms(t *testing.T) {
	d := mustParse(t, prefixes(`{ "AS-FOO": [
    { "prefix": "192.0.2.0\/24", "exact": true },
    { "prefix": "10.0.0.0\/8", "exact": false,
      "greater-equal": 9, "less-equal": 24 },
    { "prefix": "198.51.100.0\/22", "exact": false, "less-equal": 24 },
    { "prefix": "203.0.113.0/24", "exact": false, "greater-equal": 25 },
    { "prefix": "2001:db8::\/32", "exact": false, "greater-equal": 40, "less-equal": 48, "comment": "ignored" },
    { "prefix": "2001:db8:1::/48", "exact": false, "greater-equal": 48, "less-equal": 48 }
] }`))
	checkPrefixes(t, d, "AS-FOO",
		rng("10.0.0.0/8", 9, 24),
		rng("192.0.2.0/24", 24, 24),
		rng("198.51.100.0/22", 22, 24),
		rng("203.0.113.0/24", 25, 32),
		rng("2001:db8::/32", 40, 48),
		rng("2001:db8:1::/48", 48, 48))
}

func TestMerge(t *testing.T) {
	d := mustParse(t,
		// Two bgpq4 outputs one after the other, a name twice in one object, names in any case.
		Input{Name: "one.json", Kind: KindPrefixes, Reader: strings.NewReader(`{ "AS-FOO": [
    { "prefix": "192.0.2.0\/24", "exact": true },
    { "prefix": "192.0.2.0\/24", "exact": true }
] }
{ "as-foo": [
    { "prefix": "2001:db8::\/32", "exact": true }
] }
{"AS65001:AS-CUSTOMERS": [ { "prefix": "198.51.100.0/24", "exact": true } ],
 "AS65001:as-customers": [ { "prefix": "198.51.100.0/24", "exact": false, "less-equal": 25 } ]}`)},
		Input{Name: "two.json", Kind: KindPrefixes, Reader: strings.NewReader(`{ "As-Foo": [
    { "prefix": "198.51.100.0\/24", "exact": true },
    { "prefix": "192.0.2.0\/24", "exact": true }
], "RIPE::AS-EMPTY": [
] }`)},
		Input{Name: "three.json", Kind: KindASNs, Reader: strings.NewReader(`{"AS-FOO": [
  64497,64496
]}
{"as-foo": [64496, 4294967295], "AS65002": [65002], "AS-NOROUTES": []}`)},
	)
	checkPrefixes(t, d, "AS-FOO",
		rng("192.0.2.0/24", 24, 24),
		rng("198.51.100.0/24", 24, 24),
		rng("2001:db8::/32", 32, 32))
	checkPrefixes(t, d, "as65001:as-customers",
		rng("198.51.100.0/24", 24, 24),
		rng("198.51.100.0/24", 24, 25))
	checkPrefixes(t, d, "ripe::as-empty")
	checkASNs(t, d, "AS-FOO", 64496, 64497, 4294967295)
	checkASNs(t, d, "AS65002", 65002)
	checkASNs(t, d, "AS-NOROUTES")
	if _, ok := d.Prefixes("AS65002"); ok {
		t.Error("Prefixes(AS65002) present, want absent")
	}
	if _, ok := d.ASNs("RIPE::AS-EMPTY"); ok {
		t.Error("ASNs(RIPE::AS-EMPTY) present, want absent")
	}
	if _, ok := d.Prefixes("AS-NONE"); ok {
		t.Error("Prefixes(AS-NONE) present")
	}
	want := []string{"AS-FOO", "AS-NOROUTES", "AS65001:AS-CUSTOMERS", "AS65002", "RIPE::AS-EMPTY"}
	if got := d.Names(); !slices.Equal(got, want) {
		t.Errorf("Names() = %q, want %q", got, want)
	}
	names, ranges, numbers := d.Stats()
	if names != 5 || ranges != 5 || numbers != 4 {
		t.Errorf("Stats() = %d, %d, %d, want 5, 5, 4", names, ranges, numbers)
	}
}

func TestNilData(t *testing.T) {
	var d *Data
	if _, ok := d.Prefixes("AS-FOO"); ok {
		t.Error("nil Data has prefixes")
	}
	if _, ok := d.ASNs("AS-FOO"); ok {
		t.Error("nil Data has ASNs")
	}
	if d.Names() != nil || d.Fingerprint("AS-FOO") != 0 {
		t.Error("nil Data has names")
	}
	if n, p, a := d.Stats(); n+p+a != 0 {
		t.Error("nil Data has stats")
	}
}

func TestParseErrors(t *testing.T) {
	entry := func(members string) string {
		return "{ \"AS-FOO\": [\n    { \"prefix\": \"192.0.2.0\\/24\", \"exact\": true },\n    { " + members + " }\n] }"
	}
	tests := []struct {
		name  string
		input Input
		want  string
	}{
		{"empty file", prefixes(""), "p.json:1:1: no JSON object: the file is empty"},
		{"blank file", prefixes("\n \n"), "p.json:3:1: no JSON object: the file is empty"},
		{"not JSON", prefixes("AS-FOO: 192.0.2.0/24"), "p.json:1:1: not JSON: invalid character 'A' looking for beginning of value"},
		{"trailing comma", prefixes("{ \"AS-FOO\": [\n    { \"prefix\": \"192.0.2.0\\/24\", \"exact\": true },\n] }"),
			"p.json:3:1: AS-FOO[1]: not JSON: invalid character ']' looking for beginning of value"},
		{"cut short", prefixes(entry(`"prefix": "198.51.100.0/24", "exact": true`)[:60]),
			"p.json:2:47: AS-FOO[0]: not JSON: the file ends too early (cut short?)"},
		{"cut after entry", prefixes("{ \"AS-FOO\": [\n    { \"prefix\": \"192.0.2.0\\/24\", \"exact\": true }"),
			"p.json:2:49: AS-FOO: not JSON: the file ends too early (cut short?)"},
		{"garbage after object", prefixes("{\"AS-FOO\": []}\n]"), "p.json:2:1: not JSON: invalid character ']' looking for beginning of value"},
		{"missing comma in entry", prefixes(entry(`"prefix": "198.51.100.0/24" "exact": true`)),
			"p.json:3:35: AS-FOO[1]: not JSON: invalid character '\"' after object key:value pair"},
		{"bad literal in entry", prefixes(entry(`"prefix": "198.51.100.0/24", "exact": yes`)),
			"p.json:3:45: AS-FOO[1]: not JSON: invalid character 'y' looking for beginning of value"},
		{"bad character in list", prefixes(`{"AS-FOO": [{"prefix": "192.0.2.0/24", "exact": true}, AS65001]}`),
			"p.json:1:56: AS-FOO[1]: not JSON: invalid character 'A' looking for beginning of value"},
		{"bad ASN literal", asns(`{"AS-FOO": [112, 11x]}`),
			"a.json:1:20: AS-FOO[2]: not JSON: invalid character 'x' after array element"},
		{"objects separated by comma", prefixes("{\"AS-FOO\": []},\n{\"AS-BAR\": []}"),
			"p.json:1:15: not JSON: invalid character ',' looking for beginning of value"},
		{"top level a list", prefixes(`[{"prefix": "192.0.2.0/24", "exact": true}]`),
			"p.json:1:1: want an object of lists such as {\"AS-FOO\": [...]}, got a list"},
		{"top level a string", prefixes(`"AS-FOO"`),
			"p.json:1:1: want an object of lists such as {\"AS-FOO\": [...]}, got a string"},
		{"list a string", prefixes(`{"AS-FOO": "192.0.2.0/24"}`), "p.json:1:12: AS-FOO: want a list, got a string"},
		{"list an object", prefixes(`{"AS-FOO": {"prefix": "192.0.2.0/24"}}`), "p.json:1:12: AS-FOO: want a list, got an object"},
		{"empty name", prefixes(`{"": []}`), "p.json:1:2: a list has an empty name"},
		{"entry a string", prefixes(`{"AS-FOO": ["192.0.2.0/24"]}`),
			"p.json:1:13: AS-FOO[0]: want a prefix entry {\"prefix\": ..., \"exact\": ...}, got a string"},
		{"entry null", prefixes(`{"AS-FOO": [null]}`),
			"p.json:1:13: AS-FOO[0]: want a prefix entry {\"prefix\": ..., \"exact\": ...}, got null"},
		{"entry a number", prefixes(`{"AS-FOO": [112]}`),
			"p.json:1:13: AS-FOO[0]: want a prefix entry {\"prefix\": ..., \"exact\": ...}, got a number (an AS list from bgpq4 -t? give it as an AS file)"},
		{"prefix missing", prefixes(entry(`"exact": true`)), "p.json:3:5: AS-FOO[1].prefix: missing or empty"},
		{"prefix null", prefixes(entry(`"prefix": null, "exact": true`)), "p.json:3:5: AS-FOO[1].prefix: missing or empty"},
		{"prefix a number", prefixes(entry(`"prefix": 24, "exact": true`)), "p.json:3:5: AS-FOO[1].prefix: want a string, got a number"},
		{"prefix a list", prefixes(entry(`"prefix": ["192.0.2.0/24"], "exact": true`)), "p.json:3:5: AS-FOO[1].prefix: want a string, got a list"},
		{"prefix invalid", prefixes(entry(`"prefix": "192.0.2.0/33", "exact": true`)), `p.json:3:5: AS-FOO[1].prefix: "192.0.2.0/33" is not an IP prefix`},
		{"prefix no length", prefixes(entry(`"prefix": "192.0.2.0", "exact": true`)), `p.json:3:5: AS-FOO[1].prefix: "192.0.2.0" is not an IP prefix`},
		{"prefix host bits", prefixes(entry(`"prefix": "192.0.2.1\/24", "exact": true`)),
			"p.json:3:5: AS-FOO[1].prefix: 192.0.2.1/24 has host bits set (192.0.2.0/24?)"},
		{"prefix host bits v6", prefixes(entry(`"prefix": "2001:db8::1/32", "exact": true`)),
			"p.json:3:5: AS-FOO[1].prefix: 2001:db8::1/32 has host bits set (2001:db8::/32?)"},
		{"exact missing", prefixes(entry(`"prefix": "198.51.100.0/24"`)), "p.json:3:5: AS-FOO[1].exact: missing"},
		{"exact a string", prefixes(entry(`"prefix": "198.51.100.0/24", "exact": "yes"`)), `p.json:3:5: AS-FOO[1].exact: want true or false, got "yes"`},
		{"exact null", prefixes(entry(`"prefix": "198.51.100.0/24", "exact": null`)), "p.json:3:5: AS-FOO[1].exact: want true or false, got null"},
		{"exact with ge", prefixes(entry(`"prefix": "198.51.100.0/24", "exact": true, "greater-equal": 25`)),
			`p.json:3:5: AS-FOO[1]: "exact" is true, yet "greater-equal" or "less-equal" is given`},
		{"not exact, no lengths", prefixes(entry(`"prefix": "198.51.100.0/24", "exact": false`)),
			`p.json:3:5: AS-FOO[1]: "exact" is false, yet neither "greater-equal" nor "less-equal" is given`},
		{"ge below length", prefixes(entry(`"prefix": "198.51.100.0/24", "exact": false, "greater-equal": 20`)),
			"p.json:3:5: AS-FOO[1].greater-equal: 20 is below the prefix length 24"},
		{"le below length", prefixes(entry(`"prefix": "198.51.100.0/24", "exact": false, "less-equal": 23`)),
			"p.json:3:5: AS-FOO[1].less-equal: 23 is below the prefix length 24"},
		{"le above 32", prefixes(entry(`"prefix": "198.51.100.0/24", "exact": false, "less-equal": 33`)),
			"p.json:3:5: AS-FOO[1].less-equal: 33 is above 32, the longest IPv4 prefix"},
		{"ge above 32", prefixes(entry(`"prefix": "198.51.100.0/24", "exact": false, "greater-equal": 300`)),
			"p.json:3:5: AS-FOO[1].greater-equal: 300 is above 32, the longest IPv4 prefix"},
		{"le above 128", prefixes(entry(`"prefix": "2001:db8::/32", "exact": false, "less-equal": 129`)),
			"p.json:3:5: AS-FOO[1].less-equal: 129 is above 128, the longest IPv6 prefix"},
		{"ge above le", prefixes(entry(`"prefix": "198.51.100.0/24", "exact": false, "greater-equal": 26, "less-equal": 25`)),
			"p.json:3:5: AS-FOO[1]: greater-equal 26 is above less-equal 25"},
		{"ge a fraction", prefixes(entry(`"prefix": "198.51.100.0/24", "exact": false, "greater-equal": 25.5`)),
			"p.json:3:5: AS-FOO[1].greater-equal: want a prefix length, got 25.5"},
		{"ge a string", prefixes(entry(`"prefix": "198.51.100.0/24", "exact": false, "greater-equal": "25"`)),
			`p.json:3:5: AS-FOO[1].greater-equal: want a prefix length, got "25"`},
		{"le negative", prefixes(entry(`"prefix": "198.51.100.0/24", "exact": false, "less-equal": -1`)),
			"p.json:3:5: AS-FOO[1].less-equal: want a prefix length, got -1"},
		{"asn zero", asns("{\"AS-FOO\": [\n  112,0\n]}"), "a.json:2:7: AS-FOO[1]: want an AS number from 1 to 4294967295, got 0"},
		{"asn too big", asns(`{"AS-FOO": [4294967296]}`), "a.json:1:13: AS-FOO[0]: want an AS number from 1 to 4294967295, got 4294967296"},
		{"asn negative", asns(`{"AS-FOO": [-112]}`), "a.json:1:13: AS-FOO[0]: want an AS number from 1 to 4294967295, got -112"},
		{"asn fraction", asns(`{"AS-FOO": [1.5]}`), "a.json:1:13: AS-FOO[0]: want an AS number from 1 to 4294967295, got 1.5"},
		{"asn exponent", asns(`{"AS-FOO": [1e3]}`), "a.json:1:13: AS-FOO[0]: want an AS number from 1 to 4294967295, got 1e3"},
		{"asn a string", asns(`{"AS-FOO": ["AS112"]}`), "a.json:1:13: AS-FOO[0]: want an AS number, got a string"},
		{"asn list a number", asns(`{"AS-FOO": 112}`), "a.json:1:12: AS-FOO: want a list, got a number"},
		{"asn bad JSON", asns(`{"AS-FOO": [112 113]}`), "a.json:1:17: AS-FOO[1]: not JSON: invalid character '1' after array element"},
		{"several problems", prefixes(`{"AS-FOO": [{"prefix": "192.0.2.1/24", "exact": true}, 7], "AS-BAR": "x", "AS-BAZ": [{"prefix": "192.0.2.0/24"}]}`),
			"p.json:1:13: AS-FOO[0].prefix: 192.0.2.1/24 has host bits set (192.0.2.0/24?)\n" +
				"p.json:1:56: AS-FOO[1]: want a prefix entry {\"prefix\": ..., \"exact\": ...}, got a number (an AS list from bgpq4 -t? give it as an AS file)\n" +
				"p.json:1:70: AS-BAR: want a list, got a string\n" +
				"p.json:1:86: AS-BAZ[0].exact: missing"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d, err := Parse(tt.input)
			if err == nil {
				t.Fatalf("Parse succeeded, want error %s", tt.want)
			}
			if d != nil {
				t.Errorf("Parse returned data with an error")
			}
			if err.Error() != tt.want {
				t.Fatalf("Parse error:\n%v\nwant:\n%s", err, tt.want)
			}
			var e *Error
			if !errors.As(err, &e) || e.File != tt.input.Name || e.Line == 0 {
				t.Fatalf("Parse error %#v is not an *Error naming %s at a line", err, tt.input.Name)
			}
		})
	}
}

func TestParseErrorsAcrossFiles(t *testing.T) {
	_, err := Parse(
		Input{Name: "good.json", Kind: KindPrefixes, Reader: strings.NewReader(`{"AS-FOO": []}`)},
		Input{Name: "bad1.json", Kind: KindPrefixes, Reader: strings.NewReader(`{"AS-FOO": [1]}`)},
		Input{Name: "bad2.json", Kind: KindASNs, Reader: strings.NewReader(`{"AS-FOO": [0]}`)},
	)
	want := "bad1.json:1:13: AS-FOO[0]: want a prefix entry {\"prefix\": ..., \"exact\": ...}, got a number (an AS list from bgpq4 -t? give it as an AS file)\n" +
		"bad2.json:1:13: AS-FOO[0]: want an AS number from 1 to 4294967295, got 0"
	if err == nil || err.Error() != want {
		t.Fatalf("Parse error:\n%v\nwant:\n%s", err, want)
	}
	var e *Error
	if !errors.As(err, &e) || !reflect.DeepEqual(*e, Error{File: "bad1.json", Line: 1, Column: 13, Place: "AS-FOO[0]", Err: e.Err}) {
		t.Errorf("first problem = %+v", e)
	}
}

func TestTooManyProblems(t *testing.T) {
	var b strings.Builder
	b.WriteString(`{"AS-FOO": [`)
	for i := range 30 {
		if i > 0 {
			b.WriteString(",\n")
		}
		fmt.Fprintf(&b, `{"prefix": "10.0.%d.1/24", "exact": true}`, i)
	}
	b.WriteString("]}\n")
	_, err := Parse(prefixes(b.String()), prefixes(`{"AS-BAR": [0]}`))
	if !errors.Is(err, ErrTooManyProblems) {
		t.Fatalf("Parse error does not hold ErrTooManyProblems: %v", err)
	}
	lines := strings.Split(err.Error(), "\n")
	if len(lines) != maxProblems+1 {
		t.Fatalf("error has %d lines, want %d", len(lines), maxProblems+1)
	}
	if want := "p.json:20:1: AS-FOO[19].prefix: 10.0.19.1/24 has host bits set (10.0.19.0/24?)"; lines[maxProblems-1] != want {
		t.Errorf("last problem %q, want %q", lines[maxProblems-1], want)
	}
	if want := "stopped after 20 problems"; lines[maxProblems] != want {
		t.Errorf("last line %q, want %q", lines[maxProblems], want)
	}
}

func TestParseInputs(t *testing.T) {
	if _, err := Parse(Input{Name: "x", Kind: 0, Reader: strings.NewReader("{}")}); err == nil {
		t.Error("Parse took an input of no kind")
	}
	if _, err := Parse(Input{Name: "x", Kind: KindASNs}); err == nil {
		t.Error("Parse took an input with no reader")
	}
	d, err := Parse()
	if err != nil {
		t.Fatalf("Parse(): %v", err)
	}
	if n, _, _ := d.Stats(); n != 0 {
		t.Errorf("Parse() has %d names", n)
	}
}
