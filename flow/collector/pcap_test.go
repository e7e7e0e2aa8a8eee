package collector

import (
	"os"
	"path/filepath"
	"testing"
)

// sharedData is ../shared/data beside the checkout.
func sharedData(t *testing.T, sub string) string {
	t.Helper()
	dir := filepath.Join("..", "..", "..", "shared", "data", sub)
	if _, err := os.Stat(dir); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("CI=true and the shared data is missing: %v", err)
		}
		t.Skipf("shared data not available: %v", err)
	}
	return dir
}

func TestReadCaptures(t *testing.T) {
	dir := sharedData(t, "flows")
	tests := []struct {
		file      string
		datagrams int
		port      uint16
	}{
		// Counts checked with tshark -Y udp -T fields -e udp.dstport.
		{"akvorado-sflow/data-1140.pcap", 1, 6343},
		{"akvorado-netflow/nfv5.pcap", 1, 9990},
		{"ndpi/sflow.pcap", 9, 6343},
		{"pktvisor/ipfix.pcap", 43, 2059},
		{"pktvisor/nf9.pcap", 5, 2055},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			n := 0
			ports := map[uint16]int{}
			_, err := readCapture(filepath.Join(dir, tt.file), func(d capturedDatagram) error {
				n++
				ports[d.dstPort]++
				if !d.src.Addr().IsValid() || d.t.IsZero() || len(d.payload) == 0 {
					t.Errorf("datagram %d: %+v", n, d)
				}
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
			if n != tt.datagrams || ports[tt.port] != tt.datagrams {
				t.Errorf("%d datagrams on ports %v, want %d on %d", n, ports, tt.datagrams, tt.port)
			}
		})
	}
}
