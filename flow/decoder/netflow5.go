package decoder

import (
	"bytes"
	"net/netip"
	"time"

	"github.com/netsampler/goflow2/v2/decoders/netflowlegacy"

	"github.com/ixpd/ixpd/flow"
)

const (
	nf5HeaderLen = 24
	nf5RecordLen = 48
)

// decodeNetFlow5Packet runs goflow2's NetFlow v5 decoder, turning a panic
// into an error.
func decodeNetFlow5Packet(payload []byte, pkt *netflowlegacy.PacketNetFlowV5) (err error) {
	defer recoverInto(&err)
	return netflowlegacy.DecodeMessageVersion(bytes.NewBuffer(payload), pkt)
}

func (d *Decoder) decodeNetFlow5(src netip.Addr, t time.Time, payload []byte, out []flow.Flow) ([]flow.Flow, error) {
	const p = flow.ProtocolNetFlow5
	d.m.datagrams[p].Inc()
	exporter := src.Unmap()
	var first error
	// goflow2 allocates as many records as the header claims: check first
	// that they are all there.
	if len(payload) < nf5HeaderLen || len(payload) < nf5HeaderLen+nf5RecordLen*int(be16(payload[2:])) {
		d.problem(&first, exporter, p, 0, KindTruncated, nil)
		return out, first
	}
	var pkt netflowlegacy.PacketNetFlowV5
	if err := decodeNetFlow5Packet(payload, &pkt); err != nil {
		d.problem(&first, exporter, p, 0, kindOf(err), err)
		return out, first
	}
	exp := d.exporter(exporter)
	rate := uint32(pkt.SamplingInterval & 0x3fff) // the top 2 bits are the sampling mode
	if rate == 0 {
		rate = exp.SamplingRate
	}
	if rate == 0 {
		d.problems(&first, exporter, p, 0, KindNoSamplingRate, nil, len(pkt.Records))
		return out, first
	}
	// Record times are milliseconds of the exporter's uptime.
	export := int64(pkt.UnixSecs)*1e9 + int64(pkt.UnixNSecs)
	uptimeNs := func(ms uint32) int64 {
		return export - int64(int32(pkt.SysUptime-ms))*1e6
	}
	before := len(out)
	bad := 0
	for i := range pkt.Records {
		r := &pkt.Records[i]
		start, end, ok := d.times(t, uptimeNs(r.First), uptimeNs(r.Last))
		if !ok {
			bad++
		}
		f := flow.Flow{
			TimeReceived: t, TimeStart: start, TimeEnd: end,
			Exporter: exporter, Protocol: p, Role: exp.Role,
			SamplingRate: rate,
			Bytes:        scale(uint64(r.DOctets), rate),
			Packets:      scale(uint64(r.DPkts), rate),
			SrcAddr:      netip.AddrFrom4(ipv4(uint32(r.SrcAddr))),
			DstAddr:      netip.AddrFrom4(ipv4(uint32(r.DstAddr))),
			SrcPort:      r.SrcPort,
			DstPort:      r.DstPort,
			IPProto:      r.Proto,
			EType:        etherTypeIPv4,
			InIf:         uint32(r.Input),
			OutIf:        uint32(r.Output),
			SrcAS:        uint32(r.SrcAS),
			DstAS:        uint32(r.DstAS),
		}
		out = append(out, f)
	}
	d.problems(&first, exporter, p, 0, KindBadTime, nil, bad)
	d.m.flows[p].Add(float64(len(out) - before))
	return out, first
}

func ipv4(v uint32) [4]byte {
	return [4]byte{byte(v >> 24), byte(v >> 16), byte(v >> 8), byte(v)}
}
