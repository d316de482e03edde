// Package storetest is the test suite every store.Store backend passes, so
// that SQLite and PostgreSQL keep what they are given the same way.
package storetest

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"math"
	"net/url"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/steadywatch/steadywatch/alert"
	"github.com/steadywatch/steadywatch/chaos"
	"github.com/steadywatch/steadywatch/store"
	"github.com/steadywatch/steadywatch/tracker"
	"github.com/steadywatch/steadywatch/verdict"
)

// Database is an empty database the suite may open any number of times.
type Database struct {
	// DSN is what store.Open is given.
	DSN string
	// Exec runs one SQL statement on the database behind the store's back,
	// for what no Store method may do: make the schema look newer.
	Exec func(ctx context.Context, query string) error
	// Migrate brings the empty database to a schema version, as an older
	// steadywatch would have left it.
	Migrate func(ctx context.Context, version int) error
}

// Run runs the suite. newDatabase returns a new, empty database each call.
func Run(t *testing.T, newDatabase func(t *testing.T) Database) {
	tests := []struct {
		name string
		test func(t *testing.T, db Database)
	}{
		{"incidents are upserted by ID and listed by filter, oldest start first", testIncidents},
		{"events keep every field and are listed by service and time, oldest first", testEvents},
		{"alerts are counted when new and updated when notified again", testAlertRedelivery},
		{"an alert's notifications count its webhook receipts, its deliveries every receipt", testAlertNotifications},
		{"alerts are listed by label and start time, oldest start first", testAlertFilters},
		{"alerts saved from many goroutines at once are each stored once", testConcurrentAlerts},
		{"EachAlert holds one alert at a time, not every one", testEachAlertMemory},
		{"the inventory is replaced as a whole and read back", testInventory},
		{"everything written is read back after close and reopen", testReopen},
		{"a database with a newer schema is refused and left as it was", testSchemaTooNew},
		{"a database of schema version 1 is upgraded in place, keeping its incidents", testUpgradeFromV1},
		{"a database of schema version 5 is upgraded in place, its alerts' notifications counted as well as can be known", testUpgradeFromV5},
		{"a detection is recorded once, listed, and kept by later saves", testDetection},
		{"of detections racing the tracker's saves exactly one is recorded", testConcurrentDetection},
		{"a cancelled context stores nothing", testCancelled},
		{"a cancelled batch of alerts is stored whole or not at all", testCancelledMidBatch},
		{"input the store cannot keep is refused with the field named", testInvalid},
		{"watch coverage is upserted by session, resource and start, and listed by overlap", testCoverage},
		{"a report delivery is recorded once per webhook and week, and updated only while pending as claimed", testDeliveries},
		{"of serves racing to claim a delivery's attempt exactly one does", testConcurrentDeliveryClaims},
		{"verdicts are kept by hypothesis and time, NaN scores as null, and read by range and as in force", testVerdicts},
		{"a verdict the store cannot keep is refused with the field named", testInvalidVerdicts},
		{"an experiment is one row a run, replaced by later readings, and listed by tool, name and time", testExperiments},
		{"an experiment's labels are kept as written, none read back as none", testExperimentLabels},
		{"a database of schema version 8 is upgraded in place, its experiments without labels", testUpgradeFromV8},
		{"two clusters' rows that look alike are kept apart, each cluster read by its own store or a view", testClusters},
		{"two clusters saving the same alerts at once store each once per cluster", testConcurrentClusters},
		{"rows alike in several clusters are read from all in the clusters' order, not the order written", testClusterOrder},
		{"a cluster named after history was stored unnamed refuses to hide it, and adopts it in one move", testAdoptCluster},
		{"a database of schema version 6 is upgraded in place, its rows the unnamed cluster's", testUpgradeFromV6},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.test(t, newDatabase(t))
		})
	}
}

// open opens db and closes it when the test ends.
func open(t *testing.T, db Database) store.Store {
	t.Helper()
	s, err := store.Open(t.Context(), db.DSN, store.Options{Logger: slog.New(slog.NewTextHandler(t.Output(), nil))})
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, s.Close()) })
	return s
}

// at is a time n seconds into the test's day, with nanoseconds that a store
// keeping only microseconds would lose.
func at(n int) time.Time {
	return time.Date(2026, 3, 14, 9, 0, 0, 123456789, time.UTC).Add(time.Duration(n) * time.Second)
}

func newIncident(id, service string, start int) chaos.Incident {
	return chaos.Incident{
		ID:      id,
		Kind:    chaos.PodDeleted,
		Subject: chaos.Subject{Namespace: "shop", Service: service, Group: chaos.Experimental},
		Object:  chaos.Ref{Kind: "Deployment", Namespace: "shop", Name: service},
		Start:   at(start),
		Events:  1,
	}
}

func testIncidents(t *testing.T, db Database) {
	ctx := t.Context()
	s := open(t, db)

	closedAPI := newIncident("b", "api", 10)
	closedAPI.End = at(40)
	openAPI := newIncident("c", "api", 20)
	openAPI.Kind = chaos.HPAScaledUp
	openAPI.Baseline = 3
	openAPI.Missed = true
	sameStart := newIncident("a", "api", 20)
	sameStart.Subject.Group = chaos.Control
	node := chaos.Incident{
		ID: "n", Kind: chaos.NodeNotReady, Subject: chaos.Subject{Group: chaos.NoGroup},
		Object: chaos.Ref{Kind: "Node", Name: "node-1"}, Start: at(30), Events: 1, Evicted: 7,
	}
	web := newIncident("w", "web", 5)
	for _, inc := range []chaos.Incident{openAPI, node, closedAPI, web, sameStart} {
		require.NoError(t, s.Save(ctx, inc))
	}

	tests := []struct {
		name   string
		filter tracker.Filter
		want   []chaos.Incident
	}{
		{"no filter lists all, by start then ID", tracker.Filter{}, []chaos.Incident{web, closedAPI, sameStart, openAPI, node}},
		{"a service lists only its incidents", tracker.Filter{Service: "api"}, []chaos.Incident{closedAPI, sameStart, openAPI}},
		{"open only leaves out recovered ones", tracker.Filter{OpenOnly: true}, []chaos.Incident{web, sameStart, openAPI, node}},
		{"since includes a start at the bound", tracker.Filter{Since: at(20)}, []chaos.Incident{sameStart, openAPI, node}},
		{"until excludes a start at the bound", tracker.Filter{Until: at(20)}, []chaos.Incident{web, closedAPI}},
		{"all filters combine", tracker.Filter{Service: "api", OpenOnly: true, Since: at(0), Until: at(30)}, []chaos.Incident{sameStart, openAPI}},
		{"a service with no incidents lists none", tracker.Filter{Service: "db"}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := s.List(ctx, tt.filter)
			require.NoError(t, err)
			require.Equal(t, tt.want, got)
		})
	}

	t.Run("saving an incident again replaces it", func(t *testing.T) {
		recovered := openAPI
		recovered.End = at(90)
		recovered.Events = 4
		recovered.Missed = false
		require.NoError(t, s.Save(ctx, recovered))
		got, err := s.List(ctx, tracker.Filter{Service: "api"})
		require.NoError(t, err)
		require.Equal(t, []chaos.Incident{closedAPI, sameStart, recovered}, got)
	})
}

