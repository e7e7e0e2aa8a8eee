package main

import (
	"bufio"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strconv"

	"github.com/ixpd/ixpd/routeserver"
)

// Filter set-ups of rs-bench (-filters).
const (
	// filtersPlain is the original set-up: the route servers' default
	// import checks and no RPKI, IRR or PeeringDB data.
	filtersPlain = "plain"
	// filtersAll turns every filter on, with RPKI, IRR and PeeringDB data
	// for every member, and times a VRP change and an IRR change after
	// convergence.
	filtersAll = "all"
)

// The data of -filters all. Every member has an AS-SET AS-M<i+1> that
// holds its K /24s (one exact route object each) and the ASNs
// 210000+i and 220000+i. Every member /24 has a ROA for 220000+i
// (RPKI-valid), except the ones the IRR change removes: those have none
// (RPKI-unknown), because with rpki_as_route_objects a ROA stands in for a
// missing route object and the IRR change would change nothing. The rest
// of the VRPs are synthetic, outside the members' space.
const (
	// wrongOriginASN is the origin the VRP change gives the ROAs of the
	// changed /24s, which makes them RPKI-invalid.
	wrongOriginASN = 399999
	// blackholeNextHop4 is the blackhole next hop on the peering LAN, an
	// address no member has.
	blackholeNextHop4 = "127.0.0.2"
	blackholeNextHop6 = "2001:db8::666"
)

// neverViaRSASNs are the networks the generated PeeringDB file flags
// "never via route servers" (none of them is in a member's path).
var neverViaRSASNs = []uint32{3333, 10745, 15169, 16509, 32934}

// benchBlocklist is the global blocklist given to both route servers
// (outside the members' space).
var benchBlocklist = []string{"1.1.1.0/24", "8.8.8.0/24 le 32", "2001:4860::/32 le 48"}

// synthetic VRP space: IPv4 /24s from 1.0.0.0 up to 15.255.255.0 without
// 10.0.0.0/8, IPv6 /48s in 2a00::/16.
const (
	synthV4Max = 14 << 16
	synthV6Max = 1 << 32
)

// filterPlan is what -filters all generates for one invocation: the same
// for every run and both targets.
type filterPlan struct {
	n, k int
	vrps int
	seed uint64
	// vrpChange and irrChange are the generator indexes (sorted) that the
	// two events take away, spread evenly over the members.
	vrpChange, irrChange []int
	inIRRChange          bitset
	inVRPChange          bitset
}

// filterState says which events have happened.
type filterState struct {
	vrpChanged, irrChanged bool
}

// newFilterPlan checks the sizes and picks the changed prefixes: change
// prefixes per event, the same number from each member (as far as it
// divides), the VRP change from the start of each member's block and the
// IRR change from its end.
func newFilterPlan(n, k, vrps, change int, seed uint64) (*filterPlan, error) {
	if change < 1 {
		return nil, fmt.Errorf("-change %d: need at least 1", change)
	}
	perMember := (change + n - 1) / n
	if 2*perMember > k {
		return nil, fmt.Errorf("-change %d: %d /24s per member for each of two events, more than the %d each member has", change, perMember, k)
	}
	p := &filterPlan{n: n, k: k, vrps: vrps, seed: seed, inIRRChange: newBitset(n * k), inVRPChange: newBitset(n * k)}
	for j := range change {
		m, r := j%n, j/n
		p.vrpChange = append(p.vrpChange, m*k+r)
		p.irrChange = append(p.irrChange, m*k+k-1-r)
	}
	slices.Sort(p.vrpChange)
	slices.Sort(p.irrChange)
	for _, g := range p.vrpChange {
		p.inVRPChange.set(g)
	}
	for _, g := range p.irrChange {
		p.inIRRChange.set(g)
	}
	if s := p.synthetic(); s < 0 {
		return nil, fmt.Errorf("-vrps %d: fewer than the %d member ROAs", vrps, p.memberROAs())
	} else if s/5*4+s%5 > synthV4Max {
		return nil, fmt.Errorf("-vrps %d: more synthetic VRPs than the bench has room for", vrps)
	}
	return p, nil
}

func (p *filterPlan) memberROAs() int { return p.n*p.k - len(p.irrChange) }
func (p *filterPlan) synthetic() int  { return p.vrps - p.memberROAs() }

