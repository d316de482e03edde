package server

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/require"

	"github.com/steadywatch/steadywatch/api"
	"github.com/steadywatch/steadywatch/store"
	"github.com/steadywatch/steadywatch/verdict"
)

// Issue 15 #3: a follower judges nothing: it answers the verdicts from the
// store's history (the last verdict kept of each loaded hypothesis), and
// 503 naming the leader when the store cannot tell.
func TestAFollowerServesTheVerdictsTheStoreKeeps(t *testing.T) {
	db, err := store.Open(t.Context(), filepath.Join(t.TempDir(), "sw.db"), store.Options{})
	require.NoError(t, err)
	at := time.Date(2026, 11, 21, 10, 0, 0, 0, time.UTC)
	for _, v := range []verdict.Verdict{
		{Hypothesis: "kill-postgres", At: at, Result: verdict.Fail, Reason: "p99 above 250ms"},
		{Hypothesis: "kill-postgres", At: at.Add(time.Minute), Result: verdict.Pass},
		{Hypothesis: "retired", At: at, Result: verdict.Fail}, // no longer loaded
	} {
		tr, err := verdict.NewTransition(v, false)
		require.NoError(t, err)
		require.NoError(t, db.SaveVerdict(t.Context(), tr))
	}
	board := verdict.NewBoard()
	board.Record(verdict.Verdict{Hypothesis: "kill-postgres", At: at.Add(2 * time.Minute), Result: verdict.Inconclusive})
	ship := newLeadership(prometheus.NewRegistry())
	ship.setLeader("serve-0_ab12")
	mux := http.NewServeMux()
	list, one := verdictHandlers(board, db, ship, func() []string { return []string{"kill-postgres", "judged-never"} }, nil)
	mux.Handle("GET "+api.VerdictsPath, list)
	mux.Handle("GET "+api.VerdictPath, one)
	get := func(path string) (int, []byte) {
		rec := httptest.NewRecorder()
		mux.ServeHTTP(rec, httptest.NewRequestWithContext(t.Context(), http.MethodGet, path, nil))
		return rec.Code, rec.Body.Bytes()
	}
	results := func(body []byte) map[string]verdict.Result {
		var l api.VerdictList
		require.NoError(t, json.Unmarshal(body, &l))
		out := map[string]verdict.Result{}
		for _, v := range l.Verdicts {
			out[v.Hypothesis] = v.Result
		}
		return out
	}

	code, body := get(api.VerdictsPath)
	require.Equal(t, http.StatusOK, code, string(body))
	require.Equal(t, map[string]verdict.Result{"kill-postgres": verdict.Pass}, results(body), "a follower: the store's last verdict")
	code, body = get(api.VerdictsPath + "/kill-postgres")
	require.Equal(t, http.StatusOK, code)
	var v verdict.Verdict
	require.NoError(t, json.Unmarshal(body, &v))
	require.Equal(t, verdict.Pass, v.Result)
	require.True(t, v.At.Equal(at.Add(time.Minute)), "the verdict in force since %s", v.At)
	code, _ = get(api.VerdictsPath + "/retired")
	require.Equal(t, http.StatusNotFound, code, "a hypothesis no longer loaded")

	ship.set(true)
	code, body = get(api.VerdictsPath)
	require.Equal(t, http.StatusOK, code)
	require.Equal(t, map[string]verdict.Result{"kill-postgres": verdict.Inconclusive}, results(body), "the leader: its board")

	ship.set(false)
	require.NoError(t, db.Close())
	code, body = get(api.VerdictsPath)
	require.Equal(t, http.StatusServiceUnavailable, code)
	var e api.Error
	require.NoError(t, json.Unmarshal(body, &e))
	require.Contains(t, e.Error, `the leader ("serve-0_ab12") judges the hypotheses; this follower reads the verdicts from the store, which failed: `)
}

// Issue 15: the cluster parameter reads another cluster's last verdicts,
// or every cluster's, from the store; absent, the serve's own, each
// verdict carrying its cluster.
func TestTheClusterParameterReadsAnotherClustersVerdicts(t *testing.T) {
	path := filepath.Join(t.TempDir(), "sw.db")
	at := time.Date(2026, 11, 21, 10, 0, 0, 0, time.UTC)
	open := func(cluster string) store.Store {
		s, err := store.Open(t.Context(), path, store.Options{Cluster: cluster})
		require.NoError(t, err)
		t.Cleanup(func() { require.NoError(t, s.Close()) })
		return s
	}
	east, west := open("east"), open("west")
	for s, result := range map[store.Store]verdict.Result{east: verdict.Fail, west: verdict.Pass} {
		tr, err := verdict.NewTransition(verdict.Verdict{Hypothesis: "kill-postgres", At: at, Result: result}, true)
		require.NoError(t, err)
		require.NoError(t, s.SaveVerdict(t.Context(), tr))
	}
	board := verdict.NewBoard()
	board.Record(verdict.Verdict{Hypothesis: "kill-postgres", At: at.Add(time.Minute), Result: verdict.Inconclusive})
	ship := newLeadership(prometheus.NewRegistry())
	ship.set(true)
	list, one := verdictHandlers(board, east, ship, func() []string { return []string{"kill-postgres"} },
		&api.Clusters{Own: "east", Views: east})
	mux := http.NewServeMux()
	mux.Handle("GET "+api.VerdictsPath, list)
	mux.Handle("GET "+api.VerdictPath, one)
	get := func(path string) (int, string) {
		rec := httptest.NewRecorder()
		mux.ServeHTTP(rec, httptest.NewRequestWithContext(t.Context(), http.MethodGet, path, nil))
		return rec.Code, rec.Body.String()
	}
	type seen struct {
		Cluster string
		Result  verdict.Result
	}
	verdicts := func(query string) []seen {
		code, body := get(api.VerdictsPath + query)
		require.Equal(t, http.StatusOK, code, body)
		var l api.VerdictList
		require.NoError(t, json.Unmarshal([]byte(body), &l))
		var out []seen
		for _, v := range l.Verdicts {
			out = append(out, seen{v.Cluster, v.Result})
		}
		return out
	}
	require.Equal(t, []seen{{"east", verdict.Inconclusive}}, verdicts(""), "the leader's board, of its cluster")
	require.Equal(t, []seen{{"west", verdict.Pass}}, verdicts("?cluster=west"))
	require.Equal(t, []seen{{"east", verdict.Fail}, {"west", verdict.Pass}}, verdicts("?cluster=*"), "the store's, each cluster's")
	code, body := get(api.VerdictsPath + "/kill-postgres?cluster=west")
	require.Equal(t, http.StatusOK, code, body)
	require.Contains(t, body, `"cluster": "west"`)
	code, body = get(api.VerdictsPath + "/kill-postgres?cluster=*")
	require.Equal(t, http.StatusBadRequest, code)
	require.Contains(t, body, "query parameter cluster: * is every cluster, and one hypothesis's verdict is one cluster's")
	code, body = get(api.VerdictsPath + "?cluster=north")
	require.Equal(t, http.StatusBadRequest, code)
	require.Contains(t, body, `no cluster \"north\" in the store; known: \"east\", \"west\"`)
	code, body = get(api.VerdictsPath + "?service=x")
	require.Equal(t, http.StatusBadRequest, code)
	require.Contains(t, body, `unknown query parameter \"service\": want cluster`)
}
