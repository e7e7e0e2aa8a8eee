-- ClickHouse migration 5: route-server session snapshots
-- The statements as ixpd runs them: {db} is the database; {local} is "" on one server and "_local" in a
-- cluster; {cluster} is the cluster's name. Recorded by TestMigrationSnapshots -update; never edit:
-- released migrations do not change.

-- On every server:
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
ORDER BY (time, address);

-- Then, in a cluster, on every server:
CREATE TABLE IF NOT EXISTS {db}.routeserver_sessions AS {db}.routeserver_sessions_local
ENGINE = Distributed({cluster}, '{db}', 'routeserver_sessions_local', cityHash64(address));
