package routeserver

import (
	"context"
	"fmt"
	"net/netip"
	"slices"
	"time"

	api "github.com/osrg/gobgp/v4/api"
	"github.com/osrg/gobgp/v4/pkg/apiutil"
	"github.com/osrg/gobgp/v4/pkg/packet/bgp"
	"github.com/osrg/gobgp/v4/pkg/server"
)

// RouteCounts are a neighbor's route counts.
type RouteCounts struct {
	Received int `json:"received"`
	Accepted int `json:"accepted"`
	Filtered int `json:"filtered"`
	Exported int `json:"exported"`
}

// Neighbor is a member session as the looking glass shows it.
type Neighbor struct {
	ID          string      `json:"id"`
	ASN         uint32      `json:"asn"`
	Address     netip.Addr  `json:"address"`
	Description string      `json:"description"`
	State       string      `json:"state"`
	Since       *time.Time  `json:"since,omitempty"`
	Uptime      float64     `json:"uptime_seconds"`
	MaxPrefix   int         `json:"max_prefix,omitempty"`
	LastError   string      `json:"last_error,omitempty"`
	Routes      RouteCounts `json:"routes"`
}

// Route is one path as the looking glass shows it.
type Route struct {
	Prefix           netip.Prefix `json:"prefix"`
	NextHop          netip.Addr   `json:"next_hop"`
	ASPath           []uint32     `json:"as_path"`
	Origin           string       `json:"origin"`
	MED              *uint32      `json:"med,omitempty"`
	LocalPref        *uint32      `json:"local_pref,omitempty"`
	Communities      []string     `json:"communities"`
	LargeCommunities []string     `json:"large_communities"`
	Age              float64      `json:"age_seconds"`
	Neighbor         string       `json:"neighbor,omitempty"`
	NeighborASN      uint32       `json:"neighbor_asn,omitempty"`
	State            string       `json:"state,omitempty"`
	Best             bool         `json:"best,omitempty"`
	RejectReasons    []Reason     `json:"reject_reasons,omitempty"`
	// NoExportReason says why a not-exported route is not sent to the
	// neighbor asked about.
	NoExportReason string `json:"noexport_reason,omitempty"`
}

// Status describes the route server as a whole.
type Status struct {
	ASN      uint32     `json:"asn"`
	RouterID netip.Addr `json:"router_id"`
	// Started is when the route server started; zero when not running.
	Started time.Time `json:"started"`
	// Reconfigured is when members or policy data last changed.
	Reconfigured time.Time `json:"reconfigured"`
	// GracefulShutdown is true while the whole route server is in
	// graceful shutdown (RFC 8326).
	GracefulShutdown bool `json:"graceful_shutdown"`
}

// Status returns the route server's identity and state.
func (c *Component) Status() Status {
	c.mu.Lock()
	defer c.mu.Unlock()
	return Status{ASN: c.cfg.ASN, RouterID: c.cfg.RouterID, Started: c.started, Reconfigured: c.reconfigured, GracefulShutdown: c.gshut}
}

// RouteKind selects which of a neighbor's routes to list.
type RouteKind string

// Route kinds of the looking glass.
const (
	Received RouteKind = "received"
	Accepted RouteKind = "accepted"
	Filtered RouteKind = "filtered"
	Exported RouteKind = "exported"
	// NotExported lists other members' accepted routes that the route
	// server does not send to this neighbor, each with why.
	NotExported RouteKind = "not-exported"
)

// ParseRouteKind checks a route kind.
func ParseRouteKind(s string) (RouteKind, error) {
	switch k := RouteKind(s); k {
	case Received, Accepted, Filtered, Exported, NotExported:
		return k, nil
	}
	return "", fmt.Errorf("route kind %q: want received, accepted, filtered, exported or not-exported", s)
}

var families = []bgp.Family{bgp.RF_IPv4_UC, bgp.RF_IPv6_UC}

func (c *Component) server() (*server.BgpServer, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.bgp == nil {
		return nil, ErrNotRunning
	}
	return c.bgp, nil
}

// ribPaths lists every path in the route-server RIB after import
// filtering, optionally for some prefixes only.
func (c *Component) ribPaths(s *server.BgpServer, family bgp.Family, prefixes []*apiutil.LookupPrefix, fn func(prefix bgp.NLRI, paths []*apiutil.Path)) error {
	return s.ListPath(apiutil.ListPathRequest{TableType: api.TableType_TABLE_TYPE_LOCAL, Name: observerAddr,
		Family: family, Prefixes: prefixes}, fn)
}

