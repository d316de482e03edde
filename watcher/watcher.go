// Package watcher observes chaos in a Kubernetes cluster with client-go
// shared informers (pods, nodes, HorizontalPodAutoscalers, Deployments,
// StatefulSets) and hands what it sees, as domain states, to the incident
// tracker. It sees the effect of a fault whoever caused it.
package watcher

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/cache"

	"github.com/steadywatch/steadywatch/chaos"
	"github.com/steadywatch/steadywatch/tracker"
)

// Sink receives the watched states; *tracker.Tracker implements it.
type Sink interface {
	PodChanged(p tracker.Pod)
	PodGone(p tracker.Pod, missed bool)
	WorkloadChanged(w tracker.Workload, settled bool)
	WorkloadGone(ref chaos.Ref)
	NodeChanged(n tracker.Node)
	NodeGone(name string)
	HPAChanged(h tracker.HPA)
	HPAGone(ref chaos.Ref)
	Reconcile()
}

// Options configure a Watcher.
type Options struct {
	Client kubernetes.Interface
	// Address names the API server in errors and logs.
	Address  string
	Sink     Sink
	Subjects Subjects
	// Namespaces restricts pods, workloads and HPAs; empty means all.
	Namespaces []string
	// Selector restricts pods; NodeSelector restricts nodes. Workloads and
	// HPAs are always watched whole within the namespaces, since their own
	// labels often lack what their pod templates carry.
	Selector     labels.Selector
	NodeSelector labels.Selector
	Resync       time.Duration
	Logger       *slog.Logger
	// Now defaults to time.Now; the observation time of every state.
	Now func() time.Time
	// OnWatchError, if set, is told about every broken list or watch that
	// client-go's reflector reports (it retries a refused watch without
	// reporting it: Health sees those).
	OnWatchError func(resource string, err error)
	// Health, if set, follows the watches on the wire (its WrapTransport
	// must wrap Client's transport); it logs each outage once, so the
	// reflector's errors are then logged at debug level only, and it dates
	// the deletions a relist finds.
	Health *Health
	// OnSynced, if set, runs once each Run has listed everything and the
	// sink reconciled it, before Synced reports true. serve collects the
	// first list's garbage there.
	OnSynced func()
}

// Resources names the watched resources, as in the synced metric.
var Resources = chaos.WatchedResources

// Watcher runs the informers.
type Watcher struct {
	opts   Options
	log    *slog.Logger
	synced atomic.Bool
	// listed is set with synced and never cleared: the sink has seen the
	// whole cluster once.
	listed atomic.Bool
	// resourceSynced holds, per resource, whether all its informers synced.
	mu             sync.Mutex
	resourceSynced map[string]bool
	workloads      *workloadIndex
}

// New validates the options and returns a Watcher that has not started.
func New(o Options) (*Watcher, error) {
	if o.Client == nil {
		return nil, errors.New("watcher: no Kubernetes client")
	}
	if o.Sink == nil {
		return nil, errors.New("watcher: no sink")
	}
	if o.Selector == nil {
		o.Selector = labels.Everything()
	}
	if o.NodeSelector == nil {
		o.NodeSelector = labels.Everything()
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Subjects.ServiceLabel == "" || o.Subjects.GroupLabel == "" {
		return nil, errors.New("watcher: service and group label keys must be set")
	}
	return &Watcher{
		opts:           o,
		log:            o.Logger,
		resourceSynced: map[string]bool{},
		workloads:      newWorkloadIndex(),
	}, nil
}

// Synced reports whether every informer has listed and the first list was
// reconciled with what was known before.
func (w *Watcher) Synced() bool { return w.synced.Load() }

// ListedOnce reports whether every informer has listed and been reconciled
// at least once: unlike Synced, it stays true once the watcher stops, so
// whoever saves the sink's state at shutdown knows it covers the cluster.
func (w *Watcher) ListedOnce() bool { return w.listed.Load() }

// ResourcesSynced reports, per resource, whether its informers have synced.
func (w *Watcher) ResourcesSynced() map[string]bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	out := make(map[string]bool, len(Resources))
	for _, r := range Resources {
		out[r] = w.resourceSynced[r]
	}
	return out
}

// WaitForAPI blocks until the API server answers, retrying with capped
// exponential backoff, so a watcher started before its cluster is reachable
// says clearly what it is waiting for instead of failing.
func (w *Watcher) WaitForAPI(ctx context.Context) error {
	backoff := 500 * time.Millisecond
	for attempt := 1; ; attempt++ {
		v, err := w.opts.Client.Discovery().ServerVersion()
		if err == nil {
			w.log.Info("connected to the Kubernetes API", "address", w.opts.Address, "version", v.GitVersion)
			return nil
		}
		w.log.Error("Kubernetes API unreachable; retrying", "address", w.opts.Address,
			"attempt", attempt, "retry_in", backoff, "err", err)
		select {
		case <-ctx.Done():
			return fmt.Errorf("kubernetes API at %s unreachable: %w", w.opts.Address, err)
		case <-time.After(backoff):
		}
		backoff = min(backoff*2, 30*time.Second)
	}
}

type informerSet struct {
	resource string
	inf      cache.SharedIndexInformer
	// handled is the handler's registration: it has synced once the
	// handler, not just the informer's store, has seen the first list.
	handled cache.ResourceEventHandlerRegistration
}

