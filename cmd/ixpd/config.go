package main

import (
	"bytes"
	"errors"
	"fmt"
	"math"
	"net/netip"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/ixpd/ixpd/analytics"
	"github.com/ixpd/ixpd/analytics/clickhouse"
	"github.com/ixpd/ixpd/analytics/duckdb"
	"github.com/ixpd/ixpd/analytics/latency"
	"github.com/ixpd/ixpd/api"
	"github.com/ixpd/ixpd/flow/collector"
	"github.com/ixpd/ixpd/routeserver"
)

// Config is the whole configuration file. Each component owns its part.
type Config struct {
	IXP           IXP                       `yaml:"ixp"`
	Instance      Instance                  `yaml:"instance"`
	MembersFile   string                    `yaml:"members_file"`
	MembersSchema string                    `yaml:"members_schema"`
	SecretsFile   string                    `yaml:"secrets_file"` // BGP session passwords (secrets.go); "": none
	Log           Log                       `yaml:"log"`
	RouteServer   routeserver.Configuration `yaml:"routeserver"`
	Flow          collector.Configuration   `yaml:"flow"`
	Domestic      Domestic                  `yaml:"domestic"`
	Storage       Storage                   `yaml:"storage"`
	Savings       api.Savings               `yaml:"savings"`
	Latency       latency.Configuration     `yaml:"latency"`
	Reports       Reports                   `yaml:"reports"`
	API           api.Configuration         `yaml:"api"`

	// dir is the config file's folder; relative paths are relative to it.
	dir string
	// path is the config file, for reloads; "" when parsed from text.
	path string
}

// IXP describes the exchange.
type IXP struct {
	Name         string   `yaml:"name"`
	NameLong     string   `yaml:"name_long"`
	Country      string   `yaml:"country"`
	City         string   `yaml:"city"`
	Latitude     float64  `yaml:"latitude"`
	Longitude    float64  `yaml:"longitude"`
	PeeringLAN   Prefixes `yaml:"peering_lan"`
	IXFID        int      `yaml:"ixf_id"`
	PeeringDBID  int      `yaml:"peeringdb_id"`
	URL          string   `yaml:"url"`
	SupportEmail string   `yaml:"support_email"`
	// TimeZone is the IANA zone the dashboard and reports show times in;
	// data and month bounds stay UTC.
	TimeZone string `yaml:"time_zone"`
}

// Reports configures what is recorded for the monthly report.
type Reports struct {
	// SessionInterval is how often the route server's sessions and route
	// counts are recorded in the store (at least one minute).
	SessionInterval time.Duration `yaml:"session_interval"`
}

// Domestic configures how flows are placed in countries.
type Domestic struct {
	// DelegatedFiles are RIR delegated-stats files (relative to the config
	// file when relative).
	DelegatedFiles []string `yaml:"delegated_files"`
	// Overrides maps prefixes to countries; they win over everything.
	Overrides map[string]string `yaml:"overrides"`
}

// Storage selects and configures the analytics store.
type Storage struct {
	// Driver is duckdb (embedded, the default) or clickhouse.
	Driver string `yaml:"driver"`
	// DuckDBPath is the DuckDB file (relative to the config file when
	// relative).
	DuckDBPath string                   `yaml:"duckdb_path"`
	ClickHouse clickhouse.Configuration `yaml:"clickhouse"`
	Retention  Retention                `yaml:"retention"`
}

// Retention is how long data is kept.
type Retention struct {
	Raw    time.Duration `yaml:"raw"`
	Rollup time.Duration `yaml:"rollup"`
}

// Log configures logging.
type Log struct {
	Level  string `yaml:"level"`
	Format string `yaml:"format"`
}

// DefaultConfig returns every default; `ixpd check -dump` shows them.
func DefaultConfig() Config {
	return Config{
		IXP:         IXP{TimeZone: "UTC"},
		Instance:    defaultInstance(),
		MembersFile: "members.json",
		Log:         Log{Level: "info", Format: "text"},
		RouteServer: routeserver.DefaultConfiguration(),
		Flow:        collector.DefaultConfiguration(),
		Storage: Storage{
			Driver:     "duckdb",
			DuckDBPath: duckdb.DefaultConfiguration().Path,
			ClickHouse: clickhouse.DefaultConfiguration(),
			Retention:  Retention{Raw: analytics.DefaultRetention.Raw, Rollup: analytics.DefaultRetention.Rollup},
		},
		Savings: api.DefaultSavings(),
		Latency: latency.DefaultConfiguration(),
		Reports: Reports{SessionInterval: time.Hour},
		API:     api.DefaultConfiguration(),
	}
}

// LoadConfig reads, checks and completes a configuration file.
func LoadConfig(path string) (Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return Config{}, fmt.Errorf("read config: %w", err)
	}
	cfg, err := ParseConfig(data)
	if err != nil {
		return Config{}, fmt.Errorf("config %s: %w", path, err)
	}
	cfg.dir = filepath.Dir(path)
	cfg.path = path
	return cfg, nil
}

