// Package flow collects flow data: sFlow from the exchange's switches and
// IPFIX/NetFlow from members' edge routers, decoded with goflow2, scaled by
// the sampling rate, attributed to members and countries, and written in
// batches to the analytics store.
package flow

import (
	"net/netip"
	"time"
)

// Protocol is the export protocol a flow came in.
type Protocol uint8

// Export protocols.
const (
	ProtocolUnknown Protocol = iota
	ProtocolSFlow5
	ProtocolNetFlow5
	ProtocolNetFlow9
	ProtocolIPFIX
)

func (p Protocol) String() string {
	switch p {
	case ProtocolSFlow5:
		return "sflow5"
	case ProtocolNetFlow5:
		return "netflow5"
	case ProtocolNetFlow9:
		return "netflow9"
	case ProtocolIPFIX:
		return "ipfix"
	}
	return "unknown"
}

// Role is what an exporter is at the exchange (from the config).
type Role uint8

// Exporter roles.
const (
	RoleUnknown    Role = iota
	RoleIXPSwitch       // sFlow from a peering-LAN switch
	RoleMemberEdge      // IPFIX/NetFlow from a member's border router
)

func (r Role) String() string {
	switch r {
	case RoleIXPSwitch:
		return "ixp_switch"
	case RoleMemberEdge:
		return "member_edge"
	}
	return "unknown"
}

// PathClass says how a member-edge flow left or entered the member.
type PathClass uint8

// Path classes of member-edge flows (from the interface roles).
const (
	PathUnknown    PathClass = iota
	PathViaIXP               // through the exchange
	PathViaTransit           // through an upstream
	PathInternal             // between the member's own interfaces
)

func (p PathClass) String() string {
	switch p {
	case PathViaIXP:
		return "via_ixp"
	case PathViaTransit:
		return "via_transit"
	case PathInternal:
		return "internal"
	}
	return ""
}

// Flow is one flow record as ixpd stores it. Bytes and Packets are already
// multiplied by the sampling rate.
type Flow struct {
	// TimeReceived is when the datagram arrived (the capture time in replay).
	TimeReceived time.Time
	// TimeStart and TimeEnd are the exporter's flow times (sFlow: TimeReceived).
	TimeStart, TimeEnd time.Time

	Exporter     netip.Addr // sFlow agent address, or the UDP source for NetFlow/IPFIX
	Protocol     Protocol
	SamplingRate uint32
	Bytes        uint64
	Packets      uint64

	SrcAddr, DstAddr netip.Addr
	SrcPort, DstPort uint16
	IPProto          uint8
	EType            uint16 // 0x0800 IPv4, 0x86dd IPv6
	InIf, OutIf      uint32
	SrcMAC, DstMAC   uint64 // 48-bit MACs in the low bits; 0 when not known
	SrcAS, DstAS     uint32
	// Egress is true for an sFlow sample taken at its output port (the
	// sample's data source is the output interface, not the input): the
	// same packet may be sampled at ingress too, so it is not counted as
	// IXP traffic (each byte once).
	Egress bool

	// Filled in by attribution.
	Role         Role
	SrcMember    uint32 // member ASN, 0 when not a member
	DstMember    uint32
	IXPExchanged bool // an ixp_switch sample between two different known members
	PathClass    PathClass
	SrcCountry   string // ISO 3166-1 alpha-2, "" when not known
	DstCountry   string
	Domestic     bool // both ends in the exchange's country
}
