package server

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/steadywatch/steadywatch/experiment"
	"github.com/steadywatch/steadywatch/exporter"
)

// experimentSaver is where the experiments are recorded; store.Store is
// one.
type experimentSaver interface {
	SaveExperiment(ctx context.Context, x experiment.Experiment) error
}

// recorderTiming is how the recorder retries and how long it flushes.
type recorderTiming struct {
	// minBackoff doubles after each failed round up to maxBackoff.
	minBackoff, maxBackoff time.Duration
	// saveTimeout bounds one save.
	saveTimeout time.Duration
	// grace is how long what is pending is tried once the recorder is
	// stopped.
	grace time.Duration
}

var defaultRecorderTiming = recorderTiming{
	minBackoff: 500 * time.Millisecond, maxBackoff: 30 * time.Second, saveTimeout: 10 * time.Second, grace: writesGrace,
}

// experimentRecorder saves the readings of the chaos experiments the
// experiment watcher reports.
//
// Record, the watcher's OnChange, never waits on the store: it keeps the
// reading as its experiment's pending one (a newer reading replaces one
// not saved yet, which the row it would have written is replaced by
// anyway) and wakes run, which saves what is pending. A reading that fails
// to save stays pending, unless a newer one replaced it, and is tried again
// after a backoff (doubling from minBackoff to maxBackoff). What is pending
// is one reading per experiment the cluster holds, so it is bounded by the
// chaos objects, not by how long the store is down. Once stopped, run
// tries what is pending for the grace, unless the Lease was lost: another
// replica leads, and records the experiments from its own watch.
type experimentRecorder struct {
	db      experimentSaver
	metrics *exporter.ExperimentMetrics
	log     *slog.Logger
	timing  recorderTiming

	mu      sync.Mutex
	pending map[string]pendingReading
	seq     uint64
	// wake tells run that a reading is pending.
	wake chan struct{}
}

// pendingReading is a reading not saved yet; seq tells it from a newer
// reading of the same experiment.
type pendingReading struct {
	x   experiment.Experiment
	seq uint64
}

func newExperimentRecorder(db experimentSaver, m *exporter.ExperimentMetrics, log *slog.Logger, timing recorderTiming) *experimentRecorder {
	return &experimentRecorder{
		db: db, metrics: m, log: log, timing: timing,
		pending: map[string]pendingReading{}, wake: make(chan struct{}, 1),
	}
}

// Record keeps x to be saved; it returns at once.
func (r *experimentRecorder) Record(x experiment.Experiment) {
	r.mu.Lock()
	r.seq++
	r.pending[x.Key()] = pendingReading{x: x, seq: r.seq}
	r.mu.Unlock()
	select {
	case r.wake <- struct{}{}:
	default:
	}
}

// pendingCount is how many experiments have a reading not saved yet.
func (r *experimentRecorder) pendingCount() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.pending)
}

// run saves what is recorded until ctx ends, then flushes.
func (r *experimentRecorder) run(ctx context.Context) {
	var delay time.Duration // > 0: backing off after a failed round
	for {
		wake := r.wake
		var retry <-chan time.Time
		var timer *time.Timer
		if delay > 0 {
			// A new reading waits for the retry too: a store that fails
			// is not hammered by the changes of many experiments.
			timer = time.NewTimer(delay)
			retry, wake = timer.C, nil
		}
		select {
		case <-ctx.Done():
			if timer != nil {
				timer.Stop()
			}
			r.flush(ctx)
			return
		case <-wake:
		case <-retry:
		}
		if r.saveAll(ctx) {
			delay = 0
		} else {
			delay = r.next(delay)
		}
	}
}

func (r *experimentRecorder) next(delay time.Duration) time.Duration {
	if delay == 0 {
		return r.timing.minBackoff
	}
	return min(2*delay, r.timing.maxBackoff)
}

