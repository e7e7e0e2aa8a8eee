// Package routeserver is the exchange's route server: GoBGP v4 embedded in
// route-server mode (RFC 7947), with sessions for every member address in
// the members file (RFC 8212: nobody else), import filters that keep a
// failing route tagged with its reasons, and looking-glass queries.
//
// GoBGP stays behind this package's own types (Neighbor, Route, Reason) so
// that its core can be tuned or replaced without touching the API.
package routeserver

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	api "github.com/osrg/gobgp/v4/api"
	"github.com/osrg/gobgp/v4/pkg/apiutil"
	"github.com/osrg/gobgp/v4/pkg/packet/bgp"
	"github.com/osrg/gobgp/v4/pkg/server"
	"github.com/prometheus/client_golang/prometheus"
	"golang.org/x/sync/errgroup"
	"google.golang.org/grpc"

	"github.com/ixpd/ixpd/routeserver/members"
	"github.com/ixpd/ixpd/routeserver/rpki"
)

// ErrNotFound is returned for an unknown neighbor.
var ErrNotFound = errors.New("not found")

// ErrNotRunning is returned by queries before Start or after Stop.
var ErrNotRunning = errors.New("route server is not running")

// observerAddr is a session that never comes up and exists only so that
// the looking glass can read every route in the route-server RIB after
// import filtering (GoBGP shows a client's view without the client's own
// routes). 100::/64 is the IPv6 discard prefix (RFC 6666): no member can
// have it.
const observerAddr = "100::1"

// observerASN: a client's view also hides paths holding the client's AS.
// AS 0 may never appear in a path (RFC 7607).
const observerASN = 0

// Dependencies are what the route server needs from other components.
type Dependencies struct {
	// Members is the members file's content at start.
	Members *members.Set
	// Passwords are the sessions' TCP-MD5 passwords at start.
	Passwords Passwords
}

// Component is the route server.
type Component struct {
	logger  *slog.Logger
	cfg     Configuration
	metrics *metrics

	mu           sync.Mutex // guards bgp, sessions, policies, restarts
	bgp          *server.BgpServer
	sessions     map[netip.Addr]session
	policies     map[uint32]memberPolicy // by member ASN
	gen          int
	shared       sharedPolicy
	sharedGen    int
	data         policyData
	members      *members.Set // the members file in force
	vrpCache     *rpki.Cache  // serves routeserver.rpki.vrp_file; nil without one
	vrpMtime     time.Time
	restarts     map[netip.Addr]*time.Timer
	lastErr      map[netip.Addr]string // why each session last went down
	up           map[netip.Addr]bool   // sessions established, as the events said
	started      time.Time
	reconfigured time.Time
	gshut        bool // the whole route server is in graceful shutdown
	passwords    Passwords

	initial *members.Set
	snap    atomic.Pointer[snapshot]
	eg      *errgroup.Group
	cancel  context.CancelFunc
}

// session is one configured BGP session with a member address.
type session struct {
	asn       uint32
	name      string
	addr      netip.Addr
	maxPrefix int
	password  Secret // TCP-MD5; zero: none
	desc      string // the description GoBGP holds; "": name
}

func (s session) family() api.Family_Afi {
	if s.addr.Is4() {
		return api.Family_AFI_IP
	}
	return api.Family_AFI_IP6
}

// New builds the route server; it does no I/O.
func New(logger *slog.Logger, reg prometheus.Registerer, cfg Configuration, deps Dependencies) (*Component, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	c := &Component{
		logger:    logger.With("component", "routeserver"),
		cfg:       cfg,
		sessions:  map[netip.Addr]session{},
		policies:  map[uint32]memberPolicy{},
		restarts:  map[netip.Addr]*time.Timer{},
		lastErr:   map[netip.Addr]string{},
		up:        map[netip.Addr]bool{},
		initial:   deps.Members,
		passwords: deps.Passwords,
	}
	c.metrics = newMetrics(c)
	if err := reg.Register(newMD5Metrics()); err != nil {
		return nil, fmt.Errorf("register route server metrics: %w", err)
	}
	if err := reg.Register(c.metrics); err != nil {
		return nil, fmt.Errorf("register route server metrics: %w", err)
	}
	return c, nil
}

