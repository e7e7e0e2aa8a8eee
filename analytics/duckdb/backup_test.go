package duckdb

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/ixpd/ixpd/analytics"
	"github.com/ixpd/ixpd/analytics/storetest"
	"github.com/ixpd/ixpd/flow"
)

var (
	backupFrom = time.Date(2000, time.January, 1, 0, 0, 0, 0, time.UTC)
	backupTo   = time.Date(2100, time.January, 1, 0, 0, 0, 0, time.UTC)
	backupBase = time.Date(2024, time.March, 10, 21, 0, 0, 0, time.UTC)
)

// backupBatch is batch i of the writer of TestBackupWhileWriting: its
// flows all carry i+1 as their input interface, so that a copy tells which
// batches it holds and whether it holds all of each.
func backupBatch(i int) []flow.Flow {
	flows := storetest.GenerateFlows(uint64(500+i), backupBatchSize, backupBase, 3*time.Hour)
	for j := range flows {
		flows[j].InIf = uint32(i + 1)
	}
	return flows
}

const backupBatchSize = 2000

// backupLatency is latency batch i: every bin of the same targets and
// times, all with i+1 probes sent, so that a copy with bins of two batches
// shows it.
func backupLatency(i int) []analytics.LatencyBin {
	bins := storetest.GenerateLatency(7, storetest.LatencyTargets, backupBase, 48)
	for j := range bins {
		bins[j].Sent = uint32(i + 1)
	}
	return bins
}

// TestBackupWhileWriting takes backups while a writer stores batches of
// flows and rewrites latency bins, and checks each copy: it holds whole
// batches only, the first ones written, at least those written before the
// backup began; its raw flows and rollups agree; all its latency bins come
// from one batch. Writes must go on during the copies. At the end, with
// the writer stopped, a copy answers every query as the store does.
func TestBackupWhileWriting(t *testing.T) {
	ctx := t.Context()
	dir := t.TempDir()
	s := newStore(t, filepath.Join(dir, "ixpd.duckdb"))
	defer func() { _ = s.Close() }()
	if err := s.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	snaps := storetest.GenerateSessions(3, storetest.SessionAddresses, backupBase, time.Hour, 12)
	if err := s.WriteSessions(ctx, snaps); err != nil {
		t.Fatal(err)
	}

	var committed atomic.Int64 // flow batches stored
	stop, started, done := make(chan struct{}), make(chan struct{}), make(chan struct{})
	var wg sync.WaitGroup
	var writeErr error
	wg.Go(func() {
		defer close(done)
		for i := 0; ; i++ {
			if i == 2 {
				close(started)
			}
			select {
			case <-stop:
				return
			default:
			}
			if err := s.WriteFlows(ctx, backupBatch(i)); err != nil {
				writeErr = fmt.Errorf("flow batch %d: %w", i, err)
				return
			}
			committed.Add(1)
			if err := s.WriteLatency(ctx, backupLatency(i)); err != nil {
				writeErr = fmt.Errorf("latency batch %d: %w", i, err)
				return
			}
		}
	})
	select {
	case <-started:
	case <-done:
		t.Fatal(writeErr)
	}

	const backups = 5
	var during int // backups during which batches were stored
	for k := range backups {
		path := filepath.Join(dir, fmt.Sprintf("backup-%d.duckdb", k))
		before := committed.Load()
		if err := s.Backup(ctx, path); err != nil {
			close(stop)
			wg.Wait()
			t.Fatalf("Backup() #%d error: %v", k, err)
		}
		after := committed.Load()
		if after > before {
			during++
		}
		n := checkBackupBatches(t, path)
		t.Logf("backup %d: %d flow batches stored before it began, %d after it ended; the copy has %d", k, before, after, n)
		// The batch in flight when the writer was last counted may be
		// in the copy without being counted yet.
		if int64(n) < before || int64(n) > after+1 {
			t.Errorf("backup %d holds %d batches, want between %d and %d", k, n, before, after+1)
		}
	}
	close(stop)
	wg.Wait()
	if writeErr != nil {
		t.Fatal(writeErr)
	}
	if during == 0 {
		t.Errorf("no batch was stored while any of %d backups ran: Backup holds the writers back", backups)
	}

	// At rest, the copy answers as the store does.
	path := filepath.Join(dir, "backup-final.duckdb")
	if err := s.Backup(ctx, path); err != nil {
		t.Fatal(err)
	}
	b := newStore(t, path)
	defer func() { _ = b.Close() }()
	if err := b.Migrate(ctx); err != nil {
		t.Fatalf("Migrate() on the copy: %v", err)
	}
	sameAnswers(t, s, b)
	if got, want := schemaVersion(t, b), len(migrations); got != want {
		t.Errorf("copy's schema version %d, want %d", got, want)
	}
}

