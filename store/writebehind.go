package store

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/steadywatch/steadywatch/chaos"
	"github.com/steadywatch/steadywatch/contract"
	"github.com/steadywatch/steadywatch/internal/contractprom"
	"github.com/steadywatch/steadywatch/tracker"
)

// maxQueuedEvents bounds the events waiting for a store that keeps failing;
// beyond it the oldest are dropped (and counted). Incidents are never
// dropped: they are few, and each is queued once however often it changes.
const maxQueuedEvents = 100_000

// WriteBehind is the tracker's tracker.Store: Save and SaveEvent queue the
// write and return at once, so the tracker — which holds its lock while it
// saves — never waits for a disk sync or a database round trip, and a
// burst of events (a node failing with hundreds of pods) costs the watch
// nothing. One goroutine writes what is queued, oldest first, the latest
// version of each incident once, and retries with backoff while the store
// fails.
//
// What a crash loses is at most what was queued (milliseconds of events
// while the store is healthy); the inventory and the relist at restart
// rediscover the pods that vanished meanwhile, marked missed. Reads flush
// first, so whoever reads after a write sees it.
type WriteBehind struct {
	store tracker.Store
	log   *slog.Logger

	mu         sync.Mutex
	incidents  map[string]chaos.Incident
	order      []string // incident IDs in the order first queued
	events     []chaos.Event
	queued     uint64 // writes accepted so far
	written    uint64 // writes durable so far (queued-count watermark)
	stored     uint64 // writes the store took (an incident queued twice is one)
	lastErr    error
	discarded  bool          // Discard was called: nothing more is written
	flushed    chan struct{} // closed and replaced whenever written grows
	wake       chan struct{}
	retryDelay time.Duration

	pending prometheus.GaugeFunc
	errors  prometheus.Counter
	dropped prometheus.Counter
}

// NewWriteBehind queues writes for s; nothing is written until Run runs.
// Its metrics go to reg when reg is not nil.
func NewWriteBehind(s tracker.Store, log *slog.Logger, reg prometheus.Registerer) *WriteBehind {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	w := &WriteBehind{
		store:      s,
		log:        log,
		incidents:  map[string]chaos.Incident{},
		flushed:    make(chan struct{}),
		wake:       make(chan struct{}, 1),
		retryDelay: 100 * time.Millisecond,
		errors:     prometheus.NewCounter(contractprom.CounterOpts(contract.StoreWriteErrors)),
		dropped:    prometheus.NewCounter(contractprom.CounterOpts(contract.StoreEventsDropped)),
	}
	w.pending = prometheus.NewGaugeFunc(contractprom.GaugeOpts(contract.StoreQueuedWrites), func() float64 {
		w.mu.Lock()
		defer w.mu.Unlock()
		return float64(len(w.order) + len(w.events))
	})
	if reg != nil {
		reg.MustRegister(w.pending, w.errors, w.dropped)
	}
	return w
}

// Save implements tracker.Store: it queues the incident.
func (w *WriteBehind) Save(_ context.Context, inc chaos.Incident) error {
	w.mu.Lock()
	if w.discarded {
		w.mu.Unlock()
		return nil
	}
	if _, ok := w.incidents[inc.ID]; !ok {
		w.order = append(w.order, inc.ID)
	}
	w.incidents[inc.ID] = inc
	w.queued++
	w.mu.Unlock()
	w.signal()
	return nil
}

// SaveEvent implements tracker.Store: it queues the event.
func (w *WriteBehind) SaveEvent(_ context.Context, e chaos.Event) error {
	w.mu.Lock()
	if w.discarded {
		w.mu.Unlock()
		return nil
	}
	if len(w.events) >= maxQueuedEvents {
		n := maxQueuedEvents / 10
		w.events = append(w.events[:0], w.events[n:]...)
		w.dropped.Add(float64(n))
	}
	w.events = append(w.events, e)
	w.queued++
	w.mu.Unlock()
	w.signal()
	return nil
}

// List implements tracker.Store, after flushing the queue.
func (w *WriteBehind) List(ctx context.Context, f tracker.Filter) ([]chaos.Incident, error) {
	if err := w.Flush(ctx); err != nil {
		return nil, err
	}
	return w.store.List(ctx, f)
}

// Events implements tracker.Store, after flushing the queue.
func (w *WriteBehind) Events(ctx context.Context, f tracker.Filter) ([]chaos.Event, error) {
	if err := w.Flush(ctx); err != nil {
		return nil, err
	}
	return w.store.Events(ctx, f)
}

func (w *WriteBehind) signal() {
	select {
	case w.wake <- struct{}{}:
	default:
	}
}

