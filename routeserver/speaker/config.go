package speaker

import (
	"errors"
	"fmt"
	"net/netip"
	"time"

	"github.com/osrg/gobgp/v4/pkg/packet/bgp"
)

// Family is an address family and subsequent address family the speaker
// can carry.
type Family uint8

// The families a Session can negotiate.
const (
	IPv4Unicast Family = iota + 1
	IPv6Unicast
)

// String returns the family in GoBGP's spelling ("ipv4-unicast").
func (f Family) String() string {
	switch f {
	case IPv4Unicast, IPv6Unicast:
		return f.bgp().String()
	}
	return fmt.Sprintf("family(%d)", uint8(f))
}

func (f Family) bgp() bgp.Family {
	if f == IPv6Unicast {
		return bgp.RF_IPv6_UC
	}
	return bgp.RF_IPv4_UC
}

// DefaultHoldTime is the hold time a Session proposes when Config.HoldTime
// is zero.
const DefaultHoldTime = 90 * time.Second

// Config describes one session. LocalAddr, Remote (for Dial), ASN and
// RouterID are required.
type Config struct {
	// LocalAddr is the source address the session binds to.
	LocalAddr netip.Addr
	// Remote is the peer's address and port; Dial connects to it.
	Remote netip.AddrPort
	// ASN is the speaker's own AS number (4-octet).
	ASN uint32
	// PeerASN, when not zero, is the AS number the peer must announce in
	// its OPEN; a mismatch fails the handshake with a Bad Peer AS error.
	PeerASN uint32
	// RouterID is the speaker's BGP identifier; it must be IPv4.
	RouterID netip.Addr
	// HoldTime is the hold time proposed in the OPEN. Zero means
	// DefaultHoldTime; a negative value proposes 0 (no keepalives, no hold
	// timer). Positive values are rounded down to whole seconds and must be
	// at least 3 s.
	HoldTime time.Duration
	// Families are the families announced in the multiprotocol capability;
	// empty means IPv4 unicast only.
	Families []Family
	// OnUpdate, when set, is called from the session's reader goroutine for
	// every UPDATE received, with the IPv4 NLRI and the IPv4/IPv6 unicast
	// MP_REACH prefixes as announced, the withdrawn routes and
	// MP_UNREACH prefixes as withdrawn, and the message's path attributes.
	// The slices and attrs alias buffers that the next message reuses: copy
	// what must outlive the call. It must return quickly; it may call Close
	// and Send.
	OnUpdate func(announced, withdrawn []netip.Prefix, attrs RawAttributes)
}

// holdSeconds is the hold time to put in the OPEN.
func (c *Config) holdSeconds() uint16 {
	switch {
	case c.HoldTime == 0:
		return uint16(DefaultHoldTime / time.Second)
	case c.HoldTime < 0:
		return 0
	default:
		return uint16(c.HoldTime / time.Second)
	}
}

func (c *Config) families() []Family {
	if len(c.Families) == 0 {
		return []Family{IPv4Unicast}
	}
	return c.Families
}

// validate checks the fields every session needs; Dial checks Remote.
func (c *Config) validate() error {
	var errs []error
	if !c.LocalAddr.IsValid() {
		errs = append(errs, errors.New("local address missing"))
	}
	if c.ASN == 0 {
		errs = append(errs, errors.New("asn 0 is reserved"))
	}
	if !c.RouterID.Is4() {
		errs = append(errs, fmt.Errorf("router id %s is not an IPv4 address", c.RouterID))
	}
	if c.HoldTime > 0 && c.HoldTime < 3*time.Second {
		errs = append(errs, fmt.Errorf("hold time %s is below the 3 s minimum of RFC 4271", c.HoldTime))
	}
	if c.HoldTime > 65535*time.Second {
		errs = append(errs, fmt.Errorf("hold time %s is above 65535 s", c.HoldTime))
	}
	for _, f := range c.Families {
		if f != IPv4Unicast && f != IPv6Unicast {
			errs = append(errs, fmt.Errorf("%s is not supported", f))
		}
	}
	return errors.Join(errs...)
}
