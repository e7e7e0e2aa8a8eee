package members

import (
	"encoding/binary"
	"fmt"
	"net/netip"
	"strings"
)

// check runs the sense checks on a decoded Set: reserved AS numbers, members and addresses listed twice,
// addresses outside the peering LANs, and route-server sessions on a LAN's network or broadcast address.
func check(set *Set, refs *references, lans []netip.Prefix) []*FieldError {
	var problems []*FieldError
	addf := func(path, format string, args ...any) {
		problems = append(problems, &FieldError{Path: path, Message: fmt.Sprintf(format, args...)})
	}
	asns := map[uint32]string{}
	addrs := map[netip.Addr]string{}
	for i, m := range set.Members {
		if path := refs.asn[i]; path != "" {
			if reason := reservedASN(m.ASN); reason != "" {
				addf(path, "AS%d %s", m.ASN, reason)
			}
			if first, ok := asns[m.ASN]; ok {
				addf(path, "AS%d is already listed at %s", m.ASN, first)
			} else {
				asns[m.ASN] = path
			}
		}
		for j, a := range m.Addresses {
			path := refs.addrs[i][j]
			if first, ok := addrs[a.IP]; ok {
				addf(path, "%s is already used at %s", a.IP, first)
			} else {
				addrs[a.IP] = path
			}
			if len(lans) == 0 {
				continue
			}
			lan, ok := peeringLAN(lans, a.IP)
			if !ok {
				addf(path, "%s is outside the peering LAN (%s)", a.IP, joinPrefixes(lans))
				continue
			}
			if a.RouteServer {
				if which := edgeAddress(lan, a.IP); which != "" {
					addf(path, "%s is the %s address of the peering LAN %s and cannot have a route-server session",
						a.IP, which, lan)
				}
			}
		}
	}
	return problems
}

// reservedASN says why an AS number cannot be a member (IANA special-purpose AS numbers), or returns
// "" when it can. Private AS numbers and AS112 are accepted.
func reservedASN(asn uint32) string {
	switch {
	case asn == 0:
		return "is reserved (RFC 7607)"
	case asn == 23456:
		return "is AS_TRANS (RFC 6793), not a real AS"
	case asn >= 64496 && asn <= 64511, asn >= 65536 && asn <= 65551:
		return "is reserved for documentation (RFC 5398)"
	case asn == 65535, asn == 4294967295:
		return "is reserved (RFC 7300)"
	default:
		return ""
	}
}

// peeringLAN returns the first of lans that holds ip.
func peeringLAN(lans []netip.Prefix, ip netip.Addr) (netip.Prefix, bool) {
	for _, lan := range lans {
		if lan.Contains(ip) {
			return lan.Masked(), true
		}
	}
	return netip.Prefix{}, false
}

// edgeAddress returns "network" or "broadcast" when ip is that address of lan, else "". Point-to-point
// prefixes (IPv4 /31 and /32, IPv6 /127 and /128) have neither.
func edgeAddress(lan netip.Prefix, ip netip.Addr) string {
	if ip.Is4() && lan.Bits() >= 31 || ip.Is6() && lan.Bits() >= 127 {
		return ""
	}
	if ip == lan.Addr() {
		return "network"
	}
	if ip.Is4() {
		b := lan.Addr().As4()
		last := binary.BigEndian.Uint32(b[:]) | (1<<(32-lan.Bits()) - 1)
		binary.BigEndian.PutUint32(b[:], last)
		if ip == netip.AddrFrom4(b) {
			return "broadcast"
		}
	}
	return ""
}

// joinPrefixes lists prefixes for a message.
func joinPrefixes(prefixes []netip.Prefix) string {
	s := make([]string, len(prefixes))
	for i, p := range prefixes {
		s[i] = p.String()
	}
	return strings.Join(s, ", ")
}
