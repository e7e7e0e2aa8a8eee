package routeserver

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"maps"
	"net/netip"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	api "github.com/osrg/gobgp/v4/api"
	"github.com/osrg/gobgp/v4/pkg/server"
	"github.com/prometheus/client_golang/prometheus"
	"google.golang.org/grpc"
)

// MaxPasswordLen is the longest TCP-MD5 password Linux takes
// (TCP_MD5SIG_MAXKEYLEN).
const MaxPasswordLen = 80

// Passwords are the TCP-MD5 (RFC 2385) passwords of member sessions, from
// the secrets file. A session's password is the one for its neighbor
// address, else the one for its member's ASN, else none.
type Passwords struct {
	ByAddress map[netip.Addr]Secret
	ByASN     map[uint32]Secret
}

// For returns the password of the session with addr of member asn; the
// zero Secret when it has none.
func (p Passwords) For(asn uint32, addr netip.Addr) Secret {
	if s, ok := p.ByAddress[addr.Unmap()]; ok {
		return s
	}
	return p.ByASN[asn]
}

// Len is the number of passwords.
func (p Passwords) Len() int { return len(p.ByAddress) + len(p.ByASN) }

// SetPasswords applies new session passwords. GoBGP cannot change a
// password under a running session (it re-creates the peer), so a session
// whose password changed is closed with a Cease and comes back with the
// new one, its filters assigned again; every other session is left alone.
// Before Start it only records the passwords.
func (c *Component) SetPasswords(ctx context.Context, p Passwords) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.passwords = p
	s := c.bgp
	if s == nil {
		return nil
	}
	var errs []error
	for _, addr := range slices.SortedFunc(maps.Keys(c.sessions), netip.Addr.Compare) {
		cur := c.sessions[addr]
		pw := p.For(cur.asn, addr)
		if pw.Equal(cur.password) {
			continue
		}
		nw := cur
		nw.password = pw
		if err := c.recreate(ctx, s, nw); err != nil {
			errs = append(errs, err)
			continue
		}
		c.sessions[addr] = nw
	}
	return errors.Join(errs...)
}

// recreate replaces a session's GoBGP peer to change its password: delete,
// add, assign its filters. A session held down for max prefix stays held
// (its restart timer enables it). Call with c.mu held.
func (c *Component) recreate(ctx context.Context, s *server.BgpServer, nw session) error {
	addr := nw.addr.String()
	if err := s.DeletePeer(ctx, &api.DeletePeerRequest{Address: addr}); err != nil {
		return fmt.Errorf("change password of session %s (AS%d): remove: %w", addr, nw.asn, err)
	}
	delete(c.up, nw.addr)
	p := c.peerConfig(nw)
	if c.restarts[nw.addr] != nil {
		p.Conf.AdminDown = true
	}
	if err := s.AddPeer(ctx, &api.AddPeerRequest{Peer: p}); err != nil {
		return fmt.Errorf("change password of session %s (AS%d): add: %w", addr, nw.asn, err)
	}
	if err := assign(ctx, s, addr, c.shared, c.policies[nw.asn], c.gshut); err != nil {
		return fmt.Errorf("change password of session %s (AS%d): %w", addr, nw.asn, err)
	}
	c.logger.Info("session password changed: session restarted", "peer", nw.addr, "peer_asn", nw.asn,
		"password", !nw.password.IsZero())
	return nil
}

// hidePasswords is a gRPC stream interceptor for GoBGP's API (grpc_listen)
// that shows session passwords as "[redacted]" in ListPeer and
// ListPeerGroup answers, which would otherwise carry them.
func hidePasswords(srv any, ss grpc.ServerStream, _ *grpc.StreamServerInfo, handler grpc.StreamHandler) error {
	return handler(srv, redactingStream{ss})
}

type redactingStream struct{ grpc.ServerStream }

// SendMsg implements grpc.ServerStream.
func (r redactingStream) SendMsg(m any) error {
	switch m := m.(type) {
	case *api.ListPeerResponse:
		if conf := m.GetPeer().GetConf(); conf != nil && conf.AuthPassword != "" {
			conf.AuthPassword = Redacted
		}
	case *api.ListPeerGroupResponse:
		if conf := m.GetPeerGroup().GetConf(); conf != nil && conf.AuthPassword != "" {
			conf.AuthPassword = Redacted
		}
	}
	return r.ServerStream.SendMsg(m)
}

