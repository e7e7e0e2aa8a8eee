-- The schema of an ixpd DuckDB store at version 2 (migrations 1-2), as DuckDB describes it.
-- Recorded by TestSchemaSnapshots -update; never edit: released migrations do not change.

CREATE TABLE flows(time_received TIMESTAMP NOT NULL, "day" DATE NOT NULL, exporter BLOB NOT NULL, protocol UTINYINT NOT NULL, sampling_rate UINTEGER NOT NULL, bytes UBIGINT NOT NULL, packets UBIGINT NOT NULL, src_addr BLOB NOT NULL, dst_addr BLOB NOT NULL, src_port USMALLINT NOT NULL, dst_port USMALLINT NOT NULL, proto UTINYINT NOT NULL, etype USMALLINT NOT NULL, in_if UINTEGER NOT NULL, out_if UINTEGER NOT NULL, src_mac UBIGINT NOT NULL, dst_mac UBIGINT NOT NULL, src_as UINTEGER NOT NULL, dst_as UINTEGER NOT NULL, "role" UTINYINT NOT NULL, src_member UINTEGER NOT NULL, dst_member UINTEGER NOT NULL, ixp_exchanged BOOLEAN NOT NULL, path_class UTINYINT NOT NULL, src_country VARCHAR NOT NULL, dst_country VARCHAR NOT NULL, domestic BOOLEAN NOT NULL, CHECK((strlen(src_country) <= 2)), CHECK((strlen(dst_country) <= 2)));

CREATE TABLE flows_5m(bin TIMESTAMP NOT NULL, exporter BLOB NOT NULL, "role" UTINYINT NOT NULL, path_class UTINYINT NOT NULL, src_member UINTEGER NOT NULL, dst_member UINTEGER NOT NULL, "family" UTINYINT NOT NULL, ixp_exchanged BOOLEAN NOT NULL, domestic BOOLEAN NOT NULL, bytes UBIGINT NOT NULL, packets UBIGINT NOT NULL, flows UBIGINT NOT NULL);

CREATE TABLE latency_5m("time" TIMESTAMP NOT NULL, "target" VARCHAR COLLATE binary NOT NULL, sent UINTEGER NOT NULL, received UINTEGER NOT NULL, min_ms DOUBLE NOT NULL, median_ms DOUBLE NOT NULL, mean_ms DOUBLE NOT NULL, p95_ms DOUBLE NOT NULL, max_ms DOUBLE NOT NULL, jitter_ms DOUBLE NOT NULL, jitter_sum_ms DOUBLE NOT NULL, jitter_n UINTEGER NOT NULL, buckets USMALLINT[] NOT NULL, counts UINTEGER[] NOT NULL, CHECK((len(buckets) = len(counts))));

CREATE TABLE schema_migrations("version" INTEGER PRIMARY KEY, "name" VARCHAR NOT NULL, applied_at TIMESTAMP NOT NULL);
