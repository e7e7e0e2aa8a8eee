package analytics

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

// approx compares floats to within rounding error.
var approx = cmpopts.EquateApprox(0, 1e-9)

// at parses an RFC 3339 time.
func at(t *testing.T, s string) time.Time {
	t.Helper()
	v, err := time.Parse(time.RFC3339, s)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// bins5m returns one 5-minute bin per entry of bytes from start; a negative
// entry is a missing bin. Each byte is 8/300 bps, so 75 bytes are 2 bps.
func bins5m(start time.Time, bytes ...int) []SeriesBin {
	out := make([]SeriesBin, len(bytes))
	for i, b := range bytes {
		out[i].Start = start.Add(time.Duration(i) * BinSize)
		if b < 0 {
			out[i].Missing = true
			continue
		}
		out[i].Bytes = uint64(b)
		out[i].Bps = 8 * float64(b) / 300
	}
	return out
}

// ramp returns 75, 150, ..., 75×n bytes: rates 2, 4, ..., 2n bps in 5-minute bins.
func ramp(n int) []int {
	out := make([]int, n)
	for i := range out {
		out[i] = 75 * (i + 1)
	}
	return out
}

func TestMetricSummarize(t *testing.T) {
	t0 := time.Date(2024, 3, 1, 0, 0, 0, 0, time.UTC)
	minutes := func(m int) time.Time { return t0.Add(time.Duration(m) * time.Minute) }
	reversed100 := ramp(100)
	for i, j := 0, len(reversed100)-1; i < j; i, j = i+1, j-1 {
		reversed100[i], reversed100[j] = reversed100[j], reversed100[i]
	}
	tests := []struct {
		name string
		bins []SeriesBin
		want Summary
	}{
		{name: "empty", bins: nil, want: Summary{}},
		{
			// Rates 2, 6, 4 bps; n = 3 < 20 drops nothing: p95 = max = 6.
			// avg = 12/3 = 4; volume 75+225+150 = 450.
			name: "n=3 p95 is the peak",
			bins: bins5m(t0, 75, 225, 150),
			want: Summary{PeakBps: 6, PeakAt: minutes(5), P95Bps: 6, AvgBps: 4, VolumeBytes: 450, Bins: 3},
		},
		{
			// Rates 2, 4, ..., 38 bps; floor(0.05×19) = 0 dropped: p95 = 38.
			// avg = 2×(19×20/2)/19 = 20; volume 75×190 = 14250.
			name: "n=19 drops nothing",
			bins: bins5m(t0, ramp(19)...),
			want: Summary{PeakBps: 38, PeakAt: minutes(18 * 5), P95Bps: 38, AvgBps: 20, VolumeBytes: 14250, Bins: 19},
		},
		{
			// Rates 2, 4, ..., 40 bps; floor(0.05×20) = 1 dropped (40): p95 = 38.
			// avg = 2×210/20 = 21; volume 75×210 = 15750.
			name: "n=20 drops one",
			bins: bins5m(t0, ramp(20)...),
			want: Summary{PeakBps: 40, PeakAt: minutes(19 * 5), P95Bps: 38, AvgBps: 21, VolumeBytes: 15750, Bins: 20},
		},
		{
			// Rates 200, 198, ..., 2 bps (descending, so sorting matters);
			// floor(0.05×100) = 5 dropped (200..192): p95 = 190, the 95th
			// smallest. avg = 2×5050/100 = 101; volume 75×5050 = 378750.
			name: "n=100 drops five",
			bins: bins5m(t0, reversed100...),
			want: Summary{PeakBps: 200, PeakAt: t0, P95Bps: 190, AvgBps: 101, VolumeBytes: 378750, Bins: 100},
		},
		{
			// A day: rates 2, 4, ..., 576 bps; floor(0.05×288) = floor(14.4) = 14
			// dropped (576..550): p95 = 548 (sorted index 273 = 287−14, rate 2×274).
			// avg = 2×(288×289/2)/288 = 289; volume 75×41616 = 3121200.
			name: "n=288 drops fourteen",
			bins: bins5m(t0, ramp(288)...),
			want: Summary{PeakBps: 576, PeakAt: minutes(287 * 5), P95Bps: 548, AvgBps: 289, VolumeBytes: 3121200, Bins: 288},
		},
		{
			// 10 missing bins (0 bps) then rates 2, 4, ..., 20 bps. Sorted: ten
			// zeros, 2..20; floor(0.05×20) = 1 dropped (20): p95 = 18.
			// avg = 2×55/20 = 5.5; volume 75×55 = 4125.
			name: "missing bins count as zero",
			bins: bins5m(t0, append([]int{-1, -1, -1, -1, -1, -1, -1, -1, -1, -1}, ramp(10)...)...),
			want: Summary{PeakBps: 20, PeakAt: minutes(19 * 5), P95Bps: 18, AvgBps: 5.5, VolumeBytes: 4125, Bins: 20, MissingBins: 10},
		},
		{
			// Rates 4, 8, 2, 8, 8 bps: peak 8, earliest at bin 1; p95 = 8 (n < 20).
			// avg = 30/5 = 6; volume 150+300+75+300+300 = 1125.
			name: "ties take the earliest bin",
			bins: bins5m(t0, 150, 300, 75, 300, 300),
			want: Summary{PeakBps: 8, PeakAt: minutes(5), P95Bps: 8, AvgBps: 6, VolumeBytes: 1125, Bins: 5},
		},
		{
			// No traffic at all: every rate is 0, the peak is the first bin.
			name: "all missing",
			bins: bins5m(t0, -1, -1, -1),
			want: Summary{PeakAt: t0, Bins: 3, MissingBins: 3},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Summarize(tt.bins)
			if diff := cmp.Diff(got, tt.want, approx); diff != "" {
				t.Errorf("Summarize() (-got +want):\n%s", diff)
			}
		})
	}
}

