package routeserver

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/ixpd/ixpd/routeserver/irr"
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
	// RPKI configures origin validation (RFC 6811).
	RPKI RPKI `yaml:"rpki"`
	// IRR configures filtering with IRR data from local files.
	IRR IRR `yaml:"irr"`
	// PeeringDBFile is a PeeringDB "net" API response or dump; the ASNs it
	// flags info_never_via_route_servers feed the never_via_route_servers
	// filter.
	PeeringDBFile string `yaml:"peeringdb_file"`
	// ControlCommunities lets members steer their routes with the Euro-IX
	// control communities (docs/routeserver.md has the table).
	ControlCommunities bool `yaml:"control_communities"`
	// Blackhole configures RFC 7999 blackholing.
	Blackhole Blackhole `yaml:"blackhole"`
	// GracefulShutdown starts the route server in graceful shutdown (RFC
	// 8326): every route it sends carries 65535:0.
	GracefulShutdown bool `yaml:"graceful_shutdown"`
	// GRPCListen serves GoBGP's gRPC API (for the gobgp CLI) on a loopback
	// host:port; "" turns it off.
	GRPCListen string `yaml:"grpc_listen"`

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
	// TransitFree rejects routes with one of TransitFreeASNs in the AS
	// path behind the first AS.
	TransitFree bool `yaml:"transit_free"`
	// TransitFreeASNs are the networks that buy no transit, so a path
	// through them to the exchange is a leak.
	TransitFreeASNs []uint32 `yaml:"transit_free_asns"`
	// NeverViaRouteServers rejects routes with an ASN that PeeringDB flags
	// "never via route servers" behind the first AS (needs peeringdb_file).
	NeverViaRouteServers bool `yaml:"never_via_route_servers"`
	// Blocklist rejects these prefixes from everyone ("192.0.2.0/24",
	// "198.51.100.0/22 le 32").
	Blocklist []string `yaml:"blocklist"`
}

// DefaultTransitFreeASNs are the transit-free networks filtered by default
// (the list arouteserver uses).
var DefaultTransitFreeASNs = []uint32{174, 701, 1299, 2914, 3257, 3320, 3356, 3491, 5511, 6453, 6461, 6762, 6830, 7018, 12956}

// RPKI configures RPKI origin validation.
type RPKI struct {
	// RTR lists RTR servers (host:port) to take VRPs from.
	RTR []string `yaml:"rtr"`
	// VRPFile is a VRP JSON file (rpki-client, Routinator or stayrtr
	// format) to take VRPs from; it is re-read on reload and when it
	// changes.
	VRPFile string `yaml:"vrp_file"`
	// RejectInvalid rejects RPKI-invalid routes (RS:1101:13); when false
	// they are only tagged RS:1000:4.
	RejectInvalid bool `yaml:"reject_invalid"`
}

// Enabled tells whether any VRP source is configured.
func (r RPKI) Enabled() bool { return len(r.RTR) > 0 || r.VRPFile != "" }

// IRR modes.
const (
	IRROff    = "off"
	IRRTag    = "tag"
	IRRReject = "reject"
)

// IRR configures IRR filtering from files made by bgpq4.
type IRR struct {
	// Mode is reject (filter with RS:1101:9 and :10), tag (only tag with
	// RS:1001:9 and :10) or off.
	Mode string `yaml:"mode"`
	// PrefixLists are bgpq4 -j prefix-list files (glob patterns), each
	// list named after its AS-SET (bgpq4 -l AS-FOO).
	PrefixLists []string `yaml:"prefix_lists"`
	// ASSets are bgpq4 -j -t AS-number lists (glob patterns), each named
	// after its AS-SET.
	ASSets []string `yaml:"as_sets"`
	// RPKIAsRouteObjects accepts a prefix missing from the AS-SET when it
	// is RPKI-valid.
	RPKIAsRouteObjects bool `yaml:"rpki_as_route_objects"`
}

