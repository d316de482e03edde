package server

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/model"
	"github.com/stretchr/testify/require"
	"k8s.io/client-go/rest"

	"github.com/steadywatch/steadywatch/api"
	"github.com/steadywatch/steadywatch/config"
	"github.com/steadywatch/steadywatch/experiment"
	"github.com/steadywatch/steadywatch/internal/testenv/fakeclock"
	"github.com/steadywatch/steadywatch/internal/testenv/pgtest"
	"github.com/steadywatch/steadywatch/internal/testenv/waitfor"
	"github.com/steadywatch/steadywatch/store"
)

// chaosAPI is a Kubernetes API that serves Chaos Mesh's PodChaos (one, in
// shop, injected) and not Litmus, answers the watches with nothing until
// they end, and nothing else. It records the requests it was asked.
type chaosAPI struct {
	mu       sync.Mutex
	requests []string
	closing  chan struct{}
}

// runningPodChaos is a pod kill applied at 10:00:02 and not recovered.
const runningPodChaos = `{"apiVersion":"chaos-mesh.org/v1alpha1","kind":"PodChaos",
"metadata":{"name":"kill-web","namespace":"shop","uid":"3f1e-podchaos","resourceVersion":"7","creationTimestamp":"2026-03-01T10:00:00Z"},
"spec":{"action":"pod-kill","mode":"one","selector":{"namespaces":["shop"],"labelSelectors":{"app":"web"}}},
"status":{"experiment":{"desiredPhase":"Run","containerRecords":[{"id":"shop/web-a","selectorKey":".","phase":"Injected",
"injectedCount":1,"recoveredCount":0,"events":[{"type":"Succeeded","operation":"Apply","timestamp":"2026-03-01T10:00:02Z"}]}]}}}`

func newChaosAPI(t *testing.T) (*chaosAPI, *httptest.Server) {
	t.Helper()
	a := &chaosAPI{closing: make(chan struct{})}
	srv := httptest.NewServer(a)
	t.Cleanup(srv.Close)
	t.Cleanup(func() { close(a.closing) }) // first: the watches end
	return a, srv
}

func (a *chaosAPI) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	a.mu.Lock()
	a.requests = append(a.requests, r.URL.Path)
	a.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	q := r.URL.Query()
	switch {
	case r.URL.Path == "/apis/coordination.k8s.io/v1/namespaces/steadywatch/leases/steadywatch" && r.Method == http.MethodGet:
		// Another replica holds the Lease, renewed a moment ago.
		renewed := time.Now().UTC().Format("2006-01-02T15:04:05.000000Z")
		fmt.Fprintf(w, `{"apiVersion":"coordination.k8s.io/v1","kind":"Lease","metadata":{"name":"steadywatch","namespace":"steadywatch","resourceVersion":"1"},
"spec":{"holderIdentity":"a","leaseDurationSeconds":3600,"acquireTime":%q,"renewTime":%q,"leaseTransitions":0}}`, renewed, renewed)
	case r.URL.Path == "/apis/chaos-mesh.org/v1alpha1":
		fmt.Fprint(w, `{"kind":"APIResourceList","apiVersion":"v1","groupVersion":"chaos-mesh.org/v1alpha1","resources":[
{"name":"podchaos","singularName":"podchaos","namespaced":true,"kind":"PodChaos","verbs":["get","list","watch"]}]}`)
	case q.Get("watch") == "true" && q.Get("sendInitialEvents") == "true":
		// An API server without streaming lists: client-go lists.
		w.WriteHeader(http.StatusUnprocessableEntity)
		fmt.Fprint(w, `{"kind":"Status","apiVersion":"v1","status":"Failure","reason":"Invalid","code":422}`)
	case q.Get("watch") == "true":
		w.WriteHeader(http.StatusOK)
		w.(http.Flusher).Flush()
		select {
		case <-r.Context().Done():
		case <-a.closing:
		}
	case r.URL.Path == "/apis/chaos-mesh.org/v1alpha1/namespaces/shop/podchaos":
		fmt.Fprint(w, `{"apiVersion":"chaos-mesh.org/v1alpha1","kind":"PodChaosList","metadata":{"resourceVersion":"7"},"items":[`+runningPodChaos+`]}`)
	case strings.HasPrefix(r.URL.Path, "/apis/chaos-mesh.org/"):
		fmt.Fprint(w, `{"apiVersion":"chaos-mesh.org/v1alpha1","kind":"List","metadata":{"resourceVersion":"7"},"items":[]}`)
	default:
		w.WriteHeader(http.StatusNotFound)
		fmt.Fprint(w, `{"kind":"Status","apiVersion":"v1","status":"Failure","reason":"NotFound","code":404}`)
	}
}

// asked returns the paths asked for that start with prefix.
func (a *chaosAPI) asked(prefix string) []string {
	a.mu.Lock()
	defer a.mu.Unlock()
	var out []string
	for _, p := range a.requests {
		if strings.HasPrefix(p, prefix) {
			out = append(out, p)
		}
	}
	return out
}

