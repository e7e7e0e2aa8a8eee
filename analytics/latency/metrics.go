package latency

import (
	"fmt"

	"github.com/prometheus/client_golang/prometheus"
)

type metrics struct {
	targets       *prometheus.GaugeVec
	sent          *prometheus.CounterVec
	answers       *prometheus.CounterVec
	ignored       *prometheus.CounterVec
	probeErrors   *prometheus.CounterVec
	skipped       *prometheus.CounterVec
	scheduleDelay prometheus.Histogram
	binsWritten   prometheus.Counter
	binsDropped   prometheus.Counter
	binsQueued    prometheus.Gauge
	sinkErrors    prometheus.Counter
}

// Reasons of the counters.
const (
	reasonUnmatched = "unmatched" // not ours, or its probe had timed out
	reasonLate      = "late"      // matched, but after the timeout or its bin
	reasonMalformed = "malformed"
	reasonSend      = "send"
	reasonRefused   = "refused"
	reasonTimeout   = "timeout"
	reasonOther     = "other"
	reasonBehind    = "behind"   // the scheduler could not keep up
	reasonTCPBusy   = "tcp_busy" // every TCP worker was busy
)

func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	m := &metrics{
		targets: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "ixpd_analytics_latency_targets",
			Help: "Targets probed, by method.",
		}, []string{"method"}),
		sent: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "ixpd_analytics_latency_probes_sent_total",
			Help: "Probes sent (TCP: connects started), by method.",
		}, []string{"method"}),
		answers: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "ixpd_analytics_latency_answers_total",
			Help: "Answers counted, by method and by the clock of their receive time (kernel or user).",
		}, []string{"method", "timestamp"}),
		ignored: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "ixpd_analytics_latency_answers_ignored_total",
			Help: "Answers not counted, by method and reason (unmatched, late, malformed).",
		}, []string{"method", "reason"}),
		probeErrors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "ixpd_analytics_latency_probe_errors_total",
			Help: "Probes that failed (and count as lost), by method and reason.",
		}, []string{"method", "reason"}),
		skipped: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "ixpd_analytics_latency_probes_skipped_total",
			Help: "Probe slots skipped and not counted as sent, by reason (behind, tcp_busy).",
		}, []string{"reason"}),
		scheduleDelay: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "ixpd_analytics_latency_schedule_delay_seconds",
			Help:    "How late probes leave after their slot.",
			Buckets: prometheus.ExponentialBuckets(50e-6, 2, 15),
		}),
		binsWritten: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "ixpd_analytics_latency_bins_written_total",
			Help: "Completed bins written to the store.",
		}),
		binsDropped: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "ixpd_analytics_latency_bins_dropped_total",
			Help: "Completed bins dropped, oldest first, while the store failed and the queue was full.",
		}),
		binsQueued: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "ixpd_analytics_latency_bins_queued",
			Help: "Completed bins waiting for the store.",
		}),
		sinkErrors: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "ixpd_analytics_latency_store_errors_total",
			Help: "Failed writes of bins to the store (the bins are kept and retried).",
		}),
	}
	for _, c := range []prometheus.Collector{m.targets, m.sent, m.answers, m.ignored, m.probeErrors, m.skipped,
		m.scheduleDelay, m.binsWritten, m.binsDropped, m.binsQueued, m.sinkErrors} {
		if err := reg.Register(c); err != nil {
			return nil, fmt.Errorf("register latency prober metrics: %w", err)
		}
	}
	for _, method := range []string{MethodICMP, MethodTCP, MethodTWAMP} {
		m.sent.WithLabelValues(method)
		for _, r := range []string{reasonUnmatched, reasonLate, reasonMalformed} {
			m.ignored.WithLabelValues(method, r)
		}
	}
	for _, r := range []string{reasonBehind, reasonTCPBusy} {
		m.skipped.WithLabelValues(r)
	}
	return m, nil
}
