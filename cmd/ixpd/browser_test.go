package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/log"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"

	"github.com/ixpd/ixpd/routeserver/peertest"
)

// The dashboard and the monthly report in a real browser: headless
// Chromium loads every page over the golden month replayed into DuckDB
// (and two TWAMP reflectors for the latency page), with no console error
// and no failed request, and every figure a page shows equals the API's
// answer to the request the page names for it.
func TestBrowser(t *testing.T) {
	if testing.Short() && os.Getenv("CI") != "true" {
		t.Skip("integration test; -short")
	}
	chromium := findChromium(t)
	peertest.Require(t)
	bin := daemonBinary(t)
	sflowPort, err := peertest.FreePort()
	if err != nil {
		t.Fatal(err)
	}
	capture := filepath.Join(t.TempDir(), "golden.pcap")
	datagrams, edge := writeGoldenCapture(t, capture, sflowPort)
	truth := computeGoldenTruth(t)

	// The golden members peer with the route server here, so that the
	// looking-glass pages have sessions and routes.
	membersFile := filepath.Join(t.TempDir(), "members.json")
	if err := os.WriteFile(membersFile, []byte(goldenMembersFile(true)), 0o644); err != nil {
		t.Fatal(err)
	}
	var bgpPort int
	refl := freePorts(t, 2)
	for i, delay := range []string{"2ms", "40ms"} {
		startReflector(t, bin, fmt.Sprintf("127.0.0.%d:%d", 31+i, refl[i]), delay)
	}
	api, run := goldenDaemon(t, bin, []string{capture}, sflowPort, datagrams, edge,
		[]string{"  driver: duckdb\n  duckdb_path: data/ixpd.duckdb\n"}, func(cfg string) string {
			cfg = strings.Replace(cfg, "ixp: {name: GOLD-IX,", "ixp: {name: GOLD-IX, time_zone: Pacific/Apia,", 1)
			cfg = strings.Replace(cfg, "members_file: members.json", "members_file: "+membersFile, 1)
			if m := regexp.MustCompile(`peer_port: (\d+)`).FindStringSubmatch(cfg); m != nil {
				bgpPort, _ = strconv.Atoi(m[1])
			}
			return cfg + fmt.Sprintf(`latency:
  interval: 1s
  targets:
    - {name: apia-ixp, address: "127.0.0.31:%d", method: twamp, group: apia, path: ixp}
    - {name: apia-transit, address: "127.0.0.32:%d", method: twamp, group: apia, path: transit}
`, refl[0], refl[1])
		})
	peertest.WaitFor(t, 30*time.Second, "both latency targets answered", func() (bool, string) {
		var body struct {
			Targets []struct {
				Stats struct {
					Received int `json:"received"`
				} `json:"stats"`
			} `json:"targets"`
		}
		api.get("/api/v1/latency", &body)
		return len(body.Targets) == 2 && body.Targets[0].Stats.Received > 0 && body.Targets[1].Stats.Received > 0, fmt.Sprintf("%+v", body)
	})

	for i, routes := range [][]peertest.Route{
		{{Prefix: netip.MustParsePrefix("16.38.0.0/24")}, {Prefix: netip.MustParsePrefix("16.38.1.0/25")}}, // the /25 is too long
		{{Prefix: netip.MustParsePrefix("16.179.0.0/24")}},
	} {
		m := goldenMembers[i]
		r, err := peertest.StartBIRD(t.Context(), t.TempDir(), peertest.Member{Name: strings.ToLower(m.name), ASN: m.asn,
			Addr4: netip.MustParseAddr(m.addr), RSAddr4: netip.MustParseAddr("127.0.0.1"), RSASN: 64512, Port: bgpPort, Routes: routes})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = r.Stop() })
	}
	peertest.WaitFor(t, 60*time.Second, "both BIRD members up, one route filtered", func() (bool, string) {
		var f struct {
			Routes []any `json:"routes"`
		}
		code := api.get("/api/v1/routeserver/neighbors/"+goldenMembers[0].addr+"/routes/filtered", &f)
		var ns struct {
			Neighbors []struct {
				State string `json:"state"`
			} `json:"neighbors"`
		}
		api.get("/api/v1/routeserver/neighbors", &ns)
		up := 0
		for _, n := range ns.Neighbors {
			if n.State == "established" {
				up++
			}
		}
		return code == 200 && len(f.Routes) == 1 && up == 2, fmt.Sprintf("filtered %d %+v, %d up", code, f, up)
	})

	b := newBrowser(t, chromium)
	// The token a member would type into the page's form.
	b.do(t, chromedp.Navigate(api.base+"/"))
	evaluate[any](t, b, fmt.Sprintf(`sessionStorage.setItem("ixpd.token", %q)`, api.token))

	for _, p := range []struct {
		route      string
		minFigures int    // figures compared with the API, at least
		check      string // JavaScript that must be true on the page
	}{
		{"#/", 10, ""},
		{"#/?period=year", 10, ""},
		{"#/matrix?period=year", 3, ""},
		{"#/members", 1, ""},
		{fmt.Sprintf("#/member/%d", goldenMembers[0].asn), 5, ""},
		{"#/domestic?period=month", 3, ""},
		{"#/routeserver", 12, ""},
		{"#/routeserver/neighbor/" + goldenMembers[0].addr + "/filtered", 1,
			`document.querySelector('span.reason[data-code="1"]') !== null && document.body.innerText.includes("16.38.1.0/25")`},
		{"#/routeserver/neighbor/" + goldenMembers[0].addr + "/accepted", 1, `document.body.innerText.includes("16.38.0.0/24")`},
		{"#/routeserver/lookup?prefix=16.38.0.0/24", 2, ""},
		{"#/routeserver/lookup?prefix=198.51.100.0/24", 1, ""},
		{"#/latency", 5, ""},
		{"#/savings?month=" + goldenMonth, 8, ""},
		{"#/reports", 0, ""},
	} {
		t.Run(p.route, func(t *testing.T) {
			b.reset()
			b.do(t, chromedp.Navigate("about:blank"), chromedp.Navigate(api.base+"/"+p.route))
			state := inTab(t, b, chromedp.Poll[string](`document.querySelector("main") && document.querySelector("main").dataset.state !== "loading" && document.querySelector("main").dataset.state`,
				chromedp.WithPollingTimeout(30*time.Second)))
			if state != "ready" {
				t.Fatalf("page %s: state %q:\n%s", evaluate[string](t, b, `document.querySelector("main").dataset.page`),
					state, evaluate[string](t, b, `document.querySelector("main").innerText`))
			}
			n := compareFigures(t, b, api)
			t.Logf("%d figures equal the API's", n)
			if n < p.minFigures {
				t.Errorf("%d figures compared with the API, want at least %d", n, p.minFigures)
			}
			if p.check != "" && !evaluate[bool](t, b, p.check) {
				t.Errorf("not true on the page: %s", p.check)
			}
			checkCharts(t, b)
			b.checkClean(t)
			b.screenshot(t, strings.Trim(strings.NewReplacer("/", "-", "#", "", "?", "-", "=", "-").Replace(p.route), "-"))
		})
	}

	// Without a token, a member-level page asks for one and fires no
	// request that must fail.
	t.Run("no token", func(t *testing.T) {
		b.reset()
		evaluate[any](t, b, `sessionStorage.removeItem("ixpd.token")`)
		for _, route := range []string{"#/matrix", "#/member/38800", "#/routeserver", "#/reports"} {
			b.do(t, chromedp.Navigate("about:blank"), chromedp.Navigate(api.base+"/"+route))
			state := inTab(t, b, chromedp.Poll[string](`document.querySelector("main") && document.querySelector("main").dataset.state !== "loading" && document.querySelector("main").dataset.state`,
				chromedp.WithPollingTimeout(30*time.Second)))
			if !evaluate[bool](t, b, `document.querySelector('[data-token="needed"] form') !== null`) {
				t.Errorf("%s without a token (state %s) shows no token form", route, state)
			}
		}
		b.checkClean(t)
	})

	t.Run("monthly report", func(t *testing.T) {
		b.reset()
		b.headers(t, network.Headers{"Authorization": "Bearer " + api.token})
		b.do(t, chromedp.Navigate(api.base+"/api/v1/reports/monthly/"+goldenMonth+"?format=html"))
		b.headers(t, network.Headers{})
		zone := evaluate[string](t, b, `document.body.innerText.includes("Pacific/Apia") ? "Pacific/Apia" : document.body.innerText.slice(0, 400)`)
		if zone != "Pacific/Apia" {
			t.Errorf("the report does not name the configured time zone: %q", zone)
		}
		figs := evaluate[map[string]string](t, b, `Object.fromEntries(Array.from(document.querySelectorAll("[data-figure][data-value]")).map(e => [e.dataset.figure, e.dataset.value]))`)
		rng := fmt.Sprintf("from=%s&to=%s", truth.from.Format(time.RFC3339), truth.to.Format(time.RFC3339))
		var sum map[string]any
		api.get("/api/v1/traffic/summary?"+rng, &sum)
		var sv map[string]any
		api.get("/api/v1/savings?month="+goldenMonth, &sv)
		for _, c := range []struct {
			figure string
			want   any
		}{
			{"peak_bps", sum["peak_bps"]}, {"p95_bps", sum["p95_bps"]}, {"avg_bps", sum["avg_bps"]},
			{"volume_bytes", sum["volume_bytes"]}, {"savings.savings_usd_p95", sv["savings_usd_p95"]},
		} {
			got, ok := figs[c.figure]
			if !ok {
				t.Errorf("the report has no figure %s (has %v)", c.figure, mapKeys(figs))
				continue
			}
			if !sameValue(got, c.want) {
				t.Errorf("report %s = %s, the API says %v", c.figure, got, c.want)
			}
		}
		if !sameValue(figs["peak_bps"], truth.peakBps) || !sameValue(figs["p95_bps"], truth.p95Bps) {
			t.Errorf("report peak %s p95 %s, the golden month's are %v and %v", figs["peak_bps"], figs["p95_bps"], truth.peakBps, truth.p95Bps)
		}
		checkCharts(t, b)
		b.checkClean(t)
	})

	t.Run("report formats", func(t *testing.T) {
		var rep struct {
			NoData  bool `json:"no_data"`
			Summary struct {
				PeakBps     float64 `json:"peak_bps"`
				P95Bps      float64 `json:"p95_bps"`
				VolumeBytes uint64  `json:"volume_bytes"`
			} `json:"summary"`
			Savings struct {
				P95USD float64 `json:"savings_usd_p95"`
			} `json:"savings"`
		}
		if code := api.get("/api/v1/reports/monthly/"+goldenMonth+"?format=json", &rep); code != 200 {
			t.Fatalf("JSON report: status %d", code)
		}
		if rep.NoData || rep.Summary.VolumeBytes != truth.volume || !closeEnough(rep.Summary.PeakBps, truth.peakBps) ||
			!closeEnough(rep.Summary.P95Bps, truth.p95Bps) || !closeEnough(rep.Savings.P95USD, truth.p95USD) {
			t.Errorf("JSON report %+v, want volume %d peak %v p95 %v savings %v", rep, truth.volume, truth.peakBps, truth.p95Bps, truth.p95USD)
		}
		var csv string
		if code := api.get("/api/v1/reports/monthly/"+goldenMonth+"?format=csv", &csv); code != 200 {
			t.Fatalf("CSV report: status %d", code)
		}
		if want := fmt.Sprintf("summary,,volume_bytes,%d,", truth.volume); !strings.Contains(csv, want) {
			t.Errorf("CSV report has no line %q", want)
		}
		var empty string
		if code := api.get("/api/v1/reports/monthly/2020-01?format=html", &empty); code != 200 || !strings.Contains(empty, "No data") {
			t.Errorf("a month without data: status %d, want 200 and a report that says No data", code)
		}
		if code := (client{t: t, base: api.base}).get("/api/v1/reports/monthly/"+goldenMonth, nil); code != 401 {
			t.Errorf("report without a token: status %d, want 401", code)
		}
		if code := api.get("/api/v1/reports/monthly/2026-13?format=html", nil); code != 400 {
			t.Errorf("month 2026-13: status %d, want 400", code)
		}

		// ixpd report while the daemon holds the DuckDB file: from its API,
		// with the token in IXPD_TOKEN; without the token, an error that
		// says what to do.
		cmd := exec.Command(bin, "report", "-config", run.config, "-month", goldenMonth, "-format", "csv")
		if out, err := cmd.CombinedOutput(); err == nil || !strings.Contains(string(out), "IXPD_TOKEN") {
			t.Errorf("ixpd report without IXPD_TOKEN while ixpd runs: %v\n%s", err, out)
		}
		cmd = exec.Command(bin, "report", "-config", run.config, "-month", goldenMonth, "-format", "csv")
		cmd.Env = append(os.Environ(), "IXPD_TOKEN="+api.token)
		viaAPI, err := cmd.Output()
		if err != nil || withoutGenerated(string(viaAPI)) != withoutGenerated(csv) {
			t.Errorf("ixpd report through the running daemon: %v; same CSV as the API: %t", err, withoutGenerated(string(viaAPI)) == withoutGenerated(csv))
		}
		// And offline, from the store, once the daemon has stopped.
		run.daemon.stop(t)
		out := filepath.Join(t.TempDir(), "report.csv")
		if o, err := exec.Command(bin, "report", "-config", run.config, "-month", goldenMonth, "-format", "csv", "-o", out).CombinedOutput(); err != nil {
			t.Fatalf("ixpd report from the store: %v\n%s", err, o)
		}
		offline, err := os.ReadFile(out)
		if err != nil {
			t.Fatal(err)
		}
		if withoutGenerated(string(offline)) != withoutGenerated(csv) {
			t.Errorf("ixpd report from the store differs from the API's report:\n%s", firstDiff(withoutGenerated(string(offline)), withoutGenerated(csv)))
		}
	})
}

