package abort_test

import (
	"testing"
	"time"

	amalert "github.com/prometheus/alertmanager/api/v2/client/alert"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/steadywatch/steadywatch/abort"
	"github.com/steadywatch/steadywatch/internal/testenv/promtest"
	"github.com/steadywatch/steadywatch/verdict"
)

func TestTheAbortAlertReachesARealAlertmanagerAndResolves(t *testing.T) {
	am := promtest.StartAlertmanager(t, promtest.AlertmanagerOptions{})
	p, err := abort.New(abort.Options{URL: am.URL(), GeneratorURL: "http://steadywatch:9477/api/v1/verdicts/{hypothesis}"})
	require.NoError(t, err)
	now := time.Now().Truncate(time.Millisecond)
	v := verdict.Verdict{
		Hypothesis: "kill-postgres", At: now, Result: verdict.Fail, Source: "kill.yaml:3", Abort: true,
		AbortReasons: []string{"api-error-ratio: 0.07 above its SLO max 0.01"},
	}
	require.NoError(t, p.Post(t.Context(), v, now, time.Minute))
	require.True(t, p.Aborting("kill-postgres"))
	// Posting again keeps the alert's start.
	require.NoError(t, p.Post(t.Context(), v, now.Add(30*time.Second), time.Minute))

	api := am.Client()
	got, err := api.Alert.GetAlerts(amalert.NewGetAlertsParamsWithContext(t.Context()))
	require.NoError(t, err)
	require.Len(t, got.Payload, 1)
	a := got.Payload[0]
	require.Equal(t, map[string]string{"alertname": abort.AlertName, "hypothesis": "kill-postgres", "severity": "critical"}, map[string]string(a.Labels))
	require.Contains(t, a.Annotations["description"], "api-error-ratio: 0.07 above its SLO max 0.01")
	require.Equal(t, "http://steadywatch:9477/api/v1/verdicts/kill-postgres", a.GeneratorURL.String())
	require.True(t, time.Time(*a.StartsAt).Equal(now), "started %v, want %v", time.Time(*a.StartsAt), now)
	require.Equal(t, "active", *a.Status.State)

	require.NoError(t, p.Resolve(t.Context(), "kill-postgres", time.Now()))
	require.False(t, p.Aborting("kill-postgres"))
	// Alertmanager hides an alert once its end has passed.
	require.EventuallyWithT(t, func(c *assert.CollectT) {
		got, err := api.Alert.GetAlerts(amalert.NewGetAlertsParamsWithContext(t.Context()))
		require.NoError(c, err)
		assert.Empty(c, got.Payload)
	}, 10*time.Second, 50*time.Millisecond)
}

func TestAnUnreachableAlertmanagerIsNamed(t *testing.T) {
	p, err := abort.New(abort.Options{URL: "http://127.0.0.1:1"})
	require.NoError(t, err)
	err = p.Post(t.Context(), verdict.Verdict{Hypothesis: "h"}, time.Now(), time.Minute)
	require.ErrorContains(t, err, "abort: posting to Alertmanager at http://127.0.0.1:1: ")
}

func TestBadURLsAreRefused(t *testing.T) {
	for url, want := range map[string]string{
		"alertmanager:9093": `abort: Alertmanager URL "alertmanager:9093": want http:// or https://`,
		"http://":           `abort: Alertmanager URL "http://" has no host`,
	} {
		_, err := abort.New(abort.Options{URL: url})
		require.EqualError(t, err, want)
	}
}
