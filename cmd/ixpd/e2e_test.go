package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/ixpd/ixpd/routeserver/peertest"
)

// The whole daemon, as an operator runs it: the real binary, a config
// file, a members file, real BIRD members, the HTTP API and signals.

// daemon is a running ixpd process.
type daemon struct {
	cmd  *exec.Cmd
	mu   sync.Mutex
	logs strings.Builder
	done chan error
}

func (d *daemon) log() string {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.logs.String()
}

// stop sends SIGTERM and waits for a clean exit, at most 30 s.
func (d *daemon) stop(t *testing.T) {
	t.Helper()
	if err := d.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-d.done:
		if err != nil {
			t.Fatalf("ixpd exited with %v", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("ixpd did not stop on SIGTERM")
	}
}

func startDaemon(t *testing.T, bin, config string) *daemon {
	t.Helper()
	d := &daemon{cmd: exec.Command(bin, "run", "-config", config), done: make(chan error, 1)}
	stderr, err := d.cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := d.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			d.mu.Lock()
			d.logs.WriteString(sc.Text() + "\n")
			d.mu.Unlock()
		}
		d.done <- d.cmd.Wait()
	}()
	t.Cleanup(func() {
		_ = d.cmd.Process.Kill()
		if t.Failed() {
			t.Logf("ixpd log:\n%s", d.log())
		}
	})
	return d
}

type client struct {
	t     *testing.T
	base  string
	token string
}

func (c client) get(path string, out any) int {
	c.t.Helper()
	return c.do("GET", path, out)
}

func (c client) do(method, path string, out any) int {
	c.t.Helper()
	req, err := http.NewRequest(method, c.base+path, nil)
	if err != nil {
		c.t.Fatal(err)
	}
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0
	}
	defer func() { _ = resp.Body.Close() }()
	body, _ := io.ReadAll(resp.Body)
	if out != nil && len(body) > 0 {
		if err := json.Unmarshal(body, out); err != nil {
			if s, ok := out.(*string); ok {
				*s = string(body)
				return resp.StatusCode
			}
			c.t.Fatalf("%s %s: %v: %s", method, path, err, body)
		}
	}
	return resp.StatusCode
}

const e2eMembers = `{"version": "1.0", "timestamp": "2026-11-01T00:00:00Z",
 "ixp_list": [{"ixp_id": 1, "shortname": "E2E", "vlan": [{"id": 1}]}],
 "member_list": [%s]}`

func e2eMember(asn int, name, addr string) string {
	return fmt.Sprintf(`{"asnum": %d, "name": %q, "connection_list": [{"ixp_id": 1, "vlan_list": [{"vlan_id": 1,
	  "ipv4": {"address": %q, "routeserver": true, "max_prefix": 10}}]}]}`, asn, name, addr)
}

type neighborsBody struct {
	Neighbors []struct {
		ID     string `json:"id"`
		ASN    uint32 `json:"asn"`
		State  string `json:"state"`
		Routes struct {
			Received, Accepted, Filtered, Exported int
		} `json:"routes"`
	} `json:"neighbors"`
}

func (n neighborsBody) states() map[string]string {
	out := map[string]string{}
	for _, x := range n.Neighbors {
		out[x.ID] = x.State
	}
	return out
}

