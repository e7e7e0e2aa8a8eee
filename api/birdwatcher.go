package api

// The birdwatcher-compatible surface: the part of birdwatcher's JSON API
// (github.com/alice-lg/birdwatcher) that Alice-LG's birdwatcher source reads
// with type = single_table, served from the route server's looking glass
// under /birdwatcher. The shapes follow birdwatcher, field by field, because
// Alice-LG asserts their types without checking: api.Version is a string,
// result_from_cache a bool, as_path a list of strings, communities lists of
// numbers, local_pref and med strings. See
// ../shared/notes/alice-lg-birdwatcher-contract.md.

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/ixpd/ixpd/routeserver"
)

const (
	// birdwatcherVersion is what api.Version says: the birdwatcher release
	// whose shapes this surface follows.
	birdwatcherVersion = "2.2.5-ixpd"
	// birdwatcherTTL is how long Alice-LG may keep a response (ttl).
	birdwatcherTTL = 30 * time.Second
	// birdTime is BIRD's "iso long" time, used for every time but ttl and
	// cached_at; Alice-LG reads it with its servertime_short and
	// servertime_ext settings, which must be set to this layout.
	birdTime = "2006-01-02 15:04:05"
	// birdMetric is the metric BIRD shows on BGP routes.
	birdMetric = 100
)

// birdwatcherRoutes registers the birdwatcher-compatible endpoints on g:
// on the main API under /birdwatcher with the looking glass's access rule,
// and at the root of api.birdwatcher_listen without a token.
func (a *Component) birdwatcherRoutes(g gin.IRoutes) {
	g.GET("/status", a.bwStatus)
	g.GET("/protocols", a.bwProtocols)
	g.GET("/protocols/bgp", a.bwProtocols)
	g.GET("/routes/protocol/:id", a.bwProtocolRoutes(routeserver.Accepted))
	g.GET("/routes/filtered/:id", a.bwProtocolRoutes(routeserver.Filtered))
	g.GET("/routes/noexport/:id", a.bwProtocolRoutes(routeserver.NotExported))
	g.GET("/routes/peer/:addr", a.bwPeerRoutes)
	g.GET("/routes/table/:table", a.bwTableRoutes(routeserver.Accepted))
	g.GET("/routes/table/:table/filtered", a.bwTableRoutes(routeserver.Filtered))
	g.GET("/routes/count/protocol/:id", a.bwProtocolCount)
	g.GET("/routes/count/table/:table", a.bwTableCount)
}

// birdwatcherRouter serves only the birdwatcher-compatible endpoints, at
// the root as birdwatcher does, for api.birdwatcher_listen. Alice-LG sends
// no token, so this listener asks for none: bind it where Alice-LG runs.
func (a *Component) birdwatcherRouter() *gin.Engine {
	gin.SetMode(gin.ReleaseMode)
	r := gin.New()
	r.Use(gin.Recovery(), a.observe())
	r.NoRoute(func(c *gin.Context) {
		c.AbortWithStatusJSON(http.StatusNotFound, gin.H{"error": "no such endpoint: " + c.Request.URL.Path})
	})
	a.birdwatcherRoutes(r)
	return r
}

// protocolID names a neighbor as a BIRD protocol: AS65001_192_0_2_1,
// AS65001_2001_db8__1. It is stable, URL-safe and unique, as sessions are
// unique per address.
func protocolID(asn uint32, addr netip.Addr) string {
	a := strings.NewReplacer(".", "_", ":", "_").Replace(addr.Unmap().WithZone("").String())
	return "AS" + strconv.FormatUint(uint64(asn), 10) + "_" + a
}

// routeProtocolID is the protocol id of the neighbor that sent r, "" when
// the route server does not say.
func routeProtocolID(r routeserver.Route) string {
	addr, err := netip.ParseAddr(r.Neighbor)
	if err != nil {
		return ""
	}
	return protocolID(r.NeighborASN, addr)
}

// bwAPI is birdwatcher's "api" object. Version is spelt with a capital V
// in birdwatcher and Alice-LG reads it so.
type bwAPI struct {
	Version         string        `json:"Version"`
	ResultFromCache bool          `json:"result_from_cache"`
	CacheStatus     bwCacheStatus `json:"cache_status"`
}

type bwCacheStatus struct {
	CachedAt bwTimeInfo `json:"cached_at"`
}

type bwTimeInfo struct {
	Date         string `json:"date"`
	TimezoneType string `json:"timezone_type"`
	Timezone     string `json:"timezone"`
}

// bwEnvelope starts every successful response.
type bwEnvelope struct {
	API bwAPI  `json:"api"`
	TTL string `json:"ttl"`
}

