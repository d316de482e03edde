package e2e

// The oracle is the ground truth the fault tests check steadywatch against:
// a plain watch of the API of the test's own, recording every change of the
// pods, nodes, Deployments, StatefulSets, DaemonSets, HPAs and core Events
// of one test namespace with the time this process received it, and
// answering from that history when a fault happened, when its workload was
// really back and which pods the controllers evicted. Like the checkers of
// Jepsen and the Kubernetes e2e framework's own watches, it shares no code
// with what it checks: it imports client-go and nothing of steadywatch (no
// watcher, no incident, not even the domain types).

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/kubernetes"
	watchtools "k8s.io/client-go/tools/watch"
)

// oracle is the history of one namespace (and of the nodes labelled
// pool=<pool>) as this test's own watches received it.
type oracle struct {
	mu      sync.Mutex
	records []record
	// changed is closed (and replaced) whenever a record is added.
	changed chan struct{}
	errs    []string
}

// record is one object state as received: at is the local receipt time.
type record struct {
	at      time.Time
	deleted bool
	obj     runtime.Object
}

// oracleSource is one resource the oracle lists and watches.
type oracleSource struct {
	name  string
	list  func(ctx context.Context, o metav1.ListOptions) (runtime.Object, error)
	watch func(ctx context.Context, o metav1.ListOptions) (watch.Interface, error)
}

// watchFunc adapts a watch function to client-go's RetryWatcher, which
// resumes from the last resource version after a broken watch.
type watchFunc func(ctx context.Context, o metav1.ListOptions) (watch.Interface, error)

func (f watchFunc) WatchWithContext(ctx context.Context, o metav1.ListOptions) (watch.Interface, error) {
	return f(ctx, o)
}

// startOracle lists and watches the namespace ns and the nodes labelled
// pool=<pool> until the test ends.
func startOracle(t *testing.T, c kubernetes.Interface, ns, pool string) *oracle {
	t.Helper()
	o := &oracle{changed: make(chan struct{})}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	t.Cleanup(func() {
		cancel()
		wg.Wait()
	})
	nodeSelector := "pool=" + pool
	sources := []oracleSource{
		{
			"pods",
			func(ctx context.Context, lo metav1.ListOptions) (runtime.Object, error) {
				return c.CoreV1().Pods(ns).List(ctx, lo)
			},
			func(ctx context.Context, lo metav1.ListOptions) (watch.Interface, error) {
				return c.CoreV1().Pods(ns).Watch(ctx, lo)
			},
		},
		{
			"nodes",
			func(ctx context.Context, lo metav1.ListOptions) (runtime.Object, error) {
				lo.LabelSelector = nodeSelector
				return c.CoreV1().Nodes().List(ctx, lo)
			},
			func(ctx context.Context, lo metav1.ListOptions) (watch.Interface, error) {
				lo.LabelSelector = nodeSelector
				return c.CoreV1().Nodes().Watch(ctx, lo)
			},
		},
		{
			"deployments",
			func(ctx context.Context, lo metav1.ListOptions) (runtime.Object, error) {
				return c.AppsV1().Deployments(ns).List(ctx, lo)
			},
			func(ctx context.Context, lo metav1.ListOptions) (watch.Interface, error) {
				return c.AppsV1().Deployments(ns).Watch(ctx, lo)
			},
		},
		{
			"statefulsets",
			func(ctx context.Context, lo metav1.ListOptions) (runtime.Object, error) {
				return c.AppsV1().StatefulSets(ns).List(ctx, lo)
			},
			func(ctx context.Context, lo metav1.ListOptions) (watch.Interface, error) {
				return c.AppsV1().StatefulSets(ns).Watch(ctx, lo)
			},
		},
		{
			"daemonsets",
			func(ctx context.Context, lo metav1.ListOptions) (runtime.Object, error) {
				return c.AppsV1().DaemonSets(ns).List(ctx, lo)
			},
			func(ctx context.Context, lo metav1.ListOptions) (watch.Interface, error) {
				return c.AppsV1().DaemonSets(ns).Watch(ctx, lo)
			},
		},
		{
			// What the controllers said they did: the taint eviction
			// controller's TaintManagerEviction on each pod it evicts.
			"events",
			func(ctx context.Context, lo metav1.ListOptions) (runtime.Object, error) {
				return c.CoreV1().Events(ns).List(ctx, lo)
			},
			func(ctx context.Context, lo metav1.ListOptions) (watch.Interface, error) {
				return c.CoreV1().Events(ns).Watch(ctx, lo)
			},
		},
		{
			"hpas",
			func(ctx context.Context, lo metav1.ListOptions) (runtime.Object, error) {
				return c.AutoscalingV2().HorizontalPodAutoscalers(ns).List(ctx, lo)
			},
			func(ctx context.Context, lo metav1.ListOptions) (watch.Interface, error) {
				return c.AutoscalingV2().HorizontalPodAutoscalers(ns).Watch(ctx, lo)
			},
		},
	}
	for _, s := range sources {
		list, err := s.list(t.Context(), metav1.ListOptions{})
		if err != nil {
			t.Fatalf("oracle: listing %s: %v", s.name, err)
		}
		at := time.Now()
		items, err := meta.ExtractList(list)
		if err != nil {
			t.Fatalf("oracle: %s: %v", s.name, err)
		}
		for _, it := range items {
			o.add(record{at: at, obj: it})
		}
		lm, err := meta.ListAccessor(list)
		if err != nil {
			t.Fatalf("oracle: %s: %v", s.name, err)
		}
		w, err := watchtools.NewRetryWatcherWithContext(ctx, lm.GetResourceVersion(), watchFunc(s.watch))
		if err != nil {
			t.Fatalf("oracle: watching %s: %v", s.name, err)
		}
		wg.Go(func() {
			defer w.Stop()
			for {
				select {
				case <-ctx.Done():
					return
				case ev, ok := <-w.ResultChan():
					if !ok {
						return
					}
					at := time.Now()
					switch ev.Type {
					case watch.Added, watch.Modified:
						o.add(record{at: at, obj: ev.Object})
					case watch.Deleted:
						o.add(record{at: at, obj: ev.Object, deleted: true})
					case watch.Error:
						o.fail(fmt.Sprintf("%s watch: %v", s.name, ev.Object))
					case watch.Bookmark:
					}
				}
			}
		})
	}
	return o
}

