package api

import (
	"errors"
	"fmt"
	"math"
	"net/http"
	"time"

	"github.com/gin-gonic/gin"
	"go.yaml.in/yaml/v3"

	"github.com/ixpd/ixpd/analytics"
)

// Savings configures the avoided-transit-cost estimate (config key
// "savings"). Each input is a value, or {value, low, high, source}.
type Savings struct {
	TransitPrice SavingsInput `yaml:"transit_price_usd_per_mbps_month"`
	IXPCost      SavingsInput `yaml:"ixp_cost_usd_per_mbps_month"`
	Alpha        SavingsInput `yaml:"alpha"`
}

// SavingsInput is one input of the estimate with the range its band uses
// and where the figure comes from (free text, echoed in every answer).
type SavingsInput struct {
	Value  float64 `yaml:"value"`
	Low    float64 `yaml:"low"`
	High   float64 `yaml:"high"`
	Source string  `yaml:"source"`
}

// UnmarshalYAML accepts a bare number (low = high = value) or the mapping.
func (s *SavingsInput) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind == yaml.ScalarNode {
		var v float64
		if err := n.Decode(&v); err != nil {
			return err
		}
		*s = SavingsInput{Value: v, Low: v, High: v}
		return nil
	}
	type plain SavingsInput
	var p plain
	if err := n.Decode(&p); err != nil {
		return err
	}
	*s = SavingsInput(p)
	return nil
}

// DefaultSavings has no prices (the operator must give them) and alpha 1.
func DefaultSavings() Savings {
	return Savings{Alpha: SavingsInput{Value: 1, Low: 1, High: 1, Source: "default: all IXP traffic would otherwise cross transit"}}
}

// Validate checks the inputs; errors name the key below "savings".
func (s Savings) Validate() error {
	var errs []error
	for _, in := range []struct {
		key string
		v   SavingsInput
		max float64
	}{{"transit_price_usd_per_mbps_month", s.TransitPrice, math.Inf(1)}, {"ixp_cost_usd_per_mbps_month", s.IXPCost, math.Inf(1)}, {"alpha", s.Alpha, 1}} {
		if in.v.Value < 0 || in.v.Low < 0 || in.v.High < 0 || in.v.Value > in.max || in.v.High > in.max {
			errs = append(errs, fmt.Errorf("savings.%s: values must be between 0 and %v", in.key, in.max))
		}
		if in.v.Low > in.v.Value || in.v.Value > in.v.High {
			errs = append(errs, fmt.Errorf("savings.%s: want low <= value <= high, have %v <= %v <= %v", in.key, in.v.Low, in.v.Value, in.v.High))
		}
	}
	return errors.Join(errs...)
}

func (s SavingsInput) param(key string) analytics.SavingsParam {
	src := s.Source
	if src == "" {
		src = "config savings." + key
	}
	return analytics.SavingsParam{Value: s.Value, Low: s.Low, High: s.High, Source: src}
}

// Params are the three inputs of the estimate as the analytics package
// takes them, each with its source (the configuration key when the
// configuration gives none).
func (s Savings) Params() (transitPrice, ixpCost, alpha analytics.SavingsParam) {
	return s.TransitPrice.param("transit_price_usd_per_mbps_month"), s.IXPCost.param("ixp_cost_usd_per_mbps_month"),
		s.Alpha.param("alpha")
}

// savings answers GET /api/v1/savings?month=YYYY-MM: the month's avoided
// transit cost on the p95 and peak of IXP traffic, with its band and
// every input.
func (a *Component) savings(c *gin.Context) {
	st, ok := a.store(c)
	if !ok {
		return
	}
	month := c.Query("month")
	if month == "" {
		month = time.Now().UTC().AddDate(0, -1, 0).Format("2006-01") // the last full month
	}
	if _, _, err := analytics.MonthRange(month); err != nil {
		writeError(c, &badRequest{param: "month", err: errors.New(trimParam(err.Error(), "month"))})
		return
	}
	transit, ixpCost, alpha := a.savingsIn.Load().Params()
	res, sum, err := analytics.MonthSavings(c.Request.Context(), st, analytics.SavingsInput{Month: month,
		TransitPrice: transit, IXPCost: ixpCost, Alpha: alpha})
	if err != nil {
		writeError(c, err)
		return
	}
	c.JSON(http.StatusOK, gin.H{
		"month": month, "p95_mbps": res.P95Mbps, "peak_mbps": res.PeakMbps,
		"transit_price_usd_per_mbps_month": res.Input.TransitPrice.Value, "ixp_cost_usd_per_mbps_month": res.Input.IXPCost.Value,
		"alpha": res.Input.Alpha.Value, "savings_usd_p95": res.P95USD, "savings_usd_peak": res.PeakUSD,
		"band":      gin.H{"low_usd": res.P95Band.LowUSD, "high_usd": res.P95Band.HighUSD},
		"band_peak": gin.H{"low_usd": res.PeakBand.LowUSD, "high_usd": res.PeakBand.HighUSD},
		"inputs": gin.H{"transit_price": res.Input.TransitPrice, "ixp_cost": res.Input.IXPCost, "alpha": res.Input.Alpha,
			"bins": sum.Bins, "missing_bins": sum.MissingBins},
		"method": res.Method,
	})
}

// trimParam drops a leading "param: " from a message, since badRequest
// adds it.
func trimParam(msg, param string) string {
	if len(msg) > len(param)+2 && msg[:len(param)+2] == param+": " {
		return msg[len(param)+2:]
	}
	return msg
}
