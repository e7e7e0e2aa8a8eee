package members

import (
	"encoding/json"
	"errors"
	"flag"
	"io/fs"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

var update = flag.Bool("update", false, "rewrite the .err files of testdata/bad from the current output")

func TestParseValid(t *testing.T) {
	tests := []struct {
		file string
		want *Set
	}{
		{
			file: "testdata/valid/minimal.json",
			want: &Set{
				Version:   "1.0",
				Timestamp: time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC),
				Members:   []Member{{ASN: 64512}},
			},
		},
		{file: "testdata/valid/full.json", want: fullSet()},
	}
	for _, tt := range tests {
		t.Run(filepath.Base(tt.file), func(t *testing.T) {
			got, err := Load(tt.file, Options{PeeringLANs: labLANs})
			if err != nil {
				t.Fatalf("Load() error:\n%v", err)
			}
			if diff := cmp.Diff(got, tt.want, cmpOpts...); diff != "" {
				t.Errorf("Load() (-got +want):\n%s", diff)
			}
			// A byte order mark is ignored.
			data, err := os.ReadFile(tt.file)
			if err != nil {
				t.Fatal(err)
			}
			got, err = Parse(append([]byte("\uFEFF"), data...), Options{PeeringLANs: labLANs})
			if err != nil {
				t.Fatalf("Parse() with a byte order mark error:\n%v", err)
			}
			if diff := cmp.Diff(got, tt.want, cmpOpts...); diff != "" {
				t.Errorf("Parse() with a byte order mark (-got +want):\n%s", diff)
			}
			// Without peering LANs the same file is read the same way.
			got, err = Load(tt.file, Options{})
			if err != nil {
				t.Fatalf("Load() without peering LANs error:\n%v", err)
			}
			if diff := cmp.Diff(got, tt.want, cmpOpts...); diff != "" {
				t.Errorf("Load() without peering LANs (-got +want):\n%s", diff)
			}
		})
	}
}

