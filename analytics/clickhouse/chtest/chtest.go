// Package chtest runs real ClickHouse servers for tests: a clickhouse-server
// child process with its own configuration and data directory, listening on
// loopback ports chosen at run time.
//
// Tests that share one server per package run call Main from TestMain and
// Shared (or StartServer) in each test, with a fresh database per test from
// NewDatabase; tests that stop or restart the server start their own with
// Start.
//
// A Cluster is several servers whose remote_servers configuration names
// all of them as the shards of one cluster (SharedCluster, StartCluster),
// for Distributed tables over one local table per server.
//
// The binary is the first found of: $IXPD_CLICKHOUSE_BIN (a clickhouse-server
// binary, or the single clickhouse binary, which is then run as "clickhouse
// server": the way to test against a current release), clickhouse-server on
// $PATH, /usr/bin/clickhouse-server, /usr/sbin/clickhouse-server (Debian's
// 18.16), clickhouse on $PATH. Without one, tests skip, or fail when
// CI=true.
package chtest

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"text/template"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2"
	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
)

// StartTimeout bounds how long a server may take to answer its first query.
const StartTimeout = 60 * time.Second

// ErrNoBinary means that no ClickHouse server binary was found.
var ErrNoBinary = errors.New("no clickhouse-server binary (Debian: apt-get install clickhouse-server)")

// Server is a running clickhouse-server child process.
type Server struct {
	// Addr is the native-protocol address, 127.0.0.1:port.
	Addr string
	// HTTPAddr is the HTTP interface address, 127.0.0.1:port.
	HTTPAddr string
	// TimeZone is the server's time zone: not UTC, so that tests catch
	// queries that depend on it.
	TimeZone string

	argv []string
	dir  string

	mu   sync.Mutex
	cmd  *exec.Cmd
	done chan struct{} // closed when cmd has exited
}

var shared struct {
	once   sync.Once
	server *Server
	err    error
}

var sharedCluster struct {
	once    sync.Once
	cluster *Cluster
	err     error
}

// Main runs the package's tests and then stops the shared server and the
// shared cluster, if they were started. Call it from TestMain:
// func TestMain(m *testing.M) { chtest.Main(m) }.
func Main(m *testing.M) {
	code := m.Run()
	if s := shared.server; s != nil {
		s.kill()
		_ = os.RemoveAll(s.dir)
	}
	if c := sharedCluster.cluster; c != nil {
		for _, s := range c.Servers {
			s.kill()
			_ = os.RemoveAll(s.dir)
		}
	}
	os.Exit(code)
}

// StartServer returns the native address of the package's shared server,
// started on first use.
func StartServer(t testing.TB) string {
	t.Helper()
	return Shared(t).Addr
}

// Shared returns the package's shared server, started on first use and
// stopped by Main (or, without Main, killed when the test binary exits; its
// temporary directory then stays behind).
func Shared(t testing.TB) *Server {
	t.Helper()
	shared.once.Do(func() {
		argv, err := findBinary()
		if err != nil {
			shared.err = err
			return
		}
		dir, err := os.MkdirTemp("", "ixpd-clickhouse-")
		if err != nil {
			shared.err = err
			return
		}
		shared.server, shared.err = start(argv, dir)
		if shared.err != nil {
			_ = os.RemoveAll(dir)
		}
	})
	if shared.err != nil {
		failOrSkip(t, shared.err)
	}
	return shared.server
}

// Start starts a server of t's own, in t.TempDir(), killed when t ends.
func Start(t testing.TB) *Server {
	t.Helper()
	argv, err := findBinary()
	if err != nil {
		failOrSkip(t, err)
	}
	s, err := start(argv, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.kill)
	return s
}

func failOrSkip(t testing.TB, err error) {
	t.Helper()
	if errors.Is(err, ErrNoBinary) && os.Getenv("CI") != "true" {
		t.Skipf("skipping ClickHouse test: %v", err)
	}
	t.Fatalf("ClickHouse test server: %v", err)
}

func findBinary() ([]string, error) {
	if bin := os.Getenv("IXPD_CLICKHOUSE_BIN"); bin != "" {
		if filepath.Base(bin) == "clickhouse" {
			return []string{bin, "server"}, nil
		}
		return []string{bin}, nil
	}
	if bin, err := exec.LookPath("clickhouse-server"); err == nil {
		return []string{bin}, nil
	}
	for _, bin := range []string{"/usr/bin/clickhouse-server", "/usr/sbin/clickhouse-server"} {
		if fi, err := os.Stat(bin); err == nil && !fi.IsDir() && fi.Mode()&0o111 != 0 {
			return []string{bin}, nil
		}
	}
	if bin, err := exec.LookPath("clickhouse"); err == nil {
		return []string{bin, "server"}, nil
	}
	return nil, ErrNoBinary
}

