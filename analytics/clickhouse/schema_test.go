package clickhouse

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"slices"
	"syscall"
	"testing"
	"time"

	chgo "github.com/ClickHouse/clickhouse-go/v2"
	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
	"github.com/google/go-cmp/cmp"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/ixpd/ixpd/analytics/clickhouse/chtest"
	"github.com/ixpd/ixpd/flow"
)

func TestParseVersion(t *testing.T) {
	for _, tc := range []struct {
		in      string
		want    serverVersion
		wantErr bool
	}{
		{in: "18.16.1", want: serverVersion{18, 16, 1}},
		{in: "24.8.4.13", want: serverVersion{24, 8, 4}},
		{in: "19.3", want: serverVersion{19, 3, 0}},
		{in: " 25.10.1.3832\n", want: serverVersion{25, 10, 1}},
		{in: "", wantErr: true},
		{in: "19", wantErr: true},
		{in: "v19.3.1", wantErr: true},
	} {
		t.Run(tc.in, func(t *testing.T) {
			got, err := parseVersion(tc.in)
			if (err != nil) != tc.wantErr {
				t.Fatalf("parseVersion(%q) error = %v, want error %t", tc.in, err, tc.wantErr)
			}
			if got != tc.want {
				t.Errorf("parseVersion(%q) = %v, want %v", tc.in, got, tc.want)
			}
		})
	}
}

func TestVersionGates(t *testing.T) {
	gate := serverVersion{19, 3, 0}
	for _, tc := range []struct {
		v    serverVersion
		want bool
	}{
		{serverVersion{18, 16, 1}, false},
		{serverVersion{19, 1, 14}, false},
		{serverVersion{19, 3, 0}, true},
		{serverVersion{19, 3, 9}, true},
		{serverVersion{20, 1, 0}, true},
		{serverVersion{25, 8, 1}, true},
	} {
		if got := tc.v.atLeast(gate); got != tc.want {
			t.Errorf("%s.atLeast(%s) = %t, want %t", tc.v, gate, got, tc.want)
		}
	}
	// The versions must be unique and in order; a baseline migration has no gate.
	for i, m := range migrations {
		if m.version != uint32(i+1) {
			t.Errorf("migration %d has version %d, want %d", i, m.version, i+1)
		}
	}
	for _, v := range []uint32{1, 2, 4, 5} {
		if m := migrations[v-1]; m.minServer != (serverVersion{}) {
			t.Errorf("baseline migration %d has a gate %s", v, m.minServer)
		}
	}
}

// TestGatedMigration applies the LowCardinality migration and checks that
// the store still writes and reads. On 18.16 it runs the migration's DDL
// with the experimental setting that allows the type there.
func TestGatedMigration(t *testing.T) {
	srv := chtest.Shared(t)
	cfg := DefaultConfiguration()
	cfg.Addr = srv.Addr
	cfg.Database = srv.NewDatabase(t)
	s, err := New(slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelWarn})),
		prometheus.NewRegistry(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = s.Close() }()
	ctx := t.Context()
	if err := s.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	gate := serverVersion{19, 3, 0}
	if !s.version.atLeast(gate) {
		if got, want := pending(t, s, s.conn), []uint32{3}; !slices.Equal(got, want) {
			t.Fatalf("pending migrations on %s: %v, want %v", s.version, got, want)
		}
		expCtx := chgo.Context(ctx, chgo.WithSettings(chgo.Settings{"allow_experimental_low_cardinality_type": 1}))
		if err := s.migrate(expCtx, &gate); err != nil {
			t.Fatalf("migrate as %s: %v", gate, err)
		}
	}
	if got := pending(t, s, s.conn); len(got) != 0 {
		t.Errorf("pending migrations: %v, want none", got)
	}
	for _, col := range []string{"src_country", "dst_country"} {
		var typ string
		err := s.conn.QueryRow(ctx, "SELECT type FROM system.columns WHERE database = ? AND table = 'flows' AND name = ?",
			cfg.Database, col).Scan(&typ)
		if err != nil {
			t.Fatal(err)
		}
		if typ != "LowCardinality(String)" {
			t.Errorf("column %s has type %s, want LowCardinality(String)", col, typ)
		}
	}

	at := time.Date(2024, time.March, 10, 21, 0, 0, 0, time.UTC)
	flows := []flow.Flow{
		{TimeReceived: at, SrcCountry: "SI", DstCountry: "AT", Bytes: 100, Packets: 1, EType: 0x0800,
			Exporter: netip.MustParseAddr("192.0.2.1"), SrcAddr: netip.MustParseAddr("198.51.100.1")},
		{TimeReceived: at.Add(time.Second), SrcCountry: "", DstCountry: "SI", Bytes: 200, Packets: 2},
	}
	if err := s.WriteFlows(ctx, flows); err != nil {
		t.Fatal(err)
	}
	got, err := s.RawFlows(ctx, at, at.Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(got, flows, cmp.Comparer(func(a, b netip.Addr) bool { return a == b })); diff != "" {
		t.Errorf("RawFlows() (-got +want):\n%s", diff)
	}
}

