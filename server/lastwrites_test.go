package server

import (
	"context"
	"errors"
	"log/slog"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/common/model"
	"github.com/stretchr/testify/require"
	"k8s.io/client-go/kubernetes/fake"

	"github.com/steadywatch/steadywatch/config"
	"github.com/steadywatch/steadywatch/internal/testenv/waitfor"
	"github.com/steadywatch/steadywatch/store"
	"github.com/steadywatch/steadywatch/tracker"
	"github.com/steadywatch/steadywatch/watcher"
)

// writeLog records, in order, the queue's flushes and the inventory's
// saves.
type writeLog struct {
	mu       sync.Mutex
	log      []string
	flushErr error
}

func (l *writeLog) add(s string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.log = append(l.log, s)
}

func (l *writeLog) entries() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]string(nil), l.log...)
}

func (l *writeLog) Flush(context.Context) error {
	l.add("incidents")
	return l.flushErr
}

type inventoryLog struct {
	store.Store
	log *writeLog
}

func (s inventoryLog) SaveInventory(ctx context.Context, inv tracker.Inventory) error {
	s.log.add("inventory")
	return s.Store.SaveInventory(ctx, inv)
}

// runUntil runs run on an empty fake cluster until it has listed it, then
// ends its context with cause, and returns what was written, in order.
func runUntil(t *testing.T, cause, flushErr error) []string {
	t.Helper()
	db, err := store.Open(t.Context(), filepath.Join(t.TempDir(), "sw.db"), store.Options{})
	require.NoError(t, err)
	t.Cleanup(func() { _ = db.Close() })
	writes := &writeLog{flushErr: flushErr}
	log := slog.New(slog.DiscardHandler)
	client := fake.NewClientset()
	incidents := tracker.New(tracker.Options{Logger: log, Store: db, Now: time.Now})
	w, err := watcher.New(watcher.Options{Client: client, Sink: incidents, Subjects: watcher.DefaultSubjects(), Logger: log})
	require.NoError(t, err)
	cfg := config.Default()
	cfg.Watch.CheckpointInterval = model.Duration(time.Hour) // only the last checkpoint
	ctx, cancel := context.WithCancelCause(t.Context())
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, log, cfg, client, "fake", incidents, w, inventoryLog{Store: db, log: writes}, writes)
	}()
	waitfor.True(t, 10*time.Second, "the cluster to be listed", w.ListedOnce)
	cancel(cause)
	require.NoError(t, <-done)
	return writes.entries()
}

// Issue 15 #1 and #2: on the way out the incidents land before the
// inventory; none is written once the Lease was lost, nor after the
// incidents failed to land.
func TestTheLastCheckpointFollowsTheIncidentsAndIsSkippedOnALostLease(t *testing.T) {
	require.Equal(t, []string{"incidents", "inventory"}, runUntil(t, context.Canceled, nil), "stopped gracefully")
	require.Equal(t, []string{"incidents"}, runUntil(t, context.Canceled, errors.New("connection refused")),
		"the incidents did not land: the inventory that no longer holds them open is not written")
	require.Empty(t, runUntil(t, errLostLease, nil), "the Lease was lost: another replica may write")
}
