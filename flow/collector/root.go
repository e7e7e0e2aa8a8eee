// Package collector is the flow collector: UDP listeners for sFlow and
// NetFlow/IPFIX, workers that decode (flow/decoder) and attribute
// (flow/enrich) datagrams in order per exporter, and a batcher that writes
// to the analytics store with a disk spool when the store is away. Replay
// feeds capture files through the same path.
package collector

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"strconv"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"golang.org/x/sync/errgroup"

	"github.com/ixpd/ixpd/flow"
	"github.com/ixpd/ixpd/flow/decoder"
)

// Enricher attributes flows (flow/enrich.Enricher).
type Enricher interface {
	Enrich(f *flow.Flow)
}

// Dependencies are what the collector needs from other components.
type Dependencies struct {
	// Writer is the analytics store.
	Writer Writer
	// Enricher attributes flows; nil leaves them as decoded.
	Enricher Enricher
}

// Component is the flow collector.
type Component struct {
	logger   *slog.Logger
	cfg      Configuration
	deps     Dependencies
	metrics  *metrics
	batchM   *batchMetrics
	decoders []*decoder.Decoder
	spool    *spool
	batcher  *batcher
	stats    *exporterTable
	disp     *dispatcher

	conns   []*net.UDPConn
	readers sync.WaitGroup // the read loops, waited for before the workers stop
	eg      *errgroup.Group
	cancel  context.CancelFunc
	reg     prometheus.Registerer
}

type metrics struct {
	datagrams     *prometheus.CounterVec
	dropped       *prometheus.CounterVec
	receiveErrors prometheus.Counter
}

// New builds the collector; it does no I/O.
func New(logger *slog.Logger, reg prometheus.Registerer, cfg Configuration, deps Dependencies) (*Component, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if deps.Writer == nil {
		return nil, errors.New("flow collector: no store to write to")
	}
	c := &Component{logger: logger.With("component", "flow"), cfg: cfg, deps: deps, reg: reg,
		stats: newExporterTable(cfg.Exporters)}
	c.metrics = &metrics{
		datagrams: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "ixpd_flow_datagrams_total",
			Help: "Datagrams received, by listener."}, []string{"listener"}),
		dropped: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "ixpd_flow_dropped_datagrams_total",
			Help: "Datagrams dropped before decoding, by reason."}, []string{"reason"}),
		receiveErrors: prometheus.NewCounter(prometheus.CounterOpts{Name: "ixpd_flow_receive_errors_total",
			Help: "Errors reading from the UDP sockets."}),
	}
	for _, col := range []prometheus.Collector{c.metrics.datagrams, c.metrics.dropped, c.metrics.receiveErrors} {
		if err := reg.Register(col); err != nil {
			return nil, fmt.Errorf("register flow metrics: %w", err)
		}
	}
	dcfg := decoder.Config{Exporters: map[netip.Addr]decoder.Exporter{}}
	for _, e := range cfg.Exporters {
		role, _ := ParseRole(e.Role) // checked by Validate
		dcfg.Exporters[e.Address] = decoder.Exporter{Role: role, SamplingRate: e.SamplingRate}
	}
	for i := range cfg.Workers {
		d, err := decoder.New(prometheus.WrapRegistererWith(prometheus.Labels{"worker": strconv.Itoa(i)}, reg), dcfg)
		if err != nil {
			return nil, fmt.Errorf("flow decoder: %w", err)
		}
		c.decoders = append(c.decoders, d)
	}
	return c, nil
}

// Exporters lists every exporter seen since start.
func (c *Component) Exporters(context.Context) ([]ExporterStats, error) {
	return c.stats.list(), nil
}

// openSpool opens the spool and the batcher (shared by Start and Replay).
func (c *Component) openPipeline() error {
	sp, err := openSpool(c.cfg.SpoolDir, c.cfg.SpoolMaxBytes)
	if err != nil {
		return err
	}
	m, err := newBatchMetrics(c.reg, sp)
	if err != nil {
		return fmt.Errorf("register flow metrics: %w", err)
	}
	c.spool, c.batchM = sp, m
	c.batcher = newBatcher(c.logger, c.deps.Writer, sp, m, c.cfg.BatchSize, c.cfg.BatchQueue, c.cfg.BatchInterval)
	return nil
}

