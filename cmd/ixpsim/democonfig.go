package main

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/ixpd/ixpd/routeserver/members"
)

// What ixpsim demo reads from ixpd's configuration file: the parts of the
// exchange it plays (members, route server, flow listeners and exporters,
// latency targets, RIR files) and the API it watches. Keys it does not
// need are ignored; `ixpd check` validates the whole file.

// demoFileConfig is the subset of ixpd's configuration file the demo reads,
// with ixpd's key names.
type demoFileConfig struct {
	IXP struct {
		Name       string   `yaml:"name"`
		NameLong   string   `yaml:"name_long"`
		Country    string   `yaml:"country"`
		PeeringLAN []string `yaml:"peering_lan"`
	} `yaml:"ixp"`
	MembersFile string `yaml:"members_file"`
	RouteServer struct {
		ASN      uint32     `yaml:"asn"`
		Listen   stringList `yaml:"listen"`
		PeerPort uint16     `yaml:"peer_port"`
		Passive  bool       `yaml:"passive"`
	} `yaml:"routeserver"`
	Flow struct {
		SFlowListen   string `yaml:"sflow_listen"`
		NetFlowListen string `yaml:"netflow_listen"`
		Exporters     []struct {
			Address      string            `yaml:"address"`
			Role         string            `yaml:"role"`
			SamplingRate uint32            `yaml:"sampling_rate"`
			MemberASN    uint32            `yaml:"member_asn"`
			Interfaces   map[uint32]string `yaml:"interfaces"`
		} `yaml:"exporters"`
	} `yaml:"flow"`
	Domestic struct {
		DelegatedFiles []string `yaml:"delegated_files"`
	} `yaml:"domestic"`
	Latency struct {
		Targets []struct {
			Name    string `yaml:"name"`
			Address string `yaml:"address"`
			Method  string `yaml:"method"`
			Group   string `yaml:"group"`
			Path    string `yaml:"path"`
		} `yaml:"targets"`
	} `yaml:"latency"`
	API struct {
		Listen             string `yaml:"listen"`
		PublicLookingGlass bool   `yaml:"public_looking_glass"`
		BirdwatcherListen  string `yaml:"birdwatcher_listen"`
		Tokens             []struct {
			Name   string `yaml:"name"`
			SHA256 string `yaml:"sha256"`
		} `yaml:"tokens"`
	} `yaml:"api"`
}

// stringList is a YAML string or list of strings (routeserver.listen).
type stringList []string

// UnmarshalYAML accepts a scalar or a sequence.
func (s *stringList) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind == yaml.ScalarNode {
		*s = stringList{n.Value}
		return nil
	}
	var l []string
	if err := n.Decode(&l); err != nil {
		return err
	}
	*s = l
	return nil
}

// The ixpd defaults the demo needs when the file leaves a key out.
const (
	defaultPeerPort    = 179
	defaultAPIListen   = "127.0.0.1:8080"
	defaultSwitchRate  = 2048
	defaultEdgeRate    = 1000
	defaultRSListen    = "0.0.0.0:179"
	defaultMembersFile = "members.json"
)

// demoExchange is the exchange the demo plays, resolved from the
// configuration and the files it names.
type demoExchange struct {
	configPath string
	name       string // ixp.name (ixp.name_long in brackets when set)
	country    string
	rsASN      uint32
	rsListen   []netip.AddrPort
	peerPort   uint16
	passive    bool
	members    []demoMember // every member but the route server, in file order
	sflowTo    netip.AddrPort
	netflowTo  netip.AddrPort
	switches   []demoExporter // role ixp_switch
	edges      []demoExporter // role member_edge
	targets    []demoTarget
	rir        rirBlocks
	api        netip.AddrPort // where to reach the API (unspecified listen → loopback)
	publicLG   bool
	bwListen   string
	tokenNames map[string]string // sha256 → token name
}

// demoMember is one member of the members file.
type demoMember struct {
	asn      uint32
	name     string
	macs     []net.HardwareAddr
	sessions []members.Address // addresses with a route-server session
}

// demoExporter is one flow.exporters entry.
type demoExporter struct {
	addr       netip.Addr
	rate       uint32 // configured sampling_rate, 0 when not set
	memberASN  uint32
	interfaces map[uint32]string // ifIndex → ixp, transit or customer
}

