package api

import (
	"context"
	"net/http"
	"sync"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/ixpd/ixpd/analytics"
	"github.com/ixpd/ixpd/flow"
)

// Exchange describes the exchange for outside systems.
type Exchange struct {
	Name, NameLong, Country, City string
	Latitude, Longitude           float64
	// TimeZone is the IANA zone the dashboard shows times in (config
	// ixp.time_zone); "" means UTC.
	TimeZone string
	// Members counts the members in the members file now.
	Members func() int
	// MemberASNs lists them.
	MemberASNs func() []uint32
	// EdgeMembers are the members with an edge exporter (member_edge).
	EdgeMembers map[uint32]bool
}

// mapCacheFor is how long a computed map feed is served again.
const mapCacheFor = time.Minute

// mapCache holds the last map feed.
type mapCache struct {
	mu   sync.Mutex
	at   time.Time
	body gin.H
}

// mapFeed answers GET /api/v1/map.geojson: the exchange as one GeoJSON
// Feature for connectivity maps.
func (a *Component) mapFeed(c *gin.Context) {
	a.mapCache.mu.Lock()
	defer a.mapCache.mu.Unlock()
	if a.mapCache.body == nil || time.Since(a.mapCache.at) > mapCacheFor {
		a.mapCache.body = a.buildMapFeed(c.Request.Context(), time.Now())
		a.mapCache.at = time.Now()
	}
	c.Header("Access-Control-Allow-Origin", "*")
	c.Header("Cache-Control", "public, max-age=60")
	c.Header("Content-Type", "application/geo+json")
	c.JSON(http.StatusOK, a.mapCache.body)
}

func (a *Component) buildMapFeed(ctx context.Context, now time.Time) gin.H {
	ex := a.deps.Exchange
	props := gin.H{"name": ex.Name, "name_long": ex.NameLong, "country": ex.Country, "city": ex.City,
		"member_count": nil, "route_server_peers_up": nil, "peak_bps": nil, "p95_bps": nil, "period": nil,
		"local_share": nil, "median_latency_ms": nil, "updated_at": now.UTC()}
	if ex.Members != nil {
		props["member_count"] = ex.Members()
	}
	if a.deps.RouteServer != nil {
		if ns, err := a.deps.RouteServer.Neighbors(ctx); err == nil {
			up := map[uint32]bool{}
			for _, n := range ns {
				if n.State == "established" {
					up[n.ASN] = true
				}
			}
			props["route_server_peers_up"] = len(up)
		}
	}
	if st := a.deps.Store; st != nil {
		month := now.UTC().AddDate(0, -1, 0).Format("2006-01") // the last full month
		if from, to, err := analytics.MonthRange(month); err == nil {
			r := timeRange{from: from, to: to, step: analytics.BinSize}
			if points, err := st.Series(ctx, ixpTraffic(r, analytics.BinSize, analytics.GroupNone)); err == nil {
				s := analytics.Summarize(analytics.FillSeries(points, from, to, analytics.BinSize))
				props["peak_bps"], props["p95_bps"], props["period"] = s.PeakBps, s.P95Bps, month
			}
			if ms, ok := a.ixpMedianLatency(ctx, st, from, to); ok {
				props["median_latency_ms"] = ms
			}
			q := analytics.SeriesQuery{From: from, To: to, Step: to.Sub(from).Truncate(analytics.BinSize),
				GroupBy: analytics.GroupPathClass, Domestic: true, Role: flow.RoleMemberEdge}
			if points, err := st.Series(ctx, q); err == nil {
				var viaIXP, viaTransit uint64
				for _, p := range points {
					switch flow.PathClass(p.Key) {
					case flow.PathViaIXP:
						viaIXP += p.Bytes
					case flow.PathViaTransit:
						viaTransit += p.Bytes
					}
				}
				if share, ok := analytics.LocalShare(viaIXP, viaTransit); ok {
					props["local_share"] = share
				}
			}
		}
	}
	return gin.H{"type": "Feature",
		"geometry":   gin.H{"type": "Point", "coordinates": []float64{ex.Longitude, ex.Latitude}},
		"properties": props}
}
