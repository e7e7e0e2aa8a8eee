package collector

// Tests that no flow is lost: across a ClickHouse outage (the collector
// spools what the store refuses and replays it) and across a SIGTERM of the
// daemon (it writes what it holds before it exits). Every flow the tests
// send carries its own id, so that a flow stored twice shows as well as a
// flow missing.

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/ixpd/ixpd/analytics"
	"github.com/ixpd/ixpd/analytics/clickhouse"
	"github.com/ixpd/ixpd/analytics/clickhouse/chtest"
	"github.com/ixpd/ixpd/analytics/duckdb"
	"github.com/ixpd/ixpd/flow"
)

const (
	// lossPerDatagram is the flow samples in each datagram: datagram n
	// (from 0) carries the flows with ids n*lossPerDatagram+1 onwards.
	lossPerDatagram = 10
	// lossTick paces the senders at one datagram per tick (at most 5,000
	// flows a second), far below what the socket buffer and the worker
	// queues hold; lossWindow bounds the datagrams sent and not yet counted
	// by the collector, so that a slow collector slows the sender instead
	// of filling the socket buffer.
	lossTick   = 2 * time.Millisecond
	lossWindow = 64
	// lossFrameBase is added to a flow's id to make its sampled frame
	// length: with a sampling rate of 1 that is the flow's byte count, so
	// every flow has its own.
	lossFrameBase = 64
)

// lossAgent is the sFlow agent address of the test's switch.
var lossAgent = netip.MustParseAddr("127.0.0.10")

// lossBytes is the byte count of flow id as stored.
func lossBytes(id uint32) uint64 { return lossFrameBase + uint64(id) }

// lossSrcAddr is the source address of flow id's sampled packet (the id in
// the low 24 bits of 10.0.0.0/8).
func lossSrcAddr(id uint32) netip.Addr {
	return netip.AddrFrom4([4]byte{10, byte(id >> 16), byte(id >> 8), byte(id)})
}

// lossDatagram builds an sFlow v5 datagram from agent with sequence number
// seq and one flow sample per id. sFlow is XDR: big-endian 32-bit words,
// opaque data padded to a multiple of 4 bytes.
//
//	datagram:    version 5, address type 1 (IPv4), agent address, sub-agent id, sequence, uptime (ms), samples
//	flow sample: format 1, length; sequence, source id, sampling rate, sample pool, drops, input, output, records
//	record:      format 1 (sampled header), length; protocol 1 (Ethernet), frame length, stripped, header length, header
//
// The sampled header is Ethernet (member MACs of deploy/examples/members.json),
// IPv4 from lossSrcAddr(id) to 192.0.2.1, and UDP from port id&0xffff to 53.
// The sampling rate is 1 and the frame length lossBytes(id), so that the
// stored flow has lossBytes(id) bytes and 1 packet.
func lossDatagram(agent netip.Addr, seq uint32, ids []uint32) []byte {
	u32 := binary.BigEndian.AppendUint32
	a4 := agent.As4()
	b := u32(nil, 5)
	b = u32(b, 1)
	b = append(b, a4[:]...)
	b = u32(b, 0)
	b = u32(b, seq)
	b = u32(b, seq*10) // uptime in ms: any increasing value
	b = u32(b, uint32(len(ids)))
	for i, id := range ids {
		hdr := make([]byte, 0, 44)
		hdr = append(hdr, 0x02, 0, 0, 0, 0, 0x03, 0x02, 0, 0, 0, 0, 0x02, 0x08, 0x00) // dst, src MAC, IPv4
		src := lossSrcAddr(id).As4()
		hdr = append(hdr, 0x45, 0, 0, 28, 0, 0, 0, 0, 64, 17, 0, 0) // IPv4, 28 bytes, UDP (checksum not checked)
		hdr = append(hdr, src[:]...)
		hdr = append(hdr, 192, 0, 2, 1)
		hdr = binary.BigEndian.AppendUint16(hdr, uint16(id))
		hdr = binary.BigEndian.AppendUint16(hdr, 53)
		hdr = append(hdr, 0, 8, 0, 0) // UDP length, checksum
		headerLen := len(hdr)         // 42
		for len(hdr)%4 != 0 {
			hdr = append(hdr, 0)
		}
		record := u32(nil, 1) // header protocol: Ethernet
		record = u32(record, uint32(lossBytes(id)))
		record = u32(record, 4) // stripped: the FCS
		record = u32(record, uint32(headerLen))
		record = append(record, hdr...)

		sample := u32(nil, seq*lossPerDatagram+uint32(i))
		sample = u32(sample, 7)                             // source id: ifIndex 7
		sample = u32(sample, 1)                             // sampling rate
		sample = u32(sample, seq*lossPerDatagram+uint32(i)) // sample pool
		sample = u32(sample, 0)                             // drops
		sample = u32(sample, 7)                             // input ifIndex
		sample = u32(sample, 8)                             // output ifIndex
		sample = u32(sample, 1)                             // records
		sample = u32(sample, 1)                             // record format: sampled header
		sample = u32(sample, uint32(len(record)))
		sample = append(sample, record...)

		b = u32(b, 1) // sample format: flow sample
		b = u32(b, uint32(len(sample)))
		b = append(b, sample...)
	}
	return b
}