// checkBackupBatches checks a copy taken by TestBackupWhileWriting and
// returns the number of flow batches it holds.
func checkBackupBatches(t *testing.T, path string) int {
	t.Helper()
	ctx := t.Context()
	b := newStore(t, path)
	defer func() { _ = b.Close() }()
	raw, err := b.RawFlows(ctx, backupFrom, backupTo)
	if err != nil {
		t.Fatalf("RawFlows() of %s: %v", path, err)
	}
	perBatch := map[uint32]int{}
	for _, f := range raw {
		perBatch[f.InIf]++
	}
	n := len(perBatch)
	var want []flow.Flow
	for i := range n {
		if c := perBatch[uint32(i+1)]; c != backupBatchSize {
			t.Errorf("%s: batch %d has %d flows, want %d (batches: %v)", path, i, c, backupBatchSize, perBatch)
		}
		want = append(want, backupBatch(i)...)
	}
	// The rollups hold exactly the raw flows' batches.
	storetest.CheckTotals(t, b, want, analytics.TotalsQuery{From: backupFrom, To: backupTo})
	storetest.CheckSeries(t, b, want, analytics.SeriesQuery{From: backupFrom, To: backupTo,
		Step: analytics.BinSize, GroupBy: analytics.GroupPair})
	bins, err := b.Latency(ctx, analytics.LatencyQuery{From: backupFrom, To: backupTo})
	if err != nil {
		t.Fatal(err)
	}
	sent := map[uint32]int{}
	for _, bin := range bins {
		sent[bin.Sent]++
	}
	if len(sent) > 1 || (len(bins) != 0 && len(bins) != len(backupLatency(0))) {
		t.Errorf("%s: %d latency bins from batches (sent: bins) %v, want those of one batch", path, len(bins), sent)
	}
	return n
}

// sameAnswers fails t unless b answers every query as s does.
func sameAnswers(t *testing.T, s, b analytics.Store) {
	t.Helper()
	ctx := t.Context()
	for _, q := range []analytics.TotalsQuery{
		{From: backupFrom, To: backupTo},
		{From: backupBase, To: backupBase.Add(time.Hour)},
		{From: backupFrom, To: backupTo, Exporter: storetest.ExporterSwitch.String()},
	} {
		want, err := s.Totals(ctx, q)
		if err != nil {
			t.Fatal(err)
		}
		got, err := b.Totals(ctx, q)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(got, want); diff != "" {
			t.Errorf("Totals(%+v) of the copy (-copy +store):\n%s", q, diff)
		}
	}
	for _, g := range []analytics.GroupBy{analytics.GroupNone, analytics.GroupMember, analytics.GroupPair, analytics.GroupFamily} {
		for _, step := range []time.Duration{analytics.BinSize, time.Hour} {
			q := analytics.SeriesQuery{From: backupFrom, To: backupTo, Step: step, GroupBy: g}
			want, err := s.Series(ctx, q)
			if err != nil {
				t.Fatal(err)
			}
			got, err := b.Series(ctx, q)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(got, want); diff != "" {
				t.Errorf("Series(%s, %s) of the copy (-copy +store):\n%s", g, step, diff)
			}
		}
	}
	wantBins, err := s.Latency(ctx, analytics.LatencyQuery{From: backupFrom, To: backupTo})
	if err != nil {
		t.Fatal(err)
	}
	gotBins, err := b.Latency(ctx, analytics.LatencyQuery{From: backupFrom, To: backupTo})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(gotBins, wantBins); diff != "" {
		t.Errorf("Latency() of the copy (-copy +store):\n%s", diff)
	}
	wantSnaps, err := s.Sessions(ctx, analytics.SessionQuery{From: backupFrom, To: backupTo})
	if err != nil {
		t.Fatal(err)
	}
	gotSnaps, err := b.Sessions(ctx, analytics.SessionQuery{From: backupFrom, To: backupTo})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(gotSnaps, wantSnaps); diff != "" {
		t.Errorf("Sessions() of the copy (-copy +store):\n%s", diff)
	}
}

