package routeserver

import (
	"context"
	"fmt"
	"math"
	"net/netip"
	"slices"

	api "github.com/osrg/gobgp/v4/api"
	"github.com/osrg/gobgp/v4/pkg/apiutil"
	"github.com/osrg/gobgp/v4/pkg/packet/bgp"
)

// SessionCensus is one member session at one moment: whether it is up
// and how the import filters judged its routes, for periodic snapshots
// and reports.
type SessionCensus struct {
	ASN     uint32     `json:"asn"`
	Address netip.Addr `json:"address"`
	// Up is true while the session is established.
	Up bool `json:"up"`
	// Received = Accepted + Filtered: every route the member sent that
	// the route server holds.
	Received int `json:"received"`
	Accepted int `json:"accepted"`
	Filtered int `json:"filtered"`
	// RPKI origin validation of the received routes, as the route server
	// tagged them: valid RS:1000:1, unknown RS:1000:2, invalid RS:1000:4
	// (rpki.reject_invalid off) or reject reason 13. A route without any
	// of these (RPKI off, or reason 13 taken off by a filter exception or
	// a blackhole request) counts in none.
	RPKIValid   int `json:"rpki_valid"`
	RPKIUnknown int `json:"rpki_unknown"`
	RPKIInvalid int `json:"rpki_invalid"`
	// IRRValid counts received routes tagged IRR valid (RS:1001:1).
	IRRValid int `json:"irr_valid"`
	// Reasons counts filtered routes by reject reason code (RS:1101:code);
	// a route with several reasons counts once under each. Nil when no
	// route is filtered.
	Reasons map[uint16]uint32 `json:"reasons,omitempty"`
}

// Census returns one entry per configured member session, sorted by
// address, from one pass over the route-server RIB.
func (c *Component) Census(ctx context.Context) ([]SessionCensus, error) {
	s, err := c.server()
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	out := make([]SessionCensus, 0, len(c.sessions))
	for addr, ss := range c.sessions {
		out = append(out, SessionCensus{ASN: ss.asn, Address: addr})
	}
	c.mu.Unlock()
	slices.SortFunc(out, func(a, b SessionCensus) int { return a.Address.Compare(b.Address) })
	byAddr := make(map[netip.Addr]*SessionCensus, len(out))
	for i := range out {
		byAddr[out[i].Address] = &out[i]
	}

	err = s.ListPeer(ctx, &api.ListPeerRequest{}, func(p *api.Peer) {
		addr, err := netip.ParseAddr(p.GetConf().GetNeighborAddress())
		if err != nil {
			return
		}
		if n := byAddr[addr]; n != nil {
			st := p.GetState()
			// As Neighbors shows it: established, and not held down.
			n.Up = st.GetSessionState() == api.PeerState_SESSION_STATE_ESTABLISHED &&
				st.GetAdminState() != api.PeerState_ADMIN_STATE_DOWN && st.GetAdminState() != api.PeerState_ADMIN_STATE_PFX_CT
		}
	})
	if err != nil {
		return nil, fmt.Errorf("list peers: %w", err)
	}

	var codes []uint16 // of the route at hand, reused
	for _, f := range families {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		err := c.ribPaths(s, f, nil, func(_ bgp.NLRI, paths []*apiutil.Path) {
			for _, p := range paths {
				if n := byAddr[p.PeerAddress]; n != nil {
					codes = c.countRoute(n, p, codes[:0])
				}
			}
		})
		if err != nil {
			return nil, fmt.Errorf("list %s routes: %w", f, err)
		}
	}
	return out, nil
}

// countRoute adds the path p to its sender's census n, reading the route
// server's own large communities straight off the path; codes is scratch
// space for the path's reasons, returned for the next path.
func (c *Component) countRoute(n *SessionCensus, p *apiutil.Path, codes []uint16) []uint16 {
	var filtered, valid, unknown, invalid, irrValid bool
	for _, a := range p.Attrs {
		lc, ok := a.(*bgp.PathAttributeLargeCommunities)
		if !ok {
			continue
		}
		for _, v := range lc.Values {
			if v.ASN != c.cfg.ASN {
				continue
			}
			switch v.LocalData1 {
			case reasonFunction:
				filtered = true
				invalid = invalid || v.LocalData2 == ReasonRPKIInvalid
				// Codes are the route server's own: all fit in 16 bits.
				if v.LocalData2 <= math.MaxUint16 && !slices.Contains(codes, uint16(v.LocalData2)) {
					codes = append(codes, uint16(v.LocalData2))
				}
			case infoRPKI:
				switch v.LocalData2 {
				case infoRPKIValid:
					valid = true
				case infoRPKIUnkn:
					unknown = true
				case infoRPKIInval:
					invalid = true
				}
			case infoIRR:
				irrValid = irrValid || v.LocalData2 == infoIRRValid
			}
		}
	}
	n.Received++
	if filtered {
		n.Filtered++
		if n.Reasons == nil && len(codes) > 0 {
			n.Reasons = map[uint16]uint32{}
		}
		for _, code := range codes {
			n.Reasons[code]++
		}
	} else {
		n.Accepted++
	}
	switch {
	case invalid:
		n.RPKIInvalid++
	case valid:
		n.RPKIValid++
	case unknown:
		n.RPKIUnknown++
	}
	if irrValid {
		n.IRRValid++
	}
	return codes
}
