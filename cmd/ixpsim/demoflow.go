package main

import (
	"context"
	"encoding/binary"
	"fmt"
	"math"
	"math/rand/v2"
	"net"
	"net/netip"
	"slices"
	"time"
)

// The demo's flows: the exchange's switch exports sFlow v5 samples of the
// traffic between members, and members' edge routers export IPFIX records
// of what crosses their IXP, transit and customer interfaces.
//
// Time is cut into ticks (-tick, 100 ms). Tick k produces its datagrams
// from the seed and k alone, so a seed, rates and a number of ticks always
// give the same datagrams and totals; only the timestamps written into them
// come from the clock. The rate of tick k follows a diurnal curve
// (demoDiurnal) through a day that lasts -period, starting at -start-hour
// of the curve.
// Counts per tick come from accumulators, not random draws: a stream of
// rate r sends exactly ⌊Σ r·f(k)·tick⌋ samples by tick k.

// demoDiurnal is the traffic level at hour h (0–24) of the curve, relative
// to its daily mean (1): lowest (0.64) around 04:30, highest (1.7) at
// 20:00, the shape of access networks' traffic.
func demoDiurnal(h float64) float64 {
	x := 2 * math.Pi * (h - 20) / 24
	return 1 + 0.5*math.Cos(x) + 0.2*math.Cos(2*x)
}

// demoFlowOptions are the flags of the flow side.
type demoFlowOptions struct {
	seed                         uint64
	tick                         time.Duration
	period                       time.Duration // one day of the curve
	startHour                    float64       // the curve's hour at tick 0
	sflowRate                    float64       // switch samples per second at the curve's mean
	ipfixRate                    float64       // records per second per edge exporter at the curve's mean
	switchSampling, edgeSampling uint32        // 0: the exporter's configured rate, else the default
}

// hourAt returns the curve's hour at tick k.
func (o *demoFlowOptions) hourAt(k int) float64 {
	elapsed := float64(k) * o.tick.Seconds()
	return math.Mod(o.startHour+24*elapsed/o.period.Seconds(), 24)
}

// switchPort is a member's port on the exchange's switch.
type switchPort struct {
	asn      uint32
	mac      [6]byte
	ifIndex  uint32
	prefixes []netip.Prefix // the addresses behind it: what the member announces
	// prefixes6 are the member's IPv6 prefixes; samples between two
	// members that both have some are IPv6 a third of the time.
	prefixes6 []netip.Prefix
}

// pairFlow is one member pair of the traffic matrix.
type pairFlow struct {
	src, dst int // indexes into switchPlan.ports
	weight   float64
	acc      float64
}

// switchPlan is the sFlow agent of the exchange's switch.
type switchPlan struct {
	agent netip.Addr
	rate  uint32
	ports []switchPort
	pairs []pairFlow
}

// Edge traffic classes: where the far end is and which way traffic leaves.
const (
	classDomesticIXP = iota
	classForeignIXP
	classDomesticTransit
	classForeignTransit
	numClasses
)

var classNames = [numClasses]string{"domestic via IXP", "foreign via IXP", "domestic via transit", "foreign via transit"}

// classWeights is the share of an edge router's records per class before
// the seed's jitter: about 30 % of the domestic traffic still trombones
// through transit.
var classWeights = [numClasses]float64{0.30, 0.06, 0.12, 0.52}

// edgeClass is the far ends of one class at one edge router.
type edgeClass struct {
	far    []netip.Prefix
	weight float64
	acc    float64
}

// edgePlan is an IPFIX exporter on a member's edge router.
type edgePlan struct {
	exporter netip.Addr
	asn      uint32
	rate     uint32
	inside   []netip.Prefix // the member's own addresses
	ixp      []uint32       // ifIndexes by role
	transit  []uint32
	customer []uint32
	classes  [numClasses]edgeClass
}

// demoTotals are what the generator produced. Bytes are scaled by the
// sampling rate, as a collector counts them.
type demoTotals struct {
	Ticks          int
	SFlowDatagrams uint64
	SFlowSamples   uint64
	SFlowBytes     uint64
	IPFIXMessages  uint64 // data messages, without templates
	IPFIXTemplates uint64
	IPFIXRecords   uint64
	IPFIXBytes     uint64
	PairBytes      map[[2]uint32]uint64          // sFlow, by (source, destination) member
	ClassBytes     map[uint32][numClasses]uint64 // IPFIX, by edge member and class
}

