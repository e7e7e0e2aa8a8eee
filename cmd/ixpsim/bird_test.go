package main

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ixpd/ixpd/routeserver/speaker"
	"github.com/osrg/gobgp/v4/pkg/packet/bgp"
)

// needBIRD returns the bird binary, skipping the test when it is missing
// (failing under CI=true).
func needBIRD(t *testing.T) string {
	t.Helper()
	bin, err := exec.LookPath("bird")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("bird not installed: %v", err)
		}
		t.Skipf("bird not installed: %v", err)
	}
	return bin
}

func testBIRDConfig(dir string, tables string, port uint16, n, maxPrefix int) *birdConfig {
	c := &birdConfig{
		Dir: dir, RouterID: rsAddr, ListenAddr: rsAddr, Port: port, ASN: rsASN,
		Tables: tables, PeeringLAN: peeringLAN, MaxPrefix: maxPrefix,
	}
	for i := range n {
		c.Members = append(c.Members, birdMember{Name: fmt.Sprintf("m%d", i+1), Addr: memberAddr(i), ASN: memberASN(i)})
	}
	return c
}

func TestBIRDConfigParses(t *testing.T) {
	bin := needBIRD(t)
	for _, tables := range []string{birdSingle, birdPerClient} {
		t.Run(tables, func(t *testing.T) {
			dir := t.TempDir()
			conf, err := testBIRDConfig(dir, tables, 1179, 300, 2000).render()
			if err != nil {
				t.Fatal(err)
			}
			// Members beyond .255 and the protocol names BIRD must accept.
			for _, want := range []string{"protocol bgp m300 from rs_client", "neighbor 127.0.1.53 as 210299", "import limit 2000 action restart"} {
				if !strings.Contains(string(conf), want) {
					t.Errorf("config lacks %q", want)
				}
			}
			path := filepath.Join(dir, "bird.conf")
			if err := os.WriteFile(path, conf, 0o644); err != nil {
				t.Fatal(err)
			}
			if out, err := exec.Command(bin, "-p", "-c", path).CombinedOutput(); err != nil {
				t.Fatalf("bird -p: %v\n%s", err, out)
			}
		})
	}
}

func TestBIRDConfigRejectsUnknownTables(t *testing.T) {
	if _, err := testBIRDConfig("/tmp", "both", 1179, 2, 10).render(); err == nil {
		t.Error("render accepted an unknown table layout")
	}
}

// startTestBIRD starts BIRD as the bench does, for n members.
func startTestBIRD(t *testing.T, tables string, n, maxPrefix int) (netip.AddrPort, string) {
	t.Helper()
	bin := needBIRD(t)
	dir := t.TempDir()
	port, err := freePort()
	if err != nil {
		t.Fatal(err)
	}
	env := &runEnv{dir: dir, rsAddr: rsAddr, port: port, maxPrefix: maxPrefix, members: make([]*member, n)}
	p, err := (&birdTarget{bin: bin, tables: tables}).start(context.Background(), env)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.stop)
	addr := netip.AddrPortFrom(rsAddr, port)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := waitListening(ctx, p, addr); err != nil {
		t.Fatal(err)
	}
	return addr, filepath.Join(dir, "bird.ctl")
}

// received collects the prefixes a test member is sent.
type received struct {
	mu       sync.Mutex
	prefixes map[netip.Prefix]bool
}

func (r *received) onUpdate(a, w []netip.Prefix, _ speaker.RawAttributes) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, p := range a {
		r.prefixes[p] = true
	}
	for _, p := range w {
		delete(r.prefixes, p)
	}
}

func (r *received) has(p netip.Prefix) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.prefixes[p]
}

func dialMember(t *testing.T, rs netip.AddrPort, i int, onUpdate func(a, w []netip.Prefix, _ speaker.RawAttributes)) *speaker.Session {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	s, err := dialRetry(ctx, speaker.Config{
		LocalAddr: memberAddr(i), Remote: rs, ASN: memberASN(i), PeerASN: rsASN,
		RouterID: memberAddr(i), OnUpdate: onUpdate,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() }) // Close always returns nil
	return s
}

func announce(t *testing.T, s *speaker.Session, prefixes []netip.Prefix, attrs speaker.Attributes) {
	t.Helper()
	msgs, err := speaker.EncodeUpdates(prefixes, attrs)
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range msgs {
		if err := s.Send(m); err != nil {
			t.Fatal(err)
		}
	}
}

// birdc runs a BIRD CLI command.
func birdc(t *testing.T, sock, cmd string) string {
	t.Helper()
	out, err := exec.Command("birdc", append([]string{"-s", sock}, strings.Fields(cmd)...)...).CombinedOutput()
	if err != nil {
		t.Fatalf("birdc %s: %v\n%s", cmd, err, out)
	}
	return string(out)
}

