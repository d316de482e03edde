package report_test

import (
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/steadywatch/steadywatch/alert"
	"github.com/steadywatch/steadywatch/report"
)

// These tests pin each bound of a definition from both sides with figures
// worked out by hand, so that an off-by-one either way fails: the fixture
// test's alerts seldom fall on a bound.

// w12 is 2026-W12 in UTC, reported at now.
var w12 = report.ISOWeek(2026, 12, time.UTC)

func boundAlert(fp, svc, severity string, start time.Time, d time.Duration) alert.Alert {
	a := alert.Alert{
		Fingerprint: fp, Status: alert.Resolved,
		Labels:   map[string]string{"alertname": "A" + fp, "service": svc, "severity": severity},
		StartsAt: start, EndsAt: start.Add(d), ReceivedAt: start,
		Receiver: "steadywatch", Source: alert.SourceWebhook,
	}
	if d < 0 {
		a.Status, a.EndsAt = alert.Firing, time.Time{}
	}
	return a
}

func weekly(t *testing.T, fx fixture) *report.Report {
	t.Helper()
	s := fill(t, "sqlite://"+filepath.Join(t.TempDir(), "sw.db"), fx)
	r, err := report.Weekly(t.Context(), s, report.Options{Range: w12, Now: func() time.Time { return now }})
	require.NoError(t, err)
	return r
}

func TestTheBoundsOfTheAlertFigures(t *testing.T) {
	from, to := w12.From, w12.To
	const firing = -1
	r := weekly(t, fixture{alerts: []alert.Alert{
		// Resolved exactly at From: not firing in the range, open at the
		// previous one's end, and resolved in the range (endsAt in
		// [From, To)), so a sample of its time to resolution.
		boundAlert("atfrom", "svc", "info", from.Add(-time.Hour), time.Hour),
		// Resolved exactly at To: firing, open at the end, no sample.
		boundAlert("atto", "svc", "info", from.Add(time.Hour), to.Sub(from.Add(time.Hour))),
		// Resolved a second before To: firing, not open, a sample.
		boundAlert("beforeto", "svc", "info", from.Add(2*time.Hour), to.Add(-time.Second).Sub(from.Add(2*time.Hour))),
		// Started a second before To and still firing: firing, open.
		boundAlert("last", "svc", "info", to.Add(-time.Second), firing),
		// Resolved after exactly NoisyWithin: by itself, noisy; a second
		// more: neither.
		boundAlert("noisy", "svc", "info", from.Add(3*time.Hour), report.DefaultNoisyWithin),
		boundAlert("slow", "svc", "info", from.Add(4*time.Hour), report.DefaultNoisyWithin+time.Second),
		// FlapCount firings flap, one fewer do not.
		boundAlert("flap", "svc", "info", from.Add(5*time.Hour), time.Hour),
		boundAlert("flap", "svc", "info", from.Add(7*time.Hour), time.Hour),
		boundAlert("flap", "svc", "info", from.Add(9*time.Hour), time.Hour),
		boundAlert("twice", "svc", "info", from.Add(5*time.Hour), time.Hour),
		boundAlert("twice", "svc", "info", from.Add(7*time.Hour), time.Hour),
	}})
	cur, prev := r.Total.Current.Alerts, r.Total.Previous.Alerts
	require.Equal(t, 10, cur.Firing, "all but the one resolved at From")
	require.Equal(t, 1, prev.Firing, "the one resolved at From")
	require.Equal(t, 1, prev.Open, "resolved at the previous range's end: still open then")
	require.Equal(t, 2, cur.Open, "the one resolved at To and the one still firing")
	require.Equal(t, 1, cur.Noisy, "resolved in exactly NoisyWithin; a second more is not")
	require.Equal(t, 1, cur.Flapping, "FlapCount firings; one fewer is not")
	require.Equal(t, []report.FlappingAlert{{Alert: `Aflap{service="svc",severity="info"}`, Fingerprint: "flap", Firings: 3}}, r.Services[0].Flapping)
	// Resolved in the range: atfrom (1h), beforeto, noisy, slow, 3 flap,
	// 2 twice; not atto (at To) nor last (firing).
	require.Equal(t, 9, cur.Resolution.Samples)
	require.Zero(t, prev.Resolution.Samples, "the one resolved at From resolved in the range, not before")
	require.Equal(t, report.Seconds(to.Add(-time.Second).Sub(from.Add(2*time.Hour))), cur.Resolution.Max)
}

