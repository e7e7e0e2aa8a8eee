package irr

import (
	"bytes"
	"os"
	"slices"
	"testing"
)

func FuzzParse(f *testing.F) {
	for _, name := range []string{"json--4.txt", "json--6.txt", "json--asp.txt"} {
		data, err := os.ReadFile(samples + name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data, name == "json--asp.txt")
	}
	f.Add([]byte(`{"AS-FOO": [{"prefix": "10.0.0.0\/8", "exact": false, "greater-equal": 9, "less-equal": 24}]} {"as-foo": []}`), false)
	f.Add([]byte(`{"AS-FOO": [{"prefix": "2001:db8::/32", "exact": false, "less-equal": 48}, 7, null]`), false)
	f.Add([]byte(`{"AS-FOO": [1, 4294967295, 0, -1, 1.5, "x"]}`), true)
	f.Fuzz(func(t *testing.T, data []byte, isASN bool) {
		kind := KindPrefixes
		if isASN {
			kind = KindASNs
		}
		d, err := Parse(Input{Name: "fuzz.json", Kind: kind, Reader: bytes.NewReader(data)})
		if err != nil {
			if d != nil {
				t.Fatal("data with an error")
			}
			return
		}
		for _, name := range d.Names() {
			if d.Fingerprint(name) == 0 {
				t.Fatalf("%s: fingerprint 0", name)
			}
			ranges, _ := d.Prefixes(name)
			if !slices.IsSortedFunc(ranges, compareRanges) || len(slices.Compact(slices.Clone(ranges))) != len(ranges) {
				t.Fatalf("%s: ranges not sorted and unique: %v", name, ranges)
			}
			for _, r := range ranges {
				back, err := ParsePrefixRange(r.String())
				if err != nil || back != r {
					t.Fatalf("%s: range %v does not read back: %v, %v", name, r, back, err)
				}
			}
			numbers, _ := d.ASNs(name)
			if !slices.IsSorted(numbers) || len(slices.Compact(slices.Clone(numbers))) != len(numbers) || slices.Contains(numbers, 0) {
				t.Fatalf("%s: bad ASNs %v", name, numbers)
			}
		}
	})
}

func FuzzParsePrefixRange(f *testing.F) {
	for _, s := range []string{"192.0.2.0/24", "192.0.0.0/22 le 24", "2001:db8::/32 ge 40 le 48", "192.0.2.0/24+",
		"192.0.2.0/24^-", "192.0.2.0/24^25-28", "::/0 ge 0", "192.0.2.1/24"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		r, err := ParsePrefixRange(s)
		if err != nil {
			return
		}
		bits, longest := r.Prefix.Bits(), r.Prefix.Addr().BitLen()
		if r.Prefix != r.Prefix.Masked() || int(r.Min) < bits || r.Min > r.Max || int(r.Max) > longest {
			t.Fatalf("ParsePrefixRange(%q) = %+v, out of bounds", s, r)
		}
		back, err := ParsePrefixRange(r.String())
		if err != nil || back != r {
			t.Fatalf("ParsePrefixRange(%q) = %v does not read back: %v, %v", s, r, back, err)
		}
	})
}
