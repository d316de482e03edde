package tracker_test

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/steadywatch/steadywatch/chaos"
	"github.com/steadywatch/steadywatch/tracker"
)

var (
	hpaRef  = chaos.Ref{Kind: "HorizontalPodAutoscaler", Namespace: "shop", Name: "web"}
	webNode = tracker.Node{Name: "node-1", Subject: chaos.Subject{Group: chaos.NoGroup}, Ready: true, Since: chaos.Timestamp{Cluster: t0.Add(-time.Hour)}}
	webHPA  = tracker.HPA{Ref: hpaRef, Subject: webSubject, Desired: 3, ScaledAt: chaos.Timestamp{Cluster: t0.Add(-time.Hour)}}
	webWL   = tracker.Workload{Ref: web, Subject: webSubject, Desired: 3, Ready: 3}
)

// savedInventory is what a tracker watching a healthy web saved a minute
// after t0.
func savedInventory(t *testing.T) tracker.Inventory {
	t.Helper()
	f := newFixture(t)
	f.healthyWeb()
	f.tr.NodeChanged(webNode)
	f.tr.HPAChanged(webHPA)
	// Neither a terminating pod nor a bare one is worth remembering.
	f.tr.PodChanged(deletingAt(replacement(7, 0), 30*time.Second))
	bare := webPod(8)
	bare.Workload = chaos.Ref{}
	f.tr.PodChanged(bare)
	f.clock.Set(t0.Add(time.Minute))
	return f.tr.Snapshot()
}

func TestSnapshotHoldsWhatARestartedWatcherNeeds(t *testing.T) {
	inv := savedInventory(t)
	var pods []tracker.InventoryPod
	for i := 1; i <= 3; i++ {
		p := webPod(i)
		pods = append(pods, tracker.InventoryPod{
			UID: p.UID, Ref: p.Ref, Subject: p.Subject, Workload: web, Node: p.Node, Created: p.Created, Ready: true,
		})
	}
	require.Equal(t, tracker.Inventory{
		SavedAt:   t0.Add(time.Minute),
		Pods:      pods,
		Nodes:     []tracker.InventoryNode{{Name: "node-1", Subject: webNode.Subject, Ready: true}},
		HPAs:      []tracker.InventoryHPA{{Ref: hpaRef, Subject: webSubject, Desired: 3}},
		Workloads: []tracker.InventoryWorkload{{Ref: web, Subject: webSubject, Desired: 3, Ready: 3, Available: true}},
	}, inv)
}

func TestARestartedWatcherThatListsEverythingAgainReportsNothing(t *testing.T) {
	inv := savedInventory(t)
	f := newFixtureAt(t, 10*time.Minute)
	f.tr.Restore(inv)
	f.tr.WorkloadChanged(webWL, true)
	for i := 1; i <= 3; i++ {
		f.tr.PodChanged(webPod(i))
	}
	f.tr.NodeChanged(webNode)
	f.tr.HPAChanged(webHPA)
	f.tr.Reconcile()

	require.Empty(t, f.rec.Events())
	require.Empty(t, f.tr.OpenIncidents())
	require.Empty(t, f.incidents(t, tracker.Filter{}))
	after := f.tr.Snapshot()
	after.SavedAt = inv.SavedAt
	require.Equal(t, inv, after, "the restored state is the saved state")
}

