package peeringdb

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// sample is a real PeeringDB API response for AS3333 and AS10745 (and a third network).
const sample = "../../../shared/data/peeringdb/peeringdb_net_3333_10745.json"

func TestLoadSample(t *testing.T) {
	got, err := LoadNeverViaRouteServers(sample)
	if err != nil {
		t.Fatalf("LoadNeverViaRouteServers: %v", err)
	}
	if len(got) != 0 {
		t.Fatalf("LoadNeverViaRouteServers = %v, want none: no network in the sample has the flag", got)
	}
}

// TestLoadSampleFlagged sets the flag on some networks of the real sample and reads it back.
func TestLoadSampleFlagged(t *testing.T) {
	data, err := os.ReadFile(sample)
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Data []map[string]any `json:"data"`
		Meta map[string]any   `json:"meta"`
	}
	if err := json.Unmarshal(data, &doc); err != nil {
		t.Fatal(err)
	}
	var asns []float64
	for _, net := range doc.Data {
		asns = append(asns, net["asn"].(float64))
	}
	if want := []float64{3333, 10745, 197000}; !slices.Equal(asns, want) {
		t.Fatalf("sample ASNs = %v, want %v", asns, want)
	}
	doc.Data[1]["info_never_via_route_servers"] = true
	doc.Data[2]["info_never_via_route_servers"] = true
	doc.Data = append(doc.Data, doc.Data[2]) // a duplicate
	flagged, err := json.Marshal(doc)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "net.json")
	if err := os.WriteFile(path, flagged, 0o644); err != nil {
		t.Fatal(err)
	}
	got, err := LoadNeverViaRouteServers(path)
	if err != nil {
		t.Fatalf("LoadNeverViaRouteServers: %v", err)
	}
	if want := []uint32{10745, 197000}; !slices.Equal(got, want) {
		t.Fatalf("LoadNeverViaRouteServers = %v, want %v", got, want)
	}
}

