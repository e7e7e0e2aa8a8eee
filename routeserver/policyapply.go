package routeserver

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"slices"
	"strconv"
	"time"

	"github.com/gaissmai/bart"
	api "github.com/osrg/gobgp/v4/api"
	"github.com/osrg/gobgp/v4/pkg/apiutil"
	"github.com/osrg/gobgp/v4/pkg/packet/bgp"
	"github.com/osrg/gobgp/v4/pkg/server"

	"github.com/ixpd/ixpd/routeserver/irr"
	"github.com/ixpd/ixpd/routeserver/members"
	"github.com/ixpd/ixpd/routeserver/peeringdb"
	"github.com/ixpd/ixpd/routeserver/rpki"
)

// installStatic adds the sets and policies that never change while the
// route server runs.
func installStatic(ctx context.Context, s *server.BgpServer, c Configuration) error {
	for _, ds := range staticSets(c) {
		if err := s.AddDefinedSet(ctx, &api.AddDefinedSetRequest{DefinedSet: ds}); err != nil {
			return fmt.Errorf("add defined set %s: %w", ds.Name, err)
		}
	}
	for _, p := range []*api.Policy{postPolicy(c), demotePolicy(), gshutPolicy()} {
		if err := s.AddPolicy(ctx, &api.AddPolicyRequest{Policy: p}); err != nil {
			return fmt.Errorf("add policy %s: %w", p.Name, err)
		}
	}
	return nil
}

// installPolicy adds a policy and the sets it uses.
func installPolicy(ctx context.Context, s *server.BgpServer, sets []*api.DefinedSet, pols ...*api.Policy) error {
	for _, ds := range sets {
		if err := s.AddDefinedSet(ctx, &api.AddDefinedSetRequest{DefinedSet: ds}); err != nil {
			return fmt.Errorf("add defined set %s: %w", ds.Name, err)
		}
	}
	for _, p := range pols {
		if err := s.AddPolicy(ctx, &api.AddPolicyRequest{Policy: p}); err != nil {
			return fmt.Errorf("add policy %s: %w", p.Name, err)
		}
	}
	return nil
}

// removePolicy deletes policies and then their sets, once nothing uses
// them.
func removePolicy(ctx context.Context, s *server.BgpServer, sets []*api.DefinedSet, pols ...*api.Policy) error {
	var errs []error
	for _, p := range pols {
		if err := s.DeletePolicy(ctx, &api.DeletePolicyRequest{Policy: &api.Policy{Name: p.Name}, All: true}); err != nil {
			errs = append(errs, fmt.Errorf("delete policy %s: %w", p.Name, err))
		}
	}
	for _, ds := range sets {
		if err := s.DeleteDefinedSet(ctx, &api.DeleteDefinedSetRequest{DefinedSet: &api.DefinedSet{DefinedType: ds.DefinedType, Name: ds.Name}, All: true}); err != nil {
			errs = append(errs, fmt.Errorf("delete defined set %s: %w", ds.Name, err))
		}
	}
	return errors.Join(errs...)
}

// assign sets a peer's import and export policies.
func assign(ctx context.Context, s *server.BgpServer, peer string, shared sharedPolicy, member memberPolicy, gshut bool) error {
	imports := []*api.Policy{{Name: shared.name}, {Name: member.importName}, {Name: policyPost}, {Name: policyDemote}}
	exports := []*api.Policy{{Name: member.exportName}}
	if gshut {
		exports = append([]*api.Policy{{Name: policyGshut}}, exports...)
	}
	for _, a := range []*api.PolicyAssignment{
		{Name: peer, Direction: api.PolicyDirection_POLICY_DIRECTION_IMPORT, Policies: imports, DefaultAction: api.RouteAction_ROUTE_ACTION_ACCEPT},
		{Name: peer, Direction: api.PolicyDirection_POLICY_DIRECTION_EXPORT, Policies: exports, DefaultAction: api.RouteAction_ROUTE_ACTION_ACCEPT},
	} {
		if err := s.SetPolicyAssignment(ctx, &api.SetPolicyAssignmentRequest{Assignment: a}); err != nil {
			return fmt.Errorf("assign %s policy to %s: %w", a.Direction, peer, err)
		}
	}
	return nil
}

// softReset re-runs a peer's import policy over what it sent (in) or
// sends it its table again through its export policy (out).
func softReset(ctx context.Context, s *server.BgpServer, peer string, in bool) error {
	dir := api.ResetPeerRequest_DIRECTION_OUT
	if in {
		dir = api.ResetPeerRequest_DIRECTION_IN
	}
	if err := s.ResetPeer(ctx, &api.ResetPeerRequest{Address: peer, Soft: true, Direction: dir}); err != nil {
		return fmt.Errorf("refilter %s: %w", peer, err)
	}
	return nil
}

