package analytics

import (
	"math"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestLatencyBucketBounds(t *testing.T) {
	for _, ms := range []float64{0.002, 0.5, 2, 150, 999} {
		b := LatencyBucket(ms)
		lo, hi := LatencyBucketBounds(b)
		if ms < lo*(1-1e-12) || ms >= hi*(1+1e-12) || math.Abs(hi/lo-LatencyBucketRatio) > 1e-9 {
			t.Errorf("%v ms in bucket %d with bounds [%v, %v)", ms, b, lo, hi)
		}
		if v := LatencyBucketValue(b); v <= lo || v >= hi {
			t.Errorf("bucket %d stands for %v, outside [%v, %v)", b, v, lo, hi)
		}
	}
}

func TestMergeLatencyHistograms(t *testing.T) {
	t0 := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	rtts := func(base float64, n int) []float64 {
		out := make([]float64, n)
		for i := range out {
			out[i] = base * (1 + float64(i%7)*0.05)
		}
		return out
	}
	bins := []LatencyBin{NewLatencyBin(t0, "a", 100, rtts(2, 100)), NewLatencyBin(t0.Add(BinSize), "a", 100, rtts(3, 90))}
	h := MergeLatencyHistograms(bins)
	if h.Total() != 190 || len(h.Buckets) != len(h.Counts) {
		t.Fatalf("histogram %+v holds %d answers, want 190", h, h.Total())
	}
	st := MergeLatency(bins)
	for _, q := range []struct {
		q    float64
		want float64
	}{{0.5, st.MedianMs}, {0.95, st.P95Ms}} {
		if got, ok := h.Quantile(q.q); !ok || got != q.want {
			t.Errorf("quantile %v = %v, want MergeLatency's %v", q.q, got, q.want)
		}
	}
	if _, ok := (LatencyHistogram{}).Quantile(0.5); ok {
		t.Error("an empty histogram has a quantile")
	}
}

func TestLatencyGroups(t *testing.T) {
	t0 := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	targets := []LatencyTarget{
		{Name: "b-ixp", Path: LatencyPathIXP, Group: "b"},
		{Name: "a-ixp", Path: LatencyPathIXP, Group: "a"},
		{Name: "a-transit", Path: LatencyPathTransit, Group: "a"},
		{Name: "lone", Path: LatencyPathIXP},
	}
	bins := map[string][]LatencyBin{
		"a-ixp":     {NewLatencyBin(t0, "a-ixp", 3, []float64{2, 2, 2})},
		"a-transit": {NewLatencyBin(t0, "a-transit", 3, []float64{150, 150, 150})},
		"b-ixp":     {NewLatencyBin(t0, "b-ixp", 3, []float64{5, 5, 5})},
	}
	f := func(v float64) *float64 { return &v }
	want := []LatencyGroup{{Group: "a", IXPMedianMs: f(2), TransitMedianMs: f(150), GainMs: f(148)}, {Group: "b", IXPMedianMs: f(5)}}
	if diff := cmp.Diff(LatencyGroups(targets, bins), want); diff != "" {
		t.Errorf("groups (-got +want):\n%s", diff)
	}
	if _, ok := LatencyMedian(nil); ok {
		t.Error("a median without answers")
	}
}

func TestNewDomesticShare(t *testing.T) {
	f := func(v float64) *float64 { return &v }
	for _, tt := range []struct {
		name         string
		ixp, transit uint64
		exporter     bool
		want         DomesticShare
	}{
		{name: "share", ixp: 300, transit: 100, exporter: true, want: DomesticShare{ViaIXPBytes: 300, ViaTransitBytes: 100, LocalShare: f(0.75)}},
		{name: "no exporter", ixp: 300, transit: 100, want: DomesticShare{ViaIXPBytes: 300, ViaTransitBytes: 100, Note: NoteNoEdgeExporter}},
		{name: "no traffic", exporter: true, want: DomesticShare{Note: NoteNoDomestic}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if diff := cmp.Diff(NewDomesticShare(tt.ixp, tt.transit, tt.exporter), tt.want); diff != "" {
				t.Errorf("(-got +want):\n%s", diff)
			}
		})
	}
}
