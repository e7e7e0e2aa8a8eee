package analytics

import (
	"fmt"
	"math"
	"slices"
	"time"
)

// LatencyBin is one probe target's statistics over one 5-minute bin. The
// figures of the bin are exact (computed from every sample); Buckets and
// Counts hold the samples as a histogram with LatencyBucketRatio-wide
// buckets so that quantiles over many bins (a day, a month) can be merged
// to within half a bucket.
type LatencyBin struct {
	Time     time.Time // start of the bin, UTC
	Target   string    // the target's name
	Sent     uint32    // probes sent in the bin
	Received uint32    // answers received in time
	// Round-trip times in milliseconds over the answers; all 0 when
	// Received is 0.
	MinMs, MedianMs, MeanMs, P95Ms, MaxMs float64
	// JitterMs is the mean |RTTᵢ − RTTᵢ₋₁| over consecutive answers;
	// JitterSumMs and JitterN are its sum and count, for merging.
	JitterMs    float64
	JitterSumMs float64
	JitterN     uint32
	// Buckets (ascending) and Counts are the histogram of the RTTs:
	// Counts[i] answers fell into bucket Buckets[i] (see LatencyBucket).
	Buckets []uint16
	Counts  []uint32
}

// LatencyQuery selects latency bins.
type LatencyQuery struct {
	From, To time.Time // bins whose start is in [From, To)
	Targets  []string  // nil or empty: every target
}

// LatencyStats are statistics over any number of bins.
type LatencyStats struct {
	Sent     uint64  `json:"sent"`
	Received uint64  `json:"received"`
	LossPct  float64 `json:"loss_pct"`
	MinMs    float64 `json:"min_ms"`
	MedianMs float64 `json:"median_ms"`
	MeanMs   float64 `json:"mean_ms"`
	P95Ms    float64 `json:"p95_ms"`
	MaxMs    float64 `json:"max_ms"`
	JitterMs float64 `json:"jitter_ms"`
}

// LatencyBucketRatio is the ratio of a histogram bucket's upper to lower
// bound: quantiles merged from histograms are within 1 % of a sample.
const LatencyBucketRatio = 1.02

// latencyBucketBase is the lower bound of bucket 0, in milliseconds: RTTs
// below 1 µs count into bucket 0.
const latencyBucketBase = 0.001

var logRatio = math.Log(LatencyBucketRatio)

// LatencyBucket returns the histogram bucket of an RTT in milliseconds.
// Bucket b holds [base·ratioᵇ, base·ratioᵇ⁺¹); 1 µs to beyond 10 minutes
// fit in a uint16.
func LatencyBucket(ms float64) uint16 {
	if ms <= latencyBucketBase || math.IsNaN(ms) {
		return 0
	}
	b := math.Floor(math.Log(ms/latencyBucketBase) / logRatio)
	if b >= math.MaxUint16 {
		return math.MaxUint16
	}
	return uint16(b)
}

// LatencyBucketValue is the value a bucket stands for: the geometric
// middle of its bounds.
func LatencyBucketValue(b uint16) float64 {
	return latencyBucketBase * math.Pow(LatencyBucketRatio, float64(b)+0.5)
}

// NewLatencyBin computes a bin's figures from its samples: rtts in
// milliseconds, in the order the probes were sent, and the number of
// probes sent.
func NewLatencyBin(t time.Time, target string, sent uint32, rtts []float64) LatencyBin {
	b := LatencyBin{Time: t.UTC(), Target: target, Sent: sent, Received: uint32(len(rtts))}
	if len(rtts) == 0 {
		return b
	}
	for i := 1; i < len(rtts); i++ {
		b.JitterSumMs += math.Abs(rtts[i] - rtts[i-1])
		b.JitterN++
	}
	if b.JitterN > 0 {
		b.JitterMs = b.JitterSumMs / float64(b.JitterN)
	}
	sorted := slices.Clone(rtts)
	slices.Sort(sorted)
	sum := 0.0
	for _, v := range sorted {
		sum += v
	}
	b.MinMs, b.MaxMs = sorted[0], sorted[len(sorted)-1]
	b.MeanMs = sum / float64(len(sorted))
	b.MedianMs = Quantile(sorted, 0.5)
	b.P95Ms = Quantile(sorted, 0.95)
	hist := map[uint16]uint32{}
	for _, v := range sorted {
		hist[LatencyBucket(v)]++
	}
	for k := range hist {
		b.Buckets = append(b.Buckets, k)
	}
	slices.Sort(b.Buckets)
	for _, k := range b.Buckets {
		b.Counts = append(b.Counts, hist[k])
	}
	return b
}

