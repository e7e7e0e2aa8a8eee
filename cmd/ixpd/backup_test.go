package main

import (
	"bufio"
	"cmp"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	gocmp "github.com/google/go-cmp/cmp"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/ixpd/ixpd/analytics"
	"github.com/ixpd/ixpd/analytics/duckdb"
	"github.com/ixpd/ixpd/analytics/storetest"
	"github.com/ixpd/ixpd/flow"
	"github.com/ixpd/ixpd/routeserver/peertest"
)

// The generator of TestBackupUnderLoad sends sFlow datagrams of
// loadSamples samples each, datagram i with input interface
// loadIfBase+i in all its samples: a flow in the store tells which
// datagram it came from. The collector writes batches of whole datagrams
// (batch_size is a multiple of loadSamples), so a copy of the store that
// holds part of a datagram holds part of a batch.
const (
	loadSamples = 8
	loadIfBase  = 1000
	loadBatch   = 25 * loadSamples // flow.batch_size
)

// loadDatagram is datagram i of the generator.
func loadDatagram(i int) []byte {
	samples := goldenBin(goldenStart.Add(time.Duration(i%288) * 5 * time.Minute))
	if len(samples) != loadSamples {
		panic(fmt.Sprintf("goldenBin has %d samples, want %d", len(samples), loadSamples))
	}
	for j := range samples {
		samples[j].inIf, samples[j].outIf = uint32(loadIfBase+i), 2
	}
	return goldenDatagram(goldenAgent, uint32(i), uint32(i), samples)
}

// metricValue reads one sample of the daemon's /metrics.
func metricValue(t *testing.T, api client, name string) float64 {
	t.Helper()
	var text string
	if code := api.get("/metrics", &text); code != 200 {
		t.Fatalf("/metrics: status %d", code)
	}
	sc := bufio.NewScanner(strings.NewReader(text))
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), name+" "); ok {
			f, err := strconv.ParseFloat(v, 64)
			if err != nil {
				t.Fatalf("metric %s: %v", name, err)
			}
			return f
		}
	}
	t.Fatalf("/metrics has no %s", name)
	return 0
}

