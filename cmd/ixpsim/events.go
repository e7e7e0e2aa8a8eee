package main

import (
	"context"
	"fmt"
	"io"
	"sync"
	"sync/atomic"
	"time"
)

// The change events of -filters all. After convergence the bench changes
// the route server's data so that some prefixes must go, tells the route
// server to reload, and times how long it takes until every member has
// withdrawn every one of them.

// filterTarget is a target that can be run with -filters all.
type filterTarget interface {
	target
	// writeData writes the route server's data files for state st into
	// env.dir after change c.
	writeData(env *runEnv, st filterState, c change) error
	// reload tells the running route server to read its data again after
	// change c.
	reload(ctx context.Context, env *runEnv, p *rsProcess, c change) error
}

// change is what a change event changes.
type change int

const (
	changeVRP change = iota + 1
	changeIRR
)

func (c change) String() string {
	if c == changeVRP {
		return "VRP change"
	}
	return "IRR change"
}

var (
	_ filterTarget = (*ixpdTarget)(nil)
	_ filterTarget = (*birdTarget)(nil)
)

// event tracks one change: every member must withdraw every changed
// prefix it holds.
type event struct {
	set    bitset
	left   []atomic.Int64 // per member, changed prefixes still held
	done   atomic.Int64   // members holding none of them
	doneCh chan struct{}
	once   sync.Once
	doneAt time.Time // set before doneCh is closed

	withdrawn   atomic.Int64 // withdrawals of changed prefixes
	collateral  atomic.Int64 // withdrawals of other prefixes
	reannounced atomic.Int64 // changed prefixes announced again
	repeated    atomic.Int64 // announcements of prefixes already held
}

// newEvent prepares the event for the prefixes in changed, with every
// member holding every changed prefix but its own.
func newEvent(r *runState, changed []int) *event {
	ev := &event{set: newBitset(r.n * r.k), left: make([]atomic.Int64, r.n), doneCh: make(chan struct{})}
	for _, g := range changed {
		ev.set.set(g)
	}
	for i := range r.n {
		own := 0
		for _, g := range changed {
			if g/r.k == i {
				own++
			}
		}
		ev.left[i].Store(int64(len(changed) - own))
		if len(changed) == own {
			ev.memberDone(r.n)
		}
	}
	return ev
}

func (ev *event) memberDone(n int) {
	if ev.done.Add(1) == int64(n) {
		ev.once.Do(func() {
			ev.doneAt = time.Now()
			close(ev.doneCh)
		})
	}
}

// onWithdraw is called from member m's UPDATE callback for a prefix it
// held and lost.
func (ev *event) onWithdraw(m, g, n int) {
	if !ev.set.has(g) {
		ev.collateral.Add(1)
		return
	}
	ev.withdrawn.Add(1)
	if ev.left[m].Add(-1) == 0 {
		ev.memberDone(n)
	}
}

// onAnnounce is called for a prefix member m did not hold and now does.
func (ev *event) onAnnounce(m, g int) {
	if ev.set.has(g) {
		ev.reannounced.Add(1)
		ev.left[m].Add(1)
	}
}

// eventResult is one timed change.
type eventResult struct {
	Done bool `json:"done"`
	// Seconds runs from the reload (SIGHUP, birdc configure) to the moment
	// the last member had withdrawn every changed prefix.
	Seconds float64 `json:"seconds"`
	// CommandSeconds is how long the reload command took to return.
	CommandSeconds float64 `json:"command_seconds"`
	Prefixes       int     `json:"prefixes"`
	MembersDone    int     `json:"members_done"`
	// Withdrawn counts withdrawals of changed prefixes over all members;
	// OtherWithdrawals and Reannounced should stay 0, counted until the
	// settle time after the event.
	Withdrawn        int64 `json:"withdrawn"`
	OtherWithdrawals int64 `json:"other_withdrawals"`
	Reannounced      int64 `json:"reannounced"`
	// Repeated counts announcements of prefixes the member already held:
	// routes the route server sent again unchanged.
	Repeated int64  `json:"repeated"`
	Error    string `json:"error,omitempty"`
}

// eventSettle is how long after an event the bench keeps counting
// withdrawals and announcements that should not happen.
const eventSettle = 2 * time.Second

// runEvent applies one change to a converged route server and times it.
func runEvent(ctx context.Context, c change, t filterTarget, env *runEnv, p *rsProcess, r *runState,
	st filterState, changed []int, timeout time.Duration, progress io.Writer) eventResult {
	res := eventResult{Prefixes: len(changed)}
	fail := func(err error) eventResult {
		res.Error = err.Error()
		return res
	}
	if err := t.writeData(env, st, c); err != nil {
		return fail(fmt.Errorf("write data: %w", err))
	}
	ev := newEvent(r, changed)
	r.ev.Store(ev)
	defer r.ev.Store(nil)
	start := time.Now()
	if err := t.reload(ctx, env, p, c); err != nil {
		return fail(fmt.Errorf("reload: %w", err))
	}
	res.CommandSeconds = time.Since(start).Seconds()
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	tick := time.NewTicker(5 * time.Second)
	defer tick.Stop()
	collect := func() {
		res.MembersDone = int(ev.done.Load())
		res.Withdrawn = ev.withdrawn.Load()
		res.OtherWithdrawals = ev.collateral.Load()
		res.Reannounced = ev.reannounced.Load()
		res.Repeated = ev.repeated.Load()
	}
	for {
		select {
		case <-ev.doneCh:
			res.Done = true
			res.Seconds = ev.doneAt.Sub(start).Seconds()
			select {
			case <-time.After(eventSettle):
			case <-ctx.Done():
			}
			collect()
			return res
		case err := <-r.failed:
			collect()
			return fail(err)
		case <-p.exited:
			collect()
			return fail(p.exitError())
		case <-ctx.Done():
			collect()
			return fail(ctx.Err())
		case <-deadline.C:
			collect()
			return fail(fmt.Errorf("%s: %d of %d members done after %s", c, res.MembersDone, r.n, timeout))
		case <-tick.C:
			progressf(progress, "  %s: %s: %d/%d members done, %d withdrawals\n", c,
				time.Since(start).Round(time.Second), ev.done.Load(), r.n, ev.withdrawn.Load())
		}
	}
}
