package latency

import (
	"errors"
	"fmt"
	"net/netip"
	"time"
)

// Probe methods.
const (
	MethodICMP  = "icmp"  // ICMP or ICMPv6 echo
	MethodTCP   = "tcp"   // TCP connect time
	MethodTWAMP = "twamp" // TWAMP-light, RFC 5357 unauthenticated mode
)

// Paths of a comparison target: the gain of a group is the median via
// transit minus the median via the exchange.
const (
	PathIXP     = "ixp"
	PathTransit = "transit"
)

// Limits of the configuration.
const (
	// MinInterval is the shortest probe interval accepted.
	MinInterval = 100 * time.Millisecond
	// MaxTimeout is the longest timeout accepted.
	MaxTimeout = 10 * time.Second
	// TWAMPPort is the well-known TWAMP port (the light reflector has no
	// control session, so any port works).
	TWAMPPort = 862
)

// Configuration is the prober's part of the configuration file, under
// the key "latency". The prober probes nothing unless Members is true or
// Targets lists something.
type Configuration struct {
	// Interval between two probes to one target, unless the target sets
	// its own; at least MinInterval.
	Interval time.Duration `yaml:"interval"`
	// Timeout is how long an answer is waited for; a later answer counts
	// as lost. Above 0 and at most MaxTimeout.
	Timeout time.Duration `yaml:"timeout"`
	// Members probes every member's peering-LAN address (off by default:
	// a fresh install should not send echo requests to every member).
	Members bool `yaml:"members"`
	// MemberMethod is how members are probed: icmp, tcp or twamp.
	MemberMethod string `yaml:"member_method"`
	// MemberPort is the port for member_method tcp or twamp.
	MemberPort int `yaml:"member_port"`
	// TCPWorkers is the number of TCP connects in flight at once; a
	// connect to a black hole holds a worker for Timeout.
	TCPWorkers int `yaml:"tcp_workers"`
	// QueueBins bounds the completed bins kept while the store fails;
	// beyond it the oldest are dropped (and counted).
	QueueBins int `yaml:"queue_bins"`
	// RecentBins is the number of completed bins per target kept in
	// memory for the API.
	RecentBins int `yaml:"recent_bins"`
	// Targets are probed besides the members: typically pairs of the same
	// destination reached via the exchange and via transit.
	Targets []TargetConfiguration `yaml:"targets"`
}

// TargetConfiguration is one configured target.
type TargetConfiguration struct {
	// Name identifies the target in the store and the API; unique.
	Name string `yaml:"name"`
	// Address is an IP address for icmp, IP:port for tcp and twamp
	// ([IPv6]:port). Names are not resolved.
	Address string `yaml:"address"`
	// Method is icmp, tcp or twamp.
	Method string `yaml:"method"`
	// Group pairs an ixp target with a transit target for the gain.
	Group string `yaml:"group"`
	// Path is ixp or transit; required in a group.
	Path string `yaml:"path"`
	// Interval overrides the global interval for this target.
	Interval time.Duration `yaml:"interval"`
}

// DefaultConfiguration returns the defaults: a probe per second with a
// 1 s timeout, no member probing and no targets.
func DefaultConfiguration() Configuration {
	return Configuration{
		Interval:     time.Second,
		Timeout:      time.Second,
		Members:      false,
		MemberMethod: MethodICMP,
		MemberPort:   0,
		TCPWorkers:   64,
		QueueBins:    50000,
		RecentBins:   12,
	}
}

// Enabled tells whether there is anything to probe.
func (c Configuration) Enabled() bool {
	return c.Members || len(c.Targets) > 0
}

// Validate checks the configuration; errors name the key under "latency".
func (c Configuration) Validate() error {
	return c.validate(MinInterval)
}

