package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/common/model"
	"github.com/stretchr/testify/require"
	"k8s.io/client-go/kubernetes/fake"

	"github.com/steadywatch/steadywatch/chaos"
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

// blockingList is a store whose incident reads wait for their context to
// end: serve asked to stop while it restores its incidents.
type blockingList struct {
	store.Store
	listing chan struct{}
}

func (s blockingList) List(ctx context.Context, _ tracker.Filter) ([]chaos.Incident, error) {
	select {
	case s.listing <- struct{}{}:
	default:
	}
	<-ctx.Done()
	return nil, fmt.Errorf("store: listing incidents: %w", ctx.Err())
}

// Found by the chart's HA test: a replica stopped just as it took the
// Lease, while reading its incidents back from the store, ended with
// "reading incidents from the store: … context canceled", a failed exit
// for a clean stop.
func TestServeStoppedWhileItRestoresItsIncidentsStopsCleanly(t *testing.T) {
	db, err := store.Open(t.Context(), filepath.Join(t.TempDir(), "sw.db"), store.Options{})
	require.NoError(t, err)
	t.Cleanup(func() { _ = db.Close() })
	log := slog.New(slog.DiscardHandler)
	client := fake.NewClientset()
	incidents := tracker.New(tracker.Options{Logger: log, Store: db, Now: time.Now})
	w, err := watcher.New(watcher.Options{Client: client, Sink: incidents, Subjects: watcher.DefaultSubjects(), Logger: log})
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(t.Context())
	listing := make(chan struct{}, 1)
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, log, config.Default(), client, "fake", incidents, w, blockingList{Store: db, listing: listing}, &writeLog{})
	}()
	select {
	case <-listing:
	case <-time.After(10 * time.Second):
		t.Fatal("run did not read its incidents")
	}
	cancel()
	select {
	case err := <-done:
		require.NoError(t, err, "asked to stop: not a failure")
	case <-time.After(10 * time.Second):
		t.Fatal("run did not return")
	}
}
