package main

import (
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/ixpd/ixpd/api"
)

// TestInstanceRoles checks what each role runs: a secondary leaves the
// flow listeners, the latency prober and the session recorder to the
// primary, even when its config lists them.
func TestInstanceRoles(t *testing.T) {
	for _, tc := range []struct {
		name       string
		instance   string
		want       api.Instance
		components []string
		ignored    []string
	}{
		{
			name: "default", instance: "",
			want:       api.Instance{Name: "rs1", Role: "primary", CollectsFlows: true, ProbesLatency: true, RecordsSessions: true},
			components: []string{"store", "route server", "flow collector", "latency prober", "session recorder", "API"},
		},
		{
			name: "secondary", instance: "instance: {name: rs2, role: secondary}\n",
			want:       api.Instance{Name: "rs2", Role: "secondary"},
			components: []string{"store", "route server", "API"},
			ignored:    []string{"flow.sflow_listen", "flow.netflow_listen", "latency"},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			if err := os.WriteFile(filepath.Join(dir, "members.json"), []byte(fmt.Sprintf(e2eMembers, e2eMember(38800, "A", "127.0.0.2"))), 0o644); err != nil {
				t.Fatal(err)
			}
			config := filepath.Join(dir, "ixpd.yaml")
			if err := os.WriteFile(config, []byte(`ixp: {name: SIXP, country: WS, peering_lan: [127.0.0.0/8]}
`+tc.instance+`routeserver: {asn: 64512, router_id: 127.0.0.1, listen: "127.0.0.1:1179"}
flow: {sflow_listen: "127.0.0.1:6343", netflow_listen: "127.0.0.1:2055"}
latency: {targets: [{name: x, address: 127.0.0.9, method: icmp}]}
api: {listen: "127.0.0.1:0"}
`), 0o644); err != nil {
				t.Fatal(err)
			}
			cfg, err := LoadConfig(config)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(cfg.instanceInfo(), tc.want); diff != "" {
				t.Errorf("instanceInfo() (-got +want):\n%s", diff)
			}
			if diff := cmp.Diff(cfg.ignoredBySecondary(), tc.ignored); diff != "" {
				t.Errorf("ignoredBySecondary() (-got +want):\n%s", diff)
			}
			var log strings.Builder
			a, err := newApp(cfg, slog.New(slog.NewTextHandler(&log, nil)))
			if err != nil {
				t.Fatal(err)
			}
			var names []string
			for _, c := range a.components() {
				names = append(names, c.name)
			}
			if diff := cmp.Diff(names, tc.components); diff != "" {
				t.Errorf("components (-got +want):\n%s", diff)
			}
			if n := strings.Count(log.String(), " role="+tc.want.Role+" "); n != 1 {
				t.Errorf("want one line naming the role at start, got:\n%s", log.String())
			}
			if got := strings.Contains(log.String(), "not_started="+strings.Join(tc.ignored, ",")); got != (len(tc.ignored) > 0) {
				t.Errorf("start line does not say what is not started:\n%s", log.String())
			}
			if err := a.storeLife.s.Close(); err != nil {
				t.Error(err)
			}
		})
	}
}

// TestExampleSecondary keeps the shipped second route server's config
// valid and in step with the first: same members file and ASN, its own
// router id, addresses and store.
func TestExampleSecondary(t *testing.T) {
	if err := check("../../deploy/examples/ixpd-rs2.yaml", false, io.Discard); err != nil {
		t.Fatal(err)
	}
	rs1, err := LoadConfig("../../deploy/examples/ixpd.yaml")
	if err != nil {
		t.Fatal(err)
	}
	rs2, err := LoadConfig("../../deploy/examples/ixpd-rs2.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if rs1.Instance.Role != rolePrimary || rs2.Instance.Role != roleSecondary || rs1.Instance.Name == rs2.Instance.Name {
		t.Errorf("instances %+v and %+v, want a primary and a secondary with their own names", rs1.Instance, rs2.Instance)
	}
	if rs1.MembersFile != rs2.MembersFile || rs1.RouteServer.ASN != rs2.RouteServer.ASN {
		t.Errorf("members file %s/%s, ASN %d/%d: want the same", rs1.MembersFile, rs2.MembersFile, rs1.RouteServer.ASN, rs2.RouteServer.ASN)
	}
	if rs1.RouteServer.RouterID == rs2.RouteServer.RouterID || rs1.RouteServer.Listen[0] == rs2.RouteServer.Listen[0] ||
		rs1.API.Listen == rs2.API.Listen || rs1.Storage.DuckDBPath == rs2.Storage.DuckDBPath {
		t.Errorf("rs2 shares rs1's router id, listen address, API or DuckDB file")
	}
	set, err := loadMembers(rs2)
	if err != nil {
		t.Fatal(err)
	}
	// Both route servers' addresses are the exchange's own entry.
	found := map[string]bool{}
	for _, m := range set.Members {
		for _, a := range m.Addresses {
			if m.Type == "ixp" {
				found[a.IP.String()] = true
			}
		}
	}
	for _, c := range []Config{rs1, rs2} {
		if !found[c.RouteServer.RouterID.String()] {
			t.Errorf("the members file does not list the route server %s as the exchange's own (member_type ixp)", c.RouteServer.RouterID)
		}
	}
}
