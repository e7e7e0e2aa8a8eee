package collector

import (
	"errors"
	"fmt"
	"maps"
	"net/netip"
	"slices"
	"time"

	"github.com/ixpd/ixpd/flow"
)

// Configuration is the flow collector's part of the configuration file.
type Configuration struct {
	// SFlowListen is the host:port for sFlow v5; "" disables it.
	SFlowListen string `yaml:"sflow_listen"`
	// NetFlowListen is the host:port for NetFlow v5/v9 and IPFIX
	// (auto-detected); "" disables it.
	NetFlowListen string `yaml:"netflow_listen"`
	// Sockets is the number of SO_REUSEPORT sockets per listen address.
	Sockets int `yaml:"sockets"`
	// Workers decode and attribute datagrams; each exporter always lands on
	// the same worker, so its datagrams stay in order.
	Workers int `yaml:"workers"`
	// ReceiveBuffer is SO_RCVBUF in bytes (raise net.core.rmem_max to
	// match; as root ixpd forces it).
	ReceiveBuffer int `yaml:"receive_buffer"`
	// QueueSize is the datagrams waiting per worker before new ones are
	// dropped (and counted).
	QueueSize int `yaml:"queue_size"`
	// Exporters declares the devices that send flows.
	Exporters []ExporterConfig `yaml:"exporters"`
	// BatchSize flows are written to the store at once.
	BatchSize int `yaml:"batch_size"`
	// BatchInterval is the longest a flow waits for its batch.
	BatchInterval time.Duration `yaml:"batch_interval"`
	// BatchQueue is the batches kept in memory for the store; more go to
	// the spool.
	BatchQueue int `yaml:"batch_queue"`
	// SpoolDir keeps batches on disk while the store is unreachable.
	SpoolDir string `yaml:"spool_dir"`
	// SpoolMaxBytes bounds the spool; beyond it flows are dropped (and
	// counted).
	SpoolMaxBytes int64 `yaml:"spool_max_bytes"`
}

// ExporterConfig declares one exporter: an sFlow agent address, or the UDP
// source of NetFlow/IPFIX.
type ExporterConfig struct {
	Address netip.Addr `yaml:"address"`
	// Role is ixp_switch or member_edge.
	Role string `yaml:"role"`
	// SamplingRate is used when the exporter does not say its own.
	SamplingRate uint32 `yaml:"sampling_rate"`
	// MemberASN is the member whose router this is (member_edge).
	MemberASN uint32 `yaml:"member_asn"`
	// Interfaces maps SNMP interface indexes to ixp, transit or customer
	// (member_edge).
	Interfaces map[uint32]string `yaml:"interfaces"`
}

// DefaultConfiguration returns the collector defaults.
func DefaultConfiguration() Configuration {
	return Configuration{
		SFlowListen:   "",
		NetFlowListen: "",
		Sockets:       1,
		Workers:       2,
		ReceiveBuffer: 32 << 20,
		QueueSize:     10000,
		BatchSize:     10000,
		BatchInterval: time.Second,
		BatchQueue:    4,
		SpoolDir:      "data/spool",
		SpoolMaxBytes: 1 << 30,
	}
}

// ParseRole reads an exporter role.
func ParseRole(s string) (flow.Role, error) {
	switch s {
	case "ixp_switch":
		return flow.RoleIXPSwitch, nil
	case "member_edge":
		return flow.RoleMemberEdge, nil
	}
	return flow.RoleUnknown, fmt.Errorf("%q is not ixp_switch or member_edge", s)
}

// Validate checks the configuration; errors name the key below "flow".
func (c Configuration) Validate() error {
	var errs []error
	bad := func(key, format string, args ...any) {
		errs = append(errs, fmt.Errorf("flow.%s: %s", key, fmt.Sprintf(format, args...)))
	}
	for _, l := range []struct{ key, v string }{{"sflow_listen", c.SFlowListen}, {"netflow_listen", c.NetFlowListen}} {
		if l.v == "" {
			continue
		}
		if _, err := netip.ParseAddrPort(l.v); err != nil {
			bad(l.key, "%q is not host:port (IPv6 as [addr]:port)", l.v)
		}
	}
	if c.SFlowListen != "" && c.SFlowListen == c.NetFlowListen {
		bad("netflow_listen", "%s is also sflow_listen", c.NetFlowListen)
	}
	for _, p := range []struct {
		key string
		v   int
	}{{"sockets", c.Sockets}, {"workers", c.Workers}, {"queue_size", c.QueueSize}, {"batch_size", c.BatchSize}, {"batch_queue", c.BatchQueue}} {
		if p.v < 1 {
			bad(p.key, "%d must be at least 1", p.v)
		}
	}
	if c.ReceiveBuffer < 0 {
		bad("receive_buffer", "%d is negative", c.ReceiveBuffer)
	}
	if c.BatchInterval < 10*time.Millisecond {
		bad("batch_interval", "%s is below 10ms", c.BatchInterval)
	}
	if c.SpoolDir == "" {
		bad("spool_dir", "missing")
	}
	if c.SpoolMaxBytes < 1<<20 {
		bad("spool_max_bytes", "%d is below 1 MiB", c.SpoolMaxBytes)
	}
	seen := map[netip.Addr]int{}
	for i, e := range c.Exporters {
		key := fmt.Sprintf("exporters[%d]", i)
		if !e.Address.IsValid() {
			bad(key+".address", "missing")
		} else if j, dup := seen[e.Address]; dup {
			bad(key+".address", "%s is also exporters[%d]", e.Address, j)
		}
		seen[e.Address] = i
		role, err := ParseRole(e.Role)
		if err != nil {
			bad(key+".role", "%v", err)
		}
		if role == flow.RoleMemberEdge && e.MemberASN == 0 {
			bad(key+".member_asn", "missing for a member_edge exporter")
		}
		if role == flow.RoleIXPSwitch && (e.MemberASN != 0 || len(e.Interfaces) > 0) {
			bad(key, "member_asn and interfaces are for member_edge exporters")
		}
		for _, idx := range slices.Sorted(maps.Keys(e.Interfaces)) {
			switch r := e.Interfaces[idx]; r {
			case "ixp", "transit", "customer":
			default:
				bad(fmt.Sprintf("%s.interfaces.%d", key, idx), "%q is not ixp, transit or customer", r)
			}
		}
	}
	return errors.Join(errs...)
}
