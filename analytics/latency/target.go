package latency

import (
	"fmt"
	"hash/fnv"
	"net/netip"
	"time"
)

// Target is a probed destination as the API shows it.
type Target struct {
	Name    string `json:"name"`
	Address string `json:"address"` // IP for icmp, IP:port for tcp and twamp
	Method  string `json:"method"`
	Group   string `json:"group,omitempty"`
	Path    string `json:"path,omitempty"`
	// MemberASN is the member whose peering-LAN address this is; 0 for
	// configured targets.
	MemberASN uint32 `json:"member_asn,omitempty"`
	// IntervalMs is the time between two probes.
	IntervalMs int64 `json:"interval_ms"`
}

// Member is one member router's peering-LAN address, probed when
// Configuration.Members is set. Its target is named MemberTargetName.
type Member struct {
	ASN     uint32
	Address netip.Addr
}

// MemberTargetName is the name of a member's target: "as64500-192.0.2.10".
func MemberTargetName(m Member) string {
	return fmt.Sprintf("as%d-%s", m.ASN, m.Address.Unmap())
}

// target is a target with its parsed address and its state.
type target struct {
	Target
	addr     netip.AddrPort // port 0 for icmp
	interval time.Duration
	phase    time.Duration // offset of the target's slots in the interval

	// Scheduler state, owned by the scheduler goroutine.
	grid  time.Time // the current slot without jitter (monotonic clock)
	due   time.Time // grid plus this probe's jitter
	index int       // in the heap

	stats targetStats // guarded by recorder.mu
}

// newTarget builds a target; the address was checked by Validate.
func newTarget(t Target, interval time.Duration) (*target, error) {
	ap, err := parseAddress(t.Method, t.Address)
	if err != nil {
		return nil, fmt.Errorf("target %s: %w", t.Name, err)
	}
	t.IntervalMs = interval.Milliseconds()
	return &target{Target: t, addr: ap, interval: interval, phase: phaseOf(t.Name, interval)}, nil
}

// phaseOf spreads targets over the interval by a hash of their name, so
// that their probes do not leave together and each target keeps its
// slot across restarts.
func phaseOf(name string, interval time.Duration) time.Duration {
	h := fnv.New64a()
	_, _ = h.Write([]byte(name))
	return time.Duration(h.Sum64() % uint64(interval))
}

// maxJitter is the largest random delay added to a slot: 5 % of the
// interval, at most 20 ms.
func maxJitter(interval time.Duration) time.Duration {
	return min(interval/20, 20*time.Millisecond)
}