// filteredBySource counts paths and filtered paths per announcing neighbor.
func (c *Component) countBySource(s *server.BgpServer) (total, filtered map[netip.Addr]int, err error) {
	total, filtered = map[netip.Addr]int{}, map[netip.Addr]int{}
	for _, f := range families {
		err = c.ribPaths(s, f, nil, func(_ bgp.NLRI, paths []*apiutil.Path) {
			for _, p := range paths {
				total[p.PeerAddress]++
				if c.isFiltered(p) {
					filtered[p.PeerAddress]++
				}
			}
		})
		if err != nil {
			return nil, nil, fmt.Errorf("list %s routes: %w", f, err)
		}
	}
	return total, filtered, nil
}

func (c *Component) isFiltered(p *apiutil.Path) bool {
	for _, a := range p.Attrs {
		if lc, ok := a.(*bgp.PathAttributeLargeCommunities); ok {
			for _, v := range lc.Values {
				if v.ASN == c.cfg.ASN && v.LocalData1 == reasonFunction {
					return true
				}
			}
		}
	}
	return false
}

var sessionStates = map[api.PeerState_SessionState]string{
	api.PeerState_SESSION_STATE_IDLE:        "idle",
	api.PeerState_SESSION_STATE_CONNECT:     "connect",
	api.PeerState_SESSION_STATE_ACTIVE:      "active",
	api.PeerState_SESSION_STATE_OPENSENT:    "opensent",
	api.PeerState_SESSION_STATE_OPENCONFIRM: "openconfirm",
	api.PeerState_SESSION_STATE_ESTABLISHED: "established",
}

var disconnectReasons = map[api.PeerState_DisconnectReason]string{
	api.PeerState_DISCONNECT_REASON_ADMIN_DOWN:            "administratively down",
	api.PeerState_DISCONNECT_REASON_HOLD_TIMER_EXPIRED:    "hold timer expired",
	api.PeerState_DISCONNECT_REASON_NOTIFICATION_SENT:     "notification sent",
	api.PeerState_DISCONNECT_REASON_NOTIFICATION_RECEIVED: "notification received",
	api.PeerState_DISCONNECT_REASON_READ_FAILED:           "read failed",
	api.PeerState_DISCONNECT_REASON_WRITE_FAILED:          "write failed",
	api.PeerState_DISCONNECT_REASON_IDLE_TIMER_EXPIRED:    "idle timer expired",
	api.PeerState_DISCONNECT_REASON_RESTART_TIMER_EXPIRED: "restart timer expired",
	api.PeerState_DISCONNECT_REASON_GRACEFUL_RESTART:      "graceful restart",
	api.PeerState_DISCONNECT_REASON_INVALID_MSG:           "invalid message",
	api.PeerState_DISCONNECT_REASON_HARD_RESET:            "hard reset",
	api.PeerState_DISCONNECT_REASON_DECONFIGURED:          "deconfigured",
	api.PeerState_DISCONNECT_REASON_BAD_PEER_AS:           "bad peer AS",
}

// disconnectText says why a session last went down.
func disconnectText(reason api.PeerState_DisconnectReason, msg string) string {
	text := disconnectReasons[reason]
	switch {
	case text == "":
		return msg
	case msg == "":
		return text
	}
	return text + ": " + msg
}

