-- ClickHouse migration 4: latency bins
-- The statements as ixpd runs them: {db} is the database; {local} is "" on one server and "_local" in a
-- cluster; {cluster} is the cluster's name. Recorded by TestMigrationSnapshots -update; never edit:
-- released migrations do not change.

-- On every server:
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
ORDER BY (target, time);

-- Then, in a cluster, on every server:
CREATE TABLE IF NOT EXISTS {db}.latency_5m AS {db}.latency_5m_local
ENGINE = Distributed({cluster}, '{db}', 'latency_5m_local', cityHash64(target));
