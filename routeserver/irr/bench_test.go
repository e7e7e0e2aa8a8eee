package irr

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"testing"
)

// writeBig writes a bgpq4 -j style prefix list of n entries, IPv4 /24s in order, one in four an
// aggregate, and returns its path.
func writeBig(b *testing.B, n int) string {
	b.Helper()
	path := filepath.Join(b.TempDir(), "big.json")
	var w bytes.Buffer
	w.WriteString(`{ "AS-BIG": [`)
	for i := range n {
		a := uint32(0x01000000) + uint32(i)<<8
		sep := ","
		if i == 0 {
			sep = ""
		}
		p := fmt.Sprintf(`%d.%d.%d.0\/24`, a>>24, a>>16&0xff, a>>8&0xff)
		switch i % 4 {
		case 0:
			fmt.Fprintf(&w, "%s\n    { \"prefix\": \"%s\", \"exact\": false,\n      \"greater-equal\": 25, \"less-equal\": 28 }", sep, p)
		case 1:
			fmt.Fprintf(&w, "%s\n    { \"prefix\": \"%s\", \"exact\": false, \"less-equal\": 26 }", sep, p)
		default:
			fmt.Fprintf(&w, "%s\n    { \"prefix\": \"%s\", \"exact\": true }", sep, p)
		}
	}
	w.WriteString("\n] }\n")
	if err := os.WriteFile(path, w.Bytes(), 0o644); err != nil {
		b.Fatal(err)
	}
	return path
}

// BenchmarkLoad1M loads a prefix list of a million entries.
//
//	go test -run '^$' -bench 'Load1M|Unmarshal1M' -benchmem ./routeserver/irr/
func BenchmarkLoad1M(b *testing.B) {
	path := writeBig(b, 1_000_000)
	b.ResetTimer()
	for b.Loop() {
		d, err := Load([]string{path}, nil)
		if err != nil {
			b.Fatal(err)
		}
		if _, n, _ := d.Stats(); n != 1_000_000 {
			b.Fatalf("%d prefixes, want 1000000", n)
		}
	}
}

// BenchmarkUnmarshal1M is the anchor of BenchmarkLoad1M: the same file read and decoded by
// json.Unmarshal into typed structs, with no check, no position and no netip parsing.
func BenchmarkUnmarshal1M(b *testing.B) {
	path := writeBig(b, 1_000_000)
	b.ResetTimer()
	for b.Loop() {
		data, err := os.ReadFile(path)
		if err != nil {
			b.Fatal(err)
		}
		var lists map[string][]struct {
			Prefix       string `json:"prefix"`
			Exact        bool   `json:"exact"`
			GreaterEqual *int   `json:"greater-equal"`
			LessEqual    *int   `json:"less-equal"`
		}
		if err := json.Unmarshal(data, &lists); err != nil {
			b.Fatal(err)
		}
		if n := len(lists["AS-BIG"]); n != 1_000_000 {
			b.Fatalf("%d prefixes, want 1000000", n)
		}
	}
}