// Neighbors lists every member session with its state and route counts.
func (c *Component) Neighbors(ctx context.Context) ([]Neighbor, error) {
	s, err := c.server()
	if err != nil {
		return nil, err
	}
	total, filtered, err := c.countBySource(s)
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	sessions := make(map[netip.Addr]session, len(c.sessions))
	for k, v := range c.sessions {
		sessions[k] = v
	}
	lastErr := make(map[netip.Addr]string, len(c.lastErr))
	for k, v := range c.lastErr {
		lastErr[k] = v
	}
	c.mu.Unlock()

	var out []Neighbor
	err = s.ListPeer(ctx, &api.ListPeerRequest{EnableAdvertised: true}, func(p *api.Peer) {
		addr, err := netip.ParseAddr(p.GetConf().GetNeighborAddress())
		if err != nil {
			return
		}
		ss, ok := sessions[addr]
		if !ok {
			return // the looking-glass view
		}
		n := Neighbor{ID: addr.String(), ASN: ss.asn, Address: addr, Description: ss.name, MaxPrefix: ss.maxPrefix}
		st := p.GetState()
		n.State = sessionStates[st.GetSessionState()]
		switch st.GetAdminState() {
		case api.PeerState_ADMIN_STATE_DOWN:
			n.State = "down"
		case api.PeerState_ADMIN_STATE_PFX_CT:
			n.State = "max_prefix"
		}
		n.LastError = lastErr[addr]
		if n.State == "max_prefix" && n.LastError == "" {
			// GoBGP's state can show the hold-down before the watch
			// event that records the reason has been handled.
			n.LastError = c.maxPrefixReason(ss.maxPrefix)
		}
		if ts := p.GetTimers().GetState(); ts != nil {
			since := ts.GetDowntime()
			if n.State == "established" {
				since = ts.GetUptime()
			}
			if since != nil && since.GetSeconds() > 0 {
				t := since.AsTime().UTC()
				n.Since = &t
				if n.State == "established" {
					n.Uptime = time.Since(t).Round(time.Second).Seconds()
				}
			}
		}
		for _, af := range p.GetAfiSafis() {
			n.Routes.Exported += int(af.GetState().GetAdvertised())
		}
		n.Routes.Received = total[addr]
		n.Routes.Filtered = filtered[addr]
		n.Routes.Accepted = total[addr] - filtered[addr]
		out = append(out, n)
	})
	if err != nil {
		return nil, fmt.Errorf("list peers: %w", err)
	}
	slices.SortFunc(out, func(a, b Neighbor) int { return a.Address.Compare(b.Address) })
	return out, nil
}

// Routes lists a neighbor's routes of one kind. Received routes carry the
// reasons of those that were filtered.
func (c *Component) Routes(ctx context.Context, id string, kind RouteKind) ([]Route, error) {
	s, err := c.server()
	if err != nil {
		return nil, err
	}
	addr, err := netip.ParseAddr(id)
	if err != nil {
		return nil, fmt.Errorf("neighbor %q: %w", id, ErrNotFound)
	}
	c.mu.Lock()
	_, ok := c.sessions[addr]
	c.mu.Unlock()
	if !ok {
		return nil, fmt.Errorf("neighbor %s: %w", id, ErrNotFound)
	}
	out := []Route{}
	if kind == NotExported {
		return c.notExported(s, addr)
	}
	if kind == Exported {
		for _, f := range families {
			err := s.ListPath(apiutil.ListPathRequest{TableType: api.TableType_TABLE_TYPE_ADJ_OUT, Name: addr.String(), Family: f},
				func(nlri bgp.NLRI, paths []*apiutil.Path) {
					for _, p := range paths {
						out = append(out, c.route(nlri, p))
					}
				})
			if err != nil {
				return nil, fmt.Errorf("list routes exported to %s: %w", addr, err)
			}
		}
		sortRoutes(out)
		return out, nil
	}
	for _, f := range families {
		err := c.ribPaths(s, f, nil, func(nlri bgp.NLRI, paths []*apiutil.Path) {
			for _, r := range c.routesOf(nlri, paths) {
				if r.Neighbor != id || !kindHas(kind, r) {
					continue
				}
				out = append(out, r)
			}
		})
		if err != nil {
			return nil, fmt.Errorf("list routes of %s: %w", addr, err)
		}
	}
	sortRoutes(out)
	return out, nil
}

// routesOf converts the paths of one prefix and marks the best: the first
// accepted one, as GoBGP orders them.
func (c *Component) routesOf(nlri bgp.NLRI, paths []*apiutil.Path) []Route {
	out := make([]Route, len(paths))
	bestSeen := false
	for i, p := range paths {
		out[i] = c.route(nlri, p)
		if out[i].State == "accepted" && !bestSeen {
			out[i].Best, bestSeen = true, true
		}
	}
	return out
}

// kindHas tells whether r belongs to the received, accepted or filtered
// routes.
func kindHas(kind RouteKind, r Route) bool {
	switch kind {
	case Accepted:
		return r.State == "accepted"
	case Filtered:
		return r.State == "filtered"
	}
	return true
}

