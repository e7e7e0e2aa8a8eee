package main

import (
	"bytes"
	"context"
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"text/template"
	"time"
)

// BIRD table layouts for the route server.
const (
	// birdSingle puts every rs client on the master table. With multihop
	// sessions (needed on loopback) BIRD resolves next hops recursively and
	// refuses a sorted table, so "secondary" (path-hiding mitigation on one
	// table) is not available; each prefix in the bench has one path, so
	// path hiding cannot occur either way.
	birdSingle = "single"
	// birdPerClient gives every client its own table, tied to the master
	// table by a pipe, so every client gets its own best path: path hiding
	// is mitigated at the cost of one route copy per client.
	birdPerClient = "per-client"
)

// birdConfig is what the BIRD configuration is generated from.
type birdConfig struct {
	Dir        string // where the log goes
	RouterID   netip.Addr
	ListenAddr netip.Addr
	Port       uint16
	ASN        uint32
	Tables     string // birdSingle or birdPerClient
	PeeringLAN netip.Prefix
	MaxPrefix  int
	Members    []birdMember
	// Filters turns every filter on (-filters all); nil is the plain
	// set-up.
	Filters *birdFilters
}

type birdMember struct {
	Name string
	Addr netip.Addr
	ASN  uint32
	// Blackhole: the member receives blackhole routes (-filters all).
	Blackhole bool
}

// IANA special-purpose IPv4 and IPv6 blocks that are not globally
// reachable, the ones route servers treat as bogons (RFC 6890 registries;
// see ../shared/data/bogons); the peering LAN is added from the config.
var (
	bogonsV4 = []string{
		"0.0.0.0/8", "10.0.0.0/8", "100.64.0.0/10", "127.0.0.0/8", "169.254.0.0/16",
		"172.16.0.0/12", "192.0.0.0/24", "192.0.2.0/24", "192.88.99.0/24", "192.168.0.0/16",
		"198.18.0.0/15", "198.51.100.0/24", "203.0.113.0/24", "224.0.0.0/4", "240.0.0.0/4",
	}
	bogonsV6 = []string{
		"::/8", "100::/64", "2001::/23", "2001:2::/48", "2001:10::/28", "2001:db8::/32",
		"2002::/16", "3ffe::/16", "fc00::/7", "fe80::/10", "fec0::/10", "ff00::/8",
	}
)

// bogonASNs are the private and reserved AS numbers (IANA special-purpose
// AS numbers without AS112, which is a real, public anycast service).
const bogonASNs = "0, 23456, 64496..64511, 64512..65534, 65535, 65536..65551, 65552..131071, 4200000000..4294967294, 4294967295"

// Euro-IX reject-reason codes, as ixpd's route server uses them
// (RS_ASN:1101:code).
const (
	reasonTooLong     = 1
	reasonTooShort    = 2
	reasonBogon       = 3
	reasonBogonASN    = 4
	reasonPathTooLong = 5
	reasonFirstAS     = 7
	reasonNextHop     = 8
)

