package tracker_test

import (
	"fmt"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/steadywatch/steadywatch/chaos"
	"github.com/steadywatch/steadywatch/tracker"
)

// The pod informer and the workload and autoscaler informers deliver
// independently: a scale-down's pod deletions can arrive before the update
// that lowered the replicas (CI, 2 cores). A deletion that may be one waits
// up to tracker.ScaleDownHold for the evidence that decides it.

func webScaledDownBy(f *fixture, kind string, to int32) {
	switch kind {
	case "workload":
		f.tr.WorkloadChanged(tracker.Workload{Ref: web, Subject: webSubject, Desired: to, Ready: 3}, false)
	case "hpa":
		f.tr.HPAChanged(tracker.HPA{Ref: hpaRef, Subject: webSubject, Target: web, Desired: to, ScaledAt: ts(9 * time.Second)})
	}
}

func TestAScaleDownWhosePodDeletionsArriveFirstIsNoIncident(t *testing.T) {
	for _, tc := range []struct {
		name     string
		evidence string
		to       int32
		deleted  int // pods 1..deleted go, 10 ms apart from 10 s
		incident bool
	}{
		{"the Deployment lowered to 1 after its two pods went is no incident", "workload", 1, 2, false},
		{"the HPA's scale-down to 1 after the two pods went is no incident", "hpa", 1, 2, false},
		{"the Deployment lowered to 2 after two pods went is short of one: a fault", "workload", 2, 2, true},
		{"the HPA's scale-down to 2 after two pods went is short of one: a fault", "hpa", 2, 2, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t)
			f.healthyWeb()
			if tc.evidence == "hpa" {
				f.at(0).HPAChanged(tracker.HPA{Ref: hpaRef, Subject: webSubject, Target: web, Desired: 3, ScaledAt: ts(-time.Hour)})
			}
			for i := 1; i <= tc.deleted; i++ {
				at := 10*time.Second + time.Duration(i-1)*10*ms
				f.at(at).PodChanged(deletingAt(webPod(i), at))
			}
			require.Empty(t, f.tr.OpenIncidents(), "held until the evidence comes")
			require.Equal(t, tc.deleted, f.tr.HeldDeletions())

			f.at(10*time.Second + 50*ms)
			webScaledDownBy(f, tc.evidence, tc.to)
			require.Zero(t, f.tr.HeldDeletions(), "decided by the evidence, not by the bound")
			kinds := f.rec.Kinds()
			require.Equal(t, tc.deleted, countKind(kinds, chaos.PodDeleted), "each deletion is an event either way")

			f.at(time.Minute) // long past the bound
			incs := f.incidents(t, tracker.Filter{Kinds: []chaos.Kind{chaos.PodDeleted}})
			if !tc.incident {
				require.Empty(t, incs)
				require.Empty(t, f.tr.OpenIncidents())
				return
			}
			require.Len(t, incs, 1, "one incident for the deletions")
			require.Equal(t, t0.Add(10*time.Second), incs[0].Start, "dated by the first deletion, not by the evidence")
			require.Equal(t, 2, incs[0].Events)
		})
	}
}

func TestTheDeletionsOfAnHPAScaleDownThatArriveAfterItAreNoIncident(t *testing.T) {
	f := newFixture(t)
	f.healthyWeb()
	f.at(0).HPAChanged(tracker.HPA{Ref: hpaRef, Subject: webSubject, Target: web, Desired: 3, ScaledAt: ts(-time.Hour)})
	f.at(10 * time.Second).PodChanged(deletingAt(webPod(1), 10*time.Second))
	f.at(10*time.Second + 10*ms).HPAChanged(tracker.HPA{Ref: hpaRef, Subject: webSubject, Target: web, Desired: 1, ScaledAt: ts(10 * time.Second)})
	f.at(10*time.Second + 20*ms).PodChanged(deletingAt(webPod(2), 10*time.Second+20*ms))
	require.Zero(t, f.tr.HeldDeletions(), "the scale-down the HPA announced covers it")
	require.Equal(t, 2, countKind(f.rec.Kinds(), chaos.PodDeleted))

	f.at(10*time.Second + 30*ms).PodChanged(deletingAt(webPod(3), 10*time.Second+30*ms))
	require.Equal(t, 1, f.tr.HeldDeletions(), "one more than the scale-down: held")
	f.at(time.Minute)
	require.Len(t, f.tr.OpenIncidents(), 1)
	incs := f.incidents(t, tracker.Filter{Kinds: []chaos.Kind{chaos.PodDeleted}})
	require.Len(t, incs, 1, "the one pod too many is a fault")
	require.Equal(t, t0.Add(10*time.Second+30*ms), incs[0].Start)
}

