// Package report builds the regulator's monthly report of an exchange:
// traffic (peak, p95, volume, daily peaks and the previous months), avoided
// transit cost with its band, local share, members and routing, latency
// via the exchange and via transit, methodology, sources and a data
// dictionary. It reads every figure from an analytics.Store through the
// same analytics functions the API uses, so the report and the API agree.
//
// A Report renders as one self-contained printable HTML file (WriteHTML),
// as long-form CSV (WriteCSV) and as JSON (WriteJSON); all three carry the
// same figures. In the HTML, each key figure's element has a data-figure
// attribute with the figure's JSON path (summary figures by their bare
// name, such as "peak_bps"; others such as "savings.savings_usd_p95") and a
// data-value attribute with the raw number as the CSV has it.
package report

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"time"

	"github.com/ixpd/ixpd/analytics"
	"github.com/ixpd/ixpd/flow"
)

// Config is what the report needs besides the store.
type Config struct {
	// Exchange names the exchange on the cover.
	Exchange Exchange
	// Location is the zone times are shown in; nil is UTC. Month and day
	// bounds are UTC whatever it is.
	Location *time.Location
	// TransitPrice, IXPCost (USD per Mbps per month) and Alpha (0 to 1)
	// are the inputs of the savings estimate, as the API takes them.
	TransitPrice, IXPCost, Alpha analytics.SavingsParam
	// Targets are the latency probe targets.
	Targets []analytics.LatencyTarget
	// Members are the exchange's members (from the members file).
	Members []Member
	// Sources are the data the figures rest on, with their dates.
	Sources []Source
	// Version is the ixpd version that builds the report.
	Version string
}

// Exchange names the exchange.
type Exchange struct {
	Name    string `json:"name"`
	Country string `json:"country"` // ISO 3166-1 alpha-2
	City    string `json:"city"`
}

// Member is one member of the exchange.
type Member struct {
	ASN  uint32
	Name string
	// EdgeExporter says the member's border router exports flows to
	// ixpd (a member_edge exporter), so its local share can be computed.
	EdgeExporter bool
}

// Source is one set of data the figures rest on.
type Source struct {
	Name   string    // e.g. "Members file"
	Detail string    // e.g. the file and its version
	Date   time.Time // when the data was made or fetched; zero: unknown
}

// MarshalJSON writes the date as null when it is unknown.
func (s Source) MarshalJSON() ([]byte, error) {
	return json.Marshal(struct {
		Name   string     `json:"name"`
		Detail string     `json:"detail"`
		Date   *time.Time `json:"date"`
	}{s.Name, s.Detail, timePtr(s.Date)})
}

// Report is the monthly report of one UTC calendar month.
type Report struct {
	Month       string    `json:"month"` // YYYY-MM
	From        time.Time `json:"from"`  // first instant of the month, UTC
	To          time.Time `json:"to"`    // first instant of the next month, UTC
	GeneratedAt time.Time `json:"generated_at"`
	// Partial is true when the month had not ended at GeneratedAt.
	Partial bool `json:"partial"`
	// TimeZone is the IANA name of the zone times are shown in.
	TimeZone string   `json:"time_zone"`
	Version  string   `json:"version"`
	Exchange Exchange `json:"exchange"`
	// NoData is true when the store holds nothing for the month: no IXP
	// or domestic traffic, no session snapshot and no latency bin.
	NoData     bool       `json:"no_data"`
	Summary    Summary    `json:"summary"`
	Savings    Savings    `json:"savings"`
	LocalShare LocalShare `json:"local_share"`
	Traffic    Traffic    `json:"traffic"`
	Routing    Routing    `json:"routing"`
	Latency    Latency    `json:"latency"`
	Sources    []Source   `json:"sources"`
	// Methodology says how the figures were made and what they cannot
	// tell.
	Methodology []Note `json:"methodology"`
	// Dictionary defines every figure by its JSON and CSV name.
	Dictionary []Term `json:"dictionary"`

	loc *time.Location
}

// Note is one paragraph of the methodology.
type Note struct {
	Title string `json:"title"`
	Text  string `json:"text"`
}

// Term is one entry of the data dictionary.
type Term struct {
	Name       string `json:"name"`
	Unit       string `json:"unit"`
	Definition string `json:"definition"`
}

// Summary is peak, p95, average and volume of the month's IXP traffic, as
// GET /api/v1/traffic/summary gives them for the month, and its split by
// address family.
type Summary struct {
	PeakBps     float64         `json:"peak_bps"`
	PeakAt      time.Time       `json:"peak_at"`
	P95Bps      float64         `json:"p95_bps"`
	AvgBps      float64         `json:"avg_bps"`
	VolumeBytes uint64          `json:"volume_bytes"`
	Bins        int             `json:"bins"`
	MissingBins int             `json:"missing_bins"`
	Families    []FamilySummary `json:"families"`
}

// FamilySummary is the Summary of one address family.
type FamilySummary struct {
	Family      uint64    `json:"family"` // 4, 6, or 0 for other EtherTypes
	Name        string    `json:"name"`
	PeakBps     float64   `json:"peak_bps"`
	PeakAt      time.Time `json:"peak_at"`
	P95Bps      float64   `json:"p95_bps"`
	AvgBps      float64   `json:"avg_bps"`
	VolumeBytes uint64    `json:"volume_bytes"`
}

