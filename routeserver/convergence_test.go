package routeserver_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/netip"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/ixpd/ixpd/routeserver"
	"github.com/ixpd/ixpd/routeserver/peertest"
	"github.com/ixpd/ixpd/routeserver/speaker"
)

// TestConvergenceWithSimulatedMembers has members connect and announce at
// the same moment, which is when GoBGP loses updates to a session that is
// just coming up: every member must still end up with every other
// member's routes.
func TestConvergenceWithSimulatedMembers(t *testing.T) {
	if testing.Short() && os.Getenv("CI") != "true" {
		t.Skip("integration test; -short")
	}
	ctx := t.Context()
	port, _ := peertest.FreePort()
	cfg := routeserver.DefaultConfiguration()
	cfg.ASN = rsASN
	cfg.RouterID = rs4
	cfg.Listen = routeserver.ListenAddresses{netip.AddrPortFrom(rs4, uint16(port))}
	cfg.Passive = true
	cfg.PeeringLANs = lans
	const N, K = 10, 100
	var ms []member
	for i := range N {
		ms = append(ms, member{name: fmt.Sprint(i), asn: uint32(210000 + i), addr4: netip.AddrFrom4([4]byte{127, 0, 0, byte(10 + i)}), maxPrefix: 1000})
	}
	rs, _ := routeserver.New(slog.New(slog.NewTextHandler(io.Discard, nil)), prometheus.NewRegistry(), cfg, routeserver.Dependencies{Members: parseMembers(t, ms)})
	if err := rs.Start(ctx); err != nil {
		t.Fatal(err)
	}
	defer func() {
		if err := rs.Stop(context.Background()); err != nil {
			t.Error(err)
		}
	}()
	var mu sync.Mutex
	got := make([]map[netip.Prefix]bool, N)
	var wg sync.WaitGroup
	for i, m := range ms {
		got[i] = map[netip.Prefix]bool{}
		wg.Add(1)
		go func() {
			defer wg.Done()
			s, err := speaker.Dial(ctx, speaker.Config{LocalAddr: m.addr4, Remote: netip.AddrPortFrom(rs4, uint16(port)), ASN: m.asn, RouterID: m.addr4,
				OnUpdate: func(a, w []netip.Prefix, _ speaker.RawAttributes) {
					mu.Lock()
					for _, p := range a {
						got[i][p] = true
					}
					for _, p := range w {
						delete(got[i], p)
					}
					mu.Unlock()
				}})
			if err != nil {
				t.Error(err)
				return
			}
			var ps []netip.Prefix
			for j := range K {
				ps = append(ps, netip.PrefixFrom(netip.AddrFrom4([4]byte{16, byte(i), byte(j), 0}), 24))
			}
			msgs, _ := speaker.EncodeUpdates(ps, speaker.Attributes{ASPath: []uint32{m.asn, 220000}, NextHop: m.addr4})
			for _, msg := range msgs {
				if err := s.Send(msg); err != nil {
					t.Errorf("member %s: %v", m.name, err)
					return
				}
			}
			<-ctx.Done()
		}()
	}
	peertest.WaitFor(t, 60*time.Second, "every member holds every other member's routes", func() (bool, string) {
		mu.Lock()
		defer mu.Unlock()
		var held []int
		done := true
		for i := range N {
			held = append(held, len(got[i]))
			done = done && len(got[i]) == (N-1)*K
		}
		return done, fmt.Sprintf("held per member %v of %d", held, (N-1)*K)
	})
}
