package api_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/steadywatch/steadywatch/api"
	"github.com/steadywatch/steadywatch/chaos"
	"github.com/steadywatch/steadywatch/tracker"
)

var t0 = time.Date(2026, 11, 21, 12, 0, 0, 0, time.UTC)

func seed(t *testing.T) *tracker.MemoryStore {
	t.Helper()
	s := tracker.NewMemoryStore()
	for _, inc := range []chaos.Incident{
		{
			ID: "a", Kind: chaos.PodDeleted, Subject: chaos.Subject{Namespace: "shop", Service: "cart", Group: chaos.Experimental},
			Object: chaos.Ref{Kind: "Deployment", Namespace: "shop", Name: "cart-exp"},
			Start:  t0, End: t0.Add(1500 * time.Millisecond), Events: 1,
			Detection: chaos.Detection{At: t0.Add(750 * time.Millisecond), Alert: "CartDown", Fingerprint: "f00d"},
		},
		{
			ID: "b", Kind: chaos.NodeNotReady, Subject: chaos.Subject{Service: "", Group: chaos.NoGroup},
			Object: chaos.Ref{Kind: "Node", Name: "node-1"},
			Start:  t0.Add(time.Minute), Events: 3, Evicted: 2,
			Detection: chaos.Detection{Undetected: true},
		},
		{
			ID: "c", Kind: chaos.PodDeleted, Subject: chaos.Subject{Namespace: "shop", Service: "cart", Group: chaos.Control},
			Object: chaos.Ref{Kind: "Deployment", Namespace: "shop", Name: "cart-ctl"},
			Start:  t0.Add(2 * time.Minute), Events: 1, Missed: true,
		},
	} {
		require.NoError(t, s.Save(t.Context(), inc))
		if inc.Detection.Decided() { // Save leaves detections to SetDetection
			ok, err := s.SetDetection(t.Context(), inc.ID, inc.Detection)
			require.NoError(t, err)
			require.True(t, ok)
		}
	}
	return s
}

func get(t *testing.T, h http.Handler, query string) (int, []byte) {
	t.Helper()
	req := httptest.NewRequestWithContext(t.Context(), http.MethodGet, api.IncidentsPath+query, nil)
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	require.Equal(t, "application/json", rec.Header().Get("Content-Type"))
	return rec.Code, rec.Body.Bytes()
}

func ids(t *testing.T, body []byte) []string {
	t.Helper()
	var list api.IncidentList
	require.NoError(t, json.Unmarshal(body, &list))
	out := []string{}
	for _, inc := range list.Incidents {
		out = append(out, inc.ID)
	}
	return out
}

func TestIncidentsFilters(t *testing.T) {
	h := api.Incidents(seed(t), nil, nil)
	for _, tc := range []struct {
		query string
		want  []string
	}{
		{"", []string{"a", "b", "c"}},
		{"?service=cart", []string{"a", "c"}},
		{"?service=cart&group=control", []string{"c"}},
		{"?namespace=shop&kind=pod_deleted", []string{"a", "c"}},
		{"?kind=node_not_ready", []string{"b"}},
		{"?open=true", []string{"b", "c"}},
		{"?open=false", []string{"a"}},
		{"?since=2026-11-21T12:01:00Z", []string{"b", "c"}},
		{"?until=2026-11-21T12:01:00Z", []string{"a"}},
		{"?since=1795262460&until=1795262519.5", []string{"b"}},
		{"?limit=2", []string{"a", "b"}},
		{"?service=nothing", []string{}},
	} {
		t.Run(tc.query, func(t *testing.T) {
			code, body := get(t, h, tc.query)
			require.Equal(t, http.StatusOK, code, "%s", body)
			require.Equal(t, tc.want, ids(t, body))
		})
	}
}

func TestIncidentsShowsRecoveryAndOpenIncidents(t *testing.T) {
	code, body := get(t, api.Incidents(seed(t), nil, nil), "?limit=2")
	require.Equal(t, http.StatusOK, code)
	var raw map[string]any
	require.NoError(t, json.Unmarshal(body, &raw))
	require.Equal(t, true, raw["truncated"])
	list := raw["incidents"].([]any)
	closed, open := list[0].(map[string]any), list[1].(map[string]any)
	require.Equal(t, map[string]any{
		"id": "a", "kind": "pod_deleted", "namespace": "shop", "service": "cart", "group": "experimental",
		"object": map[string]any{"kind": "Deployment", "namespace": "shop", "name": "cart-exp"},
		"start":  "2026-11-21T12:00:00Z", "end": "2026-11-21T12:00:01.5Z", "recovery_seconds": 1.5,
		"events": 1.0, "missed": false,
		"detection": map[string]any{
			"at": "2026-11-21T12:00:00.75Z", "detection_seconds": 0.75, "alertname": "CartDown",
			"fingerprint": "f00d", "undetected": false,
		},
	}, closed)
	require.Nil(t, open["end"])
	require.Equal(t, map[string]any{"undetected": true}, open["detection"])
	require.Nil(t, open["recovery_seconds"])
	require.EqualValues(t, 2, open["evicted"])
}

func TestIncidentsRejectsBadParametersByName(t *testing.T) {
	h := api.Incidents(seed(t), nil, nil)
	for _, tc := range []struct{ query, want string }{
		{"?open=maybe", `query parameter open: "maybe" is not true or false`},
		{"?since=yesterday", `query parameter since: "yesterday" is neither an RFC 3339 time nor Unix seconds`},
		{"?until=-5", `query parameter until: "-5" is neither an RFC 3339 time nor Unix seconds`},
		{"?since=2026-11-22T00:00:00Z&until=2026-11-21T00:00:00Z", "query parameters since and until: until (2026-11-21T00:00:00Z) must be after since (2026-11-22T00:00:00Z)"},
		{"?limit=0", `query parameter limit: "0" is not a number from 1 to 10000`},
		{"?limit=100000", `query parameter limit: "100000" is not a number from 1 to 10000`},
		{"?group=canary", `query parameter group: "canary" is not one of control, experimental, none`},
		{"?kind=pod_killed", `query parameter kind: "pod_killed" is not one of pod_deleted, node_not_ready, hpa_scaled_up, hpa_scaled_down, workload_degraded, container_restarted`},
		{"?servce=cart", `unknown query parameter "servce": want service, namespace, group, kind, open, since, until, limit or cluster`},
		{"?service=a&service=b", "query parameter service: given 2 times, want at most once"},
	} {
		t.Run(tc.query, func(t *testing.T) {
			code, body := get(t, h, tc.query)
			require.Equal(t, http.StatusBadRequest, code)
			var e api.Error
			require.NoError(t, json.Unmarshal(body, &e))
			require.Equal(t, tc.want, e.Error)
		})
	}
}

type failingStore struct{ tracker.Store }

func (failingStore) List(context.Context, tracker.Filter) ([]chaos.Incident, error) {
	return nil, errors.New("database is locked")
}

func TestIncidentsReportsAStoreFailureAs503(t *testing.T) {
	code, body := get(t, api.Incidents(failingStore{}, nil, nil), "")
	require.Equal(t, http.StatusServiceUnavailable, code)
	require.JSONEq(t, `{"error":"store unavailable: database is locked"}`, string(body))
}
