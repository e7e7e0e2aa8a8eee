package decoder_test

import (
	"encoding/binary"
	"errors"
	"net/netip"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/ixpd/ixpd/flow"
	"github.com/ixpd/ixpd/flow/decoder"
)

// Builders of NetFlow v9/IPFIX datagrams.

func u16(v uint16) []byte { return binary.BigEndian.AppendUint16(nil, v) }
func u32(v uint32) []byte { return binary.BigEndian.AppendUint32(nil, v) }
func u64(v uint64) []byte { return binary.BigEndian.AppendUint64(nil, v) }

func cat(parts ...[]byte) []byte {
	var b []byte
	for _, p := range parts {
		b = append(b, p...)
	}
	return b
}

// set returns a flow set with its header; length is the real one unless given.
func set(id uint16, body []byte, length ...uint16) []byte {
	l := uint16(4 + len(body))
	if len(length) > 0 {
		l = length[0]
	}
	return cat(u16(id), u16(l), body)
}

// fields encodes (type, length) pairs.
func fields(tl ...uint16) []byte {
	var b []byte
	for _, v := range tl {
		b = append(b, u16(v)...)
	}
	return b
}

// nf9 returns a NetFlow v9 datagram: uptime 10 s, Unix time secs, source id 1.
func nf9(secs uint32, sets ...[]byte) []byte {
	return cat(u16(9), u16(uint16(len(sets))), u32(10000), u32(secs), u32(1), u32(1), cat(sets...))
}

// ipfix returns an IPFIX datagram with the right length, domain 1.
func ipfix(export uint32, sets ...[]byte) []byte {
	body := cat(sets...)
	return cat(u16(10), u16(uint16(16+len(body))), u32(export), u32(1), u32(1), body)
}

// A small IPFIX template 256: bytes (8), packets (8), src and dst IPv4,
// flowEndMilliseconds (8), samplingInterval (4).
var (
	ipfixTemplate = set(2, cat(u16(256), u16(6), fields(1, 8, 2, 8, 8, 4, 12, 4, 153, 8, 34, 4)))
	now           = time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC)
)

func ipfixRecord(bytes, packets uint64, endMs uint64, rate uint32) []byte {
	return cat(u64(bytes), u64(packets), []byte{192, 0, 2, 1}, []byte{198, 51, 100, 1}, u64(endMs), u32(rate))
}

