package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/ixpd/ixpd/analytics/duckdb"
)

// errClickHouseBackup is what backup and restore answer for a ClickHouse
// store.
var errClickHouseBackup = errors.New("the ClickHouse store is backed up and restored with ClickHouse's own tools " +
	"(clickhouse-backup; BACKUP DATABASE … TO Disk(…) and RESTORE on current servers; ALTER TABLE … FREEZE on 18.16), " +
	`not with ixpd: see docs/storage.md, "Backup and restore"`)

// duckdbConfig is the DuckDB store's configuration with its path resolved.
func duckdbConfig(cfg Config) duckdb.Configuration {
	return duckdb.Configuration{Path: cfg.resolve(cfg.Storage.DuckDBPath)}
}

// backup writes a consistent copy of the DuckDB store to the file out,
// atomically: from the store itself when no process holds it, else from
// the running ixpd's API, with the token in $IXPD_TOKEN.
func backup(path, out string, stdout, logOut io.Writer) error {
	if out == "" || out == "-" {
		return errors.New("backup: name the backup file with -o FILE")
	}
	cfg, err := LoadConfig(path)
	if err != nil {
		return err
	}
	if cfg.Storage.Driver == "clickhouse" {
		return fmt.Errorf("backup: %w", errClickHouseBackup)
	}
	logger := newLogger(cfg.Log, logOut)
	storeCfg := duckdbConfig(cfg)
	file, _, _ := strings.Cut(storeCfg.Path, "?")
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	// Beside the target, so that the rename is atomic, in a folder of its
	// own for what DuckDB writes beside a database file.
	tmpDir, err := os.MkdirTemp(filepath.Dir(out), ".ixpd-backup-*")
	if err != nil {
		return fmt.Errorf("backup: %w", err)
	}
	defer func() { _ = os.RemoveAll(tmpDir) }() // empty after the rename
	tmp := filepath.Join(tmpDir, "backup.duckdb")

	inUse, pid, err := duckdb.InUse(storeCfg)
	if err != nil {
		return fmt.Errorf("backup: %w", err)
	}
	from := file
	if inUse {
		from = "the running ixpd"
		logger.Info("the store is open in another process: asking the running ixpd for the copy", "store", file, "pid", pid)
		if err := remoteBackup(ctx, cfg, tmp); err != nil {
			return fmt.Errorf("backup: the store %s is open in another process (a running ixpd?); from its API: %w", file, err)
		}
	} else {
		if _, err := os.Stat(file); err != nil {
			return fmt.Errorf("backup: no store: %w", err)
		}
		s, err := duckdb.New(logger, prometheus.NewRegistry(), storeCfg)
		if err != nil {
			return fmt.Errorf("backup: %w", err)
		}
		if err := errors.Join(s.Backup(ctx, tmp), s.Close()); err != nil {
			return fmt.Errorf("backup: %w", err)
		}
	}
	version, err := duckdb.CheckBackup(ctx, tmp)
	if err != nil {
		return fmt.Errorf("backup: the copy is not usable: %w", err)
	}
	fi, err := os.Stat(tmp)
	if err != nil {
		return fmt.Errorf("backup: %w", err)
	}
	// The store's data is the members' traffic: not for every user.
	if err := os.Chmod(tmp, 0o600); err != nil {
		return fmt.Errorf("backup: %w", err)
	}
	if err := os.Rename(tmp, out); err != nil {
		return fmt.Errorf("backup: %w", err)
	}
	_, err = fmt.Fprintf(stdout, "backup of %s (schema version %d, %d bytes, from %s) written to %s\n",
		file, version, fi.Size(), from, out)
	return err
}

// remoteBackup asks the running ixpd for a copy of its store and writes it
// to the new file path.
func remoteBackup(ctx context.Context, cfg Config, path string) error {
	resp, err := askDaemon(ctx, cfg, http.MethodPost, "/api/v1/store/backup", nil)
	if err != nil {
		return err
	}
	defer func() { _ = resp.Body.Close() }()
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	// The client fails a body shorter than its Content-Length.
	n, err := io.Copy(f, resp.Body)
	if err := errors.Join(err, f.Sync(), f.Close()); err != nil {
		return fmt.Errorf("receive the copy: %w", err)
	}
	if resp.ContentLength >= 0 && n != resp.ContentLength {
		return fmt.Errorf("receive the copy: %d bytes of %d", n, resp.ContentLength)
	}
	return nil
}

// restore puts a backup file in place of the DuckDB store, migrated to
// this ixpd's schema, and keeps the store's previous file beside it. It
// refuses while a process (a running ixpd) holds the store.
func restore(path string, args []string, stdout, logOut io.Writer) error {
	if len(args) != 1 {
		return errors.New("restore: name one backup file: ixpd restore -config FILE BACKUP")
	}
	cfg, err := LoadConfig(path)
	if err != nil {
		return err
	}
	if cfg.Storage.Driver == "clickhouse" {
		return fmt.Errorf("restore: %w", errClickHouseBackup)
	}
	logger := newLogger(cfg.Log, logOut)
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	r, err := duckdb.Restore(ctx, logger, duckdbConfig(cfg), args[0], time.Now())
	if err != nil {
		return fmt.Errorf("restore: %w", err)
	}
	migrated := ""
	if r.FromVersion != r.Version {
		migrated = fmt.Sprintf(", migrated to %d", r.Version)
	}
	if _, err := fmt.Fprintf(stdout, "restored %s (schema version %d%s) into %s\n", args[0], r.FromVersion, migrated, r.File); err != nil {
		return err
	}
	if r.Aside == "" {
		_, err = fmt.Fprintln(stdout, "there was no store before")
		return err
	}
	_, err = fmt.Fprintf(stdout, "the previous store is kept as %s\n", r.Aside)
	return err
}

// backupFunc is the API's Backup for the DuckDB store (nil for
// ClickHouse): a copy in a folder beside the store, opened and then
// removed from the folder, so that its space is freed when the API closes
// it.
func (a *app) backupFunc() func(context.Context) (*os.File, error) {
	s, ok := a.store.(*duckdb.Store)
	if !ok {
		return nil
	}
	file, _, _ := strings.Cut(duckdbConfig(a.cfg).Path, "?")
	dir := filepath.Dir(file)
	return func(ctx context.Context) (*os.File, error) {
		start := time.Now()
		tmpDir, err := os.MkdirTemp(dir, ".backup-*")
		if err != nil {
			return nil, fmt.Errorf("backup: %w", err)
		}
		defer func() { _ = os.RemoveAll(tmpDir) }() // the open copy stays readable
		path := filepath.Join(tmpDir, "backup.duckdb")
		if err := s.Backup(ctx, path); err != nil {
			return nil, err
		}
		f, err := os.Open(path)
		if err != nil {
			return nil, fmt.Errorf("backup: %w", err)
		}
		if fi, err := f.Stat(); err == nil {
			a.logger.Info("store backup taken for the API", "bytes", fi.Size(), "seconds", time.Since(start).Seconds())
		}
		return f, nil
	}
}
