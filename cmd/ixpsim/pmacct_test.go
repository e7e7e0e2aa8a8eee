package main

import (
	"bytes"
	"context"
	"encoding/binary"
	"math/rand/v2"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestPmacctConfig(t *testing.T) {
	got, err := pmacctConfig(targetSfacctd, netip.MustParseAddrPort("127.0.0.1:6343"), "/run/bench/flows.csv")
	if err != nil {
		t.Fatal(err)
	}
	want := `! ixpsim flow-bench: sfacctd, print plugin to a CSV file
daemonize: false
sfacctd_ip: 127.0.0.1
sfacctd_port: 6343
sfacctd_renormalize: false
sfacctd_pipe_size: 33554432
plugins: print
aggregate: src_host, dst_host
print_output: csv
print_output_file: /run/bench/flows.csv
print_output_file_append: true
print_refresh_time: 1
plugin_buffer_size: 65536
plugin_pipe_size: 67108864
`
	if diff := cmp.Diff(string(got), want); diff != "" {
		t.Errorf("sfacctd config (-got +want):\n%s", diff)
	}
	nf, err := pmacctConfig(targetNfacctd, netip.MustParseAddrPort("127.0.0.1:4739"), "/tmp/f.csv")
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range []string{"nfacctd_ip: 127.0.0.1\n", "nfacctd_port: 4739\n", "nfacctd_renormalize: false\n", "nfacctd_pipe_size: 33554432\n"} {
		if !bytes.Contains(nf, []byte(line)) {
			t.Errorf("nfacctd config lacks %q:\n%s", line, nf)
		}
	}
	if bytes.Contains(nf, []byte("sfacctd")) {
		t.Errorf("nfacctd config names sfacctd:\n%s", nf)
	}
	for _, bad := range []struct {
		daemon, out string
		listen      netip.AddrPort
	}{
		{"pmacctd", "/tmp/f.csv", netip.MustParseAddrPort("127.0.0.1:1")},
		{targetSfacctd, "", netip.MustParseAddrPort("127.0.0.1:1")},
		{targetSfacctd, "/tmp/f.csv\nplugins: memory", netip.MustParseAddrPort("127.0.0.1:1")},
		{targetSfacctd, "/tmp/f.csv", netip.AddrPort{}},
	} {
		if _, err := pmacctConfig(bad.daemon, bad.listen, bad.out); err == nil {
			t.Errorf("pmacctConfig(%q, %v, %q) gave no error", bad.daemon, bad.listen, bad.out)
		}
	}
}

func TestPrintCounter(t *testing.T) {
	path := filepath.Join(t.TempDir(), "flows.csv")
	c := newPrintCounter(path)
	steps := []struct {
		name, appendText string
		want             int64
		wantErr          bool
	}{
		{name: "no file yet", want: 0},
		{name: "header and two lines", appendText: "SRC_IP,DST_IP,PACKETS,BYTES\n198.18.0.1,198.18.0.2,1,616\n198.18.0.3,198.18.0.4,2,1200\n", want: 3},
		{name: "half a line", appendText: "198.18.0.5,198.18.", want: 3},
		{name: "its end and one more", appendText: "0.6,4,900\n198.18.0.7,198.18.0.8,1,64\n", want: 8},
		{name: "nothing new", want: 8},
		{name: "a header again and a column order change", appendText: "PACKETS,SRC_IP,DST_IP,BYTES\n10,198.18.0.9,198.18.0.10,640\n\n", want: 18},
		{name: "a bad count", appendText: "x,198.18.0.9,198.18.0.10,640\n", wantErr: true},
	}
	for _, s := range steps {
		if s.appendText != "" {
			f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := f.WriteString(s.appendText); err != nil {
				t.Fatal(err)
			}
			if err := f.Close(); err != nil {
				t.Fatal(err)
			}
		}
		got, err := c.read()
		if (err != nil) != s.wantErr {
			t.Fatalf("%s: error %v, want error %v", s.name, err, s.wantErr)
		}
		if err == nil && got != s.want {
			t.Errorf("%s: %d packets, want %d", s.name, got, s.want)
		}
	}

	noHeader := filepath.Join(t.TempDir(), "flows.csv")
	if err := os.WriteFile(noHeader, []byte("198.18.0.1,198.18.0.2,1,616\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := newPrintCounter(noHeader).read(); err == nil {
		t.Error("a line before any header gave no error")
	}
}

// needPmacct returns the daemon's path, skipping the test when pmacct is
// missing (failing under CI=true, whose machine installs it).
func needPmacct(t *testing.T, daemon string) string {
	t.Helper()
	bin, err := exec.LookPath(daemon)
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("%s not installed (apt-get install pmacct): %v", daemon, err)
		}
		t.Skipf("%s not installed (apt-get install pmacct): %v", daemon, err)
	}
	return bin
}

