package chtest

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"
)

// ClusterName is the name of the cluster in the servers' remote_servers
// configuration.
const ClusterName = "ixpd_test"

// Cluster is a set of servers started together whose remote_servers
// configuration names all of them, in order, as the shards of the cluster
// ClusterName: one replica per shard, at 127.0.0.1 and the server's native
// port, so that each server sees its own shard as local (is_local in
// system.clusters) and the others as remote.
type Cluster struct {
	Name    string
	Servers []*Server
}

// SharedCluster returns the package's cluster of two servers, started on
// first use and stopped by Main (or, without Main, killed when the test
// binary exits).
func SharedCluster(t testing.TB) *Cluster {
	t.Helper()
	sharedCluster.once.Do(func() {
		argv, err := findBinary()
		if err != nil {
			sharedCluster.err = err
			return
		}
		root, err := os.MkdirTemp("", "ixpd-clickhouse-cluster-")
		if err != nil {
			sharedCluster.err = err
			return
		}
		sharedCluster.cluster, sharedCluster.err = startCluster(argv, root, 2)
		if sharedCluster.err != nil {
			_ = os.RemoveAll(root)
		}
	})
	if sharedCluster.err != nil {
		failOrSkip(t, sharedCluster.err)
	}
	return sharedCluster.cluster
}

// StartCluster starts a cluster of n servers of t's own, in t.TempDir(),
// killed when t ends.
func StartCluster(t testing.TB, n int) *Cluster {
	t.Helper()
	argv, err := findBinary()
	if err != nil {
		failOrSkip(t, err)
	}
	c, err := startCluster(argv, t.TempDir(), n)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range c.Servers {
		t.Cleanup(s.kill)
	}
	return c
}

func startCluster(argv []string, root string, n int) (*Cluster, error) {
	if n < 1 {
		return nil, fmt.Errorf("a cluster of %d servers", n)
	}
	dirs := make([]string, n)
	for i := range dirs {
		dirs[i] = filepath.Join(root, fmt.Sprintf("shard%d", i+1))
	}
	servers, err := startServers(argv, dirs, ClusterName)
	if err != nil {
		return nil, err
	}
	return &Cluster{Name: ClusterName, Servers: servers}, nil
}

// Addrs returns the servers' native addresses, in shard order.
func (c *Cluster) Addrs() []string {
	addrs := make([]string, len(c.Servers))
	for i, s := range c.Servers {
		addrs[i] = s.Addr
	}
	return addrs
}

// NewDatabase returns the name of a database that exists on none of the
// servers yet, dropped from each of them when t ends.
func (c *Cluster) NewDatabase(t testing.TB) string {
	t.Helper()
	name := randomDatabase()
	for _, s := range c.Servers {
		s.dropAtCleanup(t, name)
	}
	return name
}