func TestBadInput(t *testing.T) {
	src := netip.MustParseAddrPort("192.0.2.9:4739")
	exp := src.Addr()
	nowSecs := uint32(now.Unix())
	nowMs := uint64(now.UnixMilli())
	sflowHeader := func(samples uint32, rest ...[]byte) []byte {
		return cat(u32(5), u32(1), []byte{10, 0, 0, 1}, u32(0), u32(1), u32(1000), u32(samples), cat(rest...))
	}
	tests := []struct {
		name    string
		cfg     decoder.Config
		payload [][]byte // datagrams in order; the last one is checked
		flows   int
		want    *decoder.Error // nil: no error
	}{
		{name: "empty", payload: [][]byte{{}}, want: &decoder.Error{Exporter: exp, Kind: decoder.KindTruncated}},
		{name: "three bytes", payload: [][]byte{{0, 9, 0}}, want: &decoder.Error{Exporter: exp, Kind: decoder.KindTruncated}},
		{name: "NetFlow v7", payload: [][]byte{cat(u16(7), make([]byte, 30))}, want: &decoder.Error{Exporter: exp, Kind: decoder.KindUnknownVersion}},
		{name: "sFlow v4", payload: [][]byte{cat(u32(4), make([]byte, 30))}, want: &decoder.Error{Exporter: exp, Kind: decoder.KindUnknownVersion}},
		{name: "text", payload: [][]byte{[]byte("GET / HTTP/1.1\r\n")}, want: &decoder.Error{Exporter: exp, Kind: decoder.KindUnknownVersion}},
		{
			name:    "sFlow header cut",
			payload: [][]byte{cat(u32(5), u32(1), []byte{10, 0})},
			want:    &decoder.Error{Exporter: exp, Protocol: flow.ProtocolSFlow5, Kind: decoder.KindTruncated},
		},
		{
			name:    "sFlow agent address type 3",
			payload: [][]byte{cat(u32(5), u32(3), make([]byte, 40))},
			want:    &decoder.Error{Exporter: exp, Protocol: flow.ProtocolSFlow5, Kind: decoder.KindMalformed},
		},
		{
			name:    "sFlow 5000 samples",
			payload: [][]byte{sflowHeader(5000)},
			want:    &decoder.Error{Exporter: addr("10.0.0.1"), Protocol: flow.ProtocolSFlow5, Kind: decoder.KindMalformed},
		},
		{
			name:    "sFlow sample longer than the datagram",
			payload: [][]byte{sflowHeader(1, u32(1), u32(400), make([]byte, 40))},
			want:    &decoder.Error{Exporter: addr("10.0.0.1"), Protocol: flow.ProtocolSFlow5, Kind: decoder.KindTruncated},
		},
		{
			// goflow2 would allocate 4 billion records
			name:    "sFlow expanded flow sample claiming 2^32-1 records",
			payload: [][]byte{sflowHeader(1, u32(3), u32(44), make([]byte, 40), u32(0xffffffff))},
			want:    &decoder.Error{Exporter: addr("10.0.0.1"), Protocol: flow.ProtocolSFlow5, Kind: decoder.KindMalformed},
		},
		{
			name: "sFlow flow sample with a sampled 802.11 header",
			payload: [][]byte{sflowHeader(1,
				u32(1), u32(32+8+16+4), u32(1), u32(1), u32(100), u32(100), u32(0), u32(1), u32(2), u32(1),
				u32(1), u32(16+4), u32(15), u32(100), u32(0), u32(4), []byte{1, 2, 3, 4},
			)},
			want: &decoder.Error{Exporter: addr("10.0.0.1"), Protocol: flow.ProtocolSFlow5, Kind: decoder.KindUnsupported},
		},
		{
			name:    "NetFlow v5 claiming 30 records, carrying none",
			payload: [][]byte{cat(u16(5), u16(30), make([]byte, 20))},
			want:    &decoder.Error{Exporter: exp, Protocol: flow.ProtocolNetFlow5, Kind: decoder.KindTruncated},
		},
		{
			name:    "NetFlow v9 header cut",
			payload: [][]byte{cat(u16(9), make([]byte, 10))},
			want:    &decoder.Error{Exporter: exp, Protocol: flow.ProtocolNetFlow9, Kind: decoder.KindTruncated},
		},
		{
			name:    "NetFlow v9 set id 5",
			payload: [][]byte{nf9(nowSecs, set(5, make([]byte, 8)))},
			want:    &decoder.Error{Exporter: exp, Protocol: flow.ProtocolNetFlow9, TemplateID: 5, Kind: decoder.KindMalformed},
		},
		{
			name:    "NetFlow v9 set length 2",
			payload: [][]byte{nf9(nowSecs, set(256, make([]byte, 8), 2))},
			want:    &decoder.Error{Exporter: exp, Protocol: flow.ProtocolNetFlow9, Kind: decoder.KindMalformed},
		},
		{
			name:    "NetFlow v9 template cut in a field",
			payload: [][]byte{nf9(nowSecs, set(0, cat(u16(256), u16(3), fields(1, 4, 2))))},
			want:    &decoder.Error{Exporter: exp, Protocol: flow.ProtocolNetFlow9, Kind: decoder.KindTruncated},
		},
		{
			// goflow2's own data set decoder would loop forever on it
			name:    "NetFlow v9 template whose records are empty",
			payload: [][]byte{nf9(nowSecs, set(0, cat(u16(300), u16(2), fields(1, 0, 2, 0))), set(300, make([]byte, 16)))},
			want:    &decoder.Error{Exporter: exp, Protocol: flow.ProtocolNetFlow9, TemplateID: 300, Kind: decoder.KindMalformed},
		},
		{
			name: "NetFlow v9 Unix time 0: times replaced by the receive time",
			cfg:  decoder.Config{Exporters: map[netip.Addr]decoder.Exporter{exp: {SamplingRate: 1}}},
			payload: [][]byte{nf9(0,
				set(0, cat(u16(256), u16(3), fields(1, 4, 21, 4, 22, 4))),
				set(256, cat(u32(100), u32(9000), u32(8000))),
			)},
			flows: 1,
			want:  &decoder.Error{Exporter: exp, Protocol: flow.ProtocolNetFlow9, TemplateID: 256, Kind: decoder.KindBadTime},
		},
		{
			name:    "NetFlow v9 zero padding after the last set",
			cfg:     decoder.Config{Exporters: map[netip.Addr]decoder.Exporter{exp: {SamplingRate: 1}}},
			payload: [][]byte{cat(nf9(nowSecs, set(0, cat(u16(256), u16(1), fields(1, 4))), set(256, u32(100))), make([]byte, 600))},
			flows:   1,
		},
		{
			name:    "IPFIX length below the header",
			payload: [][]byte{cat(u16(10), u16(8), make([]byte, 20))},
			want:    &decoder.Error{Exporter: exp, Protocol: flow.ProtocolIPFIX, Kind: decoder.KindMalformed},
		},
		{
			name:    "IPFIX length beyond the datagram",
			payload: [][]byte{cat(u16(10), u16(200), make([]byte, 20))},
			want:    &decoder.Error{Exporter: exp, Protocol: flow.ProtocolIPFIX, Kind: decoder.KindTruncated},
		},
		{
			name:    "IPFIX data set cut: the whole records are decoded",
			payload: [][]byte{ipfix(nowSecs, ipfixTemplate, set(256, cat(ipfixRecord(100, 1, nowMs, 10), ipfixRecord(200, 2, nowMs, 10)), 200))},
			flows:   2,
			want:    &decoder.Error{Exporter: exp, Protocol: flow.ProtocolIPFIX, TemplateID: 256, Kind: decoder.KindTruncated},
		},
		{
			name:    "IPFIX end time in year 584 million",
			payload: [][]byte{ipfix(nowSecs, ipfixTemplate, set(256, ipfixRecord(100, 1, 1<<63-1, 10)))},
			flows:   1,
			want:    &decoder.Error{Exporter: exp, Protocol: flow.ProtocolIPFIX, TemplateID: 256, Kind: decoder.KindBadTime},
		},
		{
			name:    "IPFIX without any sampling rate: dropped",
			payload: [][]byte{ipfix(nowSecs, ipfixTemplate, set(256, ipfixRecord(100, 1, nowMs, 0)))},
			want:    &decoder.Error{Exporter: exp, Protocol: flow.ProtocolIPFIX, TemplateID: 256, Kind: decoder.KindNoSamplingRate},
		},
		{
			name: "IPFIX variable-length field longer than the set",
			payload: [][]byte{ipfix(nowSecs,
				set(2, cat(u16(257), u16(2), fields(1, 8, 82, 0xffff))),
				set(257, cat(u64(100), []byte{255, 0xff, 0xff, 'a'})),
			)},
		},
		{
			name: "IPFIX template withdrawn: data held again",
			payload: [][]byte{
				ipfix(nowSecs, ipfixTemplate, set(2, cat(u16(256), u16(0))), set(256, ipfixRecord(100, 1, nowMs, 10))),
			},
		},
		{
			name: "IPFIX templates beyond the bound",
			cfg:  decoder.Config{MaxTemplates: 1},
			payload: [][]byte{ipfix(nowSecs,
				set(2, cat(u16(256), u16(1), fields(1, 8))),
				set(2, cat(u16(257), u16(1), fields(1, 8))),
			)},
			want: &decoder.Error{Exporter: exp, Protocol: flow.ProtocolIPFIX, TemplateID: 257, Kind: decoder.KindLimit},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d, _ := newDecoder(t, tt.cfg)
			var (
				got []flow.Flow
				err error
			)
			for _, p := range tt.payload {
				got, err = d.Decode(src, now, p, nil)
			}
			if len(got) != tt.flows {
				t.Errorf("%d flows, want %d", len(got), tt.flows)
			}
			var gotErr *decoder.Error
			if err != nil && !errors.As(err, &gotErr) {
				t.Fatalf("error %v is not a *decoder.Error", err)
			}
			if diff := cmp.Diff(gotErr, tt.want, cmpFlows, cmpopts.IgnoreFields(decoder.Error{}, "Err")); diff != "" {
				t.Errorf("error %v (-got +want):\n%s", err, diff)
			}
			for _, f := range got {
				if f.TimeStart.Before(now.Add(-decoder.DefaultMaxTimeSkew)) || f.TimeEnd.After(now.Add(decoder.DefaultMaxTimeSkew)) {
					t.Errorf("flow times %v..%v not near %v", f.TimeStart, f.TimeEnd, now)
				}
			}
		})
	}
}