// schemaVersion reads the version a store's database records.
func schemaVersion(t *testing.T, s *Store) int {
	t.Helper()
	db, err := s.database()
	if err != nil {
		t.Fatal(err)
	}
	var v int
	if err := db.QueryRowContext(t.Context(), `SELECT coalesce(max(version), 0) FROM schema_migrations`).Scan(&v); err != nil {
		t.Fatal(err)
	}
	return v
}

func testLogger(t *testing.T) *slog.Logger {
	return slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelWarn}))
}

func TestBackupRefusesExistingFile(t *testing.T) {
	s := newStore(t, memoryPath)
	defer func() { _ = s.Close() }()
	if err := s.Migrate(t.Context()); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "there.duckdb")
	if err := os.WriteFile(path, []byte("keep me"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := s.Backup(t.Context(), path); !errors.Is(err, os.ErrExist) {
		t.Errorf("Backup() over a file error = %v, want one wrapping os.ErrExist", err)
	}
	if b, _ := os.ReadFile(path); string(b) != "keep me" {
		t.Errorf("Backup() changed the file it refused: %q", b)
	}
	// The failed backup left nothing attached: the next one works.
	if err := s.Backup(t.Context(), path+".2"); err != nil {
		t.Errorf("Backup() after a refused one: %v", err)
	}
}

func TestCheckBackup(t *testing.T) {
	ctx := t.Context()
	dir := t.TempDir()
	write := func(name string, data []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, data, 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	// A DuckDB database that is not ixpd's.
	other := filepath.Join(dir, "other.duckdb")
	o := newStore(t, other)
	db, err := o.database()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.ExecContext(ctx, `CREATE TABLE t (i INTEGER)`); err != nil {
		t.Fatal(err)
	}
	if err := o.Close(); err != nil {
		t.Fatal(err)
	}
	// One from a newer ixpd.
	newer := filepath.Join(dir, "newer.duckdb")
	n := newStore(t, newer)
	if err := n.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	db, err = n.database()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.ExecContext(ctx, `INSERT INTO schema_migrations VALUES (99, 'future', now()::TIMESTAMP)`); err != nil {
		t.Fatal(err)
	}
	if err := n.Close(); err != nil {
		t.Fatal(err)
	}
	// Ones at each version.
	version := func(v int) string {
		p := filepath.Join(dir, fmt.Sprintf("v%d.duckdb", v))
		s := newStore(t, p)
		if err := s.migrateTo(ctx, v); err != nil {
			t.Fatal(err)
		}
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
		return p
	}
	for _, tc := range []struct {
		name        string
		path        string
		want        int
		wantErr     string // in the message
		wantNotIxpd bool
	}{
		{name: "empty file", path: write("empty", nil), wantErr: "not a DuckDB database file", wantNotIxpd: true},
		{name: "text", path: write("text", []byte(strings.Repeat("not a database\n", 1000))), wantErr: "not a DuckDB database file", wantNotIxpd: true},
		{name: "other database", path: other, wantErr: "no schema_migrations table", wantNotIxpd: true},
		{name: "newer", path: newer, want: 99, wantErr: "schema version 99 is newer than this ixpd knows (3)"},
		{name: "missing", path: filepath.Join(dir, "missing"), wantErr: "no such file"},
		{name: "v0", path: version(0), want: 0},
		{name: "v1", path: version(1), want: 1},
		{name: "v3", path: version(3), want: 3},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := CheckBackup(ctx, tc.path)
			if tc.wantErr == "" {
				if err != nil {
					t.Fatalf("CheckBackup() error: %v", err)
				}
			} else if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("CheckBackup() error = %v, want one saying %q", err, tc.wantErr)
			}
			if errors.Is(err, ErrNotIxpd) != tc.wantNotIxpd {
				t.Errorf("CheckBackup() error %v wraps ErrNotIxpd: %t, want %t", err, errors.Is(err, ErrNotIxpd), tc.wantNotIxpd)
			}
			if got != tc.want {
				t.Errorf("CheckBackup() = %d, want %d", got, tc.want)
			}
		})
	}
}

