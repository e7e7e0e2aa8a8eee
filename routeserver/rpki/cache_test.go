package rpki_test

import (
	"fmt"
	"io"
	"net"
	"slices"
	"testing"
	"time"

	"github.com/osrg/gobgp/v4/pkg/packet/rtr"

	"github.com/ixpd/ixpd/routeserver/rpki"
)

// testVRPs are an IPv4 and an IPv6 VRP, and an IPv4 one with a longer
// maximum length.
var testVRPs = []rpki.VRP{
	vrp("192.0.2.0/24", 24, 64511),
	vrp("198.51.100.0/22", 24, 64512),
	vrp("2001:db8::/32", 48, 64513),
}

func TestResetQuery(t *testing.T) {
	for _, version := range []uint8{0, 1} {
		t.Run(fmt.Sprintf("version %d", version), func(t *testing.T) {
			cache, addr := startCache(t)
			serial, added, removed := cache.Set(testVRPs)
			if serial != 1 || added != 3 || removed != 0 || cache.Serial() != 1 || cache.Len() != 3 {
				t.Fatalf("Set() = %d, %d, %d, Serial() %d, Len() %d; want 1, 3, 0, 1, 3",
					serial, added, removed, cache.Serial(), cache.Len())
			}
			c := dial(t, addr)
			c.resetQuery(version)
			resp := c.readResponse(version)
			if resp.serial != 1 || len(resp.withdraw) != 0 || !slices.Equal(resp.announce, testVRPs) {
				t.Errorf("got serial %d, %v announced, %v withdrawn; want 1, %v, none",
					resp.serial, resp.announce, resp.withdraw, testVRPs)
			}

			// A second client sees the same session.
			c2 := dial(t, addr)
			c2.resetQuery(version)
			if resp2 := c2.readResponse(version); resp2.session != resp.session {
				t.Errorf("session IDs %d and %d", resp.session, resp2.session)
			}
		})
	}
}

func TestNoDataBeforeFirstSet(t *testing.T) {
	cache, addr := startCache(t)
	c := dial(t, addr)
	c.resetQuery(1)
	if got := c.readErrorReport(1); got.ErrorCode != rtr.NO_DATA_AVAILABLE {
		t.Fatalf("error code %d, want %d (No Data Available)", got.ErrorCode, rtr.NO_DATA_AVAILABLE)
	}
	c.serialQuery(1, 0, 0)
	if got := c.readErrorReport(1); got.ErrorCode != rtr.NO_DATA_AVAILABLE {
		t.Fatalf("error code %d, want %d (No Data Available)", got.ErrorCode, rtr.NO_DATA_AVAILABLE)
	}

	// The connection stays up, and the first Set notifies it.
	cache.Set(nil)
	if got := c.read(1, rtr.RTR_SERIAL_NOTIFY).serial(); got != 1 {
		t.Errorf("Serial Notify for serial %d, want 1", got)
	}
	c.resetQuery(1)
	if resp := c.readResponse(1); resp.serial != 1 || len(resp.announce)+len(resp.withdraw) != 0 {
		t.Errorf("got %+v, want serial 1 and no prefixes", resp)
	}
}

func TestSerialNotify(t *testing.T) {
	cache, addr := startCache(t)
	cache.Set(testVRPs)
	quiet := dial(t, addr) // sends no query: gets no notification
	c := dial(t, addr)
	c.resetQuery(0)
	session := c.readResponse(0).session

	changed := append(slices.Clone(testVRPs[1:]), vrp("203.0.113.0/24", 24, 64514))
	if serial, added, removed := cache.Set(changed); serial != 2 || added != 1 || removed != 1 {
		t.Fatalf("Set() = %d, %d, %d; want 2, 1, 1", serial, added, removed)
	}
	n := c.read(0, rtr.RTR_SERIAL_NOTIFY)
	if n.serial() != 2 || n.field != session {
		t.Errorf("Serial Notify for serial %d session %d, want 2 and %d", n.serial(), n.field, session)
	}
	c.serialQuery(0, session, 1)
	resp := c.readResponse(0)
	if resp.serial != 2 || !slices.Equal(resp.announce, changed[2:]) || !slices.Equal(resp.withdraw, testVRPs[:1]) {
		t.Errorf("got %+v, want serial 2, %v announced and %v withdrawn", resp, changed[2:], testVRPs[:1])
	}

	// The same set in another order and with duplicates changes nothing.
	again := slices.Concat(changed, changed)
	slices.Reverse(again)
	if serial, added, removed := cache.Set(again); serial != 2 || added != 0 || removed != 0 {
		t.Errorf("Set(same) = %d, %d, %d; want 2, 0, 0", serial, added, removed)
	}
	c.serialQuery(0, session, 2)
	if resp := c.readResponse(0); resp.serial != 2 || len(resp.announce)+len(resp.withdraw) != 0 {
		t.Errorf("Serial Query for the current serial: %+v", resp)
	}

	// The client that never asked got nothing.
	if err := quiet.conn.SetReadDeadline(time.Now().Add(50 * time.Millisecond)); err != nil {
		t.Fatal(err)
	}
	if n, err := quiet.r.Read(make([]byte, 1)); n != 0 || err == nil {
		t.Errorf("a client that sent no query got %d octets, %v", n, err)
	}
}