func TestDaemonEndToEnd(t *testing.T) {
	peertest.Require(t)
	dir := t.TempDir()
	bin := daemonBinary(t)
	ports := freePorts(t, 2)
	bgpPort, apiPort := ports[0], ports[1]
	token := "e2e-token-0123456789"
	config := filepath.Join(dir, "ixpd.yaml")
	membersFile := filepath.Join(dir, "members.json")
	writeMembers := func(body string) {
		t.Helper()
		if err := os.WriteFile(membersFile, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	writeMembers(fmt.Sprintf(e2eMembers, e2eMember(38800, "A", "127.0.0.2")+","+e2eMember(17993, "B", "127.0.0.3")))
	cfg := fmt.Sprintf(`ixp: {name: E2E-IX, country: WS, peering_lan: [127.0.0.0/8]}
members_file: members.json
routeserver:
  asn: 64512
  router_id: 127.0.0.1
  listen: 127.0.0.1:%d
  peer_port: %d
  connect_retry: 1s
api:
  listen: 127.0.0.1:%d
  tokens:
%s
`, bgpPort, bgpPort, apiPort, tokenEntry(token))
	if err := os.WriteFile(config, []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}

	// check, before anything runs.
	var out, errOut strings.Builder
	if code := cli([]string{"check", "-config", config}, &out, &errOut); code != 0 {
		t.Fatalf("check: %d %s", code, errOut.String())
	}

	d := startDaemon(t, bin, config)
	api := client{t: t, base: fmt.Sprintf("http://127.0.0.1:%d", apiPort), token: token}
	peertest.WaitFor(t, 20*time.Second, "API up", func() (bool, string) {
		var s string
		code := api.get("/healthz", &s)
		return code == 200, fmt.Sprintf("status %d", code)
	})
	if code := (client{t: t, base: api.base}).get("/api/v1/routeserver/neighbors", nil); code != 401 {
		t.Errorf("looking glass without a token: %d, want 401", code)
	}

	ctx := t.Context()
	member := func(name string, asn uint32, a string, routes ...peertest.Route) *peertest.Router {
		r, err := peertest.StartBIRD(ctx, t.TempDir(), peertest.Member{Name: name, ASN: asn, Addr4: netip.MustParseAddr(a),
			RSAddr4: netip.MustParseAddr("127.0.0.1"), RSASN: 64512, Port: bgpPort, Routes: routes})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = r.Stop() })
		wctx, cancel := context.WithTimeout(ctx, 60*time.Second)
		defer cancel()
		if err := r.WaitEstablished(wctx); err != nil {
			t.Fatal(err)
		}
		return r
	}
	a := member("a", 38800, "127.0.0.2",
		peertest.Route{Prefix: netip.MustParsePrefix("16.38.0.0/24")},
		peertest.Route{Prefix: netip.MustParsePrefix("16.38.1.0/25")})
	b := member("b", 17993, "127.0.0.3", peertest.Route{Prefix: netip.MustParsePrefix("16.179.0.0/24")})

	peertest.WaitFor(t, 30*time.Second, "B receives A's valid route", func() (bool, string) {
		got, err := b.Received(ctx)
		return err == nil && len(got) == 1 && got[0].Prefix.String() == "16.38.0.0/24", fmt.Sprintf("%+v %v", got, err)
	})
	var filtered struct {
		Routes []struct {
			Prefix        string `json:"prefix"`
			RejectReasons []struct {
				Code int    `json:"code"`
				Name string `json:"name"`
			} `json:"reject_reasons"`
		} `json:"routes"`
	}
	peertest.WaitFor(t, 10*time.Second, "A's filtered route in the API", func() (bool, string) {
		code := api.get("/api/v1/routeserver/neighbors/127.0.0.2/routes/filtered", &filtered)
		return code == 200 && len(filtered.Routes) == 1, fmt.Sprintf("%d %+v", code, filtered)
	})
	if r := filtered.Routes[0]; r.Prefix != "16.38.1.0/25" || len(r.RejectReasons) != 1 || r.RejectReasons[0].Code != 1 || r.RejectReasons[0].Name != "Prefix length too long" {
		t.Errorf("filtered route %+v", r)
	}

	// The IX-F export is public and says who peers with the route server.
	var ixf struct {
		Version    string `json:"version"`
		MemberList []struct {
			ASNum uint32 `json:"asnum"`
		} `json:"member_list"`
	}
	if code := (client{t: t, base: api.base}).get("/ixf/participants.json", &ixf); code != 200 || ixf.Version != "1.0" || len(ixf.MemberList) != 2 {
		t.Errorf("IX-F export: %d %+v", code, ixf)
	}

	// A members file with an error changes nothing.
	writeMembers(fmt.Sprintf(e2eMembers, e2eMember(38800, "A", "127.0.0.2")+","+e2eMember(0, "bad", "127.0.0.9")))
	if err := d.cmd.Process.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	peertest.WaitFor(t, 10*time.Second, "the refused reload is logged", func() (bool, string) {
		l := d.log()
		return strings.Contains(l, "reload incomplete") && strings.Contains(l, "/member_list/1/asnum"), l
	})
	var ns neighborsBody
	api.get("/api/v1/routeserver/neighbors", &ns)
	if st := ns.states(); st["127.0.0.2"] != "established" || st["127.0.0.3"] != "established" || len(st) != 2 {
		t.Errorf("after a refused reload: %v", st)
	}
	var metrics string
	api.get("/metrics", &metrics)
	if !strings.Contains(metrics, `ixpd_members_reloads_total{result="error"} 1`) {
		t.Errorf("metrics lack the failed reload")
	}

	// A good file through the API: B leaves, C joins.
	writeMembers(fmt.Sprintf(e2eMembers, e2eMember(38800, "A", "127.0.0.2")+","+e2eMember(131214, "C", "127.0.0.4")))
	if code := (client{t: t, base: api.base}).do("POST", "/api/v1/routeserver/reload", nil); code != 401 {
		t.Errorf("reload without a token: %d", code)
	}
	if code := api.do("POST", "/api/v1/routeserver/reload", nil); code != 200 {
		t.Fatalf("reload: %d", code)
	}
	c := member("c", 131214, "127.0.0.4")
	peertest.WaitFor(t, 30*time.Second, "C receives A's route, B is gone", func() (bool, string) {
		got, err := c.Received(ctx)
		var ns neighborsBody
		api.get("/api/v1/routeserver/neighbors", &ns)
		st := ns.states()
		_, hasB := st["127.0.0.3"]
		return err == nil && len(got) == 1 && !hasB, fmt.Sprintf("C got %+v %v; neighbors %v", got, err, st)
	})
	peertest.WaitFor(t, 30*time.Second, "B's session closed", func() (bool, string) {
		v4, _, err := b.Established(ctx)
		return err == nil && !v4, fmt.Sprint(v4, err)
	})

	// SIGTERM: a clean stop that closes the sessions.
	d.stop(t)
	peertest.WaitFor(t, 10*time.Second, "A sees its session closed", func() (bool, string) {
		v4, _, err := a.Established(ctx)
		return err == nil && !v4, fmt.Sprint(v4, err)
	})
	if strings.Contains(d.log(), token) {
		t.Error("the token appears in the log")
	}
}
