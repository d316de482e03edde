package server

import (
	"context"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	goruntime "runtime"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/prometheus/common/model"
	"github.com/stretchr/testify/require"
	coordv1 "k8s.io/api/coordination/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/kubernetes/fake"
	coordinationv1 "k8s.io/client-go/kubernetes/typed/coordination/v1"
	k8stesting "k8s.io/client-go/testing"

	"github.com/steadywatch/steadywatch/chaos"
	"github.com/steadywatch/steadywatch/config"
	"github.com/steadywatch/steadywatch/internal/testenv/waitfor"
	"github.com/steadywatch/steadywatch/store"
	"github.com/steadywatch/steadywatch/tracker"
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

func runCandidate(t *testing.T, client kubernetes.Interface, cfg config.LeaderElection) *candidate {
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
	go func() { c.done <- runLeading(ctx, cfg, client, c.ship, slog.New(slog.DiscardHandler), lead, nil) }()
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

// leaseReads records when a candidate read the Lease, which it does at each
// try to acquire or renew it.
type leaseReads struct {
	kubernetes.Interface
	mu    sync.Mutex
	reads []time.Time
}

func (c *leaseReads) CoordinationV1() coordinationv1.CoordinationV1Interface {
	return readCounter{CoordinationV1Interface: c.Interface.CoordinationV1(), c: c}
}

// times are when the Lease was read.
func (c *leaseReads) times() []time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Clone(c.reads)
}

// span is the time between the first read and the last.
func (c *leaseReads) span() time.Duration {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.reads) < 2 {
		return 0
	}
	return c.reads[len(c.reads)-1].Sub(c.reads[0])
}

type readCounter struct {
	coordinationv1.CoordinationV1Interface
	c *leaseReads
}

func (r readCounter) Leases(ns string) coordinationv1.LeaseInterface {
	return leaseReader{LeaseInterface: r.CoordinationV1Interface.Leases(ns), c: r.c}
}

type leaseReader struct {
	coordinationv1.LeaseInterface
	c *leaseReads
}

func (l leaseReader) Get(ctx context.Context, name string, opts metav1.GetOptions) (*coordv1.Lease, error) {
	l.c.mu.Lock()
	l.c.reads = append(l.c.reads, time.Now())
	l.c.mu.Unlock()
	return l.LeaseInterface.Get(ctx, name, opts)
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
	// A lease long enough that a busy machine does not let it expire
	// while a renews or releases it: the fake clientset does not refuse
	// an update on a stale resourceVersion as an API server does, so a's
	// release would clear a Lease b took on expiry.
	long := func(id string) config.LeaderElection {
		e := election(id)
		e.LeaseDuration, e.RenewDeadline = model.Duration(4*time.Second), model.Duration(2*time.Second)
		return e
	}
	a := runCandidate(t, client, long("a"))
	waitfor.True(t, 10*time.Second, "a to lead", a.leading.Load)
	require.True(t, a.ship.Leading())
	require.InDelta(t, 1, testutil.ToFloat64(a.ship.gauge), 0)
	require.Equal(t, "a", holder(t, client))

	// b follows for as long as a renews: it tries to acquire, finding the
	// Lease held, until its tries span more than a lease duration (had a
	// not renewed, b would have taken over by then).
	bClient := &leaseReads{Interface: client}
	b := runCandidate(t, bClient, long("b"))
	waitfor.True(t, 15*time.Second, "b's tries to span more than a lease duration",
		func() bool { return bClient.span() > 4*time.Second })
	require.False(t, b.leading.Load(), "b led while a held the lease")
	require.Equal(t, "a", holder(t, client))
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
	}, nil)
	require.True(t, ran)
	require.EqualError(t, err, "watch failed")
}

func TestTheLeaseNamespace(t *testing.T) {
	t.Setenv("POD_NAMESPACE", "")
	// Not the real service account's file: the test passes inside a pod.
	saFile := filepath.Join(t.TempDir(), "namespace")
	ns, err := leaseNamespace("ops", saFile)
	require.NoError(t, err)
	require.Equal(t, "ops", ns)
	_, err = leaseNamespace("", saFile)
	require.EqualError(t, err, "kubernetes.leader_election.namespace: not set, $POD_NAMESPACE is empty and "+
		saFile+" cannot be read (not in a pod): set the namespace of the Lease")

	require.NoError(t, os.WriteFile(saFile, []byte(" \n"), 0o600))
	_, err = leaseNamespace("", saFile)
	require.Error(t, err, "a blank file names no namespace")
	require.NoError(t, os.WriteFile(saFile, []byte("monitoring\n"), 0o600))
	ns, err = leaseNamespace("", saFile)
	require.NoError(t, err)
	require.Equal(t, "monitoring", ns, "in a pod: the service account's namespace")

	t.Setenv("POD_NAMESPACE", "chaos")
	ns, err = leaseNamespace("", saFile)
	require.NoError(t, err)
	require.Equal(t, "chaos", ns, "$POD_NAMESPACE wins over the service account's")
	ns, err = leaseNamespace("ops", saFile)
	require.NoError(t, err)
	require.Equal(t, "ops", ns, "the configured namespace wins over both")
}

