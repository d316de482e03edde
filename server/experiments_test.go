package server

import (
	"context"
	"errors"
	"log/slog"
	"maps"
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/require"

	"github.com/steadywatch/steadywatch/experiment"
	"github.com/steadywatch/steadywatch/exporter"
	"github.com/steadywatch/steadywatch/internal/testenv/waitfor"
)

// flakyExperiments is a store of experiments that fails while failing is
// set, and records every attempt and what it holds.
type flakyExperiments struct {
	mu       sync.Mutex
	failing  bool
	attempts []experiment.Experiment
	saved    map[string]experiment.Experiment
	// held, if set, holds every save until it is closed.
	held chan struct{}
}

func (f *flakyExperiments) SaveExperiment(ctx context.Context, x experiment.Experiment) error {
	f.mu.Lock()
	held := f.held
	f.mu.Unlock()
	if held != nil {
		select {
		case <-held:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.attempts = append(f.attempts, x)
	if f.failing {
		return errors.New("database is locked")
	}
	if f.saved == nil {
		f.saved = map[string]experiment.Experiment{}
	}
	f.saved[x.Key()] = x
	return nil
}

func (f *flakyExperiments) setFailing(v bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.failing = v
}

// attemptsOf counts the attempts to save x (that exact reading).
func (f *flakyExperiments) attemptsOf(x experiment.Experiment) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	n := 0
	for _, a := range f.attempts {
		if reflect.DeepEqual(a, x) {
			n++
		}
	}
	return n
}

func (f *flakyExperiments) savedCopy() map[string]experiment.Experiment {
	f.mu.Lock()
	defer f.mu.Unlock()
	return maps.Clone(f.saved)
}

var (
	xStart = time.Date(2026, 3, 1, 10, 0, 2, 0, time.UTC)
	// killing is a Chaos Mesh pod kill as it runs, killed as it ended.
	killing = experiment.Experiment{
		Tool: experiment.ChaosMesh, Kind: "PodChaos", Namespace: "shop", Name: "kill-web", UID: "u1",
		Fault: "pod-kill", Start: xStart, Result: experiment.Injected,
	}
	killed = func() experiment.Experiment {
		x := killing
		x.End, x.Result = xStart.Add(time.Minute), experiment.Recovered
		return x
	}()
)

func newTestRecorder(t *testing.T, db experimentSaver, grace time.Duration) (*experimentRecorder, *prometheus.Registry) {
	t.Helper()
	reg := prometheus.NewRegistry()
	r := newExperimentRecorder(db, exporter.NewExperimentMetrics(reg), slog.New(slog.NewTextHandler(t.Output(), nil)),
		recorderTiming{minBackoff: time.Millisecond, maxBackoff: 10 * time.Millisecond, saveTimeout: time.Second, grace: grace})
	return r, reg
}

// runRecorder runs r until the returned stop, which waits for its flush.
func runRecorder(t *testing.T, r *experimentRecorder, ctx context.Context) (stop func()) {
	t.Helper()
	ctx, cancel := context.WithCancelCause(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		r.run(ctx)
	}()
	var once sync.Once
	stop = func() {
		once.Do(func() {
			cancel(nil)
			select {
			case <-done:
			case <-time.After(30 * time.Second):
				t.Error("the recorder did not stop within 30s")
			}
		})
	}
	t.Cleanup(stop)
	return stop
}

// gathered1 is the value of the series of name with the one label value
// (none: "").
func gathered1(t *testing.T, reg *prometheus.Registry, name, value string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	require.NoError(t, err)
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, m := range mf.GetMetric() {
			v := ""
			if len(m.GetLabel()) > 0 {
				v = m.GetLabel()[0].GetValue()
			}
			if v == value {
				return m.GetCounter().GetValue()
			}
		}
	}
	t.Fatalf("no series %s{%q}", name, value)
	return 0
}