// Start starts GoBGP, installs the filters and opens a session for every
// member address with routeserver: true.
func (c *Component) Start(ctx context.Context) error {
	// GoBGP logs every peer change at info; ixpd logs session changes
	// itself (onPeerEvent) and keeps GoBGP's warnings and errors.
	lvl := &slog.LevelVar{}
	lvl.Set(slog.LevelWarn)
	gobgpLog := slog.New(minLevel{Handler: c.logger.Handler(), min: slog.LevelWarn}).With("engine", "gobgp")
	opts := []server.ServerOption{server.LoggerOption(gobgpLog, lvl)}
	if c.cfg.GRPCListen != "" {
		opts = append(opts, server.GrpcListenAddress(c.cfg.GRPCListen),
			server.GrpcOption([]grpc.ServerOption{grpc.ChainStreamInterceptor(hidePasswords)}))
	}
	s := server.NewBgpServer(opts...)
	runCtx, cancel := context.WithCancel(context.Background())
	c.cancel = cancel
	c.eg, runCtx = errgroup.WithContext(runCtx)
	c.eg.Go(func() error { s.Serve(); return nil })
	if c.cfg.GRPCListen != "" {
		c.logger.Info("GoBGP gRPC API listening", "address", c.cfg.GRPCListen)
	}

	err := s.StartBgp(ctx, &api.StartBgpRequest{Global: &api.Global{
		Asn:             c.cfg.ASN,
		RouterId:        c.cfg.RouterID.String(),
		ListenPort:      c.cfg.Listen.port(),
		ListenAddresses: c.cfg.Listen.hosts(),
	}})
	if err != nil {
		s.Stop()
		cancel()
		return fmt.Errorf("start BGP on %v: %w", c.cfg.Listen, err)
	}
	c.mu.Lock()
	c.bgp = s
	c.mu.Unlock()
	data, err := c.loadData(policyData{})
	if err != nil {
		return c.failStart(err)
	}
	if err := installStatic(ctx, s, c.cfg); err != nil {
		return c.failStart(err)
	}
	c.mu.Lock()
	c.data = data
	c.sharedGen = 1
	c.shared = newSharedPolicy(c.cfg, data, c.sharedGen)
	c.gshut = c.cfg.GracefulShutdown
	c.mu.Unlock()
	if err := installPolicy(ctx, s, c.shared.sets, c.shared.pol); err != nil {
		return c.failStart(err)
	}
	if err := c.startRPKI(ctx, s); err != nil {
		return c.failStart(err)
	}
	if c.cfg.RPKI.Enabled() {
		c.eg.Go(func() error { return c.rpkiLoop(runCtx, s) })
	}
	if err := s.AddPeer(ctx, &api.AddPeerRequest{Peer: &api.Peer{
		Conf:        &api.PeerConf{NeighborAddress: observerAddr, PeerAsn: observerASN, AdminDown: true, Description: "ixpd looking-glass view"},
		State:       &api.PeerState{AdminState: api.PeerState_ADMIN_STATE_DOWN},
		Transport:   &api.Transport{PassiveMode: true},
		RouteServer: &api.RouteServer{RouteServerClient: true},
		AfiSafis:    []*api.AfiSafi{afiSafi(api.Family_AFI_IP, 0), afiSafi(api.Family_AFI_IP6, 0)},
	}}); err != nil {
		return c.failStart(fmt.Errorf("add looking-glass view: %w", err))
	}
	if err := s.WatchEvent(runCtx, server.WatchEventMessageCallbacks{OnPeerUpdate: c.onPeerEvent}, server.WatchPeer()); err != nil {
		return c.failStart(fmt.Errorf("watch peer events: %w", err))
	}
	c.eg.Go(func() error { return c.snapshotLoop(runCtx) })
	c.eg.Go(func() error { return c.md5Loop(runCtx) })
	if c.initial != nil {
		if err := c.SetMembers(ctx, c.initial); err != nil {
			return c.failStart(err)
		}
	}
	c.mu.Lock()
	c.started = time.Now().UTC()
	c.reconfigured = c.started
	c.mu.Unlock()
	c.logger.Info("route server started", "asn", c.cfg.ASN, "listen", c.cfg.Listen, "sessions", len(c.sessions))
	return nil
}

