package delivery_test

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/steadywatch/steadywatch/internal/testenv/syncbuf"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/common/model"
	"github.com/stretchr/testify/require"

	"github.com/steadywatch/steadywatch/config"
	"github.com/steadywatch/steadywatch/internal/testenv/fakeclock"
	"github.com/steadywatch/steadywatch/internal/testenv/waitfor"
	"github.com/steadywatch/steadywatch/report/delivery"
	"github.com/steadywatch/steadywatch/store"
)

// monday is the default schedule's time in 2026-W48: W47 is due.
var monday = time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC)

// faulty is a store whose UpdateDelivery the test decides: update gets the
// call's number (1, 2, …) and the delivery, and answers, or says to pass it
// on to the real store.
type faulty struct {
	source
	update func(n int, d store.Delivery) (ok bool, err error, pass bool)

	mu    sync.Mutex
	calls []store.Delivery
}

func (f *faulty) UpdateDelivery(ctx context.Context, d store.Delivery, attempts int) (bool, error) {
	f.mu.Lock()
	f.calls = append(f.calls, d)
	n := len(f.calls)
	f.mu.Unlock()
	if ok, err, pass := f.update(n, d); !pass {
		return ok, err
	}
	return f.source.UpdateDelivery(ctx, d, attempts)
}

func (f *faulty) updates() []store.Delivery {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]store.Delivery(nil), f.calls...)
}

// syncBuffer is a log destination the code's goroutines and the test share.
type syncBuffer = syncbuf.Buffer

type running struct {
	clock *fakeclock.Clock
	reg   *prometheus.Registry
	log   *syncBuffer
	db    store.Store
}

// run starts a deliverer at start over st (made from a fresh store by
// wrap), posting to url.
func run(t *testing.T, cfg config.Delivery, url string, start time.Time, client *http.Client,
	wrap func(source) delivery.Store,
) *running {
	t.Helper()
	cfg.Webhooks = []config.Webhook{{Name: "ops", URL: url, Format: config.WebhookJSON}}
	db, err := store.Open(t.Context(), "", store.Options{DataDir: t.TempDir()})
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, db.Close()) })
	r := &running{clock: fakeclock.New(start), reg: prometheus.NewRegistry(), log: &syncBuffer{}, db: db}
	d, err := delivery.New(delivery.Options{
		Config: cfg, Store: wrap(source{db}), Clock: r.clock, Registerer: r.reg, Client: client,
		Logger: slog.New(slog.NewTextHandler(r.log, nil)),
	})
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan struct{})
	go func() { defer close(done); d.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
	return r
}

// idle waits until the deliverer waits on the clock, and returns when it
// is to wake up.
func (r *running) idle(t *testing.T, what string) time.Time {
	t.Helper()
	var at time.Time
	waitfor.True(t, 10*time.Second, what, func() bool {
		alarms := r.clock.Alarms()
		if len(alarms) == 0 {
			return false
		}
		at = alarms[0]
		return true
	})
	return at
}

func (r *running) outcomes(t *testing.T) float64 {
	t.Helper()
	return counter(t, r.reg, "retry") + counter(t, r.reg, "failed") + counter(t, r.reg, "delivered")
}

func accepting(t *testing.T) (*httptest.Server, *failing) {
	t.Helper()
	n := &failing{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		n.mu.Lock()
		n.n++
		n.mu.Unlock()
		w.WriteHeader(http.StatusNoContent)
	}))
	t.Cleanup(srv.Close)
	return srv, n
}

func TestAClaimThatCannotBeSavedWaitsTheBackoffNotSpins(t *testing.T) {
	srv, hook := accepting(t)
	cfg := config.Default().Reports.Delivery
	st := &faulty{update: func(int, store.Delivery) (bool, error, bool) {
		return false, errors.New("disk I/O error"), false
	}}
	r := run(t, cfg, srv.URL, monday, nil, func(s source) delivery.Store { st.source = s; return st })

	wake := r.idle(t, "the deliverer to wait after the failed claim")
	require.Equal(t, monday.Add(time.Duration(cfg.MinBackoff)), wake, "it waits min_backoff")
	require.Len(t, st.updates(), 1, "one claim tried, not retried in a loop")
	require.Zero(t, hook.count(), "nothing sent without a saved claim")
	require.Contains(t, r.log.String(), "disk I/O error")

	r.clock.Set(wake)
	waitfor.True(t, 10*time.Second, "the second claim", func() bool { return len(st.updates()) == 2 })
	require.Equal(t, wake.Add(time.Duration(cfg.MinBackoff)), r.idle(t, "the deliverer to wait again"))
	require.Len(t, st.updates(), 2)
	require.Zero(t, hook.count())
}

