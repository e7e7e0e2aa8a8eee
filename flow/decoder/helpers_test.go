package decoder_test

import (
	"net"
	"net/netip"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/ixpd/ixpd/flow"
	"github.com/ixpd/ixpd/flow/decoder"
)

// cmpFlows compares flows; netip.Addr has unexported fields.
var cmpFlows = cmp.Comparer(func(a, b netip.Addr) bool { return a == b })

func addr(s string) netip.Addr { return netip.MustParseAddr(s) }

// hw returns a MAC address as flow.Flow keeps it.
func hw(s string) uint64 {
	m, err := net.ParseMAC(s)
	if err != nil || len(m) != 6 {
		panic("bad MAC " + s)
	}
	var v uint64
	for _, b := range m {
		v = v<<8 | uint64(b)
	}
	return v
}

// at returns a UTC time from Unix seconds and nanoseconds.
func at(sec, nsec int64) time.Time { return time.Unix(sec, nsec).UTC() }

// newDecoder returns a decoder registered with a fresh registry.
func newDecoder(tb testing.TB, cfg decoder.Config) (*decoder.Decoder, *prometheus.Registry) {
	tb.Helper()
	reg := prometheus.NewRegistry()
	d, err := decoder.New(reg, cfg)
	if err != nil {
		tb.Fatal(err)
	}
	return d, reg
}

// decodeAll feeds the datagrams in order and returns every flow and the
// error of each datagram.
func decodeAll(d *decoder.Decoder, dgs []datagram) ([]flow.Flow, []error) {
	var (
		all  []flow.Flow
		errs []error
	)
	for _, dg := range dgs {
		var err error
		all, err = d.Decode(dg.src, dg.t, dg.payload, all)
		errs = append(errs, err)
	}
	return all, errs
}

// metricValues returns the non-zero counters and gauges of reg, keyed as
// name{label="value",...} with labels sorted.
func metricValues(tb testing.TB, reg *prometheus.Registry) map[string]float64 {
	tb.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		tb.Fatal(err)
	}
	out := map[string]float64{}
	for _, mf := range mfs {
		for _, m := range mf.GetMetric() {
			var v float64
			switch {
			case m.GetCounter() != nil:
				v = m.GetCounter().GetValue()
			case m.GetGauge() != nil:
				v = m.GetGauge().GetValue()
			}
			if v == 0 {
				continue
			}
			labels := make([]string, 0, len(m.GetLabel()))
			for _, l := range m.GetLabel() {
				labels = append(labels, l.GetName()+`="`+l.GetValue()+`"`)
			}
			sort.Strings(labels)
			key := mf.GetName()
			if len(labels) > 0 {
				key += "{" + strings.Join(labels, ",") + "}"
			}
			out[key] = v
		}
	}
	return out
}

// sums returns the total bytes and packets of flows.
func sums(flows []flow.Flow) (bytes, packets uint64) {
	for i := range flows {
		bytes += flows[i].Bytes
		packets += flows[i].Packets
	}
	return bytes, packets
}