// TestSfacctdCounts runs sfacctd with the bench's configuration on
// loopback, sends it flow-send's datagrams and checks the counter finds
// every flow that left the daemon's last, unfilled plugin buffer.
func TestSfacctdCounts(t *testing.T) {
	bin := needPmacct(t, targetSfacctd)
	dir := t.TempDir()
	port, err := freePort()
	if err != nil {
		t.Fatal(err)
	}
	listen := netip.AddrPortFrom(netip.MustParseAddr("127.0.0.1"), port)
	out := filepath.Join(dir, "flows.csv")
	conf, err := pmacctConfig(targetSfacctd, listen, out)
	if err != nil {
		t.Fatal(err)
	}
	confPath := filepath.Join(dir, "pmacct.conf")
	if err := os.WriteFile(confPath, conf, 0o644); err != nil {
		t.Fatal(err)
	}
	p, err := startProcess(bin, []string{"-f", confPath}, dir, filepath.Join(dir, "sfacctd.log"))
	if err != nil {
		t.Fatal(err)
	}
	defer p.kill()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := p.waitReady(ctx, 30*time.Second, 20*time.Millisecond, func() error {
		return pmacctReady(filepath.Join(dir, "sfacctd.log"), port)
	}); err != nil {
		t.Fatal(err)
	}

	const datagrams, perDgram = 2000, 8
	pool := newSFlowPool(sflowAgentAddr, 1024, 256, perDgram, 1)
	conn, err := dialFrom(sflowAgentAddr, listen.String())
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = conn.Close() }()
	for i := range datagrams {
		dg := pool.datagrams[i%len(pool.datagrams)]
		binary.BigEndian.PutUint32(dg[sflowSeqOffset:], uint32(i)) // as flow-send does
		if _, err := conn.Write(dg); err != nil {
			t.Fatal(err)
		}
		if i%100 == 99 { // 100 datagrams a millisecond: no kernel drops
			time.Sleep(time.Millisecond)
		}
	}
	// The daemon hands the plugin full 64 KiB buffers (about 140 flows
	// each) and the plugin writes every second; the last buffer stays.
	const sent, oneBuffer = datagrams * perDgram, 200
	c := newPrintCounter(out)
	var got int64
	for last, still := int64(-1), time.Now(); time.Since(still) < 3*pmacctRefresh*time.Second; {
		if got, err = c.read(); err != nil {
			t.Fatal(err)
		}
		if got != last {
			last, still = got, time.Now()
		}
		select {
		case <-ctx.Done():
			t.Fatalf("counted %d of %d flows when the time ran out", got, sent)
		case <-p.exited:
			t.Fatal(p.exitError())
		case <-time.After(100 * time.Millisecond):
		}
	}
	if got > sent || got < sent-oneBuffer {
		log, _ := os.ReadFile(filepath.Join(dir, "sfacctd.log"))
		t.Fatalf("counted %d flows, want %d less at most one plugin buffer (%d); sfacctd's log:\n%s", got, sent, oneBuffer, log)
	}
	// The addresses are the sampled packets' own.
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	spec := randomSpec(rand.New(rand.NewPCG(1, 1))) // newSFlowPool's first
	if want := spec.SrcAddr.String() + "," + spec.DstAddr.String() + ","; !strings.Contains(string(b), want) {
		t.Errorf("%s has no line for the first sample %q", out, want)
	}
}
