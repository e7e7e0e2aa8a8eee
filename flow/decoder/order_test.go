package decoder_test

import (
	"errors"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/ixpd/ixpd/flow"
	"github.com/ixpd/ixpd/flow/decoder"
)

// The Cisco NCS55xx capture: options template and data (samplers 1 and 2,
// 1:2000 and 1:4000), data template 328, one data set of 12 flows (1324
// bytes) of which 11 use sampler 1.
const (
	msrOptionsTemplate = "akvorado-netflow/multiplesamplingrates-options-template.pcap"
	msrOptionsData     = "akvorado-netflow/multiplesamplingrates-options-data.pcap"
	msrTemplate        = "akvorado-netflow/multiplesamplingrates-template.pcap"
	msrData            = "akvorado-netflow/multiplesamplingrates-data.pcap"
	msrDataSetLen      = 1324 - 4
	msrFlows           = 12
	msrBytes           = 13470*2000 + 1348*4000
)

// step is one datagram given to the decoder, and what must come out.
type step struct {
	file    string
	at      time.Duration // after the start
	flows   int
	bytes   uint64
	kind    decoder.ErrorKind // of the returned error, "" for none
	expire  bool              // call Expire at this time instead of Decode
	dropped int               // what Expire returns
}

func runSteps(t *testing.T, cfg decoder.Config, steps []step) (*decoder.Decoder, map[string]float64) {
	t.Helper()
	files := map[string]datagram{}
	for _, s := range steps {
		if s.file != "" {
			dgs := readCaptures(t, s.file)
			if len(dgs) != 1 {
				t.Fatalf("%s: %d datagrams, want 1", s.file, len(dgs))
			}
			files[s.file] = dgs[0]
		}
	}
	d, reg := newDecoder(t, cfg)
	start := time.Date(2023, 11, 30, 16, 16, 15, 0, time.UTC) // the exporter's clock
	for i, s := range steps {
		now := start.Add(s.at)
		if s.expire {
			if got := d.Expire(now); got != s.dropped {
				t.Errorf("step %d: Expire = %d, want %d", i, got, s.dropped)
			}
			continue
		}
		dg := files[s.file]
		got, err := d.Decode(dg.src, now, dg.payload, nil)
		bytes, _ := sums(got)
		if len(got) != s.flows || bytes != s.bytes {
			t.Errorf("step %d (%s): %d flows, %d bytes; want %d, %d", i, s.file, len(got), bytes, s.flows, s.bytes)
		}
		var kind decoder.ErrorKind
		var de *decoder.Error
		if errors.As(err, &de) {
			kind = de.Kind
		} else if err != nil {
			t.Errorf("step %d: error %v is not a *decoder.Error", i, err)
		}
		if kind != s.kind {
			t.Errorf("step %d (%s): error %v, want kind %q", i, s.file, err, s.kind)
		}
	}
	return d, metricValues(t, reg)
}

