package main

import (
	"encoding/binary"
	"math/rand/v2"
	"net/netip"
	"time"
)

// The flow datagrams of flow-send, built with encoding/binary.
//
// sFlow v5 (sFlow.org, "sFlow Version 5", XDR encoding, all big-endian):
//
//	datagram:   version=5, agent address type=1 (IPv4), agent address,
//	            sub-agent id, sequence number, uptime ms, sample count,
//	            samples
//	sample:     data format=1 (flow_sample, enterprise 0), length, sequence
//	            number, source id (type 0 << 24 | ifIndex), sampling rate,
//	            sample pool, drops, input ifIndex, output ifIndex, record
//	            count, records
//	record:     data format=1 (raw packet header), length, header protocol=1
//	            (Ethernet), frame length, stripped octets, header length,
//	            header octets padded to a multiple of 4
//
// The sampled header is a whole Ethernet II + IPv4 + TCP (54 octets) or UDP
// (42 octets) header.
//
// IPFIX (RFC 7011): a message header (version=10, length, export time,
// sequence number, observation domain), then sets: a template set (id 2)
// with template 256, or a data set (id 256) of records laid out as
// ipfixFields says.

const (
	sflowAgentOffset = 8  // agent IPv4 address in the datagram header
	sflowSeqOffset   = 16 // datagram sequence number
	ipfixSeqOffset   = 8  // IPFIX message sequence number (counts records)
	ipfixTemplateID  = 256
)

// flowSpec is one sampled packet: what a decoder must get back.
type flowSpec struct {
	SrcMAC, DstMAC   [6]byte
	SrcAddr, DstAddr netip.Addr // IPv4, or IPv6 in sFlow headers
	SrcPort, DstPort uint16
	Proto            uint8 // 6 TCP or 17 UDP
	FrameLen         uint32
	InIf, OutIf      uint32
}

// sflowDatagram encodes one sFlow v5 datagram with one flow sample per
// spec, each with one raw-header record.
func sflowDatagram(agent netip.Addr, seq, uptimeMs, rate uint32, specs []flowSpec) []byte {
	b := make([]byte, 0, 28+len(specs)*128)
	a4 := agent.As4()
	b = binary.BigEndian.AppendUint32(b, 5)
	b = binary.BigEndian.AppendUint32(b, 1)
	b = append(b, a4[:]...)
	b = binary.BigEndian.AppendUint32(b, 0)
	b = binary.BigEndian.AppendUint32(b, seq)
	b = binary.BigEndian.AppendUint32(b, uptimeMs)
	b = binary.BigEndian.AppendUint32(b, uint32(len(specs)))
	for i, s := range specs {
		hdr := packetHeader(&s)
		padded := (len(hdr) + 3) &^ 3
		recLen := 16 + padded
		sampleLen := 32 + 8 + recLen
		b = binary.BigEndian.AppendUint32(b, 1) // flow_sample
		b = binary.BigEndian.AppendUint32(b, uint32(sampleLen))
		b = binary.BigEndian.AppendUint32(b, seq*uint32(len(specs))+uint32(i))
		b = binary.BigEndian.AppendUint32(b, s.InIf) // source id: type 0, ifIndex
		b = binary.BigEndian.AppendUint32(b, rate)
		b = binary.BigEndian.AppendUint32(b, (seq*uint32(len(specs))+uint32(i))*rate) // sample pool
		b = binary.BigEndian.AppendUint32(b, 0)                                       // drops
		b = binary.BigEndian.AppendUint32(b, s.InIf)
		b = binary.BigEndian.AppendUint32(b, s.OutIf)
		b = binary.BigEndian.AppendUint32(b, 1) // one record
		b = binary.BigEndian.AppendUint32(b, 1) // raw packet header
		b = binary.BigEndian.AppendUint32(b, uint32(recLen))
		b = binary.BigEndian.AppendUint32(b, 1) // Ethernet
		b = binary.BigEndian.AppendUint32(b, s.FrameLen)
		b = binary.BigEndian.AppendUint32(b, 4) // stripped: the FCS
		b = binary.BigEndian.AppendUint32(b, uint32(len(hdr)))
		b = append(b, hdr...)
		b = append(b, make([]byte, padded-len(hdr))...)
	}
	return b
}