// demoTarget is one latency target the demo can answer: a TWAMP target.
type demoTarget struct {
	name, group, path string
	addr              netip.AddrPort
}

// loadDemoExchange reads ixpd's configuration at path and the members and
// RIR files it names.
func loadDemoExchange(path string) (*demoExchange, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read ixpd config: %w", err)
	}
	var fc demoFileConfig
	if err := yaml.Unmarshal(data, &fc); err != nil {
		return nil, fmt.Errorf("ixpd config %s: %w", path, err)
	}
	dir := filepath.Dir(path)
	resolve := func(p string) string {
		if filepath.IsAbs(p) {
			return p
		}
		return filepath.Join(dir, p)
	}
	x := &demoExchange{configPath: path, name: fc.IXP.Name, country: fc.IXP.Country, rsASN: fc.RouteServer.ASN,
		peerPort: fc.RouteServer.PeerPort, passive: fc.RouteServer.Passive, publicLG: fc.API.PublicLookingGlass,
		bwListen: fc.API.BirdwatcherListen, tokenNames: map[string]string{}}
	if fc.IXP.NameLong != "" {
		x.name += " (" + fc.IXP.NameLong + ")"
	}
	if x.rsASN == 0 {
		return nil, fmt.Errorf("ixpd config %s: routeserver.asn missing", path)
	}
	if x.peerPort == 0 {
		x.peerPort = defaultPeerPort
	}
	listen := fc.RouteServer.Listen
	if len(listen) == 0 {
		listen = stringList{defaultRSListen}
	}
	var errs []error
	for _, l := range listen {
		ap, err := netip.ParseAddrPort(l)
		if err != nil {
			errs = append(errs, fmt.Errorf("routeserver.listen: %w", err))
			continue
		}
		x.rsListen = append(x.rsListen, ap)
	}
	parseListen := func(key, s string) netip.AddrPort {
		if s == "" {
			return netip.AddrPort{}
		}
		ap, err := netip.ParseAddrPort(s)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", key, err))
		}
		return loopbackFor(ap)
	}
	x.sflowTo = parseListen("flow.sflow_listen", fc.Flow.SFlowListen)
	x.netflowTo = parseListen("flow.netflow_listen", fc.Flow.NetFlowListen)
	apiListen := fc.API.Listen
	if apiListen == "" {
		apiListen = defaultAPIListen
	}
	x.api = parseListen("api.listen", apiListen)
	for i, e := range fc.Flow.Exporters {
		a, err := netip.ParseAddr(e.Address)
		if err != nil {
			errs = append(errs, fmt.Errorf("flow.exporters[%d].address: %w", i, err))
			continue
		}
		ex := demoExporter{addr: a.Unmap(), rate: e.SamplingRate, memberASN: e.MemberASN, interfaces: e.Interfaces}
		switch e.Role {
		case "ixp_switch":
			x.switches = append(x.switches, ex)
		case "member_edge":
			x.edges = append(x.edges, ex)
		}
	}
	for i, t := range fc.Latency.Targets {
		if t.Method != "twamp" {
			continue // only TWAMP targets can be played by a reflector
		}
		ap, err := netip.ParseAddrPort(t.Address)
		if err != nil {
			errs = append(errs, fmt.Errorf("latency.targets[%d].address: %w", i, err))
			continue
		}
		x.targets = append(x.targets, demoTarget{name: t.Name, group: t.Group, path: t.Path, addr: ap})
	}
	for _, t := range fc.API.Tokens {
		x.tokenNames[strings.ToLower(t.SHA256)] = t.Name
	}
	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("ixpd config %s: %w", path, err)
	}

	var lans []netip.Prefix
	for _, s := range fc.IXP.PeeringLAN {
		if p, err := netip.ParsePrefix(s); err == nil {
			lans = append(lans, p)
		}
	}
	mf := fc.MembersFile
	if mf == "" {
		mf = defaultMembersFile
	}
	set, err := members.Load(resolve(mf), members.Options{PeeringLANs: lans})
	if err != nil {
		return nil, err
	}
	for _, m := range set.Members {
		if m.ASN == x.rsASN || m.Type == "ixp" {
			continue
		}
		dm := demoMember{asn: m.ASN, name: m.Name, macs: m.MACs}
		for _, a := range m.Addresses {
			if a.RouteServer {
				dm.sessions = append(dm.sessions, a)
			}
		}
		x.members = append(x.members, dm)
	}
	for _, f := range fc.Domestic.DelegatedFiles {
		if err := x.rir.load(resolve(f)); err != nil {
			return nil, err
		}
	}
	return x, nil
}