func TestAnHPAScaleDownCoversOnlyDeletionsWithinTheBound(t *testing.T) {
	f := newFixture(t)
	f.healthyWeb()
	f.at(0).HPAChanged(tracker.HPA{Ref: hpaRef, Subject: webSubject, Target: web, Desired: 3, ScaledAt: ts(-time.Hour)})
	f.at(10 * time.Second).HPAChanged(tracker.HPA{Ref: hpaRef, Subject: webSubject, Target: web, Desired: 2, ScaledAt: ts(10 * time.Second)})
	f.at(10*time.Second + tracker.ScaleDownHold).PodChanged(deletingAt(webPod(1), 10*time.Second+tracker.ScaleDownHold))
	require.Equal(t, 1, f.tr.HeldDeletions(), "an old scale-down says nothing of this deletion")
}

func countKind(kinds []chaos.Kind, k chaos.Kind) int {
	n := 0
	for _, have := range kinds {
		if have == k {
			n++
		}
	}
	return n
}

func TestAKillDecidedByTheEvidenceIsTheIncidentItWouldHaveBeen(t *testing.T) {
	for _, tc := range []struct {
		name     string
		evidence func(f *fixture)
	}{
		{"its status counting the lost pod", func(f *fixture) { f.lossCounted(2) }},
		{"its replacement's creation", func(f *fixture) { f.tr.PodChanged(replacement(4, 10*time.Second+500*ms)) }},
		{"a scale-up", func(f *fixture) {
			f.tr.WorkloadChanged(tracker.Workload{Ref: web, Subject: webSubject, Desired: 4, Ready: 2}, false)
		}},
	} {
		t.Run("a kill followed by "+tc.name, func(t *testing.T) {
			f := newFixture(t)
			f.healthyWeb()
			killed := deletingAt(webPod(2), 10*time.Second+300*ms)
			f.at(10*time.Second + 310*ms).PodChanged(killed)
			require.Empty(t, f.tr.OpenIncidents())

			f.at(10*time.Second + 800*ms)
			tc.evidence(f)
			start := t0.Add(10*time.Second + 300*ms)
			require.Equal(t, []chaos.Incident{{
				ID:   fmt.Sprintf("pod_deleted:Deployment/shop/web@%d", start.UnixNano()),
				Kind: chaos.PodDeleted, Subject: webSubject, Object: web, Start: start, Events: 1,
			}}, f.tr.OpenIncidents(), "dated by the deletion, not by the evidence")

			f.at(14*time.Second + 200*ms).PodChanged(readyAt(replacement(4, 10*time.Second+500*ms), 14*time.Second+200*ms))
			if tc.name == "a scale-up" {
				f.tr.PodChanged(readyAt(replacement(5, 10*time.Second+500*ms), 14*time.Second+200*ms))
			}
			recovered := f.rec.Recoveries()
			require.Len(t, recovered, 1)
			require.Equal(t, 3900*ms, recovered[0].TimeToRecover(), "MTTR from the deletion to the replacement's Ready")
			require.Equal(t, []chaos.Kind{chaos.PodDeleted}, f.rec.Kinds(), "one fault, one event")
		})
	}
}

