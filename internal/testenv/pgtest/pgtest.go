// Package pgtest runs a real PostgreSQL server, from Debian's postgresql
// package, for tests: one server per test binary, started on first use, and
// a fresh database for every New.
//
//	func TestMain(m *testing.M) { pgtest.Main(m) }
//
//	func TestSomething(t *testing.T) {
//		dsn := pgtest.New(t) // postgres://steadywatch:…@127.0.0.1:port/steadywatch_1
//		…
//	}
//
// The server runs from a temporary directory on 127.0.0.1 and a free port,
// with fsync and synchronous_commit on, as in production. PostgreSQL refuses
// to run as root: a test binary running as root runs it as the "postgres"
// user the Debian package creates (or "nobody" without it), which owns the
// temporary directory. The server dies with the test binary, even a killed
// one (Pdeathsig); Main stops it and removes the directory.
//
// Without the binaries (/usr/lib/postgresql/*/bin) New fails the test and
// says to `apt-get install postgresql`; STEADYWATCH_SKIP_POSTGRES=1 skips
// those tests instead.
package pgtest

import (
	"bytes"
	"cmp"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/steadywatch/steadywatch/internal/testenv/childproc"
)

// SkipEnv, set to 1, makes New skip the test rather than start PostgreSQL.
const SkipEnv = "STEADYWATCH_SKIP_POSTGRES"

// BinGlob is where Debian installs PostgreSQL's server binaries, one
// directory per major version.
const BinGlob = "/usr/lib/postgresql/*/bin"

// User is the PostgreSQL role the tests connect as.
const User = "steadywatch"

const (
	startTimeout = 60 * time.Second
	stopTimeout  = 30 * time.Second
)

var (
	mu         sync.Mutex
	mainCalled bool
	shared     *Server
	sharedErr  error
	dbSeq      atomic.Int64
)

// Main runs the tests and then stops the shared server, if one was started,
// and exits. Call it from TestMain in every package that uses New.
func Main(m *testing.M) {
	mu.Lock()
	mainCalled = true
	mu.Unlock()
	code := m.Run()
	mu.Lock()
	s := shared
	mu.Unlock()
	if s != nil {
		if err := s.Stop(); err != nil {
			fmt.Fprintf(os.Stderr, "pgtest: %v\n", err)
			code = max(code, 1)
		}
	}
	os.Exit(code)
}

// New returns the DSN of a new, empty database on the test binary's shared
// server, starting the server on first use.
func New(t testing.TB) string {
	t.Helper()
	if os.Getenv(SkipEnv) == "1" {
		t.Skipf("%s=1: skipping the test that needs PostgreSQL", SkipEnv)
	}
	s, err := sharedServer(t)
	if err != nil {
		t.Fatalf("pgtest: %v", err)
	}
	name := fmt.Sprintf("steadywatch_%d", dbSeq.Add(1))
	if err := s.CreateDatabase(t.Context(), name); err != nil {
		t.Fatalf("pgtest: %v", err)
	}
	return s.DSN(name)
}

func sharedServer(t testing.TB) (*Server, error) {
	mu.Lock()
	defer mu.Unlock()
	if !mainCalled {
		return nil, errors.New("the package's TestMain must call pgtest.Main(m), which stops the server")
	}
	if shared == nil && sharedErr == nil {
		began := time.Now()
		shared, sharedErr = Start(t.Context())
		if sharedErr == nil {
			t.Logf("pgtest: %s ready on %s in %s", shared.Version, shared.Addr, time.Since(began).Round(time.Millisecond))
		}
	}
	return shared, sharedErr
}

// Server is a running PostgreSQL server.
type Server struct {
	// Version is the server binary's version, "postgres (PostgreSQL) 15.18 …".
	Version string
	// Addr is the server's TCP address.
	Addr string
	// Dir holds the cluster, its socket and its log.
	Dir string

	password string
	proc     *childproc.Process
	stopOnce sync.Once
	stopErr  error
}

// DSN is the URL of database name, over TCP with a password.
func (s *Server) DSN(name string) string {
	return fmt.Sprintf("postgres://%s:%s@%s/%s?sslmode=disable", User, s.password, s.Addr, name)
}

// adminDSN reaches the server over its Unix socket, where User is trusted.
func (s *Server) adminDSN() string {
	return fmt.Sprintf("host=%s port=%s user=%s dbname=postgres sslmode=disable",
		s.Dir, s.port(), User)
}

