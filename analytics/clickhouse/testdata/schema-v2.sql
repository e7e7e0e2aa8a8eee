-- ClickHouse migration 2: 5-minute rollups
-- The statements as ixpd runs them: {db} is the database; {local} is "" on one server and "_local" in a
-- cluster; {cluster} is the cluster's name. Recorded by TestMigrationSnapshots -update; never edit:
-- released migrations do not change.

-- On every server:
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
ORDER BY (bin, role, ixp_exchanged, domestic, path_class, src_member, dst_member, family, exporter);
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
FROM {db}.flows{local};

-- Then, in a cluster, on every server:
CREATE TABLE IF NOT EXISTS {db}.flows_5m AS {db}.flows_5m_local
ENGINE = Distributed({cluster}, '{db}', 'flows_5m_local');
