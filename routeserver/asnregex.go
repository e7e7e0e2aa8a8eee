package routeserver

import (
	"strconv"
	"strings"
)

// asnRange is an inclusive range of AS numbers.
type asnRange struct{ lo, hi uint32 }

// bogonASNs are the IANA special-purpose and reserved AS numbers that must
// not appear in a route's AS path (RFC 7607, 6793, 5398, 6996, 7300 and
// the IANA reserved block 65552-131071).
var bogonASNs = []asnRange{
	{0, 0},
	{23456, 23456},
	{64496, 64511},
	{64512, 65534},
	{65535, 65535},
	{65536, 65551},
	{65552, 131071},
	{4200000000, 4294967294},
	{4294967295, 4294967295},
}

// asnRangesRegexp returns a GoBGP AS-path regular expression that matches a
// path holding any AS number in ranges. GoBGP replaces "_" with an AS
// boundary.
func asnRangesRegexp(ranges []asnRange) string {
	var alts []string
	for _, r := range ranges {
		alts = append(alts, numberRangePatterns(uint64(r.lo), uint64(r.hi))...)
	}
	return "_(" + strings.Join(alts, "|") + ")_"
}

// numberRangePatterns returns regular expressions (without anchors) that
// together match exactly the decimal numbers lo..hi, written without
// leading zeros.
func numberRangePatterns(lo, hi uint64) []string {
	var out []string
	for lo <= hi {
		// Split at the next power of ten so both ends have the same width.
		width := len(strconv.FormatUint(lo, 10))
		top := uint64(1)
		for range width {
			top *= 10
		}
		end := min(hi, top-1)
		out = append(out, sameWidthPatterns(strconv.FormatUint(lo, 10), strconv.FormatUint(end, 10))...)
		if end == hi {
			break
		}
		lo = end + 1
	}
	return out
}

// sameWidthPatterns matches the numbers a..b, two decimal strings of the
// same width.
func sameWidthPatterns(a, b string) []string {
	if a == b {
		return []string{a}
	}
	if len(a) == 1 {
		return []string{"[" + a + "-" + b + "]"}
	}
	rest := len(a) - 1
	if a[1:] == strings.Repeat("0", rest) && b[1:] == strings.Repeat("9", rest) {
		return []string{digitClass(a[0], b[0]) + anyDigits(rest)}
	}
	if a[0] == b[0] {
		var out []string
		for _, p := range sameWidthPatterns(a[1:], b[1:]) {
			out = append(out, a[:1]+p)
		}
		return out
	}
	var out []string
	for _, p := range sameWidthPatterns(a[1:], strings.Repeat("9", rest)) {
		out = append(out, a[:1]+p)
	}
	if a[0]+1 <= b[0]-1 {
		out = append(out, digitClass(a[0]+1, b[0]-1)+anyDigits(rest))
	}
	for _, p := range sameWidthPatterns(strings.Repeat("0", rest), b[1:]) {
		out = append(out, b[:1]+p)
	}
	return out
}

func digitClass(lo, hi byte) string {
	if lo == hi {
		return string(lo)
	}
	return "[" + string(lo) + "-" + string(hi) + "]"
}

func anyDigits(n int) string {
	if n == 1 {
		return "[0-9]"
	}
	return "[0-9]{" + strconv.Itoa(n) + "}"
}
