package tracker_test

import (
	"context"
	"log/slog"
	"maps"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/steadywatch/steadywatch/chaos"
	"github.com/steadywatch/steadywatch/tracker"
)

// openings counts the "incident opened" records the tracker logs, by
// incident ID.
type openings struct {
	mu sync.Mutex
	by map[string]int
}

func (o *openings) Enabled(context.Context, slog.Level) bool { return true }

func (o *openings) Handle(_ context.Context, r slog.Record) error {
	if r.Message != "incident opened" {
		return nil
	}
	r.Attrs(func(a slog.Attr) bool {
		if a.Key == "id" {
			o.mu.Lock()
			o.by[a.Value.String()]++
			o.mu.Unlock()
		}
		return true
	})
	return nil
}

func (o *openings) WithAttrs([]slog.Attr) slog.Handler { return o }
func (o *openings) WithGroup(string) slog.Handler      { return o }

func (o *openings) counts() map[string]int {
	o.mu.Lock()
	defer o.mu.Unlock()
	return maps.Clone(o.by)
}

// resumedWatch replays what a pods watch that resumed after an outage
// from its last resourceVersion (no relist) delivers at t0+25s: every
// change made meanwhile, each stamped with the API server's whole second
// and observed now.
type resumedWatch struct {
	f *fixture
}

func (r resumedWatch) late(d time.Duration) chaos.Timestamp {
	return chaos.Timestamp{Cluster: t0.Add(d).Truncate(time.Second), Observed: t0.Add(25 * time.Second)}
}

// deleted is web's pod i asked to be deleted at t0+d.
func (r resumedWatch) deleted(i int, d time.Duration) {
	p := webPod(i)
	p.Deleting = r.late(d)
	r.f.tr.PodChanged(p)
}

// gone is web's pod i, deleted at t0+d, leaving the cluster.
func (r resumedWatch) gone(i int, d time.Duration) {
	p := webPod(i)
	p.Deleting = r.late(d)
	r.f.tr.PodGone(p, false)
}

// created is web's replacement pod i, created at t0+d.
func (r resumedWatch) created(i int, d time.Duration) {
	p := replacement(i, d)
	p.Created = p.Created.Truncate(time.Second)
	p.ReadyAt = r.late(d)
	r.f.tr.PodChanged(p)
}

// ready is web's replacement pod i, created at t0+created, Ready at t0+d.
func (r resumedWatch) ready(i int, created, d time.Duration) {
	p := replacement(i, created)
	p.Created = p.Created.Truncate(time.Second)
	p.Ready, p.ReadyAt = true, r.late(d)
	r.f.tr.PodChanged(p)
}

// status is the Deployment informer's (separate) report of web's ready
// replicas.
func (r resumedWatch) status(ready int32) {
	r.f.tr.WorkloadChanged(tracker.Workload{Ref: web, Subject: webSubject, Desired: 3, Ready: ready}, true)
}

