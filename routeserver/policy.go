package routeserver

import (
	"fmt"
	"hash/fnv"
	"net/netip"
	"slices"
	"strconv"

	api "github.com/osrg/gobgp/v4/api"

	"github.com/ixpd/ixpd/routeserver/irr"
	"github.com/ixpd/ixpd/routeserver/members"
)

// The route server's policy is a chain of GoBGP policies per member:
//
//	import: rs-import-<gen> (shared) → rs-member-AS<n>-<gen> → rs-import-post → rs-import-demote
//	export: [rs-export-gshut] → rs-export-AS<n>-<gen>
//
// Import policies never reject: every failing check tags the route with
// RS_ASN:1101:code and evaluation falls through to the next statement, so
// a route collects every reason that applies, and a later statement can
// take a tag off again (a member's filter exceptions, a blackhole inside
// the member's space, a prefix that RPKI vouches for). The export policy
// never lets a tagged route out. Policies and sets that depend on reloaded
// data carry a generation in their name, so a new version is installed
// beside the old one, assigned, and the old one deleted: no session is
// reset.

// Names of the GoBGP objects.
const (
	setBogons4    = "rs-bogons-v4"
	setBogons6    = "rs-bogons-v6"
	setTooLong4   = "rs-too-long-v4"
	setTooLong6   = "rs-too-long-v6"
	setTooShort4  = "rs-too-short-v4"
	setTooShort6  = "rs-too-short-v6"
	setBogonASNs  = "rs-bogon-asns"
	setReasons    = "rs-reasons"
	setOwnInfo    = "rs-own-info"
	setBlackhole  = "rs-blackhole"
	setBlackholeL = "rs-blackhole-large"
	setGshut      = "rs-gshut"
	setNoAny      = "rs-no-any"
	setNoAnyL     = "rs-no-any-large"
	setControl    = "rs-control"
	setControlL   = "rs-control-large"
	setTransit    = "rs-transit-free"
	setBlock4     = "rs-blocklist-v4"
	setBlock6     = "rs-blocklist-v6"
	setRPKIKnown  = "rs-rpki-known"
	setRPKIValid  = "rs-rpki-valid"

	policyImportPfx = "rs-import-"
	policyPost      = "rs-import-post"
	policyDemote    = "rs-import-demote"
	policyGshut     = "rs-export-gshut"
	memberPolicyPfx = "rs-member-"
	exportPolicyPfx = "rs-export-"
)

// Well-known communities (RFC 1997, 7999, 8326).
const (
	communityBlackhole = "65535:666"
	communityGshut     = "65535:0"
	communityNoExport  = "65535:65281"
)

// Euro-IX informational large communities, RS_ASN:function:code.
const (
	infoRPKI       = 1000 // RS:1000:1 valid, :2 unknown, :4 invalid (when not rejected)
	infoIRR        = 1001 // RS:1001:1 valid, :9/:10 failed (tag mode)
	infoRPKIValid  = 1
	infoRPKIUnkn   = 2
	infoRPKIInval  = 4
	infoIRRValid   = 1
	controlNoTo    = 0 // RS:0:peer, RS:0:RS_ASN = to nobody
	controlOnlyTo  = 1 // RS:1:peer
	controlPrepend = 100
)

// filteredLocalPref is the LOCAL_PREF of a filtered route, gshutLocalPref
// that of a route in graceful shutdown; valid routes compare as 100.
// GoBGP policies cannot set 0, so RFC 8326's 0 is 2 here: still below
// every normal path, above filtered ones that are never sent anyway.
const (
	filteredLocalPref = 1
	gshutLocalPref    = 2
)

// policyData is what the filters are built from besides the
// configuration; it is reloaded at run time.
type policyData struct {
	irr        *irr.Data // nil: no IRR data loaded
	neverViaRS []uint32
}

func lc(asn, fn, code uint32) string { return fmt.Sprintf("%d:%d:%d", asn, fn, code) }

// tag returns actions that add the reason community and fall through.
func tag(asn, code uint32) *api.Actions {
	return addLarge(reasonCommunity(asn, code))
}

func addLarge(cs ...string) *api.Actions {
	return &api.Actions{LargeCommunity: &api.CommunityAction{Type: api.CommunityAction_TYPE_ADD, Communities: cs}}
}

func removeLarge(cs ...string) *api.Actions {
	return &api.Actions{LargeCommunity: &api.CommunityAction{Type: api.CommunityAction_TYPE_REMOVE, Communities: cs}}
}