// Pid is the server process's (the postmaster's) ID.
func (s *Server) Pid() int { return s.proc.Pid() }

func (s *Server) port() string {
	_, port, _ := net.SplitHostPort(s.Addr)
	return port
}

// CreateDatabase creates an empty database.
func (s *Server) CreateDatabase(ctx context.Context, name string) error {
	conn, err := pgx.Connect(ctx, s.adminDSN())
	if err != nil {
		return fmt.Errorf("connecting to create database %s: %w", name, err)
	}
	defer conn.Close(context.WithoutCancel(ctx)) //nolint:errcheck // nothing to do if closing fails
	if _, err := conn.Exec(ctx, "CREATE DATABASE "+pgx.Identifier{name}.Sanitize()); err != nil {
		return fmt.Errorf("creating database %s: %w", name, err)
	}
	return nil
}

// BinDir returns the newest of Debian's PostgreSQL binary directories.
func BinDir() (string, error) {
	dirs, err := filepath.Glob(BinGlob)
	if err != nil {
		return "", err
	}
	dirs = slices.DeleteFunc(dirs, func(d string) bool {
		_, errInit := os.Stat(filepath.Join(d, "initdb"))
		_, errPG := os.Stat(filepath.Join(d, "postgres"))
		return errInit != nil || errPG != nil
	})
	if len(dirs) == 0 {
		return "", fmt.Errorf("no PostgreSQL server binaries (initdb, postgres) in %s: "+
			"apt-get install postgresql (or set %s=1 to skip the tests that need it)", BinGlob, SkipEnv)
	}
	return newest(dirs), nil
}

// newest returns the directory of the highest version among
// /usr/lib/postgresql/VERSION/bin directories. Versions are numbers (9.6,
// 15, 16) and compare as numbers, not strings.
func newest(dirs []string) string {
	version := func(dir string) float64 {
		v, _ := strconv.ParseFloat(filepath.Base(filepath.Dir(dir)), 64)
		return v
	}
	return slices.MaxFunc(dirs, func(a, b string) int { return cmp.Compare(version(a), version(b)) })
}

// Start initialises a cluster in a new temporary directory and starts a
// server on it; Stop stops it and removes the directory. ctx bounds the
// start, not the server's life.
func Start(ctx context.Context) (s *Server, err error) {
	bin, err := BinDir()
	if err != nil {
		return nil, err
	}
	cred, err := credential()
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "steadywatch-pgtest-")
	if err != nil {
		return nil, err
	}
	defer func() {
		if err != nil {
			os.RemoveAll(dir) //nolint:errcheck,gosec // the start error is the one to report
		}
	}()
	pw := make([]byte, 16)
	_, _ = rand.Read(pw)
	s = &Server{Dir: dir, password: hex.EncodeToString(pw)}
	pwFile := filepath.Join(dir, "pwfile")
	if err := os.WriteFile(pwFile, []byte(s.password+"\n"), 0o600); err != nil {
		return nil, err
	}
	if cred != nil {
		for _, p := range []string{dir, pwFile} {
			if err := os.Chown(p, int(cred.Uid), int(cred.Gid)); err != nil {
				return nil, fmt.Errorf("handing %s to the user PostgreSQL runs as: %w", p, err)
			}
		}
	}

	out, err := run(ctx, cred, filepath.Join(bin, "postgres"), "--version")
	if err != nil {
		return nil, err
	}
	s.Version = strings.TrimSpace(out)

	data := filepath.Join(dir, "data")
	// The TCP connections the tests make authenticate like production ones
	// (scram-sha-256, so DSNs carry a password); the Unix socket, reachable
	// only through the 0700 directory, is trusted. --no-sync: a crash
	// during initdb loses only a test cluster; the server itself runs with
	// fsync on.
	if _, err := run(ctx, cred, filepath.Join(bin, "initdb"), "--pgdata", data, "--username", User,
		"--pwfile", pwFile, "--auth-host", "scram-sha-256", "--auth-local", "trust",
		"--encoding", "UTF8", "--locale", "C", "--no-sync", "--no-instructions"); err != nil {
		return nil, err
	}

	// A free port can be taken between asking and binding: try again.
	for attempt := 0; ; attempt++ {
		err = s.start(ctx, bin, data, cred)
		if err == nil || attempt == 2 || !strings.Contains(err.Error(), "could not bind") {
			break
		}
	}
	if err != nil {
		return nil, err
	}
	return s, nil
}

