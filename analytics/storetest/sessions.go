package storetest

import (
	"cmp"
	"math"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	gocmp "github.com/google/go-cmp/cmp"

	"github.com/ixpd/ixpd/analytics"
)

// SessionAddresses are the neighbor addresses of GenerateSessions, as
// netip.Addr.String prints them. Bytewise, "10.0.0.2" sorts before
// "192.0.2.1" and "2001:db8::a" before "9.9.9.9", which numeric order
// would not; the zoned address has a '%'.
var SessionAddresses = []string{"192.0.2.1", "10.0.0.2", "9.9.9.9", "2001:db8::1", "2001:db8::a", "fe80::1%eth0"}

// sessionReasonCodes are the reject reasons GenerateSessions draws from.
var sessionReasonCodes = []uint16{1, 3, 8, 9, 10, 13, 14, 17}

// sessionMonth is the first of the generated snapshot times; a day later
// is in the next month (the ClickHouse table has a partition per month).
var sessionMonth = time.Date(2024, time.March, 31, 12, 0, 0, 0, time.UTC)

// GenerateSessions returns reproducible snapshots (same seed, same
// snapshots) of every address at n times, start + i·step: sessions up
// and down, with and without filtered routes, reasons that count a
// route under several codes.
func GenerateSessions(seed uint64, addresses []string, start time.Time, step time.Duration, n int) []analytics.SessionSnapshot {
	r := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	snaps := make([]analytics.SessionSnapshot, 0, n*len(addresses))
	for i := range n {
		t := start.Add(time.Duration(i) * step)
		for j, a := range addresses {
			sn := analytics.SessionSnapshot{Time: t, ASN: 64500 + uint32(j), Address: a, Up: r.IntN(5) != 0}
			if j == 0 {
				sn.ASN = 4200000001 // above 2^31: catches signed columns
			}
			if sn.Up {
				sn.Accepted = uint32(r.IntN(5000))
				if r.IntN(3) != 0 {
					sn.Filtered = uint32(1 + r.IntN(200))
				}
				sn.Received = sn.Accepted + sn.Filtered
				sn.RPKIValid = uint32(r.IntN(int(sn.Received) + 1))
				sn.RPKIInvalid = uint32(r.IntN(int(sn.Received-sn.RPKIValid) + 1))
				sn.RPKIUnknown = sn.Received - sn.RPKIValid - sn.RPKIInvalid
				sn.IRRValid = uint32(r.IntN(int(sn.Received) + 1))
			}
			if sn.Filtered > 0 {
				sn.Reasons = map[uint16]uint32{}
				for _, c := range sessionReasonCodes {
					if r.IntN(3) == 0 {
						sn.Reasons[c] = 1 + uint32(r.IntN(int(sn.Filtered)))
					}
				}
				if len(sn.Reasons) == 0 {
					sn.Reasons[sessionReasonCodes[r.IntN(len(sessionReasonCodes))]] = sn.Filtered
				}
			}
			snaps = append(snaps, sn)
		}
	}
	return snaps
}

// extremeSessions returns snapshots at the limits of every column, and
// with times that the stores keep to the second.
func extremeSessions(t time.Time) []analytics.SessionSnapshot {
	const m = math.MaxUint32
	return []analytics.SessionSnapshot{
		{
			Time: t, ASN: m, Address: "extreme", Up: true,
			Received: m, Accepted: m, Filtered: m, RPKIValid: m, RPKIUnknown: m, RPKIInvalid: m, IRRValid: m,
			Reasons: map[uint16]uint32{0: m, 1: 0, 17: 3, math.MaxUint16: 1},
		},
		// Empty, not nil: comes back nil.
		{Time: t.Add(time.Second), ASN: 1, Address: "extreme", Reasons: map[uint16]uint32{}},
		// A fraction of a second is dropped; in another time zone.
		{Time: t.Add(2*time.Second + 999*time.Millisecond).In(time.FixedZone("UTC-3", -3*3600)), ASN: 2,
			Address: "extreme", Up: true, Received: 1, Accepted: 1, RPKIUnknown: 1},
	}
}

