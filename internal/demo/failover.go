package demo

import (
	"context"
	"fmt"
	"log/slog"
	"sort"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/cache"

	"github.com/steadywatch/steadywatch/pipelinesim"
)

// componentClone is the role of a Postgres pod that is copying the
// primary's data (pg_basebackup): it does not serve yet (not Ready).
const componentClone = "clone"

// failover is the demo's stand-in for a Postgres HA operator (Patroni,
// the Bitnami chart's repmgr): in each group it keeps one serving
// primary. When the primary stops serving — its pod deleted or NotReady,
// or its node NotReady — it promotes the serving replica with the lowest
// ordinal, and labels the old primary's pod a clone if it is still there:
// fenced, it comes back as a new clone. A pod the StatefulSet creates
// starts as a clone (its template's label), Running but not Ready, and
// becomes a Ready replica once it has run for cloneTime (its base backup).
//
// It promotes at once: a real operator waits its leader TTL (Patroni: 30 s)
// before it does, which the demo leaves out.
type failover struct {
	c     kubernetes.Interface
	log   *slog.Logger
	pods  cache.SharedIndexInformer
	nodes cache.SharedIndexInformer
	kick  chan struct{}
	// labelled holds the role the failover gave a pod (by UID) until the
	// informer's cache shows it: a reconcile before then must not act on
	// the old role again.
	labelled map[types.UID]string
	// cloneStarted is when each clone was first seen running (its base backup started).
	cloneStarted map[types.UID]time.Time
	cloneTime    time.Duration
	now          func() time.Time
	mu           sync.Mutex
	events       []string // what it did, for the demo's output
}

func newFailover(c kubernetes.Interface, log *slog.Logger, cloneTime time.Duration) *failover {
	f := informers.NewSharedInformerFactoryWithOptions(c, 0, informers.WithNamespace(Namespace))
	fo := &failover{
		c: c, log: log, pods: f.Core().V1().Pods().Informer(), nodes: f.Core().V1().Nodes().Informer(), kick: make(chan struct{}, 1),
		labelled: map[types.UID]string{}, cloneStarted: map[types.UID]time.Time{}, cloneTime: cloneTime, now: time.Now,
	}
	h := cache.ResourceEventHandlerFuncs{
		AddFunc:    func(any) { fo.poke() },
		UpdateFunc: func(any, any) { fo.poke() },
		DeleteFunc: func(any) { fo.poke() },
	}
	_, _ = fo.pods.AddEventHandler(h)
	_, _ = fo.nodes.AddEventHandler(h)
	return fo
}

func (f *failover) poke() {
	select {
	case f.kick <- struct{}{}:
	default:
	}
}

// run reconciles until ctx is done.
func (f *failover) run(ctx context.Context) {
	go f.pods.Run(ctx.Done())
	go f.nodes.Run(ctx.Done())
	if !cache.WaitForCacheSync(ctx.Done(), f.pods.HasSynced, f.nodes.HasSynced) {
		return
	}
	for {
		select {
		case <-ctx.Done():
			return
		case <-f.kick:
			if err := f.reconcile(ctx); err != nil && ctx.Err() == nil {
				f.log.Warn("postgres failover", "err", err)
				f.poke()
			}
		}
	}
}

// did returns what the failover did since its n-th promotion, one line
// per promotion, and how many it made in all.
func (f *failover) did(n int) ([]string, int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.events[min(n, len(f.events)):]...), len(f.events)
}

func (f *failover) serving(p *corev1.Pod) bool {
	return podReady(p) && f.up(p)
}