func (o *oracle) add(r record) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.records = append(o.records, r)
	close(o.changed)
	o.changed = make(chan struct{})
}

func (o *oracle) fail(msg string) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.errs = append(o.errs, msg)
}

// clusterState is the cluster as the oracle knew it after some record.
type clusterState struct {
	pods         map[types.UID]*corev1.Pod
	nodes        map[string]*corev1.Node
	deployments  map[string]*appsv1.Deployment
	statefulSets map[string]*appsv1.StatefulSet
	daemonSets   map[string]*appsv1.DaemonSet
	hpas         map[string]*autoscalingv2.HorizontalPodAutoscaler
}

func (s *clusterState) apply(r *record) {
	switch obj := r.obj.(type) {
	case *corev1.Pod:
		if r.deleted {
			delete(s.pods, obj.UID)
		} else {
			s.pods[obj.UID] = obj
		}
	case *corev1.Node:
		if r.deleted {
			delete(s.nodes, obj.Name)
		} else {
			s.nodes[obj.Name] = obj
		}
	case *appsv1.Deployment:
		if r.deleted {
			delete(s.deployments, obj.Name)
		} else {
			s.deployments[obj.Name] = obj
		}
	case *appsv1.StatefulSet:
		if r.deleted {
			delete(s.statefulSets, obj.Name)
		} else {
			s.statefulSets[obj.Name] = obj
		}
	case *appsv1.DaemonSet:
		if r.deleted {
			delete(s.daemonSets, obj.Name)
		} else {
			s.daemonSets[obj.Name] = obj
		}
	case *autoscalingv2.HorizontalPodAutoscaler:
		if r.deleted {
			delete(s.hpas, obj.Name)
		} else {
			s.hpas[obj.Name] = obj
		}
	}
}

// scan replays the history and returns the first record received at or
// after from after which cond holds, with the state it left.
func (o *oracle) scan(from time.Time, cond func(s *clusterState, r *record) bool) (record, *clusterState, bool) {
	o.mu.Lock()
	records := slices.Clip(o.records)
	o.mu.Unlock()
	s := &clusterState{
		pods:         map[types.UID]*corev1.Pod{},
		nodes:        map[string]*corev1.Node{},
		deployments:  map[string]*appsv1.Deployment{},
		statefulSets: map[string]*appsv1.StatefulSet{},
		daemonSets:   map[string]*appsv1.DaemonSet{},
		hpas:         map[string]*autoscalingv2.HorizontalPodAutoscaler{},
	}
	for i := range records {
		r := &records[i]
		s.apply(r)
		if !r.at.Before(from) && cond(s, r) {
			return *r, s, true
		}
	}
	return record{}, s, false
}

