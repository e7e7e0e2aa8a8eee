package clickhouse

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
)

// serverVersion is a ClickHouse version, as SELECT version() prints it
// ("18.16.1", "24.8.4.13"): year-ish major, minor, patch.
type serverVersion struct{ major, minor, patch int }

func parseVersion(s string) (serverVersion, error) {
	parts := strings.Split(strings.TrimSpace(s), ".")
	if len(parts) < 2 {
		return serverVersion{}, fmt.Errorf("server version %q is not major.minor[.patch...]", s)
	}
	var n [3]int
	for i := 0; i < 3 && i < len(parts); i++ {
		v, err := strconv.Atoi(parts[i])
		if err != nil || v < 0 {
			return serverVersion{}, fmt.Errorf("server version %q is not major.minor[.patch...]", s)
		}
		n[i] = v
	}
	return serverVersion{n[0], n[1], n[2]}, nil
}

func (v serverVersion) String() string {
	if v == (serverVersion{}) {
		return ""
	}
	return fmt.Sprintf("%d.%d.%d", v.major, v.minor, v.patch)
}

// atLeast reports whether v is o or newer.
func (v serverVersion) atLeast(o serverVersion) bool {
	if v.major != o.major {
		return v.major > o.major
	}
	if v.minor != o.minor {
		return v.minor > o.minor
	}
	return v.patch >= o.patch
}

// migration is one versioned schema change. Statements are run in order,
// one native query each, with {db} replaced by the database name and
// {local} by "" on one server or "_local" in a cluster (the tables that
// hold the data); each must be idempotent (IF NOT EXISTS, or an ALTER that
// can run twice) so that a migration interrupted halfway can run again.
// In a cluster, the distributed statements follow on every server, with
// {cluster} replaced by the cluster name as a string literal: they create
// or change the Distributed tables over the local ones.
//
// A migration with a minServer is a version gate: on an older server it is
// skipped and stays pending, and runs on the first Migrate after the server
// is upgraded. Gated migrations must not be needed by later ones.
type migration struct {
	version     uint32
	description string
	minServer   serverVersion
	statements  []string
	distributed []string
}

