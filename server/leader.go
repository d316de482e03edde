package server

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/leaderelection"
	"k8s.io/client-go/tools/leaderelection/resourcelock"

	"github.com/steadywatch/steadywatch/config"
	"github.com/steadywatch/steadywatch/contract"
	"github.com/steadywatch/steadywatch/internal/contractprom"
)

// serviceAccountNamespace is where a pod finds its namespace.
const serviceAccountNamespace = "/var/run/secrets/kubernetes.io/serviceaccount/namespace"

// errLostLease ends serve when it stops leading: what it built while it
// led (the tracker's open incidents, the verdict loop's state) is stale,
// and a restart rejoins as a follower with none of it.
var errLostLease = errors.New("lost the leader lease; exiting so that a restart rejoins as a follower")

// errLeadEnded ends serve when what the leader runs stopped, with no
// error, before serve was asked to stop: the Lease was held all along.
var errLeadEnded = errors.New("the leader's parts stopped on their own before serve was asked to stop")

// leadership is whether this serve leads, for /readyz and the metric.
type leadership struct {
	gauge   prometheus.Gauge
	leading atomic.Bool
	// leaderID is the Lease's holder last seen ("" until one is).
	leaderID atomic.Value
}

func (l *leadership) setLeader(id string) { l.leaderID.Store(id) }

// leader is the Lease's holder last seen, "" if none was.
func (l *leadership) leader() string {
	id, _ := l.leaderID.Load().(string)
	return id
}

func newLeadership(reg prometheus.Registerer) *leadership {
	return &leadership{gauge: contractprom.Gauge(promauto.With(reg), contract.Leader)}
}

func (l *leadership) set(leading bool) {
	l.leading.Store(leading)
	if leading {
		l.gauge.Set(1)
	} else {
		l.gauge.Set(0)
	}
}

// Leading reports whether this serve leads.
func (l *leadership) Leading() bool { return l.leading.Load() }

// lead runs the parts only the leader runs, until ctx ends or one fails.
// When ctx ends because the Lease was lost, lostLease(ctx) says so: another
// replica may lead by then, and lead writes nothing more.
type leadFunc func(ctx context.Context) error

// lostLease reports whether ctx, lead's, ended because the Lease was lost.
func lostLease(ctx context.Context) bool {
	return errors.Is(context.Cause(ctx), errLostLease)
}

// runLeading runs lead at once when the election is off, else while this
// serve holds the Lease: it returns when ctx ends (lead stopped first, then
// the Lease released, so the next leader starts after this one stopped
// writing), or errLostLease when the Lease is lost while ctx lives (lead
// stopped, the Lease left to expire), or lead's error.
//
// onLost, if not nil, is called once as the Lease is lost while lead runs,
// before lead is told: it drops what lead queued and has not written.
func runLeading(ctx context.Context, cfg config.LeaderElection, client kubernetes.Interface,
	ship *leadership, log *slog.Logger, lead leadFunc, onLost func(),
) error {
	if !cfg.Enabled {
		ship.set(true)
		err := lead(ctx)
		if err == nil && ctx.Err() == nil {
			return errLeadEnded
		}
		return err
	}
	ship.set(false)
	elector, err := newElector(cfg, client, ship, log, lead, onLost)
	if err != nil {
		return configError(err)
	}
	return elector.run(ctx)
}

type elector struct {
	le       *leaderelection.LeaderElector
	lock     *resourcelock.LeaseLock
	identity string
	// timeout bounds the release (renew_deadline, as client-go's).
	timeout time.Duration
	log     *slog.Logger
	// mu orders serve stopping against client-go starting the callback
	// (in a goroutine of its own, which may run after le.Run returned):
	// once stopping is set, a callback that starts leads nothing.
	mu                sync.Mutex
	stopping, leading bool
	// finished is closed once lead returned, with its error in leadErr.
	finished chan struct{}
	leadErr  error
	// lost is whether the Lease was lost while lead ran.
	lost bool
	// stopElect ends the election: client-go stops renewing, and releases
	// nothing (ReleaseOnCancel is false: it would release the Lease also
	// when a renewal failed, while lead still wrote).
	stopElect context.CancelFunc
	// ctx is serve's.
	ctx context.Context
}