// await waits until scan finds a record, and fails the test with the
// oracle's view of the namespace if none comes within timeout.
func (o *oracle) await(t *testing.T, timeout time.Duration, what string, from time.Time,
	cond func(s *clusterState, r *record) bool,
) (record, *clusterState) {
	t.Helper()
	deadline := time.After(timeout)
	for {
		o.mu.Lock()
		changed := o.changed
		o.mu.Unlock()
		if r, s, ok := o.scan(from, cond); ok {
			return r, s
		}
		select {
		case <-changed:
		case <-deadline:
			_, s, _ := o.scan(time.Now().Add(time.Hour), func(*clusterState, *record) bool { return false })
			o.mu.Lock()
			errs := strings.Join(o.errs, "; ")
			o.mu.Unlock()
			t.Fatalf("oracle: %s: not within %s (watch errors: %q)\n%s", what, timeout, errs, s.describe())
		}
	}
}

// awaitNow waits until the cluster as the oracle last received it holds
// cond: unlike await, which looks for a record after a time that holds
// it, a state that holds it already returns at once.
func (o *oracle) awaitNow(t *testing.T, timeout time.Duration, what string, cond func(s *clusterState) bool) {
	t.Helper()
	now := func(*clusterState, *record) bool { return false }
	deadline := time.After(timeout)
	for {
		o.mu.Lock()
		changed := o.changed
		o.mu.Unlock()
		if _, s, _ := o.scan(time.Now().Add(time.Hour), now); cond(s) {
			return
		}
		select {
		case <-changed:
		case <-deadline:
			_, s, _ := o.scan(time.Now().Add(time.Hour), now)
			t.Fatalf("oracle: %s: not within %s\n%s", what, timeout, s.describe())
		}
	}
}

// quiet waits until the oracle has received no change of a pod for d:
// what the last fault set off is over.
func (o *oracle) quiet(t *testing.T, d time.Duration) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		o.mu.Lock()
		var last time.Time
		for _, r := range slices.Backward(o.records) {
			if _, ok := r.obj.(*corev1.Pod); ok {
				last = r.at
				break
			}
		}
		changed := o.changed
		o.mu.Unlock()
		left := time.Until(last.Add(d))
		if left <= 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("oracle: the pods never stayed unchanged for %s within 60s", d)
		}
		select {
		case <-changed:
		case <-time.After(left):
		}
	}
}

// evictions counts the pods on node the oracle saw leave the cluster
// between from and to, and how many of them the taint eviction controller
// said it evicted (a TaintManagerEviction event naming the pod, received
// from from on): two accounts of a node fault's evictions, from the pods
// and from the controller, neither of them steadywatch's. The controller's
// events name the pod but carry no UID, and a StatefulSet's replacement
// has the old pod's name: an event counts for the pods gone by that name.
func (o *oracle) evictions(node string, from, to time.Time) (deleted, evicted int) {
	o.mu.Lock()
	records := slices.Clip(o.records)
	o.mu.Unlock()
	gone := map[string]int{}
	for i := range records {
		r := &records[i]
		if p, ok := r.obj.(*corev1.Pod); ok && r.deleted && p.Spec.NodeName == node && !r.at.Before(from) && !r.at.After(to) {
			gone[p.Name]++
			deleted++
		}
	}
	said := map[string]bool{}
	for i := range records {
		r := &records[i]
		if ev, ok := r.obj.(*corev1.Event); ok && !r.at.Before(from) && ev.Reason == "TaintManagerEviction" &&
			ev.InvolvedObject.Kind == "Pod" && strings.HasPrefix(ev.Message, "Marking for deletion") && gone[ev.InvolvedObject.Name] > 0 {
			said[ev.InvolvedObject.Name] = true
		}
	}
	for name := range said {
		evicted += gone[name]
	}
	return deleted, evicted
}

