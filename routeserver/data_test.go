package routeserver_test

import (
	"context"
	"io"
	"log/slog"
	"net/netip"
	"path/filepath"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/ixpd/ixpd/routeserver"
	"github.com/ixpd/ixpd/routeserver/peertest"
)

// A bad data file at start stops the route server with an error that
// names it, and leaves nothing running.
func TestStartRefusesBadDataFiles(t *testing.T) {
	dir := t.TempDir()
	path := func(n string) string { return filepath.Join(dir, n) }
	writeFile(t, path("vrps.json"), `{"roas": [{"prefix": "192.0.2.0/24", "maxLength": 40, "asn": 64500}]}`)
	writeFile(t, path("irr.json"), `{"AS-X": [{"prefix": "192.0.2.0/24"}]}`)
	writeFile(t, path("pdb.json"), `{"data": "none"}`)
	for _, tt := range []struct {
		name string
		set  func(*routeserver.Configuration)
		want string
	}{
		{"vrp file", func(c *routeserver.Configuration) { c.RPKI.VRPFile = path("vrps.json") }, "vrps.json"},
		{"missing vrp file", func(c *routeserver.Configuration) { c.RPKI.VRPFile = path("none.json") }, "none.json"},
		{"irr", func(c *routeserver.Configuration) { c.IRR.PrefixLists = []string{path("irr.json")} }, "irr.json"},
		{"peeringdb", func(c *routeserver.Configuration) { c.PeeringDBFile = path("pdb.json") }, "pdb.json"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			port, err := peertest.FreePort()
			if err != nil {
				t.Fatal(err)
			}
			cfg := routeserver.DefaultConfiguration()
			cfg.ASN, cfg.RouterID = 64512, addr("127.0.0.1")
			cfg.Listen = routeserver.ListenAddresses{netip.AddrPortFrom(addr("127.0.0.1"), uint16(port))}
			tt.set(&cfg)
			if err := routeserver.CheckData(cfg); err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("CheckData: %v, want an error naming %s", err, tt.want)
			}
			rs, err := routeserver.New(slog.New(slog.NewTextHandler(io.Discard, nil)), prometheus.NewRegistry(), cfg, routeserver.Dependencies{})
			if err != nil {
				t.Fatal(err)
			}
			err = rs.Start(context.Background())
			if err == nil {
				_ = rs.Stop(context.Background())
				t.Fatalf("Start: no error, want one naming %s", tt.want)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Start: %v, want an error naming %s", err, tt.want)
			}
		})
	}
}
