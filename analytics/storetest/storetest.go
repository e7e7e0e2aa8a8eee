// Package storetest is the test suite every analytics.Store must pass. A
// store's own tests call Run with a function that opens a fresh, empty store
// on the real backend; the suite writes generated flows and checks every
// answer against sums it computes itself from those flows, never from what
// the store answered before.
//
// It checks the contract written on analytics.Store, in particular:
// Migrate is idempotent and keeps data; Totals bounds are half-open, in any
// time zone, and the exporter filter takes netip.Addr.String's form; Series
// bins are epoch-aligned, in UTC, sorted, exact for steps of 5 min, 35 min,
// 1 h and 1 day and every filter and grouping, and a bad step or grouping is
// an error; every stored field round-trips (through RawReader, which a
// store must implement); a batch with a bad country is refused whole with
// an error that is not ErrUnavailable; concurrent batches all land;
// retention drops whole UTC days; a batch of 100,000 flows sums exactly
// past 2^53; after Close, calls fail with ErrUnavailable.
//
// And the contract of analytics.LatencyStore: latency bins round-trip
// exactly (floats bit for bit, histograms, empty ones as nil), the target
// filter and [From, To) on bin starts hold, a bin written again replaces
// the old one, a bad bin fails its batch whole, and retention drops latency
// bins with the rollups.
//
// And the contract of analytics.SessionStore: session snapshots
// round-trip exactly (reasons as a map, none as nil, times to the second
// in UTC), sorted by time and address bytewise, [From, To) on the
// snapshot times, a snapshot written again replaces the old one (the
// later of one batch too), a bad snapshot fails its batch whole, and
// retention drops snapshots with the rollups.
//
// MigrateFromEach checks that Migrate brings a database of every older
// schema version, with the data it holds, to the latest, with the same
// figures.
//
// CheckTotals, CheckSeries, CheckLatency and CheckSessions are for a store's own tests of
// what the suite cannot set up, such as several stores over one database.
package storetest

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"sync"
	"testing"
	"time"

	gocmp "github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/ixpd/ixpd/analytics"
	"github.com/ixpd/ixpd/flow"
)

// RawReader is implemented by stores that can read raw flows back. The suite
// requires it to check that every stored field round-trips.
type RawReader interface {
	// RawFlows returns the raw flows received in [from, to), ordered by
	// TimeReceived. TimeStart and TimeEnd are not kept and come back zero;
	// TimeReceived may lose precision below one second; an invalid (missing)
	// address comes back invalid, an IPv4 address as IPv4.
	RawFlows(ctx context.Context, from, to time.Time) ([]flow.Flow, error)
}

// Run runs the suite. open must return a new store over an empty database,
// not yet migrated, and clean up what it created besides the store (files,
// databases) with t.Cleanup; Run closes the store.
func Run(t *testing.T, open func(t *testing.T) analytics.Store) {
	fresh := func(t *testing.T) analytics.Store {
		t.Helper()
		s := open(t)
		t.Cleanup(func() {
			if err := s.Close(); err != nil {
				t.Errorf("Close() error: %v", err)
			}
		})
		if err := s.Migrate(t.Context()); err != nil {
			t.Fatalf("Migrate() error: %v", err)
		}
		return s
	}
	t.Run("Migrate", func(t *testing.T) { testMigrate(t, fresh) })
	t.Run("EmptyBatch", func(t *testing.T) { testEmptyBatch(t, fresh(t)) })
	t.Run("Totals", func(t *testing.T) { testTotals(t, fresh(t)) })
	t.Run("Series", func(t *testing.T) { testSeries(t, fresh(t)) })
	t.Run("SeriesBinEdges", func(t *testing.T) { testSeriesBinEdges(t, fresh(t)) })
	t.Run("SeriesBadStep", func(t *testing.T) { testSeriesBadStep(t, fresh(t)) })
	t.Run("RoundTrip", func(t *testing.T) { testRoundTrip(t, fresh(t)) })
	t.Run("AllOrNothing", func(t *testing.T) { testAllOrNothing(t, fresh(t)) })
	t.Run("ConcurrentBatches", func(t *testing.T) { testConcurrentBatches(t, fresh(t)) })
	t.Run("Retention", func(t *testing.T) { testRetention(t, fresh(t)) })
	t.Run("LargeBatch", func(t *testing.T) { testLargeBatch(t, fresh(t)) })
	runLatency(t, fresh)
	runSessions(t, fresh)
	t.Run("Closed", func(t *testing.T) { testClosed(t, open) })
}

