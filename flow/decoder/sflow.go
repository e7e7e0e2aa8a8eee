package decoder

import (
	"bytes"
	"net/netip"
	"time"

	"github.com/netsampler/goflow2/v2/decoders/sflow"

	"github.com/ixpd/ixpd/flow"
)

// sflowMaxCount mirrors goflow2's own bound on samples per datagram and
// records per sample, which it does not apply to expanded flow samples.
const sflowMaxCount = 1000

// sflowPrecheck walks the sample headers of an sFlow v5 datagram before
// goflow2 decodes it: goflow2 allocates as many records as an expanded flow
// sample claims, without bound. It returns the agent address (invalid when
// it cannot be read) and the kind of the first problem, "" when none.
func sflowPrecheck(p []byte) (netip.Addr, ErrorKind) {
	if len(p) < 8 {
		return netip.Addr{}, KindTruncated
	}
	var agent netip.Addr
	off := 8
	switch be32(p[4:]) {
	case 1:
		if len(p) < off+4 {
			return agent, KindTruncated
		}
		agent = netip.AddrFrom4([4]byte(p[off : off+4]))
		off += 4
	case 2:
		if len(p) < off+16 {
			return agent, KindTruncated
		}
		agent = netip.AddrFrom16([16]byte(p[off : off+16])).Unmap()
		off += 16
	default:
		return agent, KindMalformed
	}
	// sub-agent id, sequence number, uptime, number of samples
	if len(p) < off+16 {
		return agent, KindTruncated
	}
	n := be32(p[off+12:])
	off += 16
	if n > sflowMaxCount {
		return agent, KindMalformed
	}
	for range n {
		if len(p)-off < 8 {
			return agent, KindTruncated
		}
		format, length := be32(p[off:]), be32(p[off+4:])
		off += 8
		if uint64(length) > uint64(len(p)-off) {
			return agent, KindTruncated
		}
		body := p[off : off+int(length)]
		off += int(length)
		// expanded flow sample: 11 words before the number of records
		if format == sflow.SAMPLE_FORMAT_EXPANDED_FLOW && len(body) >= 44 && be32(body[40:]) > sflowMaxCount {
			return agent, KindMalformed
		}
	}
	return agent, ""
}

// decodeSFlowPacket runs goflow2's sFlow decoder, turning a panic into an error.
func decodeSFlowPacket(payload []byte, pkt *sflow.Packet) (err error) {
	defer recoverInto(&err)
	return sflow.DecodeMessageVersion(bytes.NewBuffer(payload), pkt)
}

func (d *Decoder) decodeSFlow(src netip.Addr, t time.Time, payload []byte, out []flow.Flow) ([]flow.Flow, error) {
	const p = flow.ProtocolSFlow5
	d.m.datagrams[p].Inc()
	var first error
	agent, kind := sflowPrecheck(payload)
	exporter := agent
	if !exporter.IsValid() {
		exporter = src.Unmap()
	}
	switch {
	case kind == KindMalformed || !agent.IsValid():
		d.problem(&first, exporter, p, 0, kind, nil)
		return out, first
	case kind != "":
		d.problem(&first, exporter, p, 0, kind, nil)
	}
	var pkt sflow.Packet
	if err := decodeSFlowPacket(payload, &pkt); err != nil && first == nil {
		d.problem(&first, exporter, p, 0, kindOf(err), err)
	}
	exp := d.exporter(agent)
	before := len(out)
	for _, s := range pkt.Samples {
		var (
			rate, in, outIf uint32
			source          sflow.SampleHeader
			records         []sflow.FlowRecord
		)
		switch s := s.(type) {
		case sflow.FlowSample:
			rate, records, source = s.SamplingRate, s.Records, s.Header
			in, outIf = sflowInterface(s.Input>>30, s.Input&0x3fffffff), sflowInterface(s.Output>>30, s.Output&0x3fffffff)
		case sflow.ExpandedFlowSample:
			rate, records, source = s.SamplingRate, s.Records, s.Header
			in, outIf = sflowInterface(s.InputIfFormat, s.InputIfValue), sflowInterface(s.OutputIfFormat, s.OutputIfValue)
		case sflow.CounterSample:
			d.m.counterSamples.Inc()
			continue
		default: // drop samples (not traffic), or samples past a decode error
			continue
		}
		f := flow.Flow{
			TimeReceived: t, TimeStart: t, TimeEnd: t,
			Exporter: agent, Protocol: p, Role: exp.Role,
			InIf: in, OutIf: outIf,
			Egress: isEgressSample(source, in, outIf),
		}
		length, ok := sflowRecords(records, &f)
		if !ok {
			d.problem(&first, agent, p, 0, KindUnsupported, nil)
			continue
		}
		if rate == 0 {
			rate = exp.SamplingRate
		}
		if rate == 0 {
			d.problem(&first, agent, p, 0, KindNoSamplingRate, nil)
			continue
		}
		f.SamplingRate = rate
		f.Bytes = scale(length, rate)
		f.Packets = uint64(rate)
		out = append(out, f)
	}
	d.m.flows[p].Add(float64(len(out) - before))
	return out, first
}

