package irr

import (
	"errors"
	"fmt"
	"net/netip"
	"strconv"
	"strings"
)

// PrefixRange is a set of routes: those inside Prefix whose length is between Min and Max, both
// included. Prefix is masked, and Prefix.Bits() <= Min <= Max <= 32 or 128.
type PrefixRange struct {
	Prefix   netip.Prefix
	Min, Max uint8
}

// Contains reports whether the route p is in the range: p is of the same address family as the
// range's prefix, inside it, and its length is between Min and Max. Host bits of p are ignored.
func (r PrefixRange) Contains(p netip.Prefix) bool {
	if !p.IsValid() || !r.Prefix.IsValid() {
		return false
	}
	bits := p.Bits()
	return bits >= int(r.Min) && bits <= int(r.Max) && bits >= r.Prefix.Bits() &&
		p.Addr().Is4() == r.Prefix.Addr().Is4() && r.Prefix.Contains(p.Addr())
}

// String returns the range in the form ParsePrefixRange reads: "192.0.2.0/24" when exact,
// "192.0.2.0/22 le 24" from the prefix's own length, "10.0.0.0/8 ge 16" up to the longest length, and
// "10.0.0.0/8 ge 16 le 24" otherwise.
func (r PrefixRange) String() string {
	bits := r.Prefix.Bits()
	longest := r.Prefix.Addr().BitLen()
	s := r.Prefix.String()
	switch {
	case int(r.Min) == bits && int(r.Max) == bits:
		return s
	case int(r.Min) == bits:
		return fmt.Sprintf("%s le %d", s, r.Max)
	case int(r.Max) == longest:
		return fmt.Sprintf("%s ge %d", s, r.Min)
	default:
		return fmt.Sprintf("%s ge %d le %d", s, r.Min, r.Max)
	}
}

// ParsePrefixRange reads a prefix range written by an operator. The accepted forms are
//
//	192.0.2.0/24              the prefix alone
//	192.0.2.0/22 le 24        lengths 22 to 24 (prefix-list style: ge from the prefix length,
//	2001:db8::/32 ge 40 le 48 lengths 40 to 48  le up to 32 or 128, in either order)
//	192.0.2.0/24 ge 26        lengths 26 to 32
//	192.0.2.0/24+             lengths 24 to 32: the prefix and all its more specifics
//	192.0.2.0/24^+            the same, in RPSL (RFC 2622) notation
//	192.0.2.0/24^-            lengths 25 to 32: the more specifics only
//	192.0.2.0/24^26           length 26 only
//	192.0.2.0/24^25-28        lengths 25 to 28
//
// The prefix must not have host bits set, and every length must be between the prefix length and
// 32 (IPv4) or 128 (IPv6). Keywords are case-insensitive.
func ParsePrefixRange(s string) (PrefixRange, error) {
	r, err := parsePrefixRange(s)
	if err != nil {
		return PrefixRange{}, fmt.Errorf("prefix range %q: %w", s, err)
	}
	return r, nil
}

func parsePrefixRange(s string) (PrefixRange, error) {
	fields := strings.Fields(s)
	if len(fields) == 0 {
		return PrefixRange{}, errors.New("empty")
	}
	text, op := fields[0], ""
	if i := strings.IndexByte(text, '^'); i >= 0 {
		text, op = text[:i], text[i:]
	} else if strings.HasSuffix(text, "+") {
		text, op = strings.TrimSuffix(text, "+"), "^+"
	}
	if !strings.Contains(text, "/") {
		return PrefixRange{}, fmt.Errorf("%q has no prefix length", text)
	}
	p, err := netip.ParsePrefix(text)
	if err != nil {
		return PrefixRange{}, fmt.Errorf("%q is not an IP prefix", text)
	}
	if p != p.Masked() {
		return PrefixRange{}, fmt.Errorf("%s has host bits set (%s?)", p, p.Masked())
	}
	bits, longest := p.Bits(), p.Addr().BitLen()
	lo, hi := bits, bits
	rest := fields[1:]
	switch {
	case op != "" && len(rest) > 0:
		return PrefixRange{}, fmt.Errorf("%q after %s", strings.Join(rest, " "), op)
	case op == "^+":
		hi = longest
	case op == "^-":
		if bits == longest {
			return PrefixRange{}, fmt.Errorf("/%d has no more specifics", bits)
		}
		lo, hi = bits+1, longest
	case op != "":
		lo, hi, err = parseRPSLLengths(op[1:])
		if err != nil {
			return PrefixRange{}, fmt.Errorf("range operator %q: %w", op, err)
		}
		if lo > hi {
			return PrefixRange{}, fmt.Errorf("range operator %q: %d is above %d", op, lo, hi)
		}
	default:
		var haveGE, haveLE bool
		for len(rest) > 0 {
			if len(rest) < 2 {
				return PrefixRange{}, fmt.Errorf("%q needs a length", rest[0])
			}
			kw := strings.ToLower(rest[0])
			if kw != "ge" && kw != "le" {
				return PrefixRange{}, fmt.Errorf("unknown word %q (want ge or le)", rest[0])
			}
			n, err := strconv.ParseUint(rest[1], 10, 8)
			if err != nil {
				return PrefixRange{}, fmt.Errorf("%s %q: not a prefix length", kw, rest[1])
			}
			if (kw == "ge" && haveGE) || (kw == "le" && haveLE) {
				return PrefixRange{}, fmt.Errorf("%s given twice", kw)
			}
			if kw == "ge" {
				haveGE, lo = true, int(n)
				if !haveLE {
					hi = longest
				}
			} else {
				haveLE, hi = true, int(n)
			}
			rest = rest[2:]
		}
	}
	for _, n := range []int{lo, hi} {
		if n < bits {
			return PrefixRange{}, fmt.Errorf("length %d is below the prefix length %d", n, bits)
		}
		if n > longest {
			return PrefixRange{}, fmt.Errorf("length %d is above %d", n, longest)
		}
	}
	if lo > hi {
		return PrefixRange{}, fmt.Errorf("ge %d is above le %d", lo, hi)
	}
	return PrefixRange{Prefix: p, Min: uint8(lo), Max: uint8(hi)}, nil
}

// parseRPSLLengths reads the n or n-m of an RPSL ^n / ^n-m range operator.
func parseRPSLLengths(s string) (lo, hi int, err error) {
	first, second, ranged := strings.Cut(s, "-")
	a, err := strconv.ParseUint(first, 10, 8)
	if err != nil {
		return 0, 0, errors.New("want ^+, ^-, ^n or ^n-m")
	}
	if !ranged {
		return int(a), int(a), nil
	}
	b, err := strconv.ParseUint(second, 10, 8)
	if err != nil {
		return 0, 0, errors.New("want ^+, ^-, ^n or ^n-m")
	}
	return int(a), int(b), nil
}

// compareRanges orders ranges by address family, address, prefix length, then Min and Max, which
// puts a prefix before its more specifics as bgpq4 does.
func compareRanges(a, b PrefixRange) int {
	if c := a.Prefix.Addr().Compare(b.Prefix.Addr()); c != 0 {
		return c
	}
	if c := a.Prefix.Bits() - b.Prefix.Bits(); c != 0 {
		return c
	}
	if c := int(a.Min) - int(b.Min); c != 0 {
		return c
	}
	return int(a.Max) - int(b.Max)
}
