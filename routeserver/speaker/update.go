package speaker

import (
	"errors"
	"fmt"
	"net/netip"

	"github.com/osrg/gobgp/v4/pkg/packet/bgp"
)

// Origin values of the ORIGIN attribute.
const (
	OriginIGP        uint8 = 0
	OriginEGP        uint8 = 1
	OriginIncomplete uint8 = 2
)

// LargeCommunity is an RFC 8092 large community.
type LargeCommunity struct {
	GlobalAdmin, LocalData1, LocalData2 uint32
}

// Attributes are the path attributes that a set of prefixes shares.
type Attributes struct {
	// Origin is the ORIGIN attribute (OriginIGP, OriginEGP, OriginIncomplete).
	Origin uint8
	// ASPath is the AS_PATH with 4-octet ASNs, left-most first. It is sent
	// as AS_SEQUENCE segments; decoding concatenates all segments.
	ASPath []uint32
	// NextHop is the NEXT_HOP for IPv4 prefixes and the MP_REACH_NLRI
	// global next hop for IPv6 prefixes. Decoding takes MP_REACH_NLRI's
	// next hop when the message has one, else NEXT_HOP.
	NextHop netip.Addr
	// MED is the MULTI_EXIT_DISC, sent only when HasMED is true.
	MED    uint32
	HasMED bool
	// Communities are RFC 1997 communities (ASN<<16 | value).
	Communities []uint32
	// LargeCommunities are RFC 8092 large communities.
	LargeCommunities []LargeCommunity
}

// maxPathSegment is the most ASNs one AS_PATH segment holds.
const maxPathSegment = 255

// pathAttributes builds the attributes shared by every message, without the
// next hop of IPv6 (which goes in MP_REACH_NLRI).
func (a *Attributes) pathAttributes(v4 bool) ([]bgp.PathAttributeInterface, error) {
	pas := []bgp.PathAttributeInterface{bgp.NewPathAttributeOrigin(a.Origin)}
	var segs []bgp.AsPathParamInterface
	for rest := a.ASPath; len(rest) > 0; {
		n := min(len(rest), maxPathSegment)
		segs = append(segs, bgp.NewAs4PathParam(bgp.BGP_ASPATH_ATTR_TYPE_SEQ, rest[:n]))
		rest = rest[n:]
	}
	pas = append(pas, bgp.NewPathAttributeAsPath(segs))
	if v4 {
		nh, err := bgp.NewPathAttributeNextHop(a.NextHop)
		if err != nil {
			return nil, fmt.Errorf("next hop %s: %w", a.NextHop, err)
		}
		pas = append(pas, nh)
	}
	if a.HasMED {
		pas = append(pas, bgp.NewPathAttributeMultiExitDisc(a.MED))
	}
	if len(a.Communities) > 0 {
		pas = append(pas, bgp.NewPathAttributeCommunities(a.Communities))
	}
	if len(a.LargeCommunities) > 0 {
		lcs := make([]*bgp.LargeCommunity, len(a.LargeCommunities))
		for i, c := range a.LargeCommunities {
			lcs[i] = bgp.NewLargeCommunity(c.GlobalAdmin, c.LocalData1, c.LocalData2)
		}
		pas = append(pas, bgp.NewPathAttributeLargeCommunities(lcs))
	}
	return pas, nil
}

// Fixed parts of an UPDATE: header, withdrawn routes length, total path
// attribute length; and of an IPv6 unicast MP_REACH_NLRI with one global
// next hop: extended attribute header, AFI, SAFI, next hop length, next
// hop, reserved octet.
const (
	updateOverhead  = bgp.BGP_HEADER_LENGTH + 2 + 2
	mpReachOverhead = 4 + 2 + 1 + 1 + 16 + 1
	mpUnreachHeader = 4 + 2 + 1
)

// ErrMixedFamilies is returned by the encoders for a prefix list that mixes
// IPv4 and IPv6.
var ErrMixedFamilies = errors.New("prefixes of more than one address family")

// splitFamily checks that prefixes are valid and of one family and reports
// whether that family is IPv4.
func splitFamily(prefixes []netip.Prefix) (v4 bool, err error) {
	v4 = prefixes[0].Addr().Is4()
	for _, p := range prefixes {
		if !p.IsValid() {
			return false, fmt.Errorf("invalid prefix %s", p)
		}
		if p.Addr().Is4() != v4 {
			return false, ErrMixedFamilies
		}
	}
	return v4, nil
}

func prefixLen(p netip.Prefix) int { return 1 + (p.Bits()+7)/8 }

// chunks splits prefixes greedily into runs whose encoded NLRI fit budget
// octets each.
func chunks(prefixes []netip.Prefix, budget int) [][]netip.Prefix {
	var out [][]netip.Prefix
	start, used := 0, 0
	for i, p := range prefixes {
		l := prefixLen(p)
		if used+l > budget {
			out = append(out, prefixes[start:i])
			start, used = i, 0
		}
		used += l
	}
	return append(out, prefixes[start:])
}