// base is a Sunday evening; the generated traffic crosses UTC midnight.
var base = time.Date(2024, time.March, 10, 21, 0, 0, 0, time.UTC)

// everythingFrom and everythingTo bound every generated flow.
var everythingFrom, everythingTo = base.AddDate(-10, 0, 0), base.AddDate(10, 0, 0)

func write(t *testing.T, s analytics.Store, flows []flow.Flow) {
	t.Helper()
	if err := s.WriteFlows(t.Context(), flows); err != nil {
		t.Fatalf("WriteFlows(%d flows) error: %v", len(flows), err)
	}
}

// CheckTotals fails t unless s answers q with the sums of flows that it
// computes itself; flows are all the flows written to s.
func CheckTotals(t *testing.T, s analytics.Store, flows []flow.Flow, q analytics.TotalsQuery) {
	t.Helper()
	got, err := s.Totals(t.Context(), q)
	if err != nil {
		t.Fatalf("Totals(%+v) error: %v", q, err)
	}
	if diff := gocmp.Diff(got, expectTotals(flows, q)); diff != "" {
		t.Errorf("Totals(%s, %s, exporter %q) (-got +want):\n%s", q.From, q.To, q.Exporter, diff)
	}
}

// CheckSeries fails t unless s answers q with the series of flows that it
// computes itself, in UTC, epoch-aligned and sorted; flows are all the
// flows written to s.
func CheckSeries(t *testing.T, s analytics.Store, flows []flow.Flow, q analytics.SeriesQuery) {
	t.Helper()
	got, err := s.Series(t.Context(), q)
	if err != nil {
		t.Fatalf("Series(%+v) error: %v", q, err)
	}
	for i, p := range got {
		if p.Time.Location() != time.UTC {
			t.Errorf("Series(%+v): point %d time %s is not in UTC", q, i, p.Time)
		}
		if p.Time.UnixNano()%int64(q.Step) != 0 {
			t.Errorf("Series(%+v): point %d time %s is not aligned to the epoch in bins of %s", q, i, p.Time, q.Step)
		}
	}
	if !slices.IsSortedFunc(got, comparePoints) {
		t.Errorf("Series(%+v): points are not sorted by time, key, key2", q)
	}
	if diff := gocmp.Diff(got, expectSeries(flows, q), cmpopts.EquateEmpty()); diff != "" {
		t.Errorf("Series(group %s, step %s, from %s, to %s, ixp %t, domestic %t, role %s, path %s) (-got +want):\n%s",
			q.GroupBy, q.Step, q.From, q.To, q.IXPExchanged, q.Domestic, q.Role, q.PathClass, diff)
	}
}

func testMigrate(t *testing.T, fresh func(*testing.T) analytics.Store) {
	s := fresh(t) // migrated once
	if err := s.Migrate(t.Context()); err != nil {
		t.Fatalf("second Migrate() error: %v", err)
	}
	flows := GenerateFlows(1, 100, base, time.Hour)
	write(t, s, flows)
	if err := s.Migrate(t.Context()); err != nil {
		t.Fatalf("Migrate() over data error: %v", err)
	}
	CheckTotals(t, s, flows, analytics.TotalsQuery{From: everythingFrom, To: everythingTo})
	CheckSeries(t, s, flows, analytics.SeriesQuery{From: everythingFrom, To: everythingTo,
		Step: analytics.BinSize, GroupBy: analytics.GroupNone})
}

