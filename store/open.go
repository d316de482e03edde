package store

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net/url"
	"path/filepath"
	"strings"

	"github.com/steadywatch/steadywatch/contract"
)

// DefaultFile is the SQLite file Open uses in Options.DataDir when the DSN is
// empty.
const DefaultFile = "steadywatch.db"

// Options configure Open.
type Options struct {
	// Logger receives what Open did (migrations applied); nil discards it.
	Logger *slog.Logger
	// DataDir holds the SQLite file DefaultFile when the DSN is empty.
	DataDir string
	// Existing opens only a store that is there already, for commands
	// that read one: a missing SQLite file (or directory) or a database
	// without steadywatch's schema is an error wrapping fs.ErrNotExist,
	// and nothing is created. The schema is still brought up to date.
	Existing bool
	// Cluster is the cluster the store writes and, by default, reads
	// (config cluster:): "" is the unnamed one, which rows stored before
	// clusters were known belong to; otherwise an RFC 1123 label.
	// ForCluster reads others.
	Cluster string
}

// noStoreError is what Open with Options.Existing says of a missing
// store, and why; it is an fs.ErrNotExist.
type noStoreError string

func (e noStoreError) Error() string {
	return "no steadywatch store there: " + string(e) + " (serve creates it)"
}

func (noStoreError) Is(target error) bool { return target == fs.ErrNotExist }

// Open opens the store dsn names and brings its schema up to date:
//
//   - "" is the SQLite file DefaultFile in opts.DataDir;
//   - "sqlite:///abs/path.db", "sqlite://rel/path.db" or a plain file path is a
//     SQLite file, created with its directory if missing;
//   - "postgres://…" or "postgresql://…" is a PostgreSQL database (a libpq URL,
//     as pgx accepts it).
//
// Open refuses a database whose schema is newer than this binary knows
// (ErrSchemaTooNew), before it writes anything to it. Errors name the DSN
// with any password redacted.
func Open(ctx context.Context, dsn string, opts Options) (Store, error) {
	logger := opts.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	if err := contract.CheckCluster(opts.Cluster); err != nil {
		return nil, fmt.Errorf("store: cluster: %w", err)
	}
	kind, target, err := parseDSN(dsn, opts.DataDir)
	if err != nil {
		return nil, fmt.Errorf("store: %s: %w", RedactDSN(dsn), err)
	}
	var s *sqlStore
	switch kind {
	case postgresKind:
		s, err = openPostgres(ctx, target, logger, opts.Existing)
	default:
		s, err = openSQLite(ctx, target, logger, opts.Existing)
		dsn = "sqlite://" + target
	}
	if err != nil {
		return nil, fmt.Errorf("store: %s: %w", RedactDSN(dsn), err)
	}
	s.cluster = opts.Cluster
	if s.d.name == "sqlite" {
		// Group commit is SQLite's: its one writer makes concurrent saves
		// queue anyway, and one sync for many of them is the gain
		// (0.78 → 1.00 of the raw insert rate at 8 senders, same load).
		// PostgreSQL already flushes concurrent commits together, and one
		// writer made it slower (5,843 → 3,964 alerts/s at 8 senders), so
		// each save there is its own transaction, as before.
		s.alerts = &alertCommitter{write: s.writeAlertGroup}
	}
	return s, nil
}

type backendKind int

const (
	sqliteKind backendKind = iota
	postgresKind
)

// parseDSN returns the backend a DSN names and what to open: the SQLite file
// path or the PostgreSQL URL.
func parseDSN(dsn, dataDir string) (backendKind, string, error) {
	switch {
	case dsn == "":
		if dataDir == "" {
			return 0, "", errors.New("no DSN and no data directory to keep the SQLite file in")
		}
		return sqliteKind, filepath.Join(dataDir, DefaultFile), nil
	case strings.HasPrefix(dsn, "postgres://"), strings.HasPrefix(dsn, "postgresql://"):
		return postgresKind, dsn, nil
	case strings.HasPrefix(dsn, "sqlite://"):
		return sqlitePath(strings.TrimPrefix(dsn, "sqlite://"))
	case strings.Contains(dsn, "://"):
		scheme, _, _ := strings.Cut(dsn, "://")
		return 0, "", fmt.Errorf("unsupported scheme %q: want sqlite:// or postgres://", scheme)
	default:
		return sqlitePath(dsn)
	}
}

func sqlitePath(path string) (backendKind, string, error) {
	switch {
	case path == "":
		return 0, "", errors.New("no SQLite file path")
	case path == ":memory:" || strings.HasPrefix(path, "file:"):
		return 0, "", errors.New("not a file path: an in-memory or URI database is not durable")
	case strings.Contains(path, "?"):
		// The driver would take it for parameters; steadywatch sets the
		// pragmas durability depends on itself.
		return 0, "", errors.New("SQLite DSN parameters are not supported")
	}
	return sqliteKind, path, nil
}

// RedactDSN returns dsn fit for logs and errors: a URL's passwords, in the
// user info or as a password or sslpassword parameter, become "xxxxx".
func RedactDSN(dsn string) string {
	if !strings.Contains(dsn, "://") {
		return dsn
	}
	u, err := url.Parse(dsn)
	if err != nil {
		// The parse error would quote the DSN; say only what kind it was.
		scheme, _, _ := strings.Cut(dsn, "://")
		return scheme + "://(unparsable DSN)"
	}
	q := u.Query()
	for _, k := range []string{"password", "sslpassword"} {
		if q.Has(k) {
			q.Set(k, "xxxxx")
			u.RawQuery = q.Encode()
		}
	}
	return u.Redacted()
}
