package main

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"path/filepath"
	"strconv"
	"strings"
	"text/template"

	"github.com/ixpd/ixpd/routeserver"
	"github.com/ixpd/ixpd/routeserver/irr"
)

// BIRD with every filter on (-filters all): what arouteserver generates
// for BIRD 2, with ixpd's reason codes so that both route servers tag a
// filtered route alike. The ROAs come from a local file through a static
// protocol per family (arouteserver's way with rpki_roas from a file), the
// IRR data as one origin set and one prefix set per AS-SET in an included
// file; a data change is a rewrite of that file and "birdc configure".
//
// Every check tags the route RS_ASN:1101:code and the route is rejected at
// the end if any tag is on, so that exceptions (a blackhole inside the
// member's space, a ROA standing in for a route object) can take a tag off,
// as in ixpd.

// Files of the BIRD data, in the run directory.
const (
	birdROAFile = "roas.conf"
	birdIRRFile = "irr.conf"
)

// birdFilters is what the -filters all configuration adds.
type birdFilters struct {
	Blocklist4, Blocklist6 []string
	TransitFree            []uint32
	NeverViaRS             []uint32
	BlackholeNextHop4      string
	BlackholeNextHop6      string
}

// birdSetName is the BIRD constant prefix of member i's AS-SET.
func birdSetName(i int) string { return "AS_M" + strconv.Itoa(i+1) }

func newBIRDFilters() (*birdFilters, error) {
	f := &birdFilters{
		TransitFree: transitFreeASNs(), NeverViaRS: neverViaRSASNs,
		BlackholeNextHop4: blackholeNextHop4, BlackholeNextHop6: blackholeNextHop6,
	}
	for _, s := range benchBlocklist {
		r, err := irr.ParsePrefixRange(s)
		if err != nil {
			return nil, fmt.Errorf("blocklist %q: %w", s, err)
		}
		e := fmt.Sprintf("%s{%d,%d}", r.Prefix, r.Min, r.Max)
		if r.Prefix.Addr().Is4() {
			f.Blocklist4 = append(f.Blocklist4, e)
		} else {
			f.Blocklist6 = append(f.Blocklist6, e)
		}
	}
	return f, nil
}

// asnMask is a BGP path mask that matches any of asns behind the first
// AS: [= ? * [a, b] * =].
func asnMask(asns []uint32) string {
	s := make([]string, len(asns))
	for i, a := range asns {
		s[i] = strconv.FormatUint(uint64(a), 10)
	}
	return "[= ? * [" + strings.Join(s, ", ") + "] * =]"
}

