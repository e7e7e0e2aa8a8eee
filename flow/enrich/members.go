package enrich

import (
	"net/netip"

	"github.com/ixpd/ixpd/routeserver/members"
)

// memberIndex finds members by MAC address, peering-LAN address and AS number. It is built from a
// members.Set and never changed: SetMembers replaces it whole.
type memberIndex struct {
	// byMAC and byIP map to the member's ASN, or to 0 when two members list the same MAC or address
	// (attributing such a sample to either would be a guess).
	byMAC map[uint64]uint32
	byIP  map[netip.Addr]uint32
	asns  map[uint32]struct{}
}

// indexMembers builds the index of set; a nil set gives an empty index.
func indexMembers(set *members.Set) *memberIndex {
	idx := &memberIndex{
		byMAC: map[uint64]uint32{},
		byIP:  map[netip.Addr]uint32{},
		asns:  map[uint32]struct{}{},
	}
	if set == nil {
		return idx
	}
	for i := range set.Members {
		m := &set.Members[i]
		if m.ASN == 0 {
			continue
		}
		idx.asns[m.ASN] = struct{}{}
		for _, hw := range m.MACs {
			if len(hw) != 6 {
				continue // EUI-64: flows carry 48-bit MACs only
			}
			mac := uint64(hw[0])<<40 | uint64(hw[1])<<32 | uint64(hw[2])<<24 |
				uint64(hw[3])<<16 | uint64(hw[4])<<8 | uint64(hw[5])
			addOnce(idx.byMAC, mac, m.ASN)
		}
		for _, a := range m.Addresses {
			if a.IP.IsValid() {
				addOnce(idx.byIP, a.IP.Unmap(), m.ASN)
			}
		}
	}
	return idx
}

// addOnce maps k to asn, or to 0 when k is already mapped to another member.
func addOnce[K comparable](m map[K]uint32, k K, asn uint32) {
	if prev, ok := m[k]; ok && prev != asn {
		m[k] = 0
		return
	}
	m[k] = asn
}

// bySwitchSample returns the member that sent or received a sample on the peering LAN: by MAC,
// failing that by peering-LAN address; 0 when neither is known.
func (idx *memberIndex) bySwitchSample(mac uint64, addr netip.Addr) uint32 {
	if mac != 0 {
		if asn := idx.byMAC[mac]; asn != 0 {
			return asn
		}
	}
	return idx.byIP[addr]
}

// isMember reports whether an end with this address and AS belongs to a member: the address is a
// member's peering-LAN address, or the AS is a member's.
func (idx *memberIndex) isMember(addr netip.Addr, asn uint32) bool {
	if _, ok := idx.byIP[addr]; ok {
		return true
	}
	if asn == 0 {
		return false
	}
	_, ok := idx.asns[asn]
	return ok
}