var birdTemplate = template.Must(template.New("bird.conf").Funcs(template.FuncMap{
	"join": strings.Join,
	"plus": func(ps []string) string {
		out := make([]string, len(ps))
		for i, p := range ps {
			out[i] = p + "+"
		}
		return strings.Join(out, ", ")
	},
}).Parse(`# BIRD 2 route server for ixpsim rs-bench ({{.Tables}} tables).
log "{{.Dir}}/bird.log" { info, remote, warning, error, auth, fatal, bug };
router id {{.RouterID}};

define RS_ASN = {{.ASN}};
define BOGON_ASNS = [ {{.BogonASNs}} ];
define BOGONS_V4 = [ {{plus .BogonsV4}} ];
define BOGONS_V6 = [ {{plus .BogonsV6}} ];

protocol device {
}

# rs_import_ok runs ixpd's import checks, tags every failed one with the
# Euro-IX reason RS_ASN:1101:code and returns whether the route passes.
function rs_import_ok(int peer_as; ip peer_ip)
bool ok;
{
	ok = true;
	if net.type = NET_IP4 then {
		if net.len < 8 then { bgp_large_community.add((RS_ASN, 1101, {{.R.TooShort}})); ok = false; }
		if net.len > 24 then { bgp_large_community.add((RS_ASN, 1101, {{.R.TooLong}})); ok = false; }
		if net ~ BOGONS_V4 then { bgp_large_community.add((RS_ASN, 1101, {{.R.Bogon}})); ok = false; }
	} else {
		if net.len < 12 then { bgp_large_community.add((RS_ASN, 1101, {{.R.TooShort}})); ok = false; }
		if net.len > 48 then { bgp_large_community.add((RS_ASN, 1101, {{.R.TooLong}})); ok = false; }
		if net ~ BOGONS_V6 || net !~ [ 2000::/3+ ] then { bgp_large_community.add((RS_ASN, 1101, {{.R.Bogon}})); ok = false; }
	}
	if bgp_next_hop != peer_ip then { bgp_large_community.add((RS_ASN, 1101, {{.R.NextHop}})); ok = false; }
	if bgp_path.first != peer_as then { bgp_large_community.add((RS_ASN, 1101, {{.R.FirstAS}})); ok = false; }
	if bgp_path.len > 32 then { bgp_large_community.add((RS_ASN, 1101, {{.R.PathTooLong}})); ok = false; }
	if bgp_path ~ BOGON_ASNS then { bgp_large_community.add((RS_ASN, 1101, {{.R.BogonASN}})); ok = false; }
	return ok;
}

# rs_export_ok honours the usual announcement control: RS_ASN:0:peer_as
# keeps a route from that peer.
function rs_export_ok(int peer_as)
{
	if (RS_ASN, 0, peer_as) ~ bgp_large_community then return false;
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
		next hop keep on;
		import limit {{.MaxPrefix}} action restart;
	};
}
{{range .Members}}
{{- if eq $.Tables "per-client"}}
ipv4 table t_{{.Name}};

protocol pipe p_{{.Name}} {
	table master4;
	peer table t_{{.Name}};
	import where proto = "{{.Name}}";
	export where proto != "{{.Name}}" && rs_export_ok({{.ASN}});
}
{{end}}
protocol bgp {{.Name}} from rs_client {
	description "AS{{.ASN}}";
	neighbor {{.Addr}} as {{.ASN}};
	ipv4 {
{{- if eq $.Tables "per-client"}}
		table t_{{.Name}};
		import filter { if rs_import_ok({{.ASN}}, {{.Addr}}) then accept; reject; };
		export where proto != "{{.Name}}";
{{- else}}
		import filter { if rs_import_ok({{.ASN}}, {{.Addr}}) then accept; reject; };
		export where rs_export_ok({{.ASN}});
{{- end}}
	};
}
{{end}}`))

