package decoder_test

import (
	"bytes"
	"encoding/binary"
	"net/netip"
	"runtime"
	"testing"
	"time"

	"github.com/netsampler/goflow2/v2/decoders/netflow"
	"github.com/netsampler/goflow2/v2/decoders/sflow"

	"github.com/ixpd/ixpd/flow"
	"github.com/ixpd/ixpd/flow/decoder"
)

// The benchmarks decode one datagram per iteration, reusing the out slice,
// and report ns and allocations per flow. Each has an anchor sub-benchmark:
// goflow2's own decoder on the same datagram, producing no flow.Flow
// (`go test -run '^$' -bench . -benchmem ./flow/decoder/`).

// perFlow reports ns/flow and allocs/flow.
func perFlow(b *testing.B, flows int, run func()) {
	b.Helper()
	b.ReportAllocs()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	start := time.Now()
	b.ResetTimer()
	for b.Loop() {
		run()
	}
	b.StopTimer()
	elapsed := time.Since(start)
	runtime.ReadMemStats(&after)
	n := float64(b.N) * float64(flows)
	b.ReportMetric(float64(elapsed.Nanoseconds())/n, "ns/flow")
	b.ReportMetric(float64(after.Mallocs-before.Mallocs)/n, "allocs/flow")
}

// BenchmarkDecodeSFlow decodes a datagram of 5 flow samples with raw
// headers (Arista/Dell, IPv4 and IPv6, gateway records).
func BenchmarkDecodeSFlow(b *testing.B) {
	dg := readCaptures(b, "akvorado-sflow/data-1140.pcap")[0]
	b.Run("ixpd", func(b *testing.B) {
		d, _ := decoder.New(nil, decoder.Config{})
		out := make([]flow.Flow, 0, 64)
		var err error
		perFlow(b, 5, func() {
			out, err = d.Decode(dg.src, dg.t, dg.payload, out[:0])
			if err != nil || len(out) != 5 {
				b.Fatal(len(out), err)
			}
		})
	})
	b.Run("goflow2-anchor", func(b *testing.B) {
		perFlow(b, 5, func() {
			var pkt sflow.Packet
			if err := sflow.DecodeMessageVersion(bytes.NewBuffer(dg.payload), &pkt); err != nil {
				b.Fatal(err)
			}
		})
	})
}

// dataOnly returns a copy of an IPFIX or NetFlow v9 datagram with only the
// sets whose id is setID.
func dataOnly(tb testing.TB, payload []byte, setID uint16) []byte {
	tb.Helper()
	hdrLen := 20
	if binary.BigEndian.Uint16(payload) == 10 {
		hdrLen = 16
	}
	out := bytes.Clone(payload[:hdrLen])
	for off := hdrLen; off+4 <= len(payload); {
		id, n := binary.BigEndian.Uint16(payload[off:]), int(binary.BigEndian.Uint16(payload[off+2:]))
		if n < 4 || off+n > len(payload) {
			break
		}
		if id == setID {
			out = append(out, payload[off:off+n]...)
		}
		off += n
	}
	if hdrLen == 16 {
		binary.BigEndian.PutUint16(out[2:], uint16(len(out)))
	} else {
		binary.BigEndian.PutUint16(out[2:], 1)
	}
	return out
}

// benchmarkTemplated benchmarks the data set setID of the last datagram,
// once the templates of all the datagrams are known.
func benchmarkTemplated(b *testing.B, dgs []datagram, setID uint16, flows int) {
	b.Helper()
	last := dgs[len(dgs)-1]
	data := dataOnly(b, last.payload, setID)
	b.Run("ixpd", func(b *testing.B) {
		d, _ := decoder.New(nil, decoder.Config{
			Exporters:   map[netip.Addr]decoder.Exporter{last.src.Addr(): {SamplingRate: 1}},
			MaxTimeSkew: 100000 * time.Hour,
		})
		for _, dg := range dgs {
			if _, err := d.Decode(dg.src, dg.t, dg.payload, nil); err != nil {
				b.Fatal(err)
			}
		}
		out := make([]flow.Flow, 0, 64)
		var err error
		perFlow(b, flows, func() {
			out, err = d.Decode(last.src, last.t, data, out[:0])
			if err != nil || len(out) != flows {
				b.Fatal(len(out), err)
			}
		})
	})
	b.Run("goflow2-anchor", func(b *testing.B) {
		templates := netflow.CreateTemplateSystem()
		for _, dg := range dgs {
			var nf9 netflow.NFv9Packet
			var ipfix netflow.IPFIXPacket
			_ = netflow.DecodeMessageVersion(bytes.NewBuffer(dg.payload), templates, &nf9, &ipfix)
		}
		perFlow(b, flows, func() {
			var nf9 netflow.NFv9Packet
			var ipfix netflow.IPFIXPacket
			if err := netflow.DecodeMessageVersion(bytes.NewBuffer(data), templates, &nf9, &ipfix); err != nil {
				b.Fatal(err)
			}
		})
	})
}

// BenchmarkDecodeIPFIX decodes a Nokia IPFIX data set of 8 flows (29
// fields each) with the sampling rate from options data.
func BenchmarkDecodeIPFIX(b *testing.B) {
	benchmarkTemplated(b, readCaptures(b, "akvorado-netflow/physicalinterfaces.pcap"), 1910, 8)
}

// BenchmarkDecodeNetFlow9 decodes a Cisco NetFlow v9 data set of 12 flows
// (27 fields each) with per-sampler rates.
func BenchmarkDecodeNetFlow9(b *testing.B) {
	benchmarkTemplated(b, readCaptures(b,
		"akvorado-netflow/multiplesamplingrates-options-template.pcap", "akvorado-netflow/multiplesamplingrates-options-data.pcap",
		"akvorado-netflow/multiplesamplingrates-template.pcap", "akvorado-netflow/multiplesamplingrates-data.pcap",
	), 328, 12)
}