func testEvents(t *testing.T, db Database) {
	ctx := t.Context()
	s := open(t, db)

	deleted := chaos.Event{
		Kind:     chaos.PodDeleted,
		Subject:  chaos.Subject{Namespace: "shop", Service: "api", Group: chaos.Experimental},
		Object:   chaos.Ref{Kind: "Pod", Namespace: "shop", Name: "api-7d9f-x2"},
		Workload: chaos.Ref{Kind: "Deployment", Namespace: "shop", Name: "api"},
		Node:     "node-1",
		// Observed within the cluster's second refines it: Best is Observed.
		At:     chaos.Timestamp{Cluster: at(10).Truncate(time.Second), Observed: at(10)},
		Reason: "eviction_api",
	}
	scaled := chaos.Event{
		Kind:         chaos.HPAScaledUp,
		Subject:      chaos.Subject{Namespace: "shop", Service: "api", Group: chaos.Experimental},
		Object:       chaos.Ref{Kind: "HorizontalPodAutoscaler", Namespace: "shop", Name: "api"},
		At:           chaos.Timestamp{Observed: at(20)},
		FromReplicas: 2, ToReplicas: 5,
	}
	// Seen late: Best is the cluster's time, before the others.
	missed := chaos.Event{
		Kind:    chaos.PodDeleted,
		Subject: chaos.Subject{Namespace: "shop", Service: "web", Group: chaos.Control},
		Object:  chaos.Ref{Kind: "Pod", Namespace: "shop", Name: "web-1"},
		At:      chaos.Timestamp{Cluster: at(5), Observed: at(300)},
		Reason:  "deleted",
		Missed:  true,
	}
	node := chaos.Event{
		Kind:    chaos.NodeNotReady,
		Subject: chaos.Subject{Group: chaos.NoGroup},
		Object:  chaos.Ref{Kind: "Node", Name: "node-1"},
		At:      chaos.Timestamp{Cluster: at(20)},
		Reason:  "NodeStatusUnknown",
	}
	for _, e := range []chaos.Event{deleted, scaled, missed, node} {
		require.NoError(t, s.SaveEvent(ctx, e))
	}

	tests := []struct {
		name   string
		filter tracker.Filter
		want   []chaos.Event
	}{
		{"no filter lists all by best time, ties in the order saved", tracker.Filter{}, []chaos.Event{missed, deleted, scaled, node}},
		{"a service lists only its events", tracker.Filter{Service: "api"}, []chaos.Event{deleted, scaled}},
		{"since includes an event at the bound", tracker.Filter{Since: at(10)}, []chaos.Event{deleted, scaled, node}},
		{"until excludes an event at the bound", tracker.Filter{Until: at(20)}, []chaos.Event{missed, deleted}},
		{"service and time combine", tracker.Filter{Service: "api", Since: at(11), Until: at(21)}, []chaos.Event{scaled}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := s.Events(ctx, tt.filter)
			require.NoError(t, err)
			require.Equal(t, tt.want, got)
		})
	}
}

func newAlert(fp, name, service string, start int) alert.Alert {
	return alert.Alert{
		Fingerprint:  fp,
		Status:       alert.Firing,
		Labels:       map[string]string{"alertname": name, "service": service, "severity": "page"},
		Annotations:  map[string]string{"summary": name + " on " + service},
		StartsAt:     at(start),
		GeneratorURL: "http://prometheus:9090/graph?g0.expr=up",
		Receiver:     "steadywatch",
		GroupKey:     `{}:{alertname="` + name + `"}`,
		ReceivedAt:   at(start + 1),
		Source:       "webhook",
		// What the store reads back after one save, a webhook
		// notification; saving ignores them.
		Deliveries:    1,
		Notifications: 1,
	}
}

func testAlertRedelivery(t *testing.T, db Database) {
	ctx := t.Context()
	s := open(t, db)

	high := newAlert("f1", "HighErrorRate", "api", 0)
	slow := newAlert("f2", "SlowRequests", "api", 5)
	n, err := s.SaveAlerts(ctx, []alert.Alert{high, slow})
	require.NoError(t, err)
	require.Equal(t, 2, n, "both alerts are new")

	// Alertmanager retries the notification, then resolves one alert.
	n, err = s.SaveAlerts(ctx, []alert.Alert{high, slow})
	require.NoError(t, err)
	require.Zero(t, n, "a retried notification adds nothing")

	resolved := high
	resolved.Status = alert.Resolved
	resolved.EndsAt = at(60)
	resolved.Annotations = map[string]string{"summary": "resolved"}
	resolved.ReceivedAt = at(61)
	again := newAlert("f1", "HighErrorRate", "api", 120) // fired again: a new start
	n, err = s.SaveAlerts(ctx, []alert.Alert{resolved, again})
	require.NoError(t, err)
	require.Equal(t, 1, n, "only the alert with a new start is new")

	got, err := s.Alerts(ctx, alert.Filter{})
	require.NoError(t, err)
	want := resolved
	want.ReceivedAt = high.ReceivedAt // the first receipt
	// Deliveries counts the receipts: high was sent, retried and resolved;
	// slow sent and retried; again sent once. All were notifications.
	want.Deliveries, want.Notifications = 3, 3
	wantSlow := slow
	wantSlow.Deliveries, wantSlow.Notifications = 2, 2
	require.Equal(t, []alert.Alert{want, wantSlow, again}, got)

	t.Run("an alert given twice in one batch is stored once, as given last", func(t *testing.T) {
		first := newAlert("f3", "DiskFull", "db", 200)
		last := first
		last.Status = alert.Resolved
		last.EndsAt = at(230)
		n, err := s.SaveAlerts(ctx, []alert.Alert{first, last})
		require.NoError(t, err)
		require.Equal(t, 1, n)
		got, err := s.Alerts(ctx, alert.Filter{Labels: map[string]string{"alertname": "DiskFull"}})
		require.NoError(t, err)
		require.Equal(t, []alert.Alert{last}, got)
	})

	t.Run("an alert pulled from the API gets the receiver of a later notification", func(t *testing.T) {
		pulled := newAlert("f4", "Silenced", "db", 300)
		pulled.Receiver, pulled.GroupKey, pulled.Source = "", "", "api"
		notified := newAlert("f4", "Silenced", "db", 300)
		notified.ReceivedAt = at(400)
		n, err := s.SaveAlerts(ctx, []alert.Alert{pulled})
		require.NoError(t, err)
		require.Equal(t, 1, n)
		n, err = s.SaveAlerts(ctx, []alert.Alert{notified})
		require.NoError(t, err)
		require.Zero(t, n)
		got, err := s.Alerts(ctx, alert.Filter{Since: at(300), Until: at(301)})
		require.NoError(t, err)
		want := notified
		want.ReceivedAt, want.Source = pulled.ReceivedAt, "api"
		want.Deliveries = 2    // the pull and the notification
		want.Notifications = 1 // the notification only
		require.Equal(t, []alert.Alert{want}, got)
	})

	t.Run("a pull's estimated resolution never replaces a stored one", func(t *testing.T) {
		notified := newAlert("f6", "Flapping", "db", 600)
		notified.Status, notified.EndsAt = alert.Resolved, at(630)
		pulledGone := notified
		pulledGone.Source, pulledGone.Receiver, pulledGone.GroupKey = alert.SourceAPI, "", ""
		pulledGone.EndsAt = at(650) // the last pull that still saw it, say
		_, err := s.SaveAlerts(ctx, []alert.Alert{notified})
		require.NoError(t, err)
		_, err = s.SaveAlerts(ctx, []alert.Alert{pulledGone})
		require.NoError(t, err)
		got, err := s.Alerts(ctx, alert.Filter{Since: at(600), Until: at(601)})
		require.NoError(t, err)
		require.Len(t, got, 1)
		require.Equal(t, alert.Resolved, got[0].Status)
		require.Equal(t, at(630), got[0].EndsAt, "the notification's exact end stays")

		// The other way round, a notification corrects the estimate.
		estimated := newAlert("f7", "Flapping", "db", 700)
		estimated.Source, estimated.Status, estimated.EndsAt = alert.SourceAPI, alert.Resolved, at(760)
		exact := newAlert("f7", "Flapping", "db", 700)
		exact.Status, exact.EndsAt = alert.Resolved, at(745)
		_, err = s.SaveAlerts(ctx, []alert.Alert{estimated})
		require.NoError(t, err)
		_, err = s.SaveAlerts(ctx, []alert.Alert{exact})
		require.NoError(t, err)
		got, err = s.Alerts(ctx, alert.Filter{Since: at(700), Until: at(701)})
		require.NoError(t, err)
		require.Equal(t, at(745), got[0].EndsAt)
	})

	t.Run("an alert notified again with other labels keeps the latest labels", func(t *testing.T) {
		first := newAlert("f8", "Relabelled", "db", 800)
		first.Labels["team"] = "storage"
		later := newAlert("f8", "Relabelled", "db", 800)
		later.Labels["team"] = "platform"
		later.ReceivedAt = at(900)
		_, err := s.SaveAlerts(ctx, []alert.Alert{first})
		require.NoError(t, err)
		n, err := s.SaveAlerts(ctx, []alert.Alert{later})
		require.NoError(t, err)
		require.Zero(t, n, "the same fingerprint and start is the same alert")
		got, err := s.Alerts(ctx, alert.Filter{Since: at(800), Until: at(801)})
		require.NoError(t, err)
		require.Len(t, got, 1)
		require.Equal(t, later.Labels, got[0].Labels)
		require.Equal(t, first.ReceivedAt, got[0].ReceivedAt, "the first receipt stays")
		// The old labels no longer select it, the new ones do.
		got, err = s.Alerts(ctx, alert.Filter{Labels: map[string]string{"team": "storage"}})
		require.NoError(t, err)
		require.Empty(t, got)
		got, err = s.Alerts(ctx, alert.Filter{Labels: map[string]string{"team": "platform"}})
		require.NoError(t, err)
		require.Len(t, got, 1)
	})

	t.Run("an empty batch stores nothing", func(t *testing.T) {
		n, err := s.SaveAlerts(ctx, nil)
		require.NoError(t, err)
		require.Zero(t, n)
	})

	t.Run("an alert without a receipt time is dated when it is saved", func(t *testing.T) {
		undated := newAlert("f5", "Undated", "db", 500)
		undated.ReceivedAt = time.Time{}
		undated.Labels, undated.Annotations = nil, nil
		before := time.Now()
		_, err := s.SaveAlerts(ctx, []alert.Alert{undated})
		require.NoError(t, err)
		got, err := s.Alerts(ctx, alert.Filter{Since: at(500), Until: at(501)})
		require.NoError(t, err)
		require.Len(t, got, 1)
		require.WithinRange(t, got[0].ReceivedAt, before, time.Now())
		require.Nil(t, got[0].Labels)
		require.Nil(t, got[0].Annotations)
	})
}