func untag(asn uint32, codes ...uint32) *api.Actions {
	cs := make([]string, len(codes))
	for i, code := range codes {
		cs[i] = reasonCommunity(asn, code)
	}
	return removeLarge(cs...)
}

func matchAny(name string) *api.MatchSet {
	return &api.MatchSet{Type: api.MatchSet_TYPE_ANY, Name: name}
}

func matchNone(name string) *api.MatchSet {
	return &api.MatchSet{Type: api.MatchSet_TYPE_INVERT, Name: name}
}

var (
	familyV4 = &api.Family{Afi: api.Family_AFI_IP, Safi: api.Family_SAFI_UNICAST}
	familyV6 = &api.Family{Afi: api.Family_AFI_IP6, Safi: api.Family_SAFI_UNICAST}
)

func prefixSet(name string, ranges []irr.PrefixRange) *api.DefinedSet {
	ds := &api.DefinedSet{DefinedType: api.DefinedType_DEFINED_TYPE_PREFIX, Name: name}
	for _, r := range ranges {
		ds.Prefixes = append(ds.Prefixes, &api.Prefix{IpPrefix: r.Prefix.String(), MaskLengthMin: uint32(r.Min), MaskLengthMax: uint32(r.Max)})
	}
	return ds
}

// splitFamilies returns the IPv4 and IPv6 ranges of rs.
func splitFamilies(rs []irr.PrefixRange) (v4, v6 []irr.PrefixRange) {
	for _, r := range rs {
		if r.Prefix.Addr().Is4() {
			v4 = append(v4, r)
		} else {
			v6 = append(v6, r)
		}
	}
	return v4, v6
}

// coverRanges widens ranges to every more-specific up to a host route:
// the space a blackhole request must fall in.
func coverRanges(rs []irr.PrefixRange) []irr.PrefixRange {
	out := make([]irr.PrefixRange, len(rs))
	for i, r := range rs {
		out[i] = irr.PrefixRange{Prefix: r.Prefix, Min: uint8(r.Prefix.Bits()), Max: uint8(r.Prefix.Addr().BitLen())}
	}
	return out
}

// parseRanges parses prefix ranges that were checked when they were read.
func parseRanges(ss []string) []irr.PrefixRange {
	out := make([]irr.PrefixRange, 0, len(ss))
	for _, s := range ss {
		if r, err := irr.ParsePrefixRange(s); err == nil {
			out = append(out, r)
		}
	}
	return out
}

// notFirstASRegexp matches a path holding one of ranges anywhere but in
// the left-most position.
func notFirstASRegexp(asns []uint32) string {
	ranges := make([]asnRange, len(asns))
	for i, a := range asns {
		ranges[i] = asnRange{a, a}
	}
	inner := asnRangesRegexp(ranges) // _(a|b|...)_
	return "^[0-9]+_(.*_)?" + inner[1:]
}

// sharedPolicy is the part of import filtering that is the same for every
// member. Its generation changes when PeeringDB data changes.
type sharedPolicy struct {
	name string
	fp   uint64
	sets []*api.DefinedSet
	pol  *api.Policy
}

