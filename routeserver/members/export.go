package members

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/netip"
	"time"
)

// exportIXPID is the ixp_id of the one exchange in an exported file: connections refer to it.
const exportIXPID = 1

// IXPInfo describes the exchange in the ixp_list of an exported members file.
type IXPInfo struct {
	// IXFID is the exchange's id in the IX-F database ("ixf_id"); required.
	IXFID int
	// PeeringDBID is the exchange's PeeringDB ix id ("peeringdb_id"); 0 when unknown.
	PeeringDBID int
	// ShortName is the exchange's short name ("shortname"); required.
	ShortName string
	// Name is the exchange's full name ("name").
	Name string
	// Country is the ISO 3166-1 alpha-2 code of the exchange's country ("country").
	Country string
	// URL is the exchange's web site ("url").
	URL string
	// SupportEmail is the address of the exchange's support ("support_email").
	SupportEmail string
	// PeeringLANs are the prefixes of the peering VLAN.
	PeeringLANs []netip.Prefix
	// VLANID is the 802.1Q id of the peering VLAN ("id" of the vlan entry); 0 when not published.
	VLANID int
}

// SessionState reports the live state of the route server for a member's address: whether a session
// is configured for it and whether that session is established.
type SessionState func(addr netip.Addr) (configured, established bool)

