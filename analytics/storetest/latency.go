package storetest

import (
	"cmp"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"sync"
	"testing"
	"time"

	gocmp "github.com/google/go-cmp/cmp"

	"github.com/ixpd/ixpd/analytics"
)

// LatencyTargets are the target names of GenerateLatency. Bytewise,
// "Zagreb" sorts before "amsterdam" (a store that sorts without case
// would not); the third name has quotes and a backslash, which reach the
// store only as bound values.
var LatencyTargets = []string{"amsterdam", "Zagreb", `it's "ljubljana" \`}

// latencyDay is the first of the two UTC days of generated bins: the
// second one is in the next month (the ClickHouse table has a partition
// per month).
var latencyDay = time.Date(2024, time.March, 31, 0, 0, 0, 0, time.UTC)

// GenerateLatency returns reproducible bins (same seed, same bins) for
// every target, one per 5-minute bin in [start, start+n·BinSize), computed
// by analytics.NewLatencyBin from random round-trip times: bins with full,
// partial and total loss (no answers: an empty histogram), and with one
// answer.
func GenerateLatency(seed uint64, targets []string, start time.Time, n int) []analytics.LatencyBin {
	r := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	bins := make([]analytics.LatencyBin, 0, n*len(targets))
	for ti, target := range targets {
		base := 0.2 + float64(ti)*40 + r.Float64()*20 // milliseconds
		for i := range n {
			t := start.Add(time.Duration(i) * analytics.BinSize)
			sent := uint32(r.IntN(31))
			var received int
			switch r.IntN(10) {
			case 0: // everything lost
			case 1:
				received = min(1, int(sent))
			default:
				received = int(sent) - r.IntN(int(sent)/4+1)
			}
			rtts := make([]float64, received)
			for j := range rtts {
				rtts[j] = base * math.Exp(r.NormFloat64()*0.3)
			}
			bins = append(bins, analytics.NewLatencyBin(t, target, sent, rtts))
		}
	}
	return bins
}

// extremeLatency returns bins at the limits of every column.
func extremeLatency(t time.Time) []analytics.LatencyBin {
	return []analytics.LatencyBin{
		{
			Time: t, Target: "extreme", Sent: math.MaxUint32, Received: math.MaxUint32,
			MinMs: math.SmallestNonzeroFloat64, MedianMs: 0.1 + 0.2, MeanMs: 1.0 / 3, P95Ms: math.Pi * 1e9,
			MaxMs: math.MaxFloat64, JitterMs: math.Nextafter(1, 2), JitterSumMs: 1e-300, JitterN: math.MaxUint32,
			Buckets: []uint16{0, 1, 12345, math.MaxUint16}, Counts: []uint32{math.MaxUint32, 1, 0, 7},
		},
		// Empty, not nil: comes back nil, like a bin without answers.
		{Time: t.Add(analytics.BinSize), Target: "extreme", Sent: 5, Buckets: []uint16{}, Counts: []uint32{}},
		{Time: t.Add(2 * analytics.BinSize), Target: "extreme", Sent: 1, Received: 1, MinMs: 7, MedianMs: 7,
			MeanMs: 7, P95Ms: 7, MaxMs: 7, Buckets: []uint16{analytics.LatencyBucket(7)}, Counts: []uint32{1}},
	}
}

// latencyKey identifies a stored bin.
type latencyKey struct {
	target string
	unix   int64
}

// latencyState is what a store must hold after a sequence of writes: the
// last bin written for each (Target, Time).
type latencyState map[latencyKey]analytics.LatencyBin

func (st latencyState) write(bins []analytics.LatencyBin) {
	for _, b := range bins {
		st[latencyKey{b.Target, b.Time.Unix()}] = b
	}
}

// expect returns what Latency(q) must answer: the bins in range and of
// the targets, sorted by target (bytewise) and time, with UTC times and
// nil for empty histograms.
func (st latencyState) expect(q analytics.LatencyQuery) []analytics.LatencyBin {
	var out []analytics.LatencyBin
	for _, b := range st {
		if !inRange(b.Time, q.From, q.To) || (len(q.Targets) > 0 && !slices.Contains(q.Targets, b.Target)) {
			continue
		}
		b.Time = b.Time.UTC()
		if len(b.Buckets) == 0 {
			b.Buckets, b.Counts = nil, nil
		}
		out = append(out, b)
	}
	slices.SortFunc(out, compareLatency)
	return out
}

func compareLatency(a, b analytics.LatencyBin) int {
	return cmp.Or(cmp.Compare(a.Target, b.Target), a.Time.Compare(b.Time))
}

func writeLatency(t *testing.T, s analytics.Store, bins []analytics.LatencyBin) {
	t.Helper()
	if err := s.WriteLatency(t.Context(), bins); err != nil {
		t.Fatalf("WriteLatency(%d bins) error: %v", len(bins), err)
	}
}

// checkLatency compares Latency(q) with what st says, exactly: floats
// bit for bit after the round trip, nil and empty slices told apart.
func checkLatency(t *testing.T, s analytics.Store, st latencyState, q analytics.LatencyQuery) {
	t.Helper()
	got, err := s.Latency(t.Context(), q)
	if err != nil {
		t.Fatalf("Latency(%+v) error: %v", q, err)
	}
	for i, b := range got {
		if b.Time.Location() != time.UTC {
			t.Errorf("Latency(%+v): bin %d time %s is not in UTC", q, i, b.Time)
			break
		}
	}
	want := st.expect(q)
	if len(got) == 0 && len(want) == 0 {
		return // nil or empty
	}
	if diff := gocmp.Diff(got, want); diff != "" {
		t.Errorf("Latency(from %s, to %s, targets %q) (-got +want):\n%s", q.From, q.To, q.Targets, diff)
	}
}

// CheckLatency fails t unless s answers q with what written says: the
// last of the bins of each (Target, Time), in the order they were written
// to s, compared exactly.
func CheckLatency(t *testing.T, s analytics.Store, written []analytics.LatencyBin, q analytics.LatencyQuery) {
	t.Helper()
	st := latencyState{}
	st.write(written)
	checkLatency(t, s, st, q)
}

// runLatency runs the latency tests of the suite.
func runLatency(t *testing.T, fresh func(*testing.T) analytics.Store) {
	t.Run("LatencyEmpty", func(t *testing.T) { testLatencyEmpty(t, fresh(t)) })
	t.Run("LatencyRoundTrip", func(t *testing.T) { testLatencyRoundTrip(t, fresh(t)) })
	t.Run("LatencyEdges", func(t *testing.T) { testLatencyEdges(t, fresh(t)) })
	t.Run("LatencyReplace", func(t *testing.T) { testLatencyReplace(t, fresh(t)) })
	t.Run("LatencyBadBatch", func(t *testing.T) { testLatencyBadBatch(t, fresh(t)) })
	t.Run("LatencyConcurrent", func(t *testing.T) { testLatencyConcurrent(t, fresh(t)) })
	t.Run("LatencyRetention", func(t *testing.T) { testLatencyRetention(t, fresh(t)) })
}

func testLatencyEmpty(t *testing.T, s analytics.Store) {
	writeLatency(t, s, nil)
	writeLatency(t, s, []analytics.LatencyBin{})
	checkLatency(t, s, latencyState{}, analytics.LatencyQuery{From: everythingFrom, To: everythingTo})
	checkLatency(t, s, latencyState{}, analytics.LatencyQuery{From: everythingFrom, To: everythingTo, Targets: LatencyTargets})
}

// testLatencyRoundTrip writes two days of bins of three targets, in
// batches out of order, and reads them back whole and filtered.
func testLatencyRoundTrip(t *testing.T, s analytics.Store) {
	bins := GenerateLatency(1, LatencyTargets, latencyDay, 2*288)
	bins = append(bins, extremeLatency(latencyDay.Add(12*time.Hour))...)
	shuffled := slices.Clone(bins)
	rand.New(rand.NewPCG(2, 3)).Shuffle(len(shuffled), func(i, j int) { shuffled[i], shuffled[j] = shuffled[j], shuffled[i] })
	for batch := range slices.Chunk(shuffled, 500) {
		writeLatency(t, s, batch)
	}
	st := latencyState{}
	st.write(bins)

	var empty, partial int
	for _, b := range bins {
		switch {
		case b.Received == 0:
			empty++
		case b.Received < b.Sent:
			partial++
		}
	}
	if empty == 0 || partial == 0 {
		t.Fatalf("generated bins: %d without answers, %d with loss: want some of each", empty, partial)
	}

	nextDay := latencyDay.Add(24 * time.Hour)
	kathmandu := time.FixedZone("UTC+5:45", 5*3600+45*60)
	for _, q := range []analytics.LatencyQuery{
		{From: everythingFrom, To: everythingTo},
		{From: everythingFrom, To: everythingTo, Targets: []string{}},
		{From: nextDay, To: nextDay.Add(24 * time.Hour)},
		{From: nextDay.In(kathmandu), To: nextDay.Add(24 * time.Hour).In(kathmandu)}, // the same instants
		{From: latencyDay.Add(-24 * time.Hour), To: latencyDay},
		{From: everythingFrom, To: everythingTo, Targets: []string{"Zagreb"}},
		{From: everythingFrom, To: everythingTo, Targets: []string{LatencyTargets[2], "amsterdam"}},
		{From: everythingFrom, To: everythingTo, Targets: []string{"Zagreb", "Zagreb"}},
		{From: everythingFrom, To: everythingTo, Targets: []string{"zagreb"}}, // names are case-sensitive
		{From: everythingFrom, To: everythingTo, Targets: []string{"nobody"}},
		{From: everythingFrom, To: everythingTo, Targets: []string{"extreme", "nobody"}},
		{From: nextDay.Add(-time.Hour), To: nextDay.Add(time.Hour), Targets: []string{"amsterdam", "Zagreb"}},
	} {
		checkLatency(t, s, st, q)
	}

	// Spelled out, in case the expectations share a mistake with the store.
	got, err := s.Latency(t.Context(), analytics.LatencyQuery{From: everythingFrom, To: everythingTo,
		Targets: []string{"extreme"}})
	if err != nil {
		t.Fatal(err)
	}
	want := extremeLatency(latencyDay.Add(12 * time.Hour))
	want[1].Buckets, want[1].Counts = nil, nil
	if diff := gocmp.Diff(got, want); diff != "" {
		t.Errorf("Latency(extreme) (-got +want):\n%s", diff)
	}
}

// testLatencyEdges checks that [From, To) applies to bin starts.
func testLatencyEdges(t *testing.T, s analytics.Store) {
	bin := time.Date(2024, time.March, 31, 23, 55, 0, 0, time.UTC) // the last bin of a day and a month
	bins := GenerateLatency(4, LatencyTargets, bin.Add(-analytics.BinSize), 3)
	writeLatency(t, s, bins)
	st := latencyState{}
	st.write(bins)
	next := bin.Add(analytics.BinSize)
	for _, c := range []struct {
		name     string
		from, to time.Time
		want     int // bins per target
	}{
		{"one bin", bin, next, 1},
		{"from inside", bin.Add(time.Nanosecond), next.Add(time.Nanosecond), 1}, // the next bin only
		{"from a second in", bin.Add(time.Second), next, 0},
		{"to a nanosecond in", bin, bin.Add(time.Nanosecond), 1},
		{"to on the start", bin.Add(-analytics.BinSize), bin, 1},
		{"empty", bin, bin, 0},
		{"reversed", next, bin, 0},
		{"all three", bin.Add(-analytics.BinSize), next.Add(time.Microsecond), 3},
	} {
		t.Run(c.name, func(t *testing.T) {
			q := analytics.LatencyQuery{From: c.from, To: c.to}
			if n := len(st.expect(q)); n != c.want*len(LatencyTargets) {
				t.Fatalf("test expects %d bins, want %d", n, c.want*len(LatencyTargets))
			}
			checkLatency(t, s, st, q)
		})
	}
}

// testLatencyReplace writes bins again: reads show only the last bin
// written for each (target, time), also of one batch.
func testLatencyReplace(t *testing.T, s analytics.Store) {
	st := latencyState{}
	first := GenerateLatency(5, LatencyTargets, latencyDay, 2*288)
	writeLatency(t, s, first)
	st.write(first)
	// Every third bin again, with other figures: histograms that empty,
	// fill and change.
	var second []analytics.LatencyBin
	for i, b := range GenerateLatency(6, LatencyTargets, latencyDay, 2*288) {
		if i%3 == 0 {
			second = append(second, b)
		}
	}
	second[0] = analytics.NewLatencyBin(second[0].Time, second[0].Target, 10, nil)
	second[1] = analytics.NewLatencyBin(second[1].Time, second[1].Target, 10, []float64{1, 2, 3})
	writeLatency(t, s, second)
	st.write(second)
	// A third time for a few bins, each in the batch twice: the later wins.
	var third []analytics.LatencyBin
	for i, b := range GenerateLatency(7, LatencyTargets, latencyDay, 2*288) {
		if i%50 == 0 {
			early := b
			early.Sent, early.MaxMs = 999, -1
			third = append(third, early)
		}
	}
	for i, b := range GenerateLatency(8, LatencyTargets, latencyDay, 2*288) {
		if i%50 == 0 {
			third = append(third, b)
		}
	}
	writeLatency(t, s, third)
	st.write(third) // in order: the later copy stays
	if len(st) != len(first) {
		t.Fatalf("test state holds %d bins, want %d", len(st), len(first))
	}
	for _, q := range []analytics.LatencyQuery{
		{From: everythingFrom, To: everythingTo},
		{From: latencyDay.Add(23 * time.Hour), To: latencyDay.Add(25 * time.Hour), Targets: []string{"Zagreb"}},
	} {
		checkLatency(t, s, st, q)
	}
	got, err := s.Latency(t.Context(), analytics.LatencyQuery{From: everythingFrom, To: everythingTo})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(first) {
		t.Errorf("Latency() after rewrites: %d bins, want %d (one per target and time)", len(got), len(first))
	}
}

func testLatencyBadBatch(t *testing.T, s analytics.Store) {
	ctx := t.Context()
	good := GenerateLatency(9, LatencyTargets, latencyDay, 12)
	rejectsBadBatches(t, "WriteLatency", good, func(bad []analytics.LatencyBin) error { return s.WriteLatency(ctx, bad) }, []badItem[analytics.LatencyBin]{
		{"unaligned", func(b *analytics.LatencyBin) { b.Time = b.Time.Add(time.Second) }},
		{"unaligned by a nanosecond", func(b *analytics.LatencyBin) { b.Time = b.Time.Add(time.Nanosecond) }},
		{"before 1970", func(b *analytics.LatencyBin) { b.Time = time.Date(1969, time.December, 31, 23, 55, 0, 0, time.UTC) }},
		{"after 2106", func(b *analytics.LatencyBin) { b.Time = time.Date(2106, time.March, 1, 0, 0, 0, 0, time.UTC) }},
		{"more buckets", func(b *analytics.LatencyBin) { b.Buckets = append(slices.Clone(b.Buckets), 1) }},
		{"counts only", func(b *analytics.LatencyBin) { b.Buckets, b.Counts = nil, []uint32{1} }},
	})
	checkLatency(t, s, latencyState{}, analytics.LatencyQuery{From: everythingFrom, To: everythingTo})
	// The store still works and takes the good batch whole.
	writeLatency(t, s, good)
	st := latencyState{}
	st.write(good)
	checkLatency(t, s, st, analytics.LatencyQuery{From: everythingFrom, To: everythingTo})
}

// testLatencyConcurrent writes latency bins of several targets and flows
// at the same time.
func testLatencyConcurrent(t *testing.T, s analytics.Store) {
	const writers = 4
	var targets []string
	for i := range writers {
		targets = append(targets, fmt.Sprintf("target-%d", i))
	}
	all := GenerateLatency(10, targets, latencyDay, 288)
	flows := GenerateFlows(11, 2000, latencyDay, 24*time.Hour)
	var wg sync.WaitGroup
	errs := make([]error, writers+1)
	for w := range writers {
		wg.Go(func() {
			for batch := range slices.Chunk(all[w*288:(w+1)*288], 48) {
				if err := s.WriteLatency(t.Context(), batch); err != nil {
					errs[w] = fmt.Errorf("writer %d: %w", w, err)
					return
				}
			}
		})
	}
	wg.Go(func() { errs[writers] = s.WriteFlows(t.Context(), flows) })
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		t.Fatalf("concurrent writes: %v", err)
	}
	st := latencyState{}
	st.write(all)
	checkLatency(t, s, st, analytics.LatencyQuery{From: everythingFrom, To: everythingTo})
	CheckTotals(t, s, flows, analytics.TotalsQuery{From: everythingFrom, To: everythingTo})
}

// testLatencyRetention checks that latency bins go with the rollups, not
// with the raw flows. The days are those of testRetention, where a store
// that drops days and one that drops months agree.
func testLatencyRetention(t *testing.T, s analytics.Store) {
	ctx := t.Context()
	day := func(y int, m time.Month, d int) time.Time { return time.Date(y, m, d, 0, 0, 0, 0, time.UTC) }
	var bins []analytics.LatencyBin
	for i, d := range []time.Time{
		day(2023, time.June, 30), day(2023, time.July, 1), day(2023, time.July, 2),
		day(2024, time.May, 30), day(2024, time.May, 31), day(2024, time.June, 1), day(2024, time.June, 30),
	} {
		// The first and the last bin of the day, and some between.
		bins = append(bins, GenerateLatency(uint64(20+i), LatencyTargets, d, 2)...)
		bins = append(bins, GenerateLatency(uint64(40+i), LatencyTargets, d.Add(12*time.Hour), 3)...)
		bins = append(bins, GenerateLatency(uint64(60+i), LatencyTargets, d.Add(24*time.Hour-analytics.BinSize), 1)...)
	}
	writeLatency(t, s, bins)
	flows := GenerateFlows(80, 100, day(2024, time.May, 30), 24*time.Hour)
	write(t, s, flows)

	check := func(t *testing.T, from time.Time) {
		t.Helper()
		st := latencyState{}
		for _, b := range bins {
			if !b.Time.Before(from) {
				st.write([]analytics.LatencyBin{b})
			}
		}
		checkLatency(t, s, st, analytics.LatencyQuery{From: everythingFrom, To: everythingTo})
		checkLatency(t, s, st, analytics.LatencyQuery{From: day(2023, time.June, 30), To: day(2023, time.July, 2),
			Targets: []string{"Zagreb"}})
	}
	r := analytics.Retention{Raw: 30 * 24 * time.Hour, Rollup: 366 * 24 * time.Hour}
	for _, c := range []struct {
		name string
		now  time.Time
		r    analytics.Retention
		from time.Time // first day kept
	}{
		// Rollups kept: the raw cutoff (2024-05-31 12:00) must not touch latency bins.
		{"raw only", time.Date(2024, time.June, 30, 12, 0, 0, 0, time.UTC), analytics.Retention{Raw: r.Raw}, day(2023, time.June, 30)},
		// Cutoff at noon: its day is kept whole.
		{"noon", time.Date(2024, time.June, 30, 12, 0, 0, 0, time.UTC), r, day(2023, time.June, 30)},
		// Cutoff at midnight: the day that ends there goes.
		{"midnight", day(2024, time.July, 1), r, day(2023, time.July, 1)},
		{"again", day(2024, time.July, 1), r, day(2023, time.July, 1)},
		{"default", day(2024, time.July, 1), analytics.DefaultRetention, day(2023, time.July, 1)},
	} {
		t.Run(c.name, func(t *testing.T) {
			if err := s.ApplyRetention(ctx, c.now, c.r); err != nil {
				t.Fatalf("ApplyRetention(%s, %+v) error: %v", c.now, c.r, err)
			}
			check(t, c.from)
		})
	}
	// Bins written after retention land as usual.
	more := GenerateLatency(90, LatencyTargets, day(2024, time.June, 30).Add(time.Hour), 6)
	writeLatency(t, s, more)
	bins = append(bins, more...)
	check(t, day(2023, time.July, 1))
}