// staticSets are the sets that never change while the route server runs.
func staticSets(c Configuration) []*api.DefinedSet {
	f := c.Filters
	bogonDefined := func(name string, prefixes []netip.Prefix, maxLen int, zero string) *api.DefinedSet {
		ds := &api.DefinedSet{DefinedType: api.DefinedType_DEFINED_TYPE_PREFIX, Name: name}
		for _, p := range prefixes {
			ds.Prefixes = append(ds.Prefixes, &api.Prefix{IpPrefix: p.String(), MaskLengthMin: uint32(p.Bits()), MaskLengthMax: uint32(maxLen)})
		}
		ds.Prefixes = append(ds.Prefixes, &api.Prefix{IpPrefix: zero, MaskLengthMin: 0, MaskLengthMax: 0})
		return ds
	}
	rangeSet := func(name, zero string, lo, hi int) *api.DefinedSet {
		return &api.DefinedSet{DefinedType: api.DefinedType_DEFINED_TYPE_PREFIX, Name: name,
			Prefixes: []*api.Prefix{{IpPrefix: zero, MaskLengthMin: uint32(lo), MaskLengthMax: uint32(hi)}}}
	}
	rs := strconv.FormatUint(uint64(c.ASN), 10)
	sets := []*api.DefinedSet{
		{DefinedType: api.DefinedType_DEFINED_TYPE_LARGE_COMMUNITY, Name: setReasons,
			List: []string{fmt.Sprintf("^%s:%d:[0-9]+$", rs, reasonFunction)}},
		{DefinedType: api.DefinedType_DEFINED_TYPE_LARGE_COMMUNITY, Name: setOwnInfo,
			List: []string{fmt.Sprintf("^%s:(%d|%d|%d):[0-9]+$", rs, infoRPKI, infoIRR, reasonFunction)}},
		{DefinedType: api.DefinedType_DEFINED_TYPE_COMMUNITY, Name: setBlackhole, List: []string{"^" + communityBlackhole + "$"}},
		{DefinedType: api.DefinedType_DEFINED_TYPE_COMMUNITY, Name: setGshut, List: []string{"^" + communityGshut + "$"}},
		{DefinedType: api.DefinedType_DEFINED_TYPE_LARGE_COMMUNITY, Name: setBlackholeL, List: []string{"^" + c.blackholeLarge().String() + "$"}},
		{DefinedType: api.DefinedType_DEFINED_TYPE_LARGE_COMMUNITY, Name: setNoAnyL, List: []string{"^" + lc(c.ASN, controlNoTo, c.ASN) + "$"}},
		{DefinedType: api.DefinedType_DEFINED_TYPE_LARGE_COMMUNITY, Name: setControlL, List: controlLarge(c)},
		{DefinedType: api.DefinedType_DEFINED_TYPE_LARGE_COMMUNITY, Name: setRPKIValid, List: []string{"^" + lc(c.ASN, infoRPKI, infoRPKIValid) + "$"}},
		{DefinedType: api.DefinedType_DEFINED_TYPE_LARGE_COMMUNITY, Name: setRPKIKnown, List: []string{
			"^" + lc(c.ASN, infoRPKI, infoRPKIValid) + "$", "^" + lc(c.ASN, infoRPKI, infoRPKIInval) + "$", "^" + reasonCommunity(c.ASN, ReasonRPKIInvalid) + "$"}},
		{DefinedType: api.DefinedType_DEFINED_TYPE_COMMUNITY, Name: setControl, List: controlStd(c)},
	}
	if c.ASN <= 0xffff {
		sets = append(sets, &api.DefinedSet{DefinedType: api.DefinedType_DEFINED_TYPE_COMMUNITY, Name: setNoAny, List: []string{"^0:" + rs + "$"}})
	}
	if f.Bogons {
		sets = append(sets, bogonDefined(setBogons4, bogonSet(false, c.PeeringLANs), 32, "0.0.0.0/0"),
			bogonDefined(setBogons6, bogonSet(true, c.PeeringLANs), 128, "::/0"))
	}
	pl := f.PrefixLength
	if pl.IPv4Max < 32 {
		sets = append(sets, rangeSet(setTooLong4, "0.0.0.0/0", pl.IPv4Max+1, 32))
	}
	if pl.IPv4Min > 0 {
		sets = append(sets, rangeSet(setTooShort4, "0.0.0.0/0", 0, pl.IPv4Min-1))
	}
	if pl.IPv6Max < 128 {
		sets = append(sets, rangeSet(setTooLong6, "::/0", pl.IPv6Max+1, 128))
	}
	if pl.IPv6Min > 0 {
		sets = append(sets, rangeSet(setTooShort6, "::/0", 0, pl.IPv6Min-1))
	}
	if f.BogonASNs {
		sets = append(sets, &api.DefinedSet{DefinedType: api.DefinedType_DEFINED_TYPE_AS_PATH, Name: setBogonASNs,
			List: []string{asnRangesRegexp(bogonASNs)}})
	}
	if f.TransitFree && len(f.TransitFreeASNs) > 0 {
		sets = append(sets, &api.DefinedSet{DefinedType: api.DefinedType_DEFINED_TYPE_AS_PATH, Name: setTransit,
			List: []string{notFirstASRegexp(f.TransitFreeASNs)}})
	}
	b4, b6 := splitFamilies(parseRanges(f.Blocklist))
	if len(b4) > 0 {
		sets = append(sets, prefixSet(setBlock4, b4))
	}
	if len(b6) > 0 {
		sets = append(sets, prefixSet(setBlock6, b6))
	}
	return sets
}

// blackholeLarge is the large community that requests blackholing.
func (c Configuration) blackholeLarge() largeCommunity {
	if l, err := parseLargeCommunity(c.Blackhole.LargeCommunity); err == nil {
		return l
	}
	return largeCommunity{c.ASN, 666, 0}
}

