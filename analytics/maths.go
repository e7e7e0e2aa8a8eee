package analytics

import (
	"fmt"
	"slices"
	"time"
)

// SeriesBin is one step of a gap-filled series.
type SeriesBin struct {
	Start   time.Time // start of the bin, UTC, aligned to the step from the Unix epoch
	Bytes   uint64
	Packets uint64
	Flows   uint64
	Bps     float64 // 8 × Bytes ÷ step in seconds
	Missing bool    // no point fell in this bin; its counters and rate are zero
}

// SeriesKey identifies one group of a grouped series (see Point.Key, Point.Key2).
type SeriesKey struct {
	Key, Key2 uint64
}

// FillSeries returns one bin per step for every step-aligned bin that overlaps
// [from, to): the first starts at from rounded down to the step, the last is
// the one that holds the instant before to. Each point is added to the bin
// that holds its Time, whatever its Key and Key2; points outside those bins
// are ignored. Bins that no point fell in are zero and marked Missing. It
// returns nil when step is not positive or to is not after from.
func FillSeries(points []Point, from, to time.Time, step time.Duration) []SeriesBin {
	bins := emptyBins(from, to, step)
	if bins == nil {
		return nil
	}
	for _, p := range points {
		addPoint(bins, step, p)
	}
	setRates(bins, step)
	return bins
}

// FillSeriesByKey is FillSeries for each (Key, Key2) group found in points.
// Groups without any point are absent from the map.
func FillSeriesByKey(points []Point, from, to time.Time, step time.Duration) map[SeriesKey][]SeriesBin {
	if emptyBins(from, to, step) == nil {
		return nil
	}
	groups := map[SeriesKey][]SeriesBin{}
	for _, p := range points {
		k := SeriesKey{Key: p.Key, Key2: p.Key2}
		bins, ok := groups[k]
		if !ok {
			bins = emptyBins(from, to, step)
			groups[k] = bins
		}
		addPoint(bins, step, p)
	}
	for _, bins := range groups {
		setRates(bins, step)
	}
	return groups
}

// alignStep returns the start of the step-wide bin that holds t, counting
// bins from the Unix epoch, in UTC.
func alignStep(t time.Time, step time.Duration) time.Time {
	r := t.Sub(time.Unix(0, 0)) % step
	if r < 0 {
		r += step
	}
	return t.Add(-r).UTC()
}

// emptyBins returns the bins of FillSeries, all Missing.
func emptyBins(from, to time.Time, step time.Duration) []SeriesBin {
	if step <= 0 || !to.After(from) {
		return nil
	}
	start := alignStep(from, step)
	n := int((to.Sub(start) + step - 1) / step)
	bins := make([]SeriesBin, n)
	for i := range bins {
		bins[i] = SeriesBin{Start: start.Add(time.Duration(i) * step), Missing: true}
	}
	return bins
}

// addPoint adds p to the bin of bins that holds p.Time, if any.
func addPoint(bins []SeriesBin, step time.Duration, p Point) {
	t := alignStep(p.Time, step)
	if t.Before(bins[0].Start) {
		return
	}
	i := t.Sub(bins[0].Start) / step
	if i >= time.Duration(len(bins)) {
		return
	}
	b := &bins[i]
	b.Bytes += p.Bytes
	b.Packets += p.Packets
	b.Flows += p.Flows
	b.Missing = false
}

// setRates sets the rate of each bin.
func setRates(bins []SeriesBin, step time.Duration) {
	for i := range bins {
		bins[i].Bps = 8 * float64(bins[i].Bytes) / step.Seconds()
	}
}

// Summary is peak, 95th percentile, average and volume over a series.
type Summary struct {
	PeakBps     float64   // highest bin rate
	PeakAt      time.Time // start of the earliest bin with the highest rate; zero when there are no bins
	P95Bps      float64   // 95th percentile of the bin rates (see Summarize)
	AvgBps      float64   // mean of the bin rates, missing bins counted as zero
	VolumeBytes uint64    // sum of the bins' bytes
	Bins        int       // number of bins, missing ones included
	MissingBins int       // bins marked Missing
}

// Summarize computes the Summary of bins as DESIGN.md defines it. Missing
// bins count as zero. The 95th percentile sorts the n bin rates ascending,
// drops the highest floor(n/20) and takes the highest that remains, so for
// n < 20 nothing is dropped and it equals the peak. No bins give a zero
// Summary.
func Summarize(bins []SeriesBin) Summary {
	var s Summary
	if len(bins) == 0 {
		return s
	}
	s.Bins = len(bins)
	s.PeakAt = bins[0].Start
	rates := make([]float64, len(bins))
	var sum float64
	for i, b := range bins {
		rates[i] = b.Bps
		sum += b.Bps
		s.VolumeBytes += b.Bytes
		if b.Missing {
			s.MissingBins++
		}
		if b.Bps > s.PeakBps {
			s.PeakBps, s.PeakAt = b.Bps, b.Start
		}
	}
	slices.Sort(rates)
	n := len(rates)
	s.P95Bps = rates[n-1-n/20]
	s.AvgBps = sum / float64(n)
	return s
}

