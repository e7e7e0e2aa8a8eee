package decoder_test

import (
	"bytes"
	"errors"
	"io"
	"net/netip"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/gopacket"
	"github.com/google/gopacket/layers"
	"github.com/google/gopacket/pcapgo"
)

// dataDir is where the shared captures are, relative to this package.
const dataDir = "../../../shared/data/flows"

// datagram is one UDP datagram read from a capture.
type datagram struct {
	src     netip.AddrPort
	t       time.Time
	payload []byte
}

// requireData skips the test when the shared captures are missing, except
// in CI where they must be there.
func requireData(tb testing.TB) {
	tb.Helper()
	if _, err := os.Stat(dataDir); err != nil {
		if os.Getenv("CI") == "true" {
			tb.Fatalf("shared captures missing: %v", err)
		}
		tb.Skipf("shared captures missing: %v", err)
	}
}

// readCaptures returns the UDP datagrams of the named captures (paths
// relative to dataDir), in order.
func readCaptures(tb testing.TB, names ...string) []datagram {
	tb.Helper()
	requireData(tb)
	var all []datagram
	for _, name := range names {
		all = append(all, readCapture(tb, filepath.Join(dataDir, name))...)
	}
	return all
}

type packetReader interface {
	ReadPacketData() ([]byte, gopacket.CaptureInfo, error)
	LinkType() layers.LinkType
}

func readCapture(tb testing.TB, path string) []datagram {
	tb.Helper()
	raw, err := os.ReadFile(path)
	if err != nil {
		tb.Fatal(err)
	}
	var r packetReader
	if bytes.HasPrefix(raw, []byte{0x0a, 0x0d, 0x0d, 0x0a}) {
		r, err = pcapgo.NewNgReader(bytes.NewReader(raw), pcapgo.DefaultNgReaderOptions)
	} else {
		r, err = pcapgo.NewReader(bytes.NewReader(raw))
	}
	if err != nil {
		tb.Fatalf("%s: %v", path, err)
	}
	var out []datagram
	for {
		data, ci, err := r.ReadPacketData()
		if errors.Is(err, io.EOF) {
			return out
		}
		if err != nil {
			tb.Fatalf("%s: %v", path, err)
		}
		pkt := gopacket.NewPacket(data, r.LinkType(), gopacket.Default)
		udp, ok := pkt.Layer(layers.LayerTypeUDP).(*layers.UDP)
		if !ok {
			continue // BGP in some captures
		}
		var addr netip.Addr
		switch ip := pkt.NetworkLayer().(type) {
		case *layers.IPv4:
			addr, _ = netip.AddrFromSlice(ip.SrcIP.To4())
		case *layers.IPv6:
			addr, _ = netip.AddrFromSlice(ip.SrcIP)
		default:
			continue
		}
		out = append(out, datagram{
			src:     netip.AddrPortFrom(addr, uint16(udp.SrcPort)),
			t:       ci.Timestamp.UTC(),
			payload: bytes.Clone(udp.Payload),
		})
	}
}