func TestAPodDeletedWhileNobodyWatchedIsReportedAsMissed(t *testing.T) {
	inv := savedInventory(t)
	f := newFixtureAt(t, 10*time.Minute)
	f.tr.Restore(inv)

	// The informers list everything but web-3, and the pod that replaced
	// it five minutes after t0, ready three seconds later.
	f.tr.WorkloadChanged(webWL, true)
	f.tr.PodChanged(webPod(1))
	f.tr.PodChanged(webPod(2))
	p := replacement(4, 5*time.Minute)
	p.Ready = true
	p.ReadyAt = chaos.Timestamp{Cluster: t0.Add(5*time.Minute + 3*time.Second), Observed: t0.Add(10 * time.Minute)}
	f.tr.PodChanged(p)
	f.tr.NodeChanged(webNode)
	f.tr.HPAChanged(webHPA)
	require.Empty(t, f.rec.Events(), "nothing is known to be gone before every informer listed")

	f.tr.Reconcile()

	gone := webPod(3)
	require.Equal(t, []chaos.Event{{
		Kind: chaos.PodDeleted, Subject: podSubject, Object: gone.Ref, Workload: web, Node: gone.Node,
		At: chaos.Timestamp{Cluster: t0.Add(5 * time.Minute)}, Reason: "deleted", Missed: true,
	}}, f.rec.Events())
	require.Empty(t, f.tr.OpenIncidents())
	recovered := f.rec.Recoveries()
	require.Len(t, recovered, 1)
	require.Equal(t, chaos.PodDeleted, recovered[0].Kind)
	require.Equal(t, web, recovered[0].Object)
	require.True(t, recovered[0].Missed)
	require.Equal(t, t0.Add(5*time.Minute), recovered[0].Start, "started when the replacement was created")
	require.Equal(t, t0.Add(5*time.Minute+3*time.Second), recovered[0].End, "ended when the replacement became ready")
	require.Equal(t, recovered, f.incidents(t, tracker.Filter{}))

	f.tr.Reconcile()
	require.Len(t, f.rec.Events(), 1, "reconciling twice reports nothing new")
}

func TestAPodDeletedWhileNobodyWatchedAndNotReplacedYetStaysAnOpenIncident(t *testing.T) {
	inv := savedInventory(t)
	f := newFixtureAt(t, 10*time.Minute)
	f.tr.Restore(inv)
	f.tr.WorkloadChanged(tracker.Workload{Ref: web, Subject: webSubject, Desired: 3, Ready: 2}, true)
	f.tr.PodChanged(webPod(1))
	f.tr.PodChanged(webPod(2))
	f.tr.Reconcile()

	require.Equal(t, []chaos.Kind{chaos.PodDeleted}, f.rec.Kinds(), "the deletion explains the degradation: one event")
	events := f.rec.Events()
	require.True(t, events[0].Missed)
	require.Equal(t, chaos.Timestamp{Cluster: t0.Add(10 * time.Minute)}, events[0].At, "without a replacement, only the reconciliation dates it")
	open := f.tr.OpenIncidents()
	require.Len(t, open, 1)
	require.Equal(t, chaos.PodDeleted, open[0].Kind, "the deletion explains the degradation")
	require.True(t, open[0].Missed)

	f.clock.Set(t0.Add(11 * time.Minute))
	f.tr.PodChanged(readyAt(replacement(4, 10*time.Minute+30*time.Second), 11*time.Minute))
	require.Len(t, f.rec.Recoveries(), 1)
	require.Equal(t, time.Minute, f.rec.Recoveries()[0].TimeToRecover())
}

func TestObjectsDeletedWhileNobodyWatchedAreForgotten(t *testing.T) {
	inv := savedInventory(t)
	f := newFixtureAt(t, 10*time.Minute)
	f.tr.Restore(inv)
	// The whole web Deployment, its pods, its node and its autoscaler are gone.
	f.tr.Reconcile()

	require.Equal(t, []chaos.Kind{chaos.PodDeleted, chaos.PodDeleted, chaos.PodDeleted}, f.rec.Kinds())
	require.Empty(t, f.tr.OpenIncidents(), "a deleted workload has nothing to recover")
	require.Empty(t, f.incidents(t, tracker.Filter{}))
	require.Empty(t, f.tr.Workloads())
	snap := f.tr.Snapshot()
	require.Empty(t, snap.Pods)
	require.Empty(t, snap.Nodes)
	require.Empty(t, snap.HPAs)
	require.Empty(t, snap.Workloads)
}

func TestReconcilingEndsIncidentsOfWorkloadsThatNoListFound(t *testing.T) {
	f := newFixture(t)
	// A pod of a Deployment deleted before the watch started, terminating
	// as its orphaned ReplicaSet is collected.
	orphan := deletingAt(webPod(1), 2*time.Second)
	f.at(2 * time.Second).PodChanged(orphan)
	require.Len(t, f.tr.OpenIncidents(), 1, "until the workloads are listed, the pod may be a fault")

	f.at(3 * time.Second).Reconcile()
	require.Empty(t, f.tr.OpenIncidents())
	require.Empty(t, f.rec.Recoveries())

	f.at(4 * time.Second).PodChanged(deletingAt(webPod(2), 4*time.Second))
	require.Empty(t, f.tr.OpenIncidents())
}

