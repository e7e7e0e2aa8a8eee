package routeserver

import (
	"context"
	"errors"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// metrics reads the route server's state at scrape time, as GoBGP's own
// collector does, and keeps counters for events.
type metrics struct {
	c                  *Component
	state              *prometheus.Desc
	routes             *prometheus.Desc
	maxPrefixTeardowns *prometheus.CounterVec
	scrapeErrors       prometheus.Counter
	dataLoads          *prometheus.CounterVec
	rpkiRevalidations  prometheus.Counter
}

func newMetrics(c *Component) *metrics {
	return &metrics{
		c: c,
		state: prometheus.NewDesc("ixpd_routeserver_neighbor_up", "1 when the BGP session with the neighbor is established.",
			[]string{"neighbor", "asn"}, nil),
		routes: prometheus.NewDesc("ixpd_routeserver_neighbor_routes", "Routes per neighbor: received, accepted, filtered, exported.",
			[]string{"neighbor", "asn", "kind"}, nil),
		maxPrefixTeardowns: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "ixpd_routeserver_max_prefix_teardowns_total",
			Help: "Sessions torn down for exceeding their max-prefix limit."}, []string{"neighbor"}),
		scrapeErrors: prometheus.NewCounter(prometheus.CounterOpts{Name: "ixpd_routeserver_scrape_errors_total",
			Help: "Scrapes that could not read the route server's state."}),
		dataLoads: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "ixpd_routeserver_data_loads_total",
			Help: "Loads of filter data files by source (irr, peeringdb, vrp_file) and result (ok, error)."}, []string{"source", "result"}),
		rpkiRevalidations: prometheus.NewCounter(prometheus.CounterOpts{Name: "ixpd_routeserver_rpki_revalidations_total",
			Help: "Times every route was validated again because the VRPs changed."}),
	}
}

// Describe implements prometheus.Collector.
func (m *metrics) Describe(ch chan<- *prometheus.Desc) {
	ch <- m.state
	ch <- m.routes
	m.maxPrefixTeardowns.Describe(ch)
	m.scrapeErrors.Describe(ch)
	m.dataLoads.Describe(ch)
	m.rpkiRevalidations.Describe(ch)
}

// Collect implements prometheus.Collector.
func (m *metrics) Collect(ch chan<- prometheus.Metric) {
	m.maxPrefixTeardowns.Collect(ch)
	m.dataLoads.Collect(ch)
	m.rpkiRevalidations.Collect(ch)
	defer m.scrapeErrors.Collect(ch)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	ns, err := m.c.Neighbors(ctx)
	if errors.Is(err, ErrNotRunning) {
		return
	}
	if err != nil {
		m.scrapeErrors.Inc()
		return
	}
	for _, n := range ns {
		asn := formatASN(n.ASN)
		up := 0.0
		if n.State == "established" {
			up = 1
		}
		ch <- prometheus.MustNewConstMetric(m.state, prometheus.GaugeValue, up, n.ID, asn)
		for kind, v := range map[string]int{"received": n.Routes.Received, "accepted": n.Routes.Accepted,
			"filtered": n.Routes.Filtered, "exported": n.Routes.Exported} {
			ch <- prometheus.MustNewConstMetric(m.routes, prometheus.GaugeValue, float64(v), n.ID, asn, kind)
		}
	}
}
