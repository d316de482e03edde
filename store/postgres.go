package store

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"strconv"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"
)

// migrateLockKey is the advisory lock replicas take while they migrate one
// database ("steadywatch" in ASCII, truncated to 8 bytes). Advisory locks are
// per database, so replicas of other installations on the same server do not
// wait for each other.
const migrateLockKey int64 = 0x7374656164797761

var postgresDialect = dialect{
	name:          "postgres",
	hasMigrations: `SELECT count(*) FROM information_schema.tables WHERE table_schema = current_schema() AND table_name = 'schema_migrations'`,
	createMigrations: `CREATE TABLE IF NOT EXISTS schema_migrations (
	version    integer     NOT NULL PRIMARY KEY,
	applied_at timestamptz NOT NULL DEFAULT now()
)`,
	// Taken in the migration transaction, released when it ends: two
	// replicas starting together migrate one after the other, and the
	// second finds nothing left to do.
	migrateLock: "SELECT pg_advisory_xact_lock(" + strconv.FormatInt(migrateLockKey, 10) + ")",
	numbered:    true,
	// One statement, one round trip, for all but the largest batches.
	maxAlertsPerStatement: 1000,
	labelsContain:         "labels @> %s::jsonb",
}

// maxPostgresConns bounds the connections one steadywatch opens.
const maxPostgresConns = 16

// openPostgres opens PostgreSQL through pgx's database/sql driver, so that
// both databases share one implementation (sqlStore) and one set of
// statements, and the test suite checks the same code twice. pgx's native
// pool would pipeline statements, but SaveAlerts already sends a batch as
// one statement, and commit latency is the WAL flush either way.
func openPostgres(ctx context.Context, dsn string, logger *slog.Logger, existing bool) (*sqlStore, error) {
	cfg, err := pgx.ParseConfig(dsn)
	if err != nil {
		// pgx's parse errors quote the DSN, redacting passwords only as
		// far as it can tell them apart in a malformed one.
		return nil, errors.New("invalid PostgreSQL DSN")
	}
	// Acknowledge a write only once it is flushed to the WAL, whatever the
	// server's default; a DSN may still ask for more (remote_apply).
	if _, set := cfg.RuntimeParams["synchronous_commit"]; !set {
		cfg.RuntimeParams["synchronous_commit"] = "on"
	}
	if _, set := cfg.RuntimeParams["application_name"]; !set {
		cfg.RuntimeParams["application_name"] = "steadywatch"
	}
	db := stdlib.OpenDB(*cfg)
	db.SetMaxOpenConns(maxPostgresConns)
	db.SetMaxIdleConns(maxPostgresConns)
	if err := db.PingContext(ctx); err != nil {
		db.Close() //nolint:errcheck,gosec // the ping error is the one to report
		return nil, err
	}
	if err := migrateExisting(ctx, db, &postgresDialect, logger, existing); err != nil {
		db.Close() //nolint:errcheck,gosec // the migration error is the one to report
		return nil, err
	}
	logOpened(logger, "postgres", net.JoinHostPort(cfg.Host, strconv.Itoa(int(cfg.Port)))+"/"+cfg.Database)
	return &sqlStore{d: &postgresDialect, writer: db, reader: db}, nil
}
