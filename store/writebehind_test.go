package store

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/stretchr/testify/require"

	"github.com/steadywatch/steadywatch/chaos"
	"github.com/steadywatch/steadywatch/internal/testenv/waitfor"
	"github.com/steadywatch/steadywatch/tracker"
)

// flakyStore fails while failing is set, and can hold writes until
// released.
type flakyStore struct {
	*tracker.MemoryStore
	mu      sync.Mutex
	failing bool
	calls   int
	gate    chan struct{}
}

func (s *flakyStore) check(ctx context.Context) error {
	s.mu.Lock()
	s.calls++
	failing, gate := s.failing, s.gate
	s.mu.Unlock()
	if gate != nil {
		select {
		case <-gate:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	if failing {
		return errors.New("database is locked")
	}
	return nil
}

func (s *flakyStore) Save(ctx context.Context, inc chaos.Incident) error {
	if err := s.check(ctx); err != nil {
		return err
	}
	return s.MemoryStore.Save(ctx, inc)
}

func (s *flakyStore) SaveEvent(ctx context.Context, e chaos.Event) error {
	if err := s.check(ctx); err != nil {
		return err
	}
	return s.MemoryStore.SaveEvent(ctx, e)
}

func (s *flakyStore) set(failing bool) {
	s.mu.Lock()
	s.failing = failing
	s.mu.Unlock()
}

var t0 = time.Date(2026, 11, 21, 12, 0, 0, 0, time.UTC)

func event(i int) chaos.Event {
	return chaos.Event{
		Kind: chaos.PodDeleted, Subject: chaos.Subject{Service: "web"},
		Object: chaos.Ref{Kind: "Pod", Name: fmt.Sprintf("web-%d", i)},
		At:     chaos.Timestamp{Observed: t0.Add(time.Duration(i) * time.Millisecond)},
	}
}

func startWriteBehind(t *testing.T, s tracker.Store) (*WriteBehind, *prometheus.Registry, func()) {
	t.Helper()
	reg := prometheus.NewRegistry()
	w := NewWriteBehind(s, nil, reg)
	w.log = slog.New(slog.DiscardHandler)
	w.retryDelay = time.Millisecond
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		w.Run(ctx, 5*time.Second)
	}()
	stop := func() {
		cancel()
		<-done
	}
	t.Cleanup(stop)
	return w, reg, stop
}

func TestWriteBehindWritesEventsInOrderAndTheLatestIncident(t *testing.T) {
	s := &flakyStore{MemoryStore: tracker.NewMemoryStore()}
	w, _, _ := startWriteBehind(t, s)
	inc := chaos.Incident{ID: "i1", Kind: chaos.PodDeleted, Start: t0, Events: 1}
	for i := range 500 {
		require.NoError(t, w.SaveEvent(t.Context(), event(i)))
		inc.Events = i + 1
		require.NoError(t, w.Save(t.Context(), inc))
	}
	events, err := w.Events(t.Context(), tracker.Filter{}) // flushes first
	require.NoError(t, err)
	require.Len(t, events, 500)
	for i, e := range events {
		require.Equal(t, event(i).Object, e.Object)
	}
	list, err := w.List(t.Context(), tracker.Filter{})
	require.NoError(t, err)
	require.Len(t, list, 1)
	require.Equal(t, 500, list[0].Events)
}

func TestWriteBehindRetriesUntilTheStoreRecoversAndLosesNothing(t *testing.T) {
	s := &flakyStore{MemoryStore: tracker.NewMemoryStore()}
	s.set(true)
	w, reg, _ := startWriteBehind(t, s)
	for i := range 10 {
		require.NoError(t, w.SaveEvent(t.Context(), event(i)))
	}
	require.NoError(t, w.Save(t.Context(), chaos.Incident{ID: "i1", Start: t0, Events: 1}))

	// While failing, a flush times out with the store's error.
	ctx, cancel := context.WithTimeout(t.Context(), 50*time.Millisecond)
	defer cancel()
	err := w.Flush(ctx)
	require.ErrorIs(t, err, context.DeadlineExceeded)
	require.ErrorContains(t, err, "database is locked")
	require.Positive(t, testutil.ToFloat64(w.errors))

	// Written meanwhile: queued behind the failed ones, and a newer
	// version of the incident, which wins.
	require.NoError(t, w.SaveEvent(t.Context(), event(10)))
	require.NoError(t, w.Save(t.Context(), chaos.Incident{ID: "i1", Start: t0, Events: 2}))
	s.set(false)
	events, err := w.Events(t.Context(), tracker.Filter{})
	require.NoError(t, err)
	require.Len(t, events, 11)
	for i, e := range events {
		require.Equal(t, event(i).Object, e.Object, "event %d", i)
	}
	list, err := w.List(t.Context(), tracker.Filter{})
	require.NoError(t, err)
	require.Equal(t, 2, list[0].Events)
	require.InDelta(t, 0.0, gaugeValue(t, reg, "steadywatch_store_queued_writes"), 0)
}

func TestWriteBehindWritesWhatIsQueuedWhenStopped(t *testing.T) {
	s := &flakyStore{MemoryStore: tracker.NewMemoryStore(), gate: make(chan struct{})}
	w, _, stop := startWriteBehind(t, s)
	for i := range 100 {
		require.NoError(t, w.SaveEvent(t.Context(), event(i)))
	}
	// The writer is stuck on the first write; stopping cancels it, and the
	// final drain must still write all 100.
	stopped := make(chan struct{})
	go func() {
		stop()
		close(stopped)
	}()
	close(s.gate)
	<-stopped
	events, err := s.Events(t.Context(), tracker.Filter{})
	require.NoError(t, err)
	require.Len(t, events, 100)
}

func TestWriteBehindDropsTheOldestEventsOnlyBeyondItsBound(t *testing.T) {
	s := &flakyStore{MemoryStore: tracker.NewMemoryStore()}
	w := NewWriteBehind(s, slog.New(slog.DiscardHandler), nil) // not running: everything stays queued
	for i := range maxQueuedEvents + 5 {
		require.NoError(t, w.SaveEvent(t.Context(), event(i)))
	}
	require.InDelta(t, float64(maxQueuedEvents/10), testutil.ToFloat64(w.dropped), 0)
	require.Len(t, w.events, maxQueuedEvents+5-maxQueuedEvents/10)
	require.Equal(t, event(maxQueuedEvents/10).Object, w.events[0].Object)
}

func gaugeValue(t *testing.T, g prometheus.Gatherer, name string) float64 {
	t.Helper()
	mfs, err := g.Gather()
	require.NoError(t, err)
	for _, mf := range mfs {
		if mf.GetName() == name {
			return mf.GetMetric()[0].GetGauge().GetValue()
		}
	}
	t.Fatalf("no metric %s", name)
	return 0
}

// Issue 15 #2: a leader that lost its Lease discards what it has not
// written: another replica may lead, and an incident written late would
// undo the new leader's.
func TestWriteBehindDiscardsWhatIsQueuedAndWhatComesAfter(t *testing.T) {
	s := &flakyStore{MemoryStore: tracker.NewMemoryStore()}
	// The writer is not running yet, so that no batch is in flight (one
	// being written when Discard is called still lands): all 11 writes
	// are queued.
	w := NewWriteBehind(s, nil, prometheus.NewRegistry())
	w.log = slog.New(slog.DiscardHandler)
	w.retryDelay = time.Millisecond
	for i := range 10 {
		require.NoError(t, w.SaveEvent(t.Context(), event(i)))
	}
	require.NoError(t, w.Save(t.Context(), chaos.Incident{ID: "a"}))
	require.Equal(t, 11, w.Discard())
	require.NoError(t, w.Save(t.Context(), chaos.Incident{ID: "b"}))
	require.NoError(t, w.Flush(t.Context()), "nothing is left to wait for")
	// The final drain, over a store that works, writes nothing.
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	w.Run(ctx, 5*time.Second)
	events, err := s.Events(t.Context(), tracker.Filter{})
	require.NoError(t, err)
	require.Empty(t, events)
	incs, err := s.List(t.Context(), tracker.Filter{})
	require.NoError(t, err)
	require.Empty(t, incs)
}

// budgetStore takes a set number of writes (-1: any), then fails; like a
// real store, it fails a write whose context has ended.
type budgetStore struct {
	*tracker.MemoryStore
	mu       sync.Mutex
	budget   int
	attempts int
}

func (s *budgetStore) take(ctx context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.attempts++
	if err := ctx.Err(); err != nil {
		return err
	}
	if s.budget == 0 {
		return errors.New("database is locked")
	}
	if s.budget > 0 {
		s.budget--
	}
	return nil
}

func (s *budgetStore) Save(ctx context.Context, inc chaos.Incident) error {
	if err := s.take(ctx); err != nil {
		return err
	}
	return s.MemoryStore.Save(ctx, inc)
}

func (s *budgetStore) SaveEvent(ctx context.Context, e chaos.Event) error {
	if err := s.take(ctx); err != nil {
		return err
	}
	return s.MemoryStore.SaveEvent(ctx, e)
}

func TestWriteBehindReportsWhatItsFinalDrainWroteAndLeft(t *testing.T) {
	cases := []struct {
		name string
		// budget is how many writes the store takes once serve stops.
		budget int
	}{
		{name: "a store back when serve stops takes all five writes", budget: -1},
		{name: "a store that takes two writes and fails leaves three", budget: 2},
		{name: "a store still down leaves all five", budget: 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s := &budgetStore{MemoryStore: tracker.NewMemoryStore()}
			w := NewWriteBehind(s, nil, nil)
			w.retryDelay = time.Hour // the writer waits for the stop after its first failure
			// Five writes: three events, and two incidents, one of them
			// queued twice (written once).
			for i := range 3 {
				require.NoError(t, w.SaveEvent(t.Context(), event(i)))
			}
			a := chaos.Incident{ID: "a", Kind: chaos.PodDeleted, Start: t0, Events: 1}
			require.NoError(t, w.Save(t.Context(), a))
			a.Events = 2
			require.NoError(t, w.Save(t.Context(), a))
			require.NoError(t, w.Save(t.Context(), chaos.Incident{ID: "b", Kind: chaos.PodDeleted, Start: t0, Events: 1}))

			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			done := make(chan Drained, 1)
			go func() { done <- w.Run(ctx, 100*time.Millisecond) }()
			waitfor.True(t, 10*time.Second, "a first failed write", func() bool {
				s.mu.Lock()
				defer s.mu.Unlock()
				return s.attempts > 0
			})
			s.mu.Lock()
			s.budget = tc.budget
			s.mu.Unlock()
			cancel()
			got := <-done

			events, err := s.Events(t.Context(), tracker.Filter{})
			require.NoError(t, err)
			incidents, err := s.List(t.Context(), tracker.Filter{})
			require.NoError(t, err)
			stored := len(events) + len(incidents)
			require.Equal(t, Drained{Written: stored, Unwritten: 5 - stored}, got)
			require.Equal(t, uint64(stored), w.Stored())
			want := tc.budget
			if want < 0 {
				want = 5
			}
			require.Equal(t, want, stored, "what the store holds")
		})
	}
}
