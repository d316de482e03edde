package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/steadywatch/steadywatch/contract"
)

// AllClusters is the name ForCluster takes for a view of every cluster.
const AllClusters = "*"

// ErrReadOnlyView is what a write through a ForCluster view returns: a
// store writes only its own cluster's rows.
var ErrReadOnlyView = errors.New("a view of another cluster is read-only")

// ClusterLister lists the clusters with rows in a store (a Store is one).
type ClusterLister interface {
	Clusters(ctx context.Context) ([]string, error)
}

// ClusterError is ResolveClusters refusing the cluster asked for, the
// asker's mistake rather than the store's failure: a name that cannot be a
// cluster's (Invalid, contract.CheckCluster's error), or one with no rows
// in the store, Known being those that have (and the asker's own).
type ClusterError struct {
	Name    string
	Known   []string
	Invalid error
}

func (e *ClusterError) Error() string {
	if e.Invalid != nil {
		return e.Invalid.Error()
	}
	shown := make([]string, len(e.Known))
	for i, k := range e.Known {
		shown[i] = strconv.Quote(k)
	}
	return fmt.Sprintf("no cluster %q in the store; known: %s, or %s for all", e.Name, strings.Join(shown, ", "), AllClusters)
}

func (e *ClusterError) Unwrap() error { return e.Invalid }

// ResolveClusters returns the clusters a reader whose own cluster is own
// reads when it asks for name (a --cluster flag, a cluster= parameter),
// sorted: own alone for own (listing nothing); for AllClusters every
// cluster with rows in the store, or own if none has; otherwise the one
// named, which must have rows. A name that cannot be a cluster's, or
// that has no rows, is a *ClusterError to prefix with the flag or
// parameter; one of listing the clusters is the store's, unwrapped.
func ResolveClusters(ctx context.Context, db ClusterLister, own, name string) ([]string, error) {
	if name == own {
		return []string{own}, nil
	}
	if name != AllClusters {
		if err := contract.CheckCluster(name); err != nil {
			return nil, &ClusterError{Name: name, Invalid: err}
		}
	}
	known, err := db.Clusters(ctx)
	if err != nil {
		return nil, err
	}
	if name == AllClusters {
		if len(known) == 0 {
			return []string{own}, nil
		}
		return known, nil
	}
	if !slices.Contains(known, name) {
		if !slices.Contains(known, own) {
			known = append(known, own)
			slices.Sort(known)
		}
		return nil, &ClusterError{Name: name, Known: known}
	}
	return []string{name}, nil
}

// ForCluster implements Store.
func (s *sqlStore) ForCluster(name string) (Store, error) {
	if name != AllClusters {
		if err := contract.CheckCluster(name); err != nil {
			return nil, fmt.Errorf("store: cluster: %w", err)
		}
	}
	v := *s
	v.cluster, v.view = name, true
	return &v, nil
}

// writable refuses a write through a view; what names the write.
func (s *sqlStore) writable(what string) error {
	if s.view {
		return fmt.Errorf("store: %s: %w (cluster %q)", what, ErrReadOnlyView, s.cluster)
	}
	return nil
}

// inCluster adds the condition that selects the store's cluster's rows,
// none for a view of all.
func (s *sqlStore) inCluster(w *where) {
	if s.cluster != AllClusters {
		w.add("cluster = %s", s.cluster)
	}
}

// clusterTables are the tables that hold a cluster's rows, each with an
// index whose key leads with cluster.
var clusterTables = []string{"incidents", "events", "alerts", "inventory", "watch_coverage", "report_deliveries", "verdicts", "experiments"}

// clustersQuery lists the clusters with rows in any table. A SELECT
// DISTINCT cluster reads a whole index (SQLite and PostgreSQL alike scan it
// rather than skip through it): on every API request that names a
// cluster, that is every row the store holds. Instead each table's names
// are walked one at a time, each step a seek in the index leading with
// cluster for the least name after the last (a loose index scan): a few
// page reads per cluster, however many rows each holds.
var clustersQuery = func() string {
	var ctes, selects []string
	for _, t := range clusterTables {
		ctes = append(ctes, fmt.Sprintf(`%[1]s_clusters(name) AS (
	SELECT min(cluster) FROM %[1]s
	UNION ALL
	SELECT (SELECT min(cluster) FROM %[1]s WHERE cluster > prev.name) FROM %[1]s_clusters AS prev WHERE prev.name IS NOT NULL
)`, t))
		selects = append(selects, fmt.Sprintf("SELECT name FROM %s_clusters WHERE name IS NOT NULL", t))
	}
	return "WITH RECURSIVE " + strings.Join(ctes, ",\n") + "\n" + strings.Join(selects, "\nUNION ") + "\nORDER BY 1"
}()