// Found by the watch-cut e2e test (2 runs of 5): two pods killed at once
// during a 15 s cut, the pods watch resumed without a relist. The informer
// hands over each pod's changes together, so the first replacement's
// Ready can come before the second pod's deletion though it happened
// after: the workload looked whole, the incident closed, and the second
// deletion, dated at the same whole second, opened an incident with the
// same ID again and was counted unmeasured a second time.
func TestPodsKilledAtOnceDuringAnOutageAreOneIncidentWhateverOrderTheResumedWatchDeliversThem(t *testing.T) {
	const (
		killA, killB          = 10*time.Second + 300*ms, 10*time.Second + 320*ms
		createdA, createdB    = 10*time.Second + 350*ms, 10*time.Second + 400*ms
		sameSecondA, sameSecB = 10*time.Second + 800*ms, 10*time.Second + 900*ms
		nextSecondA, nextSecB = 11*time.Second + 200*ms, 11*time.Second + 600*ms
	)
	type step = func(r resumedWatch)
	var (
		delA   = func(r resumedWatch) { r.deleted(1, killA) }
		delB   = func(r resumedWatch) { r.deleted(2, killB) }
		goneA  = func(r resumedWatch) { r.gone(1, killA) }
		goneB  = func(r resumedWatch) { r.gone(2, killB) }
		addA   = func(r resumedWatch) { r.created(4, createdA) }
		addB   = func(r resumedWatch) { r.created(5, createdB) }
		readyA = func(r resumedWatch) { r.ready(4, createdA, sameSecondA) }
		readyB = func(r resumedWatch) { r.ready(5, createdB, sameSecB) }
		// The replacements Ready in the next second.
		readyA2 = func(r resumedWatch) { r.ready(4, createdA, nextSecondA) }
		readyB2 = func(r resumedWatch) { r.ready(5, createdB, nextSecB) }
		status  = func(n int32) step { return func(r resumedWatch) { r.status(n) } }
	)
	for _, tc := range []struct {
		name  string
		steps []step
		end   time.Duration
	}{
		{
			name:  "both deletions, then both replacements",
			steps: []step{delA, goneA, delB, goneB, addA, readyA, addB, readyB},
			end:   10 * time.Second,
		},
		{
			name:  "each pod's changes together, the first replacement's before the second deletion",
			steps: []step{delA, goneA, addA, readyA, delB, goneB, addB, readyB},
			end:   10 * time.Second,
		},
		{
			name:  "in resourceVersion order",
			steps: []step{delA, addA, delB, addB, goneA, goneB, readyA, readyB},
			end:   10 * time.Second,
		},
		{
			name:  "the first replacement's, then the second deletion, replacements Ready the next second",
			steps: []step{delA, goneA, addA, readyA2, delB, goneB, addB, readyB2},
			end:   11 * time.Second,
		},
		{
			name:  "the second replacement Ready first, in the next second",
			steps: []step{delB, goneB, addB, readyB2, delA, goneA, addA, readyA},
			end:   11 * time.Second,
		},
		{
			// Whole seconds cannot order a deletion and a Ready stamped in
			// the same second: the deletion may have come first, and the
			// workload was not whole.
			name: "deletions either side of a second, the first replacement Ready in the second one",
			steps: []step{
				func(r resumedWatch) { r.deleted(1, 10*time.Second+980*ms) },
				func(r resumedWatch) { r.gone(1, 10*time.Second+980*ms) },
				func(r resumedWatch) { r.created(4, 11*time.Second+50*ms) },
				func(r resumedWatch) { r.ready(4, 11*time.Second+50*ms, 11*time.Second+600*ms) },
				func(r resumedWatch) { r.deleted(2, 11*time.Second+10*ms) },
				func(r resumedWatch) { r.gone(2, 11*time.Second+10*ms) },
				func(r resumedWatch) { r.created(5, 11*time.Second+100*ms) },
				func(r resumedWatch) { r.ready(5, 11*time.Second+100*ms, 12*time.Second+200*ms) },
			},
			end: 12 * time.Second,
		},
		{
			name: "the Deployment's status updates in between",
			steps: []step{
				delA, goneA, addA, status(2), readyA, status(1), delB, goneB, status(2), addB, readyB, status(3),
			},
			end: 10 * time.Second,
		},
		{
			name:  "the Deployment's status updates first",
			steps: []step{status(2), status(1), status(2), status(3), delA, goneA, addA, readyA, delB, goneB, addB, readyB},
			end:   10 * time.Second,
		},
		{
			name:  "the Deployment's status decides the second deletion",
			steps: []step{delA, goneA, addA, readyA, delB, goneB, status(2), addB, readyB, status(3)},
			end:   10 * time.Second,
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t)
			opened := &openings{by: map[string]int{}}
			f.tr = tracker.New(tracker.Options{Store: f.store, Recorder: f.rec, Now: f.clock.Now, Logger: slog.New(opened)})
			f.healthyWeb()
			f.at(25 * time.Second)
			r := resumedWatch{f}
			for _, s := range tc.steps {
				s(r)
			}

			incs := f.incidents(t, tracker.Filter{})
			require.Len(t, incs, 1, "one fault, one incident: %+v", incs)
			inc := incs[0]
			require.Equal(t, map[string]int{inc.ID: 1}, opened.counts(), "the incident opened once")
			require.True(t, inc.Missed, "dated by the API server's whole second: an estimate: %+v", inc)
			require.Equal(t, t0.Add(10*time.Second), inc.Start)
			require.Equal(t, t0.Add(tc.end), inc.End, "whole when the later replacement was Ready")
			require.Equal(t, 2, inc.Events, "both deletions")
			rec := f.rec.Recoveries()
			require.Len(t, rec, 1, "handed to the Recorder once, so counted unmeasured once: %+v", rec)
			require.True(t, rec[0].Missed)
			require.Equal(t, inc.ID, rec[0].ID)
			require.Empty(t, f.tr.OpenIncidents())
			require.Empty(t, f.rec.Between(), "no MTBF sample from an estimated start")
		})
	}
}

