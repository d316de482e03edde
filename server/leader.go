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
type leadFunc func(ctx context.Context) error

// runLeading runs lead at once when the election is off, else while this
// serve holds the Lease: it returns when ctx ends (lead stopped first, then
// the Lease released, so the next leader starts after this one stopped
// writing), or errLostLease when the Lease is lost while ctx lives, or
// lead's error.
func runLeading(ctx context.Context, cfg config.LeaderElection, client kubernetes.Interface,
	ship *leadership, log *slog.Logger, lead leadFunc,
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
	elector, err := newElector(cfg, client, ship, log, lead)
	if err != nil {
		return configError(err)
	}
	return elector.run(ctx)
}

type elector struct {
	le   *leaderelection.LeaderElector
	lock *resourcelock.LeaseLock
	log  *slog.Logger
	// started is closed once this serve starts leading, finished once
	// lead returned, with its error in leadErr.
	started, finished chan struct{}
	leadErr           error
	// lost is whether the Lease was lost while lead ran.
	lost bool
	// stopElect ends the election (releasing the Lease if held).
	stopElect context.CancelFunc
	// ctx is serve's.
	ctx context.Context
}

func newElector(cfg config.LeaderElection, client kubernetes.Interface, ship *leadership,
	log *slog.Logger, lead leadFunc,
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
	e := &elector{log: log, started: make(chan struct{}), finished: make(chan struct{})}
	e.lock = &resourcelock.LeaseLock{
		LeaseMeta:  metav1.ObjectMeta{Namespace: ns, Name: cfg.LeaseName},
		Client:     client.CoordinationV1(),
		LockConfig: resourcelock.ResourceLockConfig{Identity: id},
	}
	e.le, err = leaderelection.NewLeaderElector(leaderelection.LeaderElectionConfig{
		Lock:            e.lock,
		LeaseDuration:   time.Duration(cfg.LeaseDuration),
		RenewDeadline:   time.Duration(cfg.RenewDeadline),
		RetryPeriod:     time.Duration(cfg.RetryPeriod),
		ReleaseOnCancel: true,
		Name:            "steadywatch",
		Callbacks: leaderelection.LeaderCallbacks{
			OnStartedLeading: func(ctx context.Context) {
				defer close(e.finished)
				close(e.started)
				ship.set(true)
				log.Info("leading: watching, judging and delivering", "lease", ns+"/"+cfg.LeaseName, "identity", id)
				// ctx ends when the Lease is lost; serve's own context
				// (e.ctx) ends it too.
				leadCtx, cancel := context.WithCancel(ctx)
				defer cancel()
				defer context.AfterFunc(e.ctx, cancel)()
				e.leadErr = lead(leadCtx)
				// ctx ended before the election was stopped: the Lease was
				// lost.
				e.lost = ctx.Err() != nil && e.ctx.Err() == nil
				// lead is over (ctx ended, or it failed): stop renewing,
				// releasing the Lease for another replica.
				e.stopElect()
			},
			OnStoppedLeading: func() { ship.set(false) },
			OnNewLeader: func(leader string) {
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
		select {
		case <-e.started: // lead sees ctx end too (below) and stops the election
		default:
			e.stopElect()
		}
	})
	defer stopWhenDone()
	e.le.Run(electCtx)
	select {
	case <-e.started:
		<-e.finished
	default:
		return nil // never led: ctx ended
	}
	switch {
	case e.leadErr != nil || ctx.Err() != nil:
		return e.leadErr
	case e.lost:
		return errLostLease
	}
	return errLeadEnded
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
