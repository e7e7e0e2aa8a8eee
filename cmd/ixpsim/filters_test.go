package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"go.yaml.in/yaml/v3"

	"github.com/ixpd/ixpd/routeserver"
	"github.com/ixpd/ixpd/routeserver/irr"
	"github.com/ixpd/ixpd/routeserver/members"
	"github.com/ixpd/ixpd/routeserver/peeringdb"
	"github.com/ixpd/ixpd/routeserver/rpki"
)

// prefixCmp compares netip.Prefix values, whose fields are unexported.
var prefixCmp = cmp.Comparer(func(a, b netip.Prefix) bool { return a == b })

func testPlan(t *testing.T, n, k, vrps, change int, seed uint64) *filterPlan {
	t.Helper()
	p, err := newFilterPlan(n, k, vrps, change, seed)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func TestFilterPlanChangeSets(t *testing.T) {
	p := testPlan(t, 4, 20, 1000, 10, 1)
	// 10 over 4 members: 3, 3, 2, 2 from each, VRP change from the start
	// of each member's block, IRR change from its end.
	wantVRP := []int{0, 1, 2, 20, 21, 22, 40, 41, 60, 61}
	wantIRR := []int{17, 18, 19, 37, 38, 39, 58, 59, 78, 79}
	if diff := cmp.Diff(p.vrpChange, wantVRP); diff != "" {
		t.Errorf("VRP change (-got +want):\n%s", diff)
	}
	if diff := cmp.Diff(p.irrChange, wantIRR); diff != "" {
		t.Errorf("IRR change (-got +want):\n%s", diff)
	}
	big := testPlan(t, 100, 1000, 500000, 1000, 1)
	if len(big.vrpChange) != 1000 || len(big.irrChange) != 1000 {
		t.Fatalf("%d and %d changed prefixes", len(big.vrpChange), len(big.irrChange))
	}
	for _, g := range big.vrpChange {
		if big.inIRRChange.has(g) {
			t.Fatalf("prefix %d in both changes", g)
		}
	}
}

func TestFilterPlanRejects(t *testing.T) {
	tests := []struct {
		name               string
		n, k, vrps, change int
		want               string
	}{
		{name: "no change", n: 4, k: 20, vrps: 1000, change: 0, want: "-change 0: need at least 1"},
		{name: "change too large", n: 4, k: 20, vrps: 1000, change: 41, want: "-change 41: 11 /24s per member"},
		{name: "too few VRPs", n: 4, k: 20, vrps: 50, change: 10, want: "-vrps 50: fewer than the 70 member ROAs"},
		{name: "too many VRPs", n: 4, k: 20, vrps: 5_000_000, change: 10, want: "-vrps 5000000: more synthetic VRPs"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := newFilterPlan(tt.n, tt.k, tt.vrps, tt.change, 1)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %v, want %q", err, tt.want)
			}
		})
	}
}

func vrpJSON(t *testing.T, p *filterPlan, st filterState) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := p.writeVRPJSON(&b, st); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// TestVRPFile checks the VRP file with ixpd's own parser: the size asked
// for, the same bytes for the same seed, every member /24 valid but the
// ones the IRR change takes (no ROA), and the VRP change's wrong origin.
func TestVRPFile(t *testing.T) {
	p := testPlan(t, 4, 20, 3000, 10, 1)
	a, b := vrpJSON(t, p, filterState{}), vrpJSON(t, p, filterState{})
	if !bytes.Equal(a, b) {
		t.Fatal("two writes of the same plan differ")
	}
	if other := vrpJSON(t, testPlan(t, 4, 20, 3000, 10, 2), filterState{}); bytes.Equal(a, other) {
		t.Error("another seed gives the same VRPs")
	}
	for _, st := range []filterState{{}, {vrpChanged: true}} {
		vrps, err := rpki.ParseVRPs(bytes.NewReader(vrpJSON(t, p, st)))
		if err != nil {
			t.Fatal(err)
		}
		if len(vrps) != 3000 {
			t.Fatalf("%d VRPs, want 3000", len(vrps))
		}
		byPrefix := map[netip.Prefix][]rpki.VRP{}
		for _, v := range vrps {
			byPrefix[v.Prefix] = append(byPrefix[v.Prefix], v)
			if v.Prefix.Addr().Is4() && p.n*p.k > 0 {
				if g, ok := indexOf(v.Prefix); !ok && v.Prefix.Overlaps(netip.MustParsePrefix("16.0.0.0/4")) {
					t.Errorf("synthetic VRP %v inside the members' space", v)
				} else if ok && g >= p.n*p.k {
					t.Errorf("VRP %v for a prefix no member has", v)
				}
			}
		}
		for g := range p.n * p.k {
			got := byPrefix[prefixOf(g)]
			want := []rpki.VRP{{Prefix: prefixOf(g), MaxLength: 24, ASN: originASN(g / p.k)}}
			switch {
			case p.inIRRChange.has(g):
				want = nil
			case st.vrpChanged && p.inVRPChange.has(g):
				want[0].ASN = wrongOriginASN
			}
			if diff := cmp.Diff(got, want, prefixCmp); diff != "" {
				t.Errorf("%v %+v (-got +want):\n%s", prefixOf(g), st, diff)
			}
		}
	}
	sum := sha256.Sum256(vrpJSON(t, testPlan(t, 100, 1000, 500000, 1000, 1), filterState{}))
	t.Logf("500k VRP file: sha256 %x", sum)
}

