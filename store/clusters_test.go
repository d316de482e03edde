package store_test

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"github.com/steadywatch/steadywatch/alert"
	"github.com/steadywatch/steadywatch/internal/testenv/pgtest"
	"github.com/steadywatch/steadywatch/store"
)

// The tables of the schema that hold a cluster's rows are those with a
// column cluster, as SQLite's and PostgreSQL's catalogues list them: a
// table added to the schema cannot be left out of the tests the way it
// could be left out of a list of them.
const (
	sqliteClusterTables = `SELECT m.name FROM sqlite_master AS m JOIN pragma_table_info(m.name) AS c
WHERE m.type = 'table' AND c.name = 'cluster' ORDER BY 1`
	postgresClusterTables = `SELECT table_name FROM information_schema.columns
WHERE table_schema = current_schema() AND column_name = 'cluster' ORDER BY 1`
)

// requireClusterTables checks that the catalogue listed the tables, the
// alerts' among them.
func requireClusterTables(t *testing.T, tables []string, err error) {
	t.Helper()
	require.NoError(t, err)
	require.Contains(t, tables, "alerts", "the catalogue lists the schema's tables")
	t.Logf("the tables with a column cluster: %v", tables)
}

// saveAlerts fills the store of each cluster with n alerts, so that a
// planner has rows to weigh.
func saveAlerts(t *testing.T, dsn string, n int, clusters ...string) {
	start := time.Date(2026, 3, 24, 10, 0, 0, 0, time.UTC)
	for _, c := range clusters {
		s, err := store.Open(t.Context(), dsn, store.Options{Cluster: c})
		require.NoError(t, err)
		batch := make([]alert.Alert, n)
		for i := range batch {
			batch[i] = alert.Alert{
				Fingerprint: fmt.Sprintf("%016x", i), Status: alert.Firing, StartsAt: start.Add(time.Duration(i) * time.Second),
				Labels: map[string]string{"alertname": "A"}, Source: alert.SourceWebhook,
			}
		}
		_, err = s.SaveAlerts(t.Context(), batch)
		require.NoError(t, err)
		require.NoError(t, s.Close())
	}
}

// Listing the clusters (every API request that names one, every report
// of *) seeks each table's index that leads with cluster, once per cluster
// the table holds, rather than reading the table or the index whole: on a
// store of years of alerts it costs a few page reads, not a scan.
func TestClustersSeekTheIndexes(t *testing.T) {
	t.Run("sqlite", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "steadywatch.db")
		saveAlerts(t, path, 2000, "", "east", "west")
		db, err := sql.Open("sqlite", path)
		require.NoError(t, err)
		defer db.Close()
		require.NoError(t, exec(t.Context(), db, "ANALYZE"))
		tables, err := column(t.Context(), db, sqliteClusterTables)
		requireClusterTables(t, tables, err)
		rows, err := db.QueryContext(t.Context(), "EXPLAIN QUERY PLAN "+store.ClustersQuery)
		require.NoError(t, err)
		defer rows.Close()
		var plan []string
		for rows.Next() {
			var id, parent, unused int
			var detail string
			require.NoError(t, rows.Scan(&id, &parent, &unused, &detail))
			plan = append(plan, detail)
		}
		require.NoError(t, rows.Err())
		t.Logf("plan:\n%s", strings.Join(plan, "\n"))
		for _, table := range tables {
			var searches int
			for _, step := range plan {
				require.NotRegexp(t, `^SCAN `+table+`\b`, step, "no table is read whole")
				if strings.HasPrefix(step, "SEARCH "+table+" USING") && strings.Contains(step, "INDEX") {
					searches++
				}
			}
			require.NotZero(t, searches, "%s is searched by an index", table)
		}
	})
	t.Run("postgres", func(t *testing.T) {
		dsn := pgtest.New(t)
		saveAlerts(t, dsn, 20000, "", "east", "west")
		conn, err := pgx.Connect(t.Context(), dsn)
		require.NoError(t, err)
		defer conn.Close(t.Context())
		_, err = conn.Exec(t.Context(), "ANALYZE")
		require.NoError(t, err)
		rows, err := conn.Query(t.Context(), postgresClusterTables)
		require.NoError(t, err)
		tables, err := pgx.CollectRows(rows, pgx.RowTo[string])
		requireClusterTables(t, tables, err)
		rows, err = conn.Query(t.Context(), "EXPLAIN (ANALYZE, BUFFERS, FORMAT TEXT) "+store.ClustersQuery)
		require.NoError(t, err)
		analyzed, err := pgx.CollectRows(rows, pgx.RowTo[string])
		require.NoError(t, err)
		t.Logf("20000 alerts in each of 3 clusters:\n%s", strings.Join(analyzed, "\n"))
		// The planner reads an empty table whole as cheaply as by index:
		// take that choice away to see that an index can serve each one,
		// and that the table of rows (alerts) is sought, each step one
		// entry (a Limit) or a condition on cluster, never read whole.
		_, err = conn.Exec(t.Context(), "SET enable_seqscan = off")
		require.NoError(t, err)
		var plan []byte
		require.NoError(t, conn.QueryRow(t.Context(), "EXPLAIN (FORMAT JSON) "+store.ClustersQuery).Scan(&plan))
		var nodes []map[string]any
		require.NoError(t, json.Unmarshal(plan, &nodes))
		scans := map[string][]string{}
		var walk func(n map[string]any, parent string)
		walk = func(n map[string]any, parent string) {
			if rel, ok := n["Relation Name"].(string); ok {
				cond, _ := n["Index Cond"].(string)
				scans[rel] = append(scans[rel], fmt.Sprintf("%v under %s (%s)", n["Node Type"], parent, cond))
			}
			children, _ := n["Plans"].([]any)
			for _, c := range children {
				walk(c.(map[string]any), n["Node Type"].(string))
			}
		}
		walk(nodes[0]["Plan"].(map[string]any), "")
		t.Logf("scans: %v", scans)
		for _, table := range tables {
			require.NotEmpty(t, scans[table], table)
			for _, s := range scans[table] {
				require.Regexp(t, `^Index (Only )?Scan `, s, "%s is read by an index", table)
			}
		}
		for _, s := range scans["alerts"] {
			require.Regexp(t, `^Index Only Scan under Limit \(.*cluster.*\)$`, s, "alerts are sought, an entry a step")
		}
	})
}

func exec(ctx context.Context, db *sql.DB, query string) error {
	_, err := db.ExecContext(ctx, query)
	return err
}

// column is the one column query returns, of every row.
func column(ctx context.Context, db *sql.DB, query string) ([]string, error) {
	rows, err := db.QueryContext(ctx, query)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var v string
		if err := rows.Scan(&v); err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, rows.Err()
}
