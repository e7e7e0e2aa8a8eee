package main

import (
	"errors"
	"fmt"
	"regexp"
	"strings"

	"github.com/ixpd/ixpd/api"
)

// Instance says which of the exchange's route servers this ixpd is. An
// exchange runs two route servers on its peering LAN, each an ixpd with
// its own router id and address, the same ASN and the same members file:
// one primary, which runs everything configured, and one secondary,
// which is a route server and an API only.
type Instance struct {
	// Name tells the instances apart in the API, the dashboard and the
	// log (rs1, rs2).
	Name string `yaml:"name"`
	// Role is primary or secondary. A secondary starts neither the flow
	// listeners nor the latency prober, even when they are configured, and
	// records no session snapshots: it writes nothing to the store, so two
	// instances sharing one store never count a flow, a probe or a member
	// twice.
	Role string `yaml:"role"`
}

// The instance roles.
const (
	rolePrimary   = "primary"
	roleSecondary = "secondary"
)

// defaultInstance is the first route server of an exchange.
func defaultInstance() Instance {
	return Instance{Name: "rs1", Role: rolePrimary}
}

var instanceName = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$`)

// validate checks the instance's keys; errors name them under "instance".
func (i Instance) validate() error {
	var errs []error
	if !instanceName.MatchString(i.Name) {
		errs = append(errs, fmt.Errorf("instance.name: %q is not 1 to 63 letters, digits, '.', '_' or '-' (such as rs1)", i.Name))
	}
	switch i.Role {
	case rolePrimary, roleSecondary:
	default:
		errs = append(errs, fmt.Errorf("instance.role: %q is not primary or secondary", i.Role))
	}
	return errors.Join(errs...)
}

// primary reports whether the instance writes to the store: flows,
// latency samples and the route server's session snapshots.
func (i Instance) primary() bool { return i.Role == rolePrimary }

// instanceInfo describes the instance for the API: its name and role and
// what it does beside the route server.
func (c Config) instanceInfo() api.Instance {
	p := c.Instance.primary()
	return api.Instance{
		Name:            c.Instance.Name,
		Role:            c.Instance.Role,
		CollectsFlows:   p && (c.Flow.SFlowListen != "" || c.Flow.NetFlowListen != ""),
		ProbesLatency:   p && c.Latency.Enabled(),
		RecordsSessions: p,
	}
}

// ignoredBySecondary lists the configured jobs a secondary does not run,
// by config key.
func (c Config) ignoredBySecondary() []string {
	if c.Instance.primary() {
		return nil
	}
	var keys []string
	if c.Flow.SFlowListen != "" {
		keys = append(keys, "flow.sflow_listen")
	}
	if c.Flow.NetFlowListen != "" {
		keys = append(keys, "flow.netflow_listen")
	}
	if c.Latency.Enabled() {
		keys = append(keys, "latency")
	}
	return keys
}

// logInstance says at start, in one line, which instance this is and, on
// a secondary, which configured jobs it leaves to the primary.
func (a *app) logInstance() {
	info := a.cfg.instanceInfo()
	msg := "instance"
	attrs := []any{"name", info.Name, "role", info.Role, "collects_flows", info.CollectsFlows,
		"probes_latency", info.ProbesLatency, "records_sessions", info.RecordsSessions}
	if ignored := a.cfg.ignoredBySecondary(); len(ignored) > 0 {
		msg = "secondary instance: the configured flow listeners and latency probes are not started, the primary runs them"
		attrs = append(attrs, "not_started", strings.Join(ignored, ","))
	}
	a.logger.Info(msg, attrs...)
}
