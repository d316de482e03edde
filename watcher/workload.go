package watcher

import (
	"sync"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/tools/cache"

	"github.com/steadywatch/steadywatch/chaos"
	"github.com/steadywatch/steadywatch/tracker"
)

// workloadIndex remembers each workload's subject, so an autoscaler without
// labels of its own is exported under the workload it scales.
type workloadIndex struct {
	mu       sync.RWMutex
	subjects map[chaos.Ref]chaos.Subject
}

func newWorkloadIndex() *workloadIndex {
	return &workloadIndex{subjects: map[chaos.Ref]chaos.Subject{}}
}

func (x *workloadIndex) set(ref chaos.Ref, s chaos.Subject) {
	x.mu.Lock()
	x.subjects[ref] = s
	x.mu.Unlock()
}

func (x *workloadIndex) del(ref chaos.Ref) {
	x.mu.Lock()
	delete(x.subjects, ref)
	x.mu.Unlock()
}

func (x *workloadIndex) get(ref chaos.Ref) (chaos.Subject, bool) {
	x.mu.RLock()
	defer x.mu.RUnlock()
	s, ok := x.subjects[ref]
	return s, ok
}

// slimMeta keeps the metadata the watcher reads.
func slimMeta(m *metav1.ObjectMeta) metav1.ObjectMeta {
	return metav1.ObjectMeta{
		Name: m.Name, Namespace: m.Namespace, UID: m.UID, ResourceVersion: m.ResourceVersion,
		Generation: m.Generation, Labels: m.Labels,
	}
}

func slimTemplate(t *corev1.PodTemplateSpec) corev1.PodTemplateSpec {
	return corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: t.Labels}}
}

func transformDeployment(obj any) (any, error) {
	d, ok := obj.(*appsv1.Deployment)
	if !ok {
		return obj, nil
	}
	out := &appsv1.Deployment{
		ObjectMeta: slimMeta(&d.ObjectMeta),
		Spec:       appsv1.DeploymentSpec{Replicas: d.Spec.Replicas, Template: slimTemplate(&d.Spec.Template)},
		Status: appsv1.DeploymentStatus{
			ObservedGeneration: d.Status.ObservedGeneration, ReadyReplicas: d.Status.ReadyReplicas,
		},
	}
	for _, c := range d.Status.Conditions {
		if c.Type == appsv1.DeploymentProgressing {
			out.Status.Conditions = []appsv1.DeploymentCondition{{Type: c.Type, Status: c.Status, Reason: c.Reason}}
		}
	}
	return out, nil
}

func transformStatefulSet(obj any) (any, error) {
	s, ok := obj.(*appsv1.StatefulSet)
	if !ok {
		return obj, nil
	}
	return &appsv1.StatefulSet{
		ObjectMeta: slimMeta(&s.ObjectMeta),
		Spec:       appsv1.StatefulSetSpec{Replicas: s.Spec.Replicas, Template: slimTemplate(&s.Spec.Template)},
		Status: appsv1.StatefulSetStatus{
			ObservedGeneration: s.Status.ObservedGeneration, ReadyReplicas: s.Status.ReadyReplicas,
			CurrentRevision: s.Status.CurrentRevision, UpdateRevision: s.Status.UpdateRevision,
		},
	}, nil
}

func transformDaemonSet(obj any) (any, error) {
	d, ok := obj.(*appsv1.DaemonSet)
	if !ok {
		return obj, nil
	}
	return &appsv1.DaemonSet{
		ObjectMeta: slimMeta(&d.ObjectMeta),
		Spec:       appsv1.DaemonSetSpec{Template: slimTemplate(&d.Spec.Template)},
		Status: appsv1.DaemonSetStatus{
			ObservedGeneration: d.Status.ObservedGeneration, DesiredNumberScheduled: d.Status.DesiredNumberScheduled,
			NumberReady: d.Status.NumberReady, UpdatedNumberScheduled: d.Status.UpdatedNumberScheduled,
		},
	}, nil
}

