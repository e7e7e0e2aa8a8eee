package collector

import (
	"context"
	"errors"
	"fmt"
	"net/netip"

	"github.com/ixpd/ixpd/flow"
	"github.com/ixpd/ixpd/flow/decoder"
)

// ReplaySummary tells what a replay read and stored.
type ReplaySummary struct {
	Files   int
	Packets int            // UDP datagrams on the flow ports
	Skipped int            // other packets
	Flows   int            // flows decoded and passed to the store
	Errors  map[string]int // decode errors by kind
	Spooled int            // batches left in the spool: the store refused them

	Exporters []ExporterStats
}

func (s ReplaySummary) String() string {
	out := fmt.Sprintf("%d files, %d datagrams, %d flows, %d other packets skipped, decode errors %v",
		s.Files, s.Packets, s.Flows, s.Skipped, s.Errors)
	if s.Spooled > 0 {
		out += fmt.Sprintf("; %d batches left in the spool (the store refused them; the daemon writes them at its next start)", s.Spooled)
	}
	return out
}

// Replay feeds every UDP datagram to the flow ports in the capture files
// through the same decode, attribution and store path as live traffic,
// with the capture's timestamps as receive time; then it writes everything
// (or spools what the store does not take) and returns.
func (c *Component) Replay(ctx context.Context, files []string) (ReplaySummary, error) {
	sum := ReplaySummary{Errors: map[string]int{}}
	if err := c.openPipeline(); err != nil {
		return sum, err
	}
	ports := map[uint16]bool{}
	for _, l := range []string{c.cfg.SFlowListen, c.cfg.NetFlowListen} {
		if ap, err := netip.ParseAddrPort(l); err == nil {
			ports[ap.Port()] = true
		}
	}
	c.batcher.wait = true
	batchCtx, stopBatch := context.WithCancel(context.Background())
	batchDone := make(chan struct{})
	go func() {
		defer close(batchDone)
		_ = c.batcher.run(batchCtx)
	}()
	d := c.decoders[0] // one reader: the capture's order
	var out []flow.Flow
	for _, file := range files {
		if err := ctx.Err(); err != nil {
			break
		}
		sum.Files++
		skipped, err := readCapture(file, func(cd capturedDatagram) error {
			if len(ports) > 0 && !ports[cd.dstPort] {
				sum.Skipped++
				return nil
			}
			sum.Packets++
			var err error
			out, err = c.handle(d, datagram{src: cd.src, t: cd.t, payload: cd.payload, from: listenFor(cd.dstPort, c.cfg)}, out[:0])
			if derr, ok := errors.AsType[*decoder.Error](err); ok {
				sum.Errors[string(derr.Kind)]++
			} else if err != nil {
				sum.Errors["other"]++
			}
			sum.Flows += len(out)
			d.Expire(cd.t)
			return ctx.Err()
		})
		sum.Skipped += skipped
		if err != nil {
			stopBatch()
			<-batchDone
			return sum, fmt.Errorf("replay %s: %w", file, err)
		}
	}
	stopBatch()
	<-batchDone
	// What an earlier run or a refused write left on disk goes in too.
	if !c.batcher.flushSpool(ctx) {
		n, _ := c.spool.size()
		sum.Spooled = n
	}
	sum.Exporters = c.stats.list()
	return sum, nil
}

func listenFor(port uint16, cfg Configuration) listener {
	if ap, err := netip.ParseAddrPort(cfg.SFlowListen); err == nil && ap.Port() == port {
		return listenSFlow
	}
	return listenNetFlow
}