// lossSender sends numbered datagrams of new flows to one collector
// address; datagram n carries flows n*lossPerDatagram+1 to
// (n+1)*lossPerDatagram. Its counter is safe to read from other goroutines.
type lossSender struct {
	conn net.Conn
	sent atomic.Uint32 // datagrams sent, or tried: an id is never reused
}

func newLossSender(t *testing.T, addr string) *lossSender {
	t.Helper()
	conn, err := net.Dial("udp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = conn.Close() })
	return &lossSender{conn: conn}
}

// send sends the next datagram.
func (s *lossSender) send() error {
	n := s.sent.Add(1) - 1
	ids := make([]uint32, lossPerDatagram)
	for i := range ids {
		ids[i] = n*lossPerDatagram + uint32(i) + 1
	}
	if _, err := s.conn.Write(lossDatagram(lossAgent, n, ids)); err != nil {
		return fmt.Errorf("send datagram %d: %w", n, err)
	}
	return nil
}

// run sends one datagram per tick until stop is closed, until the sender
// has sent limit datagrams in all (0: no limit), or until a write fails.
// Before each datagram it asks backlog (when not nil) how many sent
// datagrams the collector has not counted yet, and waits for the next tick
// while that is lossWindow or more.
func (s *lossSender) run(stop <-chan struct{}, limit uint32, backlog func() (int, error)) error {
	tick := time.NewTicker(lossTick)
	defer tick.Stop()
	for limit == 0 || s.sent.Load() < limit {
		select {
		case <-stop:
			return nil
		case <-tick.C:
		}
		if backlog != nil {
			n, err := backlog()
			if err != nil {
				return err
			}
			if n >= lossWindow {
				continue
			}
		}
		if err := s.send(); err != nil {
			return err
		}
	}
	return nil
}

// lossWaitFor polls cond until it holds, and fails t with cond's last
// description after timeout.
func lossWaitFor(t *testing.T, timeout time.Duration, what string, cond func() (bool, string)) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for {
		ok, state := cond()
		if ok {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %s: %s", what, timeout, state)
		}
		<-tick.C
	}
}

// lossLog keeps a log, shown (its end) when the test fails.
type lossLog struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func newLossLog(t *testing.T, name string) *lossLog {
	l := &lossLog{}
	t.Cleanup(func() {
		if t.Failed() {
			s := l.String()
			if len(s) > 16<<10 {
				s = "...\n" + s[len(s)-16<<10:]
			}
			t.Logf("%s log:\n%s", name, s)
		}
	})
	return l
}

