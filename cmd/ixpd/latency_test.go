package main

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"testing"
	"time"

	"github.com/ixpd/ixpd/routeserver/peertest"
)

// The daemon probes two `ixpd reflect` processes, one IXP-like and one
// transit-like, the config shape as written, and the API and
// metrics show the targets and the probes answered.
func TestDaemonLatency(t *testing.T) {
	dir := t.TempDir()
	bin := daemonBinary(t)
	ports := freePorts(t, 4)
	bgpPort, apiPort, r1, r2 := ports[0], ports[1], ports[2], ports[3]
	startReflector(t, bin, fmt.Sprintf("127.0.0.21:%d", r1), "2ms")
	startReflector(t, bin, fmt.Sprintf("127.0.0.22:%d", r2), "150ms")
	if err := os.WriteFile(filepath.Join(dir, "members.json"), []byte(fmt.Sprintf(e2eMembers, e2eMember(38800, "A", "127.0.0.2"))), 0o644); err != nil {
		t.Fatal(err)
	}
	config := filepath.Join(dir, "ixpd.yaml")
	cfg := fmt.Sprintf(`ixp: {name: E2E-IX, country: WS, peering_lan: [127.0.0.0/8]}
members_file: members.json
routeserver: {asn: 64512, router_id: 127.0.0.1, listen: "127.0.0.1:%d", passive: true}
latency:
  interval: 1s
  targets:
    - {name: apia-ixp, address: "127.0.0.21:%d", method: twamp, group: apia, path: ixp}
    - {name: apia-transit, address: "127.0.0.22:%d", method: twamp, group: apia, path: transit}
api:
  listen: 127.0.0.1:%d
`, bgpPort, r1, r2, apiPort)
	if err := os.WriteFile(config, []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	startDaemon(t, bin, config)
	api := client{t: t, base: fmt.Sprintf("http://127.0.0.1:%d", apiPort)}
	answered := regexp.MustCompile(`(?m)^ixpd_analytics_latency_answers_total\{[^}]*\} (\d+)`)
	peertest.WaitFor(t, 30*time.Second, "both reflectors answer", func() (bool, string) {
		var metrics string
		api.get("/metrics", &metrics)
		total := 0
		for _, m := range answered.FindAllStringSubmatch(metrics, -1) {
			n, _ := strconv.Atoi(m[1])
			total += n
		}
		return total >= 6, fmt.Sprintf("%d answers\n%s", total, metrics)
	})
	// The bins in progress show before they are stored: stats and the
	// gain within seconds.
	var body struct {
		Targets []struct {
			Name, Method, Path, Group string
			Stats                     struct {
				Sent     int     `json:"sent"`
				Received int     `json:"received"`
				MedianMs float64 `json:"median_ms"`
			} `json:"stats"`
		} `json:"targets"`
		Groups []struct {
			Group  string   `json:"group"`
			GainMs *float64 `json:"gain_ms"`
		} `json:"groups"`
	}
	peertest.WaitFor(t, 30*time.Second, "latency with statistics and the gain", func() (bool, string) {
		if code := api.get("/api/v1/latency", &body); code != 200 {
			return false, fmt.Sprintf("status %d", code)
		}
		ok := len(body.Targets) == 2 && len(body.Groups) == 1 && body.Groups[0].GainMs != nil &&
			body.Targets[0].Stats.Received > 0 && body.Targets[1].Stats.Received > 0
		return ok, fmt.Sprintf("%+v", body)
	})
	if body.Targets[0].Name != "apia-ixp" || body.Targets[1].Path != "transit" || body.Groups[0].Group != "apia" {
		t.Errorf("latency: %+v", body)
	}
	if m := body.Targets[0].Stats.MedianMs; m < 2 || m > 2.5 {
		t.Errorf("apia-ixp median %v ms, want about 2", m)
	}
	if g := *body.Groups[0].GainMs; g < 140 || g > 155 {
		t.Errorf("gain %v ms, want about 148", g)
	}
}
