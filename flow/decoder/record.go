package decoder

import (
	"math"
	"net/netip"

	"github.com/ixpd/ixpd/flow"
)

// IPFIX information elements (and NetFlow v9 field types, which share the
// numbers) that the decoder reads.
const (
	ieOctetDeltaCount            = 1
	iePacketDeltaCount           = 2
	ieProtocolIdentifier         = 4
	ieSourceTransportPort        = 7
	ieSourceIPv4Address          = 8
	ieIngressInterface           = 10
	ieDestinationTransportPort   = 11
	ieDestinationIPv4Address     = 12
	ieEgressInterface            = 14
	ieBGPSourceASNumber          = 16
	ieBGPDestinationASNumber     = 17
	ieFlowEndSysUpTime           = 21 // NetFlow v9 LAST_SWITCHED
	ieFlowStartSysUpTime         = 22 // NetFlow v9 FIRST_SWITCHED
	iePostOctetDeltaCount        = 23
	iePostPacketDeltaCount       = 24
	ieSourceIPv6Address          = 27
	ieDestinationIPv6Address     = 28
	ieICMPTypeCodeIPv4           = 32
	ieSamplingInterval           = 34
	ieSamplerID                  = 48 // NetFlow v9 FLOW_SAMPLER_ID
	ieSamplerRandomInterval      = 50
	ieSourceMacAddress           = 56
	iePostDestinationMacAddress  = 57
	ieIPVersion                  = 60
	ieDestinationMacAddress      = 80
	iePostSourceMacAddress       = 81
	ieOctetTotalCount            = 85
	iePacketTotalCount           = 86
	ieICMPTypeCodeIPv6           = 139
	ieTemplateID                 = 145
	ieFlowStartSeconds           = 150
	ieFlowEndSeconds             = 151
	ieFlowStartMilliseconds      = 152
	ieFlowEndMilliseconds        = 153
	ieFlowStartMicroseconds      = 154
	ieFlowEndMicroseconds        = 155
	ieFlowStartNanoseconds       = 156
	ieFlowEndNanoseconds         = 157
	ieFlowStartDeltaMicroseconds = 158
	ieFlowEndDeltaMicroseconds   = 159
	ieSystemInitTimeMilliseconds = 160
	ieICMPTypeIPv4               = 176
	ieICMPCodeIPv4               = 177
	ieICMPTypeIPv6               = 178
	ieICMPCodeIPv6               = 179
	ieIngressPhysicalInterface   = 252
	ieEgressPhysicalInterface    = 253
	ieSelectorID                 = 302
	ieSamplingPacketInterval     = 305
	ieSamplingPacketSpace        = 306
	ieSamplingSize               = 309
	ieSamplingPopulation         = 310
	ieSamplingProbability        = 311
	ieDataLinkFrameSize          = 312
	ieDataLinkFrameSection       = 315

	// penReverse is the enterprise number of RFC 5103 reverse elements.
	penReverse = 29305

	// NetFlow v9 options scope type "Template".
	nf9ScopeTemplate = 5

	// ntpEpochOffset is the number of seconds from 1900 to 1970.
	ntpEpochOffset = 2208988800
)

// Presence bits of record fields.
const (
	hasBytes uint64 = 1 << iota
	hasPackets
	hasPostBytes
	hasPostPackets
	hasTotalBytes
	hasTotalPackets
	hasRevBytes
	hasRevPackets
	hasSrc4
	hasDst4
	hasSrc6
	hasDst6
	hasInIf
	hasOutIf
	hasSrcMAC
	hasDstMAC
	hasFirst
	hasLast
	hasSampler
	hasScopeTemplate
	hasInitTime
	hasSamplingInterval
	hasRandomInterval
	hasPacketInterval
	hasPacketSpace
	hasSamplingSize
	hasSamplingPopulation
	hasSamplingProbability
	hasFrameSize
	hasICMP
	hasDeltaStart
	hasDeltaEnd
)

