package watcher

import (
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/tools/cache"

	"github.com/steadywatch/steadywatch/chaos"
	"github.com/steadywatch/steadywatch/tracker"
)

// relistAfterOutage bounds how long after an outage of the pod watch a
// relist's tombstones are taken for what vanished during it.
const relistAfterOutage = time.Minute

// podTemplateHashLabel is set by the Deployment controller on its pods; the
// ReplicaSet's name is the Deployment's name plus "-" and this hash.
const podTemplateHashLabel = "pod-template-hash"

// transformPod converts a pod to the compact form the informer caches, at
// the moment the watch delivers it: its observation time is that moment.
func (w *Watcher) transformPod(obj any) (any, error) {
	p, ok := obj.(*corev1.Pod)
	if !ok {
		return obj, nil
	}
	return &podObject{pod: w.pod(p), resourceVersion: p.ResourceVersion}, nil
}

func (w *Watcher) podHandler() cache.ResourceEventHandler {
	return cache.ResourceEventHandlerFuncs{
		AddFunc: func(obj any) {
			if p, ok := w.podOf(obj); ok {
				w.opts.Sink.PodChanged(p)
			}
		},
		UpdateFunc: func(_, obj any) {
			if p, ok := w.podOf(obj); ok {
				w.opts.Sink.PodChanged(p)
			}
		},
		DeleteFunc: func(obj any) {
			obj, missed := tombstone(obj)
			if p, ok := w.podOf(obj); ok {
				if missed && w.opts.Health != nil {
					// A relist right after an outage: the pod was in view
					// until the watch broke. An older outage says nothing.
					from, to := w.opts.Health.LastOutage("pods")
					if !from.IsZero() && (to.IsZero() || w.opts.Now().Sub(to) < relistAfterOutage) {
						p.SeenUntil = from
					}
				}
				w.opts.Sink.PodGone(p, missed)
			}
		},
	}
}

// podOf reads what the pod informer hands over: the compact form its
// transform caches, or a pod it did not transform.
func (w *Watcher) podOf(obj any) (tracker.Pod, bool) {
	switch p := obj.(type) {
	case *podObject:
		return p.pod, true
	case *corev1.Pod:
		return w.pod(p), true
	}
	return tracker.Pod{}, false
}

func (w *Watcher) pod(p *corev1.Pod) tracker.Pod {
	now := w.opts.Now()
	out := tracker.Pod{
		UID:      string(p.UID),
		Ref:      chaos.Ref{Kind: "Pod", Namespace: p.Namespace, Name: p.Name},
		Subject:  w.opts.Subjects.subject(p.Namespace, p.Labels, nil),
		Workload: podWorkload(p),
		Node:     p.Spec.NodeName,
		Created:  p.CreationTimestamp.Time,
	}
	for _, c := range p.Status.Conditions {
		switch c.Type {
		case corev1.PodReady:
			out.Ready = c.Status == corev1.ConditionTrue
			out.ReadyAt = chaos.Timestamp{Cluster: c.LastTransitionTime.Time, Observed: now}
		case corev1.DisruptionTarget:
			if c.Status == corev1.ConditionTrue {
				out.Reason = disruptionReason(c.Reason)
			}
		}
	}
	for i := range p.Status.ContainerStatuses {
		c := &p.Status.ContainerStatuses[i]
		out.Restarts += c.RestartCount
		if out.Down == tracker.ContainerUp {
			out.Down = containerDown(&c.State)
		}
	}
	if p.Status.Phase == corev1.PodFailed {
		out.Failed = true
		if out.Reason == "" && p.Status.Reason == "Evicted" {
			out.Reason = "kubelet" // evicted for node pressure
		}
	}
	if p.DeletionTimestamp != nil {
		// deletionTimestamp is when the grace period ends; the deletion was
		// requested that many seconds earlier.
		requested := p.DeletionTimestamp.Time
		if g := p.DeletionGracePeriodSeconds; g != nil {
			requested = requested.Add(-time.Duration(*g) * time.Second)
		}
		out.Deleting = chaos.Timestamp{Cluster: requested, Observed: now}
	}
	return out
}

// containerDown is why a container in state s is not running.
func containerDown(s *corev1.ContainerState) tracker.ContainerDown {
	switch {
	case s.Terminated != nil && s.Terminated.Reason == "OOMKilled":
		return tracker.ContainerOOMKilled
	case s.Terminated != nil:
		return tracker.ContainerError
	case s.Waiting != nil && s.Waiting.Reason == "CrashLoopBackOff":
		return tracker.ContainerCrashLoop
	}
	return tracker.ContainerUp
}

// podWorkload names the Deployment, StatefulSet or DaemonSet that keeps the pod's
// replica count, read from its controller reference. Pods of other
// controllers are treated as bare: nothing tells when they are replaced.
func podWorkload(p *corev1.Pod) chaos.Ref {
	ref := metav1.GetControllerOfNoCopy(p)
	if ref == nil {
		return chaos.Ref{}
	}
	switch ref.Kind {
	case "StatefulSet", "DaemonSet":
		return chaos.Ref{Kind: ref.Kind, Namespace: p.Namespace, Name: ref.Name}
	case "ReplicaSet":
		hash := p.Labels[podTemplateHashLabel]
		if name, ok := strings.CutSuffix(ref.Name, "-"+hash); ok && hash != "" {
			return chaos.Ref{Kind: "Deployment", Namespace: p.Namespace, Name: name}
		}
	}
	return chaos.Ref{}
}

// disruptionReason maps the DisruptionTarget condition's reasons to the
// closed set steadywatch reports.
func disruptionReason(r string) string {
	switch r {
	case "EvictionByEvictionAPI":
		return "eviction_api"
	case "DeletionByTaintManager":
		return "taint_manager"
	case "PreemptionByScheduler", "PreemptionByKubeScheduler":
		return "preemption"
	case "TerminationByKubelet":
		return "kubelet"
	case "DeletionByPodGC":
		return "pod_gc"
	}
	return "other"
}
