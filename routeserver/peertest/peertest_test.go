package peertest

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

var (
	rsAddr4 = netip.MustParseAddr("127.0.0.1")
	rsAddr6 = netip.MustParseAddr("fd00:ffff::1")
)

const (
	rsASN       = 65000
	waitTimeout = 90 * time.Second
)

// routeCmp compares netip values, whose fields are unexported.
var routeCmp = cmp.Options{
	cmp.Comparer(func(a, b netip.Addr) bool { return a == b }),
	cmp.Comparer(func(a, b netip.Prefix) bool { return a == b }),
}

// startRouteServer runs a BIRD transparent route server ("rs client" sessions) on 127.0.0.1 and fd00:ffff::1
// for members, until the test ends.
func startRouteServer(t *testing.T, port int, members []Member) *routeServer {
	t.Helper()
	dir := t.TempDir()
	conf, sock := filepath.Join(dir, "rs.conf"), filepath.Join(dir, "rs.ctl")
	var b strings.Builder
	fmt.Fprintf(&b, `log stderr all;
router id %s;
protocol device {}
ipv4 table igp4;
ipv6 table igp6;
protocol static igp4_lo { ipv4 { table igp4; }; route 0.0.0.0/0 via "lo"; }
protocol static igp6_lo { ipv6 { table igp6; }; route ::/0 via "lo"; }
template bgp mbr {
	# Passive, so that the members must connect by themselves (also after a route server restart).
	passive on;
	multihop;
	strict bind;
	# Transparent: no ASN prepended, next hop and MED kept.
	rs client;
	error wait time 1, 5;
}
`, rsAddr4)
	for _, m := range members {
		if m.Addr4.IsValid() {
			fmt.Fprintf(&b, `protocol bgp %s_4 from mbr {
	local %s port %d as %d;
	neighbor %s port %d as %d;
	ipv4 { import all; export all; igp table igp4; };
}
`, m.Name, rsAddr4, port, rsASN, m.Addr4, port, m.ASN)
		}
		if m.Addr6.IsValid() {
			fmt.Fprintf(&b, `protocol bgp %s_6 from mbr {
	local %s port %d as %d;
	neighbor %s port %d as %d;
	ipv6 { import all; export all; igp table igp6; };
}
`, m.Name, rsAddr6, port, rsASN, m.Addr6, port, m.ASN)
		}
	}
	if err := os.WriteFile(conf, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	rs := &routeServer{conf: conf, sock: sock, log: filepath.Join(dir, "rs.log")}
	rs.start(t)
	t.Cleanup(func() {
		rs.stop(syscall.SIGKILL)
		if t.Failed() {
			log, _ := os.ReadFile(rs.log)
			t.Logf("route server log:\n%s", log)
		}
	})
	return rs
}

// routeServer is the BIRD route server of the tests.
type routeServer struct {
	conf, sock, log string
	cmd             *exec.Cmd
	exited          chan struct{} // closed when BIRD has exited
}

// start runs BIRD and waits until its control socket answers.
func (rs *routeServer) start(t *testing.T) {
	t.Helper()
	birdBin, err := lookPath("bird")
	if err != nil {
		t.Fatal(err)
	}
	logf, err := os.OpenFile(rs.log, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = logf.Close() }() // the child holds its own descriptor
	rs.cmd = exec.Command(birdBin, "-f", "-c", rs.conf, "-s", rs.sock, "-P", rs.sock+".pid")
	rs.cmd.Stdout, rs.cmd.Stderr = logf, logf
	rs.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := rs.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	rs.exited = make(chan struct{})
	go func() {
		_ = rs.cmd.Wait() // BIRD ends by the signal stop sends: its exit status tells nothing
		close(rs.exited)
	}()
	birdc, err := lookPath("birdc")
	if err != nil {
		t.Fatal(err)
	}
	ctl := &bird{sock: rs.sock, birdcBin: birdc}
	ctx, cancel := context.WithTimeout(t.Context(), waitTimeout)
	defer cancel()
	if err := pollUntil(ctx, nil, ctl.ready); err != nil {
		t.Fatalf("route server: %v", err)
	}
}

// stop sends sig to BIRD and waits for it to exit.
func (rs *routeServer) stop(sig syscall.Signal) {
	if rs.cmd == nil {
		return
	}
	_ = syscall.Kill(-rs.cmd.Process.Pid, sig)
	<-rs.exited
	rs.cmd = nil
}

// eventually waits until Received of r equals want, and fails the test with the last diff otherwise.
func eventually(t *testing.T, r *Router, want []Route) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), waitTimeout)
	defer cancel()
	var diff string
	err := pollUntil(ctx, nil, func(ctx context.Context) error {
		got, err := r.Received(ctx)
		if err != nil {
			return err
		}
		if diff = cmp.Diff(got, want, routeCmp); diff != "" {
			return errors.New("routes differ")
		}
		return nil
	})
	if err != nil {
		t.Fatalf("%s: Received(): %v (-got +want):\n%s\nlog tail:\n%s", r.member.Name, err, diff, r.LogTail())
	}
}