// newSharedPolicy builds the shared import policy of generation gen.
func newSharedPolicy(c Configuration, data policyData, gen int) sharedPolicy {
	f := c.Filters
	sp := sharedPolicy{name: policyImportPfx + strconv.Itoa(gen), fp: fingerprint(data.neverViaRS)}
	p := &api.Policy{Name: sp.name}
	sp.pol = p
	stmt := func(name string, cond *api.Conditions, act *api.Actions) {
		p.Statements = append(p.Statements, &api.Statement{Name: sp.name + "-" + name, Conditions: cond, Actions: act})
	}
	add := func(name string, cond *api.Conditions, code uint32) { stmt(name, cond, tag(c.ASN, code)) }

	// A member may not set the route server's reason or information
	// communities.
	stmt("scrub", &api.Conditions{LargeCommunitySet: matchAny(setOwnInfo)},
		&api.Actions{LargeCommunity: &api.CommunityAction{Type: api.CommunityAction_TYPE_REMOVE,
			Communities: []string{fmt.Sprintf("^%d:(%d|%d|%d):[0-9]+$", c.ASN, infoRPKI, infoIRR, reasonFunction)}}})
	// One form of each request from here on: the large blackhole
	// community also gets 65535:666, the standard "to nobody" also gets
	// its large form.
	if c.Blackhole.Enabled {
		stmt("blackhole-large", &api.Conditions{LargeCommunitySet: matchAny(setBlackholeL)},
			&api.Actions{Community: &api.CommunityAction{Type: api.CommunityAction_TYPE_ADD, Communities: []string{communityBlackhole}}})
	}
	if c.ControlCommunities && c.ASN <= 0xffff {
		stmt("no-any-std", &api.Conditions{CommunitySet: matchAny(setNoAny)}, addLarge(lc(c.ASN, controlNoTo, c.ASN)))
	}
	if f.Bogons {
		add("bogon-v4", &api.Conditions{PrefixSet: matchAny(setBogons4)}, ReasonBogon)
		add("bogon-v6", &api.Conditions{PrefixSet: matchAny(setBogons6)}, ReasonBogon)
	}
	pl := f.PrefixLength
	if pl.IPv4Max < 32 {
		add("too-long-v4", &api.Conditions{PrefixSet: matchAny(setTooLong4)}, ReasonPrefixTooLong)
	}
	if pl.IPv4Min > 0 {
		add("too-short-v4", &api.Conditions{PrefixSet: matchAny(setTooShort4)}, ReasonPrefixTooShort)
	}
	if pl.IPv6Max < 128 {
		add("too-long-v6", &api.Conditions{PrefixSet: matchAny(setTooLong6)}, ReasonPrefixTooLong)
	}
	if pl.IPv6Min > 0 {
		add("too-short-v6", &api.Conditions{PrefixSet: matchAny(setTooShort6)}, ReasonPrefixTooShort)
	}
	if f.MaxASPathLength > 0 {
		add("path-too-long", &api.Conditions{AsPathLength: &api.AsPathLength{Type: api.Comparison_COMPARISON_GE,
			Length: uint32(f.MaxASPathLength + 1)}}, ReasonASPathTooLong)
	}
	if f.BogonASNs {
		add("bogon-asn", &api.Conditions{AsPathSet: matchAny(setBogonASNs)}, ReasonBogonASN)
	}
	if f.TransitFree && len(f.TransitFreeASNs) > 0 {
		add("transit-free", &api.Conditions{AsPathSet: matchAny(setTransit)}, ReasonTransitFreeASN)
	}
	if f.NeverViaRouteServers && len(data.neverViaRS) > 0 {
		name := sp.name + "-never-via-rs"
		sp.sets = append(sp.sets, &api.DefinedSet{DefinedType: api.DefinedType_DEFINED_TYPE_AS_PATH, Name: name,
			List: []string{notFirstASRegexp(data.neverViaRS)}})
		add("never-via-rs", &api.Conditions{AsPathSet: matchAny(name)}, ReasonNeverViaRS)
	}
	b4, b6 := splitFamilies(parseRanges(f.Blocklist))
	if len(b4) > 0 {
		add("blocklist-v4", &api.Conditions{PrefixSet: matchAny(setBlock4)}, ReasonBlocklist)
	}
	if len(b6) > 0 {
		add("blocklist-v6", &api.Conditions{PrefixSet: matchAny(setBlock6)}, ReasonBlocklist)
	}
	// RPKI origin validation (RFC 6811).
	if c.RPKI.Enabled() {
		// Two lookups in the VRP table per route (GoBGP does one per RPKI
		// condition, and they cost): "unknown" until found valid or
		// invalid, then taken off by a community match.
		stmt("rpki-unknown", nil, addLarge(lc(c.ASN, infoRPKI, infoRPKIUnkn)))
		stmt("rpki-valid", &api.Conditions{RpkiResult: api.ValidationState_VALIDATION_STATE_VALID}, addLarge(lc(c.ASN, infoRPKI, infoRPKIValid)))
		if c.RPKI.RejectInvalid {
			add("rpki-invalid", &api.Conditions{RpkiResult: api.ValidationState_VALIDATION_STATE_INVALID}, ReasonRPKIInvalid)
		} else {
			stmt("rpki-invalid", &api.Conditions{RpkiResult: api.ValidationState_VALIDATION_STATE_INVALID}, addLarge(lc(c.ASN, infoRPKI, infoRPKIInval)))
		}
		stmt("rpki-known", &api.Conditions{LargeCommunitySet: matchAny(setRPKIKnown)}, removeLarge(lc(c.ASN, infoRPKI, infoRPKIUnkn)))
	}
	return sp
}

