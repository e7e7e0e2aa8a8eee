package irr

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"testing"
)

func writeFile(t testing.TB, dir, name, content string) string {
	t.Helper()
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestLoadGlobs(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, dir, "AS-FOO.v4.json", `{ "AS-FOO": [ { "prefix": "192.0.2.0\/24", "exact": true } ] }`)
	writeFile(t, dir, "AS-FOO.v6.json", `{ "AS-FOO": [ { "prefix": "2001:db8::\/32", "exact": false, "less-equal": 48 } ] }`)
	writeFile(t, dir, "AS-BAR.v4.json", `{ "AS-BAR": [ { "prefix": "198.51.100.0\/24", "exact": true } ] }`)
	writeFile(t, dir, "AS-FOO.asn.json", `{"AS-FOO": [ 64496 ]}`)
	writeFile(t, dir, "AS-BAR.asn.json", `{"AS-BAR": [ 64497,64498 ]}`)

	d, err := Load(
		// AS-FOO.v4.json is named twice; it is read once.
		[]string{filepath.Join(dir, "*.v[46].json"), filepath.Join(dir, "AS-FOO.v4.json")},
		[]string{filepath.Join(dir, "*.asn.json")})
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	checkPrefixes(t, d, "AS-FOO", rng("192.0.2.0/24", 24, 24), rng("2001:db8::/32", 32, 48))
	checkPrefixes(t, d, "AS-BAR", rng("198.51.100.0/24", 24, 24))
	checkASNs(t, d, "AS-FOO", 64496)
	checkASNs(t, d, "AS-BAR", 64497, 64498)
	if got, want := d.Names(), []string{"AS-BAR", "AS-FOO"}; !slices.Equal(got, want) {
		t.Errorf("Names() = %q, want %q", got, want)
	}
	if names, ranges, numbers := d.Stats(); names != 2 || ranges != 3 || numbers != 3 {
		t.Errorf("Stats() = %d, %d, %d, want 2, 3, 3", names, ranges, numbers)
	}
}

func TestLoadErrors(t *testing.T) {
	dir := t.TempDir()
	good := writeFile(t, dir, "good.json", `{"AS-FOO": []}`)
	bad := writeFile(t, dir, "bad.json", "{\"AS-FOO\": [\n  {\"prefix\": \"192.0.2.0/24\", \"exact\": false, \"less-equal\": 33}\n]}")
	missing := filepath.Join(dir, "missing.json")
	tests := []struct {
		name              string
		prefixes, numbers []string
		want              string
		notExist          bool
	}{
		{name: "missing file", prefixes: []string{good, missing},
			want: missing + ": open: no such file or directory", notExist: true},
		{name: "pattern without match", numbers: []string{filepath.Join(dir, "*.asn.json")},
			want: filepath.Join(dir, "*.asn.json") + ": no AS file matches the pattern"},
		{name: "bad pattern", prefixes: []string{filepath.Join(dir, "[.json")},
			want: filepath.Join(dir, "[.json") + ": bad prefix file pattern: syntax error in pattern"},
		{name: "empty name", prefixes: []string{""}, want: "empty prefix file name"},
		{name: "bad file", prefixes: []string{good, bad},
			want: bad + ":2:3: AS-FOO[0].less-equal: 33 is above 32, the longest IPv4 prefix"},
		{name: "bad file by pattern", prefixes: []string{filepath.Join(dir, "*.json")},
			want: bad + ":2:3: AS-FOO[0].less-equal: 33 is above 32, the longest IPv4 prefix"},
		{name: "several", prefixes: []string{bad}, numbers: []string{missing},
			want: bad + ":2:3: AS-FOO[0].less-equal: 33 is above 32, the longest IPv4 prefix\n" +
				missing + ": open: no such file or directory", notExist: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d, err := Load(tt.prefixes, tt.numbers)
			if err == nil || d != nil {
				t.Fatalf("Load = %v, %v, want error %s", d, err, tt.want)
			}
			if err.Error() != tt.want {
				t.Fatalf("Load error:\n%v\nwant:\n%s", err, tt.want)
			}
			if got := errors.Is(err, fs.ErrNotExist); got != tt.notExist {
				t.Errorf("errors.Is(err, fs.ErrNotExist) = %v, want %v", got, tt.notExist)
			}
		})
	}
}

func TestFingerprint(t *testing.T) {
	dir := t.TempDir()
	foo := writeFile(t, dir, "foo.json", `{ "AS-FOO": [ { "prefix": "192.0.2.0\/24", "exact": true } ] }`)
	bar := writeFile(t, dir, "bar.json", `{ "AS-BAR": [ { "prefix": "198.51.100.0\/24", "exact": true } ] }`)
	asn := writeFile(t, dir, "asn.json", `{"AS-FOO": [64496], "AS-BAR": [64497], "AS-BAZ": []}`)
	load := func(prefixes ...string) *Data {
		t.Helper()
		d, err := Load(prefixes, []string{asn})
		if err != nil {
			t.Fatal(err)
		}
		return d
	}
	before := load(foo, bar)
	if again := load(bar, foo); again.Fingerprint("AS-FOO") != before.Fingerprint("AS-FOO") ||
		again.Fingerprint("AS-BAR") != before.Fingerprint("AS-BAR") {
		t.Error("fingerprints depend on file order")
	}
	if before.Fingerprint("as-foo") != before.Fingerprint("AS-FOO") {
		t.Error("Fingerprint is case-sensitive")
	}
	if before.Fingerprint("AS-NONE") != 0 {
		t.Error("Fingerprint of an unknown name is not 0")
	}
	if before.Fingerprint("AS-BAZ") == 0 || before.Fingerprint("AS-FOO") == before.Fingerprint("AS-BAR") {
		t.Error("fingerprints of different lists are 0 or equal")
	}

	// Change AS-BAR's prefixes only.
	writeFile(t, dir, "bar.json", `{ "AS-BAR": [ { "prefix": "198.51.100.0\/24", "exact": false, "less-equal": 25 } ] }`)
	after := load(foo, bar)
	if after.Fingerprint("AS-FOO") != before.Fingerprint("AS-FOO") {
		t.Error("AS-FOO fingerprint changed with AS-BAR's prefixes")
	}
	if after.Fingerprint("AS-BAZ") != before.Fingerprint("AS-BAZ") {
		t.Error("AS-BAZ fingerprint changed with AS-BAR's prefixes")
	}
	if after.Fingerprint("AS-BAR") == before.Fingerprint("AS-BAR") {
		t.Error("AS-BAR fingerprint did not change with its prefixes")
	}

	// Change AS-FOO's ASNs only.
	writeFile(t, dir, "asn.json", `{"AS-FOO": [64496, 64499], "AS-BAR": [64497], "AS-BAZ": []}`)
	after2 := load(foo, bar)
	if after2.Fingerprint("AS-FOO") == after.Fingerprint("AS-FOO") {
		t.Error("AS-FOO fingerprint did not change with its ASNs")
	}
	if after2.Fingerprint("AS-BAR") != after.Fingerprint("AS-BAR") {
		t.Error("AS-BAR fingerprint changed with AS-FOO's ASNs")
	}

	// An empty prefix list is not the same as no prefix list.
	empty := writeFile(t, dir, "empty.json", `{"AS-BAZ": []}`)
	withEmpty := load(foo, bar, empty)
	if withEmpty.Fingerprint("AS-BAZ") == after2.Fingerprint("AS-BAZ") {
		t.Error("AS-BAZ fingerprint did not change with an empty prefix list")
	}
}