// TestRestore restores a backup of an older schema over a store: the
// store's file is kept aside, the backup file is unchanged, and the store
// holds the backup's data at the current schema version.
func TestRestore(t *testing.T) {
	ctx := t.Context()
	dir := t.TempDir()
	// The backup: schema version 1, with flows.
	backup := filepath.Join(dir, "backups", "old.duckdb")
	old := newStore(t, backup)
	if err := old.migrateTo(ctx, 1); err != nil {
		t.Fatal(err)
	}
	flows := storetest.GenerateFlows(21, 3000, backupBase, 30*time.Hour)
	if err := old.WriteFlows(ctx, flows); err != nil {
		t.Fatal(err)
	}
	if err := old.Close(); err != nil {
		t.Fatal(err)
	}
	backupBytes, err := os.ReadFile(backup)
	if err != nil {
		t.Fatal(err)
	}

	// The store: other flows, closed uncleanly would leave a log; this
	// one is closed.
	cfg := Configuration{Path: filepath.Join(dir, "data", "ixpd.duckdb")}
	cur := newStore(t, cfg.Path)
	if err := cur.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	other := storetest.GenerateFlows(22, 500, backupBase, time.Hour)
	if err := cur.WriteFlows(ctx, other); err != nil {
		t.Fatal(err)
	}
	if err := cur.Close(); err != nil {
		t.Fatal(err)
	}

	now := time.Date(2026, time.May, 4, 10, 11, 12, 0, time.FixedZone("CEST", 2*3600))
	r, err := Restore(ctx, testLogger(t), cfg, backup, now)
	if err != nil {
		t.Fatalf("Restore() error: %v", err)
	}
	want := Restored{File: cfg.Path, Aside: cfg.Path + ".before-restore-20260504T081112Z", FromVersion: 1, Version: len(migrations)}
	if diff := cmp.Diff(r, want); diff != "" {
		t.Errorf("Restore() (-got +want):\n%s", diff)
	}
	if b, err := os.ReadFile(backup); err != nil || !slices.Equal(b, backupBytes) {
		t.Errorf("Restore() changed the backup file (err %v)", err)
	}
	entries, err := os.ReadDir(filepath.Dir(cfg.Path))
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	if diff := cmp.Diff(names, []string{"ixpd.duckdb", "ixpd.duckdb.before-restore-20260504T081112Z"}); diff != "" {
		t.Errorf("files in the store's folder (-got +want):\n%s", diff)
	}

	s := newStore(t, cfg.Path)
	defer func() { _ = s.Close() }()
	if v := schemaVersion(t, s); v != len(migrations) {
		t.Errorf("restored store's schema version %d, want %d", v, len(migrations))
	}
	storetest.CheckTotals(t, s, flows, analytics.TotalsQuery{From: backupFrom, To: backupTo})
	storetest.CheckSeries(t, s, flows, analytics.SeriesQuery{From: backupFrom, To: backupTo, Step: time.Hour, GroupBy: analytics.GroupPair})
	bins := storetest.GenerateLatency(5, storetest.LatencyTargets, backupBase, 12)
	if err := s.WriteLatency(ctx, bins); err != nil {
		t.Errorf("WriteLatency() on the restored store: %v", err)
	}
	aside := newStore(t, r.Aside)
	defer func() { _ = aside.Close() }()
	storetest.CheckTotals(t, aside, other, analytics.TotalsQuery{From: backupFrom, To: backupTo})

	// Restoring into a folder without a store keeps nothing aside.
	fresh := Configuration{Path: filepath.Join(dir, "fresh", "sub", "ixpd.duckdb")}
	r, err = Restore(ctx, testLogger(t), fresh, backup, now)
	if err != nil {
		t.Fatalf("Restore() into an empty folder: %v", err)
	}
	if r.Aside != "" {
		t.Errorf("Restore() into an empty folder kept %q aside", r.Aside)
	}
	// A second restore in the same second would overwrite what the
	// first kept: refused.
	if _, err := Restore(ctx, testLogger(t), cfg, backup, now); !errors.Is(err, os.ErrExist) {
		t.Errorf("second Restore() in the same second error = %v, want one wrapping os.ErrExist", err)
	}
	// Not a backup: refused before anything changes.
	if _, err := Restore(ctx, testLogger(t), cfg, r.File+".nothing", now.Add(time.Second)); err == nil {
		t.Errorf("Restore() of a missing file succeeded")
	}
}

