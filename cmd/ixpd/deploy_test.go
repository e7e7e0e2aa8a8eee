package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"go.yaml.in/yaml/v3"
)

// deployView is what a deployment's configuration must get right.
type deployView struct {
	Driver     string
	DuckDBPath string
	SpoolDir   string
	RSListen   string
	APIListen  string
	CHAddr     string
	CHUser     string
	Cluster    string
	Shards     []string
}

// The configurations under deploy/ pass `ixpd check` with their members
// files: the Debian package's and the compose file's as they are, and the
// ClickHouse examples' storage sections in place of the package config's.
// Everything ixpd writes is under /var/lib/ixpd, the only place the
// systemd unit (and the compose file's read-only container) lets it write.
func TestDeployConfigs(t *testing.T) {
	tests := []struct {
		name    string
		config  string // a whole configuration, beside its members.json
		storage string // or a storage section for the package's configuration
		want    deployView
	}{
		{
			name:   "debian package",
			config: "../../deploy/debian/ixpd.yaml",
			want: deployView{Driver: "duckdb", DuckDBPath: "/var/lib/ixpd/ixpd.duckdb", SpoolDir: "/var/lib/ixpd/spool",
				RSListen: "0.0.0.0:179", APIListen: "127.0.0.1:8080", CHAddr: "127.0.0.1:9000", CHUser: "default"},
		},
		{
			name:   "compose",
			config: "../../deploy/compose/ixpd.yaml",
			want: deployView{Driver: "clickhouse", DuckDBPath: "data/ixpd.duckdb", SpoolDir: "/var/lib/ixpd/spool",
				RSListen: "0.0.0.0:179", APIListen: "0.0.0.0:8080", CHAddr: "clickhouse:9000", CHUser: "ixpd"},
		},
		{
			name:    "clickhouse single",
			storage: "../../deploy/clickhouse/single/ixpd.yaml",
			want: deployView{Driver: "clickhouse", DuckDBPath: "data/ixpd.duckdb", SpoolDir: "/var/lib/ixpd/spool",
				RSListen: "0.0.0.0:179", APIListen: "127.0.0.1:8080", CHAddr: "127.0.0.1:9000", CHUser: "ixpd"},
		},
		{
			name:    "clickhouse two shards",
			storage: "../../deploy/clickhouse/two-shards/ixpd.yaml",
			want: deployView{Driver: "clickhouse", DuckDBPath: "data/ixpd.duckdb", SpoolDir: "/var/lib/ixpd/spool",
				RSListen: "0.0.0.0:179", APIListen: "127.0.0.1:8080", CHAddr: "10.0.0.11:9000", CHUser: "ixpd",
				Cluster: "ixpd", Shards: []string{"10.0.0.11:9000", "10.0.0.12:9000"}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := tt.config
			if tt.storage != "" {
				path = withStorage(t, "../../deploy/debian/ixpd.yaml", tt.storage)
			}
			var out strings.Builder
			if err := check(path, false, &out); err != nil {
				t.Fatalf("ixpd check -config %s: %v", path, err)
			}
			cfg, err := LoadConfig(path)
			if err != nil {
				t.Fatal(err)
			}
			got := deployView{
				Driver: cfg.Storage.Driver, DuckDBPath: cfg.Storage.DuckDBPath, SpoolDir: cfg.Flow.SpoolDir,
				APIListen: cfg.API.Listen, CHAddr: cfg.Storage.ClickHouse.Addr, CHUser: cfg.Storage.ClickHouse.User,
				Cluster: cfg.Storage.ClickHouse.Cluster, Shards: cfg.Storage.ClickHouse.Shards,
			}
			var listen []string
			for _, l := range cfg.RouteServer.Listen {
				listen = append(listen, l.String())
			}
			got.RSListen = strings.Join(listen, " ")
			if diff := cmp.Diff(got, tt.want); diff != "" {
				t.Errorf("%s (-got +want):\n%s", path, diff)
			}
			for key, p := range map[string]string{"flow.spool_dir": cfg.Flow.SpoolDir, "storage.duckdb_path": cfg.Storage.DuckDBPath} {
				if cfg.Storage.Driver != "duckdb" && key == "storage.duckdb_path" {
					continue
				}
				if !strings.HasPrefix(cfg.resolve(p), "/var/lib/ixpd/") {
					t.Errorf("%s: %s %q is outside /var/lib/ixpd", path, key, p)
				}
			}
		})
	}
}

// withStorage writes a copy of the configuration at base, with the storage
// section of the file at storage, beside a copy of base's members file,
// and returns its path.
func withStorage(t *testing.T, base, storage string) string {
	t.Helper()
	var cfg, section map[string]any
	for path, into := range map[string]*map[string]any{base: &cfg, storage: &section} {
		data, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		if err := yaml.Unmarshal(data, into); err != nil {
			t.Fatalf("%s: %v", path, err)
		}
	}
	if len(section) != 1 || section["storage"] == nil {
		t.Fatalf("%s: want only a storage section, got the keys of %v", storage, section)
	}
	cfg["storage"] = section["storage"]
	data, err := yaml.Marshal(cfg)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	members, err := os.ReadFile(filepath.Join(filepath.Dir(base), "members.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "members.json"), members, 0o644); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "ixpd.yaml")
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}
