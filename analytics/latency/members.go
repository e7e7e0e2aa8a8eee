package latency

import (
	"context"
	"fmt"
	"net"
	"slices"

	"golang.org/x/sync/errgroup"
)

// memberTargets describes the targets of the members' addresses in the
// order of the list; an address listed twice is probed once.
func memberTargets(cfg Configuration, members []Member) ([]Target, error) {
	seen := map[Member]bool{}
	var out []Target
	for _, mb := range members {
		if !mb.Address.IsValid() {
			return nil, fmt.Errorf("latency prober: member AS%d has no address", mb.ASN)
		}
		mb.Address = mb.Address.Unmap()
		if seen[mb] {
			continue // listed twice: probed once
		}
		seen[mb] = true
		t := Target{Name: MemberTargetName(mb), Method: cfg.MemberMethod, MemberASN: mb.ASN, Path: PathIXP}
		if cfg.MemberMethod == MethodICMP {
			t.Address = mb.Address.String()
		} else {
			t.Address = net.JoinHostPort(mb.Address.String(), fmt.Sprint(cfg.MemberPort))
		}
		out = append(out, t)
	}
	return out, nil
}

// SetMembers brings the probed member addresses in line with members
// (the members file was reloaded). It is safe while the prober runs and
// before Start or after Stop; with Configuration.Members off it only
// records the list.
//
// A new member's address is probed from its next slot, its phase a hash
// of its name as at Start. A removed member gets no probe after
// SetMembers returns (a probe already sent may still be answered) and
// leaves Targets and Recent at once; its bins in progress are completed
// at their normal close, with the answers to the probes in flight, and
// written like any other, after which the prober forgets it. (Were it
// listed again before then, it would resume in the same bins.) A member
// listed before and after keeps its schedule and statistics; configured
// targets are never touched.
//
// An address that is missing or no single host, a member whose target
// name is a configured target's, or a socket that cannot be opened for
// a new address family fails SetMembers, which then changes nothing.
func (p *Prober) SetMembers(members []Member) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if !p.cfg.Members {
		p.deps.Members = slices.Clone(members)
		return nil
	}
	want, err := memberTargets(p.cfg, members)
	if err != nil {
		return err
	}
	configured := map[string]int{}
	for i, t := range p.configured {
		configured[t.Name] = i
	}
	// Only SetMembers, holding p.mu, changes targets; the flush loop may
	// shrink retiring meanwhile (see below).
	p.tmu.RLock()
	current := p.targets[:len(p.targets)-len(p.configured)]
	retiring := p.retiring
	p.tmu.RUnlock()
	byName := make(map[string]*target, len(current))
	for _, t := range current {
		byName[t.Name] = t
	}
	retired := make(map[string]*target, len(retiring))
	for _, t := range retiring {
		retired[t.Name] = t
	}

	var next, added []*target
	kept := map[*target]bool{}
	for _, t := range want {
		if i, taken := configured[t.Name]; taken {
			return fmt.Errorf("latency prober: member AS%d: target name %q is also latency.targets[%d]",
				t.MemberASN, t.Name, i)
		}
		if tt, ok := byName[t.Name]; ok {
			next = append(next, tt)
			kept[tt] = true
			continue
		}
		tt, ok := retired[t.Name]
		if !ok {
			if tt, err = newTarget(t, p.cfg.Interval); err != nil {
				return fmt.Errorf("latency prober: member AS%d: %w", t.MemberASN, err)
			}
		}
		next = append(next, tt)
		added = append(added, tt)
	}
	var removed []*target
	for _, t := range current {
		if !kept[t] {
			removed = append(removed, t)
		}
	}

	e := p.engine(p.cfg.MemberMethod)
	ctx, eg := context.Background(), (*errgroup.Group)(nil)
	if p.started {
		ctx, eg = p.runCtx, p.eg
	}
	for _, t := range added {
		if err := e.add(ctx, eg, t); err != nil {
			return fmt.Errorf("latency prober: member AS%d (%s): %w", t.MemberASN, t.Address, err)
		}
	}
	// The schedule changes first: a target removed from the lists while
	// still probed could leave a bin nobody closes. (With another
	// schedule, a benchmark's, the change waits for the next Start.)
	if p.started && p.sched != nil && (len(added) > 0 || len(removed) > 0) {
		p.sched.change(p.runCtx, added, removed)
	}

	p.tmu.Lock()
	defer p.tmu.Unlock()
	targets := make([]*target, 0, len(next)+len(p.configured))
	targets = append(append(targets, next...), p.configured...)
	p.targets = targets
	p.byName = make(map[string]*target, len(targets))
	for _, t := range targets {
		p.byName[t.Name] = t
	}
	if p.started {
		// The flush loop closes their bins and then drops them; stopped,
		// they have none (Stop closed them).
		revived := map[*target]bool{}
		for _, t := range added {
			revived[t] = true
		}
		var still []*target
		for _, t := range p.retiring {
			if !revived[t] {
				still = append(still, t)
			}
		}
		still = append(still, removed...)
		p.retiring = still
	}
	p.deps.Members = slices.Clone(members)
	p.setTargetsGauge()
	p.logger.Info("latency members set", "members", len(next), "added", len(added), "removed", len(removed))
	return nil
}

// engine returns the engine of method.
func (p *Prober) engine(method string) engine {
	switch method {
	case MethodICMP:
		return p.icmp
	case MethodTCP:
		return p.tcp
	}
	return p.twamp
}

// probed returns the targets probed.
func (p *Prober) probed() []*target {
	p.tmu.RLock()
	defer p.tmu.RUnlock()
	return p.targets
}

// closing returns the targets whose bins are closed: those probed and the
// removed members whose bins in progress are not closed yet.
func (p *Prober) closing() []*target {
	p.tmu.RLock()
	defer p.tmu.RUnlock()
	if len(p.retiring) == 0 {
		return p.targets
	}
	return append(slices.Clip(p.targets), p.retiring...)
}

// dropRetired forgets the removed members whose bins are all closed.
func (p *Prober) dropRetired() {
	p.tmu.Lock()
	defer p.tmu.Unlock()
	if len(p.retiring) == 0 {
		return
	}
	var still []*target
	for _, t := range p.retiring {
		if p.rec.hasOpen(t) {
			still = append(still, t)
		}
	}
	p.retiring = still
}

// countTargets counts the targets probed by method.
func (p *Prober) countTargets() map[string]int {
	counts := map[string]int{}
	for _, t := range p.targets {
		counts[t.Method]++
	}
	return counts
}

// setTargetsGauge sets the targets metric; p.tmu is held or p not yet
// shared.
func (p *Prober) setTargetsGauge() {
	counts := p.countTargets()
	for _, method := range []string{MethodICMP, MethodTCP, MethodTWAMP} {
		p.metrics.targets.WithLabelValues(method).Set(float64(counts[method]))
	}
}
