package routeserver

import (
	"errors"
	"fmt"
	"net/netip"
	"time"

	"go.yaml.in/yaml/v3"
)

// Configuration is the route server's part of the configuration file.
type Configuration struct {
	// ASN is the route server's own AS number. It never appears in the AS
	// paths the route server passes on (RFC 7947).
	ASN uint32 `yaml:"asn"`
	// RouterID is the BGP identifier.
	RouterID netip.Addr `yaml:"router_id"`
	// Listen lists host:port addresses to accept BGP sessions on. GoBGP
	// listens on one port, so every entry must name the same port.
	Listen ListenAddresses `yaml:"listen"`
	// PeerPort is the TCP port the route server dials on members.
	PeerPort uint16 `yaml:"peer_port"`
	// Passive makes the route server wait for members to connect.
	Passive bool `yaml:"passive"`
	// HoldTime is the BGP hold time offered to members.
	HoldTime time.Duration `yaml:"hold_time"`
	// ConnectRetry is the time between connection attempts to a member.
	ConnectRetry time.Duration `yaml:"connect_retry"`
	// Filters configures the import filters.
	Filters Filters `yaml:"filters"`
	// MaxPrefix configures what happens when a member sends more prefixes
	// than its max_prefix in the members file.
	MaxPrefix MaxPrefix `yaml:"max_prefix"`

	// PeeringLANs is copied from ixp.peering_lan by the caller; routes for
	// the peering LAN are bogons.
	PeeringLANs []netip.Prefix `yaml:"-"`
}

// Filters selects the import filters. Defaults follow arouteserver's.
type Filters struct {
	// Bogons rejects IANA special-purpose prefixes, default routes, IPv6
	// outside 2000::/3 and the peering LAN.
	Bogons bool `yaml:"bogons"`
	// PrefixLength bounds the prefix length per address family.
	PrefixLength PrefixLength `yaml:"prefix_length"`
	// NextHop requires NEXT_HOP to be an address of the announcing member.
	NextHop bool `yaml:"next_hop"`
	// FirstAS requires the left-most AS to be the announcing member's ASN.
	FirstAS bool `yaml:"first_as"`
	// MaxASPathLength rejects longer AS paths; 0 turns the check off.
	MaxASPathLength int `yaml:"max_as_path_length"`
	// BogonASNs rejects paths that hold a private or reserved ASN.
	BogonASNs bool `yaml:"bogon_asns"`
}

// PrefixLength holds the accepted prefix lengths per family.
type PrefixLength struct {
	IPv4Min int `yaml:"ipv4_min"`
	IPv4Max int `yaml:"ipv4_max"`
	IPv6Min int `yaml:"ipv6_min"`
	IPv6Max int `yaml:"ipv6_max"`
}

// MaxPrefix configures the max-prefix limit taken from the members file.
type MaxPrefix struct {
	// Enabled tears a session down with a Cease (maximum number of
	// prefixes reached) when the member exceeds its limit.
	Enabled bool `yaml:"enabled"`
	// RestartAfter is how long a torn-down session stays down before the
	// route server lets it come back.
	RestartAfter time.Duration `yaml:"restart_after"`
}

// DefaultConfiguration returns the defaults written in the documentation.
func DefaultConfiguration() Configuration {
	return Configuration{
		ASN:          0,
		Listen:       ListenAddresses{netip.MustParseAddrPort("0.0.0.0:179")},
		PeerPort:     179,
		HoldTime:     90 * time.Second,
		ConnectRetry: 30 * time.Second,
		Filters: Filters{
			Bogons:          true,
			PrefixLength:    PrefixLength{IPv4Min: 8, IPv4Max: 24, IPv6Min: 12, IPv6Max: 48},
			NextHop:         true,
			FirstAS:         true,
			MaxASPathLength: 32,
			BogonASNs:       true,
		},
		MaxPrefix: MaxPrefix{Enabled: true, RestartAfter: 15 * time.Minute},
	}
}

