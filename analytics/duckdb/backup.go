package duckdb

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"

	duckdb "github.com/duckdb/duckdb-go/v2"
	"github.com/prometheus/client_golang/prometheus"
	"golang.org/x/sys/unix"
)

// backupAlias is the name the backup file is attached under while Backup
// fills it; backups run one at a time (Store.backupMu), as attached names
// are shared by every connection of the database.
const backupAlias = "ixpd_backup"

// ErrNotIxpd is wrapped by the errors of CheckBackup and Restore for a file
// that is not a DuckDB database with an ixpd schema.
var ErrNotIxpd = errors.New("not an ixpd DuckDB database")

// Backup writes a consistent copy of the database to path, which must not
// exist: a DuckDB database file that Restore (or opening it as the store)
// takes. It runs beside writers and readers, which it does not stop: the
// copy is one read transaction, so it holds every batch of flows (raw rows
// and rollups), latency bins and session snapshots committed before it
// began, whole, and nothing of those committed after. On failure nothing
// is left at path.
func (s *Store) Backup(ctx context.Context, path string) error {
	if err := s.backup(ctx, path); err != nil {
		return s.fail(opBackup, fmt.Errorf("to %s: %w", path, err))
	}
	return nil
}

func (s *Store) backup(ctx context.Context, path string) (err error) {
	if _, err := os.Lstat(path); err == nil {
		return fmt.Errorf("%w: a backup does not replace a file", os.ErrExist)
	} else if !errors.Is(err, os.ErrNotExist) {
		return err
	}
	db, err := s.database()
	if err != nil {
		return err
	}
	s.backupMu.Lock()
	defer s.backupMu.Unlock()
	defer func() {
		if err != nil {
			_ = os.Remove(path)          // what DuckDB left of a failed copy, if anything
			_ = os.Remove(path + ".wal") // idem
		}
	}()
	conn, err := db.Conn(ctx)
	if err != nil {
		return fmt.Errorf("get connection: %w", err)
	}
	defer func() { _ = conn.Close() }() // back to the pool; fails only when already closed
	var name string
	if err := conn.QueryRowContext(ctx, `SELECT current_database()`).Scan(&name); err != nil {
		return fmt.Errorf("read the database name: %w", err)
	}
	// ATTACH takes no bound parameters: the path is a quoted literal.
	if _, err := conn.ExecContext(ctx, `ATTACH `+quoteString(path)+` AS `+backupAlias); err != nil {
		return fmt.Errorf("create the backup file: %w", err)
	}
	attached := true
	defer func() {
		if attached {
			// Also after a cancelled ctx: a database left attached would
			// refuse the next backup's ATTACH.
			_, derr := conn.ExecContext(context.WithoutCancel(ctx), `DETACH `+backupAlias)
			err = errors.Join(err, derr)
		}
	}()
	// COPY FROM DATABASE is two statements (the schema, then every
	// table's rows); in one transaction they read one snapshot of the
	// store. The transaction writes only to the backup file, so it
	// never conflicts with the store's writers.
	tx, err := conn.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("begin: %w", err)
	}
	if _, err := tx.ExecContext(ctx, `COPY FROM DATABASE `+quoteIdent(name)+` TO `+backupAlias); err != nil {
		_ = tx.Rollback() // the copy's error is the one to report
		return fmt.Errorf("copy: %w", err)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("commit: %w", err)
	}
	// Everything into the file itself, so that it is complete alone.
	if _, err := conn.ExecContext(ctx, `CHECKPOINT `+backupAlias); err != nil {
		return fmt.Errorf("checkpoint: %w", err)
	}
	attached = false
	if _, err := conn.ExecContext(ctx, `DETACH `+backupAlias); err != nil {
		return fmt.Errorf("close the backup file: %w", err)
	}
	if _, err := os.Stat(path + ".wal"); err == nil {
		return errors.New("the backup file has a write-ahead log left beside it")
	}
	return syncFile(path)
}

// quoteString returns s as an SQL string literal.
func quoteString(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }

// quoteIdent returns s as an SQL identifier.
func quoteIdent(s string) string { return `"` + strings.ReplaceAll(s, `"`, `""`) + `"` }

