package latency

import (
	"container/heap"
	"context"
	"math/rand/v2"
	"time"
)

// scheduler sends every target's probes from one goroutine, in the order
// of a timer heap. A target's slots are the instants k·interval + phase
// after the Unix epoch; each probe leaves at its slot plus a small random
// jitter. The scheduler only hands probes to the methods (a datagram
// write, or a queue for TCP) and never waits for an answer. Targets are
// added and removed while it runs through change.
type scheduler struct {
	heap     targetHeap
	rng      *rand.Rand
	dispatch func(t *target, due time.Time)
	// skipped is called with the slots missed when the process could not
	// keep up (suspended, starved): they are skipped, not sent in a burst.
	skipped func(t *target, n int)
	changes chan scheduleChange
}

// scheduleChange adds and removes targets of a running scheduler.
type scheduleChange struct {
	add, remove []*target
	done        chan struct{} // closed once applied
}

func newScheduler(targets []*target, seed uint64, dispatch func(*target, time.Time), skipped func(*target, int)) *scheduler {
	s := &scheduler{
		heap:     make(targetHeap, len(targets)),
		rng:      rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15)),
		dispatch: dispatch,
		skipped:  skipped,
		changes:  make(chan scheduleChange),
	}
	copy(s.heap, targets)
	return s
}

// firstSlot returns the first slot of t at or after now, on the
// monotonic clock of now.
func firstSlot(t *target, now time.Time) time.Time {
	n := now.UnixNano()
	iv := int64(t.interval)
	ph := int64(t.phase)
	k := (n - ph) / iv
	slot := k*iv + ph
	for slot < n {
		slot += iv
	}
	return now.Add(time.Duration(slot - n))
}

func (s *scheduler) jitter(t *target) time.Duration {
	j := maxJitter(t.interval)
	if j <= 0 {
		return 0
	}
	return time.Duration(s.rng.Int64N(int64(j)))
}

// change adds targets to the running scheduler, and removes others,
// and returns once it is done: a removed target gets no probe after
// that, an added one is probed from its first slot after now. It
// returns at once if ctx, the scheduler's, is done.
func (s *scheduler) change(ctx context.Context, add, remove []*target) {
	c := scheduleChange{add: add, remove: remove, done: make(chan struct{})}
	select {
	case s.changes <- c:
		<-c.done
	case <-ctx.Done():
	}
}

// apply makes a change.
func (s *scheduler) apply(c scheduleChange) {
	for _, t := range c.remove {
		if t.index >= 0 && t.index < len(s.heap) && s.heap[t.index] == t {
			heap.Remove(&s.heap, t.index)
		}
	}
	now := time.Now()
	for _, t := range c.add {
		s.place(t, now)
		heap.Push(&s.heap, t)
	}
}

// place sets the first slot of t after now.
func (s *scheduler) place(t *target, now time.Time) {
	t.grid = firstSlot(t, now)
	t.due = t.grid.Add(s.jitter(t))
}

// run sends probes until ctx is done.
func (s *scheduler) run(ctx context.Context) error {
	now := time.Now()
	for i, t := range s.heap {
		s.place(t, now)
		t.index = i
	}
	heap.Init(&s.heap)
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	for {
		now = time.Now()
		for len(s.heap) > 0 {
			t := s.heap[0]
			if t.due.After(now) {
				break
			}
			s.dispatch(t, t.due)
			t.grid = t.grid.Add(t.interval)
			now = time.Now()
			if behind := now.Sub(t.grid); behind >= t.interval {
				n := int(behind / t.interval)
				t.grid = t.grid.Add(time.Duration(n) * t.interval)
				s.skipped(t, n)
			}
			t.due = t.grid.Add(s.jitter(t))
			heap.Fix(&s.heap, 0)
		}
		var wake <-chan time.Time // none with no targets
		if len(s.heap) > 0 {
			timer.Reset(s.heap[0].due.Sub(now))
			wake = timer.C
		}
		select {
		case <-ctx.Done():
			return nil
		case <-wake:
		case c := <-s.changes:
			s.apply(c)
			close(c.done)
		}
	}
}

// targetHeap orders targets by their next probe.
type targetHeap []*target

func (h targetHeap) Len() int           { return len(h) }
func (h targetHeap) Less(i, j int) bool { return h[i].due.Before(h[j].due) }
func (h targetHeap) Swap(i, j int) {
	h[i], h[j] = h[j], h[i]
	h[i].index = i
	h[j].index = j
}
func (h *targetHeap) Push(x any) {
	t := x.(*target)
	t.index = len(*h)
	*h = append(*h, t)
}
func (h *targetHeap) Pop() any {
	old := *h
	t := old[len(old)-1]
	old[len(old)-1] = nil
	*h = old[:len(old)-1]
	t.index = -1
	return t
}
