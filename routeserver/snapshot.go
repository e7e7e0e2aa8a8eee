package routeserver

import (
	"context"
	"net/netip"
	"time"

	"github.com/gaissmai/bart"
	"github.com/osrg/gobgp/v4/pkg/apiutil"
	"github.com/osrg/gobgp/v4/pkg/packet/bgp"
)

// snapshotInterval is how often the flow-enrichment snapshot is rebuilt.
const snapshotInterval = 30 * time.Second

// snapshot maps every accepted prefix to its origin AS, for flow
// enrichment; readers load it without locks.
type snapshot struct {
	origin bart.Table[uint32]
	built  time.Time
}

// OriginAS returns the origin AS of the most specific accepted route that
// holds addr, from a snapshot at most snapshotInterval old.
func (c *Component) OriginAS(addr netip.Addr) (uint32, bool) {
	s := c.snap.Load()
	if s == nil {
		return 0, false
	}
	return s.origin.Lookup(addr.Unmap())
}

// refreshSnapshot rebuilds the snapshot from the route-server RIB. For a
// prefix with several accepted paths the best one's origin wins.
func (c *Component) refreshSnapshot() error {
	s, err := c.server()
	if err != nil {
		return err
	}
	next := &snapshot{built: time.Now()}
	for _, f := range families {
		err := c.ribPaths(s, f, nil, func(nlri bgp.NLRI, paths []*apiutil.Path) {
			for _, p := range paths {
				if c.isFiltered(p) {
					continue
				}
				pfx, err := netip.ParsePrefix(nlri.String())
				if err != nil {
					return
				}
				if origin, ok := originOf(p); ok {
					next.origin.Insert(pfx, origin)
				}
				return // the first accepted path is the best
			}
		})
		if err != nil {
			return err
		}
	}
	c.snap.Store(next)
	return nil
}

// originOf is the last AS of a path's AS_PATH.
func originOf(p *apiutil.Path) (uint32, bool) {
	for _, a := range p.Attrs {
		if asp, ok := a.(*bgp.PathAttributeAsPath); ok && len(asp.Value) > 0 {
			last := asp.Value[len(asp.Value)-1].GetAS()
			if len(last) > 0 {
				return last[len(last)-1], true
			}
		}
	}
	return 0, false
}

// snapshotLoop refreshes the snapshot until ctx ends.
func (c *Component) snapshotLoop(ctx context.Context) error {
	t := time.NewTicker(snapshotInterval)
	defer t.Stop()
	for {
		if err := c.refreshSnapshot(); err != nil && ctx.Err() == nil {
			c.logger.Debug("refresh route snapshot", "err", err)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}
