package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// ixpdTarget runs "ixpd run" as the route server.
type ixpdTarget struct {
	bin string
	// cpuProfile, if set, is passed to "ixpd run -cpuprofile"; each run
	// overwrites it.
	cpuProfile string
}

func (t *ixpdTarget) name() string { return "ixpd" }

// ixpdConfigTemplate is the ixpd configuration file; every key not set
// here keeps its default.
const ixpdConfigTemplate = `# ixpd for ixpsim rs-bench
ixp:
  name: BENCH
  country: WS
  peering_lan: [%s]
members_file: members.json
routeserver:
  asn: %d
  router_id: %s
  listen: %s
  passive: true
api:
  listen: %s
`

func ixpdConfig(rsAddr netip.AddrPort, routerID netip.Addr, api netip.AddrPort) []byte {
	return fmt.Appendf(nil, ixpdConfigTemplate, peeringLAN, rsASN, routerID, rsAddr, api)
}

// ixpdFiltersConfigTemplate is the ixpd configuration with every filter
// on (-filters all), reading the data files in dir.
const ixpdFiltersConfigTemplate = `# ixpd for ixpsim rs-bench -filters all
ixp:
  name: BENCH
  country: WS
  peering_lan: [%[1]s]
members_file: members.json
routeserver:
  asn: %[2]d
  router_id: %[3]s
  listen: %[4]s
  passive: true
  rpki:
    vrp_file: %[6]s/` + vrpFile + `
    reject_invalid: true
  irr:
    mode: reject
    prefix_lists: [%[6]s/` + irrDir + `/*.prefixes.json]
    as_sets: [%[6]s/` + irrDir + `/*.asns.json]
    rpki_as_route_objects: true
  peeringdb_file: %[6]s/` + peeringDBFile + `
  filters:
    bogons: true
    next_hop: true
    first_as: true
    bogon_asns: true
    max_as_path_length: 32
    transit_free: true
    transit_free_asns: [%[7]s]
    never_via_route_servers: true
    blocklist: [%[8]s]
  control_communities: true
  blackhole:
    enabled: true
    next_hop_ipv4: ` + blackholeNextHop4 + `
    next_hop_ipv6: ` + blackholeNextHop6 + `
api:
  listen: %[5]s
`

// ixpdFiltersConfig is the -filters all configuration for data in dir.
func ixpdFiltersConfig(rsAddr netip.AddrPort, routerID netip.Addr, api netip.AddrPort, dir string) []byte {
	tf := make([]string, 0, len(transitFreeASNs()))
	for _, a := range transitFreeASNs() {
		tf = append(tf, strconv.FormatUint(uint64(a), 10))
	}
	bl := make([]string, len(benchBlocklist))
	for i, b := range benchBlocklist {
		bl[i] = strconv.Quote(b)
	}
	return fmt.Appendf(nil, ixpdFiltersConfigTemplate, peeringLAN, rsASN, routerID, rsAddr, api, dir,
		strings.Join(tf, ", "), strings.Join(bl, ", "))
}

// IX-F Member Export 1.0, the parts the bench writes.
type (
	ixfExport struct {
		Version    string      `json:"version"`
		Timestamp  string      `json:"timestamp"`
		IXPList    []ixfIXP    `json:"ixp_list"`
		MemberList []ixfMember `json:"member_list"`
	}
	ixfIXP struct {
		IXPID     int       `json:"ixp_id"`
		IXFID     int       `json:"ixf_id"`
		Shortname string    `json:"shortname"`
		Name      string    `json:"name"`
		Country   string    `json:"country"`
		VLAN      []ixfVLAN `json:"vlan"`
	}
	ixfVLAN struct {
		ID   int         `json:"id"`
		Name string      `json:"name"`
		IPv4 *ixfVLANNet `json:"ipv4,omitempty"`
	}
	ixfVLANNet struct {
		Prefix     string `json:"prefix"`
		MaskLength int    `json:"mask_length"`
	}
	ixfMember struct {
		ASNum          uint32          `json:"asnum"`
		MemberType     string          `json:"member_type"`
		Name           string          `json:"name"`
		ConnectionList []ixfConnection `json:"connection_list"`
		// IXPD is ixpd's extension (routeserver/members/rspolicy.go).
		IXPD *ixfIXPDExt `json:"ixpd,omitempty"`
	}
	ixfIXPDExt struct {
		RouteServer ixfRSPolicy `json:"routeserver"`
	}
	ixfRSPolicy struct {
		Blackhole bool `json:"blackhole"`
	}
	ixfConnection struct {
		IXPID    int          `json:"ixp_id"`
		State    string       `json:"state"`
		VLANList []ixfVLANUse `json:"vlan_list"`
	}
	ixfVLANUse struct {
		VLANID int         `json:"vlan_id"`
		IPv4   *ixfAddress `json:"ipv4,omitempty"`
	}
	ixfAddress struct {
		Address     string `json:"address"`
		RouteServer bool   `json:"routeserver"`
		MaxPrefix   int    `json:"max_prefix"`
		ASMacro     string `json:"as_macro,omitempty"`
	}
)