// postPolicy runs after the member's policy: blackholing and graceful
// shutdown act on routes that passed.
func postPolicy(c Configuration) *api.Policy {
	p := &api.Policy{Name: policyPost}
	if bh := c.Blackhole; bh.Enabled {
		for _, v := range []struct {
			fam *api.Family
			nh  netip.Addr
			tag string
		}{{familyV4, bh.NextHopIPv4, "v4"}, {familyV6, bh.NextHopIPv6, "v6"}} {
			cond := &api.Conditions{CommunitySet: matchAny(setBlackhole), LargeCommunitySet: matchNone(setReasons), AfiSafiIn: []*api.Family{v.fam}}
			if !v.nh.IsValid() {
				// No blackhole address for this family: the request
				// cannot be honoured, and a /32 must not go out as is.
				p.Statements = append(p.Statements, &api.Statement{Name: policyPost + "-blackhole-none-" + v.tag,
					Conditions: cond, Actions: tag(c.ASN, ReasonBlackholeRefused)})
				continue
			}
			p.Statements = append(p.Statements, &api.Statement{Name: policyPost + "-blackhole-" + v.tag, Conditions: cond,
				Actions: &api.Actions{
					Nexthop:   &api.NexthopAction{Address: v.nh.String()},
					Community: &api.CommunityAction{Type: api.CommunityAction_TYPE_ADD, Communities: []string{communityNoExport}},
				}})
		}
	}
	p.Statements = append(p.Statements, &api.Statement{Name: policyPost + "-gshut",
		Conditions: &api.Conditions{CommunitySet: matchAny(setGshut)},
		Actions:    &api.Actions{LocalPref: &api.LocalPrefAction{Value: gshutLocalPref}}})
	return p
}

// demotePolicy makes a tagged route lose best-path selection to any
// untagged one (LOCAL_PREF 1), so a filtered route never hides a valid
// path for the same prefix. Tagged routes are never exported.
func demotePolicy() *api.Policy {
	return &api.Policy{Name: policyDemote, Statements: []*api.Statement{{
		Name:       policyDemote + "-filtered",
		Conditions: &api.Conditions{LargeCommunitySet: matchAny(setReasons)},
		Actions:    &api.Actions{LocalPref: &api.LocalPrefAction{Value: filteredLocalPref}},
	}}}
}

// gshutPolicy tags everything the route server sends while it is in
// graceful shutdown. It falls through to the member's export policy.
func gshutPolicy() *api.Policy {
	// Remove first: GoBGP adds a community twice if it is there already.
	return &api.Policy{Name: policyGshut, Statements: []*api.Statement{
		{Name: policyGshut + "-once", Conditions: &api.Conditions{CommunitySet: matchAny(setGshut)},
			Actions: &api.Actions{Community: &api.CommunityAction{Type: api.CommunityAction_TYPE_REMOVE, Communities: []string{"^" + communityGshut + "$"}}}},
		{Name: policyGshut + "-tag",
			Actions: &api.Actions{Community: &api.CommunityAction{Type: api.CommunityAction_TYPE_ADD, Communities: []string{communityGshut}}}},
	}}
}

// memberInput is everything a member's policies are built from.
type memberInput struct {
	asn      uint32
	nextHops []netip.Addr // the member's addresses and its extra next hops
	policy   members.RouteServerPolicy
	asSets   []string
}

// memberPolicy is the import and export policy of one member (ASN).
type memberPolicy struct {
	importName, exportName string
	importFP, exportFP     uint64
	sets                   []*api.DefinedSet
	importPol, exportPol   *api.Policy
}