func TestParse(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want []uint32
	}{
		{"none", `{"data": [], "meta": {}}`, nil},
		{"no meta", `{"data": [{"asn": 64496, "info_never_via_route_servers": true}]}`, []uint32{64496}},
		{"sorted and unique", `{"meta": {}, "data": [
			{"asn": 4200000000, "info_never_via_route_servers": true, "name": "x", "netixlan_set": [{"ipaddr4": "192.0.2.1"}]},
			{"asn": 64497, "info_never_via_route_servers": false},
			{"asn": 64496, "info_never_via_route_servers": true, "poc_set": {"role": ["Abuse"]}},
			{"asn": 4200000000, "info_never_via_route_servers": true}
		], "other": {"nested": [[1, {"a": null}], "s"]}}`, []uint32{64496, 4200000000}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseNeverViaRouteServers(strings.NewReader(tt.in))
			if err != nil {
				t.Fatalf("ParseNeverViaRouteServers: %v", err)
			}
			if !slices.Equal(got, tt.want) {
				t.Fatalf("ParseNeverViaRouteServers = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestLoadErrors(t *testing.T) {
	dir := t.TempDir()
	tests := []struct {
		name string
		in   string
		want string // after "<path>: "
	}{
		{"empty", "", "offset 0: no JSON object: the file is empty"},
		{"not JSON", "<html>502 Bad Gateway</html>", "offset 0: not JSON: invalid character '<' looking for beginning of value"},
		{"a list", `[{"asn": 1}]`, `offset 0: want an object such as {"data": [...]}, got a list`},
		{"no data", `{"meta": {}}`, `offset 0: no "data" list`},
		{"API error", `{"meta": {"error": "Too many requests"}}`, `offset 0: no "data" list; meta.error: "Too many requests"`},
		{"data an object", `{"data": {"asn": 1}}`, "offset 9: data: want a list, got an object"},
		{"data twice", `{"data": [], "data": []}`, `offset 13: "data" is given twice`},
		{"entry a number", `{"data": [3333]}`, "offset 10: data[0]: want an object, got a number"},
		{"entry null", `{"data": [{"asn": 1, "info_never_via_route_servers": true}, null]}`, "offset 60: data[1]: want an object, got null"},
		{"asn missing", `{"data": [{"info_never_via_route_servers": true}]}`, "offset 10: data[0].asn: missing"},
		{"asn a string", `{"data": [{"asn": "3333", "info_never_via_route_servers": true}]}`, `offset 10: data[0].asn: want an AS number from 1 to 4294967295, got "3333"`},
		{"asn zero", `{"data": [{"asn": 0, "info_never_via_route_servers": true}]}`, "offset 10: data[0].asn: want an AS number from 1 to 4294967295, got 0"},
		{"asn too big", `{"data": [{"asn": 4294967296, "info_never_via_route_servers": true}]}`, "offset 10: data[0].asn: want an AS number from 1 to 4294967295, got 4294967296"},
		{"asn a fraction", `{"data": [{"asn": 3333.5, "info_never_via_route_servers": true}]}`, "offset 10: data[0].asn: want an AS number from 1 to 4294967295, got 3333.5"},
		{"asn null", `{"data": [{"asn": null, "info_never_via_route_servers": true}]}`, "offset 10: data[0].asn: want an AS number from 1 to 4294967295, got null"},
		{"flag missing", `{"data": [{"asn": 3333}]}`, "offset 10: data[0].info_never_via_route_servers: missing"},
		{"flag a string", `{"data": [{"asn": 3333, "info_never_via_route_servers": "true"}]}`, `offset 10: data[0].info_never_via_route_servers: want true or false, got "true"`},
		{"flag a number", `{"data": [{"asn": 3333, "info_never_via_route_servers": 1}]}`, "offset 10: data[0].info_never_via_route_servers: want true or false, got 1"},
		{"flag null", `{"data": [{"asn": 3333, "info_never_via_route_servers": null}]}`, "offset 10: data[0].info_never_via_route_servers: want true or false, got null"},
		{"cut short", `{"data": [{"asn": 3333, "info_never_via_route_servers": true}, {"asn": 10745, "info_`, "offset 63: data[1]: not JSON: the file ends too early (cut short?)"},
		{"cut after list", `{"data": []`, "offset 11: not JSON: the file ends too early (cut short?)"},
		{"bad JSON in entry", `{"data": [{"asn": 3333 "info_never_via_route_servers": true}]}`, "offset 10: data[0]: not JSON: invalid character '\"' after object key:value pair"},
		{"trailing comma", `{"data": [{"asn": 3333, "info_never_via_route_servers": true},]}`, "offset 62: data[1]: not JSON: invalid character ']' looking for beginning of value"},
		{"more after", `{"data": []} {"data": []}`, "offset 13: more data after the object"},
		{"several", "{\"data\": [\n{\"asn\": 1, \"info_never_via_route_servers\": true},\n{\"asn\": -1, \"info_never_via_route_servers\": true},\n{\"asn\": 2},\n7\n]}",
			"offset 61: data[1].asn: want an AS number from 1 to 4294967295, got -1\n" +
				"<path>: offset 112: data[2].info_never_via_route_servers: missing\n" +
				"<path>: offset 124: data[3]: want an object, got a number"},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(dir, fmt.Sprintf("net%d.json", i))
			if err := os.WriteFile(path, []byte(tt.in), 0o644); err != nil {
				t.Fatal(err)
			}
			got, err := LoadNeverViaRouteServers(path)
			if err == nil {
				t.Fatalf("LoadNeverViaRouteServers = %v, want error %s", got, tt.want)
			}
			if got != nil {
				t.Errorf("LoadNeverViaRouteServers returned ASNs with an error")
			}
			want := path + ": " + strings.ReplaceAll(tt.want, "<path>", path)
			if err.Error() != want {
				t.Fatalf("error:\n%v\nwant:\n%s", err, want)
			}
			var e *Error
			if !errors.As(err, &e) || e.File != path {
				t.Fatalf("error %#v is not an *Error naming the file", err)
			}
			// Parse gives the same problems without the file name.
			_, err = ParseNeverViaRouteServers(strings.NewReader(tt.in))
			if want := strings.ReplaceAll(tt.want, "<path>: ", ""); err == nil || err.Error() != want {
				t.Fatalf("Parse error:\n%v\nwant:\n%s", err, want)
			}
		})
	}
}

func TestLoadMissing(t *testing.T) {
	_, err := LoadNeverViaRouteServers(filepath.Join(t.TempDir(), "none.json"))
	if !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("error %v, want fs.ErrNotExist", err)
	}
}

