package peertest

import (
	"cmp"
	"fmt"
	"strconv"
	"strings"
)

// community is an RFC 1997 community.
type community struct{ asn, value uint16 }

// largeCommunity is an RFC 8092 large community.
type largeCommunity struct{ global, local1, local2 uint32 }

// wellKnownCommunities maps the names OpenBGPD prints to their values.
var wellKnownCommunities = map[string]community{
	"GRACEFUL_SHUTDOWN":   {0xffff, 0x0000},
	"BLACKHOLE":           {0xffff, 0x029a},
	"NO_EXPORT":           {0xffff, 0xff01},
	"NO_ADVERTISE":        {0xffff, 0xff02},
	"NO_EXPORT_SUBCONFED": {0xffff, 0xff03},
	"NO_PEER":             {0xffff, 0xff04},
}

// parseCommunity parses "65000:1" or a well-known name such as "NO_EXPORT".
func parseCommunity(s string) (community, error) {
	if c, ok := wellKnownCommunities[s]; ok {
		return c, nil
	}
	f, err := parseFields(s, 2, 16)
	if err != nil {
		return community{}, fmt.Errorf("community %q: %w", s, err)
	}
	return community{uint16(f[0]), uint16(f[1])}, nil
}

func (c community) String() string { return fmt.Sprintf("%d:%d", c.asn, c.value) }

func (c community) compare(o community) int {
	return cmp.Or(cmp.Compare(c.asn, o.asn), cmp.Compare(c.value, o.value))
}

// parseLargeCommunity parses "64512:1101:3".
func parseLargeCommunity(s string) (largeCommunity, error) {
	f, err := parseFields(s, 3, 32)
	if err != nil {
		return largeCommunity{}, fmt.Errorf("large community %q: %w", s, err)
	}
	return largeCommunity{uint32(f[0]), uint32(f[1]), uint32(f[2])}, nil
}

func (c largeCommunity) String() string { return fmt.Sprintf("%d:%d:%d", c.global, c.local1, c.local2) }

func (c largeCommunity) compare(o largeCommunity) int {
	return cmp.Or(cmp.Compare(c.global, o.global), cmp.Compare(c.local1, o.local1),
		cmp.Compare(c.local2, o.local2))
}

// parseFields parses n colon-separated unsigned decimal numbers of the given bit size.
func parseFields(s string, n, bits int) ([]uint64, error) {
	parts := strings.Split(s, ":")
	if len(parts) != n {
		return nil, fmt.Errorf("want %d numbers separated by ':'", n)
	}
	out := make([]uint64, n)
	for i, p := range parts {
		v, err := strconv.ParseUint(strings.TrimSpace(p), 10, bits)
		if err != nil {
			return nil, fmt.Errorf("want %d-bit unsigned numbers: %w", bits, err)
		}
		out[i] = v
	}
	return out, nil
}
