package peertest

import "encoding/binary"

// MRT (RFC 6396) constants for a TABLE_DUMP_V2 RIB dump.
const (
	mrtTableDumpV2      = 13
	mrtPeerIndexTable   = 1
	mrtRIBIPv4Unicast   = 2
	mrtRIBIPv6Unicast   = 4
	mrtPeerTypeIPv6     = 0x01
	mrtPeerTypeAS4      = 0x02
	attrFlagOptional    = 0x80
	attrFlagTransitive  = 0x40
	attrFlagExtendedLen = 0x10
	attrOrigin          = 1
	attrASPath          = 2
	attrNextHop         = 3
	attrMPReach         = 14
	originIGP           = 0
	asSequence          = 2
	maxSegmentASNs      = 255
)

// mrtDump encodes the member's routes as a TABLE_DUMP_V2 RIB dump with the member itself as the only peer.
// Each entry carries ORIGIN, the AS_PATH the member sends and a next hop. "bgpctl network mrt" keeps the
// AS_PATH, communities and large communities of an entry but drops its MED and next hop, and skips a default
// route.
func mrtDump(m Member, routes []Route) []byte {
	id, _ := m.routerID() // checked by validate
	peerAddr, peerType := m.Addr4, byte(mrtPeerTypeAS4)
	if !peerAddr.IsValid() {
		peerAddr, peerType = m.Addr6, mrtPeerTypeAS4|mrtPeerTypeIPv6
	}
	idb := id.As4()
	var index []byte
	index = append(index, idb[:]...)                // collector BGP ID
	index = binary.BigEndian.AppendUint16(index, 0) // no view name
	index = binary.BigEndian.AppendUint16(index, 1) // one peer
	index = append(index, peerType)
	index = append(index, idb[:]...)
	index = append(index, peerAddr.AsSlice()...)
	index = binary.BigEndian.AppendUint32(index, m.ASN)
	out := mrtRecord(nil, mrtPeerIndexTable, index)

	for seq, r := range routes {
		var attrs []byte
		attrs = bgpAttr(attrs, attrFlagTransitive, attrOrigin, []byte{originIGP})
		attrs = bgpAttr(attrs, attrFlagTransitive, attrASPath, asPathValue(m.wirePath(r)))
		subtype := uint16(mrtRIBIPv4Unicast)
		if r.Prefix.Addr().Is4() {
			attrs = bgpAttr(attrs, attrFlagTransitive, attrNextHop, m.Addr4.AsSlice())
		} else {
			// RFC 6396 section 4.3.4: only the next hop length and the next hop.
			attrs = bgpAttr(attrs, attrFlagOptional, attrMPReach, append([]byte{16}, m.Addr6.AsSlice()...))
			subtype = mrtRIBIPv6Unicast
		}
		var rib []byte
		rib = binary.BigEndian.AppendUint32(rib, uint32(seq))
		rib = append(rib, byte(r.Prefix.Bits()))
		rib = append(rib, r.Prefix.Addr().AsSlice()[:(r.Prefix.Bits()+7)/8]...)
		rib = binary.BigEndian.AppendUint16(rib, 1) // one entry
		rib = binary.BigEndian.AppendUint16(rib, 0) // peer index
		rib = binary.BigEndian.AppendUint32(rib, 0) // originated time
		rib = binary.BigEndian.AppendUint16(rib, uint16(len(attrs)))
		rib = append(rib, attrs...)
		out = mrtRecord(out, subtype, rib)
	}
	return out
}

// mrtRecord appends a TABLE_DUMP_V2 record with a zero timestamp.
func mrtRecord(b []byte, subtype uint16, body []byte) []byte {
	b = binary.BigEndian.AppendUint32(b, 0)
	b = binary.BigEndian.AppendUint16(b, mrtTableDumpV2)
	b = binary.BigEndian.AppendUint16(b, subtype)
	b = binary.BigEndian.AppendUint32(b, uint32(len(body)))
	return append(b, body...)
}

// bgpAttr appends a BGP path attribute.
func bgpAttr(b []byte, flags, typ byte, value []byte) []byte {
	if len(value) > 255 {
		b = append(b, flags|attrFlagExtendedLen, typ)
		b = binary.BigEndian.AppendUint16(b, uint16(len(value)))
	} else {
		b = append(b, flags, typ, byte(len(value)))
	}
	return append(b, value...)
}

// asPathValue encodes path as AS_SEQUENCE segments of 4-byte ASNs.
func asPathValue(path []uint32) []byte {
	var b []byte
	for len(path) > 0 {
		n := min(len(path), maxSegmentASNs)
		b = append(b, asSequence, byte(n))
		for _, as := range path[:n] {
			b = binary.BigEndian.AppendUint32(b, as)
		}
		path = path[n:]
	}
	return b
}
