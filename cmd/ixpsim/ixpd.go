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
	"time"
)

// ixpdTarget runs "ixpd run" as the route server.
type ixpdTarget struct {
	bin string
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
	}
)

// ixfMembers returns the members file for n members with the given
// max-prefix limit.
func ixfMembers(n, maxPrefix int, now time.Time) ([]byte, error) {
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
		exp.MemberList = append(exp.MemberList, ixfMember{
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
		})
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
	conf := ixpdConfig(netip.AddrPortFrom(env.rsAddr, env.port), env.rsAddr, netip.AddrPortFrom(env.rsAddr, apiPort))
	confPath := filepath.Join(env.dir, "ixpd.yaml")
	if err := os.WriteFile(confPath, conf, 0o644); err != nil {
		return nil, err
	}
	members, err := ixfMembers(len(env.members), env.maxPrefix, time.Now())
	if err != nil {
		return nil, err
	}
	if err := os.WriteFile(filepath.Join(env.dir, "members.json"), members, 0o644); err != nil {
		return nil, err
	}
	return startProcess(bin, []string{"run", "-config", confPath}, env.dir, filepath.Join(env.dir, "ixpd.out"))
}
