package collector

// Real exporters feed a running collector over UDP on loopback: softflowd
// (NetFlow v9 and IPFIX) and pmacctd's sfprobe plugin (sFlow v5) read
// ordinary traffic captures from ../shared/data/traffic, and the totals the
// collector stores must be the capture's own totals, computed here from the
// capture with gopacket. The only differences allowed are the exporters'
// documented accounting rules, stated at softflowdTotals and sfprobeTotals.
//
// CI installs the Debian packages softflowd and pmacct. Without them the
// tests skip, and fail when CI=true.

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/google/gopacket"
	"github.com/google/gopacket/layers"
	"github.com/google/gopacket/pcapgo"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/ixpd/ixpd/analytics"
)

// realWait bounds every wait for an exporter or for the store.
const realWait = 30 * time.Second

func TestSoftflowdExportsCaptureTotals(t *testing.T) {
	bin := realTool(t, "softflowd", "softflowd")
	tests := []struct {
		name    string
		capture string // under ../shared/data/traffic
		version string // softflowd -v
		every   uint64 // softflowd -s; 0 exports every packet
	}{
		{name: "ipfix", capture: "ndpi/netflix.pcap", version: "10"},
		{name: "netflow9", capture: "ndpi/netflix.pcap", version: "9"},
		{name: "ipfix-ipv6", capture: "ndpi/1kxun.pcap", version: "10"},
		{name: "netflow9-ipv6", capture: "ndpi/1kxun.pcap", version: "9"},
		{name: "netflow9-sampled", capture: "ndpi/netflix.pcap", version: "9", every: 4},
		{name: "ipfix-sampled", capture: "ndpi/1kxun.pcap", version: "10", every: 4},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			capture := filepath.Join(sharedData(t, "traffic"), tt.capture)
			pkts, _ := readRealTraffic(t, capture)
			want, padding := softflowdTotals(pkts, tt.every)

			// softflowd sends options data with its sampling interval (1
			// unless -s), so the configured rate is only a fallback; the
			// sampled cases show that the exporter's rate wins over it.
			addr := freeUDP(t)
			c, store := realCollector(t, "", addr, ExporterConfig{
				Address: netip.MustParseAddr("127.0.0.1"), Role: "member_edge", MemberASN: 64496, SamplingRate: 1,
			})

			dir := t.TempDir()
			args := []string{
				"-d",         // stay in the foreground (implied by -r)
				"-c", "none", // no control socket: nothing waits for a command after EOF
				"-p", filepath.Join(dir, "softflowd.pid"), // it unlinks the pid file at exit
				"-T", "full", // one flow per 5-tuple
				"-v", tt.version,
				"-n", addr,
			}
			if tt.every > 1 {
				args = append(args, "-s", fmt.Sprint(tt.every))
			}
			// -r last: reading a file turns the control socket off, and a
			// later -c would turn it on again. In -r mode flows expire only
			// when the table is full; at EOF softflowd flushes every flow
			// and exports it before it exits.
			args = append(args, "-r", capture)
			ctx, cancel := context.WithTimeout(t.Context(), realWait)
			defer cancel()
			out, err := realCommand(ctx, bin, args...).CombinedOutput()
			if err != nil {
				t.Fatalf("softflowd: %v\n%s", err, out)
			}
			for _, s := range []string{"Shutting down after pcap EOF", "Number of active flows: 0", "(0 failures)"} {
				if !strings.Contains(string(out), s) {
					t.Errorf("softflowd output lacks %q:\n%s", s, out)
				}
			}

			got := waitRealTotals(t, c, store, "127.0.0.1", want, func() string { return string(out) })
			t.Logf("softflowd -v %s -s %d %s: stored %+v; capture IP bytes %d + Ethernet padding %d",
				tt.version, tt.every, tt.capture, got, want.Bytes/max(tt.every, 1)-padding, padding)
		})
	}
}

