package decoder

import (
	"bytes"
	"errors"
	"net/netip"
	"time"

	"github.com/netsampler/goflow2/v2/decoders/netflow"

	"github.com/ixpd/ixpd/flow"
)

const (
	nf9HeaderLen   = 20
	ipfixHeaderLen = 16
)

// msgHeader is what decoding a data set needs from its message header.
type msgHeader struct {
	version uint16 // 9 or 10
	domain  uint32 // observation domain (NetFlow v9: source id)
	uptime  uint32 // NetFlow v9: exporter uptime in milliseconds
	secs    uint32 // NetFlow v9: Unix seconds; IPFIX: export time
}

func (h *msgHeader) protocol() flow.Protocol {
	if h.version == 9 {
		return flow.ProtocolNetFlow9
	}
	return flow.ProtocolIPFIX
}

// decodeNetFlowPacket runs goflow2's NetFlow v9/IPFIX decoder with st as
// its template system, turning a panic into an error.
func decodeNetFlowPacket(payload []byte, st *exporterState, nf9 *netflow.NFv9Packet, ipfix *netflow.IPFIXPacket) (err error) {
	defer recoverInto(&err)
	return netflow.DecodeMessageVersion(bytes.NewBuffer(payload), st, nf9, ipfix)
}

// state returns the state of a NetFlow v9/IPFIX exporter, creating it
// within the MaxExporters bound (nil when the bound is reached).
func (d *Decoder) state(a netip.Addr) *exporterState {
	d.mu.Lock()
	defer d.mu.Unlock()
	st := d.states[a]
	if st == nil {
		if len(d.states) >= d.cfg.MaxExporters {
			return nil
		}
		st = newExporterState(a, d.cfg.MaxTemplates)
		d.states[a] = st
		d.nExporters.Store(int64(len(d.states)))
	}
	return st
}

func (d *Decoder) decodeNetFlow(src netip.Addr, t time.Time, payload []byte, out []flow.Flow) ([]flow.Flow, error) {
	exporter := src.Unmap()
	hdr := msgHeader{version: be16(payload)}
	p := hdr.protocol()
	d.m.datagrams[p].Inc()
	var first error
	hdrLen := nf9HeaderLen
	if hdr.version == 10 {
		hdrLen = ipfixHeaderLen
	}
	if len(payload) < hdrLen {
		d.problem(&first, exporter, p, 0, KindTruncated, nil)
		return out, first
	}
	if hdr.version == 10 {
		switch n := int(be16(payload[2:])); {
		case n < ipfixHeaderLen:
			d.problem(&first, exporter, p, 0, KindMalformed, nil)
			return out, first
		case n > len(payload):
			d.problem(&first, exporter, p, 0, KindTruncated, nil)
		default:
			payload = payload[:n]
		}
	}
	exp := d.exporter(exporter)
	var st *exporterState
	for {
		if st = d.state(exporter); st == nil {
			d.problem(&first, exporter, p, 0, KindLimit, nil)
			return out, first
		}
		st.mu.Lock()
		if !st.forgotten {
			break
		}
		st.mu.Unlock() // removed by Expire meanwhile: take a fresh one
	}
	defer st.mu.Unlock()
	st.lastSeen = t
	st.added, st.notes = st.added[:0], st.notes[:0]

	var (
		nf9   netflow.NFv9Packet
		ipfix netflow.IPFIXPacket
		sets  []any
	)
	err := decodeNetFlowPacket(trimPadding(payload, hdrLen), st, &nf9, &ipfix)
	if hdr.version == 9 {
		hdr.domain, hdr.uptime, hdr.secs, sets = nf9.SourceId, nf9.SystemUptime, nf9.UnixSeconds, nf9.FlowSets
	} else {
		hdr.domain, hdr.secs, sets = ipfix.ObservationDomainId, ipfix.ExportTime, ipfix.FlowSets
	}
	// goflow2 reports the data sets it was given no template for (all of
	// them, see exporterState); other errors stop the message.
	if err != nil && !errors.Is(err, netflow.ErrorTemplateNotFound) {
		var fe *netflow.FlowError
		var tid uint16
		if errors.As(err, &fe) {
			tid = fe.TemplateId
		}
		d.problem(&first, exporter, p, tid, kindOf(err), err)
	}
	for _, n := range st.notes {
		d.problem(&first, exporter, p, n.id, n.kind, nil)
	}

	// Options data first: they may give the rates of the data sets.
	for _, s := range sets {
		if raw, ok := s.(netflow.RawFlowSet); ok {
			if tpl := st.templates[templateKey{hdr.version, raw.Id, hdr.domain}]; tpl != nil && tpl.options {
				d.checkSetLength(&raw, exporter, p, &first)
				d.decodeOptions(st, &hdr, tpl, raw.Records)
			}
		}
	}
	before := len(out)
	out = d.releaseHeld(st, exp, &first, out)
	for _, s := range sets {
		raw, ok := s.(netflow.RawFlowSet)
		if !ok {
			continue
		}
		d.checkSetLength(&raw, exporter, p, &first)
		key := templateKey{hdr.version, raw.Id, hdr.domain}
		switch tpl := st.templates[key]; {
		case tpl == nil:
			d.hold(st, key, &hdr, t, raw.Records, &first)
		case !tpl.options:
			out = d.decodeData(st, exp, &hdr, raw.Id, tpl, t, raw.Records, &first, out)
		}
	}
	d.expireHeld(st, t.Add(-d.cfg.HoldTimeout), false, &first)
	d.m.flows[p].Add(float64(len(out) - before))
	return out, first
}