var birdFiltersTemplate = template.Must(template.New("bird.conf").Funcs(template.FuncMap{
	"join": strings.Join,
	"plus": func(ps []string) string {
		out := make([]string, len(ps))
		for i, p := range ps {
			out[i] = p + "+"
		}
		return strings.Join(out, ", ")
	},
	"mask":    asnMask,
	"setName": birdSetName,
}).Parse(`# BIRD 2 route server for ixpsim rs-bench -filters all ({{.Tables}} tables):
# arouteserver's filters with ixpd's reason codes (RS_ASN:1101:code).
log "{{.Dir}}/bird.log" { info, remote, warning, error, auth, fatal, bug };
router id {{.RouterID}};

define RS_ASN = {{.ASN}};
define BOGON_ASNS = [ {{.BogonASNs}} ];
define BOGONS_V4 = [ {{plus .BogonsV4}} ];
define BOGONS_V6 = [ {{plus .BogonsV6}} ];
define BLOCKLIST_V4 = [ {{join .F.Blocklist4 ", "}} ];
define BLOCKLIST_V6 = [ {{join .F.Blocklist6 ", "}} ];
define BLACKHOLE_NH_V4 = {{.F.BlackholeNextHop4}};
define BLACKHOLE_NH_V6 = {{.F.BlackholeNextHop6}};

# RPKI: ROAs from a local file (arouteserver's rpki_roas from a file).
roa4 table roa_v4;
roa6 table roa_v6;
include "{{.Dir}}/` + birdROAFile + `";

# IRR: per AS-SET, AS_Mi_ORIGINS (origin ASNs), AS_Mi_PREFIXES (route
# objects) and AS_Mi_COVER (their more-specifics, for blackholes).
include "{{.Dir}}/` + birdIRRFile + `";

protocol device {
}

function rs_tag(int why)
{
	bgp_large_community.add((RS_ASN, 1101, why));
}

function rs_blackhole_request()
{
	return (65535, 666) ~ bgp_community || (RS_ASN, 666, 0) ~ bgp_large_community;
}

function rs_rpki()
{
	if net.type = NET_IP4 then return roa_check(roa_v4, net, bgp_path.last);
	return roa_check(roa_v6, net, bgp_path.last);
}

# rs_import_common runs the checks that are the same for every client,
# tags each failure and the RPKI state, and returns whether the route is
# RPKI-valid.
function rs_import_common(int peer_as; ip peer_ip)
{
	# Members may not set the route server's own communities.
	bgp_large_community.delete([(RS_ASN, 1000, *), (RS_ASN, 1001, *), (RS_ASN, 1101, *)]);
	# One form of each request from here on.
	if (RS_ASN, 666, 0) ~ bgp_large_community then bgp_community.add((65535, 666));
	if (0, RS_ASN) ~ bgp_community then bgp_large_community.add((RS_ASN, 0, RS_ASN));
	if net.type = NET_IP4 then {
		if net.len < 8 then rs_tag({{.R.TooShort}});
		if net.len > 24 then rs_tag({{.R.TooLong}});
		if net ~ BOGONS_V4 then rs_tag({{.R.Bogon}});
		if net ~ BLOCKLIST_V4 then rs_tag({{.R.Blocklist}});
	} else {
		if net.len < 12 then rs_tag({{.R.TooShort}});
		if net.len > 48 then rs_tag({{.R.TooLong}});
		if net ~ BOGONS_V6 || net !~ [ 2000::/3+ ] then rs_tag({{.R.Bogon}});
		if net ~ BLOCKLIST_V6 then rs_tag({{.R.Blocklist}});
	}
	if bgp_next_hop != peer_ip then rs_tag({{.R.NextHop}});
	if bgp_path.first != peer_as then rs_tag({{.R.FirstAS}});
	if bgp_path.len > 32 then rs_tag({{.R.PathTooLong}});
	if bgp_path ~ BOGON_ASNS then rs_tag({{.R.BogonASN}});
	if bgp_path ~ {{mask .F.TransitFree}} then rs_tag({{.R.TransitFree}});
	if bgp_path ~ {{mask .F.NeverViaRS}} then rs_tag({{.R.NeverViaRS}});
	if rs_rpki() = ROA_VALID then {
		bgp_large_community.add((RS_ASN, 1000, 1));
		return true;
	}
	if rs_rpki() = ROA_INVALID then rs_tag({{.R.RPKIInvalid}});
	else bgp_large_community.add((RS_ASN, 1000, 2));
	return false;
}

# rs_export_ok applies the control communities (RS_ASN:0:peer do not
# announce, RS_ASN:0:RS_ASN to nobody unless RS_ASN:1:peer, RS_ASN:101..103
# prepend; the standard forms for 16-bit peers) and blackhole handling, and
# takes the control communities off.
function rs_export_ok(int peer_as; bool blackhole_ok)
{
	if (RS_ASN, 0, peer_as) ~ bgp_large_community then return false;
	if peer_as <= 65535 then {
		if (0, peer_as) ~ bgp_community then return false;
		if (RS_ASN, peer_as) ~ bgp_community then bgp_large_community.add((RS_ASN, 1, peer_as));
	}
	if (RS_ASN, 0, RS_ASN) ~ bgp_large_community && !((RS_ASN, 1, peer_as) ~ bgp_large_community) then return false;
	if rs_blackhole_request() then {
		if !blackhole_ok then return false;
		if net.type = NET_IP4 then bgp_next_hop = BLACKHOLE_NH_V4; else bgp_next_hop = BLACKHOLE_NH_V6;
		bgp_community.add((65535, 65281));
	}
	if (RS_ASN, 101, peer_as) ~ bgp_large_community || (RS_ASN, 101, 0) ~ bgp_large_community || (65501, 0) ~ bgp_community then
		bgp_path.prepend(bgp_path.first);
	if (RS_ASN, 102, peer_as) ~ bgp_large_community || (RS_ASN, 102, 0) ~ bgp_large_community || (65502, 0) ~ bgp_community then {
		bgp_path.prepend(bgp_path.first);
		bgp_path.prepend(bgp_path.first);
	}
	if (RS_ASN, 103, peer_as) ~ bgp_large_community || (RS_ASN, 103, 0) ~ bgp_large_community || (65503, 0) ~ bgp_community then {
		bgp_path.prepend(bgp_path.first);
		bgp_path.prepend(bgp_path.first);
		bgp_path.prepend(bgp_path.first);
	}
	if peer_as <= 65535 then {
		if (65501, peer_as) ~ bgp_community then bgp_path.prepend(bgp_path.first);
		if (65502, peer_as) ~ bgp_community then { bgp_path.prepend(bgp_path.first); bgp_path.prepend(bgp_path.first); }
		if (65503, peer_as) ~ bgp_community then { bgp_path.prepend(bgp_path.first); bgp_path.prepend(bgp_path.first); bgp_path.prepend(bgp_path.first); }
	}
	bgp_large_community.delete([(RS_ASN, 0, *), (RS_ASN, 1, *), (RS_ASN, 101..103, *)]);
	bgp_community.delete([(0, *), (RS_ASN, *), (65501..65503, *)]);
	return true;
}

template bgp rs_client {
	local {{.ListenAddr}} port {{.Port}} as RS_ASN;
	rs client;
	passive on;
	# Members are other addresses on the loopback interface: BIRD needs
	# multihop and a strict bind there.
	multihop;
	strict bind on;
	hold time 90;
	ipv4 {
		import keep filtered on;
		# An import table lets BIRD re-filter after a ROA or IRR change
		# without a route refresh from the member. ROA changes are acted on
		# by an explicit "reload in" after "configure": BIRD's own reload on
		# ROA changes waits for the ROA table to settle (seconds).
		import table on;
		rpki reload off;
		next hop keep on;
		import limit {{.MaxPrefix}} action restart;
	};
}
{{range $i, $m := .Members}}
# {{.Name}}: AS{{.ASN}}, AS-SET {{index $.ASSets $i}}
function rs_import_{{.Name}}()
{
	if rs_import_common({{.ASN}}, {{.Addr}}) then {
		# A ROA stands in for a missing route object.
		if !(bgp_path.last ~ {{setName $i}}_ORIGINS) then rs_tag({{$.R.IRROrigin}});
	} else {
		if !(bgp_path.last ~ {{setName $i}}_ORIGINS) then rs_tag({{$.R.IRROrigin}});
		if !(net ~ {{setName $i}}_PREFIXES) then rs_tag({{$.R.IRRPrefix}});
	}
	if !((RS_ASN, 1101, {{$.R.IRROrigin}}) ~ bgp_large_community || (RS_ASN, 1101, {{$.R.IRRPrefix}}) ~ bgp_large_community) then
		bgp_large_community.add((RS_ASN, 1001, 1));
	# A blackhole inside the member's space passes whatever its length, IRR
	# prefix check or RPKI state.
	if rs_blackhole_request() && net ~ {{setName $i}}_COVER then
		bgp_large_community.delete([(RS_ASN, 1101, {{$.R.TooLong}}), (RS_ASN, 1101, {{$.R.IRRPrefix}}), (RS_ASN, 1101, {{$.R.RPKIInvalid}})]);
}

filter rs_in_{{.Name}}
{
	rs_import_{{.Name}}();
	if bgp_large_community ~ [(RS_ASN, 1101, *)] then reject;
	accept;
}

filter rs_out_{{.Name}}
{
	if rs_export_ok({{.ASN}}, {{if .Blackhole}}true{{else}}false{{end}}) then accept;
	reject;
}
{{if eq $.Tables "per-client"}}
ipv4 table t_{{.Name}};

protocol pipe p_{{.Name}} {
	table master4;
	peer table t_{{.Name}};
	import where proto = "{{.Name}}";
	export filter { if proto = "{{.Name}}" then reject; if rs_export_ok({{.ASN}}, {{if .Blackhole}}true{{else}}false{{end}}) then accept; reject; };
}
{{end}}
protocol bgp {{.Name}} from rs_client {
	description "AS{{.ASN}}";
	neighbor {{.Addr}} as {{.ASN}};
	ipv4 {
{{- if eq $.Tables "per-client"}}
		table t_{{.Name}};
		import filter rs_in_{{.Name}};
		export where proto != "{{.Name}}";
{{- else}}
		import filter rs_in_{{.Name}};
		export filter rs_out_{{.Name}};
{{- end}}
	};
}
{{end}}`))

