package main

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"go.yaml.in/yaml/v3"
)

// sentinel is a password that must show up nowhere: not in logs, dumps,
// API responses or error messages.
const sentinel = "sentinel-7f3a9c-not-for-logs"

func TestParseSecrets(t *testing.T) {
	for _, tc := range []struct {
		name    string
		in      string
		want    map[string]string // key (address or ASxxx) → password
		wantErr string
	}{
		{name: "empty file", in: "", want: map[string]string{}},
		{name: "no passwords", in: "bgp_passwords:\n", want: map[string]string{}},
		{name: "addresses and ASNs", in: "bgp_passwords:\n  192.0.2.10: \"a\"\n  \"2001:DB8::1\": 'b'\n  AS64500: c\n  as64501: \"d\"\n",
			want: map[string]string{"192.0.2.10": "a", "2001:db8::1": "b", "AS64500": "c", "AS64501": "d"}},
		{name: "80 bytes", in: "bgp_passwords: {AS1: \"" + strings.Repeat("x", 80) + "\"}\n", want: map[string]string{"AS1": strings.Repeat("x", 80)}},
		{name: "too long", in: "bgp_passwords:\n  192.0.2.10: \"" + strings.Repeat(sentinel, 3) + "\"\n",
			wantErr: "bgp_passwords.192.0.2.10: the password has 84 bytes; TCP-MD5 takes at most 80 (line 2)"},
		{name: "number", in: "bgp_passwords:\n  AS64500: 123456\n", wantErr: "bgp_passwords.AS64500: want the password as a string in quotes (line 2)"},
		{name: "list", in: "bgp_passwords:\n  AS64500: [\"" + sentinel + "\"]\n", wantErr: "bgp_passwords.AS64500: want the password as a string in quotes (line 2)"},
		{name: "mapping", in: "bgp_passwords:\n  AS64500: {password: \"" + sentinel + "\"}\n", wantErr: "bgp_passwords.AS64500: want the password as a string in quotes (line 2)"},
		{name: "empty password", in: "bgp_passwords:\n  AS64500: \"\"\n", wantErr: "bgp_passwords.AS64500: empty password; remove the entry for no password (line 2)"},
		{name: "no password", in: "bgp_passwords:\n  AS64500:\n", wantErr: "bgp_passwords.AS64500: want the password as a string in quotes (line 2)"},
		{name: "password where the key goes", in: "bgp_passwords:\n  " + sentinel + ": 192.0.2.10\n",
			wantErr: "bgp_passwords: the key on line 2 is not a neighbor address (192.0.2.10) or an ASN (AS64500)"},
		{name: "AS0", in: "bgp_passwords:\n  AS0: \"x\"\n", wantErr: "bgp_passwords: the key on line 2 is not a neighbor address (192.0.2.10) or an ASN (AS64500)"},
		{name: "twice", in: "bgp_passwords:\n  2001:db8::1: \"x\"\n  2001:DB8:0::1: \"y\"\n", wantErr: "bgp_passwords.2001:db8::1: given twice (lines 2 and 3)"},
		{name: "unknown key", in: "bgp_password:\n  AS1: \"x\"\n", wantErr: "bgp_password: unknown key (line 1); the file has bgp_passwords only"},
		{name: "unknown key that may be a password", in: sentinel + ": x\n", wantErr: "a key: unknown key (line 1); the file has bgp_passwords only"},
		{name: "not a mapping", in: "- " + sentinel + "\n", wantErr: "want a mapping with the key bgp_passwords (line 1)"},
		{name: "passwords not a mapping", in: "bgp_passwords: " + sentinel + "\n", wantErr: "bgp_passwords: want a mapping of neighbor addresses or ASNs (AS64500) to passwords (line 1)"},
		{name: "not YAML", in: "bgp_passwords:\n  AS1: \"" + sentinel + "\n", wantErr: "not valid YAML: line 2: found unexpected end of stream"},
		{name: "unknown alias", in: "bgp_passwords:\n  AS1: *" + sentinel + "\n", wantErr: "not valid YAML"},
		{name: "several", in: "bgp_passwords:\n  AS1: 1\n  AS2: \"" + strings.Repeat("y", 81) + "\"\n",
			wantErr: "bgp_passwords.AS1: want the password as a string in quotes (line 2)\nbgp_passwords.AS2: the password has 81 bytes; TCP-MD5 takes at most 80 (line 3)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			pw, err := parseSecrets([]byte(tc.in))
			if tc.wantErr != "" {
				if err == nil {
					t.Fatalf("accepted, want %q", tc.wantErr)
				}
				if diff := cmp.Diff(err.Error(), tc.wantErr); diff != "" {
					t.Errorf("error (-got +want):\n%s", diff)
				}
				if strings.Contains(err.Error(), sentinel) {
					t.Errorf("the error shows the password: %v", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			got := map[string]string{}
			for a, s := range pw.ByAddress {
				got[a.String()] = s.Reveal()
			}
			for asn, s := range pw.ByASN {
				got["AS"+strconv.FormatUint(uint64(asn), 10)] = s.Reveal()
			}
			if diff := cmp.Diff(got, tc.want); diff != "" {
				t.Errorf("passwords (-got +want):\n%s", diff)
			}
		})
	}
}

// The secrets file's mode: group may read (0640), others may not.
func TestSecretsFileMode(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "secrets.yaml")
	if err := os.WriteFile(path, []byte("bgp_passwords: {AS1: \""+sentinel+"\"}\n"), 0o640); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		mode os.FileMode
		ok   bool
	}{{0o600, true}, {0o640, true}, {0o660, true}, {0o644, false}, {0o642, false}, {0o641, false}} {
		if err := os.Chmod(path, tc.mode); err != nil {
			t.Fatal(err)
		}
		_, err := loadSecrets(path)
		if (err == nil) != tc.ok {
			t.Errorf("mode %04o: %v, want ok %v", tc.mode, err, tc.ok)
		}
		if err != nil && (!strings.Contains(err.Error(), path) || strings.Contains(err.Error(), sentinel) || !strings.Contains(err.Error(), "chmod 0640")) {
			t.Errorf("mode %04o: %v: want the path, the mode and the fix, never the password", tc.mode, err)
		}
	}
}