// Validate checks the configuration; errors name the key path below
// "routeserver".
func (c Configuration) Validate() error {
	var errs []error
	bad := func(key string, format string, args ...any) {
		errs = append(errs, fmt.Errorf("routeserver.%s: %s", key, fmt.Sprintf(format, args...)))
	}
	switch c.ASN {
	case 0:
		bad("asn", "missing or 0; set the route server's AS number")
	case 23456, 65535, 4294967295:
		bad("asn", "%d is reserved", c.ASN)
	}
	if !c.RouterID.IsValid() {
		bad("router_id", "missing; set an IPv4 address")
	} else if !c.RouterID.Is4() {
		bad("router_id", "%s is not an IPv4 address", c.RouterID)
	}
	if len(c.Listen) == 0 {
		bad("listen", "missing; set host:port")
	}
	for i, l := range c.Listen {
		if l.Port() != c.Listen[0].Port() {
			bad(fmt.Sprintf("listen[%d]", i), "port %d differs from %d; every listen address shares one port", l.Port(), c.Listen[0].Port())
		}
	}
	if c.PeerPort == 0 {
		bad("peer_port", "0 is not a port")
	}
	if c.HoldTime != 0 && c.HoldTime < 3*time.Second {
		bad("hold_time", "%s is below the 3 s minimum of RFC 4271", c.HoldTime)
	}
	if c.ConnectRetry < time.Second {
		bad("connect_retry", "%s is below 1s", c.ConnectRetry)
	}
	pl := c.Filters.PrefixLength
	checkRange := func(key string, lo, hi, max int) {
		if lo < 0 || lo > max {
			bad("filters.prefix_length."+key+"_min", "%d is outside 0..%d", lo, max)
		}
		if hi < 0 || hi > max {
			bad("filters.prefix_length."+key+"_max", "%d is outside 0..%d", hi, max)
		}
		if lo > hi {
			bad("filters.prefix_length."+key+"_min", "%d is above %s_max %d", lo, key, hi)
		}
	}
	checkRange("ipv4", pl.IPv4Min, pl.IPv4Max, 32)
	checkRange("ipv6", pl.IPv6Min, pl.IPv6Max, 128)
	if c.Filters.MaxASPathLength < 0 || c.Filters.MaxASPathLength > 255 {
		bad("filters.max_as_path_length", "%d is outside 0..255", c.Filters.MaxASPathLength)
	}
	if c.MaxPrefix.Enabled && c.MaxPrefix.RestartAfter < time.Second {
		bad("max_prefix.restart_after", "%s is below 1s", c.MaxPrefix.RestartAfter)
	}
	return errors.Join(errs...)
}

// ListenAddresses is one host:port or a list of them in YAML.
type ListenAddresses []netip.AddrPort

// UnmarshalYAML accepts "host:port" or a list of such strings.
func (l *ListenAddresses) UnmarshalYAML(n *yaml.Node) error {
	var items []string
	switch n.Kind {
	case yaml.ScalarNode:
		items = []string{n.Value}
	case yaml.SequenceNode:
		if err := n.Decode(&items); err != nil {
			return err
		}
	default:
		return fmt.Errorf("line %d: want host:port or a list of them", n.Line)
	}
	out := make(ListenAddresses, 0, len(items))
	for _, s := range items {
		ap, err := netip.ParseAddrPort(s)
		if err != nil {
			return fmt.Errorf("line %d: %q is not host:port (IPv6 as [addr]:port)", n.Line, s)
		}
		out = append(out, ap)
	}
	*l = out
	return nil
}

// MarshalYAML writes the addresses as strings.
func (l ListenAddresses) MarshalYAML() (any, error) {
	if len(l) == 1 {
		return l[0].String(), nil
	}
	out := make([]string, len(l))
	for i, a := range l {
		out[i] = a.String()
	}
	return out, nil
}

// hosts returns the listen addresses without port.
func (l ListenAddresses) hosts() []string {
	out := make([]string, len(l))
	for i, a := range l {
		out[i] = a.Addr().String()
	}
	return out
}

func (l ListenAddresses) port() int32 {
	if len(l) == 0 {
		return -1
	}
	return int32(l[0].Port())
}