func (c *Component) failStart(err error) error {
	c.mu.Lock()
	s := c.bgp
	c.bgp = nil
	c.mu.Unlock()
	if s != nil {
		s.Stop()
	}
	c.cancel()
	if c.vrpCache != nil {
		_ = c.vrpCache.Close()
	}
	_ = c.eg.Wait()
	return err
}

// Stop closes every session with a Cease and stops GoBGP.
func (c *Component) Stop(ctx context.Context) error {
	c.mu.Lock()
	s := c.bgp
	c.bgp = nil
	for _, t := range c.restarts {
		t.Stop()
	}
	c.mu.Unlock()
	if s == nil {
		return nil
	}
	s.Stop() // closes every session with a Cease
	c.cancel()
	if c.vrpCache != nil {
		_ = c.vrpCache.Close()
	}
	return c.eg.Wait()
}

func afiSafi(afi api.Family_Afi, maxPrefix int) *api.AfiSafi {
	f := &api.Family{Afi: afi, Safi: api.Family_SAFI_UNICAST}
	a := &api.AfiSafi{Config: &api.AfiSafiConfig{Family: f, Enabled: true}}
	if maxPrefix > 0 {
		a.PrefixLimits = &api.PrefixLimit{Family: f, MaxPrefixes: uint32(maxPrefix)}
	}
	return a
}

// sessionsFrom lists the sessions the members file asks for.
func sessionsFrom(set *members.Set, pw Passwords) map[netip.Addr]session {
	out := map[netip.Addr]session{}
	for _, m := range set.Members {
		for _, a := range m.Addresses {
			if !a.RouteServer {
				continue
			}
			out[a.IP] = session{asn: m.ASN, name: m.Name, addr: a.IP, maxPrefix: a.MaxPrefix, password: pw.For(m.ASN, a.IP)}
		}
	}
	return out
}

// SetMembers brings the sessions in line with a members file: added
// members get sessions, removed ones are shut down, changed limits,
// addresses and route-server settings apply without resetting sessions.
func (c *Component) SetMembers(ctx context.Context, set *members.Set) error {
	c.mu.Lock()
	s := c.bgp
	if s == nil {
		c.mu.Unlock()
		return ErrNotRunning
	}
	want := sessionsFrom(set, c.passwords)
	c.members = set
	var errs []error
	// Removed sessions.
	for addr, cur := range c.sessions {
		if nw, ok := want[addr]; ok && nw.asn == cur.asn {
			continue
		}
		if err := s.DeletePeer(ctx, &api.DeletePeerRequest{Address: addr.String()}); err != nil {
			errs = append(errs, fmt.Errorf("remove session %s (AS%d): %w", addr, cur.asn, err))
		}
		if t := c.restarts[addr]; t != nil {
			t.Stop()
			delete(c.restarts, addr)
		}
		delete(c.sessions, addr)
		delete(c.up, addr)
		delete(c.lastErr, addr)
		c.logger.Info("session removed", "peer", addr, "peer_asn", cur.asn)
	}
	// Policies of changed members are swapped under the sessions that
	// stay; new sessions are assigned theirs below.
	resets, err := c.syncPolicies(ctx, s, memberInputs(set), false)
	if err != nil {
		errs = append(errs, err)
	}
	// Added and changed sessions.
	for addr, nw := range want {
		cur, exists := c.sessions[addr]
		if exists {
			// GoBGP keeps the description the peer was added with: a
			// new one would re-create the peer (a reset that also
			// drops its filters). The looking glass shows nw.name.
			nw.desc = cmp.Or(cur.desc, cur.name)
		}
		switch {
		case !exists:
			if err := s.AddPeer(ctx, &api.AddPeerRequest{Peer: c.peerConfig(nw)}); err != nil {
				errs = append(errs, fmt.Errorf("add session %s (AS%d): %w", addr, nw.asn, err))
				continue
			}
			if err := assign(ctx, s, addr.String(), c.shared, c.policies[nw.asn], c.gshut); err != nil {
				errs = append(errs, err)
			}
			c.logger.Info("session added", "peer", addr, "peer_asn", nw.asn, "name", nw.name)
		case !cur.password.Equal(nw.password):
			if err := c.recreate(ctx, s, nw); err != nil {
				errs = append(errs, err)
				nw = cur
			}
		case cur.maxPrefix != nw.maxPrefix:
			if _, err := s.UpdatePeer(ctx, &api.UpdatePeerRequest{Peer: c.peerConfig(nw)}); err != nil {
				errs = append(errs, fmt.Errorf("update session %s (AS%d): %w", addr, nw.asn, err))
			}
		}
		c.sessions[addr] = nw
	}
	c.reconfigured = time.Now().UTC()
	c.mu.Unlock()
	errs = append(errs, runResets(ctx, s, resets))
	return errors.Join(errs...)
}

