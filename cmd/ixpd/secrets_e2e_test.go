package main

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"net/http/httptrace"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ixpd/ixpd/routeserver/peertest"
)

// The daemon with secrets: BGP session passwords (TCP-MD5) with real BIRD
// members, the sentinel password that must show nowhere, and the API over
// TLS with certificate reloads.

// writePrivate writes a file only its owner may read, as secrets must be.
func writePrivate(t *testing.T, path, data string) {
	t.Helper()
	if err := os.WriteFile(path+".tmp", []byte(data), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(path+".tmp", path); err != nil {
		t.Fatal(err)
	}
}

// secretsConfig is a daemon configuration with a secrets file.
func secretsConfig(bgpPort int, extra string) string {
	return fmt.Sprintf(`ixp: {name: E2E-IX, country: WS, peering_lan: [127.0.0.0/8]}
members_file: members.json
secrets_file: secrets.yaml
routeserver:
  asn: 64512
  router_id: 127.0.0.1
  listen: 127.0.0.1:%d
  peer_port: %d
  connect_retry: 1s
  hold_time: 9s
%s`, bgpPort, bgpPort, extra)
}

// neighborState is one neighbor as the API lists it.
type neighborState struct {
	State string     `json:"state"`
	Since *time.Time `json:"since"`
}

func neighborStates(t *testing.T, api client) map[string]neighborState {
	t.Helper()
	var body struct {
		Neighbors []struct {
			ID string `json:"id"`
			neighborState
		} `json:"neighbors"`
	}
	out := map[string]neighborState{}
	if api.get("/api/v1/routeserver/neighbors", &body) != http.StatusOK {
		return out
	}
	for _, n := range body.Neighbors {
		out[n.ID] = n.neighborState
	}
	return out
}

func hup(t *testing.T, d *daemon) {
	t.Helper()
	if err := d.cmd.Process.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
}

// TestDaemonBGPPasswords runs members with TCP-MD5 passwords against the
// daemon: the right password brings the session up, a wrong one keeps it
// down (and the log says why, without the password), fixing the secrets
// file and SIGHUP bring it back, and the session without a password is
// never reset, even when its member is renamed in the same reload.
func TestDaemonBGPPasswords(t *testing.T) {
	peertest.Require(t)
	const pwA, wrong = "md5-a-3b7e0c91", "md5-wrong-55d2aa"
	dir := t.TempDir()
	bin := daemonBinary(t)
	ports := freePorts(t, 2)
	bgpPort, apiPort := ports[0], ports[1]
	token := "e2e-token-0123456789"
	members := func(nameB string) string {
		return fmt.Sprintf(e2eMembers, e2eMember(38800, "A", "127.0.0.2")+","+e2eMember(17993, nameB, "127.0.0.3"))
	}
	if err := os.WriteFile(filepath.Join(dir, "members.json"), []byte(members("B")), 0o644); err != nil {
		t.Fatal(err)
	}
	secrets := filepath.Join(dir, "secrets.yaml")
	writePrivate(t, secrets, fmt.Sprintf("bgp_passwords:\n  AS38800: %q\n", pwA))
	config := filepath.Join(dir, "ixpd.yaml")
	if err := os.WriteFile(config, []byte(secretsConfig(bgpPort, fmt.Sprintf("api:\n  listen: 127.0.0.1:%d\n  tokens:\n%s", apiPort, tokenEntry(token)))), 0o644); err != nil {
		t.Fatal(err)
	}
	d := startDaemon(t, bin, config)
	api := client{t: t, base: fmt.Sprintf("http://127.0.0.1:%d", apiPort), token: token}
	peertest.WaitFor(t, 20*time.Second, "API up", func() (bool, string) {
		var s string
		code := api.get("/healthz", &s)
		return code == 200, fmt.Sprintf("status %d", code)
	})

	ctx := t.Context()
	member := func(name string, asn uint32, a, password string) *peertest.Router {
		r, err := peertest.StartBIRD(ctx, t.TempDir(), peertest.Member{Name: name, ASN: asn, Addr4: netip.MustParseAddr(a),
			RSAddr4: netip.MustParseAddr("127.0.0.1"), RSASN: 64512, Port: bgpPort, Password: password,
			Routes: []peertest.Route{{Prefix: netip.MustParsePrefix(fmt.Sprintf("16.%d.0.0/24", asn%200))}}})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = r.Stop() })
		return r
	}
	established := func(r *peertest.Router) {
		t.Helper()
		wctx, cancel := context.WithTimeout(ctx, 60*time.Second)
		defer cancel()
		if err := r.WaitEstablished(wctx); err != nil {
			t.Fatal(err)
		}
	}
	a := member("a", 38800, "127.0.0.2", pwA)
	b := member("b", 17993, "127.0.0.3", "")
	established(a)
	established(b)
	peertest.WaitFor(t, 20*time.Second, "both sessions established in the API", func() (bool, string) {
		st := neighborStates(t, api)
		return st["127.0.0.2"].State == "established" && st["127.0.0.3"].State == "established" && st["127.0.0.3"].Since != nil, fmt.Sprint(st)
	})
	sinceB := *neighborStates(t, api)["127.0.0.3"].Since

	// A wrong password for A's address (it wins over the ASN's), and B
	// renamed: A's session is restarted and stays down, B's is untouched.
	writePrivate(t, secrets, fmt.Sprintf("bgp_passwords:\n  AS38800: %q\n  \"127.0.0.2\": %q\n", pwA, wrong))
	if err := os.WriteFile(filepath.Join(dir, "members.json"), []byte(members("B renamed")), 0o644); err != nil {
		t.Fatal(err)
	}
	hup(t, d)
	peertest.WaitFor(t, 30*time.Second, "A's session down", func() (bool, string) {
		v4, _, err := a.Established(ctx)
		return err == nil && !v4, fmt.Sprint(v4, err)
	})
	peertest.WaitFor(t, 40*time.Second, "the log says TCP-MD5 failed", func() (bool, string) {
		l := d.log()
		return strings.Contains(l, "TCP-MD5 authentication failures") && strings.Contains(l, "sessions_with_password_down=127.0.0.2"), l
	})
	if v4, _, err := a.Established(ctx); err != nil || v4 {
		t.Errorf("A's session with the wrong password: established %v, %v", v4, err)
	}

	// The right password again: A comes back.
	writePrivate(t, secrets, fmt.Sprintf("bgp_passwords:\n  \"127.0.0.2\": %q\n", pwA))
	hup(t, d)
	established(a)
	peertest.WaitFor(t, 20*time.Second, "A established in the API", func() (bool, string) {
		st := neighborStates(t, api)
		return st["127.0.0.2"].State == "established", fmt.Sprint(st)
	})
	st := neighborStates(t, api)["127.0.0.3"]
	if st.State != "established" || st.Since == nil || !st.Since.Equal(sinceB) {
		t.Errorf("B without a password was reset: %+v, established since %s before", st, sinceB)
	}
	if v4, _, err := b.Established(ctx); err != nil || !v4 {
		t.Errorf("B's session: established %v, %v", v4, err)
	}
	l := d.log()
	for _, pw := range []string{pwA, wrong} {
		if strings.Contains(l, pw) {
			t.Errorf("the password %s appears in the log", pw)
		}
	}
	if strings.Count(l, "session password changed") != 2 {
		t.Errorf("want two password changes logged:\n%s", l)
	}
}