// packetHeader returns the Ethernet, IPv4 or IPv6, and TCP or UDP headers
// of s.
func packetHeader(s *flowSpec) []byte {
	l4 := 20
	if s.Proto == 17 {
		l4 = 8
	}
	b := make([]byte, 0, 14+40+l4)
	b = append(b, s.DstMAC[:]...)
	b = append(b, s.SrcMAC[:]...)
	ipLen := s.FrameLen - 14 - 4 // frame length counts the FCS
	var l4Len uint32
	if s.SrcAddr.Is6() {
		b = binary.BigEndian.AppendUint16(b, 0x86dd)
		l4Len = ipLen - 40
		ip := make([]byte, 40)
		ip[0] = 0x60
		binary.BigEndian.PutUint16(ip[4:], uint16(l4Len))
		ip[6] = s.Proto
		ip[7] = 64 // hop limit
		src, dst := s.SrcAddr.As16(), s.DstAddr.As16()
		copy(ip[8:], src[:])
		copy(ip[24:], dst[:])
		b = append(b, ip...)
	} else {
		b = binary.BigEndian.AppendUint16(b, 0x0800)
		l4Len = ipLen - 20
		ip := make([]byte, 20)
		ip[0] = 0x45
		binary.BigEndian.PutUint16(ip[2:], uint16(ipLen))
		ip[8] = 64 // TTL
		ip[9] = s.Proto
		src, dst := s.SrcAddr.As4(), s.DstAddr.As4()
		copy(ip[12:], src[:])
		copy(ip[16:], dst[:])
		binary.BigEndian.PutUint16(ip[10:], ipChecksum(ip))
		b = append(b, ip...)
	}
	b = binary.BigEndian.AppendUint16(b, s.SrcPort)
	b = binary.BigEndian.AppendUint16(b, s.DstPort)
	if s.Proto == 17 {
		b = binary.BigEndian.AppendUint16(b, uint16(l4Len))
		return binary.BigEndian.AppendUint16(b, 0) // no checksum
	}
	b = binary.BigEndian.AppendUint32(b, 1) // sequence
	b = binary.BigEndian.AppendUint32(b, 0) // ack
	b = append(b, 5<<4, 0x10)               // data offset 5, ACK
	b = binary.BigEndian.AppendUint16(b, 65535)
	return append(b, 0, 0, 0, 0) // checksum (not computed), urgent
}

func ipChecksum(h []byte) uint16 {
	var sum uint32
	for i := 0; i < len(h); i += 2 {
		sum += uint32(h[i])<<8 | uint32(h[i+1])
	}
	for sum > 0xffff {
		sum = sum&0xffff + sum>>16
	}
	return ^uint16(sum)
}

// ipfixFields is template 256: (information element, length).
var ipfixFields = [][2]uint16{
	{8, 4},   // sourceIPv4Address
	{12, 4},  // destinationIPv4Address
	{7, 2},   // sourceTransportPort
	{11, 2},  // destinationTransportPort
	{4, 1},   // protocolIdentifier
	{1, 8},   // octetDeltaCount
	{2, 8},   // packetDeltaCount
	{10, 4},  // ingressInterface
	{14, 4},  // egressInterface
	{152, 8}, // flowStartMilliseconds
	{153, 8}, // flowEndMilliseconds
	{34, 4},  // samplingInterval
}

const ipfixRecordLen = 4 + 4 + 2 + 2 + 1 + 8 + 8 + 4 + 4 + 8 + 8 + 4

func ipfixHeader(b []byte, export time.Time, seq uint32) []byte {
	b = binary.BigEndian.AppendUint16(b, 10)
	b = binary.BigEndian.AppendUint16(b, 0) // length, set at the end
	b = binary.BigEndian.AppendUint32(b, uint32(export.Unix()))
	b = binary.BigEndian.AppendUint32(b, seq)
	return binary.BigEndian.AppendUint32(b, 1) // observation domain
}

func ipfixFinish(b []byte) []byte {
	binary.BigEndian.PutUint16(b[2:], uint16(len(b)))
	return b
}

// ipfixTemplate encodes an IPFIX message holding template 256.
func ipfixTemplate(export time.Time, seq uint32) []byte {
	b := ipfixHeader(nil, export, seq)
	b = binary.BigEndian.AppendUint16(b, 2)
	b = binary.BigEndian.AppendUint16(b, uint16(4+4+4*len(ipfixFields)))
	b = binary.BigEndian.AppendUint16(b, ipfixTemplateID)
	b = binary.BigEndian.AppendUint16(b, uint16(len(ipfixFields)))
	for _, f := range ipfixFields {
		b = binary.BigEndian.AppendUint16(b, f[0])
		b = binary.BigEndian.AppendUint16(b, f[1])
	}
	return ipfixFinish(b)
}

