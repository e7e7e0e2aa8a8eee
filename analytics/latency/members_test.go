package latency

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"net/netip"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/ixpd/ixpd/analytics"
)

// memberReflectors serves a TWAMP reflector on each address, all on the
// same port (member_port), chosen at run time. It returns the port and
// the reflectors by address.
func memberReflectors(t *testing.T, addrs ...string) (int, map[string]*Reflector) {
	t.Helper()
	for range 20 {
		var conns []*net.UDPConn
		port := 0
		for _, a := range addrs {
			ap := netip.AddrPortFrom(netip.MustParseAddr(a), uint16(port))
			c, err := net.ListenUDP("udp", net.UDPAddrFromAddrPort(ap))
			if err != nil {
				break // the port is taken on this address: another one
			}
			conns = append(conns, c)
			port = c.LocalAddr().(*net.UDPAddr).Port
		}
		if len(conns) < len(addrs) {
			for _, c := range conns {
				_ = c.Close()
			}
			continue
		}
		out := map[string]*Reflector{}
		for i, c := range conns {
			r, err := NewReflector(testLogger(t), ReflectorOptions{})
			if err != nil {
				t.Fatalf("NewReflector: %v", err)
			}
			serveReflector(t, r, c)
			out[addrs[i]] = r
		}
		return port, out
	}
	t.Fatalf("no port free on all of %v", addrs)
	return 0, nil
}

// member is a member at a loopback address.
func member(asn uint32, addr string) Member {
	return Member{ASN: asn, Address: netip.MustParseAddr(addr)}
}

// memberNames lists the target names of members.
func memberNames(ms ...Member) []string {
	var out []string
	for _, m := range ms {
		out = append(out, MemberTargetName(m))
	}
	return out
}

// targetNames lists the names of the prober's targets.
func targetNames(p *Prober) []string {
	var out []string
	for _, t := range p.Targets() {
		out = append(out, t.Name)
	}
	return out
}

// received is the number of test packets a reflector has read.
func received(r *Reflector) uint64 { return r.Stats().Received }

// sentIn sums the probes sent in bins.
func sentIn(bins []analytics.LatencyBin) uint64 {
	var n uint64
	for _, b := range bins {
		n += uint64(b.Sent)
	}
	return n
}

// waitFor waits until ok holds for the bins in the sink.
func (s *memSink) waitFor(t *testing.T, what string, ok func(map[string][]analytics.LatencyBin) bool) {
	t.Helper()
	deadline := time.NewTimer(sinkWait)
	defer deadline.Stop()
	for !ok(byTarget(s.all())) {
		select {
		case <-s.changed:
		case <-deadline.C:
			t.Fatalf("%s: not after %s; have %d bins", what, sinkWait, len(s.all()))
		}
	}
}

// binsFrom counts the bins at or after from.
func binsFrom(bins []analytics.LatencyBin, from time.Time) int {
	n := 0
	for _, b := range bins {
		if !b.Time.Before(from) {
			n++
		}
	}
	return n
}

// checkContiguous wants one bin per second from a target's first to its
// last: no gap, no bin written twice.
func checkContiguous(t *testing.T, name string, bins []analytics.LatencyBin) {
	t.Helper()
	if len(bins) == 0 {
		t.Errorf("%s: no bins", name)
		return
	}
	times := make([]time.Time, len(bins))
	for i, b := range bins {
		times[i] = b.Time
	}
	slices.SortFunc(times, func(a, b time.Time) int { return a.Compare(b) })
	for i := 1; i < len(times); i++ {
		if d := times[i].Sub(times[i-1]); d != time.Second {
			t.Errorf("%s: bin %s follows %s: a gap or a bin written twice", name,
				times[i].Format(time.TimeOnly), times[i-1].Format(time.TimeOnly))
		}
	}
}

// memberConfig probes members by TWAMP on port every 20 ms.
func memberConfig(port int) Configuration {
	cfg := DefaultConfiguration()
	cfg.Interval = 20 * time.Millisecond
	cfg.Timeout = 200 * time.Millisecond
	cfg.Members = true
	cfg.MemberMethod = MethodTWAMP
	cfg.MemberPort = port
	return cfg
}

// unsettledMax is how many probes to a target still probed at Stop may
// be left out of its last bin, unanswered yet: a timeout's worth.
const unsettledMax = 200/20 + 1

