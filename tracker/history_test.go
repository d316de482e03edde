package tracker_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/steadywatch/steadywatch/chaos"
	"github.com/steadywatch/steadywatch/tracker"
)

func TestARestartedTrackerClosesTheIncidentsItInherited(t *testing.T) {
	f := newFixture(t)
	f.healthyWeb()
	f.at(10 * time.Second).PodChanged(deletingAt(webPod(1), 10*time.Second))
	f.lossCounted(2)
	inherited := f.tr.OpenIncidents()
	require.Len(t, inherited, 1)
	inv := f.tr.Snapshot()

	// The process stops before the replacement is ready, and starts again.
	g := newFixture(t)
	g.at(20 * time.Second)
	g.tr.Restore(inv)
	g.tr.RestoreHistory(inherited)
	require.Equal(t, inherited, g.tr.OpenIncidents(), "open again before the informers list")
	g.tr.WorkloadChanged(tracker.Workload{Ref: web, Subject: webSubject, Desired: 3, Ready: 2}, true)
	for i := 2; i <= 3; i++ {
		g.tr.PodChanged(webPod(i))
	}
	g.tr.PodChanged(replacement(4, 11*time.Second))
	g.tr.Reconcile()
	require.Len(t, g.tr.OpenIncidents(), 1, "still waiting for the replacement")

	g.at(21 * time.Second).PodChanged(readyAt(replacement(4, 11*time.Second), 21*time.Second))
	recovered := g.rec.Recoveries()
	require.Len(t, recovered, 1)
	require.Equal(t, inherited[0].ID, recovered[0].ID, "the inherited incident closes, no new one")
	require.Equal(t, 11*time.Second, recovered[0].TimeToRecover())
	require.Empty(t, g.tr.OpenIncidents())
}

func TestMTBFContinuesFromThePreviousRunsLastFailure(t *testing.T) {
	f := newFixture(t)
	f.tr.RestoreHistory([]chaos.Incident{
		{ID: "old", Kind: chaos.PodDeleted, Subject: webSubject, Object: web, Start: t0.Add(-2 * time.Hour), End: t0.Add(-2*time.Hour + time.Second)},
		{ID: "older", Kind: chaos.PodDeleted, Subject: webSubject, Object: web, Start: t0.Add(-5 * time.Hour), End: t0.Add(-5*time.Hour + time.Second)},
		{ID: "scaling", Kind: chaos.HPAScaledUp, Subject: webSubject, Object: web, Start: t0.Add(-time.Hour), End: t0},
	})
	f.healthyWeb()
	f.at(10 * time.Second).PodChanged(deletingAt(webPod(1), 10*time.Second))
	f.lossCounted(2)
	between := f.rec.Between()
	require.Len(t, between, 1)
	require.Equal(t, 2*time.Hour+10*time.Second, between[0].D, "measured from the latest failure, not from the HPA scaling")
}

func TestAnInheritedScaleUpThatEndedWhileNobodyWatchedCloses(t *testing.T) {
	f := newFixture(t)
	hpaRef := chaos.Ref{Kind: "HorizontalPodAutoscaler", Namespace: "shop", Name: "web"}
	f.tr.RestoreHistory([]chaos.Incident{{
		ID: "up", Kind: chaos.HPAScaledUp, Subject: webSubject, Object: hpaRef, Start: t0.Add(-time.Minute), Baseline: 3,
	}})
	f.at(time.Minute).HPAChanged(tracker.HPA{Ref: hpaRef, Subject: webSubject, Desired: 3, ScaledAt: chaos.Timestamp{Cluster: t0.Add(30 * time.Second)}})
	recovered := f.rec.Recoveries()
	require.Len(t, recovered, 1)
	require.Equal(t, 90*time.Second, recovered[0].TimeToRecover())
}

func TestAnInheritedShareOfANodeFaultClosesWithItsWorkload(t *testing.T) {
	f := newFixture(t)
	f.healthyWeb()
	f.at(0).NodeChanged(tracker.Node{Name: "node-1", Subject: chaos.Subject{Group: chaos.NoGroup}, Ready: true, Since: ts(-time.Hour)})
	f.at(10 * time.Second).NodeChanged(tracker.Node{Name: "node-1", Subject: chaos.Subject{Group: chaos.NoGroup}, Since: ts(10 * time.Second)})
	inherited := f.tr.OpenIncidents()
	require.Len(t, inherited, 2, "the node's own and web's share")
	inv := f.tr.Snapshot()

	g := newFixture(t)
	g.at(20 * time.Second)
	g.tr.Restore(inv)
	g.tr.RestoreHistory(inherited)
	g.tr.WorkloadChanged(tracker.Workload{Ref: web, Subject: webSubject, Desired: 3, Ready: 3}, true)
	g.tr.NodeChanged(tracker.Node{Name: "node-1", Subject: chaos.Subject{Group: chaos.NoGroup}, Since: ts(10 * time.Second)})
	for i := 1; i <= 3; i++ {
		g.tr.PodChanged(webPod(i))
	}
	g.tr.Reconcile()
	require.Len(t, g.tr.OpenIncidents(), 2, "web's pod on node-1 still serves nothing")

	g.at(30 * time.Second).NodeChanged(tracker.Node{Name: "node-1", Subject: chaos.Subject{Group: chaos.NoGroup}, Ready: true, Since: ts(30 * time.Second)})
	recovered := g.rec.Recoveries()
	require.Len(t, recovered, 2, "both close, no new one")
	for _, inc := range recovered {
		require.Equal(t, 20*time.Second, inc.TimeToRecover(), inc.ID)
	}
	require.Empty(t, g.tr.OpenIncidents())
}

func TestARestoredPodsPastRestartsAreNoEvents(t *testing.T) {
	f := newFixture(t)
	f.healthyWeb()
	inv := f.tr.Snapshot()

	g := newFixture(t)
	g.at(20 * time.Second)
	g.tr.Restore(inv)
	g.tr.WorkloadChanged(tracker.Workload{Ref: web, Subject: webSubject, Desired: 3, Ready: 3}, true)
	for i := 1; i <= 3; i++ {
		p := webPod(i)
		p.Restarts = 3
		g.tr.PodChanged(p)
	}
	g.tr.Reconcile()
	require.Empty(t, g.rec.Events(), "restarts counted before are history")

	p := webPod(1)
	p.Restarts, p.Ready, p.Down, p.ReadyAt = 3, false, tracker.ContainerOOMKilled, ts(30*time.Second)
	g.at(30 * time.Second).PodChanged(p)
	require.Equal(t, []chaos.Kind{chaos.ContainerRestarted}, g.rec.Kinds(), "a new crash after the restart is one")
}