func TestAnUpdateThatChangesNoCountDecidesNothing(t *testing.T) {
	f := newFixture(t)
	f.healthyWeb()
	f.at(10 * time.Second).PodChanged(deletingAt(webPod(1), 10*time.Second))
	f.at(10*time.Second+100*ms).WorkloadChanged(tracker.Workload{Ref: web, Subject: webSubject, Desired: 3, Ready: 3}, true)
	require.Equal(t, 1, f.tr.HeldDeletions(), "a resync, or a status not counting the loss yet, says nothing")
	require.Empty(t, f.tr.OpenIncidents())
}

func TestAHeldDeletionOpensItsIncidentWhenTheBoundPassesDatedByTheDeletion(t *testing.T) {
	f := newFixture(t)
	f.healthyWeb()
	killed := deletingAt(webPod(1), 10*time.Second)
	f.at(10*time.Second + 20*ms).PodChanged(killed)

	f.at(10*time.Second + 20*ms + tracker.ScaleDownHold - time.Nanosecond)
	require.Empty(t, f.tr.OpenIncidents(), "just within the bound: still held")
	require.Empty(t, f.incidents(t, tracker.Filter{}))
	require.Equal(t, 1, f.tr.HeldDeletions())

	f.at(10*time.Second + 20*ms + tracker.ScaleDownHold)
	open := f.tr.OpenIncidents()
	require.Len(t, open, 1, "the bound reached: a fault")
	require.Equal(t, t0.Add(10*time.Second), open[0].Start, "dated by the deletion, not by the bound")
	require.Equal(t, open, f.incidents(t, tracker.Filter{}), "saved when decided")
	require.Zero(t, f.tr.HeldDeletions())

	f.at(20 * time.Second).PodChanged(readyAt(replacement(4, 11*time.Second), 20*time.Second))
	recovered := f.rec.Recoveries()
	require.Len(t, recovered, 1)
	require.Equal(t, 10*time.Second, recovered[0].TimeToRecover())
}

func TestEveryMethodThatReadsStateSettlesExpiredDeletionsFirst(t *testing.T) {
	for _, tc := range []struct {
		name string
		read func(tr *tracker.Tracker)
	}{
		{"OpenIncidents", func(tr *tracker.Tracker) { tr.OpenIncidents() }},
		{"Workloads", func(tr *tracker.Tracker) { tr.Workloads() }},
		{"LastEvent", func(tr *tracker.Tracker) { tr.LastEvent() }},
		{"Snapshot", func(tr *tracker.Tracker) { tr.Snapshot() }},
		{"HeldDeletions", func(tr *tracker.Tracker) { tr.HeldDeletions() }},
		{"NodeChanged", func(tr *tracker.Tracker) { tr.NodeChanged(tracker.Node{Name: "node-9", Ready: true}) }},
		{"an event of another workload", func(tr *tracker.Tracker) {
			tr.WorkloadChanged(tracker.Workload{Ref: db, Subject: dbSubject, Desired: 2, Ready: 2}, true)
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t)
			f.healthyWeb()
			f.at(10 * time.Second).PodChanged(deletingAt(webPod(1), 10*time.Second))
			f.at(10*time.Second + tracker.ScaleDownHold)
			require.Empty(t, f.incidents(t, tracker.Filter{}), "the store is no tracker method")
			tc.read(f.tr)
			incs := f.incidents(t, tracker.Filter{})
			require.Len(t, incs, 1)
			require.Equal(t, t0.Add(10*time.Second), incs[0].Start)
		})
	}
}

func TestAnEvidenceAfterTheBoundComesTooLate(t *testing.T) {
	f := newFixture(t)
	f.healthyWeb()
	f.at(10 * time.Second).PodChanged(deletingAt(webPod(1), 10*time.Second))
	f.at(10*time.Second + tracker.ScaleDownHold)
	webScaledDownBy(f, "workload", 2)
	require.Len(t, f.incidents(t, tracker.Filter{}), 1,
		"a scale-down whose update comes later than the bound is taken for a fault (a known limit)")
}

