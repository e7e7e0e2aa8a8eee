package enrich

import (
	"errors"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/ixpd/ixpd/flow"
)

// metrics are the enricher's counters. The per-flow ones are resolved to their label values once, so
// that counting is a single atomic add.
type metrics struct {
	flows          [flow.RoleMemberEdge + 1]prometheus.Counter // by role
	unknownMember  [2]prometheus.Counter                       // ixp_switch samples, by end (src, dst)
	sameMember     prometheus.Counter
	unknownPath    prometheus.Counter
	unknownCountry [2]prometheus.Counter // by end (src, dst)
	rirLines       *prometheus.CounterVec
}

// newMetrics creates the metrics and registers them with reg (nil: not registered). Registering
// again on the same registerer, as a reload that builds a new Enricher does, reuses the counters
// already there.
func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	flows, err := register(reg, prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "ixpd_flow_enrich_flows_total",
		Help: "Flows enriched, by the role of their exporter (unknown: not in the configuration).",
	}, []string{"role"}))
	if err != nil {
		return nil, err
	}
	unknownMember, err := register(reg, prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "ixpd_flow_enrich_unknown_member_samples_total",
		Help: "Peering-LAN switch samples whose source or destination MAC and address match no member, by end.",
	}, []string{"end"}))
	if err != nil {
		return nil, err
	}
	sameMember, err := register(reg, prometheus.NewCounter(prometheus.CounterOpts{
		Name: "ixpd_flow_enrich_same_member_samples_total",
		Help: "Peering-LAN switch samples whose two ends are the same member (not IXP-exchanged).",
	}))
	if err != nil {
		return nil, err
	}
	unknownPath, err := register(reg, prometheus.NewCounter(prometheus.CounterOpts{
		Name: "ixpd_flow_enrich_unknown_path_flows_total",
		Help: "Member-edge flows whose interface roles give no path class (an interface missing from the configuration).",
	}))
	if err != nil {
		return nil, err
	}
	unknownCountry, err := register(reg, prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "ixpd_flow_enrich_unknown_country_total",
		Help: "Flows with an end whose country is not known, by end.",
	}, []string{"end"}))
	if err != nil {
		return nil, err
	}
	rirLines, err := register(reg, prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "ixpd_flow_enrich_rir_lines_skipped_total",
		Help: "Records of the RIR delegated files not loaded, by file and reason (malformed, not_delegated).",
	}, []string{"file", "reason"}))
	if err != nil {
		return nil, err
	}
	m := &metrics{
		sameMember:  sameMember,
		unknownPath: unknownPath,
		rirLines:    rirLines,
	}
	for _, r := range []flow.Role{flow.RoleUnknown, flow.RoleIXPSwitch, flow.RoleMemberEdge} {
		m.flows[r] = flows.WithLabelValues(r.String())
	}
	for i, end := range []string{"src", "dst"} {
		m.unknownMember[i] = unknownMember.WithLabelValues(end)
		m.unknownCountry[i] = unknownCountry.WithLabelValues(end)
	}
	return m, nil
}

// register registers c with reg, or returns the collector of the same description already there.
func register[C prometheus.Collector](reg prometheus.Registerer, c C) (C, error) {
	if reg == nil {
		return c, nil
	}
	err := reg.Register(c)
	if err == nil {
		return c, nil
	}
	var already prometheus.AlreadyRegisteredError
	if errors.As(err, &already) {
		if existing, ok := already.ExistingCollector.(C); ok {
			return existing, nil
		}
	}
	return c, err
}
