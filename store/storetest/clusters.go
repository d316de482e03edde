package storetest

import (
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/steadywatch/steadywatch/alert"
	"github.com/steadywatch/steadywatch/chaos"
	"github.com/steadywatch/steadywatch/experiment"
	"github.com/steadywatch/steadywatch/store"
	"github.com/steadywatch/steadywatch/tracker"
	"github.com/steadywatch/steadywatch/verdict"
)

// openCluster opens db as the store of cluster and closes it when the test
// ends.
func openCluster(t *testing.T, db Database, cluster string) store.Store {
	t.Helper()
	s, err := store.Open(t.Context(), db.DSN, store.Options{
		Logger: slog.New(slog.NewTextHandler(t.Output(), nil)), Cluster: cluster,
	})
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, s.Close()) })
	return s
}

// clusterRows is what one cluster's steadywatch writes in testClusters:
// the same in both clusters but for the service, so that a row read from
// the wrong cluster shows.
type clusterRows struct {
	incident   chaos.Incident
	event      chaos.Event
	alert      alert.Alert
	inv        tracker.Inventory
	span       chaos.WatchSpan
	verdict    verdict.Transition
	delivery   store.Delivery
	experiment experiment.Experiment
}

func rowsOf(t *testing.T, service string) clusterRows {
	r := clusterRows{
		incident: newIncident("same-id", service, 0),
		event: chaos.Event{
			Kind: chaos.PodDeleted, Subject: chaos.Subject{Namespace: "shop", Service: service},
			Object: chaos.Ref{Kind: "Pod", Namespace: "shop", Name: "p"}, At: chaos.Timestamp{Observed: at(1)},
		},
		alert:    newAlert("same-fingerprint", "HighErrorRate", service, 2),
		inv:      tracker.Inventory{Cluster: service, SavedAt: at(3)},
		span:     chaos.WatchSpan{Session: "same-session", Resource: "pods", From: at(0), To: at(10), Err: service},
		verdict:  transition(t, "same-hypothesis", 4, verdict.Fail, 20, true),
		delivery: pendingDelivery("same-webhook", "2026-W10", 5),
		// Keyed alike in both clusters, told apart by its detail.
		experiment: newExperiment(experiment.ChaosMesh, "same-experiment", 6, 7),
	}
	r.delivery.LastError = service
	r.experiment.Detail = service
	return r
}

// write stores r through s, checking that each row was new to s's cluster.
func (r *clusterRows) write(t *testing.T, s store.Store) {
	ctx := t.Context()
	require.NoError(t, s.Save(ctx, r.incident))
	require.NoError(t, s.SaveEvent(ctx, r.event))
	n, err := s.SaveAlerts(ctx, []alert.Alert{r.alert})
	require.NoError(t, err)
	require.Equal(t, 1, n, "the alert is new to this cluster")
	require.NoError(t, s.SaveInventory(ctx, r.inv))
	require.NoError(t, s.SaveCoverage(ctx, []chaos.WatchSpan{r.span}))
	require.NoError(t, s.SaveVerdict(ctx, r.verdict))
	created, err := s.CreateDelivery(ctx, r.delivery)
	require.NoError(t, err)
	require.True(t, created, "the delivery is new to this cluster")
	require.NoError(t, s.SaveExperiment(ctx, r.experiment))
}

// inCluster is r as a store of cluster reads it back.
func (r clusterRows) inCluster(cluster string) clusterRows {
	r.incident.Cluster, r.alert.Cluster, r.verdict.Cluster, r.delivery.Cluster = cluster, cluster, cluster, cluster
	r.experiment.Cluster = cluster
	return r
}