// TestSetMembersRunning probes members A and B and a configured target
// X, then sets the members to B and C while probing: C is probed from
// then on, A no more, and the bin A had in progress is written at its
// normal close with every probe A was sent; B and X go on in the same
// bins, untouched.
func TestSetMembersRunning(t *testing.T) {
	const addrA, addrB, addrC = "127.0.0.41", "127.0.0.42", "127.0.0.43"
	port, refl := memberReflectors(t, addrA, addrB, addrC)
	x, reflX := startReflector(t, "127.0.0.44:0", ReflectorOptions{})
	a, b, c := member(64501, addrA), member(64502, addrB), member(64503, addrC)
	nameA, nameB, nameC := MemberTargetName(a), MemberTargetName(b), MemberTargetName(c)

	cfg := memberConfig(port)
	cfg.Targets = []TargetConfiguration{{Name: "x", Address: x.String(), Method: MethodTWAMP}}
	sink := newMemSink()
	p := testProber(t, cfg, Dependencies{Sink: sink, Members: []Member{a, b}, BinSize: time.Second})
	if err := p.Start(context.Background()); err != nil {
		t.Fatalf("Start: %v", err)
	}
	defer stopProber(t, p)
	sink.waitBins(t, []string{nameA, nameB, "x"}, 1)
	targetB, targetX := p.byName[nameB], p.byName["x"]

	changedAt := time.Now()
	if err := p.SetMembers([]Member{b, c}); err != nil {
		t.Fatalf("SetMembers: %v", err)
	}
	sentA := received(refl[addrA])
	if diff := cmp.Diff(targetNames(p), []string{nameB, nameC, "x"}); diff != "" {
		t.Errorf("Targets (-got +want):\n%s", diff)
	}
	if n := testutil.ToFloat64(p.metrics.targets.WithLabelValues(MethodTWAMP)); n != 3 {
		t.Errorf("targets metric %v, want 3", n)
	}
	if _, err := p.Recent(nameA); !errors.Is(err, ErrUnknownTarget) {
		t.Errorf("Recent of the removed member: %v, want ErrUnknownTarget", err)
	}
	p.tmu.RLock()
	if p.byName[nameB] != targetB || p.byName["x"] != targetX {
		t.Error("B or x is another target after SetMembers: its state was reset")
	}
	p.tmu.RUnlock()

	// C has two complete bins after the change.
	changeBin := p.rec.binStart(changedAt)
	sink.waitFor(t, "two bins of C", func(m map[string][]analytics.LatencyBin) bool {
		return binsFrom(m[nameC], changeBin.Add(time.Second)) >= 2
	})
	if got := received(refl[addrA]); got > sentA+1 {
		t.Errorf("A was sent %d probes after SetMembers returned, want at most the one in flight", got-sentA)
	}
	// A's last bin was closed and written when due, before Stop, with
	// every probe sent to A (all answered), and then A was forgotten.
	bins := byTarget(sink.all())
	if got, want := sentIn(bins[nameA]), received(refl[addrA]); got != want {
		t.Errorf("A's bins count %d probes sent, its reflector received %d: a bin of A was lost", got, want)
	}
	for _, bin := range bins[nameA] {
		if bin.Received != bin.Sent {
			t.Errorf("A's bin %s: %d of %d answered, want all", bin.Time.Format(time.TimeOnly), bin.Received, bin.Sent)
		}
		if bin.Time.After(changeBin) {
			t.Errorf("A has a bin at %s, after the change at %s", bin.Time.Format(time.TimeOnly),
				changedAt.Format(time.TimeOnly))
		}
	}
	p.tmu.RLock()
	if len(p.retiring) != 0 {
		t.Errorf("%d removed targets still kept after their bins closed", len(p.retiring))
	}
	p.tmu.RUnlock()

	stopProber(t, p)
	bins = byTarget(sink.all())
	for _, name := range []string{nameA, nameB, nameC, "x"} {
		checkContiguous(t, name, bins[name])
	}
	for _, tc := range []struct {
		name string
		r    *Reflector
	}{{nameB, refl[addrB]}, {nameC, refl[addrC]}, {"x", reflX}} {
		got, want := sentIn(bins[tc.name]), received(tc.r)
		if got > want || got+unsettledMax < want {
			t.Errorf("%s: %d probes in its bins, its reflector received %d", tc.name, got, want)
		}
	}
	if bins[nameC][0].Time.Before(changeBin) {
		t.Errorf("C has a bin at %s, before the change", bins[nameC][0].Time.Format(time.TimeOnly))
	}
	// B kept its slots: in every bin but its first and last (partial), the
	// one of the change included, it was sent as many probes as x.
	xAt := map[time.Time]uint32{}
	for _, bin := range bins["x"] {
		xAt[bin.Time] = bin.Sent
	}
	sawChange := false
	for _, bin := range bins[nameB][1 : len(bins[nameB])-1] {
		xs, ok := xAt[bin.Time]
		if bin.Time.Equal(changeBin) {
			sawChange = true
		}
		if !ok || bin.Sent < 40 || max(bin.Sent, xs)-min(bin.Sent, xs) > 2 {
			t.Errorf("B's bin %s: %d probes sent, x's %d; want at least 40 and alike (± 2)",
				bin.Time.Format(time.TimeOnly), bin.Sent, xs)
		}
	}
	if !sawChange {
		t.Errorf("B has no complete bin at the change (%s)", changeBin.Format(time.TimeOnly))
	}
}

