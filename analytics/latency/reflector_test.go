package latency

import (
	"net"
	"net/netip"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// exchange sends test packets of the given size to a reflector and reads
// the answers (up to want of them, until timeout).
func exchange(t *testing.T, to netip.AddrPort, packets [][]byte, want int, timeout time.Duration) ([][]byte, []time.Time) {
	t.Helper()
	conn, err := net.DialUDP("udp", nil, net.UDPAddrFromAddrPort(to))
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = conn.Close() }()
	for _, p := range packets {
		if _, err := conn.Write(p); err != nil {
			t.Fatal(err)
		}
	}
	var got [][]byte
	var at []time.Time
	_ = conn.SetReadDeadline(time.Now().Add(timeout))
	buf := make([]byte, 2048)
	for len(got) < want {
		n, err := conn.Read(buf)
		if err != nil {
			break
		}
		got = append(got, append([]byte(nil), buf[:n]...))
		at = append(at, time.Now())
	}
	return got, at
}

func TestReflectorAnswer(t *testing.T) {
	addr, r := startReflector(t, "127.0.0.24:0", ReflectorOptions{Delay: 20 * time.Millisecond})
	t1 := time.Now()
	short := AppendTWAMPSender(nil, TWAMPSender{Seq: 41, Timestamp: t1, Estimate: 0x8102}, 14)
	long := AppendTWAMPSender(nil, TWAMPSender{Seq: 42, Timestamp: t1, Estimate: 1}, 100)
	malformed := []byte("too short")
	answers, _ := exchange(t, addr, [][]byte{short, malformed, long}, 2, 2*time.Second)
	if len(answers) != 2 {
		t.Fatalf("%d answers, want 2", len(answers))
	}
	defaultTTL := 64
	if b, err := os.ReadFile("/proc/sys/net/ipv4/ip_default_ttl"); err == nil {
		defaultTTL, _ = strconv.Atoi(strings.TrimSpace(string(b)))
	}
	for i, a := range answers {
		req := [][]byte{short, long}[i]
		if want := max(len(req), TWAMPReflectedSize); len(a) != want {
			t.Errorf("answer %d: %d bytes, want %d", i, len(a), want)
		}
		r, err := ParseTWAMPReflected(a)
		if err != nil {
			t.Fatal(err)
		}
		s, _ := ParseTWAMPSender(req)
		if r.SenderSeq != s.Seq || r.Seq != s.Seq || r.SenderEstimate != s.Estimate {
			t.Errorf("answer %d: %+v does not copy the sender's %+v", i, r, s)
		}
		if string(a[28:36]) != string(req[4:12]) {
			t.Errorf("answer %d: sender timestamp not copied bit for bit", i)
		}
		if kernelTimestamps && int(r.SenderTTL) != defaultTTL {
			t.Errorf("answer %d: sender TTL %d, want %d", i, r.SenderTTL, defaultTTL)
		}
		if r.Estimate&0xff == 0 {
			t.Errorf("answer %d: error estimate %#x has multiplier 0", i, r.Estimate)
		}
		// T2 is at least T1 + Delay (the delay comes before it), T3 is
		// after T2.
		if r.Receive.Before(t1.Add(20 * time.Millisecond)) {
			t.Errorf("answer %d: T2 %s is less than the delay after T1 %s", i, r.Receive, t1)
		}
		if r.Timestamp.Before(r.Receive) {
			t.Errorf("answer %d: T3 %s before T2 %s", i, r.Timestamp, r.Receive)
		}
	}
	if st := r.Stats(); st.Received != 2 || st.Reflected != 2 || st.Malformed != 1 {
		t.Errorf("stats %+v, want 2 received, 2 reflected, 1 malformed", st)
	}
}

// TestReflectorDelayDoesNotBlock sends a burst: with a 200 ms delay,
// every answer must come back about 200 ms after the burst, not one
// after the other.
func TestReflectorDelayDoesNotBlock(t *testing.T) {
	addr, _ := startReflector(t, "127.0.0.24:0", ReflectorOptions{Delay: 200 * time.Millisecond})
	var packets [][]byte
	for i := range 50 {
		packets = append(packets, AppendTWAMPSender(nil, TWAMPSender{Seq: uint32(i), Timestamp: time.Now()}, 41))
	}
	start := time.Now()
	answers, at := exchange(t, addr, packets, len(packets), 3*time.Second)
	if len(answers) != len(packets) {
		t.Fatalf("%d answers, want %d", len(answers), len(packets))
	}
	if first, last := at[0].Sub(start), at[len(at)-1].Sub(start); first < 200*time.Millisecond || last > 400*time.Millisecond {
		t.Errorf("answers came %s to %s after the burst, want all within 200 to 400 ms", first, last)
	}
}

// TestReflectorLoss checks that the reflector drops the share asked for,
// and exactly the packets its seed says: one draw per packet received,
// in order (one sender on loopback keeps the order).
func TestReflectorLoss(t *testing.T) {
	const n, loss, seed = 2000, 0.2, 11
	addr, r := startReflector(t, "127.0.0.24:0", ReflectorOptions{Loss: loss, Seed: seed})
	rng := newLossRNG(seed)
	dropped := 0
	for batch := 0; batch < n; batch += 100 {
		var packets [][]byte
		want := map[uint32]bool{}
		for i := batch; i < batch+100; i++ {
			packets = append(packets, AppendTWAMPSender(nil, TWAMPSender{Seq: uint32(i)}, 41))
			if rng.Float64() < loss {
				dropped++
			} else {
				want[uint32(i)] = true
			}
		}
		answers, _ := exchange(t, addr, packets, len(want), 2*time.Second)
		got := map[uint32]bool{}
		for _, a := range answers {
			p, _ := ParseTWAMPReflected(a)
			got[p.SenderSeq] = true
		}
		if diff := cmp.Diff(got, want); diff != "" {
			t.Fatalf("packets %d to %d: answered (-got +want):\n%s", batch, batch+99, diff)
		}
	}
	if share := float64(dropped) / n; share < 0.17 || share > 0.23 {
		t.Errorf("dropped %.3f, want 0.2 ± 0.03", share)
	}
	if st := r.Stats(); st.Received != n || st.Dropped != uint64(dropped) || st.Reflected != uint64(n-dropped) {
		t.Errorf("stats %+v, want %d received, %d dropped", st, n, dropped)
	}
}

func TestNewReflectorOptions(t *testing.T) {
	for _, tc := range []struct {
		name string
		opts ReflectorOptions
		err  string
	}{
		{name: "negative delay", opts: ReflectorOptions{Delay: -time.Second}, err: "reflector delay: -1s is negative"},
		{name: "loss above 1", opts: ReflectorOptions{Loss: 1.5}, err: "reflector loss: 1.5 is outside 0..1"},
		{name: "negative loss", opts: ReflectorOptions{Loss: -0.1}, err: "reflector loss: -0.1 is outside 0..1"},
		{name: "ok", opts: ReflectorOptions{Delay: time.Millisecond, Loss: 1}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := NewReflector(discardLogger(), tc.opts)
			got := ""
			if err != nil {
				got = err.Error()
			}
			if got != tc.err {
				t.Errorf("error %q, want %q", got, tc.err)
			}
		})
	}
}