// requireReads checks that s reads exactly want's rows, in this order.
func requireReads(t *testing.T, s store.Store, want ...clusterRows) {
	t.Helper()
	ctx := t.Context()
	var (
		incs   []chaos.Incident
		events []chaos.Event
		alerts []alert.Alert
		spans  []chaos.WatchSpan
		trs    []verdict.Transition
		dels   []store.Delivery
		exps   []experiment.Experiment
	)
	for _, r := range want {
		incs, events, alerts = append(incs, r.incident), append(events, r.event), append(alerts, r.alert)
		spans, trs, dels = append(spans, r.span), append(trs, r.verdict), append(dels, r.delivery)
		exps = append(exps, r.experiment)
	}
	gotIncs, err := s.List(ctx, tracker.Filter{})
	require.NoError(t, err)
	require.Equal(t, incs, gotIncs)
	gotEvents, err := s.Events(ctx, tracker.Filter{})
	require.NoError(t, err)
	require.ElementsMatch(t, events, gotEvents)
	gotAlerts, err := s.Alerts(ctx, alert.Filter{})
	require.NoError(t, err)
	require.Equal(t, alerts, gotAlerts)
	gotSpans, err := s.Coverage(ctx, time.Time{}, time.Time{})
	require.NoError(t, err)
	require.ElementsMatch(t, spans, gotSpans)
	gotTrs, err := s.LatestVerdicts(ctx, time.Time{})
	require.NoError(t, err)
	require.Equal(t, trs, gotTrs)
	var each []verdict.Transition
	require.NoError(t, s.EachVerdict(ctx, time.Time{}, time.Time{}, func(tr *verdict.Transition) error {
		each = append(each, *tr)
		return nil
	}))
	require.Equal(t, trs, each)
	gotDels, err := s.Deliveries(ctx, store.DeliveryFilter{})
	require.NoError(t, err)
	require.Equal(t, dels, gotDels)
	gotExps, err := s.Experiments(ctx, store.ExperimentFilter{})
	require.NoError(t, err)
	require.Equal(t, exps, gotExps)
}

