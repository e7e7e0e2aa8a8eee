package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/prometheus/client_golang/prometheus"
	"go.yaml.in/yaml/v3"

	"github.com/ixpd/ixpd/routeserver"
	"github.com/ixpd/ixpd/routeserver/members"
)

// The secrets file (secrets_file) holds what must not be in the config
// file, which `ixpd check -dump` prints and operators pass around:
//
//	bgp_passwords:
//	  192.0.2.10: "…"    # one session, by neighbor address
//	  AS64500: "…"       # every session of AS64500 without its own entry
//
// Only the service may read it (mode 0640, owner root:ixpd): ixpd refuses
// a file that every user may read, as sshd refuses such a key. No error or
// log line quotes a value from it.

// maxSecretsSize bounds the secrets file; a few thousand sessions fit.
const maxSecretsSize = 1 << 20

// loadSecrets reads the secrets file at path.
func loadSecrets(path string) (routeserver.Passwords, error) {
	data, err := routeserver.ReadPrivateFile(path, maxSecretsSize)
	if err != nil {
		return routeserver.Passwords{}, fmt.Errorf("secrets_file: %w", err)
	}
	pw, err := parseSecrets(data)
	if err != nil {
		return routeserver.Passwords{}, fmt.Errorf("secrets_file: %s: %w", path, err)
	}
	return pw, nil
}

var yamlErrorLine = regexp.MustCompile(`line (\d+)`)

// parseSecrets reads the secrets file's content. It walks the YAML nodes
// itself, because the YAML library's own type errors quote the value.
func parseSecrets(data []byte) (routeserver.Passwords, error) {
	pw := routeserver.Passwords{ByAddress: map[netip.Addr]routeserver.Secret{}, ByASN: map[uint32]routeserver.Secret{}}
	var root yaml.Node
	if err := yaml.Unmarshal(data, &root); err != nil {
		return pw, secretsSyntaxError(err)
	}
	if len(root.Content) == 0 {
		return pw, nil // empty: no secrets
	}
	doc := root.Content[0]
	if doc.Kind != yaml.MappingNode {
		return pw, fmt.Errorf("want a mapping with the key bgp_passwords (line %d)", doc.Line)
	}
	var errs []error
	for i := 0; i+1 < len(doc.Content); i += 2 {
		k, v := doc.Content[i], doc.Content[i+1]
		switch k.Value {
		case "bgp_passwords":
			errs = append(errs, parsePasswords(v, &pw)...)
		default:
			errs = append(errs, fmt.Errorf("%s: unknown key (line %d); the file has bgp_passwords only", printableKey(k), k.Line))
		}
	}
	return pw, errors.Join(errs...)
}

// secretsSyntaxError keeps the line of a YAML syntax error and its text
// only when that quotes nothing from the file.
func secretsSyntaxError(err error) error {
	msg := strings.TrimPrefix(err.Error(), "yaml: ")
	line := ""
	if m := yamlErrorLine.FindStringSubmatch(msg); m != nil {
		line = " (line " + m[1] + ")"
	}
	if strings.ContainsAny(msg, "\"'`") {
		return fmt.Errorf("not valid YAML%s", line)
	}
	return fmt.Errorf("not valid YAML: %s", msg)
}

// parsePasswords reads the bgp_passwords mapping into pw.
func parsePasswords(n *yaml.Node, pw *routeserver.Passwords) []error {
	if n.Kind == yaml.ScalarNode && n.Tag == "!!null" {
		return nil
	}
	if n.Kind != yaml.MappingNode {
		return []error{fmt.Errorf("bgp_passwords: want a mapping of neighbor addresses or ASNs (AS64500) to passwords (line %d)", n.Line)}
	}
	var errs []error
	seen := map[string]int{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		addr, asn, ok := passwordKey(k)
		if !ok {
			// Not shown: a password typed where the key goes would be.
			errs = append(errs, fmt.Errorf("bgp_passwords: the key on line %d is not a neighbor address (192.0.2.10) or an ASN (AS64500)", k.Line))
			continue
		}
		key := "AS" + strconv.FormatUint(uint64(asn), 10)
		if addr.IsValid() {
			key = addr.String()
		}
		path := "bgp_passwords." + key
		if first, dup := seen[key]; dup {
			errs = append(errs, fmt.Errorf("%s: given twice (lines %d and %d)", path, first, k.Line))
			continue
		}
		seen[key] = k.Line
		if v.Kind != yaml.ScalarNode || v.Tag != "!!str" {
			errs = append(errs, fmt.Errorf("%s: want the password as a string in quotes (line %d)", path, v.Line))
			continue
		}
		switch l := len(v.Value); {
		case l == 0:
			errs = append(errs, fmt.Errorf("%s: empty password; remove the entry for no password (line %d)", path, v.Line))
			continue
		case l > routeserver.MaxPasswordLen:
			errs = append(errs, fmt.Errorf("%s: the password has %d bytes; TCP-MD5 takes at most %d (line %d)", path, l, routeserver.MaxPasswordLen, v.Line))
			continue
		}
		if addr.IsValid() {
			pw.ByAddress[addr] = routeserver.NewSecret(v.Value)
		} else {
			pw.ByASN[asn] = routeserver.NewSecret(v.Value)
		}
	}
	return errs
}