// record collects the fields of one NetFlow v9/IPFIX data or options record.
type record struct {
	has uint64

	bytes, packets           uint64
	postBytes, postPackets   uint64
	totalBytes, totalPackets uint64
	revBytes, revPackets     uint64

	src4, dst4       [4]byte
	src6, dst6       [16]byte
	srcPort, dstPort uint16
	proto            uint8
	ipVersion        uint8
	icmpType         uint8
	icmpCode         uint8

	inIf, outIf, inPhys, outPhys uint32
	srcAS, dstAS                 uint32
	srcMAC, dstMAC               uint64
	postSrcMAC, postDstMAC       uint64

	first, last        uint32 // uptime milliseconds (21, 22)
	absStart, absEnd   int64  // Unix nanoseconds (150-157)
	deltaStart         uint64 // microseconds before the export time (158)
	deltaEnd           uint64 // (159)
	initTime           uint64 // systemInitTimeMilliseconds
	samplerID          uint32
	scopeTemplate      uint32
	samplingInterval   uint64
	randomInterval     uint64
	packetInterval     uint64
	packetSpace        uint64
	samplingSize       uint64
	samplingPopulation uint64
	samplingProb       float64

	frameSize uint64
	frame     []byte // dataLinkFrameSection: the start of a sampled frame
}

// walk reads one record of template t from b into r. It returns the bytes
// the record takes, 0 when b does not hold a whole record.
func (t *template) walk(b []byte, r *record, nf9 bool) int {
	off := 0
	for i := range t.fields {
		fd := &t.fields[i]
		n := int(fd.length)
		if fd.length == variableLength {
			if off >= len(b) {
				return 0
			}
			n = int(b[off])
			off++
			if n == 255 {
				if off+2 > len(b) {
					return 0
				}
				n = int(be16(b[off:]))
				off += 2
			}
		}
		if n > len(b)-off {
			return 0
		}
		v := b[off : off+n]
		off += n
		if i < t.scopes && nf9 {
			// NetFlow v9 scope types are not information elements.
			if fd.typ == nf9ScopeTemplate {
				r.scopeTemplate, r.has = uint32(beUint(v)), r.has|hasScopeTemplate
			}
			continue
		}
		r.set(fd.typ, fd.pen, v)
	}
	return off
}

