package duckdb

import (
	"context"
	"database/sql"
	"fmt"
	"time"
)

// Table names.
const (
	tableFlows    = "flows"
	tableRollup   = "flows_5m"
	tableLatency  = "latency_5m"
	tableSessions = "routeserver_sessions"
)

// migration is one step of the schema; its version is its position in
// migrations, counted from 1. Released steps never change: a new schema is
// a new step at the end.
type migration struct {
	name       string
	statements []string
}

// migrations is the schema history, applied in order, each step in its own
// transaction together with its row in schema_migrations.
var migrations = []migration{
	{
		name: "raw flows and 5-minute rollups",
		statements: []string{
			// Addresses are 16 bytes (IPv4 as IPv4-mapped IPv6), the same as
			// ClickHouse's FixedString(16); missing ones are all zeros.
			// Countries are ISO 3166-1 alpha-2 or "": the checks make a bad
			// batch fail whole instead of storing junk. day exists for
			// retention, which deletes whole days (DuckDB has no
			// partitions; its zone maps make day-range deletes cheap).
			`CREATE TABLE flows (
				time_received TIMESTAMP NOT NULL,
				day           DATE NOT NULL,
				exporter      BLOB NOT NULL,
				protocol      UTINYINT NOT NULL,
				sampling_rate UINTEGER NOT NULL,
				bytes         UBIGINT NOT NULL,
				packets       UBIGINT NOT NULL,
				src_addr      BLOB NOT NULL,
				dst_addr      BLOB NOT NULL,
				src_port      USMALLINT NOT NULL,
				dst_port      USMALLINT NOT NULL,
				proto         UTINYINT NOT NULL,
				etype         USMALLINT NOT NULL,
				in_if         UINTEGER NOT NULL,
				out_if        UINTEGER NOT NULL,
				src_mac       UBIGINT NOT NULL,
				dst_mac       UBIGINT NOT NULL,
				src_as        UINTEGER NOT NULL,
				dst_as        UINTEGER NOT NULL,
				role          UTINYINT NOT NULL,
				src_member    UINTEGER NOT NULL,
				dst_member    UINTEGER NOT NULL,
				ixp_exchanged BOOLEAN NOT NULL,
				path_class    UTINYINT NOT NULL,
				src_country   VARCHAR NOT NULL CHECK (strlen(src_country) <= 2),
				dst_country   VARCHAR NOT NULL CHECK (strlen(dst_country) <= 2),
				domestic      BOOLEAN NOT NULL
			)`,
			// One row per bin and key (merged by WriteFlows); no index, as
			// an ART index over years of rollups would not fit in memory.
			`CREATE TABLE flows_5m (
				bin           TIMESTAMP NOT NULL,
				exporter      BLOB NOT NULL,
				role          UTINYINT NOT NULL,
				path_class    UTINYINT NOT NULL,
				src_member    UINTEGER NOT NULL,
				dst_member    UINTEGER NOT NULL,
				family        UTINYINT NOT NULL,
				ixp_exchanged BOOLEAN NOT NULL,
				domestic      BOOLEAN NOT NULL,
				bytes         UBIGINT NOT NULL,
				packets       UBIGINT NOT NULL,
				flows         UBIGINT NOT NULL
			)`,
		},
	},
	{
		name: "latency bins",
		statements: []string{
			// One row per target and bin: WriteLatency deletes the rows of
			// the batch's (target, time) pairs and inserts the new ones in
			// one transaction. No primary key, for the rollups' reason (an
			// ART index over years of bins would live in memory); zone
			// maps on time keep the delete and reads to the bins' row
			// groups. Retention deletes whole days, with the rollups.
			// Target names compare and sort bytewise, like ClickHouse's,
			// whatever default_collation the database file is opened with.
			`CREATE TABLE latency_5m (
				time          TIMESTAMP NOT NULL,
				target        VARCHAR COLLATE "binary" NOT NULL,
				sent          UINTEGER NOT NULL,
				received      UINTEGER NOT NULL,
				min_ms        DOUBLE NOT NULL,
				median_ms     DOUBLE NOT NULL,
				mean_ms       DOUBLE NOT NULL,
				p95_ms        DOUBLE NOT NULL,
				max_ms        DOUBLE NOT NULL,
				jitter_ms     DOUBLE NOT NULL,
				jitter_sum_ms DOUBLE NOT NULL,
				jitter_n      UINTEGER NOT NULL,
				buckets       USMALLINT[] NOT NULL,
				counts        UINTEGER[] NOT NULL,
				CHECK (len(buckets) = len(counts))
			)`,
		},
	},
	{
		name: "route-server session snapshots",
		statements: []string{
			// One row per session address and snapshot time (whole
			// seconds): WriteSessions deletes the rows of the batch's
			// (address, time) pairs and inserts the new ones in one
			// transaction, as WriteLatency does, for the same reasons
			// without a primary key. Retention deletes whole days, with
			// the rollups. Addresses compare and sort bytewise. The reject
			// reasons are two lists, the codes ascending and their counts.
			`CREATE TABLE routeserver_sessions (
				time          TIMESTAMP NOT NULL,
				asn           UINTEGER NOT NULL,
				address       VARCHAR COLLATE "binary" NOT NULL,
				up            BOOLEAN NOT NULL,
				received      UINTEGER NOT NULL,
				accepted      UINTEGER NOT NULL,
				filtered      UINTEGER NOT NULL,
				rpki_valid    UINTEGER NOT NULL,
				rpki_unknown  UINTEGER NOT NULL,
				rpki_invalid  UINTEGER NOT NULL,
				irr_valid     UINTEGER NOT NULL,
				reason_codes  USMALLINT[] NOT NULL,
				reason_counts UINTEGER[] NOT NULL,
				CHECK (len(reason_codes) = len(reason_counts))
			)`,
		},
	},
}

