package delivery_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/common/model"
	"github.com/stretchr/testify/require"

	"github.com/steadywatch/steadywatch/chaos"
	"github.com/steadywatch/steadywatch/config"
	"github.com/steadywatch/steadywatch/internal/testenv/fakeclock"
	"github.com/steadywatch/steadywatch/internal/testenv/waitfor"
	"github.com/steadywatch/steadywatch/report/delivery"
	"github.com/steadywatch/steadywatch/store"
	"github.com/steadywatch/steadywatch/tracker"
)

// failing is a webhook that answers every request 500 and counts them.
type failing struct {
	mu sync.Mutex
	n  int
}

func (f *failing) ServeHTTP(w http.ResponseWriter, _ *http.Request) {
	f.mu.Lock()
	f.n++
	f.mu.Unlock()
	http.Error(w, "down for maintenance", http.StatusInternalServerError)
}

func (f *failing) count() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.n
}

type source struct{ store.Store }

func (s source) List(ctx context.Context, f tracker.Filter) ([]chaos.Incident, error) {
	return s.Store.List(ctx, f)
}

// giveUp runs a deliverer against a webhook that always fails, from
// Monday 09:00 (the schedule) on, and returns the store's delivery after
// each attempt until it is no longer pending.
func giveUp(t *testing.T, cfg config.Delivery) []store.Delivery {
	t.Helper()
	return giveUpFrom(t, cfg, time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC))
}

// giveUpFrom is giveUp with serve started at start, on or after Monday
// 09:00.
func giveUpFrom(t *testing.T, cfg config.Delivery, start time.Time) []store.Delivery {
	t.Helper()
	hook := &failing{}
	srv := httptest.NewServer(hook)
	t.Cleanup(srv.Close)
	cfg.Webhooks = []config.Webhook{{Name: "ops", URL: srv.URL, Format: config.WebhookJSON}}
	db, err := store.Open(t.Context(), "", store.Options{DataDir: t.TempDir()})
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, db.Close()) })
	clock := fakeclock.New(start)
	reg := prometheus.NewRegistry()
	d, err := delivery.New(delivery.Options{Config: cfg, Store: source{db}, Clock: clock, Registerer: reg})
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan struct{})
	go func() { defer close(done); d.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })

	var history []store.Delivery
	for attempt := 1; ; attempt++ {
		var got store.Delivery
		// Over once the webhook saw it and the outcome is recorded, then
		// counted: counted first, the store read after holds it.
		waitfor.True(t, 10*time.Second, fmt.Sprintf("attempt %d's outcome", attempt), func() bool {
			outcomes := counter(t, reg, "retry") + counter(t, reg, "failed") + counter(t, reg, "delivered")
			list, err := db.Deliveries(t.Context(), store.DeliveryFilter{})
			require.NoError(t, err)
			if len(list) == 1 && hook.count() == attempt && int(outcomes) == attempt {
				got = list[0]
				return true
			}
			return false
		})
		history = append(history, got)
		if got.State != store.DeliveryPending {
			require.InDelta(t, 1, counter(t, reg, "failed"), 0)
			require.InDelta(t, float64(attempt-1), counter(t, reg, "retry"), 0)
			return history
		}
		require.False(t, got.NextAttempt.IsZero())
		clock.Set(got.NextAttempt)
	}
}

func counter(t *testing.T, reg *prometheus.Registry, result string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	require.NoError(t, err)
	for _, mf := range mfs {
		if mf.GetName() != "steadywatch_report_deliveries_total" {
			continue
		}
		for _, m := range mf.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == "result" && l.GetValue() == result {
					return m.GetCounter().GetValue()
				}
			}
		}
	}
	t.Fatalf("no %s series", result)
	return 0
}

func TestADeliveryIsGivenUpAtMaxAttempts(t *testing.T) {
	cfg := config.Default().Reports.Delivery
	cfg.MaxAttempts = 3
	history := giveUp(t, cfg)
	require.Len(t, history, 3, "2 attempts are below the bound, the 3rd reaches it")
	require.Equal(t, store.DeliveryPending, history[1].State)
	require.Equal(t, store.DeliveryFailed, history[2].State)
	require.Contains(t, history[2].LastError, "500 Internal Server Error: down for maintenance")
	require.True(t, history[2].NextAttempt.IsZero())
	// Backoff from the default 30s: 30s, then 1m.
	t0 := time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC)
	require.Equal(t, t0.Add(30*time.Second), history[0].NextAttempt)
	require.Equal(t, t0.Add(90*time.Second), history[1].NextAttempt)
}

func TestADeliveryIsGivenUpAtMaxAge(t *testing.T) {
	cfg := config.Default().Reports.Delivery
	cfg.MinBackoff, cfg.MaxBackoff, cfg.MaxAge = model.Duration(4*time.Minute), model.Duration(4*time.Minute), model.Duration(10*time.Minute)
	history := giveUp(t, cfg)
	t0 := time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC)
	// Attempts at 0, 4 and 8 minutes (younger than max_age: retried), the
	// last at 10 minutes, max_age to the nanosecond: given up.
	require.Len(t, history, 4)
	for i, at := range []time.Duration{0, 4 * time.Minute, 8 * time.Minute, 10 * time.Minute} {
		require.Equal(t, t0.Add(at), history[i].Updated, "attempt %d", i+1)
	}
	require.Equal(t, store.DeliveryPending, history[2].State)
	require.Equal(t, t0.Add(10*time.Minute), history[2].NextAttempt, "the last attempt waits no longer than max_age")
	require.Equal(t, store.DeliveryFailed, history[3].State)
}

func TestMaxAgeRunsFromTheDueTimeNotFromWhenServeRecordedIt(t *testing.T) {
	cfg := config.Default().Reports.Delivery
	cfg.MinBackoff, cfg.MaxBackoff, cfg.MaxAge = model.Duration(4*time.Minute), model.Duration(4*time.Minute), model.Duration(10*time.Minute)
	due := time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC)
	// serve starts 3 minutes after the schedule: recorded then, but due at
	// 09:00, and given up 10 minutes after that, not after 09:03.
	history := giveUpFrom(t, cfg, due.Add(3*time.Minute))
	require.Len(t, history, 3)
	for i, at := range []time.Duration{3 * time.Minute, 7 * time.Minute, 10 * time.Minute} {
		require.Equal(t, due.Add(at), history[i].Updated, "attempt %d", i+1)
	}
	require.Equal(t, due, history[0].Due)
	require.Equal(t, due.Add(3*time.Minute), history[0].Created)
	require.Equal(t, store.DeliveryPending, history[1].State, "7 minutes after due: younger than max_age")
	require.Equal(t, due.Add(10*time.Minute), history[1].NextAttempt, "the last attempt waits no longer than due+max_age")
	require.Equal(t, store.DeliveryFailed, history[2].State, "due+max_age to the nanosecond: given up")
}
