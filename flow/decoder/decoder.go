// Package decoder turns flow-export datagrams (sFlow v5, NetFlow v5, NetFlow
// v9 and IPFIX) into flow.Flow records.
//
// goflow2's decoders parse the datagrams. This package keeps the state they
// need per exporter (NetFlow v9/IPFIX templates, sampling rates from options
// data, data sets that arrived before their template), multiplies bytes and
// packets by the sampling rate, decodes the sampled packet headers of sFlow,
// and copies the fields ixpd uses into flow.Flow. It does no I/O and starts
// no goroutine: the caller feeds it datagrams and calls Expire periodically.
//
// Protocol detection needs no hint: an sFlow datagram starts with the 32-bit
// version 5, so its first 16 bits are zero, which no NetFlow version is; the
// first 16 bits of a NetFlow datagram are its version (5, 9 or 10 for IPFIX).
// Decode therefore takes any of the four on any port.
package decoder

import (
	"math"
	"math/bits"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/ixpd/ixpd/flow"
)

// Defaults for the zero values of Config's bounds.
const (
	DefaultHoldBytes       = 64 << 10
	DefaultHoldSets        = 100
	DefaultHoldTimeout     = 30 * time.Second
	DefaultMaxTimeSkew     = time.Hour
	DefaultMaxTemplates    = 2048
	DefaultMaxExporters    = 4096
	DefaultExporterTimeout = 2 * time.Hour
)

// Config is what the decoder needs to know. The flow component builds it
// from its own configuration; zero bounds take the Default* values.
type Config struct {
	// Exporters gives, per exporter address (the sFlow agent address, or the
	// UDP source address of NetFlow/IPFIX), the role copied into each flow and
	// a fallback sampling rate used when the datagram gives none.
	Exporters map[netip.Addr]Exporter

	// HoldBytes and HoldSets bound, per exporter, the NetFlow v9/IPFIX data
	// sets held until their template arrives; HoldTimeout is how long one is
	// held. A set dropped by a bound or the timeout is counted as
	// template_missing.
	HoldBytes   int
	HoldSets    int
	HoldTimeout time.Duration

	// MaxTimeSkew is how far from the receive time a flow's start and end
	// may be; a flow outside that window gets the receive time as start and
	// end, and is counted as bad_time.
	MaxTimeSkew time.Duration

	// MaxTemplates bounds the templates and sampling rates kept per
	// NetFlow v9/IPFIX exporter, MaxExporters the number of such exporters,
	// and ExporterTimeout how long an exporter's state is kept after its last
	// datagram (Expire forgets it then).
	MaxTemplates    int
	MaxExporters    int
	ExporterTimeout time.Duration
}

// Exporter is the configuration of one exporter.
type Exporter struct {
	Role flow.Role
	// SamplingRate is used when the datagram carries no rate (or 0).
	SamplingRate uint32
}

// Decoder decodes datagrams into flows. It is safe for concurrent use; the
// datagrams of one exporter must be given in the order they were received.
type Decoder struct {
	cfg       Config
	exporters map[netip.Addr]Exporter
	m         *metrics

	mu     sync.Mutex
	states map[netip.Addr]*exporterState // NetFlow v9/IPFIX exporters

	heldBytes  atomic.Int64
	nExporters atomic.Int64
}

// New returns a decoder for cfg whose metrics are registered with reg (not
// registered when reg is nil).
func New(reg prometheus.Registerer, cfg Config) (*Decoder, error) {
	if cfg.HoldBytes <= 0 {
		cfg.HoldBytes = DefaultHoldBytes
	}
	if cfg.HoldSets <= 0 {
		cfg.HoldSets = DefaultHoldSets
	}
	if cfg.HoldTimeout <= 0 {
		cfg.HoldTimeout = DefaultHoldTimeout
	}
	if cfg.MaxTimeSkew <= 0 {
		cfg.MaxTimeSkew = DefaultMaxTimeSkew
	}
	if cfg.MaxTemplates <= 0 {
		cfg.MaxTemplates = DefaultMaxTemplates
	}
	if cfg.MaxExporters <= 0 {
		cfg.MaxExporters = DefaultMaxExporters
	}
	if cfg.ExporterTimeout <= 0 {
		cfg.ExporterTimeout = DefaultExporterTimeout
	}
	d := &Decoder{
		cfg:       cfg,
		exporters: make(map[netip.Addr]Exporter, len(cfg.Exporters)),
		states:    make(map[netip.Addr]*exporterState),
	}
	for a, e := range cfg.Exporters {
		d.exporters[a.Unmap()] = e
	}
	d.cfg.Exporters = nil
	d.m = newMetrics(&d.heldBytes, &d.nExporters)
	if reg != nil {
		if err := d.m.register(reg); err != nil {
			return nil, err
		}
	}
	return d, nil
}

