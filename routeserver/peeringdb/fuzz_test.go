package peeringdb

import (
	"bytes"
	"os"
	"slices"
	"testing"
)

func FuzzParseNeverViaRouteServers(f *testing.F) {
	data, err := os.ReadFile(sample)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(data)
	f.Add([]byte(`{"data": [{"asn": 64496, "info_never_via_route_servers": true}, 7, null], "meta": {"error": "x"}}`))
	f.Add([]byte(`{"x": [[{}]], "data": [{"asn": 4294967295, "info_never_via_route_servers": false}]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		asns, err := ParseNeverViaRouteServers(bytes.NewReader(data))
		if err != nil {
			if asns != nil {
				t.Fatal("ASNs with an error")
			}
			return
		}
		if !slices.IsSorted(asns) || len(slices.Compact(slices.Clone(asns))) != len(asns) || slices.Contains(asns, 0) {
			t.Fatalf("bad ASNs %v", asns)
		}
	})
}