// Savings is the avoided transit cost of the month with the field names
// of GET /api/v1/savings.
type Savings struct {
	Month          string  `json:"month"`
	P95Mbps        float64 `json:"p95_mbps"`
	PeakMbps       float64 `json:"peak_mbps"`
	TransitPrice   float64 `json:"transit_price_usd_per_mbps_month"`
	IXPCost        float64 `json:"ixp_cost_usd_per_mbps_month"`
	Alpha          float64 `json:"alpha"`
	SavingsUSDP95  float64 `json:"savings_usd_p95"`
	SavingsUSDPeak float64 `json:"savings_usd_peak"`
	Band           Band    `json:"band"`
	BandPeak       Band    `json:"band_peak"`
	Inputs         Inputs  `json:"inputs"`
	Method         string  `json:"method"`
	Formula        string  `json:"formula"`
}

// Band is a low and high estimate in USD per month.
type Band struct {
	LowUSD  float64 `json:"low_usd"`
	HighUSD float64 `json:"high_usd"`
}

// Inputs are the savings inputs with their ranges and sources, and the
// bins the basis came from.
type Inputs struct {
	TransitPrice analytics.SavingsParam `json:"transit_price"`
	IXPCost      analytics.SavingsParam `json:"ixp_cost"`
	Alpha        analytics.SavingsParam `json:"alpha"`
	Bins         int                    `json:"bins"`
	MissingBins  int                    `json:"missing_bins"`
}

// LocalShare is the month's domestic traffic via the exchange and via
// transit, as GET /api/v1/domestic gives it for the month.
type LocalShare struct {
	Overall analytics.DomesticShare `json:"overall"`
	Members []MemberShare           `json:"members"`
}

// MemberShare is one member's local share.
type MemberShare struct {
	ASN  uint32 `json:"asn"`
	Name string `json:"name"`
	analytics.DomesticShare
}

// Build reads the figures of month ("YYYY-MM", a UTC calendar month) from
// st. A month without data, past or future, builds a report that says so.
// A bad month gives an error that names month.
func Build(ctx context.Context, st analytics.Store, cfg Config, month string, now time.Time) (*Report, error) {
	from, to, err := analytics.MonthRange(month)
	if err != nil {
		return nil, err
	}
	loc := cfg.Location
	if loc == nil {
		loc = time.UTC
	}
	r := &Report{Month: month, From: from, To: to, GeneratedAt: now.UTC(), Partial: now.Before(to),
		TimeZone: loc.String(), Version: cfg.Version, Exchange: cfg.Exchange, Sources: slices.Clone(cfg.Sources), loc: loc}
	if r.Sources == nil {
		r.Sources = []Source{}
	}
	hasTraffic, err := r.buildTraffic(ctx, st, cfg)
	if err != nil {
		return nil, fmt.Errorf("traffic of %s: %w", month, err)
	}
	hasDomestic, err := r.buildLocalShare(ctx, st, cfg)
	if err != nil {
		return nil, fmt.Errorf("domestic traffic of %s: %w", month, err)
	}
	if err := r.buildRouting(ctx, st, cfg); err != nil {
		return nil, fmt.Errorf("route-server sessions of %s: %w", month, err)
	}
	hasLatency, err := r.buildLatency(ctx, st, cfg)
	if err != nil {
		return nil, fmt.Errorf("latency of %s: %w", month, err)
	}
	r.NoData = !hasTraffic && !hasDomestic && r.Routing.Snapshots == 0 && !hasLatency
	r.Methodology = methodology(r, cfg)
	r.Dictionary = dictionary()
	return r, nil
}

// buildLocalShare fills LocalShare; false when no domestic traffic was
// seen.
func (r *Report) buildLocalShare(ctx context.Context, st analytics.Store, cfg Config) (bool, error) {
	ixpTotal, ixpBy, err := analytics.DomesticBytes(ctx, st, r.From, r.To, flow.PathViaIXP)
	if err != nil {
		return false, err
	}
	transitTotal, transitBy, err := analytics.DomesticBytes(ctx, st, r.From, r.To, flow.PathViaTransit)
	if err != nil {
		return false, err
	}
	anyEdge := slices.ContainsFunc(cfg.Members, func(m Member) bool { return m.EdgeExporter })
	r.LocalShare.Overall = analytics.NewDomesticShare(ixpTotal, transitTotal, anyEdge)
	r.LocalShare.Members = []MemberShare{}
	for _, m := range sortedMembers(cfg.Members) {
		r.LocalShare.Members = append(r.LocalShare.Members, MemberShare{ASN: m.ASN, Name: m.Name,
			DomesticShare: analytics.NewDomesticShare(ixpBy[m.ASN], transitBy[m.ASN], m.EdgeExporter)})
	}
	return ixpTotal > 0 || transitTotal > 0, nil
}

// sortedMembers returns members by ASN, each ASN once (the first entry).
func sortedMembers(members []Member) []Member {
	out := slices.Clone(members)
	slices.SortStableFunc(out, func(a, b Member) int { return cmp.Compare(a.ASN, b.ASN) })
	return slices.CompactFunc(out, func(a, b Member) bool { return a.ASN == b.ASN })
}

// memberNames maps ASNs to member names.
func memberNames(members []Member) map[uint32]string {
	out := make(map[uint32]string, len(members))
	for _, m := range members {
		if _, ok := out[m.ASN]; !ok {
			out[m.ASN] = m.Name
		}
	}
	return out
}

// WriteJSON writes the report as indented JSON.
func (r *Report) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(r)
}

func timePtr(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	return &t
}