func TestPmacctdSFlowExportsCaptureTotals(t *testing.T) {
	bin := realTool(t, "pmacctd", "pmacct")
	tests := []struct {
		name    string
		capture string // under ../shared/data/traffic
		rate    uint32 // sampling_rate of the second sfprobe plugin
	}{
		{name: "ipv4", capture: "ndpi/netflix.pcap", rate: 4},
		{name: "ipv6", capture: "ndpi/1kxun.pcap", rate: 8},
	}
	all, sampled := netip.MustParseAddr("127.0.0.1"), netip.MustParseAddr("127.0.0.2")
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			capture := filepath.Join(sharedData(t, "traffic"), tt.capture)
			pkts, hdr := readRealTraffic(t, capture)

			// No configured sampling rate: every sFlow flow sample carries
			// its own.
			addr := freeUDP(t)
			c, store := realCollector(t, addr, "",
				ExporterConfig{Address: all, Role: "ixp_switch"},
				ExporterConfig{Address: sampled, Role: "ixp_switch"})

			// pmacctd reads the capture through a FIFO, then, in a second
			// round (pcap_savefile_replay: 2, pcap_savefile_delay seconds
			// later), an empty capture. The sfprobe plugin sends its last,
			// partly filled datagram only on a clock tick that follows the
			// data it has read; the second round hands it the last buffer
			// of the first round two seconds later, so that tick comes
			// right away instead of after the plugin's 60 s poll timeout.
			// pcap_savefile_wait keeps the daemon up until the test ends,
			// else it would exit before the last buffer reaches the plugin.
			dir := t.TempDir()
			fifo, empty := filepath.Join(dir, "traffic.pcap"), filepath.Join(dir, "empty.pcap")
			if err := syscall.Mkfifo(fifo, 0o600); err != nil {
				t.Fatal(err)
			}
			writeEmptyCapture(t, empty, hdr)
			conf := filepath.Join(dir, "pmacctd.conf")
			if err := os.WriteFile(conf, []byte(strings.Join([]string{
				"daemonize: false",
				"pcap_savefile: " + fifo,
				"pcap_savefile_replay: 2",
				"pcap_savefile_delay: 2",
				"pcap_savefile_wait: true",
				"plugins: sfprobe[all], sfprobe[sampled]",
				"sfprobe_receiver: " + addr,
				"sfprobe_agentip[all]: " + all.String(),
				"sfprobe_agentip[sampled]: " + sampled.String(),
				"sampling_rate[all]: 1",
				fmt.Sprintf("sampling_rate[sampled]: %d", tt.rate),
				"",
			}, "\n")), 0o600); err != nil {
				t.Fatal(err)
			}
			logPath := filepath.Join(dir, "pmacctd.log")
			startRealExporter(t, logPath, bin, "-f", conf)
			pmacctdLog := func() string { b, _ := os.ReadFile(logPath); return string(b) }

			ctx, cancel := context.WithTimeout(t.Context(), realWait)
			defer cancel()
			if err := feedFIFO(ctx, fifo, empty, capture); err != nil {
				t.Fatalf("feed pmacctd: %v\n%s", err, pmacctdLog())
			}

			// Rate 1: every IP frame is a sample, so the totals are exact.
			want := sfprobeTotals(pkts)
			got := waitRealTotals(t, c, store, all.String(), want, pmacctdLog)
			t.Logf("sfprobe rate 1 %s: stored %+v", tt.capture, got)

			// Rate > 1: pmacct picks samples at random (skips of 1 to
			// 2·rate−1 packets), so the scaled totals are an estimate. Both
			// plugins get the same last buffer and flush on the same clock
			// second, so the sampled plugin is done too, or within
			// moments; a last datagram still on its way would move the
			// estimate by a few samples, far less than the bounds.
			bytesTol, packetsTol := sampledTolerance(pkts, tt.rate)
			var est analytics.Totals
			inBounds := func() bool {
				est = realTotals(t, store, sampled.String())
				return est.Flows > 0 &&
					math.Abs(float64(est.Packets)-float64(want.Packets)) <= packetsTol &&
					math.Abs(float64(est.Bytes)-float64(want.Bytes)) <= bytesTol
			}
			deadline := time.Now().Add(realWait)
			for !inBounds() {
				if time.Now().After(deadline) {
					t.Fatalf("sampled at 1/%d: stored %+v, want %+v ± %.0f bytes, ± %.0f packets\n%s",
						tt.rate, est, want, bytesTol, packetsTol, pmacctdLog())
				}
				time.Sleep(50 * time.Millisecond)
			}
			// Each sample stands for rate packets and rate × its length.
			if est.Packets != uint64(tt.rate)*est.Flows || est.Bytes%uint64(tt.rate) != 0 {
				t.Errorf("sampled at 1/%d: stored %+v is not %d × whole samples", tt.rate, est, tt.rate)
			}
			t.Logf("sfprobe rate %d %s: stored %+v (%+.1f%% bytes, %+.1f%% packets; allowed ±%.1f%%, ±%.1f%%)",
				tt.rate, tt.capture, est,
				100*(float64(est.Bytes)/float64(want.Bytes)-1), 100*(float64(est.Packets)/float64(want.Packets)-1),
				100*bytesTol/float64(want.Bytes), 100*packetsTol/float64(want.Packets))
		})
	}
}

