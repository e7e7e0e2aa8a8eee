package routeserver

import (
	"bytes"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/netip"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
)

// TestSecretNeverShown prints, logs and marshals a secret every way the
// code base does and checks that the value never comes out.
func TestSecretNeverShown(t *testing.T) {
	const pw = "sentinel-7f3a9c-not-for-logs"
	s := NewSecret(pw)
	type holder struct {
		Exported Secret `json:"exported" yaml:"exported"`
		hidden   Secret
	}
	h := holder{Exported: s, hidden: s}
	sess := session{asn: 64500, addr: netip.MustParseAddr("192.0.2.10"), password: s}

	var out []string
	for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%q", "%x", "%X", "%d", "%10s", "%T"} {
		out = append(out, fmt.Sprintf(verb, s), fmt.Sprintf(verb, &s), fmt.Sprintf(verb, h), fmt.Sprintf(verb, &h), fmt.Sprintf(verb, sess))
	}
	out = append(out, fmt.Sprint(s, h, sess), fmt.Sprintln(s), s.String(), s.GoString())
	j, err := json.Marshal(h)
	if err != nil {
		t.Fatal(err)
	}
	y, err := yaml.Marshal(h)
	if err != nil {
		t.Fatal(err)
	}
	txt, _ := s.MarshalText()
	out = append(out, string(j), string(y), string(txt))
	var logs bytes.Buffer
	for _, l := range []*slog.Logger{slog.New(slog.NewTextHandler(&logs, nil)), slog.New(slog.NewJSONHandler(&logs, nil))} {
		l.Info("m", "secret", s, "holder", h, "ptr", &s, "session", sess, slog.Any("any", s), slog.Group("g", "s", s))
		l.With("secret", s).Info("with")
	}
	out = append(out, logs.String())
	for _, o := range out {
		if strings.Contains(o, pw) {
			t.Errorf("the secret shows in %q", o)
		}
	}
	if !strings.Contains(string(j), `"exported":"[redacted]"`) || !strings.Contains(string(y), "exported: '[redacted]'") {
		t.Errorf("JSON %s, YAML %s: want [redacted]", j, y)
	}
	if s.Reveal() != pw || !s.Equal(NewSecret(pw)) || s.Equal(NewSecret("other")) || s.IsZero() {
		t.Error("Reveal, Equal or IsZero wrong")
	}
	if z := (Secret{}); !z.IsZero() || z.String() != "" || !z.Equal(NewSecret("")) {
		t.Error("zero Secret wrong")
	}
}

func TestPasswordsFor(t *testing.T) {
	a1, a2 := netip.MustParseAddr("192.0.2.10"), netip.MustParseAddr("192.0.2.11")
	p := Passwords{ByAddress: map[netip.Addr]Secret{a1: NewSecret("addr")}, ByASN: map[uint32]Secret{64500: NewSecret("asn")}}
	for _, tc := range []struct {
		name string
		asn  uint32
		addr netip.Addr
		want string
	}{
		{"address wins over ASN", 64500, a1, "addr"},
		{"ASN for the member's other sessions", 64500, a2, "asn"},
		{"nothing for others", 64501, a2, ""},
		{"IPv4-mapped address", 64501, netip.AddrFrom16(a1.As16()), "addr"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := p.For(tc.asn, tc.addr).Reveal(); got != tc.want {
				t.Errorf("For(%d, %s) = %q, want %q", tc.asn, tc.addr, got, tc.want)
			}
		})
	}
}

func TestParseMD5Counters(t *testing.T) {
	data := []byte("TcpExt: SyncookiesSent TCPMD5NotFound TCPMD5Unexpected TCPMD5Failure TCPAOGood\n" +
		"TcpExt: 1 2 3 4 5\nIpExt: InNoRoutes\nIpExt: 0\n")
	got, err := parseMD5Counters(data)
	if err != nil {
		t.Fatal(err)
	}
	if want := (md5Counters{failure: 4, notFound: 2, unexpected: 3}); got != want {
		t.Errorf("got %+v, want %+v", got, want)
	}
	if _, err := parseMD5Counters([]byte("TcpExt: A\nTcpExt: 1\n")); err == nil {
		t.Error("accepted TcpExt without the MD5 counters")
	}
}
