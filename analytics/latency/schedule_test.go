package latency

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"
)

func TestPhaseSpread(t *testing.T) {
	const n, buckets = 1000, 10
	var count [buckets]int
	for i := range n {
		ph := phaseOf(fmt.Sprintf("as%d-192.0.2.%d", 64500+i, i%250), time.Second)
		count[ph*buckets/time.Second]++
	}
	for i, c := range count {
		if c < 60 || c > 140 {
			t.Errorf("%d of %d phases in the %d-th tenth of the interval, want about 100: %v", c, n, i, count)
		}
	}
	// A target keeps its slot: the first slot is phase after a multiple
	// of the interval since the epoch, whenever the prober starts.
	tg, _ := newTarget(Target{Name: "x", Address: "192.0.2.1", Method: MethodICMP}, time.Second)
	for _, start := range []time.Time{time.Unix(1_700_000_000, 123), time.Unix(1_800_000_000, 999_999_999)} {
		slot := firstSlot(tg, start)
		if slot.Before(start) || slot.Sub(start) >= time.Second || time.Duration(slot.UnixNano()%1e9) != tg.phase {
			t.Errorf("first slot %s after %s, phase %s", slot, start, tg.phase)
		}
	}
}

// TestSchedulerSpread runs the schedule of 500 targets every 100 ms:
// the due times are spread (no more than a few probes in any
// millisecond), each target keeps its interval, and probes leave on time.
func TestSchedulerSpread(t *testing.T) {
	const n, interval = 500, 100 * time.Millisecond
	var targets []*target
	for i := range n {
		tg, err := newTarget(Target{Name: fmt.Sprintf("t%d", i), Address: "192.0.2.1", Method: MethodICMP}, interval)
		if err != nil {
			t.Fatal(err)
		}
		targets = append(targets, tg)
	}
	type sent struct {
		t        *target
		due, now time.Time
	}
	var mu sync.Mutex
	var log []sent
	enough := make(chan struct{})
	ctx, cancel := context.WithCancel(context.Background())
	s := newScheduler(targets, 1, func(t *target, due time.Time) {
		mu.Lock()
		defer mu.Unlock()
		log = append(log, sent{t, due, time.Now()})
		if len(log) == 10*n {
			close(enough)
		}
	}, func(*target, int) {})
	done := make(chan error)
	go func() { done <- s.run(ctx) }()
	<-enough
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	perMs := map[int64]int{}
	last := map[*target]time.Time{}
	var late []time.Duration
	for _, e := range log {
		perMs[e.due.UnixMilli()]++
		late = append(late, e.now.Sub(e.due))
		if prev, ok := last[e.t]; ok {
			// Slot to slot is the interval; the jitter (up to 5 ms) moves
			// each probe within its slot.
			if d := e.due.Sub(prev); d < interval-maxJitter(interval) || d > interval+maxJitter(interval) {
				t.Errorf("%s: probes %s apart, want %s ± %s", e.t.Name, d, interval, maxJitter(interval))
			}
		}
		last[e.t] = e.due
	}
	busiest := 0
	for _, c := range perMs {
		busiest = max(busiest, c)
	}
	// 5 probes per ms on average.
	if busiest > 20 {
		t.Errorf("%d probes due in one millisecond, want at most 20", busiest)
	}
	q := quantiles(late)
	t.Logf("lateness over %d probes: p50 %s p99 %s max %s", len(late), q.P50, q.P99, q.Max)
	if q.P50 > 5*time.Millisecond {
		t.Errorf("median lateness %s, want below 5 ms", q.P50)
	}
}

