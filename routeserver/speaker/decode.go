package speaker

import (
	"encoding/binary"
	"fmt"
	"net/netip"

	"github.com/osrg/gobgp/v4/pkg/packet/bgp"
)

// RawAttributes are the encoded path attributes of a received UPDATE. They
// alias the session's read buffer: use them only during the OnUpdate call
// (Decode returns copies).
type RawAttributes []byte

// Decode parses the attributes with GoBGP's codec into Attributes.
// Attributes that Attributes has no field for are skipped.
func (r RawAttributes) Decode() (Attributes, error) {
	var a Attributes
	var mpNextHop netip.Addr
	for p := []byte(r); len(p) > 0; {
		pa, err := bgp.GetPathAttribute(p)
		if err != nil {
			return Attributes{}, err
		}
		if err := pa.DecodeFromBytes(p); err != nil {
			return Attributes{}, fmt.Errorf("decode attribute %d: %w", p[1], err)
		}
		switch v := pa.(type) {
		case *bgp.PathAttributeOrigin:
			a.Origin = v.Value
		case *bgp.PathAttributeAsPath:
			for _, seg := range v.Value {
				a.ASPath = append(a.ASPath, seg.GetAS()...)
			}
		case *bgp.PathAttributeNextHop:
			a.NextHop = v.Value
		case *bgp.PathAttributeMpReachNLRI:
			mpNextHop = v.Nexthop
		case *bgp.PathAttributeMultiExitDisc:
			a.MED, a.HasMED = v.Value, true
		case *bgp.PathAttributeCommunities:
			a.Communities = append([]uint32(nil), v.Value...)
		case *bgp.PathAttributeLargeCommunities:
			for _, c := range v.Values {
				a.LargeCommunities = append(a.LargeCommunities, LargeCommunity{c.ASN, c.LocalData1, c.LocalData2})
			}
		}
		p = p[pa.Len():]
	}
	if mpNextHop.IsValid() {
		a.NextHop = mpNextHop
	}
	return a, nil
}

// updateError is an UPDATE Message Error NOTIFICATION to send.
func updateError(subcode uint8) *NotificationError {
	return &NotificationError{Code: bgp.BGP_ERROR_UPDATE_MESSAGE_ERROR, Subcode: subcode, Sent: true}
}

