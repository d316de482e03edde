package receiver_test

import (
	"encoding/json"
	"strconv"
	"testing"
	"time"

	"github.com/prometheus/alertmanager/notify/webhook"
	"github.com/prometheus/alertmanager/template"
	"github.com/stretchr/testify/require"

	"github.com/steadywatch/steadywatch/receiver"
)

// notificationOf builds a body the way Alertmanager does: its own types,
// marshalled by encoding/json.
func notificationOf(t testing.TB, n int) []byte {
	t.Helper()
	start := time.Date(2026, 11, 21, 15, 35, 57, 869000000, time.UTC)
	msg := webhook.Message{
		Data: &template.Data{
			Receiver:          "steadywatch",
			Status:            "firing",
			GroupLabels:       template.KV{"alertname": "PodCrashLooping"},
			CommonLabels:      template.KV{"alertname": "PodCrashLooping", "severity": "warning"},
			CommonAnnotations: template.KV{},
			ExternalURL:       "http://alertmanager:9093",
		},
		Version:  receiver.Version,
		GroupKey: `{}:{alertname="PodCrashLooping"}`,
	}
	for i := range n {
		msg.Alerts = append(msg.Alerts, template.Alert{
			Status: "firing",
			Labels: template.KV{
				"alertname": "PodCrashLooping", "severity": "warning", "namespace": "shop",
				"pod": "web-" + strconv.Itoa(i), "app_kubernetes_io_name": "web", "container": "web",
			},
			Annotations:  template.KV{"summary": "Pod shop/web-" + strconv.Itoa(i) + " is crash looping."},
			StartsAt:     start.Add(time.Duration(i) * time.Second),
			GeneratorURL: "http://prometheus:9090/graph?g0.expr=rate%28kube_pod_container_status_restarts_total%5B5m%5D%29+%3E+0",
			Fingerprint:  strconv.FormatUint(0xabcdef0000000000+uint64(i), 16),
		})
	}
	b, err := json.Marshal(msg)
	require.NoError(t, err)
	return b
}

func TestDecodeReadsWhatAlertmanagerWrites(t *testing.T) {
	body := notificationOf(t, 10)

	alerts, rejected, err := receiver.Decode(body, t0)

	require.NoError(t, err)
	require.Empty(t, rejected)
	require.Len(t, alerts, 10)
	for i, a := range alerts {
		require.Equal(t, "web-"+strconv.Itoa(i), a.Labels["pod"])
		require.Equal(t, "steadywatch", a.Receiver)
		require.Equal(t, `{}:{alertname="PodCrashLooping"}`, a.GroupKey)
		require.True(t, a.EndsAt.IsZero())
		require.Equal(t, t0, a.ReceivedAt)
	}
}

// BenchmarkDecode measures decoding, validating and converting a
// notification of 10 alerts.
func BenchmarkDecode(b *testing.B) {
	body := notificationOf(b, 10)
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		if _, _, err := receiver.Decode(body, t0); err != nil {
			b.Fatal(err)
		}
	}
}