// Export returns set as an IX-F Member Export 1.0 file describing the exchange ixp, exported at now:
// the document the exchange publishes for IX-F consumers (PeeringDB, route-server config builders).
//
// Members keep the order of set. Each member gets one connection; its addresses are grouped into
// vlan_list entries of one ipv4 and one ipv6 object in the order of set, so that Parse gives back the
// same addresses. An empty member_type is written as "peering", the IX-F default; other empty or zero
// optional fields are left out. The Set keeps MAC addresses per member, not per address, so every
// address object of a member lists all of the member's MAC addresses.
//
// The routeserver flag of an address means "this member peers with the route server on this
// address", as IX-F consumers read it (PeeringDB's is_rs_peer, route-server configuration builders).
// It is true when the address has RouteServer set and, when state is not nil, the route server has a
// session configured for the address. Whether the session is established does not count: a session
// that is down for a while is still a route-server peering, and a flag that followed BGP state would
// make consumers flap. When state is nil, the flags of set are written as they are.
func Export(set *Set, ixp IXPInfo, now time.Time, state SessionState) ([]byte, error) {
	if set == nil {
		return nil, errors.New("export members: no member set")
	}
	info, err := exportIXP(ixp)
	if err != nil {
		return nil, fmt.Errorf("export members: %w", err)
	}
	doc := exportDoc{
		Version:    "1.0",
		Timestamp:  now.UTC().Format(time.RFC3339),
		IXPList:    []exportIXPInfo{info},
		MemberList: make([]exportMember, 0, len(set.Members)),
	}
	for i := range set.Members {
		m, err := exportMemberOf(&set.Members[i], state)
		if err != nil {
			return nil, fmt.Errorf("export members: member_list[%d] (AS%d): %w", i, set.Members[i].ASN, err)
		}
		doc.MemberList = append(doc.MemberList, m)
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(doc); err != nil {
		return nil, fmt.Errorf("export members: %w", err)
	}
	return buf.Bytes(), nil
}

// exportIXP builds the ixp_list entry for ixp.
func exportIXP(ixp IXPInfo) (exportIXPInfo, error) {
	if ixp.IXFID <= 0 {
		return exportIXPInfo{}, fmt.Errorf("ixf_id: %d is not an IX-F database id", ixp.IXFID)
	}
	if ixp.ShortName == "" {
		return exportIXPInfo{}, errors.New("shortname: required")
	}
	if ixp.PeeringDBID < 0 {
		return exportIXPInfo{}, fmt.Errorf("peeringdb_id: %d is negative", ixp.PeeringDBID)
	}
	if ixp.VLANID < 0 || ixp.VLANID > 4095 {
		return exportIXPInfo{}, fmt.Errorf("vlan id: %d is not an 802.1Q VLAN id", ixp.VLANID)
	}
	info := exportIXPInfo{
		IXPID:        exportIXPID,
		IXFID:        ixp.IXFID,
		PeeringDBID:  ixp.PeeringDBID,
		ShortName:    ixp.ShortName,
		Name:         ixp.Name,
		Country:      ixp.Country,
		URL:          ixp.URL,
		SupportEmail: ixp.SupportEmail,
	}
	// A vlan entry has one ipv4 and one ipv6 prefix: pair the LANs of each family in order, one entry
	// per pair, all with the VLAN's id.
	var v4, v6 []*exportLAN
	for _, p := range ixp.PeeringLANs {
		if !p.IsValid() || p.Addr().Zone() != "" || p.Addr().Is4In6() {
			return exportIXPInfo{}, fmt.Errorf("peering LAN %s is not a prefix", p)
		}
		lan := &exportLAN{Prefix: p.Masked().Addr().String(), MaskLength: p.Bits()}
		if p.Addr().Is4() {
			v4 = append(v4, lan)
		} else {
			v6 = append(v6, lan)
		}
	}
	entries := max(len(v4), len(v6))
	if entries == 0 && ixp.VLANID > 0 {
		// Publish the VLAN id even without prefixes.
		entries = 1
	}
	for i := range entries {
		vlan := exportIXPVLAN{ID: ixp.VLANID}
		if i < len(v4) {
			vlan.IPv4 = v4[i]
		}
		if i < len(v6) {
			vlan.IPv6 = v6[i]
		}
		info.VLAN = append(info.VLAN, vlan)
	}
	return info, nil
}

// exportMemberOf builds the member_list entry for m.
func exportMemberOf(m *Member, state SessionState) (exportMember, error) {
	out := exportMember{
		ASN:           m.ASN,
		MemberType:    m.Type,
		Name:          m.Name,
		URL:           m.URL,
		PeeringPolicy: m.PeeringPolicy,
	}
	if out.MemberType == "" {
		out.MemberType = "peering"
	}
	macs := make([]string, len(m.MACs))
	for i, mac := range m.MACs {
		macs[i] = mac.String()
	}
	connection := exportConnection{IXPID: exportIXPID}
	for _, a := range m.Addresses {
		obj, err := exportAddressOf(a, macs, state)
		if err != nil {
			return exportMember{}, err
		}
		// Decoding reads ipv4 before ipv6 in an entry: an IPv6 address joins the entry before it only
		// when that entry holds just an IPv4 address of the same VLAN, so the order is kept.
		if n := len(connection.VLANList); a.Family == IPv6 && n > 0 {
			last := &connection.VLANList[n-1]
			if last.IPv4 != nil && last.IPv6 == nil && last.VLANID == a.VLANID {
				last.IPv6 = obj
				continue
			}
		}
		entry := exportVLANEntry{VLANID: a.VLANID}
		if a.Family == IPv4 {
			entry.IPv4 = obj
		} else {
			entry.IPv6 = obj
		}
		connection.VLANList = append(connection.VLANList, entry)
	}
	out.ConnectionList = []exportConnection{connection}
	return out, nil
}

// exportAddressOf builds the ipv4 or ipv6 object for a.
func exportAddressOf(a Address, macs []string, state SessionState) (*exportAddress, error) {
	switch {
	case a.Family != IPv4 && a.Family != IPv6:
		return nil, fmt.Errorf("address %s: unknown family %s", a.IP, a.Family)
	case !a.IP.IsValid(), a.Family == IPv4 && !a.IP.Is4(), a.Family == IPv6 && (!a.IP.Is6() || a.IP.Is4In6()):
		return nil, fmt.Errorf("address %s: not an %s address", a.IP, a.Family)
	case a.IP.Zone() != "":
		return nil, fmt.Errorf("address %s: has a zone", a.IP)
	case a.MaxPrefix < 0:
		return nil, fmt.Errorf("address %s: max_prefix %d is negative", a.IP, a.MaxPrefix)
	case a.VLANID < 0:
		return nil, fmt.Errorf("address %s: vlan_id %d is negative", a.IP, a.VLANID)
	}
	return &exportAddress{
		Address:      a.IP.String(),
		RouteServer:  routeServerFlag(a, state),
		MaxPrefix:    a.MaxPrefix,
		ASMacro:      a.ASMacro,
		MACAddresses: macs,
	}, nil
}

// routeServerFlag returns the routeserver flag published for a; see Export.
func routeServerFlag(a Address, state SessionState) bool {
	if !a.RouteServer {
		return false
	}
	if state == nil {
		return true
	}
	configured, _ := state(a.IP)
	return configured
}

// exportDoc is the top-level object of an IX-F Member Export 1.0 file. The field order of these types
// is the key order of the output.
type exportDoc struct {
	Version    string          `json:"version"`
	Timestamp  string          `json:"timestamp"`
	IXPList    []exportIXPInfo `json:"ixp_list"`
	MemberList []exportMember  `json:"member_list"`
}

// exportIXPInfo is an ixp_list entry.
type exportIXPInfo struct {
	IXPID        int             `json:"ixp_id"`
	IXFID        int             `json:"ixf_id"`
	PeeringDBID  int             `json:"peeringdb_id,omitempty"`
	ShortName    string          `json:"shortname"`
	Name         string          `json:"name,omitempty"`
	Country      string          `json:"country,omitempty"`
	URL          string          `json:"url,omitempty"`
	SupportEmail string          `json:"support_email,omitempty"`
	VLAN         []exportIXPVLAN `json:"vlan,omitempty"`
}

// exportIXPVLAN is an entry of an exchange's vlan list.
type exportIXPVLAN struct {
	ID   int        `json:"id,omitempty"`
	IPv4 *exportLAN `json:"ipv4,omitempty"`
	IPv6 *exportLAN `json:"ipv6,omitempty"`
}

// exportLAN is the ipv4 or ipv6 prefix of a vlan entry.
type exportLAN struct {
	Prefix     string `json:"prefix"`
	MaskLength int    `json:"mask_length"`
}

// exportMember is a member_list entry.
type exportMember struct {
	ASN            uint32             `json:"asnum"`
	MemberType     string             `json:"member_type"`
	Name           string             `json:"name,omitempty"`
	URL            string             `json:"url,omitempty"`
	PeeringPolicy  string             `json:"peering_policy,omitempty"`
	ConnectionList []exportConnection `json:"connection_list"`
}

// exportConnection is a connection_list entry.
type exportConnection struct {
	IXPID    int               `json:"ixp_id"`
	VLANList []exportVLANEntry `json:"vlan_list,omitempty"`
}

// exportVLANEntry is a vlan_list entry of a connection.
type exportVLANEntry struct {
	VLANID int            `json:"vlan_id,omitempty"`
	IPv4   *exportAddress `json:"ipv4,omitempty"`
	IPv6   *exportAddress `json:"ipv6,omitempty"`
}

// exportAddress is the ipv4 or ipv6 object of a vlan_list entry.
type exportAddress struct {
	Address      string   `json:"address"`
	RouteServer  bool     `json:"routeserver"`
	MaxPrefix    int      `json:"max_prefix,omitempty"`
	ASMacro      string   `json:"as_macro,omitempty"`
	MACAddresses []string `json:"mac_addresses,omitempty"`
}
