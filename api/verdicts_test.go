package api_test

import (
	"encoding/json"
	"math"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/steadywatch/steadywatch/api"
	"github.com/steadywatch/steadywatch/verdict"
)

func serveVerdicts(t *testing.T, path string, s api.VerdictSource) (int, []byte) {
	t.Helper()
	mux := http.NewServeMux()
	mux.Handle("GET "+api.VerdictsPath, api.Verdicts(s))
	mux.Handle("GET "+api.VerdictPath, api.Verdict(s))
	rec := httptest.NewRecorder()
	mux.ServeHTTP(rec, httptest.NewRequestWithContext(t.Context(), http.MethodGet, path, nil))
	require.Equal(t, "application/json", rec.Header().Get("Content-Type"))
	return rec.Code, rec.Body.Bytes()
}

func TestVerdictsAreServedWholeAndOneByOne(t *testing.T) {
	s := verdict.NewBoard()
	code, body := serveVerdicts(t, api.VerdictsPath, s)
	require.Equal(t, http.StatusOK, code)
	require.JSONEq(t, `{"verdicts": []}`, string(body))

	at := time.Date(2026, 11, 21, 12, 0, 0, 0, time.UTC)
	s.Record(verdict.Verdict{Hypothesis: "b", At: at, Result: verdict.Pass, Score: 100})
	s.Record(verdict.Verdict{Hypothesis: "a", At: at, Result: verdict.Inconclusive, Score: math.NaN(), Reason: "no data"})

	code, body = serveVerdicts(t, api.VerdictsPath, s)
	require.Equal(t, http.StatusOK, code)
	var list struct {
		Verdicts []map[string]any `json:"verdicts"`
	}
	require.NoError(t, json.Unmarshal(body, &list))
	require.Len(t, list.Verdicts, 2)
	require.Equal(t, "a", list.Verdicts[0]["hypothesis"])
	require.Nil(t, list.Verdicts[0]["score"], "no score is null")
	require.Equal(t, "b", list.Verdicts[1]["hypothesis"])

	code, body = serveVerdicts(t, api.VerdictsPath+"/b", s)
	require.Equal(t, http.StatusOK, code)
	var one map[string]any
	require.NoError(t, json.Unmarshal(body, &one))
	require.Equal(t, "pass", one["result"])
	require.InDelta(t, 100.0, one["score"], 0)

	code, body = serveVerdicts(t, api.VerdictsPath+"/nope", s)
	require.Equal(t, http.StatusNotFound, code)
	require.JSONEq(t, `{"error": "no verdict for hypothesis \"nope\": not loaded, or not judged yet"}`, string(body))

	code, _ = serveVerdicts(t, api.VerdictsPath+"?hypothesis=a", s)
	require.Equal(t, http.StatusBadRequest, code)
}
