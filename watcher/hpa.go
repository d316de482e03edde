package watcher

import (
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	"k8s.io/client-go/tools/cache"

	"github.com/steadywatch/steadywatch/chaos"
	"github.com/steadywatch/steadywatch/tracker"
)

func transformHPA(obj any) (any, error) {
	h, ok := obj.(*autoscalingv2.HorizontalPodAutoscaler)
	if !ok {
		return obj, nil
	}
	return &autoscalingv2.HorizontalPodAutoscaler{
		ObjectMeta: slimMeta(&h.ObjectMeta),
		Spec: autoscalingv2.HorizontalPodAutoscalerSpec{
			ScaleTargetRef: h.Spec.ScaleTargetRef, MinReplicas: h.Spec.MinReplicas, MaxReplicas: h.Spec.MaxReplicas,
		},
		Status: autoscalingv2.HorizontalPodAutoscalerStatus{
			CurrentReplicas: h.Status.CurrentReplicas, DesiredReplicas: h.Status.DesiredReplicas,
			LastScaleTime: h.Status.LastScaleTime,
		},
	}, nil
}

func (w *Watcher) hpaHandler() cache.ResourceEventHandler {
	changed := func(obj any) {
		if h, ok := obj.(*autoscalingv2.HorizontalPodAutoscaler); ok {
			w.opts.Sink.HPAChanged(w.hpa(h))
		}
	}
	return cache.ResourceEventHandlerFuncs{
		AddFunc:    changed,
		UpdateFunc: func(_, obj any) { changed(obj) },
		DeleteFunc: func(obj any) {
			obj, _ = tombstone(obj)
			if h, ok := obj.(*autoscalingv2.HorizontalPodAutoscaler); ok {
				w.opts.Sink.HPAGone(chaos.Ref{Kind: "HorizontalPodAutoscaler", Namespace: h.Namespace, Name: h.Name})
			}
		},
	}
}

// hpa takes the subject from the autoscaler's labels, else from the
// workload it scales.
func (w *Watcher) hpa(h *autoscalingv2.HorizontalPodAutoscaler) tracker.HPA {
	s := w.opts.Subjects.subject(h.Namespace, h.Labels, nil)
	target := chaos.Ref{Kind: h.Spec.ScaleTargetRef.Kind, Namespace: h.Namespace, Name: h.Spec.ScaleTargetRef.Name}
	if s.Service == "" || s.Group == chaos.NoGroup {
		if ts, ok := w.workloads.get(target); ok {
			if s.Service == "" {
				s.Service = ts.Service
			}
			if s.Group == chaos.NoGroup {
				s.Group = ts.Group
			}
		}
	}
	out := tracker.HPA{
		Ref:     chaos.Ref{Kind: "HorizontalPodAutoscaler", Namespace: h.Namespace, Name: h.Name},
		Subject: s, Target: target, Desired: h.Status.DesiredReplicas,
	}
	if h.Status.LastScaleTime != nil {
		out.ScaledAt = chaos.Timestamp{Cluster: h.Status.LastScaleTime.Time, Observed: w.opts.Now()}
	} else {
		out.ScaledAt = chaos.Timestamp{Observed: w.opts.Now()}
	}
	return out
}
