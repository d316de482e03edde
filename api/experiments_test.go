package api_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/steadywatch/steadywatch/api"
	"github.com/steadywatch/steadywatch/chaos"
	"github.com/steadywatch/steadywatch/experiment"
	"github.com/steadywatch/steadywatch/store"
)

// The experiments' times: kill-web ran a minute from x0; kill-db runs
// since x0 + 2 minutes, and the request is at x0 + 10 minutes.
var (
	x0    = time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)
	xNow  = x0.Add(10 * time.Minute)
	xEnd  = x0.Add(time.Minute)
	xKill = experiment.Experiment{
		Tool: experiment.ChaosMesh, Kind: "PodChaos", Namespace: "shop", Name: "kill-web", UID: "u1",
		Fault: "pod-kill", Target: "mode=one namespaces=shop labels=app=web", Start: x0, End: xEnd, Result: experiment.Recovered,
		Labels: map[string]string{"team": "shop"},
	}
	xRunning = experiment.Experiment{
		Tool: experiment.Litmus, Kind: "ChaosEngine", Namespace: "shop", Name: "db-chaos", UID: "u2",
		Fault: "pod-delete", Start: x0.Add(2 * time.Minute), Result: "Awaited",
	}
)

// openStore is a SQLite store, as serve opens it by default.
func openStore(t *testing.T) store.Store {
	t.Helper()
	db, err := store.Open(t.Context(), "", store.Options{DataDir: t.TempDir()})
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, db.Close()) })
	return db
}

func deletedAt(ns, service string, at time.Time) chaos.Event {
	return chaos.Event{
		Kind: chaos.PodDeleted, Subject: chaos.Subject{Namespace: ns, Service: service, Group: chaos.Experimental},
		Object: chaos.Ref{Kind: "Pod", Namespace: ns, Name: service + "-" + at.Format("150405.000000000")},
		At:     chaos.Timestamp{Observed: at},
	}
}

func getExperiments(t *testing.T, h http.Handler, query string) (int, []byte) {
	t.Helper()
	req := httptest.NewRequestWithContext(t.Context(), http.MethodGet, api.ExperimentsPath+query, nil)
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	require.Equal(t, "application/json", rec.Header().Get("Content-Type"))
	return rec.Code, rec.Body.Bytes()
}

func experimentsHandler(db store.Store) http.Handler {
	return api.Experiments(api.ExperimentsOptions{Source: db, Faults: db, Now: func() time.Time { return xNow }})
}