func TestMetricFillSeries(t *testing.T) {
	samoa := time.FixedZone("WSST", 13*3600)
	tests := []struct {
		name     string
		points   []Point
		from, to time.Time
		step     time.Duration
		want     []SeriesBin
	}{
		{
			// Two points at 00:00 (other keys) sum to 300 bytes: 8×300/300 = 8 bps.
			// 00:10 has 150 bytes: 4 bps. 00:05 and 00:15 are gaps. The point at
			// 00:20 (= to) and the one before from are outside.
			name: "sum same time and fill gaps",
			points: []Point{
				{Time: at(t, "2024-01-01T00:00:00Z"), Key: 1, Bytes: 100, Packets: 1, Flows: 1},
				{Time: at(t, "2024-01-01T00:00:00Z"), Key: 2, Key2: 3, Bytes: 200, Packets: 2, Flows: 1},
				{Time: at(t, "2024-01-01T00:10:00Z"), Bytes: 150, Packets: 3, Flows: 2},
				{Time: at(t, "2024-01-01T00:20:00Z"), Bytes: 999},
				{Time: at(t, "2023-12-31T23:55:00Z"), Bytes: 999},
			},
			from: at(t, "2024-01-01T00:00:00Z"), to: at(t, "2024-01-01T00:20:00Z"), step: BinSize,
			want: []SeriesBin{
				{Start: at(t, "2024-01-01T00:00:00Z"), Bytes: 300, Packets: 3, Flows: 2, Bps: 8},
				{Start: at(t, "2024-01-01T00:05:00Z"), Missing: true},
				{Start: at(t, "2024-01-01T00:10:00Z"), Bytes: 150, Packets: 3, Flows: 2, Bps: 4},
				{Start: at(t, "2024-01-01T00:15:00Z"), Missing: true},
			},
		},
		{
			// 5-minute points of 450 bytes: 12 in the first hour (5400 bytes,
			// 8×5400/3600 = 12 bps), 6 in the second (2700 bytes, 6 bps).
			name:   "step 1h over 5-minute points",
			points: fiveMinutePoints(at(t, "2024-01-01T00:00:00Z"), 18, 450),
			from:   at(t, "2024-01-01T00:00:00Z"), to: at(t, "2024-01-01T02:00:00Z"), step: time.Hour,
			want: []SeriesBin{
				{Start: at(t, "2024-01-01T00:00:00Z"), Bytes: 5400, Packets: 12, Flows: 12, Bps: 12},
				{Start: at(t, "2024-01-01T01:00:00Z"), Bytes: 2700, Packets: 6, Flows: 6, Bps: 6},
			},
		},
		{
			// from 00:30 rounds down to the 00:00 bin; to 01:30 ends inside the
			// 01:00 bin, which is kept. 900 bytes per hour: 8×900/3600 = 2 bps.
			name: "unaligned bounds keep the overlapping bins",
			points: []Point{
				{Time: at(t, "2024-01-01T00:05:00Z"), Bytes: 900},
			},
			from: at(t, "2024-01-01T00:30:00Z"), to: at(t, "2024-01-01T01:30:00Z"), step: time.Hour,
			want: []SeriesBin{
				{Start: at(t, "2024-01-01T00:00:00Z"), Bytes: 900, Bps: 2},
				{Start: at(t, "2024-01-01T01:00:00Z"), Missing: true},
			},
		},
		{
			// Samoa's 2024-01-02 00:00 (+13:00) is 2024-01-01 11:00 UTC; a day
			// step aligns to UTC midnight, so the bin starts 2024-01-01 00:00 UTC.
			// 10800 bytes a day: 8×10800/86400 = 1 bps.
			name: "bins are UTC and epoch aligned",
			points: []Point{
				{Time: time.Date(2024, 1, 2, 0, 0, 0, 0, samoa), Bytes: 10800},
			},
			from: time.Date(2024, 1, 2, 0, 0, 0, 0, samoa), to: time.Date(2024, 1, 2, 12, 0, 0, 0, samoa), step: 24 * time.Hour,
			want: []SeriesBin{
				{Start: at(t, "2024-01-01T00:00:00Z"), Bytes: 10800, Bps: 1},
			},
		},
		{
			name: "zero step", step: 0,
			from: at(t, "2024-01-01T00:00:00Z"), to: at(t, "2024-01-01T01:00:00Z"),
		},
		{
			name: "empty range", step: BinSize,
			from: at(t, "2024-01-01T00:00:00Z"), to: at(t, "2024-01-01T00:00:00Z"),
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := FillSeries(tt.points, tt.from, tt.to, tt.step)
			if diff := cmp.Diff(got, tt.want, approx); diff != "" {
				t.Errorf("FillSeries() (-got +want):\n%s", diff)
			}
		})
	}
}