func testAlertNotifications(t *testing.T, db Database) {
	ctx := t.Context()
	s := open(t, db)

	// What alertpull saves: no receiver or group key, source api.
	pull := func(a alert.Alert) alert.Alert {
		a.Receiver, a.GroupKey, a.Source = "", "", alert.SourceAPI
		return a
	}
	notified := newAlert("n1", "HighErrorRate", "api", 0)
	pulledOnly := pull(newAlert("n2", "Silenced", "api", 10))
	pulledFirst := newAlert("n3", "SlowRequests", "api", 20)
	// Interleaved as they come: pulls before, between and after the
	// notifications; each save is one receipt.
	saves := [][]alert.Alert{
		{pull(notified), pulledOnly, pull(pulledFirst)},
		{notified, pulledOnly},
		{pull(notified), pulledOnly, pulledFirst},
		{notified},
		{pull(notified)},
	}
	inserted := 0
	for _, batch := range saves {
		n, err := s.SaveAlerts(ctx, batch)
		require.NoError(t, err)
		inserted += n
	}
	require.Equal(t, 3, inserted, "each alert is new once, whether a pull or a notification brought it")

	got, err := s.Alerts(ctx, alert.Filter{})
	require.NoError(t, err)
	require.Len(t, got, 3)
	for _, tt := range []struct {
		name                      string
		got                       alert.Alert
		deliveries, notifications int
	}{
		{"notified twice and pulled three times", got[0], 5, 2},
		{"only pulled", got[1], 3, 0},
		{"pulled first, then notified once", got[2], 2, 1},
	} {
		t.Run(tt.name, func(t *testing.T) {
			require.Equal(t, tt.deliveries, tt.got.Deliveries, "deliveries")
			require.Equal(t, tt.notifications, tt.got.Notifications, "notifications")
		})
	}
	require.Equal(t, alert.SourceAPI, got[0].Source, "the first receipt, a pull, stays the source")
	require.Equal(t, "steadywatch", got[0].Receiver, "the notification filled the receiver in")
}

func testAlertFilters(t *testing.T, db Database) {
	ctx := t.Context()
	s := open(t, db)

	apiPage := newAlert("a1", "HighErrorRate", "api", 10)
	apiTicket := newAlert("a2", "HighLatency", "api", 20)
	apiTicket.Labels["severity"] = "ticket"
	webPage := newAlert("a3", "HighErrorRate", "web", 20)
	dbPage := newAlert("a0", "DiskFull", "db", 30)
	// Saved out of order, in two batches.
	_, err := s.SaveAlerts(ctx, []alert.Alert{dbPage, webPage})
	require.NoError(t, err)
	_, err = s.SaveAlerts(ctx, []alert.Alert{apiTicket, apiPage})
	require.NoError(t, err)

	tests := []struct {
		name   string
		filter alert.Filter
		want   []alert.Alert
	}{
		{"no filter lists all, by start then fingerprint", alert.Filter{}, []alert.Alert{apiPage, apiTicket, webPage, dbPage}},
		{"one label selects the alerts that have it", alert.Filter{Labels: map[string]string{"service": "api"}}, []alert.Alert{apiPage, apiTicket}},
		{"every label must match", alert.Filter{Labels: map[string]string{"service": "api", "severity": "page"}}, []alert.Alert{apiPage}},
		{"a label no alert has selects none", alert.Filter{Labels: map[string]string{"team": "storage"}}, nil},
		{"an empty label value is not a wildcard", alert.Filter{Labels: map[string]string{"service": ""}}, nil},
		{"since includes a start at the bound", alert.Filter{Since: at(20)}, []alert.Alert{apiTicket, webPage, dbPage}},
		{"until excludes a start at the bound", alert.Filter{Until: at(20)}, []alert.Alert{apiPage}},
		{"labels and time combine", alert.Filter{Labels: map[string]string{"alertname": "HighErrorRate"}, Since: at(11)}, []alert.Alert{webPage}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := s.Alerts(ctx, tt.filter)
			require.NoError(t, err)
			require.Equal(t, tt.want, got)
			// EachAlert streams the same alerts in the same order.
			var streamed []alert.Alert
			require.NoError(t, s.EachAlert(ctx, tt.filter, func(a *alert.Alert) error {
				streamed = append(streamed, *a)
				return nil
			}))
			require.Equal(t, tt.want, streamed)
		})
	}
	t.Run("NoAnnotations leaves the annotations out and nothing else", func(t *testing.T) {
		var streamed []alert.Alert
		require.NoError(t, s.EachAlert(ctx, alert.Filter{NoAnnotations: true, Since: at(11)}, func(a *alert.Alert) error {
			streamed = append(streamed, *a)
			return nil
		}))
		var want []alert.Alert
		for _, a := range []alert.Alert{apiTicket, webPage, dbPage} {
			require.NotEmpty(t, a.Annotations, "the fixture's alerts have annotations")
			a.Annotations = nil
			want = append(want, a)
		}
		require.Equal(t, want, streamed)
	})
	t.Run("EachAlert stops at fn's first error and returns it as is", func(t *testing.T) {
		stop := errors.New("enough")
		var seen []string
		err := s.EachAlert(ctx, alert.Filter{}, func(a *alert.Alert) error {
			seen = append(seen, a.Fingerprint)
			if len(seen) == 2 {
				return stop
			}
			return nil
		})
		require.Same(t, stop, err)
		require.Equal(t, []string{"a1", "a2"}, seen)
	})
}

// testEachAlertMemory streams alerts whose annotations alone take 16 MiB
// in memory, and measures the live heap at the last one: a stream that
// collected the rows first (as Alerts does) would hold them all then.
func testEachAlertMemory(t *testing.T, db Database) {
	ctx := t.Context()
	s := open(t, db)
	const n, size = 4096, 4 << 10
	pad := strings.Repeat("x", size)
	for part := 0; part < n; part += 256 {
		batch := make([]alert.Alert, 256)
		for i := range batch {
			batch[i] = newAlert(fmt.Sprintf("m%05d", part+i), "Big", "api", part+i)
			batch[i].Annotations["description"] = pad
		}
		_, err := s.SaveAlerts(ctx, batch)
		require.NoError(t, err)
	}
	heap := func() int64 {
		runtime.GC()
		var m runtime.MemStats
		runtime.ReadMemStats(&m)
		return int64(m.HeapAlloc) //nolint:gosec // a heap is far below 2^63 bytes
	}
	before := heap()
	var seen int
	var grew int64
	require.NoError(t, s.EachAlert(ctx, alert.Filter{}, func(a *alert.Alert) error {
		require.Len(t, a.Annotations["description"], size)
		if seen++; seen == n {
			grew = heap() - before
		}
		return nil
	}))
	require.Equal(t, n, seen)
	require.Less(t, grew, int64(n*size/4), "the live heap at the last alert grew by %d bytes: the rows are held", grew)
	t.Logf("live heap at the last of %d alerts (%d MiB of annotations): %+d bytes", n, n*size>>20, grew)
}