// TestIXPDData writes ixpd's data files and reads them with ixpd's
// parsers: IRR lists per AS-SET (before and after the IRR change),
// PeeringDB and the members file with its AS-SETs.
func TestIXPDData(t *testing.T) {
	dir := t.TempDir()
	p := testPlan(t, 4, 20, 1000, 10, 1)
	if err := p.writeIXPDData(dir, filterState{}, 0); err != nil {
		t.Fatal(err)
	}
	prefixFiles := []string{filepath.Join(dir, irrDir, "*.prefixes.json")}
	asnFiles := []string{filepath.Join(dir, irrDir, "*.asns.json")}
	check := func(st filterState) {
		d, err := irr.Load(prefixFiles, asnFiles)
		if err != nil {
			t.Fatal(err)
		}
		for i := range p.n {
			ranges, ok := d.Prefixes(asSet(i))
			if !ok {
				t.Fatalf("no prefix list %s", asSet(i))
			}
			var got []netip.Prefix
			for _, r := range ranges {
				if int(r.Min) != r.Prefix.Bits() || int(r.Max) != r.Prefix.Bits() {
					t.Errorf("%s: %v is not exact", asSet(i), r)
				}
				got = append(got, r.Prefix)
			}
			if diff := cmp.Diff(got, p.irrPrefixes(i, st), prefixCmp); diff != "" {
				t.Errorf("%s %+v (-got +want):\n%s", asSet(i), st, diff)
			}
			asns, _ := d.ASNs(asSet(i))
			if diff := cmp.Diff(asns, []uint32{memberASN(i), originASN(i)}); diff != "" {
				t.Errorf("%s ASNs (-got +want):\n%s", asSet(i), diff)
			}
		}
	}
	check(filterState{})
	st := filterState{vrpChanged: true, irrChanged: true}
	if err := p.writeIXPDData(dir, st, changeIRR); err != nil {
		t.Fatal(err)
	}
	check(st)
	if len(p.irrPrefixes(0, st)) != p.k-3 {
		t.Errorf("member 1 keeps %d route objects, want %d", len(p.irrPrefixes(0, st)), p.k-3)
	}

	never, err := peeringdb.LoadNeverViaRouteServers(filepath.Join(dir, peeringDBFile))
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(never, neverViaRSASNs); diff != "" {
		t.Errorf("never via route servers (-got +want):\n%s", diff)
	}

	b, err := ixfMembersWith(4, 40, time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC), true)
	if err != nil {
		t.Fatal(err)
	}
	opts := members.Options{PeeringLANs: []netip.Prefix{peeringLAN}}
	if _, err := os.Stat(ixfSchema); err == nil {
		opts.SchemaFile = ixfSchema
	}
	set, err := members.Parse(b, opts)
	if err != nil {
		t.Fatal(err)
	}
	for i, m := range set.Members {
		if diff := cmp.Diff(m.ASSets(), []string{asSet(i)}); diff != "" {
			t.Errorf("member %d AS-SETs (-got +want):\n%s", i+1, diff)
		}
		if m.RouteServer.Blackhole != memberBlackhole(i) {
			t.Errorf("member %d blackhole %v", i+1, m.RouteServer.Blackhole)
		}
	}
}