// Decode decodes one UDP payload received from src at t and appends its
// flows to out. The protocol is detected from the payload (see the package
// documentation). For NetFlow v9/IPFIX, the flows of data sets held earlier
// come out of the Decode call that brings their template.
//
// Decode returns the flows it could decode even when it also returns an
// error. The error is a *Error describing the first problem of the datagram;
// every problem is counted in the metrics. Decode never panics on bad input
// and does not keep payload.
func (d *Decoder) Decode(src netip.AddrPort, t time.Time, payload []byte, out []flow.Flow) ([]flow.Flow, error) {
	if len(payload) < 4 {
		return out, d.datagramError(src.Addr(), KindTruncated)
	}
	switch be16(payload) {
	case 0:
		if be32(payload) != 5 {
			return out, d.datagramError(src.Addr(), KindUnknownVersion)
		}
		return d.decodeSFlow(src.Addr(), t, payload, out)
	case 5:
		return d.decodeNetFlow5(src.Addr(), t, payload, out)
	case 9, 10:
		return d.decodeNetFlow(src.Addr(), t, payload, out)
	}
	return out, d.datagramError(src.Addr(), KindUnknownVersion)
}

// datagramError counts a datagram whose protocol could not be detected.
func (d *Decoder) datagramError(src netip.Addr, k ErrorKind) error {
	d.m.datagrams[flow.ProtocolUnknown].Inc()
	d.m.countError(flow.ProtocolUnknown, k)
	return &Error{Exporter: src.Unmap(), Kind: k}
}

// Expire drops the held data sets older than HoldTimeout before now (counted
// as template_missing) and forgets NetFlow v9/IPFIX exporters silent for
// ExporterTimeout (their held sets are dropped too). The caller calls it
// periodically, with the same clock it gives Decode. It returns the number of
// data sets dropped.
func (d *Decoder) Expire(now time.Time) int {
	d.mu.Lock()
	states := make([]*exporterState, 0, len(d.states))
	for a, st := range d.states {
		st.mu.Lock()
		if now.Sub(st.lastSeen) > d.cfg.ExporterTimeout {
			delete(d.states, a)
			st.forgotten = true
		}
		st.mu.Unlock()
		states = append(states, st)
	}
	d.nExporters.Store(int64(len(d.states)))
	d.mu.Unlock()

	dropped := 0
	for _, st := range states {
		st.mu.Lock()
		dropped += d.expireHeld(st, now.Add(-d.cfg.HoldTimeout), st.forgotten, nil)
		st.mu.Unlock()
	}
	return dropped
}

// exporter returns the configuration of the exporter at a, counting the
// datagram as coming from an unknown exporter when it is not configured.
func (d *Decoder) exporter(a netip.Addr) Exporter {
	e, ok := d.exporters[a]
	if !ok {
		d.m.unknownExporters.Inc()
	}
	return e
}

// problem counts a problem and keeps it in *first when it is the first one.
func (d *Decoder) problem(first *error, exporter netip.Addr, p flow.Protocol, tid uint16, k ErrorKind, err error) {
	d.problems(first, exporter, p, tid, k, err, 1)
}

// problems counts n problems of one kind and keeps the first in *first.
func (d *Decoder) problems(first *error, exporter netip.Addr, p flow.Protocol, tid uint16, k ErrorKind, err error, n int) {
	if n <= 0 {
		return
	}
	d.m.countErrors(p, k, n)
	if first != nil && *first == nil {
		*first = &Error{Exporter: exporter, Protocol: p, TemplateID: tid, Kind: k, Err: err}
	}
}

// times turns exporter flow times (Unix nanoseconds, 0 when unknown) into the
// flow's start and end, checked against the receive time t. It reports false
// when they were replaced by t because they were too far from it (the flow is
// counted as bad_time by the caller).
func (d *Decoder) times(t time.Time, start, end int64) (time.Time, time.Time, bool) {
	switch {
	case start == 0 && end == 0:
		return t, t, true
	case start == 0:
		start = end
	case end == 0:
		end = start
	}
	ok := true
	if start > end {
		start, ok = end, false
	}
	tn := t.UnixNano()
	skew := int64(d.cfg.MaxTimeSkew)
	if start < tn-skew || end > tn+skew {
		return t, t, false
	}
	return time.Unix(0, start).UTC(), time.Unix(0, end).UTC(), ok
}

// scale multiplies a counter by the sampling rate, saturating.
func scale(v uint64, rate uint32) uint64 {
	hi, lo := bits.Mul64(v, uint64(rate))
	if hi != 0 {
		return math.MaxUint64
	}
	return lo
}

func be16(b []byte) uint16 { return uint16(b[0])<<8 | uint16(b[1]) }

func be32(b []byte) uint32 {
	return uint32(b[0])<<24 | uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3])
}

// beUint reads a big-endian unsigned integer of 1 to 8 bytes (IPFIX
// reduced-size encoding); longer values keep their last 8 bytes.
func beUint(b []byte) uint64 {
	if len(b) > 8 {
		b = b[len(b)-8:]
	}
	var v uint64
	for _, c := range b {
		v = v<<8 | uint64(c)
	}
	return v
}

// mac reads a 6-byte MAC address into the low 48 bits of a uint64.
func mac(b []byte) uint64 {
	if len(b) != 6 {
		return 0
	}
	return beUint(b)
}
