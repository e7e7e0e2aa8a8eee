package routeserver_test

import (
	"context"
	"io"
	"log/slog"
	"net/netip"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/ixpd/ixpd/routeserver"
	"github.com/ixpd/ixpd/routeserver/members"
	"github.com/ixpd/ixpd/routeserver/peertest"
	"github.com/ixpd/ixpd/routeserver/speaker"
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

// In tag mode IRR failures and (with reject_invalid off) RPKI-invalid
// routes are accepted and only tagged.
func TestTagModes(t *testing.T) {
	ctx := t.Context()
	dir := t.TempDir()
	path := func(n string) string { return filepath.Join(dir, n) }
	writeFile(t, path("irr.json"), `{"AS-X": [{"prefix": "16.1.0.0/16", "exact": false, "greater-equal": 16, "less-equal": 24}]}`)
	writeFile(t, path("asns.json"), `{"AS-X": [38800]}`)
	writeFile(t, path("vrps.json"), vrpJSON("16.1.2.0/24 24 99999"))
	port, err := peertest.FreePort()
	if err != nil {
		t.Fatal(err)
	}
	lo, member := addr("127.0.0.1"), addr("127.0.0.8")
	cfg := routeserver.DefaultConfiguration()
	cfg.ASN, cfg.RouterID = 64512, lo
	cfg.Listen = routeserver.ListenAddresses{netip.AddrPortFrom(lo, uint16(port))}
	cfg.Passive = true
	cfg.PeeringLANs = lans
	cfg.IRR = routeserver.IRR{Mode: routeserver.IRRTag, PrefixLists: []string{path("irr.json")}, ASSets: []string{path("asns.json")}}
	cfg.RPKI = routeserver.RPKI{VRPFile: path("vrps.json"), RejectInvalid: false}
	set, err := members.Parse([]byte(`{"version": "1.0", "timestamp": "2026-11-01T00:00:00Z",
  "ixp_list": [{"ixp_id": 1, "shortname": "TEST-IX"}],
  "member_list": [{"asnum": 38800, "connection_list": [{"ixp_id": 1, "vlan_list": [{"vlan_id": 1,
    "ipv4": {"address": "127.0.0.8", "routeserver": true, "as_macro": "AS-X"}}]}]}]}`), members.Options{PeeringLANs: lans})
	if err != nil {
		t.Fatal(err)
	}
	rs, err := routeserver.New(slog.New(slog.NewTextHandler(io.Discard, nil)), prometheus.NewRegistry(), cfg, routeserver.Dependencies{Members: set})
	if err != nil {
		t.Fatal(err)
	}
	if err := rs.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = rs.Stop(context.Background()) })
	dctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	s, err := speaker.Dial(dctx, speaker.Config{LocalAddr: member, Remote: netip.AddrPortFrom(lo, uint16(port)), ASN: 38800, RouterID: member})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close(); <-s.Done() })
	for _, ann := range []struct {
		prefix string
		path   []uint32
	}{{"16.1.0.0/24", []uint32{38800}}, {"16.2.0.0/24", []uint32{38800}}, {"16.1.1.0/24", []uint32{38800, 12345}}, {"16.1.2.0/24", []uint32{38800}}} {
		msgs, err := speaker.EncodeUpdates([]netip.Prefix{pfx(ann.prefix)}, speaker.Attributes{ASPath: ann.path, NextHop: member})
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range msgs {
			if err := s.Send(m); err != nil {
				t.Fatal(err)
			}
		}
	}
	want := map[string][]string{
		"16.1.0.0/24": {"64512:1000:2", "64512:1001:1"},
		"16.2.0.0/24": {"64512:1000:2", "64512:1001:9"},
		"16.1.1.0/24": {"64512:1000:2", "64512:1001:10"},
		"16.1.2.0/24": {"64512:1000:4", "64512:1001:1"},
	}
	peertest.WaitFor(t, 20*time.Second, "every route accepted with its tags", func() (bool, string) {
		rts, err := rs.Routes(ctx, member.String(), routeserver.Accepted)
		if err != nil {
			return false, err.Error()
		}
		got := map[string][]string{}
		for _, r := range rts {
			got[r.Prefix.String()] = r.LargeCommunities
		}
		diff := cmp.Diff(got, want, cmpopts.SortSlices(func(a, b string) bool { return a < b }))
		return diff == "", "(-got +want)\n" + diff
	})
}
