package latency

import (
	"sync"
	"time"

	"github.com/ixpd/ixpd/analytics"
)

// closeGrace is the time a bin stays open past its end plus the timeout.
const closeGrace = 250 * time.Millisecond

// probe is one probe of a bin, in send order.
type probe struct {
	sent int64   // Unix nanoseconds
	rtt  float32 // milliseconds, when answered
	ok   bool    // answered within the timeout
}

// openBin collects the probes sent in one bin.
type openBin struct {
	start  time.Time
	probes []probe
	closed bool
}

// probeRef names one probe for its answer.
type probeRef struct {
	bin *openBin
	idx int
}

// targetStats is a target's figures, guarded by recorder.mu.
type targetStats struct {
	open   []*openBin             // ascending start; usually one, two around a bin's end
	recent []analytics.LatencyBin // completed bins, oldest first
}

// recorder keeps the probes of the bins in progress and the recent
// completed bins of every target. A probe counts in the bin in which it
// was sent; a bin closes when its end, the timeout and closeGrace have
// passed, so that every probe in it is answered or lost, and an answer
// that came in time but was read late (a starved process) still counts.
type recorder struct {
	binSize time.Duration
	timeout time.Duration
	keep    int // completed bins kept per target

	mu sync.Mutex
}

func newRecorder(binSize, timeout time.Duration, keep int) *recorder {
	return &recorder{binSize: binSize, timeout: timeout, keep: keep}
}

// binStart returns the start of the bin holding t, aligned to the epoch.
func (r *recorder) binStart(t time.Time) time.Time {
	ns := t.UnixNano()
	bs := int64(r.binSize)
	start := ns / bs * bs
	if start > ns { // negative times round down
		start -= bs
	}
	return time.Unix(0, start).UTC()
}

// sent records a probe sent to t at the given time.
func (r *recorder) sent(t *target, at time.Time) probeRef {
	start := r.binStart(at)
	r.mu.Lock()
	defer r.mu.Unlock()
	st := &t.stats
	var b *openBin
	if n := len(st.open); n > 0 && st.open[n-1].start.Equal(start) {
		b = st.open[n-1]
	} else {
		b = &openBin{start: start, probes: make([]probe, 0, r.expected(t))}
		st.open = append(st.open, b)
	}
	b.probes = append(b.probes, probe{sent: at.UnixNano()})
	return probeRef{bin: b, idx: len(b.probes) - 1}
}

// expected is the number of probes a bin of t should hold.
func (r *recorder) expected(t *target) int {
	return min(int(r.binSize/t.interval)+1, 4096)
}

// answered records the round-trip time of a probe. It returns false for
// an answer that came too late: after the timeout, or after its bin was
// closed.
func (r *recorder) answered(ref probeRef, rtt time.Duration) bool {
	if rtt > r.timeout || rtt < 0 {
		return false
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if ref.bin == nil || ref.bin.closed || ref.idx >= len(ref.bin.probes) {
		return false
	}
	p := &ref.bin.probes[ref.idx]
	if p.ok {
		return false // a duplicate answer
	}
	p.ok = true
	p.rtt = float32(float64(rtt) / float64(time.Millisecond))
	return true
}

// closeBins completes the bins of targets whose end plus the timeout
// plus closeGrace is at or before now; with all set, it also completes the bins in
// progress, with the probes settled by now (answered, or sent at least
// a timeout ago). It returns the completed bins, oldest first per
// target.
func (r *recorder) closeBins(targets []*target, now time.Time, all bool) []analytics.LatencyBin {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []analytics.LatencyBin
	for _, t := range targets {
		st := &t.stats
		n := 0
		for _, b := range st.open {
			end := b.start.Add(r.binSize + r.timeout + closeGrace)
			if !all && end.After(now) {
				break
			}
			lb := r.summarize(t.Name, b, now, all)
			b.closed = true
			n++
			if lb.Sent == 0 {
				continue
			}
			out = append(out, lb)
			st.recent = append(st.recent, lb)
			if len(st.recent) > r.keep {
				st.recent = append(st.recent[:0], st.recent[len(st.recent)-r.keep:]...)
			}
		}
		st.open = append(st.open[:0], st.open[n:]...)
	}
	return out
}

// summarize computes the figures of a bin; settledOnly leaves out the
// probes still waiting for an answer at now.
func (r *recorder) summarize(name string, b *openBin, now time.Time, settledOnly bool) analytics.LatencyBin {
	cutoff := now.Add(-r.timeout).UnixNano()
	rtts := make([]float64, 0, len(b.probes))
	var sent uint32
	for _, p := range b.probes {
		if settledOnly && !p.ok && p.sent > cutoff {
			continue
		}
		sent++
		if p.ok {
			rtts = append(rtts, float64(p.rtt))
		}
	}
	return analytics.NewLatencyBin(b.start, name, sent, rtts)
}

// hasOpen tells whether t has bins not closed yet.
func (r *recorder) hasOpen(t *target) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(t.stats.open) > 0
}

// current returns the settled probes of t's newest bin in progress, and
// copies of its completed bins.
func (r *recorder) current(t *target, now time.Time) (analytics.LatencyBin, []analytics.LatencyBin) {
	r.mu.Lock()
	defer r.mu.Unlock()
	st := &t.stats
	recent := append([]analytics.LatencyBin(nil), st.recent...)
	start := r.binStart(now)
	for i := len(st.open) - 1; i >= 0; i-- {
		if b := st.open[i]; b.start.Equal(start) {
			return r.summarize(t.Name, b, now, true), recent
		}
	}
	return analytics.LatencyBin{Time: start, Target: t.Name}, recent
}