func testConcurrentAlerts(t *testing.T, db Database) {
	ctx := t.Context()
	s := open(t, db)

	// Every goroutine saves the shared alerts, in its own order, and its
	// own ones, 10 to a batch, as concurrent notifications would.
	const goroutines, shared, own = 8, 40, 30
	inserted := make([]int, goroutines)
	var wg sync.WaitGroup
	for g := range goroutines {
		wg.Go(func() {
			var batch []alert.Alert
			for i := range shared {
				j := (i + 7*g) % shared
				batch = append(batch, newAlert(fmt.Sprintf("shared-%02d", j), "Shared", "api", j))
			}
			for i := range own {
				batch = append(batch, newAlert(fmt.Sprintf("own-%d-%02d", g, i), "Own", "web", i))
			}
			for len(batch) > 0 {
				n, err := s.SaveAlerts(ctx, batch[:10])
				if !assertNoError(t, err) {
					return
				}
				inserted[g] += n
				batch = batch[10:]
			}
		})
	}
	wg.Wait()

	total := 0
	for _, n := range inserted {
		total += n
	}
	require.Equal(t, shared+goroutines*own, total, "each alert counted new exactly once")
	got, err := s.Alerts(ctx, alert.Filter{})
	require.NoError(t, err)
	require.Len(t, got, shared+goroutines*own)
}

// assertNoError is require.NoError for goroutines other than the test's.
func assertNoError(t *testing.T, err error) bool {
	t.Helper()
	if err != nil {
		t.Errorf("unexpected error: %v", err)
		return false
	}
	return true
}

func testInventory(t *testing.T, db Database) {
	ctx := t.Context()
	s := open(t, db)

	_, ok, err := s.LoadInventory(ctx)
	require.NoError(t, err)
	require.False(t, ok, "nothing saved yet")

	inv := tracker.Inventory{
		Cluster: "kind-chaos",
		SavedAt: at(0),
		Pods: []tracker.InventoryPod{{
			UID: "7f0c", Ref: chaos.Ref{Kind: "Pod", Namespace: "shop", Name: "api-1"},
			Subject:  chaos.Subject{Namespace: "shop", Service: "api", Group: chaos.Experimental},
			Workload: chaos.Ref{Kind: "Deployment", Namespace: "shop", Name: "api"},
			Node:     "node-1", Created: at(-60), Ready: true,
		}},
		Nodes:     []tracker.InventoryNode{{Name: "node-1", Subject: chaos.Subject{Group: chaos.NoGroup}, Ready: true}},
		HPAs:      []tracker.InventoryHPA{{Ref: chaos.Ref{Kind: "HorizontalPodAutoscaler", Namespace: "shop", Name: "api"}, Desired: 3}},
		Workloads: []tracker.InventoryWorkload{{Ref: chaos.Ref{Kind: "Deployment", Namespace: "shop", Name: "api"}, Desired: 3, Ready: 2}},
	}
	require.NoError(t, s.SaveInventory(ctx, inv))
	got, ok, err := s.LoadInventory(ctx)
	require.NoError(t, err)
	require.True(t, ok)
	require.Equal(t, inv, got)

	smaller := tracker.Inventory{Cluster: "kind-chaos", SavedAt: at(60)}
	require.NoError(t, s.SaveInventory(ctx, smaller))
	got, ok, err = s.LoadInventory(ctx)
	require.NoError(t, err)
	require.True(t, ok)
	require.Equal(t, smaller, got, "saving replaces the whole inventory")
}

func testReopen(t *testing.T, db Database) {
	ctx := t.Context()
	s, err := store.Open(ctx, db.DSN, store.Options{})
	require.NoError(t, err)
	inc := newIncident("i1", "api", 0)
	ev := chaos.Event{Kind: chaos.PodDeleted, Object: chaos.Ref{Kind: "Pod", Name: "p"}, At: chaos.Timestamp{Observed: at(1)}}
	al := newAlert("f1", "HighErrorRate", "api", 2)
	inv := tracker.Inventory{Cluster: "c", SavedAt: at(3)}
	require.NoError(t, s.Save(ctx, inc))
	inc.Detection = chaos.Detection{At: at(2), Alert: "HighErrorRate", Fingerprint: "f1"}
	updated, err := s.SetDetection(ctx, inc.ID, inc.Detection)
	require.NoError(t, err)
	require.True(t, updated)
	require.NoError(t, s.SaveEvent(ctx, ev))
	_, err = s.SaveAlerts(ctx, []alert.Alert{al})
	require.NoError(t, err)
	require.NoError(t, s.SaveInventory(ctx, inv))
	tr := transition(t, "kill-postgres", 4, verdict.Fail, 20, true)
	require.NoError(t, s.SaveVerdict(ctx, tr))
	require.NoError(t, s.Close())

	s = open(t, db)
	incs, err := s.List(ctx, tracker.Filter{})
	require.NoError(t, err)
	require.Equal(t, []chaos.Incident{inc}, incs)
	evs, err := s.Events(ctx, tracker.Filter{})
	require.NoError(t, err)
	require.Equal(t, []chaos.Event{ev}, evs)
	als, err := s.Alerts(ctx, alert.Filter{})
	require.NoError(t, err)
	require.Equal(t, []alert.Alert{al}, als)
	gotInv, ok, err := s.LoadInventory(ctx)
	require.NoError(t, err)
	require.True(t, ok)
	require.Equal(t, inv, gotInv)
	trs, err := s.LatestVerdicts(ctx, time.Time{})
	require.NoError(t, err)
	require.Equal(t, []verdict.Transition{tr}, trs)

	n, err := s.SaveAlerts(ctx, []alert.Alert{al})
	require.NoError(t, err)
	require.Zero(t, n, "an alert saved before the restart is not new after it")
}

func testSchemaTooNew(t *testing.T, db Database) {
	ctx := t.Context()
	s, err := store.Open(ctx, db.DSN, store.Options{})
	require.NoError(t, err)
	inc := newIncident("i1", "api", 0)
	require.NoError(t, s.Save(ctx, inc))
	require.NoError(t, s.Close())

	// A newer steadywatch migrated the database.
	require.NoError(t, db.Exec(ctx, "INSERT INTO schema_migrations (version) VALUES (99)"))
	_, err = store.Open(ctx, db.DSN, store.Options{})
	require.ErrorIs(t, err, store.ErrSchemaTooNew)
	var tooNew *store.SchemaTooNewError
	require.ErrorAs(t, err, &tooNew)
	require.Equal(t, 99, tooNew.Database)
	require.Less(t, tooNew.Supported, 99)
	require.ErrorContains(t, err, fmt.Sprintf(
		"database schema version 99 is newer than this steadywatch supports (%d); upgrade steadywatch", tooNew.Supported))
	require.ErrorContains(t, err, store.RedactDSN(db.DSN), "the error names the database")
	if u, perr := url.Parse(db.DSN); perr == nil {
		if pw, set := u.User.Password(); set {
			require.NotContains(t, err.Error(), pw, "the error does not show the password")
		}
	}

	// Downgraded again, the database holds what it held.
	require.NoError(t, db.Exec(ctx, "DELETE FROM schema_migrations WHERE version = 99"))
	s = open(t, db)
	got, err := s.List(ctx, tracker.Filter{})
	require.NoError(t, err)
	require.Equal(t, []chaos.Incident{inc}, got)
}

func testCancelled(t *testing.T, db Database) {
	s := open(t, db)
	ctx, cancel := context.WithCancel(t.Context())
	cancel()

	_, err := s.SaveAlerts(ctx, []alert.Alert{newAlert("f1", "HighErrorRate", "api", 0)})
	require.ErrorIs(t, err, context.Canceled)
	require.ErrorIs(t, s.Save(ctx, newIncident("i1", "api", 0)), context.Canceled)
	require.ErrorIs(t, s.SaveEvent(ctx, chaos.Event{Kind: chaos.PodDeleted, At: chaos.Timestamp{Observed: at(0)}}), context.Canceled)
	require.ErrorIs(t, s.SaveInventory(ctx, tracker.Inventory{Cluster: "c"}), context.Canceled)
	_, err = s.Alerts(ctx, alert.Filter{})
	require.ErrorIs(t, err, context.Canceled)

	alerts, err := s.Alerts(t.Context(), alert.Filter{})
	require.NoError(t, err)
	require.Empty(t, alerts)
	incs, err := s.List(t.Context(), tracker.Filter{})
	require.NoError(t, err)
	require.Empty(t, incs)
	evs, err := s.Events(t.Context(), tracker.Filter{})
	require.NoError(t, err)
	require.Empty(t, evs)
	_, ok, err := s.LoadInventory(t.Context())
	require.NoError(t, err)
	require.False(t, ok)
}