// render writes the BIRD configuration.
func (c *birdConfig) render() ([]byte, error) {
	if c.Filters != nil {
		return c.renderFilters()
	}
	if c.Tables != birdSingle && c.Tables != birdPerClient {
		return nil, fmt.Errorf("bird tables %q: want %s or %s", c.Tables, birdSingle, birdPerClient)
	}
	v4 := append([]string(nil), bogonsV4...)
	if c.PeeringLAN.IsValid() && !contains(v4, c.PeeringLAN.String()) {
		v4 = append(v4, c.PeeringLAN.String())
	}
	data := struct {
		*birdConfig
		BogonASNs          string
		BogonsV4, BogonsV6 []string
		R                  map[string]int
	}{c, bogonASNs, v4, bogonsV6, map[string]int{
		"TooLong": reasonTooLong, "TooShort": reasonTooShort, "Bogon": reasonBogon,
		"BogonASN": reasonBogonASN, "PathTooLong": reasonPathTooLong,
		"FirstAS": reasonFirstAS, "NextHop": reasonNextHop,
	}}
	var b bytes.Buffer
	if err := birdTemplate.Execute(&b, data); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// birdTarget runs BIRD 2 as the route server.
type birdTarget struct {
	bin    string
	tables string
}

func (t *birdTarget) name() string { return "bird" }

func (t *birdTarget) start(ctx context.Context, env *runEnv) (*rsProcess, error) {
	cfg := birdConfig{
		Dir:        env.dir,
		RouterID:   env.rsAddr,
		ListenAddr: env.rsAddr,
		Port:       env.port,
		ASN:        rsASN,
		Tables:     t.tables,
		PeeringLAN: peeringLAN,
		MaxPrefix:  env.maxPrefix,
	}
	for i := range env.members {
		cfg.Members = append(cfg.Members, birdMember{Name: fmt.Sprintf("m%d", i+1), Addr: memberAddr(i), ASN: memberASN(i), Blackhole: memberBlackhole(i)})
	}
	if env.plan != nil {
		f, err := newBIRDFilters()
		if err != nil {
			return nil, err
		}
		cfg.Filters = f
		if err := env.plan.writeBIRDData(env.dir, filterState{}); err != nil {
			return nil, err
		}
	}
	conf, err := cfg.render()
	if err != nil {
		return nil, err
	}
	confPath := filepath.Join(env.dir, "bird.conf")
	if err := os.WriteFile(confPath, conf, 0o644); err != nil {
		return nil, err
	}
	return startProcess(t.bin, []string{"-f", "-c", confPath, "-s", filepath.Join(env.dir, "bird.ctl"), "-P", filepath.Join(env.dir, "bird.pid")},
		env.dir, filepath.Join(env.dir, "bird.out"))
}

// writeData writes BIRD's ROA and IRR include files for state st: BIRD
// reads both on "configure" whatever changed.
func (t *birdTarget) writeData(env *runEnv, st filterState, _ change) error {
	return env.plan.writeBIRDData(env.dir, st)
}

// reload makes BIRD read its configuration, and so the ROA and IRR
// files, again, as arouteserver's users do after regenerating it. BIRD
// re-runs the import filters of every channel whose filter changed (IRR)
// and, through its import tables, of every channel whose filter calls
// roa_check when a ROA table changes ("rpki reload", on by default).
func (t *birdTarget) reload(ctx context.Context, env *runEnv, _ *rsProcess, c change) error {
	sock := filepath.Join(env.dir, "bird.ctl")
	out, err := birdcCommand(ctx, t.birdc(), sock, "configure")
	if err != nil {
		return err
	}
	if !strings.Contains(out, "Reconfigured") {
		return fmt.Errorf("birdc configure: %s", strings.TrimSpace(out))
	}
	if c != changeVRP {
		return nil
	}
	out, err = birdcCommand(ctx, t.birdc(), sock, "reload", "in", "all")
	if err != nil {
		return err
	}
	if !strings.Contains(out, "reloading") {
		return fmt.Errorf("birdc reload in all: %s", strings.TrimSpace(out))
	}
	return nil
}

// birdc is the BIRD CLI beside the bird binary, else birdc on PATH.
func (t *birdTarget) birdc() string {
	if dir := filepath.Dir(t.bin); dir != "." {
		if p := filepath.Join(dir, "birdc"); fileExists(p) {
			return p
		}
	}
	return "birdc"
}

func fileExists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}

// birdcCommand runs one birdc command and returns its output.
func birdcCommand(ctx context.Context, birdc, sock string, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	out, err := exec.CommandContext(ctx, birdc, append([]string{"-s", sock}, args...)...).CombinedOutput()
	if err != nil {
		return string(out), fmt.Errorf("birdc %s: %w: %s", strings.Join(args, " "), err, bytes.TrimSpace(out))
	}
	return string(out), nil
}

// birdVersion returns the output of "bird --version", or "" if it fails.
func birdVersion(bin string) string {
	out, _ := runOutput(bin, "--version")
	return strings.TrimSpace(out)
}