// fiveMinutePoints returns n points 5 minutes apart from start, each of bytes
// bytes, one packet and one flow.
func fiveMinutePoints(start time.Time, n int, bytes uint64) []Point {
	out := make([]Point, n)
	for i := range out {
		out[i] = Point{Time: start.Add(time.Duration(i) * BinSize), Bytes: bytes, Packets: 1, Flows: 1}
	}
	return out
}

func TestMetricFillSeriesByKey(t *testing.T) {
	from, to := at(t, "2024-01-01T00:00:00Z"), at(t, "2024-01-01T00:10:00Z")
	points := []Point{
		{Time: from, Key: 64500, Bytes: 75},
		{Time: from.Add(BinSize), Key: 64500, Bytes: 150},
		{Time: from.Add(BinSize), Key: 64501, Key2: 64500, Bytes: 300},
	}
	// 75 bytes = 2 bps, 150 = 4 bps, 300 = 8 bps.
	want := map[SeriesKey][]SeriesBin{
		{Key: 64500}: {
			{Start: from, Bytes: 75, Bps: 2},
			{Start: from.Add(BinSize), Bytes: 150, Bps: 4},
		},
		{Key: 64501, Key2: 64500}: {
			{Start: from, Missing: true},
			{Start: from.Add(BinSize), Bytes: 300, Bps: 8},
		},
	}
	got := FillSeriesByKey(points, from, to, BinSize)
	if diff := cmp.Diff(got, want, approx); diff != "" {
		t.Errorf("FillSeriesByKey() (-got +want):\n%s", diff)
	}
}

