package alertpull_test

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/stretchr/testify/require"

	"github.com/steadywatch/steadywatch/alert"
	"github.com/steadywatch/steadywatch/alertpull"
)

// logLines decodes the JSON log lines written to b since the last call.
func logLines(t *testing.T, b *bytes.Buffer) []map[string]any {
	t.Helper()
	var out []map[string]any
	for line := range strings.Lines(b.String()) {
		var m map[string]any
		require.NoError(t, json.Unmarshal([]byte(line), &m), line)
		out = append(out, m)
	}
	b.Reset()
	return out
}

// warned is what a WARN line about a skipped alert says.
type warned struct{ fingerprint, field, problem string }

func warnings(t *testing.T, b *bytes.Buffer) []warned {
	t.Helper()
	var out []warned
	for _, m := range logLines(t, b) {
		require.Equal(t, "WARN", m["level"], m)
		require.Equal(t, "skipping an alert Alertmanager listed (logged once while it stays listed)", m["msg"], m)
		out = append(out, warned{m["fingerprint"].(string), m["field"].(string), m["problem"].(string)})
	}
	return out
}

const rejectedHelp = `# HELP steadywatch_alertmanager_pull_rejected_alerts_total Alerts Alertmanager's API listed that were skipped, not saved, by the field at fault: beyond what the store can keep (see steadywatch_alerts_rejected_total) or malformed; the other alerts of the pull are saved. An alert (fingerprint and startsAt) is counted once while it stays listed.
# TYPE steadywatch_alertmanager_pull_rejected_alerts_total counter
`

func rejectedCounts(fingerprint, status, labels, annotations, startsAt, generatorURL int) string {
	var b strings.Builder
	b.WriteString(rejectedHelp)
	for _, r := range []struct {
		reason string
		n      int
	}{
		{"annotations", annotations},
		{"fingerprint", fingerprint},
		{"generator_url", generatorURL},
		{"labels", labels},
		{"starts_at", startsAt},
		{"status", status},
	} {
		b.WriteString(`steadywatch_alertmanager_pull_rejected_alerts_total{reason="` + r.reason + `"} ` + strconv.Itoa(r.n) + "\n")
	}
	return b.String()
}

