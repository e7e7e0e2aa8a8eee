//go:build linux

package latency

import (
	"context"
	"net"
	"net/netip"
	"os"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/ixpd/ixpd/analytics"
)

// needICMP skips a test when no ICMP socket can be opened here (no root
// and no ping_group_range), or fails it under CI, which runs as root.
func needICMP(t *testing.T) {
	t.Helper()
	s, err := openICMP(false, time.Second)
	if err == nil {
		s.close()
		return
	}
	if os.Getenv("CI") == "true" {
		t.Fatalf("CI must be able to open an ICMP socket: %v", err)
	}
	t.Skipf("no ICMP socket: %v", err)
}

// tcpListener accepts and closes connections until the test ends.
func tcpListener(t *testing.T, addr string) netip.AddrPort {
	t.Helper()
	l, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatalf("listen %s: %v", addr, err)
	}
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			_ = c.Close()
		}
	}()
	t.Cleanup(func() { _ = l.Close() })
	return l.Addr().(*net.TCPAddr).AddrPort()
}

// closedPort returns an address where nothing listens.
func closedPort(t *testing.T, addr string) netip.AddrPort {
	t.Helper()
	l, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatalf("listen %s: %v", addr, err)
	}
	ap := l.Addr().(*net.TCPAddr).AddrPort()
	_ = l.Close()
	return ap
}

// probeFor runs a prober over targets with 20 ms probes into 1-second
// bins until every target has three bins in the sink, and returns each
// target's statistics over all its bins. With ns, the prober opens its
// sockets inside that namespace.
func probeFor(t *testing.T, targets []TargetConfiguration, ns *testNetns) (map[string]analytics.LatencyStats, *Prober) {
	t.Helper()
	cfg := DefaultConfiguration()
	cfg.Interval = 20 * time.Millisecond
	cfg.Timeout = 300 * time.Millisecond
	cfg.Targets = targets
	sink := newMemSink()
	p := testProber(t, cfg, Dependencies{Sink: sink, BinSize: time.Second})
	var err error
	if ns != nil {
		ns.in(t, func() { err = p.Start(context.Background()) })
	} else {
		err = p.Start(context.Background())
	}
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	sink.waitBins(t, names(cfg), 3)
	stopProber(t, p)
	stats := map[string]analytics.LatencyStats{}
	for name, bins := range byTarget(sink.all()) {
		stats[name] = analytics.MergeLatency(bins)
	}
	for _, tc := range targets {
		t.Logf("%-12s %-28s sent %4d received %4d loss %5.1f%% median %.3f ms", tc.Name, tc.Address,
			stats[tc.Name].Sent, stats[tc.Name].Received, stats[tc.Name].LossPct, stats[tc.Name].MedianMs)
	}
	return stats, p
}

// checkAnswered wants every settled probe of the targets answered, with a
// plausible RTT.
func checkAnswered(t *testing.T, stats map[string]analytics.LatencyStats, maxMs float64, targets ...string) {
	t.Helper()
	for _, name := range targets {
		s := stats[name]
		if s.Sent < 80 || s.Received != s.Sent {
			t.Errorf("%s: %d of %d answered, want all of at least 80", name, s.Received, s.Sent)
		}
		if s.Received > 0 && (s.MinMs <= 0 || s.MedianMs > maxMs) {
			t.Errorf("%s: min %.3f ms, median %.3f ms; want above 0 and at most %v", name, s.MinMs, s.MedianMs, maxMs)
		}
	}
}

// checkLost wants every probe to the targets lost, and as many sent as
// to the first answered target (less the last timeout's worth, unsettled
// at Stop): a dead target holds up nothing.
func checkLost(t *testing.T, stats map[string]analytics.LatencyStats, alive string, targets ...string) {
	t.Helper()
	ref := stats[alive].Sent
	for _, name := range targets {
		s := stats[name]
		if s.Received != 0 || s.LossPct != 100 {
			t.Errorf("%s: %d answers, loss %.1f %%; want none, 100 %%", name, s.Received, s.LossPct)
		}
		// 300 ms of 20 ms probes are unsettled at Stop: 15, plus slack.
		if s.Sent+20 < ref || s.Sent > ref+2 {
			t.Errorf("%s: %d probes sent, %s %d: the dead target slowed the schedule", name, s.Sent, alive, ref)
		}
	}
}

