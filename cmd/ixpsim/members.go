package main

import (
	"encoding/binary"
	"fmt"
	"math/bits"
	"net/netip"

	"github.com/ixpd/ixpd/routeserver/speaker"
)

// The simulated members of rs-bench and what they announce. Member i
// (from 0) sits on 127.0.0.10+i (counting on into 127.0.1.x and beyond),
// has AS 210000+i, and announces the K /24s with generator indexes
// i*K .. i*K+K-1: consecutive /24s from 16.0.0.0 upward, with the AS path
// [210000+i, 220000+i] and itself as next hop. Everything passes a strict
// route-server import filter.

const (
	memberASNBase = 210000
	originASNBase = 220000
	// maxMembers keeps member and origin ASNs apart and every address in
	// 127.0.0.0/8.
	maxMembers = originASNBase - memberASNBase
	// firstMemberHost is the host number, within 127.0.0.0/8, of member 0.
	firstMemberHost = 10
)

// prefixBase is 16.0.0.0, the first generated /24; prefixLimit is
// 100.64.0.0, the start of the shared address space (RFC 6598), the first
// special-purpose block above it.
var (
	prefixBase  = binary.BigEndian.Uint32([]byte{16, 0, 0, 0})
	prefixLimit = binary.BigEndian.Uint32([]byte{100, 64, 0, 0})
)

// maxPrefixes is the number of /24s between prefixBase and prefixLimit.
var maxPrefixes = int((prefixLimit - prefixBase) >> 8)

// memberAddr is the loopback address of member i.
func memberAddr(i int) netip.Addr {
	n := uint32(firstMemberHost + i)
	return netip.AddrFrom4([4]byte{127, byte(n >> 16), byte(n >> 8), byte(n)})
}

func memberASN(i int) uint32 { return memberASNBase + uint32(i) }
func originASN(i int) uint32 { return originASNBase + uint32(i) }

// checkScale reports whether n members with k prefixes each fit the
// address and ASN plans.
func checkScale(n, k int) error {
	switch {
	case n < 2:
		return fmt.Errorf("-members %d: need at least 2", n)
	case n > maxMembers:
		return fmt.Errorf("-members %d: at most %d", n, maxMembers)
	case k < 1:
		return fmt.Errorf("-prefixes %d: need at least 1", k)
	case n*k > maxPrefixes:
		return fmt.Errorf("-members %d × -prefixes %d = %d /24s, more than the %d between 16.0.0.0 and 100.64.0.0", n, k, n*k, maxPrefixes)
	}
	return nil
}

// prefixOf returns the /24 with generator index g.
func prefixOf(g int) netip.Prefix {
	var a [4]byte
	binary.BigEndian.PutUint32(a[:], prefixBase+uint32(g)<<8)
	return netip.PrefixFrom(netip.AddrFrom4(a), 24)
}

// indexOf returns the generator index of p, and false for a prefix the
// generator does not make.
func indexOf(p netip.Prefix) (int, bool) {
	if p.Bits() != 24 || !p.Addr().Is4() {
		return 0, false
	}
	a := p.Addr().As4()
	v := binary.BigEndian.Uint32(a[:])
	if v < prefixBase || v >= prefixLimit || v&0xff != 0 {
		return 0, false
	}
	return int((v - prefixBase) >> 8), true
}

// memberPrefixes returns the k prefixes member i announces.
func memberPrefixes(i, k int) []netip.Prefix {
	out := make([]netip.Prefix, k)
	for j := range out {
		out[j] = prefixOf(i*k + j)
	}
	return out
}

// memberAttributes are the path attributes of member i's announcements.
func memberAttributes(i int) speaker.Attributes {
	return speaker.Attributes{
		Origin:  speaker.OriginIGP,
		ASPath:  []uint32{memberASN(i), originASN(i)},
		NextHop: memberAddr(i),
	}
}

// encodeMember returns the UPDATE messages member i sends, followed by an
// IPv4 End-of-RIB.
func encodeMember(i, k int) ([][]byte, error) {
	msgs, err := speaker.EncodeUpdates(memberPrefixes(i, k), memberAttributes(i))
	if err != nil {
		return nil, fmt.Errorf("encode updates of member %d: %w", i, err)
	}
	return append(msgs, speaker.EncodeEndOfRIB(speaker.IPv4Unicast)), nil
}

// bitset is a fixed-size set of generator indexes.
type bitset []uint64

func newBitset(n int) bitset { return make(bitset, (n+63)/64) }

// set adds i and reports whether it was absent.
func (b bitset) set(i int) bool {
	w, m := i/64, uint64(1)<<(i%64)
	if b[w]&m != 0 {
		return false
	}
	b[w] |= m
	return true
}

// clear removes i and reports whether it was present.
func (b bitset) clear(i int) bool {
	w, m := i/64, uint64(1)<<(i%64)
	if b[w]&m == 0 {
		return false
	}
	b[w] &^= m
	return true
}

// count returns the number of indexes in the set.
func (b bitset) count() int {
	n := 0
	for _, w := range b {
		n += bits.OnesCount64(w)
	}
	return n
}

// reset empties the set.
func (b bitset) reset() { clear(b) }

// has reports whether i is in the set.
func (b bitset) has(i int) bool { return b[i/64]&(uint64(1)<<(i%64)) != 0 }