func TestHoldUntilTemplate(t *testing.T) {
	tests := []struct {
		name    string
		cfg     decoder.Config
		steps   []step
		metrics map[string]float64 // held, decoded, dropped sets and held bytes
	}{
		{
			name: "data before its template",
			steps: []step{
				{file: msrOptionsTemplate},
				{file: msrOptionsData},
				{file: msrData, at: time.Second}, // held
				{file: msrTemplate, at: 2 * time.Second, flows: msrFlows, bytes: msrBytes}, // released
			},
			metrics: map[string]float64{
				"ixpd_flow_decoder_held_sets_total":         1,
				"ixpd_flow_decoder_held_sets_decoded_total": 1,
			},
		},
		{
			name: "everything reversed: options data before their template too",
			steps: []step{
				{file: msrData},
				{file: msrOptionsData},
				{file: msrOptionsTemplate, at: time.Second}, // options released: rates known
				{file: msrTemplate, at: 2 * time.Second, flows: msrFlows, bytes: msrBytes}, // data released
			},
			metrics: map[string]float64{
				"ixpd_flow_decoder_held_sets_total":         2,
				"ixpd_flow_decoder_held_sets_decoded_total": 2,
			},
		},
		{
			name: "template timeout, noticed by the next datagram of the exporter",
			cfg:  decoder.Config{HoldTimeout: 10 * time.Second},
			steps: []step{
				{file: msrOptionsTemplate},
				{file: msrOptionsData},
				{file: msrData},
				{file: msrOptionsData, at: 11 * time.Second, kind: decoder.KindTemplateMissing},
				{file: msrTemplate, at: 12 * time.Second},
			},
			metrics: map[string]float64{
				"ixpd_flow_decoder_held_sets_total":                                           1,
				`ixpd_flow_decoder_errors_total{kind="template_missing",protocol="netflow9"}`: 1,
			},
		},
		{
			name: "template timeout, found by Expire",
			cfg:  decoder.Config{HoldTimeout: 10 * time.Second},
			steps: []step{
				{file: msrData},
				{file: msrData, at: time.Second},
				{expire: true, at: 10 * time.Second, dropped: 0},
				{expire: true, at: 10*time.Second + time.Millisecond, dropped: 1},
				{expire: true, at: 12 * time.Second, dropped: 1},
			},
			metrics: map[string]float64{
				"ixpd_flow_decoder_held_sets_total":                                           2,
				"ixpd_flow_decoder_netflow_exporters":                                         1,
				`ixpd_flow_decoder_errors_total{kind="template_missing",protocol="netflow9"}`: 2,
			},
		},
		{
			name: "bound on held sets: the oldest go",
			cfg:  decoder.Config{HoldSets: 2},
			steps: []step{
				{file: msrOptionsTemplate},
				{file: msrOptionsData},
				{file: msrData},
				{file: msrData},
				{file: msrData, kind: decoder.KindTemplateMissing},
				{file: msrData, kind: decoder.KindTemplateMissing},
				{file: msrTemplate, flows: 2 * msrFlows, bytes: 2 * msrBytes},
			},
			metrics: map[string]float64{
				"ixpd_flow_decoder_held_sets_total":                                           4,
				"ixpd_flow_decoder_held_sets_decoded_total":                                   2,
				`ixpd_flow_decoder_errors_total{kind="template_missing",protocol="netflow9"}`: 2,
			},
		},
		{
			name: "bound on held bytes",
			cfg:  decoder.Config{HoldBytes: 2*msrDataSetLen + 10},
			steps: []step{
				{file: msrOptionsTemplate},
				{file: msrOptionsData},
				{file: msrData},
				{file: msrData},
				{file: msrData, kind: decoder.KindTemplateMissing},
				{file: msrTemplate, flows: 2 * msrFlows, bytes: 2 * msrBytes},
			},
			metrics: map[string]float64{
				"ixpd_flow_decoder_held_sets_total":                                           3,
				"ixpd_flow_decoder_held_sets_decoded_total":                                   2,
				`ixpd_flow_decoder_errors_total{kind="template_missing",protocol="netflow9"}`: 1,
			},
		},
		{
			name: "a set larger than the bound is dropped at once",
			cfg:  decoder.Config{HoldBytes: 1000},
			steps: []step{
				{file: msrData, kind: decoder.KindTemplateMissing},
				{file: msrTemplate},
			},
			metrics: map[string]float64{
				`ixpd_flow_decoder_errors_total{kind="template_missing",protocol="netflow9"}`: 1,
			},
		},
		{
			name: "held bytes are reported while held",
			steps: []step{
				{file: msrData},
			},
			metrics: map[string]float64{
				"ixpd_flow_decoder_held_sets_total": 1,
				"ixpd_flow_decoder_held_bytes":      msrDataSetLen,
			},
		},
		{
			name: "an exporter silent too long is forgotten with its templates",
			cfg:  decoder.Config{ExporterTimeout: time.Minute},
			steps: []step{
				{file: msrOptionsTemplate},
				{file: msrOptionsData},
				{file: msrTemplate},
				{file: msrData, flows: msrFlows, bytes: msrBytes},
				{expire: true, at: 2 * time.Minute},
				{file: msrData, at: 2 * time.Minute}, // held again
			},
			metrics: map[string]float64{
				"ixpd_flow_decoder_held_sets_total":   1,
				"ixpd_flow_decoder_netflow_exporters": 1,
				"ixpd_flow_decoder_held_bytes":        msrDataSetLen,
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, metrics := runSteps(t, tt.cfg, tt.steps)
			// the listed metrics, and every held-set and error metric
			got := map[string]float64{}
			for k := range tt.metrics {
				got[k] = metrics[k]
			}
			for k, v := range metrics {
				if strings.HasPrefix(k, "ixpd_flow_decoder_held_") || strings.HasPrefix(k, "ixpd_flow_decoder_errors_total") {
					got[k] = v
				}
			}
			if diff := cmp.Diff(got, tt.metrics); diff != "" {
				t.Errorf("metrics (-got +want):\n%s", diff)
			}
		})
	}
}

// TestHeldFlowsKeepTheirReceiveTime checks that a held data set's flows
// carry the time their datagram was received, not the template's.
func TestHeldFlowsKeepTheirReceiveTime(t *testing.T) {
	dgs := readCaptures(t, msrOptionsTemplate, msrOptionsData, msrData, msrTemplate)
	d, _ := newDecoder(t, decoder.Config{})
	t0 := time.Date(2023, 11, 30, 16, 16, 15, 0, time.UTC)
	var out []flow.Flow
	for i, dg := range dgs {
		var err error
		out, err = d.Decode(dg.src, t0.Add(time.Duration(i)*time.Second), dg.payload, out)
		if err != nil {
			t.Fatal(err)
		}
	}
	if len(out) != msrFlows {
		t.Fatalf("%d flows, want %d", len(out), msrFlows)
	}
	for _, f := range out {
		if want := t0.Add(2 * time.Second); !f.TimeReceived.Equal(want) {
			t.Fatalf("TimeReceived %v, want %v", f.TimeReceived, want)
		}
	}
}

// TestConcurrentExporters decodes the datagrams of several exporters from
// several goroutines while Expire runs (meaningful under -race).
func TestConcurrentExporters(t *testing.T) {
	dgs := readCaptures(t, msrOptionsTemplate, msrOptionsData, msrTemplate, msrData,
		"akvorado-sflow/data-1140.pcap", "akvorado-netflow/nfv5.pcap")
	d, _ := newDecoder(t, decoder.Config{ExporterTimeout: time.Millisecond, MaxTimeSkew: 1000000 * time.Hour})
	const workers, rounds = 4, 50
	counts := make([]int, workers)
	done := make(chan struct{})
	go func() {
		defer close(done)
		for range rounds {
			d.Expire(time.Now())
		}
	}()
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			src := netip.AddrPortFrom(netip.AddrFrom4([4]byte{192, 0, 2, byte(w)}), 2055)
			var out []flow.Flow
			for range rounds {
				for _, dg := range dgs {
					out, _ = d.Decode(src, time.Now(), dg.payload, out[:0])
					counts[w] += len(out)
				}
			}
		})
	}
	wg.Wait()
	<-done
	for w, n := range counts {
		// per round: 12 NetFlow v9 flows (the exporter may have been forgotten
		// between its template and its data), 5 sFlow flows; NetFlow v5 has no rate
		if n < rounds*5 || n > rounds*(5+12) {
			t.Errorf("worker %d: %d flows", w, n)
		}
	}
}