// skipCodes maps filter names of skip_filters to the reasons they tag.
var skipCodes = map[string][]uint32{
	"bogons":                  {ReasonBogon},
	"prefix_length":           {ReasonPrefixTooLong, ReasonPrefixTooShort},
	"bogon_asns":              {ReasonBogonASN},
	"as_path_length":          {ReasonASPathTooLong},
	"first_as":                {ReasonFirstASNotPeer},
	"next_hop":                {ReasonNextHopNotPeer},
	"irr":                     {ReasonIRRPrefix, ReasonIRROrigin},
	"rpki":                    {ReasonRPKIInvalid},
	"transit_free":            {ReasonTransitFreeASN},
	"never_via_route_servers": {ReasonNeverViaRS},
	"blocklist":               {ReasonBlocklist},
}

func (in memberInput) fingerprints(data policyData) (imp, exp uint64) {
	vals := []any{in.asn, in.nextHops, in.policy.ExtraPrefixes, in.policy.Blocklist, in.policy.SkipFilters, in.asSets, data.irr != nil}
	if data.irr != nil {
		for _, s := range in.asSets {
			vals = append(vals, data.irr.Fingerprint(s))
		}
	}
	return fingerprint(vals...), fingerprint(in.asn, in.policy.Blackhole)
}

// fingerprint hashes what vals print as.
func fingerprint(vals ...any) uint64 {
	h := fnv.New64a()
	_, _ = fmt.Fprint(h, vals...)
	return h.Sum64()
}