func testEmptyBatch(t *testing.T, s analytics.Store) {
	write(t, s, nil)
	write(t, s, []flow.Flow{})
	CheckTotals(t, s, nil, analytics.TotalsQuery{From: everythingFrom, To: everythingTo})
	CheckSeries(t, s, nil, analytics.SeriesQuery{From: everythingFrom, To: everythingTo,
		Step: analytics.BinSize, GroupBy: analytics.GroupNone})
}

func testTotals(t *testing.T, s analytics.Store) {
	from, to := base.Add(time.Hour), base.Add(2*time.Hour)
	flows := GenerateFlows(2, 5000, base, 3*time.Hour)
	// Flows on both sides of both bounds: [From, To) is half-open.
	for i, at := range []time.Time{from.Add(-time.Nanosecond), from, from.Add(time.Nanosecond),
		to.Add(-time.Nanosecond), to, to.Add(time.Nanosecond)} {
		edge := GenerateFlows(uint64(100+i), 1, at, 1)
		edge[0].Bytes = 1 << (10 + i)
		flows = append(flows, edge...)
	}
	write(t, s, flows)

	india := time.FixedZone("UTC+5:30", 5*3600+1800)
	for _, q := range []analytics.TotalsQuery{
		{From: everythingFrom, To: everythingTo},
		{From: from, To: to},
		{From: from.In(india), To: to.In(india)}, // the same instants in another zone
		{From: from, To: from},
		{From: base.Add(-time.Hour), To: base},
		{From: from, To: to, Exporter: ExporterSwitch.String()},
		{From: everythingFrom, To: everythingTo, Exporter: ExporterSwitch.String()},
		{From: everythingFrom, To: everythingTo, Exporter: ExporterEdge4.String()},
		{From: everythingFrom, To: everythingTo, Exporter: ExporterEdge6.String()},
		{From: from, To: to, Exporter: ExporterEdge6.String()},
		{From: everythingFrom, To: everythingTo, Exporter: ExporterOther.String()},
		{From: everythingFrom, To: everythingTo, Exporter: "203.0.113.9"},
	} {
		CheckTotals(t, s, flows, q)
	}
}

func testSeries(t *testing.T, s analytics.Store) {
	// Two days of traffic across a UTC midnight.
	flows := GenerateFlows(3, 20000, base, 30*time.Hour)
	write(t, s, flows)

	midnight := base.Truncate(24 * time.Hour).Add(24 * time.Hour)
	ranges := []struct {
		name     string
		from, to time.Time
	}{
		{"all", everythingFrom, everythingTo},
		// From on a 5-minute bin but not on an hour; To inside a bin: bins
		// whose start is in [From, To) count whole.
		{"part", midnight.Add(10 * time.Minute), midnight.Add(13*time.Hour + 37*time.Minute)},
		{"none", base.Add(-48 * time.Hour), base.Add(-24 * time.Hour)},
	}
	groups := []analytics.GroupBy{analytics.GroupNone, analytics.GroupMember, analytics.GroupPair,
		analytics.GroupFamily, analytics.GroupPathClass}
	steps := []time.Duration{analytics.BinSize, time.Hour, 35 * time.Minute, 24 * time.Hour}
	filters := []struct {
		name string
		q    analytics.SeriesQuery
	}{
		{"all", analytics.SeriesQuery{}},
		{"ixp", analytics.SeriesQuery{IXPExchanged: true}},
		{"domestic", analytics.SeriesQuery{Domestic: true}},
		{"switch", analytics.SeriesQuery{Role: flow.RoleIXPSwitch}},
		{"edge", analytics.SeriesQuery{Role: flow.RoleMemberEdge}},
		{"ixp-domestic-switch", analytics.SeriesQuery{IXPExchanged: true, Domestic: true, Role: flow.RoleIXPSwitch}},
		{"edge-domestic-via-ixp", analytics.SeriesQuery{Domestic: true, Role: flow.RoleMemberEdge, PathClass: flow.PathViaIXP}},
		{"via-transit", analytics.SeriesQuery{PathClass: flow.PathViaTransit}},
	}
	for _, r := range ranges {
		for _, g := range groups {
			for _, step := range steps {
				for _, f := range filters {
					if r.name != "all" && f.name != "all" && g != analytics.GroupPair {
						continue // enough combinations
					}
					q := f.q
					q.From, q.To, q.Step, q.GroupBy = r.from, r.to, step, g
					t.Run(fmt.Sprintf("%s/%s/%s/%s", r.name, g, step, f.name), func(t *testing.T) {
						CheckSeries(t, s, flows, q)
					})
				}
			}
		}
	}
}