// credential returns whom to run PostgreSQL as: nil (this process's user)
// unless running as root, which PostgreSQL refuses.
func credential() (*syscall.Credential, error) {
	if os.Geteuid() != 0 {
		return nil, nil
	}
	var errs []error
	for _, name := range []string{"postgres", "nobody"} {
		u, err := user.Lookup(name)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		uid, errU := strconv.ParseUint(u.Uid, 10, 32)
		gid, errG := strconv.ParseUint(u.Gid, 10, 32)
		if errU != nil || errG != nil {
			errs = append(errs, fmt.Errorf("user %s has a non-numeric uid or gid", name))
			continue
		}
		return &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid), NoSetGroups: true}, nil
	}
	return nil, fmt.Errorf("running as root, and no user to run PostgreSQL as: %w", errors.Join(errs...))
}

func run(ctx context.Context, cred *syscall.Credential, name string, args ...string) (string, error) {
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: cred, Pdeathsig: syscall.SIGKILL}
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("%s %s: %w\n%s", filepath.Base(name), strings.Join(args, " "), err, out.String())
	}
	return out.String(), nil
}

// start starts postgres on a free port and waits until it accepts
// connections.
func (s *Server) start(ctx context.Context, bin, data string, cred *syscall.Credential) error {
	port, err := childproc.FreePort(ctx)
	if err != nil {
		return err
	}
	s.Addr = net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	logPath := filepath.Join(s.Dir, "postgres.log")
	s.proc, err = childproc.Start(ctx, childproc.Options{
		Name: "postgres", Bin: filepath.Join(bin, "postgres"), LogPath: logPath, Cred: cred,
		Args: []string{
			"-D", data,
			"-c", "listen_addresses=127.0.0.1",
			"-c", "port=" + strconv.Itoa(port),
			"-c", "unix_socket_directories=" + s.Dir,
			"-c", "fsync=on",
			"-c", "synchronous_commit=on",
			"-c", "full_page_writes=on",
			"-c", "max_connections=200",
			"-c", "log_min_messages=warning",
		},
		// SIGQUIT is PostgreSQL's immediate shutdown: the postmaster stops
		// its backends and exits, without the checkpoint a test cluster
		// never needs.
		Deathsig: syscall.SIGQUIT,
	})
	if err != nil {
		return err
	}
	if err := s.waitReady(ctx); err != nil {
		s.kill()
		log, _ := os.ReadFile(logPath)
		return fmt.Errorf("%w\npostgres log:\n%s", err, log)
	}
	return nil
}

// waitReady waits until the server accepts connections, it exits, or
// startTimeout passes.
func (s *Server) waitReady(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, startTimeout)
	defer cancel()
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	var lastErr error
	for {
		attempt, cancelAttempt := context.WithTimeout(ctx, 2*time.Second)
		conn, err := pgx.Connect(attempt, s.adminDSN())
		cancelAttempt()
		if err == nil {
			return conn.Close(ctx)
		}
		lastErr = err
		select {
		case <-s.proc.Exited():
			return fmt.Errorf("postgres exited while starting: %w", cmp.Or(s.proc.WaitErr(), errors.New("exit status 0")))
		case <-ctx.Done():
			return fmt.Errorf("postgres did not accept connections within %s: %w", startTimeout, lastErr)
		case <-tick.C:
		}
	}
}

func (s *Server) kill() { s.proc.Kill() }

// Stop shuts the server down (PostgreSQL's fast shutdown: disconnect the
// clients, checkpoint, exit) and removes its directory.
func (s *Server) Stop() error {
	s.stopOnce.Do(func() {
		if err := s.proc.Cmd.Process.Signal(syscall.SIGINT); err == nil {
			select {
			case <-s.proc.Exited():
			case <-time.After(stopTimeout):
				s.kill()
				s.stopErr = fmt.Errorf("postgres did not stop within %s; killed it", stopTimeout)
			}
		}
		if err := os.RemoveAll(s.Dir); err != nil {
			s.stopErr = errors.Join(s.stopErr, err)
		}
	})
	return s.stopErr
}