// TestMetricMonthSummary fills whole months of 5-minute bins and checks the
// bins exactly at from and just before to.
func TestMetricMonthSummary(t *testing.T) {
	tests := []struct {
		month  string
		points []Point
		want   Summary
	}{
		{
			// March: 31×288 = 8928 bins. 300 bytes in the bin at from (8 bps),
			// 600 in the last bin, 23:55 on the 31st (16 bps); the point at to
			// (April 1st) and the one before from are not counted.
			// p95: floor(0.05×8928) = 446 dropped, sorted index 8481 is 0.
			// avg = (8+16)/8928.
			month: "2024-03",
			points: []Point{
				{Time: at(t, "2024-02-29T23:55:00Z"), Bytes: 999},
				{Time: at(t, "2024-03-01T00:00:00Z"), Bytes: 300},
				{Time: at(t, "2024-03-31T23:55:00Z"), Bytes: 600},
				{Time: at(t, "2024-04-01T00:00:00Z"), Bytes: 999},
			},
			want: Summary{
				PeakBps: 16, PeakAt: at(t, "2024-03-31T23:55:00Z"), AvgBps: 24.0 / 8928,
				VolumeBytes: 900, Bins: 8928, MissingBins: 8926,
			},
		},
		{
			// Leap February: 29×288 = 8352 bins; the 29th is in the month.
			// 750 bytes at 23:55 on the 29th: 20 bps. avg = 20/8352.
			month:  "2024-02",
			points: []Point{{Time: at(t, "2024-02-29T23:55:00Z"), Bytes: 750}},
			want: Summary{
				PeakBps: 20, PeakAt: at(t, "2024-02-29T23:55:00Z"), AvgBps: 20.0 / 8352,
				VolumeBytes: 750, Bins: 8352, MissingBins: 8351,
			},
		},
		{
			// Common February: 28×288 = 8064 bins, all missing; March 1st is out.
			month:  "2023-02",
			points: []Point{{Time: at(t, "2023-03-01T00:00:00Z"), Bytes: 750}},
			want:   Summary{PeakAt: at(t, "2023-02-01T00:00:00Z"), Bins: 8064, MissingBins: 8064},
		},
	}
	for _, tt := range tests {
		t.Run(tt.month, func(t *testing.T) {
			from, to, err := MonthRange(tt.month)
			if err != nil {
				t.Fatal(err)
			}
			bins := FillSeries(tt.points, from, to, BinSize)
			if diff := cmp.Diff(Summarize(bins), tt.want, approx); diff != "" {
				t.Errorf("Summarize(FillSeries()) (-got +want):\n%s", diff)
			}
		})
	}
}

