package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"math"
	"math/rand/v2"
	"net/http"
	"net/netip"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/ixpd/ixpd/analytics"
	"github.com/ixpd/ixpd/analytics/clickhouse"
	"github.com/ixpd/ixpd/analytics/duckdb"
	"github.com/ixpd/ixpd/flow"
)

// api-bench stores.
const (
	storeDuckDB     = "duckdb"
	storeClickHouse = "clickhouse"
	apiBenchToken   = "ixpsim-api-bench-token-0123456789"
	apiBenchDB      = "ixpd_apibench"
)

// apiBenchOptions are api-bench's flags.
type apiBenchOptions struct {
	stores          []string
	members         int
	duckdbFlows     int
	clickhouseFlows int
	batch           int
	edgeShare       float64
	requests        int
	runs            int
	json            bool
	ixpdBin         string
	clickhouse      string
	profileDir      string
	keep            bool
	seed            uint64
}

func parseAPIBenchFlags(args []string, stderr io.Writer) (*apiBenchOptions, error) {
	o := &apiBenchOptions{}
	fs := flag.NewFlagSet("api-bench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		_, _ = fmt.Fprint(stderr, `usage: ixpsim api-bench [flags]

Loads the last full month (the month before the current one, UTC) of flows
for the members into each store through the Go store API (WriteFlows in big
batches): IXP-exchanged flows between random member pairs on a diurnal
curve, plus member-edge domestic flows. Then starts "ixpd run" on the store
and times sequential requests over loopback to the traffic summary, the
traffic matrix (with a token), savings and map.geojson for that month.
As the anchor, the bench times the store queries each endpoint's handler
makes, through the same Go store API in its own process, before each ixpd
run. Reports the load rate and p50/p95 per endpoint and store, with
-runs N the median of N runs (ixpd started anew each run, the store
loaded once), and the API's p95 over the store's.

`)
		fs.PrintDefaults()
	}
	var stores string
	fs.StringVar(&stores, "stores", "duckdb,clickhouse", "stores to run, in order")
	fs.IntVar(&o.members, "members", 50, "members")
	fs.IntVar(&o.duckdbFlows, "duckdb-flows", 10_000_000, "raw flows loaded into DuckDB")
	fs.IntVar(&o.clickhouseFlows, "clickhouse-flows", 20_000_000, "raw flows loaded into ClickHouse (100000000 for the issue's 100M: ~2.5 min of load on 2 cores)")
	fs.IntVar(&o.batch, "batch", 100_000, "flows per WriteFlows call")
	fs.Float64Var(&o.edgeShare, "edge-share", 0.1, "share of the flows that are member-edge domestic flows")
	fs.IntVar(&o.requests, "requests", 50, "timed requests per endpoint (after one first request, reported apart)")
	fs.IntVar(&o.runs, "runs", 1, "runs of the store anchor and ixpd on the loaded stores; figures are the median")
	fs.BoolVar(&o.json, "json", false, "print results as JSON")
	fs.StringVar(&o.ixpdBin, "ixpd", "bin/ixpd", "ixpd binary")
	fs.StringVar(&o.clickhouse, "clickhouse", "", "clickhouse-server binary (\"\": found on $PATH or /usr/sbin)")
	fs.StringVar(&o.profileDir, "profile-dir", "", "write ixpd's CPU profile for each store here (ixpd run -cpuprofile)")
	fs.BoolVar(&o.keep, "keep", false, "keep the work folder (the loaded stores)")
	fs.Uint64Var(&o.seed, "seed", 1, "random seed of the generated flows")
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	for s := range strings.SplitSeq(stores, ",") {
		s = strings.TrimSpace(s)
		if s != storeDuckDB && s != storeClickHouse {
			return nil, fmt.Errorf("-stores: %q is not duckdb or clickhouse", s)
		}
		o.stores = append(o.stores, s)
	}
	if o.members < 2 {
		return nil, errors.New("-members: need at least 2")
	}
	if o.batch < 1 || o.requests < 1 || o.runs < 1 {
		return nil, errors.New("-batch, -requests and -runs must be positive")
	}
	if o.edgeShare < 0 || o.edgeShare > 1 {
		return nil, errors.New("-edge-share: want 0..1")
	}
	return o, nil
}

// endpointTiming is the timing of one endpoint.
type endpointTiming struct {
	Endpoint   string  `json:"endpoint"`
	FirstMs    float64 `json:"first_ms"` // the first request (cold caches; uncached map feed)
	P50Ms      float64 `json:"p50_ms"`
	P95Ms      float64 `json:"p95_ms"`
	MaxMs      float64 `json:"max_ms"`
	Requests   int     `json:"requests"`
	BodyBytes  int     `json:"body_bytes"`
	CheckValue string  `json:"check"` // what the answer held, to show it is not empty
	// The anchor: the store queries the endpoint's handler makes, timed
	// in the bench's process on the same store (first, then -requests
	// more), and the API's figures over them.
	StoreFirstMs      float64 `json:"store_first_ms"`
	StoreP50Ms        float64 `json:"store_p50_ms"`
	StoreP95Ms        float64 `json:"store_p95_ms"`
	FirstOverStoreP50 float64 `json:"first_over_store_p50"`
	P95OverStoreP95   float64 `json:"p95_over_store_p95"`
}

// storeRun is one store's result.
type storeRun struct {
	Store       string  `json:"store"`
	Month       string  `json:"month"`
	Flows       int     `json:"flows"`
	LoadSeconds float64 `json:"load_seconds"`
	LoadRate    float64 `json:"load_flows_per_second"`
	// Endpoints are the medians over EachRun (the ratios: the median of
	// each run's).
	Endpoints []endpointTiming   `json:"endpoints"`
	EachRun   [][]endpointTiming `json:"each_run,omitempty"`
	Err       string             `json:"error,omitempty"`
}

// apiReport is api-bench's result.
type apiReport struct {
	Month     string     `json:"month"`
	Members   int        `json:"members"`
	Requests  int        `json:"requests"`
	RunCount  int        `json:"run_count"`
	CPUs      int        `json:"cpus"`
	GoalP95Ms int        `json:"goal_p95_ms"`
	Runs      []storeRun `json:"runs"` // one per store
}

func apiBenchCmd(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	o, err := parseAPIBenchFlags(args, stderr)
	if err != nil {
		return err
	}
	rep, err := runAPIBench(ctx, o, stderr)
	if err != nil {
		return err
	}
	if o.json {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(rep)
	}
	printAPIBench(stdout, rep.Runs, o)
	return nil
}

// runAPIBench loads each store and times the API and its store anchor on
// it. A store that fails has its error in its storeRun.
func runAPIBench(ctx context.Context, o *apiBenchOptions, stderr io.Writer) (*apiReport, error) {
	if _, err := os.Stat(o.ixpdBin); errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("%s: %w (build it with: go build -o bin/ixpd ./cmd/ixpd)", o.ixpdBin, errNoBinary)
	}
	bin, err := filepath.Abs(o.ixpdBin)
	if err != nil {
		return nil, err
	}
	o.ixpdBin = bin
	if o.profileDir != "" {
		if o.profileDir, err = filepath.Abs(o.profileDir); err != nil {
			return nil, err
		}
		if err := os.MkdirAll(o.profileDir, 0o755); err != nil {
			return nil, err
		}
	}
	work, err := os.MkdirTemp("", "ixpsim-api-bench-")
	if err != nil {
		return nil, err
	}
	if o.keep {
		_, _ = fmt.Fprintln(stderr, "work folder:", work)
	} else {
		defer func() { _ = os.RemoveAll(work) }()
	}
	month := time.Now().UTC().AddDate(0, -1, 0).Format("2006-01")
	from, to, err := analytics.MonthRange(month)
	if err != nil {
		return nil, err
	}
	rep := &apiReport{Month: month, Members: o.members, Requests: o.requests, RunCount: o.runs,
		CPUs: runtime.NumCPU(), GoalP95Ms: 200}
	for _, s := range o.stores {
		if ctx.Err() != nil {
			break
		}
		dir := filepath.Join(work, s)
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return nil, err
		}
		r := storeRun{Store: s, Month: month}
		if err := runAPIBenchStore(ctx, o, dir, from, to, &r, stderr); err != nil {
			r.Err = err.Error()
			_, _ = fmt.Fprintf(stderr, "%s: %v\n", s, err)
		}
		r.Endpoints = medianLatencies(r.EachRun)
		rep.Runs = append(rep.Runs, r)
	}
	return rep, ctx.Err()
}

// medianLatencies returns, per endpoint, the median of each figure over
// the runs, and the check and body size of the last run.
func medianLatencies(runs [][]endpointTiming) []endpointTiming {
	if len(runs) == 0 {
		return nil
	}
	var out []endpointTiming
	for i, last := range runs[len(runs)-1] {
		var first, p50, p95, mx, sf, s50, s95, r1, r95 []float64
		for _, run := range runs {
			if i >= len(run) || run[i].Endpoint != last.Endpoint {
				continue
			}
			l := run[i]
			first, p50, p95, mx = append(first, l.FirstMs), append(p50, l.P50Ms), append(p95, l.P95Ms), append(mx, l.MaxMs)
			sf, s50, s95 = append(sf, l.StoreFirstMs), append(s50, l.StoreP50Ms), append(s95, l.StoreP95Ms)
			r1, r95 = append(r1, l.FirstOverStoreP50), append(r95, l.P95OverStoreP95)
		}
		m := last
		m.FirstMs, m.P50Ms, m.P95Ms, m.MaxMs = median(first), median(p50), median(p95), median(mx)
		m.StoreFirstMs, m.StoreP50Ms, m.StoreP95Ms = median(sf), median(s50), median(s95)
		m.FirstOverStoreP50, m.P95OverStoreP95 = median(r1), median(r95)
		out = append(out, m)
	}
	return out
}

func printAPIBench(w io.Writer, runs []storeRun, o *apiBenchOptions) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	_, _ = fmt.Fprintf(tw, "store\tflows\tload s\tflows/s\t\n")
	for _, r := range runs {
		_, _ = fmt.Fprintf(tw, "%s\t%d\t%.1f\t%.0f\t\n", r.Store, r.Flows, r.LoadSeconds, r.LoadRate)
	}
	_ = tw.Flush()
	_, _ = fmt.Fprintln(w)
	tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	_, _ = fmt.Fprintf(tw, "store\tendpoint\tfirst ms\tp50 ms\tp95 ms\tmax ms\tn\tbytes\tp95<200ms\tstore p50 ms\tstore p95 ms\tfirst/store p50\tp95/store p95\t check\n")
	for _, r := range runs {
		for _, e := range r.Endpoints {
			met := "yes"
			if e.P95Ms >= 200 {
				met = "NO"
			}
			_, _ = fmt.Fprintf(tw, "%s\t%s\t%.1f\t%.1f\t%.1f\t%.1f\t%d\t%d\t%s\t%.1f\t%.1f\t%.2f\t%.2f\t %s\n", r.Store, e.Endpoint,
				e.FirstMs, e.P50Ms, e.P95Ms, e.MaxMs, e.Requests, e.BodyBytes, met, e.StoreP50Ms, e.StoreP95Ms,
				e.FirstOverStoreP50, e.P95OverStoreP95, e.CheckValue)
		}
	}
	_ = tw.Flush()
	for _, r := range runs {
		if r.Err != "" {
			_, _ = fmt.Fprintf(w, "%s: error: %s\n", r.Store, r.Err)
		}
	}
	_, _ = fmt.Fprintf(w, "\n%d members, month %s, %d sequential requests per endpoint after the first, median of %d run(s), %d CPUs\n",
		o.members, runs0Month(runs), o.requests, o.runs, runtime.NumCPU())
	_, _ = fmt.Fprintf(w, "store: the handler's store queries timed in the bench's process through the Go store API\n")
}

func runs0Month(runs []storeRun) string {
	if len(runs) == 0 {
		return ""
	}
	return runs[0].Month
}

// runAPIBenchStore loads one store, then o.runs times times the store
// queries and, with ixpd started on the store, the API.
func runAPIBenchStore(ctx context.Context, o *apiBenchOptions, dir string, from, to time.Time, r *storeRun, stderr io.Writer) error {
	logger := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	var storage string
	var open func() (analytics.Store, error)
	switch r.Store {
	case storeDuckDB:
		r.Flows = o.duckdbFlows
		open = func() (analytics.Store, error) {
			return duckdb.New(logger, prometheus.NewRegistry(), duckdb.Configuration{Path: filepath.Join(dir, "ixpd.duckdb")})
		}
		storage = "storage:\n  driver: duckdb\n  duckdb_path: ixpd.duckdb\n"
	case storeClickHouse:
		r.Flows = o.clickhouseFlows
		argv, err := clickhouseBinary(o.clickhouse)
		if err != nil {
			return err
		}
		ch, err := startClickHouse(ctx, argv, filepath.Join(dir, "clickhouse"))
		if err != nil {
			return err
		}
		defer ch.proc.stop()
		cfg := clickhouse.DefaultConfiguration()
		cfg.Addr, cfg.Database = ch.addr, apiBenchDB
		open = func() (analytics.Store, error) { return clickhouse.New(logger, prometheus.NewRegistry(), cfg) }
		storage = fmt.Sprintf("storage:\n  driver: clickhouse\n  clickhouse: {addr: %q, database: %s}\n", ch.addr, apiBenchDB)
	}
	st, err := open()
	if err != nil {
		return err
	}
	if err := st.Migrate(ctx); err != nil {
		_ = st.Close()
		return fmt.Errorf("migrate: %w", err)
	}
	_, _ = fmt.Fprintf(stderr, "%s: loading %d flows for %s..%s\n", r.Store, r.Flows, from.Format(time.DateOnly), to.Add(-time.Second).Format(time.DateOnly))
	start := time.Now()
	err = loadMonth(ctx, st, o, r.Flows, from, to, stderr, r.Store)
	r.LoadSeconds = time.Since(start).Seconds()
	if r.LoadSeconds > 0 {
		r.LoadRate = float64(r.Flows) / r.LoadSeconds
	}
	if cerr := st.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("load: %w", err)
	}
	_, _ = fmt.Fprintf(stderr, "%s: loaded %d flows in %.1f s (%.0f flows/s)\n", r.Store, r.Flows, r.LoadSeconds, r.LoadRate)

	endpoints := apiEndpoints(r.Month, from, to)
	for run := 1; run <= o.runs; run++ {
		_, _ = fmt.Fprintf(stderr, "%s: run %d of %d\n", r.Store, run, o.runs)
		// The anchor first: DuckDB allows one process on the file at a
		// time, so the bench's handle is closed before ixpd opens it.
		st, err := open()
		if err != nil {
			return err
		}
		direct, err := timeStore(ctx, st, endpoints, o.requests)
		if cerr := st.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return fmt.Errorf("store anchor: %w", err)
		}
		p, base, err := startAPIBenchIXPD(ctx, o, dir, storage, r.Store)
		if err != nil {
			return err
		}
		lat, err := timeEndpoints(ctx, base, endpoints, o.requests)
		p.stop()
		if err != nil {
			return err
		}
		for i := range lat {
			l, d := &lat[i], direct[i]
			l.StoreFirstMs, l.StoreP50Ms, l.StoreP95Ms = d.FirstMs, d.P50Ms, d.P95Ms
			if d.P50Ms > 0 {
				l.FirstOverStoreP50 = l.FirstMs / d.P50Ms
			}
			if d.P95Ms > 0 {
				l.P95OverStoreP95 = l.P95Ms / d.P95Ms
			}
		}
		r.EachRun = append(r.EachRun, lat)
	}
	return nil
}

// apiBenchIXPDConfig is ixpd's configuration: no rate limit, one token,
// raw retention long enough that ixpd drops none of the loaded month.
const apiBenchIXPDConfig = `# ixpd for ixpsim api-bench
ixp:
  name: BENCH
  country: WS
  peering_lan: [127.0.0.0/8]
members_file: members.json
log:
  level: warn
routeserver:
  asn: 64512
  router_id: 127.0.0.1
  listen: 127.0.0.1:%d
  passive: true
flow:
  sflow_listen: 127.0.0.1:%d
  netflow_listen: 127.0.0.1:%d
%s  retention: {raw: 2400h, rollup: 43800h}
api:
  listen: 127.0.0.1:%d
  public_rate: 0
  tokens:
    - {name: bench, sha256: %s}
`

func startAPIBenchIXPD(ctx context.Context, o *apiBenchOptions, dir, storage, store string) (*rsProcess, string, error) {
	var ports [4]uint16
	for i := range ports {
		p, err := freePort()
		if err != nil {
			return nil, "", err
		}
		ports[i] = p
	}
	sum := sha256.Sum256([]byte(apiBenchToken))
	conf := fmt.Sprintf(apiBenchIXPDConfig, ports[0], ports[1], ports[2], storage, ports[3], hex.EncodeToString(sum[:]))
	confPath := filepath.Join(dir, "ixpd.yaml")
	if err := os.WriteFile(confPath, []byte(conf), 0o644); err != nil {
		return nil, "", err
	}
	members, err := ixfMembers(o.members, 1000, time.Now())
	if err != nil {
		return nil, "", err
	}
	if err := os.WriteFile(filepath.Join(dir, "members.json"), members, 0o644); err != nil {
		return nil, "", err
	}
	args := []string{"run", "-config", confPath}
	if o.profileDir != "" {
		args = append(args, "-cpuprofile", filepath.Join(o.profileDir, "ixpd-"+store+".pprof"))
	}
	p, err := startProcess(o.ixpdBin, args, dir, filepath.Join(dir, "ixpd.out"))
	if err != nil {
		return nil, "", err
	}
	base := fmt.Sprintf("http://127.0.0.1:%d", ports[3])
	err = p.waitReady(ctx, 60*time.Second, 50*time.Millisecond, func() error {
		resp, err := http.Get(base + "/healthz")
		if err != nil {
			return err
		}
		_ = resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("/healthz: %s", resp.Status)
		}
		return nil
	})
	if err != nil {
		return nil, "", fmt.Errorf("ixpd: %w", err)
	}
	return p, base, nil
}

// loadMonth writes n flows spread over [from, to) on a diurnal curve, in
// time order, in batches of o.batch; a goroutine builds the next batch
// while the store writes one.
func loadMonth(ctx context.Context, st analytics.Store, o *apiBenchOptions, n int, from, to time.Time, stderr io.Writer, name string) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	batches := make(chan []flow.Flow, 2)
	go func() {
		defer close(batches)
		genMonth(ctx, o, n, from, to, batches)
	}()
	written, lastReport := 0, time.Now()
	for b := range batches {
		if err := st.WriteFlows(ctx, b); err != nil {
			return err
		}
		written += len(b)
		if time.Since(lastReport) > 15*time.Second {
			lastReport = time.Now()
			_, _ = fmt.Fprintf(stderr, "%s: %d/%d flows written\n", name, written, n)
		}
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	if written != n {
		return fmt.Errorf("wrote %d flows of %d", written, n)
	}
	return nil
}

// diurnal is the relative traffic at hour-of-day h (UTC): lowest near
// 04:00, highest near 20:00, peak/trough about 4.
func diurnal(h float64) float64 {
	return 1 + 0.6*math.Sin(2*math.Pi*(h-14)/24)
}

// genMonth sends n flows on out, bin by bin.
func genMonth(ctx context.Context, o *apiBenchOptions, n int, from, to time.Time, out chan<- []flow.Flow) {
	rng := rand.New(rand.NewPCG(o.seed, 0x1f1f))
	bins := int(to.Sub(from) / analytics.BinSize)
	weights := make([]float64, bins)
	var total float64
	for i := range weights {
		t := from.Add(time.Duration(i) * analytics.BinSize)
		weights[i] = diurnal(float64(t.Hour()) + float64(t.Minute())/60)
		total += weights[i]
	}
	// Member popularity: Zipf-like, so that a few members carry most
	// traffic as at a real exchange.
	cum := make([]float64, o.members)
	var c float64
	for i := range cum {
		c += 1 / math.Sqrt(float64(i+1))
		cum[i] = c
	}
	pick := func() int {
		x := rng.Float64() * c
		i, _ := slices.BinarySearch(cum, x)
		return min(i, o.members-1)
	}
	switches := []netip.Addr{netip.MustParseAddr("127.0.1.1"), netip.MustParseAddr("127.0.1.2")}
	batch := make([]flow.Flow, 0, o.batch)
	emitted := 0
	var acc float64
	for i := 0; i < bins && emitted < n; i++ {
		acc += weights[i] / total * float64(n)
		k := int(acc) - emitted
		if i == bins-1 {
			k = n - emitted
		}
		bin := from.Add(time.Duration(i) * analytics.BinSize)
		for range k {
			t := bin.Add(time.Duration(rng.Int64N(int64(analytics.BinSize))))
			pkts := 1 + rng.Uint64N(8)
			f := flow.Flow{TimeReceived: t, TimeStart: t, TimeEnd: t, Protocol: flow.ProtocolSFlow5, SamplingRate: 1024,
				Packets: pkts, Bytes: pkts * (64 + rng.Uint64N(1437)), IPProto: 6, EType: 0x0800,
				SrcPort: uint16(1024 + rng.IntN(60000)), DstPort: 443}
			if rng.IntN(5) == 0 {
				f.EType = 0x86dd
			}
			src := pick()
			if rng.Float64() < o.edgeShare {
				// A member's border router: domestic traffic via the
				// exchange or via transit.
				f.Role, f.Exporter = flow.RoleMemberEdge, memberAddr(src)
				f.SrcMember = memberASN(src)
				f.PathClass = flow.PathViaIXP
				if rng.IntN(3) == 0 {
					f.PathClass = flow.PathViaTransit
				}
				f.Domestic, f.SrcCountry, f.DstCountry = true, "WS", "WS"
			} else {
				dst := pick()
				for dst == src {
					dst = rng.IntN(o.members)
				}
				f.Role, f.Exporter = flow.RoleIXPSwitch, switches[rng.IntN(len(switches))]
				f.SrcMember, f.DstMember, f.IXPExchanged = memberASN(src), memberASN(dst), true
				f.SrcMAC, f.DstMAC = 0x020000000000|uint64(src), 0x020000000000|uint64(dst)
				f.InIf, f.OutIf = uint32(src+1), uint32(dst+1)
			}
			if f.EType == 0x0800 {
				f.SrcAddr = netip.AddrFrom4([4]byte{10, byte(src), byte(rng.IntN(256)), byte(rng.IntN(256))})
				f.DstAddr = netip.AddrFrom4([4]byte{172, 16 + byte(rng.IntN(16)), byte(rng.IntN(256)), byte(rng.IntN(256))})
			} else {
				f.SrcAddr = netip.AddrFrom16([16]byte{0x20, 0x01, 0x0d, 0xb8, byte(src), 15: byte(rng.IntN(256))})
				f.DstAddr = netip.AddrFrom16([16]byte{0x20, 0x01, 0x0d, 0xb9, 7: byte(rng.IntN(256)), 15: byte(rng.IntN(256))})
			}
			f.SrcAS, f.DstAS = f.SrcMember, f.DstMember
			batch = append(batch, f)
			if len(batch) == o.batch {
				select {
				case out <- batch:
				case <-ctx.Done():
					return
				}
				batch = make([]flow.Flow, 0, o.batch)
			}
		}
		emitted += k
	}
	if len(batch) > 0 {
		select {
		case out <- batch:
		case <-ctx.Done():
		}
	}
}

// apiEndpoint is one timed request, with the store queries its handler
// makes (the anchor).
type apiEndpoint struct {
	name, path string
	token      bool
	check      func(map[string]any) string
	queries    []analytics.SeriesQuery
}

// apiEndpoints are the requests timed for month [from, to).
func apiEndpoints(month string, from, to time.Time) []apiEndpoint {
	rng := fmt.Sprintf("from=%s&to=%s", from.Format(time.RFC3339), to.Format(time.RFC3339))
	// As api/traffic.go's ixpTraffic and the handlers ask.
	ixp := func(step time.Duration, g analytics.GroupBy) analytics.SeriesQuery {
		return analytics.SeriesQuery{From: from, To: to, Step: step, GroupBy: g, IXPExchanged: true}
	}
	bins := ixp(analytics.BinSize, analytics.GroupNone)
	whole := (to.Sub(from) + analytics.BinSize - 1) / analytics.BinSize * analytics.BinSize
	matrix := ixp(whole, analytics.GroupPair)
	local := analytics.SeriesQuery{From: from, To: to, Step: to.Sub(from).Truncate(analytics.BinSize),
		GroupBy: analytics.GroupPathClass, Domestic: true, Role: flow.RoleMemberEdge}
	return []apiEndpoint{
		{"map.geojson", "/api/v1/map.geojson", false, func(m map[string]any) string {
			p, _ := m["properties"].(map[string]any)
			return fmt.Sprintf("period=%v p95_bps=%.3g local_share=%v", p["period"], num(p["p95_bps"]), p["local_share"])
		}, []analytics.SeriesQuery{bins, local}},
		{"traffic/summary", "/api/v1/traffic/summary?" + rng, false, func(m map[string]any) string {
			return fmt.Sprintf("bins=%v missing=%v p95_bps=%.3g", m["bins"], m["missing_bins"], num(m["p95_bps"]))
		}, []analytics.SeriesQuery{bins}},
		{"traffic/matrix", "/api/v1/traffic/matrix?" + rng, true, func(m map[string]any) string {
			p, _ := m["pairs"].([]any)
			return fmt.Sprintf("pairs=%d", len(p))
		}, []analytics.SeriesQuery{matrix}},
		// The same matrix with one bin for the whole month: what the
		// handler asks the store for since it sums in the store.
		{"traffic/matrix step=month", fmt.Sprintf("/api/v1/traffic/matrix?%s&step=%dh", rng, int(to.Sub(from).Hours())), true, func(m map[string]any) string {
			p, _ := m["pairs"].([]any)
			return fmt.Sprintf("pairs=%d", len(p))
		}, []analytics.SeriesQuery{matrix}},
		{"savings", "/api/v1/savings?month=" + month, false, func(m map[string]any) string {
			return fmt.Sprintf("p95_mbps=%.3g", num(m["p95_mbps"]))
		}, []analytics.SeriesQuery{bins}},
	}
}

// timeStore times each endpoint's store queries on st, one after the
// other: one first round, then n more.
func timeStore(ctx context.Context, st analytics.Store, endpoints []apiEndpoint, n int) ([]endpointTiming, error) {
	var out []endpointTiming
	for _, e := range endpoints {
		l := endpointTiming{Endpoint: e.name, Requests: n}
		var times []time.Duration
		for i := 0; i <= n; i++ {
			start := time.Now()
			for _, q := range e.queries {
				if _, err := st.Series(ctx, q); err != nil {
					return out, fmt.Errorf("%s: %w", e.name, err)
				}
			}
			if i == 0 {
				l.FirstMs = ms(time.Since(start))
				continue
			}
			times = append(times, time.Since(start))
		}
		slices.Sort(times)
		l.P50Ms, l.P95Ms, l.MaxMs = ms(quantile(times, 0.50)), ms(quantile(times, 0.95)), ms(times[len(times)-1])
		out = append(out, l)
	}
	return out, nil
}

// timeEndpoints times each endpoint: one first request, then n more.
func timeEndpoints(ctx context.Context, base string, endpoints []apiEndpoint, n int) ([]endpointTiming, error) {
	client := &http.Client{Timeout: 60 * time.Second}
	var out []endpointTiming
	for _, e := range endpoints {
		l := endpointTiming{Endpoint: e.name, Requests: n}
		var times []time.Duration
		for i := 0; i <= n; i++ {
			if err := ctx.Err(); err != nil {
				return out, err
			}
			req, err := http.NewRequestWithContext(ctx, "GET", base+e.path, nil)
			if err != nil {
				return out, err
			}
			if e.token {
				req.Header.Set("Authorization", "Bearer "+apiBenchToken)
			}
			start := time.Now()
			resp, err := client.Do(req)
			if err != nil {
				return out, fmt.Errorf("%s: %w", e.name, err)
			}
			body, err := io.ReadAll(resp.Body)
			_ = resp.Body.Close()
			d := time.Since(start)
			if err != nil {
				return out, fmt.Errorf("%s: %w", e.name, err)
			}
			if resp.StatusCode != http.StatusOK {
				return out, fmt.Errorf("%s: %s: %.300s", e.name, resp.Status, body)
			}
			if i == 0 {
				l.FirstMs = ms(d)
				l.BodyBytes = len(body)
				var m map[string]any
				if err := json.Unmarshal(body, &m); err != nil {
					return out, fmt.Errorf("%s: %w", e.name, err)
				}
				l.CheckValue = e.check(m)
				continue
			}
			times = append(times, d)
		}
		slices.Sort(times)
		l.P50Ms, l.P95Ms, l.MaxMs = ms(quantile(times, 0.50)), ms(quantile(times, 0.95)), ms(times[len(times)-1])
		out = append(out, l)
	}
	return out, nil
}

func num(v any) float64 {
	f, _ := v.(float64)
	return f
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// quantile is the nearest-rank q-quantile of sorted durations.
func quantile(sorted []time.Duration, q float64) time.Duration {
	i := int(math.Ceil(q*float64(len(sorted)))) - 1
	return sorted[max(0, min(i, len(sorted)-1))]
}
