package tracker_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/steadywatch/steadywatch/chaos"
	"github.com/steadywatch/steadywatch/tracker"
)

// goneDuringOutage is web's pod i as the relist's tombstone shows it: its
// last state before the watch broke at t0+broke.
func goneDuringOutage(i int, broke time.Duration) tracker.Pod {
	p := webPod(i)
	p.SeenUntil = t0.Add(broke)
	return p
}

// Issue 11, #9: two pods deleted during a 14 s cut of the watch were
// recorded at the relist with a recovery of 0 s.
func TestADeletionTheWatchMissedIsDatedByTheBestEvidence(t *testing.T) {
	const broke, relist = 10 * time.Second, 25 * time.Second
	// The replacements were created at t0+12s and ready at t0+18s; the
	// relist sees them at t0+25s.
	replaced := func(i int) tracker.Pod {
		p := replacement(i, 12*time.Second+300*ms)
		p.Created = p.Created.Truncate(time.Second)
		p.Ready = true
		p.ReadyAt = chaos.Timestamp{Cluster: t0.Add(18 * time.Second), Observed: t0.Add(relist)}
		return p
	}
	for _, tc := range []struct {
		name string
		// replacementsFirst: the relist hands over the new pods before the
		// tombstones of the old.
		replacementsFirst bool
		gone              tracker.Pod
		want              time.Time
		// wantIncident, if set, is the incident's start when it differs
		// from the event's.
		wantIncident time.Time
	}{
		{
			name: "after its replacement was listed: by the replacement's creation", replacementsFirst: true,
			gone: goneDuringOutage(1, broke), want: t0.Add(12 * time.Second),
		},
		{
			// client-go hands over a relist's tombstones before the pods it
			// lists: the event is dated by the break, the incident then by
			// the replacement's creation once it is listed.
			name: "before its replacement was listed: by the time the watch broke, then by the replacement",
			gone: goneDuringOutage(1, broke), want: t0.Add(broke), wantIncident: t0.Add(12 * time.Second),
		},
		{
			name: "with its deletion request still in view: by that", replacementsFirst: true,
			gone: func() tracker.Pod {
				p := goneDuringOutage(1, broke)
				p.Deleting = chaos.Timestamp{Cluster: t0.Add(11 * time.Second)}
				return p
			}(),
			want: t0.Add(11 * time.Second),
		},
		{
			name: "a pod created before the watch broke is no replacement", replacementsFirst: true,
			gone: goneDuringOutage(1, 13*time.Second), want: t0.Add(13 * time.Second),
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t)
			f.healthyWeb()
			tr := f.at(relist)
			if tc.replacementsFirst {
				tr.PodChanged(replaced(4))
			}
			tr.PodGone(tc.gone, true)
			if !tc.replacementsFirst {
				tr.PodChanged(replaced(4))
			}

			events := f.rec.Events()
			require.Len(t, events, 1)
			require.True(t, events[0].Missed)
			require.Equal(t, tc.want, events[0].At.Best(), "not the relist's time, %s", t0.Add(relist))
			if tc.wantIncident.IsZero() {
				tc.wantIncident = tc.want
			} else {
				require.Len(t, f.incidents(t, tracker.Filter{}), 1)
			}
			for _, inc := range f.incidents(t, tracker.Filter{}) {
				require.True(t, inc.Missed, "an incident dated by an estimate is marked so: %+v", inc)
				require.Equal(t, tc.wantIncident, inc.Start)
				require.Equal(t, t0.Add(18*time.Second), inc.End)
			}
		})
	}
}

func TestAMissedDeletionRecoveredByTheWorkloadsStatusIsMarkedMissed(t *testing.T) {
	// The case: the relist brings the tombstones, the Deployment's
	// status (3/3) and the replacements, ready since 14 s; it used to end
	// the incident at the relist: 0 s.
	f := newFixture(t)
	f.healthyWeb()
	tr := f.at(25 * time.Second)
	tr.PodGone(goneDuringOutage(1, 10*time.Second), true)
	tr.PodGone(goneDuringOutage(2, 10*time.Second), true)
	tr.WorkloadChanged(tracker.Workload{Ref: web, Subject: webSubject, Desired: 3, Ready: 3}, true)
	for i := 4; i <= 5; i++ {
		p := replacement(i, 11*time.Second)
		p.Ready, p.ReadyAt = true, chaos.Timestamp{Cluster: t0.Add(14 * time.Second), Observed: t0.Add(25 * time.Second)}
		tr.PodChanged(p)
	}

	rec := f.rec.Recoveries()
	require.Len(t, rec, 1)
	require.True(t, rec[0].Missed, "the Recorder must know the start is an estimate")
	require.Equal(t, t0.Add(11*time.Second), rec[0].Start, "dated by the first replacement's creation, listed after the tombstones")
	require.Positive(t, rec[0].TimeToRecover())
}

// Found by the watch-cut e2e test once it counted incidents: a watch that
// resumes after an outage from its last resourceVersion (no relist, no
// tombstone) delivers a deletion made during the outage as a plain event,
// 15 s after the API server stamped it; it was recorded as seen live.
func TestADeletionTheWatchDeliveredSecondsLateIsMarkedMissed(t *testing.T) {
	f := newFixture(t)
	f.healthyWeb()
	tr := f.at(25 * time.Second)
	late := func(d time.Duration) chaos.Timestamp {
		return chaos.Timestamp{Cluster: t0.Add(d).Truncate(time.Second), Observed: t0.Add(25 * time.Second)}
	}
	gone := webPod(1)
	gone.Deleting = late(10*time.Second + 300*ms)
	tr.PodChanged(gone)
	tr.PodGone(gone, false)
	p := replacement(4, 10*time.Second+400*ms)
	p.Ready, p.ReadyAt = true, late(11*time.Second+200*ms)
	tr.PodChanged(p)

	events := f.rec.Events()
	require.Len(t, events, 1)
	require.True(t, events[0].Missed, "delivered 15 s after it happened: not seen happening: %s", events[0])
	incs := f.incidents(t, tracker.Filter{})
	require.Len(t, incs, 1)
	require.True(t, incs[0].Missed, "an incident dated by the API server's whole second is an estimate: %+v", incs[0])
	require.Equal(t, t0.Add(10*time.Second), incs[0].Start)
	require.Equal(t, t0.Add(11*time.Second), incs[0].End)
	rec := f.rec.Recoveries()
	require.Len(t, rec, 1)
	require.True(t, rec[0].Missed, "the Recorder must know the start is an estimate")

	// A deletion delivered within LateObservation of its second's end is
	// still seen live.
	f = newFixture(t)
	f.healthyWeb()
	tr = f.at(11*time.Second + 400*ms)
	gone = webPod(1)
	gone.Deleting = chaos.Timestamp{Cluster: t0.Add(10 * time.Second), Observed: t0.Add(11*time.Second + 400*ms)}
	tr.PodChanged(gone)
	require.False(t, f.rec.Events()[0].Missed, "a delivery delay inside LateObservation is live")
}