// passwordKey reads a bgp_passwords key: a neighbor address or ASxxx.
func passwordKey(k *yaml.Node) (netip.Addr, uint32, bool) {
	if k.Kind != yaml.ScalarNode {
		return netip.Addr{}, 0, false
	}
	s := k.Value
	if len(s) > 2 && strings.EqualFold(s[:2], "AS") {
		n, err := strconv.ParseUint(s[2:], 10, 32)
		if err != nil || n == 0 {
			return netip.Addr{}, 0, false
		}
		return netip.Addr{}, uint32(n), true
	}
	a, err := netip.ParseAddr(s)
	if err != nil || a.Zone() != "" {
		return netip.Addr{}, 0, false
	}
	return a.Unmap(), 0, true
}

// printableKey is a top-level key for an error message: shown when it
// looks like a key name, else its line stands for it.
func printableKey(k *yaml.Node) string {
	if k.Kind == yaml.ScalarNode && keyName.MatchString(k.Value) {
		return k.Value
	}
	return "a key"
}

var keyName = regexp.MustCompile(`^[a-z][a-z0-9_]{0,40}$`)

// passwordWarnings lists passwords that match no route-server session of
// the members file (a typo, or a member not added yet).
func passwordWarnings(pw routeserver.Passwords, set *members.Set) []string {
	addrs, asns := map[netip.Addr]bool{}, map[uint32]bool{}
	for _, m := range set.Members {
		for _, a := range m.Addresses {
			if a.RouteServer {
				addrs[a.IP.Unmap()], asns[m.ASN] = true, true
			}
		}
	}
	var out []string
	for a := range pw.ByAddress {
		if !addrs[a] {
			out = append(out, fmt.Sprintf("secrets_file: bgp_passwords.%s: no route-server session with this address in the members file", a))
		}
	}
	for asn := range pw.ByASN {
		if !asns[asn] {
			out = append(out, fmt.Sprintf("secrets_file: bgp_passwords.AS%d: no member with route-server sessions has this ASN", asn))
		}
	}
	return out
}

// checkPasswords prints a warning for each password that matches no
// session (the file itself was checked by LoadConfig).
func checkPasswords(cfg Config, set *members.Set, out io.Writer) error {
	pw, err := loadPasswords(cfg)
	if err != nil {
		return err
	}
	warnings := passwordWarnings(pw, set)
	slices.Sort(warnings)
	for _, w := range warnings {
		if _, err := fmt.Fprintln(out, "warning:", w); err != nil {
			return err
		}
	}
	return nil
}

// loadPasswords reads the configured secrets file; none configured: no
// passwords.
func loadPasswords(cfg Config) (routeserver.Passwords, error) {
	if cfg.SecretsFile == "" {
		return routeserver.Passwords{}, nil
	}
	return loadSecrets(cfg.resolve(cfg.SecretsFile))
}

// loadSecretsAtStart registers the secrets metrics and reads the secrets
// file.
func (a *app) loadSecretsAtStart() (routeserver.Passwords, error) {
	a.secretsReloads = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "ixpd_secrets_reloads_total",
		Help: "Secrets file reloads by result (ok, error)."}, []string{"result"})
	if err := a.reg.Register(a.secretsReloads); err != nil {
		return routeserver.Passwords{}, fmt.Errorf("register secrets metrics: %w", err)
	}
	return loadPasswords(a.cfg)
}

// reloadSecrets re-reads the secrets file and the API's certificate and
// key. What cannot be read stays as it was: the passwords and the
// certificate in force are kept.
func (a *app) reloadSecrets(ctx context.Context, cfg Config) error {
	var errs []error
	if cfg.SecretsFile != "" {
		pw, err := loadPasswords(cfg)
		if err != nil {
			a.secretsReloads.WithLabelValues("error").Inc()
			errs = append(errs, err) // the passwords in force stay
		} else {
			a.secretsReloads.WithLabelValues("ok").Inc()
			if err := a.rs.SetPasswords(ctx, pw); err != nil {
				errs = append(errs, fmt.Errorf("apply BGP passwords: %w", err))
			}
		}
	}
	if err := a.api.ReloadTLS(); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}
