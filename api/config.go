package api

import (
	"encoding/hex"
	"errors"
	"fmt"
	"net/netip"
	"strings"
)

// Configuration is the API's part of the configuration file.
type Configuration struct {
	// Listen is the host:port of the HTTP API.
	Listen string `yaml:"listen"`
	// Tokens are the bearer tokens accepted for member-level data and
	// operations, stored as SHA-256 hashes (make one with `ixpd token`).
	Tokens []Token `yaml:"tokens"`
	// PublicLookingGlass opens the route-server looking glass to
	// everyone; by default it needs a token.
	PublicLookingGlass bool `yaml:"public_looking_glass"`
	// BirdwatcherListen is a host:port that serves only the
	// birdwatcher-compatible endpoints, without a token, for Alice-LG
	// (which sends none); "" turns it off. Bind it where Alice-LG runs.
	// The same endpoints are on the main API under /birdwatcher with the
	// looking glass's access rule.
	BirdwatcherListen string `yaml:"birdwatcher_listen"`
	// PublicRate is the requests per second each client address may make to
	// the public endpoints (traffic, summary, savings, IX-F export, map);
	// 0 turns the limit off.
	PublicRate float64 `yaml:"public_rate"`
	// PublicBurst is how many requests a client may make at once.
	PublicBurst int `yaml:"public_burst"`
	// Pprof serves Go's profiles under /debug/pprof/ (token required).
	Pprof bool `yaml:"pprof"`
	// TLS serves Listen over HTTPS; BirdwatcherListen stays plain HTTP.
	TLS TLS `yaml:"tls"`
}

// TLS configures HTTPS for the API. The certificate and key are read at
// start and again on reload (SIGHUP), without closing the listener or
// connections; a pair that does not load leaves the one in force.
type TLS struct {
	// CertFile is the PEM certificate chain, leaf first; "" with KeyFile
	// "" serves plain HTTP.
	CertFile string `yaml:"cert_file"`
	// KeyFile is the PEM private key; every user may not read it.
	KeyFile string `yaml:"key_file"`
	// MinVersion is the oldest TLS version accepted: 1.2 or 1.3.
	MinVersion string `yaml:"min_version"`
}

// Enabled tells whether the API serves HTTPS.
func (t TLS) Enabled() bool { return t.CertFile != "" || t.KeyFile != "" }

// Token is a named bearer token, kept only as its SHA-256.
type Token struct {
	Name   string `yaml:"name"`
	SHA256 string `yaml:"sha256"`
}

// DefaultConfiguration returns the API defaults.
func DefaultConfiguration() Configuration {
	return Configuration{Listen: "127.0.0.1:8080", PublicRate: 5, PublicBurst: 20, TLS: TLS{MinVersion: "1.2"}}
}

// Validate checks the configuration; errors name the key below "api".
func (c Configuration) Validate() error {
	var errs []error
	if c.Listen == "" {
		errs = append(errs, errors.New("api.listen: missing; set host:port"))
	} else if _, err := netip.ParseAddrPort(c.Listen); err != nil {
		errs = append(errs, fmt.Errorf("api.listen: %q is not host:port (IPv6 as [addr]:port)", c.Listen))
	}
	if c.PublicRate < 0 {
		errs = append(errs, fmt.Errorf("api.public_rate: %v is negative", c.PublicRate))
	}
	if c.PublicRate > 0 && c.PublicBurst < 1 {
		errs = append(errs, fmt.Errorf("api.public_burst: %d must be at least 1", c.PublicBurst))
	}
	if c.BirdwatcherListen != "" {
		if _, err := netip.ParseAddrPort(c.BirdwatcherListen); err != nil {
			errs = append(errs, fmt.Errorf("api.birdwatcher_listen: %q is not host:port (IPv6 as [addr]:port)", c.BirdwatcherListen))
		} else if c.BirdwatcherListen == c.Listen && !strings.HasSuffix(c.Listen, ":0") {
			errs = append(errs, fmt.Errorf("api.birdwatcher_listen: %s is also api.listen; give it its own port", c.BirdwatcherListen))
		}
	}
	switch t := c.TLS; {
	case t.CertFile != "" && t.KeyFile == "":
		errs = append(errs, errors.New("api.tls.key_file: missing; cert_file and key_file go together"))
	case t.CertFile == "" && t.KeyFile != "":
		errs = append(errs, errors.New("api.tls.cert_file: missing; cert_file and key_file go together"))
	}
	if _, ok := tlsVersions[c.TLS.MinVersion]; !ok {
		errs = append(errs, fmt.Errorf("api.tls.min_version: %q is not 1.2 or 1.3", c.TLS.MinVersion))
	}
	names := map[string]bool{}
	for i, t := range c.Tokens {
		if t.Name == "" {
			errs = append(errs, fmt.Errorf("api.tokens[%d].name: missing", i))
		} else if names[t.Name] {
			errs = append(errs, fmt.Errorf("api.tokens[%d].name: %q is used twice", i, t.Name))
		}
		names[t.Name] = true
		if b, err := hex.DecodeString(t.SHA256); err != nil || len(b) != 32 {
			errs = append(errs, fmt.Errorf("api.tokens[%d].sha256: want 64 hex digits (the SHA-256 of the token, see `ixpd token`)", i))
		}
	}
	return errors.Join(errs...)
}