// start writes the configuration and starts the server, retrying with new
// ports when one was taken between choosing and binding it.
func start(argv []string, dir string) (*Server, error) {
	servers, err := startServers(argv, []string{dir}, "")
	if err != nil {
		return nil, err
	}
	return servers[0], nil
}

// startServers starts one server per directory. With a cluster name, each
// server's remote_servers names every server, in order, as one shard of
// that cluster. When a port was taken between choosing and binding it,
// all of them start again on new ports.
func startServers(argv []string, dirs []string, cluster string) ([]*Server, error) {
	tz := "Asia/Kathmandu" // UTC+5:45
	if _, err := os.Stat("/usr/share/zoneinfo/" + tz); err != nil {
		tz = "UTC"
	}
	var errs []error
	for range 3 {
		ports, err := freePorts(2 * len(dirs))
		if err != nil {
			return nil, err
		}
		var shardPorts []int
		if cluster != "" {
			for i := range dirs {
				shardPorts = append(shardPorts, ports[2*i])
			}
		}
		servers := make([]*Server, len(dirs))
		for i, dir := range dirs {
			s := &Server{
				Addr:     net.JoinHostPort("127.0.0.1", strconv.Itoa(ports[2*i])),
				HTTPAddr: net.JoinHostPort("127.0.0.1", strconv.Itoa(ports[2*i+1])),
				TimeZone: tz,
				argv:     argv,
				dir:      dir,
			}
			if err := s.writeConfig(ports[2*i], ports[2*i+1], cluster, shardPorts); err != nil {
				return nil, err
			}
			servers[i] = s
		}
		if err := runAll(servers); err != nil {
			errs = append(errs, err)
			continue
		}
		return servers, nil
	}
	return nil, errors.Join(errs...)
}

// runAll runs the servers in turn; when one fails, it kills those it
// started.
func runAll(servers []*Server) error {
	for i, s := range servers {
		if err := s.run(); err != nil {
			for _, started := range servers[:i] {
				started.kill()
			}
			return err
		}
	}
	return nil
}

func freePorts(n int) ([]int, error) {
	// Hold every listener until all ports are chosen, so that they differ.
	var ports []int
	var listeners []net.Listener
	defer func() {
		for _, l := range listeners {
			_ = l.Close()
		}
	}()
	for range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, fmt.Errorf("choose a free port: %w", err)
		}
		listeners = append(listeners, l)
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
	}
	return ports, nil
}

// The <yandex> root element is what 18.16 reads; current releases accept it
// as well as <clickhouse>.
var configTemplate = template.Must(template.New("config").Parse(`<?xml version="1.0"?>
<yandex>
    <logger>
        <level>warning</level>
        <log>{{.Dir}}/log/server.log</log>
        <errorlog>{{.Dir}}/log/server.err.log</errorlog>
        <size>100M</size>
        <count>1</count>
    </logger>
    <listen_host>127.0.0.1</listen_host>
    <tcp_port>{{.TCPPort}}</tcp_port>
    <http_port>{{.HTTPPort}}</http_port>
    <path>{{.Dir}}/data/</path>
    <tmp_path>{{.Dir}}/tmp/</tmp_path>
    <user_files_path>{{.Dir}}/user_files/</user_files_path>
    <format_schema_path>{{.Dir}}/format_schemas/</format_schema_path>
    <users_config>{{.Dir}}/users.xml</users_config>
    <default_profile>default</default_profile>
    <default_database>default</default_database>
    <timezone>{{.TimeZone}}</timezone>
    <mark_cache_size>268435456</mark_cache_size>
    <uncompressed_cache_size>268435456</uncompressed_cache_size>
    <max_concurrent_queries>100</max_concurrent_queries>
{{- with .Cluster}}
    <remote_servers>
        <{{.}}>
{{- range $.ShardPorts}}
            <shard>
                <replica>
                    <host>127.0.0.1</host>
                    <port>{{.}}</port>
                </replica>
            </shard>
{{- end}}
        </{{.}}>
    </remote_servers>
{{- end}}
</yandex>
`))

const usersXML = `<?xml version="1.0"?>
<yandex>
    <profiles>
        <default>
            <max_memory_usage>4000000000</max_memory_usage>
        </default>
    </profiles>
    <users>
        <default>
            <password></password>
            <networks>
                <ip>127.0.0.1</ip>
                <ip>::1</ip>
            </networks>
            <profile>default</profile>
            <quota>default</quota>
        </default>
    </users>
    <quotas>
        <default>
        </default>
    </quotas>
</yandex>
`