func newElector(cfg config.LeaderElection, client kubernetes.Interface, ship *leadership,
	log *slog.Logger, lead leadFunc, onLost func(),
) (*elector, error) {
	ns, err := leaseNamespace(cfg.Namespace, serviceAccountNamespace)
	if err != nil {
		return nil, err
	}
	id := cfg.Identity
	if id == "" {
		if id, err = identity(); err != nil {
			return nil, fmt.Errorf("kubernetes.leader_election.identity: %w", err)
		}
	}
	e := &elector{
		identity: id, timeout: time.Duration(cfg.RenewDeadline), log: log,
		finished: make(chan struct{}),
	}
	e.lock = &resourcelock.LeaseLock{
		LeaseMeta:  metav1.ObjectMeta{Namespace: ns, Name: cfg.LeaseName},
		Client:     client.CoordinationV1(),
		LockConfig: resourcelock.ResourceLockConfig{Identity: id},
	}
	e.le, err = leaderelection.NewLeaderElector(leaderelection.LeaderElectionConfig{
		Lock:            cutLock{Interface: e.lock, timeout: cfg.RenewTimeout()},
		LeaseDuration:   time.Duration(cfg.LeaseDuration),
		RenewDeadline:   time.Duration(cfg.RenewDeadline),
		RetryPeriod:     time.Duration(cfg.RetryPeriod),
		ReleaseOnCancel: false, // released by hand, once lead stopped: see run
		Name:            "steadywatch",
		Callbacks: leaderelection.LeaderCallbacks{
			OnStartedLeading: func(ctx context.Context) {
				e.mu.Lock()
				if e.stopping {
					e.mu.Unlock()
					return // serve stopped as the Lease became ours: run releases it
				}
				e.leading = true
				e.mu.Unlock()
				defer close(e.finished)
				ship.set(true)
				log.Info("leading: watching, judging and delivering", "lease", ns+"/"+cfg.LeaseName, "identity", id)
				// ctx ends when the Lease is lost (renewals failed for
				// renew_deadline); serve's own context (e.ctx) ends it too.
				leadCtx, cancel := context.WithCancelCause(e.ctx)
				defer cancel(nil)
				// The Lease lost while lead runs (also while it stops, its
				// last writes flushing once serve was asked to stop): lead
				// is told, and onLost drops what it has not written yet at
				// once, before lead winds down: another replica may lead
				// once the Lease expires.
				var lostMu sync.Mutex
				leadDone, lost := false, false
				stopLost := context.AfterFunc(ctx, func() {
					lostMu.Lock()
					defer lostMu.Unlock()
					if leadDone {
						return // the election stopped because lead did
					}
					lost = true
					if onLost != nil {
						onLost()
					}
					cancel(errLostLease)
				})
				defer stopLost()
				e.leadErr = lead(leadCtx)
				lostMu.Lock()
				leadDone = true
				e.lost = lost
				lostMu.Unlock()
				// lead is over (ctx ended, or it failed): stop renewing.
				e.stopElect()
			},
			OnStoppedLeading: func() { ship.set(false) },
			OnNewLeader: func(leader string) {
				ship.setLeader(leader)
				if leader != id {
					log.Info("following", "leader", leader, "lease", ns+"/"+cfg.LeaseName, "identity", id)
				}
			},
		},
	})
	if err != nil {
		return nil, fmt.Errorf("kubernetes.leader_election: %w", err)
	}
	return e, nil
}

func (e *elector) run(ctx context.Context) error {
	// The election outlives ctx until lead has stopped: the Lease is
	// released only after this serve stopped writing.
	e.ctx = ctx
	electCtx, stopElect := context.WithCancel(context.WithoutCancel(ctx))
	e.stopElect = stopElect
	defer stopElect()
	stopWhenDone := context.AfterFunc(ctx, func() {
		e.mu.Lock()
		defer e.mu.Unlock()
		e.stopping = true
		if !e.leading {
			e.stopElect()
		} // else lead sees ctx end too and stops the election
	})
	defer stopWhenDone()
	e.le.Run(electCtx)
	e.mu.Lock()
	e.stopping = true
	leading := e.leading
	e.mu.Unlock()
	if !leading {
		if ctx.Err() == nil {
			// The Lease was acquired and lost before the callback ran.
			return errLostLease
		}
		// Never led: ctx ended, perhaps just as the Lease became ours.
		if e.le.IsLeader() {
			e.release()
		}
		return nil
	}
	<-e.finished
	if e.lost {
		// Another replica may lead once the Lease expires; releasing it
		// now would let one start while this serve's last writes land.
		return errors.Join(errLostLease, e.leadErr)
	}
	// client-go stopped renewing (le.Run returned): lead stopped and its
	// writes landed, the Lease is free for another replica.
	if !errors.Is(e.leadErr, errUnflushed) {
		e.release()
	}
	switch {
	case e.leadErr != nil || ctx.Err() != nil:
		return e.leadErr
	}
	return errLeadEnded
}