// sessionKey identifies a stored snapshot.
type sessionKey struct {
	address string
	unix    int64
}

// sessionState is what a store must hold after a sequence of writes: the
// last snapshot written for each (Address, Time to the second).
type sessionState map[sessionKey]analytics.SessionSnapshot

func (st sessionState) write(snaps []analytics.SessionSnapshot) {
	for _, sn := range snaps {
		st[sessionKey{sn.Address, sn.Time.Unix()}] = sn
	}
}

// expect returns what Sessions(q) must answer: the snapshots whose time,
// to the second, is in range, sorted by time and address (bytewise), with
// UTC times and nil for no reasons.
func (st sessionState) expect(q analytics.SessionQuery) []analytics.SessionSnapshot {
	var out []analytics.SessionSnapshot
	for _, sn := range st {
		sn.Time = time.Unix(sn.Time.Unix(), 0).UTC()
		if !inRange(sn.Time, q.From, q.To) {
			continue
		}
		if len(sn.Reasons) == 0 {
			sn.Reasons = nil
		}
		out = append(out, sn)
	}
	slices.SortFunc(out, compareSessions)
	return out
}

func compareSessions(a, b analytics.SessionSnapshot) int {
	return cmp.Or(a.Time.Compare(b.Time), cmp.Compare(a.Address, b.Address))
}

func writeSessions(t *testing.T, s analytics.Store, snaps []analytics.SessionSnapshot) {
	t.Helper()
	if err := s.WriteSessions(t.Context(), snaps); err != nil {
		t.Fatalf("WriteSessions(%d snapshots) error: %v", len(snaps), err)
	}
}

// checkSessions compares Sessions(q) with what st says, exactly.
func checkSessions(t *testing.T, s analytics.Store, st sessionState, q analytics.SessionQuery) {
	t.Helper()
	got, err := s.Sessions(t.Context(), q)
	if err != nil {
		t.Fatalf("Sessions(%+v) error: %v", q, err)
	}
	for i, sn := range got {
		if sn.Time.Location() != time.UTC {
			t.Errorf("Sessions(%+v): snapshot %d time %s is not in UTC", q, i, sn.Time)
			break
		}
		if sn.Reasons != nil && len(sn.Reasons) == 0 {
			t.Errorf("Sessions(%+v): snapshot %d has empty, not nil, reasons", q, i)
			break
		}
	}
	want := st.expect(q)
	if len(got) == 0 && len(want) == 0 {
		return // nil or empty
	}
	if diff := gocmp.Diff(got, want); diff != "" {
		t.Errorf("Sessions(from %s, to %s) (-got +want):\n%s", q.From, q.To, diff)
	}
}

// CheckSessions fails t unless s answers q with what written says: the
// last of the snapshots of each (Address, Time), in the order they were
// written to s, compared exactly.
func CheckSessions(t *testing.T, s analytics.Store, written []analytics.SessionSnapshot, q analytics.SessionQuery) {
	t.Helper()
	st := sessionState{}
	st.write(written)
	checkSessions(t, s, st, q)
}

// runSessions runs the session snapshot tests of the suite.
func runSessions(t *testing.T, fresh func(*testing.T) analytics.Store) {
	t.Run("SessionsEmpty", func(t *testing.T) { testSessionsEmpty(t, fresh(t)) })
	t.Run("SessionsRoundTrip", func(t *testing.T) { testSessionsRoundTrip(t, fresh(t)) })
	t.Run("SessionsEdges", func(t *testing.T) { testSessionsEdges(t, fresh(t)) })
	t.Run("SessionsReplace", func(t *testing.T) { testSessionsReplace(t, fresh(t)) })
	t.Run("SessionsBadBatch", func(t *testing.T) { testSessionsBadBatch(t, fresh(t)) })
	t.Run("SessionsRetention", func(t *testing.T) { testSessionsRetention(t, fresh(t)) })
}