func TestReconcilingWithoutARestoreChangesNothing(t *testing.T) {
	f := newFixture(t)
	f.healthyWeb()
	f.tr.Reconcile()
	require.Empty(t, f.rec.Events())
	require.Len(t, f.tr.Snapshot().Pods, 3)
}

func TestFileInventory(t *testing.T) {
	t.Run("what was saved loads back", func(t *testing.T) {
		inv := savedInventory(t)
		inv.Cluster = "3f0c-kube-system-uid"
		dir := filepath.Join(t.TempDir(), "data", "nested")
		fi := tracker.FileInventory{Path: filepath.Join(dir, "inventory.json")}
		require.NoError(t, fi.Save(inv))

		got, ok, err := fi.Load()
		require.NoError(t, err)
		require.True(t, ok)
		require.Equal(t, inv, got)
	})

	t.Run("saving again replaces the inventory and leaves no temporary file", func(t *testing.T) {
		dir := t.TempDir()
		fi := tracker.FileInventory{Path: filepath.Join(dir, "inventory.json")}
		require.NoError(t, fi.Save(tracker.Inventory{Cluster: "a"}))
		require.NoError(t, fi.Save(tracker.Inventory{Cluster: "b"}))

		got, ok, err := fi.Load()
		require.NoError(t, err)
		require.True(t, ok)
		require.Equal(t, "b", got.Cluster)
		entries, err := os.ReadDir(dir)
		require.NoError(t, err)
		require.Len(t, entries, 1)
	})

	t.Run("a missing file is no inventory yet, not an error", func(t *testing.T) {
		fi := tracker.FileInventory{Path: filepath.Join(t.TempDir(), "inventory.json")}
		got, ok, err := fi.Load()
		require.NoError(t, err)
		require.False(t, ok)
		require.Zero(t, got)
	})

	t.Run("a corrupt file is an error naming it", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "inventory.json")
		require.NoError(t, os.WriteFile(path, []byte(`{"cluster": "a", "pods": [`), 0o600))
		_, ok, err := tracker.FileInventory{Path: path}.Load()
		require.ErrorContains(t, err, "inventory "+path+" is corrupt: ")
		require.False(t, ok)
	})

	t.Run("an unreadable path is an error", func(t *testing.T) {
		_, ok, err := tracker.FileInventory{Path: t.TempDir()}.Load()
		require.ErrorContains(t, err, "reading inventory: ")
		require.False(t, ok)
	})
}

func TestAReplacementCreatedWithinTheSecondOfTheSaveIsFound(t *testing.T) {
	f0 := newFixture(t)
	f0.healthyWeb()
	f0.clock.Set(t0.Add(time.Minute + 400*time.Millisecond))
	inv := f0.tr.Snapshot()

	f := newFixtureAt(t, 2*time.Minute)
	f.tr.Restore(inv)
	f.tr.WorkloadChanged(webWL, true)
	f.tr.PodChanged(webPod(1))
	f.tr.PodChanged(webPod(2))
	// An older pod the inventory did not hold is no replacement.
	older := replacement(5, 30*time.Second)
	older.Workload = web
	f.tr.PodChanged(older)
	// web-3 was deleted 100ms after the save; its replacement was created
	// 300ms later, which the cluster records as the second of the save.
	p := replacement(4, time.Minute)
	p.Ready = true
	p.ReadyAt = chaos.Timestamp{Cluster: t0.Add(time.Minute + 2*time.Second), Observed: t0.Add(2 * time.Minute)}
	f.tr.PodChanged(p)
	f.tr.Reconcile()

	events := f.rec.Events()
	require.Len(t, events, 1)
	require.Equal(t, chaos.Timestamp{Cluster: t0.Add(time.Minute)}, events[0].At)
	recovered := f.rec.Recoveries()
	require.Len(t, recovered, 1)
	require.Equal(t, 2*time.Second, recovered[0].TimeToRecover())
}

