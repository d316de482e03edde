package report_test

import (
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/steadywatch/steadywatch/alert"
	"github.com/steadywatch/steadywatch/report"
)

// The figures behind the HTML report's charts: alerts per local day, the
// time-to-resolution buckets and the MTTR/MTTD trend.

func TestDailyCountsFollowTheLocalDaysAcrossADaylightSavingChange(t *testing.T) {
	const firing = -1
	silenced := boundAlert("silenced", "svc", "info", time.Date(2026, 3, 29, 12, 0, 0, 0, berlin), time.Minute)
	silenced.Receiver, silenced.Source = "", alert.SourceAPI
	s := fill(t, "sqlite://"+filepath.Join(t.TempDir(), "sw.db"), fixture{alerts: []alert.Alert{
		// The last second of Saturday and the first of Sunday, the day the
		// clocks go forward (00:00 CET is 23:00 UTC on Saturday).
		boundAlert("satlast", "svc", "info", time.Date(2026, 3, 28, 23, 59, 59, 0, berlin), time.Minute),
		boundAlert("sunfirst", "svc", "info", time.Date(2026, 3, 29, 0, 0, 0, 0, berlin), time.Minute),
		// Sunday's last second, CEST, and the next Monday's first, in W14.
		boundAlert("sunlast", "other", "info", time.Date(2026, 3, 29, 23, 59, 59, 0, berlin), firing),
		boundAlert("w14", "svc", "info", time.Date(2026, 3, 30, 0, 0, 0, 0, berlin), time.Minute),
		// Started in W12 and still firing: firing in W13, on no day of it.
		boundAlert("before", "svc", "info", time.Date(2026, 3, 22, 23, 0, 0, 0, berlin), firing),
		// Silenced: in no figure but Silenced.
		silenced,
		// The week's first instant, Monday 00:00 CET.
		boundAlert("monfirst", "svc", "info", time.Date(2026, 3, 23, 0, 0, 0, 0, berlin), time.Minute),
	}})
	r, err := report.Weekly(t.Context(), s, report.Options{Range: report.ISOWeek(2026, 13, berlin), Now: func() time.Time { return now }})
	require.NoError(t, err)

	type day struct {
		date   string
		hours  float64
		alerts map[string]int
	}
	want := []day{
		{"2026-03-23", 24, map[string]int{"svc": 1}},
		{"2026-03-24", 24, nil},
		{"2026-03-25", 24, nil},
		{"2026-03-26", 24, nil},
		{"2026-03-27", 24, nil},
		{"2026-03-28", 24, map[string]int{"svc": 1}},
		{"2026-03-29", 23, map[string]int{"svc": 1, "other": 1}},
	}
	require.Len(t, r.Daily, len(want))
	for i, w := range want {
		got := r.Daily[i]
		require.Equal(t, w.date, got.Date)
		require.Equal(t, w.date, got.From.In(berlin).Format(time.DateOnly), "a day starts at its local midnight")
		require.Equal(t, "00:00:00", got.From.In(berlin).Format(time.TimeOnly))
		require.InDelta(t, w.hours, got.To.Sub(got.From).Hours(), 0, w.date)
		require.Equal(t, w.alerts["svc"]+w.alerts["other"], got.Alerts, "all services on %s", w.date)
		for _, svc := range r.Services {
			require.Len(t, svc.Daily, len(want))
			require.Equal(t, got.From, svc.Daily[i].From)
			require.Equal(t, w.alerts[svc.Name], svc.Daily[i].Alerts, "%s on %s", svc.Name, w.date)
		}
	}
	require.Equal(t, r.Range.From, r.Daily[0].From)
	require.Equal(t, r.Range.To, r.Daily[6].To)
	require.Equal(t, 5, r.Total.Current.Alerts.Firing, "the one started before the week fires in it")

	// Clocks go back on 2026-10-25: a 25-hour Sunday.
	w43, err := report.Weekly(t.Context(), s, report.Options{Range: report.ISOWeek(2026, 43, berlin), Now: func() time.Time { return now }})
	require.NoError(t, err)
	require.Len(t, w43.Daily, 7)
	require.Equal(t, "2026-10-25", w43.Daily[6].Date)
	require.Equal(t, 25*time.Hour, w43.Daily[6].To.Sub(w43.Daily[6].From))
}

