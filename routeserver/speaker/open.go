package speaker

import (
	"errors"
	"math"
	"time"

	"github.com/osrg/gobgp/v4/pkg/packet/bgp"
)

// openMessage encodes the session's OPEN: version 4, AS_TRANS in My AS for
// 4-octet ASNs, and the multiprotocol and 4-octet-AS capabilities.
func openMessage(cfg *Config) ([]byte, error) {
	caps := make([]bgp.ParameterCapabilityInterface, 0, 3)
	for _, f := range cfg.families() {
		caps = append(caps, bgp.NewCapMultiProtocol(f.bgp()))
	}
	caps = append(caps, bgp.NewCapFourOctetASNumber(cfg.ASN))
	myAS := uint16(bgp.AS_TRANS)
	if cfg.ASN <= math.MaxUint16 {
		myAS = uint16(cfg.ASN)
	}
	msg, err := bgp.NewBGPOpenMessage(myAS, cfg.holdSeconds(), cfg.RouterID,
		[]bgp.OptionParameterInterface{bgp.NewOptionParameterCapability(caps)})
	if err != nil {
		return nil, err
	}
	return msg.Serialize()
}

// checkOpen decodes the peer's OPEN body, fills the session's peer fields
// and negotiated hold time, and returns the NOTIFICATION to send when the
// OPEN is not acceptable.
func (s *Session) checkOpen(body []byte) *NotificationError {
	h := bgp.BGPHeader{Len: uint16(bgp.BGP_HEADER_LENGTH + len(body)), Type: bgp.BGP_MSG_OPEN}
	msg, err := bgp.ParseBGPBody(&h, body)
	if err != nil {
		var me *bgp.MessageError
		if errors.As(err, &me) {
			return &NotificationError{Code: me.TypeCode, Subcode: me.SubTypeCode, Sent: true}
		}
		return &NotificationError{Code: bgp.BGP_ERROR_OPEN_MESSAGE_ERROR, Sent: true}
	}
	open := msg.Body.(*bgp.BGPOpen)
	openErr := func(subcode uint8) *NotificationError {
		return &NotificationError{Code: bgp.BGP_ERROR_OPEN_MESSAGE_ERROR, Subcode: subcode, Sent: true}
	}
	if open.Version != 4 {
		return openErr(bgp.BGP_ERROR_SUB_UNSUPPORTED_VERSION_NUMBER)
	}
	if open.HoldTime == 1 || open.HoldTime == 2 {
		return openErr(bgp.BGP_ERROR_SUB_UNACCEPTABLE_HOLD_TIME)
	}
	if !open.ID.IsValid() || open.ID.IsUnspecified() {
		return openErr(bgp.BGP_ERROR_SUB_BAD_BGP_IDENTIFIER)
	}
	peerAS := uint32(open.MyAS)
	as4 := false
	for _, p := range open.OptParams {
		pc, ok := p.(*bgp.OptionParameterCapability)
		if !ok {
			continue
		}
		for _, c := range pc.Capability {
			switch c := c.(type) {
			case *bgp.CapFourOctetASNumber:
				peerAS, as4 = c.CapValue, true
			case *bgp.CapMultiProtocol:
				switch c.CapValue {
				case bgp.RF_IPv4_UC:
					s.peerFamilies = append(s.peerFamilies, IPv4Unicast)
				case bgp.RF_IPv6_UC:
					s.peerFamilies = append(s.peerFamilies, IPv6Unicast)
				}
			}
		}
	}
	// Every AS_PATH this speaker sends and reads has 4-octet ASNs.
	if !as4 {
		return openErr(bgp.BGP_ERROR_SUB_UNSUPPORTED_CAPABILITY)
	}
	if s.cfg.PeerASN != 0 && peerAS != s.cfg.PeerASN {
		return openErr(bgp.BGP_ERROR_SUB_BAD_PEER_AS)
	}
	s.peerASN = peerAS
	s.peerRouterID = open.ID
	hold := min(s.cfg.holdSeconds(), open.HoldTime)
	s.hold = time.Duration(hold) * time.Second
	return nil
}
