package latency

import (
	"context"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/ixpd/ixpd/analytics"
)

func TestRecorderBins(t *testing.T) {
	const bin = 10 * time.Second
	rec := newRecorder(bin, time.Second, 2)
	tg, err := newTarget(Target{Name: "a", Address: "192.0.2.1", Method: MethodICMP}, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	targets := []*target{tg}
	t0 := time.Unix(1_700_000_000, 0) // a multiple of 10 s
	ms := func(n int) time.Duration { return time.Duration(n) * time.Millisecond }

	// Bin 0: four probes; the last leaves at 9.9 s and is answered after
	// the bin's end: it counts in bin 0, where it was sent.
	refs := []probeRef{
		rec.sent(tg, t0.Add(ms(100))),
		rec.sent(tg, t0.Add(ms(1100))),
		rec.sent(tg, t0.Add(ms(2100))),
		rec.sent(tg, t0.Add(ms(9900))),
	}
	if !rec.answered(refs[0], ms(10)) || !rec.answered(refs[2], ms(30)) || !rec.answered(refs[3], ms(500)) {
		t.Fatal("an answer in time was refused")
	}
	// A second answer to the same probe, and one after the timeout, are
	// refused.
	if rec.answered(refs[0], ms(11)) {
		t.Error("a duplicate answer counted")
	}
	if rec.answered(refs[1], ms(1001)) {
		t.Error("an answer after the 1 s timeout counted")
	}
	// Bin 1 starts.
	ref4 := rec.sent(tg, t0.Add(ms(10100)))

	// The bin in progress at 10.5 s: its probe is not settled yet.
	cur, done := rec.current(tg, t0.Add(ms(10500)))
	if cur.Sent != 0 || len(done) != 0 || !cur.Time.Equal(t0.Add(bin)) {
		t.Errorf("current at 10.5 s: %+v, %d done; want an empty bin 1, none done", cur, len(done))
	}
	// Bin 0 is not closed before its end plus the timeout and the grace.
	if got := rec.closeBins(targets, t0.Add(ms(11249)), false); len(got) != 0 {
		t.Errorf("bins closed before end + timeout + grace: %+v", got)
	}
	got := rec.closeBins(targets, t0.Add(ms(11250)), false)
	want := []analytics.LatencyBin{analytics.NewLatencyBin(t0, "a", 4, []float64{10, 30, 500})}
	if diff := cmp.Diff(got, want); diff != "" {
		t.Errorf("bin 0 (-got +want):\n%s", diff)
	}
	// An answer to a closed bin is refused.
	if rec.answered(refs[1], ms(5)) {
		t.Error("an answer to a closed bin counted")
	}
	// At 11.3 s the probe of 10.1 s is settled (lost); with an answer it
	// would have been counted at once.
	cur, done = rec.current(tg, t0.Add(ms(11300)))
	if cur.Sent != 1 || cur.Received != 0 || len(done) != 1 {
		t.Errorf("current at 11.2 s: %+v, %d done; want 1 sent, none received, 1 done", cur, len(done))
	}
	if !rec.answered(ref4, ms(900)) {
		t.Error("answer refused")
	}
	// Stop closes the bin in progress with its settled probes only.
	rec.sent(tg, t0.Add(ms(11500)))
	got = rec.closeBins(targets, t0.Add(ms(11600)), true)
	want = []analytics.LatencyBin{analytics.NewLatencyBin(t0.Add(bin), "a", 1, []float64{900})}
	if diff := cmp.Diff(got, want); diff != "" {
		t.Errorf("bin 1 at stop (-got +want):\n%s", diff)
	}
	// Recent keeps the last two.
	rec.sent(tg, t0.Add(ms(25000)))
	rec.closeBins(targets, t0.Add(ms(31300)), false)
	_, done = rec.current(tg, t0.Add(ms(31300)))
	if len(done) != 2 || !done[0].Time.Equal(t0.Add(bin)) || !done[1].Time.Equal(t0.Add(2*bin)) {
		t.Errorf("recent bins %+v, want bins 1 and 2", done)
	}
}

// TestSinkRetry fails the sink's first writes: no bin may be lost, and
// they arrive in order once it works.
func TestSinkRetry(t *testing.T) {
	ixp, _ := startReflector(t, "127.0.0.25:0", ReflectorOptions{})
	cfg := DefaultConfiguration()
	cfg.Interval = 50 * time.Millisecond
	cfg.Timeout = 100 * time.Millisecond
	cfg.Targets = []TargetConfiguration{{Name: "a", Address: ixp.String(), Method: MethodTWAMP}}
	sink := newMemSink()
	sink.fail = 2
	p := testProber(t, cfg, Dependencies{Sink: sink, BinSize: time.Second})
	if err := p.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	// Fails at about 1 s and 2 s (retry after 1 s), then writes at 4 s.
	sink.waitBins(t, []string{"a"}, 3)
	stopProber(t, p)
	bins := sink.all()
	for i := 1; i < len(bins); i++ {
		if !bins[i].Time.Equal(bins[i-1].Time.Add(time.Second)) {
			t.Errorf("bin %d at %s follows %s: a bin was lost or reordered", i, bins[i].Time, bins[i-1].Time)
		}
	}
	if n := testutil.ToFloat64(p.metrics.sinkErrors); n != 2 {
		t.Errorf("%v sink errors counted, want 2", n)
	}
	if r, err := p.Recent("a"); err != nil || len(r.Bins) < 3 {
		t.Errorf("Recent: %d bins, %v; want at least 3", len(r.Bins), err)
	}
	if _, err := p.Recent("b"); err == nil {
		t.Error("Recent of an unknown target gave no error")
	}
}

// TestQueueBound drops the oldest bins beyond queue_bins, and counts them.
func TestQueueBound(t *testing.T) {
	cfg := DefaultConfiguration()
	cfg.QueueBins = 3
	sink := newMemSink()
	sink.fail = 1
	p := testProber(t, cfg, Dependencies{Sink: sink})
	t0 := time.Unix(1_700_000_100, 0)
	var bins []analytics.LatencyBin
	for i := range 5 {
		bins = append(bins, analytics.NewLatencyBin(t0.Add(time.Duration(i)*analytics.BinSize), "a", 1, []float64{1}))
	}
	p.enqueue(bins[:2])
	if err := p.writeQueue(context.Background()); err == nil {
		t.Fatal("the failing sink's error was not returned")
	}
	p.enqueue(bins[2:])
	if n := testutil.ToFloat64(p.metrics.binsDropped); n != 2 {
		t.Errorf("%v bins dropped, want 2", n)
	}
	if err := p.writeQueue(context.Background()); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(sink.all(), bins[2:]); diff != "" {
		t.Errorf("written (-got +want):\n%s", diff)
	}
}
