// Package latency is the active latency prober: it measures the round-trip
// time to every member's peering-LAN address and to configured comparison
// targets, bins the answers into 5-minute statistics and hands them to
// the analytics store. It also holds a TWAMP-light reflector, the far end
// of the twamp method.
//
// # Methods
//
//   - icmp: ICMP echo (IPv4) or ICMPv6 echo. One socket per address
//     family is shared by every target: an unprivileged "ping" socket
//     where net.ipv4.ping_group_range lets the process's group open one,
//     else a raw socket (root or CAP_NET_RAW) with a kernel filter that
//     passes echo replies only. Answers are matched by a per-prober nonce
//     and a 64-bit probe number in the echo payload, and by their source.
//   - tcp: the time to connect to IP:port (SYN to SYN-ACK), in a bounded
//     pool of workers; the connection is closed at once with a reset, so
//     no TIME_WAIT accumulates. A refused connection counts as lost.
//   - twamp: TWAMP-light (RFC 5357, unauthenticated test packets, no
//     control session) to IP:port, from one UDP socket per family;
//     answers are matched by the sender sequence number and their source.
//
// # Timestamps
//
// The send time T1 is read from the clock right before the datagram is
// written (or the connect starts). The receive time T4 is the kernel's
// receive timestamp of the answer (SO_TIMESTAMPNS), falling back to the
// clock right after the read when the kernel gives none or it is not
// plausible (the wall clock stepped). TCP takes the kernel's own
// measurement of the handshake from TCP_INFO (tcpi_rtt, in µs, the first
// RTT sample of the connection), falling back to the duration of the
// connect call. The answers_total metric counts which clock timed each
// answer.
//
// TWAMP's RTT is the standard T4 − T1 − (T3 − T2): the reflector's
// residence time T3 − T2 (on its clock) is subtracted. The Reflector
// takes T2 from the kernel's receive timestamp and T3 from the clock
// right before it writes. Its simulated Delay is applied before T2: T2 is
// the arrival time plus Delay, as if the packet had arrived that much
// later, so the delay counts in the RTT while the reflector's own timer
// slack (part of T3 − T2) does not.
//
// # Schedule
//
// One goroutine sends every probe from a timer heap. A target's slots are
// k·interval + phase after the Unix epoch, the phase a hash of its name,
// so targets are spread evenly over the interval and keep their slots
// across restarts; each probe leaves at its slot plus a random jitter of
// up to 5 % of the interval (at most 20 ms). Nothing in the schedule
// waits for an answer: each probe has its own deadline (the timeout), and
// a black-holed target costs a table entry until then. Slots missed
// because the process stalled are skipped and counted, not sent in a
// burst.
//
// # Members
//
// With members on, every address of the members file is a target named
// MemberTargetName. Prober.SetMembers follows a reloaded members file
// without a restart: new addresses join the schedule at their next slot,
// removed ones leave it at once, and their bins in progress are
// completed and written at their normal close (or at Stop); the members
// that stay, and the configured targets, are not disturbed.
//
// # Statistics
//
// A probe counts in the bin in which it was sent. A bin closes when its
// end plus the timeout has passed, and a quarter second of grace for
// answers that arrived in time but were read late. It then goes to the
// Sink (retried with backoff while the sink fails; beyond queue_bins the
// oldest are dropped and counted) and to the recent bins kept in memory
// for the API (see Prober.Recent).
package latency

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"slices"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"golang.org/x/sync/errgroup"

	"github.com/ixpd/ixpd/analytics"
)

// Sink receives completed bins. analytics.LatencyStore satisfies it.
type Sink interface {
	// WriteLatency stores bins; a bin for a (Target, Time) already stored
	// replaces it.
	WriteLatency(ctx context.Context, bins []analytics.LatencyBin) error
}

var _ Sink = analytics.LatencyStore(nil)

// ErrUnknownTarget is returned for a target name that is not probed.
var ErrUnknownTarget = errors.New("unknown latency target")

// Dependencies are what the prober needs from other components.
type Dependencies struct {
	// Sink stores completed bins; nil keeps them in memory only (Recent).
	Sink Sink
	// Members are probed when Configuration.Members is set.
	Members []Member
	// BinSize is the width of a bin: 0 means analytics.BinSize. Tests
	// shorten it; the store expects analytics.BinSize.
	BinSize time.Duration
}