// withoutGenerated drops the line that says when a CSV report was made.
func withoutGenerated(csv string) string {
	var keep []string
	for _, l := range strings.Split(csv, "\n") {
		if !strings.Contains(l, ",generated_at,") {
			keep = append(keep, l)
		}
	}
	return strings.Join(keep, "\n")
}

// firstDiff shows the first line where two texts differ.
func firstDiff(a, b string) string {
	al, bl := strings.Split(a, "\n"), strings.Split(b, "\n")
	for i := range min(len(al), len(bl)) {
		if al[i] != bl[i] {
			return fmt.Sprintf("line %d: %q vs %q", i+1, al[i], bl[i])
		}
	}
	return fmt.Sprintf("%d lines vs %d", len(al), len(bl))
}

// findChromium returns Debian's chromium; without it the test is skipped,
// except in CI.
func findChromium(t *testing.T) string {
	t.Helper()
	for _, name := range []string{"chromium", "chromium-browser"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	if os.Getenv("CI") == "true" {
		t.Fatal("chromium is not installed (apt-get install chromium)")
	}
	t.Skip("chromium is not installed")
	return ""
}

// startReflector runs `ixpd reflect` until the test ends.
func startReflector(t *testing.T, bin, addr, delay string) {
	t.Helper()
	cmd := exec.Command(bin, "reflect", "-listen", addr, "-delay", delay)
	var out strings.Builder
	cmd.Stderr = &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		if t.Failed() {
			t.Logf("reflector %s:\n%s", addr, out.String())
		}
	})
}

