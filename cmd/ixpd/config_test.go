package main

import (
	"flag"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

var update = flag.Bool("update", false, "rewrite golden files")

// TestBadConfigs checks that every file in testdata/bad is refused with
// exactly the error in its .err file.
func TestBadConfigs(t *testing.T) {
	files, err := filepath.Glob("testdata/bad/*.yaml")
	if err != nil || len(files) == 0 {
		t.Fatalf("no bad configs: %v", err)
	}
	// Git keeps no file modes: give the world-readable secrets file its mode.
	if err := os.Chmod("testdata/bad/world-readable.secrets", 0o644); err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			data, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			cfg, err := ParseConfig(data)
			if err == nil {
				cfg.dir = filepath.Dir(f) // the files it names are read as LoadConfig does
				err = cfg.checkFiles()
			}
			if err == nil {
				t.Fatal("accepted, want an error")
			}
			errFile := strings.TrimSuffix(f, ".yaml") + ".err"
			if *update {
				if err := os.WriteFile(errFile, []byte(err.Error()+"\n"), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, rerr := os.ReadFile(errFile)
			if rerr != nil {
				t.Fatalf("read %s: %v (run with -update to create it)", errFile, rerr)
			}
			if diff := cmp.Diff(err.Error()+"\n", string(want)); diff != "" {
				t.Errorf("error (-got +want):\n%s", diff)
			}
		})
	}
}

// TestGoldenDump checks the defaults `ixpd check -dump` shows.
func TestGoldenDump(t *testing.T) {
	files, _ := filepath.Glob("testdata/golden/*.yaml")
	for _, f := range files {
		if strings.HasSuffix(f, ".dump.yaml") {
			continue
		}
		t.Run(filepath.Base(f), func(t *testing.T) {
			data, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			cfg, err := ParseConfig(data)
			if err != nil {
				t.Fatal(err)
			}
			var got strings.Builder
			if err := dumpConfig(cfg, &got); err != nil {
				t.Fatal(err)
			}
			golden := strings.TrimSuffix(f, ".yaml") + ".dump.yaml"
			if *update {
				if err := os.WriteFile(golden, []byte(got.String()), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("read %s: %v (run with -update to create it)", golden, err)
			}
			if diff := cmp.Diff(got.String(), string(want)); diff != "" {
				t.Errorf("dump (-got +want):\n%s", diff)
			}
			// The dump is itself a valid configuration with the same meaning.
			again, err := ParseConfig([]byte(got.String()))
			if err != nil {
				t.Fatalf("dump does not parse: %v", err)
			}
			if diff := cmp.Diff(again, cfg, cmp.AllowUnexported(Config{}), cmpopts.EquateComparable(netip.Prefix{}, netip.Addr{}, netip.AddrPort{}), cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("dump round trip (-got +want):\n%s", diff)
			}
		})
	}
}

// TestExampleConfig keeps the shipped example valid.
func TestExampleConfig(t *testing.T) {
	var out strings.Builder
	if err := check("../../deploy/examples/ixpd.yaml", false, &out); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "ok (4 members, 5 route-server sessions)") {
		t.Errorf("check output %q", out.String())
	}
}

// TestRelativeMembersFile checks that members_file is relative to the
// config file, not to the working directory.
func TestRelativeMembersFile(t *testing.T) {
	cfg, err := LoadConfig("../../deploy/examples/ixpd.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if got, want := cfg.resolve(cfg.MembersFile), filepath.Join("..", "..", "deploy", "examples", "members.json"); got != want {
		t.Errorf("members file %q, want %q", got, want)
	}
}

func FuzzParseConfig(f *testing.F) {
	files, _ := filepath.Glob("testdata/*/*.yaml")
	for _, file := range files {
		if data, err := os.ReadFile(file); err == nil {
			f.Add(data)
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		cfg, err := ParseConfig(data)
		if err == nil && cfg.RouteServer.ASN == 0 {
			t.Errorf("accepted a config without routeserver.asn")
		}
	})
}

func TestDumpHidesPassword(t *testing.T) {
	data, err := os.ReadFile("testdata/golden/minimal.yaml")
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := ParseConfig(append(data, []byte("storage:\n  driver: clickhouse\n  clickhouse: {password: hunter2}\n")...))
	if err != nil {
		t.Fatal(err)
	}
	var out strings.Builder
	if err := dumpConfig(cfg, &out); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(out.String(), "hunter2") || !strings.Contains(out.String(), "<redacted>") {
		t.Errorf("dump shows the password:\n%s", out.String())
	}
}
