package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/netip"
	"os"
	"runtime/pprof"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ixpd/ixpd/routeserver/speaker"
)

// The route server's side of the bench.
const rsASN = 64512

var (
	rsAddr     = netip.MustParseAddr("127.0.0.1")
	peeringLAN = netip.MustParsePrefix("127.0.0.0/8")
)

// benchOptions are rs-bench's flags.
type benchOptions struct {
	members, prefixes int
	targets           []string
	timeout           time.Duration
	runs              int
	json              bool
	ixpdBin, birdBin  string
	birdTables        string
	dialConcurrency   int
	holdTime          time.Duration
	keep              bool
	cpuProfile        string

	// -filters all
	filters        string
	vrps, change   int
	seed           uint64
	eventTimeout   time.Duration
	ixpdCPUProfile string
}

func parseBenchFlags(args []string, stderr io.Writer) (*benchOptions, error) {
	o := &benchOptions{}
	fs := flag.NewFlagSet("rs-bench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		_, _ = fmt.Fprint(stderr, `usage: ixpsim rs-bench [flags]

Brings up simulated members on 127.0.0.10 and up, each announcing its own
/24s, against each route server in -targets in turn, and measures the time
from the first session up until every member holds every other member's
prefixes, with the route server's CPU time and peak RSS.

With -filters all, both route servers filter with every check on and with
generated RPKI, IRR and PeeringDB data, and after convergence the bench
times a VRP change and an IRR change: from the reload (SIGHUP, birdc
configure) until every member has withdrawn every changed prefix.

`)
		fs.PrintDefaults()
	}
	var targets string
	fs.IntVar(&o.members, "members", 100, "number of simulated members `N`")
	fs.IntVar(&o.prefixes, "prefixes", 1000, "IPv4 /24s announced by each member `K`")
	fs.StringVar(&targets, "targets", "ixpd,bird", "route servers to run, in order: ixpd, bird")
	fs.DurationVar(&o.timeout, "timeout", 5*time.Minute, "time allowed per target and run, from route-server start to convergence")
	fs.IntVar(&o.runs, "runs", 1, "runs per target; figures are the median")
	fs.BoolVar(&o.json, "json", false, "print results as JSON")
	fs.StringVar(&o.ixpdBin, "ixpd", "bin/ixpd", "ixpd binary")
	fs.StringVar(&o.birdBin, "bird", "bird", "BIRD 2 binary")
	fs.StringVar(&o.birdTables, "bird-tables", birdSingle, "BIRD table layout: single (rs clients on the master table) or per-client (one table and pipe per client)")
	fs.IntVar(&o.dialConcurrency, "dial-concurrency", 16, "most members dialling at once")
	fs.DurationVar(&o.holdTime, "hold-time", 90*time.Second, "hold time the members propose")
	fs.StringVar(&o.cpuProfile, "cpuprofile", "", "write the bench process's CPU profile to `file`")
	fs.BoolVar(&o.keep, "keep", false, "keep each run's directory (configs and logs) and print where it is")
	fs.StringVar(&o.filters, "filters", filtersPlain, "filter set-up: plain (default import checks, no RPKI/IRR data) or all (every filter on, RPKI, IRR and PeeringDB data, and timed VRP and IRR changes)")
	fs.IntVar(&o.vrps, "vrps", 500000, "with -filters all: VRPs in the route servers' RPKI data")
	fs.IntVar(&o.change, "change", 1000, "with -filters all: member /24s each change event takes away")
	fs.Uint64Var(&o.seed, "seed", 1, "with -filters all: seed of the synthetic VRPs")
	fs.DurationVar(&o.eventTimeout, "event-timeout", 5*time.Minute, "with -filters all: time allowed per change event")
	fs.StringVar(&o.ixpdCPUProfile, "ixpd-cpuprofile", "", "pass -cpuprofile `file` to ixpd run (each ixpd run overwrites it)")
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("rs-bench: unexpected argument %q", fs.Arg(0))
	}
	if err := checkScale(o.members, o.prefixes); err != nil {
		return nil, err
	}
	for _, t := range strings.Split(targets, ",") {
		t = strings.TrimSpace(t)
		switch t {
		case "ixpd", "bird":
			if slices.Contains(o.targets, t) {
				return nil, fmt.Errorf("-targets: %s twice", t)
			}
			o.targets = append(o.targets, t)
		case "":
		default:
			return nil, fmt.Errorf("-targets: unknown target %q (want ixpd, bird)", t)
		}
	}
	if len(o.targets) == 0 {
		return nil, errors.New("-targets: none given")
	}
	if o.runs < 1 {
		return nil, fmt.Errorf("-runs %d: need at least 1", o.runs)
	}
	if o.dialConcurrency < 1 {
		return nil, fmt.Errorf("-dial-concurrency %d: need at least 1", o.dialConcurrency)
	}
	if o.birdTables != birdSingle && o.birdTables != birdPerClient {
		return nil, fmt.Errorf("-bird-tables %q: want %s or %s", o.birdTables, birdSingle, birdPerClient)
	}
	if o.filters != filtersPlain && o.filters != filtersAll {
		return nil, fmt.Errorf("-filters %q: want %s or %s", o.filters, filtersPlain, filtersAll)
	}
	if o.eventTimeout <= 0 {
		return nil, fmt.Errorf("-event-timeout %s: need a positive duration", o.eventTimeout)
	}
	return o, nil
}

// target is a route server the bench can run.
type target interface {
	name() string
	// start writes the route server's configuration into env.dir and
	// starts it listening on env.rsAddr:env.port.
	start(ctx context.Context, env *runEnv) (*rsProcess, error)
}

// runEnv is what a target needs to know about one run.
type runEnv struct {
	dir       string
	rsAddr    netip.Addr
	port      uint16
	maxPrefix int
	members   []*member
	// plan is the filter data of -filters all; nil for the plain set-up.
	plan *filterPlan
}

// member is one simulated member.
type member struct {
	idx  int
	msgs [][]byte // pre-encoded UPDATEs and End-of-RIB

	// Written by the session's reader goroutine only.
	seen bitset
	full bool
	// held counts the other members' prefixes held; read for progress.
	held atomic.Int64
	// unexpected counts prefixes received that are the member's own or not
	// generated by the bench.
	unexpected atomic.Int64
}

// runState tracks one run of one target.
type runState struct {
	n, k    int
	target  int64 // prefixes each member must hold
	members []*member

	complete      atomic.Int64 // members holding all they must
	convergedOnce sync.Once
	converged     chan struct{}
	convergedAt   time.Time // set before converged is closed

	up       atomic.Int64
	firstUp  atomic.Int64 // UnixNano of the first established session
	allUpAt  atomic.Int64
	failOnce sync.Once
	failed   chan error
	stopping chan struct{}

	// ev is the change event under way (-filters all), nil between them.
	ev atomic.Pointer[event]
}

func newRunState(members []*member, k int) *runState {
	n := len(members)
	r := &runState{
		n: n, k: k, target: int64((n - 1) * k), members: members,
		converged: make(chan struct{}),
		failed:    make(chan error, 1),
		stopping:  make(chan struct{}),
	}
	for _, m := range members {
		if m.seen == nil {
			m.seen = newBitset(n * k)
		}
		m.seen.reset()
		m.full = false
		m.held.Store(0)
		m.unexpected.Store(0)
	}
	return r
}

func (r *runState) fail(err error) {
	r.failOnce.Do(func() { r.failed <- err })
}

// onUpdate returns member m's UPDATE callback: it marks the other members'
// prefixes in m's bitset and signals convergence when the last member
// completes.
func (r *runState) onUpdate(m *member) func(announced, withdrawn []netip.Prefix, _ speaker.RawAttributes) {
	all := r.n * r.k
	own0, own1 := m.idx*r.k, (m.idx+1)*r.k
	return func(announced, withdrawn []netip.Prefix, _ speaker.RawAttributes) {
		held := m.held.Load()
		ev := r.ev.Load()
		for _, p := range announced {
			g, ok := indexOf(p)
			if !ok || g >= all || (g >= own0 && g < own1) {
				m.unexpected.Add(1)
				continue
			}
			if m.seen.set(g) {
				held++
				if ev != nil {
					ev.onAnnounce(m.idx, g)
				}
			} else if ev != nil {
				ev.repeated.Add(1)
			}
		}
		for _, p := range withdrawn {
			if g, ok := indexOf(p); ok && g < all && m.seen.clear(g) {
				held--
				if ev != nil {
					ev.onWithdraw(m.idx, g, r.n)
				}
			}
		}
		m.held.Store(held)
		switch {
		case held == r.target && !m.full:
			m.full = true
			if r.complete.Add(1) == int64(r.n) {
				r.convergedOnce.Do(func() {
					r.convergedAt = time.Now()
					close(r.converged)
				})
			}
		case held < r.target && m.full:
			m.full = false
			r.complete.Add(-1)
		}
	}
}

// held returns every member's held count.
func (r *runState) held() []int64 {
	h := make([]int64, len(r.members))
	for i, m := range r.members {
		h[i] = m.held.Load()
	}
	return h
}

// heldStats returns the minimum and median of the members' held counts.
func (r *runState) heldStats() (lo, median int64) {
	h := r.held()
	slices.Sort(h)
	return h[0], h[len(h)/2]
}

func (r *runState) unexpected() int64 {
	var n int64
	for _, m := range r.members {
		n += m.unexpected.Load()
	}
	return n
}

// runMember dials the route server for m, sends m's announcements and
// stays until the session ends or the run stops.
func (r *runState) runMember(ctx context.Context, m *member, rs netip.AddrPort, hold time.Duration, sem chan struct{}) {
	cfg := speaker.Config{
		LocalAddr: memberAddr(m.idx),
		Remote:    rs,
		ASN:       memberASN(m.idx),
		PeerASN:   rsASN,
		RouterID:  memberAddr(m.idx),
		HoldTime:  hold,
		OnUpdate:  r.onUpdate(m),
	}
	select {
	case sem <- struct{}{}:
	case <-ctx.Done():
		return
	}
	s, err := dialRetry(ctx, cfg)
	<-sem
	if err != nil {
		if ctx.Err() == nil {
			r.fail(fmt.Errorf("member %d (%s): %w", m.idx+1, cfg.LocalAddr, err))
		}
		return
	}
	defer func() { _ = s.Close() }() // Close always returns nil
	now := time.Now().UnixNano()
	r.firstUp.CompareAndSwap(0, now)
	if r.up.Add(1) == int64(r.n) {
		r.allUpAt.Store(now)
	}
	for _, msg := range m.msgs {
		if err := s.Send(msg); err != nil {
			r.fail(fmt.Errorf("member %d: %w", m.idx+1, err))
			return
		}
	}
	select {
	case <-s.Done():
		r.fail(fmt.Errorf("member %d (%s): session ended: %w", m.idx+1, cfg.LocalAddr, s.Err()))
	case <-r.stopping:
	case <-ctx.Done():
	}
}

// dialRetry dials until a session is up or ctx ends: a route server that
// has just started may refuse sessions for a moment.
func dialRetry(ctx context.Context, cfg speaker.Config) (*speaker.Session, error) {
	for {
		dctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		s, err := speaker.Dial(dctx, cfg)
		cancel()
		if err == nil {
			return s, nil
		}
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("%w (last attempt: %w)", ctx.Err(), err)
		case <-time.After(250 * time.Millisecond):
		}
	}
}

// runResult is one run of one target.
type runResult struct {
	Target    string `json:"target"`
	Run       int    `json:"run"`
	Converged bool   `json:"converged"`
	Error     string `json:"error,omitempty"`
	// WallSeconds runs from the first session established to the moment
	// the last member held all (N-1)*K prefixes of the others.
	WallSeconds float64 `json:"wall_seconds"`
	// SessionsUpSeconds runs from the first dial to the last session
	// established.
	SessionsUpSeconds float64 `json:"sessions_up_seconds"`
	RSCPUSeconds      float64 `json:"rs_cpu_seconds"`
	RSPeakRSSBytes    int64   `json:"rs_peak_rss_bytes"`
	BenchCPUSeconds   float64 `json:"bench_cpu_seconds"`
	SessionsUp        int     `json:"sessions_up"`
	MembersComplete   int     `json:"members_complete"`
	HeldMin           int64   `json:"held_min"`
	HeldMedian        int64   `json:"held_median"`
	HeldTarget        int64   `json:"held_target"`
	Unexpected        int64   `json:"unexpected_prefixes"`
	// HeldPerMember lists every member's count, for a run that did not
	// converge.
	HeldPerMember []int64 `json:"held_per_member,omitempty"`
	Dir           string  `json:"dir,omitempty"`

	// With -filters all: the two change events after convergence, and the
	// route server's CPU time and peak RSS at the end of the run.
	VRPChange         *eventResult `json:"vrp_change,omitempty"`
	IRRChange         *eventResult `json:"irr_change,omitempty"`
	RSCPUEndSeconds   float64      `json:"rs_cpu_end_seconds,omitempty"`
	RSPeakRSSEndBytes int64        `json:"rs_peak_rss_end_bytes,omitempty"`
}

// runOnce runs target t once with fresh route-server and member state.
func runOnce(ctx context.Context, t target, o *benchOptions, plan *filterPlan, members []*member, runNo int, progress io.Writer) (res runResult, err error) {
	res = runResult{Target: t.name(), Run: runNo, HeldTarget: int64((o.members - 1) * o.prefixes)}
	budget := o.timeout
	if plan != nil {
		budget += 2*o.eventTimeout + time.Minute
	}
	ctx, cancel := context.WithTimeout(ctx, budget)
	defer cancel()
	convergeBy := time.NewTimer(o.timeout)
	defer convergeBy.Stop()

	dir, err := os.MkdirTemp("", "ixpsim-rs-bench-"+t.name()+"-")
	if err != nil {
		return res, err
	}
	if o.keep {
		res.Dir = dir
	} else {
		// Best effort: a temporary directory left behind does not change
		// the result.
		defer func() { _ = os.RemoveAll(dir) }()
	}
	port, err := freePort()
	if err != nil {
		return res, err
	}
	env := &runEnv{dir: dir, rsAddr: rsAddr, port: port, maxPrefix: 2 * o.prefixes, members: members, plan: plan}
	proc, err := t.start(ctx, env)
	if err != nil {
		return res, err
	}
	defer proc.stop()
	rsAddrPort := netip.AddrPortFrom(rsAddr, port)
	if err := waitListening(ctx, proc, rsAddrPort); err != nil {
		return res, err
	}

	r := newRunState(members, o.prefixes)
	var wg sync.WaitGroup
	defer func() {
		close(r.stopping)
		cancel()
		wg.Wait()
	}()
	cpu0, err := selfCPU()
	if err != nil {
		return res, err
	}
	start := time.Now()
	sem := make(chan struct{}, o.dialConcurrency)
	for _, m := range members {
		wg.Go(func() { r.runMember(ctx, m, rsAddrPort, o.holdTime, sem) })
	}

	tick := time.NewTicker(5 * time.Second)
	defer tick.Stop()
	measure := func() {
		if cpu, err := selfCPU(); err == nil {
			res.BenchCPUSeconds = (cpu - cpu0).Seconds()
		}
		if cpu, err := procCPU(proc.pid()); err == nil {
			res.RSCPUSeconds = cpu.Seconds()
		}
		if hwm, err := procHWM(proc.pid()); err == nil {
			res.RSPeakRSSBytes = hwm
		}
		res.SessionsUp = int(r.up.Load())
		res.MembersComplete = int(r.complete.Load())
		res.HeldMin, res.HeldMedian = r.heldStats()
		res.Unexpected = r.unexpected()
		if up := r.allUpAt.Load(); up != 0 {
			res.SessionsUpSeconds = time.Unix(0, up).Sub(start).Seconds()
		}
	}
	for {
		select {
		case <-r.converged:
			measure()
			res.Converged = true
			res.WallSeconds = r.convergedAt.Sub(time.Unix(0, r.firstUp.Load())).Seconds()
			if plan == nil {
				return res, nil
			}
			return res, runEvents(ctx, t, o, plan, env, proc, r, &res, progress)
		case err := <-r.failed:
			measure()
			res.HeldPerMember = r.held()
			return res, err
		case <-proc.exited:
			measure()
			res.HeldPerMember = r.held()
			return res, proc.exitError()
		case <-convergeBy.C:
			measure()
			res.HeldPerMember = r.held()
			return res, fmt.Errorf("did not converge within %s", o.timeout)
		case <-ctx.Done():
			measure()
			res.HeldPerMember = r.held()
			return res, ctx.Err()
		case <-tick.C:
			lo, med := r.heldStats()
			progressf(progress, "  %s run %d: %s: %d/%d sessions up, %d/%d members complete, held min %d median %d of %d\n",
				t.name(), runNo, time.Since(start).Round(time.Second), r.up.Load(), r.n, r.complete.Load(), r.n, lo, med, r.target)
		}
	}
}

// runEvents times the VRP change and then the IRR change on a converged
// route server.
func runEvents(ctx context.Context, t target, o *benchOptions, plan *filterPlan, env *runEnv, proc *rsProcess, r *runState, res *runResult, progress io.Writer) error {
	ft, ok := t.(filterTarget)
	if !ok {
		return fmt.Errorf("%s cannot run with -filters %s", t.name(), o.filters)
	}
	var errs []error
	st := filterState{vrpChanged: true}
	progressf(progress, "  %s run %d: VRP change: %d /24s turn RPKI-invalid\n", t.name(), res.Run, len(plan.vrpChange))
	vrp := runEvent(ctx, changeVRP, ft, env, proc, r, st, plan.vrpChange, o.eventTimeout, progress)
	res.VRPChange = &vrp
	if vrp.Error != "" {
		errs = append(errs, fmt.Errorf("VRP change: %s", vrp.Error))
	} else {
		st.irrChanged = true
		progressf(progress, "  %s run %d: IRR change: %d /24s leave their AS-SETs\n", t.name(), res.Run, len(plan.irrChange))
		irr := runEvent(ctx, changeIRR, ft, env, proc, r, st, plan.irrChange, o.eventTimeout, progress)
		res.IRRChange = &irr
		if irr.Error != "" {
			errs = append(errs, fmt.Errorf("IRR change: %s", irr.Error))
		}
	}
	if cpu, err := procCPU(proc.pid()); err == nil {
		res.RSCPUEndSeconds = cpu.Seconds()
	}
	if hwm, err := procHWM(proc.pid()); err == nil {
		res.RSPeakRSSEndBytes = hwm
	}
	return errors.Join(errs...)
}

// progressf writes a progress line to w. Progress is best effort: a
// failed write must not stop the bench, whose results go to stdout.
func progressf(w io.Writer, format string, args ...any) {
	_, _ = fmt.Fprintf(w, format, args...)
}

// rsBench is the rs-bench subcommand.
func rsBench(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	o, err := parseBenchFlags(args, stderr)
	if err != nil {
		return err
	}
	rep, err := runRSBench(ctx, o, stderr)
	if err != nil {
		return err
	}
	if o.json {
		return rep.writeJSON(stdout)
	}
	return rep.writeTable(stdout)
}

// runRSBench runs each target o.runs times, one after the other in each
// run, and returns the report. Progress goes to stderr.
func runRSBench(ctx context.Context, o *benchOptions, stderr io.Writer) (rep *report, err error) {
	targets := make([]target, len(o.targets))
	for i, name := range o.targets {
		switch name {
		case "ixpd":
			targets[i] = &ixpdTarget{bin: o.ixpdBin, cpuProfile: o.ixpdCPUProfile}
		case "bird":
			targets[i] = &birdTarget{bin: o.birdBin, tables: o.birdTables}
		}
	}

	if o.cpuProfile != "" {
		f, ferr := os.Create(o.cpuProfile)
		if ferr != nil {
			return nil, ferr
		}
		if perr := pprof.StartCPUProfile(f); perr != nil {
			_ = f.Close() // the StartCPUProfile error is the one to report
			return nil, perr
		}
		defer func() {
			pprof.StopCPUProfile()
			if cerr := f.Close(); cerr != nil {
				err = errors.Join(err, fmt.Errorf("cpu profile: %w", cerr))
			}
		}()
	}
	var plan *filterPlan
	if o.filters == filtersAll {
		if plan, err = newFilterPlan(o.members, o.prefixes, o.vrps, o.change, o.seed); err != nil {
			return nil, err
		}
	}
	progressf(stderr, "ixpsim rs-bench: encoding %d members × %d prefixes\n", o.members, o.prefixes)
	members := make([]*member, o.members)
	for i := range members {
		msgs, err := encodeMember(i, o.prefixes)
		if err != nil {
			return nil, err
		}
		members[i] = &member{idx: i, msgs: msgs}
	}

	results := make(map[string][]runResult)
	skipped := make(map[string]string)
	for run := 1; run <= o.runs; run++ {
		for _, t := range targets {
			if _, ok := skipped[t.name()]; ok {
				continue
			}
			progressf(stderr, "ixpsim rs-bench: %s, run %d of %d\n", t.name(), run, o.runs)
			res, err := runOnce(ctx, t, o, plan, members, run, stderr)
			if ctx.Err() != nil {
				return nil, fmt.Errorf("%s run %d: %w", t.name(), run, ctx.Err())
			}
			if errors.Is(err, errNoBinary) {
				skipped[t.name()] = err.Error()
				progressf(stderr, "ixpsim rs-bench: skipping %s: %v\n", t.name(), err)
				continue
			}
			if err != nil {
				res.Error = err.Error()
				progressf(stderr, "ixpsim rs-bench: %s run %d: %v\n", t.name(), run, err)
			}
			if res.Dir != "" {
				progressf(stderr, "ixpsim rs-bench: %s run %d kept in %s\n", t.name(), run, res.Dir)
			}
			results[t.name()] = append(results[t.name()], res)
		}
	}

	return newReport(o, results, skipped), nil
}