// awaitEvictionEvents waits until the controller's events account for
// every pod evicted from node between from and to (events are recorded
// asynchronously, after the deletion may be seen), and returns both counts.
func (o *oracle) awaitEvictionEvents(node string, from, to time.Time, timeout time.Duration) (deleted, evicted int) {
	deadline := time.After(timeout)
	for {
		o.mu.Lock()
		changed := o.changed
		o.mu.Unlock()
		if deleted, evicted = o.evictions(node, from, to); evicted >= deleted {
			return deleted, evicted
		}
		select {
		case <-changed:
		case <-deadline:
			return deleted, evicted
		}
	}
}

// now is the state after every record received so far.
func (o *oracle) now() *clusterState {
	_, s, _ := o.scan(time.Now().Add(time.Hour), func(*clusterState, *record) bool { return false })
	return s
}

func (s *clusterState) describe() string {
	var b strings.Builder
	for _, p := range s.pods {
		ready, _ := podReady(p)
		fmt.Fprintf(&b, "pod %s (%s): phase %s, node %q, ready %t, terminating %t\n",
			p.Name, p.UID, p.Status.Phase, p.Spec.NodeName, ready, p.DeletionTimestamp != nil)
	}
	for _, n := range s.nodes {
		fmt.Fprintf(&b, "node %s: ready %t, unschedulable %t\n", n.Name, nodeIsReady(n), n.Spec.Unschedulable)
	}
	return b.String()
}

// history lists what the oracle received from from to to, one change a
// line, for a test that disagrees with steadywatch to show why.
func (o *oracle) history(from, to time.Time) string {
	o.mu.Lock()
	records := slices.Clip(o.records)
	o.mu.Unlock()
	var b strings.Builder
	for i := range records {
		r := &records[i]
		if r.at.Before(from) || r.at.After(to) {
			continue
		}
		fmt.Fprintf(&b, "%s ", r.at.UTC().Format("15:04:05.000"))
		if r.deleted {
			b.WriteString("deleted ")
		}
		switch obj := r.obj.(type) {
		case *corev1.Pod:
			ready, at := podReady(obj)
			fmt.Fprintf(&b, "pod %s (%s): %s on %q, ready %t since %s, terminating %t",
				obj.Name, obj.UID[:8], obj.Status.Phase, obj.Spec.NodeName, ready, at.UTC().Format("15:04:05"), obj.DeletionTimestamp != nil)
		case *corev1.Node:
			var taints []string
			for _, tn := range obj.Spec.Taints {
				taints = append(taints, tn.Key+":"+string(tn.Effect))
			}
			fmt.Fprintf(&b, "node %s: ready %t, taints %v", obj.Name, nodeIsReady(obj), taints)
		case *appsv1.Deployment:
			fmt.Fprintf(&b, "deployment %s: replicas %d, status ready %d available %d updated %d, generation %d observed %d",
				obj.Name, ptrValue(obj.Spec.Replicas), obj.Status.ReadyReplicas, obj.Status.AvailableReplicas,
				obj.Status.UpdatedReplicas, obj.Generation, obj.Status.ObservedGeneration)
		case *appsv1.StatefulSet:
			fmt.Fprintf(&b, "statefulset %s: replicas %d, status ready %d available %d, generation %d observed %d",
				obj.Name, ptrValue(obj.Spec.Replicas), obj.Status.ReadyReplicas, obj.Status.AvailableReplicas,
				obj.Generation, obj.Status.ObservedGeneration)
		case *appsv1.DaemonSet:
			fmt.Fprintf(&b, "daemonset %s: status desired %d ready %d, generation %d observed %d",
				obj.Name, obj.Status.DesiredNumberScheduled, obj.Status.NumberReady, obj.Generation, obj.Status.ObservedGeneration)
		case *autoscalingv2.HorizontalPodAutoscaler:
			fmt.Fprintf(&b, "hpa %s: desired %d current %d", obj.Name, obj.Status.DesiredReplicas, obj.Status.CurrentReplicas)
		case *corev1.Event:
			fmt.Fprintf(&b, "event %s %s/%s: %s", obj.Reason, obj.InvolvedObject.Kind, obj.InvolvedObject.Name, obj.Message)
		default:
			fmt.Fprintf(&b, "%T", obj)
		}
		b.WriteString("\n")
	}
	return b.String()
}

func ptrValue(p *int32) int32 {
	if p == nil {
		return -1
	}
	return *p
}