func testCancelledMidBatch(t *testing.T, db Database) {
	s := open(t, db)
	// Deadlines from before the save starts to after it ends, so that some
	// fall while the batch is on its way: however the race goes, a failed
	// save stored nothing and a successful one everything.
	const size = 1500 // more than one statement's worth on PostgreSQL
	stored, rolledBack, rounds := 0, 0, 0
	for timeout := 250 * time.Microsecond; timeout < 16*time.Second; timeout *= 2 {
		rounds++
		batch := make([]alert.Alert, size)
		for i := range batch {
			batch[i] = newAlert(fmt.Sprintf("r%d-%04d", rounds, i), "Storm", "api", i)
		}
		ctx, cancel := context.WithTimeout(t.Context(), timeout)
		_, err := s.SaveAlerts(ctx, batch)
		cancel()
		got, lerr := s.Alerts(t.Context(), alert.Filter{})
		require.NoError(t, lerr)
		added := len(got) - stored
		stored = len(got)
		if err != nil {
			require.ErrorIs(t, err, context.DeadlineExceeded)
			require.Zero(t, added, "deadline %s: the save failed, yet stored alerts", timeout)
			rolledBack++
			continue
		}
		require.Equal(t, size, added, "deadline %s: the save succeeded", timeout)
		break // longer deadlines change nothing
	}
	t.Logf("%d of %d saves ran out of time and were rolled back", rolledBack, rounds)
}

func testInvalid(t *testing.T, db Database) {
	ctx := t.Context()
	s := open(t, db)

	unsaved := newAlert("f2", "HighErrorRate", "api", 0)
	noFingerprint := newAlert("", "NoFingerprint", "api", 0)
	noStart := newAlert("f3", "NoStart", "api", 0)
	noStart.StartsAt = time.Time{}
	tooLate := newIncident("i2", "api", 0)
	tooLate.Start = time.Date(2300, 1, 1, 0, 0, 0, 0, time.UTC)
	// What the store cannot keep, on either database: times beyond Unix
	// nanoseconds, a fingerprint too long for PostgreSQL's primary key
	// index, and NUL, which PostgreSQL's text and jsonb refuse.
	with := func(name string, change func(a *alert.Alert)) alert.Alert {
		a := newAlert("f4", name, "api", 0)
		a.Labels = maps.Clone(a.Labels)
		a.Annotations = maps.Clone(a.Annotations)
		change(&a)
		return a
	}
	saveWith := func(name string, change func(a *alert.Alert)) func() error {
		return func() error {
			_, err := s.SaveAlerts(ctx, []alert.Alert{unsaved, with(name, change)})
			return err
		}
	}

	tests := []struct {
		name string
		save func() error
		want string
	}{
		{"an alert without a fingerprint", func() error {
			_, err := s.SaveAlerts(ctx, []alert.Alert{unsaved, noFingerprint})
			return err
		}, "alerts[1] (NoFingerprint ): no fingerprint"},
		{"an alert without a start", func() error {
			_, err := s.SaveAlerts(ctx, []alert.Alert{unsaved, noStart})
			return err
		}, "alerts[1] (NoStart f3): startsAt is not set"},
		{"an alert starting before 1678", saveWith("Early", func(a *alert.Alert) {
			a.StartsAt = time.Date(1600, 1, 1, 0, 0, 0, 0, time.UTC)
		}), "alerts[1] (Early f4): startsAt 1600-01-01T00:00:00Z is out of range (years 1678 to 2261)"},
		{"an alert ending after 2261", saveWith("Late", func(a *alert.Alert) {
			a.EndsAt = time.Date(9999, 12, 31, 0, 0, 0, 0, time.UTC)
		}), "alerts[1] (Late f4): endsAt 9999-12-31T00:00:00Z is out of range (years 1678 to 2261)"},
		{"an alert with a fingerprint longer than the primary key allows", saveWith("LongFingerprint", func(a *alert.Alert) {
			a.Fingerprint = strings.Repeat("f", 512000)
		}), "alerts[1] (LongFingerprint): fingerprint: 512000 bytes: want at most 64"},
		{"an alert with NUL in a label value", saveWith("NulValue", func(a *alert.Alert) {
			a.Labels["pod"] = "web\x00"
		}), "alerts[1] (NulValue f4): labels.pod: NUL character at byte 3: the store cannot keep it"},
		{"an alert with NUL in a label name", saveWith("NulName", func(a *alert.Alert) {
			a.Labels["p\x00d"] = "web"
		}), `alerts[1] (NulName f4): labels["p\x00d"]: NUL character at byte 1: the store cannot keep it`},
		{"an alert with NUL in an annotation", saveWith("NulAnnotation", func(a *alert.Alert) {
			a.Annotations["summary"] = "\x00"
		}), "alerts[1] (NulAnnotation f4): annotations.summary: NUL character at byte 0: the store cannot keep it"},
		{"an alert with NUL in its generator URL", saveWith("NulURL", func(a *alert.Alert) {
			a.GeneratorURL = "http://x/\x00"
		}), "alerts[1] (NulURL f4): generatorURL: NUL character at byte 9: the store cannot keep it"},
		{"an alert with NUL in its fingerprint", saveWith("NulFingerprint", func(a *alert.Alert) {
			a.Fingerprint = "f\x00"
		}), "alerts[1] (NulFingerprint): fingerprint: NUL character at byte 1: the store cannot keep it"},
		{"an alert with NUL in its receiver", saveWith("NulReceiver", func(a *alert.Alert) {
			a.Receiver = "\x00"
		}), "alerts[1] (NulReceiver f4): receiver: NUL character at byte 0: the store cannot keep it"},
		{"an alert with NUL in its group key", saveWith("NulGroupKey", func(a *alert.Alert) {
			a.GroupKey = "{}:\x00"
		}), "alerts[1] (NulGroupKey f4): groupKey: NUL character at byte 3: the store cannot keep it"},
		{"an incident without an ID", func() error { return s.Save(ctx, newIncident("", "api", 0)) }, "saving incident: no ID"},
		{"an incident that starts beyond the stored range", func() error { return s.Save(ctx, tooLate) }, "saving incident i2: start 2300-01-01T00:00:00Z is out of range"},
		{"an event without a time", func() error {
			return s.SaveEvent(ctx, chaos.Event{Kind: chaos.PodDeleted, Object: chaos.Ref{Kind: "Pod", Name: "p"}})
		}, "saving event Pod/p: time is not set"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.save()
			require.ErrorContains(t, err, tt.want)
			require.Less(t, len(err.Error()), 300, "the error does not quote what it refuses")
		})
	}

	alerts, err := s.Alerts(ctx, alert.Filter{})
	require.NoError(t, err)
	require.Empty(t, alerts, "a batch with one bad alert stores none")
}

func testUpgradeFromV1(t *testing.T, db Database) {
	ctx := t.Context()
	require.NotNil(t, db.Migrate, "the backend's Database has no Migrate")
	require.NoError(t, db.Migrate(ctx, 1))
	// Written by the steadywatch that knew schema 1 only.
	require.NoError(t, db.Exec(ctx, fmt.Sprintf(`INSERT INTO incidents (id, kind, namespace, service, subject_group,
	object_kind, object_namespace, object_name, start_ns, end_ns, events, evicted, baseline, missed)
VALUES ('old', 'pod_deleted', 'shop', 'api', 'experimental', 'Deployment', 'shop', 'api', %d, %d, 2, 0, 0, false)`,
		at(0).UnixNano(), at(30).UnixNano())))

	s := open(t, db)
	old := newIncident("old", "api", 0)
	old.End, old.Events = at(30), 2
	got, err := s.List(ctx, tracker.Filter{Undecided: true})
	require.NoError(t, err)
	require.Equal(t, []chaos.Incident{old}, got, "the incident is intact and undecided")

	d := chaos.Detection{At: at(12), Alert: "HighErrorRate", Fingerprint: "f1"}
	updated, err := s.SetDetection(ctx, "old", d)
	require.NoError(t, err)
	require.True(t, updated)
	got, err = s.List(ctx, tracker.Filter{})
	require.NoError(t, err)
	old.Detection = d
	require.Equal(t, []chaos.Incident{old}, got)

	require.NoError(t, db.Migrate(ctx, 0), "migrating again finds nothing to do")
}