// TestSerialQueryFromHistory asks on new connections, as a router that
// reconnects does, for every serial of the history and beyond.
func TestSerialQueryFromHistory(t *testing.T) {
	cache, addr := startCache(t)
	all := syntheticVRPs(100)
	sets := [][]rpki.VRP{}
	for i := range 20 {
		// Each set drops 2 VRPs and adds 3, and brings back a VRP that an
		// earlier set dropped.
		set := slices.Clone(all[2*i : 40+3*i])
		set = append(set, all[0])
		cache.Set(set)
		sets = append(sets, set)
	}
	if cache.Serial() != 20 {
		t.Fatalf("serial %d after 20 changes", cache.Serial())
	}
	c := dial(t, addr)
	c.resetQuery(1)
	session := c.readResponse(1).session

	last := sets[len(sets)-1]
	for from := uint32(1); from <= 20; from++ {
		c := dial(t, addr)
		c.serialQuery(1, session, from)
		f, err := c.next()
		if err != nil {
			t.Fatal(err)
		}
		if from < 20-16 {
			if f.typ != rtr.RTR_CACHE_RESET {
				t.Errorf("Serial Query for serial %d beyond the history: got PDU type %d, want Cache Reset", from, f.typ)
			}
			continue
		}
		if f.typ != rtr.RTR_CACHE_RESPONSE {
			t.Fatalf("Serial Query for serial %d: got PDU type %d, want Cache Response", from, f.typ)
		}
		// Put back the Cache Response and read the rest.
		c.unread(f)
		resp := c.readResponse(1)
		if resp.serial != 20 {
			t.Errorf("from %d: End of Data serial %d, want 20", from, resp.serial)
		}
		got := applyDelta(t, sets[from-1], resp)
		if !slices.Equal(got, sortedCopy(last)) {
			t.Errorf("from %d: applying the delta gives %v, want %v", from, got, last)
		}
	}

	// Another session ID: Cache Reset.
	c2 := dial(t, addr)
	c2.serialQuery(1, session+1, 20)
	c2.read(1, rtr.RTR_CACHE_RESET)
}

// applyDelta applies resp to set as a router would, failing on a
// withdrawal of something absent or an announcement of something present.
func applyDelta(t *testing.T, set []rpki.VRP, resp response) []rpki.VRP {
	t.Helper()
	have := map[rpki.VRP]bool{}
	for _, v := range set {
		have[v] = true
	}
	for _, v := range resp.withdraw {
		if !have[v] {
			t.Errorf("withdrawal of %v, which the router does not have", v)
		}
		delete(have, v)
	}
	for _, v := range resp.announce {
		if have[v] {
			t.Errorf("announcement of %v, which the router has", v)
		}
		have[v] = true
	}
	var out []rpki.VRP
	for v := range have {
		out = append(out, v)
	}
	slices.SortFunc(out, compareForTest)
	return out
}

func sortedCopy(vrps []rpki.VRP) []rpki.VRP {
	out := slices.Clone(vrps)
	slices.SortFunc(out, compareForTest)
	return slices.Compact(out)
}

// TestSerialQueryAfterHistory keeps a connection while the set changes more
// times than the history holds: the cache still answers with a delta.
func TestSerialQueryAfterHistory(t *testing.T) {
	cache, addr := startCache(t)
	all := syntheticVRPs(200)
	cache.Set(all[:100])
	c := dial(t, addr)
	c.resetQuery(0)
	session := c.readResponse(0).session
	for i := range 30 {
		cache.Set(all[i+1 : 101+i])
	}
	// The query names serial 1; the connection holds serial 1 too.
	c.serialQuery(0, session, 1)
	for {
		f, err := c.next()
		if err != nil {
			t.Fatal(err)
		}
		if f.typ == rtr.RTR_SERIAL_NOTIFY {
			continue
		}
		if f.typ != rtr.RTR_CACHE_RESPONSE {
			t.Fatalf("got PDU type %d, want Cache Response", f.typ)
		}
		c.unread(f)
		break
	}
	resp := c.readResponse(0)
	if resp.serial != 31 {
		t.Errorf("serial %d, want 31", resp.serial)
	}
	if got := applyDelta(t, all[:100], resp); !slices.Equal(got, sortedCopy(all[30:130])) {
		t.Errorf("applying the delta gives %d VRPs, not the current set", len(got))
	}
}