func TestAFailingStoreKeepsTheLatestReadingOfAnExperimentAndSavesItOnceItRecovers(t *testing.T) {
	db := &flakyExperiments{failing: true}
	r, reg := newTestRecorder(t, db, time.Second)
	runRecorder(t, r, t.Context())

	r.Record(killing)
	waitfor.True(t, 10*time.Second, "the running reading to be tried again", func() bool { return db.attemptsOf(killing) >= 2 })
	// A newer reading of the same experiment replaces the one not saved.
	r.Record(killed)
	waitfor.True(t, 10*time.Second, "the ended reading to be tried again", func() bool { return db.attemptsOf(killed) >= 2 })
	triedRunning := db.attemptsOf(killing)
	require.Equal(t, 1, r.pendingCount())

	db.setFailing(false)
	waitfor.True(t, 10*time.Second, "the ended reading to be saved", func() bool { return reflect.DeepEqual(db.savedCopy()[killed.Key()], killed) })
	waitfor.True(t, 10*time.Second, "nothing to be pending", func() bool { return r.pendingCount() == 0 })
	require.Equal(t, triedRunning, db.attemptsOf(killing), "the replaced reading was tried again")
	require.Equal(t, map[string]experiment.Experiment{killed.Key(): killed}, db.savedCopy())
	require.InDelta(t, 1, gathered1(t, reg, "steadywatch_experiments_recorded_total", "chaos-mesh"), 0, "one reading saved")
	require.InDelta(t, float64(len(db.attempts)-1), gathered1(t, reg, "steadywatch_experiment_save_errors_total", ""), 0,
		"every attempt but the last failed")
}

// Record is the watcher's OnChange: it must not wait on a store that
// hangs, or the informers' handlers would stop with it.
func TestRecordDoesNotWaitForASlowStore(t *testing.T) {
	db := &flakyExperiments{held: make(chan struct{})}
	r, _ := newTestRecorder(t, db, time.Second)
	runRecorder(t, r, t.Context())

	recorded := make(chan struct{})
	go func() {
		defer close(recorded)
		for i := range 100 {
			x := killing
			x.Name = "kill-" + string(rune('a'+i%26)) + string(rune('a'+i/26))
			r.Record(x)
		}
	}()
	select {
	case <-recorded:
	case <-time.After(10 * time.Second):
		t.Fatal("Record waited for the store")
	}
	close(db.held)
	waitfor.True(t, 10*time.Second, "the 100 experiments to be saved", func() bool { return len(db.savedCopy()) == 100 })
}

func TestOnShutdownWhatIsPendingIsSavedWithinTheGrace(t *testing.T) {
	t.Run("a store that recovers within the grace gets the reading", func(t *testing.T) {
		db := &flakyExperiments{failing: true}
		r, _ := newTestRecorder(t, db, 30*time.Second)
		stop := runRecorder(t, r, t.Context())
		r.Record(killed)
		waitfor.True(t, 10*time.Second, "a save to fail", func() bool { return db.attemptsOf(killed) >= 1 })
		stopped := make(chan struct{})
		go func() {
			defer close(stopped)
			stop()
		}()
		// Still flushing: stop waits for it.
		waitfor.True(t, 10*time.Second, "the flush to try", func() bool { return db.attemptsOf(killed) >= 3 })
		select {
		case <-stopped:
			t.Fatal("the recorder stopped with a reading pending and time left")
		default:
		}
		db.setFailing(false)
		<-stopped
		require.Equal(t, killed, db.savedCopy()[killed.Key()])
	})
	t.Run("a store that stays down is given up at the end of the grace", func(t *testing.T) {
		db := &flakyExperiments{failing: true}
		r, _ := newTestRecorder(t, db, 200*time.Millisecond)
		stop := runRecorder(t, r, t.Context())
		r.Record(killed)
		waitfor.True(t, 10*time.Second, "a save to fail", func() bool { return db.attemptsOf(killed) >= 1 })
		began := time.Now()
		stop()
		require.GreaterOrEqual(t, time.Since(began), 200*time.Millisecond, "gave up before the grace")
		require.Less(t, time.Since(began), 10*time.Second)
		require.Empty(t, db.savedCopy())
		require.Equal(t, 1, r.pendingCount())
	})
	t.Run("a lost Lease drops what is pending: the next leader records it", func(t *testing.T) {
		db := &flakyExperiments{failing: true}
		r, _ := newTestRecorder(t, db, 30*time.Second)
		ctx, lose := context.WithCancelCause(t.Context())
		stop := runRecorder(t, r, ctx)
		r.Record(killed)
		waitfor.True(t, 10*time.Second, "a save to fail", func() bool { return db.attemptsOf(killed) >= 1 })
		began := time.Now()
		lose(errLostLease)
		stop()
		require.Less(t, time.Since(began), 10*time.Second, "flushed for the grace")
		require.Empty(t, db.savedCopy())
		require.Zero(t, r.pendingCount())
	})
}