func testClusters(t *testing.T, db Database) {
	ctx := t.Context()
	east, west := openCluster(t, db, "east"), openCluster(t, db, "west")
	unnamed := openCluster(t, db, "")
	eastRows, westRows := rowsOf(t, "east-api"), rowsOf(t, "west-api")
	eastRows.write(t, east)
	westRows.write(t, west)

	t.Run("each store reads its own cluster's rows, each carrying the cluster", func(t *testing.T) {
		requireReads(t, east, eastRows.inCluster("east"))
		requireReads(t, west, westRows.inCluster("west"))
		requireReads(t, unnamed)
		for _, c := range []struct {
			s    store.Store
			want tracker.Inventory
		}{{east, eastRows.inv}, {west, westRows.inv}} {
			inv, ok, err := c.s.LoadInventory(ctx)
			require.NoError(t, err)
			require.True(t, ok)
			require.Equal(t, c.want, inv, "the inventory is kept per cluster")
		}
		_, ok, err := unnamed.LoadInventory(ctx)
		require.NoError(t, err)
		require.False(t, ok, "the unnamed cluster saved no inventory")
	})

	t.Run("views read another cluster, and every cluster with *", func(t *testing.T) {
		viewWest, err := east.ForCluster("west")
		require.NoError(t, err)
		requireReads(t, viewWest, westRows.inCluster("west"))
		all, err := unnamed.ForCluster(store.AllClusters)
		require.NoError(t, err)
		requireReads(t, all, eastRows.inCluster("east"), westRows.inCluster("west"))
		_, _, err = all.LoadInventory(ctx)
		require.ErrorContains(t, err, "an inventory is one cluster's")
		require.NoError(t, viewWest.Close())
		requireReads(t, west, westRows.inCluster("west")) // closing the view closed nothing
		names, err := west.Clusters(ctx)
		require.NoError(t, err)
		require.Equal(t, []string{"east", "west"}, names)
	})

	t.Run("a write through a view is refused and stores nothing", func(t *testing.T) {
		view, err := east.ForCluster("west")
		require.NoError(t, err)
		again := rowsOf(t, "through-view")
		again.incident.ID = "other-id"
		for name, write := range map[string]func() error{
			"Save":      func() error { return view.Save(ctx, again.incident) },
			"SaveEvent": func() error { return view.SaveEvent(ctx, again.event) },
			"SaveAlerts": func() error {
				_, err := view.SaveAlerts(ctx, []alert.Alert{newAlert("other", "X", "x", 9)})
				return err
			},
			"SetDetection": func() error {
				_, err := view.SetDetection(ctx, "same-id", chaos.Detection{Undetected: true})
				return err
			},
			"SaveInventory": func() error { return view.SaveInventory(ctx, again.inv) },
			"SaveCoverage":  func() error { return view.SaveCoverage(ctx, []chaos.WatchSpan{again.span}) },
			"SaveVerdict":   func() error { return view.SaveVerdict(ctx, again.verdict) },
			"CreateDelivery": func() error {
				_, err := view.CreateDelivery(ctx, pendingDelivery("other", "2026-W11", 7))
				return err
			},
			"UpdateDelivery": func() error {
				d := again.delivery
				d.State = store.DeliveryFailed
				_, err := view.UpdateDelivery(ctx, d, 0)
				return err
			},
		} {
			require.ErrorIs(t, write(), store.ErrReadOnlyView, name)
		}
		requireReads(t, west, westRows.inCluster("west"))
		requireReads(t, east, eastRows.inCluster("east"))
	})

	t.Run("a write by key touches its own cluster's row only", func(t *testing.T) {
		d := chaos.Detection{At: at(9), Alert: "HighErrorRate", Fingerprint: "same-fingerprint"}
		updated, err := east.SetDetection(ctx, "same-id", d)
		require.NoError(t, err)
		require.True(t, updated)
		got, err := west.List(ctx, tracker.Filter{Undecided: true})
		require.NoError(t, err)
		require.Len(t, got, 1, "west's incident of the same ID is still undecided")
		n, err := east.SaveAlerts(ctx, []alert.Alert{eastRows.alert})
		require.NoError(t, err)
		require.Zero(t, n, "sent again to east, the alert is not new")
		as, err := west.Alerts(ctx, alert.Filter{})
		require.NoError(t, err)
		require.Equal(t, 1, as[0].Deliveries, "west's alert of the same fingerprint was not redelivered")
		claimed := eastRows.delivery
		claimed.Attempts = 1
		ok, err := east.UpdateDelivery(ctx, claimed, 0)
		require.NoError(t, err)
		require.True(t, ok)
		ds, err := west.Deliveries(ctx, store.DeliveryFilter{})
		require.NoError(t, err)
		require.Zero(t, ds[0].Attempts, "west's delivery of the same webhook and week is unclaimed")
	})

	t.Run("names that are no cluster's are refused", func(t *testing.T) {
		for _, name := range []string{"East", "a_b", "-x", "**"} {
			_, err := east.ForCluster(name)
			require.ErrorContains(t, err, fmt.Sprintf("%q is not a valid cluster name", name))
		}
		_, err := store.Open(ctx, db.DSN, store.Options{Cluster: store.AllClusters})
		require.ErrorContains(t, err, `cluster: "*" is not a valid cluster name`, "a store writes one cluster, never all")
	})

	t.Run("Clusters lists a cluster whichever one table alone holds its rows", func(t *testing.T) {
		one := map[string]func(s store.Store) error{
			"incident-only": func(s store.Store) error { return s.Save(ctx, newIncident("i", "x", 0)) },
			"event-only":    func(s store.Store) error { return s.SaveEvent(ctx, rowsOf(t, "x").event) },
			"alert-only": func(s store.Store) error {
				_, err := s.SaveAlerts(ctx, []alert.Alert{newAlert("f", "A", "x", 0)})
				return err
			},
			"inventory-only": func(s store.Store) error { return s.SaveInventory(ctx, tracker.Inventory{SavedAt: at(0)}) },
			"coverage-only":  func(s store.Store) error { return s.SaveCoverage(ctx, []chaos.WatchSpan{rowsOf(t, "x").span}) },
			"delivery-only": func(s store.Store) error {
				_, err := s.CreateDelivery(ctx, pendingDelivery("w", "2026-W10", 5))
				return err
			},
			"verdict-only": func(s store.Store) error { return s.SaveVerdict(ctx, rowsOf(t, "x").verdict) },
		}
		want := []string{"east", "west"}
		for name, write := range one {
			require.NoError(t, write(openCluster(t, db, name)), name)
			want = append(want, name)
		}
		slices.Sort(want)
		names, err := east.Clusters(ctx)
		require.NoError(t, err)
		require.Equal(t, want, names)
	})
}