// browser is one headless Chromium tab and what went wrong in it.
type browser struct {
	ctx      context.Context
	mu       sync.Mutex
	problems []string
}

func newBrowser(t *testing.T, path string) *browser {
	t.Helper()
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(path), chromedp.Headless, chromedp.NoSandbox, chromedp.DisableGPU, chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck, chromedp.UserDataDir(t.TempDir()), chromedp.WindowSize(1280, 1024),
		chromedp.Flag("disable-background-networking", true), chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true), chromedp.Flag("disable-quic", true),
	}
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	b := &browser{}
	ctx, cancelCtx := chromedp.NewContext(allocCtx, chromedp.WithListener(b.listen))
	t.Cleanup(func() {
		cancelCtx()
		cancelAlloc()
	})
	b.ctx = ctx
	// The first Run starts the browser and lives as long as ctx: no
	// timeout on it.
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("start chromium: %v", err)
	}
	return b
}

// listen keeps the console errors, exceptions and failed requests of the
// tab (chromedp enables the runtime, log and network domains).
func (b *browser) listen(ev any) {
	var p string
	switch ev := ev.(type) {
	case *runtime.EventConsoleAPICalled:
		if ev.Type == runtime.ConsoleAPICalledTypeError || ev.Type == runtime.ConsoleAPICalledTypeAssert {
			var args []string
			for _, a := range ev.Args {
				args = append(args, string(a.Value)+a.Description)
			}
			p = "console " + string(ev.Type) + ": " + strings.Join(args, " ")
		}
	case *runtime.EventExceptionThrown:
		p = "exception: " + ev.ExceptionDetails.Text
		if ev.ExceptionDetails.Exception != nil {
			p += " " + ev.ExceptionDetails.Exception.Description
		}
	case *log.EventEntryAdded:
		if ev.Entry.Level == log.EntryLevelError {
			p = "log: " + ev.Entry.Text + " " + ev.Entry.URL
		}
	case *network.EventResponseReceived:
		if ev.Response.Status >= 400 {
			p = fmt.Sprintf("request %s: status %d", ev.Response.URL, ev.Response.Status)
		}
	case *network.EventLoadingFailed:
		if !ev.Canceled {
			p = fmt.Sprintf("request %s failed: %s", ev.RequestID, ev.ErrorText)
		}
	}
	if p != "" {
		b.mu.Lock()
		b.problems = append(b.problems, p)
		b.mu.Unlock()
	}
}

