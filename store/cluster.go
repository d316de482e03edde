package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"

	"k8s.io/apimachinery/pkg/util/validation"
)

// AllClusters is the name ForCluster takes for a view of every cluster.
const AllClusters = "*"

// ErrReadOnlyView is what a write through a ForCluster view returns: a
// store writes only its own cluster's rows.
var ErrReadOnlyView = errors.New("a view of another cluster is read-only")

// checkCluster refuses a name that is not a cluster's: "" or an RFC 1123
// label, as config's cluster: is.
func checkCluster(name string) error {
	if name == "" {
		return nil
	}
	if errs := validation.IsDNS1123Label(name); len(errs) > 0 {
		return fmt.Errorf("%q is not a valid cluster name: %s", name, strings.Join(errs, "; "))
	}
	return nil
}

// ForCluster implements Store.
func (s *sqlStore) ForCluster(name string) (Store, error) {
	if name != AllClusters {
		if err := checkCluster(name); err != nil {
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
