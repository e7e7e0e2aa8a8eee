package main

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/gopacket"
	"github.com/google/gopacket/layers"
	"github.com/google/gopacket/pcapgo"

	"github.com/ixpd/ixpd/analytics/clickhouse/chtest"
	"github.com/ixpd/ixpd/routeserver/peertest"
)

// The golden dataset: a generated sFlow capture with a known traffic
// matrix between three members over more than a month, replayed through
// the real binary into DuckDB and ClickHouse, and the API's figures
// compared with the truth computed here from what was generated.

// goldenMember is one member of the golden exchange.
type goldenMember struct {
	asn  uint32
	name string
	addr string // peering-LAN address
	mac  [6]byte
}

var goldenMembers = []goldenMember{
	{38800, "Alpha", "127.0.0.2", [6]byte{0x02, 0xaa, 0, 0, 0, 1}},
	{17993, "Bravo", "127.0.0.3", [6]byte{0x02, 0xaa, 0, 0, 0, 2}},
	{24516, "Charlie", "127.0.0.4", [6]byte{0x02, 0xaa, 0, 0, 0, 3}},
}

const (
	goldenAgent     = "127.0.0.10"
	goldenEdgeAgent = "127.0.0.20"
	goldenRate      = 2048  // sampling rate in every sample but the spike's
	goldenSpike     = 65536 // sampling rate in the spike bin's samples
	goldenEdgeRate  = 1024  // sampling rate of the edge router
	goldenMonth     = "2026-09"
	goldenTransit   = 4.5 // USD per Mbps per month
	goldenIXPCost   = 0.75
	goldenAlpha     = 0.8
	goldenBinSecs   = 300
	goldenPerPairs  = 6 // ordered member pairs
)

var (
	goldenStart = time.Date(2026, 8, 27, 0, 0, 0, 0, time.UTC) // first bin
	goldenEnd   = time.Date(2026, 10, 4, 0, 0, 0, 0, time.UTC) // after the last bin: 38 days
	goldenPeak  = time.Date(2026, 9, 17, 14, 35, 0, 0, time.UTC)
)

// goldenGap reports whether the hour of t has no traffic at all.
func goldenGap(t time.Time) bool {
	h := t.Truncate(time.Hour)
	for _, g := range []struct {
		from  time.Time
		hours int
	}{
		{time.Date(2026, 8, 30, 3, 0, 0, 0, time.UTC), 2},
		{time.Date(2026, 9, 1, 0, 0, 0, 0, time.UTC), 1}, // the month's first hour
		{time.Date(2026, 9, 10, 2, 0, 0, 0, time.UTC), 3},
		{time.Date(2026, 9, 21, 13, 0, 0, 0, time.UTC), 1},
		{time.Date(2026, 9, 30, 23, 0, 0, 0, time.UTC), 1}, // the month's last hour
	} {
		if !h.Before(g.from) && h.Before(g.from.Add(time.Duration(g.hours)*time.Hour)) {
			return true
		}
	}
	return false
}

// goldenSample is one sampled packet of the dataset.
type goldenSample struct {
	srcMAC, dstMAC [6]byte
	frameLen       uint32
	rate           uint32
	inIf, outIf    uint32 // 0 means 1 and 2
}