// realPacket is what the exporters see of one captured frame.
type realPacket struct {
	wire uint64      // the frame's length on the wire (pcap orig_len)
	link uint64      // the link header before IP: Ethernet, with its 802.1Q tag if any
	ip   uint64      // IPv4 total length, or IPv6 40 + payload length; 0: not IP
	flow realFlowKey // the 5-tuple of an IP packet
}

// realFlowKey is a unidirectional 5-tuple as softflowd keys it: for ICMP
// the destination port is type × 256 + code; a packet without ports (a
// later fragment, another protocol) has ports 0.
type realFlowKey struct {
	src, dst     netip.Addr
	proto        uint8
	sport, dport uint16
}

// realCaptureHeader is what an empty copy of a capture needs.
type realCaptureHeader struct {
	snaplen  uint32
	linkType layers.LinkType
}

// readRealTraffic reads an Ethernet pcap file. A frame is IP when its
// EtherType, after at most one 802.1Q tag, is IPv4 or IPv6: the frames both
// softflowd and pmacctd account (neither exports ARP, STP or the like).
func readRealTraffic(t *testing.T, path string) ([]realPacket, realCaptureHeader) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = f.Close() }() // read only
	r, err := pcapgo.NewReader(f)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	hdr := realCaptureHeader{snaplen: r.Snaplen(), linkType: r.LinkType()}
	if hdr.linkType != layers.LinkTypeEthernet {
		t.Fatalf("%s: link type %s, want Ethernet", path, hdr.linkType)
	}
	var pkts []realPacket
	for {
		data, ci, err := r.ReadPacketData()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		p := realPacket{wire: uint64(ci.Length), link: 14}
		pkt := gopacket.NewPacket(data, layers.LayerTypeEthernet, gopacket.DecodeOptions{Lazy: true, NoCopy: true})
		eth, _ := pkt.Layer(layers.LayerTypeEthernet).(*layers.Ethernet)
		if eth == nil {
			pkts = append(pkts, p)
			continue
		}
		etype := eth.EthernetType
		if etype == layers.EthernetTypeDot1Q {
			if tag, ok := pkt.Layer(layers.LayerTypeDot1Q).(*layers.Dot1Q); ok {
				etype, p.link = tag.Type, p.link+4
			}
		}
		switch etype {
		case layers.EthernetTypeIPv4:
			ip, ok := pkt.Layer(layers.LayerTypeIPv4).(*layers.IPv4)
			if !ok {
				t.Fatalf("%s: frame %d: the IPv4 header does not decode", path, len(pkts)+1)
			}
			p.ip = uint64(ip.Length)
			p.flow.src, _ = netip.AddrFromSlice(ip.SrcIP.To4())
			p.flow.dst, _ = netip.AddrFromSlice(ip.DstIP.To4())
			p.flow.proto = uint8(ip.Protocol)
		case layers.EthernetTypeIPv6:
			ip, ok := pkt.Layer(layers.LayerTypeIPv6).(*layers.IPv6)
			if !ok {
				t.Fatalf("%s: frame %d: the IPv6 header does not decode", path, len(pkts)+1)
			}
			p.ip = 40 + uint64(ip.Length)
			p.flow.src, _ = netip.AddrFromSlice(ip.SrcIP.To16())
			p.flow.dst, _ = netip.AddrFromSlice(ip.DstIP.To16())
			p.flow.proto = uint8(ip.NextHeader)
			for _, l := range pkt.Layers() { // past extension headers
				switch e := l.(type) {
				case *layers.IPv6HopByHop:
					p.flow.proto = uint8(e.NextHeader)
				case *layers.IPv6Routing:
					p.flow.proto = uint8(e.NextHeader)
				case *layers.IPv6Destination:
					p.flow.proto = uint8(e.NextHeader)
				case *layers.IPv6Fragment:
					p.flow.proto = uint8(e.NextHeader)
				}
			}
		}
		switch l := pkt.TransportLayer().(type) {
		case *layers.TCP:
			p.flow.sport, p.flow.dport = uint16(l.SrcPort), uint16(l.DstPort)
		case *layers.UDP:
			p.flow.sport, p.flow.dport = uint16(l.SrcPort), uint16(l.DstPort)
		}
		if icmp, ok := pkt.Layer(layers.LayerTypeICMPv4).(*layers.ICMPv4); ok {
			p.flow.dport = uint16(icmp.TypeCode)
		}
		if icmp, ok := pkt.Layer(layers.LayerTypeICMPv6).(*layers.ICMPv6); ok {
			p.flow.dport = uint16(icmp.TypeCode)
		}
		pkts = append(pkts, p)
	}
	return pkts, hdr
}

