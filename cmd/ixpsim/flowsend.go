package main

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/netip"
	"time"
)

// Source addresses of flow-send: the sFlow agent (also the datagram's
// agent address) and the IPFIX exporter.
var (
	sflowAgentAddr  = netip.MustParseAddr("127.0.0.10")
	ipfixSourceAddr = netip.MustParseAddr("127.0.0.20")
)

// sendReport is what flow-send prints (one JSON object on stdout).
type sendReport struct {
	SFlowDatagrams int64   `json:"sflow_datagrams"`
	IPFIXDatagrams int64   `json:"ipfix_datagrams"` // data messages, without templates
	Templates      int64   `json:"ipfix_templates"`
	Flows          int64   `json:"flows"`
	SendErrors     int64   `json:"send_errors"`
	Seconds        float64 `json:"seconds"`
	CPUSeconds     float64 `json:"cpu_seconds"`
	// OfferedDgramRate is what was asked (0: as fast as possible);
	// DgramRate what was sent.
	OfferedDgramRate float64 `json:"offered_datagrams_per_second"`
	DgramRate        float64 `json:"datagrams_per_second"`
	FlowRate         float64 `json:"flows_per_second"`
}

// flowSend is the flow-send subcommand: it runs in its own process so that
// the collector's figures do not include it and its own CPU time can be
// shown.
func flowSend(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("flow-send", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		_, _ = fmt.Fprint(stderr, `usage: ixpsim flow-send [flags]

Sends sFlow v5 datagrams (8 flow samples each, agent 127.0.0.10), IPFIX
(template 256 and data sets, from 127.0.0.20) or both at a fixed rate for
a fixed time, and prints what it sent as JSON.

`)
		fs.PrintDefaults()
	}
	sflowTo := fs.String("sflow", "", "sFlow collector `host:port` (\"\": no sFlow, IPFIX only)")
	ipfixTo := fs.String("ipfix", "", "IPFIX collector `host:port` (\"\": no IPFIX)")
	rate := fs.Float64("rate", 6250, "sFlow datagrams per second; 0 sends as fast as it can")
	ipfixRate := fs.Float64("ipfix-rate", 0, "IPFIX data messages per second (8 records each), paced with the sFlow; without -sflow, 0 sends as fast as it can")
	duration := fs.Duration("duration", 15*time.Second, "how long to send")
	samplingRate := fs.Uint("sampling-rate", 1024, "sampling rate written into the datagrams")
	pool := fs.Int("pool", 4096, "pre-encoded datagrams to cycle through")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *sflowTo == "" && *ipfixTo == "" {
		return errors.New("flow-send: -sflow or -ipfix is required")
	}
	if *sflowTo != "" && *ipfixTo != "" && *ipfixRate <= 0 && *rate > 0 {
		return errors.New("flow-send: -ipfix needs -ipfix-rate")
	}
	if *sflowTo == "" {
		*rate = 0 // the IPFIX rate alone paces
	}
	// full: as fast as the sender goes.
	full := (*sflowTo != "" && *rate == 0) || (*sflowTo == "" && *ipfixRate == 0)
	const perDgram = 8
	var (
		sp, ip       *flowPool
		sconn, iconn *net.UDPConn
		err          error
	)
	if *sflowTo != "" {
		sp = newSFlowPool(sflowAgentAddr, uint32(*samplingRate), *pool, perDgram, 1)
		if sconn, err = dialFrom(sflowAgentAddr, *sflowTo); err != nil {
			return err
		}
		defer func() { _ = sconn.Close() }()
	}
	if *ipfixTo != "" {
		ip = newIPFIXPool(time.Now(), uint32(*samplingRate), *pool, perDgram, 2)
		if iconn, err = dialFrom(ipfixSourceAddr, *ipfixTo); err != nil {
			return err
		}
		defer func() { _ = iconn.Close() }()
	}

	cpu0, err := selfCPU()
	if err != nil {
		return err
	}
	var rep sendReport
	rep.OfferedDgramRate = *rate + *ipfixRate
	start := time.Now()
	end := start.Add(*duration)
	var lastTemplate time.Time
	sendTemplate := func(now time.Time) {
		if iconn == nil || now.Sub(lastTemplate) < time.Second {
			return
		}
		lastTemplate = now
		if _, err := iconn.Write(ipfixTemplate(now, uint32(rep.IPFIXDatagrams*perDgram))); err != nil {
			rep.SendErrors++
		}
		rep.Templates++
	}
	send := func(conn *net.UDPConn, p *flowPool, n *int64) {
		dg := p.datagrams[*n%int64(len(p.datagrams))]
		seq := uint32(*n)
		if p.seqOffset == ipfixSeqOffset { // IPFIX counts records
			seq *= uint32(p.perDgram)
		}
		binary.BigEndian.PutUint32(dg[p.seqOffset:], seq)
		if _, err := conn.Write(dg); err != nil {
			rep.SendErrors++
		}
		*n++
	}
	sendTemplate(start)
	for {
		now := time.Now()
		if !now.Before(end) || ctx.Err() != nil {
			break
		}
		sendTemplate(now)
		if full { // as fast as possible, 256 at a time between clock reads
			for range 256 {
				if sp != nil {
					send(sconn, sp, &rep.SFlowDatagrams)
				}
				if ip != nil {
					send(iconn, ip, &rep.IPFIXDatagrams)
				}
			}
			continue
		}
		// Token bucket on the absolute clock: everything due by now goes
		// out, then the sender sleeps about a millisecond.
		el := now.Sub(start).Seconds()
		for dueS := int64(el * *rate); sp != nil && rep.SFlowDatagrams < dueS; {
			send(sconn, sp, &rep.SFlowDatagrams)
		}
		if ip != nil {
			for dueI := int64(el * *ipfixRate); rep.IPFIXDatagrams < dueI; {
				send(iconn, ip, &rep.IPFIXDatagrams)
			}
		}
		time.Sleep(time.Millisecond)
	}
	rep.Seconds = time.Since(start).Seconds()
	cpu1, err := selfCPU()
	if err != nil {
		return err
	}
	rep.CPUSeconds = (cpu1 - cpu0).Seconds()
	rep.Flows = (rep.SFlowDatagrams + rep.IPFIXDatagrams) * perDgram
	rep.DgramRate = float64(rep.SFlowDatagrams+rep.IPFIXDatagrams) / rep.Seconds
	rep.FlowRate = float64(rep.Flows) / rep.Seconds
	return json.NewEncoder(stdout).Encode(&rep)
}

// dialFrom returns a UDP socket from src (any port) to the address to.
func dialFrom(src netip.Addr, to string) (*net.UDPConn, error) {
	dst, err := netip.ParseAddrPort(to)
	if err != nil {
		return nil, fmt.Errorf("collector address %q: %w", to, err)
	}
	conn, err := net.DialUDP("udp", net.UDPAddrFromAddrPort(netip.AddrPortFrom(src, 0)), net.UDPAddrFromAddrPort(dst))
	if err != nil {
		return nil, fmt.Errorf("udp %s -> %s: %w", src, dst, err)
	}
	if err := conn.SetWriteBuffer(4 << 20); err != nil {
		_ = conn.Close()
		return nil, err
	}
	return conn, nil
}