// Run starts the informers and blocks until ctx ends. It returns an error
// only if the informers could not be set up; client-go retries a cluster
// that stops answering, with backoff, for as long as ctx lasts. Call
// WaitForAPI first to wait for a cluster that was never reachable.
func (w *Watcher) Run(ctx context.Context) error {
	var sets []informerSet
	namespaces := w.opts.Namespaces
	if len(namespaces) == 0 {
		namespaces = []string{""}
	}
	var factories []informers.SharedInformerFactory
	for _, ns := range namespaces {
		podFactory := informers.NewSharedInformerFactoryWithOptions(w.opts.Client, w.opts.Resync,
			informers.WithNamespace(ns),
			informers.WithTweakListOptions(func(lo *metav1.ListOptions) { lo.LabelSelector = w.opts.Selector.String() }))
		wlFactory := informers.NewSharedInformerFactoryWithOptions(w.opts.Client, w.opts.Resync, informers.WithNamespace(ns))
		factories = append(factories, podFactory, wlFactory)

		for _, s := range []struct {
			resource  string
			inf       cache.SharedIndexInformer
			transform cache.TransformFunc
			handler   cache.ResourceEventHandler
		}{
			{"pods", podFactory.Core().V1().Pods().Informer(), w.transformPod, w.podHandler()},
			{"deployments", wlFactory.Apps().V1().Deployments().Informer(), transformDeployment, w.deploymentHandler()},
			{"statefulsets", wlFactory.Apps().V1().StatefulSets().Informer(), transformStatefulSet, w.statefulSetHandler()},
			{"daemonsets", wlFactory.Apps().V1().DaemonSets().Informer(), transformDaemonSet, w.daemonSetHandler()},
			{"horizontalpodautoscalers", wlFactory.Autoscaling().V2().HorizontalPodAutoscalers().Informer(), transformHPA, w.hpaHandler()},
		} {
			set, err := w.setup(s.resource, s.inf, s.transform, s.handler)
			if err != nil {
				return err
			}
			sets = append(sets, set)
		}
	}
	nodeFactory := informers.NewSharedInformerFactoryWithOptions(w.opts.Client, w.opts.Resync,
		informers.WithTweakListOptions(func(lo *metav1.ListOptions) { lo.LabelSelector = w.opts.NodeSelector.String() }))
	factories = append(factories, nodeFactory)
	nodes, err := w.setup("nodes", nodeFactory.Core().V1().Nodes().Informer(), transformNode, w.nodeHandler())
	if err != nil {
		return err
	}
	sets = append(sets, nodes)
	for _, s := range sets {
		resource := s.resource
		if err := s.inf.SetWatchErrorHandlerWithContext(func(_ context.Context, _ *cache.Reflector, err error) {
			level := slog.LevelWarn
			if w.opts.Health != nil {
				level = slog.LevelDebug
			}
			w.log.Log(ctx, level, "list/watch failed; client-go retries with backoff", "resource", resource, "address", w.opts.Address, "err", err)
			if w.opts.OnWatchError != nil {
				w.opts.OnWatchError(resource, err)
			}
		}); err != nil {
			return fmt.Errorf("watcher: %s: %w", resource, err)
		}
	}

	for _, f := range factories {
		f.Start(ctx.Done())
	}
	defer func() {
		for _, f := range factories {
			f.Shutdown()
		}
	}()
	if !w.waitSynced(ctx, sets) {
		// Stopped before every informer listed: reconciling now would take
		// whatever was not listed yet for deleted.
		return nil
	}
	w.opts.Sink.Reconcile()
	if w.opts.OnSynced != nil {
		w.opts.OnSynced()
	}
	w.listed.Store(true)
	w.synced.Store(true)
	w.log.Info("informers synced; watching", "namespaces", w.opts.Namespaces)
	<-ctx.Done()
	w.synced.Store(false)
	return nil
}

// waitSynced reports whether every informer synced before ctx ended.
func (w *Watcher) waitSynced(ctx context.Context, sets []informerSet) bool {
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for {
		all := true
		per := map[string]bool{}
		for _, s := range sets {
			ok := s.handled.HasSynced()
			if prev, seen := per[s.resource]; seen {
				ok = ok && prev
			}
			per[s.resource] = ok
			all = all && ok
		}
		w.mu.Lock()
		w.resourceSynced = per
		w.mu.Unlock()
		if all {
			return true
		}
		select {
		case <-ctx.Done():
			return false
		case <-tick.C:
		}
	}
}

func (w *Watcher) setup(resource string, inf cache.SharedIndexInformer, transform cache.TransformFunc, h cache.ResourceEventHandler) (informerSet, error) {
	if err := inf.SetTransform(transform); err != nil {
		return informerSet{}, fmt.Errorf("watcher: %s: setting transform: %w", resource, err)
	}
	reg, err := inf.AddEventHandler(h)
	if err != nil {
		return informerSet{}, fmt.Errorf("watcher: %s: adding handler: %w", resource, err)
	}
	return informerSet{resource: resource, inf: inf, handled: reg}, nil
}

// tombstone unwraps what a DeleteFunc receives: the object, and whether the
// deletion was inferred from a relist rather than seen.
func tombstone(obj any) (any, bool) {
	if t, ok := obj.(cache.DeletedFinalStateUnknown); ok {
		return t.Obj, true
	}
	return obj, false
}