func TestProtocolErrors(t *testing.T) {
	tests := []struct {
		name    string
		send    []byte
		version uint8  // of the Error Report
		code    uint16 // of the Error Report
	}{
		{name: "garbage", send: []byte("GET / HTTP/1.1\r\n\r\n"), version: 1, code: rtr.UNSUPPORTED_PROTOCOL_VERSION},
		{name: "version 2", send: []byte{2, rtr.RTR_RESET_QUERY, 0, 0, 0, 0, 0, 8}, version: 1, code: rtr.UNSUPPORTED_PROTOCOL_VERSION},
		{name: "short length", send: []byte{0, rtr.RTR_RESET_QUERY, 0, 0, 0, 0, 0, 4}, version: 0, code: rtr.CORRUPT_DATA},
		{name: "huge length", send: []byte{1, rtr.RTR_RESET_QUERY, 0, 0, 0x7f, 0, 0, 0}, version: 1, code: rtr.CORRUPT_DATA},
		{name: "long Reset Query", send: []byte{1, rtr.RTR_RESET_QUERY, 0, 0, 0, 0, 0, 12, 0, 0, 0, 0}, version: 1, code: rtr.CORRUPT_DATA},
		{name: "short Serial Query", send: []byte{0, rtr.RTR_SERIAL_QUERY, 0, 0, 0, 0, 0, 8}, version: 0, code: rtr.CORRUPT_DATA},
		{name: "unknown type", send: []byte{1, 42, 0, 0, 0, 0, 0, 8}, version: 1, code: rtr.UNSUPPORTED_PDU_TYPE},
		{name: "cache PDU", send: []byte{0, rtr.RTR_CACHE_RESPONSE, 0, 0, 0, 0, 0, 8}, version: 0, code: rtr.INVALID_REQUEST},
		{name: "version change", send: []byte{1, rtr.RTR_RESET_QUERY, 0, 0, 0, 0, 0, 8, 0, rtr.RTR_RESET_QUERY, 0, 0, 0, 0, 0, 8},
			version: 1, code: 8},
	}
	cache, addr := startCache(t)
	cache.Set(testVRPs)
	good := dial(t, addr)
	good.resetQuery(1)
	session := good.readResponse(1).session
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := dial(t, addr)
			c.send(tt.send)
			f, err := c.next()
			for err == nil && f.typ == rtr.RTR_CACHE_RESPONSE { // version change: the first query's answer
				c.unread(f)
				c.readResponse(f.version)
				f, err = c.next()
			}
			if err != nil {
				t.Fatal(err)
			}
			c.unread(f)
			report := c.readErrorReport(tt.version)
			if report.ErrorCode != tt.code {
				t.Errorf("error code %d (%q), want %d", report.ErrorCode, report.Text, tt.code)
			}
			if len(report.Text) == 0 || len(report.PDU) == 0 {
				t.Errorf("Error Report without the PDU (% x) or text (%q)", report.PDU, report.Text)
			}
			c.expectEOF()
		})
	}

	// The client that behaved is still served.
	cache.Set(testVRPs[:1])
	good.read(1, rtr.RTR_SERIAL_NOTIFY)
	good.serialQuery(1, session, 1)
	if resp := good.readResponse(1); resp.serial != 2 || len(resp.withdraw) != 2 {
		t.Errorf("got %+v, want serial 2 and 2 withdrawals", resp)
	}
}

// TestErrorReportFromRouter closes the connection without an answer.
func TestErrorReportFromRouter(t *testing.T) {
	cache, addr := startCache(t)
	cache.Set(testVRPs)
	c := dial(t, addr)
	report, err := rtr.NewRTRErrorReport(rtr.INTERNAL_ERROR, nil, []byte("router trouble")).Serialize()
	if err != nil {
		t.Fatal(err)
	}
	c.send(report)
	c.expectEOF()
}