func (l *lossLog) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lossLog) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// lossFreePort returns a port on 127.0.0.1 free at the time of the call
// ("tcp" or "udp").
func lossFreePort(t *testing.T, network string) int {
	t.Helper()
	if network == "tcp" {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer func() { _ = l.Close() }()
		return l.Addr().(*net.TCPAddr).Port
	}
	c, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = c.Close() }()
	return c.LocalAddr().(*net.UDPAddr).Port
}

// lossCount counts the stored flows by id. Flows that are not the test's
// (wrong exporter, bytes or source address for their id) are returned as
// strings.
func lossCount(flows []flow.Flow) (byID map[uint32]int, foreign []string) {
	byID = map[uint32]int{}
	for _, f := range flows {
		id := uint32(f.Bytes - lossFrameBase)
		if f.Bytes <= lossFrameBase || f.Exporter != lossAgent || f.Packets != 1 || f.SrcAddr != lossSrcAddr(id) ||
			f.SrcPort != uint16(id) {
			foreign = append(foreign, fmt.Sprintf("%+v", f))
			continue
		}
		byID[id]++
	}
	return byID, foreign
}

// lossExpect checks that the flows of datagrams [from, to) were each
// stored exactly once, and returns a description of every problem.
func lossExpect(byID map[uint32]int, from, to uint32) []string {
	var missing, twice []uint32
	for id := from*lossPerDatagram + 1; id <= to*lossPerDatagram; id++ {
		switch n := byID[id]; {
		case n == 0:
			missing = append(missing, id)
		case n > 1:
			twice = append(twice, id)
		}
	}
	var problems []string
	if len(missing) > 0 {
		problems = append(problems, fmt.Sprintf("%d flows of datagrams %d..%d missing (first ids %v)",
			len(missing), from, to-1, missing[:min(len(missing), 10)]))
	}
	if len(twice) > 0 {
		problems = append(problems, fmt.Sprintf("%d flows of datagrams %d..%d stored more than once (first ids %v)",
			len(twice), from, to-1, twice[:min(len(twice), 10)]))
	}
	return problems
}

// lossTotals is what the store must hold for the flows of the datagrams
// in [from, to).
func lossTotals(from, to uint32) analytics.Totals {
	var tot analytics.Totals
	for id := from*lossPerDatagram + 1; id <= to*lossPerDatagram; id++ {
		tot.Flows++
		tot.Packets++
		tot.Bytes += lossBytes(id)
	}
	return tot
}

// lossMetric sums every series of a counter or gauge in reg (0 when it has
// none yet).
func lossMetric(t *testing.T, reg prometheus.Gatherer, name string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	var sum float64
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, m := range mf.GetMetric() {
			sum += m.GetCounter().GetValue() + m.GetGauge().GetValue()
		}
	}
	return sum
}

