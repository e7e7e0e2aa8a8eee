-- ClickHouse migration 3: LowCardinality countries
-- Runs on servers from 19.3.0 on; waits on older ones.
-- The statements as ixpd runs them: {db} is the database; {local} is "" on one server and "_local" in a
-- cluster; {cluster} is the cluster's name. Recorded by TestMigrationSnapshots -update; never edit:
-- released migrations do not change.

-- On every server:
ALTER TABLE {db}.flows{local}
    MODIFY COLUMN src_country LowCardinality(String),
    MODIFY COLUMN dst_country LowCardinality(String);

-- Then, in a cluster, on every server:
ALTER TABLE {db}.flows
    MODIFY COLUMN src_country LowCardinality(String),
    MODIFY COLUMN dst_country LowCardinality(String);