// memberInputs gathers, per ASN, what the member policies are built from.
func memberInputs(set *members.Set) map[uint32]memberInput {
	out := map[uint32]memberInput{}
	if set == nil {
		return out
	}
	for i := range set.Members {
		m := &set.Members[i]
		if len(m.Addresses) == 0 {
			continue
		}
		in, ok := out[m.ASN]
		if !ok {
			in = memberInput{asn: m.ASN, policy: m.RouteServer, asSets: m.ASSets()}
		}
		for _, a := range m.Addresses {
			in.nextHops = append(in.nextHops, a.IP)
		}
		in.nextHops = append(in.nextHops, m.RouteServer.ExtraNextHops...)
		out[m.ASN] = in
	}
	return out
}

// syncPolicies brings the member policies in line with inputs: a member
// whose inputs changed gets a new generation, its sessions are assigned
// to it, and the old one is removed. It returns the soft resets that
// refilter those sessions in place, for the caller to run once it has let
// go of c.mu (they can take minutes on a big table). Call with c.mu held.
func (c *Component) syncPolicies(ctx context.Context, s *server.BgpServer, inputs map[uint32]memberInput, sharedChanged bool) ([]resetRequest, error) {
	var errs []error
	var resets []resetRequest
	next := map[uint32]memberPolicy{}
	var stale []memberPolicy
	importChanged := map[uint32]bool{}
	exportChanged := map[uint32]bool{}
	for asn, in := range inputs {
		prev, ok := c.policies[asn]
		imp, exp := in.fingerprints(c.data)
		if ok && prev.importFP == imp && prev.exportFP == exp {
			next[asn] = prev
			continue
		}
		c.gen++
		mp := newMemberPolicy(c.cfg, c.data, in, c.gen)
		if err := installPolicy(ctx, s, mp.sets, mp.importPol, mp.exportPol); err != nil {
			errs = append(errs, err)
			if ok {
				next[asn] = prev
			}
			continue
		}
		next[asn] = mp
		if ok {
			stale = append(stale, prev)
			importChanged[asn] = prev.importFP != imp
			exportChanged[asn] = prev.exportFP != exp
		}
	}
	for asn, mp := range c.policies {
		if _, ok := inputs[asn]; !ok {
			stale = append(stale, mp)
		}
	}
	c.policies = next
	for addr, ss := range c.sessions {
		if !importChanged[ss.asn] && !exportChanged[ss.asn] && !sharedChanged {
			continue
		}
		mp, ok := next[ss.asn]
		if !ok {
			continue
		}
		if err := assign(ctx, s, addr.String(), c.shared, mp, c.gshut); err != nil {
			errs = append(errs, err)
			continue
		}
		if !c.up[addr] {
			continue
		}
		if importChanged[ss.asn] || sharedChanged {
			resets = append(resets, resetRequest{addr, true})
		}
		if exportChanged[ss.asn] {
			resets = append(resets, resetRequest{addr, false})
		}
	}
	for _, mp := range stale {
		errs = append(errs, removePolicy(ctx, s, mp.sets, mp.importPol, mp.exportPol))
	}
	return resets, errors.Join(errs...)
}

// resetRequest is a soft reset to run: in (refilter what the member
// sent) or out (send the member its table again).
type resetRequest struct {
	peer netip.Addr
	in   bool
}

// runResets runs soft resets; call without c.mu held.
func runResets(ctx context.Context, s *server.BgpServer, resets []resetRequest) error {
	var errs []error
	for _, r := range resets {
		errs = append(errs, softReset(ctx, s, r.peer.String(), r.in))
	}
	return errors.Join(errs...)
}

// loadData reads the IRR and PeeringDB files. A file that cannot be read
// or parsed leaves that source's previous data in force; the error says
// which file and what is wrong.
func (c *Component) loadData(prev policyData) (policyData, error) {
	next := prev
	var errs []error
	if len(c.cfg.IRR.PrefixLists)+len(c.cfg.IRR.ASSets) > 0 {
		d, err := irr.Load(c.cfg.IRR.PrefixLists, c.cfg.IRR.ASSets)
		if err != nil {
			c.metrics.dataLoads.WithLabelValues("irr", "error").Inc()
			errs = append(errs, fmt.Errorf("IRR data (previous data stays in force): %w", err))
		} else {
			c.metrics.dataLoads.WithLabelValues("irr", "ok").Inc()
			next.irr = d
		}
	}
	if c.cfg.PeeringDBFile != "" {
		asns, err := peeringdb.LoadNeverViaRouteServers(c.cfg.PeeringDBFile)
		if err != nil {
			c.metrics.dataLoads.WithLabelValues("peeringdb", "error").Inc()
			errs = append(errs, fmt.Errorf("PeeringDB data (previous data stays in force): %w", err))
		} else {
			c.metrics.dataLoads.WithLabelValues("peeringdb", "ok").Inc()
			next.neverViaRS = asns
		}
	}
	return next, errors.Join(errs...)
}

