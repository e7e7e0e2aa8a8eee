package collector

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"os"
	"time"

	"github.com/google/gopacket"
	"github.com/google/gopacket/layers"
	"github.com/google/gopacket/pcapgo"
)

// capturedDatagram is a UDP datagram read from a capture file.
type capturedDatagram struct {
	t       time.Time
	src     netip.AddrPort
	dstPort uint16
	payload []byte
}

// packetSource reads packets from pcap or pcapng.
type packetSource interface {
	ReadPacketData() ([]byte, gopacket.CaptureInfo, error)
	LinkType() layers.LinkType
}

type ngReader struct{ *pcapgo.NgReader }

func (r ngReader) LinkType() layers.LinkType { return r.NgReader.LinkType() }

// readCapture calls fn for every UDP datagram in a pcap or pcapng file,
// IPv4 or IPv6, with the capture's timestamps. Non-UDP packets and
// fragments are skipped and counted in skipped.
func readCapture(path string, fn func(capturedDatagram) error) (skipped int, err error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, fmt.Errorf("open capture: %w", err)
	}
	defer func() { _ = f.Close() }() // read only
	br := bufio.NewReader(f)
	magic, err := br.Peek(4)
	if err != nil {
		return 0, fmt.Errorf("capture %s: %w", path, err)
	}
	var src packetSource
	if magic[0] == 0x0a && magic[1] == 0x0d && magic[2] == 0x0d && magic[3] == 0x0a {
		ng, err := pcapgo.NewNgReader(br, pcapgo.DefaultNgReaderOptions)
		if err != nil {
			return 0, fmt.Errorf("capture %s: %w", path, err)
		}
		src = ngReader{ng}
	} else {
		r, err := pcapgo.NewReader(br)
		if err != nil {
			return 0, fmt.Errorf("capture %s: not pcap or pcapng: %w", path, err)
		}
		src = r
	}
	var (
		eth     layers.Ethernet
		sll     layers.LinuxSLL
		dot1q   layers.Dot1Q
		ip4     layers.IPv4
		ip6     layers.IPv6
		udp     layers.UDP
		payload gopacket.Payload
	)
	var lo layers.Loopback
	layerTypes := []gopacket.DecodingLayer{&eth, &sll, &dot1q, &ip4, &ip6, &udp, &payload, &lo}
	parsers := map[gopacket.LayerType]*gopacket.DecodingLayerParser{}
	parserFor := func(first gopacket.LayerType) *gopacket.DecodingLayerParser {
		p, ok := parsers[first]
		if !ok {
			p = gopacket.NewDecodingLayerParser(first, layerTypes...)
			p.IgnoreUnsupported = true
			parsers[first] = p
		}
		return p
	}
	link := src.LinkType()
	var decoded []gopacket.LayerType
	for {
		data, ci, err := src.ReadPacketData()
		if errors.Is(err, io.EOF) {
			return skipped, nil
		}
		if err != nil {
			return skipped, fmt.Errorf("capture %s: %w", path, err)
		}
		var first gopacket.LayerType
		switch link {
		case layers.LinkTypeRaw, layers.LinkType(12), layers.LinkTypeIPv4, layers.LinkTypeIPv6:
			first = layers.LayerTypeIPv4
			if len(data) > 0 && data[0]>>4 == 6 {
				first = layers.LayerTypeIPv6
			}
		case layers.LinkTypeNull, layers.LinkTypeLoop:
			first = layers.LayerTypeLoopback
		case layers.LinkTypeLinuxSLL:
			first = layers.LayerTypeLinuxSLL
		case layers.LinkTypeEthernet:
			first = layers.LayerTypeEthernet
		default:
			return skipped, fmt.Errorf("capture %s: link type %s is not supported", path, link)
		}
		parser := parserFor(first)
		if err := parser.DecodeLayers(data, &decoded); err != nil {
			skipped++
			continue
		}
		var addr netip.Addr
		isUDP := false
		for _, l := range decoded {
			switch l {
			case layers.LayerTypeIPv4:
				addr, _ = netip.AddrFromSlice(ip4.SrcIP.To4())
			case layers.LayerTypeIPv6:
				addr, _ = netip.AddrFromSlice(ip6.SrcIP)
			case layers.LayerTypeUDP:
				isUDP = true
			}
		}
		if !isUDP || !addr.IsValid() {
			skipped++
			continue
		}
		d := capturedDatagram{t: ci.Timestamp, src: netip.AddrPortFrom(addr, uint16(udp.SrcPort)),
			dstPort: uint16(udp.DstPort), payload: append([]byte(nil), udp.Payload...)}
		if err := fn(d); err != nil {
			return skipped, err
		}
	}
}
