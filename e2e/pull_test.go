package e2e

import (
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/go-openapi/strfmt"
	amalert "github.com/prometheus/alertmanager/api/v2/client/alert"
	"github.com/prometheus/alertmanager/api/v2/client/silence"
	"github.com/prometheus/alertmanager/api/v2/models"
	"github.com/prometheus/common/model"
	"github.com/stretchr/testify/require"

	"github.com/steadywatch/steadywatch/alert"
	"github.com/steadywatch/steadywatch/alertpull"
	"github.com/steadywatch/steadywatch/config"
	"github.com/steadywatch/steadywatch/internal/testenv/promtest"
	"github.com/steadywatch/steadywatch/receiver"
)

// TestServePullsSilencedAlertsThatNeverReachTheWebhook runs serve with
// both the webhook and the pull from a real Alertmanager: a silenced alert
// never reaches the webhook, yet is stored from the pull.
func TestServePullsSilencedAlertsThatNeverReachTheWebhook(t *testing.T) {
	const ns = "pull"
	namespace(t, ns)
	// The Alertmanager must exist before steadywatch (its URL is in the
	// configuration) and must know steadywatch's address (its webhook):
	// start steadywatch on a reserved address, then load the route.
	am := promtest.StartAlertmanager(t, promtest.AlertmanagerOptions{})
	sw := startSteadywatch(t, ns, t.TempDir(), func(cfg *config.Config) {
		cfg.Alerts.Pull.AlertmanagerURL = am.URL()
		cfg.Alerts.Pull.Interval = model.Duration(500 * time.Millisecond)
	})
	swAddr := strings.TrimPrefix(sw.url, "http://")
	require.NoError(t, writeFileString(am.ConfigPath, fmt.Sprintf(`route:
  receiver: steadywatch
  group_by: [alertname]
  group_wait: 0s
  group_interval: 1s
receivers:
  - name: steadywatch
    webhook_configs:
      - url: http://%s%s
`, swAddr, receiver.Path)))
	require.NoError(t, am.Reload(t.Context()))

	api := am.Client()
	name, value, isEqual, isRegex := "alertname", "ChaosSilenced", true, false
	_, err := api.Silence.PostSilences(silence.NewPostSilencesParamsWithContext(t.Context()).WithSilence(&models.PostableSilence{
		Silence: models.Silence{
			Matchers:  models.Matchers{{Name: &name, Value: &value, IsEqual: &isEqual, IsRegex: &isRegex}},
			StartsAt:  new(strfmt.DateTime(time.Now())),
			EndsAt:    new(strfmt.DateTime(time.Now().Add(time.Hour))),
			CreatedBy: new("e2e"),
			Comment:   new("a game day silences its own alerts"),
		},
	}))
	require.NoError(t, err)
	started := time.Now().UTC().Truncate(time.Millisecond)
	var alerts models.PostableAlerts
	for _, n := range []string{"ChaosSilenced", "ChaosVisible"} {
		alerts = append(alerts, &models.PostableAlert{
			Alert:    models.Alert{Labels: models.LabelSet{"alertname": n, "service": "web", "severity": "page"}},
			StartsAt: strfmt.DateTime(started),
		})
	}
	_, err = api.Alert.PostAlerts(amalert.NewPostAlertsParamsWithContext(t.Context()).WithAlerts(alerts))
	require.NoError(t, err)

	byName := func() map[string]alert.Alert {
		stored, err := sw.DB.Alerts(t.Context(), alert.Filter{Labels: map[string]string{"service": "web"}})
		require.NoError(t, err)
		out := map[string]alert.Alert{}
		for _, a := range stored {
			out[a.Name()] = a
		}
		return out
	}
	waitFor(t, 30*time.Second, "both alerts stored", func() (bool, error) {
		return len(byName()) == 2, nil
	})
	// The visible one also comes by webhook; the silenced one never does.
	waitFor(t, 30*time.Second, "the visible alert delivered by the webhook", func() (bool, error) {
		return sum(scrape(t, sw.url), "steadywatch_alerts_received_total", map[string]string{"alertname": "ChaosVisible"}) > 0, nil
	})
	got := byName()
	require.Equal(t, alertpull.Source, got["ChaosSilenced"].Source, "the silenced alert was pulled")
	require.True(t, got["ChaosSilenced"].StartsAt.Equal(started))
	mfs := scrape(t, sw.url)
	require.Zero(t, sum(mfs, "steadywatch_alerts_received_total", map[string]string{"alertname": "ChaosSilenced"}),
		"Alertmanager never notified the silenced alert")
	require.Positive(t, sum(mfs, "steadywatch_alertmanager_pulls_total", map[string]string{"result": "success"}))
}

func writeFileString(path, content string) error {
	return os.WriteFile(path, []byte(content), 0o600)
}
