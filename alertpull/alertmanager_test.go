package alertpull_test

import (
	"context"
	"net"
	"strconv"
	"testing"
	"time"

	"github.com/go-openapi/strfmt"
	amclient "github.com/prometheus/alertmanager/api/v2/client"
	amalert "github.com/prometheus/alertmanager/api/v2/client/alert"
	"github.com/prometheus/alertmanager/api/v2/client/silence"
	"github.com/prometheus/alertmanager/api/v2/models"
	"github.com/prometheus/common/model"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/crypto/bcrypt"

	"github.com/steadywatch/steadywatch/alert"
	"github.com/steadywatch/steadywatch/alertpull"
	"github.com/steadywatch/steadywatch/internal/testenv/promtest"
)

// A critical alert inhibits the warnings of its service.
const inhibitingConfig = `route:
  receiver: "null"
receivers:
  - name: "null"
inhibit_rules:
  - source_matchers: ['severity="critical"']
    target_matchers: ['severity="warning"']
    equal: [service]
`

const waitTimeout = 30 * time.Second

// post posts alerts to Alertmanager, as Prometheus does.
func post(t *testing.T, api *amclient.AlertmanagerAPI, alerts ...*models.PostableAlert) {
	t.Helper()
	_, err := api.Alert.PostAlerts(amalert.NewPostAlertsParamsWithContext(t.Context()).WithAlerts(alerts))
	require.NoError(t, err)
}

func postable(labels map[string]string, startsAt, endsAt time.Time) *models.PostableAlert {
	a := &models.PostableAlert{
		Alert: models.Alert{
			Labels:       labels,
			GeneratorURL: strfmt.URI("http://prometheus:9090/graph?g0.expr=" + labels["alertname"]),
		},
		Annotations: models.LabelSet{"summary": labels["alertname"] + " on " + labels["service"]},
		StartsAt:    strfmt.DateTime(startsAt),
	}
	if !endsAt.IsZero() {
		a.EndsAt = strfmt.DateTime(endsAt)
	}
	return a
}

// pulled is what the puller should make of a postable alert.
func pulled(p *models.PostableAlert, receivedAt time.Time) alert.Alert {
	return alert.Alert{
		Fingerprint:  toModel(p.Labels).Fingerprint().String(),
		Status:       alert.Firing,
		Labels:       p.Labels,
		Annotations:  p.Annotations,
		StartsAt:     time.Time(p.StartsAt).UTC(),
		GeneratorURL: string(p.GeneratorURL),
		ReceivedAt:   receivedAt,
		Source:       alertpull.Source,
	}
}

func toModel(ls models.LabelSet) model.LabelSet {
	m := model.LabelSet{}
	for k, v := range ls {
		m[model.LabelName(k)] = model.LabelValue(v)
	}
	return m
}