// release gives the Lease up if this serve still holds it, as client-go's
// ReleaseOnCancel does: the holder cleared, a lease of a second. The
// update carries the resourceVersion read: it fails if another replica
// took the Lease meanwhile.
func (e *elector) release() {
	ctx, cancel := context.WithTimeout(context.Background(), e.timeout)
	defer cancel()
	rec, _, err := e.lock.Get(ctx)
	if err != nil {
		e.log.Warn("releasing the Lease failed: it expires", "err", err)
		return
	}
	if rec.HolderIdentity != e.identity {
		return
	}
	now := metav1.NewTime(time.Now())
	err = e.lock.Update(ctx, resourcelock.LeaderElectionRecord{
		LeaderTransitions: rec.LeaderTransitions, LeaseDurationSeconds: 1, RenewTime: now, AcquireTime: now,
	})
	if err != nil {
		e.log.Warn("releasing the Lease failed: it expires", "err", err)
		return
	}
	e.log.Info("released the Lease")
}

// cutLock cuts a try at acquiring or renewing the Lease that is not
// through within timeout of the time client-go stamped in the record
// (RenewTime, taken as the try starts: its fast-path update, or its read
// then update). client-go counts a renewal from when it returns, a
// follower from the stamp: one returning late would let the leader lead
// on past the bound config checks (lease_duration covers timeout). A try
// cut is a failed one, even if the API server applied it: a follower then
// counts from later still.
type cutLock struct {
	resourcelock.Interface
	timeout time.Duration
}

func (l cutLock) Create(ctx context.Context, rec resourcelock.LeaderElectionRecord) error {
	ctx, cancel := context.WithDeadline(ctx, rec.RenewTime.Add(l.timeout))
	defer cancel()
	return l.Interface.Create(ctx, rec)
}

func (l cutLock) Update(ctx context.Context, rec resourcelock.LeaderElectionRecord) error {
	ctx, cancel := context.WithDeadline(ctx, rec.RenewTime.Add(l.timeout))
	defer cancel()
	return l.Interface.Update(ctx, rec)
}

// flusher is the queue lead's parts write through; *store.WriteBehind is
// one.
type flusher interface {
	Flush(ctx context.Context) error
}

// errUnflushed is lead's when what it queued could not all be written
// once it stopped: the Lease is then left to expire, not released, so the
// next leader starts as late as it would after a crash.
var errUnflushed = errors.New("the leader's last writes are not all in the store; the Lease is left to expire")

// flushingLead runs lead, then waits up to timeout for what it queued in
// writes to be written: the Lease is released (by runLeading) only once
// the next leader can read what this one recorded. A Lease lost is not
// waited for: another replica may lead by then.
func flushingLead(writes flusher, timeout time.Duration, lead leadFunc) leadFunc {
	return func(ctx context.Context) error {
		err := lead(ctx)
		if lostLease(ctx) {
			return err
		}
		flushCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), timeout)
		defer cancel()
		if ferr := writes.Flush(flushCtx); ferr != nil {
			return errors.Join(err, fmt.Errorf("%w: %w", errUnflushed, ferr))
		}
		return err
	}
}

// leaseNamespace is the configured namespace, else $POD_NAMESPACE, else the
// service account's, read from saFile (serviceAccountNamespace).
func leaseNamespace(configured, saFile string) (string, error) {
	if configured != "" {
		return configured, nil
	}
	if ns := os.Getenv("POD_NAMESPACE"); ns != "" {
		return ns, nil
	}
	data, err := os.ReadFile(saFile)
	if err == nil && strings.TrimSpace(string(data)) != "" {
		return strings.TrimSpace(string(data)), nil
	}
	return "", errors.New("kubernetes.leader_election.namespace: not set, $POD_NAMESPACE is empty and " +
		saFile + " cannot be read (not in a pod): set the namespace of the Lease")
}

// identity is the host name (a pod's name) and a random suffix: two
// processes on one host are two candidates.
func identity() (string, error) {
	host, err := os.Hostname()
	if err != nil {
		return "", err
	}
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	return host + "_" + hex.EncodeToString(b), nil
}
