package api

import (
	"context"
	"net/http"
	"slices"

	"github.com/gin-gonic/gin"

	"github.com/ixpd/ixpd/analytics"
	"github.com/ixpd/ixpd/flow"
)

// domesticBytes sums domestic member-edge bytes of one path class per
// member: the member whose router exported the flow is on one side of the
// pair (the other side is 0 or another member).
func domesticBytes(ctx context.Context, st analytics.Store, r timeRange, pc flow.PathClass) (total uint64, byMember map[uint32]uint64, err error) {
	points, err := st.Series(ctx, analytics.SeriesQuery{From: r.from, To: r.to, Step: r.to.Sub(r.from).Truncate(analytics.BinSize),
		GroupBy: analytics.GroupPair, Domestic: true, Role: flow.RoleMemberEdge, PathClass: pc})
	if err != nil {
		return 0, nil, err
	}
	byMember = map[uint32]uint64{}
	for _, p := range points {
		total += p.Bytes
		if p.Key != 0 {
			byMember[uint32(p.Key)] += p.Bytes
		}
		if p.Key2 != 0 && p.Key2 != p.Key {
			byMember[uint32(p.Key2)] += p.Bytes
		}
	}
	return total, byMember, nil
}

// share renders a local share, or why there is none.
func share(viaIXP, viaTransit uint64, hasExporter bool) gin.H {
	out := gin.H{"via_ixp_bytes": viaIXP, "via_transit_bytes": viaTransit, "local_share": nil}
	switch s, ok := analytics.LocalShare(viaIXP, viaTransit); {
	case !hasExporter:
		out["note"] = "no edge exporter: local share not computable"
	case !ok:
		out["note"] = "no domestic traffic seen in this range"
	default:
		out["local_share"] = s
	}
	return out
}

// domestic answers GET /api/v1/domestic: domestic bytes via the exchange
// and via transit, and the local share, per member with an edge exporter
// and overall.
func (a *Component) domestic(c *gin.Context) {
	st, r, ok := a.storeAndRange(c)
	if !ok {
		return
	}
	ctx := c.Request.Context()
	ixpTotal, ixpBy, err := domesticBytes(ctx, st, r, flow.PathViaIXP)
	if err != nil {
		writeError(c, err)
		return
	}
	transitTotal, transitBy, err := domesticBytes(ctx, st, r, flow.PathViaTransit)
	if err != nil {
		writeError(c, err)
		return
	}
	ex := a.deps.Exchange
	var asns []uint32
	if ex.MemberASNs != nil {
		asns = ex.MemberASNs()
	}
	members := make([]gin.H, 0, len(asns))
	for _, asn := range asns {
		m := share(ixpBy[asn], transitBy[asn], ex.EdgeMembers[asn])
		m["asn"] = asn
		members = append(members, m)
	}
	slices.SortFunc(members, func(x, y gin.H) int { return cmpUint(uint64(x["asn"].(uint32)), uint64(y["asn"].(uint32))) })
	c.JSON(http.StatusOK, gin.H{"from": r.from, "to": r.to, "overall": share(ixpTotal, transitTotal, len(ex.EdgeMembers) > 0), "members": members})
}