func TestICMPLoopback(t *testing.T) {
	needICMP(t)
	stats, p := probeFor(t, []TargetConfiguration{
		{Name: "lo4", Address: "127.0.0.1", Method: MethodICMP},
		{Name: "lo4b", Address: "127.0.0.31", Method: MethodICMP},
		{Name: "lo6", Address: "::1", Method: MethodICMP},
	}, nil)
	checkAnswered(t, stats, 1, "lo4", "lo4b", "lo6")
	checkKernelTimestamps(t, p, MethodICMP)
}

func TestTCPLoopback(t *testing.T) {
	l4 := tcpListener(t, "127.0.0.1:0")
	l6 := tcpListener(t, "[::1]:0")
	refused := closedPort(t, "127.0.0.1:0")
	stats, p := probeFor(t, []TargetConfiguration{
		{Name: "tcp4", Address: l4.String(), Method: MethodTCP},
		{Name: "tcp6", Address: l6.String(), Method: MethodTCP},
		{Name: "refused", Address: refused.String(), Method: MethodTCP},
	}, nil)
	checkAnswered(t, stats, 1, "tcp4", "tcp6")
	checkLost(t, stats, "tcp4", "refused")
	if n := testutil.ToFloat64(p.metrics.probeErrors.WithLabelValues(MethodTCP, reasonRefused)); n < 50 {
		t.Errorf("%v refused connects counted, want one per probe to refused", n)
	}
	checkKernelTimestamps(t, p, MethodTCP)
}

// TestNetns probes across a veth pair into a network namespace: the far
// end answers ICMP, ICMPv6 and TCP; an address on the link that nobody
// has black-holes everything, and must not hold up the others.
func TestNetns(t *testing.T) {
	ns := newNetns(t)
	var l4 netip.AddrPort
	ns.in(t, func() { l4 = tcpListener(t, netip.AddrPortFrom(ns.peer4, 0).String()) })
	stats, _ := probeFor(t, []TargetConfiguration{
		{Name: "ns4", Address: ns.peer4.String(), Method: MethodICMP},
		{Name: "ns6", Address: ns.peer6.String(), Method: MethodICMP},
		{Name: "nstcp", Address: l4.String(), Method: MethodTCP},
		{Name: "hole4", Address: ns.nil4.String(), Method: MethodICMP},
		{Name: "hole6", Address: ns.nil6.String(), Method: MethodICMP},
		{Name: "holetcp", Address: netip.AddrPortFrom(ns.nil4, 80).String(), Method: MethodTCP},
		{Name: "lo4", Address: "127.0.0.1", Method: MethodICMP},
	}, nil)
	checkAnswered(t, stats, 5, "ns4", "ns6", "nstcp", "lo4")
	checkLost(t, stats, "ns4", "hole4", "hole6", "holetcp")
}

// TestICMPUnprivileged opens the ICMP sockets in a namespace whose
// net.ipv4.ping_group_range admits every group: the prober must take
// the unprivileged ping sockets there, not raw ones.
func TestICMPUnprivileged(t *testing.T) {
	ns := newNetns(t)
	ns.sysctl(t, "net.ipv4.ping_group_range", "0 2147483647")
	stats, p := probeFor(t, []TargetConfiguration{
		{Name: "lo4", Address: "127.0.0.1", Method: MethodICMP},
		{Name: "lo6", Address: "::1", Method: MethodICMP},
		{Name: "peer4", Address: ns.host4.String(), Method: MethodICMP},
	}, ns)
	if p.icmp.v4 == nil || p.icmp.v4.raw || p.icmp.v6 == nil || p.icmp.v6.raw {
		t.Fatalf("sockets: v4 %+v v6 %+v, want unprivileged ping sockets", p.icmp.v4, p.icmp.v6)
	}
	checkAnswered(t, stats, 5, "lo4", "lo6", "peer4")
}