// softflowdTotals returns what the collector must store for softflowd
// reading pkts, and the Ethernet padding included in its bytes.
//
// Accounting: softflowd counts, per IP packet, the frame's wire length
// minus the link header (pcap len − 14, − 18 with an 802.1Q tag). That is
// the IP total length plus the padding of frames shorter than the
// Ethernet minimum (a 40-byte TCP ACK sent in a 60-byte frame counts 46),
// so the stored bytes are the IP-length sum plus that padding, exactly: 182
// bytes in netflix.pcap, 420 in 1kxun.pcap. It keeps one flow per 5-tuple
// and direction, so the records are the distinct unidirectional 5-tuples.
//
// Sampling: with -s every, softflowd keeps the first of every `every`
// packets (a non-IP frame does not advance its count), and says so in its
// options data (NetFlow v9 SAMPLING_INTERVAL; IPFIX samplingPacketInterval
// 1 and samplingPacketSpace every−1). The selection is deterministic, so
// the scaled totals are exact too. every 0 or 1 keeps every packet.
func softflowdTotals(pkts []realPacket, every uint64) (want analytics.Totals, padding uint64) {
	every = max(every, 1)
	flows := map[realFlowKey]bool{}
	var seen uint64 // softflowd's total_packets + non_sampled_packets
	for _, p := range pkts {
		if seen%every != 0 {
			seen++
			continue
		}
		if p.ip == 0 {
			continue
		}
		seen++
		want.Packets += every
		want.Bytes += every * (p.wire - p.link)
		padding += p.wire - p.link - p.ip
		flows[p.flow] = true
	}
	want.Flows = uint64(len(flows))
	return want, padding
}

// sfprobeTotals returns what the collector must store for pmacctd's
// sfprobe plugin sampling every IP frame of pkts (sampling_rate 1).
//
// Accounting: pmacctd hands only IP packets to its plugins, and sfprobe
// reports frame_length = the frame's wire length + 4, the Ethernet FCS
// that libpcap does not capture (and says so in its "stripped" field);
// the collector counts frame_length, as it does for switches, which
// include the FCS. So each sample stores its wire length + 4 bytes, one
// packet, one flow.
func sfprobeTotals(pkts []realPacket) analytics.Totals {
	var want analytics.Totals
	for _, p := range pkts {
		if p.ip != 0 {
			want.Flows++
			want.Packets++
			want.Bytes += p.wire + 4
		}
	}
	return want
}

// sampledTolerance returns how far 1-in-rate sampling may put the scaled
// bytes and packets of pkts from their totals: four standard deviations of
// the estimate under independent sampling with probability 1/rate,
// √((rate−1)·Σx²), x being each packet's bytes (wire + 4) or 1. Count-based
// sampling such as pmacct's random skips varies less than that.
func sampledTolerance(pkts []realPacket, rate uint32) (bytes, packets float64) {
	var sumSq, n float64
	for _, p := range pkts {
		if p.ip != 0 {
			x := float64(p.wire + 4)
			sumSq += x * x
			n++
		}
	}
	r := float64(rate)
	return 4 * math.Sqrt((r-1)*sumSq), 4 * math.Sqrt((r-1)*n)
}

// writeEmptyCapture writes a pcap file without packets.
func writeEmptyCapture(t *testing.T, path string, hdr realCaptureHeader) {
	t.Helper()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := pcapgo.NewWriter(f).WriteFileHeader(hdr.snaplen, hdr.linkType); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
}