// TestSchedulerSkipsWhenBehind stalls the scheduler for 3.5 intervals:
// the missed slots are skipped and counted, not sent in a burst.
func TestSchedulerSkipsWhenBehind(t *testing.T) {
	tg, _ := newTarget(Target{Name: "x", Address: "192.0.2.1", Method: MethodICMP}, 100*time.Millisecond)
	var calls, skipped int
	var times []time.Time
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	s := newScheduler([]*target{tg}, 1, func(*target, time.Time) {
		calls++
		times = append(times, time.Now())
		switch calls {
		case 2:
			time.Sleep(350 * time.Millisecond) // the stall
		case 6:
			cancel()
		}
	}, func(_ *target, n int) { skipped += n })
	if err := s.run(ctx); err != nil {
		t.Fatal(err)
	}
	if skipped != 2 {
		t.Errorf("%d slots skipped, want 2", skipped)
	}
	// After the stall: one probe at once (the slot it is in), then the
	// grid again.
	for i := 3; i < len(times); i++ {
		if i > 3 && times[i].Sub(times[i-1]) < 90*time.Millisecond {
			t.Errorf("probes %d and %d %s apart: a burst", i-1, i, times[i].Sub(times[i-1]))
		}
	}
}

// TestSchedulerChange adds and removes targets of a running scheduler: a
// removed target is not dispatched once change returns, one that stays
// keeps its slots, an added one is dispatched on its own slots, and the
// scheduler runs on with no target at all.
func TestSchedulerChange(t *testing.T) {
	const interval = 20 * time.Millisecond
	mk := func(name string) *target {
		tg, err := newTarget(Target{Name: name, Address: "192.0.2.1", Method: MethodICMP}, interval)
		if err != nil {
			t.Fatal(err)
		}
		return tg
	}
	x, y, z := mk("x"), mk("y"), mk("z")
	type sent struct {
		t   *target
		due time.Time
	}
	var mu sync.Mutex
	var log []sent
	dispatched := make(chan struct{}, 1)
	s := newScheduler([]*target{x, y}, 1, func(t *target, due time.Time) {
		mu.Lock()
		log = append(log, sent{t, due})
		mu.Unlock()
		select {
		case dispatched <- struct{}{}:
		default:
		}
	}, func(*target, int) {})
	count := func(tg *target, from int) int {
		mu.Lock()
		defer mu.Unlock()
		n := 0
		for _, e := range log[min(from, len(log)):] {
			if e.t == tg {
				n++
			}
		}
		return n
	}
	mark := func() int {
		mu.Lock()
		defer mu.Unlock()
		return len(log)
	}
	waitCount := func(tg *target, from, n int) {
		t.Helper()
		deadline := time.NewTimer(5 * time.Second)
		defer deadline.Stop()
		for count(tg, from) < n {
			select {
			case <-dispatched:
			case <-deadline.C:
				t.Fatalf("%s: %d dispatches, want %d", tg.Name, count(tg, from), n)
			}
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.run(ctx) }()

	waitCount(x, 0, 3)
	waitCount(y, 0, 3)
	s.change(ctx, []*target{z}, []*target{x, mk("never added")})
	after := mark()
	waitCount(z, after, 5)
	waitCount(y, after, 5)
	if n := count(x, after); n != 0 {
		t.Errorf("x dispatched %d times after it was removed", n)
	}
	// Everything out, then z back in.
	s.change(ctx, nil, []*target{y, z})
	empty := mark()
	s.change(ctx, []*target{z}, nil)
	if n := count(y, empty); n != 0 {
		t.Errorf("y dispatched %d times after it was removed", n)
	}
	waitCount(z, mark(), 3)
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}

	mu.Lock()
	defer mu.Unlock()
	last := map[*target]time.Time{}
	for i, e := range log {
		// On the target's own slots: phase after a multiple of the
		// interval, plus the jitter.
		if off := time.Duration(e.due.UnixNano()%int64(interval)) - e.t.phase; (off+interval)%interval >= maxJitter(interval) {
			t.Errorf("dispatch %d: %s due %s off its slots", i, e.t.Name, time.Duration(e.due.UnixNano()%int64(interval)))
		}
		// y kept its interval through the change.
		if prev, ok := last[e.t]; ok && e.t == y {
			if d := e.due.Sub(prev); d < interval-maxJitter(interval) || d > interval+maxJitter(interval) {
				t.Errorf("y: dispatches %s apart, want %s ± %s", d, interval, maxJitter(interval))
			}
		}
		last[e.t] = e.due
	}
}