// servePipes serves cache on a pipeListener too, with a write timeout.
func servePipes(t *testing.T, cache *rpki.Cache, writeTimeout time.Duration) *pipeListener {
	t.Helper()
	cache.SetWriteTimeout(writeTimeout)
	pipes := newPipeListener()
	served := make(chan error, 1)
	go func() { served <- cache.Serve(pipes) }()
	t.Cleanup(func() {
		_ = cache.Close()
		if err := <-served; err != nil {
			t.Errorf("Serve(pipes) = %v", err)
		}
	})
	return pipes
}

// TestClientThatDoesNotRead has a client that asks and then reads nothing,
// over a pipe without buffers: it must not hold up Set or another client,
// and is dropped when a write makes no progress for the write timeout.
func TestClientThatDoesNotRead(t *testing.T) {
	cache, addr := startCache(t)
	pipes := servePipes(t, cache, 200*time.Millisecond)
	sets := [2][]rpki.VRP{testVRPs, testVRPs[1:]}
	cache.Set(sets[1])
	stuck := pipes.dial(t)
	if _, err := stuck.Write([]byte{0, rtr.RTR_RESET_QUERY, 0, 0, 0, 0, 0, 8}); err != nil {
		t.Fatal(err)
	}
	good := dial(t, addr)
	good.resetQuery(1)
	session := good.readResponse(1).session

	done := make(chan struct{})
	go func() {
		defer close(done)
		for i := range 101 {
			cache.Set(sets[i%2])
		}
	}()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("Set blocks on a client that does not read")
	}
	if cache.Serial() != 102 {
		t.Fatalf("serial %d after 102 changes", cache.Serial())
	}
	// A burst of changes gives the client that reads one or a few
	// notifications, not one per change, and it stays connected.
	good.read(1, rtr.RTR_SERIAL_NOTIFY)
	good.serialQuery(1, session, 1)
	for {
		f, err := good.next()
		if err != nil {
			t.Fatal(err)
		}
		if f.typ != rtr.RTR_SERIAL_NOTIFY {
			good.unread(f)
			break
		}
	}
	if resp := good.readResponse(1); resp.serial != 102 || !slices.Equal(resp.announce, testVRPs[:1]) || len(resp.withdraw) != 0 {
		t.Errorf("got %+v, want serial 102 and %v announced", resp, testVRPs[:1])
	}

	// The stuck client is dropped: reading gives at most what was being
	// written, then EOF.
	waitFor(t, 5*time.Second, "the stuck client is still connected", func() (bool, string) {
		n := cache.NumClients()
		return n == 1, fmt.Sprintf("%d clients", n)
	})
	if n, err := io.Copy(io.Discard, stuck); err != nil || n > 8 {
		t.Errorf("read %d octets then %v, want at most a Cache Response and EOF", n, err)
	}
}

// TestClientThatFloodsIsDropped sends queries without reading the answers:
// it is dropped once more answers wait than the queue holds.
func TestClientThatFloodsIsDropped(t *testing.T) {
	cache, addr := startCache(t)
	pipes := servePipes(t, cache, time.Minute)
	cache.Set(testVRPs)
	flood := pipes.dial(t)
	go func() {
		for range 100 {
			if _, err := flood.Write([]byte{0, rtr.RTR_RESET_QUERY, 0, 0, 0, 0, 0, 8}); err != nil {
				return
			}
		}
	}()
	waitFor(t, 5*time.Second, "the flooding client is still connected", func() (bool, string) {
		n := cache.NumClients()
		return n == 0, fmt.Sprintf("%d clients", n)
	})
	if n, err := io.Copy(io.Discard, flood); err != nil {
		t.Errorf("after %d octets: %v, want EOF", n, err)
	}
	good := dial(t, addr)
	good.resetQuery(0)
	good.readResponse(0)
}

func TestClose(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	cache := rpki.NewCache(testLogger(t))
	served := make(chan error, 1)
	go func() { served <- cache.Serve(ln) }()
	cache.Set(testVRPs)
	c := dial(t, ln.Addr().String())
	c.resetQuery(0)
	c.readResponse(0)
	if err := cache.Close(); err != nil {
		t.Errorf("Close() = %v", err)
	}
	if err := <-served; err != nil {
		t.Errorf("Serve() = %v after Close", err)
	}
	c.expectEOF()
	if _, err := net.Dial("tcp", ln.Addr().String()); err == nil {
		t.Error("the listener accepts after Close")
	}
	// Serve after Close closes the listener and returns.
	ln2, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	if err := cache.Serve(ln2); err != nil {
		t.Errorf("Serve() after Close = %v", err)
	}
	if _, err := ln2.Accept(); err == nil {
		t.Error("Serve() after Close left the listener open")
	}
}