func testSeriesBinEdges(t *testing.T, s analytics.Store) {
	bin := time.Date(2024, time.March, 10, 23, 55, 0, 0, time.UTC) // the last bin of a day
	flows := slices.Concat(
		GenerateFlows(4, 1, bin, 1),
		GenerateFlows(5, 1, bin.Add(analytics.BinSize-time.Nanosecond), 1),
		GenerateFlows(6, 1, bin.Add(analytics.BinSize), 1),
		GenerateFlows(7, 1, bin.Add(-time.Nanosecond), 1),
	)
	for i := range flows {
		flows[i].Bytes = 1 << (20 + i)
	}
	write(t, s, flows)
	for _, step := range []time.Duration{analytics.BinSize, time.Hour, 24 * time.Hour} {
		for _, g := range []analytics.GroupBy{analytics.GroupNone, analytics.GroupPair} {
			CheckSeries(t, s, flows, analytics.SeriesQuery{From: everythingFrom, To: everythingTo, Step: step, GroupBy: g})
		}
	}
	CheckSeries(t, s, flows, analytics.SeriesQuery{From: bin, To: bin.Add(analytics.BinSize),
		Step: analytics.BinSize, GroupBy: analytics.GroupNone})
	CheckTotals(t, s, flows, analytics.TotalsQuery{From: bin, To: bin.Add(analytics.BinSize)})

	// Spelled out, in case the expectations above share a mistake with the store.
	got, err := s.Series(t.Context(), analytics.SeriesQuery{From: bin, To: bin.Add(2 * analytics.BinSize),
		Step: analytics.BinSize, GroupBy: analytics.GroupNone})
	if err != nil {
		t.Fatal(err)
	}
	want := []analytics.Point{
		{Time: bin, Bytes: 1<<20 + 1<<21, Packets: flows[0].Packets + flows[1].Packets, Flows: 2},
		{Time: bin.Add(analytics.BinSize), Bytes: 1 << 22, Packets: flows[2].Packets, Flows: 1},
	}
	if diff := gocmp.Diff(got, want); diff != "" {
		t.Errorf("Series around a bin edge (-got +want):\n%s", diff)
	}
}

func testSeriesBadStep(t *testing.T, s analytics.Store) {
	for _, step := range []time.Duration{7 * time.Minute, -analytics.BinSize, time.Second} {
		_, err := s.Series(t.Context(), analytics.SeriesQuery{From: everythingFrom, To: everythingTo,
			Step: step, GroupBy: analytics.GroupNone})
		if err == nil {
			t.Errorf("Series(step %s) succeeded, want an error", step)
		}
	}
	_, err := s.Series(t.Context(), analytics.SeriesQuery{From: everythingFrom, To: everythingTo,
		Step: analytics.BinSize, GroupBy: "country"})
	if err == nil {
		t.Errorf("Series(group_by country) succeeded, want an error")
	}
}