// CheckData reads the filter data files the configuration names (IRR,
// PeeringDB, VRP file) and reports every problem, as ixpd check does.
func CheckData(cfg Configuration) error {
	var errs []error
	if len(cfg.IRR.PrefixLists)+len(cfg.IRR.ASSets) > 0 {
		if _, err := irr.Load(cfg.IRR.PrefixLists, cfg.IRR.ASSets); err != nil {
			errs = append(errs, fmt.Errorf("routeserver.irr: %w", err))
		}
	}
	if cfg.PeeringDBFile != "" {
		if _, err := peeringdb.LoadNeverViaRouteServers(cfg.PeeringDBFile); err != nil {
			errs = append(errs, fmt.Errorf("routeserver.peeringdb_file: %w", err))
		}
	}
	if cfg.RPKI.VRPFile != "" {
		if _, err := rpki.LoadVRPFile(cfg.RPKI.VRPFile); err != nil {
			errs = append(errs, fmt.Errorf("routeserver.rpki.vrp_file: %w", err))
		}
	}
	return errors.Join(errs...)
}

// ReloadData re-reads the IRR, PeeringDB and VRP files and refilters every
// route whose filters changed, without resetting a session. A bad file is
// refused and its previous data stays in force; the error names it.
func (c *Component) ReloadData(ctx context.Context) error {
	s, err := c.server()
	if err != nil {
		return err
	}
	var errs []error
	if err := c.reloadVRPFile(); err != nil {
		errs = append(errs, err)
	}
	c.mu.Lock()
	data, err := c.loadData(c.data)
	if err != nil {
		errs = append(errs, err)
	}
	c.data = data
	sharedChanged := false
	var oldShared *sharedPolicy
	if sp := newSharedPolicy(c.cfg, data, c.sharedGen); sp.fp != c.shared.fp {
		c.sharedGen++
		sp = newSharedPolicy(c.cfg, data, c.sharedGen)
		if err := installPolicy(ctx, s, sp.sets, sp.pol); err != nil {
			errs = append(errs, err)
		} else {
			old := c.shared
			oldShared = &old
			c.shared = sp
			sharedChanged = true
		}
	}
	resets, err := c.syncPolicies(ctx, s, memberInputs(c.members), sharedChanged)
	if err != nil {
		errs = append(errs, err)
	}
	if oldShared != nil {
		// No session uses it any more: syncPolicies assigned the new one.
		errs = append(errs, removePolicy(ctx, s, oldShared.sets, oldShared.pol))
	}
	c.reconfigured = time.Now().UTC()
	c.mu.Unlock()
	start := time.Now()
	errs = append(errs, runResets(ctx, s, resets))
	if len(resets) > 0 {
		c.logger.Info("filter data reloaded, routes refiltered", "sessions", len(resets), "took", time.Since(start).Round(time.Millisecond))
	}
	return errors.Join(errs...)
}

// setGracefulShutdown tags (or stops tagging) every route sent with
// GRACEFUL_SHUTDOWN and sends every member its table again.
func (c *Component) setGracefulShutdown(ctx context.Context, on bool) error {
	s, err := c.server()
	if err != nil {
		return err
	}
	c.mu.Lock()
	if c.gshut == on {
		c.mu.Unlock()
		return nil
	}
	c.gshut = on
	var errs []error
	var resets []resetRequest
	for addr, ss := range c.sessions {
		mp, ok := c.policies[ss.asn]
		if !ok {
			continue
		}
		if err := assign(ctx, s, addr.String(), c.shared, mp, on); err != nil {
			errs = append(errs, err)
			continue
		}
		if c.up[addr] {
			resets = append(resets, resetRequest{addr, false})
		}
	}
	c.reconfigured = time.Now().UTC()
	c.mu.Unlock()
	c.logger.Warn("graceful shutdown", "on", on)
	errs = append(errs, runResets(ctx, s, resets))
	return errors.Join(errs...)
}