// Start opens the listeners and starts the workers and the writer.
func (c *Component) Start(ctx context.Context) error {
	if err := c.openPipeline(); err != nil {
		return err
	}
	runCtx, cancel := context.WithCancel(context.Background())
	c.cancel = cancel
	c.eg, runCtx = errgroup.WithContext(runCtx)
	c.disp = newDispatcher(c.cfg.Workers, c.cfg.QueueSize, func(datagram) {
		c.metrics.dropped.WithLabelValues("queue_full").Inc()
	})
	for _, l := range []struct {
		addr string
		kind listener
	}{{c.cfg.SFlowListen, listenSFlow}, {c.cfg.NetFlowListen, listenNetFlow}} {
		if l.addr == "" {
			continue
		}
		for range c.cfg.Sockets {
			conn, err := listenUDP(ctx, l.addr, c.cfg.ReceiveBuffer, c.cfg.Sockets > 1)
			if err != nil {
				c.closeConns()
				cancel()
				return err
			}
			if got := receiveBuffer(conn); got < c.cfg.ReceiveBuffer {
				c.logger.Warn("receive buffer smaller than configured; raise net.core.rmem_max",
					"listener", l.kind.String(), "configured", c.cfg.ReceiveBuffer, "got", got)
			}
			c.conns = append(c.conns, conn)
			c.readers.Add(1)
			c.eg.Go(func() error {
				defer c.readers.Done()
				readLoop(conn, l.kind, c.disp, func(err error) {
					c.metrics.receiveErrors.Inc()
					c.logger.Debug("receive", "err", err)
				})
				return nil
			})
		}
		c.logger.Info("flow listener", "listener", l.kind.String(), "addr", l.addr, "sockets", c.cfg.Sockets)
	}
	var workers sync.WaitGroup
	for i, q := range c.disp.queues {
		workers.Add(1)
		c.eg.Go(func() error {
			defer workers.Done()
			c.work(runCtx, c.decoders[i], q)
			return nil
		})
	}
	batchCtx, stopBatch := context.WithCancel(context.Background())
	batchDone := make(chan struct{})
	go func() {
		defer close(batchDone)
		_ = c.batcher.run(batchCtx)
	}()
	// The writer stops after the workers, so that what they decoded last
	// is written or spooled.
	c.eg.Go(func() error {
		<-runCtx.Done()
		workers.Wait()
		stopBatch()
		<-batchDone
		return nil
	})
	return nil
}

func (c *Component) closeConns() {
	for _, conn := range c.conns {
		_ = conn.Close() // unblocks the readers; nothing to flush on UDP
	}
}

// work decodes and attributes one queue's datagrams until ctx ends, then
// handles what is still queued.
func (c *Component) work(ctx context.Context, d *decoder.Decoder, q chan datagram) {
	expire := time.NewTicker(5 * time.Second)
	defer expire.Stop()
	var out []flow.Flow
	for {
		select {
		case dg := <-q:
			out, _ = c.handle(d, dg, out[:0])
		case now := <-expire.C:
			d.Expire(now)
		case <-ctx.Done():
			for {
				select {
				case dg := <-q:
					out, _ = c.handle(d, dg, out[:0])
				default:
					return
				}
			}
		}
	}
}

// handle decodes one datagram and passes its flows on. The error is the
// datagram's first decode problem (already counted and logged).
func (c *Component) handle(d *decoder.Decoder, dg datagram, out []flow.Flow) ([]flow.Flow, error) {
	c.metrics.datagrams.WithLabelValues(dg.from.String()).Inc()
	out, err := d.Decode(dg.src, dg.t, dg.payload, out)
	exporter := dg.src.Addr()
	if len(out) > 0 {
		exporter = out[0].Exporter
	} else if derr, ok := errors.AsType[*decoder.Error](err); ok && derr.Exporter.IsValid() {
		exporter = derr.Exporter
	}
	c.stats.seen(exporter, dg.t, out, err != nil)
	if err != nil {
		c.logger.Debug("decode", "src", dg.src, "err", err)
	}
	if len(out) > 0 {
		if c.deps.Enricher != nil {
			for i := range out {
				c.deps.Enricher.Enrich(&out[i])
			}
		}
		c.batcher.add(out)
	}
	return out, err
}

// Stop closes the listeners, lets the workers finish what is queued, and
// writes or spools every flow in memory.
func (c *Component) Stop(context.Context) error {
	if c.cancel == nil {
		return nil
	}
	c.closeConns()
	// A reader may be queueing the datagram it just read: let it, so the
	// workers see it before they stop.
	c.readers.Wait()
	c.cancel()
	return c.eg.Wait()
}