// roundTripFlows are flows with whole-second times and extreme values.
func roundTripFlows() []flow.Flow {
	flows := GenerateFlows(8, 500, base, time.Hour)
	for i := range flows {
		f := &flows[i]
		f.TimeReceived = base.Add(time.Duration(i) * time.Second)
		f.TimeStart, f.TimeEnd = time.Time{}, time.Time{}
	}
	extreme := &flows[0]
	extreme.Exporter = netip.MustParseAddr("ffff:ffff:ffff:ffff:ffff:ffff:ffff:fffe")
	extreme.SrcAddr = netip.MustParseAddr("255.255.255.255")
	extreme.DstAddr = netip.MustParseAddr("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff")
	extreme.EType = 0xffff
	extreme.SrcPort, extreme.DstPort = 65535, 65535
	extreme.IPProto = 255
	extreme.InIf, extreme.OutIf = 1<<32-1, 1<<32-1
	extreme.SrcMAC, extreme.DstMAC = 1<<48-1, 1<<48-1
	extreme.SrcAS, extreme.DstAS = 1<<32-1, 1<<32-1
	extreme.SrcMember, extreme.DstMember = 1<<32-1, 1<<32-2
	extreme.SamplingRate = 1<<32 - 1
	extreme.Bytes, extreme.Packets = 1<<63+12345, 1<<62+1
	extreme.Protocol = flow.ProtocolIPFIX
	extreme.Role, extreme.PathClass = flow.RoleMemberEdge, flow.PathInternal
	extreme.IXPExchanged, extreme.Domestic = true, true
	zero := &flows[1]
	*zero = flow.Flow{TimeReceived: zero.TimeReceived}
	v6 := &flows[2]
	v6.Exporter = netip.MustParseAddr("2001:db8::1")
	v6.SrcAddr = netip.MustParseAddr("2001:db8:0:1::1")
	v6.DstAddr = netip.MustParseAddr("::1")
	v6.EType = 0x86dd
	return flows
}

func testRoundTrip(t *testing.T, s analytics.Store) {
	rr, ok := s.(RawReader)
	if !ok {
		t.Fatalf("%T does not implement storetest.RawReader", s)
	}
	flows := roundTripFlows()
	write(t, s, flows)
	got, err := rr.RawFlows(t.Context(), base, base.Add(time.Hour))
	if err != nil {
		t.Fatalf("RawFlows() error: %v", err)
	}
	opts := gocmp.Options{
		gocmp.Comparer(func(a, b netip.Addr) bool { return a == b }),
		cmpopts.IgnoreFields(flow.Flow{}, "TimeStart", "TimeEnd"),
	}
	if diff := gocmp.Diff(got, flows, opts); diff != "" {
		t.Errorf("RawFlows() (-got +want):\n%s", diff)
	}
	for _, f := range got {
		if f.TimeReceived.Location() != time.UTC {
			t.Fatalf("RawFlows(): time %s is not in UTC", f.TimeReceived)
		}
	}
	CheckTotals(t, s, flows, analytics.TotalsQuery{From: everythingFrom, To: everythingTo,
		Exporter: "ffff:ffff:ffff:ffff:ffff:ffff:ffff:fffe"})
	CheckTotals(t, s, flows, analytics.TotalsQuery{From: everythingFrom, To: everythingTo, Exporter: "2001:db8::1"})
	CheckSeries(t, s, flows, analytics.SeriesQuery{From: everythingFrom, To: everythingTo,
		Step: analytics.BinSize, GroupBy: analytics.GroupPair})
	CheckSeries(t, s, flows, analytics.SeriesQuery{From: everythingFrom, To: everythingTo,
		Step: analytics.BinSize, GroupBy: analytics.GroupFamily})
}

