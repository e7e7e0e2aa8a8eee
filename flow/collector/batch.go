package collector

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/ixpd/ixpd/flow"
)

// Writer is what the pipeline needs from the analytics store.
type Writer interface {
	// WriteFlows stores the whole batch or none of it.
	WriteFlows(ctx context.Context, flows []flow.Flow) error
}

// batcher gathers flows into batches of a bounded size, writes them from
// one goroutine, and spools to disk what the store cannot take, so memory
// stays bounded whatever the store does: at most queue+1 batches in memory.
type batcher struct {
	logger   *slog.Logger
	w        Writer
	sp       *spool
	size     int
	interval time.Duration
	m        *batchMetrics

	mu    sync.Mutex
	cur   []flow.Flow
	ready chan []flow.Flow
	// wait makes add wait for the writer instead of spooling when it is
	// behind: replay reads files, so it can slow down and nothing need go
	// to disk.
	wait bool
}

type batchMetrics struct {
	flowsWritten  prometheus.Counter
	writeErrors   prometheus.Counter
	insertSeconds prometheus.Histogram
	spooled       prometheus.Counter
	replayed      prometheus.Counter
	dropped       *prometheus.CounterVec
	spoolBatches  prometheus.GaugeFunc
	spoolBytes    prometheus.GaugeFunc
}

func newBatchMetrics(reg prometheus.Registerer, sp *spool) (*batchMetrics, error) {
	m := &batchMetrics{
		flowsWritten: prometheus.NewCounter(prometheus.CounterOpts{Name: "ixpd_flow_written_flows_total",
			Help: "Flows written to the store."}),
		writeErrors: prometheus.NewCounter(prometheus.CounterOpts{Name: "ixpd_flow_write_errors_total",
			Help: "Batches the store refused or could not take."}),
		insertSeconds: prometheus.NewHistogram(prometheus.HistogramOpts{Name: "ixpd_flow_insert_seconds",
			Help: "Time to write one batch.", Buckets: prometheus.ExponentialBuckets(0.001, 2, 14)}),
		spooled: prometheus.NewCounter(prometheus.CounterOpts{Name: "ixpd_flow_spooled_batches_total",
			Help: "Batches written to the disk spool."}),
		replayed: prometheus.NewCounter(prometheus.CounterOpts{Name: "ixpd_flow_replayed_batches_total",
			Help: "Spooled batches written to the store."}),
		dropped: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "ixpd_flow_dropped_flows_total",
			Help: "Flows dropped, by reason."}, []string{"reason"}),
		spoolBatches: prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "ixpd_flow_spool_batches",
			Help: "Batches waiting in the disk spool."}, func() float64 { n, _ := sp.size(); return float64(n) }),
		spoolBytes: prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "ixpd_flow_spool_bytes",
			Help: "Bytes in the disk spool."}, func() float64 { _, b := sp.size(); return float64(b) }),
	}
	for _, c := range []prometheus.Collector{m.flowsWritten, m.writeErrors, m.insertSeconds, m.spooled, m.replayed,
		m.dropped, m.spoolBatches, m.spoolBytes} {
		if err := reg.Register(c); err != nil {
			return nil, err
		}
	}
	return m, nil
}

func newBatcher(logger *slog.Logger, w Writer, sp *spool, m *batchMetrics, size, queue int, interval time.Duration) *batcher {
	return &batcher{logger: logger, w: w, sp: sp, m: m, size: size, interval: interval,
		cur: make([]flow.Flow, 0, size), ready: make(chan []flow.Flow, queue)}
}

// add takes flows from a worker; it never blocks on the store.
func (b *batcher) add(flows []flow.Flow) {
	for len(flows) > 0 {
		b.mu.Lock()
		n := min(len(flows), b.size-len(b.cur))
		b.cur = append(b.cur, flows[:n]...)
		flows = flows[n:]
		var full []flow.Flow
		if len(b.cur) >= b.size {
			full, b.cur = b.cur, make([]flow.Flow, 0, b.size)
		}
		b.mu.Unlock()
		if full != nil {
			b.enqueue(full)
		}
	}
}

