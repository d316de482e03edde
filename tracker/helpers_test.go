package tracker_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/steadywatch/steadywatch/chaos"
	"github.com/steadywatch/steadywatch/internal/testclock"
	"github.com/steadywatch/steadywatch/tracker"
)

// t0 is when every test's tracker starts watching.
var t0 = time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)

var (
	web        = chaos.Ref{Kind: "Deployment", Namespace: "shop", Name: "web"}
	webSubject = chaos.Subject{Namespace: "shop", Service: "web", Group: chaos.Experimental}
	// podSubject differs from webSubject in its group, to tell which one an
	// event or incident was given.
	podSubject = chaos.Subject{Namespace: "shop", Service: "web", Group: chaos.Control}
)

type between struct {
	Subject chaos.Subject
	D       time.Duration
}

// recorder keeps what the tracker tells its Recorder.
type recorder struct {
	mu        sync.Mutex
	events    []chaos.Event
	recovered []chaos.Incident
	between   []between
}

func (r *recorder) Event(e chaos.Event) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.events = append(r.events, e)
}

func (r *recorder) Recovered(inc chaos.Incident) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.recovered = append(r.recovered, inc)
}

func (r *recorder) TimeBetweenFailures(s chaos.Subject, d time.Duration) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.between = append(r.between, between{s, d})
}

func (r *recorder) Events() []chaos.Event {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]chaos.Event(nil), r.events...)
}

func (r *recorder) Kinds() []chaos.Kind {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := []chaos.Kind{}
	for _, e := range r.events {
		out = append(out, e.Kind)
	}
	return out
}

func (r *recorder) Recoveries() []chaos.Incident {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]chaos.Incident(nil), r.recovered...)
}

func (r *recorder) Between() []between {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]between(nil), r.between...)
}

type fixture struct {
	clock *testclock.Clock
	rec   *recorder
	store *tracker.MemoryStore
	tr    *tracker.Tracker
}

// newFixture returns a tracker that started watching at t0.
func newFixture(t *testing.T) *fixture {
	t.Helper()
	return newFixtureAt(t, 0)
}

// newFixtureAt returns a tracker that started watching at t0+d.
func newFixtureAt(t *testing.T, d time.Duration) *fixture {
	t.Helper()
	f := &fixture{clock: testclock.New(t0.Add(d)), rec: &recorder{}, store: tracker.NewMemoryStore()}
	f.tr = tracker.New(tracker.Options{Store: f.store, Recorder: f.rec, Now: f.clock.Now})
	return f
}

// at moves the clock to t0+d.
func (f *fixture) at(d time.Duration) *tracker.Tracker {
	f.clock.Set(t0.Add(d))
	return f.tr
}

func (f *fixture) incidents(t *testing.T, filter tracker.Filter) []chaos.Incident {
	t.Helper()
	incs, err := f.store.List(context.Background(), filter)
	require.NoError(t, err)
	return incs
}

// healthyWeb shows the tracker web at 3/3 with its three pods ready, on
// nodes node-1, node-2 and node-3.
func (f *fixture) healthyWeb() {
	f.tr.WorkloadChanged(tracker.Workload{Ref: web, Subject: webSubject, Desired: 3, Ready: 3}, true)
	for i := 1; i <= 3; i++ {
		f.tr.PodChanged(webPod(i))
	}
}

// lossCounted is web's status counting ready pods of its 3 desired: the
// update a pod deletion that did not lower the desired count brings. It is
// the evidence that decides a deletion held as a possible scale-down
// (tracker.ScaleDownHold) to be a fault.
func (f *fixture) lossCounted(ready int32) {
	f.tr.WorkloadChanged(tracker.Workload{Ref: web, Subject: webSubject, Desired: 3, Ready: ready}, true)
}

// webPod is a ready pod of web, created an hour before t0.
func webPod(i int) tracker.Pod {
	return tracker.Pod{
		UID:      fmt.Sprintf("uid-web-%d", i),
		Ref:      chaos.Ref{Kind: "Pod", Namespace: "shop", Name: fmt.Sprintf("web-%d", i)},
		Subject:  podSubject,
		Workload: web,
		Node:     fmt.Sprintf("node-%d", (i-1)%3+1),
		Created:  t0.Add(-time.Hour),
		Ready:    true,
		ReadyAt:  chaos.Timestamp{Cluster: t0.Add(-59 * time.Minute)},
	}
}

// replacement is a new pod of web created at t0+created, not ready yet.
func replacement(i int, created time.Duration) tracker.Pod {
	p := webPod(i)
	p.Created = t0.Add(created)
	p.Ready = false
	p.ReadyAt = chaos.Timestamp{Cluster: t0.Add(created).Truncate(time.Second)}
	return p
}

// readyAt is p seeing its Ready condition turn true at t0+d (cluster time
// truncated to the second, observed at once).
func readyAt(p tracker.Pod, d time.Duration) tracker.Pod {
	p.Ready = true
	p.ReadyAt = ts(d)
	return p
}

// deletingAt is p asked to be deleted at t0+d, seen at once.
func deletingAt(p tracker.Pod, d time.Duration) tracker.Pod {
	p.Deleting = ts(d)
	return p
}

// ts is a timestamp of t0+d as a live watch sees it: the cluster's
// whole second, observed at once.
func ts(d time.Duration) chaos.Timestamp {
	at := t0.Add(d)
	return chaos.Timestamp{Cluster: at.Truncate(time.Second), Observed: at}
}