// AllRoutes lists every neighbor's routes of one kind (received, accepted
// or filtered) in one pass over the RIB.
func (c *Component) AllRoutes(ctx context.Context, kind RouteKind) ([]Route, error) {
	if kind != Received && kind != Accepted && kind != Filtered {
		return nil, fmt.Errorf("route kind %q: want received, accepted or filtered", kind)
	}
	s, err := c.server()
	if err != nil {
		return nil, err
	}
	out := []Route{}
	for _, f := range families {
		err := c.ribPaths(s, f, nil, func(nlri bgp.NLRI, paths []*apiutil.Path) {
			for _, r := range c.routesOf(nlri, paths) {
				if kindHas(kind, r) {
					out = append(out, r)
				}
			}
		})
		if err != nil {
			return nil, fmt.Errorf("list routes: %w", err)
		}
	}
	sortRoutes(out)
	return out, nil
}

// Lookup returns every path for the most specific prefix that covers p,
// with the neighbor that sent it and whether it was accepted or filtered.
func (c *Component) Lookup(ctx context.Context, p netip.Prefix) (netip.Prefix, []Route, error) {
	s, err := c.server()
	if err != nil {
		return netip.Prefix{}, nil, err
	}
	family := bgp.RF_IPv4_UC
	if p.Addr().Is6() {
		family = bgp.RF_IPv6_UC
	}
	var best netip.Prefix
	var out []Route
	err = c.ribPaths(s, family, []*apiutil.LookupPrefix{{Prefix: p.Masked().String(), LookupOption: apiutil.LOOKUP_SHORTER}},
		func(nlri bgp.NLRI, paths []*apiutil.Path) {
			pfx, err := netip.ParsePrefix(nlri.String())
			if err != nil || (best.IsValid() && pfx.Bits() <= best.Bits()) {
				return
			}
			best, out = pfx, c.routesOf(nlri, paths)
		})
	if err != nil {
		return netip.Prefix{}, nil, fmt.Errorf("look up %s: %w", p, err)
	}
	if out == nil {
		out = []Route{}
	}
	return best, out, nil
}

func sortRoutes(rs []Route) {
	slices.SortFunc(rs, func(a, b Route) int {
		if c := a.Prefix.Addr().Compare(b.Prefix.Addr()); c != 0 {
			return c
		}
		return a.Prefix.Bits() - b.Prefix.Bits()
	})
}

var originNames = map[uint8]string{0: "igp", 1: "egp", 2: "incomplete"}

// route converts a GoBGP path.
func (c *Component) route(nlri bgp.NLRI, p *apiutil.Path) Route {
	r := Route{Communities: []string{}, LargeCommunities: []string{}, ASPath: []uint32{}}
	r.Prefix, _ = netip.ParsePrefix(nlri.String())
	if p.Age > 0 {
		r.Age = time.Since(time.Unix(p.Age, 0)).Round(time.Second).Seconds()
	}
	if p.PeerAddress.IsValid() {
		r.Neighbor = p.PeerAddress.String()
		r.NeighborASN = p.PeerASN
	}
	for _, a := range p.Attrs {
		switch a := a.(type) {
		case *bgp.PathAttributeOrigin:
			r.Origin = originNames[a.Value]
		case *bgp.PathAttributeAsPath:
			for _, seg := range a.Value {
				r.ASPath = append(r.ASPath, seg.GetAS()...)
			}
		case *bgp.PathAttributeNextHop:
			r.NextHop = a.Value
		case *bgp.PathAttributeMpReachNLRI:
			r.NextHop = a.Nexthop
		case *bgp.PathAttributeMultiExitDisc:
			v := a.Value
			r.MED = &v
		case *bgp.PathAttributeLocalPref:
			v := a.Value
			r.LocalPref = &v
		case *bgp.PathAttributeCommunities:
			for _, v := range a.Value {
				r.Communities = append(r.Communities, fmt.Sprintf("%d:%d", v>>16, v&0xffff))
			}
		case *bgp.PathAttributeLargeCommunities:
			for _, v := range a.Values {
				r.LargeCommunities = append(r.LargeCommunities, fmt.Sprintf("%d:%d:%d", v.ASN, v.LocalData1, v.LocalData2))
			}
		}
	}
	r.RejectReasons = reasonsFromLargeCommunities(c.cfg.ASN, r.LargeCommunities)
	r.State = "accepted"
	if len(r.RejectReasons) > 0 {
		r.State = "filtered"
	}
	return r
}