func testAllOrNothing(t *testing.T, s analytics.Store) {
	ctx := t.Context()
	good := GenerateFlows(9, 2000, base, time.Hour)
	for _, at := range []int{len(good) - 1, len(good) / 2, 0} {
		bad := slices.Clone(good)
		bad[at].DstCountry = "XYZ" // not an ISO 3166-1 alpha-2 code
		err := s.WriteFlows(ctx, bad)
		if err == nil {
			t.Fatalf("WriteFlows(batch with country %q at %d) succeeded, want an error", bad[at].DstCountry, at)
		}
		if errors.Is(err, analytics.ErrUnavailable) {
			t.Errorf("WriteFlows(bad batch) error %v wraps ErrUnavailable: the pipeline would retry it forever", err)
		}
	}
	CheckTotals(t, s, nil, analytics.TotalsQuery{From: everythingFrom, To: everythingTo})
	CheckSeries(t, s, nil, analytics.SeriesQuery{From: everythingFrom, To: everythingTo,
		Step: analytics.BinSize, GroupBy: analytics.GroupPair})
	if rr, ok := s.(RawReader); ok {
		raw, err := rr.RawFlows(ctx, everythingFrom, everythingTo)
		if err != nil {
			t.Fatal(err)
		}
		if len(raw) != 0 {
			t.Errorf("RawFlows() after failed batches: %d flows, want none", len(raw))
		}
	}
	// The store still works and takes the good batch whole.
	write(t, s, good)
	CheckTotals(t, s, good, analytics.TotalsQuery{From: everythingFrom, To: everythingTo})
	CheckSeries(t, s, good, analytics.SeriesQuery{From: everythingFrom, To: everythingTo,
		Step: analytics.BinSize, GroupBy: analytics.GroupPair})
}

func testConcurrentBatches(t *testing.T, s analytics.Store) {
	const writers, batches, size = 4, 3, 2000
	all := make([][]flow.Flow, writers*batches)
	for i := range all {
		// Every batch covers the same bins, so the writers update the same
		// rollup rows.
		all[i] = GenerateFlows(uint64(1000+i), size, base, time.Hour)
	}
	var wg sync.WaitGroup
	errs := make([]error, writers)
	for w := range writers {
		wg.Go(func() {
			for b := range batches {
				if err := s.WriteFlows(t.Context(), all[w*batches+b]); err != nil {
					errs[w] = fmt.Errorf("writer %d, batch %d: %w", w, b, err)
					return
				}
			}
		})
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		t.Fatalf("concurrent WriteFlows: %v", err)
	}
	flows := slices.Concat(all...)
	CheckTotals(t, s, flows, analytics.TotalsQuery{From: everythingFrom, To: everythingTo})
	CheckSeries(t, s, flows, analytics.SeriesQuery{From: everythingFrom, To: everythingTo,
		Step: analytics.BinSize, GroupBy: analytics.GroupPair})
	CheckSeries(t, s, flows, analytics.SeriesQuery{From: everythingFrom, To: everythingTo,
		Step: analytics.BinSize, GroupBy: analytics.GroupFamily, Role: flow.RoleMemberEdge})
}