// loopbackFor turns a wildcard listen address into the loopback address
// of its family, which a local sender can reach.
func loopbackFor(ap netip.AddrPort) netip.AddrPort {
	switch {
	case !ap.IsValid() || !ap.Addr().IsUnspecified():
		return ap
	case ap.Addr().Is4():
		return netip.AddrPortFrom(netip.AddrFrom4([4]byte{127, 0, 0, 1}), ap.Port())
	default:
		return netip.AddrPortFrom(netip.IPv6Loopback(), ap.Port())
	}
}

// rsAddrFor returns the route-server address a member of the family of
// local dials, and false when the route server listens on no address of
// that family.
func (x *demoExchange) rsAddrFor(local netip.Addr) (netip.AddrPort, bool) {
	for _, l := range x.rsListen {
		a := l.Addr()
		if a.Is4() == local.Is4() {
			return loopbackFor(l), true
		}
		if a.IsUnspecified() && a.Is6() && local.Is6() {
			return loopbackFor(l), true
		}
	}
	return netip.AddrPort{}, false
}

// rirBlocks are the allocated and assigned address blocks of RIR
// delegated-stats files, by country.
type rirBlocks struct {
	v4, v6 map[string][]netip.Prefix
}

// load adds the ipv4 and ipv6 records of one delegated-stats file.
// Comments, the header, summaries and other records are skipped.
func (r *rirBlocks) load(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("RIR file: %w", err)
	}
	defer func() { _ = f.Close() }() // read only
	if err := r.read(f); err != nil {
		return fmt.Errorf("RIR file %s: %w", path, err)
	}
	return nil
}

func (r *rirBlocks) read(rd io.Reader) error {
	if r.v4 == nil {
		r.v4, r.v6 = map[string][]netip.Prefix{}, map[string][]netip.Prefix{}
	}
	sc := bufio.NewScanner(rd)
	for sc.Scan() {
		f := strings.Split(strings.TrimSpace(sc.Text()), "|")
		if len(f) < 7 || strings.HasPrefix(f[0], "#") || (f[6] != "allocated" && f[6] != "assigned") {
			continue
		}
		cc := f[1]
		switch f[2] {
		case "ipv4":
			a, err1 := netip.ParseAddr(f[3])
			n, err2 := strconv.ParseUint(f[4], 10, 32)
			if err1 != nil || err2 != nil || !a.Is4() || n == 0 {
				continue
			}
			b := a.As4()
			r.v4[cc] = append(r.v4[cc], rangePrefixes(binary.BigEndian.Uint32(b[:]), n)...)
		case "ipv6":
			a, err1 := netip.ParseAddr(f[3])
			bits, err2 := strconv.Atoi(f[4])
			if err1 != nil || err2 != nil || !a.Is6() {
				continue
			}
			if p, err := a.Prefix(bits); err == nil {
				r.v6[cc] = append(r.v6[cc], p)
			}
		}
	}
	return sc.Err()
}

// rangePrefixes splits count addresses from start into CIDR prefixes.
func rangePrefixes(start uint32, count uint64) []netip.Prefix {
	var out []netip.Prefix
	for cur, end := uint64(start), uint64(start)+count; cur < end && cur <= 0xffffffff; {
		size := uint64(1) << 32
		if cur != 0 {
			size = cur & -cur // the largest block aligned at cur
		}
		for size > end-cur {
			size >>= 1
		}
		bits := 32
		for s := size; s > 1; s >>= 1 {
			bits--
		}
		var a [4]byte
		binary.BigEndian.PutUint32(a[:], uint32(cur))
		out = append(out, netip.PrefixFrom(netip.AddrFrom4(a), bits))
		cur += size
	}
	return out
}

// countries returns the countries with blocks, sorted.
func (r *rirBlocks) countries() []string {
	var out []string
	for cc := range r.v4 {
		out = append(out, cc)
	}
	for cc := range r.v6 {
		if _, ok := r.v4[cc]; !ok {
			out = append(out, cc)
		}
	}
	slices.Sort(out)
	return out
}
