package report

import (
	"cmp"
	"context"
	"slices"
	"strings"
	"time"

	"github.com/ixpd/ixpd/analytics"
	"github.com/ixpd/ixpd/routeserver"
)

// Routing is the route server over the month, from the session snapshots
// in the store: sessions, routes at the month's last snapshot, filtered
// routes by reason, RPKI and IRR coverage, joins and leaves.
type Routing struct {
	// Snapshots counts the distinct snapshot times in the month.
	Snapshots     int        `json:"snapshots"`
	FirstSnapshot *time.Time `json:"first_snapshot"`
	LastSnapshot  *time.Time `json:"last_snapshot"`
	// At the last snapshot: members (distinct ASNs), sessions, sessions
	// up, and routes summed over the sessions.
	MembersAtEnd    int    `json:"members_at_end"`
	SessionsAtEnd   int    `json:"sessions_at_end"`
	SessionsUpAtEnd int    `json:"sessions_up_at_end"`
	ReceivedRoutes  uint64 `json:"received_routes"`
	AcceptedRoutes  uint64 `json:"accepted_routes"`
	FilteredRoutes  uint64 `json:"filtered_routes"`
	// Sessions are every session seen in the month, by ASN and address.
	Sessions []Session `json:"sessions"`
	// FilteredByReason counts filtered routes by reject reason at the
	// last snapshot; a route with several reasons counts under each.
	FilteredByReason []ReasonCount `json:"filtered_by_reason"`
	RPKI             RPKICoverage  `json:"rpki"`
	IRR              IRRCoverage   `json:"irr"`
	// JoinsKnown is false when the month before has no snapshots (or this
	// one has none): joins and leaves cannot be told then.
	JoinsKnown bool        `json:"joins_known"`
	Joins      []MemberRef `json:"joins"`
	Leaves     []MemberRef `json:"leaves"`
	Note       string      `json:"note,omitempty"`
}

// Session is one route-server session over the month.
type Session struct {
	ASN     uint32 `json:"asn"`
	Name    string `json:"name"`
	Address string `json:"address"`
	// Snapshots of this session in the month, and how many found it up.
	Snapshots   int     `json:"snapshots"`
	UpSnapshots int     `json:"up_snapshots"`
	UpShare     float64 `json:"up_share"`
	// UpAtEnd is true when the session was up at the month's last
	// snapshot; the route counts are those of that snapshot (0 when the
	// session was not in it).
	UpAtEnd  bool      `json:"up_at_end"`
	LastSeen time.Time `json:"last_seen"`
	Received uint32    `json:"received_routes"`
	Accepted uint32    `json:"accepted_routes"`
	Filtered uint32    `json:"filtered_routes"`
}

// ReasonCount is the filtered routes of one reject reason.
type ReasonCount struct {
	Code   uint16 `json:"code"`
	Name   string `json:"name"`
	Routes uint64 `json:"routes"`
}

// RPKICoverage is the RPKI origin validation of the received routes at
// the last snapshot; shares are nil without received routes, and when no
// route carried an RPKI state (origin validation was off).
type RPKICoverage struct {
	// Checked is false when no received route carried an RPKI state.
	Checked       bool     `json:"checked"`
	ValidRoutes   uint64   `json:"valid_routes"`
	UnknownRoutes uint64   `json:"unknown_routes"`
	InvalidRoutes uint64   `json:"invalid_routes"`
	ValidShare    *float64 `json:"valid_share"`
	UnknownShare  *float64 `json:"unknown_share"`
	InvalidShare  *float64 `json:"invalid_share"`
}

// IRRCoverage is the received routes that match their member's IRR data
// at the last snapshot; the share is nil without received routes, and
// when no route matched nor was filtered for IRR (IRR filtering was off).
type IRRCoverage struct {
	// Checked is false when no route matched and none was filtered for
	// IRR (reasons 9 and 10).
	Checked     bool     `json:"checked"`
	ValidRoutes uint64   `json:"valid_routes"`
	ValidShare  *float64 `json:"valid_share"`
}

// MemberRef names a member.
type MemberRef struct {
	ASN  uint32 `json:"asn"`
	Name string `json:"name"`
}

// reasonName names a Euro-IX reject reason code.
func reasonName(code uint16) string {
	for _, r := range routeserver.Reasons() {
		if r.Code == uint32(code) {
			return r.Name
		}
	}
	return "Unknown reason"
}

