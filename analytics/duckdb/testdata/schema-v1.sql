-- The schema of an ixpd DuckDB store at version 1 (migrations 1-1), as DuckDB describes it.
-- Recorded by TestSchemaSnapshots -update; never edit: released migrations do not change.

CREATE TABLE flows(time_received TIMESTAMP NOT NULL, "day" DATE NOT NULL, exporter BLOB NOT NULL, protocol UTINYINT NOT NULL, sampling_rate UINTEGER NOT NULL, bytes UBIGINT NOT NULL, packets UBIGINT NOT NULL, src_addr BLOB NOT NULL, dst_addr BLOB NOT NULL, src_port USMALLINT NOT NULL, dst_port USMALLINT NOT NULL, proto UTINYINT NOT NULL, etype USMALLINT NOT NULL, in_if UINTEGER NOT NULL, out_if UINTEGER NOT NULL, src_mac UBIGINT NOT NULL, dst_mac UBIGINT NOT NULL, src_as UINTEGER NOT NULL, dst_as UINTEGER NOT NULL, "role" UTINYINT NOT NULL, src_member UINTEGER NOT NULL, dst_member UINTEGER NOT NULL, ixp_exchanged BOOLEAN NOT NULL, path_class UTINYINT NOT NULL, src_country VARCHAR NOT NULL, dst_country VARCHAR NOT NULL, domestic BOOLEAN NOT NULL, CHECK((strlen(src_country) <= 2)), CHECK((strlen(dst_country) <= 2)));

CREATE TABLE flows_5m(bin TIMESTAMP NOT NULL, exporter BLOB NOT NULL, "role" UTINYINT NOT NULL, path_class UTINYINT NOT NULL, src_member UINTEGER NOT NULL, dst_member UINTEGER NOT NULL, "family" UTINYINT NOT NULL, ixp_exchanged BOOLEAN NOT NULL, domestic BOOLEAN NOT NULL, bytes UBIGINT NOT NULL, packets UBIGINT NOT NULL, flows UBIGINT NOT NULL);

CREATE TABLE schema_migrations("version" INTEGER PRIMARY KEY, "name" VARCHAR NOT NULL, applied_at TIMESTAMP NOT NULL);
