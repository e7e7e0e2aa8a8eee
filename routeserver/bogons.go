package routeserver

import "net/netip"

// bogonPrefixes4 are IPv4 prefixes (and all their more-specifics) that are
// never accepted: the IANA IPv4 special-purpose registry entries that are
// not globally reachable, multicast and the reserved class E.
var bogonPrefixes4 = []string{
	"0.0.0.0/8",       // "this network"
	"10.0.0.0/8",      // private
	"100.64.0.0/10",   // shared address space
	"127.0.0.0/8",     // loopback
	"169.254.0.0/16",  // link local
	"172.16.0.0/12",   // private
	"192.0.0.0/24",    // IETF protocol assignments
	"192.0.2.0/24",    // TEST-NET-1
	"192.88.99.0/24",  // 6to4 relay anycast (deprecated)
	"192.168.0.0/16",  // private
	"198.18.0.0/15",   // benchmarking
	"198.51.100.0/24", // TEST-NET-2
	"203.0.113.0/24",  // TEST-NET-3
	"224.0.0.0/4",     // multicast
	"240.0.0.0/4",     // reserved, limited broadcast
}

// bogonPrefixes6 are the IPv6 special-purpose prefixes inside 2000::/3
// that are never accepted; everything outside 2000::/3 is a bogon too.
var bogonPrefixes6 = []string{
	"2001:2::/48",   // benchmarking
	"2001:10::/28",  // ORCHID
	"2001:db8::/32", // documentation
	"2002::/16",     // 6to4
	"3ffe::/16",     // old 6bone
}

// outsideGlobalUnicast6 covers every IPv6 prefix outside 2000::/3.
var outsideGlobalUnicast6 = []string{"::/3", "4000::/2", "8000::/1"}

// bogonSet returns the bogon prefixes of one family, including the
// peering LANs of that family, each standing for itself and all its
// more-specifics.
func bogonSet(v6 bool, peeringLANs []netip.Prefix) []netip.Prefix {
	list := bogonPrefixes4
	if v6 {
		list = append(append([]string{}, bogonPrefixes6...), outsideGlobalUnicast6...)
	}
	out := make([]netip.Prefix, 0, len(list)+len(peeringLANs))
	for _, s := range list {
		out = append(out, netip.MustParsePrefix(s))
	}
	for _, p := range peeringLANs {
		if p.Addr().Is6() == v6 {
			out = append(out, p.Masked())
		}
	}
	return out
}
