package clickhouse_test

import (
	"context"
	"fmt"
	"slices"
	"testing"

	"github.com/ixpd/ixpd/analytics/clickhouse"
	"github.com/ixpd/ixpd/analytics/clickhouse/chtest"
	"github.com/ixpd/ixpd/analytics/storetest"
)

// TestMigrateFromEach migrates a database of every older schema version,
// with the data that version holds, on one server and on a cluster of two.
// On a server older than a version gate (18.16 and LowCardinality), a
// version past the gate exists in two forms: the gated migration pending,
// as such a server runs it, and applied, as a server upgraded since ran it
// (made here with the experimental setting 18.16 needs).
func TestMigrateFromEach(t *testing.T) {
	srv := chtest.Shared(t)
	var version string
	if err := srv.Conn(t).QueryRow(t.Context(), "SELECT version()").Scan(&version); err != nil {
		t.Fatal(err)
	}
	oldServer := clickhouse.PreLowCardinality(version)
	t.Run("server", func(t *testing.T) {
		migrateFromEach(t, false, func(t *testing.T) *clickhouse.Store { return open(t, srv, nil) })
	})
	if oldServer {
		t.Run("server_gated_applied", func(t *testing.T) {
			migrateFromEach(t, true, func(t *testing.T) *clickhouse.Store { return open(t, srv, nil) })
		})
	}
	t.Run("cluster", func(t *testing.T) {
		c := chtest.SharedCluster(t)
		migrateFromEach(t, false, func(t *testing.T) *clickhouse.Store {
			return openConfig(t, clusterConfig(c, 0, c.NewDatabase(t)), nil)
		})
	})
}

// migrateFromEach runs storetest.MigrateFromEach on stores from open, each
// over a new database; with gated, the gated migrations are applied on
// every server whatever its version, and only the versions past a gate
// are tried.
func migrateFromEach(t *testing.T, gated bool, open func(t *testing.T) *clickhouse.Store) {
	first := 0
	if gated {
		first = 3 // below, no gated migration is applied yet: the same as without gates
	}
	storetest.MigrateFromEach(t, first, clickhouse.LatestVersion(), func(t *testing.T, version int) storetest.OldSchema {
		s := open(t)
		ctx := t.Context()
		if version > 0 { // 0: no database at all
			if err := clickhouse.MigrateTo(ctx, s, version, gated); err != nil {
				t.Fatalf("migrate to version %d: %v", version, err)
			}
			applied, waiting, err := clickhouse.Migrations(ctx, s)
			if err != nil {
				t.Fatal(err)
			}
			for addr, got := range applied {
				var want []uint32
				for v := uint32(1); v <= uint32(version); v++ {
					if !slices.Contains(waiting[addr], v) {
						want = append(want, v)
					}
				}
				if !slices.Equal(got, want) {
					t.Fatalf("server %s: migrations %v applied for version %d, want %v", addr, got, version, want)
				}
			}
		}
		return storetest.OldSchema{
			Store:    s,
			Flows:    version >= 1,
			Rollups:  version >= 2,
			Latency:  version >= 4,
			Sessions: version >= 5,
			Latest: func(ctx context.Context) error {
				applied, waiting, err := clickhouse.Migrations(ctx, s)
				if err != nil {
					return err
				}
				if len(applied) == 0 {
					return fmt.Errorf("no server has migrations")
				}
				for addr, got := range applied {
					var want []uint32
					for v := uint32(1); v <= uint32(clickhouse.LatestVersion()); v++ {
						if !slices.Contains(waiting[addr], v) {
							want = append(want, v)
						}
					}
					if !slices.Equal(got, want) {
						return fmt.Errorf("server %s: migrations %v applied, want %v (%v wait for a newer server)", addr, got, want, waiting[addr])
					}
					if gated && len(waiting[addr]) > 0 {
						return fmt.Errorf("server %s: migrations %v wait for a newer server after being applied", addr, waiting[addr])
					}
				}
				return nil
			},
		}
	})
}
