package rpki_test

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"testing"
	"time"

	"github.com/osrg/gobgp/v4/pkg/packet/rtr"

	"github.com/ixpd/ixpd/routeserver/rpki"
)

// sharedData is the project's shared test data, beside the repository.
const sharedData = "../../../shared/data/rpki/"

// testLogger logs to the test's output at debug level; benchmarks log
// nothing.
func testLogger(t testing.TB) *slog.Logger {
	if _, ok := t.(*testing.B); ok {
		return slog.New(slog.DiscardHandler)
	}
	return slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelDebug}))
}

// vrp builds a VRP from "prefix-maxlen" or "prefix" and an ASN.
func vrp(prefix string, maxLen int, asn uint32) rpki.VRP {
	p := netip.MustParsePrefix(prefix)
	if maxLen == 0 {
		maxLen = p.Bits()
	}
	return rpki.VRP{Prefix: p, MaxLength: uint8(maxLen), ASN: asn}
}

// syntheticVRPs returns n distinct VRPs, always the same: four in five are
// IPv4 /24s, the others IPv6 /48s.
func syntheticVRPs(n int) []rpki.VRP {
	vrps := make([]rpki.VRP, n)
	for i := range vrps {
		asn := uint32(64496 + i%1000)
		if i%5 == 4 {
			a := netip.AddrFrom16([16]byte{0x20, 0x01, byte(i >> 24), byte(i >> 16), byte(i >> 8), byte(i)})
			vrps[i] = rpki.VRP{Prefix: netip.PrefixFrom(a, 48), MaxLength: 48, ASN: asn}
		} else {
			a := netip.AddrFrom4([4]byte{byte(1 + i>>16), byte(i >> 8), byte(i), 0})
			vrps[i] = rpki.VRP{Prefix: netip.PrefixFrom(a, 24), MaxLength: 24, ASN: asn}
		}
	}
	return vrps
}

// vrpJSON writes vrps as rpki-client does, with "metadata", "ta" and
// "expires"; ASNs alternate between the number and the "AS<n>" forms.
func vrpJSON(vrps []rpki.VRP) []byte {
	var b bytes.Buffer
	b.WriteString("{\n\t\"metadata\": {\n\t\t\"buildtime\": \"2025-01-01T00:00:00Z\",\n\t\t\"vrps\": ")
	fmt.Fprintf(&b, "%d\n\t},\n\t\"roas\": [\n", len(vrps))
	for i, v := range vrps {
		if i > 0 {
			b.WriteString(",\n")
		}
		asn := fmt.Sprint(v.ASN)
		if i%2 == 1 {
			asn = fmt.Sprintf(`"AS%d"`, v.ASN)
		}
		fmt.Fprintf(&b, "\t\t{ \"asn\": %s, \"prefix\": \"%s\", \"maxLength\": %d, \"ta\": \"ripe\", \"expires\": 1827488503 }",
			asn, v.Prefix, v.MaxLength)
	}
	b.WriteString("\n\t]\n}\n")
	return b.Bytes()
}

// startCache serves a new cache on a loopback port and returns it with its
// address. Cleanup closes it and checks that Serve returned nil.
func startCache(t testing.TB) (*rpki.Cache, string) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	c := rpki.NewCache(testLogger(t))
	served := make(chan error, 1)
	go func() { served <- c.Serve(ln) }()
	t.Cleanup(func() {
		if err := c.Close(); err != nil {
			t.Errorf("Close() = %v", err)
		}
		if err := <-served; err != nil {
			t.Errorf("Serve() = %v", err)
		}
	})
	return c, ln.Addr().String()
}

// pipeListener hands the cache the server ends of net.Pipe connections,
// which have no buffers: a client that does not read blocks the writer at
// once.
type pipeListener struct {
	conns  chan net.Conn
	closed chan struct{}
}

func newPipeListener() *pipeListener {
	return &pipeListener{conns: make(chan net.Conn), closed: make(chan struct{})}
}

// Accept returns the next pipe.
func (l *pipeListener) Accept() (net.Conn, error) {
	select {
	case conn := <-l.conns:
		return conn, nil
	case <-l.closed:
		return nil, net.ErrClosed
	}
}

// Close stops Accept.
func (l *pipeListener) Close() error {
	close(l.closed)
	return nil
}

// Addr returns a placeholder address.
func (l *pipeListener) Addr() net.Addr { return pipeAddr{} }

// dial returns the client end of a new pipe.
func (l *pipeListener) dial(t testing.TB) net.Conn {
	t.Helper()
	client, server := net.Pipe()
	select {
	case l.conns <- server:
	case <-time.After(5 * time.Second):
		t.Fatal("the cache does not accept")
	}
	t.Cleanup(func() { _ = client.Close() })
	return client
}

type pipeAddr struct{}

func (pipeAddr) Network() string { return "pipe" }
func (pipeAddr) String() string  { return "pipe" }

// frame is one PDU read by a test client.
type frame struct {
	version uint8
	typ     uint8
	field   uint16 // session ID or error code
	raw     []byte
}

// serial returns the serial of a Serial Notify or End of Data.
func (f frame) serial() uint32 { return binary.BigEndian.Uint32(f.raw[8:12]) }

// rtrClient is a hand-written RTR client.
type rtrClient struct {
	t       testing.TB
	conn    net.Conn
	r       *bufio.Reader
	pending *frame // given back by unread
}

func dial(t testing.TB, addr string) *rtrClient {
	t.Helper()
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = conn.Close() })
	return &rtrClient{t: t, conn: conn, r: bufio.NewReader(conn)}
}

func (c *rtrClient) send(b []byte) {
	c.t.Helper()
	if _, err := c.conn.Write(b); err != nil {
		c.t.Fatal(err)
	}
}