// sinkWriteTimeout bounds one write to the sink.
const sinkWriteTimeout = 30 * time.Second

// sinkChunk is the largest number of bins in one write.
const sinkChunk = 5000

// Prober probes the targets. Its methods are safe for concurrent use.
type Prober struct {
	logger  *slog.Logger
	cfg     Configuration
	deps    Dependencies
	metrics *metrics
	binSize time.Duration
	rec     *recorder

	// The targets. SetMembers replaces targets and byName (and the flush
	// loop drops retired targets from retiring) under tmu; the slices are
	// replaced, never changed in place, so a copy of the slice header
	// taken under tmu can be read after it is released.
	tmu        sync.RWMutex
	targets    []*target          // probed: members first, then configured
	byName     map[string]*target // targets by name
	configured []*target          // the configured targets, a tail of targets
	retiring   []*target          // removed members with bins not closed yet

	icmp  *icmpEngine
	tcp   *tcpEngine
	twamp *twampEngine

	// onSend, when set, sees how late each probe left (benchmarks).
	onSend func(late time.Duration)
	// schedule runs the schedule; nil means the timer heap (benchmarks
	// compare others).
	schedule func(ctx context.Context) error

	mu      sync.Mutex // guards started, cancel, runCtx, eg, sched, queue after Stop; SetMembers holds it
	started bool
	cancel  context.CancelFunc
	runCtx  context.Context
	eg      *errgroup.Group
	sched   *scheduler             // nil with another schedule (benchmarks)
	queue   []analytics.LatencyBin // owned by the flush loop while running
}

// New builds a prober for cfg; it does no I/O.
func New(logger *slog.Logger, reg prometheus.Registerer, cfg Configuration, deps Dependencies) (*Prober, error) {
	return newProber(logger, reg, cfg, deps, MinInterval)
}

// newProber is New with another floor for the intervals.
func newProber(logger *slog.Logger, reg prometheus.Registerer, cfg Configuration, deps Dependencies, floor time.Duration) (*Prober, error) {
	if err := cfg.validate(floor); err != nil {
		return nil, err
	}
	m, err := newMetrics(reg)
	if err != nil {
		return nil, err
	}
	binSize := deps.BinSize
	if binSize == 0 {
		binSize = analytics.BinSize
	}
	if binSize < time.Second {
		return nil, fmt.Errorf("latency prober: bin size %s is below 1s", binSize)
	}
	p := &Prober{
		logger:  logger.With("component", "latency"),
		cfg:     cfg,
		deps:    deps,
		metrics: m,
		binSize: binSize,
		byName:  map[string]*target{},
		rec:     newRecorder(binSize, cfg.Timeout, cfg.RecentBins),
	}
	add := func(t Target, interval time.Duration, key string) error {
		if other, dup := p.byName[t.Name]; dup {
			return fmt.Errorf("%s: %q is also the target of member AS%d", key, t.Name, other.MemberASN)
		}
		tt, err := newTarget(t, interval)
		if err != nil {
			return fmt.Errorf("%s: %w", key, err)
		}
		p.targets = append(p.targets, tt)
		p.byName[t.Name] = tt
		return nil
	}
	if cfg.Members {
		ts, err := memberTargets(cfg, deps.Members)
		if err != nil {
			return nil, err
		}
		for _, t := range ts {
			if err := add(t, cfg.Interval, "latency prober: member AS"+fmt.Sprint(t.MemberASN)); err != nil {
				return nil, err
			}
		}
	}
	nMembers := len(p.targets)
	for i, tc := range cfg.Targets {
		interval := cfg.Interval
		if tc.Interval != 0 {
			interval = tc.Interval
		}
		t := Target{Name: tc.Name, Address: tc.Address, Method: tc.Method, Group: tc.Group, Path: tc.Path}
		if err := add(t, interval, fmt.Sprintf("latency.targets[%d].name", i)); err != nil {
			return nil, err
		}
	}
	p.configured = slices.Clone(p.targets[nMembers:])
	p.setTargetsGauge()
	counts := p.countTargets()
	// The members' method is ready even without members yet: SetMembers
	// may add some.
	need := func(method string) bool { return counts[method] > 0 || cfg.Members && cfg.MemberMethod == method }
	if need(MethodICMP) {
		p.icmp = newICMPEngine(p)
	}
	if need(MethodTCP) {
		p.tcp = newTCPEngine(p, cfg.TCPWorkers)
	}
	if need(MethodTWAMP) {
		p.twamp = newTWAMPEngine(p)
	}
	return p, nil
}