func pfx(s string) netip.Prefix { return netip.MustParsePrefix(s) }
func addr(s string) netip.Addr  { return netip.MustParseAddr(s) }

func TestRouteServerMembers(t *testing.T) {
	Require(t)
	for _, a := range []netip.Addr{rsAddr6, addr("fd00:ffff::2"), addr("fd00:ffff::4")} {
		if err := EnsureLoopbackAddr(a); err != nil {
			t.Fatal(err)
		}
	}
	port, err := FreePort(addr("127.0.0.2"), addr("127.0.0.3"), addr("127.0.0.4"), rsAddr6,
		addr("fd00:ffff::2"), addr("fd00:ffff::4"))
	if err != nil {
		t.Fatal(err)
	}

	m1 := Member{ // BIRD, both families
		Name: "m1", ASN: 65001, Port: port, RSASN: rsASN,
		Addr4: addr("127.0.0.2"), RSAddr4: rsAddr4, Addr6: addr("fd00:ffff::2"), RSAddr6: rsAddr6,
		Routes: []Route{
			{Prefix: pfx("10.1.0.0/24"), ASPath: []uint32{64999}, MED: 5, HasMED: true,
				Communities: []string{"65000:20", "65000:1"}, LargeCommunities: []string{"64512:1101:3"}},
			{Prefix: pfx("10.1.1.0/24"), ASPath: []uint32{64998}, NoOwnASN: true},
			{Prefix: pfx("10.1.2.0/24"), NextHop: addr("127.0.0.99")},
			{Prefix: pfx("2001:db8:1::/48"), ASPath: []uint32{65001, 65001}, MED: 10, HasMED: true,
				LargeCommunities: []string{"65001:2:1", "65001:1:7"}},
			{Prefix: pfx("10.1.4.0/24"), ASPath: []uint32{65003}}, // m3's ASN: a loop for m3
		},
	}
	m2 := Member{ // BIRD, IPv4 only
		Name: "m2", ASN: 65002, Port: port, RSASN: rsASN,
		Addr4: addr("127.0.0.3"), RSAddr4: rsAddr4,
		Routes: []Route{{Prefix: pfx("10.2.0.0/24")}},
	}
	m3 := Member{ // OpenBGPD, both families
		Name: "m3", ASN: 65003, Port: port, RSASN: rsASN,
		Addr4: addr("127.0.0.4"), RSAddr4: rsAddr4, Addr6: addr("fd00:ffff::4"), RSAddr6: rsAddr6,
		Routes: []Route{
			{Prefix: pfx("10.3.0.0/24"), ASPath: []uint32{64997}, MED: 7, HasMED: true,
				Communities: []string{"65003:7", "65000:100"}, LargeCommunities: []string{"65003:1:2"}},
			{Prefix: pfx("10.3.1.0/24"), ASPath: []uint32{64996, 64995}, NoOwnASN: true},
			{Prefix: pfx("10.3.2.0/24"), NextHop: addr("127.0.0.98")},
			{Prefix: pfx("2001:db8:3::/48"), NextHop: addr("fd00:ffff::98"), MED: 3, HasMED: true},
			{Prefix: pfx("10.3.5.0/24"), NoOwnASN: true},
			{Prefix: pfx("0.0.0.0/0"), ASPath: []uint32{65003}},
			{Prefix: pfx("10.3.6.0/24"), ASPath: []uint32{65001}}, // m1's ASN: a loop for m1
		},
	}
	rs := startRouteServer(t, port, []Member{m1, m2, m3})

	routers := map[string]*Router{}
	for _, s := range []struct {
		m     Member
		start func(context.Context, string, Member) (*Router, error)
	}{{m1, StartBIRD}, {m2, StartBIRD}, {m3, StartOpenBGPD}} {
		r, err := s.start(t.Context(), t.TempDir(), s.m)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() {
			if err := r.Stop(); err != nil {
				t.Errorf("Stop(): %v\nlog tail:\n%s", err, r.LogTail())
			}
		})
		routers[s.m.Name] = r
	}
	r1, r2, r3 := routers["m1"], routers["m2"], routers["m3"]
	for _, r := range routers {
		ctx, cancel := context.WithTimeout(t.Context(), waitTimeout)
		err := r.WaitEstablished(ctx)
		cancel()
		if err != nil {
			t.Fatal(err)
		}
	}

	// What each member's routes look like at the others: the route server is transparent.
	var (
		m1a = Route{Prefix: pfx("10.1.0.0/24"), NextHop: addr("127.0.0.2"), ASPath: []uint32{65001, 64999},
			MED: 5, HasMED: true, Communities: []string{"65000:1", "65000:20"},
			LargeCommunities: []string{"64512:1101:3"}}
		m1b = Route{Prefix: pfx("10.1.1.0/24"), NextHop: addr("127.0.0.2"), ASPath: []uint32{64998}}
		m1c = Route{Prefix: pfx("10.1.2.0/24"), NextHop: addr("127.0.0.99"), ASPath: []uint32{65001}}
		m1f = Route{Prefix: pfx("10.1.4.0/24"), NextHop: addr("127.0.0.2"), ASPath: []uint32{65001, 65003}}
		m1d = Route{Prefix: pfx("2001:db8:1::/48"), NextHop: addr("fd00:ffff::2"),
			ASPath: []uint32{65001, 65001, 65001}, MED: 10, HasMED: true,
			LargeCommunities: []string{"65001:1:7", "65001:2:1"}}
		m2a = Route{Prefix: pfx("10.2.0.0/24"), NextHop: addr("127.0.0.3"), ASPath: []uint32{65002}}
		m3a = Route{Prefix: pfx("10.3.0.0/24"), NextHop: addr("127.0.0.4"), ASPath: []uint32{65003, 64997},
			MED: 7, HasMED: true, Communities: []string{"65000:100", "65003:7"},
			LargeCommunities: []string{"65003:1:2"}}
		m3b = Route{Prefix: pfx("10.3.1.0/24"), NextHop: addr("127.0.0.4"), ASPath: []uint32{64996, 64995}}
		m3c = Route{Prefix: pfx("10.3.2.0/24"), NextHop: addr("127.0.0.98"), ASPath: []uint32{65003}}
		m3d = Route{Prefix: pfx("2001:db8:3::/48"), NextHop: addr("fd00:ffff::98"), ASPath: []uint32{65003},
			MED: 3, HasMED: true}
		m3e = Route{Prefix: pfx("10.3.5.0/24"), NextHop: addr("127.0.0.4")}
		m3f = Route{Prefix: pfx("0.0.0.0/0"), NextHop: addr("127.0.0.4"), ASPath: []uint32{65003, 65003}}
		m3g = Route{Prefix: pfx("10.3.6.0/24"), NextHop: addr("127.0.0.4"), ASPath: []uint32{65003, 65001}}
	)
	// advertised holds the routes each member announces, as the others should receive them.
	advertised := map[*Router][]Route{
		r1: {m1a, m1b, m1c, m1d, m1f},
		r2: {m2a},
		r3: {m3a, m3b, m3c, m3d, m3e, m3f, m3g},
	}
	checkReceived := func(t *testing.T) {
		t.Helper()
		for _, r := range []*Router{r1, r2, r3} {
			var want []Route
			for from, routes := range advertised {
				if from == r {
					continue
				}
				for _, rt := range routes {
					if rt.Prefix.Addr().Is6() && !r.member.Addr6.IsValid() {
						continue
					}
					if _, ok := r.d.(*openbgpd); ok && rt.MED == 0 {
						rt.HasMED = false // OpenBGPD shows no MED as 0, and 0 as no MED
					}
					want = append(want, rt)
				}
			}
			sortRoutes(want)
			eventually(t, r, want)
		}
	}
	checkReceived(t)

	t.Run("SetRoutes BIRD", func(t *testing.T) {
		// Drop 10.1.1.0/24, change 10.1.0.0/24, add 10.1.3.0/24 and keep the rest.
		routes := []Route{
			{Prefix: pfx("10.1.0.0/24"), ASPath: []uint32{64999, 64990}, Communities: []string{"65000:2"}},
			m1.Routes[2],
			{Prefix: pfx("10.1.3.0/24"), MED: 0, HasMED: true},
			m1.Routes[3],
		}
		if err := r1.SetRoutes(t.Context(), routes); err != nil {
			t.Fatal(err)
		}
		advertised[r1] = []Route{
			{Prefix: pfx("10.1.0.0/24"), NextHop: addr("127.0.0.2"), ASPath: []uint32{65001, 64999, 64990},
				Communities: []string{"65000:2"}},
			m1c,
			{Prefix: pfx("10.1.3.0/24"), NextHop: addr("127.0.0.2"), ASPath: []uint32{65001}, HasMED: true},
			m1d,
		}
		checkReceived(t)
	})

	t.Run("SetRoutes OpenBGPD", func(t *testing.T) {
		// 10.3.0.0/24 moves from the MRT import to a network statement and 10.3.2.0/24 the other way;
		// 10.3.1.0/24 (MRT), 10.3.5.0/24 and the IPv6 route (network statements) go; 10.3.4.0/24 comes.
		routes := []Route{
			{Prefix: pfx("10.3.0.0/24"), MED: 7, HasMED: true, Communities: []string{"65003:7"}},
			{Prefix: pfx("10.3.2.0/24"), NextHop: addr("127.0.0.97"), ASPath: []uint32{64900},
				LargeCommunities: []string{"65003:9:9"}},
			{Prefix: pfx("10.3.4.0/24"), ASPath: []uint32{65003}, MED: 1, HasMED: true},
			m3.Routes[5],
		}
		if err := r3.SetRoutes(t.Context(), routes); err != nil {
			t.Fatal(err)
		}
		advertised[r3] = []Route{
			{Prefix: pfx("10.3.0.0/24"), NextHop: addr("127.0.0.4"), ASPath: []uint32{65003}, MED: 7,
				HasMED: true, Communities: []string{"65003:7"}},
			{Prefix: pfx("10.3.2.0/24"), NextHop: addr("127.0.0.97"), ASPath: []uint32{65003, 64900},
				LargeCommunities: []string{"65003:9:9"}},
			{Prefix: pfx("10.3.4.0/24"), NextHop: addr("127.0.0.4"), ASPath: []uint32{65003, 65003},
				MED: 1, HasMED: true},
			m3f,
		}
		checkReceived(t)
	})

	t.Run("Restart", func(t *testing.T) {
		for _, r := range []*Router{r1, r3} {
			before := r.proc.cmd.Process.Pid
			ctx, cancel := context.WithTimeout(t.Context(), waitTimeout)
			if err := r.Restart(ctx); err != nil {
				cancel()
				t.Fatal(err)
			}
			err := r.WaitEstablished(ctx)
			cancel()
			if err != nil {
				t.Fatal(err)
			}
			if after := r.proc.cmd.Process.Pid; after == before {
				t.Errorf("%s: Restart() kept pid %d", r.member.Name, before)
			}
		}
		// The restarted members announce their current routes again and receive everything again.
		checkReceived(t)
	})

	t.Run("route server restart", func(t *testing.T) {
		// A graceful stop (Cease) and then a crash: the members reconnect by themselves either way.
		for _, sig := range []syscall.Signal{syscall.SIGTERM, syscall.SIGKILL} {
			rs.stop(sig)
			ctx, cancel := context.WithTimeout(t.Context(), waitTimeout)
			err := pollUntil(ctx, nil, func(ctx context.Context) error {
				for _, r := range []*Router{r1, r2, r3} {
					v4, v6, err := r.Established(ctx)
					if err != nil {
						return fmt.Errorf("%s: %w", r.member.Name, err)
					}
					if v4 || v6 {
						return fmt.Errorf("%s: still established (IPv4 %v, IPv6 %v)", r.member.Name, v4, v6)
					}
				}
				return nil
			})
			cancel()
			if err != nil {
				t.Fatalf("after %v to the route server: %v", sig, err)
			}
			started := time.Now()
			rs.start(t)
			for _, r := range []*Router{r1, r2, r3} {
				ctx, cancel := context.WithTimeout(t.Context(), waitTimeout)
				err := r.WaitEstablished(ctx)
				cancel()
				if err != nil {
					t.Fatal(err)
				}
			}
			t.Logf("after %v: members established again in %v", sig, time.Since(started).Round(time.Millisecond))
			checkReceived(t)
		}
	})
}

