// Package members reads the members of the exchange from an IX-F Member Export file (the Euro-IX JSON
// format, version 1.0).
//
// Parse and Load check the file's structure and its sense (reserved AS numbers, duplicate members and
// addresses, addresses outside the peering LANs) and report every problem they find, each as a
// *FieldError that names a JSON pointer into the file. The official IX-F JSON schema is not needed; when
// Options.SchemaFile names a copy of it, the file is also validated against it.
package members

import (
	"fmt"
	"net"
	"net/netip"
	"slices"
	"strconv"
	"time"
)

// Family is an address family of a peering-LAN address.
type Family uint8

// Address families, numbered as in the IP version field.
const (
	IPv4 Family = 4
	IPv6 Family = 6
)

// String returns "ipv4" or "ipv6", the names of the address fields in the members file.
func (f Family) String() string {
	switch f {
	case IPv4:
		return "ipv4"
	case IPv6:
		return "ipv6"
	default:
		return fmt.Sprintf("Family(%d)", uint8(f))
	}
}

// Address is one address of a member on a peering LAN: the ipv4 or ipv6 object of a vlan_list entry.
type Address struct {
	// Family is the field the address was read from.
	Family Family
	// IP is the member router's address on the peering LAN.
	IP netip.Addr
	// RouteServer is the "routeserver" flag: true when the member wants a route-server session on
	// this address.
	RouteServer bool
	// MaxPrefix is the "max_prefix" limit for the session; 0 when not set.
	MaxPrefix int
	// ASMacro is the "as_macro" (an IRR AS-SET) for the session; "" when not set.
	ASMacro string
	// VLANID is the "vlan_id" of the vlan_list entry; 0 when not set.
	VLANID int
}

// Member is one entry of the file's member_list.
type Member struct {
	// ASN is the member's AS number ("asnum").
	ASN uint32
	// Name is the network's name ("name").
	Name string
	// Type is the participant type ("member_type"): "peering", "ixp", "other" or "".
	Type string
	// PeeringPolicy is the free-text "peering_policy".
	PeeringPolicy string
	// URL is the network's web site ("url").
	URL string
	// Addresses holds every ipv4 and ipv6 object of every vlan_list entry of every connection, in file
	// order.
	Addresses []Address
	// MACs holds the member's MAC addresses from every mac_addresses list, in file order, each once.
	MACs []net.HardwareAddr
	// RouteServer holds the member's route-server settings from the ixpd extension.
	RouteServer RouteServerPolicy
}

// ASSets returns the AS-SETs that describe what the member may announce: the extension's as_sets,
// else every distinct as_macro of its addresses, else "AS<asnum>".
func (m *Member) ASSets() []string {
	if len(m.RouteServer.ASSets) > 0 {
		return m.RouteServer.ASSets
	}
	var out []string
	for _, a := range m.Addresses {
		if a.ASMacro != "" && !slices.Contains(out, a.ASMacro) {
			out = append(out, a.ASMacro)
		}
	}
	if len(out) == 0 {
		out = []string{"AS" + strconv.FormatUint(uint64(m.ASN), 10)}
	}
	return out
}

// Set is the content of a members file.
type Set struct {
	// Version is the IX-F schema version of the file ("1.0").
	Version string
	// Timestamp is when the file was exported.
	Timestamp time.Time
	// Members holds the member_list entries in file order.
	Members []Member
}

// Session is an address on which a member wants a route-server session.
type Session struct {
	// Member points into the Set the session was taken from.
	Member *Member
	// Address is the member's address for the session.
	Address Address
}

// Sessions returns every (member, address) pair whose address has RouteServer set, in file order.
func (s *Set) Sessions() []Session {
	var sessions []Session
	for i := range s.Members {
		m := &s.Members[i]
		for _, a := range m.Addresses {
			if a.RouteServer {
				sessions = append(sessions, Session{Member: m, Address: a})
			}
		}
	}
	return sessions
}
