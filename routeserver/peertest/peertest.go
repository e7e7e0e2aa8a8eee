// Package peertest runs real BGP speakers (BIRD 2 and OpenBGPD) as route-server members in integration tests.
//
// A test describes a member with [Member] and the routes it announces with [Route], starts it with [StartBIRD] or
// [StartOpenBGPD], and then reads what the member received from the route server with [Router.Received]. Each
// daemon runs in the foreground as a child process with its own configuration file, control socket and log under
// a directory the caller owns (usually t.TempDir()), peers over loopback addresses, and never touches the
// kernel routing table.
//
// The daemons need root (OpenBGPD drops privileges to its own user and chroots; IPv6 addresses are added to lo).
// [Available] tells whether they are installed, so that tests can skip locally and fail in CI.
package peertest

import (
	"bufio"
	"cmp"
	"context"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"syscall"
	"time"
)

// Route is a route that a member announces to the route server or received from it.
type Route struct {
	// Prefix is the announced or received prefix.
	Prefix netip.Prefix
	// NextHop is the BGP next hop. When announcing, the zero value lets the daemon use its own session address
	// and a set value forces that next hop (a third-party next hop).
	NextHop netip.Addr
	// ASPath is, for a received route, the full AS_PATH as the member sees it. When announcing, it lists the
	// ASNs that follow the member's own ASN: {64999} makes the path "ASN 64999".
	ASPath []uint32
	// NoOwnASN, when announcing, leaves the member's own ASN out of the AS_PATH, so the path is exactly ASPath
	// and its left-most AS is not the member's. Always false for received routes.
	NoOwnASN bool
	// MED is the MULTI_EXIT_DISC, meaningful when HasMED is set.
	MED uint32
	// HasMED tells whether the route carries a MED.
	HasMED bool
	// Communities are RFC 1997 communities as "65000:1". Received communities are sorted numerically.
	Communities []string
	// LargeCommunities are RFC 8092 large communities as "64512:1101:3". Received ones are sorted numerically.
	LargeCommunities []string
}

// Member describes one member router and its BGP sessions with the route server.
type Member struct {
	// Name is a short identifier ([A-Za-z0-9_.-]) used in file names and log messages.
	Name string
	// ASN is the member's AS number.
	ASN uint32
	// Addr4 is the member's IPv4 session address, such as 127.0.0.2; zero means no IPv4 session.
	Addr4 netip.Addr
	// Addr6 is the member's IPv6 session address, such as fd00:ffff::2; zero means no IPv6 session. Start adds
	// it to lo when it is missing.
	Addr6 netip.Addr
	// RSAddr4 and RSAddr6 are the route server's addresses for the IPv4 and IPv6 sessions.
	RSAddr4, RSAddr6 netip.Addr
	// OtherRS are the addresses of the exchange's other route servers (such as its second one): the member
	// has one more session with each, of the address's family, with the same RSASN and Port. BIRD only.
	OtherRS []netip.Addr
	// RSASN is the route server's AS number.
	RSASN uint32
	// Port is the TCP port: the member listens on its addresses at Port and connects to the route server's
	// addresses at Port.
	Port int
	// Routes are the routes the member announces when it starts.
	Routes []Route
	// Password is the TCP-MD5 (RFC 2385) password of the member's sessions; "" means none. BIRD only.
	Password string
}

// Router is a running member daemon.
type Router struct {
	member  Member
	dir     string
	logPath string
	d       daemon
	life    context.Context // bounds the daemon's life across restarts, as in exec.CommandContext

	op sync.Mutex // serializes SetRoutes, Restart and Stop

	mu     sync.Mutex // guards routes and proc
	routes []Route
	proc   *process
}

// daemon is what differs between BIRD and OpenBGPD.
type daemon interface {
	// kind names the daemon in messages ("bird", "openbgpd").
	kind() string
	// writeConfig writes the configuration file for the member announcing routes.
	writeConfig(routes []Route) error
	// command returns the command that runs the daemon in the foreground.
	command(ctx context.Context) *exec.Cmd
	// socketPath is the control socket, removed before each start.
	socketPath() string
	// ready returns nil once the control socket answers.
	ready(ctx context.Context) error
	// announce makes a freshly started daemon announce routes, after ready.
	announce(ctx context.Context, routes []Route) error
	// reconfigure changes the announcements of a running daemon from old to routes; the configuration file
	// already holds routes.
	reconfigure(ctx context.Context, old, routes []Route) error
	// established tells which sessions are up.
	established(ctx context.Context) (v4, v6 bool, err error)
	// wake asks sessions that sit out a back-off timer to connect now.
	wake(ctx context.Context) error
	// state describes the sessions for error messages.
	state(ctx context.Context) string
	// received returns the routes learned from the route server, unsorted.
	received(ctx context.Context) ([]Route, error)
	// receivedFrom returns the routes learned on the session with the route server at rs, unsorted.
	receivedFrom(ctx context.Context, rs netip.Addr) ([]Route, error)
	// peerSessions describes each session with a route server.
	peerSessions(ctx context.Context) ([]Session, error)
}