// TestBackupUnderLoad runs the daemon on DuckDB while a generator sends it
// sFlow without pause, takes `ixpd backup` through the daemon's API while
// the flows are being written, restores the copy with `ixpd restore` into
// a new data folder, and checks it: it holds whole batches only, exactly
// the first ones the daemon wrote (at least those written before the
// backup began, at most those written before it ended), its raw flows equal
// the original store's for those batches, its rollups sum to its raw
// flows, and a daemon started on it answers the API with the figures of
// those flows. `ixpd restore` refuses while the daemon holds the store.
func TestBackupUnderLoad(t *testing.T) {
	if testing.Short() && os.Getenv("CI") != "true" {
		t.Skip("integration test; -short")
	}
	bin := daemonBinary(t)
	ports := freePorts(t, 3)
	bgpPort, apiPort, sflowPort := ports[0], ports[1], ports[2]
	token := "backup-token-0123456789"
	config := func(dir string) string {
		t.Helper()
		if err := os.WriteFile(filepath.Join(dir, "members.json"), []byte(goldenMembersFile(false)), 0o644); err != nil {
			t.Fatal(err)
		}
		cfg := fmt.Sprintf(`ixp: {name: LOAD-IX, country: WS, peering_lan: [127.0.0.0/8]}
members_file: members.json
routeserver:
  asn: 64512
  router_id: 127.0.0.1
  listen: 127.0.0.1:%d
  peer_port: %d
flow:
  sflow_listen: 127.0.0.1:%d
  batch_size: %d
  batch_interval: 50ms
  exporters:
    - {address: %s, role: ixp_switch}
storage:
  driver: duckdb
  duckdb_path: data/ixpd.duckdb
  retention: {raw: 43800h, rollup: 43800h}
api:
  listen: 127.0.0.1:%d
  tokens:
%s
`, bgpPort, bgpPort, sflowPort, loadBatch, goldenAgent, apiPort, tokenEntry(token))
		path := filepath.Join(dir, "ixpd.yaml")
		if err := os.WriteFile(path, []byte(cfg), 0o644); err != nil {
			t.Fatal(err)
		}
		return path
	}
	ixpd := func(args ...string) (string, error) {
		cmd := exec.Command(bin, args...)
		cmd.Env = append(os.Environ(), "IXPD_TOKEN="+token)
		out, err := cmd.CombinedOutput()
		return string(out), err
	}
	api := client{t: t, base: fmt.Sprintf("http://127.0.0.1:%d", apiPort), token: token}
	waitUp := func() {
		peertest.WaitFor(t, 30*time.Second, "API up", func() (bool, string) {
			var s string
			code := api.get("/healthz", &s)
			return code == 200, fmt.Sprintf("status %d", code)
		})
	}
	written := func() float64 { return metricValue(t, api, "ixpd_flow_written_flows_total") }

	origDir := t.TempDir()
	origConfig := config(origDir)
	start := analytics.Bin(time.Now())
	d := startDaemon(t, bin, origConfig)
	waitUp()

	// The generator: a datagram every 2 ms from the switch's address.
	conn, err := net.DialUDP("udp", &net.UDPAddr{IP: net.ParseIP(goldenAgent)}, &net.UDPAddr{IP: net.ParseIP("127.0.0.1"), Port: sflowPort})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = conn.Close() }()
	stop := make(chan struct{})
	var wg sync.WaitGroup
	var sent int
	var sendErr error
	wg.Go(func() {
		tick := time.NewTicker(2 * time.Millisecond)
		defer tick.Stop()
		for ; ; sent++ {
			select {
			case <-stop:
				return
			case <-tick.C:
			}
			if _, err := conn.Write(loadDatagram(sent)); err != nil {
				sendErr = err
				return
			}
		}
	})
	stopLoad := sync.OnceFunc(func() {
		close(stop)
		wg.Wait()
	})
	defer stopLoad()

	peertest.WaitFor(t, 30*time.Second, "flows written", func() (bool, string) {
		n := written()
		return n >= 20*loadBatch, fmt.Sprintf("%v flows written", n)
	})
	backupFile := filepath.Join(t.TempDir(), "ixpd-backup.duckdb")
	before := written()
	out, err := ixpd("backup", "-config", origConfig, "-o", backupFile)
	after := written()
	if err != nil {
		t.Fatalf("ixpd backup: %v\n%s", err, out)
	}
	t.Logf("ixpd backup: %s(%v flows written before it began, %v after it ended)", out, before, after)
	if !strings.Contains(out, "from the running ixpd") {
		t.Errorf("ixpd backup did not ask the running ixpd: %s", out)
	}
	if after <= before {
		t.Errorf("no flows written while the backup ran (%v before, %v after): the load did not go on", before, after)
	}
	if fi, err := os.Stat(backupFile); err != nil {
		t.Fatal(err)
	} else if fi.Mode().Perm() != 0o600 {
		t.Errorf("backup file mode %v, want 0600", fi.Mode())
	}

	// The daemon holds the store: restore refuses.
	out, err = ixpd("restore", "-config", origConfig, backupFile)
	if err == nil || !strings.Contains(out, "stop ixpd first") {
		t.Errorf("ixpd restore while ixpd runs: %v, %s; want a refusal that says to stop ixpd first", err, out)
	}

	// More load after the backup, then a clean stop: the original store
	// holds everything the daemon received.
	peertest.WaitFor(t, 30*time.Second, "flows written after the backup", func() (bool, string) {
		n := written()
		return n >= after+5*loadBatch, fmt.Sprintf("%v flows written", n)
	})
	stopLoad()
	if sendErr != nil {
		t.Fatalf("generator: %v", sendErr)
	}
	d.stop(t)

	// Restore into a new data folder.
	restoredDir := t.TempDir()
	restoredConfig := config(restoredDir)
	out, err = ixpd("restore", "-config", restoredConfig, backupFile)
	if err != nil {
		t.Fatalf("ixpd restore: %v\n%s", err, out)
	}
	t.Logf("ixpd restore: %s", out)
	if want := fmt.Sprintf("(schema version %d) into %s", duckdb.SchemaVersion(), filepath.Join(restoredDir, "data", "ixpd.duckdb")); !strings.Contains(out, want) {
		t.Errorf("ixpd restore said %q, want it to contain %q", out, want)
	}

	orig := readRawFlows(t, filepath.Join(origDir, "data", "ixpd.duckdb"))
	restoredPath := filepath.Join(restoredDir, "data", "ixpd.duckdb")
	restored := readRawFlows(t, restoredPath)
	t.Logf("generator sent %d datagrams; the original store has %d flows, the backup %d", sent, len(orig), len(restored))

	// Whole datagrams, so whole batches; the first ones written.
	datagrams := func(flows []flow.Flow) map[uint32]int {
		m := map[uint32]int{}
		for _, f := range flows {
			m[f.InIf]++
		}
		return m
	}
	origD, restD := datagrams(orig), datagrams(restored)
	var last uint32
	for i, n := range restD {
		if n != loadSamples {
			t.Errorf("datagram %d: %d flows in the backup, want %d (a batch cut in two)", i-loadIfBase, n, loadSamples)
		}
		last = max(last, i)
	}
	var want []flow.Flow
	for _, f := range orig {
		if f.InIf <= last {
			want = append(want, f)
		}
	}
	if missing := len(want) - len(restored); missing != 0 {
		t.Errorf("the backup lacks %d flows of datagrams the original store wrote before its last one", missing)
	}
	if n := float64(len(restored)); n < before || n > after {
		t.Errorf("the backup holds %v flows, want between %v (written before it began) and %v (after it ended)", n, before, after)
	}
	if len(restD) >= len(origD) {
		t.Errorf("the backup holds all %d datagrams of the original store: nothing was written after it", len(origD))
	}
	// A datagram's samples have one receive time: order them by their
	// MAC addresses, which differ.
	order := func(a, b flow.Flow) int {
		return cmp.Or(cmp.Compare(a.InIf, b.InIf), cmp.Compare(a.SrcMAC, b.SrcMAC), cmp.Compare(a.DstMAC, b.DstMAC))
	}
	slices.SortFunc(want, order)
	slices.SortFunc(restored, order)
	if diff := gocmp.Diff(restored, want, gocmp.Comparer(func(a, b netip.Addr) bool { return a == b })); diff != "" {
		t.Errorf("the backup's raw flows are not the original store's of the same datagrams (-backup +original):\n%s", diff)
	}

	// The restored store's rollups are its raw flows, summed.
	s := openStore(t, restoredPath)
	from, to := start.Add(-time.Hour), time.Now().Add(time.Hour)
	storetest.CheckTotals(t, s, want, analytics.TotalsQuery{From: from, To: to})
	storetest.CheckSeries(t, s, want, analytics.SeriesQuery{From: from, To: to, Step: analytics.BinSize, GroupBy: analytics.GroupPair})
	storetest.CheckSeries(t, s, want, analytics.SeriesQuery{From: from, To: to, Step: analytics.BinSize, GroupBy: analytics.GroupPair, IXPExchanged: true})
	// And the bins that ended before the first flow it does not have are
	// the original store's.
	cutoff := to
	for _, f := range orig {
		if f.InIf > last && f.TimeReceived.Before(cutoff) {
			cutoff = f.TimeReceived
		}
	}
	o := openStore(t, filepath.Join(origDir, "data", "ixpd.duckdb"))
	q := analytics.SeriesQuery{From: from, To: analytics.Bin(cutoff), Step: analytics.BinSize, GroupBy: analytics.GroupPair}
	origBins, err := o.Series(t.Context(), q)
	if err != nil {
		t.Fatal(err)
	}
	restoredBins, err := s.Series(t.Context(), q)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%d points of bins before %s, the bin of the first flow after the backup", len(origBins), analytics.Bin(cutoff).Format(time.TimeOnly))
	if diff := gocmp.Diff(restoredBins, origBins); diff != "" {
		t.Errorf("bins before the backup: restored store (-) and original (+):\n%s", diff)
	}
	if err := errors.Join(s.Close(), o.Close()); err != nil {
		t.Fatal(err)
	}

	// A daemon on the restored store answers with those flows' figures.
	startDaemon(t, bin, restoredConfig)
	waitUp()
	matrix := map[[2]uint32]uint64{}
	var volume uint64
	for _, f := range want {
		if f.IXPExchanged {
			matrix[[2]uint32{f.SrcMember, f.DstMember}] += f.Bytes
			volume += f.Bytes
		}
	}
	rng := fmt.Sprintf("from=%s&to=%s", from.UTC().Format(time.RFC3339), to.UTC().Format(time.RFC3339))
	var mx struct {
		Pairs []struct {
			Src   uint32 `json:"src_asn"`
			Dst   uint32 `json:"dst_asn"`
			Bytes uint64 `json:"bytes"`
		} `json:"pairs"`
	}
	if code := api.get("/api/v1/traffic/matrix?"+rng, &mx); code != 200 {
		t.Fatalf("matrix: status %d", code)
	}
	got := map[[2]uint32]uint64{}
	for _, p := range mx.Pairs {
		got[[2]uint32{p.Src, p.Dst}] = p.Bytes
	}
	if diff := gocmp.Diff(got, matrix); diff != "" || len(matrix) != goldenPerPairs {
		t.Errorf("restored daemon's matrix (-got +want, %d pairs):\n%s", len(matrix), diff)
	}
	var sum struct {
		VolumeBytes uint64 `json:"volume_bytes"`
	}
	if code := api.get("/api/v1/traffic/summary?"+rng, &sum); code != 200 {
		t.Fatalf("summary: status %d", code)
	}
	if sum.VolumeBytes != volume {
		t.Errorf("restored daemon's volume %d bytes, want %d", sum.VolumeBytes, volume)
	}
}

// openStore opens the DuckDB file at path, which no process holds.
func openStore(t *testing.T, path string) *duckdb.Store {
	t.Helper()
	s, err := duckdb.New(slog.New(slog.DiscardHandler), prometheus.NewRegistry(), duckdb.Configuration{Path: path})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// readRawFlows reads every raw flow of the DuckDB file at path, which no
// process holds.
func readRawFlows(t *testing.T, path string) []flow.Flow {
	t.Helper()
	s := openStore(t, path)
	defer func() { _ = s.Close() }()
	flows, err := s.RawFlows(t.Context(), time.Unix(0, 0), time.Now().Add(24*time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	return flows
}