// startRPKI connects GoBGP's RTR client to the configured RTR servers and
// to the in-process cache that serves the VRP file.
func (c *Component) startRPKI(ctx context.Context, s *server.BgpServer) error {
	if c.cfg.RPKI.VRPFile != "" {
		vrps, err := rpki.LoadVRPFile(c.cfg.RPKI.VRPFile)
		if err != nil {
			return fmt.Errorf("routeserver.rpki.vrp_file: %w", err)
		}
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return fmt.Errorf("RTR cache for the VRP file: %w", err)
		}
		c.vrpCache = rpki.NewCache(c.logger.With("rtr", "vrp_file"))
		c.vrpCache.Set(vrps)
		c.vrpMtime = mtime(c.cfg.RPKI.VRPFile)
		cache := c.vrpCache
		c.eg.Go(func() error {
			if err := cache.Serve(ln); err != nil && !errors.Is(err, net.ErrClosed) {
				c.logger.Warn("RTR cache stopped", "err", err)
			}
			return nil
		})
		port := ln.Addr().(*net.TCPAddr).Port
		if err := s.AddRpki(ctx, &api.AddRpkiRequest{Address: "127.0.0.1", Port: uint32(port), Lifetime: 3600}); err != nil {
			return fmt.Errorf("connect to the VRP file's RTR cache: %w", err)
		}
		c.logger.Info("RPKI: VRP file loaded", "file", c.cfg.RPKI.VRPFile, "vrps", len(vrps))
	}
	for _, hp := range c.cfg.RPKI.RTR {
		host, portS, _ := net.SplitHostPort(hp)
		port, err := strconv.ParseUint(portS, 10, 16)
		if err != nil {
			return fmt.Errorf("routeserver.rpki.rtr: %q: bad port", hp)
		}
		if err := s.AddRpki(ctx, &api.AddRpkiRequest{Address: host, Port: uint32(port), Lifetime: 3600}); err != nil {
			return fmt.Errorf("routeserver.rpki.rtr: %s: %w", hp, err)
		}
	}
	return nil
}

func mtime(path string) time.Time {
	fi, err := os.Stat(path)
	if err != nil {
		return time.Time{}
	}
	return fi.ModTime()
}

// reloadVRPFile re-reads the VRP file into the RTR cache; GoBGP's client
// follows the new serial and rpkiLoop refilters.
func (c *Component) reloadVRPFile() error {
	if c.vrpCache == nil {
		return nil
	}
	vrps, err := rpki.LoadVRPFile(c.cfg.RPKI.VRPFile)
	if err != nil {
		c.metrics.dataLoads.WithLabelValues("vrp_file", "error").Inc()
		return fmt.Errorf("VRP file (previous VRPs stay in force): %w", err)
	}
	c.metrics.dataLoads.WithLabelValues("vrp_file", "ok").Inc()
	serial, added, removed := c.vrpCache.Set(vrps)
	if added+removed > 0 {
		c.logger.Info("RPKI: VRP file reloaded", "vrps", len(vrps), "serial", serial, "added", added, "removed", removed)
	}
	return nil
}

// rpkiState is what rpkiLoop compares to notice new VRPs.
type rpkiState struct {
	received  int64
	endOfData int64
}

// rpkiLoop watches GoBGP's RTR clients and the VRP file. When VRPs
// change, the routes they cover are validated again (GoBGP does not do it
// by itself): a route that turned invalid is withdrawn, one that turned
// valid is sent, and no session is reset.
func (c *Component) rpkiLoop(ctx context.Context, s *server.BgpServer) error {
	t := time.NewTicker(time.Second)
	defer t.Stop()
	last := map[string]rpkiState{}
	var vrps []vrp // the VRP table as last validated against
	fileCheck := time.Now()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
		if c.vrpCache != nil && time.Since(fileCheck) >= vrpFileCheck {
			fileCheck = time.Now()
			if m := mtime(c.cfg.RPKI.VRPFile); !m.Equal(c.vrpMtime) {
				c.vrpMtime = m
				if err := c.reloadVRPFile(); err != nil {
					c.logger.Warn("RPKI", "err", err)
				}
			}
		}
		changed := false
		err := s.ListRpki(ctx, &api.ListRpkiRequest{}, func(r *api.Rpki) {
			key := r.GetConf().GetAddress() + ":" + strconv.Itoa(int(r.GetConf().GetRemotePort()))
			st := r.GetState()
			now := rpkiState{received: st.GetReceivedIpv4() + st.GetReceivedIpv6(), endOfData: st.GetEndOfData()}
			// A change counts once the server's End of Data has come.
			if prev := last[key]; now.endOfData > prev.endOfData {
				changed = changed || now.received != prev.received
				last[key] = now
			}
		})
		if err != nil || !changed {
			continue
		}
		if vrps, err = c.revalidate(ctx, s, vrps); err != nil {
			c.logger.Warn("RPKI: revalidate routes", "err", err)
		}
	}
}