func testRetention(t *testing.T, s analytics.Store) {
	ctx := t.Context()
	day := func(y int, m time.Month, d int) time.Time { return time.Date(y, m, d, 0, 0, 0, 0, time.UTC) }
	var flows []flow.Flow
	for i, d := range []time.Time{
		day(2023, time.June, 30), day(2023, time.July, 1), day(2023, time.July, 2),
		day(2024, time.May, 30), day(2024, time.May, 31), day(2024, time.June, 1), day(2024, time.June, 30),
	} {
		flows = append(flows, GenerateFlows(uint64(2000+i), 200, d, 12*time.Hour)...)
		// The first and last nanosecond of the day.
		flows = append(flows, GenerateFlows(uint64(3000+i), 1, d, 1)...)
		flows = append(flows, GenerateFlows(uint64(4000+i), 1, d.Add(24*time.Hour-time.Nanosecond), 1)...)
	}
	write(t, s, flows)
	r := analytics.Retention{Raw: 30 * 24 * time.Hour, Rollup: 366 * 24 * time.Hour}

	check := func(t *testing.T, rawFrom, rollupFrom time.Time) {
		t.Helper()
		var raw, rollup []flow.Flow
		for _, f := range flows {
			if !f.TimeReceived.Before(rawFrom) {
				raw = append(raw, f)
			}
			if !f.TimeReceived.Before(rollupFrom) {
				rollup = append(rollup, f)
			}
		}
		CheckTotals(t, s, raw, analytics.TotalsQuery{From: everythingFrom, To: everythingTo})
		CheckTotals(t, s, raw, analytics.TotalsQuery{From: day(2024, time.May, 31), To: day(2024, time.June, 1)})
		CheckSeries(t, s, rollup, analytics.SeriesQuery{From: everythingFrom, To: everythingTo,
			Step: 24 * time.Hour, GroupBy: analytics.GroupNone})
		CheckSeries(t, s, rollup, analytics.SeriesQuery{From: everythingFrom, To: everythingTo,
			Step: analytics.BinSize, GroupBy: analytics.GroupPair})
	}
	for _, c := range []struct {
		name               string
		now                time.Time
		r                  analytics.Retention
		rawFrom, rollupFrm time.Time // first day kept
	}{
		// Cutoffs at noon: the cutoff's own day is kept whole.
		{"noon", time.Date(2024, time.June, 30, 12, 0, 0, 0, time.UTC), r, day(2024, time.May, 31), day(2023, time.June, 30)},
		{"again", time.Date(2024, time.June, 30, 12, 0, 0, 0, time.UTC), r, day(2024, time.May, 31), day(2023, time.June, 30)},
		// Cutoffs at midnight: the day that ends there goes.
		{"midnight", day(2024, time.July, 1), r, day(2024, time.June, 1), day(2023, time.July, 1)},
		// The defaults keep more than what is left.
		{"default", day(2024, time.July, 1), analytics.DefaultRetention, day(2024, time.June, 1), day(2023, time.July, 1)},
	} {
		t.Run(c.name, func(t *testing.T) {
			if err := s.ApplyRetention(ctx, c.now, c.r); err != nil {
				t.Fatalf("ApplyRetention(%s, %+v) error: %v", c.now, c.r, err)
			}
			check(t, c.rawFrom, c.rollupFrm)
		})
	}
	// New data after retention lands as usual.
	more := GenerateFlows(5000, 100, day(2024, time.June, 30), time.Hour)
	write(t, s, more)
	flows = append(flows, more...)
	check(t, day(2024, time.June, 1), day(2023, time.July, 1))
}

func testLargeBatch(t *testing.T, s analytics.Store) {
	flows := GenerateFlows(10, 100_000, base, 6*time.Hour)
	// Sums past 2^53 catch a store that adds in floating point.
	for i := range 10 {
		flows[i*9973].Bytes = 1<<55 + uint64(2*i+1)
	}
	write(t, s, flows)
	CheckTotals(t, s, flows, analytics.TotalsQuery{From: everythingFrom, To: everythingTo})
	CheckTotals(t, s, flows, analytics.TotalsQuery{From: everythingFrom, To: everythingTo, Exporter: ExporterSwitch.String()})
	CheckSeries(t, s, flows, analytics.SeriesQuery{From: everythingFrom, To: everythingTo,
		Step: analytics.BinSize, GroupBy: analytics.GroupNone})
	CheckSeries(t, s, flows, analytics.SeriesQuery{From: everythingFrom, To: everythingTo,
		Step: time.Hour, GroupBy: analytics.GroupPair})
	// The overall sum, independent of any grouping.
	points, err := s.Series(t.Context(), analytics.SeriesQuery{From: everythingFrom, To: everythingTo,
		Step: 24 * time.Hour, GroupBy: analytics.GroupFamily})
	if err != nil {
		t.Fatal(err)
	}
	var got, want analytics.Totals
	for _, p := range points {
		got.Flows, got.Bytes, got.Packets = got.Flows+p.Flows, got.Bytes+p.Bytes, got.Packets+p.Packets
	}
	for _, f := range flows {
		want.Flows, want.Bytes, want.Packets = want.Flows+1, want.Bytes+f.Bytes, want.Packets+f.Packets
	}
	if diff := gocmp.Diff(got, want); diff != "" {
		t.Errorf("sum of Series over 100k flows (-got +want):\n%s", diff)
	}
}