// goldenBin returns the samples of the bin that starts at t: one per
// ordered member pair with a diurnal frame length, one between a member
// and itself and one from an unknown MAC (neither is IXP traffic).
func goldenBin(t time.Time) []goldenSample {
	rate := uint32(goldenRate)
	if t.Equal(goldenPeak) {
		rate = goldenSpike
	}
	minute := t.Hour()*60 + t.Minute()
	// Diurnal: low at 04:00 UTC, high at 16:00 UTC, in whole octets.
	diurnal := 0.5 - 0.5*math.Cos(2*math.Pi*float64(minute-4*60)/1440)
	day := t.YearDay()
	var out []goldenSample
	k := 0
	for i, a := range goldenMembers {
		for j, b := range goldenMembers {
			if i == j {
				continue
			}
			k++
			frame := 100 + uint32(k*37) + uint32(math.Round(1200*diurnal)) + uint32(day%7)
			out = append(out, goldenSample{srcMAC: a.mac, dstMAC: b.mac, frameLen: min(frame, 1518), rate: rate})
		}
	}
	out = append(out,
		goldenSample{srcMAC: goldenMembers[0].mac, dstMAC: goldenMembers[0].mac, frameLen: 1000, rate: rate},
		goldenSample{srcMAC: [6]byte{0x02, 0xbb, 0, 0, 0, 9}, dstMAC: goldenMembers[1].mac, frameLen: 900, rate: rate})
	return out
}

// goldenDatagram encodes one sFlow v5 datagram (XDR, big-endian) with a
// flow sample per sample, each with one raw Ethernet header record.
func goldenDatagram(agentAddr string, seq uint32, uptime uint32, samples []goldenSample) []byte {
	agent := net.ParseIP(agentAddr).To4()
	be := binary.BigEndian
	b := be.AppendUint32(nil, 5) // version
	b = be.AppendUint32(b, 1)    // IPv4 agent
	b = append(b, agent...)
	b = be.AppendUint32(b, 0) // sub-agent
	b = be.AppendUint32(b, seq)
	b = be.AppendUint32(b, uptime)
	b = be.AppendUint32(b, uint32(len(samples)))
	for i, s := range samples {
		// Ethernet + IPv4 + UDP headers, addresses outside the peering LAN.
		h := append([]byte{}, s.dstMAC[:]...)
		h = append(h, s.srcMAC[:]...)
		h = be.AppendUint16(h, 0x0800)
		ip := make([]byte, 20)
		ip[0], ip[8], ip[9] = 0x45, 64, 17
		be.PutUint16(ip[2:], uint16(s.frameLen-18))
		copy(ip[12:], []byte{198, 51, 100, byte(1 + i)})
		copy(ip[16:], []byte{203, 0, 113, byte(1 + i)})
		h = append(h, ip...)
		h = be.AppendUint16(h, 40000+uint16(i))
		h = be.AppendUint16(h, 443)
		h = be.AppendUint16(h, uint16(s.frameLen-18-20))
		h = be.AppendUint16(h, 0)
		padded := (len(h) + 3) &^ 3
		rec := 16 + padded
		in, out := s.inIf, s.outIf
		if in == 0 {
			in, out = 1, 2
		}
		b = be.AppendUint32(b, 1) // flow_sample
		b = be.AppendUint32(b, uint32(32+8+rec))
		b = be.AppendUint32(b, seq*16+uint32(i))
		b = be.AppendUint32(b, in) // source id: type 0, ifIndex
		b = be.AppendUint32(b, s.rate)
		b = be.AppendUint32(b, (seq*16+uint32(i))*s.rate)
		b = be.AppendUint32(b, 0) // drops
		b = be.AppendUint32(b, in)
		b = be.AppendUint32(b, out)
		b = be.AppendUint32(b, 1) // records
		b = be.AppendUint32(b, 1) // raw packet header
		b = be.AppendUint32(b, uint32(rec))
		b = be.AppendUint32(b, 1) // Ethernet
		b = be.AppendUint32(b, s.frameLen)
		b = be.AppendUint32(b, 4) // stripped (FCS)
		b = be.AppendUint32(b, uint32(len(h)))
		b = append(b, h...)
		b = append(b, make([]byte, padded-len(h))...)
	}
	return b
}