func TestDailyCountsEqualTheFixturesLocalDays(t *testing.T) {
	fx := generate(14)
	s := fill(t, "sqlite://"+filepath.Join(t.TempDir(), "sw.db"), fx)
	fromTo, err := report.Between(time.Date(2026, 3, 10, 6, 0, 0, 0, time.UTC), time.Date(2026, 3, 20, 18, 0, 0, 0, time.UTC), berlin)
	require.NoError(t, err)
	for _, rg := range []report.Range{report.ISOWeek(2026, 13, berlin), report.ISOWeek(2026, 12, mustLoad("America/New_York")), fromTo} {
		t.Run(rg.String(), func(t *testing.T) {
			r, err := report.Weekly(t.Context(), s, report.Options{Range: rg, Now: func() time.Time { return now }})
			require.NoError(t, err)
			loc := rg.Location()
			// By local date, over the fixture: per service, and over all
			// services.
			want := map[string]map[string]int{}
			all := map[string]int{}
			total := 0
			for i := range fx.alerts {
				a := &fx.alerts[i]
				if a.StartsAt.Before(rg.From) || !a.StartsAt.Before(rg.To) || a.Source == alert.SourceAPI && a.Receiver == "" {
					continue
				}
				svc := serviceOf(a.Labels)
				if want[svc] == nil {
					want[svc] = map[string]int{}
				}
				want[svc][a.StartsAt.In(loc).Format(time.DateOnly)]++
				all[a.StartsAt.In(loc).Format(time.DateOnly)]++
				total++
			}
			require.Positive(t, total)
			var dates []string
			for d := rg.From.In(loc); d.Before(rg.To); d = d.AddDate(0, 0, 1) {
				dates = append(dates, d.Format(time.DateOnly))
			}
			sum := 0
			for _, svc := range r.Services {
				require.Len(t, svc.Daily, len(dates))
				n := 0
				for i, d := range svc.Daily {
					require.Equal(t, dates[i], d.Date)
					require.Equal(t, want[svc.Name][d.Date], d.Alerts, "%s on %s", svc.Name, d.Date)
					n += d.Alerts
				}
				require.LessOrEqual(t, n, svc.Current.Alerts.Firing, svc.Name)
				sum += n
			}
			require.Equal(t, total, sum)
			require.Len(t, r.Daily, len(dates))
			days := 0
			for i, d := range r.Daily {
				require.Equal(t, dates[i], d.Date)
				require.Equal(t, all[d.Date], d.Alerts, "all services on %s", d.Date)
				if d.Alerts > 0 {
					days++
				}
			}
			require.Greater(t, days, 1, "the fixture has alerts on several days of the range")
			require.Equal(t, rg.From, r.Daily[0].From)
			require.Equal(t, rg.To, r.Daily[len(r.Daily)-1].To)
		})
	}
}

func TestTimeToResolutionBucketsAtBothSidesOfEachEdge(t *testing.T) {
	edges := []time.Duration{time.Minute, 5 * time.Minute, 15 * time.Minute, time.Hour, 4 * time.Hour, 24 * time.Hour}
	require.Equal(t, edges, report.ResolutionEdges)
	var alerts []alert.Alert
	for i, e := range edges {
		start := w12.From.Add(time.Duration(i) * time.Hour)
		alerts = append(alerts,
			boundAlert("below"+e.String(), "svc", "info", start, e-time.Second),
			boundAlert("at"+e.String(), "svc", "info", start, e))
	}
	r := weekly(t, fixture{alerts: alerts})
	// Each edge puts the alert a second short of it in the bucket below,
	// the one at it in the bucket above.
	want := []int{1, 2, 2, 2, 2, 2, 1}
	labels := []string{"<1m", "1m–5m", "5m–15m", "15m–1h", "1h–4h", "4h–24h", "≥24h"}
	require.Len(t, r.ResolutionBuckets, len(want))
	var lo time.Duration
	for i, b := range r.ResolutionBuckets {
		require.Equal(t, labels[i], b.Label)
		require.Equal(t, want[i], b.Count, b.Label)
		require.Equal(t, report.Seconds(lo), b.From, b.Label)
		if i < len(edges) {
			require.Equal(t, report.Seconds(edges[i]), b.To)
			lo = edges[i]
		} else {
			require.Zero(t, b.To, "the last bucket has no upper bound")
		}
	}
	require.Equal(t, r.ResolutionBuckets, r.Services[0].ResolutionBuckets)
}