func testClosed(t *testing.T, open func(*testing.T) analytics.Store) {
	s := open(t)
	ctx := t.Context()
	if err := s.Migrate(ctx); err != nil {
		t.Fatalf("Migrate() error: %v", err)
	}
	if err := s.Close(); err != nil {
		t.Fatalf("Close() error: %v", err)
	}
	if err := s.WriteFlows(ctx, GenerateFlows(11, 10, base, time.Hour)); !errors.Is(err, analytics.ErrUnavailable) {
		t.Errorf("WriteFlows() after Close() error = %v, want one wrapping ErrUnavailable", err)
	}
	_, err := s.Totals(ctx, analytics.TotalsQuery{From: everythingFrom, To: everythingTo})
	if !errors.Is(err, analytics.ErrUnavailable) {
		t.Errorf("Totals() after Close() error = %v, want one wrapping ErrUnavailable", err)
	}
	_, err = s.Series(ctx, analytics.SeriesQuery{From: everythingFrom, To: everythingTo,
		Step: analytics.BinSize, GroupBy: analytics.GroupNone})
	if !errors.Is(err, analytics.ErrUnavailable) {
		t.Errorf("Series() after Close() error = %v, want one wrapping ErrUnavailable", err)
	}
	err = s.WriteLatency(ctx, GenerateLatency(15, LatencyTargets, base, 1))
	if !errors.Is(err, analytics.ErrUnavailable) {
		t.Errorf("WriteLatency() after Close() error = %v, want one wrapping ErrUnavailable", err)
	}
	_, err = s.Latency(ctx, analytics.LatencyQuery{From: everythingFrom, To: everythingTo})
	if !errors.Is(err, analytics.ErrUnavailable) {
		t.Errorf("Latency() after Close() error = %v, want one wrapping ErrUnavailable", err)
	}
	err = s.WriteSessions(ctx, GenerateSessions(16, SessionAddresses, base, time.Hour, 1))
	if !errors.Is(err, analytics.ErrUnavailable) {
		t.Errorf("WriteSessions() after Close() error = %v, want one wrapping ErrUnavailable", err)
	}
	_, err = s.Sessions(ctx, analytics.SessionQuery{From: everythingFrom, To: everythingTo})
	if !errors.Is(err, analytics.ErrUnavailable) {
		t.Errorf("Sessions() after Close() error = %v, want one wrapping ErrUnavailable", err)
	}
}

// badItem spoils one item of a good batch.
type badItem[T any] struct {
	name string
	bad  func(*T)
}

// rejectsBadBatches writes good with one item spoiled by each case, first
// and last in turn: write must refuse every such batch with an error that
// does not wrap ErrUnavailable (it would be retried forever).
func rejectsBadBatches[T any](t *testing.T, what string, good []T, write func([]T) error, cases []badItem[T]) {
	t.Helper()
	for _, c := range cases {
		for _, at := range []int{0, len(good) - 1} {
			bad := slices.Clone(good)
			c.bad(&bad[at])
			err := write(bad)
			if err == nil {
				t.Errorf("%s(batch with %s at %d) succeeded, want an error", what, c.name, at)
				continue
			}
			if errors.Is(err, analytics.ErrUnavailable) {
				t.Errorf("%s(batch with %s) error %v wraps ErrUnavailable: it would be retried forever", what, c.name, err)
			}
		}
	}
}