func TestALeadThatEndsOnItsOwnIsNotReportedAsALostLease(t *testing.T) {
	client := fake.NewClientset()
	ship := newLeadership(prometheus.NewRegistry())
	var led atomic.Bool
	err := runLeading(t.Context(), election("a"), client, ship, slog.New(slog.DiscardHandler), func(context.Context) error {
		led.Store(true)
		return nil // its parts stopped, with no error, while serve runs
	}, nil)
	require.True(t, led.Load())
	require.NotErrorIs(t, err, errLostLease, "the Lease was held all along")
	require.ErrorIs(t, err, errLeadEnded)
	require.Empty(t, holder(t, client), "lead stopped: the Lease is released")
	require.False(t, ship.Leading())

	// Without election too: serve does not exit 0 while nobody asked it to.
	err = runLeading(t.Context(), config.LeaderElection{}, nil, ship, slog.New(slog.DiscardHandler), func(context.Context) error { return nil }, nil)
	require.ErrorIs(t, err, errLeadEnded)

	// Asked to stop: no error.
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	require.NoError(t, runLeading(ctx, config.LeaderElection{}, nil, ship, slog.New(slog.DiscardHandler), func(context.Context) error { return nil }, nil))
}

// Issue 15 #2: a leader whose renewals fail keeps the Lease until it
// expires (another replica cannot take over while it still writes), and its
// lead learns the Lease was lost, to skip its last writes.
func TestALeaderThatLosesTheLeaseDoesNotReleaseItWhileItStillWrites(t *testing.T) {
	client := fake.NewClientset()
	var refuse atomic.Bool
	var releases atomic.Int32
	client.PrependReactor("update", "leases", func(a k8stesting.Action) (bool, runtime.Object, error) {
		l, _ := a.(k8stesting.UpdateAction).GetObject().(*coordv1.Lease)
		if l != nil && (l.Spec.HolderIdentity == nil || *l.Spec.HolderIdentity == "") {
			releases.Add(1) // a release goes through: only the renewals fail
			return false, nil, nil
		}
		if refuse.Load() {
			return true, nil, errors.New("etcdserver: request timed out")
		}
		return false, nil, nil
	})
	var cause atomic.Value
	leading, writing := make(chan struct{}), make(chan struct{})
	done := make(chan error, 1)
	go func() {
		done <- runLeading(t.Context(), election("a"), client, newLeadership(prometheus.NewRegistry()),
			slog.New(slog.DiscardHandler), func(ctx context.Context) error {
				close(leading)
				<-ctx.Done()
				cause.Store(context.Cause(ctx))
				<-writing // still writing after the Lease was lost
				return nil
			}, nil)
	}()
	<-leading
	refuse.Store(true)
	waitfor.True(t, 10*time.Second, "lead to be told the Lease was lost", func() bool { return cause.Load() != nil })
	close(writing)
	require.ErrorIs(t, <-done, errLostLease)
	require.Zero(t, releases.Load(), "the Lease was released while lead still wrote")
	require.Equal(t, "a", holder(t, client), "the Lease expires rather than being released")
	err, _ := cause.Load().(error)
	require.ErrorIs(t, err, errLostLease, "lead's context says why it ended")
}

