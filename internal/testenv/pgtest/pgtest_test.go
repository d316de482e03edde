package pgtest_test

import (
	"context"
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/stretchr/testify/require"

	"github.com/steadywatch/steadywatch/internal/testenv/pgtest"

	"github.com/steadywatch/steadywatch/internal/testenv/childproc"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

func connect(t *testing.T, dsn string) *pgx.Conn {
	t.Helper()
	conn, err := pgx.Connect(t.Context(), dsn)
	require.NoError(t, err)
	t.Cleanup(func() { _ = conn.Close(context.Background()) })
	return conn
}

func TestNewGivesEveryCallItsOwnDatabase(t *testing.T) {
	first, second := pgtest.New(t), pgtest.New(t)
	require.NotEqual(t, first, second)

	_, err := connect(t, first).Exec(t.Context(), "CREATE TABLE only_here (x int)")
	require.NoError(t, err)
	_, err = connect(t, second).Exec(t.Context(), "SELECT * FROM only_here")
	var pgErr *pgconn.PgError
	require.ErrorAs(t, err, &pgErr)
	require.Equal(t, "42P01", pgErr.Code, "undefined_table")
}

func TestServerIsConfiguredLikeProduction(t *testing.T) {
	conn := connect(t, pgtest.New(t))
	tests := []struct {
		setting, want string
	}{
		{"fsync", "on"},
		{"synchronous_commit", "on"},
		{"full_page_writes", "on"},
		{"listen_addresses", "127.0.0.1"},
		{"password_encryption", "scram-sha-256"},
	}
	for _, tt := range tests {
		t.Run(tt.setting+" is "+tt.want, func(t *testing.T) {
			var got string
			require.NoError(t, conn.QueryRow(t.Context(), "SHOW "+tt.setting).Scan(&got))
			require.Equal(t, tt.want, got)
		})
	}
}

func TestAWrongPasswordIsRefused(t *testing.T) {
	dsn := pgtest.New(t)
	cfg, err := pgx.ParseConfig(dsn)
	require.NoError(t, err)
	cfg.Password = "wrong"
	_, err = pgx.ConnectConfig(t.Context(), cfg)
	require.ErrorContains(t, err, "password authentication failed")
}

// childEnv makes the test binary, started again by
// TestServerDiesWithTheTestBinary, start a server and wait to be killed.
const childEnv = "PGTEST_CHILD"

func TestServerDiesWithTheTestBinary(t *testing.T) {
	if os.Getenv(childEnv) == "1" {
		s, err := pgtest.Start(context.Background())
		if err != nil {
			fmt.Println("error", err)
			os.Exit(1)
		}
		fmt.Println("server", s.Pid(), s.Dir)
		select {} // until killed
	}
	if os.Getenv(pgtest.SkipEnv) == "1" {
		t.Skipf("%s=1", pgtest.SkipEnv)
	}

	childproc.RequireDiesWithTestBinary(t, "TestServerDiesWithTheTestBinary", childEnv, 30*time.Second)
}
