// Package enrich attributes flows to the exchange's members, to a path class and to countries.
//
// An Enricher fills the attribution fields of a flow.Flow (Role, SrcMember, DstMember,
// IXPExchanged, PathClass, SrcCountry, DstCountry, Domestic) and replaces SrcAS and DstAS by the
// route server's origin AS when it knows the address:
//
//   - Role is the exporter's configured role, RoleUnknown for an exporter not in the configuration.
//   - ixp_switch samples: each end is the member whose MAC (the members file's mac_addresses) is the
//     sample's MAC or, failing that, whose peering-LAN address is the sample's address. A sample is
//     IXPExchanged only when both ends are known members and they are two different members (the
//     IXP Manager rule). PathClass stays PathUnknown.
//   - member_edge records: PathClass comes from the roles of the input and output interfaces. The
//     outside interface decides: in or out of an ixp interface is via_ixp (also ixp to transit),
//     else in or out of a transit interface is via_transit; between two customer interfaces is
//     internal; anything else (an interface not configured, with no ixp or transit interface on the
//     other side) is PathUnknown. The exporter's member is the end on its side: the destination of a
//     flow that enters from ixp or transit (inbound), the source of one that leaves to ixp or transit
//     (outbound), both ends of an internal flow, neither of a flow between two outside interfaces.
//     The far end is left 0 even when its AS is a member's: it is in SrcAS/DstAS.
//   - SrcAS and DstAS: the origin AS of the longest route-server prefix that holds the address, else
//     the exporter's value is kept.
//   - SrcCountry and DstCountry, from the first source that knows the end: (1) the longest
//     configured override prefix; (2) a member's peering-LAN address, or an AS (SrcAS/DstAS as set
//     above) that is a member's, gives the exchange's country; (3) the longest RIR delegated prefix
//     (allocated or assigned ipv4 and ipv6 records of every file); (4) the RIR asn record of the
//     end's AS. Otherwise "". A more specific prefix of a later source does not beat an earlier
//     source: an override always wins.
//   - Domestic: both ends' countries are the exchange's country.
//
// IPv4-mapped IPv6 addresses (::ffff:a.b.c.d) are looked up as the IPv4 addresses they hold, for
// flow ends, exporters, member addresses and override prefixes alike.
//
// Enrich is safe for concurrent use, allocates nothing and takes no lock; SetMembers swaps the
// members atomically while flows are being enriched.
package enrich

import (
	"fmt"
	"net/netip"
	"slices"
	"sync/atomic"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/ixpd/ixpd/flow"
	"github.com/ixpd/ixpd/routeserver/members"
)

// RouteLookup is what the enricher needs from the route server's snapshot.
type RouteLookup interface {
	// OriginAS returns the origin AS of the longest prefix that holds addr, and false when no route
	// holds it. It is called on the hot path: it must not block or allocate.
	OriginAS(addr netip.Addr) (asn uint32, ok bool)
}

// Enricher attributes flows; see the package documentation for the rules.
type Enricher struct {
	country   string
	exporters map[netip.Addr]Exporter
	routes    RouteLookup
	countries *countries
	members   atomic.Pointer[memberIndex]
	metrics   *metrics
}

// New validates cfg and loads its RIR delegated files. A file that cannot be read is an error;
// malformed lines in it are skipped, counted and listed by RIRFiles. set gives the members (nil:
// none yet), routes the route server's origin AS (a nil interface: keep the exporters' AS
// numbers), and reg receives the metrics (nil: not registered; a registerer that already has them,
// from an earlier Enricher, keeps counting in them).
func New(cfg Config, set *members.Set, routes RouteLookup, reg prometheus.Registerer) (*Enricher, error) {
	if !validCountry(cfg.Country) {
		return nil, fmt.Errorf("ixp.country: %q is not an ISO 3166-1 alpha-2 code such as WS", cfg.Country)
	}
	exps, err := exporters(cfg.Exporters)
	if err != nil {
		return nil, err
	}
	cs, err := loadCountries(cfg.Overrides, cfg.DelegatedFiles)
	if err != nil {
		return nil, err
	}
	m, err := newMetrics(reg)
	if err != nil {
		return nil, fmt.Errorf("register flow enrichment metrics: %w", err)
	}
	for _, f := range cs.files {
		m.rirLines.WithLabelValues(f.Path, "malformed").Add(float64(f.Malformed))
		m.rirLines.WithLabelValues(f.Path, "not_delegated").Add(float64(f.NotDelegated))
	}
	e := &Enricher{
		country:   cfg.Country,
		exporters: exps,
		routes:    routes,
		countries: cs,
		metrics:   m,
	}
	e.SetMembers(set)
	return e, nil
}