// writeGoldenCapture writes the dataset as a pcap of UDP datagrams from
// the agents to port and returns the number of datagrams of the switch
// and of the edge router.
func writeGoldenCapture(t *testing.T, path string, port int) (switchDatagrams, edgeDatagrams int) {
	t.Helper()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	w := pcapgo.NewWriter(f)
	if err := w.WriteFileHeader(65536, layers.LinkTypeEthernet); err != nil {
		t.Fatal(err)
	}
	eth := &layers.Ethernet{SrcMAC: net.HardwareAddr{0x02, 0xcc, 0, 0, 0, 10}, DstMAC: net.HardwareAddr{0x02, 0xcc, 0, 0, 0, 1},
		EthernetType: layers.EthernetTypeIPv4}
	ip := &layers.IPv4{Version: 4, TTL: 64, Protocol: layers.IPProtocolUDP,
		SrcIP: net.ParseIP(goldenAgent).To4(), DstIP: net.ParseIP("127.0.0.1").To4()}
	udp := &layers.UDP{SrcPort: 6343, DstPort: layers.UDPPort(port)}
	buf := gopacket.NewSerializeBuffer()
	write := func(agent string, ts time.Time, payload []byte) {
		ip.SrcIP = net.ParseIP(agent).To4()
		if err := udp.SetNetworkLayerForChecksum(ip); err != nil {
			t.Fatal(err)
		}
		if err := gopacket.SerializeLayers(buf, gopacket.SerializeOptions{FixLengths: true, ComputeChecksums: true},
			eth, ip, udp, gopacket.Payload(payload)); err != nil {
			t.Fatal(err)
		}
		data := buf.Bytes()
		if err := w.WritePacket(gopacket.CaptureInfo{Timestamp: ts, CaptureLength: len(data), Length: len(data)}, data); err != nil {
			t.Fatal(err)
		}
	}
	n, edge := 0, 0
	for bin := goldenStart; bin.Before(goldenEnd); bin = bin.Add(goldenBinSecs * time.Second) {
		if goldenGap(bin) {
			continue
		}
		uptime := uint32(bin.Sub(goldenStart).Milliseconds())
		write(goldenAgent, bin.Add(150*time.Second+time.Duration(n%97)*time.Millisecond),
			goldenDatagram(goldenAgent, uint32(n), uptime, goldenBin(bin)))
		n++
		if e := goldenEdge(bin); e != nil {
			write(goldenEdgeAgent, bin.Add(200*time.Second), goldenDatagram(goldenEdgeAgent, uint32(edge), uptime, e))
			edge++
		}
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	return n, edge
}

// goldenEdge returns the samples of the member edge router of the first
// member in the bin that starts at t: on the hour, one packet in from the
// exchange and one in from transit, both to a customer, domestic at both
// ends; nil in other bins.
func goldenEdge(t time.Time) []goldenSample {
	if t.Minute() != 0 {
		return nil
	}
	other := [6]byte{0x02, 0xdd, 0, 0, 0, 1}
	return []goldenSample{
		{srcMAC: other, dstMAC: other, frameLen: 600 + uint32(t.Hour())*20, rate: goldenEdgeRate, inIf: 10, outIf: 30}, // via the IXP
		{srcMAC: other, dstMAC: other, frameLen: 1400, rate: goldenEdgeRate, inIf: 20, outIf: 30},                      // via transit
	}
}

// goldenTruth is what the API must say about the month.
type goldenTruth struct {
	from, to         time.Time
	bins, missing    int
	volume           uint64
	peakBps, p95Bps  float64
	avgBps           float64
	peakAt           time.Time
	matrix           map[[2]uint32]uint64
	p95USD, peakUSD  float64
	p95Mbps, peakMbs float64
	viaIXP, viaTrans uint64 // domestic bytes at the edge router
}

// computeGoldenTruth computes the month's figures from the generator,
// independently of the analytics package.
func computeGoldenTruth(t *testing.T) goldenTruth {
	t.Helper()
	from, err := time.Parse("2006-01", goldenMonth)
	if err != nil {
		t.Fatal(err)
	}
	tr := goldenTruth{from: from, to: from.AddDate(0, 1, 0), matrix: map[[2]uint32]uint64{}}
	asnOf := map[[6]byte]uint32{}
	for _, m := range goldenMembers {
		asnOf[m.mac] = m.asn
	}
	var binBytes []uint64
	for bin := tr.from; bin.Before(tr.to); bin = bin.Add(goldenBinSecs * time.Second) {
		var bytes uint64
		if goldenGap(bin) {
			tr.missing++
		} else {
			for _, s := range goldenBin(bin) {
				a, b := asnOf[s.srcMAC], asnOf[s.dstMAC]
				if a == 0 || b == 0 || a == b {
					continue
				}
				v := uint64(s.frameLen) * uint64(s.rate)
				bytes += v
				tr.matrix[[2]uint32{a, b}] += v
			}
		}
		for _, s := range goldenEdge(bin) {
			if goldenGap(bin) {
				break
			}
			if s.inIf == 10 {
				tr.viaIXP += uint64(s.frameLen) * uint64(s.rate)
			} else {
				tr.viaTrans += uint64(s.frameLen) * uint64(s.rate)
			}
		}
		binBytes = append(binBytes, bytes)
		tr.volume += bytes
		if bps := float64(bytes) * 8 / goldenBinSecs; bps > tr.peakBps {
			tr.peakBps, tr.peakAt = bps, bin
		}
	}
	tr.bins = len(binBytes)
	sorted := slices.Clone(binBytes)
	slices.Sort(sorted)
	drop := tr.bins * 5 / 100
	tr.p95Bps = float64(sorted[tr.bins-1-drop]) * 8 / goldenBinSecs
	var sum float64
	for _, b := range binBytes {
		sum += float64(b) * 8 / goldenBinSecs
	}
	tr.avgBps = sum / float64(tr.bins)
	tr.p95Mbps, tr.peakMbs = tr.p95Bps/1e6, tr.peakBps/1e6
	tr.p95USD = goldenAlpha * tr.p95Mbps * (goldenTransit - goldenIXPCost)
	tr.peakUSD = goldenAlpha * tr.peakMbs * (goldenTransit - goldenIXPCost)
	return tr
}

func closeEnough(got, want float64) bool {
	if want == 0 {
		return got == 0
	}
	return math.Abs(got-want) <= 1e-9*math.Abs(want)
}

func TestGolden(t *testing.T) {
	if testing.Short() && os.Getenv("CI") != "true" {
		t.Skip("integration test; -short")
	}
	dir := t.TempDir()
	bin := daemonBinary(t)
	sflowPort, err := peertest.FreePort()
	if err != nil {
		t.Fatal(err)
	}
	capture := filepath.Join(dir, "golden.pcap")
	start := time.Now()
	datagrams, edge := writeGoldenCapture(t, capture, sflowPort)
	truth := computeGoldenTruth(t)
	t.Logf("capture: %d switch datagrams of %d samples and %d edge datagrams of 2, %s to %s, written in %s",
		datagrams, len(goldenBin(goldenStart)), edge,
		goldenStart.Format(time.RFC3339), goldenEnd.Format(time.RFC3339), time.Since(start).Round(time.Millisecond))
	t.Logf("truth for %s: bins %d missing %d volume %d peak %v bps at %s p95 %v bps avg %v bps savings p95 %v peak %v USD; "+
		"domestic via IXP %d via transit %d bytes", goldenMonth, truth.bins, truth.missing, truth.volume, truth.peakBps,
		truth.peakAt.Format(time.RFC3339), truth.p95Bps, truth.avgBps, truth.p95USD, truth.peakUSD, truth.viaIXP, truth.viaTrans)

	t.Run("duckdb", func(t *testing.T) {
		runGolden(t, bin, capture, sflowPort, datagrams, edge, truth, "  driver: duckdb\n  duckdb_path: data/ixpd.duckdb\n")
	})
	t.Run("clickhouse", func(t *testing.T) {
		srv := chtest.Shared(t)
		db := srv.NewDatabase(t)
		runGolden(t, bin, capture, sflowPort, datagrams, edge, truth, fmt.Sprintf(
			"  driver: clickhouse\n  clickhouse: {addr: %q, database: %s, user: default, password: \"\"}\n", srv.Addr, db))
	})
	// The scale-out drill: two collectors, each with half the datagrams,
	// write to a cluster of two shards through different nodes; the API
	// answers over both shards as if one server had it all.
	t.Run("clickhouse cluster", func(t *testing.T) {
		cl := chtest.SharedCluster(t)
		db := cl.NewDatabase(t)
		addrs := cl.Addrs()
		halves := splitCapture(t, capture)
		var storages []string
		for _, a := range addrs[:2] {
			storages = append(storages, fmt.Sprintf("  driver: clickhouse\n  clickhouse: {addr: %q, database: %s, user: default, password: \"\", cluster: %s, shards: [%q, %q]}\n",
				a, db, chtest.ClusterName, addrs[0], addrs[1]))
		}
		runGoldenCollectors(t, bin, halves, sflowPort, datagrams, edge, truth, storages)
	})
}

// splitCapture deals a capture's packets alternately into two captures.
func splitCapture(t *testing.T, capture string) []string {
	t.Helper()
	f, err := os.Open(capture)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = f.Close() }()
	r, err := pcapgo.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	var ws []*pcapgo.Writer
	for i := range 2 {
		name := strings.TrimSuffix(capture, ".pcap") + fmt.Sprintf("-%d.pcap", i)
		out, err := os.Create(name)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = out.Close() })
		w := pcapgo.NewWriter(out)
		if err := w.WriteFileHeader(65536, r.LinkType()); err != nil {
			t.Fatal(err)
		}
		names, ws = append(names, name), append(ws, w)
	}
	for i := 0; ; i++ {
		data, ci, err := r.ReadPacketData()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if err := ws[i%2].WritePacket(ci, data); err != nil {
			t.Fatal(err)
		}
	}
	return names
}

