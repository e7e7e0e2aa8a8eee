package clickhouse

import (
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

var update = flag.Bool("update", false, "record the snapshots of new migrations in testdata (existing ones are never rewritten)")

// TestMigrationSnapshots keeps the DDL of every migration, as ixpd runs it,
// in testdata/schema-v<version>.sql. A released migration must never
// change (a database that has it applied would not get the change): this
// test fails when one does. A new migration's snapshot is recorded with
// -update, which never rewrites an existing one.
//
// The DuckDB store keeps the schema as the database describes it; here the
// statements themselves are kept, with their placeholders, because the
// server describes its tables differently from one release to the next,
// and so that the cluster's statements are kept too.
func TestMigrationSnapshots(t *testing.T) {
	for _, m := range migrations {
		t.Run(fmt.Sprintf("v%d", m.version), func(t *testing.T) {
			got := migrationSnapshot(m)
			path := filepath.Join("testdata", fmt.Sprintf("schema-v%d.sql", m.version))
			want, err := os.ReadFile(path)
			switch {
			case errors.Is(err, os.ErrNotExist) && *update:
				if err := os.MkdirAll("testdata", 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
				t.Logf("recorded %s", path)
				return
			case errors.Is(err, os.ErrNotExist):
				t.Fatalf("%s is missing: record the new migration with go test ./analytics/clickhouse/ -run TestMigrationSnapshots -update", path)
			case err != nil:
				t.Fatal(err)
			}
			if diff := cmp.Diff(got, string(want)); diff != "" {
				t.Errorf("migration %d (%s) is not the one released in %s. Released migrations must never change: "+
					"put the change in a new migration. (-now +released):\n%s", m.version, m.description, path, diff)
			}
		})
	}
	extra := filepath.Join("testdata", fmt.Sprintf("schema-v%d.sql", len(migrations)+1))
	if _, err := os.Stat(extra); err == nil {
		t.Errorf("%s exists but there are only %d migrations: a released migration was removed", extra, len(migrations))
	}
}

// migrationSnapshot renders a migration for TestMigrationSnapshots.
func migrationSnapshot(m migration) string {
	var b strings.Builder
	fmt.Fprintf(&b, "-- ClickHouse migration %d: %s\n", m.version, m.description)
	if m.minServer != (serverVersion{}) {
		fmt.Fprintf(&b, "-- Runs on servers from %s on; waits on older ones.\n", m.minServer)
	}
	b.WriteString("-- The statements as ixpd runs them: {db} is the database; {local} is \"\" on one server and \"_local\" in a\n" +
		"-- cluster; {cluster} is the cluster's name. Recorded by TestMigrationSnapshots -update; never edit:\n" +
		"-- released migrations do not change.\n")
	b.WriteString("\n-- On every server:\n")
	for _, stmt := range m.statements {
		b.WriteString(strings.TrimSpace(stmt) + ";\n")
	}
	if len(m.distributed) > 0 {
		b.WriteString("\n-- Then, in a cluster, on every server:\n")
		for _, stmt := range m.distributed {
			b.WriteString(strings.TrimSpace(stmt) + ";\n")
		}
	}
	return b.String()
}