// TestBIRDImportFilters sends routes that break each of ixpd's import
// rules through the generated BIRD route server and checks that only the
// good one reaches the other member and that each bad one is kept as
// filtered with its Euro-IX reason.
func TestBIRDImportFilters(t *testing.T) {
	for _, tables := range []string{birdSingle, birdPerClient} {
		t.Run(tables, func(t *testing.T) {
			if _, err := exec.LookPath("birdc"); err != nil && os.Getenv("CI") != "true" {
				t.Skip("birdc not installed")
			}
			rs, sock := startTestBIRD(t, tables, 2, 100)
			recv := &received{prefixes: map[netip.Prefix]bool{}}
			dialMember(t, rs, 1, recv.onUpdate)
			sender := dialMember(t, rs, 0, nil)

			good := memberAttributes(0)
			with := func(f func(a *speaker.Attributes)) speaker.Attributes {
				a := good
				a.ASPath = slices.Clone(good.ASPath)
				f(&a)
				return a
			}
			longPath := make([]uint32, 33)
			for i := range longPath {
				longPath[i] = memberASN(0)
			}
			bad := []struct {
				prefix string
				attrs  speaker.Attributes
				reason int
			}{
				{"10.1.0.0/24", good, reasonBogon},
				// The peering LAN: 127.0.0.0/8 is host scope to BIRD, which
				// drops such routes before any filter (reason 0: not kept).
				{"127.0.5.0/24", good, 0},
				{"16.0.9.128/25", good, reasonTooLong},
				{"0.0.0.0/0", good, reasonTooShort},
				{"16.0.10.0/24", with(func(a *speaker.Attributes) { a.NextHop = memberAddr(1) }), reasonNextHop},
				{"16.0.11.0/24", with(func(a *speaker.Attributes) { a.ASPath[0] = 210999 }), reasonFirstAS},
				{"16.0.12.0/24", with(func(a *speaker.Attributes) { a.ASPath = longPath }), reasonPathTooLong},
				{"16.0.13.0/24", with(func(a *speaker.Attributes) { a.ASPath[1] = 65001 }), reasonBogonASN},
				{"16.0.14.0/24", with(func(a *speaker.Attributes) { a.ASPath[1] = 4200000001 }), reasonBogonASN},
			}
			for _, b := range bad {
				announce(t, sender, []netip.Prefix{netip.MustParsePrefix(b.prefix)}, b.attrs)
			}
			goodPrefix := prefixOf(0)
			announce(t, sender, []netip.Prefix{goodPrefix}, good)

			// Wait until BIRD has decided on every route.
			deadline := time.Now().Add(20 * time.Second)
			for {
				out := birdc(t, sock, "show route filtered protocol m1 count")
				if strings.Contains(out, fmt.Sprintf("%d of", len(bad)-1)) && recv.has(goodPrefix) {
					break
				}
				if time.Now().After(deadline) {
					t.Fatalf("routes not settled (good received %v):\n%s\n%s", recv.has(goodPrefix), out, birdc(t, sock, "show route filtered protocol m1"))
				}
				time.Sleep(50 * time.Millisecond)
			}
			for _, b := range bad {
				p := netip.MustParsePrefix(b.prefix)
				if recv.has(p) {
					t.Errorf("%s passed the route server", p)
				}
				if b.reason == 0 {
					continue
				}
				out := birdc(t, sock, "show route "+p.String()+" protocol m1 filtered all")
				if want := fmt.Sprintf("(%d, 1101, %d)", rsASN, b.reason); !strings.Contains(out, want) {
					t.Errorf("%s: filtered route lacks reason %s:\n%s", p, want, out)
				}
			}
		})
	}
}

// TestBIRDMaxPrefix checks that BIRD ends a session that sends more than
// its limit with a Cease the speaker reports.
func TestBIRDMaxPrefix(t *testing.T) {
	rs, _ := startTestBIRD(t, birdSingle, 2, 10)
	s := dialMember(t, rs, 0, nil)
	announce(t, s, memberPrefixes(0, 11), memberAttributes(0))
	select {
	case <-s.Done():
	case <-time.After(20 * time.Second):
		t.Fatal("session survived 11 prefixes with a limit of 10")
	}
	want := &speaker.NotificationError{Code: bgp.BGP_ERROR_CEASE, Subcode: bgp.BGP_ERROR_SUB_MAXIMUM_NUMBER_OF_PREFIXES_REACHED}
	if !errors.Is(s.Err(), want) {
		t.Errorf("session error %v, want %v", s.Err(), want)
	}
}