// FuzzParseSecrets checks that no error quotes a value from the file.
func FuzzParseSecrets(f *testing.F) {
	for _, s := range []string{"", "bgp_passwords:\n  AS1: \"abcdefgh\"\n", "bgp_passwords: {192.0.2.1: [abcdefgh]}\n",
		"bgp_passwords:\n  AS1: 12345678\n", "x: \"abcdefgh\n", "bgp_passwords: {AS1: &a abcdefgh, AS2: *a}\n"} {
		f.Add(s)
	}
	// Values that are words of the parser's own messages prove nothing.
	src, err := os.ReadFile("secrets.go")
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, in string) {
		_, err := parseSecrets([]byte(in))
		if err == nil {
			return
		}
		var root yaml.Node
		if yaml.Unmarshal([]byte(in), &root) != nil {
			return // syntax errors keep quoted text out by construction
		}
		keys := map[string]bool{} // keys may be named; a value equal to one proves nothing
		var walk func(n *yaml.Node, value bool, check bool)
		walk = func(n *yaml.Node, value bool, check bool) {
			if n.Kind == yaml.ScalarNode && !value {
				keys[n.Value] = true
			}
			if check && n.Kind == yaml.ScalarNode && value && len(n.Value) >= 6 && !keys[n.Value] && !strings.Contains(string(src), n.Value) &&
				strings.Contains(err.Error(), n.Value) {
				t.Errorf("error %q quotes the value %q", err, n.Value)
			}
			for i, c := range n.Content {
				walk(c, n.Kind != yaml.MappingNode || i%2 == 1, check)
			}
		}
		walk(&root, true, false)
		walk(&root, true, true)
	})
}
