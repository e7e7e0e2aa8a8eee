package members

import (
	"os"
	"path/filepath"
	"testing"
)

// FuzzParse checks that Parse never panics, and that it returns either a Set or problems.
func FuzzParse(f *testing.F) {
	for _, pattern := range []string{"testdata/valid/*.json", "testdata/bad/*.json", "testdata/schema/*.json"} {
		files, err := filepath.Glob(pattern)
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
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		set, err := Parse(data, Options{PeeringLANs: labLANs})
		if err != nil {
			if set != nil {
				t.Errorf("Parse() returned a Set and an error")
			}
			problems := Problems(err)
			if len(problems) == 0 {
				t.Fatalf("Parse() error without problems: %v", err)
			}
			for _, p := range problems {
				if p.Message == "" {
					t.Errorf("problem without a message at %q", p.Path)
				}
			}
			return
		}
		if set == nil {
			t.Fatal("Parse() returned neither a Set nor an error")
		}
		if set.Version != "1.0" {
			t.Errorf("Version = %q", set.Version)
		}
		seen := map[uint32]bool{}
		for _, m := range set.Members {
			if reservedASN(m.ASN) != "" || seen[m.ASN] {
				t.Errorf("AS%d accepted", m.ASN)
			}
			seen[m.ASN] = true
			for _, a := range m.Addresses {
				if !a.IP.IsValid() || a.IP.Is4() != (a.Family == IPv4) || a.MaxPrefix < 0 {
					t.Errorf("address %+v accepted", a)
				}
				if _, ok := peeringLAN(labLANs, a.IP); !ok {
					t.Errorf("address %s outside the peering LANs accepted", a.IP)
				}
			}
			for _, mac := range m.MACs {
				if len(mac) != 6 {
					t.Errorf("MAC %s accepted", mac)
				}
			}
		}
	})
}