// asSet is member i's AS-SET.
func asSet(i int) string { return "AS-M" + strconv.Itoa(i+1) }

// vrp is one validated ROA payload.
type vrp struct {
	prefix netip.Prefix
	maxLen int
	asn    uint32
}

// eachVRP calls f for every VRP in state st: the members' first, then the
// synthetic ones, always in the same order.
func (p *filterPlan) eachVRP(st filterState, f func(vrp)) {
	for g := range p.n * p.k {
		if p.inIRRChange.has(g) {
			continue
		}
		asn := originASN(g / p.k)
		if st.vrpChanged && p.inVRPChange.has(g) {
			asn = wrongOriginASN
		}
		f(vrp{prefix: prefixOf(g), maxLen: 24, asn: asn})
	}
	rng := rand.New(rand.NewPCG(p.seed, 0x1bd11bdaa9fc1a22))
	v4, v6 := 0, 0
	for i := range p.synthetic() {
		// Public 16-bit ASNs, away from the members' and bogon ranges.
		asn := 1 + rng.Uint32N(63999)
		if i%5 == 4 {
			var a [16]byte
			a[0], a[1] = 0x2a, 0x00
			binary.BigEndian.PutUint32(a[2:], uint32(v6))
			v6++
			// /48s, some with a maxLength that allows more-specifics.
			maxLen := 48
			if rng.IntN(4) == 0 {
				maxLen = 48 + rng.IntN(17)
			}
			f(vrp{prefix: netip.PrefixFrom(netip.AddrFrom16(a), 48), maxLen: maxLen, asn: asn})
			continue
		}
		q := uint32(v4)
		v4++
		base := binary.BigEndian.Uint32([]byte{1, 0, 0, 0}) + q<<8
		if base>>24 >= 10 {
			base += 1 << 24 // skip 10.0.0.0/8
		}
		var a [4]byte
		binary.BigEndian.PutUint32(a[:], base)
		maxLen := 24
		if rng.IntN(8) == 0 {
			maxLen = 24 + rng.IntN(9)
		}
		f(vrp{prefix: netip.PrefixFrom(netip.AddrFrom4(a), 24), maxLen: maxLen, asn: asn})
	}
}

// irrPrefixes returns member i's route objects in state st.
func (p *filterPlan) irrPrefixes(i int, st filterState) []netip.Prefix {
	out := make([]netip.Prefix, 0, p.k)
	for g := i * p.k; g < (i+1)*p.k; g++ {
		if st.irrChanged && p.inIRRChange.has(g) {
			continue
		}
		out = append(out, prefixOf(g))
	}
	return out
}

// irrASNs returns the ASNs of member i's AS-SET.
func irrASNs(i int) []uint32 { return []uint32{memberASN(i), originASN(i)} }

// writeFile writes a file through a buffer with write.
func writeFile(path string, write func(w *bufio.Writer) error) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	w := bufio.NewWriterSize(f, 1<<20)
	err = write(w)
	if err == nil {
		err = w.Flush()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}

// writeVRPJSON writes the VRPs in rpki-client's JSON format.
func (p *filterPlan) writeVRPJSON(w io.Writer, st filterState) error {
	bw := bufio.NewWriter(w)
	_, _ = bw.WriteString("{\"metadata\":{\"generated\":\"ixpsim rs-bench\"},\"roas\":[\n")
	first := true
	var buf []byte
	p.eachVRP(st, func(v vrp) {
		buf = buf[:0]
		if !first {
			buf = append(buf, ",\n"...)
		}
		first = false
		buf = append(buf, `{"asn":"AS`...)
		buf = strconv.AppendUint(buf, uint64(v.asn), 10)
		buf = append(buf, `","prefix":"`...)
		buf = v.prefix.AppendTo(buf)
		buf = append(buf, `","maxLength":`...)
		buf = strconv.AppendInt(buf, int64(v.maxLen), 10)
		buf = append(buf, `,"ta":"bench"}`...)
		_, _ = bw.Write(buf)
	})
	_, _ = bw.WriteString("\n]}\n")
	return bw.Flush() // a bufio.Writer keeps its first error
}

// bgpq4Prefix is an entry of a bgpq4 -j prefix list.
type bgpq4Prefix struct {
	Prefix string `json:"prefix"`
	Exact  bool   `json:"exact"`
}