// Start opens the sockets the targets need and starts probing. An ICMP
// socket that cannot be opened (neither unprivileged nor raw) fails
// Start.
func (p *Prober) Start(context.Context) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.started {
		return errors.New("latency prober: already started")
	}
	var opened []engine
	closeAll := func() {
		for _, e := range opened {
			e.close()
		}
	}
	for _, e := range p.engines() {
		if err := e.open(); err != nil {
			closeAll()
			return err
		}
		opened = append(opened, e)
	}
	runCtx, cancel := context.WithCancel(context.Background())
	p.cancel = cancel
	p.eg, runCtx = errgroup.WithContext(runCtx)
	p.runCtx = runCtx
	for _, e := range opened {
		e.run(runCtx, p.eg)
	}
	targets := p.probed()
	schedule := p.schedule
	if schedule == nil {
		p.sched = newScheduler(targets, rand.Uint64(), p.dispatch, p.skip)
		schedule = p.sched.run
	}
	p.eg.Go(func() error { return schedule(runCtx) })
	p.eg.Go(func() error { return p.flushLoop(runCtx) })
	p.started = true
	p.logger.Info("latency prober started", "targets", len(targets), "interval", p.cfg.Interval,
		"timeout", p.cfg.Timeout)
	return nil
}

// Stop stops probing, closes the sockets and writes what it has: the
// queued bins and the bins in progress, with the probes settled so far
// (a bin written again after a restart replaces the partial one),
// members removed by SetMembers included. It
// returns the error of that last write, if any, once every goroutine has
// ended.
func (p *Prober) Stop(ctx context.Context) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if !p.started {
		return nil
	}
	p.started = false
	p.cancel()
	for _, e := range p.engines() {
		e.close()
	}
	err := p.eg.Wait()
	p.sched, p.runCtx = nil, nil
	p.enqueue(p.rec.closeBins(p.closing(), time.Now(), true))
	p.tmu.Lock()
	p.retiring = nil // their bins are closed
	p.tmu.Unlock()
	if werr := p.writeQueue(ctx); werr != nil {
		err = errors.Join(err, fmt.Errorf("latency prober: write last bins: %w", werr))
	}
	return err
}

// engines lists the methods in use.
func (p *Prober) engines() []engine {
	var out []engine
	if p.icmp != nil {
		out = append(out, p.icmp)
	}
	if p.tcp != nil {
		out = append(out, p.tcp)
	}
	if p.twamp != nil {
		out = append(out, p.twamp)
	}
	return out
}

// engine is one probe method.
type engine interface {
	// open opens the sockets the targets need (Start).
	open() error
	// add readies the engine for a new target t (SetMembers). Running
	// (eg not nil), it opens the socket of t's address family if none is
	// open and starts its receive loop in eg with ctx; running or not,
	// Start opens that socket from then on.
	add(ctx context.Context, eg *errgroup.Group, t *target) error
	// run starts the receive loops or workers in eg.
	run(ctx context.Context, eg *errgroup.Group)
	// send sends a probe to t, due at due; called by the scheduler and
	// must not block.
	send(t *target, due time.Time)
	// close closes the sockets, ending the receive loops.
	close()
}

// dispatch hands a due probe to its method.
func (p *Prober) dispatch(t *target, due time.Time) {
	switch t.Method {
	case MethodICMP:
		p.icmp.send(t, due)
	case MethodTCP:
		p.tcp.send(t, due)
	case MethodTWAMP:
		p.twamp.send(t, due)
	}
}

// skip counts slots the scheduler missed.
func (p *Prober) skip(_ *target, n int) {
	p.metrics.skipped.WithLabelValues(reasonBehind).Add(float64(n))
}

