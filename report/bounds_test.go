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