// enqueue hands a batch to the writer, or to the spool when the writer is
// behind.
func (b *batcher) enqueue(batch []flow.Flow) {
	if b.wait {
		b.ready <- batch
		return
	}
	select {
	case b.ready <- batch:
	default:
		b.spoolOrDrop(batch)
	}
}

func (b *batcher) takeCurrent() []flow.Flow {
	b.mu.Lock()
	defer b.mu.Unlock()
	if len(b.cur) == 0 {
		return nil
	}
	batch := b.cur
	b.cur = make([]flow.Flow, 0, b.size)
	return batch
}

func (b *batcher) spoolOrDrop(batch []flow.Flow) {
	err := b.sp.put(batch)
	switch {
	case err == nil:
		b.m.spooled.Inc()
	case errors.Is(err, errSpoolFull):
		b.m.dropped.WithLabelValues("spool_full").Add(float64(len(batch)))
		b.logger.Warn("flows dropped: spool full", "flows", len(batch))
	default:
		b.m.dropped.WithLabelValues("spool_error").Add(float64(len(batch)))
		b.logger.Error("flows dropped: spool write failed", "flows", len(batch), "err", err)
	}
}

// write stores a batch; on failure the batch goes to the spool. Stopping
// does not cancel a write under way: a write cut short may have been
// stored, and spooling it would store it twice.
func (b *batcher) write(ctx context.Context, batch []flow.Flow) {
	start := time.Now()
	wctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	err := b.w.WriteFlows(wctx, batch)
	cancel()
	if err != nil {
		b.m.writeErrors.Inc()
		b.logger.Warn("store write failed; spooling", "flows", len(batch), "err", err)
		b.spoolOrDrop(batch)
		return
	}
	b.m.insertSeconds.Observe(time.Since(start).Seconds())
	b.m.flowsWritten.Add(float64(len(batch)))
}

// replayOne writes the oldest spooled batch; it reports whether it wrote
// one.
func (b *batcher) replayOne(ctx context.Context) bool {
	seq, batch, ok, err := b.sp.oldest()
	if !ok {
		return false
	}
	if err != nil {
		b.logger.Error("spooled batch unreadable; removed", "err", err)
		b.m.dropped.WithLabelValues("spool_corrupt").Inc()
		_ = b.sp.remove(seq) // it cannot be read; keeping it would block the spool
		return false
	}
	wctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	defer cancel()
	if err := b.w.WriteFlows(wctx, batch); err != nil {
		return false
	}
	if err := b.sp.remove(seq); err != nil {
		b.logger.Error("remove replayed batch", "err", err)
	}
	b.m.replayed.Inc()
	b.m.flowsWritten.Add(float64(len(batch)))
	return true
}

// flushSpool writes spooled batches until the spool is empty or the store
// refuses one; it reports whether the spool is empty.
func (b *batcher) flushSpool(ctx context.Context) bool {
	for b.replayOne(ctx) {
	}
	n, _ := b.sp.size()
	return n == 0
}

// run writes batches until ctx ends, then writes or spools everything
// still in memory.
func (b *batcher) run(ctx context.Context) error {
	tick := time.NewTicker(b.interval)
	defer tick.Stop()
	retry := time.NewTicker(time.Second)
	defer retry.Stop()
	for {
		select {
		case <-ctx.Done():
			b.drain()
			return nil
		case batch := <-b.ready:
			b.write(ctx, batch)
		case <-tick.C:
			if batch := b.takeCurrent(); batch != nil {
				b.write(ctx, batch)
			}
		case <-retry.C:
			// Replay the spool while the store takes it, a few batches a
			// second so fresh batches are not starved.
			for range 8 {
				if ctx.Err() != nil || !b.replayOne(ctx) {
					break
				}
			}
		}
	}
}

// drain writes (or spools) the current batch and everything queued, with
// a bounded wait for the store.
func (b *batcher) drain() {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var pending [][]flow.Flow
	if batch := b.takeCurrent(); batch != nil {
		pending = append(pending, batch)
	}
	for {
		select {
		case batch := <-b.ready:
			pending = append(pending, batch)
			continue
		default:
		}
		break
	}
	for _, batch := range pending {
		if ctx.Err() != nil {
			b.spoolOrDrop(batch)
			continue
		}
		b.write(ctx, batch)
	}
}