func replicas(r *int32) int32 {
	if r == nil {
		return 1 // the API server's default
	}
	return *r
}

// deploymentReason is the Progressing reason of a Deployment whose latest
// rollout finished.
const deploymentReason = "NewReplicaSetAvailable"

func (w *Watcher) deployment(d *appsv1.Deployment) (tracker.Workload, bool) {
	ref := chaos.Ref{Kind: "Deployment", Namespace: d.Namespace, Name: d.Name}
	s := w.opts.Subjects.subject(d.Namespace, d.Labels, d.Spec.Template.Labels)
	w.workloads.set(ref, s)
	settled := false
	for _, c := range d.Status.Conditions {
		if c.Type == appsv1.DeploymentProgressing && c.Reason == deploymentReason {
			settled = true
		}
	}
	return tracker.Workload{Ref: ref, Subject: s, Desired: replicas(d.Spec.Replicas), Ready: d.Status.ReadyReplicas}, settled
}

func (w *Watcher) statefulSet(st *appsv1.StatefulSet) (tracker.Workload, bool) {
	ref := chaos.Ref{Kind: "StatefulSet", Namespace: st.Namespace, Name: st.Name}
	s := w.opts.Subjects.subject(st.Namespace, st.Labels, st.Spec.Template.Labels)
	w.workloads.set(ref, s)
	settled := st.Status.ObservedGeneration == st.Generation && st.Status.CurrentRevision == st.Status.UpdateRevision
	return tracker.Workload{Ref: ref, Subject: s, Desired: replicas(st.Spec.Replicas), Ready: st.Status.ReadyReplicas}, settled
}

// daemonSet is a DaemonSet as a workload: one pod desired on each node it
// should run on, settled once every one of them runs the latest template.
func (w *Watcher) daemonSet(d *appsv1.DaemonSet) (tracker.Workload, bool) {
	ref := chaos.Ref{Kind: "DaemonSet", Namespace: d.Namespace, Name: d.Name}
	s := w.opts.Subjects.subject(d.Namespace, d.Labels, d.Spec.Template.Labels)
	w.workloads.set(ref, s)
	st := &d.Status
	settled := st.ObservedGeneration == d.Generation && st.UpdatedNumberScheduled == st.DesiredNumberScheduled
	return tracker.Workload{Ref: ref, Subject: s, Desired: st.DesiredNumberScheduled, Ready: st.NumberReady}, settled
}

func (w *Watcher) daemonSetHandler() cache.ResourceEventHandler {
	return workloadHandler(w, "DaemonSet", w.daemonSet)
}

func (w *Watcher) deploymentHandler() cache.ResourceEventHandler {
	return workloadHandler(w, "Deployment", w.deployment)
}

func (w *Watcher) statefulSetHandler() cache.ResourceEventHandler {
	return workloadHandler(w, "StatefulSet", w.statefulSet)
}

// workloadHandler hands a Deployment's, StatefulSet's or DaemonSet's informer events to
// the sink.
func workloadHandler[T interface {
	*appsv1.Deployment | *appsv1.StatefulSet | *appsv1.DaemonSet
	GetNamespace() string
	GetName() string
}](w *Watcher, kind string, convert func(T) (tracker.Workload, bool)) cache.ResourceEventHandler {
	changed := func(obj any) {
		if o, ok := obj.(T); ok {
			w.opts.Sink.WorkloadChanged(convert(o))
		}
	}
	return cache.ResourceEventHandlerFuncs{
		AddFunc:    changed,
		UpdateFunc: func(_, obj any) { changed(obj) },
		DeleteFunc: func(obj any) {
			obj, _ = tombstone(obj)
			if o, ok := obj.(T); ok {
				ref := chaos.Ref{Kind: kind, Namespace: o.GetNamespace(), Name: o.GetName()}
				w.workloads.del(ref)
				w.opts.Sink.WorkloadGone(ref)
			}
		},
	}
}
