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
