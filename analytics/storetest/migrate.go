package storetest

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	gocmp "github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/ixpd/ixpd/analytics"
	"github.com/ixpd/ixpd/flow"
)

// OldSchema is a database with the schema of an older ixpd, for
// MigrateFromEach.
type OldSchema struct {
	// Store is open over the database, which has exactly the old schema
	// (and no data). MigrateFromEach closes it.
	Store analytics.Store
	// What the old schema holds: raw flows, their rollups, latency bins,
	// session snapshots. MigrateFromEach writes each through Store's own
	// writers, which fit because a migration so far only adds tables or
	// changes a column's storage, never what the writers insert; a
	// migration that changes a table must come with a way to write the
	// old table here.
	Flows, Rollups, Latency, Sessions bool
	// Latest fails unless the database records the latest schema (every
	// migration the server allows); it is called after Migrate.
	Latest func(ctx context.Context) error
}

// MigrateFromEach checks that Migrate brings the database of every older
// schema version to the latest, keeping its data. For each version from
// first (0: an empty database) to latest-1, open returns a store over a new
// database with that version's schema (migrations 1 to version applied).
// MigrateFromEach writes the data that schema holds, reads its figures
// (totals, series by every grouping and several steps and filters,
// latency bins, session snapshots) and checks them against the data, runs
// Migrate, checks that the schema is the latest and that every figure
// reads back the same, and then that data of every kind is written and
// read as on a new store, also after a second Migrate.
//
// Flows written to a schema without rollups (Rollups false) are in the
// totals after Migrate but not in the series: a migration that adds the
// rollups fills them from new flows only.
func MigrateFromEach(t *testing.T, first, latest int, open func(t *testing.T, version int) OldSchema) {
	for v := first; v < latest; v++ {
		t.Run(fmt.Sprintf("from_v%d", v), func(t *testing.T) {
			old := open(t, v)
			t.Cleanup(func() {
				if err := old.Store.Close(); err != nil {
					t.Errorf("Close() error: %v", err)
				}
			})
			migrateFrom(t, old)
		})
	}
}

// figures are the answers MigrateFromEach compares before and after Migrate.
type figures struct {
	Totals   []analytics.Totals
	Series   [][]analytics.Point
	Latency  [][]analytics.LatencyBin
	Sessions [][]analytics.SessionSnapshot
}

var (
	figureTotals = []analytics.TotalsQuery{
		{From: everythingFrom, To: everythingTo},
		{From: base.Add(time.Hour), To: base.Add(2 * time.Hour)},
		{From: everythingFrom, To: everythingTo, Exporter: ExporterSwitch.String()},
		{From: everythingFrom, To: everythingTo, Exporter: ExporterEdge6.String()},
	}
	figureLatency = []analytics.LatencyQuery{
		{From: everythingFrom, To: everythingTo},
		{From: latencyDay.Add(12 * time.Hour), To: latencyDay.Add(36 * time.Hour), Targets: LatencyTargets[1:2]},
	}
	figureSessions = []analytics.SessionQuery{
		{From: everythingFrom, To: everythingTo},
		{From: sessionMonth.Add(6 * time.Hour), To: sessionMonth.Add(20 * time.Hour)},
	}
)

// figureSeries are the series queries: every grouping at several steps,
// and filters.
func figureSeries() []analytics.SeriesQuery {
	var qs []analytics.SeriesQuery
	for _, g := range []analytics.GroupBy{analytics.GroupNone, analytics.GroupMember, analytics.GroupPair,
		analytics.GroupFamily, analytics.GroupPathClass} {
		for _, step := range []time.Duration{analytics.BinSize, time.Hour, 24 * time.Hour} {
			qs = append(qs, analytics.SeriesQuery{From: everythingFrom, To: everythingTo, Step: step, GroupBy: g})
		}
	}
	return append(qs,
		analytics.SeriesQuery{From: everythingFrom, To: everythingTo, Step: analytics.BinSize, GroupBy: analytics.GroupPair,
			IXPExchanged: true, Domestic: true, Role: flow.RoleIXPSwitch},
		analytics.SeriesQuery{From: everythingFrom, To: everythingTo, Step: time.Hour, GroupBy: analytics.GroupMember,
			Domestic: true, Role: flow.RoleMemberEdge, PathClass: flow.PathViaIXP},
	)
}