func testUpgradeFromV5(t *testing.T, db Database) {
	ctx := t.Context()
	require.NoError(t, db.Migrate(ctx, 5))
	// Written by the steadywatch that knew schema 5 only, which counted
	// deliveries but not notifications.
	for _, row := range []struct {
		fp, source, receiver string
		start, deliveries    int
	}{
		{"webhook-first", alert.SourceWebhook, "steadywatch", 0, 3},
		{"pulled-then-notified", alert.SourceAPI, "steadywatch", 10, 4},
		{"pulled-only", alert.SourceAPI, "", 20, 5},
		{"pulled-once-then-notified", alert.SourceAPI, "steadywatch", 30, 1}, // as no save makes it
	} {
		require.NoError(t, db.Exec(ctx, fmt.Sprintf(`INSERT INTO alerts (fingerprint, starts_at_ns, status, labels,
	annotations, ends_at_ns, generator_url, receiver, group_key, received_at_ns, source, deliveries)
VALUES ('%s', %d, 'firing', '{"alertname":"Old"}', '{}', NULL, '', '%s', '', %d, '%s', %d)`,
			row.fp, at(row.start).UnixNano(), row.receiver, at(row.start+1).UnixNano(), row.source, row.deliveries)))
	}

	s := open(t, db)
	got, err := s.Alerts(ctx, alert.Filter{})
	require.NoError(t, err)
	require.Len(t, got, 4, "the alerts are kept")
	type counts struct {
		Fingerprint, Source       string
		Deliveries, Notifications int
	}
	countsOf := func(as []alert.Alert) []counts {
		var out []counts
		for _, a := range as {
			require.Equal(t, map[string]string{"alertname": "Old"}, a.Labels)
			require.Equal(t, a.StartsAt.Add(time.Second), a.ReceivedAt)
			out = append(out, counts{a.Fingerprint, a.Source, a.Deliveries, a.Notifications})
		}
		return out
	}
	require.Equal(t, []counts{
		// First received by webhook: every delivery taken for a
		// notification, though pulls after the first may be among them.
		{"webhook-first", alert.SourceWebhook, 3, 3},
		// First pulled: every delivery but the first.
		{"pulled-then-notified", alert.SourceAPI, 4, 3},
		// Never notified: a notification would have filled the receiver.
		{"pulled-only", alert.SourceAPI, 5, 0},
		// Notified (the receiver is filled) but counted once: at least one.
		{"pulled-once-then-notified", alert.SourceAPI, 1, 1},
	}, countsOf(got))

	// Saved after the upgrade, a notification counts in both, a pull in
	// deliveries only; neither is new.
	notify := newAlert("webhook-first", "Old", "", 0)
	notify.Labels = map[string]string{"alertname": "Old"}
	pulled := newAlert("pulled-only", "Old", "", 20)
	pulled.Labels = map[string]string{"alertname": "Old"}
	pulled.Receiver, pulled.GroupKey, pulled.Source = "", "", alert.SourceAPI
	n, err := s.SaveAlerts(ctx, []alert.Alert{notify, pulled})
	require.NoError(t, err)
	require.Zero(t, n)
	got, err = s.Alerts(ctx, alert.Filter{Until: at(21)})
	require.NoError(t, err)
	require.Equal(t, []counts{
		{"webhook-first", alert.SourceWebhook, 4, 4},
		{"pulled-then-notified", alert.SourceAPI, 4, 3},
		{"pulled-only", alert.SourceAPI, 6, 0},
	}, countsOf(got))

	require.NoError(t, db.Migrate(ctx, 0), "migrating again finds nothing to do")
}

func testDetection(t *testing.T, db Database) {
	ctx := t.Context()
	s := open(t, db)

	deleted := newIncident("deleted", "api", 0)
	scaled := newIncident("scaled", "api", 10)
	scaled.Kind = chaos.HPAScaledUp
	node := chaos.Incident{
		ID: "node", Kind: chaos.NodeNotReady, Subject: chaos.Subject{Group: chaos.NoGroup},
		Object: chaos.Ref{Kind: "Node", Name: "node-1"}, Start: at(20), Events: 1,
	}
	degraded := newIncident("degraded", "web", 30)
	degraded.Kind = chaos.WorkloadDegraded
	// A new incident starts undecided, whatever the caller's copy says.
	degraded.Detection = chaos.Detection{Undetected: true}
	for _, inc := range []chaos.Incident{deleted, scaled, node, degraded} {
		require.NoError(t, s.Save(ctx, inc))
	}
	degraded.Detection = chaos.Detection{}

	detected := chaos.Detection{At: at(45), Alert: "HighErrorRate", Fingerprint: "f1"}
	updated, err := s.SetDetection(ctx, "deleted", detected)
	require.NoError(t, err)
	require.True(t, updated, "an undecided incident takes a detection")
	updated, err = s.SetDetection(ctx, "node", chaos.Detection{Undetected: true})
	require.NoError(t, err)
	require.True(t, updated, "an undecided incident takes the undetected verdict")

	for _, tt := range []struct {
		name string
		id   string
		d    chaos.Detection
	}{
		{"a detected incident keeps its detection, even against an earlier one", "deleted", chaos.Detection{At: at(5), Alert: "Earlier", Fingerprint: "f0"}},
		{"a detected incident cannot become undetected", "deleted", chaos.Detection{Undetected: true}},
		{"an undetected incident cannot become detected", "node", detected},
		{"an unknown incident is not created", "unknown", detected},
	} {
		t.Run(tt.name, func(t *testing.T) {
			updated, err := s.SetDetection(ctx, tt.id, tt.d)
			require.NoError(t, err)
			require.False(t, updated)
		})
	}

	// The tracker saves its copies, which never carry a detection.
	deleted.End, deleted.Events = at(60), 3
	require.NoError(t, s.Save(ctx, deleted))
	require.NoError(t, s.Save(ctx, node))
	deleted.Detection = detected
	node.Detection = chaos.Detection{Undetected: true}

	failures := []chaos.Kind{chaos.PodDeleted, chaos.NodeNotReady, chaos.WorkloadDegraded}
	for _, tt := range []struct {
		name   string
		filter tracker.Filter
		want   []chaos.Incident
	}{
		{"every incident is listed with its detection", tracker.Filter{}, []chaos.Incident{deleted, scaled, node, degraded}},
		{"undecided leaves out detected and undetected incidents", tracker.Filter{Undecided: true}, []chaos.Incident{scaled, degraded}},
		{"kinds list only those kinds", tracker.Filter{Kinds: []chaos.Kind{chaos.HPAScaledUp, chaos.NodeNotReady}}, []chaos.Incident{scaled, node}},
		{"undecided failures since a time combine", tracker.Filter{Undecided: true, Kinds: failures, Since: at(1)}, []chaos.Incident{degraded}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got, err := s.List(ctx, tt.filter)
			require.NoError(t, err)
			require.Equal(t, tt.want, got)
		})
	}

	for _, tt := range []struct {
		name string
		d    chaos.Detection
		want string
	}{
		{"a detection without a time", chaos.Detection{Alert: "A", Fingerprint: "f"}, "recording detection of incident degraded: detection.at: not set"},
		{"a detection without a fingerprint", chaos.Detection{At: at(31), Alert: "A"}, "recording detection of incident degraded: detection.fingerprint: not set"},
		{"an undetected verdict naming an alert", chaos.Detection{Undetected: true, Fingerprint: "f"}, "recording detection of incident degraded: detection: undetected, yet names a time or an alert"},
		{"a detection beyond the stored range", chaos.Detection{At: time.Date(2300, 1, 1, 0, 0, 0, 0, time.UTC), Fingerprint: "f"}, "recording detection of incident degraded: detection.at 2300-01-01T00:00:00Z is out of range"},
	} {
		t.Run("refused: "+tt.name, func(t *testing.T) {
			updated, err := s.SetDetection(ctx, "degraded", tt.d)
			require.ErrorContains(t, err, tt.want)
			require.False(t, updated)
		})
	}
	got, err := s.List(ctx, tracker.Filter{Undecided: true, Kinds: failures})
	require.NoError(t, err)
	require.Equal(t, []chaos.Incident{degraded}, got, "a refused detection records nothing")
}

func testConcurrentDetection(t *testing.T, db Database) {
	ctx := t.Context()
	s := open(t, db)
	inc := newIncident("i", "api", 0)
	require.NoError(t, s.Save(ctx, inc))

	// The tracker keeps saving its copy while the webhook and the sweep
	// both try to record a detection.
	const detectors = 6
	var wg sync.WaitGroup
	saved := inc
	wg.Go(func() {
		for i := range 20 {
			saved.Events = i + 1
			if !assertNoError(t, s.Save(ctx, saved)) {
				return
			}
		}
	})
	recorded := make(chan chaos.Detection, detectors)
	for g := range detectors {
		wg.Go(func() {
			d := chaos.Detection{At: at(10 + g), Alert: "HighErrorRate", Fingerprint: fmt.Sprintf("f%d", g)}
			if g%3 == 0 {
				d = chaos.Detection{Undetected: true}
			}
			updated, err := s.SetDetection(ctx, "i", d)
			if assertNoError(t, err) && updated {
				recorded <- d
			}
		})
	}
	wg.Wait()
	close(recorded)
	var won []chaos.Detection
	for d := range recorded {
		won = append(won, d)
	}
	require.Len(t, won, 1, "exactly one detection is recorded")
	got, err := s.List(ctx, tracker.Filter{})
	require.NoError(t, err)
	require.Len(t, got, 1)
	require.Equal(t, won[0], got[0].Detection)
	require.Equal(t, 20, got[0].Events, "the tracker's saves went through")
}

