package receiver_test

import (
	"errors"
	"net/http"
	"strconv"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/stretchr/testify/require"

	"github.com/steadywatch/steadywatch/receiver"
)

// rejectedHeader is the exposition header of steadywatch_alerts_rejected_total.
const rejectedHeader = `
# HELP steadywatch_alerts_rejected_total Alerts of webhook notifications rejected and not stored, by the field at fault; the other alerts of their notification are stored, and a retry would be rejected the same way.
# TYPE steadywatch_alerts_rejected_total counter
`

// rejectedExposition is the rejected counter with the counts given and 0
// for every other reason: every reason is exposed from the start.
func rejectedExposition(counts map[string]int) string {
	var b strings.Builder
	b.WriteString(rejectedHeader)
	for _, r := range []string{"annotations", "ends_at", "fingerprint", "generator_url", "labels", "starts_at", "status"} {
		b.WriteString(`steadywatch_alerts_rejected_total{reason="` + r + `"} ` + strconv.Itoa(counts[r]) + "\n")
	}
	return b.String()
}

// Alertmanager does not retry a 4xx and retries a 5xx until the
// notification expires: an alert no retry would fix is rejected alone, and
// the notification's other alerts are stored and acknowledged.
func TestOneBadAlertIsRejectedAloneAndTheOthersAreStored(t *testing.T) {
	good1 := strings.Replace(okAlert, `"f0"`, `"a1"`, 1)
	good2 := strings.Replace(okAlert, `"f0"`, `"a2"`, 1)
	for _, tc := range []struct {
		name   string
		bad    string
		reason string
		msg    string
	}{
		{
			"an alert starting beyond the store's range",
			strings.Replace(okAlert, `2026-11-21T15:35:57Z`, `2300-01-01T00:00:00Z`, 1),
			"starts_at", "alerts[1].startsAt: 2300-01-01T00:00:00Z is out of range (years 1678 to 2261)",
		},
		{
			"an alert ending beyond the store's range",
			withField(`"endsAt":"9999-12-31T23:59:59Z"`),
			"ends_at", "alerts[1].endsAt: 9999-12-31T23:59:59Z is out of range (years 1678 to 2261)",
		},
		{
			"an alert ending before it starts",
			withField(`"endsAt":"2026-11-21T15:00:00Z"`),
			"ends_at", "alerts[1].endsAt: 2026-11-21T15:00:00Z is before startsAt 2026-11-21T15:35:57Z",
		},
		{
			"an alert without a fingerprint",
			`{"status":"firing","labels":{"alertname":"A"},"startsAt":"2026-11-21T15:35:57Z"}`,
			"fingerprint", "alerts[1].fingerprint: missing",
		},
		{
			"an alert with a 500 KB fingerprint",
			strings.Replace(okAlert, `"f0"`, `"`+strings.Repeat("f", 500<<10)+`"`, 1),
			"fingerprint", "alerts[1].fingerprint: 512000 bytes: want at most 64",
		},
		{
			"an alert of another status",
			strings.Replace(okAlert, `"firing"`, `"pending"`, 1),
			"status", `alerts[1].status: "pending" is neither "firing" nor "resolved"`,
		},
		{
			"an alert with an invalid label name",
			withLabels(`{"alertname":"A","foo bar":"x"}`),
			"labels", `alerts[1].labels["foo bar"]: invalid label name: want letters, digits and underscores, not starting with a digit`,
		},
		{
			"an alert with a NUL in a label value",
			withLabels(`{"alertname":"A\u0000"}`),
			"labels", "alerts[1].labels.alertname: NUL character at byte 1: the store cannot keep it",
		},
		{
			"an alert with a NUL in an annotation",
			withField(`"annotations":{"summary":"\u0000"}`),
			"annotations", "alerts[1].annotations.summary: NUL character at byte 0: the store cannot keep it",
		},
		{
			"an alert with a NUL in its generator URL",
			withField(`"generatorURL":"\u0000"`),
			"generator_url", "alerts[1].generatorURL: NUL character at byte 0: the store cannot keep it",
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t, receiver.Options{})

			w := f.post([]byte(notification(good1, tc.bad, good2)))

			require.Equal(t, http.StatusOK, w.Code, w.Body.String())
			require.Equal(t, "stored 2 alerts (2 new), rejected 1:\n"+tc.msg+"\n", w.Body.String())
			saved := f.sink.saved()
			require.Len(t, saved, 1)
			require.Len(t, saved[0], 2)
			require.Equal(t, "a1", saved[0][0].Fingerprint)
			require.Equal(t, "a2", saved[0][1].Fingerprint)
			require.NoError(t, testutil.GatherAndCompare(f.reg, strings.NewReader(rejectedExposition(map[string]int{tc.reason: 1})),
				"steadywatch_alerts_rejected_total"))
			require.NoError(t, testutil.GatherAndCompare(f.reg, strings.NewReader(`
# HELP steadywatch_alerts_received_total Alerts received from Alertmanager's webhook and stored, by name, service, severity and status; an alert notified again is counted again.
# TYPE steadywatch_alerts_received_total counter
steadywatch_alerts_received_total{alertname="A",service="",severity="",status="firing"} 2
`), "steadywatch_alerts_received_total"))
		})
	}
}