func TestAStatefulSetKill(t *testing.T) {
	setup := func(t *testing.T) *fixture {
		t.Helper()
		f := newFixture(t)
		f.tr.WorkloadChanged(tracker.Workload{Ref: db, Subject: dbSubject, Desired: 2, Ready: 2}, true)
		f.tr.PodChanged(dbPod(0))
		f.tr.PodChanged(dbPod(1))
		return f
	}
	t.Run("is decided by the bound while its status still counts the terminating pod", func(t *testing.T) {
		f := setup(t)
		killed := deletingAt(dbPod(0), 10*time.Second)
		f.at(10*time.Second + 5*ms).PodChanged(killed)
		f.at(10*time.Second+40*ms).WorkloadChanged(tracker.Workload{Ref: db, Subject: dbSubject, Desired: 2, Ready: 2}, true)
		f.at(10*time.Second+500*ms).PodGone(killed, false)
		require.Empty(t, f.tr.OpenIncidents(), "the pod gone is no evidence")

		f.at(10*time.Second + 5*ms + tracker.ScaleDownHold)
		open := f.tr.OpenIncidents()
		require.Len(t, open, 1)
		require.Equal(t, t0.Add(10*time.Second), open[0].Start)

		// The replacement has the same name and a new UID.
		repl := dbPod(0)
		repl.UID, repl.Created, repl.Ready = "uid-db-0-new", t0.Add(16*time.Second), false
		f.at(16 * time.Second).PodChanged(repl)
		f.at(31*time.Second + 200*ms).PodChanged(readyAt(repl, 31*time.Second+200*ms))
		recovered := f.rec.Recoveries()
		require.Len(t, recovered, 1)
		require.Equal(t, 21*time.Second+200*ms, recovered[0].TimeToRecover(), "from the kill to the replacement's Ready")
	})
	t.Run("is decided by its replacement when that comes within the bound", func(t *testing.T) {
		f := setup(t)
		killed := deletingAt(dbPod(0), 10*time.Second)
		f.at(10*time.Second + 5*ms).PodChanged(killed)
		f.at(10*time.Second+500*ms).PodGone(killed, false)
		repl := dbPod(0)
		repl.UID, repl.Created, repl.Ready = "uid-db-0-new", t0.Add(11*time.Second), false
		f.at(11 * time.Second).PodChanged(repl)
		open := f.tr.OpenIncidents()
		require.Len(t, open, 1)
		require.Equal(t, t0.Add(10*time.Second), open[0].Start)
	})
	t.Run("scaled down from 2 to 1 is no incident", func(t *testing.T) {
		f := setup(t)
		gone := deletingAt(dbPod(1), 10*time.Second)
		f.at(10*time.Second + 5*ms).PodChanged(gone)
		f.at(10*time.Second+30*ms).WorkloadChanged(tracker.Workload{Ref: db, Subject: dbSubject, Desired: 1, Ready: 2}, false)
		f.at(time.Minute)
		require.Empty(t, f.tr.OpenIncidents())
		require.Empty(t, f.incidents(t, tracker.Filter{}))
	})
}

func TestSeveralPodsKilledAtOnceAreOneIncident(t *testing.T) {
	f := newFixture(t)
	f.healthyWeb()
	f.at(10 * time.Second).PodChanged(deletingAt(webPod(1), 10*time.Second))
	f.at(10*time.Second + 5*ms).PodChanged(deletingAt(webPod(2), 10*time.Second+5*ms))
	require.Equal(t, 2, f.tr.HeldDeletions())
	f.at(10*time.Second + 40*ms).PodChanged(replacement(4, 10*time.Second))
	f.at(10*time.Second + 50*ms).PodChanged(replacement(5, 10*time.Second))
	open := f.tr.OpenIncidents()
	require.Len(t, open, 1, "one incident")
	require.Equal(t, t0.Add(10*time.Second), open[0].Start, "from the first deletion")
	require.Equal(t, 2, open[0].Events)

	f.at(12 * time.Second).PodChanged(readyAt(replacement(4, 10*time.Second), 12*time.Second))
	require.Len(t, f.tr.OpenIncidents(), 1, "still one short")
	f.at(13 * time.Second).PodChanged(readyAt(replacement(5, 10*time.Second), 13*time.Second))
	recovered := f.rec.Recoveries()
	require.Len(t, recovered, 1)
	require.Equal(t, 3*time.Second, recovered[0].TimeToRecover())
}

