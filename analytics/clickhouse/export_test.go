package clickhouse

// DatabaseOf returns the store's database.
func DatabaseOf(s *Store) string { return s.cfg.Database }

// PreLowCardinality reports whether a server of this version is older than
// the LowCardinality gate.
func PreLowCardinality(version string) bool {
	v, err := parseVersion(version)
	return err == nil && !v.atLeast(serverVersion{19, 3, 0})
}