// syncFile flushes a file's data to disk.
func syncFile(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	return errors.Join(f.Sync(), f.Close())
}

// syncDir flushes a directory, so that a rename in it survives a crash.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	return errors.Join(d.Sync(), d.Close())
}

// duckdbMagic is at duckdbMagicAt in the first block of every DuckDB
// database file (after the block's checksum).
var duckdbMagic = []byte("DUCK")

const duckdbMagicAt = 8

// CheckBackup opens the database file at path read-only and returns its
// schema version: the number of migrations applied. A file that is not a
// DuckDB database, has no schema_migrations table, or has a version newer
// than this ixpd knows is refused: with an error wrapping ErrNotIxpd, but
// for the newer schema, whose error names both versions.
func CheckBackup(ctx context.Context, path string) (int, error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, err
	}
	head := make([]byte, duckdbMagicAt+len(duckdbMagic))
	_, err = io.ReadFull(f, head)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) || (err == nil && !bytes.Equal(head[duckdbMagicAt:], duckdbMagic)) {
		return 0, fmt.Errorf("%s: %w: not a DuckDB database file", path, ErrNotIxpd)
	}
	if err != nil {
		return 0, err
	}
	c, err := duckdb.NewConnector(path+"?access_mode=read_only", nil)
	if err != nil {
		return 0, fmt.Errorf("open %s: %w", path, err)
	}
	db := sql.OpenDB(c)
	defer func() { _ = db.Close() }() // read-only: nothing to lose
	var tables int
	if err := db.QueryRowContext(ctx, `SELECT count(*) FROM duckdb_tables()
		WHERE database_name = current_database() AND schema_name = 'main' AND table_name = 'schema_migrations'`).Scan(&tables); err != nil {
		return 0, fmt.Errorf("%s: %w", path, err)
	}
	if tables == 0 {
		return 0, fmt.Errorf("%s: %w: it has no schema_migrations table", path, ErrNotIxpd)
	}
	var version int
	if err := db.QueryRowContext(ctx, `SELECT coalesce(max(version), 0) FROM schema_migrations`).Scan(&version); err != nil {
		return 0, fmt.Errorf("%s: read its schema version: %w", path, err)
	}
	if version > len(migrations) {
		return version, fmt.Errorf("%s: schema version %d is newer than this ixpd knows (%d): restore it with the ixpd that made it",
			path, version, len(migrations))
	}
	return version, nil
}

// SchemaVersion is the schema version this ixpd migrates a store to.
func SchemaVersion() int { return len(migrations) }

// InUse reports whether another process holds the database file of cfg
// open (DuckDB locks the file for as long as it is open), and that
// process's id when the system tells it (else 0). A missing file is not in
// use.
func InUse(cfg Configuration) (inUse bool, pid int, err error) {
	file, err := databaseFile(cfg)
	if err != nil {
		return false, 0, err
	}
	f, err := os.Open(file)
	if errors.Is(err, os.ErrNotExist) {
		return false, 0, nil
	}
	if err != nil {
		return false, 0, err
	}
	defer func() { _ = f.Close() }() // read-only
	// The lock a read-write open would take: any lock of another
	// process conflicts with it. POSIX locks of this process never do.
	lk := unix.Flock_t{Type: unix.F_WRLCK, Whence: io.SeekStart}
	if err := unix.FcntlFlock(f.Fd(), unix.F_GETLK, &lk); err != nil {
		return false, 0, fmt.Errorf("lock state of %s: %w", file, err)
	}
	if lk.Type == unix.F_UNLCK {
		return false, 0, nil
	}
	return true, max(int(lk.Pid), 0), nil
}

// databaseFile is the database file of cfg: the path without DuckDB
// options; an in-memory database has none.
func databaseFile(cfg Configuration) (string, error) {
	file, _, _ := strings.Cut(cfg.Path, "?")
	if file == "" || file == memoryPath {
		return "", fmt.Errorf("duckdb_path %q is not a file", cfg.Path)
	}
	return file, nil
}