func newEnvelope(now time.Time) bwEnvelope {
	return bwEnvelope{
		API: bwAPI{Version: birdwatcherVersion, CacheStatus: bwCacheStatus{CachedAt: bwTimeInfo{
			Date: now.Format(time.RFC3339), TimezoneType: "UTC", Timezone: "UTC"}}},
		TTL: now.Add(birdwatcherTTL).Format(time.RFC3339),
	}
}

// bwErrorBody is birdwatcher's error: a string, without "api", so that
// Alice-LG reports "bird error: <message>" instead of reading an empty
// result.
type bwErrorBody struct {
	Error string `json:"error"`
}

// bwError answers err in birdwatcher's shape with the status that fits.
func bwError(c *gin.Context, err error) {
	status, _, msg := errorStatus(c, err)
	c.AbortWithStatusJSON(status, bwErrorBody{Error: msg})
}

type bwStatusBody struct {
	bwEnvelope
	Status bwStatusInfo `json:"status"`
}

type bwStatusInfo struct {
	CurrentServer string `json:"current_server"`
	LastReboot    string `json:"last_reboot,omitempty"`
	LastReconfig  string `json:"last_reconfig,omitempty"`
	Version       string `json:"version"`
	Message       string `json:"message"`
	RouterID      string `json:"router_id,omitempty"`
}

func (a *Component) bwStatus(c *gin.Context) {
	now := time.Now().UTC()
	st := a.deps.RouteServer.Status()
	info := bwStatusInfo{CurrentServer: now.Format(birdTime), Version: "ixpd " + a.deps.Version}
	switch {
	case st.Started.IsZero():
		info.Message = "Route server is not running"
	case st.GracefulShutdown:
		info.Message = "Daemon is up and running; graceful shutdown (RFC 8326) in progress"
	default:
		info.Message = "Daemon is up and running"
	}
	if !st.Started.IsZero() {
		info.LastReboot = st.Started.UTC().Format(birdTime)
		info.LastReconfig = info.LastReboot
	}
	if !st.Reconfigured.IsZero() {
		info.LastReconfig = st.Reconfigured.UTC().Format(birdTime)
	}
	if st.RouterID.IsValid() {
		info.RouterID = st.RouterID.String()
	}
	c.JSON(http.StatusOK, bwStatusBody{bwEnvelope: newEnvelope(now), Status: info})
}

type bwProtocolsBody struct {
	bwEnvelope
	Protocols map[string]bwProtocol `json:"protocols"`
}

// bwProtocol is a neighbor as birdwatcher shows a BGP protocol of
// `show protocols all`.
type bwProtocol struct {
	Protocol     string `json:"protocol"`
	BirdProtocol string `json:"bird_protocol"`
	Table        string `json:"table"`
	// State is "up" when the session is established, else "down".
	State        string `json:"state"`
	StateChanged string `json:"state_changed,omitempty"`
	// Connection and BGPState hold the BGP state (Established, Active, ...).
	Connection      string         `json:"connection"`
	BGPState        string         `json:"bgp_state"`
	Description     string         `json:"description"`
	NeighborAddress string         `json:"neighbor_address"`
	NeighborAS      uint32         `json:"neighbor_as"`
	LocalAS         uint32         `json:"local_as"`
	LastError       string         `json:"last_error,omitempty"`
	ImportLimit     int            `json:"import_limit,omitempty"`
	Routes          bwRoutesCounts `json:"routes"`
}

// bwRoutesCounts are BIRD's route counts: imported is what was accepted.
type bwRoutesCounts struct {
	Imported int `json:"imported"`
	Filtered int `json:"filtered"`
	Exported int `json:"exported"`
}

// bgpStates spells the route server's session states as BIRD does.
var bgpStates = map[string]string{
	"idle":        "Idle",
	"connect":     "Connect",
	"active":      "Active",
	"opensent":    "OpenSent",
	"openconfirm": "OpenConfirm",
	"established": "Established",
	"down":        "Down",
	"max_prefix":  "Down (max prefix)",
}

func (a *Component) bwProtocols(c *gin.Context) {
	now := time.Now().UTC()
	ns, err := a.deps.RouteServer.Neighbors(c.Request.Context())
	if err != nil {
		bwError(c, err)
		return
	}
	st := a.deps.RouteServer.Status()
	ps := make(map[string]bwProtocol, len(ns))
	for _, n := range ns {
		p := newProtocol(n, st)
		ps[p.Protocol] = p
	}
	c.JSON(http.StatusOK, bwProtocolsBody{bwEnvelope: newEnvelope(now), Protocols: ps})
}