// loadConfigAndFiles is LoadConfig that also reads the files whose content
// is checked at load (checkFiles), for `run` and `check`; the other
// commands need neither, and may run as users who may not read them.
func loadConfigAndFiles(path string) (Config, error) {
	cfg, err := LoadConfig(path)
	if err != nil {
		return Config{}, err
	}
	if err := cfg.checkFiles(); err != nil {
		return Config{}, fmt.Errorf("config %s: %w", path, err)
	}
	return cfg, nil
}

// checkFiles reads the files the configuration names whose content is
// part of it: the secrets file and the API's certificate and key.
func (c Config) checkFiles() error {
	var errs []error
	if _, err := loadPasswords(c); err != nil {
		errs = append(errs, err)
	}
	if t := c.apiConfig().TLS; t.Enabled() {
		if _, err := api.LoadCertificate(t); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// apiConfig is the API's configuration with its file paths resolved
// against the config file's folder.
func (c Config) apiConfig() api.Configuration {
	a := c.API
	a.TLS.CertFile = c.resolve(a.TLS.CertFile)
	a.TLS.KeyFile = c.resolve(a.TLS.KeyFile)
	return a
}

// ParseConfig parses and validates configuration text.
func ParseConfig(data []byte) (Config, error) {
	cfg := DefaultConfig()
	var root yaml.Node
	if err := yaml.Unmarshal(data, &root); err != nil {
		return Config{}, yamlError(err, nil)
	}
	if len(root.Content) == 0 {
		return Config{}, errors.New("the file is empty")
	}
	if errs := unknownKeys(root.Content[0], reflect.TypeOf(cfg), ""); len(errs) > 0 {
		return Config{}, errors.Join(errs...)
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&cfg); err != nil {
		return Config{}, yamlError(err, root.Content[0])
	}
	cfg.RouteServer.PeeringLANs = []netip.Prefix(cfg.IXP.PeeringLAN)
	if err := cfg.Validate(); err != nil {
		return Config{}, err
	}
	return cfg, nil
}

var countryCode = regexp.MustCompile(`^[A-Z]{2}$`)

// Validate checks rules across keys and each component's part.
func (c Config) Validate() error {
	var errs []error
	if c.IXP.Name == "" {
		errs = append(errs, errors.New("ixp.name: missing"))
	}
	if _, err := c.location(); err != nil {
		errs = append(errs, err)
	}
	if c.Reports.SessionInterval < time.Minute {
		errs = append(errs, fmt.Errorf("reports.session_interval: %s is below one minute", c.Reports.SessionInterval))
	}
	if !countryCode.MatchString(c.IXP.Country) {
		errs = append(errs, fmt.Errorf("ixp.country: %q is not an ISO 3166-1 alpha-2 code such as WS", c.IXP.Country))
	}
	if math.Abs(c.IXP.Latitude) > 90 {
		errs = append(errs, fmt.Errorf("ixp.latitude: %v is outside -90..90", c.IXP.Latitude))
	}
	if math.Abs(c.IXP.Longitude) > 180 {
		errs = append(errs, fmt.Errorf("ixp.longitude: %v is outside -180..180", c.IXP.Longitude))
	}
	if len(c.IXP.PeeringLAN) == 0 {
		errs = append(errs, errors.New("ixp.peering_lan: missing; list the peering LAN prefixes"))
	}
	for i, p := range c.IXP.PeeringLAN {
		if p != p.Masked() {
			errs = append(errs, fmt.Errorf("ixp.peering_lan[%d]: %s has host bits set (did you mean %s?)", i, p, p.Masked()))
		}
	}
	if c.MembersFile == "" {
		errs = append(errs, errors.New("members_file: missing"))
	}
	switch c.Log.Level {
	case "debug", "info", "warn", "error":
	default:
		errs = append(errs, fmt.Errorf("log.level: %q is not debug, info, warn or error", c.Log.Level))
	}
	switch c.Log.Format {
	case "text", "json":
	default:
		errs = append(errs, fmt.Errorf("log.format: %q is not text or json", c.Log.Format))
	}
	switch c.Storage.Driver {
	case "duckdb":
		if c.Storage.DuckDBPath == "" {
			errs = append(errs, errors.New("storage.duckdb_path: missing"))
		}
	case "clickhouse":
		if err := c.Storage.ClickHouse.Validate(); err != nil {
			errs = append(errs, fmt.Errorf("storage.%w", err))
		}
	default:
		errs = append(errs, fmt.Errorf("storage.driver: %q is not duckdb or clickhouse", c.Storage.Driver))
	}
	if c.Storage.Retention.Raw < 24*time.Hour {
		errs = append(errs, fmt.Errorf("storage.retention.raw: %s is below one day", c.Storage.Retention.Raw))
	}
	if c.Storage.Retention.Rollup < c.Storage.Retention.Raw {
		errs = append(errs, fmt.Errorf("storage.retention.rollup: %s is shorter than storage.retention.raw", c.Storage.Retention.Rollup))
	}
	for _, err := range []error{c.Instance.validate(), c.RouteServer.Validate(), c.Flow.Validate(), c.Savings.Validate(), c.Latency.Validate(), c.API.Validate()} {
		if err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// location is the time zone of ixp.time_zone (UTC when empty).
func (c Config) location() (*time.Location, error) {
	if c.IXP.TimeZone == "" {
		return time.UTC, nil
	}
	loc, err := time.LoadLocation(c.IXP.TimeZone)
	if err != nil || c.IXP.TimeZone == "Local" {
		return nil, fmt.Errorf("ixp.time_zone: %q is not an IANA time zone such as Pacific/Apia or UTC", c.IXP.TimeZone)
	}
	return loc, nil
}

// routeServer is the route server's configuration with its file paths
// resolved against the config file's folder.
func (c Config) routeServer() routeserver.Configuration {
	rs := c.RouteServer
	rs.PeeringDBFile = c.resolve(rs.PeeringDBFile)
	rs.RPKI.VRPFile = c.resolve(rs.RPKI.VRPFile)
	resolveAll := func(ps []string) []string {
		out := make([]string, len(ps))
		for i, p := range ps {
			out[i] = c.resolve(p)
		}
		return out
	}
	rs.IRR.PrefixLists = resolveAll(rs.IRR.PrefixLists)
	rs.IRR.ASSets = resolveAll(rs.IRR.ASSets)
	return rs
}

// resolve makes a path from the config file relative to its folder.
func (c Config) resolve(p string) string {
	if p == "" || filepath.IsAbs(p) {
		return p
	}
	return filepath.Join(c.dir, p)
}

// unknownKeys reports every key that is not a field of t, by key path.
func unknownKeys(n *yaml.Node, t reflect.Type, path string) []error {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	var errs []error
	switch {
	case n.Kind == yaml.MappingNode && t.Kind() == reflect.Struct:
		fields := map[string]reflect.Type{}
		for i := range t.NumField() {
			f := t.Field(i)
			name, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
			if name == "" || name == "-" || !f.IsExported() {
				continue
			}
			fields[name] = f.Type
		}
		for i := 0; i+1 < len(n.Content); i += 2 {
			key := n.Content[i].Value
			sub := joinKey(path, key)
			ft, ok := fields[key]
			if !ok {
				errs = append(errs, fmt.Errorf("%s: unknown key (line %d)", sub, n.Content[i].Line))
				continue
			}
			errs = append(errs, unknownKeys(n.Content[i+1], ft, sub)...)
		}
	case n.Kind == yaml.SequenceNode && t.Kind() == reflect.Slice:
		for i, item := range n.Content {
			errs = append(errs, unknownKeys(item, t.Elem(), path+"["+strconv.Itoa(i)+"]")...)
		}
	}
	return errs
}

func joinKey(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

var yamlLine = regexp.MustCompile(`line (\d+): (.*)`)

// yamlError rewrites the YAML library's errors so that each names the key
// path of the line it is about.
func yamlError(err error, root *yaml.Node) error {
	var te *yaml.TypeError
	msgs := []string{err.Error()}
	if errors.As(err, &te) {
		msgs = te.Errors
	}
	if root == nil {
		return fmt.Errorf("not valid YAML: %w", err)
	}
	var errs []error
	for _, e := range msgs {
		m := yamlLine.FindStringSubmatch(e)
		if m == nil {
			errs = append(errs, fmt.Errorf("not valid YAML: %s", e))
			continue
		}
		line, _ := strconv.Atoi(m[1])
		key := keyAtLine(root, line, "")
		if key == "" {
			key = "line " + m[1]
		}
		errs = append(errs, fmt.Errorf("%s: %s", key, strings.TrimPrefix(m[2], "yaml: ")))
	}
	return errors.Join(errs...)
}

// keyAtLine finds the key path whose value starts on line.
func keyAtLine(n *yaml.Node, line int, path string) string {
	switch n.Kind {
	case yaml.MappingNode:
		for i := 0; i+1 < len(n.Content); i += 2 {
			sub := joinKey(path, n.Content[i].Value)
			v := n.Content[i+1]
			if v.Line == line && v.Kind == yaml.ScalarNode {
				return sub
			}
			if k := keyAtLine(v, line, sub); k != "" {
				return k
			}
			if n.Content[i].Line == line {
				return sub
			}
		}
	case yaml.SequenceNode:
		for i, item := range n.Content {
			sub := path + "[" + strconv.Itoa(i) + "]"
			if item.Line == line && item.Kind == yaml.ScalarNode {
				return sub
			}
			if k := keyAtLine(item, line, sub); k != "" {
				return k
			}
		}
	}
	return ""
}

// Prefixes is a list of IP prefixes whose parse errors name their line.
type Prefixes []netip.Prefix

// UnmarshalYAML parses a list of prefixes.
func (p *Prefixes) UnmarshalYAML(n *yaml.Node) error {
	var items []string
	if err := n.Decode(&items); err != nil {
		return err
	}
	out := make(Prefixes, 0, len(items))
	for _, s := range items {
		pfx, err := netip.ParsePrefix(s)
		if err != nil {
			return fmt.Errorf("line %d: %q is not a prefix such as 192.0.2.0/24", n.Line, s)
		}
		out = append(out, pfx)
	}
	*p = out
	return nil
}