func (c *Component) peerConfig(s session) *api.Peer {
	hold := uint64(c.cfg.HoldTime / time.Second)
	p := &api.Peer{
		Conf: &api.PeerConf{NeighborAddress: s.addr.String(), PeerAsn: s.asn, Description: cmp.Or(s.desc, s.name),
			AuthPassword: s.password.Reveal()},
		Timers: &api.Timers{Config: &api.TimersConfig{
			HoldTime:          hold,
			KeepaliveInterval: hold / 3,
			ConnectRetry:      uint64(c.cfg.ConnectRetry / time.Second),
		}},
		Transport: &api.Transport{PassiveMode: c.cfg.Passive, RemotePort: uint32(c.cfg.PeerPort)},
		// Secondary routes: when the export policy keeps the best path
		// from a member (control communities, blackholes), the next best
		// one is sent (RFC 7947 path hiding). The routes it once seemed
		// to lose were the session-up race that scheduleResync covers.
		RouteServer: &api.RouteServer{RouteServerClient: true, SecondaryRoute: true},
	}
	for _, l := range c.cfg.Listen {
		if l.Addr().Is4() == s.addr.Is4() && !l.Addr().IsUnspecified() {
			p.Transport.LocalAddress = l.Addr().String()
		}
	}
	limit := 0
	if c.cfg.MaxPrefix.Enabled {
		limit = s.maxPrefix
	}
	p.AfiSafis = []*api.AfiSafi{afiSafi(s.family(), limit)}
	return p
}

// resyncDelay is how long after a session comes up its routes are sent
// again in full.
const resyncDelay = 2 * time.Second

// scheduleResync sends a member its whole table again shortly after its
// session comes up. GoBGP 4.8 drops the updates it queued for a session in
// the moment that session turns established (handleFSMMessage drains the
// outgoing queue after the table dump may have missed them), so a member
// that connects while others are sending misses routes for good. A soft
// reset out re-sends what GoBGP believes it sent; duplicates replace
// themselves. Call with c.mu held.
func (c *Component) scheduleResync(addr netip.Addr) {
	s := c.bgp
	if s == nil {
		return
	}
	time.AfterFunc(resyncDelay, func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		err := s.ResetPeer(ctx, &api.ResetPeerRequest{Address: addr.String(), Soft: true, Direction: api.ResetPeerRequest_DIRECTION_OUT})
		if err != nil {
			c.logger.Debug("resync after session up", "peer", addr, "err", err)
		}
	})
}