// testConcurrentClusters has two clusters' steadywatches save the same
// alerts at once, each several times over: each cluster stores each alert
// once, counted new once, and redelivered as often as it was sent.
func testConcurrentClusters(t *testing.T, db Database) {
	ctx := t.Context()
	const alerts, repeats = 50, 4
	batch := make([]alert.Alert, alerts)
	for i := range batch {
		batch[i] = newAlert(fmt.Sprintf("f%03d", i), "HighErrorRate", "api", i)
	}
	clusters := []string{"east", "west"}
	stores := map[string]store.Store{}
	for _, c := range clusters {
		stores[c] = openCluster(t, db, c)
	}
	var (
		wg  sync.WaitGroup
		mu  sync.Mutex
		new = map[string]int{}
	)
	for _, c := range clusters {
		for range repeats {
			wg.Go(func() {
				n, err := stores[c].SaveAlerts(ctx, batch)
				if assertNoError(t, err) {
					mu.Lock()
					new[c] += n
					mu.Unlock()
				}
			})
		}
	}
	wg.Wait()
	require.Equal(t, map[string]int{"east": alerts, "west": alerts}, new, "each alert new once per cluster")
	all, err := stores["east"].ForCluster(store.AllClusters)
	require.NoError(t, err)
	got, err := all.Alerts(ctx, alert.Filter{})
	require.NoError(t, err)
	perCluster := map[string]int{}
	for _, a := range got {
		perCluster[a.Cluster]++
		require.Equal(t, repeats, a.Deliveries, "%s in %s", a.Fingerprint, a.Cluster)
	}
	require.Equal(t, map[string]int{"east": alerts, "west": alerts}, perCluster)
}

