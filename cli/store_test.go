package cli_test

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/steadywatch/steadywatch/alert"
	"github.com/steadywatch/steadywatch/chaos"
	"github.com/steadywatch/steadywatch/cli"
	"github.com/steadywatch/steadywatch/internal/testenv/pgtest"
	"github.com/steadywatch/steadywatch/store"
	"github.com/steadywatch/steadywatch/tracker"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

// An installation that stored history unnamed sets cluster: east and
// adopts that history: every row moves to east, none is left unnamed, and
// adopting again (east has rows now) is refused, moving nothing.
func TestStoreAdoptClusterMovesTheUnnamedHistory(t *testing.T) {
	for name, dsn := range map[string]func(t *testing.T) string{
		"sqlite":   func(t *testing.T) string { return filepath.Join(t.TempDir(), "steadywatch.db") },
		"postgres": func(t *testing.T) string { return pgtest.New(t) },
	} {
		t.Run(name, func(t *testing.T) {
			ctx := t.Context()
			dsn := dsn(t)
			old, err := store.Open(ctx, dsn, store.Options{})
			require.NoError(t, err)
			start := time.Date(2026, 3, 24, 10, 0, 0, 0, time.UTC)
			require.NoError(t, old.Save(ctx, chaos.Incident{ID: "i1", Kind: chaos.PodDeleted, Start: start}))
			_, err = old.SaveAlerts(ctx, []alert.Alert{{Fingerprint: "f1", Status: alert.Firing, StartsAt: start, Source: alert.SourceWebhook}})
			require.NoError(t, err)
			require.NoError(t, old.Close())
			cfg := filepath.Join(t.TempDir(), "steadywatch.yml")
			require.NoError(t, os.WriteFile(cfg, []byte("cluster: east\nstore: "+dsn+"\n"), 0o600))

			code, stdout, stderr := run(t, "store", "adopt-cluster", "--config", cfg)
			require.Equal(t, cli.ExitOK, code, stderr)
			require.Equal(t, "moved 2 rows of cluster \"\" to \"east\": alerts 1, incidents 1\n", stdout)

			read := func(cluster string) (ids []string) {
				s, err := store.Open(ctx, dsn, store.Options{Cluster: cluster, Existing: true})
				require.NoError(t, err)
				defer s.Close()
				incs, err := s.List(ctx, tracker.Filter{})
				require.NoError(t, err)
				as, err := s.Alerts(ctx, alert.Filter{})
				require.NoError(t, err)
				for _, inc := range incs {
					ids = append(ids, inc.Cluster+"/"+inc.ID)
				}
				for _, a := range as {
					ids = append(ids, a.Cluster+"/"+a.Fingerprint)
				}
				return ids
			}
			require.Equal(t, []string{"east/i1", "east/f1"}, read("east"))
			require.Empty(t, read(""))

			code, _, stderr = run(t, "store", "adopt-cluster", "--store", dsn, "--to", "east")
			require.Equal(t, cli.ExitUsage, code)
			require.Contains(t, stderr, `--to: store: adopting cluster ""'s rows into "east": the cluster has rows already (incidents): adopting would merge two histories`)
			require.Equal(t, []string{"east/i1", "east/f1"}, read("east"), "nothing moved")

			code, stdout, stderr = run(t, "store", "adopt-cluster", "--store", dsn, "--from", "east", "--to", "west")
			require.Equal(t, cli.ExitOK, code, stderr)
			require.Equal(t, "moved 2 rows of cluster \"east\" to \"west\": alerts 1, incidents 1\n", stdout, "a rename too")
		})
	}
}

func TestStoreAdoptClusterRefusesBadFlags(t *testing.T) {
	dir := t.TempDir()
	s, err := store.Open(t.Context(), "", store.Options{DataDir: dir})
	require.NoError(t, err)
	require.NoError(t, s.Close())
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"no command", nil, "which store command? The one there is: adopt-cluster"},
		{"an unknown command", []string{"rename"}, `unknown store command "rename"`},
		{"--to no cluster's name", []string{"adopt-cluster", "--data-dir", dir, "--to", "East"}, `--to: "East" is not a valid cluster name`},
		{"--from no cluster's name", []string{"adopt-cluster", "--data-dir", dir, "--to", "east", "--from", "a_b"}, `--from: "a_b" is not a valid cluster name`},
		{"no --to, the configuration naming none", []string{"adopt-cluster", "--data-dir", dir}, `--to: the rows are cluster ""'s already`},
		{"no store there", []string{"adopt-cluster", "--data-dir", filepath.Join(dir, "typo"), "--to", "east"}, "--data-dir: store: sqlite://"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, _, stderr := run(t, append([]string{"store"}, tc.args...)...)
			require.Equal(t, cli.ExitUsage, code)
			require.Contains(t, stderr, tc.want)
		})
	}
	require.NoDirExists(t, filepath.Join(dir, "typo"), "nothing created")
}