// buildRouting fills Routing from the snapshots of the month and of the
// month before.
func (r *Report) buildRouting(ctx context.Context, st analytics.SessionStore, cfg Config) error {
	snaps, err := st.Sessions(ctx, analytics.SessionQuery{From: r.From, To: r.To})
	if err != nil {
		return err
	}
	prevFrom := r.From.AddDate(0, -1, 0)
	prev, err := st.Sessions(ctx, analytics.SessionQuery{From: prevFrom, To: r.From})
	if err != nil {
		return err
	}
	names := memberNames(cfg.Members)
	ro := Routing{Sessions: []Session{}, FilteredByReason: []ReasonCount{}, Joins: []MemberRef{}, Leaves: []MemberRef{}}
	times := map[int64]bool{}
	var last time.Time
	for _, s := range snaps {
		times[s.Time.Unix()] = true
		if s.Time.After(last) {
			last = s.Time
		}
	}
	ro.Snapshots = len(times)
	if len(snaps) > 0 {
		first := snaps[0].Time.UTC()
		for _, s := range snaps {
			if s.Time.Before(first) {
				first = s.Time.UTC()
			}
		}
		last = last.UTC()
		ro.FirstSnapshot, ro.LastSnapshot = &first, &last
	}
	type key struct {
		asn  uint32
		addr string
	}
	sessions := map[key]*Session{}
	reasons := map[uint16]uint64{}
	atEnd := map[uint32]bool{}
	for _, s := range snaps {
		k := key{s.ASN, s.Address}
		se := sessions[k]
		if se == nil {
			se = &Session{ASN: s.ASN, Name: names[s.ASN], Address: s.Address}
			sessions[k] = se
		}
		se.Snapshots++
		if s.Up {
			se.UpSnapshots++
		}
		if s.Time.After(se.LastSeen) {
			se.LastSeen = s.Time.UTC()
		}
		if !s.Time.Equal(last) {
			continue
		}
		se.UpAtEnd = s.Up
		se.Received, se.Accepted, se.Filtered = s.Received, s.Accepted, s.Filtered
		atEnd[s.ASN] = true
		ro.SessionsAtEnd++
		if s.Up {
			ro.SessionsUpAtEnd++
		}
		ro.ReceivedRoutes += uint64(s.Received)
		ro.AcceptedRoutes += uint64(s.Accepted)
		ro.FilteredRoutes += uint64(s.Filtered)
		ro.RPKI.ValidRoutes += uint64(s.RPKIValid)
		ro.RPKI.UnknownRoutes += uint64(s.RPKIUnknown)
		ro.RPKI.InvalidRoutes += uint64(s.RPKIInvalid)
		ro.IRR.ValidRoutes += uint64(s.IRRValid)
		for code, n := range s.Reasons {
			reasons[code] += uint64(n)
		}
	}
	ro.MembersAtEnd = len(atEnd)
	for _, se := range sessions {
		se.UpShare = float64(se.UpSnapshots) / float64(se.Snapshots)
		ro.Sessions = append(ro.Sessions, *se)
	}
	slices.SortFunc(ro.Sessions, func(a, b Session) int {
		if c := cmp.Compare(a.ASN, b.ASN); c != 0 {
			return c
		}
		return strings.Compare(a.Address, b.Address)
	})
	for code, n := range reasons {
		if n > 0 {
			ro.FilteredByReason = append(ro.FilteredByReason, ReasonCount{Code: code, Name: reasonName(code), Routes: n})
		}
	}
	slices.SortFunc(ro.FilteredByReason, func(a, b ReasonCount) int { return cmp.Compare(a.Code, b.Code) })
	ro.RPKI.Checked = ro.RPKI.ValidRoutes+ro.RPKI.UnknownRoutes+ro.RPKI.InvalidRoutes > 0
	ro.IRR.Checked = ro.IRR.ValidRoutes > 0 || reasons[9] > 0 || reasons[10] > 0
	if ro.ReceivedRoutes > 0 && ro.RPKI.Checked {
		ro.RPKI.ValidShare = ratio(ro.RPKI.ValidRoutes, ro.ReceivedRoutes)
		ro.RPKI.UnknownShare = ratio(ro.RPKI.UnknownRoutes, ro.ReceivedRoutes)
		ro.RPKI.InvalidShare = ratio(ro.RPKI.InvalidRoutes, ro.ReceivedRoutes)
	}
	if ro.ReceivedRoutes > 0 && ro.IRR.Checked {
		ro.IRR.ValidShare = ratio(ro.IRR.ValidRoutes, ro.ReceivedRoutes)
	}
	switch {
	case len(snaps) == 0:
		ro.Note = "no route-server session snapshots in " + r.Month + ": sessions, routes, joins and leaves cannot be told"
	case len(prev) == 0:
		ro.Note = "no route-server session snapshots in " + prevFrom.Format("2006-01") + ": joins and leaves cannot be told"
	default:
		ro.JoinsKnown = true
		now, before := asnSet(snaps), asnSet(prev)
		for _, asn := range sortedKeys(now) {
			if !before[asn] {
				ro.Joins = append(ro.Joins, MemberRef{ASN: asn, Name: names[asn]})
			}
		}
		for _, asn := range sortedKeys(before) {
			if !now[asn] {
				ro.Leaves = append(ro.Leaves, MemberRef{ASN: asn, Name: names[asn]})
			}
		}
	}
	r.Routing = ro
	return nil
}

func asnSet(snaps []analytics.SessionSnapshot) map[uint32]bool {
	out := map[uint32]bool{}
	for _, s := range snaps {
		out[s.ASN] = true
	}
	return out
}

func sortedKeys(m map[uint32]bool) []uint32 {
	out := make([]uint32, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

// ratio is a ÷ b.
func ratio(a, b uint64) *float64 {
	v := float64(a) / float64(b)
	return &v
}
