package storetest

import (
	"cmp"
	"slices"
	"time"

	"github.com/ixpd/ixpd/analytics"
	"github.com/ixpd/ixpd/flow"
)

// The functions below compute what a store must answer straight from the
// flows that were written, without asking the store.

// family is the address family key of GroupFamily.
func family(etype uint16) uint64 {
	switch etype {
	case 0x0800:
		return 4
	case 0x86dd:
		return 6
	}
	return 0
}

// epochFloor returns the start of the step-wide bin holding t, counted from
// the Unix epoch, in UTC. (time.Truncate counts from year 1, which differs
// for steps that do not divide a day.)
func epochFloor(t time.Time, step time.Duration) time.Time {
	ns := t.UnixNano()
	m := ns % int64(step)
	if m < 0 {
		m += int64(step)
	}
	return time.Unix(0, ns-m).UTC()
}

func inRange(t, from, to time.Time) bool { return !t.Before(from) && t.Before(to) }

func expectTotals(flows []flow.Flow, q analytics.TotalsQuery) analytics.Totals {
	var tot analytics.Totals
	for _, f := range flows {
		if !inRange(f.TimeReceived, q.From, q.To) || (q.Exporter != "" && f.Exporter.String() != q.Exporter) {
			continue
		}
		tot.Flows++
		tot.Bytes += f.Bytes
		tot.Packets += f.Packets
	}
	return tot
}

func groupKeys(f *flow.Flow, g analytics.GroupBy) (key, key2 uint64) {
	switch g {
	case analytics.GroupMember:
		return uint64(f.SrcMember), 0
	case analytics.GroupPair:
		return uint64(f.SrcMember), uint64(f.DstMember)
	case analytics.GroupFamily:
		return family(f.EType), 0
	case analytics.GroupPathClass:
		return uint64(f.PathClass), 0
	}
	return 0, 0
}

func expectSeries(flows []flow.Flow, q analytics.SeriesQuery) []analytics.Point {
	type key struct {
		t         int64
		key, key2 uint64
	}
	sums := map[key]*analytics.Point{}
	for i := range flows {
		f := &flows[i]
		if (q.IXPExchanged && !f.IXPExchanged) || (q.Domestic && !f.Domestic) ||
			(q.Role != flow.RoleUnknown && f.Role != q.Role) ||
			(q.PathClass != flow.PathUnknown && f.PathClass != q.PathClass) {
			continue
		}
		bin := epochFloor(f.TimeReceived, analytics.BinSize)
		if !inRange(bin, q.From, q.To) {
			continue
		}
		t := epochFloor(bin, q.Step)
		k1, k2 := groupKeys(f, q.GroupBy)
		k := key{t.UnixNano(), k1, k2}
		p := sums[k]
		if p == nil {
			p = &analytics.Point{Time: t, Key: k1, Key2: k2}
			sums[k] = p
		}
		p.Bytes += f.Bytes
		p.Packets += f.Packets
		p.Flows++
	}
	points := make([]analytics.Point, 0, len(sums))
	for _, p := range sums {
		points = append(points, *p)
	}
	sortPoints(points)
	return points
}

func comparePoints(a, b analytics.Point) int {
	return cmp.Or(a.Time.Compare(b.Time), cmp.Compare(a.Key, b.Key), cmp.Compare(a.Key2, b.Key2))
}

func sortPoints(points []analytics.Point) { slices.SortFunc(points, comparePoints) }