// Blackhole configures RFC 7999 blackholing.
type Blackhole struct {
	// Enabled accepts blackhole requests (65535:666 or LargeCommunity).
	Enabled bool `yaml:"enabled"`
	// LargeCommunity also requests blackholing; "" means RS_ASN:666:0.
	LargeCommunity string `yaml:"large_community"`
	// NextHopIPv4 and NextHopIPv6 replace the next hop of blackholed
	// routes: addresses on the peering LAN that drop traffic.
	NextHopIPv4 netip.Addr `yaml:"next_hop_ipv4"`
	NextHopIPv6 netip.Addr `yaml:"next_hop_ipv6"`
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
			TransitFree:     true,
			TransitFreeASNs: slices.Clone(DefaultTransitFreeASNs),
		},
		MaxPrefix:          MaxPrefix{Enabled: true, RestartAfter: 15 * time.Minute},
		RPKI:               RPKI{RejectInvalid: true},
		IRR:                IRR{Mode: IRRReject, RPKIAsRouteObjects: true},
		ControlCommunities: true,
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
	for i, a := range c.Filters.TransitFreeASNs {
		if a == 0 || a == 23456 || a == 4294967295 {
			bad(fmt.Sprintf("filters.transit_free_asns[%d]", i), "%d is reserved", a)
		}
	}
	for i, b := range c.Filters.Blocklist {
		if _, err := irr.ParsePrefixRange(b); err != nil {
			bad(fmt.Sprintf("filters.blocklist[%d]", i), "%v", err)
		}
	}
	if c.Filters.NeverViaRouteServers && c.PeeringDBFile == "" {
		bad("filters.never_via_route_servers", "needs routeserver.peeringdb_file")
	}
	for i, r := range c.RPKI.RTR {
		if _, _, err := net.SplitHostPort(r); err != nil {
			bad(fmt.Sprintf("rpki.rtr[%d]", i), "%q is not host:port", r)
		}
	}
	switch c.IRR.Mode {
	case IRROff, IRRTag, IRRReject:
	default:
		bad("irr.mode", "%q: want reject, tag or off", c.IRR.Mode)
	}
	if bh := c.Blackhole; bh.Enabled {
		if !bh.NextHopIPv4.IsValid() && !bh.NextHopIPv6.IsValid() {
			bad("blackhole", "enabled without next_hop_ipv4 or next_hop_ipv6")
		}
		if bh.NextHopIPv4.IsValid() && !bh.NextHopIPv4.Is4() {
			bad("blackhole.next_hop_ipv4", "%s is not an IPv4 address", bh.NextHopIPv4)
		}
		if bh.NextHopIPv6.IsValid() && (!bh.NextHopIPv6.Is6() || bh.NextHopIPv6.Is4In6()) {
			bad("blackhole.next_hop_ipv6", "%s is not an IPv6 address", bh.NextHopIPv6)
		}
		if bh.LargeCommunity != "" {
			if _, err := parseLargeCommunity(bh.LargeCommunity); err != nil {
				bad("blackhole.large_community", "%v", err)
			}
		}
	}
	if c.GRPCListen != "" {
		ap, err := netip.ParseAddrPort(c.GRPCListen)
		switch {
		case err != nil:
			bad("grpc_listen", "%q is not host:port (IPv6 as [addr]:port)", c.GRPCListen)
		case !ap.Addr().IsLoopback():
			bad("grpc_listen", "%s is not a loopback address: GoBGP's gRPC API has no authentication", ap.Addr())
		}
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

// largeCommunity is a BGP large community (RFC 8092).
type largeCommunity struct{ asn, d1, d2 uint32 }

func (l largeCommunity) String() string { return fmt.Sprintf("%d:%d:%d", l.asn, l.d1, l.d2) }

// parseLargeCommunity reads "a:b:c".
func parseLargeCommunity(s string) (largeCommunity, error) {
	parts := strings.Split(s, ":")
	if len(parts) != 3 {
		return largeCommunity{}, fmt.Errorf("%q is not a large community (want a:b:c)", s)
	}
	var v [3]uint32
	for i, p := range parts {
		n, err := strconv.ParseUint(p, 10, 32)
		if err != nil {
			return largeCommunity{}, fmt.Errorf("%q is not a large community: %q is not a 32-bit number", s, p)
		}
		v[i] = uint32(n)
	}
	return largeCommunity{v[0], v[1], v[2]}, nil
}
