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
// member (see analytics.DomesticBytes).
func domesticBytes(ctx context.Context, st analytics.Store, r timeRange, pc flow.PathClass) (total uint64, byMember map[uint32]uint64, err error) {
	return analytics.DomesticBytes(ctx, st, r.from, r.to, pc)
}

// share renders a local share, or why there is none (see
// analytics.NewDomesticShare).
func share(viaIXP, viaTransit uint64, hasExporter bool) gin.H {
	d := analytics.NewDomesticShare(viaIXP, viaTransit, hasExporter)
	out := gin.H{"via_ixp_bytes": d.ViaIXPBytes, "via_transit_bytes": d.ViaTransitBytes, "local_share": nil}
	if d.LocalShare != nil {
		out["local_share"] = *d.LocalShare
	}
	if d.Note != "" {
		out["note"] = d.Note
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