// Issue 15 #5: serve stopped just as it acquired the Lease: lead either
// ran and ended before runLeading returned, or never runs.
func TestServeStoppedAsItAcquiresTheLeaseNeverLeadsAfterItReturned(t *testing.T) {
	// One P: the goroutine client-go starts the callback in waits while
	// the elector runs on, as on a loaded node.
	defer goruntime.GOMAXPROCS(goruntime.GOMAXPROCS(1))
	var afterReturn atomic.Int32
	var ships []*leadership
	for range 20 {
		client := fake.NewClientset()
		ctx, cancel := context.WithCancel(t.Context())
		client.PrependReactor("create", "leases", func(k8stesting.Action) (bool, runtime.Object, error) {
			cancel() // SIGTERM as the Lease becomes ours
			return false, nil, nil
		})
		ship := newLeadership(prometheus.NewRegistry())
		ships = append(ships, ship)
		var returned atomic.Bool
		var running atomic.Int32
		err := runLeading(ctx, election("a"), client, ship, slog.New(slog.DiscardHandler), func(ctx context.Context) error {
			if returned.Load() {
				afterReturn.Add(1)
			}
			running.Add(1)
			defer running.Add(-1)
			<-ctx.Done()
			return nil
		}, nil)
		returned.Store(true)
		require.NoError(t, err)
		require.Zero(t, running.Load(), "lead runs after serve returned")
		require.False(t, ship.Leading())
		require.Empty(t, holder(t, client), "serve stopped: the Lease is released")
	}
	// A callback client-go started late, in an earlier round, has run by
	// now: it led after its serve returned if a ship says it leads.
	for i, ship := range ships {
		require.False(t, ship.Leading(), "round %d leads after serve returned", i)
	}
	require.Zero(t, afterReturn.Load())
}

// heldStore is a tracker.Store whose writes wait until released, or fail
// while failing is set; it records when each incident landed.
type heldStore struct {
	tracker.Store
	release chan struct{}
	failing atomic.Bool
	asked   atomic.Int32
	mu      sync.Mutex
	landed  map[string]time.Time
}

func (s *heldStore) Save(ctx context.Context, inc chaos.Incident) error {
	s.asked.Add(1)
	if s.failing.Load() {
		return errors.New("connection refused")
	}
	select {
	case <-s.release:
	case <-ctx.Done():
		return ctx.Err()
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.landed[inc.ID] = time.Now()
	return nil
}

func (s *heldStore) landedAt(id string) (time.Time, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	at, ok := s.landed[id]
	return at, ok
}

// startWrites runs a write-behind queue on s until the test ends.
func startWrites(t *testing.T, s tracker.Store) *store.WriteBehind {
	t.Helper()
	writes := store.NewWriteBehind(s, slog.New(slog.DiscardHandler), nil)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); writes.Run(ctx, 0) }()
	t.Cleanup(func() { cancel(); <-done })
	return writes
}

// Issue 15 #1: a leader stopped gracefully releases the Lease only once its
// last writes (the incidents its tracker closed as the watch stopped) are
// in the store: the next leader starts from them.
func TestTheLeaseIsReleasedOnlyOnceTheLastWritesLanded(t *testing.T) {
	client := fake.NewClientset()
	db := &heldStore{release: make(chan struct{}), landed: map[string]time.Time{}}
	writes := startWrites(t, db)
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	leading := make(chan struct{})
	go func() {
		done <- runLeading(ctx, election("a"), client, newLeadership(prometheus.NewRegistry()), slog.New(slog.DiscardHandler),
			flushingLead(writes, 10*time.Second, func(ctx context.Context) error {
				close(leading)
				<-ctx.Done()
				return writes.Save(ctx, chaos.Incident{ID: "last"}) // the watch stopping closes it
			}), nil)
	}()
	<-leading
	bClient := &leaseReads{Interface: client}
	b := runCandidate(t, bClient, election("b"))
	cancel()
	waitfor.True(t, 10*time.Second, "the last incident to be written", func() bool { return db.asked.Load() > 0 })
	// b tries twice more, a retry period apart: a released Lease it takes.
	reads := len(bClient.times())
	waitfor.True(t, 10*time.Second, "b to try again", func() bool { return len(bClient.times()) >= reads+2 || b.leading.Load() })
	require.Equal(t, "a", holder(t, client), "the Lease was released before the last write landed")
	require.False(t, b.leading.Load())

	close(db.release)
	require.NoError(t, <-done)
	waitfor.True(t, 10*time.Second, "b to lead", b.leading.Load)
	landed, ok := db.landedAt("last")
	require.True(t, ok)
	bStarted, _ := b.times()
	require.True(t, landed.Before(bStarted), "b led before a's last write landed")
}

func TestALeaderWhoseLastWritesFailLeavesTheLeaseToExpire(t *testing.T) {
	client := fake.NewClientset()
	db := &heldStore{release: make(chan struct{}), landed: map[string]time.Time{}}
	db.failing.Store(true)
	writes := startWrites(t, db)
	ctx, cancel := context.WithCancel(t.Context())
	leading := make(chan struct{})
	done := make(chan error, 1)
	go func() {
		done <- runLeading(ctx, election("a"), client, newLeadership(prometheus.NewRegistry()), slog.New(slog.DiscardHandler),
			flushingLead(writes, 300*time.Millisecond, func(ctx context.Context) error {
				close(leading)
				<-ctx.Done()
				return writes.Save(ctx, chaos.Incident{ID: "last"})
			}), nil)
	}()
	<-leading
	cancel()
	err := <-done
	require.ErrorIs(t, err, errUnflushed)
	require.ErrorContains(t, err, "connection refused")
	require.Equal(t, "a", holder(t, client), "released with writes not in the store")
}