// TestDaemonSecretsNeverShown gives a member a sentinel password and looks
// for it everywhere: the whole debug log, `check -dump`, every API and
// birdwatcher endpoint, and the errors of bad secrets files and of a bad
// TLS key.
func TestDaemonSecretsNeverShown(t *testing.T) {
	peertest.Require(t)
	dir := t.TempDir()
	bin := daemonBinary(t)
	ports := freePorts(t, 3)
	bgpPort, apiPort, bwPort := ports[0], ports[1], ports[2]
	token := "e2e-token-0123456789"
	if err := os.WriteFile(filepath.Join(dir, "members.json"), []byte(fmt.Sprintf(e2eMembers, e2eMember(38800, "A", "127.0.0.2"))), 0o644); err != nil {
		t.Fatal(err)
	}
	secrets := filepath.Join(dir, "secrets.yaml")
	writePrivate(t, secrets, fmt.Sprintf("bgp_passwords:\n  AS38800: %q\n", sentinel))
	certPEM, keyPEM, _ := selfSigned(t, "ixpd sentinel test")
	writePrivate(t, filepath.Join(dir, "api.pem"), string(certPEM))
	writePrivate(t, filepath.Join(dir, "api.key"), string(keyPEM))
	apiCfg := fmt.Sprintf("log: {level: debug}\napi:\n  listen: 127.0.0.1:%d\n  birdwatcher_listen: 127.0.0.1:%d\n  tls: {cert_file: api.pem, key_file: %%s}\n  tokens:\n%s",
		apiPort, bwPort, tokenEntry(token))
	config := filepath.Join(dir, "ixpd.yaml")
	if err := os.WriteFile(config, []byte(secretsConfig(bgpPort, fmt.Sprintf(apiCfg, "api.key"))), 0o644); err != nil {
		t.Fatal(err)
	}
	var shown []string // everything that must not hold the sentinel, with where it came from
	see := func(where, text string) { shown = append(shown, where+"\n"+text) }

	var out, errOut strings.Builder
	if code := cli([]string{"check", "-config", config, "-dump"}, &out, &errOut); code != 0 {
		t.Fatalf("check -dump: %d %s", code, errOut.String())
	}
	if !strings.Contains(out.String(), "secrets_file: secrets.yaml") || !strings.Contains(out.String(), "level: debug") {
		t.Errorf("check -dump lacks secrets_file or log.level debug:\n%s", out.String())
	}
	see("check -dump", out.String()+errOut.String())

	d := startDaemon(t, bin, config)
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(certPEM)
	https := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	fetch := func(method, url string) (int, string) {
		t.Helper()
		req, err := http.NewRequestWithContext(t.Context(), method, url, nil)
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Authorization", "Bearer "+token)
		c := https
		if !strings.HasPrefix(url, "https:") {
			c = http.DefaultClient
		}
		resp, err := c.Do(req)
		if err != nil {
			return 0, err.Error()
		}
		defer func() { _ = resp.Body.Close() }()
		body, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(body)
	}
	base := fmt.Sprintf("https://127.0.0.1:%d", apiPort)
	peertest.WaitFor(t, 20*time.Second, "API up over HTTPS", func() (bool, string) {
		code, body := fetch("GET", base+"/healthz")
		return code == 200, body
	})
	a, err := peertest.StartBIRD(t.Context(), t.TempDir(), peertest.Member{Name: "a", ASN: 38800, Addr4: netip.MustParseAddr("127.0.0.2"),
		RSAddr4: netip.MustParseAddr("127.0.0.1"), RSASN: 64512, Port: bgpPort, Password: sentinel,
		Routes: []peertest.Route{{Prefix: netip.MustParsePrefix("16.38.0.0/24")}, {Prefix: netip.MustParsePrefix("16.38.1.0/25")}}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = a.Stop() })
	wctx, cancel := context.WithTimeout(t.Context(), 60*time.Second)
	defer cancel()
	if err := a.WaitEstablished(wctx); err != nil {
		t.Fatal(err)
	}
	peertest.WaitFor(t, 20*time.Second, "A's routes in the API", func() (bool, string) {
		code, body := fetch("GET", base+"/api/v1/routeserver/neighbors/127.0.0.2/routes/received")
		return code == 200 && strings.Contains(body, "16.38.1.0/25"), body
	})

	// Every endpoint of the OpenAPI document, with its parameters filled.
	_, doc := fetch("GET", base+"/api/v1/openapi.json")
	var openapi struct {
		Paths map[string]map[string]json.RawMessage `json:"paths"`
	}
	if err := json.Unmarshal([]byte(doc), &openapi); err != nil || len(openapi.Paths) == 0 {
		t.Fatalf("openapi: %v", err)
	}
	month := time.Now().UTC().Format("2006-01")
	for path, ops := range openapi.Paths {
		for method := range ops {
			if method == "post" && strings.HasSuffix(path, "/gshut") {
				continue // would put the route server in graceful shutdown
			}
			var urls []string
			for _, kind := range []string{"received", "accepted", "filtered", "exported", "not-exported"} {
				p := strings.NewReplacer("{id}/routes", "127.0.0.2/routes", "{kind}", kind, "{id}", "AS38800_127_0_0_2",
					"{addr}", "127.0.0.2", "{table}", "master", "{month}", month).Replace(path)
				switch {
				case strings.HasSuffix(p, "/lookup"):
					p += "?prefix=16.38.0.0/24"
				case strings.HasPrefix(p, "/api/v1/reports/"):
					p += "?format=json"
				}
				urls = append(urls, p)
				if !strings.Contains(path, "{kind}") {
					break
				}
			}
			for _, u := range urls {
				code, body := fetch(strings.ToUpper(method), base+u)
				see(fmt.Sprintf("%s %s (%d)", method, u, code), body)
			}
		}
	}
	for _, p := range []string{"/status", "/protocols", "/protocols/bgp", "/routes/protocol/AS38800_127_0_0_2",
		"/routes/filtered/AS38800_127_0_0_2", "/routes/noexport/AS38800_127_0_0_2", "/routes/peer/127.0.0.2",
		"/routes/table/master", "/routes/table/master/filtered", "/routes/count/protocol/AS38800_127_0_0_2", "/routes/count/table/master"} {
		code, body := fetch("GET", fmt.Sprintf("http://127.0.0.1:%d%s", bwPort, p))
		if code != 200 {
			t.Errorf("birdwatcher %s: %d %s", p, code, body)
		}
		see("birdwatcher "+p, body)
	}

	// A bad secrets file on reload: refused, the password in force stays.
	writePrivate(t, secrets, fmt.Sprintf("bgp_passwords:\n  AS38800: %q\n  \"127.0.0.2\": [%q]\n", strings.Repeat(sentinel, 3), sentinel))
	hup(t, d)
	peertest.WaitFor(t, 10*time.Second, "the refused secrets file is logged", func() (bool, string) {
		l := d.log()
		return strings.Contains(l, "bgp_passwords.AS38800: the password has 84 bytes") && strings.Contains(l, "bgp_passwords.127.0.0.2: want the password as a string"), l
	})
	if code, body := fetch("POST", base+"/api/v1/routeserver/reload"); code == 200 || !strings.Contains(body, "bgp_passwords.AS38800") {
		t.Errorf("reload through the API with a bad secrets file: %d %s", code, body)
	} else {
		see("POST reload with a bad secrets file", body)
	}
	if v4, _, err := a.Established(t.Context()); err != nil || !v4 {
		t.Errorf("A's session after a refused secrets file: %v %v", v4, err)
	}
	out.Reset()
	errOut.Reset()
	if code := cli([]string{"check", "-config", config}, &out, &errOut); code == 0 || !strings.Contains(errOut.String(), "bgp_passwords.AS38800") {
		t.Errorf("check with a bad secrets file: %d %s", code, errOut.String())
	}
	see("check with a bad secrets file", out.String()+errOut.String())

	// A good secrets file and a bad TLS key path: the error is about the key.
	writePrivate(t, secrets, fmt.Sprintf("bgp_passwords:\n  AS38800: %q\n", sentinel))
	badTLS := filepath.Join(dir, "bad-tls.yaml")
	if err := os.WriteFile(badTLS, []byte(secretsConfig(bgpPort, fmt.Sprintf(apiCfg, "no-such.key"))), 0o644); err != nil {
		t.Fatal(err)
	}
	out.Reset()
	errOut.Reset()
	if code := cli([]string{"check", "-config", badTLS}, &out, &errOut); code == 0 || !strings.Contains(errOut.String(), "api.tls.key_file") {
		t.Errorf("check with a bad TLS key path: %d %s", code, errOut.String())
	}
	see("check with a bad TLS key path", out.String()+errOut.String())
	out.Reset()
	errOut.Reset()
	if code := cli([]string{"run", "-config", badTLS}, &out, &errOut); code == 0 {
		t.Errorf("run with a bad TLS key path: exit 0")
	}
	see("run with a bad TLS key path", out.String()+errOut.String())

	// The metrics and the whole debug log, last.
	_, metrics := fetch("GET", base+"/metrics")
	if !strings.Contains(metrics, `ixpd_secrets_reloads_total{result="error"} 2`) {
		t.Errorf("metrics lack the two refused secrets files")
	}
	see("metrics", metrics)
	see("daemon log", d.log())
	for _, s := range shown {
		if strings.Contains(s, sentinel) {
			t.Errorf("the sentinel password shows in %s", s)
		}
	}
}

