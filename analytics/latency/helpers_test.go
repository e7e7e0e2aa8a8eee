package latency

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/ixpd/ixpd/analytics"
)

// memSink keeps what it is given; fail makes the next writes fail.
type memSink struct {
	mu      sync.Mutex
	bins    []analytics.LatencyBin
	fail    int // writes still to fail
	calls   int
	changed chan struct{}
}

func newMemSink() *memSink { return &memSink{changed: make(chan struct{}, 1)} }

var errSinkDown = errors.New("sink down")

func (s *memSink) WriteLatency(_ context.Context, bins []analytics.LatencyBin) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls++
	if s.fail > 0 {
		s.fail--
		return errSinkDown
	}
	s.bins = append(s.bins, bins...)
	select {
	case s.changed <- struct{}{}:
	default:
	}
	return nil
}

func (s *memSink) all() []analytics.LatencyBin {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]analytics.LatencyBin(nil), s.bins...)
}

// byTarget groups bins by target.
func byTarget(bins []analytics.LatencyBin) map[string][]analytics.LatencyBin {
	out := map[string][]analytics.LatencyBin{}
	for _, b := range bins {
		out[b.Target] = append(out[b.Target], b)
	}
	return out
}

// sinkWait bounds the waits for bins.
const sinkWait = 20 * time.Second

// waitBins waits until every target has at least n bins in the sink.
func (s *memSink) waitBins(t *testing.T, targets []string, n int) {
	t.Helper()
	timeout := sinkWait
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	for {
		got := byTarget(s.all())
		ok := true
		for _, name := range targets {
			if len(got[name]) < n {
				ok = false
			}
		}
		if ok {
			return
		}
		select {
		case <-s.changed:
		case <-deadline.C:
			t.Fatalf("no %d bins per target after %s; have %d bins", n, timeout, len(s.all()))
		}
	}
}

func testLogger(t *testing.T) *slog.Logger {
	return slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelWarn}))
}

// testProber builds a prober that may probe as fast as every 5 ms.
func testProber(t *testing.T, cfg Configuration, deps Dependencies) *Prober {
	t.Helper()
	p, err := newProber(testLogger(t), prometheus.NewRegistry(), cfg, deps, 5*time.Millisecond)
	if err != nil {
		t.Fatalf("newProber: %v", err)
	}
	return p
}

// startReflector serves a reflector on addr (port 0: any) until the test
// ends and returns its address.
func startReflector(t *testing.T, addr string, opts ReflectorOptions) (netip.AddrPort, *Reflector) {
	t.Helper()
	r, err := NewReflector(testLogger(t), opts)
	if err != nil {
		t.Fatalf("NewReflector: %v", err)
	}
	conn, err := net.ListenUDP("udp", net.UDPAddrFromAddrPort(netip.MustParseAddrPort(addr)))
	if err != nil {
		t.Fatalf("listen %s: %v", addr, err)
	}
	serveReflector(t, r, conn)
	return conn.LocalAddr().(*net.UDPAddr).AddrPort(), r
}

// serveReflector serves r on conn until the test ends.
func serveReflector(t *testing.T, r *Reflector, conn *net.UDPConn) {
	t.Helper()
	addr := conn.LocalAddr()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- r.Serve(ctx, conn) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("reflector %s: %v", addr, err)
		}
	})
}

// silentUDP binds a UDP socket that never answers: a black hole.
func silentUDP(t *testing.T, addr string) netip.AddrPort {
	t.Helper()
	conn, err := net.ListenUDP("udp", net.UDPAddrFromAddrPort(netip.MustParseAddrPort(addr)))
	if err != nil {
		t.Fatalf("listen %s: %v", addr, err)
	}
	t.Cleanup(func() { _ = conn.Close() })
	return conn.LocalAddr().(*net.UDPAddr).AddrPort()
}

// needRoot skips a test that needs root, or fails it under CI.
func needRoot(t *testing.T, why string) {
	t.Helper()
	if os.Geteuid() == 0 {
		return
	}
	if os.Getenv("CI") == "true" {
		t.Fatalf("%s needs root, and CI runs as root", why)
	}
	t.Skipf("%s needs root", why)
}

// stopProber stops p and fails the test on an error.
func stopProber(t *testing.T, p *Prober) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := p.Stop(ctx); err != nil {
		t.Fatalf("Stop: %v", err)
	}
}

// names lists the targets' names.
func names(cfg Configuration) []string {
	var out []string
	for _, t := range cfg.Targets {
		out = append(out, t.Name)
	}
	return out
}

func discardLogger() *slog.Logger { return slog.New(slog.DiscardHandler) }

func newRegistry() *prometheus.Registry { return prometheus.NewRegistry() }

// checkKernelTimestamps wants the answers timed by the kernel's receive
// timestamps (where the system has them).
func checkKernelTimestamps(t *testing.T, p *Prober, method string) {
	t.Helper()
	kernel := testutil.ToFloat64(p.metrics.answers.WithLabelValues(method, "kernel"))
	user := testutil.ToFloat64(p.metrics.answers.WithLabelValues(method, "user"))
	if kernelTimestamps && (kernel == 0 || user > kernel/100) {
		t.Errorf("%s answers timed by the kernel %v, by the clock after the read %v: want (nearly) all by the kernel",
			method, kernel, user)
	}
}
