package analytics

import (
	"context"
	"slices"
	"time"

	"github.com/ixpd/ixpd/flow"
)

// IXPTrafficQuery is the query for traffic across the exchange in
// [from, to): samples between two different members (each byte once, as
// only ingress samples are counted), summed in bins of step and split by
// group.
func IXPTrafficQuery(from, to time.Time, step time.Duration, group GroupBy) SeriesQuery {
	return SeriesQuery{From: from, To: to, Step: step, GroupBy: group, IXPExchanged: true}
}

// IXPTraffic returns the IXP traffic of [from, to) in BinSize bins with
// the gaps filled (see FillSeries): what Summarize takes for peak, p95,
// average and volume.
func IXPTraffic(ctx context.Context, st Store, from, to time.Time) ([]SeriesBin, error) {
	points, err := st.Series(ctx, IXPTrafficQuery(from, to, BinSize, GroupNone))
	if err != nil {
		return nil, err
	}
	return FillSeries(points, from, to, BinSize), nil
}

// FamilySummary is the Summary of one address family's traffic.
type FamilySummary struct {
	Family uint64 // the GroupFamily key: 4, 6, or 0 for other EtherTypes
	Summary
}

// IXPTrafficByFamily reads the IXP traffic of [from, to) once, in BinSize
// bins split by family, and returns the bins of the whole (as IXPTraffic)
// and the summaries of SummarizeFamilies.
func IXPTrafficByFamily(ctx context.Context, st Store, from, to time.Time) ([]SeriesBin, []FamilySummary, error) {
	points, err := st.Series(ctx, IXPTrafficQuery(from, to, BinSize, GroupFamily))
	if err != nil {
		return nil, nil, err
	}
	bins, fams := SummarizeFamilies(points, from, to)
	return bins, fams, nil
}

// SummarizeFamilies fills BinSize points grouped by family over
// [from, to): the bins of all families together, and the Summary of IPv4
// and IPv6 (always, in that order), then of any other family key with
// traffic.
func SummarizeFamilies(points []Point, from, to time.Time) ([]SeriesBin, []FamilySummary) {
	byFamily := FillSeriesByKey(points, from, to, BinSize)
	keys := []uint64{4, 6}
	var others []uint64
	for k := range byFamily {
		if k.Key != 4 && k.Key != 6 {
			others = append(others, k.Key)
		}
	}
	slices.Sort(others)
	fams := make([]FamilySummary, 0, len(keys)+len(others))
	for _, k := range append(keys, others...) {
		bins, ok := byFamily[SeriesKey{Key: k}]
		if !ok {
			bins = FillSeries(nil, from, to, BinSize)
		}
		fams = append(fams, FamilySummary{Family: k, Summary: Summarize(bins)})
	}
	return FillSeries(points, from, to, BinSize), fams
}

// MonthSavings computes the transit savings of in.Month from the month's
// IXP traffic: it sets in.P95Bps and in.PeakBps from the Summary of the
// month's BinSize bins, which it also returns. A bad month gives the
// error of MonthRange.
func MonthSavings(ctx context.Context, st Store, in SavingsInput) (SavingsResult, Summary, error) {
	from, to, err := MonthRange(in.Month)
	if err != nil {
		return SavingsResult{}, Summary{}, err
	}
	bins, err := IXPTraffic(ctx, st, from, to)
	if err != nil {
		return SavingsResult{}, Summary{}, err
	}
	sum := Summarize(bins)
	in.P95Bps, in.PeakBps = sum.P95Bps, sum.PeakBps
	return Savings(in), sum, nil
}

// DomesticBytes sums the domestic member-edge bytes of one path class in
// [from, to), in total and per member: the member whose router exported
// the flow is on one side of the pair (the other side is 0 or another
// member), and a flow between two members counts for both.
func DomesticBytes(ctx context.Context, st Store, from, to time.Time, pc flow.PathClass) (total uint64, byMember map[uint32]uint64, err error) {
	points, err := st.Series(ctx, SeriesQuery{From: from, To: to, Step: to.Sub(from).Truncate(BinSize),
		GroupBy: GroupPair, Domestic: true, Role: flow.RoleMemberEdge, PathClass: pc})
	if err != nil {
		return 0, nil, err
	}
	byMember = map[uint32]uint64{}
	for _, p := range points {
		total += p.Bytes
		if p.Key != 0 {
			byMember[uint32(p.Key)] += p.Bytes
		}
		if p.Key2 != 0 && p.Key2 != p.Key {
			byMember[uint32(p.Key2)] += p.Bytes
		}
	}
	return total, byMember, nil
}

// Why a DomesticShare has no local share.
const (
	NoteNoEdgeExporter = "no edge exporter: local share not computable"
	NoteNoDomestic     = "no domestic traffic seen in this range"
)

// DomesticShare is the domestic traffic of one member, or of the whole
// exchange, via the IXP and via transit, and its local share.
type DomesticShare struct {
	ViaIXPBytes     uint64 `json:"via_ixp_bytes"`
	ViaTransitBytes uint64 `json:"via_transit_bytes"`
	// LocalShare is nil when it cannot be told; Note then says why.
	LocalShare *float64 `json:"local_share"`
	Note       string   `json:"note,omitempty"`
}

// NewDomesticShare computes the local share of DESIGN.md; hasExporter
// says whether the member (or, overall, any member) has a member-edge
// exporter: without one the share is not computable.
func NewDomesticShare(viaIXP, viaTransit uint64, hasExporter bool) DomesticShare {
	d := DomesticShare{ViaIXPBytes: viaIXP, ViaTransitBytes: viaTransit}
	switch s, ok := LocalShare(viaIXP, viaTransit); {
	case !hasExporter:
		d.Note = NoteNoEdgeExporter
	case !ok:
		d.Note = NoteNoDomestic
	default:
		d.LocalShare = &s
	}
	return d
}
