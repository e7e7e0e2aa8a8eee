package latency

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"runtime"
	"slices"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/ixpd/ixpd/analytics"
)

// Schedulers RunSchedulerBench can compare.
const (
	// SchedulerHeap is the prober's: one goroutine and a timer heap.
	SchedulerHeap = "heap"
	// SchedulerTickers is the anchor: a goroutine and a time.Ticker per
	// target, sending on the same shared sockets (one at a time).
	SchedulerTickers = "tickers"
)

// BenchOptions configure RunSchedulerBench; zero fields take the
// defaults shown.
type BenchOptions struct {
	Targets  int           // 1000
	Interval time.Duration // 1s
	Duration time.Duration // 30s
	// Method is twamp (to a reflector in this process on 127.0.0.1) or
	// icmp (to 127.0.0.1 and up, answered by the kernel; needs an ICMP
	// socket). With twamp the CPU figures include the reflector.
	Method string // twamp
	// Scheduler is SchedulerHeap or SchedulerTickers.
	Scheduler string // heap
}

// Quantiles summarize durations.
type Quantiles struct {
	P50, P99, Max time.Duration
}

// BenchResult is what RunSchedulerBench measured.
type BenchResult struct {
	Options  BenchOptions
	Sent     uint64 // probes sent and settled
	Received uint64 // answered
	// Late is how late probes left after their slot (slot plus jitter):
	// the scheduling error.
	Late Quantiles
	// CPU is the process's user and system time over the run (the
	// prober, and the reflector with twamp); CPUPercent is the share of
	// one core.
	CPU        time.Duration
	CPUPercent float64
	// HeapMiB is the heap in use at the end of the run; MaxRSSMiB the
	// process's peak resident memory so far (it includes whatever ran
	// before in the same process).
	HeapMiB    float64
	MaxRSSMiB  float64
	Goroutines int // during the run
}

// String is one line per result.
func (r BenchResult) String() string {
	return fmt.Sprintf("%s/%s targets=%d interval=%s duration=%s sent=%d received=%d late_p50=%s late_p99=%s late_max=%s cpu=%s (%.1f%% of a core) heap=%.1fMiB maxrss=%.1fMiB goroutines=%d",
		r.Options.Method, r.Options.Scheduler, r.Options.Targets, r.Options.Interval, r.Options.Duration,
		r.Sent, r.Received, r.Late.P50, r.Late.P99, r.Late.Max, r.CPU.Round(time.Millisecond), r.CPUPercent,
		r.HeapMiB, r.MaxRSSMiB, r.Goroutines)
}

// benchSink sums what it is given.
type benchSink struct {
	mu             sync.Mutex
	sent, received uint64
}

func (s *benchSink) WriteLatency(_ context.Context, bins []analytics.LatencyBin) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, b := range bins {
		s.sent += uint64(b.Sent)
		s.received += uint64(b.Received)
	}
	return nil
}