func TestANotificationOfBadAlertsOnlyIs400AndCountsEachByReason(t *testing.T) {
	f := newFixture(t, receiver.Options{})

	w := f.post([]byte(notification(
		withLabels(`{"alertname":"A","1x":"x"}`),
		strings.Replace(okAlert, `"f0"`, `""`, 1),
		withLabels(`{"alertname":"A\u0007"}`),
	)))

	require.Equal(t, http.StatusBadRequest, w.Code)
	require.Equal(t, `alerts[0].labels["1x"]: invalid label name: want letters, digits and underscores, not starting with a digit
alerts[1].fingerprint: missing
alerts[2].labels.alertname: control character U+0007 at byte 1
`, w.Body.String())
	require.Empty(t, f.sink.saved())
	require.NoError(t, testutil.GatherAndCompare(f.reg, strings.NewReader(rejectedExposition(map[string]int{"labels": 2, "fingerprint": 1})),
		"steadywatch_alerts_rejected_total"))
}

// A notification whose good alerts could not be stored is retried; its bad
// alerts are counted once it is answered for good, not at every retry.
func TestRejectedAlertsAreNotCountedWhenTheGoodOnesAreRetried(t *testing.T) {
	f := newFixture(t, receiver.Options{})
	f.sink.err = errors.New("database is locked")

	w := f.post([]byte(notification(okAlert, strings.Replace(okAlert, `"f0"`, `""`, 1))))

	require.Equal(t, http.StatusServiceUnavailable, w.Code)
	require.Equal(t, "alerts not stored, retry later: database is locked\n", w.Body.String())
	require.NoError(t, testutil.GatherAndCompare(f.reg, strings.NewReader(rejectedExposition(nil)),
		"steadywatch_alerts_rejected_total"))
}

func TestWhatAlertmanagerMaySendIsAccepted(t *testing.T) {
	for _, tc := range []struct {
		name  string
		alert string
	}{
		{"a label value with a tab and line breaks", withLabels(`{"alertname":"A","query":"a\tb\r\nc"}`)},
		{"a label value of exactly 16 KiB", withLabels(`{"alertname":"A","pod":"` + strings.Repeat("x", 16<<10) + `"}`)},
		{"a label value in any script", withLabels(`{"alertname":"A","city":"Zürich 東京 😀"}`)},
		{"an escaped surrogate pair", withLabels(`{"alertname":"\ud83d\ude00"}`)},
		{"an escaped backslash before a u", withLabels(`{"alertname":"\\ud800"}`)},
		{"reserved label names, which Prometheus allows", withLabels(`{"alertname":"A","__name__":"up","_":"x"}`)},
		{"a fingerprint of 64 bytes", strings.Replace(okAlert, `"f0"`, `"`+strings.Repeat("f", 64)+`"`, 1)},
		{"an alert ending as it starts", withField(`"endsAt":"2026-11-21T15:35:57Z"`)},
		{"an alert starting on the store's last day", strings.Replace(okAlert, `2026-11-21T15:35:57Z`, `2262-04-11T23:47:16.854775807Z`, 1)},
		{"an alert starting on the store's first day", strings.Replace(okAlert, `2026-11-21T15:35:57Z`, `1677-09-21T00:12:43.145224192Z`, 1)},
		{"annotations with line breaks and controls", withField(`"annotations":{"description":"line 1\nline 2\u0007"}`)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t, receiver.Options{})

			w := f.post([]byte(notification(tc.alert)))

			require.Equal(t, http.StatusOK, w.Code, w.Body.String())
			require.Equal(t, "stored 1 alerts (1 new)\n", w.Body.String())
			require.Len(t, f.sink.saved(), 1)
		})
	}
}

func TestJustOutsideTheStoresRangeIsRejected(t *testing.T) {
	for _, at := range []string{`2262-04-11T23:47:16.854775808Z`, `1677-09-21T00:12:43.145224191Z`} {
		f := newFixture(t, receiver.Options{})

		w := f.post([]byte(notification(strings.Replace(okAlert, `2026-11-21T15:35:57Z`, at, 1))))

		require.Equal(t, http.StatusBadRequest, w.Code)
		require.Equal(t, "alerts[0].startsAt: "+at+" is out of range (years 1678 to 2261)\n", w.Body.String())
	}
}