// checkSetLength reports a set cut short by the end of the datagram.
func (d *Decoder) checkSetLength(raw *netflow.RawFlowSet, exporter netip.Addr, p flow.Protocol, first *error) {
	if int(raw.Length)-4 > len(raw.Records) {
		d.problem(first, exporter, p, raw.Id, KindTruncated, nil)
	}
}

// decodeOptions reads the records of an options data set.
func (d *Decoder) decodeOptions(st *exporterState, hdr *msgHeader, tpl *template, data []byte) {
	for len(data) > 0 && len(data) >= tpl.minLen {
		var r record
		n := tpl.walk(data, &r, hdr.version == 9)
		if n == 0 {
			return
		}
		data = data[n:]
		st.learnOptions(hdr, &r)
	}
}

// decodeData appends the flows of a data set to out.
func (d *Decoder) decodeData(st *exporterState, exp Exporter, hdr *msgHeader, id uint16, tpl *template, t time.Time, data []byte, first *error, out []flow.Flow) []flow.Flow {
	p := hdr.protocol()
	initTime := st.initTimes[domainKey{hdr.version, hdr.domain}]
	var (
		setRate        uint32 // the rate of records that give neither a rate nor a sampler
		setRateKnown   bool
		noRate, badTim int
	)
	for len(data) > 0 && len(data) >= tpl.minLen {
		var r record
		n := tpl.walk(data, &r, hdr.version == 9)
		if n == 0 {
			break
		}
		data = data[n:]

		bytes, packets := r.counters()
		revBytes, revPackets := r.revBytes, r.revPackets
		if bytes == 0 && packets == 0 && revBytes == 0 && revPackets == 0 {
			d.m.emptyRecords.Inc()
			continue
		}
		rate := r.rate()
		if rate == 0 {
			if r.has&hasSampler != 0 {
				rate = st.rate(hdr, id, &r)
			} else {
				if !setRateKnown {
					setRate, setRateKnown = st.rate(hdr, id, &r), true
				}
				rate = setRate
			}
		}
		if rate == 0 {
			rate = exp.SamplingRate
		}
		if rate == 0 {
			noRate++
			continue
		}
		startNs, endNs := r.times(hdr, initTime)
		start, end, ok := d.times(t, startNs, endNs)
		if !ok {
			badTim++
		}
		f := flow.Flow{
			TimeReceived: t, TimeStart: start, TimeEnd: end,
			Exporter: st.addr, Protocol: p, Role: exp.Role,
			SamplingRate: rate,
		}
		r.fill(&f)
		if bytes != 0 || packets != 0 {
			f.Bytes, f.Packets = scale(bytes, rate), scale(packets, rate)
			out = append(out, f)
		}
		if revBytes != 0 || revPackets != 0 {
			reverse(&f)
			f.Bytes, f.Packets = scale(revBytes, rate), scale(revPackets, rate)
			out = append(out, f)
		}
	}
	d.problems(first, st.addr, p, id, KindNoSamplingRate, nil, noRate)
	d.problems(first, st.addr, p, id, KindBadTime, nil, badTim)
	return out
}