func testSessionsEmpty(t *testing.T, s analytics.Store) {
	writeSessions(t, s, nil)
	writeSessions(t, s, []analytics.SessionSnapshot{})
	checkSessions(t, s, sessionState{}, analytics.SessionQuery{From: everythingFrom, To: everythingTo})
}

// testSessionsRoundTrip writes two days of hourly snapshots of six
// sessions, in batches out of order, and reads them back whole and in
// ranges.
func testSessionsRoundTrip(t *testing.T, s analytics.Store) {
	snaps := GenerateSessions(1, SessionAddresses, sessionMonth, time.Hour, 48)
	snaps = append(snaps, extremeSessions(sessionMonth.Add(30*time.Minute))...)
	shuffled := slices.Clone(snaps)
	rand.New(rand.NewPCG(2, 3)).Shuffle(len(shuffled), func(i, j int) { shuffled[i], shuffled[j] = shuffled[j], shuffled[i] })
	for batch := range slices.Chunk(shuffled, 100) {
		writeSessions(t, s, batch)
	}
	st := sessionState{}
	st.write(snaps)

	var down, withReasons, without int
	for _, sn := range snaps {
		switch {
		case !sn.Up:
			down++
		case len(sn.Reasons) > 0:
			withReasons++
		default:
			without++
		}
	}
	if down == 0 || withReasons == 0 || without == 0 {
		t.Fatalf("generated snapshots: %d down, %d with reasons, %d up without: want some of each", down, withReasons, without)
	}

	nextDay := sessionMonth.Add(24 * time.Hour)
	kathmandu := time.FixedZone("UTC+5:45", 5*3600+45*60)
	for _, q := range []analytics.SessionQuery{
		{From: everythingFrom, To: everythingTo},
		{From: nextDay, To: nextDay.Add(24 * time.Hour)},
		{From: nextDay.In(kathmandu), To: nextDay.Add(24 * time.Hour).In(kathmandu)}, // the same instants
		{From: sessionMonth.Add(-24 * time.Hour), To: sessionMonth},
		{From: sessionMonth.Add(time.Hour), To: sessionMonth.Add(2 * time.Hour)}, // one hour: every session once
		{From: sessionMonth.Add(30 * time.Minute), To: sessionMonth.Add(30*time.Minute + 3*time.Second)},
	} {
		checkSessions(t, s, st, q)
	}

	// Spelled out, in case the expectations share a mistake with the store.
	at := sessionMonth.Add(30 * time.Minute)
	got, err := s.Sessions(t.Context(), analytics.SessionQuery{From: at, To: at.Add(time.Minute)})
	if err != nil {
		t.Fatal(err)
	}
	want := extremeSessions(at)
	want[1].Reasons = nil
	want[2].Time = at.Add(2 * time.Second)
	if diff := gocmp.Diff(got, want); diff != "" {
		t.Errorf("Sessions(extreme) (-got +want):\n%s", diff)
	}
	hour, err := s.Sessions(t.Context(), analytics.SessionQuery{From: sessionMonth, To: sessionMonth.Add(time.Second)})
	if err != nil {
		t.Fatal(err)
	}
	var order []string
	for _, sn := range hour {
		order = append(order, sn.Address)
	}
	if diff := gocmp.Diff(order, []string{"10.0.0.2", "192.0.2.1", "2001:db8::1", "2001:db8::a", "9.9.9.9", "fe80::1%eth0"}); diff != "" {
		t.Errorf("Sessions() of one time: addresses not in bytewise order (-got +want):\n%s", diff)
	}
}