// RunSchedulerBench probes opts.Targets targets once per interval for
// opts.Duration on loopback and measures how late each probe leaves
// against its slot, and what it costs. It runs in the calling process:
// run it alone.
func RunSchedulerBench(ctx context.Context, logger *slog.Logger, opts BenchOptions) (BenchResult, error) {
	if opts.Targets == 0 {
		opts.Targets = 1000
	}
	if opts.Interval == 0 {
		opts.Interval = time.Second
	}
	if opts.Duration == 0 {
		opts.Duration = 30 * time.Second
	}
	if opts.Method == "" {
		opts.Method = MethodTWAMP
	}
	if opts.Scheduler == "" {
		opts.Scheduler = SchedulerHeap
	}
	res := BenchResult{Options: opts}
	cfg := DefaultConfiguration()
	cfg.Interval = opts.Interval
	switch opts.Method {
	case MethodTWAMP:
		r, err := NewReflector(logger, ReflectorOptions{})
		if err != nil {
			return res, err
		}
		conn, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
		if err != nil {
			return res, fmt.Errorf("bench reflector: %w", err)
		}
		rctx, stop := context.WithCancel(ctx)
		done := make(chan error, 1)
		go func() { done <- r.Serve(rctx, conn) }()
		defer func() {
			stop()
			if err := <-done; err != nil {
				logger.Warn("bench reflector", "err", err)
			}
		}()
		addr := conn.LocalAddr().(*net.UDPAddr).AddrPort().String()
		for i := range opts.Targets {
			cfg.Targets = append(cfg.Targets, TargetConfiguration{Name: fmt.Sprintf("bench%d", i), Address: addr, Method: MethodTWAMP})
		}
	case MethodICMP:
		for i := range opts.Targets {
			a := netip.AddrFrom4([4]byte{127, 0, byte(i / 250), byte(1 + i%250)})
			cfg.Targets = append(cfg.Targets, TargetConfiguration{Name: fmt.Sprintf("bench%d", i), Address: a.String(), Method: MethodICMP})
		}
	default:
		return res, fmt.Errorf("bench method %q is not icmp or twamp", opts.Method)
	}
	sink := &benchSink{}
	p, err := New(logger, prometheus.NewRegistry(), cfg, Dependencies{Sink: sink})
	if err != nil {
		return res, err
	}
	var mu sync.Mutex
	late := make([]time.Duration, 0, int(opts.Duration/opts.Interval+1)*opts.Targets)
	p.onSend = func(d time.Duration) {
		mu.Lock()
		late = append(late, d)
		mu.Unlock()
	}
	switch opts.Scheduler {
	case SchedulerHeap:
	case SchedulerTickers:
		p.schedule = p.tickers
	default:
		return res, fmt.Errorf("bench scheduler %q is not heap or tickers", opts.Scheduler)
	}

	runtime.GC()
	cpu0, _ := processCPU()
	wall0 := time.Now()
	if err := p.Start(ctx); err != nil {
		return res, err
	}
	timer := time.NewTimer(opts.Duration)
	select {
	case <-ctx.Done():
	case <-timer.C:
	}
	timer.Stop()
	res.Goroutines = runtime.NumGoroutine()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	stopCtx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	stopErr := p.Stop(stopCtx)
	cpu1, maxRSS := processCPU()
	wall := time.Since(wall0)
	if stopErr != nil {
		return res, stopErr
	}
	if err := ctx.Err(); err != nil {
		return res, err
	}
	mu.Lock()
	res.Late = quantiles(late)
	mu.Unlock()
	res.Sent, res.Received = sink.sent, sink.received
	res.CPU = cpu1 - cpu0
	res.CPUPercent = 100 * res.CPU.Seconds() / wall.Seconds()
	res.HeapMiB = float64(ms.HeapInuse) / (1 << 20)
	res.MaxRSSMiB = float64(maxRSS) / (1 << 20)
	if res.Sent == 0 {
		return res, errors.New("bench: nothing was sent")
	}
	return res, nil
}

// tickers is the anchor schedule: a goroutine and a ticker per target.
func (p *Prober) tickers(ctx context.Context) error {
	var send sync.Mutex // the sockets' send paths are the scheduler's alone
	var wg sync.WaitGroup
	for _, t := range p.probed() {
		wg.Go(func() {
			due := firstSlot(t, time.Now())
			wait := time.NewTimer(time.Until(due))
			defer wait.Stop()
			select {
			case <-ctx.Done():
				return
			case <-wait.C:
			}
			ticker := time.NewTicker(t.interval)
			defer ticker.Stop()
			for {
				send.Lock()
				p.dispatch(t, due)
				send.Unlock()
				select {
				case <-ctx.Done():
					return
				case <-ticker.C:
					due = due.Add(t.interval)
					for time.Since(due) >= t.interval { // dropped ticks
						due = due.Add(t.interval)
					}
				}
			}
		})
	}
	wg.Wait()
	return nil
}

// quantiles returns the median, the 99th percentile and the maximum.
func quantiles(d []time.Duration) Quantiles {
	if len(d) == 0 {
		return Quantiles{}
	}
	s := slices.Clone(d)
	slices.Sort(s)
	at := func(q float64) time.Duration { return s[min(len(s)-1, int(q*float64(len(s))))] }
	return Quantiles{P50: at(0.5), P99: at(0.99), Max: s[len(s)-1]}
}