// hold keeps a data set until its template arrives, dropping the oldest
// held sets of the exporter when the bounds are reached.
func (d *Decoder) hold(st *exporterState, key templateKey, hdr *msgHeader, t time.Time, data []byte, first *error) {
	if len(data) == 0 {
		return
	}
	p := hdr.protocol()
	if len(data) > d.cfg.HoldBytes {
		d.problem(first, st.addr, p, key.id, KindTemplateMissing, nil)
		return
	}
	for len(st.held) > 0 && (len(st.held) >= d.cfg.HoldSets || st.heldBytes+len(data) > d.cfg.HoldBytes) {
		h := &st.held[0]
		d.problem(first, st.addr, h.hdr.protocol(), h.key.id, KindTemplateMissing, nil)
		d.unhold(st, 0)
	}
	st.held = append(st.held, heldSet{key: key, hdr: *hdr, t: t, data: bytes.Clone(data)})
	st.heldBytes += len(data)
	d.heldBytes.Add(int64(len(data)))
	d.m.heldSets.Inc()
}

// unhold removes the held set at index i.
func (d *Decoder) unhold(st *exporterState, i int) {
	n := len(st.held[i].data)
	st.heldBytes -= n
	d.heldBytes.Add(-int64(n))
	copy(st.held[i:], st.held[i+1:])
	st.held[len(st.held)-1] = heldSet{}
	st.held = st.held[:len(st.held)-1]
}

// releaseHeld decodes the held sets whose template has arrived, options
// data first.
func (d *Decoder) releaseHeld(st *exporterState, exp Exporter, first *error, out []flow.Flow) []flow.Flow {
	if len(st.held) == 0 || len(st.added) == 0 {
		return out
	}
	for _, options := range [2]bool{true, false} {
		for i := 0; i < len(st.held); {
			h := &st.held[i]
			tpl := st.templates[h.key]
			if tpl == nil || tpl.options != options {
				i++
				continue
			}
			if options {
				d.decodeOptions(st, &h.hdr, tpl, h.data)
			} else {
				out = d.decodeData(st, exp, &h.hdr, h.key.id, tpl, h.t, h.data, first, out)
			}
			d.m.heldDecoded.Inc()
			d.unhold(st, i)
		}
	}
	return out
}

// expireHeld drops the held sets received before the given time (all of
// them when all is true) and returns how many.
func (d *Decoder) expireHeld(st *exporterState, before time.Time, all bool, first *error) int {
	n := 0
	for len(st.held) > 0 && (all || st.held[0].t.Before(before)) {
		h := &st.held[0]
		d.problem(first, st.addr, h.hdr.protocol(), h.key.id, KindTemplateMissing, nil)
		d.unhold(st, 0)
		n++
	}
	return n
}

// trimPadding cuts the zero bytes some exporters put after the last set
// (a zero set header would be a set of negative length for goflow2).
func trimPadding(payload []byte, hdrLen int) []byte {
	off := hdrLen
	for off+4 <= len(payload) {
		n := int(be16(payload[off+2:]))
		if n < 4 {
			if allZero(payload[off:]) {
				return payload[:off]
			}
			break
		}
		off += n
	}
	return payload
}

func allZero(b []byte) bool {
	for _, c := range b {
		if c != 0 {
			return false
		}
	}
	return true
}