// testSessionsEdges checks that [From, To) applies to the snapshot times,
// which are whole seconds.
func testSessionsEdges(t *testing.T, s analytics.Store) {
	at := time.Date(2024, time.March, 31, 23, 59, 59, 0, time.UTC) // the last second of a day and a month
	snaps := GenerateSessions(4, SessionAddresses, at.Add(-time.Second), time.Second, 3)
	writeSessions(t, s, snaps)
	st := sessionState{}
	st.write(snaps)
	next := at.Add(time.Second)
	for _, c := range []struct {
		name     string
		from, to time.Time
		want     int // snapshots per address
	}{
		{"one second", at, next, 1},
		{"from inside", at.Add(time.Nanosecond), next.Add(time.Nanosecond), 1}, // the next second only
		{"to a nanosecond in", at, at.Add(time.Nanosecond), 1},
		{"to on the time", at.Add(-time.Second), at, 1},
		{"empty", at, at, 0},
		{"reversed", next, at, 0},
		{"all three", at.Add(-time.Second), next.Add(time.Microsecond), 3},
	} {
		t.Run(c.name, func(t *testing.T) {
			q := analytics.SessionQuery{From: c.from, To: c.to}
			if n := len(st.expect(q)); n != c.want*len(SessionAddresses) {
				t.Fatalf("test expects %d snapshots, want %d", n, c.want*len(SessionAddresses))
			}
			checkSessions(t, s, st, q)
		})
	}
}

// testSessionsReplace writes snapshots again: reads show only the last
// one written for each (address, time), also of one batch.
func testSessionsReplace(t *testing.T, s analytics.Store) {
	st := sessionState{}
	first := GenerateSessions(5, SessionAddresses, sessionMonth, time.Hour, 24)
	writeSessions(t, s, first)
	st.write(first)
	// Every third snapshot again, with other figures: reasons that go,
	// come and change, another ASN on the address.
	var second []analytics.SessionSnapshot
	for i, sn := range GenerateSessions(6, SessionAddresses, sessionMonth, time.Hour, 24) {
		if i%3 == 0 {
			second = append(second, sn)
		}
	}
	second[0].Reasons, second[0].Filtered = nil, 0
	second[1].Reasons, second[1].Up = map[uint16]uint32{13: 7}, true
	second[2].ASN = 65000
	// A fraction of a second later is the same time.
	second[3].Time = second[3].Time.Add(400 * time.Millisecond)
	writeSessions(t, s, second)
	st.write(second)
	// A third time for a few snapshots, each in the batch twice: the
	// later wins.
	var third []analytics.SessionSnapshot
	for i, sn := range GenerateSessions(7, SessionAddresses, sessionMonth, time.Hour, 24) {
		if i%10 == 0 {
			early := sn
			early.ASN, early.Received = 1, 999
			third = append(third, early)
		}
	}
	for i, sn := range GenerateSessions(8, SessionAddresses, sessionMonth, time.Hour, 24) {
		if i%10 == 0 {
			third = append(third, sn)
		}
	}
	writeSessions(t, s, third)
	st.write(third) // in order: the later copy stays
	if len(st) != len(first) {
		t.Fatalf("test state holds %d snapshots, want %d", len(st), len(first))
	}
	checkSessions(t, s, st, analytics.SessionQuery{From: everythingFrom, To: everythingTo})
	checkSessions(t, s, st, analytics.SessionQuery{From: sessionMonth.Add(5 * time.Hour), To: sessionMonth.Add(7 * time.Hour)})
	got, err := s.Sessions(t.Context(), analytics.SessionQuery{From: everythingFrom, To: everythingTo})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(first) {
		t.Errorf("Sessions() after rewrites: %d snapshots, want %d (one per address and time)", len(got), len(first))
	}
}