// SessionState tells whether addr has a route-server session configured
// and whether it is established now.
func (c *Component) SessionState(addr netip.Addr) (configured, established bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	_, configured = c.sessions[addr]
	return configured, configured && c.up[addr]
}

// SetGracefulShutdown puts the whole route server into graceful shutdown
// (RFC 8326) or takes it out: while on, every route sent to members
// carries GRACEFUL_SHUTDOWN (65535:0). Sessions stay up.
func (c *Component) SetGracefulShutdown(ctx context.Context, on bool) error {
	return c.setGracefulShutdown(ctx, on)
}

// sentKey identifies a path in a neighbor's Adj-RIB-Out: the prefix and
// the member that announced it.
type sentKey struct {
	prefix netip.Prefix
	source netip.Addr
}

// notExported lists other members' accepted routes that addr does not
// get, each with the reason.
func (c *Component) notExported(s *server.BgpServer, addr netip.Addr) ([]Route, error) {
	c.mu.Lock()
	ss := c.sessions[addr]
	blackholes := c.cfg.Blackhole.Enabled
	if c.members != nil && blackholes {
		blackholes = false
		for _, m := range c.members.Members {
			if m.ASN == ss.asn {
				blackholes = m.RouteServer.Blackhole
			}
		}
	}
	c.mu.Unlock()
	sent := map[sentKey]bool{}
	sentPrefix := map[netip.Prefix]string{}
	for _, f := range families {
		err := s.ListPath(apiutil.ListPathRequest{TableType: api.TableType_TABLE_TYPE_ADJ_OUT, Name: addr.String(), Family: f},
			func(nlri bgp.NLRI, paths []*apiutil.Path) {
				pfx, err := netip.ParsePrefix(nlri.String())
				if err != nil {
					return
				}
				for _, p := range paths {
					sent[sentKey{pfx, p.PeerAddress}] = true
					sentPrefix[pfx] = p.PeerAddress.String()
				}
			})
		if err != nil {
			return nil, fmt.Errorf("list routes exported to %s: %w", addr, err)
		}
	}
	out := []Route{}
	f := bgp.RF_IPv4_UC
	if addr.Is6() {
		f = bgp.RF_IPv6_UC
	}
	{
		err := c.ribPaths(s, f, nil, func(nlri bgp.NLRI, paths []*apiutil.Path) {
			for _, p := range paths {
				if p.PeerAddress == addr {
					continue
				}
				r := c.route(nlri, p)
				if r.State != "accepted" || sent[sentKey{r.Prefix, p.PeerAddress}] {
					continue
				}
				r.NoExportReason = c.noExportReason(r, ss.asn, blackholes, sentPrefix[r.Prefix])
				out = append(out, r)
			}
		})
		if err != nil {
			return nil, fmt.Errorf("list routes not exported to %s: %w", addr, err)
		}
	}
	sortRoutes(out)
	return out, nil
}

// noExportReason says why route r is not sent to the member with ASN
// peer; sentFrom is the neighbor whose path for the prefix is sent
// instead, if any.
func (c *Component) noExportReason(r Route, peer uint32, blackholes bool, sentFrom string) string {
	rs, p := formatASN(c.cfg.ASN), formatASN(peer)
	has := slices.Contains[[]string]
	switch {
	case slices.Contains(r.ASPath, peer):
		return "the AS path holds AS" + p
	case has(r.Communities, communityBlackhole) && !blackholes:
		return "blackhole route; AS" + p + " does not take blackholes"
	case c.cfg.ControlCommunities && (has(r.Communities, "0:"+p) || has(r.LargeCommunities, rs+":0:"+p)):
		return "do not announce to AS" + p + " (" + rs + ":0:" + p + ")"
	case c.cfg.ControlCommunities && (has(r.Communities, "0:"+rs) || has(r.LargeCommunities, rs+":0:"+rs)) &&
		!has(r.Communities, rs+":"+p) && !has(r.LargeCommunities, rs+":1:"+p):
		return "announced to nobody but the members it names (" + rs + ":0:" + rs + ")"
	case sentFrom != "":
		return "another path is sent for this prefix (from " + sentFrom + ")"
	}
	return "not sent"
}