// refuseRenewals makes the Lease's renewals fail once refuse is set, and
// counts its releases (an update clearing the holder), which go through.
func refuseRenewals(client *fake.Clientset) (refuse *atomic.Bool, releases *atomic.Int32) {
	refuse, releases = new(atomic.Bool), new(atomic.Int32)
	client.PrependReactor("update", "leases", func(a k8stesting.Action) (bool, runtime.Object, error) {
		l, _ := a.(k8stesting.UpdateAction).GetObject().(*coordv1.Lease)
		if l != nil && (l.Spec.HolderIdentity == nil || *l.Spec.HolderIdentity == "") {
			releases.Add(1)
			return false, nil, nil
		}
		if refuse.Load() {
			return true, nil, errors.New("etcdserver: request timed out")
		}
		return false, nil, nil
	})
	return refuse, releases
}

// Review finding 4 (issue 15): the Lease lost while lead still winds down
// (the watch stopping closes incidents): what it queues then is dropped at
// once, the queue's writer running, not once lead returned.
func TestALostLeaseDropsTheWritesLeadQueuesWhileItWindsDown(t *testing.T) {
	client := fake.NewClientset()
	refuse, _ := refuseRenewals(client)
	db := &heldStore{release: make(chan struct{}), landed: map[string]time.Time{}}
	close(db.release) // the store writes at once
	writes := startWrites(t, db)
	leading, windDown := make(chan struct{}), make(chan struct{})
	flushed, done := make(chan error, 1), make(chan error, 1)
	go func() {
		done <- runLeading(t.Context(), election("a"), client, newLeadership(prometheus.NewRegistry()),
			slog.New(slog.DiscardHandler), func(ctx context.Context) error {
				close(leading)
				<-ctx.Done()
				_ = writes.Save(context.Background(), chaos.Incident{ID: "after-loss"})
				flushCtx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
				defer cancel()
				flushed <- writes.Flush(flushCtx) // written, or dropped
				<-windDown
				return nil
			}, func() { writes.Discard() })
	}()
	<-leading
	refuse.Store(true)
	require.NoError(t, <-flushed)
	_, landed := db.landedAt("after-loss")
	require.False(t, landed, "a write queued after the Lease was lost landed while lead wound down")
	close(windDown)
	require.ErrorIs(t, <-done, errLostLease)
}

// Review finding 7 (issue 15): serve stopping flushes its last writes for
// up to writesGrace while it still renews the Lease; the Lease lost
// meanwhile ends the flush (what is left is dropped) and is not released:
// the flush is bounded by the Lease, not by the grace alone.
func TestALeaseLostWhileTheLastWritesFlushEndsTheFlush(t *testing.T) {
	client := fake.NewClientset()
	refuse, releases := refuseRenewals(client)
	db := &heldStore{release: make(chan struct{}), landed: map[string]time.Time{}} // the store hangs
	writes := startWrites(t, db)
	ctx, cancel := context.WithCancel(t.Context())
	leading := make(chan struct{})
	done := make(chan error, 1)
	go func() {
		done <- runLeading(ctx, election("a"), client, newLeadership(prometheus.NewRegistry()), slog.New(slog.DiscardHandler),
			flushingLead(writes, time.Minute, func(ctx context.Context) error {
				close(leading)
				<-ctx.Done()
				return writes.Save(ctx, chaos.Incident{ID: "last"})
			}), func() { writes.Discard() })
	}()
	<-leading
	cancel()
	waitfor.True(t, 10*time.Second, "the last write to be under way", func() bool { return db.asked.Load() > 0 })
	require.Equal(t, "a", holder(t, client), "released before the last write landed")
	refuse.Store(true)
	select {
	case err := <-done:
		require.ErrorIs(t, err, errLostLease)
	case <-time.After(10 * time.Second):
		t.Fatal("the flush went on for 10s after the Lease was lost (lease of 1s)")
	}
	require.Zero(t, releases.Load(), "the Lease was released though lost")
	require.Equal(t, "a", holder(t, client), "the Lease expires rather than being released")
}
