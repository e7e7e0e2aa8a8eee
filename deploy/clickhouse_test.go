package deploy

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/xml"
	"errors"
	"io"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// xmlNode is an element of a ClickHouse configuration file, whose element
// names are data (a cluster's or a user's name).
type xmlNode struct {
	Name     string
	Text     string
	Children []*xmlNode
}

// child returns the first child named name, or nil.
func (n *xmlNode) child(name string) *xmlNode {
	if n == nil {
		return nil
	}
	for _, c := range n.Children {
		if c.Name == name {
			return c
		}
	}
	return nil
}

// all returns the children named name.
func (n *xmlNode) all(name string) []*xmlNode {
	var out []*xmlNode
	if n != nil {
		for _, c := range n.Children {
			if c.Name == name {
				out = append(out, c)
			}
		}
	}
	return out
}

// text is the trimmed text of the element at the path below n, or "".
func (n *xmlNode) text(path ...string) string {
	for _, p := range path {
		n = n.child(p)
	}
	if n == nil {
		return ""
	}
	return strings.TrimSpace(n.Text)
}

// parseXML reads a whole XML file into a tree; a file that is not
// well-formed fails the test.
func parseXML(t *testing.T, path string) *xmlNode {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = f.Close() }() // read only
	dec := xml.NewDecoder(f)
	var root *xmlNode
	var stack []*xmlNode
	for {
		tok, err := dec.Token()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		switch tok := tok.(type) {
		case xml.StartElement:
			n := &xmlNode{Name: tok.Name.Local}
			if len(stack) == 0 {
				if root != nil {
					t.Fatalf("%s: a second root element <%s>", path, n.Name)
				}
				root = n
			} else {
				top := stack[len(stack)-1]
				top.Children = append(top.Children, n)
			}
			stack = append(stack, n)
		case xml.EndElement:
			stack = stack[:len(stack)-1]
		case xml.CharData:
			if len(stack) > 0 {
				stack[len(stack)-1].Text += string(tok)
			}
		}
	}
	if root == nil || len(stack) != 0 {
		t.Fatalf("%s: no complete root element", path)
	}
	return root
}

// The ClickHouse examples: every XML file is well-formed with the root
// element 18.16 reads (<yandex>; current releases read it too); the user
// that ixpd.yaml names is defined with the SHA-256 of its password and
// admits ixpd's and the cluster's addresses; for two shards, remote_servers
// names ixpd.yaml's cluster with exactly its shards, each replica with
// ixpd's user. cmd/ixpd's TestDeployConfigs runs ixpd's own check on the
// ixpd.yaml files.
func TestClickHouseExamples(t *testing.T) {
	for _, example := range []string{"single", "two-shards"} {
		t.Run(example, func(t *testing.T) {
			dir := filepath.Join("clickhouse", example)
			var cfg ixpdFile
			decodeYAML(t, filepath.Join(dir, "ixpd.yaml"), &cfg)
			ch := cfg.Storage.ClickHouse
			if cfg.Storage.Driver != "clickhouse" || ch.User == "" || ch.Password == "" {
				t.Fatalf("ixpd.yaml: driver %q user %q: want clickhouse with a user and a password", cfg.Storage.Driver, ch.User)
			}

			files, err := filepath.Glob(filepath.Join(dir, "*.d", "*.xml"))
			if err != nil || len(files) == 0 {
				t.Fatalf("no XML files in %s/*.d (%v)", dir, err)
			}
			roots := map[string]*xmlNode{}
			for _, f := range files {
				root := parseXML(t, f)
				if root.Name != "yandex" {
					t.Errorf("%s: root element <%s>, want <yandex>", f, root.Name)
				}
				roots[f] = root
			}

			// The user.
			users := roots[filepath.Join(dir, "users.d", "ixpd.xml")]
			user := users.child("users").child(ch.User)
			if user == nil {
				t.Fatalf("users.d/ixpd.xml defines no user %q", ch.User)
			}
			sum := sha256.Sum256([]byte(ch.Password))
			if got := user.text("password_sha256_hex"); got != hex.EncodeToString(sum[:]) {
				t.Errorf("user %s: password_sha256_hex %s is not the SHA-256 of ixpd.yaml's password", ch.User, got)
			}
			var networks []netip.Prefix
			for _, ip := range user.child("networks").all("ip") {
				p, err := netip.ParsePrefix(strings.TrimSpace(ip.Text))
				if err != nil {
					a, aerr := netip.ParseAddr(strings.TrimSpace(ip.Text))
					if aerr != nil {
						t.Fatalf("user %s: networks ip %q: %v", ch.User, ip.Text, err)
					}
					p = netip.PrefixFrom(a, a.BitLen())
				}
				networks = append(networks, p)
			}
			admitted := func(hostport string) bool {
				host, _, err := net.SplitHostPort(hostport)
				if err != nil {
					t.Fatalf("%q: %v", hostport, err)
				}
				a, err := netip.ParseAddr(host)
				if err != nil {
					t.Fatalf("%q: the examples use addresses, not names: %v", hostport, err)
				}
				return slices.ContainsFunc(networks, func(p netip.Prefix) bool { return p.Contains(a) })
			}
			for _, addr := range append([]string{ch.Addr}, ch.Shards...) {
				if !admitted(addr) {
					t.Errorf("user %s's networks %v do not admit %s", ch.User, networks, addr)
				}
			}

			// The cluster.
			cluster := filepath.Join(dir, "config.d", "ixpd-cluster.xml")
			if ch.Cluster == "" {
				if roots[cluster] != nil {
					t.Errorf("%s without storage.clickhouse.cluster in ixpd.yaml", cluster)
				}
				return
			}
			remote := roots[cluster].child("remote_servers")
			if remote == nil || len(remote.Children) != 1 || remote.Children[0].Name != ch.Cluster {
				t.Fatalf("%s: want remote_servers with the one cluster %q of ixpd.yaml", cluster, ch.Cluster)
			}
			var shards []string
			for _, shard := range remote.Children[0].all("shard") {
				replicas := shard.all("replica")
				if len(replicas) != 1 {
					t.Errorf("%s: a shard with %d replicas; ixpd's shards are one server each", cluster, len(replicas))
					continue
				}
				r := replicas[0]
				shards = append(shards, net.JoinHostPort(r.text("host"), r.text("port")))
				if r.text("user") != ch.User || r.text("password") != ch.Password {
					t.Errorf("%s: replica %s connects as %q, not as ixpd.yaml's user and password", cluster, r.text("host"), r.text("user"))
				}
			}
			if diff := cmp.Diff(shards, ch.Shards); diff != "" {
				t.Errorf("%s's shards and ixpd.yaml's storage.clickhouse.shards (-xml +yaml):\n%s", cluster, diff)
			}
			if !slices.Contains(ch.Shards, ch.Addr) {
				t.Errorf("ixpd.yaml: addr %s is not one of the shards %v", ch.Addr, ch.Shards)
			}
		})
	}
}
