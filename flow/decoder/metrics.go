package decoder

import (
	"sync/atomic"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/ixpd/ixpd/flow"
)

// protocols lists every protocol label value, indexed by flow.Protocol.
var protocols = [...]flow.Protocol{
	flow.ProtocolUnknown, flow.ProtocolSFlow5, flow.ProtocolNetFlow5, flow.ProtocolNetFlow9, flow.ProtocolIPFIX,
}

// metrics are the decoder's Prometheus counters. Children are resolved once
// so that the per-datagram path does no label lookups.
type metrics struct {
	datagramsVec *prometheus.CounterVec
	flowsVec     *prometheus.CounterVec
	errorsVec    *prometheus.CounterVec

	datagrams [len(protocols)]prometheus.Counter
	flows     [len(protocols)]prometheus.Counter
	errors    [len(protocols)][len(errorKinds)]prometheus.Counter

	counterSamples   prometheus.Counter
	emptyRecords     prometheus.Counter
	unknownExporters prometheus.Counter
	heldSets         prometheus.Counter
	heldDecoded      prometheus.Counter
	heldBytes        prometheus.GaugeFunc
	exporters        prometheus.GaugeFunc
}

func newMetrics(heldBytes, exporters *atomic.Int64) *metrics {
	m := &metrics{
		datagramsVec: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "ixpd_flow_decoder_datagrams_total",
			Help: "Datagrams given to the decoder, by detected protocol (unknown when not detected).",
		}, []string{"protocol"}),
		flowsVec: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "ixpd_flow_decoder_flows_total",
			Help: "Flow records produced, by protocol.",
		}, []string{"protocol"}),
		errorsVec: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "ixpd_flow_decoder_errors_total",
			Help: "Decode problems by protocol and kind; template_missing counts dropped data sets, no_sampling_rate dropped flows, bad_time flows whose times were replaced.",
		}, []string{"protocol", "kind"}),
		counterSamples: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "ixpd_flow_decoder_sflow_counter_samples_total",
			Help: "sFlow counter samples skipped.",
		}),
		emptyRecords: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "ixpd_flow_decoder_empty_records_total",
			Help: "NetFlow/IPFIX data records skipped because they count no bytes and no packets (NAT events, idle biflow directions).",
		}),
		unknownExporters: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "ixpd_flow_decoder_unknown_exporter_datagrams_total",
			Help: "Datagrams from exporters that are not in the configuration (their flows get role unknown).",
		}),
		heldSets: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "ixpd_flow_decoder_held_sets_total",
			Help: "NetFlow v9/IPFIX data sets held because their template had not arrived yet.",
		}),
		heldDecoded: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "ixpd_flow_decoder_held_sets_decoded_total",
			Help: "Held data sets decoded once their template arrived (dropped ones are errors_total{kind=\"template_missing\"}).",
		}),
		heldBytes: prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "ixpd_flow_decoder_held_bytes",
			Help: "Bytes of data sets held, waiting for their template.",
		}, func() float64 { return float64(heldBytes.Load()) }),
		exporters: prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "ixpd_flow_decoder_netflow_exporters",
			Help: "NetFlow v9/IPFIX exporters whose templates and sampling rates are kept.",
		}, func() float64 { return float64(exporters.Load()) }),
	}
	for i, p := range protocols {
		m.datagrams[i] = m.datagramsVec.WithLabelValues(p.String())
		m.flows[i] = m.flowsVec.WithLabelValues(p.String())
		for j, k := range errorKinds {
			m.errors[i][j] = m.errorsVec.WithLabelValues(p.String(), string(k))
		}
	}
	return m
}

func (m *metrics) register(reg prometheus.Registerer) error {
	for _, c := range []prometheus.Collector{
		m.datagramsVec, m.flowsVec, m.errorsVec, m.counterSamples, m.emptyRecords,
		m.unknownExporters, m.heldSets, m.heldDecoded, m.heldBytes, m.exporters,
	} {
		if err := reg.Register(c); err != nil {
			return err
		}
	}
	return nil
}

// countError counts one problem of kind k for protocol p.
func (m *metrics) countError(p flow.Protocol, k ErrorKind) {
	m.countErrors(p, k, 1)
}

// countErrors counts n problems of kind k for protocol p.
func (m *metrics) countErrors(p flow.Protocol, k ErrorKind, n int) {
	if int(p) >= len(protocols) {
		p = flow.ProtocolUnknown
	}
	for j, kk := range errorKinds {
		if kk == k {
			m.errors[p][j].Add(float64(n))
			return
		}
	}
}