func TestAnOutcomeThatIsNotRecordedIsLoggedAndNotCounted(t *testing.T) {
	for name, answer := range map[string]struct {
		err error
		log string
	}{
		"changed meanwhile": {nil, "changed while it was being sent"},
		"store error":       {errors.New("disk I/O error"), "disk I/O error"},
	} {
		t.Run(name, func(t *testing.T) {
			srv, hook := accepting(t)
			cfg := config.Default().Reports.Delivery
			st := &faulty{update: func(n int, _ store.Delivery) (bool, error, bool) {
				if n == 2 { // the outcome
					return false, answer.err, false
				}
				return false, nil, true
			}}
			r := run(t, cfg, srv.URL, monday, nil, func(s source) delivery.Store { st.source = s; return st })
			waitfor.True(t, 10*time.Second, "the outcome's update", func() bool { return len(st.updates()) == 2 })
			r.idle(t, "the deliverer to wait")
			require.Equal(t, 1, hook.count())
			require.Equal(t, "delivered", st.updates()[1].State)
			require.Zero(t, r.outcomes(t), "an outcome the store does not hold is not counted")
			logged := r.log.String()
			require.Contains(t, logged, "level=ERROR")
			require.Contains(t, logged, answer.log)
			require.NotContains(t, logged, "weekly report delivered")
			list, err := r.db.Deliveries(t.Context(), store.DeliveryFilter{})
			require.NoError(t, err)
			require.Len(t, list, 1)
			require.Equal(t, store.DeliveryPending, list[0].State, "the claim stands: tried again after it")
		})
	}
}

func TestAClaimHoldsForTheReportsBuildAndTheRequest(t *testing.T) {
	for name, c := range map[string]struct {
		backoff, want time.Duration
	}{
		// The default: min_backoff equals the timeout; the claim holds for
		// the build (up to a timeout) and the request (another).
		"backoff below": {30 * time.Second, time.Minute},
		"backoff above": {2*time.Minute + time.Second, 2*time.Minute + time.Second},
	} {
		t.Run(name, func(t *testing.T) {
			srv, _ := accepting(t)
			cfg := config.Default().Reports.Delivery
			cfg.Timeout = model.Duration(30 * time.Second)
			cfg.MinBackoff, cfg.MaxBackoff = model.Duration(c.backoff), model.Duration(c.backoff)
			st := &faulty{update: func(int, store.Delivery) (bool, error, bool) { return false, nil, true }}
			r := run(t, cfg, srv.URL, monday, nil, func(s source) delivery.Store { st.source = s; return st })
			waitfor.True(t, 10*time.Second, "the outcome", func() bool { return r.outcomes(t) == 1 })
			claim := st.updates()[0]
			require.Equal(t, 1, claim.Attempts)
			require.Equal(t, monday.Add(c.want), claim.NextAttempt)
		})
	}
}

func TestAnAttemptIsCancelledWhenItsClaimEnds(t *testing.T) {
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(_ http.ResponseWriter, r *http.Request) {
		select { // hangs until the client gives up
		case <-r.Context().Done():
		case <-release:
		}
	}))
	t.Cleanup(srv.Close)
	t.Cleanup(func() { close(release) }) // before srv.Close, which waits for the handler
	cfg := config.Default().Reports.Delivery
	cfg.Timeout = model.Duration(100 * time.Millisecond)
	// A client without a timeout of its own: the attempt's deadline is the
	// one that ends it.
	start := time.Now()
	r := run(t, cfg, srv.URL, monday, &http.Client{}, func(s source) delivery.Store { return s })
	waitfor.True(t, 10*time.Second, "the attempt to end", func() bool { return r.outcomes(t) == 1 })
	require.GreaterOrEqual(t, time.Since(start), 200*time.Millisecond, "given the build's timeout and the request's")
	require.InDelta(t, 1, counter(t, r.reg, "retry"), 0)
	list, err := r.db.Deliveries(t.Context(), store.DeliveryFilter{})
	require.NoError(t, err)
	require.Len(t, list, 1)
	require.Contains(t, list[0].LastError, "deadline exceeded")
}
