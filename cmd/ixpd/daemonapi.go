package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/netip"
	"net/url"
	"os"
)

// askDaemon sends a request to the API of the ixpd running with cfg, for
// subcommands that need the store a running ixpd holds, with the token in
// $IXPD_TOKEN. It returns the response when its status is 200 OK; the
// caller reads and closes the body. Any other status is an error that
// quotes the start of the body (the API's error envelope).
func askDaemon(ctx context.Context, cfg Config, method, path string, query url.Values) (*http.Response, error) {
	tok := os.Getenv("IXPD_TOKEN")
	if tok == "" {
		return nil, errors.New("set IXPD_TOKEN to one of its API tokens (see `ixpd token`), or stop it")
	}
	u, client, err := daemonEndpoint(cfg)
	if err != nil {
		return nil, err
	}
	u.Path, u.RawQuery = path, query.Encode()
	req, err := http.NewRequestWithContext(ctx, method, u.String(), nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Authorization", "Bearer "+tok)
	resp, err := client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("ask %s: %w", u.Host, err)
	}
	if resp.StatusCode != http.StatusOK {
		data, _ := io.ReadAll(io.LimitReader(resp.Body, 300)) // for the message only
		_ = resp.Body.Close()
		return nil, fmt.Errorf("%s answered %s: %s", u.Host, resp.Status, data)
	}
	return resp, nil
}

// daemonEndpoint is where the running ixpd's API answers on this host, and
// a client for it: api.listen, with a wildcard address replaced by the
// loopback address; over HTTPS when api.tls is set, trusting the system's
// roots and the configured certificate.
func daemonEndpoint(cfg Config) (url.URL, *http.Client, error) {
	ap, err := netip.ParseAddrPort(cfg.API.Listen) // checked by Validate
	if err != nil {
		return url.URL{}, nil, fmt.Errorf("api.listen: %w", err)
	}
	if ap.Addr().IsUnspecified() {
		loopback := netip.IPv6Loopback()
		if ap.Addr().Is4() {
			loopback = netip.AddrFrom4([4]byte{127, 0, 0, 1})
		}
		ap = netip.AddrPortFrom(loopback, ap.Port())
	}
	u := url.URL{Scheme: "http", Host: ap.String()}
	apiCfg := cfg.apiConfig()
	if !apiCfg.TLS.Enabled() {
		return u, http.DefaultClient, nil
	}
	u.Scheme = "https"
	roots, err := x509.SystemCertPool()
	if err != nil {
		roots = x509.NewCertPool()
	}
	pem, err := os.ReadFile(apiCfg.TLS.CertFile)
	if err != nil {
		return u, nil, fmt.Errorf("api.tls.cert_file: %w", err)
	}
	roots.AppendCertsFromPEM(pem)
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.TLSClientConfig = &tls.Config{RootCAs: roots, MinVersion: tls.VersionTLS12}
	return u, &http.Client{Transport: tr}, nil
}
