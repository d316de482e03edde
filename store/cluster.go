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

// Clusters implements Store.
func (s *sqlStore) Clusters(ctx context.Context) ([]string, error) {
	var tables []string
	for _, t := range []string{"incidents", "events", "alerts", "inventory", "watch_coverage", "report_deliveries", "verdicts"} {
		tables = append(tables, "SELECT DISTINCT cluster FROM "+t)
	}
	return list(ctx, s.reader, "listing clusters", strings.Join(tables, " UNION ")+" ORDER BY 1", nil,
		func(rows *sql.Rows) (string, bool, error) {
			var name string
			err := rows.Scan(&name)
			return name, err == nil, err
		})
}