// sflowInterface returns the ifIndex of an sFlow interface (format 0), and 0
// for a discarded packet (format 1) or several interfaces (format 2).
func sflowInterface(format, value uint32) uint32 {
	if format != 0 {
		return 0
	}
	return value
}

// sflowRecords fills f from the flow records of one sample and returns the
// length of the sampled frame (or packet). It reports false when no record
// gave the addresses of the packet.
func sflowRecords(records []sflow.FlowRecord, f *flow.Flow) (uint64, bool) {
	var (
		frameLen, ethLen, ipLen uint64
		haveHeader              bool // a sampled header gave the addresses
		haveIP                  bool // a sampled IPv4/IPv6 record gave them
	)
	for _, r := range records {
		switch rec := r.Data.(type) {
		case sflow.SampledHeader:
			if haveHeader {
				continue
			}
			g := *f
			if !decodeHeader(rec.Protocol, rec.HeaderData, &g) {
				continue
			}
			*f, haveHeader = g, true
			frameLen = uint64(rec.FrameLength)
		case sflow.SampledIPv4:
			if haveHeader || haveIP || len(rec.SrcIP) != 4 || len(rec.DstIP) != 4 {
				continue
			}
			f.EType = etherTypeIPv4
			f.SrcAddr = netip.AddrFrom4([4]byte(rec.SrcIP))
			f.DstAddr = netip.AddrFrom4([4]byte(rec.DstIP))
			sflowIPRecord(&rec.SampledIPBase, f)
			ipLen, haveIP = uint64(rec.Length), true
		case sflow.SampledIPv6:
			if haveHeader || haveIP || len(rec.SrcIP) != 16 || len(rec.DstIP) != 16 {
				continue
			}
			f.EType = etherTypeIPv6
			f.SrcAddr = netip.AddrFrom16([16]byte(rec.SrcIP))
			f.DstAddr = netip.AddrFrom16([16]byte(rec.DstIP))
			sflowIPRecord(&rec.SampledIPBase, f)
			ipLen, haveIP = uint64(rec.Length), true
		case sflow.SampledEthernet:
			// Only the length: goflow2 2.2.6 reads the MACs without their
			// XDR padding, so the destination MAC and the type are wrong.
			ethLen = uint64(rec.Length)
		case sflow.ExtendedGateway:
			// The source AS, and the last AS of the path to the destination;
			// a source AS of 0 or an empty path mean the router's own AS.
			f.SrcAS, f.DstAS = rec.SrcAS, rec.AS
			if f.SrcAS == 0 {
				f.SrcAS = rec.AS
			}
			if len(rec.ASPath) > 0 {
				f.DstAS = rec.ASPath[len(rec.ASPath)-1]
			}
		}
	}
	switch {
	case !haveHeader && !haveIP:
		return 0, false
	case frameLen != 0:
		return frameLen, true
	case ethLen != 0:
		return ethLen, true
	}
	return ipLen, true
}

// sflowIPRecord copies the protocol and ports of a sampled IPv4/IPv6 record.
func sflowIPRecord(rec *sflow.SampledIPBase, f *flow.Flow) {
	f.IPProto = uint8(rec.Protocol)
	switch f.IPProto {
	case ipProtoICMP, ipProtoICMPv6:
		// sFlow puts the ICMP type and code in the port fields.
		f.DstPort = uint16(rec.SrcPort)<<8 | uint16(rec.DstPort&0xff)
	default:
		f.SrcPort, f.DstPort = uint16(rec.SrcPort), uint16(rec.DstPort)
	}
}

// isEgressSample tells a sample taken at its output port: its data source
// (an ifIndex, source type 0) is the output interface and not the input.
func isEgressSample(h sflow.SampleHeader, in, out uint32) bool {
	return h.SourceIdType == 0 && out != 0 && h.SourceIdValue == out && h.SourceIdValue != in
}
