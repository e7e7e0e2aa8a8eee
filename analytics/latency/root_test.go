package latency

import (
	"net/netip"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestMemberTargets(t *testing.T) {
	members := []Member{
		{ASN: 64500, Address: netip.MustParseAddr("192.0.2.10")},
		{ASN: 64500, Address: netip.MustParseAddr("2001:db8::10")},
		{ASN: 64501, Address: netip.MustParseAddr("::ffff:192.0.2.11")},
		{ASN: 64500, Address: netip.MustParseAddr("192.0.2.10")}, // listed twice
	}
	for _, tc := range []struct {
		name    string
		cfg     func(*Configuration)
		want    []Target
		wantErr string
	}{
		{
			name: "off by default",
			cfg:  func(*Configuration) {},
			want: []Target{},
		},
		{
			name: "icmp",
			cfg:  func(c *Configuration) { c.Members = true },
			want: []Target{
				{Name: "as64500-192.0.2.10", Address: "192.0.2.10", Method: MethodICMP, Path: PathIXP, MemberASN: 64500, IntervalMs: 1000},
				{Name: "as64500-2001:db8::10", Address: "2001:db8::10", Method: MethodICMP, Path: PathIXP, MemberASN: 64500, IntervalMs: 1000},
				{Name: "as64501-192.0.2.11", Address: "192.0.2.11", Method: MethodICMP, Path: PathIXP, MemberASN: 64501, IntervalMs: 1000},
			},
		},
		{
			name: "twamp and a configured target",
			cfg: func(c *Configuration) {
				c.Members, c.MemberMethod, c.MemberPort = true, MethodTWAMP, 862
				c.Targets = []TargetConfiguration{{Name: "x", Address: "198.51.100.1", Method: MethodICMP, Interval: 5 * time.Second}}
			},
			want: []Target{
				{Name: "as64500-192.0.2.10", Address: "192.0.2.10:862", Method: MethodTWAMP, Path: PathIXP, MemberASN: 64500, IntervalMs: 1000},
				{Name: "as64500-2001:db8::10", Address: "[2001:db8::10]:862", Method: MethodTWAMP, Path: PathIXP, MemberASN: 64500, IntervalMs: 1000},
				{Name: "as64501-192.0.2.11", Address: "192.0.2.11:862", Method: MethodTWAMP, Path: PathIXP, MemberASN: 64501, IntervalMs: 1000},
				{Name: "x", Address: "198.51.100.1", Method: MethodICMP, IntervalMs: 5000},
			},
		},
		{
			name: "configured name taken by a member",
			cfg: func(c *Configuration) {
				c.Members = true
				c.Targets = []TargetConfiguration{{Name: "as64501-192.0.2.11", Address: "198.51.100.1", Method: MethodICMP}}
			},
			wantErr: `latency.targets[0].name: "as64501-192.0.2.11" is also the target of member AS64501`,
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := DefaultConfiguration()
			tc.cfg(&cfg)
			p, err := New(discardLogger(), newRegistry(), cfg, Dependencies{Members: members})
			if tc.wantErr != "" {
				if err == nil || err.Error() != tc.wantErr {
					t.Fatalf("error %v, want %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(p.Targets(), tc.want); diff != "" {
				t.Errorf("targets (-got +want):\n%s", diff)
			}
		})
	}
}