func TestADeletionTheClusterGaveACauseForIsNotHeld(t *testing.T) {
	for _, tc := range []struct {
		name   string
		pod    tracker.Pod
		missed bool
	}{
		{"an eviction", func() tracker.Pod { p := deletingAt(webPod(1), 10*time.Second); p.Reason = "eviction_api"; return p }(), false},
		{"a failed pod", func() tracker.Pod { p := webPod(1); p.Failed, p.Reason = true, "kubelet"; return p }(), false},
		{"a deletion a relist found", deletingAt(webPod(1), 10*time.Second), true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t)
			f.healthyWeb()
			f.at(10 * time.Second)
			if tc.missed {
				f.tr.PodGone(tc.pod, true)
			} else {
				f.tr.PodChanged(tc.pod)
			}
			require.Zero(t, f.tr.HeldDeletions())
			require.Len(t, f.tr.OpenIncidents(), 1, "opened at once, as before")
		})
	}
}

func TestAWorkloadDeletedWhileItsPodDeletionIsHeldHasNoIncident(t *testing.T) {
	f := newFixture(t)
	f.healthyWeb()
	f.at(10 * time.Second).PodChanged(deletingAt(webPod(1), 10*time.Second))
	f.at(10*time.Second + 20*ms).WorkloadGone(web)
	require.Zero(t, f.tr.HeldDeletions())
	f.at(time.Minute)
	require.Empty(t, f.tr.OpenIncidents())
	require.Empty(t, f.incidents(t, tracker.Filter{}), "its pods going away are the deletion's cascade")
}

// Nothing calls the tracker once the informers are quiet: its own timer
// decides what the bound decides, so the store has it within the bound.
func TestAHeldDeletionReachesTheStoreWithinTheBoundWithoutAnyCall(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		start := time.Now()
		store := tracker.NewMemoryStore()
		tr := tracker.New(tracker.Options{Store: store})
		tr.WorkloadChanged(tracker.Workload{Ref: web, Subject: webSubject, Desired: 3, Ready: 3}, true)
		tr.WorkloadChanged(tracker.Workload{Ref: db, Subject: dbSubject, Desired: 2, Ready: 2}, true)
		for i := 1; i <= 3; i++ {
			tr.PodChanged(webPod(i))
		}
		tr.PodChanged(dbPod(0))
		tr.PodChanged(dbPod(1))
		stored := func() []chaos.Incident {
			incs, err := store.List(t.Context(), tracker.Filter{})
			require.NoError(t, err)
			return incs
		}

		tr.PodChanged(deletingAt(webPod(1), 0))
		time.Sleep(2 * time.Second)
		tr.PodChanged(deletingAt(dbPod(0), 0))
		time.Sleep(tracker.ScaleDownHold - 2*time.Second - time.Nanosecond)
		synctest.Wait()
		require.Empty(t, stored(), "within the bound")

		time.Sleep(time.Nanosecond)
		synctest.Wait()
		incs := stored()
		require.Len(t, incs, 1, "web's, at its bound")
		require.Equal(t, web, incs[0].Object)

		time.Sleep(2 * time.Second)
		synctest.Wait()
		require.Len(t, stored(), 2, "db's, at its own bound")
		require.Equal(t, start.Add(tracker.ScaleDownHold+2*time.Second), time.Now())
	})
}
