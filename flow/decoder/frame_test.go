package decoder

import (
	"net/netip"
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/netsampler/goflow2/v2/decoders/sflow"

	"github.com/ixpd/ixpd/flow"
)

func TestDecodeHeader(t *testing.T) {
	var (
		macs  = []byte{0, 0, 0, 0, 0, 2, 0, 0, 0, 0, 0, 1} // dst, src
		ports = []byte{0x30, 0x39, 0x01, 0xbb}             // 12345 -> 443
		src4  = []byte{192, 0, 2, 1}
		dst4  = []byte{198, 51, 100, 2}
		src6  = netip.MustParseAddr("2001:db8::1").AsSlice()
		dst6  = netip.MustParseAddr("2001:db8::2").AsSlice()
		ipv4  = func(proto byte, frag uint16, payload []byte) []byte {
			return slices.Concat([]byte{0x45, 0, 0, 0, 0, 0, byte(frag >> 8), byte(frag), 64, proto, 0, 0}, src4, dst4, payload)
		}
		ipv6 = func(next byte, payload []byte) []byte {
			return slices.Concat([]byte{0x60, 0, 0, 0, 0, 0, next, 64}, src6, dst6, payload)
		}
		tcp4 = flow.Flow{SrcAddr: netip.AddrFrom4([4]byte(src4)), DstAddr: netip.AddrFrom4([4]byte(dst4)), EType: 0x0800, IPProto: 6, SrcPort: 12345, DstPort: 443}
		tcp6 = flow.Flow{SrcAddr: netip.AddrFrom16([16]byte(src6)), DstAddr: netip.AddrFrom16([16]byte(dst6)), EType: 0x86dd, IPProto: 6, SrcPort: 12345, DstPort: 443}
		with = func(f flow.Flow, change func(*flow.Flow)) flow.Flow { change(&f); return f }
		l2   = func(f *flow.Flow) { f.SrcMAC, f.DstMAC = 1, 2 }
	)
	tests := []struct {
		name   string
		proto  uint32
		header []byte
		want   flow.Flow
		ok     bool
	}{
		{
			name:   "Ethernet, 802.1Q, IPv6, hop-by-hop options, TCP",
			proto:  headerEthernet,
			header: slices.Concat(macs, []byte{0x81, 0, 0, 100, 0x86, 0xdd}, ipv6(0, slices.Concat([]byte{6, 0, 0, 0, 0, 0, 0, 0}, ports))),
			want:   with(tcp6, l2), ok: true,
		},
		{
			name:   "IPv6 first fragment",
			proto:  headerIPv6,
			header: ipv6(44, slices.Concat([]byte{6, 0, 0, 1, 0, 0, 0, 1}, ports)),
			want:   tcp6, ok: true,
		},
		{
			name:   "IPv6 later fragment: no ports",
			proto:  headerIPv6,
			header: ipv6(44, slices.Concat([]byte{6, 0, 0, 0x10, 0, 0, 0, 1}, ports)),
			want:   with(tcp6, func(f *flow.Flow) { f.SrcPort, f.DstPort = 0, 0 }), ok: true,
		},
		{
			name:   "IPv4 later fragment: no ports",
			proto:  headerIPv4,
			header: ipv4(6, 0x0010, ports),
			want:   with(tcp4, func(f *flow.Flow) { f.SrcPort, f.DstPort = 0, 0 }), ok: true,
		},
		{
			name:   "IPv4 header cut",
			proto:  headerIPv4,
			header: ipv4(6, 0, nil)[:19],
		},
		{
			name:   "Ethernet, MPLS two labels, IPv4, TCP",
			proto:  headerEthernet,
			header: slices.Concat(macs, []byte{0x88, 0x47, 0, 1, 0, 64, 0, 2, 1, 64}, ipv4(6, 0, ports)),
			want:   with(tcp4, l2), ok: true,
		},
		{
			name:   "MPLS header protocol, bottom label, IPv6",
			proto:  headerMPLS,
			header: slices.Concat([]byte{0, 1, 1, 64}, ipv6(6, ports)),
			want:   tcp6, ok: true,
		},
		{
			name:   "VXLAN whose inner frame is cut: the outer packet",
			proto:  headerIPv4,
			header: ipv4(17, 0, []byte{0x30, 0x39, 0x12, 0xb5, 0, 30, 0, 0, 0x08, 0, 0, 0, 0, 0, 1, 0, 1, 2, 3}),
			want: with(tcp4, func(f *flow.Flow) {
				f.IPProto, f.DstPort = 17, 4789
			}),
			ok: true,
		},
		{
			name:   "ICMP: type and code in the destination port",
			proto:  headerIPv4,
			header: ipv4(1, 0, []byte{3, 4, 0, 0}),
			want:   with(tcp4, func(f *flow.Flow) { f.IPProto, f.SrcPort, f.DstPort = 1, 0, 3<<8|4 }),
			ok:     true,
		},
		{
			name:   "802.11",
			proto:  15,
			header: make([]byte, 60),
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got flow.Flow
			ok := decodeHeader(tt.proto, tt.header, &got)
			if ok != tt.ok {
				t.Errorf("decodeHeader = %v, want %v", ok, tt.ok)
			}
			if !tt.ok {
				return
			}
			if diff := cmp.Diff(got, tt.want, cmp.Comparer(func(a, b netip.Addr) bool { return a == b })); diff != "" {
				t.Errorf("flow (-got +want):\n%s", diff)
			}
		})
	}
}

func TestEgressSample(t *testing.T) {
	for _, tt := range []struct {
		typ, value, in, out uint32
		want                bool
	}{
		{0, 7, 7, 9, false}, // sampled at the input port: ingress
		{0, 9, 7, 9, true},  // sampled at the output port: egress
		{0, 9, 9, 9, false}, // in = out: cannot tell, counted
		{0, 9, 7, 0, false}, // output unknown
		{1, 9, 7, 9, false}, // data source is a VLAN, not a port
	} {
		if got := isEgressSample(sflow.SampleHeader{SourceIdType: tt.typ, SourceIdValue: tt.value}, tt.in, tt.out); got != tt.want {
			t.Errorf("source %d:%d in %d out %d: egress %v, want %v", tt.typ, tt.value, tt.in, tt.out, got, tt.want)
		}
	}
}
