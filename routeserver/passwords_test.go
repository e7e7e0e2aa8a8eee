package routeserver_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/netip"
	"strings"
	"testing"

	api "github.com/osrg/gobgp/v4/api"
	"github.com/prometheus/client_golang/prometheus"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/ixpd/ixpd/routeserver"
	"github.com/ixpd/ixpd/routeserver/peertest"
)

// GoBGP's gRPC API (grpc_listen) answers ListPeer with each peer's
// configuration, password included; ixpd's interceptor redacts it, also
// after the password changed, and the route server's debug log never
// shows it.
func TestGRPCHidesPasswords(t *testing.T) {
	const pw, pw2 = "sentinel-7f3a9c-not-for-logs", "sentinel-second-4d1e-not-for-logs"
	ports := make([]int, 2)
	for i := range ports {
		p, err := peertest.FreePort()
		if err != nil {
			t.Fatal(err)
		}
		ports[i] = p
	}
	cfg := routeserver.DefaultConfiguration()
	cfg.ASN, cfg.RouterID = rsASN, rs4
	cfg.Listen = routeserver.ListenAddresses{netip.AddrPortFrom(rs4, uint16(ports[0]))}
	cfg.PeerPort = uint16(ports[0])
	cfg.Passive = true
	cfg.PeeringLANs = lans
	cfg.GRPCListen = fmt.Sprintf("127.0.0.1:%d", ports[1])
	set := parseMembers(t, []member{{name: "A", asn: 38800, addr4: addr("127.0.0.2")}, {name: "B", asn: 17993, addr4: addr("127.0.0.3")}})
	var logs bytes.Buffer
	logger := slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	rs, err := routeserver.New(logger, prometheus.NewRegistry(), cfg, routeserver.Dependencies{Members: set,
		Passwords: routeserver.Passwords{ByASN: map[uint32]routeserver.Secret{38800: routeserver.NewSecret(pw)}}})
	if err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	if err := rs.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = rs.Stop(context.Background()) })

	conn, err := grpc.NewClient(cfg.GRPCListen, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = conn.Close() })
	passwords := func() map[string]string {
		t.Helper()
		stream, err := api.NewGoBgpServiceClient(conn).ListPeer(ctx, &api.ListPeerRequest{})
		if err != nil {
			t.Fatal(err)
		}
		out := map[string]string{}
		for {
			r, err := stream.Recv()
			if errors.Is(err, io.EOF) {
				return out
			}
			if err != nil {
				t.Fatal(err)
			}
			out[r.GetPeer().GetConf().GetNeighborAddress()] = r.GetPeer().GetConf().GetAuthPassword()
		}
	}
	if got := passwords(); got["127.0.0.2"] != routeserver.Redacted || got["127.0.0.3"] != "" {
		t.Errorf("ListPeer passwords %q: want [redacted] for 127.0.0.2 and none for 127.0.0.3", got)
	}
	// A new password for A's address, and one for B.
	if err := rs.SetPasswords(ctx, routeserver.Passwords{ByAddress: map[netip.Addr]routeserver.Secret{
		addr("127.0.0.2"): routeserver.NewSecret(pw2), addr("127.0.0.3"): routeserver.NewSecret(pw)}}); err != nil {
		t.Fatal(err)
	}
	if got := passwords(); got["127.0.0.2"] != routeserver.Redacted || got["127.0.0.3"] != routeserver.Redacted {
		t.Errorf("after SetPasswords: %q", got)
	}
	ns, err := rs.Neighbors(ctx)
	if err != nil || len(ns) != 2 {
		t.Fatalf("neighbors %+v %v", ns, err)
	}
	if err := rs.SetPasswords(ctx, routeserver.Passwords{}); err != nil {
		t.Fatal(err)
	}
	if got := passwords(); got["127.0.0.2"] != "" || got["127.0.0.3"] != "" {
		t.Errorf("after removing the passwords: %q", got)
	}
	l := logs.String()
	if strings.Contains(l, pw) || strings.Contains(l, pw2) || strings.Contains(fmt.Sprint(ns), pw) {
		t.Errorf("a password shows in the log or the neighbors:\n%s", l)
	}
	if !strings.Contains(l, "session password changed") {
		t.Errorf("the log does not say the sessions restarted:\n%s", l)
	}
}