// orderBy returns ORDER BY keys, the keys that order one cluster's rows
// totally; a view of all clusters orders by cluster last, as rows alike
// but for their cluster would otherwise come in whatever order the
// database finds them.
func (s *sqlStore) orderBy(keys string) string {
	if s.cluster == AllClusters {
		return "ORDER BY " + keys + ", cluster"
	}
	return "ORDER BY " + keys
}

// Clusters implements Store.
func (s *sqlStore) Clusters(ctx context.Context) ([]string, error) {
	return list(ctx, s.reader, "listing clusters", clustersQuery, nil,
		func(rows *sql.Rows) (string, bool, error) {
			var name string
			err := rows.Scan(&name)
			return name, err == nil, err
		})
}

// HiddenHistoryError is a store opened for a named cluster that holds no
// rows of it but rows of the unnamed cluster: an installation that set
// cluster: after it had stored history, which reads of the named cluster
// would silently leave out.
type HiddenHistoryError struct{ Cluster string }

func (e *HiddenHistoryError) Error() string {
	return fmt.Sprintf(`cluster: %q: the store holds history of the unnamed cluster ("", stored before cluster: was set) and none of %q, `+
		`so %q would read none of it. If that history is this cluster's, stop steadywatch, run `+
		`"steadywatch store adopt-cluster --to %s" with this configuration (moves the unnamed cluster's rows to %q in one transaction) and start it again; `+
		`if it is another steadywatch's that shares this store and names no cluster, start this one once with --new-cluster`,
		e.Cluster, e.Cluster, e.Cluster, e.Cluster, e.Cluster)
}

// CheckHistory refuses to serve cluster own on a store whose history is
// the unnamed cluster's alone (a *HiddenHistoryError). Once own has rows,
// or for the unnamed cluster itself, it passes.
func CheckHistory(ctx context.Context, db ClusterLister, own string) error {
	if own == "" {
		return nil
	}
	known, err := db.Clusters(ctx)
	if err != nil {
		return err
	}
	if slices.Contains(known, "") && !slices.Contains(known, own) {
		return &HiddenHistoryError{Cluster: own}
	}
	return nil
}

// Adopted is what AdoptCluster moved: the rows of each table.
type Adopted struct {
	From, To string
	Rows     map[string]int64
}

// Total is the number of rows moved.
func (a Adopted) Total() int64 {
	var n int64
	for _, r := range a.Rows {
		n += r
	}
	return n
}

// ErrClusterHasRows is AdoptCluster refusing to move rows into a cluster
// that has some: their keys could collide, and two histories would merge.
var ErrClusterHasRows = errors.New("the cluster has rows already")

// longTxTimeout bounds a long write transaction: the time left to ctx's
// deadline, never less than an ordinary write's txTimeout.
func longTxTimeout(ctx context.Context) time.Duration {
	if d, ok := ctx.Deadline(); ok {
		return max(time.Until(d), txTimeout)
	}
	return txTimeout
}

// AdoptCluster implements Store.
func (s *sqlStore) AdoptCluster(ctx context.Context, from string) (Adopted, error) {
	a := Adopted{From: from, To: s.cluster, Rows: map[string]int64{}}
	if err := contract.CheckCluster(from); err != nil {
		return a, fmt.Errorf("store: adopting cluster: %w", err)
	}
	what := fmt.Sprintf("adopting cluster %q's rows into %q", from, s.cluster)
	if from == s.cluster {
		return a, fmt.Errorf("store: %s: the same cluster", what)
	}
	if err := s.writable(what); err != nil {
		return a, err
	}
	// The move rewrites every row of a history, which may take longer than
	// an ordinary write's txTimeout: it has the caller's time (the
	// command's --timeout).
	err := s.inTxFor(ctx, longTxTimeout(ctx), func(tx *sql.Tx) error {
		for _, t := range clusterTables {
			var has bool
			// A row of s.cluster written while this runs may not be seen
			// here (PostgreSQL reads committed rows per statement): the
			// steadywatch writing s.cluster is to be stopped first, as the
			// command says.
			if err := tx.QueryRowContext(ctx, "SELECT EXISTS (SELECT 1 FROM "+t+" WHERE cluster = $1)", s.cluster).Scan(&has); err != nil {
				return err
			}
			if has {
				return fmt.Errorf("%w (%s)", ErrClusterHasRows, t)
			}
		}
		for _, t := range clusterTables {
			//nolint:gosec // t is one of clusterTables, constants; the values are parameters
			res, err := tx.ExecContext(ctx, "UPDATE "+t+" SET cluster = $1 WHERE cluster = $2", s.cluster, from)
			if err != nil {
				return fmt.Errorf("%s: %w", t, err)
			}
			if a.Rows[t], err = res.RowsAffected(); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		clear(a.Rows) // rolled back: nothing moved
		return a, fmt.Errorf("store: %s: %w", what, err)
	}
	return a, nil
}