// readFigures reads the figures of what old holds.
func readFigures(t *testing.T, old OldSchema) figures {
	t.Helper()
	ctx := t.Context()
	s := old.Store
	var f figures
	if old.Flows {
		for _, q := range figureTotals {
			tot, err := s.Totals(ctx, q)
			if err != nil {
				t.Fatalf("Totals(%+v) error: %v", q, err)
			}
			f.Totals = append(f.Totals, tot)
		}
	}
	if old.Rollups {
		for _, q := range figureSeries() {
			points, err := s.Series(ctx, q)
			if err != nil {
				t.Fatalf("Series(%+v) error: %v", q, err)
			}
			f.Series = append(f.Series, points)
		}
	}
	if old.Latency {
		for _, q := range figureLatency {
			bins, err := s.Latency(ctx, q)
			if err != nil {
				t.Fatalf("Latency(%+v) error: %v", q, err)
			}
			f.Latency = append(f.Latency, bins)
		}
	}
	if old.Sessions {
		for _, q := range figureSessions {
			snaps, err := s.Sessions(ctx, q)
			if err != nil {
				t.Fatalf("Sessions(%+v) error: %v", q, err)
			}
			f.Sessions = append(f.Sessions, snaps)
		}
	}
	return f
}

// checkAll checks every figure of s against what was written: flows in
// the raw table, rollupFlows in the rollups, and the latency and session
// states.
func checkAll(t *testing.T, s analytics.Store, flows, rollupFlows []flow.Flow, lat latencyState, sess sessionState) {
	t.Helper()
	for _, q := range figureTotals {
		CheckTotals(t, s, flows, q)
	}
	for _, q := range figureSeries() {
		CheckSeries(t, s, rollupFlows, q)
	}
	for _, q := range figureLatency {
		checkLatency(t, s, lat, q)
	}
	for _, q := range figureSessions {
		checkSessions(t, s, sess, q)
	}
}

func migrateFrom(t *testing.T, old OldSchema) {
	ctx := t.Context()
	s := old.Store
	var flows, rollupFlows []flow.Flow
	lat, sess := latencyState{}, sessionState{}
	if old.Flows {
		flows = GenerateFlows(41, 4000, base, 30*time.Hour)
		write(t, s, flows)
		if old.Rollups {
			rollupFlows = flows
		}
	}
	if old.Latency {
		bins := GenerateLatency(42, LatencyTargets, latencyDay, 2*288)
		writeLatency(t, s, bins)
		lat.write(bins)
	}
	if old.Sessions {
		snaps := GenerateSessions(43, SessionAddresses, sessionMonth, time.Hour, 36)
		writeSessions(t, s, snaps)
		sess.write(snaps)
	}
	before := readFigures(t, old)
	// What the old schema answered must be right before it can be kept.
	if old.Flows {
		for _, q := range figureTotals {
			CheckTotals(t, s, flows, q)
		}
	}
	if old.Rollups {
		for _, q := range figureSeries() {
			CheckSeries(t, s, rollupFlows, q)
		}
	}
	if t.Failed() {
		t.FailNow()
	}

	if err := s.Migrate(ctx); err != nil {
		t.Fatalf("Migrate() from the old schema: %v", err)
	}
	if err := old.Latest(ctx); err != nil {
		t.Fatalf("after Migrate(): %v", err)
	}
	after := readFigures(t, old)
	if diff := gocmp.Diff(after, before, cmpopts.EquateEmpty()); diff != "" {
		t.Errorf("figures after Migrate() (-after +before):\n%s", diff)
	}
	checkAll(t, s, flows, rollupFlows, lat, sess)

	// Everything is written and read as on a new store: new flows, and
	// latency bins and snapshots that replace some of the old ones.
	more := GenerateFlows(44, 1000, base.Add(-2*time.Hour), 4*time.Hour)
	write(t, s, more)
	flows, rollupFlows = slices.Concat(flows, more), slices.Concat(rollupFlows, more)
	bins := GenerateLatency(45, LatencyTargets[:2], latencyDay.Add(20*time.Hour), 24)
	writeLatency(t, s, bins)
	lat.write(bins)
	snaps := GenerateSessions(46, SessionAddresses[:3], sessionMonth.Add(10*time.Hour), time.Hour, 4)
	writeSessions(t, s, snaps)
	sess.write(snaps)
	checkAll(t, s, flows, rollupFlows, lat, sess)

	if err := s.Migrate(ctx); err != nil {
		t.Fatalf("second Migrate(): %v", err)
	}
	if err := old.Latest(ctx); err != nil {
		t.Fatalf("after the second Migrate(): %v", err)
	}
	checkAll(t, s, flows, rollupFlows, lat, sess)
}