// decodeUpdate walks an UPDATE body and appends its IPv4/IPv6 unicast
// prefixes to announced and withdrawn without allocating per prefix. It
// checks only the framing it reads: lengths, attribute boundaries and
// prefix encodings.
func decodeUpdate(body []byte, announced, withdrawn []netip.Prefix) (_, _ []netip.Prefix, _ RawAttributes, _ *NotificationError) {
	if len(body) < 4 {
		return announced, withdrawn, nil, updateError(bgp.BGP_ERROR_SUB_MALFORMED_ATTRIBUTE_LIST)
	}
	wlen := int(binary.BigEndian.Uint16(body))
	if 2+wlen+2 > len(body) {
		return announced, withdrawn, nil, updateError(bgp.BGP_ERROR_SUB_MALFORMED_ATTRIBUTE_LIST)
	}
	var ok bool
	if withdrawn, ok = appendPrefixes(withdrawn, body[2:2+wlen], 4); !ok {
		return announced, withdrawn, nil, updateError(bgp.BGP_ERROR_SUB_MALFORMED_ATTRIBUTE_LIST)
	}
	rest := body[2+wlen:]
	alen := int(binary.BigEndian.Uint16(rest))
	if 2+alen > len(rest) {
		return announced, withdrawn, nil, updateError(bgp.BGP_ERROR_SUB_MALFORMED_ATTRIBUTE_LIST)
	}
	attrs := rest[2 : 2+alen]
	nlri := rest[2+alen:]

	for p := attrs; len(p) > 0; {
		if len(p) < 3 {
			return announced, withdrawn, nil, updateError(bgp.BGP_ERROR_SUB_ATTRIBUTE_LENGTH_ERROR)
		}
		flags, typ := p[0], bgp.BGPAttrType(p[1])
		hl, l := 3, int(p[2])
		if flags&uint8(bgp.BGP_ATTR_FLAG_EXTENDED_LENGTH) != 0 {
			if len(p) < 4 {
				return announced, withdrawn, nil, updateError(bgp.BGP_ERROR_SUB_ATTRIBUTE_LENGTH_ERROR)
			}
			hl, l = 4, int(binary.BigEndian.Uint16(p[2:]))
		}
		if hl+l > len(p) {
			return announced, withdrawn, nil, updateError(bgp.BGP_ERROR_SUB_ATTRIBUTE_LENGTH_ERROR)
		}
		v := p[hl : hl+l]
		p = p[hl+l:]
		switch typ {
		case bgp.BGP_ATTR_TYPE_MP_REACH_NLRI:
			// AFI, SAFI, next hop length, next hop, reserved, NLRI.
			if len(v) < 5 || 5+int(v[3]) > len(v) {
				return announced, withdrawn, nil, updateError(bgp.BGP_ERROR_SUB_OPTIONAL_ATTRIBUTE_ERROR)
			}
			if addrLen := unicastAddrLen(v); addrLen != 0 {
				if announced, ok = appendPrefixes(announced, v[5+int(v[3]):], addrLen); !ok {
					return announced, withdrawn, nil, updateError(bgp.BGP_ERROR_SUB_OPTIONAL_ATTRIBUTE_ERROR)
				}
			}
		case bgp.BGP_ATTR_TYPE_MP_UNREACH_NLRI:
			if len(v) < 3 {
				return announced, withdrawn, nil, updateError(bgp.BGP_ERROR_SUB_OPTIONAL_ATTRIBUTE_ERROR)
			}
			if addrLen := unicastAddrLen(v); addrLen != 0 {
				if withdrawn, ok = appendPrefixes(withdrawn, v[3:], addrLen); !ok {
					return announced, withdrawn, nil, updateError(bgp.BGP_ERROR_SUB_OPTIONAL_ATTRIBUTE_ERROR)
				}
			}
		}
	}
	if announced, ok = appendPrefixes(announced, nlri, 4); !ok {
		return announced, withdrawn, nil, updateError(bgp.BGP_ERROR_SUB_INVALID_NETWORK_FIELD)
	}
	return announced, withdrawn, RawAttributes(attrs), nil
}

// unicastAddrLen returns the address length of an MP attribute's AFI when
// its SAFI is unicast, and 0 for families the speaker does not read.
func unicastAddrLen(v []byte) int {
	if v[2] != bgp.SAFI_UNICAST {
		return 0
	}
	switch binary.BigEndian.Uint16(v) {
	case bgp.AFI_IP:
		return 4
	case bgp.AFI_IP6:
		return 16
	}
	return 0
}

// appendPrefixes decodes a run of RFC 4271 prefixes (length in bits, then
// the significant octets) of addrLen-octet addresses.
func appendPrefixes(dst []netip.Prefix, b []byte, addrLen int) ([]netip.Prefix, bool) {
	for len(b) > 0 {
		bits := int(b[0])
		n := (bits + 7) / 8
		if bits > addrLen*8 || 1+n > len(b) {
			return dst, false
		}
		var p netip.Prefix
		if addrLen == 4 {
			var a [4]byte
			copy(a[:], b[1:1+n])
			p = netip.PrefixFrom(netip.AddrFrom4(a), bits)
		} else {
			var a [16]byte
			copy(a[:], b[1:1+n])
			p = netip.PrefixFrom(netip.AddrFrom16(a), bits)
		}
		if bits%8 != 0 {
			// Trailing bits beyond the length are to be ignored.
			p = p.Masked()
		}
		dst = append(dst, p)
		b = b[1+n:]
	}
	return dst, true
}
