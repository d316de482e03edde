package alertpull_test

import (
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/steadywatch/steadywatch/alert"
	"github.com/steadywatch/steadywatch/alertpull"
	"github.com/steadywatch/steadywatch/store/limits"
)

// FuzzPullOnce feeds arbitrary answers to a pull: it never panics, and
// what it saves is always well-formed and within what the store can keep.
func FuzzPullOnce(f *testing.F) {
	f.Add(200, "[]")
	f.Add(200, list(gettable("a", "A", "active", at(0), at(300)), gettable("s", "S", "suppressed", at(1), at(300))))
	f.Add(200, `[{"fingerprint":"f","labels":{"a":"b"},"startsAt":"2026-03-01T12:00:00Z","status":{"state":"active"}}]`)
	f.Add(200, `[null]`)
	f.Add(200, `{"alerts":[]}`)
	f.Add(200, `[{"fingerprint":"f","labels":{},"status":null}]`)
	f.Add(500, `"boom"`)
	f.Add(400, `{`)
	f.Add(200, `[{"fingerprint":"f\u0000","labels":{"a":"b\u0000"},"annotations":{"\u0000":""},"generatorURL":"\u0000",`+
		`"startsAt":"2300-01-01T00:00:00Z","status":{"state":"active"}}]`)
	f.Fuzz(func(t *testing.T, status int, body string) {
		if status < 100 || status > 999 {
			t.Skip("not an HTTP status")
		}
		transport := roundTripFunc(func(r *http.Request) (*http.Response, error) {
			return &http.Response{
				StatusCode: status,
				Header:     http.Header{"Content-Type": []string{"application/json"}},
				Body:       io.NopCloser(strings.NewReader(body)),
				Request:    r,
			}, nil
		})
		sink := &memSink{}
		p, err := alertpull.New(alertpull.Options{
			URL: "http://am:9093", Sink: sink, HTTPClient: &http.Client{Transport: transport},
		})
		require.NoError(t, err)
		n, err := p.PullOnce(t.Context())
		if err != nil {
			require.Zero(t, n)
			require.Zero(t, sink.saves(), "nothing of a failed pull is saved")
			return
		}
		for _, a := range sink.alerts() {
			require.NotEmpty(t, a.Fingerprint)
			require.NotEmpty(t, a.Labels)
			require.False(t, a.StartsAt.IsZero())
			require.Equal(t, alert.Firing, a.Status)
			require.True(t, a.EndsAt.IsZero())
			require.Equal(t, alertpull.Source, a.Source)
			require.NoError(t, limits.Fingerprint(a.Fingerprint))
			require.NoError(t, limits.Map("labels", a.Labels))
			require.NoError(t, limits.Map("annotations", a.Annotations))
			require.NoError(t, limits.Text(a.GeneratorURL))
			require.NoError(t, limits.Time(a.StartsAt))
		}
	})
}
