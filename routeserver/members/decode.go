package members

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"net"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"time"
)

// supportedVersions are the IX-F Member Export versions that Parse reads.
var supportedVersions = []string{"1.0"}

// memberTypes are the values the schema allows for member_type.
var memberTypes = []string{"peering", "ixp", "other"}

// references says where in the file the values that the sense checks report on were read.
type references struct {
	// asn holds, per member, the pointer to its asnum, or "" when the asnum could not be read.
	asn []string
	// addrs holds, per member and per address, the pointer to the address field.
	addrs [][]string
}

// decoder walks the decoded JSON tree and records structural problems.
type decoder struct {
	problems []*FieldError
}

// decode reads a Set from a JSON tree. It checks types and required fields and keeps going after a
// problem; values that could not be read are left out of the Set.
func decode(doc any) (*Set, *references, []*FieldError) {
	d := &decoder{}
	set := &Set{}
	refs := &references{}
	root, ok := d.object("", doc)
	if !ok {
		return set, refs, d.problems
	}
	if v, ok := d.str(root, "", "version", true); ok {
		if slices.Contains(supportedVersions, v) {
			set.Version = v
		} else {
			d.addf("/version", "%s is not supported (supported versions: %s)", quote(v), quoteAll(supportedVersions))
		}
	}
	if v, ok := d.str(root, "", "timestamp", true); ok {
		t, err := time.Parse(time.RFC3339, v)
		if err != nil {
			d.addf("/timestamp", "%s is not an RFC 3339 date-time", quote(v))
		} else {
			set.Timestamp = t
		}
	}
	list := d.array(root, "", "member_list", true)
	for i, v := range list {
		d.member(set, refs, "/member_list/"+strconv.Itoa(i), v)
	}
	return set, refs, d.problems
}

// member reads one member_list entry and appends it to set.
func (d *decoder) member(set *Set, refs *references, path string, v any) {
	obj, ok := d.object(path, v)
	if !ok {
		return
	}
	var m Member
	var asnPath string
	if n, ok := d.integer(obj, path, "asnum", true); ok {
		if n < 0 || n > math.MaxUint32 {
			d.addf(path+"/asnum", "%s is not a 32-bit AS number", raw(obj, "asnum"))
		} else {
			m.ASN = uint32(n)
			asnPath = path + "/asnum"
		}
	}
	m.Name, _ = d.str(obj, path, "name", false)
	if t, ok := d.str(obj, path, "member_type", false); ok {
		if slices.Contains(memberTypes, t) {
			m.Type = t
		} else {
			d.addf(path+"/member_type", "%s is not one of %s", quote(t), strings.Join(memberTypes, ", "))
		}
	}
	m.PeeringPolicy, _ = d.str(obj, path, "peering_policy", false)
	m.URL, _ = d.str(obj, path, "url", false)
	d.routeServerPolicy(&m, path, obj)

	var addrPaths []string
	connections := d.array(obj, path, "connection_list", true)
	for i, v := range connections {
		cpath := path + "/connection_list/" + strconv.Itoa(i)
		connection, ok := d.object(cpath, v)
		if !ok {
			continue
		}
		vlans := d.array(connection, cpath, "vlan_list", false)
		for j, v := range vlans {
			vpath := cpath + "/vlan_list/" + strconv.Itoa(j)
			vlan, ok := d.object(vpath, v)
			if !ok {
				continue
			}
			var vlanID int
			if n, ok := d.integer(vlan, vpath, "vlan_id", false); ok {
				if n < math.MinInt32 || n > math.MaxInt32 {
					d.addf(vpath+"/vlan_id", "%s is out of range", raw(vlan, "vlan_id"))
				} else {
					vlanID = int(n)
				}
			}
			for _, family := range []Family{IPv4, IPv6} {
				fpath := vpath + "/" + family.String()
				v, ok := vlan[family.String()]
				if !ok {
					continue
				}
				obj, ok := d.object(fpath, v)
				if !ok {
					continue
				}
				a, ok := d.address(&m, family, fpath, obj)
				if ok {
					a.VLANID = vlanID
					m.Addresses = append(m.Addresses, a)
					addrPaths = append(addrPaths, fpath+"/address")
				}
			}
		}
	}
	set.Members = append(set.Members, m)
	refs.asn = append(refs.asn, asnPath)
	refs.addrs = append(refs.addrs, addrPaths)
}

