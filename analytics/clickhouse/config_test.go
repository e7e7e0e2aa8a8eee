package clickhouse

import (
	"strings"
	"testing"
	"time"
)

func TestDefaultConfiguration(t *testing.T) {
	c := DefaultConfiguration()
	if c.Addr != "127.0.0.1:9000" || c.Database != "ixpd" || c.User != "default" || c.Password != "" {
		t.Errorf("DefaultConfiguration() = %+v", c)
	}
	if err := c.Validate(); err != nil {
		t.Errorf("DefaultConfiguration().Validate() = %v", err)
	}
}

func TestValidate(t *testing.T) {
	for _, tc := range []struct {
		name   string
		change func(*Configuration)
		want   string
	}{
		{"addr without port", func(c *Configuration) { c.Addr = "127.0.0.1" }, `clickhouse.addr: "127.0.0.1" is not host:port`},
		{"database with a dash", func(c *Configuration) { c.Database = "ixp-d" }, `clickhouse.database: "ixp-d" is not a plain identifier`},
		{"database with a quote", func(c *Configuration) { c.Database = "x`; DROP DATABASE y" }, "clickhouse.database: "},
		{"empty database", func(c *Configuration) { c.Database = "" }, `clickhouse.database: "" is not`},
		{"empty user", func(c *Configuration) { c.User = "" }, "clickhouse.user: must not be empty"},
		{"zero dial timeout", func(c *Configuration) { c.DialTimeout = 0 }, "clickhouse.dial_timeout: 0s is not positive"},
		{"negative read timeout", func(c *Configuration) { c.ReadTimeout = -time.Second }, "clickhouse.read_timeout: -1s is not positive"},
		{"no connections", func(c *Configuration) { c.MaxOpenConns = 0 }, "clickhouse.max_open_conns: 0 is less than 1"},
		{"cluster without shards", func(c *Configuration) { c.Cluster = "ixpd" },
			"clickhouse.shards: missing; list the native address (host:port) of every server of cluster ixpd"},
		{"shards without cluster", func(c *Configuration) { c.Shards = []string{"10.0.0.1:9000", "10.0.0.2:9000"} },
			"clickhouse.cluster: missing; clickhouse.shards is only for a cluster"},
		{"cluster name with a quote", func(c *Configuration) { c.Cluster, c.Shards = "ix'pd", []string{"10.0.0.1:9000"} },
			`clickhouse.cluster: "ix'pd" is not a cluster name`},
		{"shard without port", func(c *Configuration) { c.Cluster, c.Shards = "ixpd", []string{"10.0.0.1:9000", "10.0.0.2"} },
			`clickhouse.shards[1]: "10.0.0.2" is not host:port`},
		{"shard twice", func(c *Configuration) {
			c.Cluster, c.Shards = "ixpd", []string{"10.0.0.1:9000", "10.0.0.2:9000", "10.0.0.1:9000"}
		}, "clickhouse.shards[2]: 10.0.0.1:9000 is already clickhouse.shards[0]"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := DefaultConfiguration()
			tc.change(&c)
			err := c.Validate()
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("Validate() = %v, want an error containing %q", err, tc.want)
			}
			if _, err := New(nil, nil, c); err == nil {
				t.Errorf("New() accepted the configuration")
			}
		})
	}
}

func TestValidateCluster(t *testing.T) {
	for _, tc := range []struct {
		name    string
		cluster string
		shards  []string
	}{
		{"two shards", "ixpd", []string{"10.0.0.1:9000", "10.0.0.2:9000"}},
		{"dashes and dots", "ixp-cluster.v2", []string{"ch1.example.net:9000"}},
		{"addr is not a shard", "ixpd", []string{"10.0.0.5:9000", "[2001:db8::6]:9000"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := DefaultConfiguration()
			c.Cluster, c.Shards = tc.cluster, tc.shards
			if err := c.Validate(); err != nil {
				t.Errorf("Validate() = %v", err)
			}
		})
	}
}

func TestUnixSeconds(t *testing.T) {
	at := time.Date(2024, time.March, 10, 21, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		in   time.Time
		want uint32
	}{
		{at, uint32(at.Unix())},
		{at.Add(time.Nanosecond), uint32(at.Unix()) + 1},
		{at.Add(-time.Nanosecond), uint32(at.Unix())},
		{at.In(time.FixedZone("x", 5*3600+45*60)), uint32(at.Unix())},
		{time.Time{}, 0},
		{time.Date(2200, 1, 1, 0, 0, 0, 0, time.UTC), 1<<32 - 1},
	} {
		if got := unixSeconds(tc.in); got != tc.want {
			t.Errorf("unixSeconds(%s) = %d, want %d", tc.in, got, tc.want)
		}
	}
}
