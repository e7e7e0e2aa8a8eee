package deploy

import (
	"bytes"
	"encoding/json"
	"maps"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/santhosh-tekuri/jsonschema/v6"
	"go.yaml.in/yaml/v3"
)

// composeFile is the part of a compose file the test checks.
type composeFile struct {
	Services map[string]struct {
		Image       string
		Build       struct{ Context, Dockerfile string }
		Environment map[string]string
		DependsOn   map[string]struct{ Condition string } `yaml:"depends_on"`
		Command     []string
		Ports       []string
		Volumes     []string
		Networks    []string
		Healthcheck struct{ Test []string }
		Sysctls     map[string]string
		CapDrop     []string `yaml:"cap_drop"`
		ReadOnly    bool     `yaml:"read_only"`
	}
	Networks map[string]any
	Volumes  map[string]any
}

// ixpdFile is the part of an ixpd configuration the deploy tests compare
// with the files beside it (cmd/ixpd's TestDeployConfigs runs ixpd's own
// check on them).
type ixpdFile struct {
	MembersFile string `yaml:"members_file"`
	RouteServer struct {
		Listen string
	} `yaml:"routeserver"`
	Flow struct {
		SFlowListen   string `yaml:"sflow_listen"`
		NetFlowListen string `yaml:"netflow_listen"`
		SpoolDir      string `yaml:"spool_dir"`
	}
	Storage struct {
		Driver     string
		ClickHouse struct {
			Addr, Database, User, Password, Cluster string
			Shards                                  []string
		}
	}
	API struct{ Listen string }
}

func decodeYAML(t *testing.T, path string, into any) {
	t.Helper()
	if err := yaml.Unmarshal([]byte(readFile(t, path)), into); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
}

// port is the port of a host:port.
func port(t *testing.T, addr string) string {
	t.Helper()
	_, p, err := net.SplitHostPort(addr)
	if err != nil {
		t.Fatalf("%q: %v", addr, err)
	}
	return p
}