func newProtocol(n routeserver.Neighbor, st routeserver.Status) bwProtocol {
	p := bwProtocol{
		Protocol: protocolID(n.ASN, n.Address), BirdProtocol: "BGP", Table: "master4", State: "down",
		Description: n.Description, NeighborAddress: n.Address.String(), NeighborAS: n.ASN, LocalAS: st.ASN,
		LastError: n.LastError, ImportLimit: n.MaxPrefix,
		Routes: bwRoutesCounts{Imported: n.Routes.Accepted, Filtered: n.Routes.Filtered, Exported: n.Routes.Exported},
	}
	if n.Address.Is6() && !n.Address.Is4In6() {
		p.Table = "master6"
	}
	if n.State == "established" {
		p.State = "up"
	}
	p.BGPState = bgpStates[n.State]
	if p.BGPState == "" {
		p.BGPState = n.State
	}
	p.Connection = p.BGPState
	switch {
	case n.Since != nil:
		p.StateChanged = n.Since.UTC().Format(birdTime)
	case !st.Started.IsZero():
		// Never up nor down since the route server started.
		p.StateChanged = st.Started.UTC().Format(birdTime)
	}
	return p
}

type bwRoutesBody struct {
	bwEnvelope
	Routes []bwRoute `json:"routes"`
}

// bwRoute is a route as birdwatcher shows one of `show route all`.
type bwRoute struct {
	Network      string   `json:"network"`
	Gateway      string   `json:"gateway"`
	LearntFrom   string   `json:"learnt_from"`
	FromProtocol string   `json:"from_protocol"`
	Interface    string   `json:"interface"`
	Metric       int      `json:"metric"`
	Primary      bool     `json:"primary"`
	Type         []string `json:"type"`
	Age          string   `json:"age"`
	BGP          bwBGP    `json:"bgp"`
	// RejectReasons and NoExportReason are ixpd's own; Alice-LG shows the
	// reasons from the RS_ASN:1101:code large communities.
	RejectReasons  []routeserver.Reason `json:"reject_reasons,omitempty"`
	NoExportReason string               `json:"noexport_reason,omitempty"`
}

type bwBGP struct {
	Origin           string      `json:"origin"`
	ASPath           []string    `json:"as_path"`
	NextHop          string      `json:"next_hop"`
	LocalPref        string      `json:"local_pref,omitempty"`
	MED              string      `json:"med,omitempty"`
	Communities      [][2]uint32 `json:"communities"`
	LargeCommunities [][3]uint32 `json:"large_communities"`
	ExtCommunities   [][3]string `json:"ext_communities"`
}

var birdOrigins = map[string]string{"igp": "IGP", "egp": "EGP", "incomplete": "Incomplete"}

// newRoute converts a looking-glass route.
func newRoute(r routeserver.Route, now time.Time) bwRoute {
	out := bwRoute{
		Network: r.Prefix.String(), Gateway: r.Neighbor, LearntFrom: r.Neighbor, FromProtocol: routeProtocolID(r),
		Metric: birdMetric, Primary: r.Best, Type: []string{"BGP", "unicast", "univ"},
		Age:           now.Add(-time.Duration(r.Age * float64(time.Second))).Format(birdTime),
		RejectReasons: r.RejectReasons, NoExportReason: r.NoExportReason,
		BGP: bwBGP{Origin: birdOrigins[r.Origin], ASPath: make([]string, len(r.ASPath)),
			Communities: [][2]uint32{}, LargeCommunities: [][3]uint32{}, ExtCommunities: [][3]string{}},
	}
	if r.NextHop.IsValid() {
		out.BGP.NextHop = r.NextHop.String()
	}
	if out.Gateway == "" {
		out.Gateway, out.LearntFrom = out.BGP.NextHop, out.BGP.NextHop
	}
	if out.BGP.Origin == "" {
		out.BGP.Origin = r.Origin
	}
	for i, asn := range r.ASPath {
		out.BGP.ASPath[i] = strconv.FormatUint(uint64(asn), 10)
	}
	if r.LocalPref != nil {
		out.BGP.LocalPref = strconv.FormatUint(uint64(*r.LocalPref), 10)
	}
	if r.MED != nil {
		out.BGP.MED = strconv.FormatUint(uint64(*r.MED), 10)
	}
	for _, s := range r.Communities {
		if v, ok := parseCommunity(s, 2, 16); ok {
			out.BGP.Communities = append(out.BGP.Communities, [2]uint32{v[0], v[1]})
		}
	}
	for _, s := range r.LargeCommunities {
		if v, ok := parseCommunity(s, 3, 32); ok {
			out.BGP.LargeCommunities = append(out.BGP.LargeCommunities, [3]uint32{v[0], v[1], v[2]})
		}
	}
	return out
}

// parseCommunity splits "a:b" or "a:b:c" into n numbers of bits bits.
func parseCommunity(s string, n, bits int) ([]uint32, bool) {
	parts := strings.Split(s, ":")
	if len(parts) != n {
		return nil, false
	}
	out := make([]uint32, n)
	for i, p := range parts {
		v, err := strconv.ParseUint(p, 10, bits)
		if err != nil {
			return nil, false
		}
		out[i] = uint32(v)
	}
	return out, true
}