// TestIXPDFiltersConfig decodes the routeserver part of the -filters all
// configuration as ixpd does (unknown keys are errors) and validates it;
// with an ixpd binary it also runs "ixpd check" on the whole set-up.
func TestIXPDFiltersConfig(t *testing.T) {
	dir := t.TempDir()
	conf := ixpdFiltersConfig(netip.MustParseAddrPort("127.0.0.1:10179"), rsAddr, netip.MustParseAddrPort("127.0.0.1:18080"), dir)
	var root struct {
		RouteServer yaml.Node `yaml:"routeserver"`
	}
	if err := yaml.Unmarshal(conf, &root); err != nil {
		t.Fatal(err)
	}
	var raw bytes.Buffer
	enc := yaml.NewEncoder(&raw)
	if err := enc.Encode(&root.RouteServer); err != nil {
		t.Fatal(err)
	}
	rs := routeserver.DefaultConfiguration()
	dec := yaml.NewDecoder(&raw)
	dec.KnownFields(true)
	if err := dec.Decode(&rs); err != nil {
		t.Fatalf("%v\n%s", err, conf)
	}
	rs.PeeringLANs = []netip.Prefix{peeringLAN}
	if err := rs.Validate(); err != nil {
		t.Fatal(err)
	}
	f := rs.Filters
	if !rs.RPKI.RejectInvalid || rs.RPKI.VRPFile != filepath.Join(dir, vrpFile) || rs.IRR.Mode != routeserver.IRRReject ||
		!rs.IRR.RPKIAsRouteObjects || rs.PeeringDBFile == "" || !f.TransitFree || !f.NeverViaRouteServers ||
		len(f.Blocklist) != len(benchBlocklist) || !rs.ControlCommunities || !rs.Blackhole.Enabled ||
		!slices.Equal(f.TransitFreeASNs, routeserver.DefaultTransitFreeASNs) || !f.Bogons || !f.NextHop || !f.FirstAS {
		t.Errorf("configuration:\n%s\ndecodes to %+v", conf, rs)
	}

	bin := ixpdBinary(t)
	if bin == "" {
		return
	}
	p := testPlan(t, 4, 20, 1000, 10, 1)
	if err := p.writeIXPDData(dir, filterState{}, 0); err != nil {
		t.Fatal(err)
	}
	mf, err := ixfMembersWith(4, 40, time.Now(), true)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "members.json"), mf, 0o644); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "ixpd.yaml")
	if err := os.WriteFile(path, conf, 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "check", "-config", path)
	cmd.Dir = dir
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("ixpd check: %v\n%s", err, out)
	}
}

// ixpdBinary returns an ixpd binary for tests: $IXPD_BIN, else bin/ixpd
// of the repository, else (under CI=true) one built for the test. It
// returns "" when there is none.
func ixpdBinary(t *testing.T) string {
	t.Helper()
	if b := os.Getenv("IXPD_BIN"); b != "" {
		return b
	}
	if b, err := filepath.Abs("../../bin/ixpd"); err == nil && fileExists(b) {
		return b
	}
	if os.Getenv("CI") != "true" {
		t.Log("no ixpd binary (go build -o bin/ixpd ./cmd/ixpd): ixpd part skipped")
		return ""
	}
	b := filepath.Join(t.TempDir(), "ixpd")
	if out, err := exec.Command("go", "build", "-o", b, "../ixpd").CombinedOutput(); err != nil {
		t.Fatalf("build ixpd: %v\n%s", err, out)
	}
	return b
}