// TestOneBadAlertDoesNotBlockThePull lists, next to good alerts, alerts the
// store cannot keep and alerts Alertmanager would not answer: each is
// skipped alone, counted by the field at fault and logged once while it
// stays listed, and the good ones are saved, where any of them used to fail
// every pull.
func TestOneBadAlertDoesNotBlockThePull(t *testing.T) {
	fake, srv := startFake(t)
	sink := &memSink{}
	now := at(100)
	reg := prometheus.NewPedanticRegistry()
	var logs bytes.Buffer
	p := newPuller(t, alertpull.Options{
		URL: srv.URL, Sink: sink, Now: func() time.Time { return now }, Registerer: reg,
		Logger: slog.New(slog.NewJSONHandler(&logs, nil)),
	})
	require.NoError(t, testutil.GatherAndCompare(reg, strings.NewReader(rejectedCounts(0, 0, 0, 0, 0, 0)),
		"steadywatch_alertmanager_pull_rejected_alerts_total"), "every reason is exposed from the start")

	long := strings.Repeat("0123456789abcdef", 32) // 512 bytes
	replace := func(s, old, new string) string {
		require.Contains(t, s, old)
		return strings.Replace(s, old, new, 1)
	}
	late := time.Date(2300, 1, 1, 0, 0, 0, 0, time.UTC)
	early := time.Date(1600, 1, 1, 0, 0, 0, 0, time.UTC)
	good1 := gettable("g1", "Good", "active", at(0), at(400))
	// An endsAt the store could not keep is no reason to skip: a firing
	// alert is saved without it.
	good2 := gettable("g2", "Forever", "suppressed", at(5), late)
	bad := []string{
		gettable(long, "Long", "active", at(0), at(400)),
		replace(gettable("nul-label", "NulLabel", "active", at(0), at(400)), `"alertname":"NulLabel"`, `"alertname":"Nul\u0000"`),
		replace(gettable("nul-annotation", "NulNote", "active", at(0), at(400)), `"summary":"about NulNote"`, `"summary":"\u0000"`),
		replace(gettable("nul-url", "NulURL", "active", at(0), at(400)), `"http://prometheus/graph"`, `"http://prometheus/\u0000"`),
		gettable("late", "Late", "active", late, late),
		gettable("early", "Early", "active", early, at(400)),
		`{"labels":{"alertname":"NoFingerprint"},"startsAt":"2026-03-01T12:00:00Z","status":{"state":"active"}}`,
		`{"fingerprint":"no-labels","startsAt":"2026-03-01T12:00:00Z","status":{"state":"active"}}`,
		`{"fingerprint":"no-start","labels":{"alertname":"NoStart"},"status":{"state":"active"}}`,
		`{"fingerprint":"no-state","labels":{"alertname":"NoState"},"startsAt":"2026-03-01T12:00:00Z","status":{}}`,
		gettable("dormant", "Dormant", "dormant", at(0), at(400)),
		`null`,
	}
	fake.set(200, "application/json", list(append([]string{good1}, append(bad, good2)...)...))

	n, err := p.PullOnce(t.Context())
	require.NoError(t, err)
	require.Equal(t, 2, n, "the good alerts are saved")
	got := sink.alerts()
	require.Len(t, got, 2)
	require.Equal(t, "g1", got[0].Fingerprint)
	require.Equal(t, "g2", got[1].Fingerprint)
	require.True(t, got[1].EndsAt.IsZero())
	require.Equal(t, []warned{
		{long[:64] + "… (512 bytes)", "fingerprint", "512 bytes: want at most 64"},
		{"nul-label", "labels.alertname", "NUL character at byte 3: the store cannot keep it"},
		{"nul-annotation", "annotations.summary", "NUL character at byte 0: the store cannot keep it"},
		{"nul-url", "generatorURL", "NUL character at byte 18: the store cannot keep it"},
		{"late", "startsAt", "2300-01-01T00:00:00Z is out of range (years 1678 to 2261)"},
		{"early", "startsAt", "1600-01-01T00:00:00Z is out of range (years 1678 to 2261)"},
		{"", "fingerprint", "missing"},
		{"no-labels", "labels", "missing"},
		{"no-start", "startsAt", "missing"},
		{"no-state", "status.state", "missing"},
		{"dormant", "status.state", `"dormant" is none of active, suppressed, unprocessed`},
		{"", "fingerprint", "missing (the alert is null)"},
	}, warnings(t, &logs))
	counts := rejectedCounts(3, 2, 2, 1, 3, 1)
	require.NoError(t, testutil.GatherAndCompare(reg, strings.NewReader(counts), "steadywatch_alertmanager_pull_rejected_alerts_total"))
	require.NoError(t, testutil.GatherAndCompare(reg, strings.NewReader(pullExposition(10, 1, 0, 0, 1)),
		"steadywatch_alertmanager_pull_alerts", "steadywatch_alertmanager_pulls_total"),
		"the listed alerts whose state is known are counted, skipped or not")

	t.Run("a bad alert still listed is neither logged nor counted again", func(t *testing.T) {
		now = at(130)
		saves := sink.saves()
		_, err := p.PullOnce(t.Context())
		require.NoError(t, err)
		require.Empty(t, logs.String())
		require.Equal(t, saves, sink.saves(), "nothing changed")
		require.NoError(t, testutil.GatherAndCompare(reg, strings.NewReader(counts), "steadywatch_alertmanager_pull_rejected_alerts_total"))
	})

	t.Run("a bad alert that left is not resolved, and is logged again if it comes back", func(t *testing.T) {
		now = at(160)
		fake.set(200, "application/json", list(good1, good2))
		saves := sink.saves()
		_, err := p.PullOnce(t.Context())
		require.NoError(t, err)
		require.Equal(t, saves, sink.saves(), "a skipped alert was never saved: it has nothing to resolve")
		require.Len(t, sink.alerts(), 2)

		now = at(190)
		fake.set(200, "application/json", list(good1, bad[0], good2))
		_, err = p.PullOnce(t.Context())
		require.NoError(t, err)
		require.Equal(t, []warned{{long[:64] + "… (512 bytes)", "fingerprint", "512 bytes: want at most 64"}}, warnings(t, &logs))
		require.NoError(t, testutil.GatherAndCompare(reg, strings.NewReader(rejectedCounts(4, 2, 2, 1, 3, 1)),
			"steadywatch_alertmanager_pull_rejected_alerts_total"))
		require.Equal(t, saves, sink.saves())
	})
}

// TestASavedAlertThatTurnsBadKeepsWhatWasSaved: an alert saved at one pull
// and listed at the next with what the store cannot keep is still listed,
// so still firing: it keeps what was saved and is not resolved until it
// leaves the API.
func TestASavedAlertThatTurnsBadKeepsWhatWasSaved(t *testing.T) {
	fake, srv := startFake(t)
	sink := &memSink{}
	now := at(100)
	var logs bytes.Buffer
	p := newPuller(t, alertpull.Options{
		URL: srv.URL, Sink: sink, Now: func() time.Time { return now },
		Logger: slog.New(slog.NewJSONHandler(&logs, nil)),
	})
	good := gettable("g", "Good", "active", at(0), at(1000))
	fake.set(200, "application/json", list(good))
	_, err := p.PullOnce(t.Context())
	require.NoError(t, err)
	saved := sink.alerts()
	require.Len(t, saved, 1)

	now = at(130)
	fake.set(200, "application/json", list(strings.Replace(good, `"summary":"about Good"`, `"summary":"\u0000"`, 1)))
	saves := sink.saves()
	_, err = p.PullOnce(t.Context())
	require.NoError(t, err)
	require.Equal(t, saves, sink.saves(), "not resolved: it is still listed")
	require.Equal(t, saved, sink.alerts())
	require.Equal(t, []warned{{"g", "annotations.summary", "NUL character at byte 0: the store cannot keep it"}}, warnings(t, &logs))

	now = at(160)
	fake.set(200, "application/json", list())
	_, err = p.PullOnce(t.Context())
	require.NoError(t, err)
	resolved := saved[0]
	resolved.Status, resolved.EndsAt = alert.Resolved, at(130)
	require.Equal(t, []alert.Alert{resolved}, sink.alerts(), "resolved as it was saved, last listed at 130")
}