// TestNoFlowLostWhileClickHouseIsDown sends sFlow to a live collector that
// writes to a real ClickHouse server, kills the server while flows arrive,
// keeps sending, restarts it, keeps sending, and checks that every flow sent
// is stored exactly once: what the store refused went to the spool and was
// replayed.
func TestNoFlowLostWhileClickHouseIsDown(t *testing.T) {
	srv := chtest.Start(t)
	ctx := t.Context()
	logs := newLossLog(t, "collector and store")
	logger := slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelInfo}))

	chCfg := clickhouse.DefaultConfiguration()
	chCfg.Addr = srv.Addr
	chCfg.Database = srv.NewDatabase(t)
	chCfg.DialTimeout = time.Second
	chCfg.ReadTimeout = 10 * time.Second
	store, err := clickhouse.New(logger, prometheus.NewRegistry(), chCfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = store.Close() })
	if err := store.Migrate(ctx); err != nil {
		t.Fatal(err)
	}

	reg := prometheus.NewRegistry()
	cfg := DefaultConfiguration()
	cfg.SFlowListen = net.JoinHostPort("127.0.0.1", strconv.Itoa(lossFreePort(t, "udp")))
	cfg.SpoolDir = filepath.Join(t.TempDir(), "spool")
	// Small batches, often: several batches per phase, a short outage
	// spools tens of them, and the spool replays at 8 batches a second.
	cfg.BatchSize = 400
	cfg.BatchInterval = 100 * time.Millisecond
	cfg.Exporters = []ExporterConfig{{Address: lossAgent, Role: "ixp_switch"}}
	c, err := New(logger, reg, cfg, Dependencies{Writer: store})
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	if err := c.Start(ctx); err != nil {
		t.Fatal(err)
	}
	stopped := false
	t.Cleanup(func() {
		if !stopped {
			_ = c.Stop(context.Background())
		}
	})

	counted := func() uint64 {
		es, _ := c.Exporters(ctx)
		var n uint64
		for _, e := range es {
			n += e.Datagrams
		}
		return n
	}
	metric := func(name string) float64 { return lossMetric(t, reg, name) }
	sender := newLossSender(t, cfg.SFlowListen)
	stopSending := make(chan struct{})
	sendDone := make(chan error, 1)
	go func() {
		sendDone <- sender.run(stopSending, 0, func() (int, error) {
			return int(uint64(sender.sent.Load()) - counted()), nil
		})
	}()
	// sentSince is the flows sent since the sender had sent mark
	// datagrams.
	sentSince := func(mark uint32) uint32 { return (sender.sent.Load() - mark) * lossPerDatagram }
	waitPhase := func(what string, cond func() (bool, string)) {
		t.Helper()
		lossWaitFor(t, 60*time.Second, what, func() (bool, string) {
			select {
			case err := <-sendDone:
				t.Fatalf("sender stopped during %q: %v", what, err)
			default:
			}
			return cond()
		})
	}

	// 1. The store takes flows.
	waitPhase("flows written before the outage", func() (bool, string) {
		w := metric("ixpd_flow_written_flows_total")
		return w >= 2000, fmt.Sprintf("%v flows written", w)
	})
	// 2. The server dies while flows arrive; they keep coming.
	killedAt := sender.sent.Load()
	writtenAtKill := metric("ixpd_flow_written_flows_total")
	srv.Kill(t)
	waitPhase("flows spooled during the outage", func() (bool, string) {
		sp, n := metric("ixpd_flow_spooled_batches_total"), sentSince(killedAt)
		return sp >= 5 && n >= 4000, fmt.Sprintf("%v batches spooled, %d flows sent since the kill", sp, n)
	})
	spooledAtRestart := metric("ixpd_flow_spooled_batches_total")
	// 3. The server comes back (flows still arriving while it starts); the
	// spool is replayed beside fresh batches.
	srv.Restart(t)
	restartedAt := sender.sent.Load()
	waitPhase("flows written and the spool replayed after the restart", func() (bool, string) {
		rp, n := metric("ixpd_flow_replayed_batches_total"), sentSince(restartedAt)
		return rp >= 1 && n >= 2000, fmt.Sprintf("%v batches replayed, %d flows sent since the restart", rp, n)
	})
	close(stopSending)
	if err := <-sendDone; err != nil {
		t.Fatal(err)
	}
	datagrams := sender.sent.Load()
	want := lossTotals(0, datagrams)

	// 4. Everything reaches the store, and the spool empties.
	everything := analytics.TotalsQuery{From: start.Add(-time.Minute), To: time.Now().Add(time.Minute)}
	lossWaitFor(t, 120*time.Second, "every flow written and the spool empty", func() (bool, string) {
		got, err := store.Totals(ctx, everything)
		written := metric("ixpd_flow_written_flows_total")
		batches, _ := c.spool.size()
		return err == nil && got.Flows >= want.Flows && written >= float64(want.Flows) && batches == 0,
			fmt.Sprintf("stored %+v (err %v), want %+v; collector wrote %v flows; %d batches in the spool",
				got, err, want, written, batches)
	})
	if err := c.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	stopped = true
	if batches, _ := c.spool.size(); batches != 0 {
		t.Errorf("%d batches spooled by Stop, with nothing left to write", batches)
	}

	flows, err := store.RawFlows(ctx, everything.From, everything.To)
	if err != nil {
		t.Fatal(err)
	}
	byID, foreign := lossCount(flows)
	for _, p := range append(lossExpect(byID, 0, datagrams), foreign...) {
		t.Error(p)
	}
	if got, err := store.Totals(ctx, everything); err != nil || got != want {
		t.Errorf("store totals %+v (err %v), want %+v", got, err, want)
	}
	if n := counted(); n != uint64(datagrams) {
		t.Errorf("collector counted %d datagrams, sent %d", n, datagrams)
	}
	for name, wantV := range map[string]float64{
		"ixpd_flow_dropped_datagrams_total": 0,
		"ixpd_flow_dropped_flows_total":     0,
		"ixpd_flow_receive_errors_total":    0,
		"ixpd_flow_written_flows_total":     float64(want.Flows),
		"ixpd_flow_replayed_batches_total":  metric("ixpd_flow_spooled_batches_total"),
	} {
		if got := metric(name); got != wantV {
			t.Errorf("%s = %v, want %v", name, got, wantV)
		}
	}
	es, _ := c.Exporters(ctx)
	for _, e := range es {
		if e.Errors != 0 || e.Address != lossAgent || e.Flows != want.Flows {
			t.Errorf("exporter stats %+v", e)
		}
	}
	t.Logf("sent %d flows in %d datagrams: %.0f written before the kill, %d sent while the server was down "+
		"or starting, %d after; %.0f store write errors; %.0f batches spooled (%.0f when the restart began), "+
		"%.0f replayed; stored %d rows for %d distinct flows",
		want.Flows, datagrams, writtenAtKill, (restartedAt-killedAt)*lossPerDatagram, (datagrams-restartedAt)*lossPerDatagram,
		metric("ixpd_flow_write_errors_total"), metric("ixpd_flow_spooled_batches_total"), spooledAtRestart,
		metric("ixpd_flow_replayed_batches_total"), len(flows), len(byID))
}