// sentAt records a probe that leaves now for a slot due at due.
func (p *Prober) sentAt(t *target, due, now time.Time) probeRef {
	late := now.Sub(due)
	p.metrics.scheduleDelay.Observe(late.Seconds())
	if p.onSend != nil {
		p.onSend(late)
	}
	p.metrics.sent.WithLabelValues(t.Method).Inc()
	return p.rec.sent(t, now)
}

// answer records an answer to a probe sent at sent. user is the clock
// right after the answer was read, kernel the kernel's receive timestamp
// (zero if none), residence the time the far end held the probe (TWAMP's
// T3 − T2).
func (p *Prober) answer(method string, ref probeRef, sent, kernel, user time.Time, residence time.Duration) {
	rtt := user.Sub(sent) // monotonic clock
	clock := "user"
	if !kernel.IsZero() {
		// Wall clock on both sides: the kernel's stamp has no monotonic
		// reading. It is earlier than the read; if not, the wall clock
		// stepped and the user time is the better figure.
		if k := kernel.Sub(sent.Round(0)); k >= 0 && k <= rtt {
			rtt, clock = k, "kernel"
		}
	}
	if residence > 0 && residence < rtt {
		rtt -= residence
	}
	p.record(method, ref, rtt, clock)
}

// record counts an answer's RTT.
func (p *Prober) record(method string, ref probeRef, rtt time.Duration, clock string) {
	if !p.rec.answered(ref, rtt) {
		p.metrics.ignored.WithLabelValues(method, reasonLate).Inc()
		return
	}
	p.metrics.answers.WithLabelValues(method, clock).Inc()
}

// flushLoop closes bins as they complete and writes them to the sink.
func (p *Prober) flushLoop(ctx context.Context) error {
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	backoff := time.Second
	var retryAt time.Time
	for {
		now := time.Now()
		next := p.rec.binStart(now).Add(p.cfg.Timeout + closeGrace)
		for !next.After(now) {
			next = next.Add(p.binSize)
		}
		if len(p.queue) > 0 && retryAt.Before(next) {
			next = retryAt
		}
		timer.Reset(next.Sub(now) + time.Millisecond)
		select {
		case <-ctx.Done():
			return nil
		case <-timer.C:
		}
		now = time.Now()
		p.enqueue(p.rec.closeBins(p.closing(), now, false))
		p.dropRetired()
		if len(p.queue) == 0 || now.Before(retryAt) {
			continue
		}
		if err := p.writeQueue(ctx); err != nil {
			if ctx.Err() != nil {
				return nil
			}
			p.metrics.sinkErrors.Inc()
			p.logger.Warn("latency bins not stored; retrying", "err", err, "bins_queued", len(p.queue),
				"retry_in", backoff)
			retryAt = now.Add(backoff)
			backoff = min(2*backoff, time.Minute)
			continue
		}
		backoff, retryAt = time.Second, time.Time{}
	}
}

// enqueue queues completed bins for the sink, dropping the oldest beyond
// queue_bins.
func (p *Prober) enqueue(bins []analytics.LatencyBin) {
	if p.deps.Sink == nil || len(bins) == 0 {
		return
	}
	p.queue = append(p.queue, bins...)
	if over := len(p.queue) - p.cfg.QueueBins; over > 0 {
		p.metrics.binsDropped.Add(float64(over))
		p.logger.Error("latency bins dropped: the store keeps failing and the queue is full",
			"dropped", over, "queue_bins", p.cfg.QueueBins, "oldest_kept", p.queue[over].Time)
		p.queue = slices.Delete(p.queue, 0, over)
	}
	p.metrics.binsQueued.Set(float64(len(p.queue)))
}

// writeQueue writes the queued bins in chunks; the bins written leave the
// queue, the rest stay for the next try.
func (p *Prober) writeQueue(ctx context.Context) error {
	if p.deps.Sink == nil {
		return nil
	}
	for len(p.queue) > 0 {
		n := min(len(p.queue), sinkChunk)
		wctx, cancel := context.WithTimeout(ctx, sinkWriteTimeout)
		err := p.deps.Sink.WriteLatency(wctx, p.queue[:n])
		cancel()
		if err != nil {
			return err
		}
		p.metrics.binsWritten.Add(float64(n))
		p.queue = slices.Delete(p.queue, 0, n)
		p.metrics.binsQueued.Set(float64(len(p.queue)))
	}
	return nil
}