func testSessionsBadBatch(t *testing.T, s analytics.Store) {
	ctx := t.Context()
	good := GenerateSessions(9, SessionAddresses, sessionMonth, time.Hour, 3)
	rejectsBadBatches(t, "WriteSessions", good, func(bad []analytics.SessionSnapshot) error { return s.WriteSessions(ctx, bad) }, []badItem[analytics.SessionSnapshot]{
		{"empty address", func(sn *analytics.SessionSnapshot) { sn.Address = "" }},
		{"before 1970", func(sn *analytics.SessionSnapshot) {
			sn.Time = time.Date(1969, time.December, 31, 23, 59, 59, 0, time.UTC)
		}},
		{"after 2106", func(sn *analytics.SessionSnapshot) { sn.Time = time.Date(2106, time.March, 1, 0, 0, 0, 0, time.UTC) }},
		{"zero time", func(sn *analytics.SessionSnapshot) { sn.Time = time.Time{} }},
	})
	checkSessions(t, s, sessionState{}, analytics.SessionQuery{From: everythingFrom, To: everythingTo})
	// The store still works and takes the good batch whole.
	writeSessions(t, s, good)
	st := sessionState{}
	st.write(good)
	checkSessions(t, s, st, analytics.SessionQuery{From: everythingFrom, To: everythingTo})
}

// testSessionsRetention checks that snapshots go with the rollups, not
// with the raw flows. The days are those of testRetention, where a store
// that drops days and one that drops months agree.
func testSessionsRetention(t *testing.T, s analytics.Store) {
	ctx := t.Context()
	day := func(y int, m time.Month, d int) time.Time { return time.Date(y, m, d, 0, 0, 0, 0, time.UTC) }
	var snaps []analytics.SessionSnapshot
	for i, d := range []time.Time{
		day(2023, time.June, 30), day(2023, time.July, 1), day(2023, time.July, 2),
		day(2024, time.May, 30), day(2024, time.May, 31), day(2024, time.June, 1), day(2024, time.June, 30),
	} {
		// The first and the last second of the day, and noon.
		snaps = append(snaps, GenerateSessions(uint64(20+i), SessionAddresses, d, 12*time.Hour, 2)...)
		snaps = append(snaps, GenerateSessions(uint64(40+i), SessionAddresses, d.Add(24*time.Hour-time.Second), time.Hour, 1)...)
	}
	writeSessions(t, s, snaps)

	check := func(t *testing.T, from time.Time) {
		t.Helper()
		kept := slices.DeleteFunc(slices.Clone(snaps), func(sn analytics.SessionSnapshot) bool { return sn.Time.Before(from) })
		CheckSessions(t, s, kept, analytics.SessionQuery{From: everythingFrom, To: everythingTo})
	}
	r := analytics.Retention{Raw: 30 * 24 * time.Hour, Rollup: 366 * 24 * time.Hour}
	for _, c := range []struct {
		name string
		now  time.Time
		r    analytics.Retention
		from time.Time // first day kept
	}{
		// Rollups kept: the raw cutoff (2024-05-31 12:00) must not touch snapshots.
		{"raw only", time.Date(2024, time.June, 30, 12, 0, 0, 0, time.UTC), analytics.Retention{Raw: r.Raw}, day(2023, time.June, 30)},
		// Cutoff at noon: its day is kept whole.
		{"noon", time.Date(2024, time.June, 30, 12, 0, 0, 0, time.UTC), r, day(2023, time.June, 30)},
		// Cutoff at midnight: the day that ends there goes.
		{"midnight", day(2024, time.July, 1), r, day(2023, time.July, 1)},
		{"again", day(2024, time.July, 1), r, day(2023, time.July, 1)},
		{"default", day(2024, time.July, 1), analytics.DefaultRetention, day(2023, time.July, 1)},
	} {
		t.Run(c.name, func(t *testing.T) {
			if err := s.ApplyRetention(ctx, c.now, c.r); err != nil {
				t.Fatalf("ApplyRetention(%s, %+v) error: %v", c.now, c.r, err)
			}
			check(t, c.from)
		})
	}
	// Snapshots written after retention land as usual.
	more := GenerateSessions(90, SessionAddresses, day(2024, time.June, 30).Add(time.Hour), time.Hour, 3)
	writeSessions(t, s, more)
	snaps = append(snaps, more...)
	check(t, day(2023, time.July, 1))
}
