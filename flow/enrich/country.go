package enrich

import (
	"fmt"
	"net/netip"
	"os"
	"strings"

	"github.com/gaissmai/bart"
)

// countries maps addresses and AS numbers to countries. It is built once by New and only read
// afterwards, so lookups need no lock.
type countries struct {
	// overrides are the configured prefixes.
	overrides bart.Table[string]
	// prefixes are the RIR ipv4 and ipv6 records.
	prefixes bart.Table[string]
	// asns are the RIR asn records. AS numbers are 32-bit like IPv4 addresses, so a range of them is
	// stored as the IPv4 prefixes that cover it (AS n as the address n): the longest match is then
	// the smallest delegated range, as for addresses.
	asns bart.Table[string]
	// files says what was read from each delegated file.
	files []FileReport
}

// loadCountries validates the overrides and reads the delegated files. A file that cannot be read is
// an error; malformed lines are only reported in files.
func loadCountries(overrides map[netip.Prefix]string, files []string) (*countries, error) {
	c := &countries{}
	for pfx, cc := range overrides {
		if !pfx.IsValid() {
			return nil, fmt.Errorf("domestic.overrides: a prefix is not valid")
		}
		if !validCountry(cc) {
			return nil, fmt.Errorf("domestic.overrides[%s]: %q is not an ISO 3166-1 alpha-2 code such as WS", pfx, cc)
		}
		c.overrides.Insert(unmapPrefix(pfx), cc)
	}
	interned := map[string]string{}
	add := func(rec rirRecord) {
		cc, ok := interned[rec.Country]
		if !ok {
			// The record's country is a slice of its line: keep a copy, not the line.
			cc = strings.Clone(rec.Country)
			interned[cc] = cc
		}
		switch rec.Type {
		case rirASN:
			splitRange(rec.Start, rec.Count, func(start uint32, bits int) {
				c.asns.Insert(netip.PrefixFrom(uint32Addr(start), bits), cc)
			})
		case rirIPv4:
			splitRange(rec.Start, rec.Count, func(start uint32, bits int) {
				c.prefixes.Insert(netip.PrefixFrom(uint32Addr(start), bits), cc)
			})
		case rirIPv6:
			c.prefixes.Insert(rec.Prefix, cc)
		}
	}
	for i, path := range files {
		report, err := loadFile(path, add)
		if err != nil {
			return nil, fmt.Errorf("domestic.delegated_files[%d]: %w", i, err)
		}
		c.files = append(c.files, report)
	}
	return c, nil
}

// loadFile reads one delegated file.
func loadFile(path string, add func(rirRecord)) (FileReport, error) {
	f, err := os.Open(path)
	if err != nil {
		return FileReport{}, err
	}
	defer func() { _ = f.Close() }() // read only
	return parseDelegated(f, path, add)
}

// rirAddr returns the country of the longest RIR prefix that holds addr.
func (c *countries) rirAddr(addr netip.Addr) (string, bool) {
	return c.prefixes.Lookup(addr)
}

// rirASN returns the country an AS number was delegated to.
func (c *countries) rirASN(asn uint32) (string, bool) {
	return c.asns.Lookup(uint32Addr(asn))
}

// override returns the configured country of addr.
func (c *countries) override(addr netip.Addr) (string, bool) {
	return c.overrides.Lookup(addr)
}

// uint32Addr is the IPv4 address whose value is n.
func uint32Addr(n uint32) netip.Addr {
	return netip.AddrFrom4([4]byte{byte(n >> 24), byte(n >> 16), byte(n >> 8), byte(n)})
}

// unmapPrefix turns an IPv4-mapped IPv6 prefix (::ffff:10.0.0.0/104) into its IPv4 form, so that it
// matches the unmapped addresses that lookups use.
func unmapPrefix(p netip.Prefix) netip.Prefix {
	if a := p.Addr(); a.Is4In6() && p.Bits() >= 96 {
		return netip.PrefixFrom(a.Unmap(), p.Bits()-96).Masked()
	}
	return p.Masked()
}