func writeRoutes(c *gin.Context, rs []routeserver.Route) {
	now := time.Now().UTC()
	out := make([]bwRoute, len(rs))
	for i, r := range rs {
		out[i] = newRoute(r, now)
	}
	c.JSON(http.StatusOK, bwRoutesBody{bwEnvelope: newEnvelope(now), Routes: out})
}

// neighborByProtocol finds the neighbor a protocol id names.
func (a *Component) neighborByProtocol(ctx context.Context, id string) (routeserver.Neighbor, error) {
	ns, err := a.deps.RouteServer.Neighbors(ctx)
	if err != nil {
		return routeserver.Neighbor{}, err
	}
	for _, n := range ns {
		if protocolID(n.ASN, n.Address) == id {
			return n, nil
		}
	}
	return routeserver.Neighbor{}, fmt.Errorf("protocol %q: %w; /birdwatcher/protocols/bgp lists them", id, routeserver.ErrNotFound)
}

// bwProtocolRoutes lists one neighbor's routes of a kind: accepted
// (BIRD's imported), filtered, or not exported to it.
func (a *Component) bwProtocolRoutes(kind routeserver.RouteKind) gin.HandlerFunc {
	return func(c *gin.Context) {
		ctx := c.Request.Context()
		n, err := a.neighborByProtocol(ctx, c.Param("id"))
		if err != nil {
			bwError(c, err)
			return
		}
		rs, err := a.deps.RouteServer.Routes(ctx, n.ID, kind)
		if err != nil {
			bwError(c, err)
			return
		}
		writeRoutes(c, rs)
	}
}

// bwPeerRoutes lists the accepted routes a neighbor address sent.
func (a *Component) bwPeerRoutes(c *gin.Context) {
	addr, err := netip.ParseAddr(c.Param("addr"))
	if err != nil {
		bwError(c, &badRequest{param: "addr", err: errors.New("want a neighbor address such as 192.0.2.1")})
		return
	}
	rs, err := a.deps.RouteServer.Routes(c.Request.Context(), addr.Unmap().String(), routeserver.Accepted)
	if err != nil {
		bwError(c, err)
		return
	}
	writeRoutes(c, rs)
}

// tableFamily tells which routes a BIRD table name holds: master all,
// master4 IPv4, master6 IPv6.
func tableFamily(table string) (func(netip.Addr) bool, error) {
	switch table {
	case "master":
		return func(netip.Addr) bool { return true }, nil
	case "master4":
		return func(a netip.Addr) bool { return a.Unmap().Is4() }, nil
	case "master6":
		return func(a netip.Addr) bool { return !a.Unmap().Is4() }, nil
	}
	return nil, fmt.Errorf("table %q: %w; want master, master4 or master6", table, routeserver.ErrNotFound)
}

// bwTableRoutes lists every neighbor's accepted or filtered routes of a
// table, in prefix order.
func (a *Component) bwTableRoutes(kind routeserver.RouteKind) gin.HandlerFunc {
	return func(c *gin.Context) {
		inTable, err := tableFamily(c.Param("table"))
		if err != nil {
			bwError(c, err)
			return
		}
		rs, err := a.deps.RouteServer.AllRoutes(c.Request.Context(), kind)
		if err != nil {
			bwError(c, err)
			return
		}
		all := rs[:0]
		for _, r := range rs {
			if inTable(r.Prefix.Addr()) {
				all = append(all, r)
			}
		}
		writeRoutes(c, all)
	}
}

type bwCountBody struct {
	bwEnvelope
	Routes int `json:"routes"`
}

// bwProtocolCount counts a neighbor's accepted routes.
func (a *Component) bwProtocolCount(c *gin.Context) {
	now := time.Now().UTC()
	n, err := a.neighborByProtocol(c.Request.Context(), c.Param("id"))
	if err != nil {
		bwError(c, err)
		return
	}
	c.JSON(http.StatusOK, bwCountBody{bwEnvelope: newEnvelope(now), Routes: n.Routes.Accepted})
}

// bwTableCount counts the accepted routes of a table. Each session carries
// the family of its address, so a neighbor's routes are all in one table.
func (a *Component) bwTableCount(c *gin.Context) {
	now := time.Now().UTC()
	inTable, err := tableFamily(c.Param("table"))
	if err != nil {
		bwError(c, err)
		return
	}
	ns, err := a.deps.RouteServer.Neighbors(c.Request.Context())
	if err != nil {
		bwError(c, err)
		return
	}
	total := 0
	for _, n := range ns {
		if inTable(n.Address) {
			total += n.Routes.Accepted
		}
	}
	c.JSON(http.StatusOK, bwCountBody{bwEnvelope: newEnvelope(now), Routes: total})
}
