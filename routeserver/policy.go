package routeserver

import (
	"context"
	"fmt"
	"net/netip"
	"strconv"

	api "github.com/osrg/gobgp/v4/api"
	"github.com/osrg/gobgp/v4/pkg/server"
)

// Names of the GoBGP objects shared by every member.
const (
	setBogons4      = "rs-bogons-v4"
	setBogons6      = "rs-bogons-v6"
	setTooLong4     = "rs-too-long-v4"
	setTooLong6     = "rs-too-long-v6"
	setTooShort4    = "rs-too-short-v4"
	setTooShort6    = "rs-too-short-v6"
	setBogonASNs    = "rs-bogon-asns"
	setReasons      = "rs-reasons"
	policyImport    = "rs-import"
	policyExport    = "rs-export"
	policyDemote    = "rs-import-demote"
	memberPolicyPfx = "rs-import-"
)

// Import filtering works in two steps so that a filtered route is kept and
// can be shown with its reasons: the import policies tag each failing
// route with RS_ASN:1101:code and accept it; the export policy never lets
// a tagged route out. Statements without a route action fall through to
// the next one, so every reason a route has is tagged.

// sharedDefinedSets returns the defined sets used by the shared import and
// export policies.
func sharedDefinedSets(c Configuration) []*api.DefinedSet {
	f := c.Filters
	prefixSet := func(name string, prefixes []netip.Prefix, maxLen int) *api.DefinedSet {
		ds := &api.DefinedSet{DefinedType: api.DefinedType_DEFINED_TYPE_PREFIX, Name: name}
		for _, p := range prefixes {
			ds.Prefixes = append(ds.Prefixes, &api.Prefix{IpPrefix: p.String(), MaskLengthMin: uint32(p.Bits()), MaskLengthMax: uint32(maxLen)})
		}
		return ds
	}
	rangeSet := func(name, zero string, lo, hi int) *api.DefinedSet {
		return &api.DefinedSet{DefinedType: api.DefinedType_DEFINED_TYPE_PREFIX, Name: name,
			Prefixes: []*api.Prefix{{IpPrefix: zero, MaskLengthMin: uint32(lo), MaskLengthMax: uint32(hi)}}}
	}
	sets := []*api.DefinedSet{
		{DefinedType: api.DefinedType_DEFINED_TYPE_LARGE_COMMUNITY, Name: setReasons,
			List: []string{fmt.Sprintf("^%d:%d:[0-9]+$", c.ASN, reasonFunction)}},
	}
	if f.Bogons {
		b4 := prefixSet(setBogons4, bogonSet(false, c.PeeringLANs), 32)
		b4.Prefixes = append(b4.Prefixes, &api.Prefix{IpPrefix: "0.0.0.0/0", MaskLengthMin: 0, MaskLengthMax: 0})
		b6 := prefixSet(setBogons6, bogonSet(true, c.PeeringLANs), 128)
		b6.Prefixes = append(b6.Prefixes, &api.Prefix{IpPrefix: "::/0", MaskLengthMin: 0, MaskLengthMax: 0})
		sets = append(sets, b4, b6)
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
	return sets
}

// tag returns actions that add the reason community and fall through.
func tag(asn, code uint32) *api.Actions {
	return &api.Actions{LargeCommunity: &api.CommunityAction{Type: api.CommunityAction_TYPE_ADD,
		Communities: []string{reasonCommunity(asn, code)}}}
}

func matchAny(name string) *api.MatchSet {
	return &api.MatchSet{Type: api.MatchSet_TYPE_ANY, Name: name}
}

// sharedImportPolicy tags what is wrong with a route whoever sent it.
func sharedImportPolicy(c Configuration) *api.Policy {
	f := c.Filters
	p := &api.Policy{Name: policyImport}
	add := func(name string, cond *api.Conditions, code uint32) {
		p.Statements = append(p.Statements, &api.Statement{Name: policyImport + "-" + name, Conditions: cond, Actions: tag(c.ASN, code)})
	}
	// A member may not set the route server's own reason communities.
	p.Statements = append(p.Statements, &api.Statement{Name: policyImport + "-scrub",
		Actions: &api.Actions{LargeCommunity: &api.CommunityAction{Type: api.CommunityAction_TYPE_REMOVE,
			Communities: []string{fmt.Sprintf("^%d:%d:[0-9]+$", c.ASN, reasonFunction)}}}})
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
	return p
}

// filteredLocalPref is the LOCAL_PREF of a filtered route.
const filteredLocalPref = 1

// sharedDemotePolicy makes a tagged route lose best-path selection to any
// untagged one (LOCAL_PREF 1, while untagged routes compare as 100; GoBGP
// policies cannot set 0), so a filtered route never hides a valid path for
// the same prefix from the members. Tagged routes are never exported, so
// the value stays inside.
func sharedDemotePolicy() *api.Policy {
	return &api.Policy{Name: policyDemote, Statements: []*api.Statement{{
		Name:       policyDemote + "-filtered",
		Conditions: &api.Conditions{LargeCommunitySet: matchAny(setReasons)},
		Actions:    &api.Actions{LocalPref: &api.LocalPrefAction{Value: filteredLocalPref}},
	}}}
}

// sharedExportPolicy keeps every tagged route from being sent.
func sharedExportPolicy() *api.Policy {
	return &api.Policy{Name: policyExport, Statements: []*api.Statement{{
		Name:       policyExport + "-filtered",
		Conditions: &api.Conditions{LargeCommunitySet: matchAny(setReasons)},
		Actions:    &api.Actions{RouteAction: api.RouteAction_ROUTE_ACTION_REJECT},
	}}}
}

// memberPolicy is the part of the import filter that depends on who sent
// the route: its next hop and its left-most AS. generation makes the name
// unique so that a changed member's policy can be swapped in place.
type memberPolicy struct {
	name      string
	firstAS   string // as-path set name, "" when the check is off
	definedAS *api.DefinedSet
	policy    *api.Policy
}

func newMemberPolicy(c Configuration, asn uint32, nextHops []netip.Addr, generation int) memberPolicy {
	name := memberPolicyPfx + "AS" + strconv.FormatUint(uint64(asn), 10) + "-" + strconv.Itoa(generation)
	mp := memberPolicy{name: name, policy: &api.Policy{Name: name}}
	if c.Filters.NextHop {
		hops := make([]string, len(nextHops))
		for i, a := range nextHops {
			hops[i] = netip.PrefixFrom(a, a.BitLen()).String()
		}
		// Tag first, then take the tag off when the next hop is the
		// member's: GoBGP has no negated next-hop condition.
		mp.policy.Statements = append(mp.policy.Statements,
			&api.Statement{Name: name + "-nh-tag", Actions: tag(c.ASN, ReasonNextHopNotPeer)},
			&api.Statement{Name: name + "-nh-ok", Conditions: &api.Conditions{NextHopInList: hops},
				Actions: &api.Actions{LargeCommunity: &api.CommunityAction{Type: api.CommunityAction_TYPE_REMOVE,
					Communities: []string{reasonCommunity(c.ASN, ReasonNextHopNotPeer)}}}})
	}
	if c.Filters.FirstAS {
		mp.firstAS = name + "-first-as"
		mp.definedAS = &api.DefinedSet{DefinedType: api.DefinedType_DEFINED_TYPE_AS_PATH, Name: mp.firstAS,
			List: []string{"^" + strconv.FormatUint(uint64(asn), 10) + "_"}}
		mp.policy.Statements = append(mp.policy.Statements, &api.Statement{Name: name + "-first-as",
			Conditions: &api.Conditions{AsPathSet: &api.MatchSet{Type: api.MatchSet_TYPE_INVERT, Name: mp.firstAS}},
			Actions:    tag(c.ASN, ReasonFirstASNotPeer)})
	}
	return mp
}

// install adds the member policy and its sets to the server.
func (mp memberPolicy) install(ctx context.Context, s *server.BgpServer) error {
	if mp.definedAS != nil {
		if err := s.AddDefinedSet(ctx, &api.AddDefinedSetRequest{DefinedSet: mp.definedAS}); err != nil {
			return fmt.Errorf("add defined set %s: %w", mp.definedAS.Name, err)
		}
	}
	if err := s.AddPolicy(ctx, &api.AddPolicyRequest{Policy: mp.policy}); err != nil {
		return fmt.Errorf("add policy %s: %w", mp.name, err)
	}
	return nil
}

// remove deletes the member policy and its sets once no peer uses it.
func (mp memberPolicy) remove(ctx context.Context, s *server.BgpServer) error {
	if err := s.DeletePolicy(ctx, &api.DeletePolicyRequest{Policy: &api.Policy{Name: mp.name}, All: true}); err != nil {
		return fmt.Errorf("delete policy %s: %w", mp.name, err)
	}
	if mp.definedAS != nil {
		if err := s.DeleteDefinedSet(ctx, &api.DeleteDefinedSetRequest{DefinedSet: mp.definedAS, All: true}); err != nil {
			return fmt.Errorf("delete defined set %s: %w", mp.definedAS.Name, err)
		}
	}
	return nil
}

// installShared adds the shared sets and policies.
func installShared(ctx context.Context, s *server.BgpServer, c Configuration) error {
	for _, ds := range sharedDefinedSets(c) {
		if err := s.AddDefinedSet(ctx, &api.AddDefinedSetRequest{DefinedSet: ds}); err != nil {
			return fmt.Errorf("add defined set %s: %w", ds.Name, err)
		}
	}
	for _, p := range []*api.Policy{sharedImportPolicy(c), sharedDemotePolicy(), sharedExportPolicy()} {
		if err := s.AddPolicy(ctx, &api.AddPolicyRequest{Policy: p}); err != nil {
			return fmt.Errorf("add policy %s: %w", p.Name, err)
		}
	}
	return nil
}

// assign sets a peer's import and export policies.
func assign(ctx context.Context, s *server.BgpServer, peer string, member memberPolicy) error {
	imports := []*api.Policy{{Name: policyImport}, {Name: member.name}, {Name: policyDemote}}
	for _, a := range []*api.PolicyAssignment{
		{Name: peer, Direction: api.PolicyDirection_POLICY_DIRECTION_IMPORT, Policies: imports, DefaultAction: api.RouteAction_ROUTE_ACTION_ACCEPT},
		{Name: peer, Direction: api.PolicyDirection_POLICY_DIRECTION_EXPORT, Policies: []*api.Policy{{Name: policyExport}}, DefaultAction: api.RouteAction_ROUTE_ACTION_ACCEPT},
	} {
		if err := s.SetPolicyAssignment(ctx, &api.SetPolicyAssignmentRequest{Assignment: a}); err != nil {
			return fmt.Errorf("assign %s policy to %s: %w", a.Direction, peer, err)
		}
	}
	return nil
}
