package experiment

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/dynamic/dynamicinformer"
	"k8s.io/client-go/tools/cache"
)

// Resource is a chaos tool's resource the Watcher reads.
type Resource struct {
	schema.GroupVersionResource
	Kind string
}

// The Litmus resources, joined into experiments.
var (
	ChaosEngines = Resource{schema.GroupVersionResource{Group: "litmuschaos.io", Version: "v1alpha1", Resource: "chaosengines"}, "ChaosEngine"}
	ChaosResults = Resource{schema.GroupVersionResource{Group: "litmuschaos.io", Version: "v1alpha1", Resource: "chaosresults"}, "ChaosResult"}
)

// Resources lists every resource the Watcher reads when it is served.
var Resources = []Resource{
	ChaosEngines,
	ChaosResults,
	{schema.GroupVersionResource{Group: "chaos-mesh.org", Version: "v1alpha1", Resource: "podchaos"}, "PodChaos"},
	{schema.GroupVersionResource{Group: "chaos-mesh.org", Version: "v1alpha1", Resource: "networkchaos"}, "NetworkChaos"},
	{schema.GroupVersionResource{Group: "chaos-mesh.org", Version: "v1alpha1", Resource: "stresschaos"}, "StressChaos"},
	{schema.GroupVersionResource{Group: "chaos-mesh.org", Version: "v1alpha1", Resource: "iochaos"}, "IOChaos"},
	{schema.GroupVersionResource{Group: "chaos-mesh.org", Version: "v1alpha1", Resource: "timechaos"}, "TimeChaos"},
}

// Discovery is the part of discovery.DiscoveryInterface the Watcher uses.
type Discovery interface {
	ServerResourcesForGroupVersion(groupVersion string) (*metav1.APIResourceList, error)
}

// Options configure a Watcher.
type Options struct {
	Client    dynamic.Interface
	Discovery Discovery
	// Cluster is written into every Experiment.
	Cluster string
	// Namespaces restricts the watch to these namespaces (what namespaced
	// RBAC grants); empty means all, which needs cluster-wide list and
	// watch.
	Namespaces []string
	// OnChange receives an experiment once it has started, then each time
	// it changes. Calls are one at a time, in the order of the changes.
	OnChange func(Experiment)
	Logger   *slog.Logger
	Resync   time.Duration
	// Rediscover is how often the resources not served are looked for
	// again, so that a chaos tool installed later is watched; 3 minutes by
	// default.
	Rediscover time.Duration
}

// Watcher reads the chaos tools' objects with dynamic informers, for the
// resources the cluster serves.
type Watcher struct {
	opts        Options
	log         *slog.Logger
	discoveries atomic.Int64

	mu       sync.Mutex
	watching []Resource
	// stores are the informers' caches by resource and namespace ("" for
	// all).
	stores map[schema.GroupVersionResource]map[string]cache.Store
	// last is what OnChange was last told of each experiment, by Key.
	last map[string]Experiment
}