// The compose file: ixpd built from the Dockerfile beside it and a current
// ClickHouse LTS, ixpd's ports as its configuration listens, its files
// mounted where the configuration names them, the ClickHouse account the
// same on both sides, the data on volumes.
func TestComposeFile(t *testing.T) {
	var c composeFile
	decodeYAML(t, "compose/compose.yaml", &c)
	var cfg ixpdFile
	decodeYAML(t, "compose/ixpd.yaml", &cfg)

	if got := slices.Sorted(maps.Keys(c.Services)); !slices.Equal(got, []string{"clickhouse", "ixpd"}) {
		t.Fatalf("services %v, want clickhouse and ixpd", got)
	}
	ch, ixpd := c.Services["clickhouse"], c.Services["ixpd"]

	// A current ClickHouse: YY.M of 2024 or later (the LTS releases are .3
	// and .8).
	m := regexp.MustCompile(`^clickhouse/clickhouse-server:(\d+)\.(3|8)$`).FindStringSubmatch(ch.Image)
	if m == nil {
		t.Errorf("clickhouse image %q, want clickhouse/clickhouse-server:YY.3 or YY.8 (an LTS)", ch.Image)
	} else if year, _ := strconv.Atoi(m[1]); year < 24 {
		t.Errorf("clickhouse image %q is not current", ch.Image)
	}
	if len(ch.Healthcheck.Test) == 0 || ixpd.DependsOn["clickhouse"].Condition != "service_healthy" {
		t.Error("ixpd must wait for ClickHouse's health check (depends_on clickhouse: service_healthy)")
	}

	// The ClickHouse account and address in ixpd.yaml are the compose file's.
	chc := cfg.Storage.ClickHouse
	if cfg.Storage.Driver != "clickhouse" || chc.Addr != "clickhouse:9000" {
		t.Errorf("ixpd.yaml storage: driver %q addr %q, want clickhouse at clickhouse:9000", cfg.Storage.Driver, chc.Addr)
	}
	if chc.User != ch.Environment["CLICKHOUSE_USER"] || chc.Password != ch.Environment["CLICKHOUSE_PASSWORD"] || chc.User == "" {
		t.Errorf("ixpd.yaml's ClickHouse user %q and password differ from compose.yaml's CLICKHOUSE_USER %q and CLICKHOUSE_PASSWORD",
			chc.User, ch.Environment["CLICKHOUSE_USER"])
	}
	if len(ch.Networks) == 0 || !slices.Equal(ch.Networks, ixpd.Networks) {
		t.Errorf("networks: clickhouse %v, ixpd %v", ch.Networks, ixpd.Networks)
	}

	// ixpd: built from the Dockerfile here, published where it listens.
	if ixpd.Build.Context != "../.." || ixpd.Build.Dockerfile != "deploy/compose/Dockerfile" {
		t.Errorf("ixpd build %+v, want context ../.. and dockerfile deploy/compose/Dockerfile", ixpd.Build)
	}
	wantPorts := []string{
		port(t, cfg.RouteServer.Listen) + ":" + port(t, cfg.RouteServer.Listen) + "/tcp",
		"127.0.0.1:" + port(t, cfg.API.Listen) + ":" + port(t, cfg.API.Listen) + "/tcp",
		port(t, cfg.Flow.SFlowListen) + ":" + port(t, cfg.Flow.SFlowListen) + "/udp",
		port(t, cfg.Flow.NetFlowListen) + ":" + port(t, cfg.Flow.NetFlowListen) + "/udp",
	}
	if diff := cmp.Diff(ixpd.Ports, wantPorts); diff != "" {
		t.Errorf("ixpd ports (-got +want):\n%s", diff)
	}
	if diff := cmp.Diff(wantPorts, []string{"179:179/tcp", "127.0.0.1:8080:8080/tcp", "6343:6343/udp", "4739:4739/udp"}); diff != "" {
		t.Errorf("ixpd.yaml listens on other ports than BGP's, 8080, sFlow's and IPFIX's (-got +want):\n%s", diff)
	}
	for _, a := range []string{cfg.RouteServer.Listen, cfg.API.Listen, cfg.Flow.SFlowListen, cfg.Flow.NetFlowListen} {
		if host, _, _ := net.SplitHostPort(a); host != "0.0.0.0" {
			t.Errorf("ixpd.yaml listens on %s: inside a container only 0.0.0.0 is reached through published ports", a)
		}
	}
	if !slices.Equal(ixpd.Command, []string{"run", "-config", "/etc/ixpd/ixpd.yaml"}) {
		t.Errorf("ixpd command %q", ixpd.Command)
	}

	// Mounts: the config and members file from here, the spool on a volume.
	mounts := map[string]string{}
	for _, v := range ixpd.Volumes {
		parts := strings.Split(v, ":")
		mounts[parts[1]] = parts[0]
		if !strings.HasPrefix(parts[0], ".") {
			if _, ok := c.Volumes[parts[0]]; !ok {
				t.Errorf("volume %s is not declared under volumes", parts[0])
			}
		}
	}
	for _, v := range ch.Volumes {
		if name := strings.Split(v, ":")[0]; !strings.HasPrefix(name, ".") {
			if _, ok := c.Volumes[name]; !ok {
				t.Errorf("volume %s is not declared under volumes", name)
			}
		}
	}
	for target, file := range map[string]string{"/etc/ixpd/ixpd.yaml": "ixpd.yaml", "/etc/ixpd/" + cfg.MembersFile: cfg.MembersFile} {
		if mounts[target] != "./"+file {
			t.Errorf("%s is mounted from %q, want ./%s", target, mounts[target], file)
		}
		if _, err := os.Stat(filepath.Join("compose", file)); err != nil {
			t.Error(err)
		}
	}
	if mounts["/var/lib/ixpd"] == "" || !strings.HasPrefix(cfg.Flow.SpoolDir, "/var/lib/ixpd/") {
		t.Errorf("the spool %q must be on the volume at /var/lib/ixpd (mounts %v)", cfg.Flow.SpoolDir, mounts)
	}
	// Unprivileged in the container: no capability, read-only, and the
	// sysctls that let user ixpd bind port 179 and send ICMP echo.
	if !slices.Equal(ixpd.CapDrop, []string{"ALL"}) || !ixpd.ReadOnly ||
		ixpd.Sysctls["net.ipv4.ip_unprivileged_port_start"] != "0" || ixpd.Sysctls["net.ipv4.ping_group_range"] == "" {
		t.Errorf("ixpd's container: cap_drop %v read_only %v sysctls %v", ixpd.CapDrop, ixpd.ReadOnly, ixpd.Sysctls)
	}

	checkComposeSchema(t, "compose/compose.yaml")
	checkDockerfile(t)

	// Docker's own parser, where Docker Compose is installed (no engine
	// needed).
	if exec.Command("docker", "compose", "version").Run() == nil {
		if out, err := exec.Command("docker", "compose", "-f", "compose/compose.yaml", "config", "-q").CombinedOutput(); err != nil {
			t.Errorf("docker compose config: %v\n%s", err, out)
		}
	}
}

