// Package rpki gives the route server RPKI origin validation data from a
// local file.
//
// GoBGP validates routes against a ROA table that it fills only through its
// RTR client (RFC 6810, RFC 8210). ixpd reads Validated ROA Payloads (VRPs)
// from a JSON file in the format that rpki-client, Routinator and StayRTR
// write (ParseVRPs, LoadVRPFile) and serves them to its own GoBGP through
// Cache, an in-process RTR cache server listening on loopback. Replacing the
// set with Cache.Set sends routers a Serial Notify; they then fetch only
// what changed.
package rpki

import (
	"cmp"
	"fmt"
	"net/netip"
	"slices"
)

// VRP is one Validated ROA Payload: routes for Prefix and its more-specifics
// up to MaxLength bits long may be originated by ASN.
type VRP struct {
	// Prefix is masked: it has no host bits set.
	Prefix netip.Prefix
	// MaxLength is at least Prefix.Bits() and at most 32 (IPv4) or 128 (IPv6).
	MaxLength uint8
	// ASN is the origin AS; AS 0 means that no AS may originate the prefix
	// (RFC 6483).
	ASN uint32
}

// String returns the VRP as "prefix-maxlength AS<n>", as rpki-client prints it.
func (v VRP) String() string {
	return fmt.Sprintf("%s-%d AS%d", v.Prefix, v.MaxLength, v.ASN)
}

// valid reports whether v could have come from ParseVRPs.
func (v VRP) valid() bool {
	p := v.Prefix
	return p.IsValid() && p.Masked() == p &&
		int(v.MaxLength) >= p.Bits() && int(v.MaxLength) <= p.Addr().BitLen()
}

// compareVRP orders VRPs by address family (IPv4 first), prefix address,
// prefix length, maximum length and ASN.
func compareVRP(a, b VRP) int {
	if c := a.Prefix.Addr().Compare(b.Prefix.Addr()); c != 0 {
		return c
	}
	return cmp.Or(
		cmp.Compare(a.Prefix.Bits(), b.Prefix.Bits()),
		cmp.Compare(a.MaxLength, b.MaxLength),
		cmp.Compare(a.ASN, b.ASN),
	)
}

// sortVRPs sorts vrps in place in compareVRP order and removes duplicates.
func sortVRPs(vrps []VRP) []VRP {
	if !slices.IsSortedFunc(vrps, compareVRP) {
		slices.SortFunc(vrps, compareVRP)
	}
	return slices.Compact(vrps)
}

// diffVRPs returns what is in next but not in prev (announce) and what is
// in prev but not in next (withdraw). Both inputs are sorted and free of
// duplicates; so are the results.
func diffVRPs(prev, next []VRP) (announce, withdraw []VRP) {
	i, j := 0, 0
	for i < len(prev) && j < len(next) {
		switch c := compareVRP(prev[i], next[j]); {
		case c < 0:
			withdraw = append(withdraw, prev[i])
			i++
		case c > 0:
			announce = append(announce, next[j])
			j++
		default:
			i++
			j++
		}
	}
	withdraw = append(withdraw, prev[i:]...)
	announce = append(announce, next[j:]...)
	return announce, withdraw
}
