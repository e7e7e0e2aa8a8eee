package clickhouse

import (
	"context"

	chgo "github.com/ClickHouse/clickhouse-go/v2"
)

// DatabaseOf returns the store's database.
func DatabaseOf(s *Store) string { return s.cfg.Database }

// PreLowCardinality reports whether a server of this version is older than
// the LowCardinality gate.
func PreLowCardinality(version string) bool {
	v, err := parseVersion(version)
	return err == nil && !v.atLeast(serverVersion{19, 3, 0})
}

// LatestVersion is the number of migrations.
func LatestVersion() int { return len(migrations) }

// MigrateTo applies the migrations up to version on every server of s, the
// gated ones as each server allows; with gated, the gated ones on every
// server, with the experimental setting that lets 18.16 create
// LowCardinality columns.
func MigrateTo(ctx context.Context, s *Store, version int, gated bool) error {
	var steps []migration
	for _, m := range migrations {
		if int(m.version) <= version {
			steps = append(steps, m)
		}
	}
	if !gated {
		return s.migrateSteps(ctx, nil, steps)
	}
	newest := serverVersion{}
	for _, m := range migrations {
		if m.minServer.atLeast(newest) {
			newest = m.minServer
		}
	}
	ctx = chgo.Context(ctx, chgo.WithSettings(chgo.Settings{"allow_experimental_low_cardinality_type": 1}))
	return s.migrateSteps(ctx, &newest, steps)
}

// Migrations lists, for every server of s, the migrations applied there
// and those that wait for a newer server than it is.
func Migrations(ctx context.Context, s *Store) (applied, waiting map[string][]uint32, err error) {
	applied, waiting = map[string][]uint32{}, map[string][]uint32{}
	for _, n := range s.nodes {
		done, err := s.appliedMigrations(ctx, n.conn)
		if err != nil {
			return nil, nil, err
		}
		s.mu.Lock()
		v := s.versions[n.addr]
		s.mu.Unlock()
		for _, m := range migrations {
			if done[m.version] {
				applied[n.addr] = append(applied[n.addr], m.version)
			} else if !v.atLeast(m.minServer) {
				waiting[n.addr] = append(waiting[n.addr], m.version)
			}
		}
	}
	return applied, waiting, nil
}