func testCoverage(t *testing.T, db Database) {
	ctx := t.Context()
	s := open(t, db)
	first := chaos.WatchSpan{Session: "s1", Resource: "pods", From: at(0), To: at(10)}
	require.NoError(t, s.SaveCoverage(ctx, []chaos.WatchSpan{first, {Session: "s1", Resource: "nodes", From: at(0), To: at(10)}}))

	// A heartbeat moves it on, then the watch breaks; it comes back later,
	// and a second process watches after the first stopped.
	first.To = at(20)
	require.NoError(t, s.SaveCoverage(ctx, []chaos.WatchSpan{first}))
	first.To, first.Ended, first.Err = at(25), chaos.SpanBroken, "connection refused"
	back := chaos.WatchSpan{Session: "s1", Resource: "pods", From: at(40), To: at(60), Ended: chaos.SpanStopped}
	second := chaos.WatchSpan{Session: "s2", Resource: "pods", From: at(100), To: at(110)}
	require.NoError(t, s.SaveCoverage(ctx, []chaos.WatchSpan{first, back, second}))

	for _, tt := range []struct {
		name         string
		since, until time.Time
		want         []chaos.WatchSpan
	}{
		{"all", time.Time{}, time.Time{}, []chaos.WatchSpan{
			{Session: "s1", Resource: "nodes", From: at(0), To: at(10)}, first, back, second,
		}},
		{"spans reaching into the range, at either end", at(25), at(40), []chaos.WatchSpan{first, back}},
		{"none in a gap", at(61), at(99), nil},
		{"open bounds", at(60), time.Time{}, []chaos.WatchSpan{back, second}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got, err := s.Coverage(ctx, tt.since, tt.until)
			require.NoError(t, err)
			require.Equal(t, tt.want, got)
		})
	}

	for _, tt := range []struct {
		span chaos.WatchSpan
		err  string
	}{
		{chaos.WatchSpan{Resource: "pods", From: at(0), To: at(1)}, "store: saving watch coverage: spans[0] ( pods): session: not set"},
		{
			chaos.WatchSpan{Session: "s", Resource: "pods", From: at(1), To: at(0)},
			"store: saving watch coverage: spans[0] (s pods): to: 2026-03-14T09:00:00.123456789Z is before from, 2026-03-14T09:00:01.123456789Z",
		},
		{
			chaos.WatchSpan{Session: "s", Resource: "pods", From: at(0), To: at(1), Ended: "crashed"},
			`store: saving watch coverage: spans[0] (s pods): ended: "crashed" is not one of "", broken, stopped`,
		},
	} {
		require.EqualError(t, s.SaveCoverage(ctx, []chaos.WatchSpan{tt.span}), tt.err)
	}
	got, err := s.Coverage(ctx, time.Time{}, time.Time{})
	require.NoError(t, err)
	require.Len(t, got, 4, "nothing refused was stored")
}

func pendingDelivery(webhook, week string, due int) store.Delivery {
	return store.Delivery{
		Webhook: webhook, Week: week, Due: at(due), Created: at(due + 1), Updated: at(due + 1),
		State: store.DeliveryPending, NextAttempt: at(due + 1),
	}
}

func testDeliveries(t *testing.T, db Database) {
	ctx := t.Context()
	s := open(t, db)
	slack := pendingDelivery("slack", "2026-W10", 100)
	created, err := s.CreateDelivery(ctx, slack)
	require.NoError(t, err)
	require.True(t, created)

	// The same webhook and week again is not recorded twice, nor changed.
	again := slack
	again.Due, again.Attempts, again.LastError = at(200), 7, "other"
	created, err = s.CreateDelivery(ctx, again)
	require.NoError(t, err)
	require.False(t, created, "a week is recorded once per webhook")
	// Another webhook, and the week before, are others.
	ops := pendingDelivery("ops", "2026-W10", 100)
	earlier := pendingDelivery("slack", "2026-W09", 50)
	for _, d := range []store.Delivery{ops, earlier} {
		created, err = s.CreateDelivery(ctx, d)
		require.NoError(t, err)
		require.True(t, created)
	}
	got, err := s.Deliveries(ctx, store.DeliveryFilter{})
	require.NoError(t, err)
	require.Equal(t, []store.Delivery{earlier, ops, slack}, got, "earliest due first, then by webhook")

	// An attempt is claimed from the attempts it had: a stale count fails.
	claim := slack
	claim.Attempts, claim.NextAttempt, claim.Updated = 1, at(130), at(110)
	ok, err := s.UpdateDelivery(ctx, claim, 1)
	require.NoError(t, err)
	require.False(t, ok, "claimed from 1 attempt, but it had 0")
	ok, err = s.UpdateDelivery(ctx, claim, 0)
	require.NoError(t, err)
	require.True(t, ok)
	ok, err = s.UpdateDelivery(ctx, claim, 0)
	require.NoError(t, err)
	require.False(t, ok, "the same claim twice")

	// The attempt fails, the next one delivers it; then it is final.
	claim.LastError = "HTTP 500"
	ok, err = s.UpdateDelivery(ctx, claim, 1)
	require.NoError(t, err)
	require.True(t, ok)
	done := claim
	done.State, done.NextAttempt, done.LastError, done.Updated = store.DeliveryDelivered, time.Time{}, "", at(131)
	ok, err = s.UpdateDelivery(ctx, done, 1)
	require.NoError(t, err)
	require.True(t, ok)
	undo := done
	undo.State = store.DeliveryPending
	ok, err = s.UpdateDelivery(ctx, undo, 1)
	require.NoError(t, err)
	require.False(t, ok, "a delivered delivery is not pending any more")

	failed := ops
	failed.State, failed.Attempts, failed.NextAttempt, failed.LastError = store.DeliveryFailed, 3, time.Time{}, "gave up"
	ok, err = s.UpdateDelivery(ctx, failed, 0)
	require.NoError(t, err)
	require.True(t, ok)

	for _, tt := range []struct {
		name string
		f    store.DeliveryFilter
		want []store.Delivery
	}{
		{"pending", store.DeliveryFilter{State: store.DeliveryPending}, []store.Delivery{earlier}},
		{"delivered", store.DeliveryFilter{State: store.DeliveryDelivered}, []store.Delivery{done}},
		{"failed", store.DeliveryFilter{State: store.DeliveryFailed}, []store.Delivery{failed}},
		{"a webhook's", store.DeliveryFilter{Webhook: "slack"}, []store.Delivery{earlier, done}},
		{"a webhook's, by state", store.DeliveryFilter{Webhook: "slack", State: store.DeliveryDelivered}, []store.Delivery{done}},
		{"none", store.DeliveryFilter{Webhook: "nobody"}, nil},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got, err := s.Deliveries(ctx, tt.f)
			require.NoError(t, err)
			require.Equal(t, tt.want, got)
		})
	}

	// What was written survives a reopen.
	require.NoError(t, s.Close())
	s2, err := store.Open(ctx, db.DSN, store.Options{})
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, s2.Close()) })
	got, err = s2.Deliveries(ctx, store.DeliveryFilter{})
	require.NoError(t, err)
	require.Equal(t, []store.Delivery{earlier, failed, done}, got)

	for _, tt := range []struct {
		change func(d *store.Delivery)
		err    string
	}{
		{func(d *store.Delivery) { d.Webhook = "" }, "store: recording delivery /2026-W11: webhook: not set"},
		{func(d *store.Delivery) { d.Week = "" }, "store: recording delivery slack/: week: not set"},
		{func(d *store.Delivery) { d.State = "sent" }, `store: recording delivery slack/2026-W11: state: "sent" is not one of pending, delivered, failed`},
		{func(d *store.Delivery) { d.Attempts = -1 }, "store: recording delivery slack/2026-W11: attempts: -1 is negative"},
		{func(d *store.Delivery) { d.Due = time.Time{} }, "store: recording delivery slack/2026-W11: due is not set"},
	} {
		d := pendingDelivery("slack", "2026-W11", 300)
		tt.change(&d)
		_, err := s2.CreateDelivery(ctx, d)
		require.EqualError(t, err, tt.err)
	}
	got, err = s2.Deliveries(ctx, store.DeliveryFilter{})
	require.NoError(t, err)
	require.Len(t, got, 3, "nothing refused was stored")
}