// inTab runs an action in the tab and returns its value, failing the test
// on error.
func inTab[T any](t *testing.T, b *browser, a chromedp.Action[T]) T {
	t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, time.Minute)
	defer cancel()
	v, err := chromedp.Run(ctx, a)
	if err != nil {
		t.Fatalf("browser: %v", err)
	}
	return v
}

// evaluate runs JavaScript in the page and returns its value.
func evaluate[T any](t *testing.T, b *browser, expr string) T {
	t.Helper()
	return inTab(t, b, chromedp.Evaluate[T](expr))
}

// do runs actions without a value in the tab.
func (b *browser) do(t *testing.T, steps ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	inTab(t, b, chromedp.Steps(steps...))
}

// headers sets the headers sent with every request of the tab.
func (b *browser) headers(t *testing.T, h network.Headers) {
	t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, time.Minute)
	defer cancel()
	if _, err := chromedp.Call(ctx, network.SetExtraHTTPHeaders, network.SetExtraHTTPHeadersParams{Headers: h}); err != nil {
		t.Fatalf("browser: set headers: %v", err)
	}
}

// reset forgets the problems seen so far.
func (b *browser) reset() {
	b.mu.Lock()
	b.problems = nil
	b.mu.Unlock()
}

// checkClean fails the test for every console error, exception and failed
// request since the last reset.
func (b *browser) checkClean(t *testing.T) {
	t.Helper()
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, p := range b.problems {
		t.Error(p)
	}
}

