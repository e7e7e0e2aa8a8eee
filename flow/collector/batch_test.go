package collector

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/netip"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/ixpd/ixpd/flow"
)

// memoryStore is a store that keeps what it is given and can be switched
// off, for testing the batcher's loss handling without a database.
type memoryStore struct {
	mu   sync.Mutex
	down bool
	seen map[uint64]int // flow id (Bytes) -> times stored
}

func (s *memoryStore) WriteFlows(_ context.Context, flows []flow.Flow) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.down {
		return errors.New("connection refused")
	}
	for _, f := range flows {
		s.seen[f.Bytes]++
	}
	return nil
}

func (s *memoryStore) set(down bool) { s.mu.Lock(); s.down = down; s.mu.Unlock() }

// exactlyOnce checks that flows 1..n were each stored once.
func (s *memoryStore) exactlyOnce(n int) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.seen) != n {
		return fmt.Errorf("%d distinct flows stored, want %d", len(s.seen), n)
	}
	for id, times := range s.seen {
		if times != 1 {
			return fmt.Errorf("flow %d stored %d times", id, times)
		}
	}
	return nil
}

func flowsFrom(first, n int) []flow.Flow {
	out := make([]flow.Flow, n)
	for i := range out {
		out[i] = flow.Flow{TimeReceived: time.Unix(1700000000, 0), Bytes: uint64(first + i), Exporter: netip.MustParseAddr("127.0.0.10")}
	}
	return out
}

func newTestBatcher(t *testing.T, w Writer, dir string, maxBytes int64) (*batcher, *batchMetrics) {
	t.Helper()
	sp, err := openSpool(dir, maxBytes)
	if err != nil {
		t.Fatal(err)
	}
	m, err := newBatchMetrics(prometheus.NewRegistry(), sp)
	if err != nil {
		t.Fatal(err)
	}
	return newBatcher(slog.New(slog.NewTextHandler(io.Discard, nil)), w, sp, m, 100, 2, 20*time.Millisecond), m
}

func waitUntil(t *testing.T, what string, cond func() error) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		err := cond()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: %v", what, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestBatcherSpoolsWhileStoreIsDown(t *testing.T) {
	st := &memoryStore{seen: map[uint64]int{}}
	b, m := newTestBatcher(t, st, t.TempDir(), 1<<30)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- b.run(ctx) }()

	b.add(flowsFrom(1, 1000))
	st.set(true)
	b.add(flowsFrom(1001, 5000))
	waitUntil(t, "batches spooled", func() error {
		if n, _ := b.sp.size(); n == 0 {
			return errors.New("nothing spooled")
		}
		return nil
	})
	st.set(false)
	b.add(flowsFrom(6001, 2000))
	waitUntil(t, "every flow stored once", func() error { return st.exactlyOnce(8000) })
	if n, bytes := b.sp.size(); n != 0 || bytes != 0 {
		t.Errorf("spool left with %d batches, %d bytes", n, bytes)
	}
	if got := testutil.ToFloat64(m.flowsWritten); got != 8000 {
		t.Errorf("flows written counter %v", got)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

func TestBatcherStopWritesEverything(t *testing.T) {
	st := &memoryStore{seen: map[uint64]int{}}
	b, _ := newTestBatcher(t, st, t.TempDir(), 1<<30)
	b.interval = time.Hour // only Stop flushes the partial batch
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- b.run(ctx) }()
	b.add(flowsFrom(1, 250))
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if err := st.exactlyOnce(250); err != nil {
		t.Fatal(err)
	}
}

func TestSpoolSurvivesRestart(t *testing.T) {
	dir := t.TempDir()
	st := &memoryStore{seen: map[uint64]int{}, down: true}
	b, _ := newTestBatcher(t, st, dir, 1<<30)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- b.run(ctx) }()
	b.add(flowsFrom(1, 450))
	cancel() // store down at stop: everything goes to the spool
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if n, _ := b.sp.size(); n != 5 {
		t.Fatalf("%d batches spooled, want 5", n)
	}
	// A new process finds the spool and writes it once the store is up.
	st.set(false)
	b2, _ := newTestBatcher(t, st, dir, 1<<30)
	ctx2, cancel2 := context.WithCancel(context.Background())
	defer cancel2()
	go func() { _ = b2.run(ctx2) }()
	waitUntil(t, "spool replayed", func() error { return st.exactlyOnce(450) })
}

func TestSpoolBound(t *testing.T) {
	st := &memoryStore{seen: map[uint64]int{}, down: true}
	b, m := newTestBatcher(t, st, t.TempDir(), 4096)
	for range 20 {
		b.spoolOrDrop(flowsFrom(1, 100))
	}
	_, bytes := b.sp.size()
	if bytes > 4096 {
		t.Errorf("spool holds %d bytes, bound 4096", bytes)
	}
	if got := testutil.ToFloat64(m.dropped.WithLabelValues("spool_full")); got == 0 {
		t.Error("no flows counted as dropped for a full spool")
	}
}