// lossDaemon is a running ixpd child process.
type lossDaemon struct {
	cmd  *exec.Cmd
	done chan struct{} // closed when the process has exited
	err  error         // its exit status, once done is closed
}

func startLossDaemon(t *testing.T, bin, config string, logs *lossLog) *lossDaemon {
	t.Helper()
	d := &lossDaemon{cmd: exec.Command(bin, "run", "-config", config), done: make(chan struct{})}
	d.cmd.Stdout, d.cmd.Stderr = logs, logs
	d.cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := d.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		d.err = d.cmd.Wait()
		close(d.done)
	}()
	t.Cleanup(func() {
		_ = d.cmd.Process.Kill() // already exited unless the test failed
		<-d.done
	})
	return d
}

// stop sends SIGTERM and waits for a clean exit.
func (d *lossDaemon) stop(t *testing.T) {
	t.Helper()
	if err := d.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	d.wait(t)
}

func (d *lossDaemon) wait(t *testing.T) {
	t.Helper()
	select {
	case <-d.done:
	case <-time.After(60 * time.Second):
		t.Fatal("ixpd did not exit within 60s of SIGTERM")
	}
	if d.err != nil {
		t.Fatalf("ixpd exited with %v", d.err)
	}
}

// lossAPI reads the daemon's HTTP API.
type lossAPI struct {
	base, token string
}

// get reads path into out (JSON) or returns its text; it fails when the
// API does not answer 200.
func (a lossAPI) get(path string, out any) (string, error) {
	req, err := http.NewRequest(http.MethodGet, a.base+path, nil)
	if err != nil {
		return "", err
	}
	req.Header.Set("Authorization", "Bearer "+a.token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return "", err
	}
	defer func() { _ = resp.Body.Close() }()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return "", err
	}
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("GET %s: %s: %s", path, resp.Status, body)
	}
	if out != nil {
		return "", json.Unmarshal(body, out)
	}
	return string(body), nil
}

