package main

import (
	"math/rand/v2"
	"net/netip"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/ixpd/ixpd/flow"
	"github.com/ixpd/ixpd/flow/decoder"
)

func macValue(m [6]byte) uint64 {
	var v uint64
	for _, b := range m {
		v = v<<8 | uint64(b)
	}
	return v
}

// wantFlow is what ixpd's decoder must make of s.
func wantFlow(s flowSpec, exporter netip.Addr, p flow.Protocol, rate uint32, t, start, end time.Time) flow.Flow {
	f := flow.Flow{
		TimeReceived: t, TimeStart: start, TimeEnd: end,
		Exporter: exporter, Protocol: p, SamplingRate: rate,
		Bytes: uint64(s.FrameLen) * uint64(rate), Packets: uint64(rate),
		SrcAddr: s.SrcAddr, DstAddr: s.DstAddr, SrcPort: s.SrcPort, DstPort: s.DstPort,
		IPProto: s.Proto, EType: 0x0800, InIf: s.InIf, OutIf: s.OutIf,
	}
	if p == flow.ProtocolSFlow5 {
		f.SrcMAC, f.DstMAC = macValue(s.SrcMAC), macValue(s.DstMAC)
		f.Role = flow.RoleIXPSwitch
	} else {
		f.Role = flow.RoleMemberEdge
	}
	return f
}

func specs(n int, seed uint64) []flowSpec {
	r := rand.New(rand.NewPCG(seed, 3))
	out := make([]flowSpec, n)
	for i := range out {
		out[i] = randomSpec(r)
	}
	return out
}

func TestFlowDatagramsDecode(t *testing.T) {
	sflowAgent := netip.MustParseAddr("127.0.0.10")
	ipfixSrc := netip.MustParseAddrPort("127.0.0.20:40000")
	now := time.Unix(1_700_000_000, 0).UTC()
	const rate = 1024
	tests := []struct {
		name  string
		build func(s []flowSpec) [][]byte // datagrams in order; the last holds s
		proto flow.Protocol
		src   netip.AddrPort
	}{
		{
			name:  "sflow",
			build: func(s []flowSpec) [][]byte { return [][]byte{sflowDatagram(sflowAgent, 7, 1000, rate, s)} },
			proto: flow.ProtocolSFlow5,
			src:   netip.AddrPortFrom(sflowAgent, 40000),
		},
		{
			name: "ipfix",
			build: func(s []flowSpec) [][]byte {
				return [][]byte{ipfixTemplate(now, 0), ipfixData(now, 0, rate, now, s)}
			},
			proto: flow.ProtocolIPFIX,
			src:   ipfixSrc,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d, err := decoder.New(prometheus.NewRegistry(), decoder.Config{Exporters: map[netip.Addr]decoder.Exporter{
				sflowAgent:      {Role: flow.RoleIXPSwitch},
				ipfixSrc.Addr(): {Role: flow.RoleMemberEdge},
			}})
			if err != nil {
				t.Fatal(err)
			}
			in := specs(8, 1)
			var got []flow.Flow
			for _, dg := range tt.build(in) {
				got, err = d.Decode(tt.src, now, dg, got)
				if err != nil {
					t.Fatalf("decode: %v", err)
				}
			}
			var want []flow.Flow
			for _, s := range in {
				start, end := now, now
				if tt.proto == flow.ProtocolIPFIX {
					start = now.Add(-time.Second)
				}
				want = append(want, wantFlow(s, tt.src.Addr(), tt.proto, rate, now, start, end))
			}
			if diff := cmp.Diff(got, want, cmp.Comparer(func(a, b netip.Addr) bool { return a == b })); diff != "" {
				t.Errorf("decoded flows (-got +want):\n%s", diff)
			}
		})
	}
}

func TestFlowPool(t *testing.T) {
	p := newSFlowPool(netip.MustParseAddr("127.0.0.10"), 1024, 16, 8, 1)
	d, err := decoder.New(prometheus.NewRegistry(), decoder.Config{})
	if err != nil {
		t.Fatal(err)
	}
	src := netip.MustParseAddrPort("127.0.0.10:1")
	var flows []flow.Flow
	for _, dg := range p.datagrams {
		if flows, err = d.Decode(src, time.Now(), dg, flows); err != nil {
			t.Fatal(err)
		}
	}
	if len(flows) != 16*8 {
		t.Errorf("decoded %d flows from the pool, want %d", len(flows), 16*8)
	}
}