func TestBIRDFiltersConfigParses(t *testing.T) {
	bin := needBIRD(t)
	for _, tables := range []string{birdSingle, birdPerClient} {
		t.Run(tables, func(t *testing.T) {
			dir := t.TempDir()
			p := testPlan(t, 4, 20, 1000, 10, 1)
			c := testBIRDConfig(dir, tables, 1179, 4, 40)
			f, err := newBIRDFilters()
			if err != nil {
				t.Fatal(err)
			}
			c.Filters = f
			for i := range c.Members {
				c.Members[i].Blackhole = memberBlackhole(i)
			}
			conf, err := c.render()
			if err != nil {
				t.Fatal(err)
			}
			for _, want := range []string{"import table on;", "rs_export_ok(210000, true)", "rs_export_ok(210001, false)",
				"[= ? * [174, 701, 1299", "BLOCKLIST_V4 = [ 1.1.1.0/24{24,24}, 8.8.8.0/24{24,32} ]"} {
				if !strings.Contains(string(conf), want) {
					t.Errorf("config lacks %q", want)
				}
			}
			path := filepath.Join(dir, "bird.conf")
			if err := os.WriteFile(path, conf, 0o644); err != nil {
				t.Fatal(err)
			}
			for _, st := range []filterState{{}, {vrpChanged: true, irrChanged: true}} {
				if err := p.writeBIRDData(dir, st); err != nil {
					t.Fatal(err)
				}
				if out, err := exec.Command(bin, "-p", "-c", path).CombinedOutput(); err != nil {
					t.Fatalf("bird -p (%+v): %v\n%s", st, err, out)
				}
			}
			roas, err := os.ReadFile(filepath.Join(dir, birdROAFile))
			if err != nil {
				t.Fatal(err)
			}
			if want := "\troute 16.0.0.0/24 max 24 as 399999;\n"; !strings.Contains(string(roas), want) {
				t.Errorf("changed ROAs lack %q", want)
			}
		})
	}
}

// TestRSBenchFiltersAll runs rs-bench -filters all on a small exchange
// against BIRD and, with an ixpd binary, ixpd: both converge, and every
// member withdraws every changed prefix and nothing else.
func TestRSBenchFiltersAll(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end bench run")
	}
	targets := []string{}
	var birdBin string
	if b, err := exec.LookPath("bird"); err == nil {
		targets, birdBin = append(targets, "bird"), b
	} else if os.Getenv("CI") == "true" {
		t.Fatalf("bird not installed: %v", err)
	}
	ixpd := ixpdBinary(t)
	if ixpd != "" {
		targets = append(targets, "ixpd")
	}
	if len(targets) == 0 {
		t.Skip("neither bird nor an ixpd binary")
	}
	const n, change = 4, 10
	args := []string{"-filters", "all", "-members", "4", "-prefixes", "20", "-change", "10", "-vrps", "5000",
		"-targets", strings.Join(targets, ","), "-timeout", "1m", "-event-timeout", "1m", "-json"}
	if ixpd != "" {
		args = append(args, "-ixpd", ixpd)
	}
	if birdBin != "" {
		args = append(args, "-bird", birdBin)
	}
	var out, progress bytes.Buffer
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	if err := rsBench(ctx, args, &out, &progress); err != nil {
		t.Fatalf("%v\n%s", err, progress.String())
	}
	var rep report
	if err := json.Unmarshal(out.Bytes(), &rep); err != nil {
		t.Fatal(err)
	}
	for _, name := range targets {
		runs := rep.Results[name]
		if len(runs) != 1 {
			t.Fatalf("%s: %d runs", name, len(runs))
		}
		r := runs[0]
		if !r.Converged || r.Error != "" || r.Unexpected != 0 {
			t.Errorf("%s: converged %v, error %q, %d unexpected\n%s", name, r.Converged, r.Error, r.Unexpected, progress.String())
			continue
		}
		for _, e := range []struct {
			name string
			ev   *eventResult
		}{{"VRP", r.VRPChange}, {"IRR", r.IRRChange}} {
			want := eventResult{Done: true, Prefixes: change, MembersDone: n, Withdrawn: change * (n - 1)}
			if e.ev == nil {
				t.Errorf("%s: no %s change", name, e.name)
				continue
			}
			got := *e.ev
			got.Seconds, got.CommandSeconds, got.Repeated = 0, 0, 0
			if diff := cmp.Diff(got, want); diff != "" {
				t.Errorf("%s %s change (-got +want):\n%s", name, e.name, diff)
			}
		}
	}
	for _, s := range rep.Summary {
		if s.VRPChangeRuns != 1 || s.IRRChangeRuns != 1 || s.RSPeakRSSEnd == 0 {
			t.Errorf("summary %+v lacks the change events", s)
		}
	}
}