// Discard drops what is queued and whatever is queued after, and returns
// how many writes it dropped: a leader that lost its Lease must not write
// what it recorded after another replica may have started leading. A
// batch being written as it is called is written (or not) all the same.
func (w *WriteBehind) Discard() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	n := len(w.events) + len(w.order)
	w.discarded = true
	w.events, w.order, w.incidents = nil, nil, map[string]chaos.Incident{}
	w.written = w.queued
	close(w.flushed)
	w.flushed = make(chan struct{})
	return n
}

// Flush waits until everything queued before it was called is written, or
// ctx ends; then it returns ctx's error and the store's latest one.
func (w *WriteBehind) Flush(ctx context.Context) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	target := w.queued
	for w.written < target {
		ch := w.flushed
		w.mu.Unlock()
		select {
		case <-ch:
			w.mu.Lock()
		case <-ctx.Done():
			w.mu.Lock()
			if w.lastErr != nil {
				return errors.Join(ctx.Err(), w.lastErr)
			}
			return ctx.Err()
		}
	}
	return nil
}

// Drained is what Run's final drain did once ctx ended.
type Drained struct {
	// Written are the writes it made: chaos events, and incidents (each
	// once, in its latest version).
	Written int
	// Unwritten are those still queued when it gave up (the store failing
	// past the grace): lost.
	Unwritten int
}

// Stored is how many writes reached the store since the start.
func (w *WriteBehind) Stored() uint64 {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.stored
}

// Run writes what is queued until ctx ends, then writes what is left,
// trying for at most grace, and reports what that last drain did.
func (w *WriteBehind) Run(ctx context.Context, grace time.Duration) Drained {
	for {
		select {
		case <-w.wake:
			w.drain(ctx)
		case <-ctx.Done():
			final, cancel := context.WithTimeout(context.WithoutCancel(ctx), grace)
			defer cancel()
			written := w.drain(final)
			w.mu.Lock()
			defer w.mu.Unlock()
			return Drained{Written: written, Unwritten: len(w.events) + len(w.order)}
		}
	}
}

// drain writes batches until the queue is empty or ctx ends, and returns
// how many writes the store took.
func (w *WriteBehind) drain(ctx context.Context) int {
	delay := w.retryDelay
	total := 0
	for {
		w.mu.Lock()
		events, order, incidents, upTo := w.events, w.order, w.incidents, w.queued
		if len(events) == 0 && len(order) == 0 {
			w.mu.Unlock()
			return total
		}
		w.events, w.order, w.incidents = nil, nil, map[string]chaos.Incident{}
		w.mu.Unlock()

		before := len(incidents)
		n, err := w.write(ctx, events, order, incidents)
		took := n + before - len(incidents)
		total += took
		w.mu.Lock()
		w.stored += uint64(took) //nolint:gosec // took is never negative
		w.mu.Unlock()
		if err == nil {
			w.mu.Lock()
			// max: Discard may have moved written past upTo meanwhile.
			w.written, w.lastErr = max(w.written, upTo), nil
			close(w.flushed)
			w.flushed = make(chan struct{})
			w.mu.Unlock()
			delay = w.retryDelay
			continue
		}
		w.errors.Inc()
		w.requeue(events[n:], order, incidents, err)
		if ctx.Err() != nil {
			w.log.Error("store unavailable; chaos events and incidents not written", "err", err,
				"queued", len(events)+len(order))
			return total
		}
		w.log.Warn("writing to the store failed; retrying", "err", err, "retry_in", delay)
		select {
		case <-time.After(delay):
		case <-ctx.Done():
		}
		delay = min(2*delay, 30*time.Second)
	}
}

// write writes events in order, then incidents. It returns how many events
// it wrote and deletes the incidents it wrote from the map, so that a
// failure requeues only the rest.
func (w *WriteBehind) write(ctx context.Context, events []chaos.Event, order []string, incidents map[string]chaos.Incident) (int, error) {
	for i := range events {
		if err := w.store.SaveEvent(ctx, events[i]); err != nil {
			return i, err
		}
	}
	for _, id := range order {
		if err := w.store.Save(ctx, incidents[id]); err != nil {
			return len(events), err
		}
		delete(incidents, id)
	}
	return len(events), nil
}

// requeue puts back, ahead of what was queued since, what a failed write
// did not write; a newer version of an incident queued meanwhile wins.
func (w *WriteBehind) requeue(events []chaos.Event, order []string, incidents map[string]chaos.Incident, err error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.lastErr = err
	if w.discarded {
		return
	}
	w.events = append(events, w.events...)
	var ids []string
	for _, id := range order {
		inc, ok := incidents[id]
		if !ok {
			continue // written
		}
		if _, newer := w.incidents[id]; !newer {
			w.incidents[id] = inc
		}
		ids = append(ids, id)
	}
	for _, id := range w.order {
		if _, requeued := incidents[id]; !requeued {
			ids = append(ids, id)
		}
	}
	w.order = ids
}
