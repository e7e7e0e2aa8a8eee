package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"
)

// TestMakeDemo is `make demo` on free ports: ixpsim demo -ixpd starts a
// freshly built ixpd on a copy of the example configuration and plays
// the exchange. Within a minute the API must show every session
// established (the IPv6 ones when fd00:ffff::2 and ::3 are on lo), IXP
// traffic, the member matrix, the local share, savings and the latency
// gain; then SIGINT must stop both processes, ixpd with a clean shutdown
// and no ERROR in its log.
func TestMakeDemo(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs ixpd and ixpsim")
	}
	dir := t.TempDir()
	ixpd := os.Getenv("IXPD_BIN")
	if ixpd == "" {
		ixpd = filepath.Join(dir, "ixpd")
		if out, err := exec.Command("go", "build", "-o", ixpd, "../ixpd").CombinedOutput(); err != nil {
			t.Fatalf("build ixpd: %v\n%s", err, out)
		}
	}
	ixpsim := filepath.Join(dir, "ixpsim")
	if out, err := exec.Command("go", "build", "-o", ixpsim, ".").CombinedOutput(); err != nil {
		t.Fatalf("build ixpsim: %v\n%s", err, out)
	}
	conf, api := demoTestConfig(t, dir)
	logPath := filepath.Join(dir, "ixpd.log")
	outPath := filepath.Join(dir, "demo.out")
	outFile, err := os.Create(outPath)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = outFile.Close() }() // the child has its own descriptor
	cmd := exec.Command(ixpsim, "demo", "-ixpd", ixpd, "-config", conf, "-ixpd-log", logPath, "-status", "0")
	cmd.Stdout, cmd.Stderr = outFile, outFile
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	dump := func() {
		out, _ := os.ReadFile(outPath)
		log, _ := os.ReadFile(logPath)
		t.Logf("ixpsim demo output:\n%s\nixpd log:\n%s", out, log)
	}
	defer func() {
		if cmd.ProcessState == nil {
			_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) // the test failed before stopping it
			t.Logf("ixpsim demo killed: %v", <-exited)
		}
	}()

	// Both IPv4 and, where the addresses exist, IPv6 sessions.
	want := map[string]bool{"127.0.0.2": true, "127.0.0.3": true, "127.0.0.4": true}
	for _, a := range []string{"fd00:ffff::2", "fd00:ffff::3"} {
		if ln, err := net.Listen("tcp", "["+a+"]:0"); err == nil {
			_ = ln.Close() // only a probe
			want[a] = true
		} else {
			t.Logf("IPv6 session of %s not checked: %v", a, err)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	base := "http://" + api.String()
	var last error
	tick := time.NewTicker(1500 * time.Millisecond) // below the public endpoints' 5 requests/s
	defer tick.Stop()
	for {
		last = demoAPIReady(ctx, base, want)
		if last == nil {
			break
		}
		select {
		case err := <-exited:
			dump()
			t.Fatalf("ixpsim demo exited early: %v", err)
		case <-ctx.Done():
			dump()
			t.Fatalf("the API did not show the demo within a minute: %v", last)
		case <-tick.C:
		}
	}

	out, _ := os.ReadFile(outPath)
	// The dashboard the demo points at.
	if !strings.Contains(string(out), "Dashboard: "+base+"/") {
		t.Errorf("the demo does not print the dashboard's address %s/", base)
	}
	if resp, err := http.Get(base + "/"); err != nil {
		t.Errorf("dashboard: %v", err)
	} else {
		page, _ := io.ReadAll(resp.Body)
		_ = resp.Body.Close()
		if resp.StatusCode != 200 || !strings.Contains(string(page), "<main") {
			t.Errorf("dashboard at %s/: status %d, no <main> in %.200s", base, resp.StatusCode, page)
		}
	}
	m := regexp.MustCompile(`ixpd pid (\d+) started`).FindSubmatch(out)
	if m == nil {
		dump()
		t.Fatal("the demo did not say ixpd's pid")
	}
	ixpdPID, _ := strconv.Atoi(string(m[1]))
	if err := cmd.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-exited:
		if err != nil {
			dump()
			t.Fatalf("ixpsim demo after SIGINT: %v", err)
		}
	case <-time.After(45 * time.Second):
		dump()
		t.Fatal("ixpsim demo still runs 45 s after SIGINT")
	}
	// ixpd was the demo's child in its own process group: both gone.
	if err := syscall.Kill(ixpdPID, 0); !errors.Is(err, syscall.ESRCH) {
		t.Errorf("ixpd (pid %d) after the demo stopped: kill 0 gave %v, want ESRCH", ixpdPID, err)
	}
	if err := syscall.Kill(-ixpdPID, 0); !errors.Is(err, syscall.ESRCH) {
		t.Errorf("ixpd's process group %d after the demo stopped: kill 0 gave %v, want ESRCH", ixpdPID, err)
	}
	if err := syscall.Kill(-cmd.Process.Pid, 0); !errors.Is(err, syscall.ESRCH) {
		t.Errorf("the demo's process group after it stopped: kill 0 gave %v, want ESRCH", err)
	}
	log, err := os.ReadFile(logPath)
	if err != nil {
		t.Fatal(err)
	}
	for line := range strings.Lines(string(log)) {
		if strings.Contains(line, "level=ERROR") {
			t.Errorf("ixpd logged an error: %s", line)
		}
	}
	if !strings.Contains(string(log), `msg="shutting down"`) {
		dump()
		t.Error("ixpd did not shut down on its own (no \"shutting down\" in its log)")
	}
}

