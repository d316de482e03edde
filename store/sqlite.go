package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"

	_ "modernc.org/sqlite" // the "sqlite" database/sql driver, pure Go
)

var sqliteDialect = dialect{
	name:                  "sqlite",
	maxAlertsPerStatement: 100,
	hasMigrations:         `SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'schema_migrations'`,
	createMigrations: `CREATE TABLE IF NOT EXISTS schema_migrations (
	version    INTEGER NOT NULL PRIMARY KEY,
	applied_at TEXT    NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
) STRICT`,
}

// sqliteCommon are the pragmas every connection sets. busy_timeout matters
// when another process (a second steadywatch, the sqlite3 shell) holds the
// file's write lock.
const sqliteCommon = "_pragma=busy_timeout(10000)&_pragma=foreign_keys(1)"

// sqliteWriter are the writer's settings: WAL, so readers never block the
// writer nor it them; synchronous=FULL, so every commit syncs the WAL before
// it returns and survives power loss (NORMAL would only survive a crash of
// the process); BEGIN IMMEDIATE, so a write transaction takes the write lock
// up front and waits for it under busy_timeout instead of failing later with
// SQLITE_BUSY when it upgrades from a read.
const sqliteWriter = "_txlock=immediate&_pragma=journal_mode(WAL)&_pragma=synchronous(FULL)&" + sqliteCommon

// sqliteReader connections cannot write, whatever a bug might ask of them.
const sqliteReader = "_pragma=query_only(1)&" + sqliteCommon

// readerCacheKiB is the page cache the readers share, split evenly among
// them (SQLite's default is 2 MiB a connection): a weekly report re-read
// the same pages with pread, 6 % of its time, with the default. Split, so
// that a machine of many cores (as many readers) keeps the same bound.
const readerCacheKiB = 128 << 10

// readerSettings are the readers' DSN settings for n readers.
func readerSettings(n int) string {
	return fmt.Sprintf("_pragma=cache_size(-%d)&%s", max(2048, readerCacheKiB/n), sqliteReader)
}

func openSQLite(ctx context.Context, path string, logger *slog.Logger, existing bool) (s *sqlStore, err error) {
	if existing {
		if _, err := os.Stat(path); errors.Is(err, fs.ErrNotExist) {
			return nil, noStoreError(path + " does not exist")
		}
	} else if err := os.MkdirAll(filepath.Dir(path), 0o750); err != nil {
		return nil, fmt.Errorf("creating the database directory: %w", err)
	}
	writer, err := sql.Open("sqlite", path+"?"+sqliteWriter)
	if err != nil {
		return nil, err
	}
	defer func() {
		if err != nil {
			writer.Close() //nolint:errcheck,gosec // the open error is the one to report
		}
	}()
	// SQLite has one writer at a time; one connection makes the others
	// queue in database/sql. It never expires, so the pragmas hold.
	writer.SetMaxOpenConns(1)
	writer.SetMaxIdleConns(1)
	writer.SetConnMaxLifetime(0)
	writer.SetConnMaxIdleTime(0)

	var mode string
	if err := writer.QueryRowContext(ctx, "PRAGMA journal_mode").Scan(&mode); err != nil {
		return nil, err
	}
	if mode != "wal" {
		return nil, fmt.Errorf("journal mode is %q, not wal (is the file on a network file system?)", mode)
	}
	var sync int
	if err := writer.QueryRowContext(ctx, "PRAGMA synchronous").Scan(&sync); err != nil {
		return nil, err
	}
	if sync != 2 {
		return nil, fmt.Errorf("synchronous is %d, not FULL (2)", sync)
	}
	if err := migrateExisting(ctx, writer, &sqliteDialect, logger, existing); err != nil {
		return nil, err
	}

	// Readers see the last commit (WAL snapshots) while the writer writes.
	readers := max(4, runtime.GOMAXPROCS(0))
	reader, err := sql.Open("sqlite", path+"?"+readerSettings(readers))
	if err != nil {
		return nil, err
	}
	reader.SetMaxOpenConns(readers)
	reader.SetMaxIdleConns(readers)
	if err := reader.PingContext(ctx); err != nil {
		reader.Close() //nolint:errcheck,gosec // the ping error is the one to report
		return nil, err
	}
	logOpened(logger, "sqlite", path)
	return &sqlStore{d: &sqliteDialect, writer: writer, reader: reader, upserts: &stmtCache{db: writer}}, nil
}
