package receiver_test

import (
	"bytes"
	"encoding/json"
	"maps"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strconv"
	"testing"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/prometheus/alertmanager/notify/webhook"
	"github.com/prometheus/alertmanager/template"
	"github.com/prometheus/common/model"
	"github.com/stretchr/testify/require"

	"github.com/steadywatch/steadywatch/alert"
	"github.com/steadywatch/steadywatch/receiver"
)

// FuzzWebhook checks that no body or content type makes the receiver panic
// or answer anything but 200, 400, 413 or 415, and that it answers 200 only
// after handing the sink the alerts of the body, in order, less those it
// says it rejected, each of them something Alertmanager could have sent and
// the store can keep.
func FuzzWebhook(f *testing.F) {
	f.Add(realBody(f), "application/json")
	f.Add([]byte(notification(okAlert, okAlert)), "")
	f.Add([]byte(`{"version":"4","alerts":[]}`), "application/json; charset=utf-8")
	f.Add([]byte(notification(okAlert, withLabels(`{"alertname":"\ud83d\ude00","x":"a\tb"}`), withField(`"endsAt":"2300-01-01T00:00:00Z"`))), "")
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
		require.True(t, utf8.Valid(body), "200 for a body that is not UTF-8")
		rejected := 0
		if m := rejectedCount.FindSubmatch(w.Body.Bytes()); m != nil {
			rejected, err = strconv.Atoi(string(m[1]))
			require.NoError(t, err)
		}
		if len(msg.Alerts) == rejected {
			require.Empty(t, saved)
			require.Zero(t, rejected, "200 for a notification whose every alert was rejected")
			return
		}
		require.Len(t, saved, 1)
		require.Len(t, saved[0], len(msg.Alerts)-rejected)
		// The saved alerts are the body's, in order, less the rejected.
		next := 0
		for _, want := range msg.Alerts {
			if next < len(saved[0]) && sameAlert(want, &msg, saved[0][next]) {
				next++
			}
		}
		require.Equal(t, len(saved[0]), next, "saved alerts that are not the body's, in its order")
		replacement := bytes.ContainsRune(body, utf8.RuneError) || bytes.Contains(bytes.ToLower(body), []byte(`\ufffd`))
		for _, got := range saved[0] {
			requireStorable(t, got, replacement)
		}
	})
}

var rejectedCount = regexp.MustCompile(`^stored \d+ alerts \(\d+ new\), rejected (\d+):\n`)

func sameAlert(want template.Alert, msg *webhook.Message, got alert.Alert) bool {
	return want.Fingerprint == got.Fingerprint &&
		alert.Status(want.Status) == got.Status &&
		want.StartsAt.Equal(got.StartsAt) &&
		want.EndsAt.Equal(got.EndsAt) &&
		maps.Equal(map[string]string(want.Labels), got.Labels) &&
		maps.Equal(map[string]string(want.Annotations), got.Annotations) &&
		want.GeneratorURL == got.GeneratorURL &&
		msg.Receiver == got.Receiver && msg.GroupKey == got.GroupKey
}

// requireStorable checks, independently of the receiver, that a is what
// Alertmanager 0.25 could send and the store can keep: times as Unix
// nanoseconds, no NUL for PostgreSQL, legacy label names, and no U+FFFD
// unless the body had one.
func requireStorable(t *testing.T, a alert.Alert, replacement bool) {
	t.Helper()
	noNUL := func(what, s string) {
		require.NotContains(t, s, "\x00", what)
		if !replacement {
			require.NotContains(t, s, "\uFFFD", what+": a replacement character the body did not have")
		}
	}
	require.NotEmpty(t, a.Fingerprint)
	require.LessOrEqual(t, len(a.Fingerprint), 64)
	noNUL("fingerprint", a.Fingerprint)
	require.Contains(t, []alert.Status{alert.Firing, alert.Resolved}, a.Status)
	require.NotEmpty(t, a.Labels)
	for k, v := range a.Labels {
		require.True(t, model.LegacyValidation.IsValidLabelName(k), "label name %q", k)
		require.LessOrEqual(t, len(v), 16<<10, "label %s", k)
		noNUL("label "+k, v)
		for _, r := range v {
			require.True(t, r == '\t' || r == '\n' || r == '\r' || !unicode.IsControl(r), "label %s: %q", k, v)
		}
	}
	for k, v := range a.Annotations {
		noNUL("annotation name", k)
		noNUL("annotation "+k, v)
	}
	noNUL("generatorURL", a.GeneratorURL)
	noNUL("receiver", a.Receiver)
	noNUL("groupKey", a.GroupKey)
	require.False(t, a.StartsAt.IsZero())
	require.True(t, time.Unix(0, a.StartsAt.UnixNano()).Equal(a.StartsAt), "startsAt %s is not Unix nanoseconds", a.StartsAt)
	if !a.EndsAt.IsZero() {
		require.True(t, time.Unix(0, a.EndsAt.UnixNano()).Equal(a.EndsAt), "endsAt %s is not Unix nanoseconds", a.EndsAt)
		require.False(t, a.EndsAt.Before(a.StartsAt), "ends before it starts")
	}
}
