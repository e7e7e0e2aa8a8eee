package routeserver

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// Reason is why a route was filtered: a code from the Euro-IX list of
// route-server large communities, carried on the route as RS_ASN:1101:code.
type Reason struct {
	Code uint32 `json:"code"`
	Name string `json:"name"`
}

// reasonFunction is the middle part of the Euro-IX "filtered" large
// communities.
const reasonFunction = 1101

// Euro-IX filtered-route codes (RS:1101:code).
const (
	ReasonPrefixTooLong       uint32 = 1
	ReasonPrefixTooShort      uint32 = 2
	ReasonBogon               uint32 = 3
	ReasonBogonASN            uint32 = 4
	ReasonASPathTooLong       uint32 = 5
	ReasonASPathTooShort      uint32 = 6
	ReasonFirstASNotPeer      uint32 = 7
	ReasonNextHopNotPeer      uint32 = 8
	ReasonIRRPrefix           uint32 = 9
	ReasonIRROrigin           uint32 = 10
	ReasonPrefixNotInOriginAS uint32 = 11
	ReasonRPKIUnknown         uint32 = 12
	ReasonRPKIInvalid         uint32 = 13
	ReasonTransitFreeASN      uint32 = 14
	ReasonTooManyCommunities  uint32 = 15
	// ixpd's own codes, beyond the Euro-IX list.
	ReasonNeverViaRS       uint32 = 16
	ReasonBlocklist        uint32 = 17
	ReasonBlackholeRefused uint32 = 18
)

// reasonNames holds the Euro-IX wording of every code.
var reasonNames = map[uint32]string{
	ReasonPrefixTooLong:       "Prefix length too long",
	ReasonPrefixTooShort:      "Prefix length too short",
	ReasonBogon:               "Prefix is a bogon",
	ReasonBogonASN:            "AS path contains a bogon ASN",
	ReasonASPathTooLong:       "AS path too long",
	ReasonASPathTooShort:      "AS path too short",
	ReasonFirstASNotPeer:      "First AS in path is not the peer's AS",
	ReasonNextHopNotPeer:      "Next hop is not an address of the peer",
	ReasonIRRPrefix:           "IRR: prefix not in the peer's AS-SET",
	ReasonIRROrigin:           "IRR: origin AS not in the peer's AS-SET",
	ReasonPrefixNotInOriginAS: "Prefix not registered to the origin AS",
	ReasonRPKIUnknown:         "RPKI: unknown",
	ReasonRPKIInvalid:         "RPKI: invalid",
	ReasonTransitFreeASN:      "Transit-free ASN in AS path",
	ReasonTooManyCommunities:  "Too many communities",
	ReasonNeverViaRS:          "AS path contains an ASN that is never via route servers (PeeringDB)",
	ReasonBlocklist:           "Prefix is in a blocklist",
	ReasonBlackholeRefused:    "Blackhole request not honoured (no blackhole next hop for this family)",
}

// Reasons lists every known reason in code order, for documentation and
// for clients that decode large communities themselves.
func Reasons() []Reason {
	out := make([]Reason, 0, len(reasonNames))
	for code, name := range reasonNames {
		out = append(out, Reason{Code: code, Name: name})
	}
	slices.SortFunc(out, func(a, b Reason) int { return int(a.Code) - int(b.Code) })
	return out
}

// reasonCommunity is the large community that tags a route with code.
func reasonCommunity(asn, code uint32) string {
	return fmt.Sprintf("%d:%d:%d", asn, reasonFunction, code)
}

// reasonsFromLargeCommunities decodes the reasons tagged on a route by the
// route server with ASN asn.
func reasonsFromLargeCommunities(asn uint32, communities []string) []Reason {
	var out []Reason
	prefix := strconv.FormatUint(uint64(asn), 10) + ":" + strconv.Itoa(reasonFunction) + ":"
	for _, c := range communities {
		rest, ok := strings.CutPrefix(c, prefix)
		if !ok {
			continue
		}
		code, err := strconv.ParseUint(rest, 10, 32)
		if err != nil {
			continue
		}
		name, ok := reasonNames[uint32(code)]
		if !ok {
			name = "Unknown reason"
		}
		out = append(out, Reason{Code: uint32(code), Name: name})
	}
	slices.SortFunc(out, func(a, b Reason) int { return int(a.Code) - int(b.Code) })
	return out
}

func formatASN(asn uint32) string { return strconv.FormatUint(uint64(asn), 10) }
