package main

import (
	"bytes"
	"encoding/json"
	"net/netip"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"go.yaml.in/yaml/v3"
)

const ixfSchema = "../../../shared/data/ixf/euro-ix-json-schemas/ixp-member-list.schema.json"

func TestIXFMembersValidates(t *testing.T) {
	b, err := ixfMembers(300, 2000, time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(ixfSchema); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("CI=true and the IX-F schema in ../shared is missing: %v", err)
		}
		t.Skipf("IX-F schema not available: %v", err)
	}
	c := jsonschema.NewCompiler()
	sch, err := c.Compile(ixfSchema)
	if err != nil {
		t.Fatal(err)
	}
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	if err := sch.Validate(doc); err != nil {
		t.Errorf("members file does not validate: %v", err)
	}

	var exp ixfExport
	if err := json.Unmarshal(b, &exp); err != nil {
		t.Fatal(err)
	}
	if len(exp.MemberList) != 300 {
		t.Fatalf("%d members, want 300", len(exp.MemberList))
	}
	m := exp.MemberList[299]
	v := m.ConnectionList[0].VLANList[0]
	if m.ASNum != 210299 || v.IPv4.Address != "127.0.1.53" || !v.IPv4.RouteServer || v.IPv4.MaxPrefix != 2000 || v.VLANID != exp.IXPList[0].VLAN[0].ID {
		t.Errorf("member 300: %+v %+v", m, v.IPv4)
	}
}

func TestIXPDConfig(t *testing.T) {
	conf := ixpdConfig(netip.MustParseAddrPort("127.0.0.1:10179"), rsAddr, netip.MustParseAddrPort("127.0.0.1:18080"))
	var got struct {
		IXP struct {
			Name       string   `yaml:"name"`
			Country    string   `yaml:"country"`
			PeeringLAN []string `yaml:"peering_lan"`
		} `yaml:"ixp"`
		MembersFile string `yaml:"members_file"`
		RouteServer struct {
			ASN      uint32 `yaml:"asn"`
			RouterID string `yaml:"router_id"`
			Listen   string `yaml:"listen"`
			Passive  bool   `yaml:"passive"`
		} `yaml:"routeserver"`
		API struct {
			Listen string `yaml:"listen"`
		} `yaml:"api"`
	}
	dec := yaml.NewDecoder(strings.NewReader(string(conf)))
	dec.KnownFields(true)
	if err := dec.Decode(&got); err != nil {
		t.Fatalf("%v\n%s", err, conf)
	}
	rs := got.RouteServer
	if got.MembersFile != "members.json" || got.IXP.PeeringLAN[0] != "127.0.0.0/8" || rs.ASN != rsASN ||
		rs.Listen != "127.0.0.1:10179" || rs.RouterID != "127.0.0.1" || !rs.Passive || got.API.Listen != "127.0.0.1:18080" {
		t.Errorf("config:\n%s\ndecodes to %+v", conf, got)
	}
}
