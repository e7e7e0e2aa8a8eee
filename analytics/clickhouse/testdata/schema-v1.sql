-- ClickHouse migration 1: raw flows
-- The statements as ixpd runs them: {db} is the database; {local} is "" on one server and "_local" in a
-- cluster; {cluster} is the cluster's name. Recorded by TestMigrationSnapshots -update; never edit:
-- released migrations do not change.

-- On every server:
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
ORDER BY (toStartOfHour(time_received), exporter, time_received);

-- Then, in a cluster, on every server:
CREATE TABLE IF NOT EXISTS {db}.flows AS {db}.flows_local
ENGINE = Distributed({cluster}, '{db}', 'flows_local', cityHash64(exporter, src_member, dst_member));