// Restored says what Restore did.
type Restored struct {
	// File is the store's database file, now the restored backup.
	File string
	// Aside is where the store's previous file was kept ("" when there
	// was none).
	Aside string
	// FromVersion is the backup's schema version; Version the version it
	// was migrated to.
	FromVersion, Version int
}

// Restore puts a copy of the backup file from in place of the database
// file of cfg, migrated to this ixpd's schema; the backup file itself is
// not changed. The store's current file is kept beside it as
// "<file>.before-restore-<now, UTC>" (its write-ahead log too, if it has
// one), and the new file takes its place in one rename, so that the path
// holds the old file or the new one at every moment. Restore refuses a
// store that another process holds open (a running ixpd: stop it first),
// and a backup that CheckBackup refuses. logger receives the migrations.
func Restore(ctx context.Context, logger *slog.Logger, cfg Configuration, from string, now time.Time) (Restored, error) {
	file, err := databaseFile(cfg)
	if err != nil {
		return Restored{}, err
	}
	r := Restored{File: file}
	if r.FromVersion, err = CheckBackup(ctx, from); err != nil {
		return r, err
	}
	if inUse, pid, err := InUse(cfg); err != nil {
		return r, err
	} else if inUse {
		by := "another process"
		if pid > 0 {
			by = fmt.Sprintf("process %d", pid)
		}
		return r, fmt.Errorf("the store %s is open in %s (a running ixpd?): stop ixpd first", file, by)
	}
	dir := filepath.Dir(file)
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return r, err
	}
	// Beside the store: the same file system, so that the rename is
	// atomic, and a folder of its own for DuckDB's write-ahead log.
	tmpDir, err := os.MkdirTemp(dir, ".restore-*")
	if err != nil {
		return r, err
	}
	defer func() { _ = os.RemoveAll(tmpDir) }() // empty after the rename
	tmp := filepath.Join(tmpDir, filepath.Base(file))
	if err := copyFile(from, tmp); err != nil {
		return r, fmt.Errorf("copy %s: %w", from, err)
	}
	if r.Version, err = migrateFile(ctx, logger, tmp); err != nil {
		return r, fmt.Errorf("migrate %s: %w", from, err)
	}

	if _, err := os.Lstat(file); err == nil {
		r.Aside = file + ".before-restore-" + now.UTC().Format("20060102T150405Z")
		if _, err := os.Lstat(r.Aside); err == nil {
			return r, fmt.Errorf("%s exists: %w", r.Aside, os.ErrExist)
		}
		// A second name for the current file, so that it stays at its
		// path until the rename below replaces it.
		if err := os.Link(file, r.Aside); err != nil {
			return r, fmt.Errorf("keep the current store: %w", err)
		}
		// An unclean stop leaves a log that belongs to the old file,
		// and would be replayed into the new one.
		if err := os.Rename(file+".wal", r.Aside+".wal"); err != nil && !errors.Is(err, os.ErrNotExist) {
			return r, fmt.Errorf("keep the current store's write-ahead log: %w", err)
		}
	} else if !errors.Is(err, os.ErrNotExist) {
		return r, err
	}
	if err := os.Rename(tmp, file); err != nil {
		return r, fmt.Errorf("put the backup in place: %w", err)
	}
	return r, syncDir(dir)
}

// migrateFile migrates the database file at path to the current schema,
// closes it with everything in the file, and returns the schema version.
func migrateFile(ctx context.Context, logger *slog.Logger, path string) (int, error) {
	s, err := New(logger, prometheus.NewRegistry(), Configuration{Path: path})
	if err != nil {
		return 0, err
	}
	if err := s.Migrate(ctx); err != nil {
		return 0, errors.Join(err, s.Close())
	}
	if err := s.Close(); err != nil {
		return 0, err
	}
	if _, err := os.Stat(path + ".wal"); err == nil {
		return 0, errors.New("DuckDB left a write-ahead log beside it after closing")
	}
	return len(migrations), syncFile(path)
}

// copyFile copies the file src to the new file dst and flushes it.
func copyFile(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer func() { _ = in.Close() }() // read-only
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o640)
	if err != nil {
		return err
	}
	_, err = io.Copy(out, in)
	return errors.Join(err, out.Sync(), out.Close())
}