// TestSetMembersThenStop removes a member and stops at once: Stop writes
// the removed member's bin in progress like the others'.
func TestSetMembersThenStop(t *testing.T) {
	const addrA, addrB = "127.0.0.45", "127.0.0.46"
	port, refl := memberReflectors(t, addrA, addrB)
	a, b := member(64501, addrA), member(64502, addrB)
	sink := newMemSink()
	p := testProber(t, memberConfig(port), Dependencies{Sink: sink, Members: []Member{a, b}, BinSize: time.Second})
	if err := p.Start(context.Background()); err != nil {
		t.Fatalf("Start: %v", err)
	}
	defer stopProber(t, p)
	sink.waitBins(t, memberNames(a, b), 1)
	changeBin := p.rec.binStart(time.Now())
	if err := p.SetMembers([]Member{b}); err != nil {
		t.Fatalf("SetMembers: %v", err)
	}
	stopProber(t, p)
	bins := byTarget(sink.all())[MemberTargetName(a)]
	checkContiguous(t, "A", bins)
	// The probe in flight at SetMembers may be unanswered at Stop, and
	// left out.
	if got, want := sentIn(bins), received(refl[addrA]); got > want || got+1 < want {
		t.Errorf("A's bins count %d probes sent, its reflector received %d: a bin of A was lost", got, want)
	}
	if last := bins[len(bins)-1].Time; !last.Equal(changeBin) && !last.Equal(changeBin.Add(-time.Second)) {
		t.Errorf("A's last bin is at %s, want the one of the change, %s", last.Format(time.TimeOnly),
			changeBin.Format(time.TimeOnly))
	}
}

// TestSetMembersStopped sets the members before Start and between Stop
// and Start: the prober probes the list in force at Start, and opens the
// IPv6 socket a new IPv6 member needs.
func TestSetMembersStopped(t *testing.T) {
	const addrA, addrB, addrC = "127.0.0.51", "127.0.0.52", "::1"
	port, refl := memberReflectors(t, addrA, addrB, addrC)
	a, b, c := member(64501, addrA), member(64502, addrB), member(64503, addrC)

	sink := newMemSink()
	p := testProber(t, memberConfig(port), Dependencies{Sink: sink, Members: []Member{a}, BinSize: time.Second})
	if err := p.SetMembers([]Member{b}); err != nil {
		t.Fatalf("SetMembers before Start: %v", err)
	}
	if diff := cmp.Diff(targetNames(p), memberNames(b)); diff != "" {
		t.Errorf("Targets before Start (-got +want):\n%s", diff)
	}
	if err := p.Start(context.Background()); err != nil {
		t.Fatalf("Start: %v", err)
	}
	sink.waitBins(t, memberNames(b), 2)
	stopProber(t, p)
	sentB := received(refl[addrB])

	if err := p.SetMembers([]Member{c}); err != nil {
		t.Fatalf("SetMembers after Stop: %v", err)
	}
	if diff := cmp.Diff(targetNames(p), memberNames(c)); diff != "" {
		t.Errorf("Targets after Stop (-got +want):\n%s", diff)
	}
	if n := testutil.ToFloat64(p.metrics.targets.WithLabelValues(MethodTWAMP)); n != 1 {
		t.Errorf("targets metric %v, want 1", n)
	}
	if err := p.Start(context.Background()); err != nil {
		t.Fatalf("Start again: %v", err)
	}
	sink.waitBins(t, memberNames(c), 2)
	stopProber(t, p)

	if n := received(refl[addrA]); n != 0 {
		t.Errorf("A, removed before Start, was sent %d probes", n)
	}
	if n := received(refl[addrB]); n != sentB {
		t.Errorf("B, removed while stopped, was sent %d probes after", n-sentB)
	}
	bins := byTarget(sink.all())
	if n := len(bins[MemberTargetName(a)]); n != 0 {
		t.Errorf("A has %d bins", n)
	}
	if got, want := sentIn(bins[MemberTargetName(c)]), received(refl[addrC]); got > want || got+unsettledMax < want {
		t.Errorf("C: %d probes in its bins, its reflector received %d", got, want)
	}
}

