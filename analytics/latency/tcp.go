package latency

import (
	"context"
	"errors"
	"net"
	"syscall"
	"time"

	"golang.org/x/sync/errgroup"
)

// tcpEngine measures connect times in a pool of workers: the scheduler
// queues a probe and never waits; a full queue skips the probe (counted,
// not sent).
type tcpEngine struct {
	p       *Prober
	workers int
	jobs    chan tcpJob
}

type tcpJob struct {
	t   *target
	due time.Time
}

func newTCPEngine(p *Prober, workers int) *tcpEngine {
	return &tcpEngine{p: p, workers: workers, jobs: make(chan tcpJob, workers)}
}

func (e *tcpEngine) open() error                                         { return nil }
func (e *tcpEngine) add(context.Context, *errgroup.Group, *target) error { return nil }
func (e *tcpEngine) close()                                              {}

func (e *tcpEngine) run(ctx context.Context, eg *errgroup.Group) {
	for range e.workers {
		eg.Go(func() error {
			for {
				select {
				case <-ctx.Done():
					return nil
				case j := <-e.jobs:
					e.probe(ctx, j)
				}
			}
		})
	}
}

func (e *tcpEngine) send(t *target, due time.Time) {
	select {
	case e.jobs <- tcpJob{t: t, due: due}:
	default:
		e.p.metrics.skipped.WithLabelValues(reasonTCPBusy).Inc()
	}
}

// probe connects once. The RTT is the kernel's handshake sample where
// there is one, else the duration of the connect.
func (e *tcpEngine) probe(ctx context.Context, j tcpJob) {
	d := net.Dialer{Timeout: e.p.cfg.Timeout, KeepAlive: -1}
	start := time.Now()
	ref := e.p.sentAt(j.t, j.due, start)
	conn, err := d.DialContext(ctx, "tcp", j.t.addr.String())
	end := time.Now()
	if err != nil {
		if ctx.Err() != nil {
			return // stopping: the probe is unsettled and not counted
		}
		e.p.metrics.probeErrors.WithLabelValues(MethodTCP, tcpReason(err)).Inc()
		return
	}
	rtt, clock := end.Sub(start), "user"
	tc, ok := conn.(*net.TCPConn)
	if ok {
		if k, kok := handshakeRTT(tc); kok && k <= rtt {
			rtt, clock = k, "kernel"
		}
		_ = tc.SetLinger(0) // close with a reset: no TIME_WAIT per probe
	}
	_ = conn.Close()
	e.p.record(MethodTCP, ref, rtt, clock)
}

func tcpReason(err error) string {
	var ne net.Error
	switch {
	case errors.Is(err, syscall.ECONNREFUSED):
		return reasonRefused
	case errors.As(err, &ne) && ne.Timeout():
		return reasonTimeout
	}
	return reasonOther
}