// renderFilters writes the -filters all BIRD configuration.
func (c *birdConfig) renderFilters() ([]byte, error) {
	if c.Tables != birdSingle && c.Tables != birdPerClient {
		return nil, fmt.Errorf("bird tables %q: want %s or %s", c.Tables, birdSingle, birdPerClient)
	}
	v4 := append([]string(nil), bogonsV4...)
	if c.PeeringLAN.IsValid() && !contains(v4, c.PeeringLAN.String()) {
		v4 = append(v4, c.PeeringLAN.String())
	}
	sets := make([]string, len(c.Members))
	for i := range c.Members {
		sets[i] = asSet(i)
	}
	data := struct {
		*birdConfig
		F                  *birdFilters
		ASSets             []string
		BogonASNs          string
		BogonsV4, BogonsV6 []string
		R                  map[string]uint32
	}{c, c.Filters, sets, bogonASNs, v4, bogonsV6, map[string]uint32{
		"TooLong": routeserver.ReasonPrefixTooLong, "TooShort": routeserver.ReasonPrefixTooShort,
		"Bogon": routeserver.ReasonBogon, "BogonASN": routeserver.ReasonBogonASN,
		"PathTooLong": routeserver.ReasonASPathTooLong, "FirstAS": routeserver.ReasonFirstASNotPeer,
		"NextHop": routeserver.ReasonNextHopNotPeer, "IRRPrefix": routeserver.ReasonIRRPrefix,
		"IRROrigin": routeserver.ReasonIRROrigin, "RPKIInvalid": routeserver.ReasonRPKIInvalid,
		"TransitFree": routeserver.ReasonTransitFreeASN, "NeverViaRS": routeserver.ReasonNeverViaRS,
		"Blocklist": routeserver.ReasonBlocklist,
	}}
	var b bytes.Buffer
	if err := birdFiltersTemplate.Execute(&b, data); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

// writeBIRDROAs writes the static protocols that fill roa_v4 and roa_v6.
func (p *filterPlan) writeBIRDROAs(w io.Writer, st filterState) error {
	var v4, v6 bytes.Buffer
	var buf []byte
	p.eachVRP(st, func(v vrp) {
		buf = append(buf[:0], "\troute "...)
		buf = v.prefix.AppendTo(buf)
		buf = append(buf, " max "...)
		buf = strconv.AppendInt(buf, int64(v.maxLen), 10)
		buf = append(buf, " as "...)
		buf = strconv.AppendUint(buf, uint64(v.asn), 10)
		buf = append(buf, ";\n"...)
		if v.prefix.Addr().Is4() {
			v4.Write(buf)
		} else {
			v6.Write(buf)
		}
	})
	bw := bufio.NewWriter(w)
	for _, f := range []struct {
		fam  string
		body *bytes.Buffer
	}{{"4", &v4}, {"6", &v6}} {
		_, _ = fmt.Fprintf(bw, "protocol static roa_static_v%s {\n\troa%s { table roa_v%s; };\n", f.fam, f.fam, f.fam) // bw keeps its first error for Flush
		_, _ = f.body.WriteTo(bw)
		_, _ = bw.WriteString("}\n")
	}
	return bw.Flush() // a bufio.Writer keeps its first error
}

// writeBIRDIRR writes every AS-SET's origin, prefix and cover sets.
func (p *filterPlan) writeBIRDIRR(w io.Writer, st filterState) error {
	bw := bufio.NewWriter(w)
	var buf []byte
	for i := range p.n {
		name := birdSetName(i)
		buf = append(buf[:0], "define "...)
		buf = append(buf, name...)
		buf = append(buf, "_ORIGINS = [ "...)
		for j, a := range irrASNs(i) {
			if j > 0 {
				buf = append(buf, ", "...)
			}
			buf = strconv.AppendUint(buf, uint64(a), 10)
		}
		buf = append(buf, " ];\n"...)
		ps := p.irrPrefixes(i, st)
		for _, set := range []struct{ suffix, plus string }{{"_PREFIXES", ""}, {"_COVER", "+"}} {
			buf = append(buf, "define "...)
			buf = append(buf, name...)
			buf = append(buf, set.suffix...)
			buf = append(buf, " = [\n"...)
			for j, pfx := range ps {
				buf = append(buf, '\t')
				buf = pfx.AppendTo(buf)
				buf = append(buf, set.plus...)
				if j < len(ps)-1 {
					buf = append(buf, ',')
				}
				buf = append(buf, '\n')
			}
			buf = append(buf, "];\n"...)
		}
		_, _ = bw.Write(buf)
	}
	return bw.Flush() // a bufio.Writer keeps its first error
}

// writeBIRDData writes the ROA and IRR include files for state st.
func (p *filterPlan) writeBIRDData(dir string, st filterState) error {
	if err := writeFile(filepath.Join(dir, birdROAFile), func(w *bufio.Writer) error { return p.writeBIRDROAs(w, st) }); err != nil {
		return err
	}
	return writeFile(filepath.Join(dir, birdIRRFile), func(w *bufio.Writer) error { return p.writeBIRDIRR(w, st) })
}