// The other side: a second pod killed during the outage after the first
// one's replacement was Ready, as the API server dated them, is a second
// fault.
func TestTwoKillsDuringAnOutageWithTheWorkloadWholeBetweenAreTwoIncidents(t *testing.T) {
	f := newFixture(t)
	opened := &openings{by: map[string]int{}}
	f.tr = tracker.New(tracker.Options{Store: f.store, Recorder: f.rec, Now: f.clock.Now, Logger: slog.New(opened)})
	f.healthyWeb()
	f.at(25 * time.Second)
	r := resumedWatch{f}
	r.deleted(1, 10*time.Second+300*ms)
	r.gone(1, 10*time.Second+300*ms)
	r.created(4, 10*time.Second+350*ms)
	r.ready(4, 10*time.Second+350*ms, 11*time.Second+200*ms)
	r.deleted(2, 13*time.Second+100*ms)
	r.gone(2, 13*time.Second+100*ms)
	r.created(5, 13*time.Second+150*ms)
	r.ready(5, 13*time.Second+150*ms, 14*time.Second+500*ms)

	incs := f.incidents(t, tracker.Filter{})
	require.Len(t, incs, 2, "two faults: %+v", incs)
	counts := opened.counts()
	require.Len(t, counts, 2)
	for id, n := range counts {
		require.Equal(t, 1, n, "%s opened once", id)
	}
	require.ElementsMatch(t, []time.Time{t0.Add(10 * time.Second), t0.Add(13 * time.Second)},
		[]time.Time{incs[0].Start, incs[1].Start})
	require.ElementsMatch(t, []time.Time{t0.Add(11 * time.Second), t0.Add(14 * time.Second)},
		[]time.Time{incs[0].End, incs[1].End}, "each recovered when its own replacement was Ready")
	require.Len(t, f.rec.Recoveries(), 2, "each handed to the Recorder once")
}

// What the watch-cut e2e test does first: a kill seen live, its recovery
// seen live at 11.4 s, then the watch cut and a pod killed at once,
// delivered 14 s late and dated at the whole second 11 s. The watch
// delivered the recovery before the cut: the kill came after it, though
// its whole second does not say so. It is a second incident.
func TestAKillDeliveredLateAfterARecoverySeenLiveIsASecondIncident(t *testing.T) {
	f := newFixture(t)
	opened := &openings{by: map[string]int{}}
	f.tr = tracker.New(tracker.Options{Store: f.store, Recorder: f.rec, Now: f.clock.Now, Logger: slog.New(opened)})
	f.healthyWeb()
	f.at(10*time.Second + 300*ms).PodChanged(deletingAt(webPod(3), 10*time.Second+300*ms))
	f.at(10*time.Second + 350*ms).PodChanged(replacement(6, 10*time.Second+350*ms))
	f.at(11*time.Second + 400*ms).PodChanged(readyAt(replacement(6, 10*time.Second+350*ms), 11*time.Second+400*ms))
	live := f.rec.Recoveries()
	require.Len(t, live, 1)
	require.False(t, live[0].Missed)
	require.Equal(t, t0.Add(11*time.Second+400*ms), live[0].End)

	f.at(25 * time.Second)
	r := resumedWatch{f}
	r.deleted(1, 11*time.Second+500*ms)
	r.gone(1, 11*time.Second+500*ms)
	r.created(4, 11*time.Second+550*ms)
	r.ready(4, 11*time.Second+550*ms, 11*time.Second+900*ms)

	incs := f.incidents(t, tracker.Filter{})
	require.Len(t, incs, 2, "the live kill and the one the cut hid: %+v", incs)
	counts := opened.counts()
	require.Len(t, counts, 2)
	for id, n := range counts {
		require.Equal(t, 1, n, "%s opened once", id)
	}
	rec := f.rec.Recoveries()
	require.Len(t, rec, 2)
	require.Equal(t, live[0], rec[0], "the live kill's recovery stands")
	require.True(t, rec[1].Missed)
	require.Equal(t, t0.Add(11*time.Second), rec[1].Start, "dated at the API server's whole second")
}