// TestRestoreRefusesOpenStore restores over a store that another process
// holds open, as a running ixpd does: refused, with nothing changed.
func TestRestoreRefusesOpenStore(t *testing.T) {
	ctx := t.Context()
	dir := t.TempDir()
	cfg := Configuration{Path: filepath.Join(dir, "ixpd.duckdb")}
	s := newStore(t, cfg.Path)
	if err := s.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	backup := filepath.Join(dir, "backup.duckdb")
	if err := s.Backup(ctx, backup); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if inUse, _, err := InUse(cfg); err != nil || inUse {
		t.Fatalf("InUse() of a closed store = %t, %v; want false", inUse, err)
	}

	// This test binary, run again as a helper, holds the store open
	// until its standard input closes.
	cmd := exec.Command(os.Args[0], "-test.run=^TestHoldStore$")
	cmd.Env = append(os.Environ(), "IXPD_TEST_HOLD_STORE="+cfg.Path)
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		_ = stdin.Close()
		_ = cmd.Wait()
	}()
	sc := bufio.NewScanner(stdout)
	for sc.Scan() && sc.Text() != "holding" {
	}

	inUse, pid, err := InUse(cfg)
	if err != nil || !inUse || pid != cmd.Process.Pid {
		t.Errorf("InUse() = %t, %d, %v; want true, %d", inUse, pid, err, cmd.Process.Pid)
	}
	_, err = Restore(ctx, testLogger(t), cfg, backup, time.Now())
	want := fmt.Sprintf("the store %s is open in process %d (a running ixpd?): stop ixpd first", cfg.Path, cmd.Process.Pid)
	if err == nil || err.Error() != want {
		t.Errorf("Restore() error = %v, want %q", err, want)
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if strings.Contains(e.Name(), "before-restore") || strings.HasPrefix(e.Name(), ".restore") {
			t.Errorf("refused Restore() left %s", e.Name())
		}
	}
}

// TestHoldStore is TestRestoreRefusesOpenStore's helper process.
func TestHoldStore(t *testing.T) {
	path := os.Getenv("IXPD_TEST_HOLD_STORE")
	if path == "" {
		t.Skip("helper process of TestRestoreRefusesOpenStore")
	}
	s := newStore(t, path)
	defer func() { _ = s.Close() }()
	if _, err := s.Totals(context.Background(), analytics.TotalsQuery{From: backupFrom, To: backupTo}); err != nil {
		t.Fatal(err)
	}
	fmt.Println("holding")
	_, _ = bufio.NewReader(os.Stdin).ReadString('\n') // until the test closes it
}
