package watcher

import (
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/tools/cache"

	"github.com/steadywatch/steadywatch/chaos"
	"github.com/steadywatch/steadywatch/tracker"
)

func transformNode(obj any) (any, error) {
	n, ok := obj.(*corev1.Node)
	if !ok {
		return obj, nil
	}
	out := &corev1.Node{ObjectMeta: metav1.ObjectMeta{
		Name: n.Name, UID: n.UID, ResourceVersion: n.ResourceVersion, Labels: n.Labels,
	}}
	for _, c := range n.Status.Conditions {
		if c.Type == corev1.NodeReady {
			out.Status.Conditions = []corev1.NodeCondition{{
				Type: c.Type, Status: c.Status, Reason: c.Reason, LastTransitionTime: c.LastTransitionTime,
			}}
		}
	}
	return out, nil
}

func (w *Watcher) nodeHandler() cache.ResourceEventHandler {
	return cache.ResourceEventHandlerFuncs{
		AddFunc: func(obj any) {
			if n, ok := obj.(*corev1.Node); ok {
				w.opts.Sink.NodeChanged(w.node(n))
			}
		},
		UpdateFunc: func(_, obj any) {
			if n, ok := obj.(*corev1.Node); ok {
				w.opts.Sink.NodeChanged(w.node(n))
			}
		},
		DeleteFunc: func(obj any) {
			obj, _ = tombstone(obj)
			if n, ok := obj.(*corev1.Node); ok {
				w.opts.Sink.NodeGone(n.Name)
			}
		},
	}
}

// node reads the Ready condition; False and Unknown (the node controller's
// verdict on a silent kubelet) are both not ready. A node without the
// condition has not reported yet and is taken as ready, so that joining
// nodes raise nothing.
func (w *Watcher) node(n *corev1.Node) tracker.Node {
	out := tracker.Node{Name: n.Name, Subject: w.opts.Subjects.subject("", n.Labels, nil), Ready: true}
	for _, c := range n.Status.Conditions {
		if c.Type == corev1.NodeReady {
			out.Ready = c.Status == corev1.ConditionTrue
			out.Since = chaos.Timestamp{Cluster: c.LastTransitionTime.Time, Observed: w.opts.Now()}
			out.Reason = c.Reason
		}
	}
	return out
}