// Version gates, exactly:
//   - LowCardinality(String) for the two country columns from 19.3 (in
//     18.16 the type is experimental, behind allow_experimental_low_cardinality_type;
//     19.3.3 of 2019-02-13 made that setting obsolete). Before: String.
//
// Not used on any version, so that the schema stays one schema:
//   - TTL (19.6): retention is decided per call by ApplyRetention, which
//     drops partitions on every version; a TTL would fix the periods at
//     migration time.
//   - The IPv6 type (19.3): stored exactly like FixedString(16), which
//     every version reads with the IPv6NumToString family of functions.
//   - Column codecs (19.1.6; a codec cache bug was fixed in 19.3.7): the
//     default LZ4 is kept.
var migrations = []migration{
	{
		version:     1,
		description: "raw flows",
		statements: []string{`
CREATE TABLE IF NOT EXISTS {db}.flows{local} (
    time_received DateTime('UTC'),
    exporter      FixedString(16),
    protocol      UInt8,
    sampling_rate UInt32,
    bytes         UInt64,
    packets       UInt64,
    src_addr      FixedString(16),
    dst_addr      FixedString(16),
    src_port      UInt16,
    dst_port      UInt16,
    ip_proto      UInt8,
    etype         UInt16,
    in_if         UInt32,
    out_if        UInt32,
    src_mac       UInt64,
    dst_mac       UInt64,
    src_as        UInt32,
    dst_as        UInt32,
    role          UInt8,
    src_member    UInt32,
    dst_member    UInt32,
    ixp_exchanged UInt8,
    path_class    UInt8,
    src_country   String,
    dst_country   String,
    domestic      UInt8
) ENGINE = MergeTree
PARTITION BY toYYYYMMDD(time_received)
ORDER BY (toStartOfHour(time_received), exporter, time_received)`},
		// Sharded by exporter and member pair, the columns of the
		// rollup key that spread traffic: every rollup key lives on
		// one shard (the rollups merge as on one server), and an
		// exchange's thousands of member pairs balance the shards
		// where its few exporters would not.
		distributed: []string{`
CREATE TABLE IF NOT EXISTS {db}.flows AS {db}.flows_local
ENGINE = Distributed({cluster}, '{db}', 'flows_local', cityHash64(exporter, src_member, dst_member))`},
	},
	{
		version:     2,
		description: "5-minute rollups",
		statements: []string{`
CREATE TABLE IF NOT EXISTS {db}.flows_5m{local} (
    bin           DateTime('UTC'),
    role          UInt8,
    ixp_exchanged UInt8,
    domestic      UInt8,
    path_class    UInt8,
    src_member    UInt32,
    dst_member    UInt32,
    family        UInt8,
    exporter      FixedString(16),
    bytes         UInt64,
    packets       UInt64,
    flows         UInt64
) ENGINE = SummingMergeTree((bytes, packets, flows))
PARTITION BY toYYYYMM(bin)
ORDER BY (bin, role, ixp_exchanged, domestic, path_class, src_member, dst_member, family, exporter)`,
			// The bin is computed on the Unix time, so that it does not
			// depend on any time zone; family follows analytics.GroupFamily.
			`
CREATE MATERIALIZED VIEW IF NOT EXISTS {db}.flows_5m_mv TO {db}.flows_5m{local} AS
SELECT
    toDateTime(intDiv(toUInt32(time_received), 300) * 300, 'UTC') AS bin,
    role,
    ixp_exchanged,
    domestic,
    path_class,
    src_member,
    dst_member,
    toUInt8(multiIf(etype = 2048, 4, etype = 34525, 6, 0)) AS family,
    exporter,
    bytes,
    packets,
    toUInt64(1) AS flows
FROM {db}.flows{local}`},
		// The view fills each shard's rollups from its own raw flows;
		// reads sum over shards with GROUP BY. No sharding key: the
		// table takes no INSERT.
		distributed: []string{`
CREATE TABLE IF NOT EXISTS {db}.flows_5m AS {db}.flows_5m_local
ENGINE = Distributed({cluster}, '{db}', 'flows_5m_local')`},
	},
	{
		version:     3,
		description: "LowCardinality countries",
		minServer:   serverVersion{19, 3, 0},
		statements: []string{`
ALTER TABLE {db}.flows{local}
    MODIFY COLUMN src_country LowCardinality(String),
    MODIFY COLUMN dst_country LowCardinality(String)`},
		distributed: []string{`
ALTER TABLE {db}.flows
    MODIFY COLUMN src_country LowCardinality(String),
    MODIFY COLUMN dst_country LowCardinality(String)`},
	},
	{
		version:     4,
		description: "latency bins",
		// One row per target and bin: a bin written again is a new row
		// that replaces the old one when their parts merge, and reads use
		// FINAL so that they see only the last row before that (see
		// Latency). Rows that replace each other share their key, so they
		// share their partition. Monthly partitions like the rollups',
		// dropped with the rollup retention: daily ones would make 1,826
		// partitions over the default five years, past the 1,000 that
		// ClickHouse recommends, and current servers refuse an insert that
		// spans more than 100 partitions (max_partitions_per_insert_block).
		statements: []string{`
CREATE TABLE IF NOT EXISTS {db}.latency_5m{local} (
    time          DateTime('UTC'),
    target        String,
    sent          UInt32,
    received      UInt32,
    min_ms        Float64,
    median_ms     Float64,
    mean_ms       Float64,
    p95_ms        Float64,
    max_ms        Float64,
    jitter_ms     Float64,
    jitter_sum_ms Float64,
    jitter_n      UInt32,
    buckets       Array(UInt16),
    counts        Array(UInt32)
) ENGINE = ReplacingMergeTree
PARTITION BY toYYYYMM(time)
ORDER BY (target, time)`},
		// Sharded by target: a bin written again lands on the shard of
		// the row it replaces, where FINAL (which works per shard) and
		// the merges see both.
		distributed: []string{`
CREATE TABLE IF NOT EXISTS {db}.latency_5m AS {db}.latency_5m_local
ENGINE = Distributed({cluster}, '{db}', 'latency_5m_local', cityHash64(target))`},
	},
	{
		version:     5,
		description: "route-server session snapshots",
		// One row per session address and snapshot time (whole seconds),
		// on latency_5m's pattern: a snapshot written again is a new row
		// that replaces the old one when their parts merge, and reads use
		// FINAL (see Sessions). Ordered by time first, as reads select a
		// time range of every session; monthly partitions dropped with
		// the rollup retention. The reject reasons are two arrays, the
		// codes ascending and their counts.
		statements: []string{`
CREATE TABLE IF NOT EXISTS {db}.routeserver_sessions{local} (
    time          DateTime('UTC'),
    asn           UInt32,
    address       String,
    up            UInt8,
    received      UInt32,
    accepted      UInt32,
    filtered      UInt32,
    rpki_valid    UInt32,
    rpki_unknown  UInt32,
    rpki_invalid  UInt32,
    irr_valid     UInt32,
    reason_codes  Array(UInt16),
    reason_counts Array(UInt32)
) ENGINE = ReplacingMergeTree
PARTITION BY toYYYYMM(time)
ORDER BY (time, address)`},
		// Sharded by address: a snapshot written again lands on the
		// shard of the row it replaces, where FINAL and the merges see
		// both.
		distributed: []string{`
CREATE TABLE IF NOT EXISTS {db}.routeserver_sessions AS {db}.routeserver_sessions_local
ENGINE = Distributed({cluster}, '{db}', 'routeserver_sessions_local', cityHash64(address))`},
	},
}