// validate checks the configuration with a floor for the intervals
// (tests probe faster than MinInterval).
func (c Configuration) validate(floor time.Duration) error {
	var errs []error
	bad := func(key, format string, args ...any) {
		errs = append(errs, fmt.Errorf("latency.%s: %s", key, fmt.Sprintf(format, args...)))
	}
	if c.Interval < floor {
		bad("interval", "%s is below the %s floor", c.Interval, floor)
	}
	switch {
	case c.Timeout <= 0:
		bad("timeout", "%s must be above 0", c.Timeout)
	case c.Timeout > MaxTimeout:
		bad("timeout", "%s is above the %s ceiling", c.Timeout, MaxTimeout)
	}
	if err := checkMethod(c.MemberMethod); err != nil {
		bad("member_method", "%v", err)
	} else if c.MemberMethod != MethodICMP && c.MemberPort == 0 {
		bad("member_port", "missing for member_method %s", c.MemberMethod)
	}
	if c.MemberPort < 0 || c.MemberPort > 65535 {
		bad("member_port", "%d is outside 1..65535", c.MemberPort)
	}
	for _, p := range []struct {
		key string
		v   int
	}{{"tcp_workers", c.TCPWorkers}, {"queue_bins", c.QueueBins}, {"recent_bins", c.RecentBins}} {
		if p.v < 1 {
			bad(p.key, "%d must be at least 1", p.v)
		}
	}
	names := map[string]int{}
	type groupPath struct{ group, path string }
	paths := map[groupPath]int{}
	for i, t := range c.Targets {
		key := fmt.Sprintf("targets[%d]", i)
		if t.Name == "" {
			bad(key+".name", "missing")
		} else if j, dup := names[t.Name]; dup {
			bad(key+".name", "%q is also targets[%d]", t.Name, j)
		} else {
			names[t.Name] = i
		}
		if err := checkMethod(t.Method); err != nil {
			bad(key+".method", "%v", err)
		} else if _, err := parseAddress(t.Method, t.Address); err != nil {
			bad(key+".address", "%v", err)
		}
		switch t.Path {
		case PathIXP, PathTransit:
			gp := groupPath{t.Group, t.Path}
			if j, dup := paths[gp]; dup && t.Group != "" {
				bad(key+".path", "group %s already has an %s target (targets[%d])", t.Group, t.Path, j)
			}
			paths[gp] = i
		case "":
			if t.Group != "" {
				bad(key+".path", "missing; a target in group %s is ixp or transit", t.Group)
			}
		default:
			bad(key+".path", "%q is not ixp or transit", t.Path)
		}
		if t.Interval != 0 && t.Interval < floor {
			bad(key+".interval", "%s is below the %s floor", t.Interval, floor)
		}
	}
	return errors.Join(errs...)
}

func checkMethod(m string) error {
	switch m {
	case MethodICMP, MethodTCP, MethodTWAMP:
		return nil
	case "":
		return errors.New("missing; icmp, tcp or twamp")
	}
	return fmt.Errorf("%q is not icmp, tcp or twamp", m)
}

// parseAddress reads a target's address for its method: an IP for icmp
// (port 0), IP:port for tcp and twamp. IPv4-mapped IPv6 addresses are
// unmapped; zones are kept.
func parseAddress(method, s string) (netip.AddrPort, error) {
	if s == "" {
		return netip.AddrPort{}, errors.New("missing")
	}
	if method == MethodICMP {
		a, err := netip.ParseAddr(s)
		if err != nil {
			if _, perr := netip.ParseAddrPort(s); perr == nil {
				return netip.AddrPort{}, fmt.Errorf("%q is not an IP address (icmp takes no port)", s)
			}
			return netip.AddrPort{}, fmt.Errorf("%q is not an IP address (names are not resolved)", s)
		}
		return checkAddr(s, netip.AddrPortFrom(a.Unmap(), 0))
	}
	ap, err := netip.ParseAddrPort(s)
	if err != nil {
		if _, aerr := netip.ParseAddr(s); aerr == nil {
			return netip.AddrPort{}, fmt.Errorf("%q has no port: write IP:port ([IPv6]:port)", s)
		}
		return netip.AddrPort{}, fmt.Errorf("%q is not IP:port ([IPv6]:port; names are not resolved)", s)
	}
	if ap.Port() == 0 {
		return netip.AddrPort{}, fmt.Errorf("%q has port 0", s)
	}
	return checkAddr(s, netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port()))
}

// checkAddr refuses addresses that are no single host.
func checkAddr(s string, ap netip.AddrPort) (netip.AddrPort, error) {
	switch a := ap.Addr(); {
	case a.IsUnspecified():
		return netip.AddrPort{}, fmt.Errorf("%q is the unspecified address", s)
	case a.IsMulticast():
		return netip.AddrPort{}, fmt.Errorf("%q is a multicast address", s)
	}
	return ap, nil
}
