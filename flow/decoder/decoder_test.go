package decoder_test

import (
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/ixpd/ixpd/flow"
	"github.com/ixpd/ixpd/flow/decoder"
)

// The expected values below were read from the captures with
// `tshark -r FILE -V` (templates merged with mergecap when they are in
// another file), not from this decoder's output. Bytes and packets are
// tshark's counters (sFlow: frame length) times the sampling rate.

func TestDecodeCaptures(t *testing.T) {
	const (
		ixpSwitch  = flow.RoleIXPSwitch
		memberEdge = flow.RoleMemberEdge
	)
	exporters := func(rate uint32, role flow.Role, addrs ...string) map[netip.Addr]decoder.Exporter {
		m := map[netip.Addr]decoder.Exporter{}
		for _, a := range addrs {
			m[addr(a)] = decoder.Exporter{Role: role, SamplingRate: rate}
		}
		return m
	}
	tests := []struct {
		name  string
		files []string
		cfg   decoder.Config
		// first flows, exactly
		first []flow.Flow
		// totals over the whole capture
		flows          int
		bytes, packets uint64
		// every non-zero ixpd_flow_decoder_errors_total, and some other metrics
		errors  map[string]float64
		metrics map[string]float64
	}{
		{
			name:  "sflow raw headers IPv6 and IPv4 with gateway",
			files: []string{"akvorado-sflow/data-1140.pcap"},
			cfg:   decoder.Config{Exporters: exporters(0, ixpSwitch, "172.16.0.3")},
			first: []flow.Flow{{
				TimeReceived: at(1662715598, 886994000), TimeStart: at(1662715598, 886994000), TimeEnd: at(1662715598, 886994000),
				Exporter: addr("172.16.0.3"), Protocol: flow.ProtocolSFlow5, SamplingRate: 1024,
				Bytes: 1518 * 1024, Packets: 1024,
				SrcAddr: addr("2a0c:8880:2:0:185:21:130:38"), DstAddr: addr("2a0c:8880:2:0:185:21:130:39"),
				SrcPort: 46026, DstPort: 22, IPProto: 6, EType: 0x86dd, InIf: 27, OutIf: 28, Egress: true, // sampled at port 28 (tshark: flow_sample.index 28)
				SrcMAC: hw("24:6e:96:90:7a:50"), DstMAC: hw("24:6e:96:04:3c:08"),
				Role: ixpSwitch,
			}, {
				TimeReceived: at(1662715598, 886994000), TimeStart: at(1662715598, 886994000), TimeEnd: at(1662715598, 886994000),
				Exporter: addr("172.16.0.3"), Protocol: flow.ProtocolSFlow5, SamplingRate: 1024,
				Bytes: 439 * 1024, Packets: 1024,
				SrcAddr: addr("104.26.8.24"), DstAddr: addr("45.90.161.46"),
				SrcPort: 443, DstPort: 56876, IPProto: 6, EType: 0x0800, InIf: 49001, OutIf: 25, Egress: true, // sampled at port 25
				SrcMAC: hw("c4:ca:2b:ae:34:37"), DstMAC: hw("ae:18:b0:4b:26:8a"),
				SrcAS: 13335, DstAS: 39421, // no AS path: the router's own AS
				Role: ixpSwitch,
			}, {
				TimeReceived: at(1662715598, 886994000), TimeStart: at(1662715598, 886994000), TimeEnd: at(1662715598, 886994000),
				Exporter: addr("172.16.0.3"), Protocol: flow.ProtocolSFlow5, SamplingRate: 1024,
				Bytes: 1518 * 1024, Packets: 1024,
				SrcAddr: addr("2a0c:8880:2:0:185:21:130:38"), DstAddr: addr("2a0c:8880:2:0:185:21:130:39"),
				SrcPort: 46026, DstPort: 22, IPProto: 6, EType: 0x86dd, InIf: 27, OutIf: 28,
				SrcMAC: hw("24:6e:96:90:7a:50"), DstMAC: hw("24:6e:96:04:3c:08"),
				Role: ixpSwitch,
			}, {
				TimeReceived: at(1662715598, 886994000), TimeStart: at(1662715598, 886994000), TimeEnd: at(1662715598, 886994000),
				Exporter: addr("172.16.0.3"), Protocol: flow.ProtocolSFlow5, SamplingRate: 1024,
				Bytes: 64 * 1024, Packets: 1024,
				SrcAddr: addr("45.90.161.148"), DstAddr: addr("191.87.91.27"),
				SrcPort: 55658, DstPort: 5555, IPProto: 6, EType: 0x0800, InIf: 28, OutIf: 49001,
				SrcMAC: hw("7e:12:7c:7b:fa:f0"), DstMAC: hw("c4:ca:2b:ae:34:37"),
				SrcAS: 39421, DstAS: 26615, // source AS 0: the router's own; last AS of the path
				Role: ixpSwitch,
			}},
			flows: 5, bytes: 5178368, packets: 5120,
		},
		{
			name:  "sflow expanded sample with QinQ",
			files: []string{"akvorado-sflow/data-qinq.pcap"},
			first: []flow.Flow{{
				TimeReceived: at(1730193097, 448816000), TimeStart: at(1730193097, 448816000), TimeEnd: at(1730193097, 448816000),
				Exporter: addr("172.17.128.58"), Protocol: flow.ProtocolSFlow5, SamplingRate: 4096,
				Bytes: 106 * 4096, Packets: 4096,
				SrcAddr: addr("49.49.49.2"), DstAddr: addr("49.49.49.109"),
				SrcPort: 32017, DstPort: 443, IPProto: 6, EType: 0x0800, InIf: 369098852, OutIf: 369098851,
				SrcMAC: hw("4c:ae:a3:52:0f:f6"), DstMAC: hw("00:01:10:62:14:93"),
			}},
			flows: 1, bytes: 434176, packets: 4096,
			metrics: map[string]float64{"ixpd_flow_decoder_unknown_exporter_datagrams_total": 1},
		},
		{
			name:  "sflow VXLAN: the inner frame",
			files: []string{"akvorado-sflow/data-encap-vxlan.pcap"},
			first: []flow.Flow{{
				TimeReceived: at(1767184209, 178441000), TimeStart: at(1767184209, 178441000), TimeEnd: at(1767184209, 178441000),
				Exporter: addr("127.0.0.1"), Protocol: flow.ProtocolSFlow5, SamplingRate: 1,
				Bytes: 172, Packets: 1,
				SrcAddr: addr("2001:db8:4::1"), DstAddr: addr("2001:db8:4::3"),
				DstPort: 128 << 8, IPProto: 58, EType: 0x86dd, // ICMPv6 echo request
				InIf: 0x3fffffff, OutIf: 0x3fffffff,
				SrcMAC: hw("ca:6e:98:f8:49:8f"), DstMAC: hw("01:02:03:04:05:06"),
			}},
			flows: 1, bytes: 172, packets: 1,
		},
		{
			name:  "sflow expanded sample with AS path",
			files: []string{"akvorado-sflow/data-sflow-expanded-sample.pcap"},
			first: []flow.Flow{{
				TimeReceived: at(1672326228, 557763000), TimeStart: at(1672326228, 557763000), TimeEnd: at(1672326228, 557763000),
				Exporter: addr("49.49.49.49"), Protocol: flow.ProtocolSFlow5, SamplingRate: 1000,
				Bytes: 126 * 1000, Packets: 1000,
				SrcAddr: addr("52.52.52.52"), DstAddr: addr("53.53.53.53"),
				SrcPort: 22, DstPort: 52237, IPProto: 6, EType: 0x0800, InIf: 29001, OutIf: 1285816721,
				SrcMAC: hw("94:8e:d3:0a:71:3b"), DstMAC: hw("22:42:1f:4a:9f:cd"),
				SrcAS: 203476, DstAS: 203361,
			}},
			flows: 1, bytes: 126000, packets: 1000,
		},
		{
			name:  "sflow header, ethernet and IPv4 records",
			files: []string{"akvorado-sflow/data-sflow-ipv4-data.pcap"},
			first: []flow.Flow{{
				TimeReceived: at(1676064797, 999145000), TimeStart: at(1676064797, 999145000), TimeEnd: at(1676064797, 999145000),
				Exporter: addr("49.49.49.49"), Protocol: flow.ProtocolSFlow5, SamplingRate: 256,
				Bytes: 1390 * 256, Packets: 256,
				SrcAddr: addr("50.50.50.50"), DstAddr: addr("51.51.51.51"),
				SrcPort: 46622, DstPort: 58631, IPProto: 17, EType: 0x0800, InIf: 0, OutIf: 182, Egress: true, // sampled at port 182 (tshark: flow_sample.index 182)
				SrcMAC: hw("00:fe:c8:99:05:47"), DstMAC: hw("01:00:5e:2a:aa:04"),
			}},
			flows: 1, bytes: 355840, packets: 256,
		},
		{
			name:  "sflow raw IPv4 header without Ethernet",
			files: []string{"akvorado-sflow/data-sflow-raw-ipv4.pcap"},
			first: []flow.Flow{{
				TimeReceived: at(1676628652, 605212000), TimeStart: at(1676628652, 605212000), TimeEnd: at(1676628652, 605212000),
				Exporter: addr("172.19.64.116"), Protocol: flow.ProtocolSFlow5, SamplingRate: 1,
				Bytes: 50, Packets: 1,
				SrcAddr: addr("69.58.92.107"), DstAddr: addr("92.222.186.1"),
				IPProto: 1, EType: 0x0800, OutIf: 2, Egress: true, // ICMP echo reply; sampled at port 2 (tshark: flow_sample.index 2)
			}, {
				TimeReceived: at(1676628652, 605212000), TimeStart: at(1676628652, 605212000), TimeEnd: at(1676628652, 605212000),
				Exporter: addr("172.19.64.116"), Protocol: flow.ProtocolSFlow5, SamplingRate: 1,
				Bytes: 50, Packets: 1,
				SrcAddr: addr("69.58.92.107"), DstAddr: addr("92.222.184.1"),
				IPProto: 1, EType: 0x0800, OutIf: 2, Egress: true,
			}},
			flows: 2, bytes: 100, packets: 2,
		},
		{
			name:  "sflow ICMPv6",
			files: []string{"akvorado-sflow/data-icmpv6.pcap"},
			first: []flow.Flow{{
				TimeReceived: at(1685865496, 72711000), TimeStart: at(1685865496, 72711000), TimeEnd: at(1685865496, 72711000),
				Exporter: addr("127.0.0.1"), Protocol: flow.ProtocolSFlow5, SamplingRate: 1,
				Bytes: 90, Packets: 1,
				SrcAddr: addr("fe80::d05b:45ff:feee:5ecf"), DstAddr: addr("2001:db8::"),
				DstPort: 135 << 8, IPProto: 58, EType: 0x86dd, // neighbor solicitation
				InIf: 0x3fffffff, OutIf: 0x3fffffff,
				SrcMAC: hw("d2:5b:45:ee:5e:cf"), DstMAC: hw("e2:ef:c6:8f:8c:d4"),
			}},
			flows: 1, bytes: 90, packets: 1,
		},
		{
			name:  "sflow discarded packet: no output interface",
			files: []string{"akvorado-sflow/data-discard-interface.pcap"},
			flows: 1, bytes: 1554432, packets: 1024,
		},
		{
			name:  "sflow multiple output interfaces and local interface",
			files: []string{"akvorado-sflow/data-multiple-interfaces.pcap", "akvorado-sflow/data-local-interface.pcap"},
			flows: 2, bytes: 2 * 1554432, packets: 2 * 1024,
		},
		{
			name:  "sflow ndpi: counter samples skipped",
			files: []string{"ndpi/sflow.pcap"},
			flows: 1, bytes: 167936, packets: 2048,
			metrics: map[string]float64{"ixpd_flow_decoder_sflow_counter_samples_total": 8, `ixpd_flow_decoder_datagrams_total{protocol="sflow5"}`: 9},
		},
		{
			name:  "sflow IPv6 agent",
			files: []string{"tcpdump/sflow-print-v6.pcap"},
			flows: 13, bytes: 1454, packets: 13,
			metrics: map[string]float64{"ixpd_flow_decoder_sflow_counter_samples_total": 48},
		},
		{
			name:  "sflow counters with NetFlow v5 on the same port",
			files: []string{"tcpdump/sflow_multiple_counter_30_pdus.pcap"},
			errors: map[string]float64{
				// 5 NetFlow v5 datagrams with no sampling rate, 7 records
				`ixpd_flow_decoder_errors_total{kind="no_sampling_rate",protocol="netflow5"}`: 7,
			},
			metrics: map[string]float64{
				"ixpd_flow_decoder_sflow_counter_samples_total":          144,
				`ixpd_flow_decoder_datagrams_total{protocol="sflow5"}`:   25,
				`ixpd_flow_decoder_datagrams_total{protocol="netflow5"}`: 5,
			},
		},
		{
			name:  "netflow v5 with a fallback rate",
			files: []string{"akvorado-netflow/nfv5.pcap"},
			cfg: decoder.Config{
				Exporters:   exporters(10, memberEdge, "10.19.144.41"),
				MaxTimeSkew: 12 * time.Hour, // the capture's clock is 8 h past the exporter's
			},
			first: []flow.Flow{{
				TimeReceived: at(1680655485, 99595000), TimeStart: at(1680626679-15, 0), TimeEnd: at(1680626679-15, 0),
				Exporter: addr("10.19.144.41"), Protocol: flow.ProtocolNetFlow5, SamplingRate: 10,
				Bytes: 133 * 10, Packets: 1 * 10,
				SrcAddr: addr("161.202.212.212"), DstAddr: addr("202.152.70.24"),
				SrcPort: 30104, DstPort: 11963, IPProto: 6, EType: 0x0800, InIf: 117, OutIf: 86,
				SrcAS: 36351, DstAS: 10101, Role: memberEdge,
			}, {
				TimeReceived: at(1680655485, 99595000), TimeStart: at(1680626679-24, 0), TimeEnd: at(1680626679-15, 0),
				Exporter: addr("10.19.144.41"), Protocol: flow.ProtocolNetFlow5, SamplingRate: 10,
				Bytes: 10262 * 10, Packets: 7 * 10,
				SrcAddr: addr("173.194.4.8"), DstAddr: addr("202.160.21.5"),
				SrcPort: 443, DstPort: 37422, IPProto: 6, EType: 0x0800, InIf: 115, OutIf: 86,
				SrcAS: 15169, Role: memberEdge,
			}},
			flows: 29, bytes: 88345 * 10, packets: 78 * 10,
		},
		{
			name:  "netflow v5 without a sampling rate",
			files: []string{"akvorado-netflow/nfv5.pcap"},
			errors: map[string]float64{
				`ixpd_flow_decoder_errors_total{kind="no_sampling_rate",protocol="netflow5"}`: 29,
			},
		},
		{
			name: "netflow v9 data set before its template in one datagram, options sampling interval",
			// Juniper MX: data set 257, options template 256 and its data
			// (samplingInterval 100), template 257, data set 257.
			files: []string{"akvorado-netflow/data+templates.pcap"},
			first: []flow.Flow{{
				TimeReceived: at(1684085372, 915038000),
				// 116799.000 s of uptime, 116860.520 at export time 1684085372
				TimeStart: at(1684085310, 480000000), TimeEnd: at(1684085310, 480000000),
				Exporter: addr("102.102.144.1"), Protocol: flow.ProtocolNetFlow9, SamplingRate: 100,
				Bytes: 48 * 100, Packets: 1 * 100,
				SrcAddr: addr("120.120.28.238"), DstAddr: addr("120.120.244.112"),
				SrcPort: 63308, DstPort: 31424, IPProto: 17, EType: 0x0800, InIf: 701, OutIf: 946,
				SrcAS: 58309, DstAS: 43815,
			}},
			// tshark decodes 21 flows once the sets are reordered
			flows: 21, bytes: 58329 * 100, packets: 66 * 100,
		},
		{
			name: "netflow v9 sampler rate from options data, exporter clock off",
			files: []string{
				"akvorado-netflow/options-template.pcap", "akvorado-netflow/options-data.pcap",
				"akvorado-netflow/template.pcap", "akvorado-netflow/data.pcap",
			},
			first: []flow.Flow{{
				// the header says 2022-03-14, the capture 2022-09-09
				TimeReceived: at(1662723601, 518767000), TimeStart: at(1662723601, 518767000), TimeEnd: at(1662723601, 518767000),
				Exporter: addr("192.0.2.100"), Protocol: flow.ProtocolNetFlow9, SamplingRate: 30000,
				Bytes: 1500 * 30000, Packets: 1 * 30000,
				SrcAddr: addr("198.38.121.178"), DstAddr: addr("91.170.143.87"),
				SrcPort: 443, DstPort: 19624, IPProto: 6, EType: 0x0800, InIf: 335, OutIf: 450,
			}},
			flows: 4, bytes: 5848 * 30000, packets: 4 * 30000,
			errors: map[string]float64{`ixpd_flow_decoder_errors_total{kind="bad_time",protocol="netflow9"}`: 4},
		},
		{
			name: "netflow v9 two samplers",
			files: []string{
				"akvorado-netflow/multiplesamplingrates-options-template.pcap", "akvorado-netflow/multiplesamplingrates-options-data.pcap",
				"akvorado-netflow/multiplesamplingrates-template.pcap", "akvorado-netflow/multiplesamplingrates-data.pcap",
			},
			// sampler 1 (1:2000): 11 flows, 13470 bytes, 20 packets; sampler 2 (1:4000): 1 flow, 1348 bytes, 18 packets
			flows: 12, bytes: 13470*2000 + 1348*4000, packets: 20*2000 + 18*4000,
		},
		{
			name:  "netflow v9 sampling interval in the data records",
			files: []string{"akvorado-netflow/samplingrate-template.pcap", "akvorado-netflow/samplingrate-data.pcap"},
			flows: 6, bytes: 3740 * 2048, packets: 6 * 2048,
		},
		{
			name:  "netflow v9 ICMP with absolute times",
			files: []string{"akvorado-netflow/icmp-template.pcap", "akvorado-netflow/icmp-data.pcap"},
			cfg:   decoder.Config{Exporters: exporters(1, memberEdge, "192.168.117.35")},
			first: []flow.Flow{{
				// from the template datagram, which carries data too
				TimeReceived: at(1685868005, 88854000), TimeStart: at(1685867993, 216000000), TimeEnd: at(1685867993, 216000000),
				Exporter: addr("192.168.117.35"), Protocol: flow.ProtocolNetFlow9, SamplingRate: 1,
				Bytes: 104, Packets: 1,
				SrcAddr: addr("2001:db8::"), DstAddr: addr("2001:db8::1"),
				DstPort: 128 << 8, IPProto: 58, EType: 0x86dd, Role: memberEdge,
			}},
			flows: 4, bytes: 376, packets: 4,
		},
		{
			name:  "ipfix sampling packet interval and space from options, MPLS",
			files: []string{"akvorado-netflow/mpls.pcap"},
			first: []flow.Flow{{
				TimeReceived: at(1699893404, 489634000), TimeStart: at(1699893330, 381000000), TimeEnd: at(1699893330, 381000000),
				Exporter: addr("10.127.100.7"), Protocol: flow.ProtocolIPFIX, SamplingRate: 10, // interval 1, space 9
				Bytes: 89 * 10, Packets: 1 * 10,
				SrcAddr: addr("fd00::1:0:1:7:1"), DstAddr: addr("fd00::1:0:1:5:1"),
				SrcPort: 49153, DstPort: 862, IPProto: 17, EType: 0x86dd, OutIf: 16,
			}},
			flows: 2, bytes: 979 * 10, packets: 11 * 10,
		},
		{
			name:  "ipfix physical interfaces and MACs",
			files: []string{"akvorado-netflow/physicalinterfaces.pcap"},
			first: []flow.Flow{{
				TimeReceived: at(1737739091, 750727000), TimeStart: at(1737739081, 621000000), TimeEnd: at(1737739081, 621000000),
				Exporter: addr("10.4.2.60"), Protocol: flow.ProtocolIPFIX, SamplingRate: 1000, // interval 1, space 999
				Bytes: 4506 * 1000, Packets: 3 * 1000,
				SrcAddr: addr("147.53.240.75"), DstAddr: addr("212.82.101.24"),
				SrcPort: 55629, DstPort: 993, IPProto: 6, EType: 0x0800, InIf: 1342177291,
				SrcMAC: hw("c0:14:fe:f6:c3:65"), DstMAC: hw("e8:b6:c2:4a:e3:4c"),
			}},
			flows: 8, bytes: 31111 * 1000, packets: 29 * 1000,
		},
		{
			name:  "ipfix sampled Ethernet frame (dataLinkFrameSection)",
			files: []string{"akvorado-netflow/datalink-template.pcap", "akvorado-netflow/datalink-data.pcap"},
			cfg:   decoder.Config{Exporters: exporters(1000, memberEdge, "49.49.49.49")},
			first: []flow.Flow{{
				TimeReceived: at(1690728617, 356388000), TimeStart: at(1690728617, 356388000), TimeEnd: at(1690728617, 356388000),
				Exporter: addr("49.49.49.49"), Protocol: flow.ProtocolIPFIX, SamplingRate: 1000,
				Bytes: 114 * 1000, Packets: 1000,
				SrcAddr: addr("51.51.51.51"), DstAddr: addr("52.52.52.52"),
				SrcPort: 55501, DstPort: 11777, IPProto: 17, EType: 0x0800, InIf: 582,
				SrcMAC: hw("b4:02:16:55:92:f4"), DstMAC: hw("18:2a:d3:6e:50:3f"), Role: memberEdge,
			}},
			flows: 1, bytes: 114000, packets: 1000,
		},
		{
			name: "ipfix Ethernet over MPLS with control word, Juniper CPID, SRv6",
			files: []string{
				"akvorado-netflow/ethernet-over-mpls-with-control-word-template.pcap", "akvorado-netflow/ethernet-over-mpls-with-control-word-data.pcap",
				"akvorado-netflow/juniper-cpid-template.pcap", "akvorado-netflow/juniper-cpid-data.pcap",
				"akvorado-netflow/ipfix-srv6-template.pcap", "akvorado-netflow/ipfix-srv6-data.pcap",
			},
			cfg: decoder.Config{Exporters: exporters(1, memberEdge, "192.168.10.11", "10.0.0.15")},
			// one packet per sampled frame, bytes from dataLinkFrameSize: 10
			// frames of 14557 bytes in all, then 118 and 118 (CPID and SRv6
			// share exporter, domain and template id: tshark must read them
			// separately)
			flows: 12, bytes: 14557 + 118 + 118, packets: 12,
		},
		{
			name:  "ipfix biflow (RFC 5103) from ipfixprobe, times from 2009",
			files: []string{"akvorado-netflow/ipfixprobe-templates.pcap", "akvorado-netflow/ipfixprobe-data.pcap"},
			cfg:   decoder.Config{Exporters: exporters(1, memberEdge, "127.0.0.1")},
			first: []flow.Flow{{
				TimeReceived: at(1759076323, 634898000), TimeStart: at(1759076323, 634898000), TimeEnd: at(1759076323, 634898000),
				Exporter: addr("127.0.0.1"), Protocol: flow.ProtocolIPFIX, SamplingRate: 1,
				Bytes: 62, Packets: 1,
				SrcAddr: addr("10.10.1.4"), DstAddr: addr("10.10.1.1"),
				SrcPort: 56166, DstPort: 53, IPProto: 17, EType: 0x0800, InIf: 10,
				SrcMAC: hw("00:e0:1c:3c:17:c2"), DstMAC: hw("00:1f:33:d9:81:60"), Role: memberEdge,
			}, {
				TimeReceived: at(1759076323, 634898000), TimeStart: at(1759076323, 634898000), TimeEnd: at(1759076323, 634898000),
				Exporter: addr("127.0.0.1"), Protocol: flow.ProtocolIPFIX, SamplingRate: 1,
				Bytes: 128, Packets: 1,
				SrcAddr: addr("10.10.1.1"), DstAddr: addr("10.10.1.4"),
				SrcPort: 53, DstPort: 56166, IPProto: 17, EType: 0x0800, OutIf: 10,
				SrcMAC: hw("00:1f:33:d9:81:60"), DstMAC: hw("00:e0:1c:3c:17:c2"), Role: memberEdge,
			}},
			// forward: 4 flows, 24268 bytes, 34 packets; reverse: 2 flows, 1674 bytes, 26 packets
			flows: 6, bytes: 24268 + 1674, packets: 34 + 26,
			errors: map[string]float64{`ixpd_flow_decoder_errors_total{kind="bad_time",protocol="ipfix"}`: 4},
		},
		{
			name:  "ipfix from pktvisor: 74 templates, delta times",
			files: []string{"pktvisor/ipfix.pcap"},
			cfg:   decoder.Config{Exporters: exporters(1, memberEdge, "192.168.100.2")},
			flows: 23, bytes: 120000, packets: 1472,
		},
		{
			name:  "netflow v9 from pktvisor: two exporters, rate only for the other one",
			files: []string{"pktvisor/nf9.pcap"},
			cfg:   decoder.Config{Exporters: exporters(1, memberEdge, "192.168.100.1")},
			flows: 24, bytes: 142139882, packets: 183920,
		},
		{
			name: "ipfix Cisco IPv6 exporter, selector rate 1 out of 256",
			// samplingPacketInterval 1, samplingSize 1, samplingPopulation 256;
			// uptime-relative times without a system init time: receive time
			files: []string{"pmacct/104-IPFIXv10-IPv6-CISCO-sampling_option/traffic-00.pcap"},
			flows: 3, bytes: 10632 * 256, packets: 121 * 256,
		},
		{
			name:  "ipfix Cisco ASR9k, two observation domains",
			files: []string{"pmacct/100-IPFIXv10-CISCO/traffic-00.pcap"},
			cfg:   decoder.Config{Exporters: exporters(1, memberEdge, "138.187.0.13")},
			flows: 12, bytes: 34172, packets: 34,
			// pcap times 2023-01-01 (pmacct's tooling), flow times 2023-02-28
			errors: map[string]float64{`ixpd_flow_decoder_errors_total{kind="bad_time",protocol="ipfix"}`: 12},
		},
		{
			name: "netflow v9 Cisco, IPFIX Cisco over IPv6",
			// the pcap times were set to 2023-01-01 by pmacct's tooling, the
			// headers say February and May 2023
			files: []string{
				"pmacct/101-NFv9-CISCO-cust_primitives/traffic-00.pcap",
				"pmacct/111-IPFIXv10-NFv9-IPv6-IPv4-mix_sources/traffic-01.pcap",
			},
			cfg:   decoder.Config{Exporters: exporters(1, memberEdge, "138.187.57.55", "2001:4d98:a100:303:0:931:f:1")},
			flows: 51 + 13, bytes: 4500 + 9820, packets: 56 + 16,
			// the IPFIX flows have uptime-relative times but no system init
			// time: they get the receive time, without error
			errors: map[string]float64{`ixpd_flow_decoder_errors_total{kind="bad_time",protocol="netflow9"}`: 51},
		},
		{
			name:  "netflow v9 from nDPI: templates never sent",
			files: []string{"ndpi/netflowv9.pcap"},
			// 23 data sets held; Expire at the end drops them
			metrics: map[string]float64{"ixpd_flow_decoder_held_sets_total": 23},
			errors:  map[string]float64{`ixpd_flow_decoder_errors_total{kind="template_missing",protocol="netflow9"}`: 23},
		},
		{
			name:  "ipfix from a Fritz!Box: templates only",
			files: []string{"ndpi/netflow-fritz.pcap"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dgs := readCaptures(t, tt.files...)
			d, reg := newDecoder(t, tt.cfg)
			got, _ := decodeAll(d, dgs)
			d.Expire(dgs[len(dgs)-1].t.Add(time.Hour))

			if len(tt.first) > 0 {
				n := min(len(got), len(tt.first))
				if diff := cmp.Diff(got[:n], tt.first, cmpFlows); diff != "" {
					t.Errorf("first flows (-got +want):\n%s", diff)
				}
			}
			bytes, packets := sums(got)
			if diff := cmp.Diff([3]uint64{uint64(len(got)), bytes, packets}, [3]uint64{uint64(tt.flows), tt.bytes, tt.packets}); diff != "" {
				t.Errorf("flows, bytes, packets (-got +want):\n%s", diff)
			}
			metrics := metricValues(t, reg)
			gotErrors := map[string]float64{}
			for k, v := range metrics {
				if strings.HasPrefix(k, "ixpd_flow_decoder_errors_total") {
					gotErrors[k] = v
				}
			}
			want := tt.errors
			if want == nil {
				want = map[string]float64{}
			}
			if diff := cmp.Diff(gotErrors, want); diff != "" {
				t.Errorf("errors (-got +want):\n%s", diff)
			}
			for k, v := range tt.metrics {
				if metrics[k] != v {
					t.Errorf("%s = %v, want %v", k, metrics[k], v)
				}
			}
		})
	}
}
