package rpki_test

import (
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"slices"
	"strconv"
	"testing"
	"time"

	api "github.com/osrg/gobgp/v4/api"
	"github.com/osrg/gobgp/v4/pkg/apiutil"
	"github.com/osrg/gobgp/v4/pkg/packet/bgp"
	"github.com/osrg/gobgp/v4/pkg/server"

	"github.com/ixpd/ixpd/routeserver/rpki"
)

// startGoBGP starts a GoBGP server without a BGP listener and connects its
// RTR client to the cache at cacheAddr.
func startGoBGP(t *testing.T, cacheAddr string) *server.BgpServer {
	t.Helper()
	lvl := &slog.LevelVar{}
	lvl.Set(slog.LevelInfo)
	s := server.NewBgpServer(server.LoggerOption(testLogger(t).With("engine", "gobgp"), lvl))
	go s.Serve()
	ctx := t.Context()
	if err := s.StartBgp(ctx, &api.StartBgpRequest{Global: &api.Global{Asn: 64500, RouterId: "192.0.2.254", ListenPort: -1}}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Stop)
	host, portStr, err := net.SplitHostPort(cacheAddr)
	if err != nil {
		t.Fatal(err)
	}
	port, err := strconv.ParseUint(portStr, 10, 16)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.AddRpki(ctx, &api.AddRpkiRequest{Address: host, Port: uint32(port), Lifetime: 60}); err != nil {
		t.Fatal(err)
	}
	return s
}

// roaTable returns GoBGP's ROA table as VRPs, sorted.
func roaTable(t *testing.T, s *server.BgpServer) []rpki.VRP {
	t.Helper()
	var vrps []rpki.VRP
	err := s.ListRpkiTable(t.Context(), &api.ListRpkiTableRequest{}, func(r *api.Roa) {
		addr, err := netip.ParseAddr(r.Prefix)
		if err != nil {
			t.Errorf("ROA prefix %q: %v", r.Prefix, err)
			return
		}
		vrps = append(vrps, rpki.VRP{Prefix: netip.PrefixFrom(addr, int(r.Prefixlen)), MaxLength: uint8(r.Maxlen), ASN: r.Asn})
	})
	if err != nil {
		t.Fatal(err)
	}
	slices.SortFunc(vrps, compareForTest)
	return vrps
}

// waitForTable waits until GoBGP's ROA table is want.
func waitForTable(t *testing.T, s *server.BgpServer, want []rpki.VRP) {
	t.Helper()
	want = slices.Clone(want)
	slices.SortFunc(want, compareForTest)
	waitFor(t, 10*time.Second, "GoBGP's ROA table differs from the cache's VRPs", func() (bool, string) {
		got := roaTable(t, s)
		return slices.Equal(got, want), fmt.Sprintf("got %v, want %v", got, want)
	})
}

// rtrCounters returns what GoBGP's RTR client counted for its one cache.
func rtrCounters(t *testing.T, s *server.BgpServer) *api.RPKIState {
	t.Helper()
	var state *api.RPKIState
	if err := s.ListRpki(t.Context(), &api.ListRpkiRequest{}, func(r *api.Rpki) { state = r.State }); err != nil {
		t.Fatal(err)
	}
	if state == nil {
		t.Fatal("GoBGP lists no RPKI server")
	}
	return state
}

// addRoute adds a local IPv4 route for prefix whose AS path ends in origin.
func addRoute(t *testing.T, s *server.BgpServer, prefix string, origin uint32) {
	t.Helper()
	nlri, err := bgp.NewIPAddrPrefix(netip.MustParsePrefix(prefix))
	if err != nil {
		t.Fatal(err)
	}
	nh, err := bgp.NewPathAttributeNextHop(netip.MustParseAddr("192.0.2.254"))
	if err != nil {
		t.Fatal(err)
	}
	attrs := []bgp.PathAttributeInterface{
		bgp.NewPathAttributeOrigin(bgp.BGP_ORIGIN_ATTR_TYPE_IGP),
		bgp.NewPathAttributeAsPath([]bgp.AsPathParamInterface{bgp.NewAs4PathParam(bgp.BGP_ASPATH_ATTR_TYPE_SEQ, []uint32{64501, origin})}),
		nh,
	}
	if _, err := s.AddPath(apiutil.AddPathRequest{Paths: []*apiutil.Path{{Family: bgp.RF_IPv4_UC, Nlri: nlri, Attrs: attrs}}}); err != nil {
		t.Fatal(err)
	}
}

