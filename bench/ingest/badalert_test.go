package ingest

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/require"

	"github.com/steadywatch/steadywatch/alert"
	"github.com/steadywatch/steadywatch/internal/testenv/pgtest"
	"github.com/steadywatch/steadywatch/receiver"
	"github.com/steadywatch/steadywatch/store"
)

// TestOneBadAlertDoesNotBlockTheGoodOnes posts, to a receiver storing into
// each real database, a notification whose alerts the store cannot keep
// next to good ones: the bad are rejected up front, the good stored, and
// the notification acknowledged, where the store's refusal used to answer
// 503 for ever. An alert notified again with other labels keeps the
// latest.
func TestOneBadAlertDoesNotBlockTheGoodOnes(t *testing.T) {
	for _, db := range []struct {
		name string
		dsn  func(t *testing.T) string
	}{
		{"sqlite", func(t *testing.T) string { return filepath.Join(t.TempDir(), "bad.db") }},
		{"postgres", func(t *testing.T) string { return pgtest.New(t) }},
	} {
		t.Run(db.name, func(t *testing.T) {
			st, err := store.Open(t.Context(), db.dsn(t), store.Options{})
			require.NoError(t, err)
			t.Cleanup(func() { require.NoError(t, st.Close()) })
			rcv, err := receiver.New(receiver.Options{Sink: st, Registerer: prometheus.NewRegistry()})
			require.NoError(t, err)
			post := func(body string) *httptest.ResponseRecorder {
				w := httptest.NewRecorder()
				req := httptest.NewRequestWithContext(t.Context(), http.MethodPost, receiver.Path, bytes.NewReader([]byte(body)))
				req.Header.Set("Content-Type", "application/json")
				rcv.ServeHTTP(w, req)
				return w
			}
			alertOf := func(fp, labels, more string) string {
				return `{"status":"firing","labels":` + labels + `,"startsAt":"2026-11-21T15:35:57Z",` + more + `"fingerprint":"` + fp + `"}`
			}

			w := post(`{"version":"4","receiver":"hook","groupKey":"g","alerts":[` +
				alertOf("0000000000000001", `{"alertname":"Good","team":"storage"}`, ``) + `,` +
				alertOf("0000000000000002", `{"alertname":"Late"}`, `"endsAt":"2300-01-01T00:00:00Z",`) + `,` +
				alertOf("0000000000000003", `{"alertname":"Nul\u0000"}`, ``) + `,` +
				alertOf("0000000000000004", `{"alertname":"Note"}`, `"annotations":{"summary":"\u0000"},`) + `,` +
				alertOf("0000000000000005", `{"alertname":"Good"}`, ``) + `]}`)

			require.Equal(t, http.StatusOK, w.Code, w.Body.String())
			require.Equal(t, "stored 2 alerts (2 new), rejected 3:\n"+
				"alerts[1].endsAt: 2300-01-01T00:00:00Z is out of range (years 1678 to 2261)\n"+
				"alerts[2].labels.alertname: NUL character at byte 3: the store cannot keep it\n"+
				"alerts[3].annotations.summary: NUL character at byte 0: the store cannot keep it\n", w.Body.String())
			got, err := st.Alerts(t.Context(), alert.Filter{})
			require.NoError(t, err)
			require.Len(t, got, 2)
			require.Equal(t, "0000000000000001", got[0].Fingerprint)
			require.Equal(t, "0000000000000005", got[1].Fingerprint)

			w = post(`{"version":"4","receiver":"hook","groupKey":"g","alerts":[` +
				alertOf("0000000000000001", `{"alertname":"Good","team":"platform"}`, ``) + `]}`)

			require.Equal(t, http.StatusOK, w.Code, w.Body.String())
			require.Equal(t, "stored 1 alerts (0 new)\n", w.Body.String())
			got, err = st.Alerts(t.Context(), alert.Filter{Labels: map[string]string{"alertname": "Good"}})
			require.NoError(t, err)
			require.Len(t, got, 2)
			require.Equal(t, map[string]string{"alertname": "Good", "team": "platform"}, got[0].Labels, "the latest labels win")
		})
	}
}