func (s *Server) writeConfig(tcpPort, httpPort int, cluster string, shardPorts []int) error {
	for _, sub := range []string{"log", "data", "tmp", "user_files", "format_schemas"} {
		if err := os.MkdirAll(filepath.Join(s.dir, sub), 0o755); err != nil {
			return err
		}
	}
	var b bytes.Buffer
	err := configTemplate.Execute(&b, map[string]any{
		"Dir": s.dir, "TCPPort": tcpPort, "HTTPPort": httpPort, "TimeZone": s.TimeZone,
		"Cluster": cluster, "ShardPorts": shardPorts,
	})
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(s.dir, "config.xml"), b.Bytes(), 0o644); err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(s.dir, "users.xml"), []byte(usersXML), 0o644)
}

// run starts the process and waits until it answers SELECT 1 on the native
// port, or exits, or StartTimeout passes.
func (s *Server) run() error {
	out, err := os.OpenFile(filepath.Join(s.dir, "log", "stdout.log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	defer func() { _ = out.Close() }()
	args := slices.Concat(s.argv[1:], []string{"--config-file=" + filepath.Join(s.dir, "config.xml")})
	cmd := exec.Command(s.argv[0], args...)
	cmd.Dir = s.dir
	cmd.Stdout, cmd.Stderr = out, out
	// Own process group, so that kill reaches any child; killed if the
	// test binary dies first.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start %s: %w", s.argv[0], err)
	}
	done := make(chan struct{})
	go func() {
		_ = cmd.Wait()
		close(done)
	}()
	s.mu.Lock()
	s.cmd, s.done = cmd, done
	s.mu.Unlock()

	if err := s.waitReady(done); err != nil {
		s.kill()
		return fmt.Errorf("clickhouse-server in %s: %w\n%s", s.dir, err, s.logTail())
	}
	return nil
}

func (s *Server) waitReady(exited <-chan struct{}) error {
	ctx, cancel := context.WithTimeout(context.Background(), StartTimeout)
	defer cancel()
	conn, err := clickhouse.Open(&clickhouse.Options{
		Addr:        []string{s.Addr},
		Protocol:    clickhouse.Native,
		DialTimeout: time.Second,
	})
	if err != nil {
		return err
	}
	defer func() { _ = conn.Close() }()
	tick := time.NewTicker(25 * time.Millisecond)
	defer tick.Stop()
	for {
		var one uint8
		err := conn.QueryRow(ctx, "SELECT 1").Scan(&one)
		if err == nil {
			return nil
		}
		select {
		case <-exited:
			return fmt.Errorf("exited before answering: %w", err)
		case <-ctx.Done():
			return fmt.Errorf("no answer to SELECT 1 within %s: %w", StartTimeout, err)
		case <-tick.C:
		}
	}
}

func (s *Server) logTail() string {
	var b bytes.Buffer
	for _, name := range []string{"stdout.log", "server.err.log"} {
		data, err := os.ReadFile(filepath.Join(s.dir, "log", name))
		if err != nil || len(data) == 0 {
			continue
		}
		if len(data) > 4096 {
			data = data[len(data)-4096:]
		}
		fmt.Fprintf(&b, "--- %s ---\n%s\n", name, data)
	}
	return b.String()
}

// Kill stops the server at once (SIGKILL to its process group) and waits
// for it to exit; its data stays for Restart.
func (s *Server) Kill(t testing.TB) {
	t.Helper()
	s.kill()
}

func (s *Server) kill() {
	s.mu.Lock()
	cmd, done := s.cmd, s.done
	s.cmd = nil
	s.mu.Unlock()
	if cmd == nil {
		return
	}
	_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
	<-done
}

// Restart starts a killed server again, on the same ports and data.
func (s *Server) Restart(t testing.TB) {
	t.Helper()
	s.kill()
	if err := s.run(); err != nil {
		t.Fatalf("restart: %v", err)
	}
}

// Conn opens a native connection to the server, closed when t ends.
func (s *Server) Conn(t testing.TB) driver.Conn {
	t.Helper()
	conn, err := clickhouse.Open(&clickhouse.Options{Addr: []string{s.Addr}, Protocol: clickhouse.Native})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = conn.Close() })
	return conn
}

// NewDatabase returns the name of a database that does not exist yet
// (ixpd_test_ and random hex), dropped when t ends.
func (s *Server) NewDatabase(t testing.TB) string {
	t.Helper()
	name := randomDatabase()
	s.dropAtCleanup(t, name)
	return name
}

func randomDatabase() string {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return "ixpd_test_" + hex.EncodeToString(b[:])
}

// dropAtCleanup drops the database when t ends, if the server runs then.
func (s *Server) dropAtCleanup(t testing.TB, name string) {
	t.Helper()
	conn := s.Conn(t)
	t.Cleanup(func() {
		s.mu.Lock()
		running := s.cmd != nil
		s.mu.Unlock()
		if !running {
			return
		}
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := conn.Exec(ctx, "DROP DATABASE IF EXISTS "+name); err != nil {
			t.Errorf("drop test database %s on %s: %v", name, s.Addr, err)
		}
	})
}