// TestSetMembersConcurrent changes the members from many goroutines
// while the prober runs and the API reads it (run it with -race): the
// last list wins, the schedule follows it, and no probe is lost from the
// bins of the members that came and went.
func TestSetMembersConcurrent(t *testing.T) {
	addrs := []string{"127.0.0.61", "127.0.0.62", "127.0.0.63", "::1"}
	port, refl := memberReflectors(t, addrs...)
	x, reflX := startReflector(t, "127.0.0.64:0", ReflectorOptions{})
	var pool []Member
	for i, a := range addrs {
		pool = append(pool, member(uint32(64501+i), a))
	}
	cfg := memberConfig(port)
	cfg.Targets = []TargetConfiguration{{Name: "x", Address: x.String(), Method: MethodTWAMP}}
	sink := newMemSink()
	p := testProber(t, cfg, Dependencies{Sink: sink, BinSize: time.Second}) // no members yet
	if err := p.Start(context.Background()); err != nil {
		t.Fatalf("Start: %v", err)
	}
	defer stopProber(t, p)

	// Eight writers, each at its own pace, until three bins have closed:
	// members come and go within bins and across their closes.
	var wg sync.WaitGroup
	done := make(chan struct{})
	calls := make([]int, 8)
	for g := range calls {
		wg.Go(func() {
			rng := rand.New(rand.NewPCG(uint64(g), 1))
			tick := time.NewTicker(time.Duration(1+rng.IntN(30)) * time.Millisecond)
			defer tick.Stop()
			for {
				var ms []Member
				for _, m := range pool {
					if rng.IntN(2) == 0 {
						ms = append(ms, m)
					}
				}
				if err := p.SetMembers(ms); err != nil {
					t.Errorf("SetMembers: %v", err)
				}
				calls[g]++
				select {
				case <-done:
					return
				case <-tick.C:
				}
			}
		})
	}
	wg.Go(func() {
		for {
			select {
			case <-done:
				return
			default:
			}
			for _, tg := range p.Targets() {
				if _, err := p.Recent(tg.Name); err != nil && !errors.Is(err, ErrUnknownTarget) {
					t.Errorf("Recent: %v", err)
				}
			}
			p.RecentAll()
			p.RecentGains()
		}
	})
	sink.waitBins(t, []string{"x"}, 3)
	close(done)
	wg.Wait()
	t.Logf("SetMembers calls per writer: %v", calls)

	final := []Member{pool[0], pool[3]}
	if err := p.SetMembers(final); err != nil {
		t.Fatalf("SetMembers: %v", err)
	}
	changeBin := p.rec.binStart(time.Now())
	before := map[string]uint64{addrs[1]: received(refl[addrs[1]]), addrs[2]: received(refl[addrs[2]])}
	if diff := cmp.Diff(targetNames(p), append(memberNames(final...), "x")); diff != "" {
		t.Errorf("Targets (-got +want):\n%s", diff)
	}
	if n := testutil.ToFloat64(p.metrics.targets.WithLabelValues(MethodTWAMP)); n != 3 {
		t.Errorf("targets metric %v, want 3", n)
	}
	sink.waitFor(t, "two bins of the last members", func(m map[string][]analytics.LatencyBin) bool {
		for _, name := range memberNames(final...) {
			if binsFrom(m[name], changeBin.Add(time.Second)) < 2 {
				return false
			}
		}
		return true
	})
	for a, n := range before {
		if got := received(refl[a]); got > n+1 {
			t.Errorf("%s was sent %d probes after it was removed", a, got-n)
		}
	}
	stopProber(t, p)

	bins := byTarget(sink.all())
	checkContiguous(t, "x", bins["x"])
	for i, m := range pool {
		name := MemberTargetName(m)
		seen := map[time.Time]int{}
		for _, bin := range bins[name] {
			if seen[bin.Time]++; seen[bin.Time] == 2 {
				t.Errorf("%s: more than one bin at %s", name, bin.Time.Format(time.TimeOnly))
			}
		}
		got, want := sentIn(bins[name]), received(refl[addrs[i]])
		slack := uint64(0) // removed long before Stop: every probe settled
		if slices.Contains(final, m) {
			slack = unsettledMax
		}
		if got > want || got+slack < want {
			t.Errorf("%s: %d probes in its bins, its reflector received %d", name, got, want)
		}
	}
	if got, want := sentIn(bins["x"]), received(reflX); got > want || got+unsettledMax < want {
		t.Errorf("x: %d probes in its bins, its reflector received %d", got, want)
	}
}

