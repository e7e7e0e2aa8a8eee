package api

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"os"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/ixpd/ixpd/routeserver"
)

// tlsVersions are the accepted api.tls.min_version values ("": 1.2).
var tlsVersions = map[string]uint16{"": tls.VersionTLS12, "1.2": tls.VersionTLS12, "1.3": tls.VersionTLS13}

// maxPEMSize bounds a certificate or key file.
const maxPEMSize = 1 << 20

// LoadCertificate reads and checks the certificate and key of cfg. Errors
// name the key (api.tls.cert_file, api.tls.key_file) and the path; a key
// file that every user may read is refused.
func LoadCertificate(cfg TLS) (*tls.Certificate, error) {
	certPEM, err := readPEM(cfg.CertFile, false)
	if err != nil {
		return nil, fmt.Errorf("api.tls.cert_file: %w", err)
	}
	keyPEM, err := readPEM(cfg.KeyFile, true)
	if err != nil {
		return nil, fmt.Errorf("api.tls.key_file: %w", err)
	}
	cert, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		return nil, fmt.Errorf("api.tls: cert_file %s and key_file %s: %w", cfg.CertFile, cfg.KeyFile, err)
	}
	if cert.Leaf == nil {
		if cert.Leaf, err = x509.ParseCertificate(cert.Certificate[0]); err != nil {
			return nil, fmt.Errorf("api.tls.cert_file: %s: %w", cfg.CertFile, err)
		}
	}
	return &cert, nil
}

// readPEM reads a PEM file; private ones must not be readable by every
// user.
func readPEM(path string, private bool) ([]byte, error) {
	if private {
		return routeserver.ReadPrivateFile(path, maxPEMSize)
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer func() { _ = f.Close() }() // read only
	data, err := io.ReadAll(io.LimitReader(f, maxPEMSize+1))
	if err != nil {
		return nil, err
	}
	if len(data) > maxPEMSize {
		return nil, fmt.Errorf("%s is larger than %d bytes", path, maxPEMSize)
	}
	return data, nil
}

// certificates holds the API's certificate in force; TLS handshakes read
// it, reloads replace it.
type certificates struct {
	cfg     TLS
	cur     atomic.Pointer[tls.Certificate]
	reloads *prometheus.CounterVec
	expiry  prometheus.GaugeFunc
}

func newCertificates(cfg TLS) *certificates {
	c := &certificates{cfg: cfg}
	c.reloads = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "ixpd_api_tls_reloads_total",
		Help: "Loads of the API's TLS certificate and key at start and reload, by result (ok, error)."}, []string{"result"})
	c.expiry = prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "ixpd_api_tls_certificate_expiry_timestamp_seconds",
		Help: "When the API's TLS certificate in force expires, Unix time; 0 before it is loaded."}, func() float64 {
		if cert := c.cur.Load(); cert != nil && cert.Leaf != nil {
			return float64(cert.Leaf.NotAfter.Unix())
		}
		return 0
	})
	return c
}

// load reads the pair and puts it in force; on error the one in force
// stays.
func (c *certificates) load() (*tls.Certificate, error) {
	cert, err := LoadCertificate(c.cfg)
	if err != nil {
		c.reloads.WithLabelValues("error").Inc()
		return nil, err
	}
	c.reloads.WithLabelValues("ok").Inc()
	c.cur.Store(cert)
	return cert, nil
}

// tlsConfig serves the certificate in force at each handshake.
func (c *certificates) tlsConfig() *tls.Config {
	return &tls.Config{
		MinVersion: tlsVersions[c.cfg.MinVersion],
		GetCertificate: func(*tls.ClientHelloInfo) (*tls.Certificate, error) {
			if cert := c.cur.Load(); cert != nil {
				return cert, nil
			}
			return nil, errors.New("no certificate loaded")
		},
	}
}

// ReloadTLS reads the API's certificate and key again and serves the new
// pair to new connections; open connections keep theirs. A pair that does
// not load leaves the one in force. Without api.tls it does nothing.
func (a *Component) ReloadTLS() error {
	if a.certs == nil || a.srv == nil {
		return nil
	}
	cert, err := a.certs.load()
	if err != nil {
		return fmt.Errorf("API certificate (the one in force stays): %w", err)
	}
	a.logCertificate("API certificate loaded", cert)
	return nil
}

func (a *Component) logCertificate(msg string, cert *tls.Certificate) {
	l := cert.Leaf
	a.logger.Info(msg, "subject", l.Subject.String(), "not_after", l.NotAfter.UTC().Format(time.RFC3339))
	if time.Now().After(l.NotAfter) {
		a.logger.Warn("API certificate has expired", "subject", l.Subject.String(), "not_after", l.NotAfter.UTC().Format(time.RFC3339))
	}
}