// LocalShare is domestic bytes via the IXP ÷ (domestic bytes via the IXP +
// domestic bytes via transit). ok is false when both are zero: the share is
// then unknown, not zero.
func LocalShare(viaIXPBytes, viaTransitBytes uint64) (share float64, ok bool) {
	if viaIXPBytes == 0 && viaTransitBytes == 0 {
		return 0, false
	}
	ixp := float64(viaIXPBytes)
	return ixp / (ixp + float64(viaTransitBytes)), true
}

// SavingsParam is one configured input of the savings estimate: a central
// value, the range the band is built from, and where the values came from.
type SavingsParam struct {
	Value  float64 `json:"value"`
	Low    float64 `json:"low"`
	High   float64 `json:"high"`
	Source string  `json:"source"` // e.g. the configuration key, "analytics.savings.transit_price"
}

// SavingsInput is everything the transit savings of a month depend on.
type SavingsInput struct {
	Month        string       // "YYYY-MM"
	P95Bps       float64      // 95th percentile of the month's IXP traffic
	PeakBps      float64      // peak of the month's IXP traffic
	TransitPrice SavingsParam // USD per Mbps per month
	IXPCost      SavingsParam // USD per Mbps per month
	Alpha        SavingsParam // share of the traffic that would otherwise cross transit, 0 to 1
}

// SavingsBand is a low and high estimate in USD per month.
type SavingsBand struct {
	LowUSD  float64
	HighUSD float64
}

// SavingsResult is the avoided transit cost of a month, in USD, with the
// inputs it came from.
type SavingsResult struct {
	Input     SavingsInput
	P95Mbps   float64     // billing basis B
	PeakMbps  float64     // basis comparable with published IXP studies
	MarginUSD float64     // TransitPrice.Value − IXPCost.Value per Mbps per month; may be negative
	P95USD    float64     // Alpha × P95Mbps × MarginUSD, at least 0
	PeakUSD   float64     // Alpha × PeakMbps × MarginUSD, at least 0
	P95Band   SavingsBand // band around P95USD
	PeakBand  SavingsBand // band around PeakUSD
	Method    string      // how the figures were computed, in one sentence
}

// savingsMethod describes Savings to readers of its result.
const savingsMethod = "Avoided transit cost in USD per month = alpha × B × (transit price − IXP cost), " +
	"with prices in USD per Mbps per month, alpha the share of the traffic that would otherwise cross transit, " +
	"and B the month's 95th-percentile bin rate in Mbps (the transit billing basis) or, " +
	"for comparison with published IXP studies, its peak bin rate; the band's low end uses " +
	"the low alpha, the low transit price and the high IXP cost, its high end the high alpha, " +
	"the high transit price and the low IXP cost, and any negative figure is reported as 0."

// Savings computes the transit savings of DESIGN.md for both bases with
// their band. It does not validate its input: configuration does.
func Savings(in SavingsInput) SavingsResult {
	r := SavingsResult{
		Input:     in,
		P95Mbps:   in.P95Bps / 1e6,
		PeakMbps:  in.PeakBps / 1e6,
		MarginUSD: in.TransitPrice.Value - in.IXPCost.Value,
		Method:    savingsMethod,
	}
	r.P95USD = nonNegative(in.Alpha.Value * r.P95Mbps * r.MarginUSD)
	r.PeakUSD = nonNegative(in.Alpha.Value * r.PeakMbps * r.MarginUSD)
	r.P95Band = savingsBand(in, r.P95Mbps)
	r.PeakBand = savingsBand(in, r.PeakMbps)
	return r
}

// savingsBand is the low/high estimate for basis mbps.
func savingsBand(in SavingsInput, mbps float64) SavingsBand {
	return SavingsBand{
		LowUSD:  nonNegative(in.Alpha.Low * mbps * (in.TransitPrice.Low - in.IXPCost.High)),
		HighUSD: nonNegative(in.Alpha.High * mbps * (in.TransitPrice.High - in.IXPCost.Low)),
	}
}

// nonNegative returns x, or 0 when x is negative.
func nonNegative(x float64) float64 {
	return max(x, 0)
}

// MonthRange returns the bounds [from, to) of a UTC calendar month given as
// "YYYY-MM". The error names the month parameter.
func MonthRange(month string) (from, to time.Time, err error) {
	from, err = time.Parse("2006-01", month)
	if err != nil || len(month) != len("2006-01") {
		return time.Time{}, time.Time{}, fmt.Errorf("month: %q is not a month in YYYY-MM form such as 2024-02", month)
	}
	return from, from.AddDate(0, 1, 0), nil
}
