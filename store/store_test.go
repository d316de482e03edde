package store_test

import (
	"context"
	"database/sql"
	"path/filepath"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"github.com/steadywatch/steadywatch/internal/testenv/pgtest"
	"github.com/steadywatch/steadywatch/store"
	"github.com/steadywatch/steadywatch/store/storetest"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

// sqliteDatabase is a new SQLite file in the test's directory.
func sqliteDatabase(t *testing.T) storetest.Database {
	path := filepath.Join(t.TempDir(), "steadywatch.db")
	return storetest.Database{
		DSN:     "sqlite://" + path,
		Migrate: func(ctx context.Context, version int) error { return store.MigrateTo(ctx, "sqlite://"+path, version) },
		Exec: func(ctx context.Context, query string) error {
			db, err := sql.Open("sqlite", path)
			if err != nil {
				return err
			}
			defer db.Close()
			_, err = db.ExecContext(ctx, query)
			return err
		},
	}
}

// postgresDatabase is a new database on the test binary's PostgreSQL.
func postgresDatabase(t *testing.T) storetest.Database {
	dsn := pgtest.New(t)
	return storetest.Database{
		DSN:     dsn,
		Migrate: func(ctx context.Context, version int) error { return store.MigrateTo(ctx, dsn, version) },
		Exec: func(ctx context.Context, query string) error {
			conn, err := pgx.Connect(ctx, dsn)
			if err != nil {
				return err
			}
			defer conn.Close(ctx)
			_, err = conn.Exec(ctx, query)
			return err
		},
	}
}

func TestSQLite(t *testing.T) {
	storetest.Run(t, sqliteDatabase)
}

func TestPostgres(t *testing.T) {
	storetest.Run(t, postgresDatabase)
}

func TestPostgresReplicasMigrateTogether(t *testing.T) {
	dsn := pgtest.New(t)
	// Replicas starting at once: the advisory lock makes one migrate and
	// the others find the schema current.
	errs := make(chan error, 4)
	for range cap(errs) {
		go func() {
			s, err := store.Open(t.Context(), dsn, store.Options{})
			if err == nil {
				err = s.Close()
			}
			errs <- err
		}()
	}
	for range cap(errs) {
		require.NoError(t, <-errs)
	}
}
