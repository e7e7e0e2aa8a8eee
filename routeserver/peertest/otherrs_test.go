package peertest

import (
	"context"
	"net/netip"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// A member of two route servers: one BIRD session per route server and family.

func TestBIRDConfigOtherRS(t *testing.T) {
	m := Member{Name: "m1", ASN: 65001, RSASN: 65000, Port: 1179,
		Addr4: addr("127.0.0.2"), RSAddr4: addr("127.0.0.1"),
		Addr6: addr("fd00:ffff::2"), RSAddr6: addr("fd00:ffff::1"),
		OtherRS: []netip.Addr{addr("127.0.0.5"), addr("fd00:ffff::5")}}
	if err := m.validate(); err != nil {
		t.Fatal(err)
	}
	conf := string(birdConfig(m, []Route{{Prefix: pfx("10.0.0.0/24")}}))
	got := map[string]string{}
	for _, b := range regexp.MustCompile(`(?s)protocol bgp (\S+) \{.*?\n\tneighbor (\S+) port 1179 as 65000;.*?export filter (\S+);`).FindAllStringSubmatch(conf, -1) {
		got[b[1]] = b[2] + " " + b[3]
	}
	want := map[string]string{
		"ixp4":   "127.0.0.1 ixp4_out",
		"ixp4_2": "127.0.0.5 ixp4_out",
		"ixp6":   "fd00:ffff::1 ixp6_out",
		"ixp6_2": "fd00:ffff::5 ixp6_out",
	}
	if diff := cmp.Diff(got, want); diff != "" {
		t.Errorf("BGP protocols (-got +want):\n%s\n%s", diff, conf)
	}
	if n := strings.Count(conf, "strict bind;"); n != 4 {
		t.Errorf("%d sessions with strict bind, want 4", n)
	}
	if n := strings.Count(conf, "multihop;"); n != 4 {
		t.Errorf("%d multihop sessions, want 4", n)
	}
	if n := strings.Count(conf, "\nfilter ixp4_out {"); n != 1 {
		t.Errorf("filter ixp4_out defined %d times, want once", n)
	}

	b := newBIRD(m, t.TempDir())
	for rs, want := range map[string]string{"127.0.0.1": "ixp4", "127.0.0.5": "ixp4_2", "fd00:ffff::1": "ixp6", "fd00:ffff::5": "ixp6_2"} {
		if got, ok := b.birdProto(addr(rs)); !ok || got != want {
			t.Errorf("birdProto(%s) = %q %v, want %q", rs, got, ok, want)
		}
	}
	if _, ok := b.birdProto(addr("127.0.0.9")); ok {
		t.Error("birdProto of an unknown route server")
	}
}

func TestMemberValidateOtherRS(t *testing.T) {
	good := Member{Name: "m1", ASN: 65001, RSASN: 65000, Port: 1179, Addr4: addr("127.0.0.2"), RSAddr4: addr("127.0.0.1"),
		OtherRS: []netip.Addr{addr("127.0.0.5")}}
	if err := good.validate(); err != nil {
		t.Fatalf("validate() of a good member: %v", err)
	}
	for _, tc := range []struct {
		name    string
		other   []netip.Addr
		wantErr string
	}{
		{"invalid", []netip.Addr{{}}, "is not a plain IPv4 or IPv6 address"},
		{"no v6 session", []netip.Addr{addr("fd00:ffff::5")}, "member has no IPv6 session"},
		{"own address", []netip.Addr{addr("127.0.0.2")}, "the member's own address"},
		{"the first rs", []netip.Addr{addr("127.0.0.1")}, "listed twice"},
		{"twice", []netip.Addr{addr("127.0.0.5"), addr("127.0.0.5")}, "listed twice"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := good
			m.OtherRS = tc.other
			if err := m.validate(); err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("validate() error = %v, want one containing %q", err, tc.wantErr)
			}
		})
	}
	if _, err := StartOpenBGPD(context.Background(), t.TempDir(), good); err == nil || !strings.Contains(err.Error(), "BIRD members only") {
		t.Errorf("StartOpenBGPD with OtherRS: %v, want a refusal", err)
	}
}

func TestParseBIRDProtocolStates(t *testing.T) {
	out := `BIRD 2.0.12 ready.
Name       Proto      Table      State  Since                    Info
device1    Device     ---        up     2026-11-01 14:40:53.962  
ixp4       BGP        ---        up     2026-11-01 14:40:54.737  Established   
ixp4_2     BGP        ---        start  2026-11-01 14:41:00.001  Active        Socket: Connection refused
ixp6       BGP        ---        up     14:40:54.737  Established   
`
	got := parseBIRDProtocolStates(out)
	want := map[string]birdProtocol{
		"ixp4":   {up: true, since: time.Date(2026, 11, 1, 14, 40, 54, 737e6, time.Local)},
		"ixp4_2": {up: false, since: time.Date(2026, 11, 1, 14, 41, 0, 1e6, time.Local)},
		"ixp6":   {up: true},
	}
	if diff := cmp.Diff(got, want, cmp.AllowUnexported(birdProtocol{})); diff != "" {
		t.Errorf("parseBIRDProtocolStates() (-got +want):\n%s", diff)
	}
}