// vrpFileCheck is how often the VRP file's modification time is checked.
const vrpFileCheck = 5 * time.Second

// vrp is one VRP in GoBGP's table, as revalidate compares them.
type vrp struct {
	prefix netip.Prefix
	maxLen uint8
	asn    uint32
}

func compareVRP(a, b vrp) int {
	if c := a.prefix.Addr().Compare(b.prefix.Addr()); c != 0 {
		return c
	}
	if c := a.prefix.Bits() - b.prefix.Bits(); c != 0 {
		return c
	}
	if c := int(a.maxLen) - int(b.maxLen); c != 0 {
		return c
	}
	return cmp.Compare(a.asn, b.asn)
}

// listVRPs reads GoBGP's VRP table, sorted and without duplicates (two
// RTR servers may send the same VRP).
func listVRPs(ctx context.Context, s *server.BgpServer) ([]vrp, error) {
	var out []vrp
	for _, f := range []*api.Family{familyV4, familyV6} {
		var perr error
		err := s.ListRpkiTable(ctx, &api.ListRpkiTableRequest{Family: f}, func(r *api.Roa) {
			a, err := netip.ParseAddr(r.GetPrefix())
			if err != nil {
				perr = err
				return
			}
			out = append(out, vrp{prefix: netip.PrefixFrom(a, int(r.GetPrefixlen())).Masked(), maxLen: uint8(r.GetMaxlen()), asn: r.GetAsn()})
		})
		if err = cmp.Or(err, perr); err != nil {
			return nil, fmt.Errorf("read the VRP table: %w", err)
		}
	}
	slices.SortFunc(out, compareVRP)
	return slices.CompactFunc(out, func(a, b vrp) bool { return compareVRP(a, b) == 0 }), nil
}

// changedVRPs returns the prefixes of the VRPs in one sorted list but not
// the other.
func changedVRPs(old, next []vrp) []netip.Prefix {
	var out []netip.Prefix
	i, j := 0, 0
	for i < len(old) || j < len(next) {
		switch {
		case j == len(next) || i < len(old) && compareVRP(old[i], next[j]) < 0:
			out = append(out, old[i].prefix)
			i++
		case i == len(old) || compareVRP(old[i], next[j]) > 0:
			out = append(out, next[j].prefix)
			j++
		default:
			i++
			j++
		}
	}
	return out
}

// revalidate re-runs the import policy of the members with a route that a
// changed VRP covers, and only theirs: a VRP change elsewhere in the
// Internet, the usual case, refilters nothing. GoBGP can only refilter a
// whole session, and sends every refiltered route again.
func (c *Component) revalidate(ctx context.Context, s *server.BgpServer, last []vrp) ([]vrp, error) {
	next, err := listVRPs(ctx, s)
	if err != nil {
		return last, err
	}
	changed := changedVRPs(last, next)
	if len(changed) == 0 {
		return next, nil
	}
	var covered bart.Table[struct{}]
	for _, p := range changed {
		covered.Insert(p, struct{}{})
	}
	affected := map[netip.Addr]bool{}
	for _, f := range families {
		err := c.ribPaths(s, f, nil, func(nlri bgp.NLRI, paths []*apiutil.Path) {
			pfx, err := netip.ParsePrefix(nlri.String())
			if err != nil {
				return
			}
			if _, ok := covered.LookupPrefix(pfx); !ok {
				return
			}
			for _, p := range paths {
				affected[p.PeerAddress] = true
			}
		})
		if err != nil {
			return last, fmt.Errorf("find the routes the VRPs cover: %w", err)
		}
	}
	c.mu.Lock()
	var resets []resetRequest
	for addr := range affected {
		if _, ok := c.sessions[addr]; ok && c.up[addr] {
			resets = append(resets, resetRequest{addr, true})
		}
	}
	c.mu.Unlock()
	start := time.Now()
	err = runResets(ctx, s, resets)
	c.metrics.rpkiRevalidations.Inc()
	c.logger.Info("RPKI: VRPs changed, covered routes validated again", "vrps", len(next), "changed", len(changed),
		"sessions", len(resets), "took", time.Since(start).Round(time.Millisecond))
	return next, err
}
