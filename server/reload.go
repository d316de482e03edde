package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"reflect"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"

	"github.com/steadywatch/steadywatch/config"
	"github.com/steadywatch/steadywatch/contract"
	"github.com/steadywatch/steadywatch/internal/contractprom"
	"github.com/steadywatch/steadywatch/verdict"
)

// ReloadPath is where a POST reloads the configuration (Prometheus's
// lifecycle endpoint).
const ReloadPath = "/-/reload"

// reloadCheckTimeout bounds the checks a reload makes against Prometheus
// (its scrape intervals) before it swaps the hypotheses in.
const reloadCheckTimeout = 10 * time.Second

// errReloaded is why a verdict loop stops when a reload swaps another in.
var errReloaded = errors.New("reloaded")

// verdictRunner runs the verdict loop of the hypotheses in force while
// this serve leads, and swaps in another on reload: the loop running stops
// (between judgements), handing the new one what it has not stored yet
// and its abort alerts, and the new one starts at once.
type verdictRunner struct {
	board *verdict.Board
	// steps, if not nil, is the check of the first loop's steps: the loop
	// starts once it is done.
	steps *stepCheck

	mu      sync.Mutex
	loop    *verdictLoop // nil: no hypotheses
	swapped chan struct{}
	// unstored are the verdicts the last loop run had not stored when it
	// stopped.
	unstored int
}

func newVerdictRunner(loop *verdictLoop, board *verdict.Board, steps *stepCheck) *verdictRunner {
	return &verdictRunner{loop: loop, board: board, steps: steps, swapped: make(chan struct{}, 1)}
}

// names are the hypotheses in force.
func (r *verdictRunner) names() []string {
	loop := r.current()
	if loop == nil {
		return nil
	}
	names := make([]string, len(loop.hypotheses))
	for i := range loop.hypotheses {
		names[i] = loop.hypotheses[i].Name
	}
	return names
}

// unstoredCount is how many verdicts the history had not taken when the
// runner stopped.
func (r *verdictRunner) unstoredCount() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.unstored
}

func (r *verdictRunner) current() *verdictLoop {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.loop
}

// swap makes next the loop in force (nil: no hypotheses).
func (r *verdictRunner) swap(next *verdictLoop) {
	r.mu.Lock()
	r.loop = next
	r.mu.Unlock()
	if next == nil {
		r.board.Keep(nil)
	}
	select {
	case r.swapped <- struct{}{}:
	default:
	}
}

// run runs the loop in force until ctx ends, once the start's check of
// the steps is done (a reloaded loop's were checked before the swap).
func (r *verdictRunner) run(ctx context.Context) {
	if r.steps != nil {
		select {
		case <-r.steps.done:
		case <-ctx.Done():
			return
		}
	}
	// A swap made before this serve led is in force already.
	select {
	case <-r.swapped:
	default:
	}
	for {
		loop := r.current()
		loopCtx, stop := context.WithCancelCause(ctx)
		done := make(chan struct{})
		go func() {
			defer close(done)
			if loop != nil {
				loop.run(loopCtx)
			}
		}()
		select {
		case <-ctx.Done():
			stop(nil)
			<-done
			if loop != nil {
				r.mu.Lock()
				r.unstored = loop.unstored()
				r.mu.Unlock()
			}
			return
		case <-r.swapped:
			stop(errReloaded)
			<-done
			switch next := r.current(); {
			case loop == nil || next == loop:
			case next != nil:
				next.adopt(loop)
			default:
				// No hypotheses any more: what the loop had not stored is
				// stored now if the store takes it, else logged.
				loop.flushAll(ctx)
				loop.logUnsaved()
			}
		}
	}
}

// reloader re-reads the configuration and the hypotheses on SIGHUP or a
// POST to /-/reload. A configuration that does not load, or a hypothesis
// that does not, keeps the running ones; what can change while serve runs
// (verdicts: the hypotheses, Prometheus, the interval, the abort alert) is
// applied, and what needs a restart is logged by name.
type reloader struct {
	load   func() (config.Config, error)
	build  func(ctx context.Context, cfg config.Config) (*verdictLoop, error)
	runner *verdictRunner
	log    *slog.Logger
	now    func() time.Time
	ok     prometheus.Gauge
	at     prometheus.Gauge

	mu  sync.Mutex
	cur config.Config
}