// screenshot saves the page as $IXPD_SCREENSHOTS/name.png when that is set
// (for looking at the pages, not a check).
func (b *browser) screenshot(t *testing.T, name string) {
	t.Helper()
	dir := os.Getenv("IXPD_SCREENSHOTS")
	if dir == "" {
		return
	}
	png := inTab(t, b, chromedp.FullScreenshot(100))
	if err := os.WriteFile(filepath.Join(dir, name+".png"), png, 0o644); err != nil {
		t.Error(err)
	}
}

// pageFigure is a figure as a dashboard page marks it (see api/ui/README.md).
type pageFigure struct {
	Figure string `json:"figure"`
	Value  string `json:"value"`
	Source string `json:"source"`
	Field  string `json:"field"`
	Key    string `json:"key"`
}

// compareFigures checks each figure of the page that names its request and
// field against the API's answer to that request, and returns how many it
// compared. Figures the page derives (count(…), sum(…)) are left out.
func compareFigures(t *testing.T, b *browser, api client) int {
	t.Helper()
	figs := evaluate[[]pageFigure](t, b, `Array.from(document.querySelectorAll("[data-figure]")).map(e => ({figure: e.dataset.figure,
		value: e.dataset.value || "", source: e.dataset.source || "", field: e.dataset.field || "", key: e.dataset.key || ""}))`)
	answers := map[string]any{}
	n := 0
	for _, f := range figs {
		if f.Source == "" || f.Field == "" {
			continue
		}
		ans, ok := answers[f.Source]
		if !ok {
			if code := api.get(f.Source, &ans); code != 200 {
				t.Errorf("figure %s: the API answers %s with status %d", f.Figure, f.Source, code)
				continue
			}
			answers[f.Source] = ans
		}
		want, err := fieldValue(ans, f.Field)
		if errors.Is(err, errDerived) {
			continue
		}
		if err != nil {
			t.Errorf("figure %s (%s of %s): %v", f.Figure, f.Field, f.Source, err)
			continue
		}
		if !sameValue(f.Value, want) && (!live(f.Source) || !nearValue(f.Value, want)) {
			t.Errorf("figure %s %s: the page shows %q, the API's %s says %v", f.Figure, f.Key, f.Value, f.Field, want)
		}
		n++
	}
	return n
}

