package server_test

import (
	"context"
	"log/slog"
	"net"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"k8s.io/client-go/rest"

	"github.com/steadywatch/steadywatch/chaos"
	"github.com/steadywatch/steadywatch/config"
	"github.com/steadywatch/steadywatch/server"
	"github.com/steadywatch/steadywatch/store"
)

// An installation that stored history unnamed and then set cluster: east
// is refused at start, saying what to do, rather than serving east with
// its history hidden; with --new-cluster (the unnamed history another
// steadywatch's) it starts.
func TestServeRefusesToHideTheUnnamedClustersHistory(t *testing.T) {
	dir := t.TempDir()
	s, err := store.Open(t.Context(), "", store.Options{DataDir: dir})
	require.NoError(t, err)
	require.NoError(t, s.Save(t.Context(), chaos.Incident{ID: "old", Kind: chaos.PodDeleted, Start: time.Unix(1e9, 0)}))
	require.NoError(t, s.Close())

	cfg := config.Default()
	cfg.Cluster, cfg.DataDir = "east", dir
	run := func(newCluster bool) (started bool, err error) {
		ln, err := new(net.ListenConfig).Listen(t.Context(), "tcp", "127.0.0.1:0")
		require.NoError(t, err)
		ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
		defer cancel()
		err = server.Run(ctx, server.Options{
			Config: cfg, Logger: slog.New(slog.DiscardHandler), Listener: ln, NewCluster: newCluster,
			// Nothing listens there: the refusal comes before any watch.
			RESTConfig: &rest.Config{Host: "http://127.0.0.1:1"},
			Started:    func(*server.Server) { started = true; cancel() },
		})
		return started, err
	}

	started, err := run(false)
	require.False(t, started)
	var hidden *store.HiddenHistoryError
	require.ErrorAs(t, err, &hidden)
	require.ErrorAs(t, err, new(*server.ConfigError), "the user's to fix: a usage exit code")
	require.ErrorContains(t, err, "steadywatch store adopt-cluster --to east")

	started, err = run(true)
	require.True(t, started, "%v", err)
}
