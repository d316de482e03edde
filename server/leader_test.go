package server

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/prometheus/common/model"
	"github.com/stretchr/testify/require"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"

	"github.com/steadywatch/steadywatch/config"
	"github.com/steadywatch/steadywatch/internal/testenv/waitfor"
)

// election is fast: a lease of a second.
func election(identity string) config.LeaderElection {
	return config.LeaderElection{
		Enabled: true, Namespace: "steadywatch", LeaseName: "steadywatch", Identity: identity,
		LeaseDuration: model.Duration(time.Second), RenewDeadline: model.Duration(500 * time.Millisecond),
		RetryPeriod: model.Duration(100 * time.Millisecond),
	}
}

// candidate is one serve in an election: its lead records when it ran.
type candidate struct {
	ship *leadership
	reg  *prometheus.Registry

	mu               sync.Mutex
	started, ended   time.Time
	cancel           context.CancelFunc
	done             chan error
	leading, stopped atomic.Bool
}

func runCandidate(t *testing.T, client *fake.Clientset, cfg config.LeaderElection) *candidate {
	t.Helper()
	c := &candidate{reg: prometheus.NewRegistry(), done: make(chan error, 1)}
	c.ship = newLeadership(c.reg)
	ctx, cancel := context.WithCancel(t.Context())
	c.cancel = cancel
	lead := func(ctx context.Context) error {
		c.mu.Lock()
		c.started = time.Now()
		c.mu.Unlock()
		c.leading.Store(true)
		<-ctx.Done()
		// Stopping takes a moment (the last checkpoint): the Lease must
		// not be free before it is over.
		time.Sleep(300 * time.Millisecond) // longer than the retry period
		c.mu.Lock()
		c.ended = time.Now()
		c.mu.Unlock()
		c.stopped.Store(true)
		return nil
	}
	go func() { c.done <- runLeading(ctx, cfg, client, c.ship, slog.New(slog.DiscardHandler), lead) }()
	t.Cleanup(func() {
		cancel()
		if err := <-c.done; err != nil && !errors.Is(err, errLostLease) {
			t.Errorf("serve %s: %v", cfg.Identity, err)
		}
	})
	return c
}

func (c *candidate) times() (started, ended time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.started, c.ended
}

func holder(t *testing.T, client *fake.Clientset) string {
	t.Helper()
	l, err := client.CoordinationV1().Leases("steadywatch").Get(t.Context(), "steadywatch", metav1.GetOptions{})
	if err != nil || l.Spec.HolderIdentity == nil {
		return ""
	}
	return *l.Spec.HolderIdentity
}

func TestOneCandidateLeadsAndTheNextTakesOverOnlyAfterItStopped(t *testing.T) {
	client := fake.NewClientset()
	a := runCandidate(t, client, election("a"))
	waitfor.True(t, 10*time.Second, "a to lead", a.leading.Load)
	require.True(t, a.ship.Leading())
	require.InDelta(t, 1, testutil.ToFloat64(a.ship.gauge), 0)
	require.Equal(t, "a", holder(t, client))

	b := runCandidate(t, client, election("b"))
	// b follows for as long as a renews: two lease durations.
	deadline := time.Now().Add(2 * time.Second)
	for time.Now().Before(deadline) {
		require.False(t, b.leading.Load(), "b leads while a holds the lease")
		time.Sleep(20 * time.Millisecond) // watching that nothing happens for a while
	}
	require.False(t, b.ship.Leading())
	require.InDelta(t, 0, testutil.ToFloat64(b.ship.gauge), 0)

	// a stops (SIGTERM): its lead ends, then it releases the lease, and b
	// takes over at its next retry, well within a lease duration.
	stoppedAt := time.Now()
	a.cancel()
	require.NoError(t, <-a.done, "a stopped on purpose")
	a.done <- nil // for the cleanup
	waitfor.True(t, 10*time.Second, "b to lead", b.leading.Load)
	_, aEnded := a.times()
	bStarted, _ := b.times()
	require.False(t, bStarted.Before(aEnded), "b started leading before a stopped")
	require.Less(t, bStarted.Sub(stoppedAt), time.Second, "a released the lease: b did not wait for it to expire")
	require.Equal(t, "b", holder(t, client))
	require.False(t, a.ship.Leading())
}

func TestALeaderThatCannotRenewStopsAndExits(t *testing.T) {
	client := fake.NewClientset()
	var refuse atomic.Bool
	client.PrependReactor("update", "leases", func(k8stesting.Action) (bool, runtime.Object, error) {
		if refuse.Load() {
			return true, nil, errors.New("etcdserver: request timed out")
		}
		return false, nil, nil
	})
	a := runCandidate(t, client, election("a"))
	waitfor.True(t, 10*time.Second, "a to lead", a.leading.Load)
	refuse.Store(true)
	var err error
	select {
	case err = <-a.done:
		a.done <- err
	case <-time.After(10 * time.Second):
		t.Fatal("a did not stop within 10s of failing to renew")
	}
	require.ErrorIs(t, err, errLostLease)
	require.True(t, a.stopped.Load(), "lead was stopped before serve exits")
	require.False(t, a.ship.Leading())
}

func TestWithoutElectionServeLeadsAtOnce(t *testing.T) {
	ship := newLeadership(prometheus.NewRegistry())
	ran := false
	err := runLeading(t.Context(), config.LeaderElection{}, nil, ship, slog.New(slog.DiscardHandler), func(context.Context) error {
		ran = true
		require.True(t, ship.Leading())
		return errors.New("watch failed")
	})
	require.True(t, ran)
	require.EqualError(t, err, "watch failed")
}

func TestTheLeaseNamespace(t *testing.T) {
	t.Setenv("POD_NAMESPACE", "")
	ns, err := leaseNamespace("ops")
	require.NoError(t, err)
	require.Equal(t, "ops", ns)
	_, err = leaseNamespace("")
	require.EqualError(t, err, "kubernetes.leader_election.namespace: not set, $POD_NAMESPACE is empty and "+
		"/var/run/secrets/kubernetes.io/serviceaccount/namespace cannot be read (not in a pod): set the namespace of the Lease")
	t.Setenv("POD_NAMESPACE", "chaos")
	ns, err = leaseNamespace("")
	require.NoError(t, err)
	require.Equal(t, "chaos", ns)
}