// validation returns GoBGP's RPKI validation state of the route for prefix.
func validation(t *testing.T, s *server.BgpServer, prefix string) api.ValidationState {
	t.Helper()
	state := api.ValidationState_VALIDATION_STATE_UNSPECIFIED
	err := s.ListPath(apiutil.ListPathRequest{
		TableType: api.TableType_TABLE_TYPE_GLOBAL,
		Family:    bgp.RF_IPv4_UC,
		Prefixes:  []*apiutil.LookupPrefix{{Prefix: prefix}},
	}, func(_ bgp.NLRI, paths []*apiutil.Path) {
		for _, p := range paths {
			if p.Validation != nil {
				state = p.Validation.State
			}
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	return state
}

// waitForValidation waits until GoBGP validates the routes as want says.
func waitForValidation(t *testing.T, s *server.BgpServer, want map[string]api.ValidationState) {
	t.Helper()
	waitFor(t, 10*time.Second, "GoBGP's validation differs", func() (bool, string) {
		got := map[string]api.ValidationState{}
		for prefix := range want {
			got[prefix] = validation(t, s, prefix)
		}
		return fmt.Sprint(got) == fmt.Sprint(want), fmt.Sprintf("got %v, want %v", got, want)
	})
}

func TestGoBGPFollowsTheCache(t *testing.T) {
	cache, addr := startCache(t)
	first, err := rpki.LoadVRPFile(sharedData + "stayrtr/test.rpki.json")
	if err != nil {
		t.Fatal(err)
	}
	if serial, added, removed := cache.Set(first); serial != 1 || added != 19 || removed != 0 {
		t.Fatalf("Set() = %d, %d, %d; want 1, 19, 0", serial, added, removed)
	}

	s := startGoBGP(t, addr)
	waitForTable(t, s, first)
	addRoute(t, s, "1.0.0.0/24", 13335)      // 1.0.0.0/24-24 AS13335
	addRoute(t, s, "192.0.2.0/24", 64511)    // 192.0.2.0/24-24 AS1
	addRoute(t, s, "198.51.100.0/24", 64511) // no VRP
	addRoute(t, s, "203.0.113.0/24", 64511)  // no VRP
	waitForValidation(t, s, map[string]api.ValidationState{
		"1.0.0.0/24":      api.ValidationState_VALIDATION_STATE_VALID,
		"192.0.2.0/24":    api.ValidationState_VALIDATION_STATE_INVALID,
		"198.51.100.0/24": api.ValidationState_VALIDATION_STATE_NOT_FOUND,
		"203.0.113.0/24":  api.ValidationState_VALIDATION_STATE_NOT_FOUND,
	})
	if got := rtrCounters(t, s); got.ResetQuery != 1 || got.SerialQuery != 0 || got.Serial != 1 {
		t.Errorf("GoBGP sent %d Reset and %d Serial Queries and is at serial %d, want 1, 0 and 1",
			got.ResetQuery, got.SerialQuery, got.Serial)
	}

	// One VRP removed, one added: GoBGP gets a Serial Notify, asks with a
	// Serial Query and applies the delta.
	second := slices.DeleteFunc(slices.Clone(first), func(v rpki.VRP) bool { return v == vrp("1.0.0.0/24", 24, 13335) })
	second = append(second, vrp("198.51.100.0/24", 24, 64511))
	if serial, added, removed := cache.Set(second); serial != 2 || added != 1 || removed != 1 {
		t.Fatalf("Set() = %d, %d, %d; want 2, 1, 1", serial, added, removed)
	}
	waitForTable(t, s, second)
	waitForValidation(t, s, map[string]api.ValidationState{
		"1.0.0.0/24":      api.ValidationState_VALIDATION_STATE_NOT_FOUND,
		"192.0.2.0/24":    api.ValidationState_VALIDATION_STATE_INVALID,
		"198.51.100.0/24": api.ValidationState_VALIDATION_STATE_VALID,
		"203.0.113.0/24":  api.ValidationState_VALIDATION_STATE_NOT_FOUND,
	})

	// IPv6 only, and a maximum length that makes 203.0.113.0/24 invalid.
	third := []rpki.VRP{
		vrp("2001:db8::/32", 48, 64511),
		vrp("2001:db8:1::/48", 48, 64512),
		vrp("2001:200:136::/48", 48, 9367),
		vrp("203.0.112.0/22", 23, 64511),
	}
	if serial, _, _ := cache.Set(third); serial != 3 {
		t.Fatalf("Set() serial %d, want 3", serial)
	}
	waitForTable(t, s, third)
	waitForValidation(t, s, map[string]api.ValidationState{
		"1.0.0.0/24":      api.ValidationState_VALIDATION_STATE_NOT_FOUND,
		"192.0.2.0/24":    api.ValidationState_VALIDATION_STATE_NOT_FOUND,
		"198.51.100.0/24": api.ValidationState_VALIDATION_STATE_NOT_FOUND,
		"203.0.113.0/24":  api.ValidationState_VALIDATION_STATE_INVALID,
	})
	waitFor(t, 5*time.Second, "GoBGP's serial", func() (bool, string) {
		got := rtrCounters(t, s)
		return got.Serial == 3, fmt.Sprintf("serial %d", got.Serial)
	})
	if got := rtrCounters(t, s); got.ResetQuery != 1 || got.SerialQuery != 2 || got.SerialNotify != 2 {
		t.Errorf("GoBGP sent %d Reset and %d Serial Queries for %d Serial Notifies, want 1, 2 and 2",
			got.ResetQuery, got.SerialQuery, got.SerialNotify)
	}
}

// TestGoBGPBeforeFirstSet connects GoBGP before there is data: it gets No
// Data Available, then the first Set's Serial Notify brings the data.
func TestGoBGPBeforeFirstSet(t *testing.T) {
	cache, addr := startCache(t)
	s := startGoBGP(t, addr)
	waitFor(t, 10*time.Second, "GoBGP's error count", func() (bool, string) {
		got := rtrCounters(t, s)
		return got.Error == 1, fmt.Sprintf("%d errors", got.Error)
	})
	vrps := []rpki.VRP{vrp("10.0.0.0/8", 24, 64511), vrp("2001:db8::/32", 32, 64512)}
	cache.Set(vrps)
	waitForTable(t, s, vrps)
}

// TestGoBGPRapidSets changes the set many times in a row, faster than
// GoBGP answers the notifications; its table must end equal to the last set.
func TestGoBGPRapidSets(t *testing.T) {
	cache, addr := startCache(t)
	all := syntheticVRPs(2000)
	cache.Set(all[:1000])
	s := startGoBGP(t, addr)
	waitForTable(t, s, all[:1000])
	var last []rpki.VRP
	for i := range 40 {
		// Slide a window: each Set adds 25 VRPs and removes 25.
		last = all[25*(i+1) : 1000+25*(i+1)]
		cache.Set(last)
	}
	waitForTable(t, s, last)
}
