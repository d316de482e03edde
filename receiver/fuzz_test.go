package receiver_test

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/prometheus/alertmanager/notify/webhook"
	"github.com/stretchr/testify/require"

	"github.com/steadywatch/steadywatch/alert"
	"github.com/steadywatch/steadywatch/receiver"
)

// FuzzWebhook checks that no body or content type makes the receiver panic
// or answer anything but 200, 400, 413 or 415, and that it answers 200 only
// after handing the sink exactly the alerts of the body.
func FuzzWebhook(f *testing.F) {
	f.Add(realBody(f), "application/json")
	f.Add([]byte(notification(okAlert, okAlert)), "")
	f.Add([]byte(`{"version":"4","alerts":[]}`), "application/json; charset=utf-8")
	for _, tc := range badRequests() {
		if len(tc.body) <= 4096 && tc.method == "" {
			f.Add([]byte(tc.body), tc.contentType)
		}
	}
	const limit = 64 << 10
	f.Fuzz(func(t *testing.T, body []byte, contentType string) {
		sink := &fakeSink{}
		rcv, err := receiver.New(receiver.Options{
			Sink:         sink,
			MaxBodyBytes: limit,
			Now:          func() time.Time { return t0 },
		})
		require.NoError(t, err)
		req := httptest.NewRequestWithContext(t.Context(), http.MethodPost, receiver.Path, bytes.NewReader(body))
		if contentType != "-" {
			req.Header.Set("Content-Type", contentType)
		}
		w := httptest.NewRecorder()

		rcv.ServeHTTP(w, req)

		require.Contains(t, []int{200, 400, 413, 415}, w.Code, w.Body.String())
		saved := sink.saved()
		if w.Code != http.StatusOK {
			require.Empty(t, saved, "a refused request reached the sink")
			return
		}
		// An independent reading of the body with Alertmanager's types.
		var msg webhook.Message
		require.NoError(t, json.Unmarshal(body, &msg), "200 for a body that does not decode")
		require.Equal(t, receiver.Version, msg.Version)
		require.NotNil(t, msg.Data)
		if len(msg.Alerts) == 0 {
			require.Empty(t, saved)
			return
		}
		require.Len(t, saved, 1)
		require.Len(t, saved[0], len(msg.Alerts))
		for i, want := range msg.Alerts {
			got := saved[0][i]
			require.Equal(t, want.Fingerprint, got.Fingerprint)
			require.NotEmpty(t, got.Fingerprint)
			require.Equal(t, alert.Status(want.Status), got.Status)
			require.True(t, want.StartsAt.Equal(got.StartsAt))
			require.False(t, got.StartsAt.IsZero())
			require.True(t, want.EndsAt.Equal(got.EndsAt))
			require.Equal(t, map[string]string(want.Labels), got.Labels)
			require.Equal(t, map[string]string(want.Annotations), got.Annotations)
			require.Equal(t, want.GeneratorURL, got.GeneratorURL)
			require.Equal(t, msg.Receiver, got.Receiver)
			require.Equal(t, msg.GroupKey, got.GroupKey)
		}
	})
}
