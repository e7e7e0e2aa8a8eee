package deploy

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/ixpd/ixpd/analytics/clickhouse"
)

// A server configuration with the names of a stock one (profile and quota
// default), on loopback ports chosen at run time; the examples' files go
// into config.d and users.d beside it, where a packaged server reads them.
const (
	serverConfigXML = `<?xml version="1.0"?>
<yandex>
    <logger><level>warning</level><log>%[1]s/server.log</log><errorlog>%[1]s/server.err.log</errorlog></logger>
    <listen_host>127.0.0.1</listen_host>
    <tcp_port>%[2]d</tcp_port>
    <http_port>%[3]d</http_port>
    <path>%[1]s/data/</path>
    <tmp_path>%[1]s/tmp/</tmp_path>
    <user_files_path>%[1]s/user_files/</user_files_path>
    <format_schema_path>%[1]s/format_schemas/</format_schema_path>
    <users_config>users.xml</users_config>
    <default_profile>default</default_profile>
    <default_database>default</default_database>
    <mark_cache_size>268435456</mark_cache_size>
</yandex>
`
	serverUsersXML = `<?xml version="1.0"?>
<yandex>
    <profiles><default></default></profiles>
    <users>
        <default>
            <password></password>
            <networks><ip>127.0.0.1</ip></networks>
            <profile>default</profile>
            <quota>default</quota>
        </default>
    </users>
    <quotas><default></default></quotas>
</yandex>
`
)

// clickhouseServer is the first of $IXPD_CLICKHOUSE_BIN, clickhouse-server
// on $PATH or in /usr/sbin (Debian 12's 18.16), as analytics/clickhouse's
// tests find it; the command line to run it.
func clickhouseServer(t *testing.T) []string {
	t.Helper()
	if bin := os.Getenv("IXPD_CLICKHOUSE_BIN"); bin != "" {
		if filepath.Base(bin) == "clickhouse" {
			return []string{bin, "server"}
		}
		return []string{bin}
	}
	if bin, err := exec.LookPath("clickhouse-server"); err == nil {
		return []string{bin}
	}
	if _, err := os.Stat("/usr/sbin/clickhouse-server"); err == nil {
		return []string{"/usr/sbin/clickhouse-server"}
	}
	requireIntegration(t, false, "clickhouse-server")
	return nil
}

// freePort returns a TCP port free on 127.0.0.1 just now.
func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = l.Close() }() // only its number is wanted
	return l.Addr().(*net.TCPAddr).Port
}

// The single-server example on a real ClickHouse: the server merges the
// example's config.d and users.d into its configuration, and ixpd's store
// migrates its database as the example's user with the example's
// password, and is refused with another password.
func TestClickHouseSingleExampleServer(t *testing.T) {
	requireIntegration(t, false)
	argv := clickhouseServer(t)
	dir := t.TempDir()
	for _, sub := range []string{"config.d", "users.d", "data", "tmp", "user_files", "format_schemas"} {
		if err := os.MkdirAll(filepath.Join(dir, sub), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	tcpPort, httpPort := freePort(t), freePort(t)
	writeFile(t, filepath.Join(dir, "config.xml"), fmt.Sprintf(serverConfigXML, dir, tcpPort, httpPort))
	writeFile(t, filepath.Join(dir, "users.xml"), serverUsersXML)
	for _, f := range []string{"config.d/ixpd.xml", "users.d/ixpd.xml"} {
		writeFile(t, filepath.Join(dir, f), readFile(t, filepath.Join("clickhouse/single", f)))
	}

	cmd := exec.Command(argv[0], append(argv[1:], "--config-file="+filepath.Join(dir, "config.xml"))...)
	cmd.Dir = dir
	log, err := os.Create(filepath.Join(dir, "stdout.log"))
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = log.Close() }() // the server's output, read on failure
	cmd.Stdout, cmd.Stderr = log, log
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan struct{})
	go func() {
		_ = cmd.Wait()
		close(exited)
	}()
	t.Cleanup(func() {
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		<-exited
		if t.Failed() {
			out, _ := os.ReadFile(filepath.Join(dir, "stdout.log"))
			errs, _ := os.ReadFile(filepath.Join(dir, "server.err.log"))
			t.Logf("clickhouse-server output:\n%s\n%s", out, errs)
		}
	})

	var example ixpdFile
	decodeYAML(t, "clickhouse/single/ixpd.yaml", &example)
	cfg := clickhouse.DefaultConfiguration()
	cfg.Addr = fmt.Sprintf("127.0.0.1:%d", tcpPort)
	cfg.Database = example.Storage.ClickHouse.Database
	cfg.User = example.Storage.ClickHouse.User
	cfg.Password = example.Storage.ClickHouse.Password
	cfg.DialTimeout = time.Second

	migrate := func(cfg clickhouse.Configuration) error {
		s, err := clickhouse.New(nil, prometheus.NewRegistry(), cfg)
		if err != nil {
			t.Fatal(err)
		}
		defer func() { _ = s.Close() }() // nothing written that Close could lose
		ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
		defer cancel()
		return s.Migrate(ctx)
	}
	// The server takes a few seconds to listen: retry while it starts.
	deadline := time.Now().Add(60 * time.Second)
	tick := time.NewTicker(250 * time.Millisecond)
	defer tick.Stop()
	for {
		err := migrate(cfg)
		if err == nil {
			break
		}
		var netErr *net.OpError
		if !errors.As(err, &netErr) || time.Now().After(deadline) {
			t.Fatalf("migrate as %s with the example's password: %v", cfg.User, err)
		}
		select {
		case <-exited:
			t.Fatal("clickhouse-server exited")
		case <-tick.C:
		}
	}
	wrong := cfg
	wrong.Password = "not-" + cfg.Password
	if err := migrate(wrong); err == nil {
		t.Errorf("user %s is let in with another password", cfg.User)
	}
}
