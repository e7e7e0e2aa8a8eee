package routeserver

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"strconv"
	"time"

	api "github.com/osrg/gobgp/v4/api"
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
// to it and refiltered in place, and the old one is removed. Peers named
// in refilterAll are refiltered whatever changed. Call with c.mu held.
func (c *Component) syncPolicies(ctx context.Context, s *server.BgpServer, inputs map[uint32]memberInput, sharedChanged bool) error {
	var errs []error
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
			errs = append(errs, softReset(ctx, s, addr.String(), true))
		}
		if exportChanged[ss.asn] {
			errs = append(errs, softReset(ctx, s, addr.String(), false))
		}
	}
	for _, mp := range stale {
		errs = append(errs, removePolicy(ctx, s, mp.sets, mp.importPol, mp.exportPol))
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
	defer c.mu.Unlock()
	data, err := c.loadData(c.data)
	if err != nil {
		errs = append(errs, err)
	}
	c.data = data
	sharedChanged := false
	if sp := newSharedPolicy(c.cfg, data, c.sharedGen); sp.fp != c.shared.fp {
		c.sharedGen++
		sp = newSharedPolicy(c.cfg, data, c.sharedGen)
		if err := installPolicy(ctx, s, sp.sets, sp.pol); err != nil {
			errs = append(errs, err)
		} else {
			old := c.shared
			c.shared = sp
			sharedChanged = true
			defer func() {
				if err := removePolicy(ctx, s, old.sets, old.pol); err != nil {
					c.logger.Warn("remove old shared policy", "err", err)
				}
			}()
		}
	}
	if err := c.syncPolicies(ctx, s, memberInputs(c.members), sharedChanged); err != nil {
		errs = append(errs, err)
	}
	c.reconfigured = time.Now().UTC()
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
	defer c.mu.Unlock()
	if c.gshut == on {
		return nil
	}
	c.gshut = on
	var errs []error
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
			errs = append(errs, softReset(ctx, s, addr.String(), false))
		}
	}
	c.logger.Warn("graceful shutdown", "on", on)
	c.reconfigured = time.Now().UTC()
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
// change, every member's routes are validated again (GoBGP does not do it
// by itself): a route that turned invalid is withdrawn, one that turned
// valid is sent, and no session is reset.
func (c *Component) rpkiLoop(ctx context.Context, s *server.BgpServer) error {
	t := time.NewTicker(time.Second)
	defer t.Stop()
	last := map[string]rpkiState{}
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
		start := time.Now()
		if err := c.revalidate(ctx, s); err != nil {
			c.logger.Warn("RPKI: revalidate routes", "err", err)
		}
		c.metrics.rpkiRevalidations.Inc()
		c.logger.Info("RPKI: VRPs changed, routes validated again", "took", time.Since(start).Round(time.Millisecond))
	}
}

// vrpFileCheck is how often the VRP file's modification time is checked.
const vrpFileCheck = 5 * time.Second

// revalidate re-runs every established member's import policy.
func (c *Component) revalidate(ctx context.Context, s *server.BgpServer) error {
	c.mu.Lock()
	var peers []netip.Addr
	for addr := range c.sessions {
		if c.up[addr] {
			peers = append(peers, addr)
		}
	}
	c.mu.Unlock()
	var errs []error
	for _, p := range peers {
		errs = append(errs, softReset(ctx, s, p.String(), true))
	}
	return errors.Join(errs...)
}
