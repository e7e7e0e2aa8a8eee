package decoder_test

import (
	"errors"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/ixpd/ixpd/flow"
	"github.com/ixpd/ixpd/flow/decoder"
)

// FuzzDecode feeds arbitrary datagrams to a fresh decoder, twice (so that
// templates of the first pass apply to the data of the second), then
// expires everything. The seed corpus is every datagram of the shared
// captures and payloads, when they are there; crashers are kept under
// testdata/fuzz/FuzzDecode.
func FuzzDecode(f *testing.F) {
	if _, err := os.Stat(dataDir); err == nil {
		captures, _ := filepath.Glob(filepath.Join(dataDir, "*", "*.pcap"))
		pmacct, _ := filepath.Glob(filepath.Join(dataDir, "pmacct", "*", "*.pcap"))
		for _, c := range slices.Concat(captures, pmacct) {
			for _, dg := range readCapture(f, c) {
				f.Add(dg.payload)
			}
		}
		payloads, _ := filepath.Glob(filepath.Join(dataDir, "payloads", "*", "*"))
		more, _ := filepath.Glob(filepath.Join(dataDir, "payloads", "*", "*", "*"))
		for _, p := range slices.Concat(payloads, more) {
			if b, err := os.ReadFile(p); err == nil {
				f.Add(b)
			}
		}
	}
	src := netip.MustParseAddrPort("192.0.2.1:2055")
	kinds := []decoder.ErrorKind{
		decoder.KindTruncated, decoder.KindUnknownVersion, decoder.KindMalformed, decoder.KindTemplateMissing,
		decoder.KindNoSamplingRate, decoder.KindBadTime, decoder.KindUnsupported, decoder.KindLimit,
	}
	t0 := time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, payload []byte) {
		d, err := decoder.New(nil, decoder.Config{
			Exporters:   map[netip.Addr]decoder.Exporter{src.Addr(): {Role: flow.RoleMemberEdge, SamplingRate: 7}},
			MaxTimeSkew: time.Hour,
		})
		if err != nil {
			t.Fatal(err)
		}
		var out []flow.Flow
		for i := range 2 {
			now := t0.Add(time.Duration(i) * time.Second)
			out, err = d.Decode(src, now, payload, out[:0])
			var de *decoder.Error
			if err != nil && (!errors.As(err, &de) || !slices.Contains(kinds, de.Kind)) {
				t.Fatalf("error %v (%T) is not a *decoder.Error of a known kind", err, err)
			}
			for _, fl := range out {
				// a held set of the first pass carries the first time
				if !fl.TimeReceived.Equal(now) && !fl.TimeReceived.Equal(t0) || fl.SamplingRate == 0 || fl.Protocol == flow.ProtocolUnknown {
					t.Fatalf("bad flow %+v", fl)
				}
				tr := fl.TimeReceived
				if fl.TimeStart.Before(tr.Add(-time.Hour)) || fl.TimeEnd.After(tr.Add(time.Hour)) || fl.TimeEnd.Before(fl.TimeStart) {
					t.Fatalf("flow times %v..%v out of the window around %v", fl.TimeStart, fl.TimeEnd, tr)
				}
			}
		}
		d.Expire(t0.Add(24 * time.Hour))
	})
}