// set records one field value.
func (r *record) set(typ uint16, pen uint32, v []byte) {
	if pen != 0 {
		if pen == penReverse {
			switch typ {
			case ieOctetDeltaCount:
				r.revBytes, r.has = beUint(v), r.has|hasRevBytes
			case iePacketDeltaCount:
				r.revPackets, r.has = beUint(v), r.has|hasRevPackets
			}
		}
		return
	}
	switch typ {
	case ieOctetDeltaCount:
		r.bytes, r.has = beUint(v), r.has|hasBytes
	case iePacketDeltaCount:
		r.packets, r.has = beUint(v), r.has|hasPackets
	case iePostOctetDeltaCount:
		r.postBytes, r.has = beUint(v), r.has|hasPostBytes
	case iePostPacketDeltaCount:
		r.postPackets, r.has = beUint(v), r.has|hasPostPackets
	case ieOctetTotalCount:
		r.totalBytes, r.has = beUint(v), r.has|hasTotalBytes
	case iePacketTotalCount:
		r.totalPackets, r.has = beUint(v), r.has|hasTotalPackets
	case ieProtocolIdentifier:
		r.proto = uint8(beUint(v))
	case ieSourceTransportPort:
		r.srcPort = uint16(beUint(v))
	case ieDestinationTransportPort:
		r.dstPort = uint16(beUint(v))
	case ieSourceIPv4Address:
		if len(v) == 4 {
			r.src4, r.has = [4]byte(v), r.has|hasSrc4
		}
	case ieDestinationIPv4Address:
		if len(v) == 4 {
			r.dst4, r.has = [4]byte(v), r.has|hasDst4
		}
	case ieSourceIPv6Address:
		if len(v) == 16 {
			r.src6, r.has = [16]byte(v), r.has|hasSrc6
		}
	case ieDestinationIPv6Address:
		if len(v) == 16 {
			r.dst6, r.has = [16]byte(v), r.has|hasDst6
		}
	case ieIPVersion:
		r.ipVersion = uint8(beUint(v))
	case ieIngressInterface:
		r.inIf, r.has = uint32(beUint(v)), r.has|hasInIf
	case ieEgressInterface:
		r.outIf, r.has = uint32(beUint(v)), r.has|hasOutIf
	case ieIngressPhysicalInterface:
		r.inPhys = uint32(beUint(v))
	case ieEgressPhysicalInterface:
		r.outPhys = uint32(beUint(v))
	case ieBGPSourceASNumber:
		r.srcAS = uint32(beUint(v))
	case ieBGPDestinationASNumber:
		r.dstAS = uint32(beUint(v))
	case ieSourceMacAddress:
		r.srcMAC, r.has = mac(v), r.has|hasSrcMAC
	case ieDestinationMacAddress:
		r.dstMAC, r.has = mac(v), r.has|hasDstMAC
	case iePostSourceMacAddress:
		r.postSrcMAC = mac(v)
	case iePostDestinationMacAddress:
		r.postDstMAC = mac(v)
	case ieICMPTypeCodeIPv4, ieICMPTypeCodeIPv6:
		tc := beUint(v)
		r.icmpType, r.icmpCode, r.has = uint8(tc>>8), uint8(tc), r.has|hasICMP
	case ieICMPTypeIPv4, ieICMPTypeIPv6:
		r.icmpType, r.has = uint8(beUint(v)), r.has|hasICMP
	case ieICMPCodeIPv4, ieICMPCodeIPv6:
		r.icmpCode, r.has = uint8(beUint(v)), r.has|hasICMP
	case ieFlowStartSysUpTime:
		r.first, r.has = uint32(beUint(v)), r.has|hasFirst
	case ieFlowEndSysUpTime:
		r.last, r.has = uint32(beUint(v)), r.has|hasLast
	case ieFlowStartSeconds:
		r.absStart = secondsNs(beUint(v))
	case ieFlowEndSeconds:
		r.absEnd = secondsNs(beUint(v))
	case ieFlowStartMilliseconds:
		r.absStart = millisecondsNs(beUint(v))
	case ieFlowEndMilliseconds:
		r.absEnd = millisecondsNs(beUint(v))
	case ieFlowStartMicroseconds, ieFlowStartNanoseconds:
		r.absStart = ntpNs(beUint(v))
	case ieFlowEndMicroseconds, ieFlowEndNanoseconds:
		r.absEnd = ntpNs(beUint(v))
	case ieFlowStartDeltaMicroseconds:
		r.deltaStart, r.has = beUint(v), r.has|hasDeltaStart
	case ieFlowEndDeltaMicroseconds:
		r.deltaEnd, r.has = beUint(v), r.has|hasDeltaEnd
	case ieSystemInitTimeMilliseconds:
		r.initTime, r.has = beUint(v), r.has|hasInitTime
	case ieSamplerID, ieSelectorID:
		r.samplerID, r.has = uint32(beUint(v)), r.has|hasSampler
	case ieTemplateID:
		r.scopeTemplate, r.has = uint32(beUint(v)), r.has|hasScopeTemplate
	case ieSamplingInterval:
		r.samplingInterval, r.has = beUint(v), r.has|hasSamplingInterval
	case ieSamplerRandomInterval:
		r.randomInterval, r.has = beUint(v), r.has|hasRandomInterval
	case ieSamplingPacketInterval:
		r.packetInterval, r.has = beUint(v), r.has|hasPacketInterval
	case ieSamplingPacketSpace:
		r.packetSpace, r.has = beUint(v), r.has|hasPacketSpace
	case ieSamplingSize:
		r.samplingSize, r.has = beUint(v), r.has|hasSamplingSize
	case ieSamplingPopulation:
		r.samplingPopulation, r.has = beUint(v), r.has|hasSamplingPopulation
	case ieSamplingProbability:
		if len(v) == 8 {
			r.samplingProb, r.has = math.Float64frombits(beUint(v)), r.has|hasSamplingProbability
		}
	case ieDataLinkFrameSize:
		r.frameSize, r.has = beUint(v), r.has|hasFrameSize
	case ieDataLinkFrameSection:
		r.frame = v
	}
}