// TestWithoutRouteServer checks what a member reports when nothing answers it.
func TestWithoutRouteServer(t *testing.T) {
	Require(t)
	for _, tc := range []struct {
		name      string
		start     func(context.Context, string, Member) (*Router, error)
		wantState string
	}{
		{"bird", StartBIRD, "ixp4"},
		{"openbgpd", StartOpenBGPD, "BGP state = "},
	} {
		t.Run(tc.name, func(t *testing.T) {
			port, err := FreePort(addr("127.0.0.5"))
			if err != nil {
				t.Fatal(err)
			}
			m := Member{Name: "lonely", ASN: 65005, RSASN: rsASN, Port: port,
				Addr4: addr("127.0.0.5"), RSAddr4: rsAddr4, Routes: []Route{{Prefix: pfx("10.5.0.0/24")}}}
			r, err := tc.start(t.Context(), t.TempDir(), m)
			if err != nil {
				t.Fatal(err)
			}
			v4, v6, err := r.Established(t.Context())
			if err != nil || v4 || v6 {
				t.Errorf("Established() = %v, %v, %v; want false, false, nil", v4, v6, err)
			}
			ctx, cancel := context.WithTimeout(t.Context(), 2*time.Second)
			defer cancel()
			err = r.WaitEstablished(ctx)
			for _, want := range []string{"sessions not established", "deadline exceeded", tc.wantState,
				"log tail:"} {
				if err == nil || !strings.Contains(err.Error(), want) {
					t.Errorf("WaitEstablished() error = %v, want one containing %q", err, want)
				}
			}
			if got, err := r.Received(t.Context()); err != nil || len(got) != 0 {
				t.Errorf("Received() = %v, %v; want no routes", got, err)
			}
			if err := r.Stop(); err != nil {
				t.Errorf("Stop(): %v", err)
			}
			if _, err := r.Received(t.Context()); !errors.Is(err, ErrExited) {
				t.Errorf("Received() after Stop() error = %v, want ErrExited", err)
			}
		})
	}
}
