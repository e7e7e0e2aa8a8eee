package clickhouse

import (
	"errors"
	"fmt"
	"net"
	"regexp"
	"time"
)

// Configuration is the ClickHouse store's configuration.
type Configuration struct {
	// Addr is the server's native-protocol address (TCP, default port
	// 9000). The HTTP interface is not used: 18.16 does not speak the
	// HTTP dialect of current drivers.
	Addr string `yaml:"addr"`
	// Database holds ixpd's tables; Migrate creates it.
	Database string `yaml:"database"`
	User     string `yaml:"user"`
	Password string `yaml:"password"`
	// DialTimeout bounds connecting, and waiting for a free connection
	// when MaxOpenConns are busy.
	DialTimeout time.Duration `yaml:"dial_timeout"`
	// ReadTimeout bounds each read from the server.
	ReadTimeout time.Duration `yaml:"read_timeout"`
	// MaxOpenConns is the size of the connection pool: concurrent batches
	// and queries beyond it wait up to DialTimeout.
	MaxOpenConns int `yaml:"max_open_conns"`
	// Compress sends native blocks LZ4-compressed: worth it when the
	// server is across a network, not on the same host.
	Compress bool `yaml:"compress"`
	// Cluster, when set, is the name of a cluster in the servers'
	// remote_servers configuration: the store then keeps its tables on
	// every server of the cluster (flows_local, flows_5m_local,
	// latency_5m_local) with Distributed tables over them under the usual
	// names, and writes and reads through the Distributed tables of the
	// server at Addr. Empty: one server, no Distributed tables.
	Cluster string `yaml:"cluster"`
	// Shards are the native addresses of every server of Cluster (one per
	// shard), as ixpd reaches them: Migrate creates the tables on each,
	// and ApplyRetention drops old partitions on each. Required with
	// Cluster, and only with it.
	Shards []string `yaml:"shards"`
}

// DefaultConfiguration returns the defaults: a server on localhost,
// database ixpd, user default without a password.
func DefaultConfiguration() Configuration {
	return Configuration{
		Addr:         "127.0.0.1:9000",
		Database:     "ixpd",
		User:         "default",
		Password:     "",
		DialTimeout:  5 * time.Second,
		ReadTimeout:  60 * time.Second,
		MaxOpenConns: 8,
		Compress:     false,
		Cluster:      "",
		Shards:       nil,
	}
}

// identifier is what the store accepts as a database name: it is written
// into DDL and queries, so it must need no quoting.
var identifier = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]{0,62}$`)

// clusterName is what the store accepts as a cluster name: a name that
// remote_servers can hold as an XML element, written into DDL as a string
// literal that needs no escaping.
var clusterName = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_.-]{0,127}$`)

// Validate checks the configuration; errors name the key
// (clickhouse.database: ...).
func (c Configuration) Validate() error {
	var errs []error
	bad := func(key, format string, args ...any) {
		errs = append(errs, fmt.Errorf("clickhouse.%s: %s", key, fmt.Sprintf(format, args...)))
	}
	if _, port, err := net.SplitHostPort(c.Addr); err != nil || port == "" {
		bad("addr", "%q is not host:port", c.Addr)
	}
	if !identifier.MatchString(c.Database) {
		bad("database", "%q is not a plain identifier ([A-Za-z_][A-Za-z0-9_]*, at most 63 characters)", c.Database)
	}
	if c.User == "" {
		bad("user", "must not be empty")
	}
	if c.DialTimeout <= 0 {
		bad("dial_timeout", "%s is not positive", c.DialTimeout)
	}
	if c.ReadTimeout <= 0 {
		bad("read_timeout", "%s is not positive", c.ReadTimeout)
	}
	if c.MaxOpenConns < 1 {
		bad("max_open_conns", "%d is less than 1", c.MaxOpenConns)
	}
	switch {
	case c.Cluster == "" && len(c.Shards) > 0:
		bad("cluster", "missing; clickhouse.shards is only for a cluster: name it as in the servers' remote_servers")
	case c.Cluster != "" && !clusterName.MatchString(c.Cluster):
		bad("cluster", "%q is not a cluster name ([A-Za-z_][A-Za-z0-9_.-]*, at most 128 characters)", c.Cluster)
	case c.Cluster != "" && len(c.Shards) == 0:
		bad("shards", "missing; list the native address (host:port) of every server of cluster %s", c.Cluster)
	}
	seen := map[string]int{}
	for i, addr := range c.Shards {
		key := fmt.Sprintf("shards[%d]", i)
		if _, port, err := net.SplitHostPort(addr); err != nil || port == "" {
			bad(key, "%q is not host:port", addr)
		} else if j, dup := seen[addr]; dup {
			bad(key, "%s is already clickhouse.shards[%d]", addr, j)
		} else {
			seen[addr] = i
		}
	}
	return errors.Join(errs...)
}