// Migrate creates the database if needed and applies the migrations that
// are not applied yet and that the server supports. It can run any number
// of times, also concurrently from several processes. In a cluster it
// does so on every server (Configuration.Shards, and Addr), each with its
// own schema_migrations table, after checking that each knows the
// cluster.
func (s *Store) Migrate(ctx context.Context) error {
	if err := s.usable(ctx); err != nil {
		return s.fail(opMigrate, err)
	}
	if err := s.migrate(ctx, nil); err != nil {
		return s.fail(opMigrate, err)
	}
	return nil
}

// migrate does Migrate's work. pretend, when not nil, replaces the server's
// version for the gates (tests run the gated DDL on 18.16 with the
// experimental settings it needs).
func (s *Store) migrate(ctx context.Context, pretend *serverVersion) error {
	return s.migrateSteps(ctx, pretend, migrations)
}

// migrateSteps applies those of steps that are not applied yet on every
// server of the store (tests build the schema of an older release with a
// prefix of migrations).
func (s *Store) migrateSteps(ctx context.Context, pretend *serverVersion, steps []migration) error {
	for _, n := range s.nodes {
		if err := s.migrateNode(ctx, n, pretend, steps); err != nil {
			if s.clustered() {
				return fmt.Errorf("server %s: %w", n.addr, err)
			}
			return err
		}
	}
	return nil
}