var (
	fieldStep = regexp.MustCompile(`^([A-Za-z0-9_]+)(?:\[([^\]]*)\])?$`)
	fieldFunc = regexp.MustCompile(`^(count|sum)\(([^ ()]+)\)$`)
)

// fieldValue reads a figure's data-field from a JSON answer: a path such
// as "a.b" or "list[k=v,k2=v2].field" (the first item that matches), or
// count(path) and sum(path) over every item that matches ("list[]" takes
// all, "k!=v" excludes). A missing last field reads as null, as the API
// leaves empty fields out.
func fieldValue(v any, field string) (any, error) {
	if m := fieldFunc.FindStringSubmatch(field); m != nil {
		vals, err := selectPath([]any{v}, m[2])
		if err != nil {
			return nil, err
		}
		if m[1] == "count" {
			if len(vals) == 1 {
				if list, ok := vals[0].([]any); ok {
					return float64(len(list)), nil
				}
			}
			return float64(len(vals)), nil
		}
		var sum float64
		for _, x := range vals {
			f, ok := x.(float64)
			if !ok {
				return nil, fmt.Errorf("sum over %v, not a number", x)
			}
			sum += f
		}
		return sum, nil
	}
	if strings.ContainsAny(field, "( ") {
		return nil, errDerived
	}
	vals, err := selectPath([]any{v}, field)
	if err != nil {
		return nil, err
	}
	if len(vals) == 0 {
		return nil, fmt.Errorf("%s: nothing matches", field)
	}
	return vals[0], nil
}

// errDerived marks a figure the page works out in a way the test does
// not follow (such as count(distinct …)).
var errDerived = errors.New("derived by the page")

