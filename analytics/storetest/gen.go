package storetest

import (
	"math/rand/v2"
	"net/netip"
	"time"

	"github.com/ixpd/ixpd/flow"
)

// Exporters used by GenerateFlows, one per role, and an IPv6 one.
var (
	ExporterSwitch = netip.MustParseAddr("192.0.2.1")    // RoleIXPSwitch, sFlow
	ExporterEdge4  = netip.MustParseAddr("192.0.2.2")    // RoleMemberEdge, IPFIX
	ExporterEdge6  = netip.MustParseAddr("2001:db8::e")  // RoleMemberEdge, NetFlow v9
	ExporterOther  = netip.MustParseAddr("198.51.100.7") // RoleUnknown
)

// members holds member ASNs, 0 for "not a member"; one is above 2^31 to
// catch signed 32-bit columns.
var members = []uint32{0, 64500, 64501, 64502, 4200000001}

var countries = []string{"", "SI", "SI", "AT", "DE"}

// Home is the exchange's country in generated flows: a flow is domestic
// when both of its countries are Home.
const Home = "SI"

// GenerateFlows returns n pseudo-random but reproducible flows (same seed,
// same flows) received in [start, start+span). They cover every role, path
// class, address family (and non-IP frames), member and flag, with bytes
// and packets already scaled by the sampling rate. Every TimeStart and
// TimeEnd is TimeReceived.
func GenerateFlows(seed uint64, n int, start time.Time, span time.Duration) []flow.Flow {
	r := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	flows := make([]flow.Flow, n)
	for i := range flows {
		t := start.Add(time.Duration(r.Int64N(int64(span))))
		flows[i] = randomFlow(r, t)
	}
	return flows
}

func randomFlow(r *rand.Rand, t time.Time) flow.Flow {
	f := flow.Flow{
		TimeReceived: t,
		TimeStart:    t,
		TimeEnd:      t,
		SrcPort:      uint16(r.Uint32()),
		DstPort:      uint16(r.Uint32()),
		IPProto:      []uint8{6, 17, 1}[r.IntN(3)],
		InIf:         r.Uint32(),
		OutIf:        r.Uint32(),
		SrcMAC:       r.Uint64() & 0xffff_ffff_ffff,
		DstMAC:       r.Uint64() & 0xffff_ffff_ffff,
		SrcAS:        r.Uint32(),
		DstAS:        r.Uint32(),
		SrcCountry:   countries[r.IntN(len(countries))],
		DstCountry:   countries[r.IntN(len(countries))],
	}
	f.Domestic = f.SrcCountry == Home && f.DstCountry == Home
	switch r.IntN(10) {
	case 0: // non-IP frame: no addresses, family 0
		f.EType = 0x0806
		f.IPProto = 0
	case 1, 2, 3, 4:
		f.EType = 0x86dd
		f.SrcAddr = randomAddr6(r)
		f.DstAddr = randomAddr6(r)
	default:
		f.EType = 0x0800
		f.SrcAddr = randomAddr4(r)
		f.DstAddr = randomAddr4(r)
	}
	switch r.IntN(7) {
	case 0, 1, 2:
		f.Exporter, f.Role, f.Protocol = ExporterSwitch, flow.RoleIXPSwitch, flow.ProtocolSFlow5
		f.SamplingRate = 1024
		f.SrcMember = members[r.IntN(len(members))]
		f.DstMember = members[r.IntN(len(members))]
		f.IXPExchanged = f.SrcMember != 0 && f.DstMember != 0 && f.SrcMember != f.DstMember
	case 3, 4:
		f.Exporter, f.Role, f.Protocol = ExporterEdge4, flow.RoleMemberEdge, flow.ProtocolIPFIX
		f.SamplingRate = 100
		f.SrcMember = 64501
		f.DstMember = members[r.IntN(len(members))]
		f.PathClass = flow.PathClass(r.IntN(4))
	case 5:
		f.Exporter, f.Role, f.Protocol = ExporterEdge6, flow.RoleMemberEdge, flow.ProtocolNetFlow9
		f.SamplingRate = 1
		f.SrcMember = 4200000001
		f.DstMember = members[r.IntN(len(members))]
		f.PathClass = flow.PathClass(r.IntN(4))
	default:
		f.Exporter, f.Role, f.Protocol = ExporterOther, flow.RoleUnknown, flow.ProtocolNetFlow5
		f.SamplingRate = 10
	}
	f.Packets = uint64(1+r.IntN(64)) * uint64(f.SamplingRate)
	f.Bytes = f.Packets * uint64(64+r.IntN(1437))
	return f
}

func randomAddr4(r *rand.Rand) netip.Addr {
	var b [4]byte
	v := r.Uint32()
	b[0], b[1], b[2], b[3] = byte(v>>24), byte(v>>16), byte(v>>8), byte(v)
	return netip.AddrFrom4(b)
}

func randomAddr6(r *rand.Rand) netip.Addr {
	var b [16]byte
	hi, lo := r.Uint64(), r.Uint64()
	for i := range 8 {
		b[i] = byte(hi >> (56 - 8*i))
		b[8+i] = byte(lo >> (56 - 8*i))
	}
	// Keep out of ::ffff:0:0/96 so that the address stays IPv6.
	b[0] = 0x20
	return netip.AddrFrom16(b)
}