func pathNLRIs(prefixes []netip.Prefix) ([]bgp.PathNLRI, error) {
	out := make([]bgp.PathNLRI, len(prefixes))
	for i, p := range prefixes {
		n, err := bgp.NewIPAddrPrefix(p)
		if err != nil {
			return nil, fmt.Errorf("prefix %s: %w", p, err)
		}
		out[i] = bgp.PathNLRI{NLRI: n}
	}
	return out, nil
}

func attributesLen(pas []bgp.PathAttributeInterface) (int, error) {
	n := 0
	for _, pa := range pas {
		b, err := pa.Serialize()
		if err != nil {
			return 0, err
		}
		n += len(b)
	}
	return n, nil
}

// EncodeUpdates encodes UPDATE messages that announce prefixes with attrs,
// packing as many prefixes into each message as fit in 4096 octets: IPv4
// prefixes in the NLRI field with a NEXT_HOP, IPv6 prefixes in an
// MP_REACH_NLRI. The prefixes must be of one family and attrs.NextHop of
// the same family. Prefixes are not masked or deduplicated.
func EncodeUpdates(prefixes []netip.Prefix, attrs Attributes) ([][]byte, error) {
	if len(prefixes) == 0 {
		return nil, nil
	}
	v4, err := splitFamily(prefixes)
	if err != nil {
		return nil, err
	}
	if v4 && !attrs.NextHop.Is4() {
		return nil, fmt.Errorf("next hop %s for IPv4 prefixes is not an IPv4 address", attrs.NextHop)
	}
	if !v4 && (!attrs.NextHop.Is6() || attrs.NextHop.Is4In6()) {
		return nil, fmt.Errorf("next hop %s for IPv6 prefixes is not an IPv6 address", attrs.NextHop)
	}
	base, err := attrs.pathAttributes(v4)
	if err != nil {
		return nil, err
	}
	baseLen, err := attributesLen(base)
	if err != nil {
		return nil, fmt.Errorf("encode path attributes: %w", err)
	}
	budget := bgp.BGP_MAX_MESSAGE_LENGTH - updateOverhead - baseLen
	if !v4 {
		budget -= mpReachOverhead
	}
	if budget < 17 {
		return nil, fmt.Errorf("path attributes take %d octets, too many for any prefix to fit", baseLen)
	}
	var out [][]byte
	for _, run := range chunks(prefixes, budget) {
		nlris, err := pathNLRIs(run)
		if err != nil {
			return nil, err
		}
		var msg *bgp.BGPMessage
		if v4 {
			msg = bgp.NewBGPUpdateMessage(nil, base, nlris)
		} else {
			mp, err := bgp.NewPathAttributeMpReachNLRI(bgp.RF_IPv6_UC, nlris, attrs.NextHop)
			if err != nil {
				return nil, fmt.Errorf("encode mp_reach_nlri: %w", err)
			}
			msg = bgp.NewBGPUpdateMessage(nil, append([]bgp.PathAttributeInterface{mp}, base...), nil)
		}
		b, err := msg.Serialize()
		if err != nil {
			return nil, fmt.Errorf("encode update: %w", err)
		}
		out = append(out, b)
	}
	return out, nil
}

// EncodeWithdrawals encodes UPDATE messages that withdraw prefixes, as
// few as fit in 4096 octets each: IPv4 in the withdrawn routes field, IPv6
// in an MP_UNREACH_NLRI. The prefixes must be of one family.
func EncodeWithdrawals(prefixes []netip.Prefix) ([][]byte, error) {
	if len(prefixes) == 0 {
		return nil, nil
	}
	v4, err := splitFamily(prefixes)
	if err != nil {
		return nil, err
	}
	budget := bgp.BGP_MAX_MESSAGE_LENGTH - updateOverhead
	if !v4 {
		budget -= mpUnreachHeader
	}
	var out [][]byte
	for _, run := range chunks(prefixes, budget) {
		nlris, err := pathNLRIs(run)
		if err != nil {
			return nil, err
		}
		var msg *bgp.BGPMessage
		if v4 {
			msg = bgp.NewBGPUpdateMessage(nlris, nil, nil)
		} else {
			mp, err := bgp.NewPathAttributeMpUnreachNLRI(bgp.RF_IPv6_UC, nlris)
			if err != nil {
				return nil, fmt.Errorf("encode mp_unreach_nlri: %w", err)
			}
			msg = bgp.NewBGPUpdateMessage(nil, []bgp.PathAttributeInterface{mp}, nil)
		}
		b, err := msg.Serialize()
		if err != nil {
			return nil, fmt.Errorf("encode update: %w", err)
		}
		out = append(out, b)
	}
	return out, nil
}

// EncodeEndOfRIB encodes the End-of-RIB marker of family f (RFC 4724).
func EncodeEndOfRIB(f Family) []byte {
	b, err := bgp.NewEndOfRib(f.bgp()).Serialize()
	if err != nil {
		panic(fmt.Sprintf("encode end-of-rib: %v", err))
	}
	return b
}