// saveAll tries every pending reading once and reports whether none
// failed. Each is tried, whatever the others did: one the store refuses
// for good does not hold up the rest.
func (r *experimentRecorder) saveAll(ctx context.Context) bool {
	r.mu.Lock()
	batch := make([]pendingReading, 0, len(r.pending))
	for _, p := range r.pending {
		batch = append(batch, p)
	}
	r.mu.Unlock()
	failed := 0
	var lastErr error
	for _, p := range batch {
		saveCtx, cancel := context.WithTimeout(ctx, r.timing.saveTimeout)
		err := r.db.SaveExperiment(saveCtx, p.x)
		cancel()
		if err != nil {
			failed++
			lastErr = err
			if ctx.Err() == nil {
				r.metrics.SaveError()
			}
			continue
		}
		r.metrics.Recorded(p.x.Tool)
		r.mu.Lock()
		if cur, ok := r.pending[p.x.Key()]; ok && cur.seq == p.seq {
			delete(r.pending, p.x.Key())
		}
		r.mu.Unlock()
	}
	if failed > 0 && ctx.Err() == nil {
		r.log.Warn("saving chaos experiments failed; the latest reading of each is kept and retried",
			"failed", failed, "err", lastErr)
	}
	return failed == 0
}

// flush tries what is pending for the grace, once ctx (run's) ended.
func (r *experimentRecorder) flush(ctx context.Context) {
	if lostLease(ctx) {
		r.mu.Lock()
		n := len(r.pending)
		clear(r.pending)
		r.mu.Unlock()
		if n > 0 {
			r.log.Warn("lost the leader lease: dropped the readings of chaos experiments not saved yet", "experiments", n)
		}
		return
	}
	flushCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), r.timing.grace)
	defer cancel()
	var delay time.Duration
	for {
		r.saveAll(flushCtx)
		n := r.pendingCount()
		if n == 0 {
			return
		}
		delay = r.next(delay)
		timer := time.NewTimer(delay)
		select {
		case <-flushCtx.Done():
			timer.Stop()
			r.log.Error("stopping: readings of chaos experiments not saved", "experiments", n, "grace", r.timing.grace)
			return
		case <-timer.C:
		}
	}
}

// experimentWatch is the watch of the chaos tools' experiments and the
// recorder saving what it reports. Only the leader runs it (see Run's
// lead): a follower watches nothing.
type experimentWatch struct {
	watcher  *experiment.Watcher
	recorder *experimentRecorder
	log      *slog.Logger
}

// newExperimentWatch builds the watch over watch.namespaces, with k8s's
// dynamic client and discovery (the rest config of the other watches), and
// registers its metrics on reg.
func newExperimentWatch(o Options, k8s cluster, db experimentSaver, reg prometheus.Registerer) (*experimentWatch, error) {
	log := o.Logger.With("component", "experiment")
	rec := newExperimentRecorder(db, exporter.NewExperimentMetrics(reg), log, defaultRecorderTiming)
	w, err := experiment.New(experiment.Options{
		Client: k8s.dynamic, Discovery: k8s.discovery, Cluster: o.Config.Cluster,
		Namespaces: o.Config.Watch.Namespaces, OnChange: rec.Record, Logger: log,
		Resync: time.Duration(o.Config.Watch.Resync),
	})
	if err != nil {
		return nil, err
	}
	reg.MustRegister(exporter.NewExperimentResourcesCollector(w))
	return &experimentWatch{watcher: w, recorder: rec, log: log}, nil
}

// run watches until ctx ends. The recorder outlives the watch: it stops
// once the watch did, so that it flushes the last reading the watch told
// (or drops what is pending, when ctx ended with the Lease lost).
func (e *experimentWatch) run(ctx context.Context) {
	recCtx, stopRecorder := context.WithCancelCause(context.WithoutCancel(ctx))
	defer stopRecorder(nil)
	recorded := make(chan struct{})
	go func() {
		defer close(recorded)
		e.recorder.run(recCtx)
	}()
	if err := e.watcher.Run(ctx); err != nil && ctx.Err() == nil {
		e.log.Error("watching the chaos tools' experiments stopped", "err", err)
	}
	<-ctx.Done()
	stopRecorder(context.Cause(ctx))
	<-recorded
}
