package server

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/common/model"
	"github.com/stretchr/testify/require"
	coordv1 "k8s.io/api/coordination/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/kubernetes/fake"
	coordinationv1 "k8s.io/client-go/kubernetes/typed/coordination/v1"

	"github.com/steadywatch/steadywatch/internal/testenv/waitfor"
)

// lateRenewals is an API server whose Lease updates go through at once,
// then one that answers only after slow (as a loaded API server does; the
// update lands when it answers, unless the caller gave up first), then
// none. It records the time stamped in each update that went through.
type lateRenewals struct {
	kubernetes.Interface
	slow time.Duration

	mu     sync.Mutex
	state  int // 0: at once, 1: the next one late, 2: none
	tried  int // late tries
	stamps []time.Time
}

func (c *lateRenewals) CoordinationV1() coordinationv1.CoordinationV1Interface {
	return lateCoordination{CoordinationV1Interface: c.Interface.CoordinationV1(), c: c}
}

func (c *lateRenewals) set(state int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.state = state
}

func (c *lateRenewals) renewals() (stamps []time.Time, lateTries int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]time.Time(nil), c.stamps...), c.tried
}

type lateCoordination struct {
	coordinationv1.CoordinationV1Interface
	c *lateRenewals
}

func (r lateCoordination) Leases(ns string) coordinationv1.LeaseInterface {
	return lateLeases{LeaseInterface: r.CoordinationV1Interface.Leases(ns), c: r.c}
}

type lateLeases struct {
	coordinationv1.LeaseInterface
	c *lateRenewals
}

func (l lateLeases) Update(ctx context.Context, lease *coordv1.Lease, opts metav1.UpdateOptions) (*coordv1.Lease, error) {
	l.c.mu.Lock()
	state := l.c.state
	if state == 1 {
		l.c.state, l.c.tried = 2, l.c.tried+1
	}
	l.c.mu.Unlock()
	switch state {
	case 1:
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(l.c.slow):
		}
	case 2:
		return nil, errors.New("etcdserver: request timed out")
	}
	got, err := l.LeaseInterface.Update(ctx, lease, opts)
	if err == nil {
		l.c.mu.Lock()
		l.c.stamps = append(l.c.stamps, lease.Spec.RenewTime.Time)
		l.c.mu.Unlock()
	}
	return got, err
}

// Review: a renewal that goes through late moves the leader's step-down
// later by as much, past what lease_duration covers: the leader leads on
// for up to renew_deadline + retry_period after its last renewal returned,
// and followers count from the time stamped in it. serve cuts a renewal
// not through within retry_period (config's RenewTimeout) of its stamp,
// so the leader stops leading within renew_deadline + 2 × retry_period of
// the last stamp a follower saw, as the configuration's bound assumes.
func TestALeaderStopsWithinTheBoundAfterItsLastRenewalEvenWhenThatRenewalWasLate(t *testing.T) {
	cfg := election("a")
	cfg.LeaseDuration = model.Duration(3 * time.Second)
	cfg.RenewDeadline, cfg.RetryPeriod = model.Duration(time.Second), model.Duration(200*time.Millisecond)
	client := &lateRenewals{Interface: fake.NewClientset(), slow: 900 * time.Millisecond} // < renew_deadline: client-go would wait for it

	var (
		mu      sync.Mutex
		stopped time.Time
	)
	leading := make(chan struct{})
	lead := func(ctx context.Context) error {
		close(leading)
		<-ctx.Done()
		mu.Lock()
		stopped = time.Now()
		mu.Unlock()
		return nil
	}
	done := make(chan error, 1)
	go func() {
		done <- runLeading(t.Context(), cfg, client, newLeadership(prometheus.NewRegistry()), slog.New(slog.DiscardHandler), lead, nil)
	}()
	select {
	case <-leading:
	case <-time.After(10 * time.Second):
		t.Fatal("a did not lead within 10s")
	}
	waitfor.True(t, 10*time.Second, "a renewal", func() bool { s, _ := client.renewals(); return len(s) >= 2 })
	client.set(1)
	select {
	case err := <-done:
		require.ErrorIs(t, err, errLostLease)
	case <-time.After(10 * time.Second):
		t.Fatal("a did not stop within 10s of its renewals failing")
	}

	stamps, late := client.renewals()
	require.Equal(t, 1, late, "the late renewal was tried")
	last := stamps[len(stamps)-1]
	mu.Lock()
	led := stopped.Sub(last)
	mu.Unlock()
	bound := time.Duration(cfg.RenewDeadline + 2*cfg.RetryPeriod)
	t.Logf("led %v after the last renewal's stamp; bound %v", led, bound)
	// Without the cut: the late renewal's stamp + 900ms + 200ms + 1s.
	require.LessOrEqual(t, led, bound+300*time.Millisecond,
		"a led on %v after the last renewal stamped in the Lease, past renew_deadline + 2 × retry_period (%v)", led, bound)
}