// datagrams is the datagrams the daemon has counted from the test's agent.
func (a lossAPI) datagrams() (uint64, error) {
	var body struct {
		Exporters []ExporterStats `json:"exporters"`
	}
	if _, err := a.get("/api/v1/flow/exporters", &body); err != nil {
		return 0, err
	}
	for _, e := range body.Exporters {
		if e.Address == lossAgent {
			return e.Datagrams, nil
		}
	}
	return 0, nil
}

// metric sums every series of a counter or gauge in the daemon's /metrics.
func (a lossAPI) metric(name string) (float64, error) {
	text, err := a.get("/metrics", nil)
	if err != nil {
		return 0, err
	}
	var sum float64
	sc := bufio.NewScanner(strings.NewReader(text))
	for sc.Scan() {
		line := sc.Text()
		series, value, ok := strings.Cut(line, " ")
		if !ok || (series != name && !strings.HasPrefix(series, name+"{")) {
			continue
		}
		v, err := strconv.ParseFloat(value, 64)
		if err != nil {
			return 0, fmt.Errorf("metric line %q: %w", line, err)
		}
		sum += v
	}
	return sum, sc.Err()
}

// checkNoDrops fails t when the daemon counted a dropped datagram or flow.
func (a lossAPI) checkNoDrops(t *testing.T) {
	t.Helper()
	for _, name := range []string{"ixpd_flow_dropped_datagrams_total", "ixpd_flow_dropped_flows_total",
		"ixpd_flow_receive_errors_total"} {
		v, err := a.metric(name)
		if err != nil {
			t.Fatal(err)
		}
		if v != 0 {
			t.Errorf("%s = %v, want 0", name, v)
		}
	}
}