// address reads an ipv4 or ipv6 object of a vlan_list entry and adds its MAC addresses to m. It
// reports false when the object has no usable address.
func (d *decoder) address(m *Member, family Family, path string, obj map[string]any) (Address, bool) {
	a := Address{Family: family}
	if s, ok := d.str(obj, path, "address", true); ok {
		a.IP = d.ip(path+"/address", family, s)
	}
	a.RouteServer = d.boolean(obj, path, "routeserver", false)
	if n, ok := d.integer(obj, path, "max_prefix", false); ok {
		switch {
		case n < 0:
			d.addf(path+"/max_prefix", "%s is negative", raw(obj, "max_prefix"))
		case n > math.MaxUint32:
			d.addf(path+"/max_prefix", "%s is larger than %d", raw(obj, "max_prefix"), uint32(math.MaxUint32))
		default:
			a.MaxPrefix = int(n)
		}
	}
	a.ASMacro, _ = d.str(obj, path, "as_macro", false)
	macs := d.array(obj, path, "mac_addresses", false)
	for i, v := range macs {
		mpath := path + "/mac_addresses/" + strconv.Itoa(i)
		s, ok := v.(string)
		if !ok {
			d.wrongType(mpath, "a string", v)
			continue
		}
		mac, err := net.ParseMAC(s)
		if err != nil || len(mac) != 6 {
			d.addf(mpath, "%s is not a MAC address (want xx:xx:xx:xx:xx:xx)", quote(s))
			continue
		}
		if !slices.ContainsFunc(m.MACs, func(known net.HardwareAddr) bool { return bytes.Equal(known, mac) }) {
			m.MACs = append(m.MACs, mac)
		}
	}
	return a, a.IP.IsValid()
}

// ip parses the address field of an ipv4 or ipv6 object; it returns the zero Addr after a problem.
func (d *decoder) ip(path string, family Family, s string) netip.Addr {
	ip, err := netip.ParseAddr(s)
	switch {
	case err != nil:
		if family == IPv4 {
			d.addf(path, "%s is not an IPv4 address", quote(s))
		} else {
			d.addf(path, "%s is not an IPv6 address", quote(s))
		}
	case ip.Zone() != "":
		d.addf(path, "%s has a zone; want an address without %%zone", quote(s))
	case ip.Is4In6():
		d.addf(path, "%s is an IPv4-mapped IPv6 address; write %s in the ipv4 field", s, ip.Unmap())
	case family == IPv4 && !ip.Is4():
		d.addf(path, "%s is an IPv6 address in the ipv4 field", s)
	case family == IPv6 && ip.Is4():
		d.addf(path, "%s is an IPv4 address in the ipv6 field", s)
	default:
		return ip
	}
	return netip.Addr{}
}

// addf records a problem at path.
func (d *decoder) addf(path, format string, args ...any) {
	d.problems = append(d.problems, &FieldError{Path: path, Message: fmt.Sprintf(format, args...)})
}

// wrongType records that the value at path is not of the wanted JSON type.
func (d *decoder) wrongType(path, want string, v any) {
	d.addf(path, "got %s, want %s", describe(v), want)
}

// field returns obj[key]. It reports false when the key is missing, and records a problem at the
// object's path when the key is required.
func (d *decoder) field(obj map[string]any, path, key string, required bool) (any, bool) {
	v, ok := obj[key]
	if !ok && required {
		d.addf(path, "%s is required", key)
	}
	return v, ok
}

// object returns v as a JSON object, or records a problem at path.
func (d *decoder) object(path string, v any) (map[string]any, bool) {
	obj, ok := v.(map[string]any)
	if !ok {
		d.wrongType(path, "an object", v)
	}
	return obj, ok
}

// array returns the field key of obj as a JSON array, or nil when it is missing or not an array.
func (d *decoder) array(obj map[string]any, path, key string, required bool) []any {
	v, ok := d.field(obj, path, key, required)
	if !ok {
		return nil
	}
	list, ok := v.([]any)
	if !ok {
		d.wrongType(path+"/"+key, "an array", v)
	}
	return list
}

