package clickhouse

import "context"

// DatabaseOf returns the store's database.
func DatabaseOf(s *Store) string { return s.cfg.Database }

// PreLowCardinality reports whether a server of this version is older than
// the LowCardinality gate.
func PreLowCardinality(version string) bool {
	v, err := parseVersion(version)
	return err == nil && !v.atLeast(serverVersion{19, 3, 0})
}

// MigrateBeforeLatency applies the migrations of the releases before the
// latency table (versions 1–3; 3 stays pending on 18.16).
func MigrateBeforeLatency(ctx context.Context, s *Store) error {
	var steps []migration
	for _, m := range migrations {
		if m.version < 4 {
			steps = append(steps, m)
		}
	}
	return s.migrateSteps(ctx, nil, steps)
}
