package latency

import (
	"context"
	"flag"
	"testing"
	"time"
)

var benchDuration = flag.Duration("latency.bench-duration", 30*time.Second,
	"how long BenchmarkScheduler1000 probes with each scheduler")

// BenchmarkScheduler1000 probes 1,000 targets once a second with the
// prober's timer heap and, as the anchor, with a goroutine and ticker per
// target, and reports how late probes leave:
//
//	go test -run '^$' -bench Scheduler1000 -benchtime 1x ./analytics/latency/ -latency.bench-duration 30s
func BenchmarkScheduler1000(b *testing.B) {
	methods := []string{MethodTWAMP}
	if s, err := openICMP(false, time.Second); err == nil {
		s.close()
		methods = append(methods, MethodICMP)
	}
	for _, method := range methods {
		b.Run(method, func(b *testing.B) {
			results := map[string]BenchResult{}
			for _, sched := range []string{SchedulerHeap, SchedulerTickers} {
				r, err := RunSchedulerBench(context.Background(), discardLogger(),
					BenchOptions{Targets: 1000, Duration: *benchDuration, Method: method, Scheduler: sched})
				if err != nil {
					b.Fatal(err)
				}
				b.Log(r)
				results[sched] = r
			}
			h, a := results[SchedulerHeap], results[SchedulerTickers]
			b.ReportMetric(float64(h.Late.P50.Microseconds()), "p50-late-µs")
			b.ReportMetric(float64(h.Late.P99.Microseconds()), "p99-late-µs")
			b.ReportMetric(float64(h.Late.Max.Microseconds()), "max-late-µs")
			b.ReportMetric(h.CPUPercent, "cpu-%")
			b.ReportMetric(h.HeapMiB, "heap-MiB")
			if h.Late.P99 > 0 {
				b.ReportMetric(float64(a.Late.P99)/float64(h.Late.P99), "p99-tickers/heap")
			}
			if h.CPU > 0 {
				b.ReportMetric(float64(a.CPU)/float64(h.CPU), "cpu-tickers/heap")
			}
		})
	}
}

// TestSchedulerBenchShort runs the bench briefly so that it stays
// working; the figures are the benchmark's business. Only -short skips it
// (make test-short); CI runs it.
func TestSchedulerBenchShort(t *testing.T) {
	if testing.Short() {
		t.Skip("short")
	}
	for _, sched := range []string{SchedulerHeap, SchedulerTickers} {
		r, err := RunSchedulerBench(context.Background(), discardLogger(),
			BenchOptions{Targets: 200, Interval: 100 * time.Millisecond, Duration: 1500 * time.Millisecond, Scheduler: sched})
		if err != nil {
			t.Fatal(err)
		}
		t.Log(r)
		if r.Received == 0 || r.Received+r.Received/20 < r.Sent {
			t.Errorf("%s: %d of %d answered", sched, r.Received, r.Sent)
		}
	}
}
