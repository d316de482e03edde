package store

import (
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestParseDSN(t *testing.T) {
	tests := []struct {
		name     string
		dsn      string
		dataDir  string
		wantKind backendKind
		want     string
		wantErr  string
	}{
		{name: "an empty DSN is the default file in the data directory", dataDir: "/var/lib/steadywatch", want: "/var/lib/steadywatch/steadywatch.db"},
		{name: "an empty DSN without a data directory is refused", wantErr: "no DSN and no data directory to keep the SQLite file in"},
		{name: "a sqlite URL with an absolute path", dsn: "sqlite:///data/sw.db", want: "/data/sw.db"},
		{name: "a sqlite URL with a relative path", dsn: "sqlite://data/sw.db", want: "data/sw.db"},
		{name: "a plain path is a SQLite file", dsn: "data/sw.db", want: "data/sw.db"},
		{name: "a postgres URL", dsn: "postgres://sw@db:5432/sw", wantKind: postgresKind, want: "postgres://sw@db:5432/sw"},
		{name: "a postgresql URL", dsn: "postgresql://db/sw", wantKind: postgresKind, want: "postgresql://db/sw"},
		{name: "an unknown scheme is refused", dsn: "mysql://db/sw", wantErr: `unsupported scheme "mysql": want sqlite:// or postgres://`},
		{name: "a sqlite URL without a path is refused", dsn: "sqlite://", wantErr: "no SQLite file path"},
		{name: "an in-memory database is refused", dsn: ":memory:", wantErr: "not a file path: an in-memory or URI database is not durable"},
		{name: "a SQLite URI is refused", dsn: "file:sw.db?mode=memory", wantErr: "not a file path: an in-memory or URI database is not durable"},
		{name: "SQLite parameters are refused", dsn: "sqlite:///data/sw.db?_pragma=synchronous(OFF)", wantErr: "SQLite DSN parameters are not supported"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			kind, got, err := parseDSN(tt.dsn, tt.dataDir)
			if tt.wantErr != "" {
				require.EqualError(t, err, tt.wantErr)
				return
			}
			require.NoError(t, err)
			require.Equal(t, tt.wantKind, kind)
			require.Equal(t, tt.want, got)
		})
	}
}

func TestRedactDSN(t *testing.T) {
	tests := []struct {
		name, dsn, want string
	}{
		{"a file path is shown as it is", "/data/steadywatch.db", "/data/steadywatch.db"},
		{"a URL without a password is shown as it is", "postgres://sw@db:5432/sw?sslmode=require", "postgres://sw@db:5432/sw?sslmode=require"},
		{"the user info password is hidden", "postgres://sw:s3cret@db:5432/sw", "postgres://sw:xxxxx@db:5432/sw"},
		{"password parameters are hidden", "postgresql://db/sw?user=sw&password=s3cret&sslpassword=k3y", "postgresql://db/sw?password=xxxxx&sslpassword=xxxxx&user=sw"},
		{"an unparsable URL is not shown at all", "postgres://sw:s3cret@db:port/sw", "postgres://(unparsable DSN)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			require.Equal(t, tt.want, RedactDSN(tt.dsn))
		})
	}
}

func TestOpenErrorsNameTheDatabase(t *testing.T) {
	tests := []struct {
		name, dsn, want string
	}{
		{
			"an unreachable PostgreSQL, without its password",
			"postgres://sw:s3cret@127.0.0.1:1/sw?connect_timeout=5", "store: postgres://sw:xxxxx@127.0.0.1:1/sw?connect_timeout=5: ",
		},
		{
			"a SQLite file that cannot be created",
			"sqlite:///proc/steadywatch/sw.db", "store: sqlite:///proc/steadywatch/sw.db: creating the database directory: ",
		},
		{"an unsupported DSN", "mysql://sw:s3cret@db/sw", "store: mysql://sw:xxxxx@db/sw: unsupported scheme"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Open(t.Context(), tt.dsn, Options{})
			require.ErrorContains(t, err, tt.want)
			require.NotContains(t, err.Error(), "s3cret")
		})
	}
}

func TestOpenWithoutDSNUsesTheDataDirectory(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	s, err := Open(t.Context(), "", Options{DataDir: dir})
	require.NoError(t, err)
	require.NoError(t, s.Close())
	require.FileExists(t, filepath.Join(dir, DefaultFile))
}

func TestMigrationsAreNumberedAlikeForEveryDatabase(t *testing.T) {
	sqlite, err := loadMigrations(sqliteDialect.name)
	require.NoError(t, err)
	postgres, err := loadMigrations(postgresDialect.name)
	require.NoError(t, err)
	require.NotEmpty(t, sqlite)
	require.Len(t, postgres, len(sqlite), "a schema version means the same on both")
	for i := range sqlite {
		require.Equal(t, sqlite[i].name, postgres[i].name)
	}
}