// New checks the options.
func New(o Options) (*Watcher, error) {
	if o.Client == nil || o.Discovery == nil {
		return nil, errors.New("experiment watcher: no Kubernetes client")
	}
	if o.OnChange == nil {
		return nil, errors.New("experiment watcher: no OnChange")
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Rediscover <= 0 {
		o.Rediscover = 3 * time.Minute
	}
	return &Watcher{
		opts: o, log: o.Logger,
		stores: map[schema.GroupVersionResource]map[string]cache.Store{}, last: map[string]Experiment{},
	}, nil
}

// Watching returns the resources watched so far.
func (w *Watcher) Watching() []Resource {
	w.mu.Lock()
	defer w.mu.Unlock()
	return slices.Clone(w.watching)
}

// Discoveries counts the completed looks for the resources served.
func (w *Watcher) Discoveries() int { return int(w.discoveries.Load()) }

// Run watches until ctx ends, looking again every Rediscover for the
// resources not served yet. A chaos tool not installed is no error: it is
// logged once, at info level.
func (w *Watcher) Run(ctx context.Context) error {
	namespaces := w.opts.Namespaces
	if len(namespaces) == 0 {
		namespaces = []string{metav1.NamespaceAll}
	}
	factories := map[string]dynamicinformer.DynamicSharedInformerFactory{}
	for _, ns := range namespaces {
		f := dynamicinformer.NewFilteredDynamicSharedInformerFactory(w.opts.Client, w.opts.Resync, ns, nil)
		defer f.Shutdown()
		factories[ns] = f
	}
	tick := time.NewTicker(w.opts.Rediscover)
	defer tick.Stop()
	first := true
	for {
		served, err := w.discover()
		if err != nil {
			w.log.Warn("looking for the chaos tools' resources failed; retrying", "retry_in", w.opts.Rediscover, "err", err)
		} else {
			w.discoveries.Add(1)
			if err := w.start(ctx, factories, served, first); err != nil {
				return err
			}
			first = false
		}
		if len(w.Watching()) == len(Resources) {
			break
		}
		select {
		case <-ctx.Done():
			return nil
		case <-tick.C:
		}
	}
	<-ctx.Done()
	return nil
}

// discover returns the resources the cluster serves.
func (w *Watcher) discover() ([]Resource, error) {
	lists := map[string]*metav1.APIResourceList{}
	var served []Resource
	for _, r := range Resources {
		gv := r.GroupVersion().String()
		list, seen := lists[gv]
		if !seen {
			var err error
			list, err = w.opts.Discovery.ServerResourcesForGroupVersion(gv)
			if apierrors.IsNotFound(err) {
				list, err = nil, nil
			}
			if err != nil {
				return nil, fmt.Errorf("%s: %w", gv, err)
			}
			lists[gv] = list
		}
		if list != nil && slices.ContainsFunc(list.APIResources, func(a metav1.APIResource) bool { return a.Name == r.Resource }) {
			served = append(served, r)
		}
	}
	return served, nil
}

func (w *Watcher) start(ctx context.Context, factories map[string]dynamicinformer.DynamicSharedInformerFactory, served []Resource, first bool) error {
	w.mu.Lock()
	var added []string
	for _, r := range served {
		if slices.Contains(w.watching, r) {
			continue
		}
		w.stores[r.GroupVersionResource] = map[string]cache.Store{}
		for ns, factory := range factories {
			inf := factory.ForResource(r.GroupVersionResource).Informer()
			if err := inf.SetTransform(strip); err != nil {
				w.mu.Unlock()
				return fmt.Errorf("experiment watcher: %s: %w", r.GroupVersionResource, err)
			}
			if _, err := inf.AddEventHandler(w.handler(r)); err != nil {
				w.mu.Unlock()
				return fmt.Errorf("experiment watcher: %s: %w", r.GroupVersionResource, err)
			}
			w.stores[r.GroupVersionResource][ns] = inf.GetStore()
		}
		w.watching = append(w.watching, r)
		added = append(added, r.Resource+"."+r.Group)
	}
	var missing []string
	for _, r := range Resources {
		if !slices.Contains(w.watching, r) {
			missing = append(missing, r.Resource+"."+r.Group)
		}
	}
	w.mu.Unlock()
	if len(added) > 0 {
		for _, factory := range factories {
			factory.Start(ctx.Done())
		}
		w.log.Info("watching chaos experiments", "resources", strings.Join(added, ","))
	}
	if first && len(missing) > 0 {
		w.log.Info("chaos tool resources not served; looking again later", "resources", strings.Join(missing, ","), "every", w.opts.Rediscover)
	}
	return nil
}

// strip drops what the informer's cache need not keep.
func strip(obj any) (any, error) {
	if u, ok := obj.(*unstructured.Unstructured); ok {
		u.SetManagedFields(nil)
		if a := u.GetAnnotations(); a["kubectl.kubernetes.io/last-applied-configuration"] != "" {
			delete(a, "kubectl.kubernetes.io/last-applied-configuration")
			u.SetAnnotations(a)
		}
	}
	return obj, nil
}

func (w *Watcher) handler(r Resource) cache.ResourceEventHandler {
	changed := func(obj any) {
		u, ok := obj.(*unstructured.Unstructured)
		if !ok {
			return
		}
		w.mu.Lock()
		defer w.mu.Unlock()
		switch r {
		case ChaosEngines:
			w.engineChanged(u.GetNamespace(), u.GetName())
		case ChaosResults:
			engine, _, _ := unstructured.NestedString(u.Object, "spec", "engine")
			if engine == "" {
				engine = w.engineNamed(u)
			}
			if engine != "" {
				w.engineChanged(u.GetNamespace(), engine)
			}
		default:
			x, err := FromChaosMesh(u)
			if err != nil {
				w.log.Warn("cannot read a chaos experiment", "err", err)
				return
			}
			w.emit(x)
		}
	}
	return cache.ResourceEventHandlerFuncs{
		AddFunc:    changed,
		UpdateFunc: func(_, obj any) { changed(obj) },
		DeleteFunc: func(obj any) {
			if t, ok := obj.(cache.DeletedFinalStateUnknown); ok {
				obj = t.Obj
			}
			u, ok := obj.(*unstructured.Unstructured)
			if !ok || r == ChaosResults {
				return
			}
			w.mu.Lock()
			defer w.mu.Unlock()
			for k, x := range w.last {
				if x.UID == string(u.GetUID()) && x.Namespace == u.GetNamespace() && x.Name == u.GetName() {
					delete(w.last, k)
				}
			}
		},
	}
}

// store is the cache of r that holds namespace's objects, nil if none
// does. It runs under w.mu.
func (w *Watcher) store(r Resource, namespace string) cache.Store {
	byNamespace := w.stores[r.GroupVersionResource]
	if s, ok := byNamespace[namespace]; ok {
		return s
	}
	return byNamespace[metav1.NamespaceAll]
}

// engineNamed finds, for a ChaosResult that names no engine, the engine
// whose name and experiment make up its name.
func (w *Watcher) engineNamed(result *unstructured.Unstructured) string {
	store := w.store(ChaosEngines, result.GetNamespace())
	if store == nil {
		return ""
	}
	for _, obj := range store.List() {
		e := obj.(*unstructured.Unstructured)
		if e.GetNamespace() == result.GetNamespace() && strings.HasPrefix(result.GetName(), e.GetName()+"-") {
			return e.GetName()
		}
	}
	return ""
}

// engineChanged reads an engine and its results again from the caches.
// It runs under w.mu, from the caches' latest state, so that a change
// of the engine and one of its result, handled by two informers at once,
// cannot be told out of order.
func (w *Watcher) engineChanged(namespace, name string) {
	engines := w.store(ChaosEngines, namespace)
	if engines == nil {
		return
	}
	obj, ok, err := engines.GetByKey(namespace + "/" + name)
	if err != nil || !ok {
		return
	}
	var results []*unstructured.Unstructured
	if store := w.store(ChaosResults, namespace); store != nil {
		if idx, ok := store.(cache.Indexer); ok {
			objs, err := idx.ByIndex(cache.NamespaceIndex, namespace)
			if err == nil {
				for _, o := range objs {
					results = append(results, o.(*unstructured.Unstructured))
				}
			}
		}
	}
	xs, err := FromLitmus(obj.(*unstructured.Unstructured), results)
	if err != nil {
		w.log.Warn("cannot read a chaos experiment", "err", err)
		return
	}
	for _, x := range xs {
		w.emit(x)
	}
}

// emit tells OnChange of a started experiment that changed. It runs
// under w.mu.
func (w *Watcher) emit(x Experiment) {
	if x.Start.IsZero() {
		return
	}
	x.Cluster = w.opts.Cluster
	k := x.Key()
	if prev, ok := w.last[k]; ok && prev.same(x) {
		return
	}
	w.last[k] = x
	w.opts.OnChange(x)
}