func TestPercentilesAreByNearestRank(t *testing.T) {
	for _, tt := range []struct {
		n                 int
		median, p90, most time.Duration
	}{
		// Ranks ⌈0.5·n⌉ and ⌈0.9·n⌉ of the samples 1, 2, …, n minutes.
		{1, 1 * time.Minute, 1 * time.Minute, 1 * time.Minute},
		{2, 1 * time.Minute, 2 * time.Minute, 2 * time.Minute},
		{10, 5 * time.Minute, 9 * time.Minute, 10 * time.Minute},
		{11, 6 * time.Minute, 10 * time.Minute, 11 * time.Minute},
		{21, 11 * time.Minute, 19 * time.Minute, 21 * time.Minute},
	} {
		t.Run(fmt.Sprint(tt.n), func(t *testing.T) {
			var fx fixture
			for i := range tt.n {
				// Given in descending order: the report sorts them.
				d := time.Duration(tt.n-i) * time.Minute
				fx.alerts = append(fx.alerts, boundAlert(fmt.Sprintf("f%02d", i), "svc", "info", w12.From.Add(time.Duration(i)*time.Hour), d))
			}
			got := weekly(t, fx).Total.Current.Alerts.Resolution
			require.Equal(t, report.Distribution{
				Samples: tt.n, Median: report.Seconds(tt.median), P90: report.Seconds(tt.p90), Max: report.Seconds(tt.most),
			}, got)
		})
	}
}

func TestMTBFIsBetweenTheRangesOwnSEVs(t *testing.T) {
	from := w12.From
	sev := func(fp string, start time.Time) alert.Alert {
		return boundAlert(fp, "api", "critical", start, time.Minute)
	}
	r := weekly(t, fixture{alerts: []alert.Alert{
		// The previous range: two SEVs an hour apart, the last one an hour
		// before the range's start.
		sev("p1", from.Add(-2*time.Hour)),
		sev("p2", from.Add(-time.Hour)),
		// The range: SEVs at its very start, an hour and three hours in.
		sev("c1", from),
		sev("c2", from.Add(time.Hour)),
		sev("c3", from.Add(3*time.Hour)),
		// A SEV of another service between them is no sample of api's.
		boundAlert("o1", "db", "critical", from.Add(2*time.Hour), time.Minute),
	}})
	cur, prev := r.Total.Current.SEVs, r.Total.Previous.SEVs
	require.Equal(t, 4, cur.Total)
	require.Equal(t, report.Mean{Samples: 2, Mean: report.Seconds(90 * time.Minute)}, cur.MTBF,
		"c1→c2 and c2→c3: not p2→c1, which crosses the range's start")
	require.Equal(t, report.Mean{Samples: 1, Mean: report.Seconds(time.Hour)}, prev.MTBF,
		"p1→p2: not p2→c1, which starts at the previous range's end")
	require.Equal(t, report.Mean{Samples: 4, Mean: report.Seconds(time.Minute)}, cur.MTTR)
}

// A range that ends after Options.Now (this week so far, or a week to
// come): an alert still firing fires until now, and not at all after it.
func TestFiringTimeIsNeverNegative(t *testing.T) {
	s := fill(t, "sqlite://"+filepath.Join(t.TempDir(), "sw.db"), fixture{alerts: []alert.Alert{
		boundAlert("f", "svc", "info", w12.From.Add(time.Hour), -1),
	}})
	w13 := report.ISOWeek(2026, 13, time.UTC)
	for _, tt := range []struct {
		now  time.Time
		want time.Duration
	}{
		{w12.From.Add(3 * time.Hour), 0},             // before the range
		{w13.From.Add(2 * time.Hour), 2 * time.Hour}, // in it
		{w13.To.Add(time.Hour), w13.Duration()},      // after it
	} {
		r, err := report.Weekly(t.Context(), s, report.Options{Range: w13, Now: func() time.Time { return tt.now }})
		require.NoError(t, err)
		require.Len(t, r.Services, 1)
		require.Equal(t, report.Seconds(tt.want), r.Services[0].Top[0].FiringTime, "now %s", tt.now)
	}
}