// testUpgradeFromV6 writes a row to every table as the steadywatch that
// knew schema 6 would, and reads them back after the upgrade as the
// unnamed cluster's, their keys intact.
func testUpgradeFromV6(t *testing.T, db Database) {
	ctx := t.Context()
	require.NoError(t, db.Migrate(ctx, 6))
	exec := func(query string, args ...any) {
		t.Helper()
		require.NoError(t, db.Exec(ctx, fmt.Sprintf(query, args...)))
	}
	exec(`INSERT INTO incidents (id, kind, namespace, service, subject_group, object_kind, object_namespace,
	object_name, start_ns, end_ns, events, evicted, baseline, missed)
VALUES ('old', 'pod_deleted', 'shop', 'api', 'experimental', 'Deployment', 'shop', 'api', %d, NULL, 1, 0, 0, false)`,
		at(0).UnixNano())
	exec(`INSERT INTO events (kind, namespace, service, subject_group, object_kind, object_namespace, object_name,
	workload_kind, workload_namespace, workload_name, node, cluster_ns, observed_ns, at_ns, reason,
	from_replicas, to_replicas, missed)
VALUES ('pod_deleted', 'shop', 'api', 'experimental', 'Pod', 'shop', 'p', '', '', '', '', NULL, %d, %d, '', 0, 0, false)`,
		at(1).UnixNano(), at(1).UnixNano())
	exec(`INSERT INTO alerts (fingerprint, starts_at_ns, status, labels, annotations, ends_at_ns, generator_url,
	receiver, group_key, received_at_ns, source, deliveries, notifications)
VALUES ('f1', %d, 'firing', '{"alertname":"Old"}', '{}', NULL, '', 'steadywatch', '', %d, 'webhook', 2, 2)`,
		at(2).UnixNano(), at(3).UnixNano())
	exec(`INSERT INTO inventory (id, saved_at_ns, data) VALUES (1, %d, '{"cluster":"kind"}')`,
		at(3).UnixNano())
	exec(`INSERT INTO watch_coverage (session, resource, from_ns, to_ns, ended, error) VALUES ('s1', 'pods', %d, %d, '', '')`,
		at(0).UnixNano(), at(10).UnixNano())
	exec(`INSERT INTO report_deliveries (webhook, week, due_ns, created_ns, state, attempts, next_attempt_ns,
	last_error, updated_ns) VALUES ('slack', '2026-W10', %d, %d, 'pending', 0, NULL, '', %d)`,
		at(5).UnixNano(), at(5).UnixNano(), at(5).UnixNano())
	tr := transition(t, "old-hypothesis", 4, verdict.Fail, 20, true)
	exec(`INSERT INTO verdicts (hypothesis, at_ns, result, score, running, final, reason, verdict)
VALUES ('old-hypothesis', %d, 'fail', 20, false, true, '%s', '%s')`, at(4).UnixNano(), tr.Reason, string(tr.Verdict))

	s := openCluster(t, db, "")
	incs, err := s.List(ctx, tracker.Filter{})
	require.NoError(t, err)
	want := newIncident("old", "api", 0)
	require.Equal(t, []chaos.Incident{want}, incs)
	evs, err := s.Events(ctx, tracker.Filter{})
	require.NoError(t, err)
	require.Len(t, evs, 1)
	as, err := s.Alerts(ctx, alert.Filter{})
	require.NoError(t, err)
	require.Len(t, as, 1)
	require.Empty(t, as[0].Cluster)
	require.Equal(t, 2, as[0].Deliveries)
	inv, ok, err := s.LoadInventory(ctx)
	require.NoError(t, err)
	require.True(t, ok, "the inventory is the unnamed cluster's")
	require.Equal(t, "kind", inv.Cluster)
	spans, err := s.Coverage(ctx, time.Time{}, time.Time{})
	require.NoError(t, err)
	require.Len(t, spans, 1)
	ds, err := s.Deliveries(ctx, store.DeliveryFilter{})
	require.NoError(t, err)
	require.Len(t, ds, 1)
	trs, err := s.LatestVerdicts(ctx, time.Time{})
	require.NoError(t, err)
	sameTransitions(t, []verdict.Transition{tr}, trs)
	names, err := s.Clusters(ctx)
	require.NoError(t, err)
	require.Equal(t, []string{""}, names)

	// The keys hold after the upgrade: the same rows again are no new ones.
	old := as[0]
	old.Deliveries, old.Notifications = 0, 0
	n, err := s.SaveAlerts(ctx, []alert.Alert{old})
	require.NoError(t, err)
	require.Zero(t, n, "the alert stored before the upgrade is not new")
	created, err := s.CreateDelivery(ctx, ds[0])
	require.NoError(t, err)
	require.False(t, created, "the delivery recorded before the upgrade is not recorded again")
	require.NoError(t, s.Save(ctx, want))
	incs, err = s.List(ctx, tracker.Filter{})
	require.NoError(t, err)
	require.Len(t, incs, 1, "the incident saved again replaced its row")

	// A named cluster's store on the upgraded database sees none of it.
	east := openCluster(t, db, "east")
	requireReads(t, east)
	_, ok, err = east.LoadInventory(ctx)
	require.NoError(t, err)
	require.False(t, ok)
	require.NoError(t, db.Migrate(ctx, 0), "migrating again finds nothing to do")
}