func TestTooManyProblems(t *testing.T) {
	var b strings.Builder
	b.WriteString(`{"data": [`)
	for i := range 30 {
		if i > 0 {
			b.WriteString(",")
		}
		fmt.Fprintf(&b, `{"asn": %d}`, i+1)
	}
	b.WriteString("]}")
	_, err := ParseNeverViaRouteServers(strings.NewReader(b.String()))
	if !errors.Is(err, ErrTooManyProblems) {
		t.Fatalf("error does not hold ErrTooManyProblems: %v", err)
	}
	if n := strings.Count(err.Error(), "\n") + 1; n != maxProblems+1 {
		t.Fatalf("error has %d lines, want %d", n, maxProblems+1)
	}
}

// writeDump writes a PeeringDB net table of n networks shaped like the API's, every tenth with the
// flag, and returns its path and size.
func writeDump(b *testing.B, n int) (string, int64) {
	b.Helper()
	path := filepath.Join(b.TempDir(), "net.json")
	var w bytes.Buffer
	w.WriteString(`{"data": [`)
	for i := range n {
		if i > 0 {
			w.WriteString(", ")
		}
		fmt.Fprintf(&w, `{"id": %d, "org_id": %d, "name": "Network %d", "aka": "", "name_long": "", "website": "https://example.net", "asn": %d, "looking_glass": "", "route_server": "", "irr_as_set": "AS-EXAMPLE%d", "info_type": "NSP", "info_prefixes4": 30, "info_prefixes6": 20, "info_traffic": "1-5Gbps", "info_ratio": "Balanced", "info_scope": "Global", "info_unicast": true, "info_multicast": false, "info_ipv6": true, "info_never_via_route_servers": %t, "ix_count": 1, "fac_count": 0, "notes": "Some notes about the network, with \"quotes\" and \u00e9.", "netixlan_updated": "2022-05-27T09:56:39.774266Z", "netfac_updated": null, "poc_updated": "2016-03-14T21:46:47Z", "policy_url": "", "policy_general": "Selective", "policy_locations": "Not Required", "policy_ratio": false, "policy_contracts": "Not Required", "allow_ixp_update": false, "status_dashboard": null, "rir_status": "ok", "rir_status_updated": "2022-07-27T05:29:57.260109Z", "created": "2012-11-09T06:06:08Z", "updated": "2022-07-27T05:33:20Z", "status": "ok"}`,
			i, i, i, 64496+i, i, i%10 == 0)
	}
	w.WriteString(`], "meta": {}}`)
	if err := os.WriteFile(path, w.Bytes(), 0o644); err != nil {
		b.Fatal(err)
	}
	return path, int64(w.Len())
}

// BenchmarkLoadDump reads a whole net table of 100,000 networks (about the size of PeeringDB's).
//
//	go test -run '^$' -bench 'LoadDump|UnmarshalDump' -benchmem ./routeserver/peeringdb/
func BenchmarkLoadDump(b *testing.B) {
	path, size := writeDump(b, 100_000)
	b.SetBytes(size)
	b.ResetTimer()
	for b.Loop() {
		asns, err := LoadNeverViaRouteServers(path)
		if err != nil {
			b.Fatal(err)
		}
		if len(asns) != 10_000 {
			b.Fatalf("%d ASNs, want 10000", len(asns))
		}
	}
}

// BenchmarkUnmarshalDump is the anchor of BenchmarkLoadDump: the same file read whole and decoded
// by json.Unmarshal into typed structs, with no check.
func BenchmarkUnmarshalDump(b *testing.B) {
	path, size := writeDump(b, 100_000)
	b.SetBytes(size)
	b.ResetTimer()
	for b.Loop() {
		data, err := os.ReadFile(path)
		if err != nil {
			b.Fatal(err)
		}
		var doc struct {
			Data []struct {
				ASN   uint32 `json:"asn"`
				Never bool   `json:"info_never_via_route_servers"`
			} `json:"data"`
		}
		if err := json.Unmarshal(data, &doc); err != nil {
			b.Fatal(err)
		}
		if len(doc.Data) != 100_000 {
			b.Fatalf("%d networks", len(doc.Data))
		}
	}
}