// rate returns the sampling rate the record itself gives, 0 when none:
// samplingInterval (34), samplerRandomInterval (50), samplingPopulation /
// samplingSize (310/309), (samplingPacketInterval + samplingPacketSpace) /
// samplingPacketInterval (305/306), or 1 / samplingProbability (311).
// samplingPacketInterval alone gives no rate (Cisco sends 1 there with
// samplingSize/samplingPopulation 1/256).
func (r *record) rate() uint32 {
	var v uint64
	switch {
	case r.has&hasSamplingInterval != 0 && r.samplingInterval != 0:
		v = r.samplingInterval
	case r.has&hasRandomInterval != 0 && r.randomInterval != 0:
		v = r.randomInterval
	case r.has&(hasSamplingSize|hasSamplingPopulation) == hasSamplingSize|hasSamplingPopulation && r.samplingSize != 0:
		v = r.samplingPopulation / r.samplingSize
	case r.has&(hasPacketInterval|hasPacketSpace) == hasPacketInterval|hasPacketSpace && r.packetInterval != 0:
		v = (r.packetInterval + r.packetSpace) / r.packetInterval
	case r.has&hasSamplingProbability != 0 && r.samplingProb > 0 && r.samplingProb <= 1:
		v = uint64(math.Round(1 / r.samplingProb))
	}
	return uint32(min(v, math.MaxUint32))
}

// fill copies the record's addresses, ports and interfaces into f. When the
// record has no addresses but a sampled frame (dataLinkFrameSection), the
// frame is decoded instead.
func (r *record) fill(f *flow.Flow) {
	v6 := r.has&(hasSrc6|hasDst6) != 0
	v4 := r.has&(hasSrc4|hasDst4) != 0
	switch {
	case v6 && (r.ipVersion == 6 || (r.ipVersion != 4 && (r.src6 != [16]byte{} || r.dst6 != [16]byte{} || !v4))):
		f.SrcAddr, f.DstAddr = netip.AddrFrom16(r.src6), netip.AddrFrom16(r.dst6)
		f.EType = etherTypeIPv6
	case v4:
		f.SrcAddr, f.DstAddr = netip.AddrFrom4(r.src4), netip.AddrFrom4(r.dst4)
		f.EType = etherTypeIPv4
	case r.frame != nil:
		decodeEthernet(r.frame, f, 0)
	}
	if f.EType == 0 {
		switch r.ipVersion {
		case 4:
			f.EType = etherTypeIPv4
		case 6:
			f.EType = etherTypeIPv6
		}
	}
	if v4 || v6 {
		f.IPProto = r.proto
		f.SrcPort, f.DstPort = r.srcPort, r.dstPort
		if (r.proto == ipProtoICMP || r.proto == ipProtoICMPv6) && r.has&hasICMP != 0 && r.dstPort == 0 {
			f.SrcPort, f.DstPort = 0, uint16(r.icmpType)<<8|uint16(r.icmpCode)
		}
	}
	f.InIf, f.OutIf = r.inIf, r.outIf
	if r.has&hasInIf == 0 {
		f.InIf = r.inPhys
	}
	if r.has&hasOutIf == 0 {
		f.OutIf = r.outPhys
	}
	if r.has&(hasSrcMAC|hasDstMAC) != 0 {
		f.SrcMAC, f.DstMAC = r.srcMAC, r.dstMAC
	} else if r.postSrcMAC != 0 || r.postDstMAC != 0 {
		f.SrcMAC, f.DstMAC = r.postSrcMAC, r.postDstMAC
	}
	f.SrcAS, f.DstAS = r.srcAS, r.dstAS
}

