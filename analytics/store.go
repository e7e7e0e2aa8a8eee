// Package analytics stores flows and answers time-series questions about
// them. Two stores implement Store: DuckDB (embedded, the default) and
// ClickHouse (production and scale-out). Metric maths lives here, in Go,
// once, over what either store returns.
package analytics

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"math"
	"slices"
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
	SessionStore
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
	// now − r.Raw (raw flows) and now − r.Rollup (rollups, latency bins
	// and session snapshots). The day that holds a cutoff is kept.
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

// SessionStore keeps periodic snapshots of the route server's sessions,
// so that reports can say how a past month went. ApplyRetention drops
// them with the rollups.
type SessionStore interface {
	// WriteSessions stores snapshots; a snapshot for a (Time, Address)
	// already stored replaces it, and so does a later one of the same
	// batch. A snapshot whose Time is outside 1970–2106 or whose Address
	// is empty fails the whole batch with an error that does not wrap
	// ErrUnavailable. Times are kept to the second: two snapshots of an
	// Address within one second have the same (Time, Address).
	WriteSessions(ctx context.Context, snaps []SessionSnapshot) error
	// Sessions reads the snapshots whose Time is in [From, To), sorted by
	// Time (UTC), then Address (bytewise). A snapshot without reasons
	// comes back with nil Reasons.
	Sessions(ctx context.Context, q SessionQuery) ([]SessionSnapshot, error)
}

// SessionQuery selects session snapshots.
type SessionQuery struct {
	From, To time.Time
}

// SessionSnapshot is one route-server session at one moment: whether it
// was up and what its routes were.
type SessionSnapshot struct {
	Time    time.Time // when it was taken, UTC; stored to the second (a fraction is dropped)
	ASN     uint32    // the member's ASN
	Address string    // the neighbor's address as netip.Addr.String prints it
	Up      bool      // the session was established
	// Received = Accepted + Filtered routes from the member.
	Received, Accepted, Filtered uint32
	// RPKI origin validation of the received routes (invalid ones are
	// filtered, or only tagged when the route server is set to tag).
	RPKIValid, RPKIUnknown, RPKIInvalid uint32
	// IRRValid counts received routes that match the member's IRR data
	// (prefix and origin).
	IRRValid uint32
	// Reasons counts filtered routes by Euro-IX reject reason code; a
	// route with several reasons counts once under each. Nil: none.
	Reasons map[uint16]uint32
}

// CheckSessions rejects snapshots that a store cannot hold: a Time outside
// 1970–2106 (ClickHouse's DateTime range, kept here so that both stores
// take the same snapshots) or an empty Address.
func CheckSessions(snaps []SessionSnapshot) error {
	for i := range snaps {
		s := &snaps[i]
		if u := s.Time.Unix(); u < 0 || u > math.MaxUint32 {
			return fmt.Errorf("session snapshot %d of %d (%q, AS%d): time %s is outside 1970-01-01..2106-02-07",
				i, len(snaps), s.Address, s.ASN, s.Time)
		}
		if s.Address == "" {
			return fmt.Errorf("session snapshot %d of %d (AS%d at %s): address is empty", i, len(snaps), s.ASN, s.Time)
		}
	}
	return nil
}

// LastSessions returns snaps with only the last snapshot of each (Time,
// Address), in the place of the first. Times are compared to the second,
// as the stores keep them.
func LastSessions(snaps []SessionSnapshot) []SessionSnapshot {
	return lastOfEach(snaps, func(s SessionSnapshot) (string, time.Time) { return s.Address, s.Time })
}

// lastOfEach returns items with only the last item of each (name, second),
// in the place of the first.
func lastOfEach[T any](items []T, key func(T) (string, time.Time)) []T {
	type k struct {
		name string
		unix int64
	}
	at := make(map[k]int, len(items))
	out := make([]T, 0, len(items))
	for _, it := range items {
		name, t := key(it)
		kk := k{name, t.Unix()}
		if i, ok := at[kk]; ok {
			out[i] = it
			continue
		}
		at[kk] = len(out)
		out = append(out, it)
	}
	return out
}

// SplitReasons turns a snapshot's Reasons into the two columns the stores
// keep: the codes in ascending order and their counts. No reasons give
// empty, non-nil slices.
func SplitReasons(reasons map[uint16]uint32) (codes []uint16, counts []uint32) {
	codes = slices.Sorted(maps.Keys(reasons))
	if codes == nil {
		codes = []uint16{}
	}
	counts = make([]uint32, len(codes))
	for i, c := range codes {
		counts[i] = reasons[c]
	}
	return codes, counts
}

// JoinReasons is SplitReasons' inverse: nil when there are no codes, an
// error when the columns differ in length.
func JoinReasons(codes []uint16, counts []uint32) (map[uint16]uint32, error) {
	if len(codes) != len(counts) {
		return nil, fmt.Errorf("%d reason codes but %d counts", len(codes), len(counts))
	}
	if len(codes) == 0 {
		return nil, nil
	}
	reasons := make(map[uint16]uint32, len(codes))
	for i, c := range codes {
		reasons[c] = counts[i]
	}
	return reasons, nil
}