// TestSetMembersChecks covers what SetMembers refuses, which changes
// nothing, and what it does with members off.
func TestSetMembersChecks(t *testing.T) {
	a, b := member(64501, "192.0.2.1"), member(64502, "192.0.2.2")
	for _, tc := range []struct {
		name    string
		members bool
		set     []Member
		want    []string
		wantErr string
	}{
		{
			name: "duplicates and mapped addresses", members: true,
			set:  []Member{b, member(64502, "::ffff:192.0.2.2"), a, b},
			want: []string{"as64502-192.0.2.2", "as64501-192.0.2.1", "x"},
		},
		{
			name: "empty list", members: true,
			want: []string{"x"},
		},
		{
			name: "no address", members: true,
			set:     []Member{b, {ASN: 64503}},
			want:    []string{"as64501-192.0.2.1", "x"},
			wantErr: "latency prober: member AS64503 has no address",
		},
		{
			name: "multicast address", members: true,
			set:     []Member{b, member(64503, "224.0.0.1")},
			want:    []string{"as64501-192.0.2.1", "x"},
			wantErr: `latency prober: member AS64503: target as64503-224.0.0.1: "224.0.0.1" is a multicast address`,
		},
		{
			name: "name of a configured target", members: true,
			set:     []Member{b, member(64509, "192.0.2.9")},
			want:    []string{"as64501-192.0.2.1", "x"},
			wantErr: `latency prober: member AS64509: target name "as64509-192.0.2.9" is also latency.targets[1]`,
		},
		{
			name: "members off: recorded only", members: false,
			set:  []Member{b, {ASN: 64503}},
			want: []string{"x", "as64509-192.0.2.9"},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := DefaultConfiguration()
			cfg.Members = tc.members
			cfg.Targets = []TargetConfiguration{
				{Name: "x", Address: "198.51.100.1", Method: MethodICMP},
				{Name: "as64509-192.0.2.9", Address: "198.51.100.2", Method: MethodICMP},
			}
			p, err := New(discardLogger(), newRegistry(), cfg, Dependencies{Members: []Member{a}})
			if err != nil {
				t.Fatal(err)
			}
			err = p.SetMembers(tc.set)
			if fmt.Sprint(err) != fmt.Sprint(errOrNil(tc.wantErr)) {
				t.Errorf("SetMembers: %v, want %v", err, errOrNil(tc.wantErr))
			}
			want := tc.want
			if tc.members {
				want = append(want, "as64509-192.0.2.9")
			}
			if diff := cmp.Diff(targetNames(p), want); diff != "" {
				t.Errorf("Targets (-got +want):\n%s", diff)
			}
			if n := testutil.ToFloat64(p.metrics.targets.WithLabelValues(MethodICMP)); int(n) != len(want) {
				t.Errorf("targets metric %v, want %d", n, len(want))
			}
			if !tc.members && !slices.Equal(p.deps.Members, tc.set) {
				t.Errorf("members recorded %v, want %v", p.deps.Members, tc.set)
			}
		})
	}
}

// errOrNil is the error with message s, nil for "".
func errOrNil(s string) error {
	if s == "" {
		return nil
	}
	return errors.New(s)
}
