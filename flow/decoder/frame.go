package decoder

import (
	"net/netip"

	"github.com/ixpd/ixpd/flow"
)

// Ethernet types and IP protocols read from sampled headers.
const (
	etherTypeIPv4     = 0x0800
	etherTypeIPv6     = 0x86dd
	etherTypeVLAN     = 0x8100
	etherTypeQinQ     = 0x88a8
	etherTypeQinQOld  = 0x9100
	etherTypeMPLS     = 0x8847
	etherTypeMPLSMult = 0x8848

	ipProtoICMP   = 1
	ipProtoTCP    = 6
	ipProtoUDP    = 17
	ipProtoDCCP   = 33
	ipProtoICMPv6 = 58
	ipProtoSCTP   = 132

	vxlanPort = 4789

	// maxEncapDepth bounds nested decoding (VXLAN, Ethernet over MPLS).
	maxEncapDepth = 2
)

// sFlow header_protocol values (sFlow v5 sampled_header).
const (
	headerEthernet = 1
	headerIPv4     = 11
	headerIPv6     = 12
	headerMPLS     = 13
)

// decodeHeader fills f from a sampled packet header of the given sFlow
// header protocol. It reports whether a network-layer header was found.
func decodeHeader(proto uint32, b []byte, f *flow.Flow) bool {
	switch proto {
	case headerEthernet:
		return decodeEthernet(b, f, 0)
	case headerIPv4:
		return decodeIPv4(b, f, 0)
	case headerIPv6:
		return decodeIPv6(b, f, 0)
	case headerMPLS:
		return decodeMPLS(b, f, 0)
	}
	return false
}

// decodeEthernet reads an Ethernet frame: MACs, any number of 802.1Q/802.1ad
// tags, then the payload. It reports whether a network-layer header was found.
func decodeEthernet(b []byte, f *flow.Flow, depth int) bool {
	if len(b) < 14 {
		return false
	}
	f.DstMAC = mac(b[0:6])
	f.SrcMAC = mac(b[6:12])
	et := be16(b[12:])
	b = b[14:]
	for et == etherTypeVLAN || et == etherTypeQinQ || et == etherTypeQinQOld {
		if len(b) < 4 {
			return false
		}
		et = be16(b[2:])
		b = b[4:]
	}
	switch et {
	case etherTypeIPv4:
		return decodeIPv4(b, f, depth)
	case etherTypeIPv6:
		return decodeIPv6(b, f, depth)
	case etherTypeMPLS, etherTypeMPLSMult:
		return decodeMPLS(b, f, depth)
	}
	return false
}

// decodeMPLS skips an MPLS label stack and reads what follows: IPv4, IPv6,
// or (first nibble 0: a pseudowire control word) an Ethernet frame.
func decodeMPLS(b []byte, f *flow.Flow, depth int) bool {
	for {
		if len(b) < 4 {
			return false
		}
		bottom := b[2]&0x01 != 0
		b = b[4:]
		if bottom {
			break
		}
	}
	if len(b) == 0 {
		return false
	}
	switch b[0] >> 4 {
	case 4:
		return decodeIPv4(b, f, depth)
	case 6:
		return decodeIPv6(b, f, depth)
	case 0:
		if depth >= maxEncapDepth || len(b) < 4 {
			return false
		}
		return decodeEthernet(b[4:], f, depth+1)
	}
	return false
}

func decodeIPv4(b []byte, f *flow.Flow, depth int) bool {
	if len(b) < 20 || b[0]>>4 != 4 {
		return false
	}
	ihl := int(b[0]&0x0f) * 4
	if ihl < 20 {
		return false
	}
	f.EType = etherTypeIPv4
	f.IPProto = b[9]
	f.SrcAddr = netip.AddrFrom4([4]byte(b[12:16]))
	f.DstAddr = netip.AddrFrom4([4]byte(b[16:20]))
	f.SrcPort, f.DstPort = 0, 0
	if be16(b[6:])&0x1fff != 0 || len(b) < ihl {
		return true // a later fragment: no transport header
	}
	decodeTransport(f.IPProto, b[ihl:], f, depth)
	return true
}

func decodeIPv6(b []byte, f *flow.Flow, depth int) bool {
	if len(b) < 40 || b[0]>>4 != 6 {
		return false
	}
	f.EType = etherTypeIPv6
	f.SrcAddr = netip.AddrFrom16([16]byte(b[8:24]))
	f.DstAddr = netip.AddrFrom16([16]byte(b[24:40]))
	f.SrcPort, f.DstPort = 0, 0
	next := b[6]
	b = b[40:]
	// Walk a few extension headers to reach the transport header.
	for range 8 {
		var n int
		switch next {
		case 0, 43, 60: // hop-by-hop, routing, destination options
			if len(b) < 8 {
				f.IPProto = next
				return true
			}
			n = (int(b[1]) + 1) * 8
		case 44: // fragment
			if len(b) < 8 {
				f.IPProto = next
				return true
			}
			if be16(b[2:])>>3 != 0 {
				f.IPProto = b[0] // a later fragment: no transport header
				return true
			}
			n = 8
		case 51: // authentication header
			if len(b) < 8 {
				f.IPProto = next
				return true
			}
			n = (int(b[1]) + 2) * 4
		default:
			f.IPProto = next
			decodeTransport(next, b, f, depth)
			return true
		}
		next = b[0]
		if len(b) < n {
			f.IPProto = next
			return true
		}
		b = b[n:]
	}
	f.IPProto = next
	return true
}

// decodeTransport reads ports (TCP, UDP, SCTP, DCCP) or the ICMP type and
// code, which go into DstPort as type<<8|code like NetFlow exporters do. A
// VXLAN packet is replaced by the frame it carries.
func decodeTransport(proto uint8, b []byte, f *flow.Flow, depth int) {
	switch proto {
	case ipProtoTCP, ipProtoUDP, ipProtoSCTP, ipProtoDCCP:
		if len(b) < 4 {
			return
		}
		f.SrcPort = be16(b)
		f.DstPort = be16(b[2:])
		if proto == ipProtoUDP && f.DstPort == vxlanPort && depth < maxEncapDepth &&
			len(b) >= 16 && b[8]&0x08 != 0 {
			inner := *f
			if decodeEthernet(b[16:], &inner, depth+1) {
				*f = inner
			}
		}
	case ipProtoICMP, ipProtoICMPv6:
		if len(b) < 2 {
			return
		}
		f.DstPort = uint16(b[0])<<8 | uint16(b[1])
	}
}