// str returns the field key of obj as a string.
func (d *decoder) str(obj map[string]any, path, key string, required bool) (string, bool) {
	v, ok := d.field(obj, path, key, required)
	if !ok {
		return "", false
	}
	s, ok := v.(string)
	if !ok {
		d.wrongType(path+"/"+key, "a string", v)
	}
	return s, ok
}

// boolean returns the field key of obj as a boolean; false when it is missing or not a boolean.
func (d *decoder) boolean(obj map[string]any, path, key string, required bool) bool {
	v, ok := d.field(obj, path, key, required)
	if !ok {
		return false
	}
	b, ok := v.(bool)
	if !ok {
		d.wrongType(path+"/"+key, "a boolean", v)
	}
	return b
}

// integer returns the field key of obj as an integer, clamped to the int64 range: callers check the
// range and print obj[key] in their messages.
func (d *decoder) integer(obj map[string]any, path, key string, required bool) (int64, bool) {
	v, ok := d.field(obj, path, key, required)
	if !ok {
		return 0, false
	}
	if n, ok := v.(json.Number); ok {
		if i, ok := wholeNumber(n); ok {
			return i, true
		}
	}
	d.wrongType(path+"/"+key, "an integer", v)
	return 0, false
}

// wholeNumber returns the value of a JSON number that has no fractional part (64500, 64500.0, 6.45e4),
// clamped to the int64 range. It works on the decimal text, so that no number is rounded.
func wholeNumber(n json.Number) (int64, bool) {
	s := string(n)
	if i, err := strconv.ParseInt(s, 10, 64); err == nil {
		return i, true
	}
	negative := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	exponent := 0
	if i := strings.IndexAny(s, "eE"); i >= 0 {
		e, err := strconv.Atoi(s[i+1:])
		if err != nil {
			// Only an exponent too large for int fails here.
			if strings.HasPrefix(s[i+1:], "-") {
				e = math.MinInt32
			} else {
				e = math.MaxInt32
			}
		}
		exponent = min(max(e, math.MinInt32), math.MaxInt32)
		s = s[:i]
	}
	if i := strings.IndexByte(s, '.'); i >= 0 {
		exponent -= len(s) - i - 1
		s = s[:i] + s[i+1:]
	}
	// The value is s × 10^exponent, with s a string of digits.
	s = strings.TrimLeft(s, "0")
	for strings.HasSuffix(s, "0") {
		s = s[:len(s)-1]
		exponent++
	}
	switch {
	case s == "":
		return 0, true
	case exponent < 0:
		return 0, false
	case len(s)+exponent > 19:
		if negative {
			return math.MinInt64, true
		}
		return math.MaxInt64, true
	}
	digits := s + strings.Repeat("0", exponent)
	if negative {
		digits = "-" + digits
	}
	// Out of range by less than a digit, ParseInt returns the bound.
	i, _ := strconv.ParseInt(digits, 10, 64)
	return i, true
}

// raw returns the text of the number obj[key], shortened for a message.
func raw(obj map[string]any, key string) string {
	n, _ := obj[key].(json.Number)
	return truncate(string(n))
}

// describe names the JSON type of v, with its value when it is a scalar.
func describe(v any) string {
	switch v := v.(type) {
	case nil:
		return "null"
	case bool:
		return fmt.Sprintf("boolean %t", v)
	case json.Number:
		return "number " + truncate(string(v))
	case string:
		return "string " + quote(v)
	case []any:
		return "array"
	case map[string]any:
		return "object"
	default:
		return fmt.Sprintf("%T", v)
	}
}

// truncate shortens s to at most 40 characters for a message.
func truncate(s string) string {
	const limit = 40
	if len(s) <= limit {
		return s
	}
	r := []rune(s)
	if len(r) <= limit {
		return s
	}
	return string(r[:limit-1]) + "…"
}

// quote quotes s for a message, shortened.
func quote(s string) string {
	return strconv.Quote(truncate(s))
}

// quoteAll quotes each string and joins them with commas.
func quoteAll(list []string) string {
	quoted := make([]string, len(list))
	for i, s := range list {
		quoted[i] = strconv.Quote(s)
	}
	return strings.Join(quoted, ", ")
}