// writeIRRPrefixJSON writes member i's prefix list as bgpq4 -4 -j -l AS-M<i+1> does.
func (p *filterPlan) writeIRRPrefixJSON(w io.Writer, i int, st filterState) error {
	ps := p.irrPrefixes(i, st)
	list := make([]bgpq4Prefix, len(ps))
	for j, pfx := range ps {
		list[j] = bgpq4Prefix{Prefix: pfx.String(), Exact: true}
	}
	return writeJSONLine(w, map[string]any{asSet(i): list})
}

// writeIRRASNJSON writes member i's AS list as bgpq4 -j -t -l AS-M<i+1> does.
func writeIRRASNJSON(w io.Writer, i int) error {
	return writeJSONLine(w, map[string]any{asSet(i): irrASNs(i)})
}

func writeJSONLine(w io.Writer, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	_, err = w.Write(append(b, '\n'))
	return err
}

// writePeeringDB writes a PeeringDB net API response with the members'
// networks and the never-via-route-servers ones.
func (p *filterPlan) writePeeringDB(w io.Writer) error {
	type net struct {
		ASN   uint32 `json:"asn"`
		Name  string `json:"name"`
		Never bool   `json:"info_never_via_route_servers"`
	}
	var data []net
	for _, a := range neverViaRSASNs {
		data = append(data, net{ASN: a, Name: "AS" + strconv.FormatUint(uint64(a), 10), Never: true})
	}
	for i := range p.n {
		data = append(data, net{ASN: memberASN(i), Name: fmt.Sprintf("Bench member %d", i+1)})
	}
	return writeJSONLine(w, map[string]any{"data": data, "meta": map[string]any{}})
}

// Paths of the generated data in a run directory.
const (
	vrpFile       = "vrps.json"
	irrDir        = "irr"
	peeringDBFile = "peeringdb-net.json"
)

func irrPrefixFile(dir string, i int) string {
	return filepath.Join(dir, irrDir, asSet(i)+".prefixes.json")
}

func irrASNFile(dir string, i int) string {
	return filepath.Join(dir, irrDir, asSet(i)+".asns.json")
}

// writeIXPDData writes the VRP, IRR and PeeringDB files ixpd reads, for
// state st: all of them when c is 0, else only the files change c
// touches.
func (p *filterPlan) writeIXPDData(dir string, st filterState, c change) error {
	if c == 0 || c == changeVRP {
		// Write beside and rename, so that ixpd's mtime watch never reads
		// half a file.
		tmp := filepath.Join(dir, vrpFile+".tmp")
		if err := writeFile(tmp, func(w *bufio.Writer) error { return p.writeVRPJSON(w, st) }); err != nil {
			return err
		}
		if err := os.Rename(tmp, filepath.Join(dir, vrpFile)); err != nil {
			return err
		}
	}
	if c == changeVRP {
		return nil
	}
	if err := os.MkdirAll(filepath.Join(dir, irrDir), 0o755); err != nil {
		return err
	}
	for i := range p.n {
		if c == changeIRR && !p.memberChangesIRR(i) {
			continue
		}
		if err := writeFile(irrPrefixFile(dir, i), func(w *bufio.Writer) error { return p.writeIRRPrefixJSON(w, i, st) }); err != nil {
			return err
		}
		if c == changeIRR {
			continue
		}
		if err := writeFile(irrASNFile(dir, i), func(w *bufio.Writer) error { return writeIRRASNJSON(w, i) }); err != nil {
			return err
		}
	}
	if c == changeIRR {
		return nil
	}
	return writeFile(filepath.Join(dir, peeringDBFile), func(w *bufio.Writer) error { return p.writePeeringDB(w) })
}

// memberChangesIRR reports whether the IRR change touches member i.
func (p *filterPlan) memberChangesIRR(i int) bool {
	for g := i * p.k; g < (i+1)*p.k; g++ {
		if p.inIRRChange.has(g) {
			return true
		}
	}
	return false
}

// transitFreeASNs are the ASNs both route servers treat as transit-free:
// ixpd's default list.
func transitFreeASNs() []uint32 { return slices.Clone(routeserver.DefaultTransitFreeASNs) }

// memberBlackhole tells whether member i asks to receive blackhole routes:
// every other member does.
func memberBlackhole(i int) bool { return i%2 == 0 }