func nodeIsReady(n *corev1.Node) bool {
	for _, c := range n.Status.Conditions {
		if c.Type == corev1.NodeReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

// workloadRef names a Deployment, StatefulSet or DaemonSet of the
// oracle's namespace.
type workloadRef struct {
	Kind string // "Deployment", "StatefulSet" or "DaemonSet"
	Name string
}

// spec is the workload's pod selector and desired replicas.
func (s *clusterState) spec(w workloadRef) (labels.Selector, int32, bool) {
	var sel *metav1.LabelSelector
	var replicas *int32
	switch w.Kind {
	case "Deployment":
		d := s.deployments[w.Name]
		if d == nil {
			return nil, 0, false
		}
		sel, replicas = d.Spec.Selector, d.Spec.Replicas
	case "StatefulSet":
		ss := s.statefulSets[w.Name]
		if ss == nil {
			return nil, 0, false
		}
		sel, replicas = ss.Spec.Selector, ss.Spec.Replicas
	case "DaemonSet":
		// One pod on each node its pods select (they tolerate the
		// taints of this testbed's nodes): counted from the nodes, not
		// from the controller's status.
		ds := s.daemonSets[w.Name]
		if ds == nil {
			return nil, 0, false
		}
		sel = ds.Spec.Selector
		onNodes := labels.SelectorFromSet(ds.Spec.Template.Spec.NodeSelector)
		var n int32
		for _, node := range s.nodes {
			if onNodes.Matches(labels.Set(node.Labels)) {
				n++
			}
		}
		replicas = &n
	default:
		return nil, 0, false
	}
	selector, err := metav1.LabelSelectorAsSelector(sel)
	if err != nil {
		return nil, 0, false
	}
	desired := int32(1)
	if replicas != nil {
		desired = *replicas
	}
	return selector, desired, true
}

// pods are the workload's pods that are not terminating.
func (s *clusterState) podsOf(w workloadRef) []*corev1.Pod {
	selector, _, ok := s.spec(w)
	if !ok {
		return nil
	}
	var out []*corev1.Pod
	for _, p := range s.pods {
		if p.DeletionTimestamp == nil && selector.Matches(labels.Set(p.Labels)) {
			out = append(out, p)
		}
	}
	return out
}

// whole reports whether w has at least its desired ready pods and every
// pod it has (no terminating one) is Ready: every replacement is up.
func (s *clusterState) whole(w workloadRef) bool {
	_, desired, ok := s.spec(w)
	if !ok {
		return false
	}
	var ready int32
	for _, p := range s.podsOf(w) {
		r, _ := podReady(p)
		if !r {
			return false
		}
		ready++
	}
	return ready >= desired
}

// stopwatch brackets an API call that injected a fault.
type stopwatch struct{ before, after time.Time }

func timed(f func()) stopwatch {
	before := time.Now()
	f()
	return stopwatch{before: before, after: time.Now()}
}

// truth is what the oracle says of one fault.
type truth struct {
	// start is when the fault happened; end when the affected workload
	// (or node, or autoscaler) was back.
	start, end time.Time
	// endEarliest, if set, is the earliest end the evidence allows, when
	// it cannot tell the end to better than a second (see readyMoment).
	endEarliest time.Time
	// delay is how long the oracle's watch took to deliver the change the
	// test made (receipt − the API call's return): the lag any watch,
	// steadywatch's too, has on this machine at this time.
	delay time.Duration
}

func (tr truth) mttr() time.Duration { return tr.end.Sub(tr.start) }

// mttrRange is the least and the greatest MTTR the evidence allows.
func (tr truth) mttrRange() (lo, hi time.Duration) {
	if tr.endEarliest.IsZero() || !tr.endEarliest.Before(tr.end) {
		return tr.mttr(), tr.mttr()
	}
	// Not before the fault: a replacement cannot be Ready before it,
	// whatever the whole second of its stamp allows.
	return max(tr.endEarliest.Sub(tr.start), 0), tr.mttr()
}

// off is how far d lies outside the range the evidence allows: 0 inside,
// negative below, positive above.
func (tr truth) off(d time.Duration) time.Duration {
	lo, hi := tr.mttrRange()
	switch {
	case d < lo:
		return d - lo
	case d > hi:
		return d - hi
	}
	return 0
}

// podsKilled waits until every victim is terminating or gone and returns
// when the first was deleted: the time the API server stamped on the
// deletion (deletionTimestamp − grace, whole seconds) refined by the
// test's stopwatch around the call, and how late the watch delivered it.
func (o *oracle) podsKilled(t *testing.T, victims []types.UID, sw stopwatch) (start time.Time, delay time.Duration, at time.Time) {
	t.Helper()
	isVictim := map[types.UID]bool{}
	for _, v := range victims {
		isVictim[v] = true
	}
	o.await(t, 30*time.Second, "the victims deleted", sw.before, func(s *clusterState, _ *record) bool {
		for _, v := range victims {
			if p := s.pods[v]; p != nil && p.DeletionTimestamp == nil {
				return false
			}
		}
		return true
	})
	first, _, _ := o.scan(sw.before, func(_ *clusterState, r *record) bool {
		p, ok := r.obj.(*corev1.Pod)
		return ok && isVictim[p.UID] && (r.deleted || p.DeletionTimestamp != nil)
	})
	start = sw.before
	if p := first.obj.(*corev1.Pod); p.DeletionTimestamp != nil { //nolint:forcetypeassert // only pods match
		grace := int64(0)
		if p.DeletionGracePeriodSeconds != nil {
			grace = *p.DeletionGracePeriodSeconds
		}
		start = clamp(sw.before, p.DeletionTimestamp.Add(-time.Duration(grace)*time.Second))
	}
	if start.After(first.at) {
		start = first.at
	}
	return start, first.at.Sub(sw.after), first.at
}

// degraded waits for the first change after from that takes a pod of w
// out of service (terminating, gone or not Ready) and returns its time:
// the receipt, refined within the whole second of a deletion the API
// server stamped; seen is the receipt itself. Whether w is whole again is
// to be asked from seen on: between the stamp and the receipt the oracle's
// state still holds the pod in service (CI saw a rollback's deletion
// stamped 2 ms before its receipt, and the workload "whole" at the event
// received in between: an MTTR of 1 ms for a 2.1 s outage).
func (o *oracle) degraded(t *testing.T, w workloadRef, from time.Time) (start, seen time.Time) {
	t.Helper()
	r, _ := o.await(t, 60*time.Second, w.Name+" losing a pod", from, func(s *clusterState, r *record) bool {
		p, ok := r.obj.(*corev1.Pod)
		if !ok {
			return false
		}
		selector, _, ok := s.spec(w)
		if !ok || !selector.Matches(labels.Set(p.Labels)) {
			return false
		}
		ready, _ := podReady(p)
		return r.deleted || p.DeletionTimestamp != nil || !ready && p.Status.Phase == corev1.PodRunning
	})
	p := r.obj.(*corev1.Pod) //nolint:forcetypeassert // only pods match
	if p.DeletionTimestamp != nil && p.DeletionGracePeriodSeconds != nil {
		return clamp(r.at, p.DeletionTimestamp.Add(-time.Duration(*p.DeletionGracePeriodSeconds)*time.Second)), r.at
	}
	return r.at, r.at
}

// back waits for the first change after from that leaves w whole (every
// pod Ready, at least the desired number) and returns when that was (see
// readyMoment).
func (o *oracle) back(t *testing.T, w workloadRef, from time.Time, timeout time.Duration) (at, earliest time.Time) {
	t.Helper()
	r, _ := o.await(t, timeout, w.Name+" whole again", from, func(s *clusterState, _ *record) bool {
		return s.whole(w)
	})
	return readyMoment(&r)
}

// readyMoment is when the pod of r became Ready: the oracle's receipt of
// the status write that made it so. The kubelet (here kwok) stamps the
// Ready condition in whole seconds when it decides, and writes it later;
// a receipt within the stamped second is as precise as it gets, but one a
// second or more after it leaves the truth anywhere from the stamp (when
// the pod says it was ready) to the receipt (when the cluster knew):
// earliest is then the stamp.
func readyMoment(r *record) (at, earliest time.Time) {
	at, earliest = r.at, r.at
	p, ok := r.obj.(*corev1.Pod)
	if !ok {
		return at, earliest
	}
	ready, stamp := podReady(p)
	switch {
	case !ready || stamp.IsZero():
	case r.at.Before(stamp):
		return stamp, stamp
	case !r.at.Before(stamp.Add(time.Second)):
		return r.at, stamp
	}
	return at, earliest
}

// nodeReadiness waits for the first change after from in which the node's
// Ready condition is ready, and returns its receipt time. kwok stamps
// transitions with the node's creation time, so the receipt is the truth.
func (o *oracle) nodeReadiness(t *testing.T, name string, ready bool, from time.Time, timeout time.Duration) time.Time {
	t.Helper()
	r, _ := o.await(t, timeout, fmt.Sprintf("node %s ready=%t", name, ready), from, func(_ *clusterState, r *record) bool {
		n, ok := r.obj.(*corev1.Node)
		return ok && !r.deleted && n.Name == name && nodeIsReady(n) == ready
	})
	return r.at
}

// nodeDowns counts the times the oracle saw the node go from Ready (or
// unseen) to not Ready between from and to.
func (o *oracle) nodeDowns(name string, from, to time.Time) int {
	downs, ready := 0, true
	o.scan(time.Time{}, func(_ *clusterState, r *record) bool {
		n, ok := r.obj.(*corev1.Node)
		if !ok || r.deleted || n.Name != name {
			return false
		}
		now := nodeIsReady(n)
		if ready && !now && !r.at.Before(from) && !r.at.After(to) {
			downs++
		}
		ready = now
		return false
	})
	return downs
}

// received waits for the first record after sw.before of the object kind
// and name that satisfies cond, and returns how late after the call it
// came.
func (o *oracle) received(t *testing.T, sw stopwatch, what string, cond func(obj runtime.Object) bool) time.Duration {
	t.Helper()
	r, _ := o.await(t, 30*time.Second, what, sw.before, func(_ *clusterState, r *record) bool { return cond(r.obj) })
	return r.at.Sub(sw.after)
}

// replicas waits for the first change after from that sets the
// Deployment's spec.replicas to satisfy cond, and returns its receipt
// time: the autoscaler's scaling as the cluster saw it.
func (o *oracle) replicas(t *testing.T, name string, from time.Time, timeout time.Duration, cond func(int32) bool) (time.Time, int32) {
	t.Helper()
	r, _ := o.await(t, timeout, "deployment "+name+" scaled", from, func(_ *clusterState, r *record) bool {
		d, ok := r.obj.(*appsv1.Deployment)
		return ok && d.Name == name && d.Spec.Replicas != nil && cond(*d.Spec.Replicas)
	})
	return r.at, *r.obj.(*appsv1.Deployment).Spec.Replicas //nolint:forcetypeassert // only deployments match
}

// The premise check of a node blip counts each NotReady spell in its window
// once: the blip kwok once made of one fault counts two.
func TestNodeDownsCountsEachSpellInTheWindow(t *testing.T) {
	t0 := time.Date(2026, 12, 7, 0, 18, 57, 0, time.UTC)
	node := func(name string, ready corev1.ConditionStatus) *corev1.Node {
		n := &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: name}}
		n.Status.Conditions = []corev1.NodeCondition{{Type: corev1.NodeReady, Status: ready}}
		return n
	}
	o := &oracle{changed: make(chan struct{})}
	at := func(ms int) time.Time { return t0.Add(time.Duration(ms) * time.Millisecond) }
	for _, r := range []record{
		{at: at(-60_000), obj: node("n", corev1.ConditionFalse)}, // created, not Ready yet
		{at: at(-59_000), obj: node("n", corev1.ConditionTrue)},
		{at: at(-10), obj: node("other", corev1.ConditionFalse)},
		{at: at(0), obj: node("n", corev1.ConditionFalse)},
		{at: at(500), obj: node("n", corev1.ConditionFalse)}, // a taint, still down
		{at: at(2024), obj: node("n", corev1.ConditionTrue)},
		{at: at(2039), obj: node("n", corev1.ConditionFalse)}, // CI's blip
		{at: at(2058), obj: node("n", corev1.ConditionTrue)},
	} {
		o.add(r)
	}
	assert.Equal(t, 2, o.nodeDowns("n", at(-1000), at(3000)), "the fault and kwok's blip")
	assert.Equal(t, 1, o.nodeDowns("n", at(-1000), at(2038)), "just before the blip")
	assert.Equal(t, 2, o.nodeDowns("n", at(-1000), at(2039)), "the blip at the window's end")
	assert.Equal(t, 1, o.nodeDowns("n", at(1), at(3000)), "the fault's start just outside")
	assert.Equal(t, 0, o.nodeDowns("n", at(-1000), at(-1)), "nothing before")
	assert.Equal(t, 1, o.nodeDowns("other", at(-1000), at(3000)))
}