// migrateNode applies steps on one server.
func (s *Store) migrateNode(ctx context.Context, n node, pretend *serverVersion, steps []migration) error {
	var raw string
	if err := n.conn.QueryRow(ctx, "SELECT version()").Scan(&raw); err != nil {
		return fmt.Errorf("read server version: %w", err)
	}
	version, err := parseVersion(raw)
	if err != nil {
		return err
	}
	s.mu.Lock()
	if s.versions == nil {
		s.versions = map[string]serverVersion{}
	}
	changed := s.versions[n.addr] != version
	s.versions[n.addr] = version
	if n.addr == s.cfg.Addr {
		s.version = version
	}
	s.mu.Unlock()
	if changed {
		s.logger.Info("clickhouse server", "server", n.addr, "server_version", version.String())
	}
	gate := version
	if pretend != nil {
		gate = *pretend
	}
	if s.clustered() {
		if err := s.checkCluster(ctx, n); err != nil {
			return err
		}
	}

	if err := n.conn.Exec(ctx, "CREATE DATABASE IF NOT EXISTS "+s.cfg.Database); err != nil {
		return fmt.Errorf("create database %s: %w", s.cfg.Database, err)
	}
	if err := s.checkLayout(ctx, n); err != nil {
		return err
	}
	err = n.conn.Exec(ctx, s.expand(`
CREATE TABLE IF NOT EXISTS {db}.schema_migrations (
    version        UInt32,
    description    String,
    applied_at     DateTime('UTC'),
    server_version String
) ENGINE = MergeTree
ORDER BY version`))
	if err != nil {
		return fmt.Errorf("create %s: %w", tableMigrations, err)
	}
	applied, err := s.appliedMigrations(ctx, n.conn)
	if err != nil {
		return err
	}
	for _, m := range steps {
		if applied[m.version] {
			continue
		}
		if !gate.atLeast(m.minServer) {
			s.logger.Info("schema migration waits for a newer server", "migration", m.version,
				"description", m.description, "server", n.addr, "server_version", version.String(),
				"needs", m.minServer.String())
			continue
		}
		stmts := m.statements
		if s.clustered() {
			stmts = slices.Concat(m.statements, m.distributed)
		}
		for _, stmt := range stmts {
			if err := n.conn.Exec(ctx, s.expand(stmt)); err != nil {
				return fmt.Errorf("migration %d (%s): %w", m.version, m.description, err)
			}
		}
		if err := s.recordMigration(ctx, n.conn, m, version); err != nil {
			return err
		}
		s.logger.Info("schema migration applied", "migration", m.version, "description", m.description,
			"server", n.addr, "server_version", version.String())
	}
	return nil
}

// expand fills in a statement's placeholders (see migration).
func (s *Store) expand(stmt string) string {
	local, cluster := "", ""
	if s.clustered() {
		// The cluster name is checked to need no escaping
		// (Configuration.Validate).
		local, cluster = localSuffix, "'"+s.cfg.Cluster+"'"
	}
	return strings.TrimSpace(strings.NewReplacer("{db}", s.cfg.Database, "{local}", local, "{cluster}", cluster).Replace(stmt))
}

func (s *Store) appliedMigrations(ctx context.Context, conn driver.Conn) (map[uint32]bool, error) {
	rows, err := conn.Query(ctx, "SELECT DISTINCT version FROM "+s.table(tableMigrations))
	if err != nil {
		return nil, fmt.Errorf("read applied migrations: %w", err)
	}
	defer func() { _ = rows.Close() }()
	applied := map[uint32]bool{}
	for rows.Next() {
		var v uint32
		if err := rows.Scan(&v); err != nil {
			return nil, fmt.Errorf("read applied migrations: %w", err)
		}
		applied[v] = true
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read applied migrations: %w", err)
	}
	return applied, nil
}

func (s *Store) recordMigration(ctx context.Context, conn driver.Conn, m migration, version serverVersion) error {
	batch, err := conn.PrepareBatch(ctx, "INSERT INTO "+s.table(tableMigrations)+
		" (version, description, applied_at, server_version)")
	if err != nil {
		return fmt.Errorf("record migration %d: %w", m.version, err)
	}
	if err := batch.Append(m.version, m.description, time.Now().UTC(), version.String()); err != nil {
		_ = batch.Abort()
		return fmt.Errorf("record migration %d: %w", m.version, err)
	}
	if err := batch.Send(); err != nil {
		return fmt.Errorf("record migration %d: %w", m.version, err)
	}
	return nil
}
