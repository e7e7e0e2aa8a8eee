package clickhouse

import (
	"context"
	"fmt"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
)

// A cluster store (Configuration.Cluster) keeps its data in local tables
// on every server, named like the tables of one server with localSuffix,
// and creates Distributed tables of the usual names over them on every
// server (see the distributed statements of migrations):
//
//	flows                Distributed over flows_local, sharded by cityHash64(exporter, src_member, dst_member)
//	flows_5m             Distributed over flows_5m_local (filled on each shard by flows_5m_mv), no sharding key
//	latency_5m           Distributed over latency_5m_local, sharded by cityHash64(target)
//	routeserver_sessions Distributed over routeserver_sessions_local, sharded by cityHash64(address)
//
// Writes and reads use the Distributed tables of the server at Addr, with
// the statements of one server: an INSERT is split among the shards by
// the sharding key and waits until each stored its rows
// (insert_distributed_sync); a SELECT runs on every shard and the server
// at Addr merges the answers (sums of a GROUP BY, FINAL per shard).
// Migrate and ApplyRetention work on each server's local tables
// themselves: 18.16 runs no ON CLUSTER DDL without ZooKeeper, and a
// Distributed table cannot drop partitions.

// localSuffix ends the names of the local tables of a cluster store.
const localSuffix = "_local"

// node is one server that Migrate and ApplyRetention work on: the server
// at Addr, and in a cluster every server of Shards.
type node struct {
	addr  string
	conn  driver.Conn
	shard bool // listed in Configuration.Shards
}

// clustered reports whether the store spans a cluster.
func (s *Store) clustered() bool { return s.cfg.Cluster != "" }

// localTable returns the unqualified name of the table that holds the data
// of one of the store's tables on each server.
func (s *Store) localTable(name string) string {
	if s.clustered() {
		return name + localSuffix
	}
	return name
}

// checkCluster checks that the server knows the cluster, with as many
// servers as Shards lists, and, for a server of Shards, that it is one of
// them: a mistake in either list would leave a server without tables
// that inserts and reads reach.
func (s *Store) checkCluster(ctx context.Context, n node) error {
	var servers, local uint64
	err := n.conn.QueryRow(ctx, "SELECT count(), countIf(is_local) FROM system.clusters WHERE cluster = ?",
		s.cfg.Cluster).Scan(&servers, &local)
	if err != nil {
		return fmt.Errorf("read cluster %s: %w", s.cfg.Cluster, err)
	}
	switch {
	case servers == 0:
		return fmt.Errorf("cluster %s (clickhouse.cluster) is not in the server's remote_servers configuration", s.cfg.Cluster)
	case servers != uint64(len(s.cfg.Shards)):
		return fmt.Errorf("cluster %s has %d servers in the server's remote_servers configuration, clickhouse.shards lists %d: list every server of the cluster",
			s.cfg.Cluster, servers, len(s.cfg.Shards))
	case n.shard && local == 0:
		return fmt.Errorf("the server is not one of the servers of its cluster %s (none of its remote_servers entries is this server's host and tcp_port): check clickhouse.shards",
			s.cfg.Cluster)
	}
	return nil
}

// checkLayout refuses a database made for the other layout: ixpd does not
// turn a one-server database into a cluster one, nor the reverse.
func (s *Store) checkLayout(ctx context.Context, n node) error {
	var (
		engine string
		tables uint64
	)
	err := n.conn.QueryRow(ctx, "SELECT any(engine), count() FROM system.tables WHERE database = ? AND name = ?",
		s.cfg.Database, tableFlows).Scan(&engine, &tables)
	if err != nil {
		return fmt.Errorf("read the engine of %s: %w", s.table(tableFlows), err)
	}
	switch {
	case tables == 0:
	case s.clustered() && engine != "Distributed":
		return fmt.Errorf("database %s holds the tables of one server (%s is %s), not of a cluster: clickhouse.cluster needs a new database",
			s.cfg.Database, tableFlows, engine)
	case !s.clustered() && engine == "Distributed":
		return fmt.Errorf("database %s holds the tables of a cluster (%s is Distributed): set clickhouse.cluster and clickhouse.shards",
			s.cfg.Database, tableFlows)
	}
	return nil
}