// trafficGen produces the demo's datagrams tick by tick.
type trafficGen struct {
	o       demoFlowOptions
	sw      *switchPlan // nil: no sFlow
	edges   []*edgePlan
	rng     *rand.Rand
	k       int
	seq     uint32   // sFlow datagram sequence
	ipfxSeq []uint32 // IPFIX records sent, per edge
	totals  demoTotals
}

// templateEvery is how often, in ticks, an edge router sends its template.
const templateEvery = 50

// newTrafficGen builds the generator for the exchange and the session
// plans (what each member announces).
func newTrafficGen(x *demoExchange, plans []sessionPlan, o demoFlowOptions) (*trafficGen, []string) {
	g := &trafficGen{o: o, rng: rand.New(rand.NewPCG(o.seed, 0xf1)),
		totals: demoTotals{PairBytes: map[[2]uint32]uint64{}, ClassBytes: map[uint32][numClasses]uint64{}}}
	var notes []string
	own, cust := map[uint32][]netip.Prefix{}, map[uint32][]netip.Prefix{}
	v6 := map[uint32][]netip.Prefix{}
	for _, p := range plans {
		if p.IPv6 {
			v6[p.Member] = appendNew(v6[p.Member], append(p.own(), p.customers()...)...)
			continue
		}
		own[p.Member] = appendNew(own[p.Member], p.own()...)
		cust[p.Member] = appendNew(cust[p.Member], p.customers()...)
	}
	jitter := rand.New(rand.NewPCG(o.seed, 0x77))

	if len(x.switches) > 0 && x.sflowTo.IsValid() {
		ex := x.switches[0]
		sw := &switchPlan{agent: ex.addr, rate: pick(o.switchSampling, ex.rate, defaultSwitchRate)}
		for _, m := range x.members {
			pfx := append(slices.Clone(own[m.asn]), cust[m.asn]...)
			switch {
			case len(m.macs) == 0:
				notes = append(notes, fmt.Sprintf("sFlow: AS%d left out of the matrix: no MAC address in the members file", m.asn))
				continue
			case len(pfx) == 0:
				notes = append(notes, fmt.Sprintf("sFlow: AS%d left out of the matrix: it announces no IPv4 prefix", m.asn))
				continue
			}
			port := switchPort{asn: m.asn, ifIndex: uint32(len(sw.ports) + 1), prefixes: pfx, prefixes6: v6[m.asn]}
			copy(port.mac[:], m.macs[0])
			sw.ports = append(sw.ports, port)
		}
		// A gravity model: a pair's weight is the product of the two
		// members' sizes (the prefixes they announce), jittered by the seed.
		total := 0.0
		for i := range sw.ports {
			for j := range sw.ports {
				if i == j {
					continue
				}
				w := float64(len(sw.ports[i].prefixes)*len(sw.ports[j].prefixes)) * (0.6 + 0.8*jitter.Float64())
				sw.pairs = append(sw.pairs, pairFlow{src: i, dst: j, weight: w})
				total += w
			}
		}
		for i := range sw.pairs {
			sw.pairs[i].weight /= total
		}
		if len(sw.pairs) > 0 {
			g.sw = sw
		}
	}

	if x.netflowTo.IsValid() {
		// Far ends: members' own prefixes (in the country when the member
		// is), their customers' (abroad), the country's blocks no member
		// announces (networks off the exchange) and other countries' blocks.
		var announced []netip.Prefix
		for _, p := range plans {
			announced = append(announced, p.accepted()...)
		}
		var offExchange, abroad []netip.Prefix
		for _, b := range x.rir.v4[x.country] {
			if !overlapsAny(b, announced) {
				offExchange = append(offExchange, b)
			}
		}
		for _, cc := range x.rir.countries() {
			if cc != x.country {
				abroad = append(abroad, x.rir.v4[cc]...)
			}
		}
		for _, ex := range x.edges {
			e := &edgePlan{exporter: ex.addr, asn: ex.memberASN, rate: pick(o.edgeSampling, ex.rate, defaultEdgeRate)}
			e.inside = own[ex.memberASN]
			if len(e.inside) == 0 {
				e.inside = cust[ex.memberASN]
			}
			if len(e.inside) == 0 {
				notes = append(notes, fmt.Sprintf("IPFIX: edge router %s of AS%d left out: the member announces no IPv4 prefix", ex.addr, ex.memberASN))
				continue
			}
			for _, idx := range sortedKeys(ex.interfaces) {
				switch ex.interfaces[idx] {
				case "ixp":
					e.ixp = append(e.ixp, idx)
				case "transit":
					e.transit = append(e.transit, idx)
				case "customer":
					e.customer = append(e.customer, idx)
				}
			}
			var otherOwn, otherCust []netip.Prefix
			for _, m := range x.members {
				if m.asn != ex.memberASN {
					otherOwn = append(otherOwn, own[m.asn]...)
					otherCust = append(otherCust, cust[m.asn]...)
				}
			}
			far := [numClasses][]netip.Prefix{otherOwn, otherCust, offExchange, abroad}
			if len(e.ixp) == 0 {
				far[classDomesticIXP], far[classForeignIXP] = nil, nil
			}
			if len(e.transit) == 0 {
				far[classDomesticTransit], far[classForeignTransit] = nil, nil
			}
			total := 0.0
			for c := range numClasses {
				if len(far[c]) > 0 {
					e.classes[c] = edgeClass{far: far[c], weight: classWeights[c] * (0.8 + 0.4*jitter.Float64())}
					total += e.classes[c].weight
				}
			}
			if total == 0 {
				notes = append(notes, fmt.Sprintf("IPFIX: edge router %s of AS%d left out: no ixp or transit interface, or no far ends", ex.addr, ex.memberASN))
				continue
			}
			for c := range numClasses {
				e.classes[c].weight /= total
			}
			g.edges = append(g.edges, e)
		}
		g.ipfxSeq = make([]uint32, len(g.edges))
	}
	return g, notes
}