// ipfixData encodes an IPFIX message with one data set of template 256,
// one record per spec: one sampled packet of FrameLen octets
// (octetDeltaCount FrameLen, packetDeltaCount 1, samplingInterval rate),
// lasting the second before end.
func ipfixData(export time.Time, seq, rate uint32, end time.Time, specs []flowSpec) []byte {
	b := ipfixHeader(make([]byte, 0, 16+4+len(specs)*ipfixRecordLen), export, seq)
	b = binary.BigEndian.AppendUint16(b, ipfixTemplateID)
	b = binary.BigEndian.AppendUint16(b, uint16(4+len(specs)*ipfixRecordLen))
	endMs := uint64(end.UnixMilli())
	for _, s := range specs {
		src, dst := s.SrcAddr.As4(), s.DstAddr.As4()
		b = append(b, src[:]...)
		b = append(b, dst[:]...)
		b = binary.BigEndian.AppendUint16(b, s.SrcPort)
		b = binary.BigEndian.AppendUint16(b, s.DstPort)
		b = append(b, s.Proto)
		b = binary.BigEndian.AppendUint64(b, uint64(s.FrameLen))
		b = binary.BigEndian.AppendUint64(b, 1)
		b = binary.BigEndian.AppendUint32(b, s.InIf)
		b = binary.BigEndian.AppendUint32(b, s.OutIf)
		b = binary.BigEndian.AppendUint64(b, endMs-1000)
		b = binary.BigEndian.AppendUint64(b, endMs)
		b = binary.BigEndian.AppendUint32(b, rate)
	}
	return ipfixFinish(b)
}

// randomSpec returns a varied sampled packet: one of 64 member MACs and
// addresses in 198.18.0.0/15 on each end, TCP (80 %) or UDP, frame lengths
// between 64 and 1518 octets, ifIndexes 1..48.
func randomSpec(r *rand.Rand) flowSpec {
	s := flowSpec{
		SrcMAC:   [6]byte{0x02, 0, 0, 0, 0, byte(r.IntN(64))},
		DstMAC:   [6]byte{0x02, 0, 0, 0, 0, byte(r.IntN(64))},
		SrcAddr:  netip.AddrFrom4([4]byte{198, 18 + byte(r.IntN(2)), byte(r.IntN(256)), byte(1 + r.IntN(254))}),
		DstAddr:  netip.AddrFrom4([4]byte{198, 18 + byte(r.IntN(2)), byte(r.IntN(256)), byte(1 + r.IntN(254))}),
		SrcPort:  uint16(1024 + r.IntN(64511)),
		DstPort:  []uint16{443, 80, 53, 123, 8080, 25}[r.IntN(6)],
		Proto:    6,
		FrameLen: uint32(64 + r.IntN(1455)),
		InIf:     uint32(1 + r.IntN(48)),
		OutIf:    uint32(1 + r.IntN(48)),
	}
	if r.IntN(5) == 0 {
		s.Proto = 17
	}
	return s
}

// flowPool is a set of pre-encoded datagrams that the sender cycles
// through, patching only the sequence number.
type flowPool struct {
	datagrams [][]byte
	seqOffset int
	perDgram  int // flows per datagram
}

// newSFlowPool encodes n sFlow datagrams of perDgram samples each.
func newSFlowPool(agent netip.Addr, rate uint32, n, perDgram int, seed uint64) *flowPool {
	r := rand.New(rand.NewPCG(seed, 1))
	p := &flowPool{seqOffset: sflowSeqOffset, perDgram: perDgram}
	specs := make([]flowSpec, perDgram)
	for i := range n {
		for j := range specs {
			specs[j] = randomSpec(r)
		}
		p.datagrams = append(p.datagrams, sflowDatagram(agent, uint32(i), uint32(i), rate, specs))
	}
	return p
}

// newIPFIXPool encodes n IPFIX data messages of perDgram records each,
// exported now.
func newIPFIXPool(now time.Time, rate uint32, n, perDgram int, seed uint64) *flowPool {
	r := rand.New(rand.NewPCG(seed, 2))
	p := &flowPool{seqOffset: ipfixSeqOffset, perDgram: perDgram}
	specs := make([]flowSpec, perDgram)
	for range n {
		for j := range specs {
			specs[j] = randomSpec(r)
		}
		p.datagrams = append(p.datagrams, ipfixData(now, 0, rate, now, specs))
	}
	return p
}
