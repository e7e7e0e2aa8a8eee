package members

import (
	"net/netip"
	"slices"
	"strconv"

	"github.com/ixpd/ixpd/routeserver/irr"
)

// RouteServerPolicy is a member's own route-server settings, read from the ixpd extension of its
// member_list entry: "ixpd": {"routeserver": {...}}. IX-F readers ignore the extension.
type RouteServerPolicy struct {
	// Blackhole is true when the member wants to receive blackhole routes (RFC 7999).
	Blackhole bool
	// ExtraNextHops are next hops the member may announce besides its own addresses.
	ExtraNextHops []netip.Addr
	// ExtraPrefixes are prefix ranges ("192.0.2.0/24", "198.51.100.0/22 le 24") the member may
	// announce besides its AS-SET's, in the route server's prefix-range syntax.
	ExtraPrefixes []string
	// Blocklist are prefix ranges never accepted from the member.
	Blocklist []string
	// SkipFilters names filters that do not apply to the member's routes.
	SkipFilters []string
	// ASSets overrides the AS-SETs taken from the as_macro fields.
	ASSets []string
}

// SkippableFilters are the filter names SkipFilters may hold.
var SkippableFilters = []string{
	"bogons", "prefix_length", "bogon_asns", "as_path_length", "first_as", "next_hop",
	"irr", "rpki", "transit_free", "never_via_route_servers", "blocklist",
}

// routeServerPolicy reads the ixpd extension of a member_list entry.
func (d *decoder) routeServerPolicy(m *Member, path string, obj map[string]any) {
	ext, ok := obj["ixpd"]
	if !ok {
		return
	}
	extObj, ok := d.object(path+"/ixpd", ext)
	if !ok {
		return
	}
	v, ok := extObj["routeserver"]
	if !ok {
		return
	}
	path += "/ixpd/routeserver"
	rs, ok := d.object(path, v)
	if !ok {
		return
	}
	p := &m.RouteServer
	p.Blackhole = d.boolean(rs, path, "blackhole", false)
	for i, s := range d.strings(rs, path, "extra_next_hops") {
		a, err := netip.ParseAddr(s)
		if err != nil || a.Zone() != "" {
			d.addf(path+"/extra_next_hops/"+strconv.Itoa(i), "%s is not an IP address", quote(s))
			continue
		}
		p.ExtraNextHops = append(p.ExtraNextHops, a.Unmap())
	}
	p.ExtraPrefixes = d.prefixRanges(rs, path, "extra_prefixes")
	p.Blocklist = d.prefixRanges(rs, path, "blocklist")
	for i, s := range d.strings(rs, path, "skip_filters") {
		if !slices.Contains(SkippableFilters, s) {
			d.addf(path+"/skip_filters/"+strconv.Itoa(i), "%s is not a filter (want one of %s)", quote(s), quoteAll(SkippableFilters))
			continue
		}
		p.SkipFilters = append(p.SkipFilters, s)
	}
	p.ASSets = d.strings(rs, path, "as_sets")
}

// strings returns the field key of obj as a list of strings, recording a problem for each element
// that is not one.
func (d *decoder) strings(obj map[string]any, path, key string) []string {
	var out []string
	for i, v := range d.array(obj, path, key, false) {
		s, ok := v.(string)
		if !ok {
			d.wrongType(path+"/"+key+"/"+strconv.Itoa(i), "a string", v)
			continue
		}
		out = append(out, s)
	}
	return out
}

// prefixRanges reads a list of prefix ranges and checks each.
func (d *decoder) prefixRanges(obj map[string]any, path, key string) []string {
	var out []string
	for i, s := range d.strings(obj, path, key) {
		if _, err := irr.ParsePrefixRange(s); err != nil {
			d.addf(path+"/"+key+"/"+strconv.Itoa(i), "%v", err)
			continue
		}
		out = append(out, s)
	}
	return out
}
