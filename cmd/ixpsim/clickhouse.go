package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"
)

// chServer is a private clickhouse-server started by flow-bench: its own
// configuration and data under dir, loopback ports chosen at run time.
type chServer struct {
	proc     *rsProcess
	addr     string // native protocol, what ixpd uses
	httpAddr string // HTTP interface, what the bench queries
	dir      string
}

// clickhouseBinary returns the command that runs a server: flag value,
// clickhouse-server on $PATH, Debian's /usr/sbin/clickhouse-server, or the
// single "clickhouse" binary as "clickhouse server".
func clickhouseBinary(flagValue string) ([]string, error) {
	if flagValue != "" {
		if filepath.Base(flagValue) == "clickhouse" {
			return []string{flagValue, "server"}, nil
		}
		return []string{flagValue}, nil
	}
	if bin, err := exec.LookPath("clickhouse-server"); err == nil {
		return []string{bin}, nil
	}
	for _, bin := range []string{"/usr/bin/clickhouse-server", "/usr/sbin/clickhouse-server"} {
		if fi, err := os.Stat(bin); err == nil && fi.Mode()&0o111 != 0 {
			return []string{bin}, nil
		}
	}
	if bin, err := exec.LookPath("clickhouse"); err == nil {
		return []string{bin, "server"}, nil
	}
	return nil, fmt.Errorf("clickhouse-server: %w", errNoBinary)
}

// The <yandex> root is what 18.16 reads (current releases accept it too).
const chConfigXML = `<?xml version="1.0"?>
<yandex>
    <logger><level>warning</level><log>%[1]s/log/server.log</log><errorlog>%[1]s/log/server.err.log</errorlog><size>100M</size><count>1</count></logger>
    <listen_host>127.0.0.1</listen_host>
    <tcp_port>%[2]d</tcp_port>
    <http_port>%[3]d</http_port>
    <path>%[1]s/data/</path>
    <tmp_path>%[1]s/tmp/</tmp_path>
    <user_files_path>%[1]s/user_files/</user_files_path>
    <format_schema_path>%[1]s/format_schemas/</format_schema_path>
    <users_config>%[1]s/users.xml</users_config>
    <default_profile>default</default_profile>
    <default_database>default</default_database>
    <mark_cache_size>268435456</mark_cache_size>
    <max_concurrent_queries>100</max_concurrent_queries>
</yandex>
`

const chUsersXML = `<?xml version="1.0"?>
<yandex>
    <profiles><default><max_memory_usage>4000000000</max_memory_usage></default></profiles>
    <users><default><password></password><networks><ip>127.0.0.1</ip></networks><profile>default</profile><quota>default</quota></default></users>
    <quotas><default></default></quotas>
</yandex>
`

// startClickHouse starts a server in dir and waits until it answers
// SELECT 1 over HTTP.
func startClickHouse(ctx context.Context, argv []string, dir string) (*chServer, error) {
	for _, sub := range []string{"log", "data", "tmp", "user_files", "format_schemas"} {
		if err := os.MkdirAll(filepath.Join(dir, sub), 0o755); err != nil {
			return nil, err
		}
	}
	tcpPort, err := freePort()
	if err != nil {
		return nil, err
	}
	httpPort, err := freePort()
	if err != nil {
		return nil, err
	}
	conf := filepath.Join(dir, "config.xml")
	if err := os.WriteFile(conf, fmt.Appendf(nil, chConfigXML, dir, tcpPort, httpPort), 0o644); err != nil {
		return nil, err
	}
	if err := os.WriteFile(filepath.Join(dir, "users.xml"), []byte(chUsersXML), 0o644); err != nil {
		return nil, err
	}
	args := append(append([]string{}, argv[1:]...), "--config-file="+conf)
	p, err := startProcess(argv[0], args, dir, filepath.Join(dir, "log", "stdout.log"))
	if err != nil {
		return nil, err
	}
	s := &chServer{proc: p, dir: dir,
		addr:     fmt.Sprintf("127.0.0.1:%d", tcpPort),
		httpAddr: fmt.Sprintf("127.0.0.1:%d", httpPort)}
	err = p.waitReady(ctx, 60*time.Second, 100*time.Millisecond, func() error {
		out, err := s.query(ctx, "SELECT 1")
		if err == nil && strings.TrimSpace(out) != "1" {
			err = fmt.Errorf("SELECT 1 answered %q", out)
		}
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("clickhouse-server in %s: %w", dir, err)
	}
	return s, nil
}

// query runs q over the HTTP interface and returns the body.
func (s *chServer) query(ctx context.Context, q string) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, "GET", "http://"+s.httpAddr+"/?query="+url.QueryEscape(q), nil)
	if err != nil {
		return "", err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return "", err
	}
	defer func() { _ = resp.Body.Close() }()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return "", err
	}
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("clickhouse %q: %s: %s", q, resp.Status, strings.TrimSpace(string(b)))
	}
	return string(b), nil
}