func TestPullFromARealAlertmanagerGetsSilencedAndInhibitedAlerts(t *testing.T) {
	am := promtest.StartAlertmanager(t, promtest.AlertmanagerOptions{Config: inhibitingConfig})
	api := am.Client()
	ctx := t.Context()
	// Alertmanager's API has millisecond precision.
	began := time.Now().UTC().Truncate(time.Millisecond).Add(-time.Minute)

	silenced := postable(map[string]string{"alertname": "Silenced", "service": "db", "severity": "page"}, began, time.Time{})
	critical := postable(map[string]string{"alertname": "DiskFull", "service": "api", "severity": "critical"}, began.Add(time.Second), time.Time{})
	inhibited := postable(map[string]string{"alertname": "SlowDisk", "service": "api", "severity": "warning"}, began.Add(2*time.Second), time.Time{})
	plain := postable(map[string]string{"alertname": "Plain", "service": "web", "severity": "page"}, began.Add(3*time.Second), time.Time{})
	post(t, api, silenced, critical, inhibited, plain)
	isEqual, isRegex := true, false
	silenceName, silenceValue := "alertname", "Silenced"
	created, err := api.Silence.PostSilences(silence.NewPostSilencesParamsWithContext(ctx).WithSilence(&models.PostableSilence{
		Silence: models.Silence{
			Matchers:  models.Matchers{{Name: &silenceName, Value: &silenceValue, IsEqual: &isEqual, IsRegex: &isRegex}},
			StartsAt:  new(strfmt.DateTime(time.Now())),
			EndsAt:    new(strfmt.DateTime(time.Now().Add(time.Hour))),
			CreatedBy: new("alertpull test"),
			Comment:   new("so that the alert never reaches a webhook"),
		},
	}))
	require.NoError(t, err)

	// The inhibitor learns of the critical alert asynchronously.
	require.EventuallyWithT(t, func(c *assert.CollectT) {
		got, err := api.Alert.GetAlerts(amalert.NewGetAlertsParamsWithContext(ctx))
		require.NoError(c, err)
		states := map[string]string{}
		for _, a := range got.Payload {
			states[a.Labels["alertname"]] = *a.Status.State
			switch a.Labels["alertname"] {
			case "Silenced":
				require.Equal(c, []string{created.Payload.SilenceID}, a.Status.SilencedBy)
			case "SlowDisk":
				require.NotEmpty(c, a.Status.InhibitedBy)
			}
		}
		require.Equal(c, map[string]string{
			"Silenced": "suppressed", "DiskFull": "active", "SlowDisk": "suppressed", "Plain": "active",
		}, states)
	}, waitTimeout, 20*time.Millisecond)

	sink := &memSink{}
	now := time.Now().UTC()
	p := newPuller(t, alertpull.Options{URL: am.URL(), Sink: sink, Now: func() time.Time { return now }})
	firstPull := now
	n, err := p.PullOnce(ctx)
	require.NoError(t, err)
	require.Equal(t, 4, n)
	require.ElementsMatch(t, []alert.Alert{
		pulled(silenced, firstPull), pulled(critical, firstPull), pulled(inhibited, firstPull), pulled(plain, firstPull),
	}, sink.alerts(), "the silenced and the inhibited alerts too")

	t.Run("a second pull adds nothing", func(t *testing.T) {
		before := sink.alerts()
		now = now.Add(time.Second)
		n, err := p.PullOnce(ctx)
		require.NoError(t, err)
		require.Zero(t, n)
		require.Equal(t, before, sink.alerts())
	})
	secondPull := now

	t.Run("alerts that resolve are saved resolved, the silenced one too", func(t *testing.T) {
		post(t, api,
			postable(silenced.Labels, time.Time(silenced.StartsAt), time.Now().Add(-time.Second)),
			postable(plain.Labels, time.Time(plain.StartsAt), time.Now().Add(-time.Second)))
		now = now.Add(time.Second)
		n, err := p.PullOnce(ctx)
		require.NoError(t, err)
		require.Zero(t, n)
		resolved := func(p *models.PostableAlert) alert.Alert {
			a := pulled(p, firstPull)
			a.Status, a.EndsAt = alert.Resolved, secondPull // the last pull that saw them
			return a
		}
		require.ElementsMatch(t, []alert.Alert{
			resolved(silenced), pulled(critical, firstPull), pulled(inhibited, firstPull), resolved(plain),
		}, sink.alerts())
	})

	t.Run("an alert Alertmanager resolves at its endsAt ends then", func(t *testing.T) {
		endsAt := time.Now().UTC().Truncate(time.Millisecond).Add(2 * time.Second)
		brief := postable(map[string]string{"alertname": "Brief", "service": "web"}, began, endsAt)
		post(t, api, brief)
		now = time.Now().UTC()
		n, err := p.PullOnce(ctx)
		require.NoError(t, err)
		require.Equal(t, 1, n, "pulled while listed, before its endsAt %s; now %s", endsAt, time.Now().UTC())

		require.EventuallyWithT(t, func(c *assert.CollectT) {
			got, err := api.Alert.GetAlerts(amalert.NewGetAlertsParamsWithContext(ctx).WithFilter([]string{`alertname="Brief"`}))
			require.NoError(c, err)
			require.Empty(c, got.Payload)
		}, waitTimeout, 20*time.Millisecond)
		now = time.Now().UTC()
		_, err = p.PullOnce(ctx)
		require.NoError(t, err)
		got := sink.alerts()
		last := got[len(got)-1]
		require.Equal(t, "Brief", last.Name())
		require.Equal(t, alert.Resolved, last.Status)
		require.True(t, endsAt.Equal(last.EndsAt), "endsAt %s, want Alertmanager's %s", last.EndsAt, endsAt)
	})
}

func TestPullWithBasicAuth(t *testing.T) {
	hash, err := bcrypt.GenerateFromPassword([]byte("s3cret"), bcrypt.MinCost)
	require.NoError(t, err)
	am := promtest.StartAlertmanager(t, promtest.AlertmanagerOptions{
		WebConfig: "basic_auth_users:\n  steadywatch: " + string(hash) + "\n",
		Username:  "steadywatch",
		Password:  "s3cret",
	})
	post(t, am.Client(), postable(map[string]string{"alertname": "Behind", "service": "auth"}, time.Now().Add(-time.Minute), time.Time{}))

	t.Run("with the credentials it pulls", func(t *testing.T) {
		sink := &memSink{}
		p := newPuller(t, alertpull.Options{
			URL: am.URL(), Sink: sink,
			BasicAuth: &alertpull.BasicAuth{Username: "steadywatch", Password: "s3cret"},
		})
		n, err := p.PullOnce(t.Context())
		require.NoError(t, err)
		require.Equal(t, 1, n)
	})
	t.Run("without them it says Alertmanager refused", func(t *testing.T) {
		p := newPuller(t, alertpull.Options{URL: am.URL(), Sink: &memSink{}})
		_, err := p.PullOnce(t.Context())
		require.EqualError(t, err, "pulling alerts from "+am.URL()+": GET "+am.URL()+
			"/api/v2/alerts answered 401 Unauthorized (text/plain; charset=utf-8)")
	})
}

func TestPullFromAnUnreachableAlertmanagerNamesIt(t *testing.T) {
	var lc net.ListenConfig
	l, err := lc.Listen(t.Context(), "tcp", "127.0.0.1:0")
	require.NoError(t, err)
	port := l.Addr().(*net.TCPAddr).Port
	require.NoError(t, l.Close()) // nobody listens there now

	url := "http://127.0.0.1:" + strconv.Itoa(port)
	p := newPuller(t, alertpull.Options{URL: url, Sink: &memSink{}})
	_, err = p.PullOnce(context.Background())
	require.ErrorContains(t, err, "pulling alerts from "+url+": ")
	require.ErrorContains(t, err, "connection refused")
}