func TestMetricMonthRange(t *testing.T) {
	tests := []struct {
		month    string
		from, to string
		wantErr  string
	}{
		{month: "2024-02", from: "2024-02-01T00:00:00Z", to: "2024-03-01T00:00:00Z"},
		{month: "2023-02", from: "2023-02-01T00:00:00Z", to: "2023-03-01T00:00:00Z"},
		{month: "2024-12", from: "2024-12-01T00:00:00Z", to: "2025-01-01T00:00:00Z"},
		{month: "2024-13", wantErr: `month: "2024-13" is not a month in YYYY-MM form such as 2024-02`},
		{month: "2024-2", wantErr: `month: "2024-2" is not a month in YYYY-MM form such as 2024-02`},
		{month: "24-02", wantErr: `month: "24-02" is not a month in YYYY-MM form such as 2024-02`},
		{month: "2024-02-01", wantErr: `month: "2024-02-01" is not a month in YYYY-MM form such as 2024-02`},
		{month: "", wantErr: `month: "" is not a month in YYYY-MM form such as 2024-02`},
	}
	for _, tt := range tests {
		t.Run(tt.month, func(t *testing.T) {
			from, to, err := MonthRange(tt.month)
			if tt.wantErr != "" {
				if err == nil || err.Error() != tt.wantErr {
					t.Fatalf("MonthRange(%q) error = %v, want %s", tt.month, err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			got := []time.Time{from, to}
			want := []time.Time{at(t, tt.from), at(t, tt.to)}
			if diff := cmp.Diff(got, want); diff != "" {
				t.Errorf("MonthRange(%q) (-got +want):\n%s", tt.month, diff)
			}
		})
	}
}

func TestMetricLocalShare(t *testing.T) {
	type result struct {
		Share float64
		OK    bool
	}
	tests := []struct {
		name            string
		viaIXP, transit uint64
		want            result
	}{
		{name: "no traffic", want: result{Share: 0, OK: false}},
		{name: "3 of 4", viaIXP: 3, transit: 1, want: result{Share: 0.75, OK: true}},
		{name: "all transit", transit: 5, want: result{Share: 0, OK: true}},
		{name: "all ixp", viaIXP: 5, want: result{Share: 1, OK: true}},
		// Near the uint64 limit the sum must not wrap: max/(max+max) = 0.5.
		{name: "no overflow", viaIXP: ^uint64(0), transit: ^uint64(0), want: result{Share: 0.5, OK: true}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			share, ok := LocalShare(tt.viaIXP, tt.transit)
			if diff := cmp.Diff(result{Share: share, OK: ok}, tt.want, approx); diff != "" {
				t.Errorf("LocalShare(%d, %d) (-got +want):\n%s", tt.viaIXP, tt.transit, diff)
			}
		})
	}
}

func TestMetricSavings(t *testing.T) {
	param := func(value, low, high float64, source string) SavingsParam {
		return SavingsParam{Value: value, Low: low, High: high, Source: source}
	}
	tests := []struct {
		name string
		in   SavingsInput
		want SavingsResult
	}{
		{
			// B95 = 250 Mbps, Bpeak = 400 Mbps, margin 2.0 − 0.5 = 1.5 USD/Mbps.
			// p95: 1.0×250×1.5 = 375; low 0.8×250×(1.5−1.0) = 100;
			// high 1.0×250×(3.0−0.25) = 687.5.
			// peak: 1.0×400×1.5 = 600; low 0.8×400×0.5 = 160; high 400×2.75 = 1100.
			name: "band",
			in: SavingsInput{
				Month: "2024-03", P95Bps: 250e6, PeakBps: 400e6,
				TransitPrice: param(2.0, 1.5, 3.0, "analytics.savings.transit_price"),
				IXPCost:      param(0.5, 0.25, 1.0, "analytics.savings.ixp_cost"),
				Alpha:        param(1.0, 0.8, 1.0, "analytics.savings.alpha"),
			},
			want: SavingsResult{
				P95Mbps: 250, PeakMbps: 400, MarginUSD: 1.5,
				P95USD: 375, P95Band: SavingsBand{LowUSD: 100, HighUSD: 687.5},
				PeakUSD: 600, PeakBand: SavingsBand{LowUSD: 160, HighUSD: 1100},
			},
		},
		{
			// margin 1.0 − 0.9 = 0.1: p95 250×0.1 = 25, peak 400×0.1 = 40.
			// low 250×(0.8−1.2) = −100 → 0, peak low 400×(−0.4) → 0;
			// high 250×(1.5−0.5) = 250, peak high 400×1.0 = 400.
			name: "low end clamped",
			in: SavingsInput{
				Month: "2024-03", P95Bps: 250e6, PeakBps: 400e6,
				TransitPrice: param(1.0, 0.8, 1.5, "t"),
				IXPCost:      param(0.9, 0.5, 1.2, "i"),
				Alpha:        param(1, 1, 1, "a"),
			},
			want: SavingsResult{
				P95Mbps: 250, PeakMbps: 400, MarginUSD: 0.1,
				P95USD: 25, P95Band: SavingsBand{LowUSD: 0, HighUSD: 250},
				PeakUSD: 40, PeakBand: SavingsBand{LowUSD: 0, HighUSD: 400},
			},
		},
		{
			// margin 0.5 − 1.0 = −0.5: 250×−0.5 = −125 → 0, 400×−0.5 → 0;
			// low 250×(0.4−1.2) → 0; high 250×(0.6−0.8) = −50 → 0; peak likewise.
			name: "negative margin clamped to zero",
			in: SavingsInput{
				Month: "2024-03", P95Bps: 250e6, PeakBps: 400e6,
				TransitPrice: param(0.5, 0.4, 0.6, "t"),
				IXPCost:      param(1.0, 0.8, 1.2, "i"),
				Alpha:        param(1, 1, 1, "a"),
			},
			want: SavingsResult{P95Mbps: 250, PeakMbps: 400, MarginUSD: -0.5},
		},
		{
			name: "no traffic",
			in: SavingsInput{
				Month:        "2024-03",
				TransitPrice: param(2, 1, 3, "t"), IXPCost: param(0.5, 0.5, 0.5, "i"), Alpha: param(1, 1, 1, "a"),
			},
			want: SavingsResult{MarginUSD: 1.5},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.want.Input = tt.in
			tt.want.Method = savingsMethod
			got := Savings(tt.in)
			if diff := cmp.Diff(got, tt.want, approx); diff != "" {
				t.Errorf("Savings() (-got +want):\n%s", diff)
			}
		})
	}
}
