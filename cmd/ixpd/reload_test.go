package main

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ixpd/ixpd/routeserver/peertest"
)

func TestConfigChanges(t *testing.T) {
	base := `ixp: {name: SIXP, country: WS, peering_lan: [127.0.0.0/8]}
routeserver: {asn: 64512, router_id: 127.0.0.1, listen: "127.0.0.1:1179"}
api: {listen: "127.0.0.1:18080"}
`
	old, err := ParseConfig([]byte(base))
	if err != nil {
		t.Fatal(err)
	}
	next, err := ParseConfig([]byte(strings.Replace(strings.Replace(base, "api: {listen: \"127.0.0.1:18080\"}",
		`api: {listen: "127.0.0.1:18080", tokens: [{name: noc, sha256: `+sha256hex("x")+`}]}
savings: {transit_price_usd_per_mbps_month: 5}
members_file: other.json`, 1), `listen: "127.0.0.1:1179"}`, `listen: "127.0.0.1:1179", hold_time: 30s}`, 1)))
	if err != nil {
		t.Fatal(err)
	}
	changed, err := configChanges(old, next)
	if err != nil {
		t.Fatal(err)
	}
	applied, waiting := splitLive(changed)
	slices.Sort(applied)
	if want := []string{"api.tokens", "members_file", "savings.transit_price_usd_per_mbps_month.high",
		"savings.transit_price_usd_per_mbps_month.low", "savings.transit_price_usd_per_mbps_month.value"}; !slices.Equal(applied, want) {
		t.Errorf("applied %v, want %v", applied, want)
	}
	if want := []string{"routeserver.hold_time"}; !slices.Equal(waiting, want) {
		t.Errorf("waiting for a restart %v, want %v", waiting, want)
	}
	if same, _ := configChanges(old, old); len(same) != 0 {
		t.Errorf("a config against itself: %v", same)
	}
}

// SIGHUP re-reads the config file: tokens and savings inputs apply at
// once, a change that needs a restart is named and left out, and a file
// that does not load changes nothing and stops nothing.
func TestDaemonConfigReload(t *testing.T) {
	if testing.Short() && os.Getenv("CI") != "true" {
		t.Skip("integration test; -short")
	}
	dir := t.TempDir()
	bin := daemonBinary(t)
	ports := freePorts(t, 2)
	bgpPort, apiPort := ports[0], ports[1]
	if err := os.WriteFile(filepath.Join(dir, "members.json"), []byte(fmt.Sprintf(e2eMembers, e2eMember(38800, "A", "127.0.0.2"))), 0o644); err != nil {
		t.Fatal(err)
	}
	config := filepath.Join(dir, "ixpd.yaml")
	write := func(tokens, transitSource, holdTime, extra string) {
		t.Helper()
		cfg := fmt.Sprintf(`ixp: {name: E2E-IX, country: WS, peering_lan: [127.0.0.0/8]}
members_file: members.json
routeserver: {asn: 64512, router_id: 127.0.0.1, listen: "127.0.0.1:%d", passive: true, hold_time: %s}
savings:
  transit_price_usd_per_mbps_month: {value: 4, low: 3, high: 5, source: %q}
api:
  listen: 127.0.0.1:%d
  tokens:
%s%s`, bgpPort, holdTime, transitSource, apiPort, tokens, extra)
		if err := os.WriteFile(config, []byte(cfg), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write(tokenEntry("first-token-0123456789"), "quotes of 2025", "90s", "")
	d := startDaemon(t, bin, config)
	first := client{t: t, base: fmt.Sprintf("http://127.0.0.1:%d", apiPort), token: "first-token-0123456789"}
	second := client{t: t, base: first.base, token: "second-token-0123456789"}
	peertest.WaitFor(t, 20*time.Second, "API up", func() (bool, string) {
		code := first.get("/api/v1/routeserver/neighbors", nil)
		return code == 200, fmt.Sprintf("status %d", code)
	})
	if code := second.get("/api/v1/routeserver/neighbors", nil); code != 401 {
		t.Fatalf("the second token before it is configured: %d, want 401", code)
	}

	write(tokenEntry("first-token-0123456789")+strings.Replace(tokenEntry("second-token-0123456789"), "name: noc", "name: regulator", 1),
		"quotes of 2026", "30s", "")
	if err := d.cmd.Process.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	peertest.WaitFor(t, 10*time.Second, "the second token accepted", func() (bool, string) {
		code := second.get("/api/v1/routeserver/neighbors", nil)
		return code == 200, fmt.Sprintf("status %d", code)
	})
	var sv struct {
		Inputs struct {
			TransitPrice struct {
				Source string `json:"source"`
			} `json:"transit_price"`
		} `json:"inputs"`
	}
	first.get("/api/v1/savings?month=2026-10", &sv)
	if sv.Inputs.TransitPrice.Source != "quotes of 2026" {
		t.Errorf("savings source %q after the reload, want the new one", sv.Inputs.TransitPrice.Source)
	}
	peertest.WaitFor(t, 10*time.Second, "the restart-only change named in the log", func() (bool, string) {
		return strings.Contains(d.log(), "config changes wait for a restart") && strings.Contains(d.log(), "routeserver.hold_time"), d.log()
	})
	var metrics string
	first.get("/metrics", &metrics)
	if !strings.Contains(metrics, "ixpd_config_restart_needed 1") {
		t.Errorf("ixpd_config_restart_needed is not 1 with a change waiting")
	}

	// A file that does not load: nothing changes, ixpd goes on.
	write(tokenEntry("first-token-0123456789"), "quotes of 2027", "30s", "no_such_key: 1\n")
	if err := d.cmd.Process.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	peertest.WaitFor(t, 10*time.Second, "the bad config refused in the log", func() (bool, string) {
		return strings.Contains(d.log(), "config not applied") && strings.Contains(d.log(), "no_such_key"), d.log()
	})
	if code := second.get("/api/v1/routeserver/neighbors", nil); code != 200 {
		t.Errorf("the second token after a bad config: %d, want 200 (the config in force stays)", code)
	}
	first.get("/api/v1/savings?month=2026-10", &sv)
	if sv.Inputs.TransitPrice.Source != "quotes of 2026" {
		t.Errorf("savings source %q after a bad config, want the one in force", sv.Inputs.TransitPrice.Source)
	}
}