// goldenMembersFile is the golden exchange's members file; routeServer
// says whether its members peer with the route server.
func goldenMembersFile(routeServer bool) string {
	var members []string
	for _, m := range goldenMembers {
		mac := net.HardwareAddr(m.mac[:]).String()
		members = append(members, fmt.Sprintf(`{"asnum": %d, "name": %q, "connection_list": [{"ixp_id": 1, "vlan_list": [{"vlan_id": 1,
	  "ipv4": {"address": %q, "routeserver": %t, "mac_addresses": [%q]}}]}]}`, m.asn, m.name, m.addr, routeServer, mac))
	}
	return fmt.Sprintf(`{"version": "1.0", "timestamp": "2026-08-01T00:00:00Z",
 "ixp_list": [{"ixp_id": 1, "shortname": "GOLD", "vlan": [{"id": 1}]}],
 "member_list": [%s]}`, strings.Join(members, ","))
}

// runGolden replays the capture into the configured store, starts the
// daemon and compares the API's answers with the truth.
func runGolden(t *testing.T, bin, capture string, sflowPort, datagrams, edge int, truth goldenTruth, storage string) {
	runGoldenCollectors(t, bin, []string{capture}, sflowPort, datagrams, edge, truth, []string{storage})
}

// runGoldenCollectors replays captures[i] with storages[i] (one ixpd
// collector each, one after the other), then starts the daemon on the
// first storage and compares the API's answers with the truth.
func runGoldenCollectors(t *testing.T, bin string, captures []string, sflowPort, datagrams, edge int, truth goldenTruth, storages []string) {
	api, _ := goldenDaemon(t, bin, captures, sflowPort, datagrams, edge, storages, nil)
	checkGoldenAPI(t, api, truth)
}