func TestErrorMessage(t *testing.T) {
	err := error(&decoder.Error{
		Exporter: addr("192.0.2.1"), Protocol: flow.ProtocolIPFIX, TemplateID: 300,
		Kind: decoder.KindMalformed, Err: errors.New("negative length"),
	})
	if got, want := err.Error(), "decode ipfix from 192.0.2.1 template 300: malformed: negative length"; got != want {
		t.Errorf("Error() = %q, want %q", got, want)
	}
}

// TestSFlowSampledIPRecords checks a flow sample without a sampled header:
// addresses from the sampled IPv6 record, length from the Ethernet record.
func TestSFlowSampledIPRecords(t *testing.T) {
	mac6 := func(b ...byte) []byte { return append(b, 0, 0) } // XDR padding
	ethernet := cat(u32(2), u32(24), u32(1514), mac6(0, 0, 0, 0, 0, 1), mac6(0, 0, 0, 0, 0, 2), u32(0x86dd))
	ipv6 := cat(u32(4), u32(56), u32(1500), u32(6),
		addr("2001:db8::1").AsSlice(), addr("2001:db8::2").AsSlice(), u32(443), u32(50000), u32(0x10), u32(0))
	records := cat(ethernet, ipv6)
	sample := cat(u32(7), u32(3), u32(512), u32(10000), u32(0), u32(3), u32(4), u32(2), records)
	payload := cat(u32(5), u32(1), []byte{10, 0, 0, 1}, u32(0), u32(1), u32(1000), u32(1),
		u32(1), u32(uint32(len(sample))), sample)

	d, _ := newDecoder(t, decoder.Config{})
	src := netip.MustParseAddrPort("10.0.0.1:6343")
	got, err := d.Decode(src, now, payload, nil)
	if err != nil {
		t.Fatal(err)
	}
	want := []flow.Flow{{
		TimeReceived: now, TimeStart: now, TimeEnd: now,
		Exporter: addr("10.0.0.1"), Protocol: flow.ProtocolSFlow5, SamplingRate: 512,
		Bytes: 1514 * 512, Packets: 512,
		SrcAddr: addr("2001:db8::1"), DstAddr: addr("2001:db8::2"),
		SrcPort: 443, DstPort: 50000, IPProto: 6, EType: 0x86dd, InIf: 3, OutIf: 4,
	}}
	if diff := cmp.Diff(got, want, cmpFlows); diff != "" {
		t.Errorf("flows (-got +want):\n%s", diff)
	}
}