// Migrate creates the schema or brings it up to date. It is safe to call
// on every start.
func (s *Store) Migrate(ctx context.Context) error {
	if err := s.migrate(ctx); err != nil {
		return s.fail(opMigrate, err)
	}
	return nil
}

func (s *Store) migrate(ctx context.Context) error {
	return s.migrateTo(ctx, len(migrations))
}

// migrateTo applies the migrations up to version target (tests build the
// schema of an older release with it).
func (s *Store) migrateTo(ctx context.Context, target int) error {
	db, err := s.database()
	if err != nil {
		return err
	}
	s.writeMu.Lock()
	defer s.writeMu.Unlock()
	if _, err := db.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
			version    INTEGER PRIMARY KEY,
			name       VARCHAR NOT NULL,
			applied_at TIMESTAMP NOT NULL
		)`); err != nil {
		return fmt.Errorf("create schema_migrations: %w", err)
	}
	var current int
	if err := db.QueryRowContext(ctx, `SELECT coalesce(max(version), 0) FROM schema_migrations`).Scan(&current); err != nil {
		return fmt.Errorf("read schema version: %w", err)
	}
	if current > len(migrations) {
		return fmt.Errorf("schema version %d is newer than this ixpd knows (%d)", current, len(migrations))
	}
	for i, m := range migrations[min(current, target):target] {
		version := current + i + 1
		if err := apply(ctx, db, version, m); err != nil {
			return fmt.Errorf("migration %d (%s): %w", version, m.name, err)
		}
		s.logger.Info("schema migrated", "version", version, "migration", m.name)
	}
	return nil
}

func apply(ctx context.Context, db *sql.DB, version int, m migration) error {
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer func() { _ = tx.Rollback() }() // fails harmlessly after Commit
	for _, stmt := range m.statements {
		if _, err := tx.ExecContext(ctx, stmt); err != nil {
			return err
		}
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO schema_migrations VALUES (?, ?, ?)`,
		version, m.name, time.Now().UTC()); err != nil {
		return err
	}
	return tx.Commit()
}