// TestNoFlowLostAcrossDaemonRestart runs the real daemon with a DuckDB
// store: it sends flows (A) until the daemon has counted them all in
// GET /api/v1/flow/exporters, keeps sending (B) and sends SIGTERM, starts
// the daemon again on the same files and sends more (C), stops it, and
// reads the DuckDB file. Every flow of A and C must be stored exactly
// once. Of B, what was still in the kernel's socket buffer when the
// listener closed, or sent after, may be lost: since the daemon handles
// one exporter's datagrams in order, the stored datagrams of B must be
// its first ones, each flow once, and at least as many as the API counted
// last before it stopped.
func TestNoFlowLostAcrossDaemonRestart(t *testing.T) {
	if testing.Short() && os.Getenv("CI") != "true" {
		t.Skip("builds and runs the daemon")
	}
	dir := t.TempDir()
	bin := filepath.Join(dir, "ixpd")
	build := exec.Command("go", "build", "-o", bin, "github.com/ixpd/ixpd/cmd/ixpd")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	members, err := os.ReadFile(filepath.Join("..", "..", "deploy", "examples", "members.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "members.json"), members, 0o644); err != nil {
		t.Fatal(err)
	}
	token := "loss-test-token-0123456789"
	sum := sha256.Sum256([]byte(token))
	sflowAddr := net.JoinHostPort("127.0.0.1", strconv.Itoa(lossFreePort(t, "udp")))
	apiPort := lossFreePort(t, "tcp")
	dbPath := filepath.Join(dir, "data", "ixpd.duckdb")
	config := filepath.Join(dir, "ixpd.yaml")
	cfg := fmt.Sprintf(`ixp: {name: LOSS-IX, country: WS, peering_lan: [127.0.0.0/8, "fd00:ffff::/64"]}
members_file: members.json
routeserver: {asn: 64512, router_id: 127.0.0.1, listen: "127.0.0.1:%d", passive: true}
flow:
  sflow_listen: %q
  batch_size: 400
  batch_interval: 100ms
  exporters:
    - {address: %s, role: ixp_switch}
domestic:
  overrides: {"10.0.0.0/8": WS, "192.0.2.0/24": WS}
storage: {driver: duckdb, duckdb_path: %q}
api:
  listen: "127.0.0.1:%d"
  tokens:
    - {name: loss-test, sha256: %s}
`, lossFreePort(t, "tcp"), sflowAddr, lossAgent, dbPath, apiPort, hex.EncodeToString(sum[:]))
	if err := os.WriteFile(config, []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	spoolFiles := func() []string {
		t.Helper()
		files, err := filepath.Glob(filepath.Join(dir, "data", "spool", "batch-*.gob"))
		if err != nil {
			t.Fatal(err)
		}
		return files
	}
	api := lossAPI{base: fmt.Sprintf("http://127.0.0.1:%d", apiPort), token: token}
	logs := newLossLog(t, "ixpd")
	start := time.Now()
	// up starts the daemon and waits for its API, which starts after the
	// flow collector.
	up := func() *lossDaemon {
		d := startLossDaemon(t, bin, config, logs)
		lossWaitFor(t, 60*time.Second, "ixpd API up", func() (bool, string) {
			select {
			case <-d.done:
				t.Fatalf("ixpd exited at start: %v", d.err)
			default:
			}
			_, err := api.datagrams()
			return err == nil, fmt.Sprint(err)
		})
		return d
	}
	sender := newLossSender(t, sflowAddr)
	// sendCounted sends n datagrams to a daemon that has counted none
	// yet, paced by what it counts, and waits until it has counted them
	// all.
	sendCounted := func(n uint32) {
		t.Helper()
		first := sender.sent.Load()
		backlog := func() (int, error) {
			got, err := api.datagrams()
			return int(uint64(sender.sent.Load()-first) - got), err
		}
		if err := sender.run(nil, first+n, backlog); err != nil {
			t.Fatal(err)
		}
		lossWaitFor(t, 30*time.Second, "the daemon counts every datagram", func() (bool, string) {
			got, err := api.datagrams()
			return err == nil && got == uint64(n), fmt.Sprintf("%d of %d counted (%v)", got, n, err)
		})
	}

	// A: flows the daemon counts before the SIGTERM.
	d := up()
	const phaseA, phaseC = 300, 300
	sendCounted(phaseA)
	// B: flows sent without pause while the daemon stops; the sender
	// stops when the daemon has exited or a write fails (the socket is
	// closed: the kernel answers port unreachable).
	sendDone := make(chan error, 1)
	go func() { sendDone <- sender.run(d.done, 0, nil) }()
	lossWaitFor(t, 30*time.Second, "flows counted after the first ones", func() (bool, string) {
		got, err := api.datagrams()
		return err == nil && got >= phaseA+100, fmt.Sprintf("%d counted (%v)", got, err)
	})
	api.checkNoDrops(t)
	// The last count the API gives before it stops is a lower bound of
	// what the daemon handled.
	countedB, err := api.datagrams()
	if err != nil {
		t.Fatal(err)
	}
	if err := d.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	for {
		got, err := api.datagrams()
		if err != nil {
			break
		}
		countedB = max(countedB, got)
	}
	countedB -= phaseA
	d.wait(t)
	sendErr := <-sendDone
	phaseBEnd := sender.sent.Load()
	spooledAtSIGTERM := len(spoolFiles())

	// C: the daemon again, on the same store and spool.
	d = up()
	if got, err := api.datagrams(); err != nil || got != 0 {
		t.Fatalf("a new daemon counts %d datagrams (%v)", got, err)
	}
	sendCounted(phaseC)
	api.checkNoDrops(t)
	if v, err := api.metric("ixpd_flow_spooled_batches_total"); err != nil || v != 0 {
		t.Errorf("ixpd_flow_spooled_batches_total = %v (%v), want 0: the store was always up", v, err)
	}
	d.stop(t)
	// On shutdown the collector writes what it holds, or spools what the
	// store did not take, for the next start to replay (docs/flows.md).
	spooledAtEnd := len(spoolFiles())
	if spooledAtEnd > 0 {
		d = up()
		lossWaitFor(t, 60*time.Second, "the next start replays the spool", func() (bool, string) {
			left, err1 := api.metric("ixpd_flow_spool_batches")
			replayed, err2 := api.metric("ixpd_flow_replayed_batches_total")
			return err1 == nil && err2 == nil && left == 0 && replayed == float64(spooledAtEnd),
				fmt.Sprintf("%v batches in the spool, %v replayed (%v, %v)", left, replayed, err1, err2)
		})
		d.stop(t)
	}

	// Open the file the daemon wrote, now that it has exited.
	store, err := duckdb.New(slog.New(slog.NewTextHandler(logs, nil)), prometheus.NewRegistry(),
		duckdb.Configuration{Path: dbPath})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = store.Close() }()
	flows, err := store.RawFlows(t.Context(), start.Add(-time.Minute), time.Now().Add(time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	byID, foreign := lossCount(flows)
	problems := append(lossExpect(byID, 0, phaseA), foreign...)
	problems = append(problems, lossExpect(byID, phaseBEnd, phaseBEnd+phaseC)...)
	// Among the datagrams of B, the stored ones are the first ones, whole
	// and once, and at least as many as the API counted.
	storedB := uint32(phaseA)
	for storedB < phaseBEnd && byID[storedB*lossPerDatagram+1] > 0 {
		storedB++
	}
	problems = append(problems, lossExpect(byID, phaseA, storedB)...)
	for n := storedB; n < phaseBEnd; n++ {
		for id := n*lossPerDatagram + 1; id <= (n+1)*lossPerDatagram; id++ {
			if byID[id] > 0 {
				problems = append(problems, fmt.Sprintf("flow %d of datagram %d stored after datagram %d was lost", id, n, storedB))
			}
		}
	}
	if uint64(storedB-phaseA) < countedB {
		problems = append(problems, fmt.Sprintf("%d datagrams of phase B stored, the daemon had counted %d", storedB-phaseA, countedB))
	}
	for _, p := range problems {
		t.Error(p)
	}
	want := lossTotals(0, storedB)
	wantC := lossTotals(phaseBEnd, phaseBEnd+phaseC)
	want.Flows, want.Bytes, want.Packets = want.Flows+wantC.Flows, want.Bytes+wantC.Bytes, want.Packets+wantC.Packets
	got, err := store.Totals(t.Context(), analytics.TotalsQuery{From: start.Add(-time.Minute), To: time.Now().Add(time.Minute)})
	if err != nil || got != want {
		t.Errorf("store totals %+v (err %v), want %+v", got, err, want)
	}
	if left := spoolFiles(); len(left) != 0 {
		t.Errorf("spool left with %v", left)
	}
	// Attributed on the way: members by MAC, countries from the overrides.
	if len(flows) > 0 {
		if f := flows[0]; !f.Domestic || !f.IXPExchanged || f.SrcMember != 38800 || f.DstMember != 17993 {
			t.Errorf("flow not attributed: %+v", f)
		}
	}
	// The sender of B stops at the first write that the kernel refuses
	// (the listener is closed and answered port unreachable), or when the
	// daemon has exited.
	refused := 0
	if sendErr != nil {
		if !errors.Is(sendErr, syscall.ECONNREFUSED) {
			t.Errorf("sender in phase B: %v", sendErr)
		}
		refused = lossPerDatagram
	}
	t.Logf("flows sent: %d before the SIGTERM, all counted and stored; %d around it: %d counted by the API before it "+
		"stopped, %d stored, %d not stored (%d of them refused at the sender); %d after the restart, all counted and stored. "+
		"Batches spooled: %d at the SIGTERM, %d at the last stop. Stored %d rows for %d distinct flows.",
		phaseA*lossPerDatagram, (phaseBEnd-phaseA)*lossPerDatagram, countedB*lossPerDatagram, (storedB-phaseA)*lossPerDatagram,
		(phaseBEnd-storedB)*lossPerDatagram, refused, phaseC*lossPerDatagram, spooledAtSIGTERM, spooledAtEnd, len(flows), len(byID))
}