// newMemberPolicy builds a member's policies of generation gen.
func newMemberPolicy(c Configuration, data policyData, in memberInput, gen int) memberPolicy {
	asn := strconv.FormatUint(uint64(in.asn), 10)
	g := strconv.Itoa(gen)
	mp := memberPolicy{importName: memberPolicyPfx + "AS" + asn + "-" + g, exportName: exportPolicyPfx + "AS" + asn + "-" + g}
	mp.importFP, mp.exportFP = in.fingerprints(data)
	imp := &api.Policy{Name: mp.importName}
	stmt := func(name string, cond *api.Conditions, act *api.Actions) {
		imp.Statements = append(imp.Statements, &api.Statement{Name: mp.importName + "-" + name, Conditions: cond, Actions: act})
	}
	set := func(ds *api.DefinedSet) string {
		ds.Name = mp.importName + "-" + ds.Name
		mp.sets = append(mp.sets, ds)
		return ds.Name
	}
	f := c.Filters
	if f.NextHop {
		hops := make([]string, len(in.nextHops))
		for i, a := range in.nextHops {
			hops[i] = netip.PrefixFrom(a, a.BitLen()).String()
		}
		// Tag first, then take the tag off when the next hop is the
		// member's: GoBGP has no negated next-hop condition.
		stmt("nh-tag", nil, tag(c.ASN, ReasonNextHopNotPeer))
		stmt("nh-ok", &api.Conditions{NextHopInList: hops}, untag(c.ASN, ReasonNextHopNotPeer))
	}
	if f.FirstAS {
		name := set(&api.DefinedSet{DefinedType: api.DefinedType_DEFINED_TYPE_AS_PATH, Name: "first-as", List: []string{"^" + asn + "_"}})
		stmt("first-as", &api.Conditions{AsPathSet: matchNone(name)}, tag(c.ASN, ReasonFirstASNotPeer))
	}
	b4, b6 := splitFamilies(parseRanges(in.policy.Blocklist))
	if len(b4) > 0 {
		stmt("blocklist-v4", &api.Conditions{PrefixSet: matchAny(set(prefixSet("blocklist-v4", b4)))}, tag(c.ASN, ReasonBlocklist))
	}
	if len(b6) > 0 {
		stmt("blocklist-v6", &api.Conditions{PrefixSet: matchAny(set(prefixSet("blocklist-v6", b6)))}, tag(c.ASN, ReasonBlocklist))
	}

	// IRR: the member's AS-SETs give the origins and prefixes it may
	// announce; extra_prefixes add to them.
	var ranges []irr.PrefixRange
	var origins []uint32
	havePrefixes, haveOrigins := false, false
	if data.irr != nil {
		for _, s := range in.asSets {
			if rs, ok := data.irr.Prefixes(s); ok {
				havePrefixes = true
				ranges = append(ranges, rs...)
			}
			if as, ok := data.irr.ASNs(s); ok {
				haveOrigins = true
				origins = append(origins, as...)
			}
		}
	}
	ranges = append(ranges, parseRanges(in.policy.ExtraPrefixes)...)
	r4, r6 := splitFamilies(ranges)
	irrOn := c.IRR.Mode != IRROff && (havePrefixes || haveOrigins)
	if irrOn {
		prefixCode, originCode := ReasonIRRPrefix, ReasonIRROrigin
		stmt("irr-valid", nil, addLarge(lc(c.ASN, infoIRR, infoIRRValid)))
		// Reject mode tags a reason, tag mode an information community.
		failed := func(code uint32) *api.Actions {
			if c.IRR.Mode == IRRReject {
				return tag(c.ASN, code)
			}
			return addLarge(lc(c.ASN, infoIRR, code))
		}
		if havePrefixes {
			for _, v := range []struct {
				fam    *api.Family
				ranges []irr.PrefixRange
				name   string
			}{{familyV4, r4, "v4"}, {familyV6, r6, "v6"}} {
				cond := &api.Conditions{AfiSafiIn: []*api.Family{v.fam}}
				if len(v.ranges) > 0 {
					cond = &api.Conditions{PrefixSet: matchNone(set(prefixSet("irr-"+v.name, v.ranges)))}
				}
				stmt("irr-prefix-"+v.name, cond, failed(prefixCode))
			}
		}
		if haveOrigins {
			slices.Sort(origins)
			origins = slices.Compact(origins)
			list := make([]string, len(origins))
			for i, o := range origins {
				list[i] = "_" + strconv.FormatUint(uint64(o), 10) + "$"
			}
			if len(list) == 0 {
				list = []string{"^$"} // an empty AS-SET allows no origin
			}
			name := set(&api.DefinedSet{DefinedType: api.DefinedType_DEFINED_TYPE_AS_PATH, Name: "irr-origin", List: list})
			stmt("irr-origin", &api.Conditions{AsPathSet: matchNone(name)}, failed(originCode))
		}
		if c.IRR.RPKIAsRouteObjects && c.RPKI.Enabled() {
			// A ROA for the origin is as good as a route object.
			stmt("irr-rpki-roa", &api.Conditions{LargeCommunitySet: matchAny(setRPKIValid)},
				removeLarge(reasonCommunity(c.ASN, prefixCode), lc(c.ASN, infoIRR, prefixCode)))
		}
		// Any failure takes "IRR valid" off again.
		stmt("irr-not-valid", &api.Conditions{LargeCommunitySet: matchAny(set(&api.DefinedSet{
			DefinedType: api.DefinedType_DEFINED_TYPE_LARGE_COMMUNITY, Name: "irr-failed",
			List: []string{fmt.Sprintf("^%d:(%d|%d):(%d|%d)$", c.ASN, reasonFunction, infoIRR, prefixCode, originCode)}}))},
			removeLarge(lc(c.ASN, infoIRR, infoIRRValid)))
	}

	// Blackholing: a more-specific inside the member's space is accepted
	// whatever its length, RPKI state or IRR prefix check (arouteserver
	// does the same); outside it, the normal reasons stay.
	if c.Blackhole.Enabled {
		c4, c6 := coverRanges(r4), coverRanges(r6)
		for _, v := range []struct {
			ranges []irr.PrefixRange
			name   string
		}{{c4, "v4"}, {c6, "v6"}} {
			if len(v.ranges) == 0 {
				continue
			}
			stmt("blackhole-"+v.name, &api.Conditions{CommunitySet: matchAny(setBlackhole), PrefixSet: matchAny(set(prefixSet("blackhole-"+v.name, v.ranges)))},
				untag(c.ASN, ReasonPrefixTooLong, ReasonIRRPrefix, ReasonRPKIInvalid))
		}
	}

	// The member's filter exceptions take their tags off again.
	var skipped []uint32
	for _, s := range in.policy.SkipFilters {
		skipped = append(skipped, skipCodes[s]...)
	}
	if len(skipped) > 0 {
		stmt("exceptions", nil, untag(c.ASN, skipped...))
	}
	mp.importPol = imp
	var exportSets []*api.DefinedSet
	mp.exportPol, exportSets = newExportPolicy(c, in, mp.exportName)
	mp.sets = append(mp.sets, exportSets...)
	return mp
}

