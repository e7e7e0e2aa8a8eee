package collector

import (
	"context"
	"io"
	"log/slog"
	"net"
	"path/filepath"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/ixpd/ixpd/analytics"
	"github.com/ixpd/ixpd/analytics/duckdb"
)

// The totals of the captures, computed with tshark from the sFlow flow
// samples (sampling rate × frame length):
//
//	tshark -r FILE -T fields -e sflow.flow_sample.sampling_rate -e sflow_245.header.frame_length
var captureTotals = map[string]analytics.Totals{
	"akvorado-sflow/data-1140.pcap": {Flows: 5, Bytes: 5178368, Packets: 5 * 1024},
}

func newTestStore(t *testing.T) analytics.Store {
	t.Helper()
	s, err := duckdb.New(slog.New(slog.NewTextHandler(io.Discard, nil)), prometheus.NewRegistry(),
		duckdb.Configuration{Path: filepath.Join(t.TempDir(), "flows.duckdb")})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Migrate(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

func testConfig(t *testing.T, sflow, netflow string) Configuration {
	cfg := DefaultConfiguration()
	cfg.SFlowListen, cfg.NetFlowListen = sflow, netflow
	cfg.SpoolDir = filepath.Join(t.TempDir(), "spool")
	cfg.BatchInterval = 50 * time.Millisecond
	return cfg
}

func freeUDP(t *testing.T) string {
	t.Helper()
	c, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = c.Close() }()
	return c.LocalAddr().String()
}

func totals(t *testing.T, s analytics.Store) analytics.Totals {
	t.Helper()
	got, err := s.Totals(context.Background(), analytics.TotalsQuery{From: time.Unix(0, 0), To: time.Now().Add(24 * time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	return got
}

func TestReplayStoresCaptureTotals(t *testing.T) {
	dir := sharedData(t, "flows")
	store := newTestStore(t)
	c, err := New(slog.New(slog.NewTextHandler(io.Discard, nil)), prometheus.NewRegistry(), testConfig(t, "127.0.0.1:6343", "127.0.0.1:2055"),
		Dependencies{Writer: store})
	if err != nil {
		t.Fatal(err)
	}
	sum, err := c.Replay(context.Background(), []string{filepath.Join(dir, "akvorado-sflow/data-1140.pcap")})
	if err != nil {
		t.Fatal(err)
	}
	if sum.Packets != 1 || sum.Flows != 5 {
		t.Errorf("summary %s", sum)
	}
	if got, want := totals(t, store), captureTotals["akvorado-sflow/data-1140.pcap"]; got != want {
		t.Errorf("stored %+v, want %+v", got, want)
	}
	// The capture's time, not the replay's.
	capTime := time.Date(2022, 9, 9, 0, 0, 0, 0, time.UTC)
	got, err := store.Totals(context.Background(), analytics.TotalsQuery{From: capTime, To: capTime.Add(24 * time.Hour)})
	if err != nil || got.Flows != 5 {
		t.Errorf("flows on the capture's day: %+v %v", got, err)
	}
}

func TestLiveCollectorSurvivesGarbage(t *testing.T) {
	dir := sharedData(t, "flows")
	store := newTestStore(t)
	addr := freeUDP(t)
	c, err := New(slog.New(slog.NewTextHandler(io.Discard, nil)), prometheus.NewRegistry(), testConfig(t, addr, ""),
		Dependencies{Writer: store})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if err := c.Start(ctx); err != nil {
		t.Fatal(err)
	}
	var payloads [][]byte
	if _, err := readCapture(filepath.Join(dir, "akvorado-sflow/data-1140.pcap"), func(d capturedDatagram) error {
		payloads = append(payloads, d.payload)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	conn, err := net.Dial("udp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = conn.Close() }()
	for _, p := range [][]byte{{0, 0, 0, 5, 1, 2}, []byte("garbage"), payloads[0][:40], payloads[0]} {
		if _, err := conn.Write(p); err != nil {
			t.Fatal(err)
		}
	}
	want := captureTotals["akvorado-sflow/data-1140.pcap"]
	deadline := time.Now().Add(20 * time.Second)
	for totals(t, store) != want {
		if time.Now().After(deadline) {
			t.Fatalf("stored %+v, want %+v", totals(t, store), want)
		}
		time.Sleep(50 * time.Millisecond)
	}
	es, _ := c.Exporters(ctx)
	var errs, datagrams uint64
	for _, e := range es {
		errs += e.Errors
		datagrams += e.Datagrams
	}
	if datagrams != 4 || errs != 3 {
		t.Errorf("exporters %+v: want 4 datagrams, 3 with errors", es)
	}
	if err := c.Stop(ctx); err != nil {
		t.Fatal(err)
	}
}
