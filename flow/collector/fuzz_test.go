package collector

import (
	"net/netip"
	"path/filepath"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/ixpd/ixpd/flow"
	"github.com/ixpd/ixpd/flow/decoder"
	"github.com/ixpd/ixpd/flow/enrich"
	"github.com/ixpd/ixpd/routeserver/members"
)

// FuzzDecodeAttribute runs the decode and attribution path on arbitrary
// datagrams: it must never panic, and every flow it yields has an exporter.
func FuzzDecodeAttribute(f *testing.F) {
	files, _ := filepath.Glob(filepath.Join("..", "..", "..", "shared", "data", "flows", "*", "*.pcap"))
	for _, file := range files {
		_, _ = readCapture(file, func(d capturedDatagram) error {
			f.Add(d.payload)
			return nil
		})
	}
	f.Add([]byte{0, 0, 0, 5})
	f.Add([]byte{0, 10, 0, 16})
	set, err := members.Load(filepath.Join("..", "..", "deploy", "examples", "members.json"),
		members.Options{PeeringLANs: []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8"), netip.MustParsePrefix("fd00:ffff::/64")}})
	if err != nil {
		f.Fatal(err)
	}
	en, err := enrich.New(enrich.Config{Country: "WS", Exporters: map[netip.Addr]enrich.Exporter{
		netip.MustParseAddr("127.0.0.20"): {Role: flow.RoleMemberEdge, MemberASN: 38800,
			Interfaces: map[uint32]enrich.InterfaceRole{10: enrich.IfIXP, 20: enrich.IfTransit}}}}, set, nil, prometheus.NewRegistry())
	if err != nil {
		f.Fatal(err)
	}
	d, err := decoder.New(nil, decoder.Config{Exporters: map[netip.Addr]decoder.Exporter{
		netip.MustParseAddr("127.0.0.20"): {Role: flow.RoleMemberEdge, SamplingRate: 1}}})
	if err != nil {
		f.Fatal(err)
	}
	src := netip.MustParseAddrPort("127.0.0.20:40000")
	t0 := time.Unix(1_700_000_000, 0)
	f.Fuzz(func(t *testing.T, payload []byte) {
		out, _ := d.Decode(src, t0, payload, nil)
		for i := range out {
			en.Enrich(&out[i])
			if !out[i].Exporter.IsValid() {
				t.Fatalf("flow without exporter: %+v", out[i])
			}
		}
		d.Expire(t0.Add(time.Hour))
	})
}
