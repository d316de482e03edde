package tracker_test

import (
	"testing"

	"github.com/steadywatch/steadywatch/tracker"
)

// BenchmarkTrackerPodUpdate measures the update that changes nothing (a
// resync, a status change the tracker does not read): the path every pod
// of the cluster takes over and over.
func BenchmarkTrackerPodUpdate(b *testing.B) {
	tr := tracker.New(tracker.Options{Recorder: &recorder{}})
	tr.WorkloadChanged(tracker.Workload{Ref: web, Subject: webSubject, Desired: 3, Ready: 3}, true)
	pods := []tracker.Pod{webPod(1), webPod(2), webPod(3)}
	for _, p := range pods {
		tr.PodChanged(p)
	}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		tr.PodChanged(pods[i%len(pods)])
		i++
	}
	b.ReportMetric(float64(i)/b.Elapsed().Seconds(), "updates/s")
}