func (c *rtrClient) resetQuery(version uint8) {
	c.t.Helper()
	c.send([]byte{version, rtr.RTR_RESET_QUERY, 0, 0, 0, 0, 0, 8})
}

func (c *rtrClient) serialQuery(version uint8, session uint16, serial uint32) {
	c.t.Helper()
	b := []byte{version, rtr.RTR_SERIAL_QUERY}
	b = binary.BigEndian.AppendUint16(b, session)
	b = binary.BigEndian.AppendUint32(b, 12)
	c.send(binary.BigEndian.AppendUint32(b, serial))
}

// unread makes f the next PDU that next returns.
func (c *rtrClient) unread(f frame) { c.pending = &f }

// next reads one PDU, waiting at most 5 s.
func (c *rtrClient) next() (frame, error) {
	if f := c.pending; f != nil {
		c.pending = nil
		return *f, nil
	}
	if err := c.conn.SetReadDeadline(time.Now().Add(5 * time.Second)); err != nil {
		return frame{}, err
	}
	header := make([]byte, 8)
	if _, err := io.ReadFull(c.r, header); err != nil {
		return frame{}, err
	}
	length := binary.BigEndian.Uint32(header[4:8])
	if length < 8 || length > 1<<20 {
		return frame{}, fmt.Errorf("PDU length %d", length)
	}
	raw := make([]byte, length)
	copy(raw, header)
	if _, err := io.ReadFull(c.r, raw[8:]); err != nil {
		return frame{}, err
	}
	return frame{version: raw[0], typ: raw[1], field: binary.BigEndian.Uint16(raw[2:4]), raw: raw}, nil
}

// read reads one PDU of type typ and version.
func (c *rtrClient) read(version, typ uint8) frame {
	c.t.Helper()
	f, err := c.next()
	if err != nil {
		c.t.Fatalf("read PDU type %d: %v", typ, err)
	}
	if f.typ != typ || f.version != version {
		c.t.Fatalf("got PDU type %d version %d (% x), want type %d version %d", f.typ, f.version, f.raw, typ, version)
	}
	return f
}

// response is what a test client got for a query.
type response struct {
	session            uint16
	serial             uint32
	announce, withdraw []rpki.VRP
}

// readResponse reads Cache Response, prefixes and End of Data, decoding the
// prefixes with GoBGP's decoder, and checks the End of Data.
func (c *rtrClient) readResponse(version uint8) response {
	c.t.Helper()
	resp := response{session: c.read(version, rtr.RTR_CACHE_RESPONSE).field}
	for {
		f, err := c.next()
		if err != nil {
			c.t.Fatalf("read response: %v", err)
		}
		if f.version != version {
			c.t.Fatalf("PDU version %d in a version %d response", f.version, version)
		}
		switch f.typ {
		case rtr.RTR_IPV4_PREFIX, rtr.RTR_IPV6_PREFIX:
			msg, err := rtr.ParseRTR(f.raw)
			if err != nil {
				c.t.Fatalf("GoBGP cannot parse % x: %v", f.raw, err)
			}
			p := msg.(*rtr.RTRIPPrefix)
			v := rpki.VRP{Prefix: netip.PrefixFrom(p.Prefix, int(p.PrefixLen)), MaxLength: p.MaxLen, ASN: p.AS}
			if p.Flags == rtr.ANNOUNCEMENT {
				resp.announce = append(resp.announce, v)
			} else {
				resp.withdraw = append(resp.withdraw, v)
			}
		case rtr.RTR_END_OF_DATA:
			if f.field != resp.session {
				c.t.Errorf("End of Data session %d, Cache Response session %d", f.field, resp.session)
			}
			resp.serial = f.serial()
			wantLen := 12
			if version == 1 {
				wantLen = 24
			}
			if len(f.raw) != wantLen {
				c.t.Fatalf("version %d End of Data is %d octets, want %d", version, len(f.raw), wantLen)
			}
			if version == 1 {
				got := [3]uint32{binary.BigEndian.Uint32(f.raw[12:]), binary.BigEndian.Uint32(f.raw[16:]), binary.BigEndian.Uint32(f.raw[20:])}
				if got != [3]uint32{3600, 600, 7200} {
					c.t.Errorf("refresh, retry, expire = %v, want [3600 600 7200]", got)
				}
			}
			return resp
		default:
			c.t.Fatalf("unexpected PDU type %d in a response: % x", f.typ, f.raw)
		}
	}
}

// readErrorReport reads an Error Report and decodes it with GoBGP's decoder.
func (c *rtrClient) readErrorReport(version uint8) *rtr.RTRErrorReport {
	c.t.Helper()
	f := c.read(version, rtr.RTR_ERROR_REPORT)
	msg, err := rtr.ParseRTR(f.raw)
	if err != nil {
		c.t.Fatalf("GoBGP cannot parse the Error Report % x: %v", f.raw, err)
	}
	return msg.(*rtr.RTRErrorReport)
}

// expectEOF checks that the cache closes the connection next.
func (c *rtrClient) expectEOF() {
	c.t.Helper()
	f, err := c.next()
	switch {
	case err == nil:
		c.t.Fatalf("got PDU % x, want the connection closed", f.raw)
	case errors.Is(err, io.EOF), errors.Is(err, net.ErrClosed):
	default:
		var opErr *net.OpError
		if !errors.As(err, &opErr) || opErr.Timeout() {
			c.t.Fatalf("want the connection closed, got %v", err)
		}
	}
}

// waitFor polls cond every 10 ms until it holds or timeout passes.
func waitFor(t testing.TB, timeout time.Duration, what string, cond func() (bool, string)) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		ok, state := cond()
		if ok {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("after %v, %s: %s", timeout, what, state)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