// testClusterOrder writes the same rows in two clusters, the later name
// first, and reads every cluster's: rows alike but for their cluster come
// in the clusters' order, whatever the order they were written in, so a
// reader paging or diffing them sees one order.
func testClusterOrder(t *testing.T, db Database) {
	ctx := t.Context()
	rows := rowsOf(t, "api")
	for _, c := range []string{"west", "east", "north"} {
		rows.write(t, openCluster(t, db, c))
	}
	all, err := openCluster(t, db, "").ForCluster(store.AllClusters)
	require.NoError(t, err)
	for range 2 {
		incs, err := all.List(ctx, tracker.Filter{})
		require.NoError(t, err)
		as, err := all.Alerts(ctx, alert.Filter{})
		require.NoError(t, err)
		ds, err := all.Deliveries(ctx, store.DeliveryFilter{})
		require.NoError(t, err)
		var got [3][]string
		for i := range incs {
			got[0] = append(got[0], incs[i].Cluster)
		}
		for i := range as {
			got[1] = append(got[1], as[i].Cluster)
		}
		for i := range ds {
			got[2] = append(got[2], ds[i].Cluster)
		}
		want := []string{"east", "north", "west"}
		require.Equal(t, [3][]string{want, want, want}, got, "incidents, alerts, deliveries")
	}
}

// testAdoptCluster is an installation that stored history unnamed, then
// set cluster: east: the named store refuses to serve it hidden until it
// adopts the rows, which moves every table's in one transaction.
func testAdoptCluster(t *testing.T, db Database) {
	ctx := t.Context()
	unnamed := openCluster(t, db, "")
	old := rowsOf(t, "api")
	old.write(t, unnamed)
	east := openCluster(t, db, "east")

	var hidden *store.HiddenHistoryError
	require.ErrorAs(t, store.CheckHistory(ctx, east, "east"), &hidden)
	require.ErrorContains(t, hidden, `cluster: "east": the store holds history of the unnamed cluster`)
	require.ErrorContains(t, hidden, `steadywatch store adopt-cluster --to east`)
	require.NoError(t, store.CheckHistory(ctx, unnamed, ""), "the unnamed cluster reads its own history")

	view, err := unnamed.ForCluster("east")
	require.NoError(t, err)
	_, err = view.AdoptCluster(ctx, "")
	require.ErrorIs(t, err, store.ErrReadOnlyView)
	_, err = east.AdoptCluster(ctx, "east")
	require.ErrorContains(t, err, "the same cluster")

	adopted, err := east.AdoptCluster(ctx, "")
	require.NoError(t, err)
	require.Equal(t, map[string]int64{
		"incidents": 1, "events": 1, "alerts": 1, "inventory": 1, "watch_coverage": 1, "report_deliveries": 1, "verdicts": 1,
		"experiments": 1,
	}, adopted.Rows)
	require.EqualValues(t, 8, adopted.Total())
	requireReads(t, east, old.inCluster("east"))
	requireReads(t, unnamed)
	inv, ok, err := east.LoadInventory(ctx)
	require.NoError(t, err)
	require.True(t, ok)
	require.Equal(t, old.inv, inv)
	require.NoError(t, store.CheckHistory(ctx, east, "east"))
	names, err := east.Clusters(ctx)
	require.NoError(t, err)
	require.Equal(t, []string{"east"}, names)

	t.Run("a cluster with rows adopts none, and nothing moves", func(t *testing.T) {
		newer := rowsOf(t, "api")
		newer.write(t, unnamed)
		_, err := east.AdoptCluster(ctx, "")
		require.ErrorIs(t, err, store.ErrClusterHasRows)
		requireReads(t, unnamed, newer)
		requireReads(t, east, old.inCluster("east"))
		require.NoError(t, store.CheckHistory(ctx, east, "east"), "a cluster with rows of its own passes beside the unnamed one")
	})
}