// selfSigned makes a certificate for 127.0.0.1 and its key, in PEM.
func selfSigned(t *testing.T, cn string) (certPEM, keyPEM []byte, cert *x509.Certificate) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	serial, err := rand.Int(rand.Reader, big.NewInt(1<<62))
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: serial, Subject: pkix.Name{CommonName: cn},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, BasicConstraintsValid: true, IsCA: true}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	if cert, err = x509.ParseCertificate(der); err != nil {
		t.Fatal(err)
	}
	kder, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: kder}), cert
}

// TestDaemonTLS serves the API over HTTPS, replaces the certificate with
// SIGHUP while a keep-alive connection stays open on the old one, and keeps
// the certificate in force when the new files are broken.
func TestDaemonTLS(t *testing.T) {
	dir := t.TempDir()
	bin := daemonBinary(t)
	ports := freePorts(t, 2)
	bgpPort, apiPort := ports[0], ports[1]
	if err := os.WriteFile(filepath.Join(dir, "members.json"), []byte(fmt.Sprintf(e2eMembers, e2eMember(38800, "A", "127.0.0.2"))), 0o644); err != nil {
		t.Fatal(err)
	}
	writePrivate(t, filepath.Join(dir, "secrets.yaml"), "bgp_passwords:\n")
	cert1PEM, key1PEM, cert1 := selfSigned(t, "ixpd one")
	cert2PEM, key2PEM, cert2 := selfSigned(t, "ixpd two")
	certFile, keyFile := filepath.Join(dir, "tls", "api.pem"), filepath.Join(dir, "tls", "api.key")
	if err := os.Mkdir(filepath.Dir(certFile), 0o750); err != nil {
		t.Fatal(err)
	}
	writePrivate(t, certFile, string(cert1PEM))
	writePrivate(t, keyFile, string(key1PEM))
	config := filepath.Join(dir, "ixpd.yaml")
	if err := os.WriteFile(config, []byte(secretsConfig(bgpPort, fmt.Sprintf("api:\n  listen: 127.0.0.1:%d\n  tls: {cert_file: tls/api.pem, key_file: tls/api.key}\n", apiPort))), 0o644); err != nil {
		t.Fatal(err)
	}
	d := startDaemon(t, bin, config)

	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(cert1PEM)
	pool.AppendCertsFromPEM(cert2PEM)
	newClient := func() *http.Client {
		return &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	}
	url := fmt.Sprintf("https://127.0.0.1:%d/healthz", apiPort)
	// get returns the certificate the server showed and whether the
	// connection was one opened before.
	get := func(c *http.Client) (*x509.Certificate, bool, error) {
		var reused bool
		ctx := httptrace.WithClientTrace(t.Context(), &httptrace.ClientTrace{GotConn: func(i httptrace.GotConnInfo) { reused = i.Reused }})
		req, err := http.NewRequestWithContext(ctx, "GET", url, nil)
		if err != nil {
			t.Fatal(err)
		}
		resp, err := c.Do(req)
		if err != nil {
			return nil, false, err
		}
		defer func() { _ = resp.Body.Close() }()
		if _, err := io.Copy(io.Discard, resp.Body); err != nil {
			return nil, false, err
		}
		if resp.StatusCode != 200 || resp.TLS == nil {
			return nil, false, fmt.Errorf("status %d, TLS %v", resp.StatusCode, resp.TLS != nil)
		}
		return resp.TLS.PeerCertificates[0], reused, nil
	}
	kept := newClient()
	peertest.WaitFor(t, 20*time.Second, "API up over HTTPS", func() (bool, string) {
		c, _, err := get(kept)
		return err == nil && c.Equal(cert1), fmt.Sprint(err)
	})
	// Go's server answers plain HTTP on a TLS listener with a 400.
	if resp, err := http.Get(fmt.Sprintf("http://127.0.0.1:%d/healthz", apiPort)); err == nil {
		_ = resp.Body.Close()
		if resp.StatusCode != http.StatusBadRequest {
			t.Errorf("plain HTTP on the TLS listener: %d", resp.StatusCode)
		}
	}
	old := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool, MaxVersion: tls.VersionTLS11}}}
	if _, _, err := get(old); err == nil {
		t.Error("TLS 1.1 accepted; api.tls.min_version is 1.2")
	}
	metric := func(want string) (bool, string) {
		_, _, _ = get(kept)
		c := newClient()
		resp, err := c.Get(fmt.Sprintf("https://127.0.0.1:%d/metrics", apiPort))
		if err != nil {
			return false, err.Error()
		}
		defer func() { _ = resp.Body.Close() }()
		body, _ := io.ReadAll(resp.Body)
		return strings.Contains(string(body), want), string(body)
	}

	// A new pair: new connections get it, the open one keeps the old.
	writePrivate(t, keyFile, string(key2PEM))
	writePrivate(t, certFile, string(cert2PEM))
	hup(t, d)
	peertest.WaitFor(t, 10*time.Second, "the new certificate loaded", func() (bool, string) {
		return metric(`ixpd_api_tls_reloads_total{result="ok"} 2`)
	})
	if c, _, err := get(newClient()); err != nil || !c.Equal(cert2) {
		t.Errorf("a new connection: %v, want the new certificate", err)
	}
	if c, reused, err := get(kept); err != nil || !reused || !c.Equal(cert1) {
		t.Errorf("the keep-alive connection: reused %v, %v; want it open with the old certificate", reused, err)
	}

	// A broken certificate: refused, the new one stays in force.
	writePrivate(t, certFile, "-----BEGIN CERTIFICATE-----\nbroken\n-----END CERTIFICATE-----\n")
	hup(t, d)
	peertest.WaitFor(t, 10*time.Second, "the broken certificate refused", func() (bool, string) {
		l := d.log()
		return strings.Contains(l, "reload incomplete") && strings.Contains(l, "api.tls"), l
	})
	if ok, body := metric(`ixpd_api_tls_reloads_total{result="error"} 1`); !ok {
		t.Errorf("metrics lack the refused certificate:\n%s", body)
	}
	if c, _, err := get(newClient()); err != nil || !c.Equal(cert2) {
		t.Errorf("after a broken certificate: %v, want the one in force", err)
	}
}
