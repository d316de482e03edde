package pgtest_test

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/stretchr/testify/require"

	"github.com/steadywatch/steadywatch/pgtest"
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

	child := exec.CommandContext(t.Context(), os.Args[0], "-test.run=^TestServerDiesWithTheTestBinary$") //nolint:gosec // this test binary
	child.Env = append(os.Environ(), childEnv+"=1")
	child.Stderr = os.Stderr
	out, err := child.StdoutPipe()
	require.NoError(t, err)
	require.NoError(t, child.Start())
	line, err := bufio.NewReader(out).ReadString('\n')
	require.NoError(t, err, "the child's output is above")
	fields := strings.Fields(line)
	require.Len(t, fields, 3, "child said %q", line)
	require.Equal(t, "server", fields[0], "child said %q", line)
	pid, err := strconv.Atoi(fields[1])
	require.NoError(t, err)
	t.Cleanup(func() { os.RemoveAll(fields[2]) }) //nolint:errcheck,gosec // test cleanup; nobody else removes it
	require.True(t, alive(pid), "the server runs")

	require.NoError(t, child.Process.Kill())
	require.Error(t, child.Wait())

	deadline := time.After(30 * time.Second)
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for alive(pid) {
		select {
		case <-deadline:
			t.Fatalf("postgres (pid %d) outlived its test binary by 30s", pid)
		case <-tick.C:
		}
	}
}

// alive reports whether process pid runs: exists and is not a zombie left
// for a parent that does not reap.
func alive(pid int) bool {
	if err := syscall.Kill(pid, 0); errors.Is(err, syscall.ESRCH) {
		return false
	}
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	// pid (comm) state ...: the state follows the last ')'.
	rest := stat[bytes.LastIndexByte(stat, ')')+1:]
	return !bytes.HasPrefix(bytes.TrimSpace(rest), []byte("Z"))
}
