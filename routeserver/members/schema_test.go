package members

import (
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// TestExample reads the IX-F 1.0 sample of the shared folder. It uses documentation AS numbers, which
// Parse rejects, so the Set is compared as decoded and Parse must report those two numbers and nothing
// else, with the official schema on.
func TestExample(t *testing.T) {
	dir := sharedIXF(t)
	data, err := os.ReadFile(filepath.Join(dir, "example-1.0.json"))
	if err != nil {
		t.Fatal(err)
	}
	ip := netip.MustParseAddr
	want := &Set{
		Version:   "1.0",
		Timestamp: time.Date(2025, 1, 31, 0, 0, 0, 0, time.UTC),
		Members: []Member{
			{
				ASN:           64500,
				Name:          "Example ISP A",
				Type:          "peering",
				PeeringPolicy: "open",
				Addresses: []Address{
					{Family: IPv4, IP: ip("192.0.2.10"), RouteServer: true, MaxPrefix: 50, ASMacro: "AS-EXAMPLEA", VLANID: 10},
					{Family: IPv6, IP: ip("2001:db8::10"), RouteServer: true, MaxPrefix: 20, VLANID: 10},
				},
			},
			{
				ASN:  64511,
				Name: "EX-IX Route Servers",
				Type: "ixp",
				Addresses: []Address{
					{Family: IPv4, IP: ip("192.0.2.1"), VLANID: 10},
					{Family: IPv6, IP: ip("2001:db8::1"), VLANID: 10},
				},
			},
		},
	}
	doc, syntaxProblem := decodeJSON(data)
	if syntaxProblem != nil {
		t.Fatalf("decodeJSON() problem: %v", syntaxProblem)
	}
	got, _, problems := decode(doc)
	if len(problems) > 0 {
		t.Errorf("decode() problems: %v", problems)
	}
	if diff := cmp.Diff(got, want, cmpOpts...); diff != "" {
		t.Errorf("decode() (-got +want):\n%s", diff)
	}

	opts := Options{
		PeeringLANs: []netip.Prefix{netip.MustParsePrefix("192.0.2.0/24"), netip.MustParsePrefix("2001:db8::/64")},
		SchemaFile:  officialSchema(t),
	}
	set, err := Parse(data, opts)
	if set != nil {
		t.Errorf("Parse() returned a Set with documentation AS numbers")
	}
	var gotProblems []string
	for _, p := range Problems(err) {
		gotProblems = append(gotProblems, p.Error())
	}
	wantProblems := []string{
		"/member_list/0/asnum: AS64500 is reserved for documentation (RFC 5398)",
		"/member_list/1/asnum: AS64511 is reserved for documentation (RFC 5398)",
	}
	if diff := cmp.Diff(gotProblems, wantProblems); diff != "" {
		t.Errorf("Parse() problems (-got +want):\n%s", diff)
	}
}

// TestSchemaValid checks that the official schema accepts the shared sample and every fixture of
// testdata/valid, and that Parse does with the schema on.
func TestSchemaValid(t *testing.T) {
	schema := officialSchema(t)
	files, err := filepath.Glob("testdata/valid/*.json")
	if err != nil {
		t.Fatal(err)
	}
	files = append(files, filepath.Join(sharedIXF(t), "example-1.0.json"))
	for _, file := range files {
		t.Run(filepath.Base(file), func(t *testing.T) {
			data, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			problems, err := validateSchema(schema, data)
			if err != nil {
				t.Fatalf("validateSchema() error: %v", err)
			}
			if len(problems) > 0 {
				t.Errorf("validateSchema() problems: %v", problems)
			}
			if strings.HasPrefix(file, "testdata/") {
				if _, err := Parse(data, Options{PeeringLANs: labLANs, SchemaFile: schema}); err != nil {
					t.Errorf("Parse() with the schema: %v", err)
				}
			}
		})
	}
}

// TestSchemaBad checks the problems of testdata/schema/*.json with the official schema on against the
// sibling .err files.
func TestSchemaBad(t *testing.T) {
	schema := officialSchema(t)
	files, err := filepath.Glob("testdata/schema/*.json")
	if err != nil {
		t.Fatal(err)
	}
	if len(files) == 0 {
		t.Fatal("no files in testdata/schema")
	}
	for _, file := range files {
		t.Run(strings.TrimSuffix(filepath.Base(file), ".json"), func(t *testing.T) {
			data, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			_, err = Parse(data, Options{PeeringLANs: labLANs, SchemaFile: schema})
			var got []string
			for _, p := range Problems(err) {
				got = append(got, p.Error())
			}
			errFile := strings.TrimSuffix(file, ".json") + ".err"
			if *update {
				if err := os.WriteFile(errFile, []byte(strings.Join(got, "\n")+"\n"), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			wantData, err := os.ReadFile(errFile)
			if err != nil {
				t.Fatal(err)
			}
			want := strings.Split(strings.TrimSuffix(string(wantData), "\n"), "\n")
			if diff := cmp.Diff(got, want); diff != "" {
				t.Errorf("problems (-got +want):\n%s", diff)
			}
		})
	}
}

func TestSchemaUnusable(t *testing.T) {
	data, err := os.ReadFile("testdata/valid/minimal.json")
	if err != nil {
		t.Fatal(err)
	}
	bad := filepath.Join(t.TempDir(), "schema.json")
	if err := os.WriteFile(bad, []byte(`{"type": 5}`), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, schema := range []string{filepath.Join(t.TempDir(), "missing.json"), bad} {
		_, err := Parse(data, Options{SchemaFile: schema})
		if err == nil {
			t.Errorf("Parse() with schema %s: no error", schema)
			continue
		}
		if !strings.HasPrefix(err.Error(), "compile schema "+schema+": ") {
			t.Errorf("Parse() with schema %s: error = %v, want it to name the schema", schema, err)
		}
		if got := Problems(err); len(got) != 0 {
			t.Errorf("Parse() with schema %s: Problems() = %v, want none", schema, got)
		}
	}
}