// sessionErrors are the reasons worth showing even for a session that
// never came up: the member spoke BGP and something was wrong.
var sessionErrors = map[api.PeerState_DisconnectReason]bool{
	api.PeerState_DISCONNECT_REASON_NOTIFICATION_SENT:     true,
	api.PeerState_DISCONNECT_REASON_NOTIFICATION_RECEIVED: true,
	api.PeerState_DISCONNECT_REASON_INVALID_MSG:           true,
	api.PeerState_DISCONNECT_REASON_BAD_PEER_AS:           true,
	api.PeerState_DISCONNECT_REASON_HOLD_TIMER_EXPIRED:    true,
}

// onPeerEvent re-enables a session that GoBGP shut down for exceeding its
// max-prefix limit, after max_prefix.restart_after.
func (c *Component) onPeerEvent(ev *apiutil.WatchEventMessage_PeerEvent, _ time.Time) {
	if ev.Type != apiutil.PEER_EVENT_STATE {
		return
	}
	addr := ev.Peer.State.NeighborAddress
	c.mu.Lock()
	defer c.mu.Unlock()
	held := c.restarts[addr] != nil
	if ev.Peer.State.SessionState == bgp.BGP_FSM_ESTABLISHED {
		if !c.up[addr] {
			c.up[addr] = true
			c.logger.Info("session established", "peer", addr, "peer_asn", ev.Peer.State.PeerASN)
			c.scheduleResync(addr)
		}
		return
	}
	wasUp := c.up[addr]
	if wasUp {
		delete(c.up, addr)
		c.logger.Info("session down", "peer", addr, "peer_asn", ev.Peer.State.PeerASN,
			"reason", disconnectText(ev.Peer.State.DisconnectReason, ev.Peer.State.DisconnectMessage))
	}
	if ev.Peer.State.AdminState != api.PeerState_ADMIN_STATE_PFX_CT {
		// While held down for max prefix, keep that as the reason; a
		// member that never answers is not an error worth keeping.
		why := disconnectText(ev.Peer.State.DisconnectReason, ev.Peer.State.DisconnectMessage)
		if why != "" && !held && (wasUp || sessionErrors[ev.Peer.State.DisconnectReason]) {
			c.lastErr[addr] = why
		}
		return
	}
	ss, ok := c.sessions[addr]
	if !ok || held || c.bgp == nil {
		return
	}
	c.lastErr[addr] = c.maxPrefixReason(ss.maxPrefix)
	c.metrics.maxPrefixTeardowns.WithLabelValues(addr.String()).Inc()
	c.logger.Warn("session torn down: max prefix exceeded", "peer", addr, "peer_asn", ss.asn,
		"max_prefix", ss.maxPrefix, "restart_after", c.cfg.MaxPrefix.RestartAfter)
	c.restarts[addr] = time.AfterFunc(c.cfg.MaxPrefix.RestartAfter, func() {
		c.mu.Lock()
		s := c.bgp
		delete(c.restarts, addr)
		c.mu.Unlock()
		if s == nil {
			return
		}
		if err := s.EnablePeer(context.Background(), &api.EnablePeerRequest{Address: addr.String()}); err != nil {
			c.logger.Warn("re-enable session after max prefix", "peer", addr, "err", err)
		}
	})
}

// maxPrefixReason says why a session over its max-prefix is down.
func (c *Component) maxPrefixReason(maxPrefix int) string {
	return fmt.Sprintf("maximum number of prefixes (%d) exceeded: Cease sent, held down for %s", maxPrefix, c.cfg.MaxPrefix.RestartAfter)
}

// minLevel drops records below min; it quiets GoBGP's info logs.
type minLevel struct {
	slog.Handler
	min slog.Level
}

// Enabled implements slog.Handler.
func (h minLevel) Enabled(ctx context.Context, l slog.Level) bool {
	return l >= h.min && h.Handler.Enabled(ctx, l)
}

// WithAttrs implements slog.Handler.
func (h minLevel) WithAttrs(attrs []slog.Attr) slog.Handler {
	return minLevel{Handler: h.Handler.WithAttrs(attrs), min: h.min}
}

// WithGroup implements slog.Handler.
func (h minLevel) WithGroup(name string) slog.Handler {
	return minLevel{Handler: h.Handler.WithGroup(name), min: h.min}
}