// feedFIFO writes the capture into the FIFO once pmacctd has opened it,
// after putting the empty capture in the FIFO's place for pmacctd's next
// round: the open FIFO is the first round's, and the rename happens before
// that round can end (it ends when this closes the FIFO).
func feedFIFO(ctx context.Context, fifo, empty, capture string) error {
	data, err := os.ReadFile(capture)
	if err != nil {
		return err
	}
	var w *os.File
	for w == nil {
		// Non-blocking: fails with ENXIO until a reader has the FIFO open.
		w, err = os.OpenFile(fifo, os.O_WRONLY|syscall.O_NONBLOCK, 0)
		if err != nil && !errors.Is(err, syscall.ENXIO) {
			return err
		}
		if w == nil {
			select {
			case <-ctx.Done():
				return fmt.Errorf("pmacctd did not open %s: %w", fifo, context.Cause(ctx))
			case <-time.After(10 * time.Millisecond):
			}
		}
	}
	if err := os.Rename(empty, fifo); err != nil {
		_ = w.Close() // the error that matters is the rename's
		return err
	}
	// The FIFO is in the poller, so a deadline ends a write that blocks.
	stop := context.AfterFunc(ctx, func() { _ = w.SetWriteDeadline(time.Now()) })
	defer stop()
	if _, err := w.Write(data); err != nil {
		_ = w.Close() // the error that matters is the write's
		return fmt.Errorf("write capture to pmacctd: %w", err)
	}
	return w.Close()
}

// realTool returns the path of an exporter's binary, from the Debian
// package pkg. Without it the test skips, or fails when CI=true.
func realTool(t *testing.T, name, pkg string) string {
	t.Helper()
	if path, err := exec.LookPath(name); err == nil {
		return path
	}
	// Daemons live in sbin, often not in a user's PATH.
	for _, dir := range []string{"/usr/sbin", "/usr/local/sbin", "/sbin"} {
		path := filepath.Join(dir, name)
		if st, err := os.Stat(path); err == nil && st.Mode().IsRegular() && st.Mode().Perm()&0o111 != 0 {
			return path
		}
	}
	if os.Getenv("CI") == "true" {
		t.Fatalf("CI=true and %s is missing: apt-get install %s", name, pkg)
	}
	t.Skipf("%s not installed (Debian package %s)", name, pkg)
	return ""
}

// realCommand builds an exporter command that cannot outlive the test: it
// runs in its own process group, which is killed when ctx ends, and the
// kernel kills it if the test binary dies first.
func realCommand(ctx context.Context, name string, args ...string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = 5 * time.Second
	return cmd
}

// startRealExporter starts a daemon that runs until the test ends, with
// its output in logPath.
func startRealExporter(t *testing.T, logPath, name string, args ...string) {
	t.Helper()
	out, err := os.Create(logPath)
	if err != nil {
		t.Fatal(err)
	}
	cmd := realCommand(t.Context(), name, args...)
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	// t.Context is cancelled before cleanups run: the group is killed.
	t.Cleanup(func() {
		_ = cmd.Wait() // killed on purpose
		_ = out.Close()
	})
}

// realCollector starts a collector with a DuckDB store and the given
// exporters, stopped at the end of the test.
func realCollector(t *testing.T, sflow, netflow string, exporters ...ExporterConfig) (*Component, analytics.Store) {
	t.Helper()
	store := newTestStore(t)
	cfg := testConfig(t, sflow, netflow)
	cfg.Exporters = exporters
	c, err := New(slog.New(slog.NewTextHandler(io.Discard, nil)), prometheus.NewRegistry(), cfg, Dependencies{Writer: store})
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Start(t.Context()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := c.Stop(context.Background()); err != nil {
			t.Errorf("stop collector: %v", err)
		}
	})
	return c, store
}

// realTotals sums everything stored for one exporter.
func realTotals(t *testing.T, s analytics.Store, exporter string) analytics.Totals {
	t.Helper()
	got, err := s.Totals(context.Background(), analytics.TotalsQuery{
		From: time.Unix(0, 0), To: time.Now().Add(24 * time.Hour), Exporter: exporter,
	})
	if err != nil {
		t.Fatal(err)
	}
	return got
}

// waitRealTotals polls the store until the exporter's totals are want; on
// the deadline it fails with what was stored, the collector's view of its
// exporters and the exporter's output.
func waitRealTotals(t *testing.T, c *Component, s analytics.Store, exporter string, want analytics.Totals, output func() string) analytics.Totals {
	t.Helper()
	deadline := time.Now().Add(realWait)
	for {
		got := realTotals(t, s, exporter)
		if got == want {
			return got
		}
		if time.Now().After(deadline) {
			es, _ := c.Exporters(context.Background())
			t.Fatalf("exporter %s: stored %+v, want %+v\ncollector exporters: %+v\nexporter output:\n%s",
				exporter, got, want, es, output())
		}
		time.Sleep(50 * time.Millisecond)
	}
}