// goldenDaemon replays captures[i] with storages[i] (one ixpd collector
// each, one after the other), then starts the daemon on the first storage
// and its config changed by edit (when not nil), and returns a client of
// its API holding a token, and the daemon with its config file.
func goldenDaemon(t *testing.T, bin string, captures []string, sflowPort, datagrams, edge int, storages []string, edit func(config string) string) (client, goldenRun) {
	storage := storages[0]
	dir := t.TempDir()
	ports := freePorts(t, 2)
	bgpPort, apiPort := ports[0], ports[1]
	token := "golden-token-0123456789"
	if err := os.WriteFile(filepath.Join(dir, "members.json"), []byte(goldenMembersFile(false)), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg := fmt.Sprintf(`ixp: {name: GOLD-IX, country: WS, peering_lan: [127.0.0.0/8]}
members_file: members.json
routeserver:
  asn: 64512
  router_id: 127.0.0.1
  listen: 127.0.0.1:%d
  peer_port: %d
flow:
  sflow_listen: 127.0.0.1:%d
  exporters:
    - {address: %s, role: ixp_switch}
    - {address: %s, role: member_edge, member_asn: %d, interfaces: {10: ixp, 20: transit, 30: customer}}
domestic:
  overrides: {"198.51.100.0/24": WS, "203.0.113.0/24": WS}
storage:
%s  retention: {raw: 43800h, rollup: 43800h}
savings:
  transit_price_usd_per_mbps_month: {value: %v, low: 3, high: 6, source: golden transit}
  ixp_cost_usd_per_mbps_month: {value: %v, low: 0.5, high: 1, source: golden ixp}
  alpha: {value: %v, low: 0.6, high: 1, source: golden alpha}
api:
  listen: 127.0.0.1:%d
  tokens:
%s
`, bgpPort, bgpPort, sflowPort, goldenAgent, goldenEdgeAgent, goldenMembers[0].asn, storage, goldenTransit, goldenIXPCost, goldenAlpha, apiPort, tokenEntry(token))
	if edit != nil {
		cfg = edit(cfg)
	}
	config := filepath.Join(dir, "ixpd.yaml")
	if err := os.WriteFile(config, []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}

	start := time.Now()
	var out []byte
	for i, capture := range captures {
		collector := config
		if i > 0 {
			// Another collector: the same config on another store node.
			collector = filepath.Join(dir, fmt.Sprintf("ixpd-%d.yaml", i))
			if err := os.WriteFile(collector, []byte(strings.Replace(cfg, storage, storages[i], 1)), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		o, err := exec.Command(bin, "replay", "-config", collector, capture).CombinedOutput()
		if err != nil {
			t.Fatalf("replay %d: %v\n%s", i, err, o)
		}
		t.Logf("replay %d in %s:\n%s", i, time.Since(start).Round(time.Millisecond), o)
		out = append(out, o...)
	}
	for _, want := range []string{
		fmt.Sprintf("%d datagrams, %d flows, 0 other packets skipped", datagrams+edge, datagrams*len(goldenBin(goldenStart))+2*edge),
		fmt.Sprintf("role ixp_switch sampling %d: %d datagrams, %d flows, 0 errors", goldenRate, datagrams, datagrams*len(goldenBin(goldenStart))),
		fmt.Sprintf("role member_edge sampling %d: %d datagrams, %d flows, 0 errors", goldenEdgeRate, edge, 2*edge),
	} {
		if len(captures) == 1 && !strings.Contains(string(out), want) {
			t.Errorf("replay summary does not show %q", want)
		}
	}

	// Replay waits for the store rather than spooling, and writes the
	// spool before it exits: nothing may be left on disk.
	spool := filepath.Join(dir, "data", "spool")
	spooled := func() int {
		n, _ := filepath.Glob(filepath.Join(spool, "batch-*.gob"))
		return len(n)
	}
	if n := spooled(); n != 0 {
		t.Errorf("replay left %d batches in the spool", n)
	}

	d := startDaemon(t, bin, config)
	api := client{t: t, base: fmt.Sprintf("http://127.0.0.1:%d", apiPort), token: token}
	peertest.WaitFor(t, 30*time.Second, "API up and spool written", func() (bool, string) {
		var s string
		code := api.get("/healthz", &s)
		n := spooled()
		return code == 200 && n == 0, fmt.Sprintf("status %d, %d spooled batches", code, n)
	})
	t.Logf("API up and spool empty %s after replay", time.Since(start).Round(time.Millisecond))
	return api, goldenRun{config: config, daemon: d}
}

// goldenRun is the daemon goldenDaemon started and its config file.
type goldenRun struct {
	config string
	daemon *daemon
}

// checkGoldenAPI compares the API's answers about the golden month with
// the truth.
func checkGoldenAPI(t *testing.T, api client, truth goldenTruth) {
	rng := fmt.Sprintf("from=%s&to=%s", truth.from.Format(time.RFC3339), truth.to.Format(time.RFC3339))

	var sum struct {
		PeakBps     float64   `json:"peak_bps"`
		PeakAt      time.Time `json:"peak_at"`
		P95Bps      float64   `json:"p95_bps"`
		AvgBps      float64   `json:"avg_bps"`
		VolumeBytes uint64    `json:"volume_bytes"`
		Bins        int       `json:"bins"`
		MissingBins int       `json:"missing_bins"`
	}
	if code := api.get("/api/v1/traffic/summary?"+rng, &sum); code != 200 {
		t.Fatalf("summary: status %d", code)
	}
	t.Logf("API summary: %+v", sum)
	if sum.VolumeBytes != truth.volume {
		t.Errorf("volume_bytes %d, want %d", sum.VolumeBytes, truth.volume)
	}
	if sum.Bins != truth.bins || sum.MissingBins != truth.missing {
		t.Errorf("bins %d missing %d, want %d and %d", sum.Bins, sum.MissingBins, truth.bins, truth.missing)
	}
	if !closeEnough(sum.PeakBps, truth.peakBps) || !sum.PeakAt.Equal(truth.peakAt) {
		t.Errorf("peak %v bps at %s, want %v at %s", sum.PeakBps, sum.PeakAt, truth.peakBps, truth.peakAt)
	}
	if !closeEnough(sum.P95Bps, truth.p95Bps) {
		t.Errorf("p95 %v bps, want %v", sum.P95Bps, truth.p95Bps)
	}
	if !closeEnough(sum.AvgBps, truth.avgBps) {
		t.Errorf("avg %v bps, want %v", sum.AvgBps, truth.avgBps)
	}

	var mx struct {
		Pairs []struct {
			Src   uint32 `json:"src_asn"`
			Dst   uint32 `json:"dst_asn"`
			Bytes uint64 `json:"bytes"`
		} `json:"pairs"`
	}
	if code := (client{t: t, base: api.base}).get("/api/v1/traffic/matrix?"+rng, nil); code != 401 {
		t.Errorf("matrix without a token: status %d, want 401", code)
	}
	if code := api.get("/api/v1/traffic/matrix?"+rng, &mx); code != 200 {
		t.Fatalf("matrix: status %d", code)
	}
	got := map[[2]uint32]uint64{}
	for _, p := range mx.Pairs {
		got[[2]uint32{p.Src, p.Dst}] = p.Bytes
	}
	if len(got) != len(truth.matrix) || len(mx.Pairs) != goldenPerPairs {
		t.Errorf("matrix has %d pairs, want %d: %v", len(mx.Pairs), len(truth.matrix), got)
	}
	for k, want := range truth.matrix {
		if got[k] != want {
			t.Errorf("matrix AS%d→AS%d: %d bytes, want %d", k[0], k[1], got[k], want)
		}
	}

	var sv struct {
		Month    string  `json:"month"`
		P95Mbps  float64 `json:"p95_mbps"`
		PeakMbps float64 `json:"peak_mbps"`
		P95USD   float64 `json:"savings_usd_p95"`
		PeakUSD  float64 `json:"savings_usd_peak"`
		Band     struct {
			Low  float64 `json:"low_usd"`
			High float64 `json:"high_usd"`
		} `json:"band"`
	}
	if code := (client{t: t, base: api.base}).get("/api/v1/savings?month="+goldenMonth, &sv); code != 200 {
		t.Fatalf("savings: status %d", code)
	}
	t.Logf("API savings: %+v", sv)
	for _, c := range []struct {
		name      string
		got, want float64
	}{
		{"p95_mbps", sv.P95Mbps, truth.p95Mbps},
		{"peak_mbps", sv.PeakMbps, truth.peakMbs},
		{"savings_usd_p95", sv.P95USD, truth.p95USD},
		{"savings_usd_peak", sv.PeakUSD, truth.peakUSD},
		{"band.low_usd", sv.Band.Low, 0.6 * truth.p95Mbps * (3 - 1)},
		{"band.high_usd", sv.Band.High, 1 * truth.p95Mbps * (6 - 0.5)},
	} {
		if !closeEnough(c.got, c.want) {
			t.Errorf("savings %s %v, want %v", c.name, c.got, c.want)
		}
	}

	var dom struct {
		Overall struct {
			ViaIXP     uint64   `json:"via_ixp_bytes"`
			ViaTransit uint64   `json:"via_transit_bytes"`
			Share      *float64 `json:"local_share"`
		} `json:"overall"`
		Members []struct {
			ASN        uint32   `json:"asn"`
			ViaIXP     uint64   `json:"via_ixp_bytes"`
			ViaTransit uint64   `json:"via_transit_bytes"`
			Share      *float64 `json:"local_share"`
		} `json:"members"`
	}
	if code := api.get("/api/v1/domestic?"+rng, &dom); code != 200 {
		t.Fatalf("domestic: status %d", code)
	}
	for _, m := range dom.Members {
		if m.Share != nil {
			t.Logf("API domestic AS%d: via IXP %d via transit %d local share %v", m.ASN, m.ViaIXP, m.ViaTransit, *m.Share)
		}
	}
	wantShare := float64(truth.viaIXP) / float64(truth.viaIXP+truth.viaTrans)
	if o := dom.Overall; o.Share != nil {
		t.Logf("API domestic overall: via IXP %d via transit %d local share %v (truth %v)", o.ViaIXP, o.ViaTransit, *o.Share, wantShare)
	}
	if o := dom.Overall; o.ViaIXP != truth.viaIXP || o.ViaTransit != truth.viaTrans || o.Share == nil || !closeEnough(*o.Share, wantShare) {
		t.Errorf("domestic overall %d via IXP %d via transit share %v, want %d %d %v", o.ViaIXP, o.ViaTransit, o.Share,
			truth.viaIXP, truth.viaTrans, wantShare)
	}
	for _, m := range dom.Members {
		switch {
		case m.ASN == goldenMembers[0].asn:
			if m.ViaIXP != truth.viaIXP || m.ViaTransit != truth.viaTrans || m.Share == nil || !closeEnough(*m.Share, wantShare) {
				t.Errorf("domestic AS%d: %d via IXP %d via transit share %v, want %d %d %v", m.ASN, m.ViaIXP, m.ViaTransit, m.Share,
					truth.viaIXP, truth.viaTrans, wantShare)
			}
		case m.Share != nil:
			t.Errorf("domestic AS%d has a local share %v without an edge exporter", m.ASN, *m.Share)
		}
	}
	if len(dom.Members) != len(goldenMembers) {
		t.Errorf("domestic lists %d members, want %d", len(dom.Members), len(goldenMembers))
	}
}