// up is whether p runs on a node that is Ready.
func (f *failover) up(p *corev1.Pod) bool {
	if !running(p) || p.Spec.NodeName == "" {
		return false
	}
	obj, ok, err := f.nodes.GetStore().GetByKey(p.Spec.NodeName)
	if err != nil || !ok {
		return true // an unknown node: trust the pod
	}
	for _, c := range obj.(*corev1.Node).Status.Conditions {
		if c.Type == corev1.NodeReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

func (f *failover) reconcile(ctx context.Context) error {
	sel := labels.SelectorFromSet(labels.Set{serviceLabel: postgresService})
	byGroup := map[string][]*corev1.Pod{}
	for _, obj := range f.pods.GetStore().List() {
		p := obj.(*corev1.Pod)
		if sel.Matches(labels.Set(p.Labels)) {
			byGroup[p.Labels[pipelinesim.GroupLabel]] = append(byGroup[p.Labels[pipelinesim.GroupLabel]], p)
		}
	}
	for group, pods := range byGroup {
		if err := f.reconcileGroup(ctx, group, pods); err != nil {
			return err
		}
	}
	return nil
}

// reconcileGroup keeps one serving primary in the group, and makes each
// clone that has run for cloneTime (its base backup) a replica, Ready.
func (f *failover) reconcileGroup(ctx context.Context, group string, pods []*corev1.Pod) error {
	sort.Slice(pods, func(i, j int) bool { return pods[i].Name < pods[j].Name })
	roles := make([]string, len(pods))
	anyPrimary := false
	for i, p := range pods {
		roles[i] = p.Labels[pipelinesim.ComponentLabel]
		if want, ok := f.labelled[p.UID]; ok {
			if roles[i] == want {
				delete(f.labelled, p.UID) // the cache has caught up
			}
			roles[i] = want
		}
		anyPrimary = anyPrimary || roles[i] == pipelinesim.ComponentPrimary
	}
	var primaries []*corev1.Pod
	var replica, clone *corev1.Pod
	servingPrimary := false
	for i, p := range pods {
		serving := f.serving(p)
		switch roles[i] {
		case pipelinesim.ComponentPrimary:
			primaries = append(primaries, p)
			servingPrimary = servingPrimary || serving
		case pipelinesim.ComponentReplica:
			if replica == nil && serving {
				replica = p
			}
		case componentClone:
			// A clone copies the primary's data while it runs, not Ready
			// (the readiness probe fails) until cloneTime has passed.
			if !f.up(p) {
				delete(f.cloneStarted, p.UID)
				continue
			}
			since, ok := f.cloneStarted[p.UID]
			if !ok {
				since = f.now()
				f.cloneStarted[p.UID] = since
			}
			if clone == nil {
				clone = p
			}
			if wait := since.Add(f.cloneTime).Sub(f.now()); wait > 0 {
				if podReady(p) { // a fenced primary: it serves no more
					if err := setReady(ctx, f.c, p.Name, false); err != nil {
						return fmt.Errorf("marking %s not ready: %w", p.Name, err)
					}
				}
				time.AfterFunc(wait, f.poke)
				continue
			}
			if !anyPrimary {
				continue // initdb: the promotion below makes one the primary
			}
			if err := f.label(ctx, p, pipelinesim.ComponentReplica); err != nil {
				return err
			}
			if err := setReady(ctx, f.c, p.Name, true); err != nil {
				return fmt.Errorf("marking %s ready: %w", p.Name, err)
			}
			f.note("%s: %s cloned from the primary, replicating", group, p.Name)
		}
	}
	if servingPrimary {
		return nil
	}
	// No serving primary: promote the serving replica; with none (the
	// group's first start), the first serving clone (initdb).
	candidate := replica
	if candidate == nil && len(primaries) == 0 {
		candidate = clone
	}
	if candidate == nil {
		return nil
	}
	// Fence the old primary first: two primaries never serve at once.
	for _, p := range primaries {
		if p.DeletionTimestamp == nil {
			if err := f.label(ctx, p, componentClone); err != nil {
				return err
			}
		}
	}
	if err := f.label(ctx, candidate, pipelinesim.ComponentPrimary); err != nil {
		return err
	}
	if !podReady(candidate) {
		if err := setReady(ctx, f.c, candidate.Name, true); err != nil {
			return fmt.Errorf("marking %s ready: %w", candidate.Name, err)
		}
	}
	f.note("%s: %s promoted to primary", group, candidate.Name)
	return nil
}

// label sets a Postgres pod's role.
func (f *failover) label(ctx context.Context, p *corev1.Pod, role string) error {
	if err := setLabel(ctx, f.c, p.Name, pipelinesim.ComponentLabel, role); err != nil {
		return fmt.Errorf("labelling %s %s: %w", p.Name, role, err)
	}
	f.labelled[p.UID] = role
	return nil
}

func (f *failover) note(format string, a ...any) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.events = append(f.events, fmt.Sprintf(format, a...))
}