// demoAPIReady returns nil once the API shows everything the demo feeds
// it, else what is missing.
func demoAPIReady(ctx context.Context, base string, sessions map[string]bool) error {
	var n apiNeighbors
	if err := getJSON(ctx, base+"/api/v1/routeserver/neighbors", "", &n); err != nil {
		return err
	}
	up := 0
	for _, nb := range n.Neighbors {
		if sessions[nb.Address] && nb.State == "established" && nb.Routes.Accepted > 0 {
			up++
		}
	}
	if up != len(sessions) {
		return fmt.Errorf("%d of the %d sessions established with routes: %+v", up, len(sessions), n.Neighbors)
	}
	var sum apiSummary
	if err := getJSON(ctx, base+"/api/v1/traffic/summary", "", &sum); err != nil {
		return err
	}
	if sum.VolumeBytes == 0 || sum.PeakBps == 0 {
		return fmt.Errorf("no IXP traffic yet: %+v", sum)
	}
	var mx apiMatrix
	if err := getJSON(ctx, base+"/api/v1/traffic/matrix", demoToken, &mx); err != nil {
		return err
	}
	if len(mx.Pairs) != 6 {
		return fmt.Errorf("matrix has %d member pairs, want the 6 of 3 members: %+v", len(mx.Pairs), mx.Pairs)
	}
	var d apiDomestic
	if err := getJSON(ctx, base+"/api/v1/domestic", demoToken, &d); err != nil {
		return err
	}
	if s := d.Overall.LocalShare; s == nil || *s <= 0.3 || *s >= 1 {
		return fmt.Errorf("local share %v, want about 0.7: %+v", s, d.Overall)
	}
	var sv struct {
		PeakMbps    float64 `json:"peak_mbps"`
		SavingsPeak float64 `json:"savings_usd_peak"`
	}
	if err := getJSON(ctx, base+"/api/v1/savings?month="+time.Now().UTC().Format("2006-01"), "", &sv); err != nil {
		return err
	}
	if sv.PeakMbps <= 0 || sv.SavingsPeak <= 0 {
		return fmt.Errorf("savings %+v", sv)
	}
	var l apiLatency
	if err := getJSON(ctx, base+"/api/v1/latency", "", &l); err != nil {
		return err
	}
	received := 0
	for _, tg := range l.Targets {
		if tg.Stats.Received > 0 {
			received++
		}
	}
	if received != 2 || len(l.Groups) != 1 || l.Groups[0].GainMs == nil {
		return fmt.Errorf("latency: %d targets answered, groups %+v", received, l.Groups)
	}
	if g := *l.Groups[0].GainMs; g < 140 || g > 160 {
		return fmt.Errorf("latency gain %.1f ms, want about 148 (150 ms transit − 2 ms IXP)", g)
	}
	return nil
}

// demoTestConfig writes the example configuration with free ports into
// dir and returns its path and the API's address.
func demoTestConfig(t *testing.T, dir string) (string, netip.AddrPort) {
	t.Helper()
	src := filepath.Dir(exampleConfig)
	for _, f := range []string{"members.json", "delegated-apnic-extract.txt"} {
		b, err := os.ReadFile(filepath.Join(src, f))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, f), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	data, err := os.ReadFile(exampleConfig)
	if err != nil {
		t.Fatal(err)
	}
	var root yaml.Node
	if err := yaml.Unmarshal(data, &root); err != nil {
		t.Fatal(err)
	}
	tcp := func() string {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer func() { _ = ln.Close() }() // only to learn a free port
		return ln.Addr().String()
	}
	udp := func(host string) string {
		c, err := net.ListenPacket("udp", host+":0")
		if err != nil {
			t.Fatal(err)
		}
		defer func() { _ = c.Close() }() // only to learn a free port
		return c.LocalAddr().String()
	}
	api := tcp()
	peer := netip.MustParseAddrPort(tcp()).Port()
	for path, value := range map[string]string{
		"routeserver.listen":        tcp(),
		"api.listen":                api,
		"api.birdwatcher_listen":    tcp(),
		"flow.sflow_listen":         udp("127.0.0.1"),
		"flow.netflow_listen":       udp("127.0.0.1"),
		"latency.targets.0.address": udp("127.0.0.30"),
		"latency.targets.1.address": udp("127.0.0.31"),
		"routeserver.peer_port":     strconv.Itoa(int(peer)), // where the IPv6 members wait
	} {
		if err := setYAML(root.Content[0], strings.Split(path, "."), value); err != nil {
			t.Fatalf("%s: %v", path, err)
		}
	}
	out, err := yaml.Marshal(&root)
	if err != nil {
		t.Fatal(err)
	}
	conf := filepath.Join(dir, "ixpd.yaml")
	if err := os.WriteFile(conf, out, 0o644); err != nil {
		t.Fatal(err)
	}
	return conf, netip.MustParseAddrPort(api)
}

// setYAML sets the scalar at path (keys and list indexes) below n, adding
// the last key of a mapping when it is missing.
func setYAML(n *yaml.Node, path []string, value string) error {
	if len(path) == 0 {
		if n.Kind != yaml.ScalarNode {
			return errors.New("not a scalar")
		}
		n.Value, n.Tag, n.Style = value, "", 0
		return nil
	}
	switch n.Kind {
	case yaml.MappingNode:
		for i := 0; i+1 < len(n.Content); i += 2 {
			if n.Content[i].Value == path[0] {
				return setYAML(n.Content[i+1], path[1:], value)
			}
		}
		if len(path) == 1 {
			n.Content = append(n.Content, &yaml.Node{Kind: yaml.ScalarNode, Value: path[0]}, &yaml.Node{Kind: yaml.ScalarNode, Value: value})
			return nil
		}
	case yaml.SequenceNode:
		if i, err := strconv.Atoi(path[0]); err == nil && i < len(n.Content) {
			return setYAML(n.Content[i], path[1:], value)
		}
	}
	return fmt.Errorf("no %q", path[0])
}