// checkDockerfile: the builder and the runtime are the same Debian release
// (ixpd links DuckDB's C++ through cgo), the builder's Go is go.mod's, and
// the build context sends every top-level folder with Go code.
func checkDockerfile(t *testing.T) {
	dockerfile := readFile(t, "compose/Dockerfile")
	from := regexp.MustCompile(`(?m)^FROM (\S+)`).FindAllStringSubmatch(dockerfile, -1)
	if len(from) != 2 {
		t.Fatalf("Dockerfile: %d FROM lines, want a builder and a runtime", len(from))
	}
	goVersion := regexp.MustCompile(`(?m)^go (\d+\.\d+)`).FindStringSubmatch(readFile(t, "../go.mod"))
	if want := "golang:" + goVersion[1] + "-bookworm"; !strings.HasPrefix(from[0][1], want) {
		t.Errorf("builder %s, want %s (go.mod's Go, on the runtime's Debian)", from[0][1], want)
	}
	if from[1][1] != "debian:bookworm-slim" {
		t.Errorf("runtime %s, want debian:bookworm-slim", from[1][1])
	}
	ignore := readFile(t, "compose/Dockerfile.dockerignore")
	entries, err := os.ReadDir("..")
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if !e.IsDir() || e.Name() == "deploy" || strings.HasPrefix(e.Name(), ".") {
			continue
		}
		hasGo := false
		_ = filepath.WalkDir(filepath.Join("..", e.Name()), func(p string, d os.DirEntry, err error) error {
			if err == nil && !d.IsDir() && strings.HasSuffix(p, ".go") && !strings.HasSuffix(p, "_test.go") {
				hasGo = true
				return filepath.SkipAll
			}
			return nil
		})
		if hasGo && !strings.Contains(ignore, "\n!"+e.Name()+"/\n") {
			t.Errorf("Dockerfile.dockerignore leaves %s/ out of the build context", e.Name())
		}
	}
}

// checkComposeSchema validates a compose file against the Compose
// Specification's JSON schema (testdata/compose-spec.json, from
// github.com/compose-spec/compose-go/v2 v2.16.2, schema/compose-spec.json,
// Apache-2.0), which Docker Compose applies too.
func checkComposeSchema(t *testing.T, path string) {
	t.Helper()
	schema, err := jsonschema.NewCompiler().Compile("testdata/compose-spec.json")
	if err != nil {
		t.Fatal(err)
	}
	var doc any
	decodeYAML(t, path, &doc)
	data, err := json.Marshal(doc) // YAML's ints and maps as JSON's, for the validator
	if err != nil {
		t.Fatal(err)
	}
	inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	if err := schema.Validate(inst); err != nil {
		t.Errorf("%s against the Compose Specification: %v", path, err)
	}
}
