package analytics

import (
	"math"
	"testing"
	"time"
)

func TestNewLatencyBin(t *testing.T) {
	t0 := time.Date(2026, 11, 1, 0, 5, 0, 0, time.UTC)
	b := NewLatencyBin(t0, "x", 6, []float64{10, 12, 11, 30, 10})
	want := LatencyBin{Time: t0, Target: "x", Sent: 6, Received: 5, MinMs: 10, MedianMs: 11, MeanMs: 14.6, P95Ms: 26.4, MaxMs: 30,
		JitterMs: (2 + 1 + 19 + 20) / 4.0, JitterSumMs: 42, JitterN: 4}
	if b.MinMs != want.MinMs || b.MedianMs != want.MedianMs || math.Abs(b.MeanMs-want.MeanMs) > 1e-9 ||
		math.Abs(b.P95Ms-want.P95Ms) > 1e-9 || b.MaxMs != want.MaxMs || b.JitterMs != want.JitterMs || b.JitterN != 4 ||
		b.Sent != 6 || b.Received != 5 {
		t.Errorf("bin %+v, want %+v", b, want)
	}
	var n uint32
	for _, c := range b.Counts {
		n += c
	}
	if n != 5 || len(b.Buckets) != len(b.Counts) {
		t.Errorf("histogram %v %v holds %d samples, want 5", b.Buckets, b.Counts, n)
	}
	if empty := NewLatencyBin(t0, "x", 3, nil); empty.Received != 0 || empty.MedianMs != 0 || empty.Sent != 3 {
		t.Errorf("no answers: %+v", empty)
	}
}

func TestLatencyBucket(t *testing.T) {
	for _, ms := range []float64{0.002, 0.5, 1, 2, 37.5, 150, 999, 60000} {
		v := LatencyBucketValue(LatencyBucket(ms))
		if math.Abs(v-ms)/ms > 0.011 {
			t.Errorf("bucket of %v stands for %v: more than 1.1 %% off", ms, v)
		}
	}
	if LatencyBucket(0) != 0 || LatencyBucket(-1) != 0 || LatencyBucket(math.NaN()) != 0 {
		t.Error("non-positive RTTs go to bucket 0")
	}
	if LatencyBucket(math.Inf(1)) != math.MaxUint16 || LatencyBucket(1e300) <= LatencyBucket(60000) {
		t.Error("absurd RTTs go to the last bucket")
	}
}

func TestMergeLatency(t *testing.T) {
	t0 := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	var rtts1, rtts2 []float64
	for i := range 300 {
		rtts1 = append(rtts1, 2+float64(i%10)*0.01)  // 2.00..2.09
		rtts2 = append(rtts2, 150+float64(i%10)*0.1) // 150.0..150.9
	}
	a := NewLatencyBin(t0, "x", 300, rtts1)
	b := NewLatencyBin(t0.Add(BinSize), "x", 375, rtts2[:300])
	c := NewLatencyBin(t0.Add(2*BinSize), "x", 300, rtts2)
	st := MergeLatency([]LatencyBin{a, b, c})
	if st.Sent != 975 || st.Received != 900 || math.Abs(st.LossPct-100*75.0/975) > 1e-9 {
		t.Errorf("counts %+v", st)
	}
	if st.MinMs != 2 || st.MaxMs != 150.9 {
		t.Errorf("min/max %v %v", st.MinMs, st.MaxMs)
	}
	// Two thirds of the samples are near 150 ms: the median is there,
	// within a bucket.
	if math.Abs(st.MedianMs-150.45)/150.45 > 0.02 || math.Abs(st.P95Ms-150.85)/150.85 > 0.02 {
		t.Errorf("median %v p95 %v, want about 150.45 and 150.85", st.MedianMs, st.P95Ms)
	}
	wantMean := (a.MeanMs*300 + b.MeanMs*300 + c.MeanMs*300) / 900
	if math.Abs(st.MeanMs-wantMean) > 1e-9 {
		t.Errorf("mean %v, want %v", st.MeanMs, wantMean)
	}
	// One bin with answers: its exact figures.
	one := MergeLatency([]LatencyBin{NewLatencyBin(t0, "x", 5, nil), a})
	if one.MedianMs != a.MedianMs || one.P95Ms != a.P95Ms || one.Sent != 305 {
		t.Errorf("one bin with answers: %+v, want median %v p95 %v", one, a.MedianMs, a.P95Ms)
	}
	if none := MergeLatency([]LatencyBin{NewLatencyBin(t0, "x", 5, nil)}); none.LossPct != 100 || none.MedianMs != 0 {
		t.Errorf("no answers: %+v", none)
	}
}

func TestMergeLatencyClamps(t *testing.T) {
	t0 := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	// Every sample at the top of its bucket: the bucket's middle is below
	// the minimum.
	v := LatencyBucketValue(LatencyBucket(150)) * math.Sqrt(LatencyBucketRatio) * 0.9999
	bins := []LatencyBin{NewLatencyBin(t0, "x", 2, []float64{v, v}), NewLatencyBin(t0.Add(BinSize), "x", 2, []float64{v, v})}
	st := MergeLatency(bins)
	if st.MedianMs < st.MinMs || st.P95Ms > st.MaxMs || st.MedianMs != v {
		t.Errorf("median %v p95 %v outside [%v, %v]", st.MedianMs, st.P95Ms, st.MinMs, st.MaxMs)
	}
}
