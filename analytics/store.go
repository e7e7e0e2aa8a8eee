// Package analytics stores flows and answers time-series questions about
// them. Two stores implement Store: DuckDB (embedded, the default) and
// ClickHouse (production and scale-out). Metric maths lives here, in Go,
// once, over what either store returns.
package analytics

import (
	"context"
	"errors"
	"time"

	"github.com/ixpd/ixpd/flow"
)

// BinSize is the width of a rollup bin; bins are aligned to the epoch, UTC.
const BinSize = 5 * time.Minute

// ErrUnavailable wraps errors that mean the store cannot be reached now;
// the flow pipeline spools and retries on them.
var ErrUnavailable = errors.New("store unavailable")

// Store is what both backends implement.
type Store interface {
	LatencyStore
	// Migrate creates or upgrades the schema (versioned migrations).
	Migrate(ctx context.Context) error
	// WriteFlows stores raw flows and updates the 5-minute rollups. It
	// either stores the whole batch or none of it. A country longer than
	// two bytes (flow.Flow wants ISO 3166-1 alpha-2 or "") fails the whole
	// batch with an error that does not wrap ErrUnavailable.
	WriteFlows(ctx context.Context, flows []flow.Flow) error
	// Totals sums raw flows received in [From, To).
	Totals(ctx context.Context, q TotalsQuery) (Totals, error)
	// Series reads the rollups in bins of q.Step (a positive multiple of
	// BinSize, else an error) aligned to the Unix epoch, grouped by
	// q.GroupBy: it sums the 5-minute bins whose start is in [From, To).
	// Points are in UTC and sorted by Time, Key, Key2. Bins without
	// traffic are absent; the caller fills gaps.
	Series(ctx context.Context, q SeriesQuery) ([]Point, error)
	// ApplyRetention drops whole partitions older than the retention
	// periods, counted from now: the UTC days that end at or before
	// now − r.Raw (raw flows) and now − r.Rollup (rollups and latency
	// bins). The day that holds a cutoff is kept.
	ApplyRetention(ctx context.Context, now time.Time, r Retention) error
	// Close releases the store.
	Close() error
}

// LatencyStore keeps latency bins (see LatencyBin). Both stores implement
// it; ApplyRetention drops latency bins with the rollups.
type LatencyStore interface {
	// WriteLatency stores bins; a bin for a (Target, Time) already stored
	// replaces it, and so does a later bin of the same batch. A bin whose
	// Time is not the start of a BinSize bin or is outside 1970–2106, or
	// whose Buckets and Counts differ in length, fails the whole batch
	// with an error that does not wrap ErrUnavailable.
	WriteLatency(ctx context.Context, bins []LatencyBin) error
	// Latency reads the bins whose start is in [From, To), of q.Targets
	// (all when empty), sorted by Target (bytewise), then Time (UTC). An
	// empty histogram comes back as nil Buckets and Counts.
	Latency(ctx context.Context, q LatencyQuery) ([]LatencyBin, error)
}

// TotalsQuery selects raw flows.
type TotalsQuery struct {
	From, To time.Time
	Exporter string // "" for all; else the exporter address as netip.Addr.String prints it
}

// Totals are sums over raw flows.
type Totals struct {
	Flows   uint64
	Bytes   uint64
	Packets uint64
}

// GroupBy is the dimension a series is split by.
type GroupBy string

// Series dimensions.
const (
	GroupNone      GroupBy = "none"
	GroupMember    GroupBy = "member"     // Key: source member ASN
	GroupPair      GroupBy = "pair"       // Key: source member ASN, Key2: destination member ASN
	GroupFamily    GroupBy = "family"     // Key: 4 (EType 0x0800), 6 (0x86dd), 0 (any other)
	GroupPathClass GroupBy = "path_class" // Key: flow.PathClass
)

// SeriesQuery selects rollup bins.
type SeriesQuery struct {
	From, To time.Time
	Step     time.Duration
	GroupBy  GroupBy
	// IXPExchanged keeps only traffic between two members across the
	// exchange's switches; Domestic keeps only domestic traffic; Role keeps
	// one exporter role (flow.RoleUnknown: all).
	IXPExchanged bool
	Domestic     bool
	Role         flow.Role
	// PathClass keeps one path class of member-edge flows
	// (flow.PathUnknown: all).
	PathClass flow.PathClass
}

// Point is one bin of a series.
type Point struct {
	Time    time.Time // start of the bin, UTC
	Key     uint64
	Key2    uint64
	Bytes   uint64
	Packets uint64
	Flows   uint64
}

// Retention is how long data is kept.
type Retention struct {
	Raw    time.Duration // default 30 days
	Rollup time.Duration // default 5 years
}

// DefaultRetention is 30 days of raw flows and 5 years of rollups.
var DefaultRetention = Retention{Raw: 30 * 24 * time.Hour, Rollup: 5 * 365 * 24 * time.Hour}

// Bin returns the start of the rollup bin holding t.
func Bin(t time.Time) time.Time { return t.UTC().Truncate(BinSize) }