// pending lists the migrations not applied on the server of conn.
// TestGatedMigrationCluster applies the LowCardinality migration in a
// cluster: the local and the Distributed flows tables of every server
// change, and flows still go through them both ways.
func TestGatedMigrationCluster(t *testing.T) {
	c := chtest.SharedCluster(t)
	cfg := DefaultConfiguration()
	cfg.Addr = c.Servers[1].Addr
	cfg.Database = c.NewDatabase(t)
	cfg.Cluster, cfg.Shards = c.Name, c.Addrs()
	s, err := New(slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelWarn})),
		prometheus.NewRegistry(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = s.Close() }()
	ctx := t.Context()
	if err := s.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	gate := serverVersion{19, 3, 0}
	if !s.version.atLeast(gate) {
		for _, n := range s.nodes {
			if got, want := pending(t, s, n.conn), []uint32{3}; !slices.Equal(got, want) {
				t.Fatalf("server %s: pending migrations on %s: %v, want %v", n.addr, s.version, got, want)
			}
		}
		expCtx := chgo.Context(ctx, chgo.WithSettings(chgo.Settings{"allow_experimental_low_cardinality_type": 1}))
		if err := s.migrate(expCtx, &gate); err != nil {
			t.Fatalf("migrate as %s: %v", gate, err)
		}
	}
	for _, n := range s.nodes {
		if got := pending(t, s, n.conn); len(got) != 0 {
			t.Errorf("server %s: pending migrations: %v, want none", n.addr, got)
		}
		for _, table := range []string{"flows", "flows_local"} {
			for _, col := range []string{"src_country", "dst_country"} {
				var typ string
				err := n.conn.QueryRow(ctx, "SELECT type FROM system.columns WHERE database = ? AND table = ? AND name = ?",
					cfg.Database, table, col).Scan(&typ)
				if err != nil {
					t.Fatal(err)
				}
				if typ != "LowCardinality(String)" {
					t.Errorf("server %s: column %s.%s has type %s, want LowCardinality(String)", n.addr, table, col, typ)
				}
			}
		}
	}

	at := time.Date(2024, time.March, 10, 21, 0, 0, 0, time.UTC)
	var flows []flow.Flow
	for i, country := range []string{"SI", "AT", "", "DE", "HR", "SI", "IT", "HU"} {
		flows = append(flows, flow.Flow{TimeReceived: at.Add(time.Duration(i) * time.Second), SrcCountry: country, DstCountry: "SI",
			Bytes: 100, Packets: 1, EType: 0x0800, SrcMember: uint32(64500 + i), DstMember: 64499,
			Exporter: netip.MustParseAddr("192.0.2.1"), SrcAddr: netip.MustParseAddr("198.51.100.1")})
	}
	if err := s.WriteFlows(ctx, flows); err != nil {
		t.Fatal(err)
	}
	for _, n := range s.nodes {
		var rows uint64
		if err := n.conn.QueryRow(ctx, "SELECT count() FROM "+cfg.Database+".flows_local").Scan(&rows); err != nil {
			t.Fatal(err)
		}
		if rows == 0 {
			t.Errorf("server %s: no flows in its shard, want some on each", n.addr)
		}
	}
	got, err := s.RawFlows(ctx, at, at.Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(got, flows, cmp.Comparer(func(a, b netip.Addr) bool { return a == b })); diff != "" {
		t.Errorf("RawFlows() (-got +want):\n%s", diff)
	}
}

func pending(t *testing.T, s *Store, conn driver.Conn) []uint32 {
	t.Helper()
	applied, err := s.appliedMigrations(t.Context(), conn)
	if err != nil {
		t.Fatal(err)
	}
	var p []uint32
	for _, m := range migrations {
		if !applied[m.version] {
			p = append(p, m.version)
		}
	}
	return p
}

func TestUnavailableClassification(t *testing.T) {
	for _, tc := range []struct {
		name string
		err  error
		want bool
	}{
		{"nil", nil, false},
		{"closed store", errClosed, true},
		{"driver closed", chgo.ErrConnectionClosed, true},
		{"pool exhausted", chgo.ErrAcquireConnTimeout, true},
		{"refused", fmt.Errorf("prepare batch: %w", &net.OpError{Op: "dial", Net: "tcp", Err: syscall.ECONNREFUSED}), true},
		{"reset", fmt.Errorf("send: %w", syscall.ECONNRESET), true},
		{"eof", fmt.Errorf("read: %w", io.EOF), true},
		{"deadline", fmt.Errorf("query: %w", context.DeadlineExceeded), true},
		{"cancelled", context.Canceled, false},
		{"syntax error", &chgo.Exception{Code: 62, Message: "Syntax error"}, false},
		{"unknown table", &chgo.Exception{Code: 60, Message: "Table doesn't exist"}, false},
		{"too many parts", &chgo.Exception{Code: 252, Message: "Too many parts"}, true},
		{"memory", &chgo.Exception{Code: 241, Message: "Memory limit exceeded"}, true},
		{"bad data", errors.New("flow 3 of 10: destination country \"XYZ\" is not an ISO 3166-1 alpha-2 code"), false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := unavailable(tc.err); got != tc.want {
				t.Errorf("unavailable(%v) = %t, want %t", tc.err, got, tc.want)
			}
		})
	}
}