func TestARestoredWorkloadWhoseStatusLagsItsReplacedPodsIsNotDegraded(t *testing.T) {
	inv := savedInventory(t)
	f := newFixtureAt(t, 10*time.Minute)
	f.tr.Restore(inv)
	// The controller has not counted the replacement yet; the pods have.
	f.tr.WorkloadChanged(tracker.Workload{Ref: web, Subject: webSubject, Desired: 3, Ready: 2}, true)
	f.tr.PodChanged(webPod(1))
	f.tr.PodChanged(webPod(2))
	f.tr.PodChanged(readyAt(replacement(4, 9*time.Minute), 9*time.Minute+2*time.Second))
	f.tr.Reconcile()
	f.tr.WorkloadChanged(tracker.Workload{Ref: web, Subject: webSubject, Desired: 3, Ready: 3}, true)

	require.Equal(t, []chaos.Kind{chaos.PodDeleted}, f.rec.Kinds(), "no degradation from a lagging status")
	recovered := f.rec.Recoveries()
	require.Len(t, recovered, 1, "one incident, from the missed deletion")
	require.Equal(t, 2*time.Second, recovered[0].TimeToRecover())
}

func TestARestoredWorkloadDegradedWhileNobodyWatchedIsAMissedDegradation(t *testing.T) {
	inv := savedInventory(t)
	f := newFixtureAt(t, 10*time.Minute)
	f.tr.Restore(inv)
	notReady := webPod(3)
	notReady.Ready = false
	f.tr.WorkloadChanged(tracker.Workload{Ref: web, Subject: webSubject, Desired: 3, Ready: 2}, true)
	f.tr.PodChanged(webPod(1))
	f.tr.PodChanged(webPod(2))
	f.tr.PodChanged(notReady)
	f.tr.Reconcile()

	require.Equal(t, []chaos.Kind{chaos.WorkloadDegraded}, f.rec.Kinds())
	require.True(t, f.rec.Events()[0].Missed)
	require.Len(t, f.tr.OpenIncidents(), 1)
}

// TestSameStateIgnoresOnlyWhenTheSnapshotWasTaken: the checkpoint skips a
// write when nothing but the time changed, and only then.
func TestSameStateIgnoresOnlyWhenTheSnapshotWasTaken(t *testing.T) {
	f := newFixture(t)
	f.healthyWeb()
	f.tr.NodeChanged(webNode)
	f.tr.HPAChanged(webHPA)
	before := f.tr.Snapshot()
	f.clock.Set(t0.Add(time.Minute))
	f.tr.PodChanged(webPod(1)) // an update that changes nothing kept
	f.tr.NodeChanged(webNode)
	later := f.tr.Snapshot()
	require.NotEqual(t, before.SavedAt, later.SavedAt)
	require.True(t, later.SameState(before))

	for name, change := range map[string]func(f *fixture){
		"a pod not ready": func(f *fixture) {
			p := webPod(2)
			p.Ready = false
			f.tr.PodChanged(p)
		},
		"a new pod":         func(f *fixture) { f.tr.PodChanged(replacement(7, 0)) },
		"a pod gone":        func(f *fixture) { f.tr.PodGone(webPod(3), false) },
		"a node not ready":  func(f *fixture) { n := webNode; n.Ready = false; f.tr.NodeChanged(n) },
		"an HPA scaled":     func(f *fixture) { h := webHPA; h.Desired = 5; f.tr.HPAChanged(h) },
		"a workload scaled": func(f *fixture) { w := webWL; w.Desired = 4; f.tr.WorkloadChanged(w, true) },
	} {
		t.Run(name, func(t *testing.T) {
			f := newFixture(t)
			f.healthyWeb()
			f.tr.NodeChanged(webNode)
			f.tr.HPAChanged(webHPA)
			before := f.tr.Snapshot()
			change(f)
			require.False(t, f.tr.Snapshot().SameState(before))
		})
	}
	other := later
	other.Cluster = "another"
	require.False(t, other.SameState(later), "another cluster's")
}