func testConcurrentDeliveryClaims(t *testing.T, db Database) {
	ctx := t.Context()
	const serves = 8
	stores := make([]store.Store, serves)
	for i := range stores {
		stores[i] = open(t, db)
	}
	d := pendingDelivery("slack", "2026-W10", 0)
	created, err := stores[0].CreateDelivery(ctx, d)
	require.NoError(t, err)
	require.True(t, created)
	claims := make(chan int, serves)
	var wg sync.WaitGroup
	for i, s := range stores {
		wg.Go(func() {
			c := d
			c.Attempts, c.LastError = 1, fmt.Sprintf("serve %d", i)
			ok, err := s.UpdateDelivery(ctx, c, 0)
			if assertNoError(t, err) && ok {
				claims <- i
			}
		})
	}
	wg.Wait()
	close(claims)
	var won []int
	for i := range claims {
		won = append(won, i)
	}
	require.Len(t, won, 1, "exactly one serve claims the attempt")
	got, err := stores[0].Deliveries(ctx, store.DeliveryFilter{})
	require.NoError(t, err)
	require.Len(t, got, 1)
	require.Equal(t, fmt.Sprintf("serve %d", won[0]), got[0].LastError)
	require.Equal(t, 1, got[0].Attempts)
}

// transition is a judged verdict of hypothesis h at(n), as the verdict
// loop would save it; a NaN score makes its metric's p-value NaN too.
func transition(t *testing.T, h string, n int, result verdict.Result, score float64, final bool) verdict.Transition {
	t.Helper()
	v := verdict.Verdict{
		Hypothesis: h, At: at(n), Result: result, Reason: "because " + string(result), Score: score,
		Running: !final, Metrics: []verdict.Metric{{Name: "errors", Result: result, Weight: 1, PValue: score / 100}},
	}
	tr, err := verdict.NewTransition(v, final)
	require.NoError(t, err)
	return tr
}

// sameTransitions compares transitions, NaN scores equal to each other.
func sameTransitions(t *testing.T, want, got []verdict.Transition) {
	t.Helper()
	nanless := func(trs []verdict.Transition) []verdict.Transition {
		out := make([]verdict.Transition, len(trs))
		for i, tr := range trs {
			if math.IsNaN(tr.Score) {
				tr.Score = -1 // no score the tests give
			}
			out[i] = tr
		}
		return out
	}
	require.Equal(t, nanless(want), nanless(got))
}

func testVerdicts(t *testing.T, db Database) {
	ctx := t.Context()
	s := open(t, db)

	runningFail := transition(t, "kill-postgres", 0, verdict.Fail, 40, false)
	unjudged := transition(t, "drain-node", 10, verdict.Inconclusive, math.NaN(), false)
	require.Contains(t, string(unjudged.Verdict), `"score":null`, "the verdict's JSON has no NaN")
	require.Contains(t, string(unjudged.Verdict), `"p_value":null`)
	infinite := transition(t, "kill-postgres", 10, verdict.Inconclusive, math.Inf(1), false)
	finalPass := transition(t, "kill-postgres", 20, verdict.Pass, 100, true)
	drainPass := transition(t, "drain-node", 30, verdict.Pass, 87.5, false)
	for _, tr := range []verdict.Transition{finalPass, runningFail, drainPass, unjudged, infinite} {
		require.NoError(t, s.SaveVerdict(ctx, tr))
	}
	// Not finite is kept as null, read back as NaN.
	infinite.Score = math.NaN()

	all := []verdict.Transition{runningFail, unjudged, infinite, finalPass, drainPass}
	for _, tt := range []struct {
		name         string
		since, until time.Time
		want         []verdict.Transition
	}{
		{"all, oldest first, then by hypothesis", time.Time{}, time.Time{}, all},
		{"since includes a verdict at the bound", at(10), time.Time{}, all[1:]},
		{"until excludes a verdict at the bound", time.Time{}, at(20), all[:3]},
		{"none in a gap", at(21), at(30), nil},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var got []verdict.Transition
			require.NoError(t, s.EachVerdict(ctx, tt.since, tt.until, func(tr *verdict.Transition) error {
				got = append(got, *tr)
				return nil
			}))
			sameTransitions(t, tt.want, got)
		})
	}

	t.Run("EachVerdict stops at fn's first error and returns it as is", func(t *testing.T) {
		stop := errors.New("stop")
		calls := 0
		err := s.EachVerdict(ctx, time.Time{}, time.Time{}, func(*verdict.Transition) error {
			calls++
			return stop
		})
		require.Same(t, stop, err)
		require.Equal(t, 1, calls)
	})

	for _, tt := range []struct {
		name   string
		before time.Time
		want   []verdict.Transition
	}{
		{"the last of each hypothesis, by name", time.Time{}, []verdict.Transition{drainPass, finalPass}},
		{"in force before a time, excluding one at it", at(20), []verdict.Transition{unjudged, infinite}},
		{"just after it, including it", at(20).Add(time.Nanosecond), []verdict.Transition{unjudged, finalPass}},
		{"none before the first", at(0), nil},
	} {
		t.Run("latest: "+tt.name, func(t *testing.T) {
			got, err := s.LatestVerdicts(ctx, tt.before)
			require.NoError(t, err)
			sameTransitions(t, tt.want, got)
		})
	}

	t.Run("a verdict saved again at the same time replaces it", func(t *testing.T) {
		again := transition(t, "drain-node", 30, verdict.Fail, 12, true)
		require.NoError(t, s.SaveVerdict(ctx, again))
		got, err := s.LatestVerdicts(ctx, time.Time{})
		require.NoError(t, err)
		sameTransitions(t, []verdict.Transition{again, finalPass}, got)
		n := 0
		require.NoError(t, s.EachVerdict(ctx, time.Time{}, time.Time{}, func(*verdict.Transition) error { n++; return nil }))
		require.Equal(t, len(all), n)
	})
}

func testInvalidVerdicts(t *testing.T, db Database) {
	ctx := t.Context()
	s := open(t, db)
	good := transition(t, "kill-postgres", 0, verdict.Pass, 100, false)
	for _, tt := range []struct {
		name   string
		change func(tr *verdict.Transition)
		err    string
	}{
		{
			"no hypothesis", func(tr *verdict.Transition) { tr.Hypothesis = "" },
			`store: saving verdict of "": hypothesis: not set`,
		},
		{
			"a name longer than any hypothesis's", func(tr *verdict.Transition) { tr.Hypothesis = strings.Repeat("a", store.MaxHypothesisBytes+1) },
			"store: saving verdict of a hypothesis named by 254 bytes: hypothesis: 254 bytes: want at most 253",
		},
		{
			"a metric's result", func(tr *verdict.Transition) { tr.Result = verdict.High },
			`store: saving verdict of "kill-postgres": result: "high" is not one of pass, fail, inconclusive`,
		},
		{
			"no time", func(tr *verdict.Transition) { tr.At = time.Time{} },
			`store: saving verdict of "kill-postgres": at is not set`,
		},
		{
			"broken JSON", func(tr *verdict.Transition) { tr.Verdict = []byte(`{"result":`) },
			`store: saving verdict of "kill-postgres": verdict: not valid JSON`,
		},
		{
			"NUL in the reason", func(tr *verdict.Transition) { tr.Reason = "a\x00b" },
			`store: saving verdict of "kill-postgres": reason: NUL character at byte 1: the store cannot keep it`,
		},
	} {
		t.Run(tt.name, func(t *testing.T) {
			tr := good
			tt.change(&tr)
			require.EqualError(t, s.SaveVerdict(ctx, tr), tt.err)
		})
	}
	got, err := s.LatestVerdicts(ctx, time.Time{})
	require.NoError(t, err)
	require.Empty(t, got, "nothing refused was stored")
	// At the bound: the longest name is kept.
	longest := good
	longest.Hypothesis = strings.Repeat("a", store.MaxHypothesisBytes)
	require.NoError(t, s.SaveVerdict(ctx, longest))
	got, err = s.LatestVerdicts(ctx, time.Time{})
	require.NoError(t, err)
	require.Equal(t, []verdict.Transition{longest}, got)
}