// md5CheckInterval is how often the kernel's TCP-MD5 counters are read.
const md5CheckInterval = 10 * time.Second

// md5Counters are the kernel's host-wide TCP-MD5 drop counters
// (/proc/net/netstat TcpExt): segments whose signature was wrong, missing
// though a key is set, or present though no key is set.
type md5Counters struct{ failure, notFound, unexpected uint64 }

// readMD5Counters reads the counters; an error on systems without them.
func readMD5Counters() (md5Counters, error) {
	data, err := os.ReadFile("/proc/net/netstat")
	if err != nil {
		return md5Counters{}, err
	}
	return parseMD5Counters(data)
}

func parseMD5Counters(data []byte) (md5Counters, error) {
	var names []string
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) == 0 || f[0] != "TcpExt:" {
			continue
		}
		if names == nil {
			names = f
			continue
		}
		var c md5Counters
		found := 0
		for i := 1; i < len(f) && i < len(names); i++ {
			var dst *uint64
			switch names[i] {
			case "TCPMD5Failure":
				dst = &c.failure
			case "TCPMD5NotFound":
				dst = &c.notFound
			case "TCPMD5Unexpected":
				dst = &c.unexpected
			default:
				continue
			}
			v, err := strconv.ParseUint(f[i], 10, 64)
			if err != nil {
				return md5Counters{}, fmt.Errorf("TcpExt %s: %w", names[i], err)
			}
			*dst = v
			found++
		}
		if found != 3 {
			return md5Counters{}, errors.New("no TCP-MD5 counters in TcpExt")
		}
		return c, nil
	}
	return md5Counters{}, errors.New("no TcpExt counters")
}

// md5Loop warns when the kernel drops TCP segments for their TCP-MD5
// signature: a wrong password shows nowhere else (the SYN is dropped, the
// connection times out). The counters are host-wide; the kernel log names
// the addresses.
func (c *Component) md5Loop(ctx context.Context) error {
	last, err := readMD5Counters()
	if err != nil {
		c.logger.Debug("TCP-MD5 counters unavailable: password failures are not reported", "err", err)
		return nil
	}
	t := time.NewTicker(md5CheckInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
		now, err := readMD5Counters()
		if err != nil {
			continue
		}
		if now == last {
			continue
		}
		d := md5Counters{now.failure - last.failure, now.notFound - last.notFound, now.unexpected - last.unexpected}
		last = now
		c.mu.Lock()
		var down []string
		for addr, ss := range c.sessions {
			if !ss.password.IsZero() && !c.up[addr] {
				down = append(down, addr.String())
			}
		}
		c.mu.Unlock()
		slices.Sort(down)
		c.logger.Warn("TCP-MD5 authentication failures: a member's BGP password differs from the secrets file, or only one side has one (the kernel log names the address: dmesg | grep MD5)",
			"md5_wrong", d.failure, "md5_missing", d.notFound, "md5_unexpected", d.unexpected,
			"sessions_with_password_down", strings.Join(down, ","))
	}
}

// md5Metrics exposes the kernel's TCP-MD5 counters, read at scrape time.
type md5Metrics struct{ desc *prometheus.Desc }

func newMD5Metrics() md5Metrics {
	return md5Metrics{desc: prometheus.NewDesc("ixpd_routeserver_tcp_md5_drops_total",
		"TCP segments the kernel dropped for their TCP-MD5 signature, host-wide, by kind: wrong (bad signature), missing (a key is set, the segment has none), unexpected (signed, no key set).",
		[]string{"kind"}, nil)}
}

// Describe implements prometheus.Collector.
func (m md5Metrics) Describe(ch chan<- *prometheus.Desc) { ch <- m.desc }

// Collect implements prometheus.Collector.
func (m md5Metrics) Collect(ch chan<- prometheus.Metric) {
	c, err := readMD5Counters()
	if err != nil {
		return
	}
	ch <- prometheus.MustNewConstMetric(m.desc, prometheus.CounterValue, float64(c.failure), "wrong")
	ch <- prometheus.MustNewConstMetric(m.desc, prometheus.CounterValue, float64(c.notFound), "missing")
	ch <- prometheus.MustNewConstMetric(m.desc, prometheus.CounterValue, float64(c.unexpected), "unexpected")
}
