package latency

import (
	"net/netip"
	"sync"
	"time"
)

// pendingProbe is a probe waiting for its answer on a shared socket.
type pendingProbe struct {
	t    *target
	ref  probeRef
	sent time.Time // T1, wall clock and monotonic
}

// pendingTable matches answers on a shared socket to their probes by
// key (an ICMP probe number, a TWAMP sequence number). Probes are
// forgotten in the order they were sent, pendingGrace after their
// timeout: no timer per probe, and an unanswered probe costs nothing
// after that. (Whether an answer came in time is decided by its
// timestamps, in recorder.answered; the grace only lets an answer that
// arrived in time but was read late, on a starved machine, still match.)
type pendingTable struct {
	timeout time.Duration
	mask    uint64 // keys wrap at the width of the packet's field

	mu   sync.Mutex
	next uint64
	m    map[uint64]pendingProbe
	fifo []pendingKey
	head int
}

// pendingGrace is how long a probe is remembered past its timeout.
const pendingGrace = time.Second

type pendingKey struct {
	key  uint64
	sent time.Time
}

func newPendingTable(timeout time.Duration, mask uint64) *pendingTable {
	return &pendingTable{timeout: timeout, mask: mask, m: map[uint64]pendingProbe{}}
}

// newKey returns the key of a new probe.
func (pt *pendingTable) newKey() uint64 {
	pt.mu.Lock()
	defer pt.mu.Unlock()
	pt.next++
	return pt.next & pt.mask
}

// put registers a probe under key; probes older than the timeout are
// forgotten first.
func (pt *pendingTable) put(key uint64, p pendingProbe) {
	pt.mu.Lock()
	defer pt.mu.Unlock()
	pt.expire(p.sent)
	pt.m[key] = p
	pt.fifo = append(pt.fifo, pendingKey{key: key, sent: p.sent})
}

// expire forgets the probes sent more than a timeout before now.
func (pt *pendingTable) expire(now time.Time) {
	for pt.head < len(pt.fifo) && now.Sub(pt.fifo[pt.head].sent) > pt.timeout+pendingGrace {
		delete(pt.m, pt.fifo[pt.head].key)
		pt.head++
	}
	if pt.head > 1024 && pt.head*2 > len(pt.fifo) {
		pt.fifo = append(pt.fifo[:0], pt.fifo[pt.head:]...)
		pt.head = 0
	}
}

// take removes and returns the probe of key, if it is still waiting and
// was sent to from (port 0 for ICMP).
func (pt *pendingTable) take(key uint64, from netip.AddrPort) (pendingProbe, bool) {
	pt.mu.Lock()
	defer pt.mu.Unlock()
	p, ok := pt.m[key]
	if !ok || p.t.addr.Addr().WithZone("") != from.Addr().WithZone("") || p.t.addr.Port() != from.Port() {
		return pendingProbe{}, false
	}
	delete(pt.m, key)
	return p, true
}
