package store

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"path"
	"slices"
	"strconv"
	"strings"
)

//go:embed migrations
var migrationFiles embed.FS

// ErrSchemaTooNew is returned by Open for a database a newer steadywatch has
// migrated: this one cannot know what the newer schema means.
var ErrSchemaTooNew = errors.New("database schema is newer than this steadywatch supports")

// SchemaTooNewError is the ErrSchemaTooNew Open returns, with the versions.
type SchemaTooNewError struct {
	// Database is the schema version of the database, Supported the newest
	// this binary knows.
	Database, Supported int
}

func (e *SchemaTooNewError) Error() string {
	return fmt.Sprintf("database schema version %d is newer than this steadywatch supports (%d); upgrade steadywatch",
		e.Database, e.Supported)
}

// Is makes errors.Is(err, ErrSchemaTooNew) hold.
func (e *SchemaTooNewError) Is(target error) bool { return target == ErrSchemaTooNew }

// migration is one numbered schema change, migrations/<dialect>/NNNN_name.sql.
type migration struct {
	version int
	name    string
	sql     string
}

// loadMigrations returns a dialect's migrations, numbered 1, 2, … without gaps.
func loadMigrations(dialect string) ([]migration, error) {
	dir := path.Join("migrations", dialect)
	entries, err := fs.ReadDir(migrationFiles, dir)
	if err != nil {
		return nil, err
	}
	var ms []migration
	for _, e := range entries {
		num, _, ok := strings.Cut(e.Name(), "_")
		v, err := strconv.Atoi(num)
		if !ok || err != nil || !strings.HasSuffix(e.Name(), ".sql") {
			return nil, fmt.Errorf("migration %s/%s: name is not NNNN_name.sql", dir, e.Name())
		}
		data, err := fs.ReadFile(migrationFiles, path.Join(dir, e.Name()))
		if err != nil {
			return nil, err
		}
		ms = append(ms, migration{version: v, name: e.Name(), sql: string(data)})
	}
	slices.SortFunc(ms, func(a, b migration) int { return a.version - b.version })
	for i, m := range ms {
		if m.version != i+1 {
			return nil, fmt.Errorf("migration %s/%s: want version %d", dir, m.name, i+1)
		}
	}
	return ms, nil
}

// migrate applies the migrations the database lacks, all in one transaction,
// so a failure leaves the schema as it was. The dialect's migrateLock, if
// set, runs first in the transaction to serialise replicas migrating the
// same database.
func migrate(ctx context.Context, db *sql.DB, d *dialect, logger *slog.Logger) error {
	return migrateTo(ctx, db, d, logger, 0)
}

// migrateExisting is migrate, refusing, if existing is set, a database
// without the schema_migrations table: no steadywatch store.
func migrateExisting(ctx context.Context, db *sql.DB, d *dialect, logger *slog.Logger, existing bool) error {
	if existing {
		var tables int
		if err := db.QueryRowContext(ctx, d.hasMigrations).Scan(&tables); err != nil {
			return fmt.Errorf("looking for schema_migrations: %w", err)
		}
		if tables == 0 {
			return noStoreError("the database holds no steadywatch schema")
		}
	}
	return migrate(ctx, db, d, logger)
}

// migrateTo is migrate up to version, or to the newest if version is 0: an
// older steadywatch, for the tests of upgrades.
func migrateTo(ctx context.Context, db *sql.DB, d *dialect, logger *slog.Logger, version int) (err error) {
	ms, err := loadMigrations(d.name)
	if err != nil {
		return err
	}
	if version > 0 {
		ms = ms[:version]
	}
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("migrating: %w", err)
	}
	defer func() {
		if err != nil {
			tx.Rollback() //nolint:errcheck,gosec // the migration error is the one to report
		}
	}()
	if d.migrateLock != "" {
		if _, err := tx.ExecContext(ctx, d.migrateLock); err != nil {
			return fmt.Errorf("locking for migration: %w", err)
		}
	}
	if _, err := tx.ExecContext(ctx, d.createMigrations); err != nil {
		return fmt.Errorf("creating schema_migrations: %w", err)
	}
	var current sql.NullInt64
	if err := tx.QueryRowContext(ctx, "SELECT max(version) FROM schema_migrations").Scan(&current); err != nil {
		return fmt.Errorf("reading schema version: %w", err)
	}
	have := int(current.Int64)
	if have > len(ms) {
		return &SchemaTooNewError{Database: have, Supported: len(ms)}
	}
	for _, m := range ms[have:] {
		if _, err := tx.ExecContext(ctx, m.sql); err != nil {
			return fmt.Errorf("applying migration %s: %w", m.name, err)
		}
		if _, err := tx.ExecContext(ctx, "INSERT INTO schema_migrations (version) VALUES ($1)", m.version); err != nil {
			return fmt.Errorf("recording migration %s: %w", m.name, err)
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("committing migrations: %w", err)
	}
	if have < len(ms) {
		logger.Info("store schema migrated", "backend", d.name, "from", have, "to", len(ms))
	}
	return nil
}
