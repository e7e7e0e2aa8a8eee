package report

import (
	"context"
	"time"

	"github.com/ixpd/ixpd/analytics"
)

// historyMonths is how many months the monthly table shows, the report's
// month included.
const historyMonths = 12

// Traffic is the month's IXP traffic day by day and hour by hour, and the
// monthly figures of the report's month and the months before it.
type Traffic struct {
	Days   []Day      `json:"days"`
	Hours  []Hour     `json:"hours"`
	Months []MonthRow `json:"months"`
}

// Day is the IXP traffic of one UTC day.
type Day struct {
	Date        string    `json:"date"` // YYYY-MM-DD, UTC
	PeakBps     float64   `json:"peak_bps"`
	PeakAt      time.Time `json:"peak_at"`
	AvgBps      float64   `json:"avg_bps"`
	VolumeBytes uint64    `json:"volume_bytes"`
	MissingBins int       `json:"missing_bins"`
	NoData      bool      `json:"no_data"` // every bin of the day is missing
}

// Hour is the highest 5-minute rate of one hour.
type Hour struct {
	Start   time.Time `json:"start"` // UTC
	PeakBps float64   `json:"peak_bps"`
}

// MonthRow is one month of the monthly table.
type MonthRow struct {
	Month         string  `json:"month"`
	PeakBps       float64 `json:"peak_bps"`
	P95Bps        float64 `json:"p95_bps"`
	AvgBps        float64 `json:"avg_bps"`
	VolumeBytes   uint64  `json:"volume_bytes"`
	SavingsUSDP95 float64 `json:"savings_usd_p95"`
	NoData        bool    `json:"no_data"` // every bin of the month is missing
}

// familyNames names the keys of analytics.GroupFamily.
var familyNames = map[uint64]string{4: "IPv4", 6: "IPv6", 0: "other"}

// formula is the savings formula in one line.
const formula = "savings_usd = alpha × B_mbps × (transit_price_usd_per_mbps_month − ixp_cost_usd_per_mbps_month), B = p95 or peak"

// buildTraffic fills Summary, Savings and Traffic; false when the month
// has no IXP traffic at all.
func (r *Report) buildTraffic(ctx context.Context, st analytics.Store, cfg Config) (bool, error) {
	bins, fams, err := analytics.IXPTrafficByFamily(ctx, st, r.From, r.To)
	if err != nil {
		return false, err
	}
	sum := analytics.Summarize(bins)
	r.Summary = Summary{PeakBps: sum.PeakBps, PeakAt: sum.PeakAt, P95Bps: sum.P95Bps, AvgBps: sum.AvgBps,
		VolumeBytes: sum.VolumeBytes, Bins: sum.Bins, MissingBins: sum.MissingBins}
	for _, f := range fams {
		r.Summary.Families = append(r.Summary.Families, FamilySummary{Family: f.Family, Name: familyNames[f.Family],
			PeakBps: f.PeakBps, PeakAt: f.PeakAt, P95Bps: f.P95Bps, AvgBps: f.AvgBps, VolumeBytes: f.VolumeBytes})
	}
	in := savingsInput(cfg, r.Month)
	in.P95Bps, in.PeakBps = sum.P95Bps, sum.PeakBps
	r.Savings = newSavings(analytics.Savings(in), sum)
	r.Traffic.Days = days(bins)
	r.Traffic.Hours = hours(bins)
	if r.Traffic.Months, err = monthRows(ctx, st, cfg, r.From, MonthRow{Month: r.Month, PeakBps: sum.PeakBps,
		P95Bps: sum.P95Bps, AvgBps: sum.AvgBps, VolumeBytes: sum.VolumeBytes, SavingsUSDP95: r.Savings.SavingsUSDP95,
		NoData: sum.MissingBins == sum.Bins}); err != nil {
		return false, err
	}
	return sum.MissingBins < sum.Bins, nil
}

// savingsInput is the savings input of month without its basis.
func savingsInput(cfg Config, month string) analytics.SavingsInput {
	return analytics.SavingsInput{Month: month, TransitPrice: cfg.TransitPrice, IXPCost: cfg.IXPCost, Alpha: cfg.Alpha}
}

// newSavings gives res the shape of GET /api/v1/savings.
func newSavings(res analytics.SavingsResult, sum analytics.Summary) Savings {
	return Savings{Month: res.Input.Month, P95Mbps: res.P95Mbps, PeakMbps: res.PeakMbps,
		TransitPrice: res.Input.TransitPrice.Value, IXPCost: res.Input.IXPCost.Value, Alpha: res.Input.Alpha.Value,
		SavingsUSDP95: res.P95USD, SavingsUSDPeak: res.PeakUSD,
		Band:     Band{LowUSD: res.P95Band.LowUSD, HighUSD: res.P95Band.HighUSD},
		BandPeak: Band{LowUSD: res.PeakBand.LowUSD, HighUSD: res.PeakBand.HighUSD},
		Inputs: Inputs{TransitPrice: res.Input.TransitPrice, IXPCost: res.Input.IXPCost, Alpha: res.Input.Alpha,
			Bins: sum.Bins, MissingBins: sum.MissingBins},
		Method: res.Method, Formula: formula}
}

// days summarizes the month's 5-minute bins per UTC day.
func days(bins []analytics.SeriesBin) []Day {
	out := []Day{}
	for len(bins) > 0 {
		dayStart := bins[0].Start.Truncate(24 * time.Hour)
		n := 1
		for n < len(bins) && bins[n].Start.Truncate(24*time.Hour).Equal(dayStart) {
			n++
		}
		s := analytics.Summarize(bins[:n])
		out = append(out, Day{Date: dayStart.Format(time.DateOnly), PeakBps: s.PeakBps, PeakAt: s.PeakAt, AvgBps: s.AvgBps,
			VolumeBytes: s.VolumeBytes, MissingBins: s.MissingBins, NoData: s.MissingBins == s.Bins})
		bins = bins[n:]
	}
	return out
}

// hours is the highest 5-minute rate of each hour of the month.
func hours(bins []analytics.SeriesBin) []Hour {
	out := []Hour{}
	for _, b := range bins {
		h := b.Start.Truncate(time.Hour)
		if n := len(out); n > 0 && out[n-1].Start.Equal(h) {
			out[n-1].PeakBps = max(out[n-1].PeakBps, b.Bps)
			continue
		}
		out = append(out, Hour{Start: h, PeakBps: b.Bps})
	}
	return out
}

// monthRows is the monthly table: the historyMonths−1 months before the
// one starting at from, oldest first, then this month's row.
func monthRows(ctx context.Context, st analytics.Store, cfg Config, from time.Time, this MonthRow) ([]MonthRow, error) {
	out := make([]MonthRow, 0, historyMonths)
	for k := historyMonths - 1; k > 0; k-- {
		month := from.AddDate(0, -k, 0).Format("2006-01")
		res, sum, err := analytics.MonthSavings(ctx, st, savingsInput(cfg, month))
		if err != nil {
			return nil, err
		}
		out = append(out, MonthRow{Month: month, PeakBps: sum.PeakBps, P95Bps: sum.P95Bps, AvgBps: sum.AvgBps,
			VolumeBytes: sum.VolumeBytes, SavingsUSDP95: res.P95USD, NoData: sum.MissingBins == sum.Bins})
	}
	return append(out, this), nil
}