// counters returns the record's bytes and packets (before sampling).
func (r *record) counters() (bytes, packets uint64) {
	switch {
	case r.has&hasBytes != 0:
		bytes = r.bytes
	case r.has&hasPostBytes != 0:
		bytes = r.postBytes
	case r.has&hasTotalBytes != 0:
		bytes = r.totalBytes
	case r.has&hasFrameSize != 0:
		bytes = r.frameSize
	case r.frame != nil:
		bytes = uint64(len(r.frame))
	}
	switch {
	case r.has&hasPackets != 0:
		packets = r.packets
	case r.has&hasPostPackets != 0:
		packets = r.postPackets
	case r.has&hasTotalPackets != 0:
		packets = r.totalPackets
	case r.frame != nil || r.has&hasFrameSize != 0:
		packets = 1 // one sampled frame
	}
	return bytes, packets
}

// times returns the flow's start and end in Unix nanoseconds (0 when
// unknown): absolute times first, then uptime-relative ones (NetFlow v9:
// against the header's uptime and time; IPFIX: against the system init
// time), then deltas from the IPFIX export time.
func (r *record) times(hdr *msgHeader, initTime uint64) (start, end int64) {
	start, end = r.absStart, r.absEnd
	uptime := func(ms uint32) int64 {
		if hdr.version == 9 {
			return int64(hdr.secs)*1e9 - int64(int32(hdr.uptime-ms))*1e6
		}
		if r.has&hasInitTime != 0 {
			initTime = r.initTime
		}
		if initTime == 0 {
			return 0
		}
		return millisecondsNs(initTime + uint64(ms))
	}
	if start == 0 && r.has&hasFirst != 0 {
		start = uptime(r.first)
	}
	if end == 0 && r.has&hasLast != 0 {
		end = uptime(r.last)
	}
	if start == 0 && r.has&hasDeltaStart != 0 && r.deltaStart < math.MaxInt64/1_000 {
		start = int64(hdr.secs)*1e9 - int64(r.deltaStart)*1e3
	}
	if end == 0 && r.has&hasDeltaEnd != 0 && r.deltaEnd < math.MaxInt64/1_000 {
		end = int64(hdr.secs)*1e9 - int64(r.deltaEnd)*1e3
	}
	return start, end
}

// reverse turns f into the reverse direction of a biflow (RFC 5103).
func reverse(f *flow.Flow) {
	f.SrcAddr, f.DstAddr = f.DstAddr, f.SrcAddr
	if f.IPProto != ipProtoICMP && f.IPProto != ipProtoICMPv6 {
		f.SrcPort, f.DstPort = f.DstPort, f.SrcPort
	}
	f.SrcMAC, f.DstMAC = f.DstMAC, f.SrcMAC
	f.InIf, f.OutIf = f.OutIf, f.InIf
	f.SrcAS, f.DstAS = f.DstAS, f.SrcAS
}

// badTime stands for a time that was given but cannot be represented; it
// is outside any MaxTimeSkew window, so the flow counts as bad_time.
const badTime = math.MinInt64

func secondsNs(s uint64) int64 {
	if s > math.MaxInt64/1_000_000_000 {
		return badTime
	}
	return int64(s) * 1e9
}

func millisecondsNs(ms uint64) int64 {
	if ms > math.MaxInt64/1_000_000 {
		return badTime
	}
	return int64(ms) * 1e6
}

// ntpNs converts an RFC 7011 dateTimeMicroseconds/Nanoseconds value (NTP
// format: seconds since 1900, then a 32-bit fraction) to Unix nanoseconds.
func ntpNs(v uint64) int64 {
	sec := v >> 32
	if sec < ntpEpochOffset {
		return badTime
	}
	frac := (v & 0xffffffff) * 1e9 >> 32
	ns := secondsNs(sec - ntpEpochOffset)
	if ns == badTime {
		return badTime
	}
	return ns + int64(frac)
}