// The join counts the events of the experiment's namespace from its start
// to its end, both included, and none a nanosecond outside on either side
// or in another namespace; a running experiment's window ends now. Through
// the SQLite store serve uses.
func TestAnExperimentIsJoinedToTheFaultsObservedInItsNamespaceDuringIt(t *testing.T) {
	db := openStore(t)
	ctx := t.Context()
	require.NoError(t, db.SaveExperiment(ctx, xKill))
	require.NoError(t, db.SaveExperiment(ctx, xRunning))
	for _, e := range []chaos.Event{
		deletedAt("shop", "web", x0.Add(-time.Nanosecond)), // before kill-web
		deletedAt("shop", "web", x0),                       // its first nanosecond
		deletedAt("shop", "web", x0.Add(30*time.Second)),
		deletedAt("shop", "web", xEnd),                      // its last
		deletedAt("shop", "web", xEnd.Add(time.Nanosecond)), // after it
		deletedAt("other", "web", x0.Add(30*time.Second)),   // another namespace
		deletedAt("shop", "db", xNow.Add(-time.Second)),     // db-chaos runs
		deletedAt("shop", "db", xNow.Add(time.Second)),      // after now
	} {
		require.NoError(t, db.SaveEvent(ctx, e))
	}
	for _, inc := range []chaos.Incident{
		{ID: "before", Kind: chaos.PodDeleted, Subject: chaos.Subject{Namespace: "shop", Service: "web"}, Object: chaos.Ref{Kind: "Deployment", Namespace: "shop", Name: "web"}, Start: x0.Add(-time.Nanosecond), End: x0.Add(time.Second), Events: 1},
		{ID: "during", Kind: chaos.PodDeleted, Subject: chaos.Subject{Namespace: "shop", Service: "web", Group: chaos.Experimental}, Object: chaos.Ref{Kind: "Deployment", Namespace: "shop", Name: "web"}, Start: xEnd, Events: 1},
		{ID: "elsewhere", Kind: chaos.PodDeleted, Subject: chaos.Subject{Namespace: "other", Service: "web"}, Object: chaos.Ref{Kind: "Deployment", Namespace: "other", Name: "web"}, Start: x0.Add(time.Second), Events: 1},
	} {
		require.NoError(t, db.Save(ctx, inc))
	}

	code, body := getExperiments(t, experimentsHandler(db), "")
	require.Equal(t, http.StatusOK, code, string(body))
	var list api.ExperimentList
	require.NoError(t, json.Unmarshal(body, &list))
	require.Len(t, list.Experiments, 2)
	require.False(t, list.Truncated)

	kill := list.Experiments[0]
	require.Equal(t, "kill-web", kill.Name)
	require.Equal(t, xEnd, *kill.End)
	require.Equal(t, map[string]string{"team": "shop"}, kill.Labels, "the labels a window's selector is matched against")
	require.Equal(t, api.Observed{
		From: x0, To: xEnd, Events: 3, Kinds: map[chaos.Kind]int{chaos.PodDeleted: 3},
		EventList: []api.ObservedEvent{
			{Kind: chaos.PodDeleted, At: x0, Service: "web", Group: "experimental", Object: api.Object{Kind: "Pod", Namespace: "shop", Name: "web-100000.000000000"}},
			{Kind: chaos.PodDeleted, At: x0.Add(30 * time.Second), Service: "web", Group: "experimental", Object: api.Object{Kind: "Pod", Namespace: "shop", Name: "web-100030.000000000"}},
			{Kind: chaos.PodDeleted, At: xEnd, Service: "web", Group: "experimental", Object: api.Object{Kind: "Pod", Namespace: "shop", Name: "web-100100.000000000"}},
		},
		Incidents: []api.ObservedIncident{{ID: "during", Kind: chaos.PodDeleted, Service: "web", Group: "experimental", Start: xEnd}},
	}, kill.Observed)

	running := list.Experiments[1]
	require.Equal(t, "db-chaos", running.Name)
	require.Nil(t, running.End)
	require.Equal(t, xNow, running.Observed.To, "a running experiment's window ends now")
	require.Equal(t, 1, running.Observed.Events)
	require.Empty(t, running.Observed.Incidents)
	require.Contains(t, string(body), `"end": null`)
	require.Nil(t, running.Labels)
	require.Equal(t, 1, strings.Count(string(body), `"labels"`), "left out when there are none")
}

func TestExperimentsFilters(t *testing.T) {
	db := openStore(t)
	require.NoError(t, db.SaveExperiment(t.Context(), xKill))
	require.NoError(t, db.SaveExperiment(t.Context(), xRunning))
	h := experimentsHandler(db)
	for _, tc := range []struct {
		query string
		want  []string
	}{
		{"", []string{"kill-web", "db-chaos"}},
		{"?tool=litmus", []string{"db-chaos"}},
		{"?tool=chaos-mesh&namespace=shop", []string{"kill-web"}},
		{"?namespace=other", []string{}},
		{"?name=db-chaos", []string{"db-chaos"}},
		// kill-web ended at x0+1m: it ran before since.
		{"?since=" + x0.Add(90*time.Second).Format(time.RFC3339), []string{"db-chaos"}},
		{"?until=" + x0.Add(time.Minute).Format(time.RFC3339), []string{"kill-web"}},
		{"?limit=1", []string{"kill-web"}},
		// kubectl's label selector, as a hypothesis window's selector.
		{"?selector=team%3Dshop", []string{"kill-web"}},
		{"?selector=team+in+(shop,web)", []string{"kill-web"}},
		{"?selector=team%21%3Dshop", []string{"db-chaos"}},
		{"?selector=%21team", []string{"db-chaos"}},
		{"?selector=team&tool=litmus", []string{}},
	} {
		t.Run(tc.query, func(t *testing.T) {
			code, body := getExperiments(t, h, tc.query)
			require.Equal(t, http.StatusOK, code, string(body))
			var list api.ExperimentList
			require.NoError(t, json.Unmarshal(body, &list))
			names := []string{}
			for _, x := range list.Experiments {
				names = append(names, x.Name)
			}
			require.Equal(t, tc.want, names)
			require.Equal(t, tc.query == "?limit=1", list.Truncated)
		})
	}
}