// ixfMembers returns the members file for n members with the given
// max-prefix limit.
func ixfMembers(n, maxPrefix int, now time.Time) ([]byte, error) {
	return ixfMembersWith(n, maxPrefix, now, false)
}

// ixfMembersWith returns the members file; with filters, each member's
// address names its AS-SET (as_macro) and every other member asks for
// blackhole routes.
func ixfMembersWith(n, maxPrefix int, now time.Time, filters bool) ([]byte, error) {
	exp := ixfExport{
		Version:   "1.0",
		Timestamp: now.UTC().Format(time.RFC3339),
		IXPList: []ixfIXP{{
			IXPID: 1, IXFID: 1, Shortname: "BENCH", Name: "ixpsim rs-bench exchange", Country: "WS",
			VLAN: []ixfVLAN{{ID: 1, Name: "Peering LAN", IPv4: &ixfVLANNet{
				Prefix: peeringLAN.Addr().String(), MaskLength: peeringLAN.Bits(),
			}}},
		}},
	}
	for i := range n {
		m := ixfMember{
			ASNum:      memberASN(i),
			MemberType: "peering",
			Name:       fmt.Sprintf("Bench member %d", i+1),
			ConnectionList: []ixfConnection{{
				IXPID: 1,
				State: "active",
				VLANList: []ixfVLANUse{{VLANID: 1, IPv4: &ixfAddress{
					Address: memberAddr(i).String(), RouteServer: true, MaxPrefix: maxPrefix,
				}}},
			}},
		}
		if filters {
			m.ConnectionList[0].VLANList[0].IPv4.ASMacro = asSet(i)
			m.IXPD = &ixfIXPDExt{RouteServer: ixfRSPolicy{Blackhole: memberBlackhole(i)}}
		}
		exp.MemberList = append(exp.MemberList, m)
	}
	return json.MarshalIndent(exp, "", "  ")
}

// errNoBinary marks a target whose program is missing.
var errNoBinary = errors.New("program not found")

func (t *ixpdTarget) start(ctx context.Context, env *runEnv) (*rsProcess, error) {
	if _, err := os.Stat(t.bin); errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("%s: %w (build it with: go build -o bin/ixpd ./cmd/ixpd)", t.bin, errNoBinary)
	}
	bin, err := filepath.Abs(t.bin)
	if err != nil {
		return nil, err
	}
	apiPort, err := freePort()
	if err != nil {
		return nil, err
	}
	rs, api := netip.AddrPortFrom(env.rsAddr, env.port), netip.AddrPortFrom(env.rsAddr, apiPort)
	conf := ixpdConfig(rs, env.rsAddr, api)
	if env.plan != nil {
		conf = ixpdFiltersConfig(rs, env.rsAddr, api, env.dir)
		if err := env.plan.writeIXPDData(env.dir, filterState{}, 0); err != nil {
			return nil, err
		}
	}
	confPath := filepath.Join(env.dir, "ixpd.yaml")
	if err := os.WriteFile(confPath, conf, 0o644); err != nil {
		return nil, err
	}
	members, err := ixfMembersWith(len(env.members), env.maxPrefix, time.Now(), env.plan != nil)
	if err != nil {
		return nil, err
	}
	if err := os.WriteFile(filepath.Join(env.dir, "members.json"), members, 0o644); err != nil {
		return nil, err
	}
	args := []string{"run", "-config", confPath}
	if t.cpuProfile != "" {
		prof, err := filepath.Abs(t.cpuProfile)
		if err != nil {
			return nil, err
		}
		args = []string{"run", "-cpuprofile", prof, "-config", confPath}
	}
	p, err := startProcess(bin, args, env.dir, filepath.Join(env.dir, "ixpd.out"))
	if err != nil || env.plan == nil {
		return p, err
	}
	// The members dial once ixpd has its VRPs: the first revalidation
	// follows the VRP file's End of Data. BIRD reads its ROAs with its
	// configuration before it listens.
	url := "http://" + api.String() + "/metrics"
	err = p.waitReady(ctx, 5*time.Minute, 100*time.Millisecond, func() error {
		m, err := scrapeMetrics(ctx, url)
		if err != nil {
			return err
		}
		if m.sum("ixpd_routeserver_rpki_revalidations_total") < 1 {
			return errors.New("VRPs not loaded yet")
		}
		return nil
	})
	if err != nil {
		p.stop()
		return nil, fmt.Errorf("ixpd with every filter on: %w", err)
	}
	return p, nil
}

// writeData rewrites the files that change c touches.
func (t *ixpdTarget) writeData(env *runEnv, st filterState, c change) error {
	return env.plan.writeIXPDData(env.dir, st, c)
}

// reload sends SIGHUP: ixpd reads the members file and every data file
// again and refilters what changed.
func (t *ixpdTarget) reload(_ context.Context, _ *runEnv, p *rsProcess, _ change) error {
	return p.cmd.Process.Signal(syscall.SIGHUP)
}
