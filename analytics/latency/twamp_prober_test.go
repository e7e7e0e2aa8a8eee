package latency

import (
	"context"
	"math"
	"slices"
	"testing"
	"time"

	"github.com/ixpd/ixpd/analytics"
)

// TestTWAMPDelayLossGain probes two reflectors that stand for the same
// destination reached via the exchange (2 ms) and via transit (150 ms,
// 20 % loss), a reflector on IPv6, and a black hole, every 10 ms into
// 1-second bins.
func TestTWAMPDelayLossGain(t *testing.T) {
	ixp, _ := startReflector(t, "127.0.0.21:0", ReflectorOptions{Delay: 2 * time.Millisecond})
	transit, transitR := startReflector(t, "127.0.0.22:0", ReflectorOptions{Delay: 150 * time.Millisecond, Loss: 0.2, Seed: 7})
	v6, _ := startReflector(t, "[::1]:0", ReflectorOptions{Delay: 5 * time.Millisecond})
	hole := silentUDP(t, "127.0.0.23:0")

	cfg := DefaultConfiguration()
	cfg.Interval = 10 * time.Millisecond
	cfg.Timeout = 400 * time.Millisecond
	cfg.Targets = []TargetConfiguration{
		{Name: "apia-ixp", Address: ixp.String(), Method: MethodTWAMP, Group: "apia", Path: PathIXP},
		{Name: "apia-transit", Address: transit.String(), Method: MethodTWAMP, Group: "apia", Path: PathTransit},
		{Name: "v6", Address: v6.String(), Method: MethodTWAMP},
		{Name: "hole", Address: hole.String(), Method: MethodTWAMP},
	}
	sink := newMemSink()
	p := testProber(t, cfg, Dependencies{Sink: sink, BinSize: time.Second})
	if err := p.Start(context.Background()); err != nil {
		t.Fatalf("Start: %v", err)
	}
	sink.waitBins(t, names(cfg), 4)
	gains := p.RecentGains()
	stopProber(t, p)
	checkKernelTimestamps(t, p, MethodTWAMP)

	stats := map[string]analytics.LatencyStats{}
	for name, bins := range byTarget(sink.all()) {
		stats[name] = analytics.MergeLatency(bins)
	}
	for _, name := range names(cfg) {
		t.Logf("%-13s %+v", name, stats[name])
	}

	within := func(name string, got, want, tolerance float64) {
		t.Helper()
		if math.Abs(got-want) > tolerance {
			t.Errorf("%s: %.3f, want %.3f ± %.3f", name, got, want, tolerance)
		}
	}
	// 10 % of the set delay, plus 0.2 ms for the loopback's own round
	// trip and the send path (about 0.05 ms here).
	within("apia-ixp median ms", stats["apia-ixp"].MedianMs, 2, 0.2+0.2)
	within("apia-transit median ms", stats["apia-transit"].MedianMs, 150, 15+0.2)
	within("v6 median ms", stats["v6"].MedianMs, 5, 0.5+0.2)
	// The median is an upper bound of the minimum: the delay never comes
	// out shorter than set.
	if m := stats["apia-ixp"].MinMs; m < 2 {
		t.Errorf("apia-ixp min %.3f ms is below the 2 ms delay", m)
	}

	// Loss: the reflector's own count is the truth; the prober must see
	// the same share within a few points.
	// (The prober leaves out the probes still in flight at Stop, which
	// the reflector counted: hence 2 points.)
	rs := transitR.Stats()
	reflectorLoss := 100 * float64(rs.Dropped) / float64(rs.Received)
	within("apia-transit loss %", stats["apia-transit"].LossPct, 20, 5)
	within("apia-transit loss % vs the reflector's", stats["apia-transit"].LossPct, reflectorLoss, 2)
	for _, name := range []string{"apia-ixp", "v6"} {
		if s := stats[name]; s.Received != s.Sent || s.Sent < 300 {
			t.Errorf("%s: %d of %d answered, want all of at least 300", name, s.Received, s.Sent)
		}
	}
	// The black hole loses everything and does not slow the others: it
	// was sent as many probes as its neighbours.
	if s := stats["hole"]; s.Received != 0 || s.LossPct != 100 {
		t.Errorf("hole: %d answers, loss %.1f %%; want 0 and 100 %%", s.Received, s.LossPct)
	}
	// Every bin between the first and the last (both partial) holds about
	// the 100 probes of a second for every target alike: the black hole
	// and the long delay hold up nothing. (A loaded machine may stall the
	// scheduler past a slot, which is then skipped for all: hence 90.)
	// Each bin's own median is within the bounds above.
	medians := map[string][2]float64{"apia-ixp": {2, 0.4}, "apia-transit": {150, 15.2}, "v6": {5, 0.7}}
	sentAt := map[time.Time][]uint32{}
	for name, bins := range byTarget(sink.all()) {
		for _, b := range bins[1 : len(bins)-1] {
			sentAt[b.Time] = append(sentAt[b.Time], b.Sent)
			if m, ok := medians[name]; ok {
				within(name+" bin median ms", b.MedianMs, m[0], m[1])
			}
		}
	}
	for at, sent := range sentAt {
		lo, hi := slices.Min(sent), slices.Max(sent)
		if lo < 90 || hi > 101 || hi-lo > 2 {
			t.Errorf("bin %s: probes sent per target %v, want 90 to 101 and alike (± 2)", at.Format(time.TimeOnly), sent)
		}
	}

	gain := Gains(p.Targets(), stats)
	if len(gain) != 1 {
		t.Fatalf("Gains: %+v, want one group", gain)
	}
	within("gain ms", gain[0].GainMs, 148, 0.1*148+0.4)
	if len(gains) != 1 || gains[0].Group != "apia" {
		t.Errorf("RecentGains: %+v, want group apia", gains)
	} else {
		within("recent gain ms", gains[0].GainMs, 148, 0.1*148+0.4)
	}
}
