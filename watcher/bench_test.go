package watcher

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes/fake"
	"k8s.io/client-go/tools/cache"

	"github.com/steadywatch/steadywatch/chaos"
	"github.com/steadywatch/steadywatch/exporter"
	"github.com/steadywatch/steadywatch/tracker"
)

// discardStore keeps nothing, so that a long benchmark measures the
// pipeline rather than the growth of an in-memory history.
type discardStore struct{}

func (discardStore) Save(context.Context, chaos.Incident) error { return nil }
func (discardStore) List(context.Context, tracker.Filter) ([]chaos.Incident, error) {
	return nil, nil
}
func (discardStore) SaveEvent(context.Context, chaos.Event) error { return nil }
func (discardStore) Events(context.Context, tracker.Filter) ([]chaos.Event, error) {
	return nil, nil
}

// ringSlot is one pod of the benchmark's ring in the two states the pod
// handler is shown: ready, and marked for deletion.
type ringSlot struct {
	ready, terminating *corev1.Pod
}

const (
	ringSize = 1024
	// Each deletion is 10s after the previous one and recovers in 3s.
	deletionEvery = 10 * time.Second
	recoveryTime  = 3 * time.Second
)

// pipelineBench is a pod handler feeding a real tracker that records into
// real metrics: the path from an informer callback to the exported series.
type pipelineBench struct {
	h    cache.ResourceEventHandler
	ring []ringSlot
	base time.Time
}

func newPipelineBench(b *testing.B, store tracker.Store) *pipelineBench {
	b.Helper()
	reg := prometheus.NewRegistry()
	tr := tracker.New(tracker.Options{Store: store, Recorder: exporter.NewMetrics(reg)})
	w, err := New(Options{Client: fake.NewClientset(), Sink: tr, Subjects: DefaultSubjects()})
	if err != nil {
		b.Fatal(err)
	}
	w.deploymentHandler().OnAdd(deployment("web", 3, 3, true), true)
	h := w.podHandler()
	h.OnAdd(benchPod("stable-1"), true)
	h.OnAdd(benchPod("stable-2"), true)

	p := &pipelineBench{h: h, ring: make([]ringSlot, ringSize), base: time.Now().Add(-24 * time.Hour).Truncate(time.Second)}
	for k := range p.ring {
		ready := benchPod(fmt.Sprintf("ring-%04d", k))
		terminating := ready.DeepCopy()
		terminating.DeletionTimestamp = new(metav1.Time{})
		terminating.DeletionGracePeriodSeconds = new(int64(0))
		terminating.Status.Conditions = append(terminating.Status.Conditions, corev1.PodCondition{
			Type: corev1.DisruptionTarget, Status: corev1.ConditionTrue, Reason: "EvictionByEvictionAPI",
		})
		p.ring[k] = ringSlot{ready: ready, terminating: terminating}
	}
	p.date(0)
	h.OnAdd(p.ring[0].ready, true)
	return p
}

// date sets the ring's times for its lap-th use: slot k is deleted at
// base + (lap*ringSize + k) * deletionEvery, and readies recoveryTime
// after its predecessor's deletion, so every lap starts failures later
// than the last and each yields an MTBF sample as well as an MTTR one.
func (p *pipelineBench) date(lap int) {
	for k, s := range p.ring {
		deleted := p.base.Add(time.Duration(lap*ringSize+k) * deletionEvery)
		s.terminating.DeletionTimestamp.Time = deleted
		s.ready.Status.Conditions[1].LastTransitionTime.Time = deleted.Add(recoveryTime - deletionEvery)
	}
}

// step runs the i-th informer callback of the cycle a pod deletion makes:
// the pod marked for deletion (a pod_deleted event, an incident opens),
// its replacement ready (the incident recovers, an MTTR sample), and the
// deleted pod gone (no event: it was reported when marked).
func (p *pipelineBench) step(i int) {
	cycle := i / 3
	k := cycle % ringSize
	switch i % 3 {
	case 0:
		if k == 0 && cycle > 0 {
			p.date(cycle / ringSize)
		}
		p.h.OnUpdate(p.ring[k].ready, p.ring[k].terminating)
	case 1:
		next := p.ring[(k+1)%ringSize].ready
		p.h.OnUpdate(next, next)
	case 2:
		p.h.OnDelete(p.ring[k].terminating)
	}
}

func benchPod(name string) *corev1.Pod {
	p := readyPod("web-7d9f8b6c5-"+name, "ReplicaSet", "web-7d9f8b6c5", "7d9f8b6c5")
	p.UID = types.UID("uid-" + name)
	return p
}

// BenchmarkEventPipeline measures one informer callback on the path from a
// pod's change to the metrics it updates. Iterations cycle through a pod
// deletion's three callbacks; events/s counts callbacks.
func BenchmarkEventPipeline(b *testing.B) {
	for _, bc := range []struct {
		name  string
		store tracker.Store
	}{
		{"store=discard", discardStore{}},
		{"store=memory", tracker.NewMemoryStore()},
	} {
		b.Run(bc.name, func(b *testing.B) {
			p := newPipelineBench(b, bc.store)
			b.ReportAllocs()
			n := 0
			for b.Loop() {
				p.step(n)
				n++
			}
			b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "events/s")
		})
	}
}

// BenchmarkPodResync measures a callback that changes nothing, as a resync
// or an unrelated status update does: the most frequent one by far.
func BenchmarkPodResync(b *testing.B) {
	p := newPipelineBench(b, discardStore{})
	pod := benchPod("stable-1")
	b.ReportAllocs()
	n := 0
	for b.Loop() {
		p.h.OnUpdate(pod, pod)
		n++
	}
	b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "events/s")
}