func TestTimeToResolutionBucketsEqualTheFixtures(t *testing.T) {
	fx := generate(14)
	s := fill(t, "sqlite://"+filepath.Join(t.TempDir(), "sw.db"), fx)
	rg := report.ISOWeek(2026, 12, berlin)
	r, err := report.Weekly(t.Context(), s, report.Options{Range: rg, Now: func() time.Time { return now }})
	require.NoError(t, err)
	bucket := func(d time.Duration) int {
		switch {
		case d < time.Minute:
			return 0
		case d < 5*time.Minute:
			return 1
		case d < 15*time.Minute:
			return 2
		case d < time.Hour:
			return 3
		case d < 4*time.Hour:
			return 4
		case d < 24*time.Hour:
			return 5
		}
		return 6
	}
	cur, _, _, _ := expect(fx, rg, rg.Previous().From.Add(-report.DefaultLookback), rg.To)
	all := make([]int, 7)
	for _, svc := range r.Services {
		want := make([]int, 7)
		for _, d := range cur[svc.Name].ttr {
			want[bucket(d)]++
			all[bucket(d)]++
		}
		got := make([]int, 0, 7)
		for _, b := range svc.ResolutionBuckets {
			got = append(got, b.Count)
		}
		require.Equal(t, want, got, svc.Name)
	}
	got := make([]int, 0, 7)
	nonEmpty := 0
	for _, b := range r.ResolutionBuckets {
		got = append(got, b.Count)
		if b.Count > 0 {
			nonEmpty++
		}
	}
	require.Equal(t, all, got)
	require.GreaterOrEqual(t, nonEmpty, 4, "the fixture fills most buckets")
}

func TestTheTrendEqualsTheFiguresComputedFromTheFixture(t *testing.T) {
	fx := generate(14)
	s := fill(t, "sqlite://"+filepath.Join(t.TempDir(), "sw.db"), fx)
	for _, rg := range []report.Range{report.ISOWeek(2026, 13, berlin), report.ISOWeek(2026, 15, time.UTC)} {
		t.Run(rg.String()+"/"+rg.Location().String(), func(t *testing.T) {
			r, err := report.Weekly(t.Context(), s, report.Options{Range: rg, Now: func() time.Time { return now }, TrendRanges: 8})
			require.NoError(t, err)
			// The 8 weeks ending with rg, each the ISO week before the
			// next, in rg's zone.
			weeks := make([]report.Range, 8)
			year, week := rg.From.ISOWeek()
			for i := 7; i >= 0; i-- {
				weeks[i] = report.ISOWeek(year, week, rg.Location())
				if week--; week == 0 {
					year--
					week = report.WeeksIn(year)
				}
			}
			span := weeks[0].From.Add(-report.DefaultLookback)
			require.Len(t, r.Trend, 8)
			gaps, points := 0, 0
			for i, w := range weeks {
				e, _, _, _ := expect(fx, w, span, rg.To)
				pooled := total(e)
				want := report.TrendPoint{Range: w, SEVs: pooled.fig.SEVs.Total, MTTR: avg(pooled.mttr), MTTD: avg(pooled.mttd)}
				require.Equal(t, want, r.Trend[i], w.Week)
				if want.MTTR.Samples == 0 {
					gaps++
				} else {
					points++
				}
			}
			require.Positive(t, gaps, "the trend reaches before the fixture: it has gaps")
			require.Positive(t, points)
			last := r.Trend[7]
			require.Equal(t, r.Total.Current.SEVs.MTTR, last.MTTR, "the last point is the report's range")
			require.Equal(t, r.Total.Current.SEVs.MTTD, last.MTTD)
			require.Equal(t, r.Total.Current.SEVs.Total, last.SEVs)
		})
	}
}

func TestTheTrendIsOffUnlessAskedFor(t *testing.T) {
	s := fill(t, "sqlite://"+filepath.Join(t.TempDir(), "sw.db"), generate(14))
	rg := report.ISOWeek(2026, 13, berlin)
	off, err := report.Weekly(t.Context(), s, report.Options{Range: rg, Now: func() time.Time { return now }})
	require.NoError(t, err)
	require.Nil(t, off.Trend)
	data, err := json.Marshal(off)
	require.NoError(t, err)
	require.NotContains(t, string(data), `"trend"`)

	one, err := report.Weekly(t.Context(), s, report.Options{Range: rg, Now: func() time.Time { return now }, TrendRanges: 1})
	require.NoError(t, err)
	require.Len(t, one.Trend, 1)
	require.Equal(t, rg, one.Trend[0].Range)

	_, err = report.Weekly(t.Context(), s, report.Options{Range: rg, TrendRanges: -1})
	require.EqualError(t, err, "report: Options.TrendRanges: must not be negative, got -1")
	var md strings.Builder
	require.NoError(t, report.WriteMarkdown(&md, off))
	require.NotContains(t, md.String(), "trend")
}