// TestParseBad checks each file of testdata/bad against the problems listed, one a line, in the
// sibling .err file. Run with -update to rewrite the .err files, then review them.
func TestParseBad(t *testing.T) {
	files, err := filepath.Glob("testdata/bad/*.json")
	if err != nil {
		t.Fatal(err)
	}
	if len(files) < 12 {
		t.Fatalf("found %d bad files, want at least 12", len(files))
	}
	for _, file := range files {
		t.Run(strings.TrimSuffix(filepath.Base(file), ".json"), func(t *testing.T) {
			data, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			set, err := Parse(data, Options{PeeringLANs: labLANs})
			if err == nil {
				t.Fatalf("Parse() = %+v, want an error", set)
			}
			if set != nil {
				t.Errorf("Parse() returned a Set with an error")
			}
			var lines []string
			for _, p := range Problems(err) {
				lines = append(lines, p.Error())
			}
			got := strings.Join(lines, "\n")
			if got != err.Error() {
				t.Errorf("Problems() do not make up the error:\n%s\nerror:\n%s", got, err)
			}
			errFile := strings.TrimSuffix(file, ".json") + ".err"
			if *update {
				if err := os.WriteFile(errFile, []byte(got+"\n"), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			wantData, err := os.ReadFile(errFile)
			if err != nil {
				t.Fatal(err)
			}
			want := strings.TrimSuffix(string(wantData), "\n")
			if diff := cmp.Diff(strings.Split(got, "\n"), strings.Split(want, "\n")); diff != "" {
				t.Errorf("problems (-got +want):\n%s", diff)
			}
		})
	}
}

func TestLoadErrors(t *testing.T) {
	_, err := Load("testdata/bad/outside-lan.json", Options{PeeringLANs: labLANs})
	want := "members file testdata/bad/outside-lan.json: " +
		"/member_list/1/connection_list/0/vlan_list/0/ipv6/address: fd00:fffe::11 is outside the peering LAN (127.0.0.0/8, fd00:ffff::/64)\n" +
		"/member_list/2/connection_list/0/vlan_list/0/ipv4/address: 10.9.9.9 is outside the peering LAN (127.0.0.0/8, fd00:ffff::/64)"
	if err == nil || err.Error() != want {
		t.Errorf("Load() error:\n%v\nwant:\n%s", err, want)
	}
	if got := len(Problems(err)); got != 2 {
		t.Errorf("Problems() of a wrapped error: got %d, want 2", got)
	}

	_, err = Load("testdata/bad/empty.json", Options{})
	if want := "members file testdata/bad/empty.json: line 1, column 1: unexpected end of file"; err == nil || err.Error() != want {
		t.Errorf("Load() error = %v, want %s", err, want)
	}

	_, err = Load("testdata/missing.json", Options{})
	if !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("Load() of a missing file: error = %v, want fs.ErrNotExist", err)
	}
	if err != nil && !strings.HasPrefix(err.Error(), "members file testdata/missing.json: ") {
		t.Errorf("Load() error does not name the file: %v", err)
	}
	if got := Problems(err); len(got) != 0 {
		t.Errorf("Problems() of a read error = %v, want none", got)
	}
}

func TestPeeringLANs(t *testing.T) {
	data := []byte(`{"version": "1.0", "timestamp": "2025-03-01T12:00:00Z", "member_list": [
		{"asnum": 64512, "connection_list": [{"vlan_list": [
			{"ipv4": {"address": "198.51.100.1", "routeserver": true}},
			{"ipv4": {"address": "198.51.100.0", "routeserver": true}},
			{"ipv4": {"address": "198.51.100.3", "routeserver": true}},
			{"ipv6": {"address": "2001:db8:1::", "routeserver": true}}
		]}]}]}`)
	tests := []struct {
		name string
		lans []string
		want []string
	}{
		{name: "none", lans: nil, want: nil},
		{
			name: "ipv4 /30",
			lans: []string{"198.51.100.0/30", "2001:db8:1::/127"},
			want: []string{
				"/member_list/0/connection_list/0/vlan_list/1/ipv4/address: 198.51.100.0 is the network address of the peering LAN 198.51.100.0/30 and cannot have a route-server session",
				"/member_list/0/connection_list/0/vlan_list/2/ipv4/address: 198.51.100.3 is the broadcast address of the peering LAN 198.51.100.0/30 and cannot have a route-server session",
			},
		},
		{
			name: "point-to-point /31 and /127",
			lans: []string{"198.51.100.0/31", "198.51.100.3/32", "2001:db8:1::/127"},
			want: nil,
		},
		{
			name: "prefix not masked",
			lans: []string{"198.51.100.77/24", "2001:db8:1::1/64"},
			want: []string{
				"/member_list/0/connection_list/0/vlan_list/1/ipv4/address: 198.51.100.0 is the network address of the peering LAN 198.51.100.0/24 and cannot have a route-server session",
				"/member_list/0/connection_list/0/vlan_list/3/ipv6/address: 2001:db8:1:: is the network address of the peering LAN 2001:db8:1::/64 and cannot have a route-server session",
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var lans []netip.Prefix
			for _, s := range tt.lans {
				lans = append(lans, netip.MustParsePrefix(s))
			}
			_, err := Parse(data, Options{PeeringLANs: lans})
			var got []string
			for _, p := range Problems(err) {
				got = append(got, p.Error())
			}
			if diff := cmp.Diff(got, tt.want); diff != "" {
				t.Errorf("problems (-got +want):\n%s", diff)
			}
		})
	}
}

func TestProblems(t *testing.T) {
	a := &FieldError{Path: "/member_list/0/asnum", Message: "AS0 is reserved (RFC 7607)"}
	b := &FieldError{Message: "line 1, column 1: unexpected end of file"}
	err := errors.Join(a, errors.New("not a field error"), errors.Join(b))
	wrapped := errors.Join(errors.New("other"), err)
	if diff := cmp.Diff(Problems(wrapped), []*FieldError{a, b}); diff != "" {
		t.Errorf("Problems() (-got +want):\n%s", diff)
	}
	if got := Problems(nil); got != nil {
		t.Errorf("Problems(nil) = %v, want nil", got)
	}
	if got, want := a.Error(), "/member_list/0/asnum: AS0 is reserved (RFC 7607)"; got != want {
		t.Errorf("Error() = %q, want %q", got, want)
	}
	if got, want := b.Error(), "line 1, column 1: unexpected end of file"; got != want {
		t.Errorf("Error() of a problem with the whole file = %q, want %q", got, want)
	}
}

func TestComparePointers(t *testing.T) {
	// Sorted as Parse lists problems: by index, then known keys in schema order, then other keys.
	sorted := []string{
		"",
		"/version",
		"/timestamp",
		"/member_list",
		"/member_list/2",
		"/member_list/2/asnum",
		"/member_list/2/connection_list/0/vlan_list/0/ipv4/address",
		"/member_list/2/connection_list/0/vlan_list/0/ipv6",
		"/member_list/2/x_extension",
		"/member_list/10",
		"/a_extension",
		"/b_extension",
	}
	for i := range sorted {
		for j := range sorted {
			got := comparePointers(sorted[i], sorted[j])
			want := 0
			switch {
			case i < j:
				want = -1
			case i > j:
				want = 1
			}
			if got != want {
				t.Errorf("comparePointers(%q, %q) = %d, want %d", sorted[i], sorted[j], got, want)
			}
		}
	}
}

func TestWholeNumber(t *testing.T) {
	tests := []struct {
		in     string
		want   int64
		wantOK bool
	}{
		{in: "64500", want: 64500, wantOK: true},
		{in: "-1", want: -1, wantOK: true},
		{in: "64500.0", want: 64500, wantOK: true},
		{in: "6.45e4", want: 64500, wantOK: true},
		{in: "1.5", wantOK: false},
		{in: "1e-400", wantOK: false},
		{in: "99999999999999999999", want: 1<<63 - 1, wantOK: true},
		{in: "1e400", want: 1<<63 - 1, wantOK: true},
		{in: "-1e400", want: -1 << 63, wantOK: true},
		{in: "-0", want: 0, wantOK: true},
		{in: "0.000e999999999999", want: 0, wantOK: true},
		{in: "1e999999999999", want: 1<<63 - 1, wantOK: true},
		{in: "1e-999999999999", wantOK: false},
		{in: "12.30e1", want: 123, wantOK: true},
		{in: "1230e-1", want: 123, wantOK: true},
		{in: "1231e-1", wantOK: false},
		{in: "9223372036854775807", want: 1<<63 - 1, wantOK: true},
		{in: "9223372036854775808", want: 1<<63 - 1, wantOK: true},
		{in: "-9223372036854775809", want: -1 << 63, wantOK: true},
		{in: "9.223372036854775808e18", want: 1<<63 - 1, wantOK: true},
		{in: "4.294967295e9", want: 4294967295, wantOK: true},
	}
	for _, tt := range tests {
		got, ok := wholeNumber(json.Number(tt.in))
		if got != tt.want || ok != tt.wantOK {
			t.Errorf("wholeNumber(%s) = %d, %t; want %d, %t", tt.in, got, ok, tt.want, tt.wantOK)
		}
	}
}