// SetMembers replaces the members, for instance after the members file was read again. Flows being
// enriched at the same time see either the old or the new members, never a mix.
func (e *Enricher) SetMembers(set *members.Set) {
	e.members.Store(indexMembers(set))
}

// RIRFiles says what New read from each delegated file, in the order of Config.DelegatedFiles.
func (e *Enricher) RIRFiles() []FileReport {
	out := slices.Clone(e.countries.files)
	for i := range out {
		out[i].Problems = slices.Clone(out[i].Problems)
	}
	return out
}

// Enrich fills the attribution fields of f (every one of them, so f may be reused) and may replace
// its SrcAS and DstAS. It allocates nothing and is safe for concurrent use.
func (e *Enricher) Enrich(f *flow.Flow) {
	idx := e.members.Load()
	src, dst := f.SrcAddr.Unmap(), f.DstAddr.Unmap()
	if e.routes != nil {
		if asn, ok := e.routes.OriginAS(src); ok {
			f.SrcAS = asn
		}
		if asn, ok := e.routes.OriginAS(dst); ok {
			f.DstAS = asn
		}
	}

	f.SrcMember, f.DstMember, f.IXPExchanged, f.PathClass = 0, 0, false, flow.PathUnknown
	ex, ok := e.exporters[f.Exporter.Unmap()]
	if !ok {
		ex = Exporter{Role: flow.RoleUnknown}
	}
	f.Role = ex.Role
	switch ex.Role {
	case flow.RoleIXPSwitch:
		f.SrcMember = idx.bySwitchSample(f.SrcMAC, src)
		f.DstMember = idx.bySwitchSample(f.DstMAC, dst)
		f.IXPExchanged = f.SrcMember != 0 && f.DstMember != 0 && f.SrcMember != f.DstMember && !f.Egress
		if f.SrcMember == 0 {
			e.metrics.unknownMember[0].Inc()
		}
		if f.DstMember == 0 {
			e.metrics.unknownMember[1].Inc()
		}
		if f.SrcMember != 0 && f.SrcMember == f.DstMember {
			e.metrics.sameMember.Inc()
		}
	case flow.RoleMemberEdge:
		in, out := ex.Interfaces[f.InIf], ex.Interfaces[f.OutIf]
		f.PathClass = pathClass(in, out)
		f.SrcMember, f.DstMember = edgeMembers(in, out, ex.MemberASN)
		if f.PathClass == flow.PathUnknown {
			e.metrics.unknownPath.Inc()
		}
	}
	e.metrics.flows[f.Role].Inc()

	f.SrcCountry = e.countryOf(idx, src, f.SrcAS)
	f.DstCountry = e.countryOf(idx, dst, f.DstAS)
	if f.SrcCountry == "" {
		e.metrics.unknownCountry[0].Inc()
	}
	if f.DstCountry == "" {
		e.metrics.unknownCountry[1].Inc()
	}
	f.Domestic = f.SrcCountry == e.country && f.DstCountry == e.country
}

// countryOf returns the country of one end of a flow, "" when no source knows it.
func (e *Enricher) countryOf(idx *memberIndex, addr netip.Addr, asn uint32) string {
	if cc, ok := e.countries.override(addr); ok {
		return cc
	}
	if idx.isMember(addr, asn) {
		return e.country
	}
	if cc, ok := e.countries.rirAddr(addr); ok {
		return cc
	}
	if asn != 0 {
		if cc, ok := e.countries.rirASN(asn); ok {
			return cc
		}
	}
	return ""
}