// Quantile returns the q-quantile of sorted values by linear
// interpolation between closest ranks (the method of numpy's default and
// of Excel's PERCENTILE.INC).
func Quantile(sorted []float64, q float64) float64 {
	switch len(sorted) {
	case 0:
		return 0
	case 1:
		return sorted[0]
	}
	pos := q * float64(len(sorted)-1)
	lo := int(math.Floor(pos))
	if lo >= len(sorted)-1 {
		return sorted[len(sorted)-1]
	}
	frac := pos - float64(lo)
	return sorted[lo] + frac*(sorted[lo+1]-sorted[lo])
}

// MergeLatency computes statistics over bins. One bin's figures are
// returned as they are; over several, min, max, mean, loss and jitter
// are exact and the median and p95 come from the merged histogram.
func MergeLatency(bins []LatencyBin) LatencyStats {
	var st LatencyStats
	var sum, jitterSum float64
	var jitterN uint64
	hist := map[uint16]uint64{}
	first := true
	for _, b := range bins {
		st.Sent += uint64(b.Sent)
		st.Received += uint64(b.Received)
		jitterSum += b.JitterSumMs
		jitterN += uint64(b.JitterN)
		if b.Received == 0 {
			continue
		}
		sum += b.MeanMs * float64(b.Received)
		if first || b.MinMs < st.MinMs {
			st.MinMs = b.MinMs
		}
		if first || b.MaxMs > st.MaxMs {
			st.MaxMs = b.MaxMs
		}
		first = false
		for i, k := range b.Buckets {
			if i < len(b.Counts) {
				hist[k] += uint64(b.Counts[i])
			}
		}
	}
	if st.Sent > 0 {
		st.LossPct = 100 * float64(st.Sent-min(st.Received, st.Sent)) / float64(st.Sent)
	}
	if jitterN > 0 {
		st.JitterMs = jitterSum / float64(jitterN)
	}
	if st.Received == 0 {
		return st
	}
	st.MeanMs = sum / float64(st.Received)
	withData := 0
	var only LatencyBin
	for _, b := range bins {
		if b.Received > 0 {
			withData++
			only = b
		}
	}
	if withData == 1 {
		st.MedianMs, st.P95Ms = only.MedianMs, only.P95Ms
		return st
	}
	keys := make([]uint16, 0, len(hist))
	var total uint64
	for k, n := range hist {
		keys = append(keys, k)
		total += n
	}
	slices.Sort(keys)
	// A bucket's middle can lie outside the samples; clamp to them.
	st.MedianMs = min(max(histQuantile(keys, hist, total, 0.5), st.MinMs), st.MaxMs)
	st.P95Ms = min(max(histQuantile(keys, hist, total, 0.95), st.MinMs), st.MaxMs)
	return st
}

// histQuantile returns the value of the bucket that holds the q-quantile
// rank (nearest rank).
func histQuantile(keys []uint16, hist map[uint16]uint64, total uint64, q float64) float64 {
	rank := uint64(math.Ceil(q * float64(total)))
	rank = max(rank, 1)
	var seen uint64
	for _, k := range keys {
		seen += hist[k]
		if seen >= rank {
			return LatencyBucketValue(k)
		}
	}
	return LatencyBucketValue(keys[len(keys)-1])
}

// CheckLatencyBins rejects bins that are not one 5-minute bin of 1970–2106
// (ClickHouse's DateTime range, kept here so that both stores take the
// same bins), or whose histogram columns differ in length.
func CheckLatencyBins(bins []LatencyBin) error {
	for i := range bins {
		b := &bins[i]
		if u := b.Time.Unix(); u < 0 || u > math.MaxUint32 {
			return fmt.Errorf("latency bin %d of %d (%q): time %s is outside 1970-01-01..2106-02-07", i, len(bins), b.Target, b.Time)
		}
		if !b.Time.Equal(Bin(b.Time)) {
			return fmt.Errorf("latency bin %d of %d (%q): time %s is not the start of a %s bin", i, len(bins), b.Target, b.Time, BinSize)
		}
		if len(b.Buckets) != len(b.Counts) {
			return fmt.Errorf("latency bin %d of %d (%q): %d buckets but %d counts", i, len(bins), b.Target, len(b.Buckets), len(b.Counts))
		}
	}
	return nil
}

// LastLatencyBins returns bins with only the last bin of each (Target, Time),
// in the place of the first.
func LastLatencyBins(bins []LatencyBin) []LatencyBin {
	return lastOfEach(bins, func(b LatencyBin) (string, time.Time) { return b.Target, b.Time })
}