// Serve, leading (election off), watches the chaos tools' resources the
// cluster serves, in watch.namespaces only, records the running PodChaos
// in its store, exports what it watches and lists the experiment on the
// API.
func TestTheLeaderRecordsTheChaosToolsExperimentsInTheWatchedNamespaces(t *testing.T) {
	chaos, apiSrv := newChaosAPI(t)
	cfg := config.Default()
	cfg.DataDir = t.TempDir()
	cfg.Listen = "127.0.0.1:0"
	cfg.Watch.Namespaces = []string{"shop"}
	require.NoError(t, cfg.Validate())
	now := time.Date(2026, 3, 1, 10, 5, 0, 0, time.UTC)
	s := startServeWith(t, cfg, fakeclock.New(now), func(o *Options) { o.RESTConfig = &rest.Config{Host: apiSrv.URL} })

	want := experiment.Experiment{
		Tool: experiment.ChaosMesh, Kind: "PodChaos", Namespace: "shop", Name: "kill-web", UID: "3f1e-podchaos",
		Fault: "pod-kill", Target: "mode=one namespaces=shop labels=app=web",
		Start: time.Date(2026, 3, 1, 10, 0, 2, 0, time.UTC), Result: experiment.Injected,
	}
	var got []experiment.Experiment
	waitfor.True(t, 20*time.Second, "the PodChaos to be recorded", func() bool {
		var err error
		got, err = s.DB.Experiments(t.Context(), store.ExperimentFilter{})
		require.NoError(t, err)
		return len(got) == 1
	})
	require.Equal(t, want.Key(), got[0].Key())
	require.Equal(t, want.Start, got[0].Start.UTC())
	require.Equal(t, want.Result, got[0].Result)
	require.True(t, got[0].Running())

	require.NotEmpty(t, chaos.asked("/apis/chaos-mesh.org/v1alpha1/namespaces/shop/podchaos"))
	for _, p := range chaos.asked("/apis/chaos-mesh.org/v1alpha1/") {
		require.True(t, strings.HasPrefix(p, "/apis/chaos-mesh.org/v1alpha1/namespaces/shop/"), "%s is outside watch.namespaces", p)
	}
	require.NotEmpty(t, chaos.asked("/apis/litmuschaos.io/v1alpha1"), "Litmus was looked for")
	require.Empty(t, chaos.asked("/apis/litmuschaos.io/v1alpha1/"), "Litmus, not served, was listed")
	require.InDelta(t, 1.0, gaugeOf(t, s, "steadywatch_experiment_resources_watched", "podchaos.chaos-mesh.org"), 0)
	require.InDelta(t, 0.0, gaugeOf(t, s, "steadywatch_experiment_resources_watched", "chaosengines.litmuschaos.io"), 0)

	req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, "http://"+s.Addr.String()+api.ExperimentsPath+"?tool=chaos-mesh", nil)
	require.NoError(t, err)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
	var list api.ExperimentList
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&list))
	require.Len(t, list.Experiments, 1)
	require.Equal(t, "kill-web", list.Experiments[0].Name)
	require.Equal(t, now, list.Experiments[0].Observed.To, "the window of a running experiment ends at serve's now")
	require.NoError(t, s.stop())
}

// gaugeOf reads the series of name whose first label is value from the
// serve's registry.
func gaugeOf(t *testing.T, s *serving, name, value string) float64 {
	t.Helper()
	mfs, err := s.Registry.Gather()
	require.NoError(t, err)
	i := slices.IndexFunc(mfs, func(mf *dto.MetricFamily) bool { return mf.GetName() == name })
	require.GreaterOrEqual(t, i, 0, "no %s", name)
	for _, m := range mfs[i].GetMetric() {
		if len(m.GetLabel()) > 0 && m.GetLabel()[0].GetValue() == value {
			return m.GetGauge().GetValue()
		}
	}
	t.Fatalf("no %s{%q}", name, value)
	return 0
}

// A follower watches no chaos tool: it looks for none while another
// replica holds the Lease, and exports every resource as not watched.
func TestAFollowerDoesNotWatchTheChaosToolsExperiments(t *testing.T) {
	chaos, apiSrv := newChaosAPI(t)
	cfg := config.Default()
	cfg.DataDir = t.TempDir()
	cfg.Listen = "127.0.0.1:0"
	cfg.Store = pgtest.New(t)
	cfg.Kubernetes.LeaderElection = election("b")
	cfg.Kubernetes.LeaderElection.LeaseDuration = model.Duration(2 * time.Second)
	require.NoError(t, cfg.Validate())
	s := startServeWith(t, cfg, fakeclock.New(time.Now()), func(o *Options) { o.RESTConfig = &rest.Config{Host: apiSrv.URL} })

	// The follower's tries to acquire the Lease: by the fifth, a leader
	// would have looked for the chaos tools long before.
	waitfor.True(t, 20*time.Second, "five tries at the Lease", func() bool {
		return len(chaos.asked("/apis/coordination.k8s.io/")) >= 5
	})
	require.False(t, s.Leading())
	require.Empty(t, chaos.asked("/apis/chaos-mesh.org/"))
	require.Empty(t, chaos.asked("/apis/litmuschaos.io/"))
	for _, r := range experiment.Resources {
		require.InDelta(t, 0.0, gaugeOf(t, s, "steadywatch_experiment_resources_watched", r.Resource+"."+r.Group), 0)
	}
	require.NoError(t, s.stop())
}