// selectPath follows path from each of vals and returns what it reaches.
func selectPath(vals []any, path string) ([]any, error) {
	steps := splitPath(path)
	for i, step := range steps {
		m := fieldStep.FindStringSubmatch(step)
		if m == nil {
			return nil, fmt.Errorf("cannot read the path step %q", step)
		}
		var next []any
		for _, v := range vals {
			obj, ok := v.(map[string]any)
			if !ok {
				return nil, fmt.Errorf("%s: not an object", step)
			}
			x, ok := obj[m[1]]
			if !ok {
				if i == len(steps)-1 {
					next = append(next, nil)
					continue
				}
				return nil, fmt.Errorf("%s: no such field", m[1])
			}
			if !strings.Contains(step, "[") {
				next = append(next, x)
				continue
			}
			list, ok := x.([]any)
			if !ok {
				return nil, fmt.Errorf("%s: not a list", m[1])
			}
			for _, item := range list {
				if matches(item, m[2]) {
					next = append(next, item)
				}
			}
		}
		vals = next
	}
	return vals, nil
}

// splitPath splits a path at the dots outside brackets.
func splitPath(path string) []string {
	var out []string
	depth, start := 0, 0
	for i, c := range path {
		switch {
		case c == '[':
			depth++
		case c == ']':
			depth--
		case c == '.' && depth == 0:
			out = append(out, path[start:i])
			start = i + 1
		}
	}
	return append(out, path[start:])
}

// matches tells whether a list item meets conditions such as "k=v,k2!=v2".
func matches(item any, conds string) bool {
	o, _ := item.(map[string]any)
	for _, c := range strings.Split(conds, ",") {
		if c == "" {
			continue
		}
		k, want, ok := strings.Cut(c, "=")
		if !ok {
			return false
		}
		not := strings.HasSuffix(k, "!")
		got := fmt.Sprint(o[strings.TrimSuffix(k, "!")])
		if (got == want) == not {
			return false
		}
	}
	return true
}

// sameValue compares a page's data-value with a JSON value: numbers to
// within a part in 10⁹, times as instants, the rest as text.
func sameValue(page string, api any) bool {
	switch w := api.(type) {
	case nil:
		return page == "null"
	case float64:
		got, err := strconv.ParseFloat(page, 64)
		if err != nil {
			return false
		}
		return got == w || math.Abs(got-w) <= 1e-9*math.Abs(w)
	case bool:
		return page == strconv.FormatBool(w)
	case string:
		if wt, err := time.Parse(time.RFC3339Nano, w); err == nil {
			if gt, err := time.Parse(time.RFC3339Nano, page); err == nil {
				return gt.Equal(wt)
			}
		}
		return page == w
	}
	data, _ := json.Marshal(api)
	return page == string(data)
}

// live tells whether an answer includes bins in progress, which change
// between the page's request and the test's.
func live(source string) bool {
	return strings.HasPrefix(source, "/api/v1/latency")
}

// nearValue compares numbers to within 2 %.
func nearValue(page string, api any) bool {
	w, ok := api.(float64)
	got, err := strconv.ParseFloat(page, 64)
	return ok && err == nil && math.Abs(got-w) <= 0.02*math.Abs(w)
}

// checkCharts requires a caption and a table for every chart of the page.
func checkCharts(t *testing.T, b *browser) {
	t.Helper()
	bad := evaluate[[]string](t, b, `Array.from(document.querySelectorAll("figure, svg:not(figure svg):not(.logo):not([aria-hidden=true])")).filter(f => {
		const fig = f.closest("figure") || f;
		const caption = fig.querySelector("figcaption") || fig.querySelector("title");
		let table = fig.querySelector("table");
		for (let n = fig.nextElementSibling; !table && n && n.tagName !== "FIGURE" && n.tagName !== "SVG" && !/^H[1-3]$/.test(n.tagName); n = n.nextElementSibling) {
			table = n.tagName === "TABLE" ? n : n.querySelector("table");
		}
		return !caption || !table;
	}).map(f => (f.closest("figure") || f).outerHTML.slice(0, 200))`)
	for _, s := range bad {
		t.Errorf("a chart without a caption or a table beside it: %s", s)
	}
}

func mapKeys(m map[string]string) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	return out
}
