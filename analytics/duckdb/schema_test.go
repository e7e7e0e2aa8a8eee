package duckdb

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/ixpd/ixpd/analytics/storetest"
)

var update = flag.Bool("update", false, "record the schema snapshots of new migrations in testdata (existing ones are never rewritten)")

// TestMigrateFromEach migrates a database file of every older schema
// version, with the data that version holds, as a new release opens it.
func TestMigrateFromEach(t *testing.T) {
	storetest.MigrateFromEach(t, 0, len(migrations), func(t *testing.T, version int) storetest.OldSchema {
		path := filepath.Join(t.TempDir(), "ixpd.duckdb")
		old := newStore(t, path)
		if err := old.migrateTo(t.Context(), version); err != nil {
			t.Fatal(err)
		}
		if got := schemaVersion(t, old); got != version {
			t.Fatalf("schema version %d after migrateTo(%d)", got, version)
		}
		// Closed and opened again, as the new release finds the file.
		if err := old.Close(); err != nil {
			t.Fatal(err)
		}
		s := newStore(t, path)
		return storetest.OldSchema{
			Store:    s,
			Flows:    version >= 1,
			Rollups:  version >= 1,
			Latency:  version >= 2,
			Sessions: version >= 3,
			Latest: func(ctx context.Context) error {
				db, err := s.database()
				if err != nil {
					return err
				}
				var n, latest int
				if err := db.QueryRowContext(ctx, `SELECT count(*), max(version) FROM schema_migrations`).Scan(&n, &latest); err != nil {
					return err
				}
				if n != len(migrations) || latest != len(migrations) {
					return fmt.Errorf("schema_migrations has %d rows up to version %d, want %d", n, latest, len(migrations))
				}
				return nil
			},
		}
	})
}

// TestSchemaSnapshots keeps the schema of every version as DuckDB
// describes it after migrations 1 to that version, in
// testdata/schema-v<version>.sql. A released migration must never change
// (a database that has it applied would not get the change): this test
// fails when one does. A new migration's snapshot is recorded with
// -update, which never rewrites an existing one.
func TestSchemaSnapshots(t *testing.T) {
	for v := 1; v <= len(migrations); v++ {
		t.Run(fmt.Sprintf("v%d", v), func(t *testing.T) {
			s := newStore(t, memoryPath)
			defer func() { _ = s.Close() }()
			if err := s.migrateTo(t.Context(), v); err != nil {
				t.Fatal(err)
			}
			got := schemaSnapshot(t, s, v)
			path := filepath.Join("testdata", fmt.Sprintf("schema-v%d.sql", v))
			want, err := os.ReadFile(path)
			switch {
			case errors.Is(err, os.ErrNotExist) && *update:
				if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
				t.Logf("recorded %s", path)
				return
			case errors.Is(err, os.ErrNotExist):
				t.Fatalf("%s is missing: record the new migration's schema with go test ./analytics/duckdb/ -run TestSchemaSnapshots -update", path)
			case err != nil:
				t.Fatal(err)
			}
			if diff := cmp.Diff(got, string(want)); diff != "" {
				t.Errorf("the schema of version %d is not the one released in %s: migration %d (%s) or one before it changed. "+
					"Released migrations must never change: put the change in a new migration. (If only DuckDB's rendering "+
					"changed, after an upgrade of duckdb-go: check that, delete testdata/schema-v*.sql and record them again with -update.) (-now +released):\n%s",
					v, path, v, migrations[v-1].name, diff)
			}
		})
	}
	// No snapshot of a migration that is gone.
	extra := filepath.Join("testdata", fmt.Sprintf("schema-v%d.sql", len(migrations)+1))
	if _, err := os.Stat(extra); err == nil {
		t.Errorf("%s exists but there are only %d migrations: a released migration was removed", extra, len(migrations))
	}
}

// schemaSnapshot is the schema of s's database as DuckDB describes it:
// every table, view, index and sequence, by name.
func schemaSnapshot(t *testing.T, s *Store, version int) string {
	t.Helper()
	db, err := s.database()
	if err != nil {
		t.Fatal(err)
	}
	rows, err := db.QueryContext(t.Context(), `SELECT sql FROM (
			SELECT table_name AS name, sql FROM duckdb_tables() WHERE database_name = current_database()
			UNION ALL SELECT view_name, sql FROM duckdb_views() WHERE database_name = current_database() AND NOT internal
			UNION ALL SELECT index_name, sql FROM duckdb_indexes() WHERE database_name = current_database()
			UNION ALL SELECT sequence_name, sql FROM duckdb_sequences() WHERE database_name = current_database()
		) ORDER BY name`)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = rows.Close() }()
	var b strings.Builder
	fmt.Fprintf(&b, "-- The schema of an ixpd DuckDB store at version %d (migrations 1-%d), as DuckDB describes it.\n", version, version)
	b.WriteString("-- Recorded by TestSchemaSnapshots -update; never edit: released migrations do not change.\n")
	for rows.Next() {
		var stmt string
		if err := rows.Scan(&stmt); err != nil {
			t.Fatal(err)
		}
		b.WriteString("\n" + strings.TrimSuffix(stmt, ";") + ";\n")
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return b.String()
}