// Session is one of a member's BGP sessions with a route server.
type Session struct {
	// RS is the route server's address.
	RS netip.Addr
	// Established tells whether the session is up.
	Established bool
	// Since is when the session last changed state, to the millisecond; zero when the daemon does not tell
	// (OpenBGPD).
	Since time.Time
}

// ErrExited is returned when the daemon is not running: it was stopped, it crashed, or the context given to
// Start ended.
var ErrExited = errors.New("daemon exited")

const (
	// pollInterval is how often conditions are checked while waiting.
	pollInterval = 50 * time.Millisecond
	// wakeInterval is how often WaitEstablished wakes sessions that wait to reconnect.
	wakeInterval = time.Second
	// stopGrace is how long a daemon has to exit after SIGTERM before it is killed.
	stopGrace = 5 * time.Second
	// logTailLines is how many log lines LogTail returns.
	logTailLines = 40
	// maxSocketPath is the longest control socket path a Unix socket accepts, less some margin.
	maxSocketPath = 100
)

var namePattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.-]*$`)

// start validates m, prepares dir and starts the daemon. ctx bounds the daemon's life.
func start(ctx context.Context, dir string, m Member, newDaemon func(Member, string) daemon) (*Router, error) {
	if err := m.validate(); err != nil {
		return nil, err
	}
	for _, a := range []netip.Addr{m.Addr4, m.Addr6} {
		if a.IsValid() {
			if err := EnsureLoopbackAddr(a); err != nil {
				return nil, fmt.Errorf("member %s: %w", m.Name, err)
			}
		}
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("member %s: %w", m.Name, err)
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, fmt.Errorf("member %s: %w", m.Name, err)
	}
	d := newDaemon(m, abs)
	if n := len(d.socketPath()); n > maxSocketPath {
		return nil, fmt.Errorf("member %s: control socket path %s is %d bytes long, more than %d", m.Name,
			d.socketPath(), n, maxSocketPath)
	}
	r := &Router{
		member:  m,
		dir:     abs,
		logPath: filepath.Join(abs, m.Name+".log"),
		d:       d,
		life:    ctx,
		routes:  slices.Clone(m.Routes),
	}
	if err := d.writeConfig(r.routes); err != nil {
		return nil, fmt.Errorf("member %s: write %s config: %w", m.Name, d.kind(), err)
	}
	if err := r.start(ctx); err != nil {
		return nil, err
	}
	return r, nil
}

// process is one run of the daemon.
type process struct {
	cmd  *exec.Cmd
	done chan struct{} // closed when the process has exited
	err  error         // the result of Wait, set before done is closed
}

// exitStatus is how the process ended, as an error to wrap: the result of Wait, or "exit status 0" for a clean
// exit. Call it only once done is closed.
func (p *process) exitStatus() error {
	if p.err == nil {
		return errors.New("exit status 0")
	}
	return p.err
}

// start runs the daemon and waits until its control socket answers and it announces its routes.
func (r *Router) start(ctx context.Context) error {
	if err := os.Remove(r.d.socketPath()); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("member %s: remove stale control socket: %w", r.member.Name, err)
	}
	logf, err := os.OpenFile(r.logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return fmt.Errorf("member %s: open log: %w", r.member.Name, err)
	}
	cmd := r.d.command(r.life)
	cmd.Dir = r.dir
	cmd.Stdout = logf
	cmd.Stderr = logf
	// Own process group so that Stop reaches the daemon's children (bgpd forks three), and SIGKILL when the
	// test binary dies so that no daemon outlives a crashed test.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	err = cmd.Start()
	_ = logf.Close() // the child holds its own descriptor
	if err != nil {
		return fmt.Errorf("member %s: start %s: %w", r.member.Name, r.d.kind(), err)
	}
	p := &process{cmd: cmd, done: make(chan struct{})}
	go func() {
		p.err = cmd.Wait()
		close(p.done)
	}()
	r.mu.Lock()
	r.proc = p
	routes := r.routes
	r.mu.Unlock()

	err = r.poll(ctx, func(ctx context.Context) error { return r.d.ready(ctx) })
	if err == nil {
		err = r.d.announce(ctx, routes)
	}
	if err != nil {
		_ = r.stop() // the start error below says what went wrong and carries the log
		return fmt.Errorf("member %s: start %s: %w\nlog tail:\n%s", r.member.Name, r.d.kind(), err, r.LogTail())
	}
	return nil
}

// poll calls check until it returns nil, the daemon exits or ctx ends.
func (r *Router) poll(ctx context.Context, check func(context.Context) error) error {
	r.mu.Lock()
	p := r.proc
	r.mu.Unlock()
	if p == nil {
		return ErrExited
	}
	err := pollUntil(ctx, p.done, check)
	if errors.Is(err, ErrExited) {
		return fmt.Errorf("%w: %w", err, p.exitStatus())
	}
	return err
}

// pollUntil calls check every pollInterval until it returns nil, ctx ends or done is closed (then the error
// wraps ErrExited).
func pollUntil(ctx context.Context, done <-chan struct{}, check func(context.Context) error) error {
	t := time.NewTicker(pollInterval)
	defer t.Stop()
	var last error
	for {
		err := check(ctx)
		if err == nil {
			return nil
		}
		if ctx.Err() == nil || last == nil { // a check cut short by ctx tells nothing new
			last = err
		}
		select {
		case <-done:
			return ErrExited
		case <-ctx.Done():
			return fmt.Errorf("%w (last: %w)", ctx.Err(), last)
		case <-t.C:
		}
	}
}

// Stop terminates the daemon (SIGTERM, then SIGKILL after a grace period) and waits for it. It returns an error
// wrapping [ErrExited] if the daemon had already exited on its own.
func (r *Router) Stop() error {
	r.op.Lock()
	defer r.op.Unlock()
	return r.stop()
}

func (r *Router) stop() error {
	r.mu.Lock()
	p := r.proc
	r.proc = nil
	r.mu.Unlock()
	if p == nil {
		return nil
	}
	pid := p.cmd.Process.Pid
	select {
	case <-p.done:
		_ = syscall.Kill(-pid, syscall.SIGKILL) // children left behind, if any; ESRCH when none
		if r.life.Err() != nil {
			return nil // killed because the context given to Start ended, as documented
		}
		return fmt.Errorf("member %s: %w before Stop: %w", r.member.Name, ErrExited, p.exitStatus())
	default:
	}
	_ = syscall.Kill(-pid, syscall.SIGTERM) // the group may already be gone: then done is closed below
	timer := time.NewTimer(stopGrace)
	defer timer.Stop()
	select {
	case <-p.done:
	case <-timer.C:
		_ = syscall.Kill(-pid, syscall.SIGKILL)
		<-p.done
	}
	_ = syscall.Kill(-pid, syscall.SIGKILL) // children that outlived the leader, if any
	return nil
}

// Restart stops the daemon and starts it again with the current configuration and routes (those of the last
// SetRoutes); it also starts a stopped or crashed daemon. ctx bounds the wait for the daemon to start; the
// daemon's life stays bound to the context given to Start.
func (r *Router) Restart(ctx context.Context) error {
	r.op.Lock()
	defer r.op.Unlock()
	// A daemon that had exited on its own is simply started again.
	_ = r.stop()
	return r.start(ctx)
}

// Established tells whether the IPv4 and IPv6 sessions with the route server are established (with a member of
// several route servers, see [Member.OtherRS]: all the sessions of the family). A session that is not
// configured reports false.
func (r *Router) Established(ctx context.Context) (v4, v6 bool, err error) {
	if !r.running() {
		return false, false, fmt.Errorf("member %s: %w", r.member.Name, ErrExited)
	}
	v4, v6, err = r.d.established(ctx)
	if err != nil {
		return false, false, fmt.Errorf("member %s: session state: %w", r.member.Name, err)
	}
	return v4, v6, nil
}

// WaitEstablished waits until every configured session is established. On failure the error includes the
// session state and the daemon's log tail. While it waits, it brings up OpenBGPD sessions that sit idle after a
// session loss (OpenBGPD waits 30 s before it reconnects, twice as long after each loss) as "bgpctl neighbor
// up" would.
func (r *Router) WaitEstablished(ctx context.Context) error {
	want4, want6 := r.member.Addr4.IsValid(), r.member.Addr6.IsValid()
	var woken time.Time
	err := r.poll(ctx, func(ctx context.Context) error {
		v4, v6, err := r.d.established(ctx)
		switch {
		case err != nil:
			return err
		case want4 && !v4, want6 && !v6:
			if time.Since(woken) >= wakeInterval {
				woken = time.Now()
				if err := r.d.wake(ctx); err != nil {
					return err
				}
			}
			return fmt.Errorf("established: ipv4 %v, ipv6 %v", v4, v6)
		}
		return nil
	})
	if err == nil {
		return nil
	}
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	return fmt.Errorf("member %s (%s): sessions not established: %w\nstate:\n%s\nlog tail:\n%s",
		r.member.Name, r.d.kind(), err, r.d.state(sctx), r.LogTail())
}

// Received returns the routes the member received from the route server on all its sessions (its
// Adj-RIB-In, including routes with the member's own ASN in the AS_PATH, which both daemons are configured
// to keep), sorted by prefix (IPv4 first), with communities sorted numerically. NoOwnASN is always
// false; see [StartOpenBGPD] for MED.
func (r *Router) Received(ctx context.Context) ([]Route, error) {
	if !r.running() {
		return nil, fmt.Errorf("member %s: %w", r.member.Name, ErrExited)
	}
	routes, err := r.d.received(ctx)
	if err != nil {
		return nil, fmt.Errorf("member %s: received routes: %w", r.member.Name, err)
	}
	sortRoutes(routes)
	return routes, nil
}

// ReceivedFrom returns the routes the member received on its session with the route server at rs (RSAddr4,
// RSAddr6 or one of OtherRS), sorted as [Router.Received] sorts them.
func (r *Router) ReceivedFrom(ctx context.Context, rs netip.Addr) ([]Route, error) {
	if !slices.Contains(r.member.rsAddrs(), rs) {
		return nil, fmt.Errorf("member %s: no session with %s", r.member.Name, rs)
	}
	if !r.running() {
		return nil, fmt.Errorf("member %s: %w", r.member.Name, ErrExited)
	}
	routes, err := r.d.receivedFrom(ctx, rs)
	if err != nil {
		return nil, fmt.Errorf("member %s: received routes from %s: %w", r.member.Name, rs, err)
	}
	sortRoutes(routes)
	return routes, nil
}

// Sessions describes each of the member's sessions with a route server, in the order of RSAddr4, RSAddr6 and
// OtherRS. A session that was never reset keeps its Since.
func (r *Router) Sessions(ctx context.Context) ([]Session, error) {
	if !r.running() {
		return nil, fmt.Errorf("member %s: %w", r.member.Name, ErrExited)
	}
	ss, err := r.d.peerSessions(ctx)
	if err != nil {
		return nil, fmt.Errorf("member %s: sessions: %w", r.member.Name, err)
	}
	return ss, nil
}

// SetRoutes replaces the member's announcements without restarting the daemon. It returns once the daemon
// has taken the new configuration; the route server sees the change shortly after.
func (r *Router) SetRoutes(ctx context.Context, routes []Route) error {
	if err := r.member.checkRoutes(routes); err != nil {
		return err
	}
	routes = slices.Clone(routes)
	r.op.Lock()
	defer r.op.Unlock()
	if !r.running() {
		return fmt.Errorf("member %s: %w", r.member.Name, ErrExited)
	}
	if err := r.d.writeConfig(routes); err != nil {
		return fmt.Errorf("member %s: write %s config: %w", r.member.Name, r.d.kind(), err)
	}
	r.mu.Lock()
	old := r.routes
	r.routes = routes // the configuration file now holds them, so Restart uses them whatever happens next
	r.mu.Unlock()
	if err := r.d.reconfigure(ctx, old, routes); err != nil {
		return fmt.Errorf("member %s: reconfigure %s: %w\nlog tail:\n%s", r.member.Name, r.d.kind(), err,
			r.LogTail())
	}
	return nil
}

// LogTail returns the last lines of the daemon's log (all its runs, appended).
func (r *Router) LogTail() string {
	f, err := os.Open(r.logPath)
	if err != nil {
		return fmt.Sprintf("(no log: %v)", err)
	}
	defer func() { _ = f.Close() }()
	var lines []string
	s := bufio.NewScanner(f)
	for s.Scan() {
		lines = append(lines, s.Text())
		if len(lines) > 2*logTailLines {
			lines = slices.Delete(lines, 0, logTailLines)
		}
	}
	if len(lines) > logTailLines {
		lines = lines[len(lines)-logTailLines:]
	}
	return strings.Join(lines, "\n")
}

// Dir returns the directory holding the daemon's configuration, control socket and log.
func (r *Router) Dir() string { return r.dir }

func (r *Router) running() bool {
	r.mu.Lock()
	p := r.proc
	r.mu.Unlock()
	if p == nil {
		return false
	}
	select {
	case <-p.done:
		return false
	default:
		return true
	}
}

func (m Member) validate() error {
	switch {
	case !namePattern.MatchString(m.Name):
		return fmt.Errorf("member name %q: want letters, digits, '_', '.' or '-'", m.Name)
	case m.ASN == 0:
		return fmt.Errorf("member %s: asn is 0", m.Name)
	case m.RSASN == 0:
		return fmt.Errorf("member %s: route server asn is 0", m.Name)
	case m.ASN == m.RSASN:
		return fmt.Errorf("member %s: asn %d is the route server's: the session must be eBGP", m.Name, m.ASN)
	case m.Port <= 0 || m.Port > 65535:
		return fmt.Errorf("member %s: port %d out of range", m.Name, m.Port)
	case !m.Addr4.IsValid() && !m.Addr6.IsValid():
		return fmt.Errorf("member %s: neither addr4 nor addr6 is set", m.Name)
	case m.Addr4.IsValid() && !m.Addr4.Is4():
		return fmt.Errorf("member %s: addr4 %s is not IPv4", m.Name, m.Addr4)
	case m.Addr4.IsValid() && !m.RSAddr4.Is4():
		return fmt.Errorf("member %s: rs_addr4 %s is not IPv4", m.Name, m.RSAddr4)
	case m.Addr6.IsValid() && (!m.Addr6.Is6() || m.Addr6.Is4In6() || m.Addr6.Zone() != ""):
		return fmt.Errorf("member %s: addr6 %s is not a plain IPv6 address", m.Name, m.Addr6)
	case m.Addr6.IsValid() && (!m.RSAddr6.Is6() || m.RSAddr6.Is4In6() || m.RSAddr6.Zone() != ""):
		return fmt.Errorf("member %s: rs_addr6 %s is not a plain IPv6 address", m.Name, m.RSAddr6)
	case strings.ContainsAny(m.Password, "\"\n"):
		return fmt.Errorf("member %s: the password holds '\"' or a newline, which BIRD's strings cannot", m.Name)
	}
	seen := map[netip.Addr]bool{m.RSAddr4: true, m.RSAddr6: true}
	for _, a := range m.OtherRS {
		switch {
		case !a.IsValid() || a.Is4In6() || a.Zone() != "":
			return fmt.Errorf("member %s: other rs %s is not a plain IPv4 or IPv6 address", m.Name, a)
		case a.Is4() && !m.Addr4.IsValid():
			return fmt.Errorf("member %s: other rs %s: member has no IPv4 session", m.Name, a)
		case a.Is6() && !m.Addr6.IsValid():
			return fmt.Errorf("member %s: other rs %s: member has no IPv6 session", m.Name, a)
		case a == m.Addr4 || a == m.Addr6:
			return fmt.Errorf("member %s: other rs %s is the member's own address", m.Name, a)
		case seen[a]:
			return fmt.Errorf("member %s: route server %s listed twice", m.Name, a)
		}
		seen[a] = true
	}
	if _, err := m.routerID(); err != nil {
		return err
	}
	return m.checkRoutes(m.Routes)
}

// checkRoutes checks that the member can announce routes.
func (m Member) checkRoutes(routes []Route) error {
	seen := map[netip.Prefix]bool{}
	for i, r := range routes {
		if err := m.checkRoute(r); err != nil {
			return fmt.Errorf("member %s: route %d: %w", m.Name, i, err)
		}
		if seen[r.Prefix] {
			return fmt.Errorf("member %s: route %d: prefix %s announced twice", m.Name, i, r.Prefix)
		}
		seen[r.Prefix] = true
	}
	return nil
}

// rsAddrs lists the route servers the member has sessions with: RSAddr4 and RSAddr6 when the member has a
// session of that family, then OtherRS.
func (m Member) rsAddrs() []netip.Addr {
	var out []netip.Addr
	if m.Addr4.IsValid() {
		out = append(out, m.RSAddr4)
	}
	if m.Addr6.IsValid() {
		out = append(out, m.RSAddr6)
	}
	return append(out, m.OtherRS...)
}

// rsAddrsOf lists the route servers of one family, RSAddr4 or RSAddr6 first.
func (m Member) rsAddrsOf(v4 bool) []netip.Addr {
	var out []netip.Addr
	for _, a := range m.rsAddrs() {
		if a.Is4() == v4 {
			out = append(out, a)
		}
	}
	return out
}

// routerID is Addr4, or else the last four bytes of Addr6.
func (m Member) routerID() (netip.Addr, error) {
	if m.Addr4.IsValid() {
		return m.Addr4, nil
	}
	b := m.Addr6.As16()
	id := netip.AddrFrom4([4]byte(b[12:]))
	if id.IsUnspecified() {
		return netip.Addr{}, fmt.Errorf("member %s: no router id: addr4 is unset and addr6 %s ends in 0.0.0.0",
			m.Name, m.Addr6)
	}
	return id, nil
}

func (m Member) checkRoute(r Route) error {
	p := r.Prefix
	switch {
	case !p.IsValid():
		return errors.New("invalid prefix")
	case p != p.Masked():
		return fmt.Errorf("prefix %s has host bits set (want %s)", p, p.Masked())
	case p.Addr().Is4In6() || p.Addr().Zone() != "":
		return fmt.Errorf("prefix %s is not a plain IPv4 or IPv6 prefix", p)
	case p.Addr().Is4() && !m.Addr4.IsValid():
		return fmt.Errorf("prefix %s: member has no IPv4 session", p)
	case p.Addr().Is6() && !m.Addr6.IsValid():
		return fmt.Errorf("prefix %s: member has no IPv6 session", p)
	case r.NextHop.IsValid() && (r.NextHop.Is4() != p.Addr().Is4() || r.NextHop.Is4In6() ||
		r.NextHop.Zone() != ""):
		return fmt.Errorf("prefix %s: next hop %s is not of the prefix's family", p, r.NextHop)
	case !r.NoOwnASN && len(r.ASPath)+1 > 255, r.NoOwnASN && len(r.ASPath) > 255:
		return fmt.Errorf("prefix %s: as path longer than 255", p)
	}
	for _, c := range r.Communities {
		if _, err := parseCommunity(c); err != nil {
			return fmt.Errorf("prefix %s: %w", p, err)
		}
	}
	for _, c := range r.LargeCommunities {
		if _, err := parseLargeCommunity(c); err != nil {
			return fmt.Errorf("prefix %s: %w", p, err)
		}
	}
	return nil
}

// wirePath is the AS_PATH the member sends for r.
func (m Member) wirePath(r Route) []uint32 {
	if r.NoOwnASN {
		return slices.Clone(r.ASPath)
	}
	return append([]uint32{m.ASN}, r.ASPath...)
}

// sortRoutes orders routes by prefix, IPv4 first, and their communities numerically.
func sortRoutes(routes []Route) {
	for i := range routes {
		sortCommunities(routes[i].Communities, parseCommunity, community.compare)
		sortCommunities(routes[i].LargeCommunities, parseLargeCommunity, largeCommunity.compare)
	}
	slices.SortFunc(routes, func(a, b Route) int { return comparePrefix(a.Prefix, b.Prefix) })
}

// prefixes lists the prefixes of routes.
func prefixes(routes []Route) []netip.Prefix {
	ps := make([]netip.Prefix, len(routes))
	for i, r := range routes {
		ps[i] = r.Prefix
	}
	return ps
}

// comparePrefix orders prefixes IPv4 first, then by address and length.
func comparePrefix(a, b netip.Prefix) int {
	return cmp.Or(a.Addr().Compare(b.Addr()), cmp.Compare(a.Bits(), b.Bits()))
}

// sortCommunities sorts cs by compare on their parsed values; a pair that does not parse compares as text.
func sortCommunities[T any](cs []string, parse func(string) (T, error), compare func(a, b T) int) {
	slices.SortFunc(cs, func(a, b string) int {
		ca, erra := parse(a)
		cb, errb := parse(b)
		if erra != nil || errb != nil {
			return strings.Compare(a, b)
		}
		return compare(ca, cb)
	})
}