func newReloader(cur config.Config, load func() (config.Config, error),
	build func(ctx context.Context, cfg config.Config) (*verdictLoop, error), runner *verdictRunner,
	reg prometheus.Registerer, log *slog.Logger, now func() time.Time,
) *reloader {
	f := promauto.With(reg)
	r := &reloader{
		load: load, build: build, runner: runner, log: log, now: now, cur: cur,
		ok: contractprom.Gauge(f, contract.ConfigLastReloadSuccessful),
		at: contractprom.Gauge(f, contract.ConfigLastReloadSuccessTime),
	}
	r.ok.Set(1)
	r.at.Set(float64(now().UnixNano()) / 1e9)
	return r
}

// reload re-reads and applies the configuration, or keeps the running one
// and returns why not.
func (r *reloader) reload(ctx context.Context, trigger string) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	err := r.apply(ctx)
	if err != nil {
		r.ok.Set(0)
		r.log.Error("reloading the configuration failed; the running one is kept", "trigger", trigger, "err", err)
		return err
	}
	r.ok.Set(1)
	r.at.Set(float64(r.now().UnixNano()) / 1e9)
	return nil
}

func (r *reloader) apply(ctx context.Context) error {
	if r.load == nil {
		return errors.New("this serve was started without a way to read its configuration again")
	}
	cfg, err := r.load()
	if err != nil {
		return err
	}
	if err := cfg.Validate(); err != nil {
		return err
	}
	checkCtx, cancel := context.WithTimeout(ctx, reloadCheckTimeout)
	defer cancel()
	loop, err := r.build(checkCtx, cfg)
	if err != nil {
		return err
	}
	r.runner.swap(loop)
	names := r.runner.names()
	if later := restartOnly(r.cur, cfg); len(later) > 0 {
		r.log.Warn("changed in the configuration, applied at the next restart only", "fields", strings.Join(later, ", "))
	}
	// What runs: the sections applied at a restart only stay as they
	// were, and are named again at the next reload.
	r.cur.Verdicts = cfg.Verdicts
	r.log.Info("configuration reloaded", "hypotheses", names)
	return nil
}

// restartOnly names the sections of the configuration that differ between
// old and cfg and that a reload does not apply: all but verdicts.
func restartOnly(old, cfg config.Config) []string {
	var out []string
	ov, nv := reflect.ValueOf(old), reflect.ValueOf(cfg)
	for i := range ov.NumField() {
		name, _, _ := strings.Cut(ov.Type().Field(i).Tag.Get("yaml"), ",")
		if name == "verdicts" || name == "" || name == "-" {
			continue
		}
		if !reflect.DeepEqual(ov.Field(i).Interface(), nv.Field(i).Interface()) {
			out = append(out, name)
		}
	}
	return out
}

// handler answers POST /-/reload: 200 once reloaded, 500 with why not.
// Without web.enable_lifecycle it is 403, as Prometheus's.
func (r *reloader) handler(enabled bool) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		if !enabled {
			http.Error(w, "the lifecycle API is not enabled: set web.enable_lifecycle (or --web.enable-lifecycle); SIGHUP reloads too",
				http.StatusForbidden)
			return
		}
		if err := r.reload(req.Context(), "POST "+ReloadPath); err != nil {
			http.Error(w, fmt.Sprintf("failed to reload the configuration: %v", err), http.StatusInternalServerError)
			return
		}
		w.WriteHeader(http.StatusOK)
	})
}

// reloadOnSignal reloads on each signal until ctx ends.
func reloadOnSignal(ctx context.Context, signals <-chan os.Signal, r *reloader) {
	if signals == nil {
		return
	}
	for {
		select {
		case <-ctx.Done():
			return
		case sig := <-signals:
			_ = r.reload(ctx, sig.String()) // logged
		}
	}
}
