package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"

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
var clusterTables = []string{"incidents", "events", "alerts", "inventory", "watch_coverage", "report_deliveries", "verdicts"}

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
