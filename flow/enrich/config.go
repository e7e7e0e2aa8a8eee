package enrich

import (
	"fmt"
	"maps"
	"net/netip"

	"github.com/ixpd/ixpd/flow"
)

// Config is what the enricher needs from ixpd's configuration. It is assembled by cmd/ixpd from several
// sections; the comment of each field names the key it comes from, and errors from New name that key.
type Config struct {
	// Country is the exchange's country, ISO 3166-1 alpha-2 (ixp.country), e.g. "WS".
	Country string
	// DelegatedFiles are RIR delegated-stats files (domestic.delegated_files), read in order; for the
	// same prefix or AS range a later file wins.
	DelegatedFiles []string
	// Overrides map a prefix to a country (domestic.overrides); they win over every other source.
	Overrides map[netip.Prefix]string
	// Exporters says what each exporter is, by its address (flow.exporters).
	Exporters map[netip.Addr]Exporter
}

// Exporter is the configuration of one flow exporter.
type Exporter struct {
	// Role is ixp_switch or member_edge.
	Role flow.Role
	// MemberASN is the member whose border router a member_edge exporter is; unused for ixp_switch.
	MemberASN uint32
	// Interfaces gives the role of a member_edge exporter's interfaces, by SNMP ifIndex. Interfaces
	// not listed are IfUnknown.
	Interfaces map[uint32]InterfaceRole
}

// InterfaceRole is what a member_edge exporter's interface connects to.
type InterfaceRole uint8

// Interface roles.
const (
	IfUnknown  InterfaceRole = iota // not configured
	IfIXP                           // the exchange's peering LAN
	IfTransit                       // an upstream transit provider
	IfCustomer                      // the member's own network or its customers
)

// String returns the role's configuration name: "ixp", "transit", "customer", or "unknown".
func (r InterfaceRole) String() string {
	switch r {
	case IfIXP:
		return "ixp"
	case IfTransit:
		return "transit"
	case IfCustomer:
		return "customer"
	}
	return "unknown"
}

// MarshalText writes the role's configuration name.
func (r InterfaceRole) MarshalText() ([]byte, error) {
	return []byte(r.String()), nil
}

// UnmarshalText reads "ixp", "transit" or "customer".
func (r *InterfaceRole) UnmarshalText(text []byte) error {
	role, err := ParseInterfaceRole(string(text))
	if err != nil {
		return err
	}
	*r = role
	return nil
}

// ParseInterfaceRole reads an interface role from its configuration name: "ixp", "transit" or
// "customer".
func ParseInterfaceRole(s string) (InterfaceRole, error) {
	for _, r := range []InterfaceRole{IfIXP, IfTransit, IfCustomer} {
		if s == r.String() {
			return r, nil
		}
	}
	return IfUnknown, fmt.Errorf("%q is not an interface role (ixp, transit or customer)", s)
}

// validCountry reports whether cc is two upper-case ASCII letters.
func validCountry(cc string) bool {
	return len(cc) == 2 && cc[0] >= 'A' && cc[0] <= 'Z' && cc[1] >= 'A' && cc[1] <= 'Z'
}

// exporters validates the configured exporters and returns a copy keyed by unmapped address.
func exporters(cfg map[netip.Addr]Exporter) (map[netip.Addr]Exporter, error) {
	out := make(map[netip.Addr]Exporter, len(cfg))
	for addr, ex := range cfg {
		key := "flow.exporters[" + addr.String() + "]"
		if !addr.IsValid() {
			return nil, fmt.Errorf("flow.exporters: an exporter has no address")
		}
		switch ex.Role {
		case flow.RoleIXPSwitch:
		case flow.RoleMemberEdge:
			if ex.MemberASN == 0 {
				return nil, fmt.Errorf("%s.member_asn: required for a member_edge exporter", key)
			}
		default:
			return nil, fmt.Errorf("%s.role: %q is not ixp_switch or member_edge", key, ex.Role)
		}
		for ifIndex, role := range ex.Interfaces {
			if role < IfIXP || role > IfCustomer {
				return nil, fmt.Errorf("%s.interfaces[%d]: %d is not an interface role", key, ifIndex, uint8(role))
			}
		}
		addr = addr.Unmap()
		if _, dup := out[addr]; dup {
			return nil, fmt.Errorf("%s: listed twice (as IPv4 and IPv4-mapped IPv6)", key)
		}
		ex.Interfaces = maps.Clone(ex.Interfaces)
		out[addr] = ex
	}
	return out, nil
}
