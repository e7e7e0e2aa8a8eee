package main

import (
	"context"
	"testing"
	"time"

	"github.com/ixpd/ixpd/flow"
)

func TestGenMonth(t *testing.T) {
	from := time.Date(2026, 10, 1, 0, 0, 0, 0, time.UTC)
	to := from.AddDate(0, 1, 0)
	o := &apiBenchOptions{members: 5, batch: 1000, edgeShare: 0.1, seed: 1}
	out := make(chan []flow.Flow)
	go func() {
		defer close(out)
		genMonth(context.Background(), o, 12345, from, to, out)
	}()
	n, edge := 0, 0
	var last time.Time
	for b := range out {
		for _, f := range b {
			n++
			if f.TimeReceived.Before(from) || !f.TimeReceived.Before(to) {
				t.Fatalf("flow at %s outside the month", f.TimeReceived)
			}
			if f.TimeReceived.Before(last.Truncate(5 * time.Minute)) {
				t.Fatalf("flow at %s before an earlier bin %s", f.TimeReceived, last)
			}
			last = f.TimeReceived
			switch f.Role {
			case flow.RoleMemberEdge:
				edge++
				if !f.Domestic || f.IXPExchanged || f.SrcMember == 0 {
					t.Fatalf("bad member-edge flow %+v", f)
				}
			case flow.RoleIXPSwitch:
				if !f.IXPExchanged || f.SrcMember == f.DstMember || f.SrcMember == 0 || f.DstMember == 0 {
					t.Fatalf("bad IXP flow %+v", f)
				}
			default:
				t.Fatalf("role %v", f.Role)
			}
		}
	}
	if n != 12345 {
		t.Errorf("got %d flows, want 12345", n)
	}
	if edge < 1000 || edge > 1500 {
		t.Errorf("%d member-edge flows, want about 1234", edge)
	}
}

func TestQuantile(t *testing.T) {
	var d []time.Duration
	for i := 1; i <= 50; i++ {
		d = append(d, time.Duration(i)*time.Millisecond)
	}
	if got := quantile(d, 0.5); got != 25*time.Millisecond {
		t.Errorf("p50 = %s", got)
	}
	if got := quantile(d, 0.95); got != 48*time.Millisecond {
		t.Errorf("p95 = %s", got)
	}
}