// pick returns the first non-zero value.
func pick(vals ...uint32) uint32 {
	for _, v := range vals {
		if v != 0 {
			return v
		}
	}
	return 0
}

func sortedKeys(m map[uint32]string) []uint32 {
	out := make([]uint32, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

func appendNew(dst []netip.Prefix, ps ...netip.Prefix) []netip.Prefix {
	for _, p := range ps {
		if !slices.Contains(dst, p) {
			dst = append(dst, p)
		}
	}
	return dst
}

func overlapsAny(p netip.Prefix, set []netip.Prefix) bool {
	for _, q := range set {
		if p.Overlaps(q) {
			return true
		}
	}
	return false
}

// demoDatagram is one datagram to send: from an exporter address to the
// sFlow or the NetFlow/IPFIX listener.
type demoDatagram struct {
	from  netip.Addr
	ipfix bool
	b     []byte
}

// next returns the datagrams of the next tick, with timestamps from now.
func (g *trafficGen) next(now time.Time) []demoDatagram {
	k := g.k
	g.k++
	g.totals.Ticks = g.k
	f := demoDiurnal(g.o.hourAt(k)) * g.o.tick.Seconds()
	var out []demoDatagram
	if g.sw != nil {
		out = g.switchTick(out, k, f)
	}
	for i, e := range g.edges {
		out = g.edgeTick(out, i, e, k, f, now)
	}
	return out
}

// sflowPerDatagram is the number of samples in one sFlow datagram.
const sflowPerDatagram = 8

func (g *trafficGen) switchTick(out []demoDatagram, k int, f float64) []demoDatagram {
	sw := g.sw
	var specs []flowSpec
	for i := range sw.pairs {
		pf := &sw.pairs[i]
		pf.acc += g.o.sflowRate * f * pf.weight
		n := int(pf.acc)
		pf.acc -= float64(n)
		src, dst := &sw.ports[pf.src], &sw.ports[pf.dst]
		for range n {
			s := g.sample(src, dst)
			s.SrcMAC, s.DstMAC = src.mac, dst.mac
			s.InIf, s.OutIf = src.ifIndex, dst.ifIndex
			specs = append(specs, s)
			b := uint64(s.FrameLen) * uint64(sw.rate)
			g.totals.SFlowBytes += b
			g.totals.PairBytes[[2]uint32{src.asn, dst.asn}] += b
		}
	}
	g.totals.SFlowSamples += uint64(len(specs))
	uptime := uint32(k) * uint32(g.o.tick.Milliseconds())
	for len(specs) > 0 {
		n := min(len(specs), sflowPerDatagram)
		out = append(out, demoDatagram{from: sw.agent, b: sflowDatagram(sw.agent, g.seq, uptime, sw.rate, specs[:n])})
		g.seq++
		g.totals.SFlowDatagrams++
		specs = specs[n:]
	}
	return out
}

// frameLen draws a frame length: a third small (ACKs, DNS), the rest near
// the MTU.
func (g *trafficGen) frameLen() uint32 {
	if g.rng.IntN(3) == 0 {
		return uint32(64 + g.rng.IntN(100))
	}
	return uint32(1200 + g.rng.IntN(319))
}

// sample draws a packet between two members' ports: IPv6 a third of the
// time when both announce IPv6, else IPv4.
func (g *trafficGen) sample(src, dst *switchPort) flowSpec {
	if len(src.prefixes6) > 0 && len(dst.prefixes6) > 0 && g.rng.IntN(3) == 0 {
		return g.packet(src.prefixes6, dst.prefixes6)
	}
	return g.packet(src.prefixes, dst.prefixes)
}

// packet draws a packet from an address in one of src to one in dst.
func (g *trafficGen) packet(src, dst []netip.Prefix) flowSpec {
	s := flowSpec{
		SrcAddr:  randomHost(g.rng, src[g.rng.IntN(len(src))]),
		DstAddr:  randomHost(g.rng, dst[g.rng.IntN(len(dst))]),
		Proto:    6,
		FrameLen: g.frameLen(),
	}
	service := []uint16{443, 443, 443, 80, 53, 123, 8080, 993}[g.rng.IntN(8)]
	client := uint16(1024 + g.rng.IntN(64511))
	if g.rng.IntN(4) == 0 { // requests, from the client
		s.SrcPort, s.DstPort = client, service
	} else { // answers: most bytes flow from servers
		s.SrcPort, s.DstPort = service, client
	}
	if service == 53 || service == 123 || g.rng.IntN(10) == 0 {
		s.Proto = 17 // DNS, NTP, QUIC
	}
	return s
}

// randomHost returns an address inside p, not its first or last (IPv4),
// or with random host bits that are not all zero (IPv6).
func randomHost(rng *rand.Rand, p netip.Prefix) netip.Addr {
	if p.Addr().Is6() {
		a := p.Masked().Addr().As16()
		for i := p.Bits(); i < 128; i++ {
			if rng.IntN(2) == 1 {
				a[i/8] |= 0x80 >> (i % 8)
			}
		}
		if p.Bits() < 128 {
			a[15] |= 1
		}
		return netip.AddrFrom16(a)
	}
	a := p.Addr().As4()
	base := binary.BigEndian.Uint32(a[:])
	size := uint32(1) << (32 - p.Bits())
	off := uint32(0)
	if size > 2 {
		off = 1 + uint32(rng.Int64N(int64(size-2)))
	}
	binary.BigEndian.PutUint32(a[:], base+off)
	return netip.AddrFrom4(a)
}

// ipfixRecord is one flow record of an edge router.
type ipfixRecord struct {
	flowSpec
	Bytes, Packets uint64
	Duration       time.Duration
}

// ipfixPerMessage is the most records in one IPFIX message.
const ipfixPerMessage = 20

func (g *trafficGen) edgeTick(out []demoDatagram, i int, e *edgePlan, k int, f float64, now time.Time) []demoDatagram {
	if k%templateEvery == 0 {
		out = append(out, demoDatagram{from: e.exporter, ipfix: true, b: ipfixTemplate(now, g.ipfxSeq[i])})
		g.totals.IPFIXTemplates++
	}
	var recs []ipfixRecord
	cb := g.totals.ClassBytes[e.asn]
	for c := range numClasses {
		cl := &e.classes[c]
		if cl.weight == 0 {
			continue
		}
		cl.acc += g.o.ipfixRate * f * cl.weight
		n := int(cl.acc)
		cl.acc -= float64(n)
		for range n {
			r := g.edgeRecord(e, c)
			recs = append(recs, r)
			cb[c] += r.Bytes * uint64(e.rate)
			g.totals.IPFIXBytes += r.Bytes * uint64(e.rate)
		}
	}
	g.totals.ClassBytes[e.asn] = cb
	g.totals.IPFIXRecords += uint64(len(recs))
	for len(recs) > 0 {
		n := min(len(recs), ipfixPerMessage)
		out = append(out, demoDatagram{from: e.exporter, ipfix: true, b: ipfixRecords(now, g.ipfxSeq[i], e.rate, recs[:n])})
		g.ipfxSeq[i] += uint32(n)
		g.totals.IPFIXMessages++
		recs = recs[n:]
	}
	return out
}

// edgeRecord draws one record of class c: four in five inbound (far end
// to a customer), the rest outbound.
func (g *trafficGen) edgeRecord(e *edgePlan, c int) ipfixRecord {
	far := e.classes[c].far
	outside := e.ixp
	if c == classDomesticTransit || c == classForeignTransit {
		outside = e.transit
	}
	outIf := outside[g.rng.IntN(len(outside))]
	var custIf uint32
	if len(e.customer) > 0 {
		custIf = e.customer[g.rng.IntN(len(e.customer))]
	}
	var r ipfixRecord
	if g.rng.IntN(5) != 0 {
		r.flowSpec = g.packet(far, e.inside)
		r.InIf, r.OutIf = outIf, custIf
	} else {
		r.flowSpec = g.packet(e.inside, far)
		r.InIf, r.OutIf = custIf, outIf
	}
	// Packets per sampled flow: mostly a few, sometimes many.
	r.Packets = 1 + uint64(g.rng.ExpFloat64()*6)
	r.Bytes = r.Packets * uint64(r.FrameLen)
	r.Duration = time.Duration(1+g.rng.IntN(30)) * time.Second
	return r
}

// ipfixRecords encodes an IPFIX message of template 256 with records that
// end at export.
func ipfixRecords(export time.Time, seq, rate uint32, recs []ipfixRecord) []byte {
	b := ipfixHeader(make([]byte, 0, 16+4+len(recs)*ipfixRecordLen), export, seq)
	b = binary.BigEndian.AppendUint16(b, ipfixTemplateID)
	b = binary.BigEndian.AppendUint16(b, uint16(4+len(recs)*ipfixRecordLen))
	endMs := uint64(export.UnixMilli())
	for _, r := range recs {
		src, dst := r.SrcAddr.As4(), r.DstAddr.As4()
		b = append(b, src[:]...)
		b = append(b, dst[:]...)
		b = binary.BigEndian.AppendUint16(b, r.SrcPort)
		b = binary.BigEndian.AppendUint16(b, r.DstPort)
		b = append(b, r.Proto)
		b = binary.BigEndian.AppendUint64(b, r.Bytes)
		b = binary.BigEndian.AppendUint64(b, r.Packets)
		b = binary.BigEndian.AppendUint32(b, r.InIf)
		b = binary.BigEndian.AppendUint32(b, r.OutIf)
		b = binary.BigEndian.AppendUint64(b, endMs-uint64(r.Duration.Milliseconds()))
		b = binary.BigEndian.AppendUint64(b, endMs)
		b = binary.BigEndian.AppendUint32(b, rate)
	}
	return ipfixFinish(b)
}

// demoSender sends the generator's datagrams on the clock.
type demoSender struct {
	g              *trafficGen
	sflowTo, ipfix netip.AddrPort
	conns          map[senderKey]*net.UDPConn
	sendErrors     uint64
}

// senderKey names a socket: an exporter address and the listener it sends to.
type senderKey struct {
	from  netip.Addr
	ipfix bool
}

// open makes one UDP socket per exporter address.
func (s *demoSender) open() error {
	s.conns = map[senderKey]*net.UDPConn{}
	add := func(k senderKey, to netip.AddrPort) error {
		if _, ok := s.conns[k]; ok {
			return fmt.Errorf("exporter %s: configured twice", k.from)
		}
		c, err := dialFrom(k.from, to.String())
		if err != nil {
			return fmt.Errorf("exporter %s: %w", k.from, err)
		}
		s.conns[k] = c
		return nil
	}
	if s.g.sw != nil {
		if err := add(senderKey{from: s.g.sw.agent}, s.sflowTo); err != nil {
			return err
		}
	}
	for _, e := range s.g.edges {
		if err := add(senderKey{from: e.exporter, ipfix: true}, s.ipfix); err != nil {
			s.close()
			return err
		}
	}
	return nil
}

func (s *demoSender) close() {
	for _, c := range s.conns {
		_ = c.Close() // UDP: nothing buffered to lose
	}
}

// run sends tick after tick until ctx ends or, when ticks > 0, that many
// ticks are sent. Ticks that fell behind the clock are sent at once.
func (s *demoSender) run(ctx context.Context, ticks int) {
	tick := s.g.o.tick
	start := time.Now()
	for ctx.Err() == nil && (ticks == 0 || s.g.k < ticks) {
		due := int(time.Since(start)/tick) + 1
		for s.g.k < due && (ticks == 0 || s.g.k < ticks) {
			at := start.Add(time.Duration(s.g.k) * tick)
			for _, d := range s.g.next(at) {
				if _, err := s.conns[senderKey{d.from, d.ipfix}].Write(d.b); err != nil {
					s.sendErrors++ // the collector is not listening yet, or restarting
				}
			}
		}
		sleepCtx(ctx, time.Until(start.Add(time.Duration(s.g.k)*tick)))
	}
}