// newExportPolicy decides what a member receives: never a filtered route,
// blackholes only when it opted in, and what members asked for with
// control communities, which are then taken off.
func newExportPolicy(c Configuration, in memberInput, name string) (*api.Policy, []*api.DefinedSet) {
	p := &api.Policy{Name: name}
	stmt := func(n string, cond *api.Conditions, act *api.Actions) {
		p.Statements = append(p.Statements, &api.Statement{Name: name + "-" + n, Conditions: cond, Actions: act})
	}
	reject := &api.Actions{RouteAction: api.RouteAction_ROUTE_ACTION_REJECT}
	stmt("filtered", &api.Conditions{LargeCommunitySet: matchAny(setReasons)}, reject)
	if !c.Blackhole.Enabled || !in.policy.Blackhole {
		stmt("blackhole", &api.Conditions{CommunitySet: matchAny(setBlackhole)}, reject)
	}
	if !c.ControlCommunities {
		return p, nil
	}
	// Most routes carry no control community: send them at once.
	stmt("plain", &api.Conditions{CommunitySet: matchNone(setControl), LargeCommunitySet: matchNone(setControlL)},
		&api.Actions{RouteAction: api.RouteAction_ROUTE_ACTION_ACCEPT})

	rs := strconv.FormatUint(uint64(c.ASN), 10)
	peer := strconv.FormatUint(uint64(in.asn), 10)
	// Per-member community sets are named after the policy and installed
	// and removed with it.
	var sets []*api.DefinedSet
	cset := func(n string, large bool, list ...string) *api.MatchSet {
		t := api.DefinedType_DEFINED_TYPE_COMMUNITY
		if large {
			t = api.DefinedType_DEFINED_TYPE_LARGE_COMMUNITY
		}
		sets = append(sets, &api.DefinedSet{DefinedType: t, Name: name + "-" + n, List: list})
		return matchAny(name + "-" + n)
	}
	peer16 := in.asn <= 0xffff
	// Do not announce to this member.
	if peer16 {
		stmt("no-to-std", &api.Conditions{CommunitySet: cset("no-to-std", false, "^0:"+peer+"$")}, reject)
	}
	stmt("no-to-large", &api.Conditions{LargeCommunitySet: cset("no-to-large", true, "^"+lc(c.ASN, controlNoTo, in.asn)+"$")}, reject)
	// "To nobody" unless also "to this member".
	if peer16 && c.ASN <= 0xffff {
		stmt("only-to-std", &api.Conditions{CommunitySet: cset("only-to-std", false, "^"+rs+":"+peer+"$")}, removeLarge(lc(c.ASN, controlNoTo, c.ASN)))
	}
	stmt("only-to-large", &api.Conditions{LargeCommunitySet: cset("only-to-large", true, "^"+lc(c.ASN, controlOnlyTo, in.asn)+"$")},
		removeLarge(lc(c.ASN, controlNoTo, c.ASN)))
	stmt("no-any", &api.Conditions{LargeCommunitySet: matchAny(setNoAnyL)}, reject)
	// Prepend the announcing member's ASN 1-3 times, to all or to this
	// member; requests add up.
	for n := uint32(1); n <= 3; n++ {
		ns := strconv.FormatUint(uint64(n), 10)
		act := &api.Actions{AsPrepend: &api.AsPrependAction{UseLeftMost: true, Repeat: n}}
		if peer16 {
			stmt("prepend"+ns+"-std", &api.Conditions{CommunitySet: cset("prepend"+ns+"-std", false, "^6550"+ns+":("+peer+"|0)$")}, act)
		}
		stmt("prepend"+ns+"-large", &api.Conditions{LargeCommunitySet: cset("prepend"+ns+"-large", true,
			fmt.Sprintf("^%s:%d:(%s|0)$", rs, controlPrepend+n, peer))}, act)
	}
	// The route server's own communities are not the receiver's business.
	stmt("scrub", nil, &api.Actions{
		Community:      &api.CommunityAction{Type: api.CommunityAction_TYPE_REMOVE, Communities: controlStd(c)},
		LargeCommunity: &api.CommunityAction{Type: api.CommunityAction_TYPE_REMOVE, Communities: controlLarge(c)},
	})
	return p, sets
}

// controlStd are the standard control communities, as regular
// expressions: 0:peer, RS:peer and 65501-65503:peer.
func controlStd(c Configuration) []string {
	std := []string{"^0:[0-9]+$", "^6550[123]:[0-9]+$"}
	if c.ASN <= 0xffff {
		std = append(std, "^"+strconv.FormatUint(uint64(c.ASN), 10)+":[0-9]+$")
	}
	return std
}

// controlLarge are the large control communities: RS:0:*, RS:1:* and
// RS:101-103:*.
func controlLarge(c Configuration) []string {
	return []string{fmt.Sprintf("^%d:(%d|%d|%d|%d|%d):[0-9]+$", c.ASN, controlNoTo, controlOnlyTo, controlPrepend+1, controlPrepend+2, controlPrepend+3)}
}