func TestABadExperimentsQueryIsRefusedNamingTheParameter(t *testing.T) {
	h := experimentsHandler(openStore(t))
	for _, tc := range []struct{ query, want string }{
		{"?tool=gremlin", `query parameter tool: "gremlin" is not one of litmus, chaos-mesh`},
		{"?since=yesterday", `query parameter since: "yesterday" is neither an RFC 3339 time nor Unix seconds`},
		{"?until=soon", `query parameter until: "soon" is neither an RFC 3339 time nor Unix seconds`},
		{"?since=200&until=100", "query parameters since and until: until (1970-01-01T00:01:40Z) must be after since (1970-01-01T00:03:20Z)"},
		{"?limit=0", `query parameter limit: "0" is not a number from 1 to 10000`},
		{"?name=a&name=b", "query parameter name: given 2 times, want at most once"},
		{"?service=web", `unknown query parameter "service": want tool, namespace, name, selector, since, until, limit or cluster`},
		{"?selector=team%3D%3D%3Dshop", `query parameter selector: "team===shop" is not a label selector: unable to parse requirement: found '=', expected: identifier`},
		{"?cluster=*", "query parameter cluster: * is not served here: the faults are joined within one cluster; name one"},
		{"?cluster=east", `query parameter cluster: "east" is not this serve's cluster, and it reads no other`},
	} {
		t.Run(tc.query, func(t *testing.T) {
			code, body := getExperiments(t, h, tc.query)
			require.Equal(t, http.StatusBadRequest, code)
			var e api.Error
			require.NoError(t, json.Unmarshal(body, &e))
			require.Equal(t, tc.want, e.Error)
		})
	}
}

// cluster= names another cluster of the store: its experiments, joined to
// its own events.
func TestAnotherClustersExperimentsAreJoinedToItsFaults(t *testing.T) {
	db, err := store.Open(t.Context(), "", store.Options{DataDir: t.TempDir(), Cluster: "east"})
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, db.Close()) })
	require.NoError(t, db.SaveExperiment(t.Context(), xKill))
	require.NoError(t, db.SaveEvent(t.Context(), deletedAt("shop", "web", x0.Add(time.Second))))
	// The serve's own cluster, west, is elsewhere and empty: what is
	// listed comes from the view of east.
	own := openStore(t)
	h := api.Experiments(api.ExperimentsOptions{
		Source: own, Faults: own, Clusters: &api.Clusters{Own: "west", Views: db}, Now: func() time.Time { return xNow },
	})

	code, body := getExperiments(t, h, "?cluster=east")
	require.Equal(t, http.StatusOK, code, string(body))
	var list api.ExperimentList
	require.NoError(t, json.Unmarshal(body, &list))
	require.Len(t, list.Experiments, 1)
	require.Equal(t, "east", list.Experiments[0].Cluster)
	require.Equal(t, 1, list.Experiments[0].Observed.Events)

	code, body = getExperiments(t, h, "?cluster=north")
	require.Equal(t, http.StatusBadRequest, code)
	require.Contains(t, string(body), "query parameter cluster: ")
}
