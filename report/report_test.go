package report_test

import (
	"context"
	"math"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/steadywatch/steadywatch/alert"
	"github.com/steadywatch/steadywatch/chaos"
	"github.com/steadywatch/steadywatch/contract"
	"github.com/steadywatch/steadywatch/internal/testenv/pgtest"
	"github.com/steadywatch/steadywatch/report"
	"github.com/steadywatch/steadywatch/store"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

// now is when the tests' reports are written: after the fixture's month.
var now = time.Date(2026, 4, 20, 12, 0, 0, 0, time.UTC)

func fill(t *testing.T, dsn string, fx fixture) store.Store {
	ctx := t.Context()
	s, err := store.Open(ctx, dsn, store.Options{})
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, s.Close()) })
	for _, inc := range fx.incidents {
		require.NoError(t, s.Save(ctx, inc))
		if inc.Detection.Decided() {
			updated, err := s.SetDetection(ctx, inc.ID, inc.Detection)
			require.NoError(t, err)
			require.True(t, updated)
		}
	}
	save := func(alerts []alert.Alert) {
		for part := range slices.Chunk(alerts, 200) {
			_, err := s.SaveAlerts(ctx, part)
			require.NoError(t, err)
		}
	}
	// The pulls that came before an alert's first notification.
	var first []alert.Alert
	for i := range fx.alerts {
		if fx.pulls[alertKey(&fx.alerts[i])].first {
			first = append(first, pullOf(fx.alerts[i]))
		}
	}
	save(first)
	save(fx.alerts)
	// Deliver again the alerts delivered more than once, as Alertmanager
	// repeats a notification: the k-th time each that has k deliveries.
	// Then the pulls after: the k-th time each pulled k times.
	for k := 2; ; k++ {
		var again []alert.Alert
		for _, a := range fx.alerts {
			if a.Deliveries >= k {
				again = append(again, a)
			}
		}
		if len(again) == 0 {
			break
		}
		save(again)
	}
	for k := 1; ; k++ {
		var again []alert.Alert
		for i := range fx.alerts {
			if fx.pulls[alertKey(&fx.alerts[i])].after >= k {
				again = append(again, pullOf(fx.alerts[i]))
			}
		}
		if len(again) == 0 {
			return s
		}
		save(again)
	}
}

func TestTheReportEqualsTheFiguresComputedFromTheFixture(t *testing.T) {
	fx := generate(14)
	for _, backend := range []struct {
		name string
		dsn  func(t *testing.T) string
	}{
		{"sqlite", func(t *testing.T) string { return "sqlite://" + filepath.Join(t.TempDir(), "sw.db") }},
		{"postgres", func(t *testing.T) string { return pgtest.New(t) }},
	} {
		t.Run(backend.name, func(t *testing.T) {
			s := fill(t, backend.dsn(t), fx)
			// Every kind of figure occurs in the fixture, so each
			// comparison compares something.
			r, err := report.Weekly(t.Context(), s, report.Options{Range: report.ISOWeek(2026, 12, berlin), Now: func() time.Time { return now }})
			require.NoError(t, err)
			c := r.Total.Current
			for name, n := range map[string]int{
				"firing": c.Alerts.Firing, "silenced": c.Alerts.Silenced, "open": c.Alerts.Open, "noisy": c.Alerts.Noisy,
				"flapping": c.Alerts.Flapping, "resolved": c.Alerts.Resolution.Samples, "chaos SEVs": c.SEVs.Chaos,
				"organic SEVs": c.SEVs.Organic, "MTTD": c.SEVs.MTTD.Samples, "MTTR": c.SEVs.MTTR.Samples, "MTBF": c.SEVs.MTBF.Samples,
			} {
				require.Positive(t, n, "2026-W12 has no %s: the fixture tests nothing there", name)
			}
			d := c.Detection
			require.Greater(t, c.Alerts.Notifications, c.Alerts.Firing, "2026-W12 has no alert delivered twice")
			pulled := 0
			for i := range fx.alerts {
				a := &fx.alerts[i]
				if p := fx.pulls[alertKey(a)]; (p.first || p.after > 0) && r.Range.Contains(a.StartsAt) {
					pulled++
				}
			}
			require.Positive(t, pulled, "2026-W12 has no notified alert that was pulled too: no notification figure tests that pulls are left out")
			undecided, precise, recalled, noRecall, ttd := 0, 0, 0, 0, 0
			for _, svc := range r.Services {
				for _, u := range svc.Undetected {
					if u.Undecided {
						undecided++
					}
				}
			}
			for _, ru := range r.Rules {
				if ru.Joined > 0 && ru.Joined < ru.Firings {
					precise++
				}
				if ru.Recall != nil && *ru.Recall > 0 && *ru.Recall < 1 {
					recalled++
				}
				if ru.Recall == nil && ru.Firings > 0 {
					noRecall++
				}
				ttd += ru.TimeToDetect.Samples
			}
			for name, n := range map[string]int{
				"faults detected in time": d.WithinBound, "faults detected late": d.Late, "faults not detected": d.NotDetected,
				"faults with an inferred start": d.StartInferred, "undecided faults": undecided, "undecided faults counted": d.Undecided,
				"rule with a precision between 0 and 1": precise, "rule with a recall between 0 and 1": recalled,
				"rule that fired and detected nothing": noRecall, "time to detect of a rule": ttd,
			} {
				require.Positive(t, n, "2026-W12 has no %s: the fixture tests nothing there", name)
			}
			t.Logf("2026-W12: %d firing, %d notifications; faults %+v, coverage %.3f; %d rules", c.Alerts.Firing, c.Alerts.Notifications,
				d, *d.Share, len(r.Rules))
			for _, ru := range r.Rules {
				t.Logf("  rule %s: firings %d joined %d kinds %v detected %d/%d ttd %+v", ru.Alert, ru.Firings, ru.Joined, ru.Kinds, ru.Detected, ru.Faults, ru.TimeToDetect)
			}
			// How often each kind of change was checked: with a delta and
			// a percent, with a delta only (previous 0), with neither
			// (no data).
			var checked changesChecked
			for _, zone := range []string{"Europe/Berlin", "America/New_York", "UTC"} {
				loc := mustLoad(zone)
				for week := 9; week <= 16; week++ {
					rg := report.ISOWeek(2026, week, loc)
					t.Run(zone+"/"+rg.Week, func(t *testing.T) {
						checked.add(check(t, s, fx, rg))
					})
				}
			}
			rg, err := report.Between(time.Date(2026, 3, 10, 6, 0, 0, 0, time.UTC), time.Date(2026, 3, 20, 18, 0, 0, 0, time.UTC), berlin)
			require.NoError(t, err)
			t.Run("from-to", func(t *testing.T) { checked.add(check(t, s, fx, rg)) })
			for name, n := range map[string]int{
				"notifications with a percent": checked.percent["Notifications"], "coverage with a percent": checked.percent["Detection coverage"],
				"notifications from 0": checked.deltaOnly["Notifications"], "coverage without data": checked.none["Detection coverage"],
			} {
				require.Positive(t, n, "no range checks the change of %s", name)
			}
		})
	}
}

// changesChecked counts, by change, the ranges whose Delta and Percent
// check compared with the oracle's: both, the delta only, neither.
type changesChecked struct{ percent, deltaOnly, none map[string]int }

func (c *changesChecked) add(d changesChecked) {
	for _, m := range []struct {
		to   *map[string]int
		from map[string]int
	}{{&c.percent, d.percent}, {&c.deltaOnly, d.deltaOnly}, {&c.none, d.none}} {
		if *m.to == nil {
			*m.to = map[string]int{}
		}
		for k, n := range m.from {
			(*m.to)[k] += n
		}
	}
}

// check compares rg's report with the figures computed from the fixture,
// and says which changes it checked how.
func check(t *testing.T, s store.Store, fx fixture, rg report.Range) changesChecked {
	r, err := report.Weekly(t.Context(), s, report.Options{Range: rg, Now: func() time.Time { return now }})
	require.NoError(t, err)
	require.False(t, r.Empty)
	prev := rg.Previous()
	require.Equal(t, prev, r.Previous)
	span := prev.From.Add(-report.DefaultLookback)
	cur, curTop, curOpen, curFlap := expect(fx, rg, span, rg.To)
	old, _, _, _ := expect(fx, prev, span, rg.To)

	names := map[string]bool{}
	for n := range cur {
		names[n] = true
	}
	for n := range old {
		names[n] = true
	}
	var got []string
	for _, svc := range r.Services {
		got = append(got, svc.Name)
		require.Equal(t, want(cur[svc.Name]), svc.Current, "%s current", svc.Name)
		require.Equal(t, want(old[svc.Name]), svc.Previous, "%s previous", svc.Name)
		require.Equal(t, curTop[svc.Name], svc.Top, "%s top alerts", svc.Name)
		require.Len(t, svc.Open, curOpen[svc.Name], "%s open alerts", svc.Name)
		require.Len(t, svc.Flapping, curFlap[svc.Name], "%s flapping alerts", svc.Name)
	}
	require.ElementsMatch(t, slices.Collect(mapsKeys(names)), got)
	require.Equal(t, want(total(cur)), r.Total.Current)
	require.Equal(t, want(total(old)), r.Total.Previous)

	_, deaf := expectCoverage(fx, rg, span, rg.To, report.DefaultDetectionBound)
	for _, svc := range r.Services {
		w := deaf[svc.Name]
		if w == nil {
			w = []report.UndetectedFault{}
		}
		require.Equal(t, w, svc.Undetected, "%s undetected faults", svc.Name)
	}
	require.Equal(t, expectRules(fx, rg, prev, span, rg.To), r.Rules)
	checked := changesChecked{percent: map[string]int{}, deltaOnly: map[string]int{}, none: map[string]int{}}
	for _, c := range r.Changes {
		var now, before *float64
		switch c.Name {
		case "Notifications":
			now, before = new(float64(total(cur).fig.Alerts.Notifications)), new(float64(total(old).fig.Alerts.Notifications))
			require.InDelta(t, *now, *c.Current, 0)
			require.InDelta(t, *before, *c.Previous, 0)
		case "Detection coverage":
			now, before = total(cur).fig.Detection.Share, total(old).fig.Detection.Share
			require.Equal(t, now, c.Current)
			require.Equal(t, before, c.Previous)
		default:
			continue
		}
		// Delta is now − before; the percent is of before, where it is
		// not 0; neither where a side has no data.
		if now == nil || before == nil {
			require.Nil(t, c.Delta, "%s: a side has no data", c.Name)
			require.Nil(t, c.Percent, "%s: a side has no data", c.Name)
			checked.none[c.Name]++
			continue
		}
		require.NotNil(t, c.Delta, c.Name)
		require.InDelta(t, *now-*before, *c.Delta, 1e-12, "%s delta", c.Name)
		if *before == 0 {
			require.Nil(t, c.Percent, "%s: no percent of 0", c.Name)
			checked.deltaOnly[c.Name]++
			continue
		}
		require.NotNil(t, c.Percent, c.Name)
		require.InDelta(t, (*now-*before) / *before * 100, *c.Percent, 1e-9, "%s percent", c.Name)
		checked.percent[c.Name]++
	}
	require.Equal(t, 2, countChanges(r.Changes, "Notifications", "Detection coverage"))
	return checked
}

func countChanges(cs []report.Change, names ...string) int {
	n := 0
	for _, c := range cs {
		if slices.Contains(names, c.Name) {
			n++
		}
	}
	return n
}

func mapsKeys(m map[string]bool) func(func(string) bool) {
	return func(yield func(string) bool) {
		for k := range m {
			if !yield(k) {
				return
			}
		}
	}
}

// expected holds a service's figures with their raw samples.
type expected struct {
	fig              report.Figures
	ttr              []time.Duration
	mttd, mttr, mtbf []time.Duration
}

var levelOf = map[string]report.Level{"critical": "SEV1", "error": "SEV2", "warning": "SEV3"}

var allLevels = []report.Level{"SEV1", "SEV2", "SEV3"}

func want(e *expected) report.Figures {
	if e == nil {
		e = &expected{}
	}
	f := e.fig
	f.Alerts.Resolution = dist(e.ttr)
	if f.SEVs.ByLevel == nil {
		f.SEVs.ByLevel = map[report.Level]int{}
	}
	for _, l := range allLevels {
		f.SEVs.ByLevel[l] += 0
	}
	f.SEVs.MTTD, f.SEVs.MTTR, f.SEVs.MTBF = avg(e.mttd), avg(e.mttr), avg(e.mtbf)
	return f
}

func total(m map[string]*expected) *expected {
	t := &expected{}
	t.fig.SEVs.ByLevel = map[report.Level]int{}
	for _, e := range m {
		a, s := &e.fig.Alerts, &e.fig.SEVs
		t.fig.Alerts.Firing += a.Firing
		t.fig.Alerts.Notifications += a.Notifications
		d := &t.fig.Detection
		d.Faults += e.fig.Detection.Faults
		d.WithinBound += e.fig.Detection.WithinBound
		d.Late += e.fig.Detection.Late
		d.NotDetected += e.fig.Detection.NotDetected
		d.Undecided += e.fig.Detection.Undecided
		d.StartInferred += e.fig.Detection.StartInferred
		d.Share = ratio(d.WithinBound, d.Faults-d.StartInferred-d.Undecided)
		t.fig.Alerts.Silenced += a.Silenced
		t.fig.Alerts.Open += a.Open
		t.fig.Alerts.Noisy += a.Noisy
		t.fig.Alerts.Flapping += a.Flapping
		t.fig.SEVs.Total += s.Total
		t.fig.SEVs.Chaos += s.Chaos
		t.fig.SEVs.Organic += s.Organic
		for l, n := range s.ByLevel {
			t.fig.SEVs.ByLevel[l] += n
		}
		t.ttr = append(t.ttr, e.ttr...)
		t.mttd = append(t.mttd, e.mttd...)
		t.mttr = append(t.mttr, e.mttr...)
		t.mtbf = append(t.mtbf, e.mtbf...)
	}
	return t
}

func dist(ds []time.Duration) report.Distribution {
	if len(ds) == 0 {
		return report.Distribution{}
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	at := func(p float64) report.Seconds {
		return report.Seconds(s[int(math.Ceil(p*float64(len(s))))-1])
	}
	return report.Distribution{Samples: len(s), Median: at(0.5), P90: at(0.9), Max: report.Seconds(s[len(s)-1])}
}

func avg(ds []time.Duration) report.Mean {
	if len(ds) == 0 {
		return report.Mean{}
	}
	var sum time.Duration
	for _, d := range ds {
		sum += d
	}
	return report.Mean{Samples: len(ds), Mean: report.Seconds(sum / time.Duration(len(ds)))}
}

func serviceOf(labels map[string]string) string {
	for _, l := range []string{"service", "app_kubernetes_io_name", "app"} {
		if labels[l] != "" {
			return labels[l]
		}
	}
	return report.NoService
}

func identity(a *alert.Alert) string {
	var parts []string
	for k, v := range a.Labels {
		if k == "alertname" || slices.Contains(report.DefaultVolatileLabels, k) {
			continue
		}
		parts = append(parts, k+"="+strconv.Quote(v))
	}
	sort.Strings(parts)
	return a.Labels["alertname"] + "{" + strings.Join(parts, ",") + "}"
}

// expect computes, by brute force over the fixture, the figures of rg per
// service, its top alerts and the number of its open and flapping alerts;
// the report reads alerts and incidents that started in [span, until).
func expect(fx fixture, rg report.Range, span, until time.Time) (map[string]*expected, map[string][]report.TopAlert, map[string]int, map[string]int) {
	in := func(t time.Time) bool { return !t.Before(rg.From) && t.Before(rg.To) }
	read := func(t time.Time) bool { return !t.Before(span) && t.Before(until) }
	out := map[string]*expected{}
	get := func(svc string) *expected {
		if out[svc] == nil {
			out[svc] = &expected{fig: report.Figures{SEVs: report.SEVFigures{ByLevel: map[report.Level]int{}}}}
		}
		return out[svc]
	}
	var incs []chaos.Incident
	for _, inc := range fx.incidents {
		if read(inc.Start) {
			incs = append(incs, inc)
		}
	}
	silenced := func(a *alert.Alert) bool { return a.Source == alert.SourceAPI && a.Receiver == "" }
	joined := func(a *alert.Alert) bool {
		for _, inc := range incs {
			if inc.Detection.Fingerprint == a.Fingerprint && inc.Detection.At.Equal(a.StartsAt) {
				return true
			}
		}
		return false
	}
	type topRow struct {
		count, self, notifications int
		firing                     time.Duration
	}
	tops := map[string]map[string]*topRow{}
	opens := map[string]int{}
	firings := map[string]int{}
	fpService := map[string]string{}
	var organic []alert.Alert
	for i := range fx.alerts {
		a := &fx.alerts[i]
		if !read(a.StartsAt) {
			continue
		}
		svc := serviceOf(a.Labels)
		resolved := a.Status == alert.Resolved
		if !silenced(a) && !joined(a) && levelOf[a.Labels["severity"]] != "" && a.Labels["alertname"] != contract.AbortAlertName {
			under := false
			for _, inc := range incs {
				if inc.Kind.IsFailure() && inc.Subject.Service == svc && !a.StartsAt.Before(inc.Start) && (inc.End.IsZero() || !a.StartsAt.After(inc.End)) {
					under = true
				}
			}
			if !under {
				organic = append(organic, *a)
			}
		}
		// Resolved in rg, whether or not it fired in it.
		if !silenced(a) && resolved && in(a.EndsAt) {
			get(svc).ttr = append(get(svc).ttr, a.EndsAt.Sub(a.StartsAt))
		}
		// Firing at some time in rg.
		if !a.StartsAt.Before(rg.To) || resolved && !a.EndsAt.After(rg.From) && a.StartsAt.Before(rg.From) {
			continue
		}
		e := get(svc)
		if silenced(a) {
			e.fig.Alerts.Silenced++
			continue
		}
		e.fig.Alerts.Firing++
		e.fig.Alerts.Notifications += notifications(a)
		firings[a.Fingerprint]++
		fpService[a.Fingerprint] = svc
		if !resolved || !a.EndsAt.Before(rg.To) {
			e.fig.Alerts.Open++
			opens[svc]++
		}
		self := resolved && a.EndsAt.Sub(a.StartsAt) <= 5*time.Minute
		if self && !joined(a) {
			e.fig.Alerts.Noisy++
		}
		if tops[svc] == nil {
			tops[svc] = map[string]*topRow{}
		}
		row := tops[svc][identity(a)]
		if row == nil {
			row = &topRow{}
			tops[svc][identity(a)] = row
		}
		row.count++
		row.notifications += notifications(a)
		if self {
			row.self++
		}
		from, to := a.StartsAt, rg.To
		if from.Before(rg.From) {
			from = rg.From
		}
		if resolved && a.EndsAt.Before(to) {
			to = a.EndsAt
		}
		if !resolved && now.Before(to) {
			to = now
		}
		row.firing += to.Sub(from)
	}
	flaps := map[string]int{}
	for fp, n := range firings {
		if n >= 3 {
			get(fpService[fp]).fig.Alerts.Flapping++
			flaps[fpService[fp]]++
		}
	}
	topOut := map[string][]report.TopAlert{}
	for svc, rows := range tops {
		var list []report.TopAlert
		for id, r := range rows {
			list = append(list, report.TopAlert{
				Alert: id, Count: r.count, Notifications: r.notifications, FiringTime: report.Seconds(r.firing),
				SelfResolved: r.self, SelfResolvedShare: float64(r.self) / float64(r.count),
			})
		}
		sort.Slice(list, func(i, j int) bool {
			if list[i].Count != list[j].Count {
				return list[i].Count > list[j].Count
			}
			if list[i].FiringTime != list[j].FiringTime {
				return list[i].FiringTime > list[j].FiringTime
			}
			return list[i].Alert < list[j].Alert
		})
		if len(list) > 20 {
			list = list[:20]
		}
		topOut[svc] = list
	}

	// SEVs: chaos failures, and organic alerts merged per service.
	type sev struct {
		service    string
		level      report.Level
		start, end time.Time
		detected   time.Time
		chaos      bool
		missed     bool
	}
	var sevs []sev
	for _, inc := range incs {
		if !inc.Kind.IsFailure() {
			continue
		}
		level := report.Level("SEV2")
		for i := range fx.alerts {
			a := &fx.alerts[i]
			if read(a.StartsAt) && !silenced(a) && a.Fingerprint == inc.Detection.Fingerprint && a.StartsAt.Equal(inc.Detection.At) && levelOf[a.Labels["severity"]] != "" {
				level = levelOf[a.Labels["severity"]]
			}
		}
		sevs = append(sevs, sev{inc.Subject.Service, level, inc.Start, inc.End, inc.Detection.At, true, inc.Missed})
	}
	bySvc := map[string][]alert.Alert{}
	for _, a := range organic {
		svc := serviceOf(a.Labels)
		bySvc[svc] = append(bySvc[svc], a)
	}
	for svc, as := range bySvc {
		for i := 0; i < len(as); {
			s := sev{service: svc, level: levelOf[as[i].Labels["severity"]], start: as[i].StartsAt}
			open := false
			j := i
			for ; j < len(as) && (j == i || open || !as[j].StartsAt.After(s.end)); j++ {
				if l := levelOf[as[j].Labels["severity"]]; l < s.level {
					s.level = l
				}
				if as[j].Status != alert.Resolved {
					open = true
				} else if as[j].EndsAt.After(s.end) {
					s.end = as[j].EndsAt
				}
			}
			if open {
				s.end = time.Time{}
			}
			sevs = append(sevs, s)
			i = j
		}
	}
	sort.SliceStable(sevs, func(i, j int) bool { return sevs[i].start.Before(sevs[j].start) })
	last := map[string]time.Time{}
	for _, s := range sevs {
		if !in(s.start) {
			continue
		}
		e := get(s.service)
		e.fig.SEVs.Total++
		e.fig.SEVs.ByLevel[s.level]++
		if s.chaos {
			e.fig.SEVs.Chaos++
			if !s.missed && !s.detected.IsZero() {
				e.mttd = append(e.mttd, s.detected.Sub(s.start))
			}
		} else {
			e.fig.SEVs.Organic++
		}
		if !s.missed && !s.end.IsZero() {
			e.mttr = append(e.mttr, s.end.Sub(s.start))
		}
		if l, ok := last[s.service]; ok {
			e.mtbf = append(e.mtbf, s.start.Sub(l))
		}
		last[s.service] = s.start
	}
	cov, _ := expectCoverage(fx, rg, span, until, report.DefaultDetectionBound)
	for svc, c := range cov {
		get(svc).fig.Detection = c
	}
	return out, topOut, opens, flaps
}

func TestAnEmptyStoreGivesAReportThatSaysSo(t *testing.T) {
	s, err := store.Open(t.Context(), filepath.Join(t.TempDir(), "sw.db"), store.Options{})
	require.NoError(t, err)
	defer s.Close()
	r, err := report.Weekly(context.Background(), s, report.Options{Range: report.ISOWeek(2026, 13, berlin)})
	require.NoError(t, err)
	require.True(t, r.Empty)
	var b strings.Builder
	require.NoError(t, report.WriteMarkdown(&b, r))
	require.Contains(t, b.String(), "**No data:** the store holds no alerts and no incidents at all.")
}

func TestAnEmptyWeekOfAStoreWithDataIsNotAnEmptyStore(t *testing.T) {
	s := fill(t, "sqlite://"+filepath.Join(t.TempDir(), "sw.db"), generate(14))
	r, err := report.Weekly(t.Context(), s, report.Options{Range: report.ISOWeek(2026, 30, berlin)})
	require.NoError(t, err)
	require.False(t, r.Empty)
	require.Empty(t, r.Services)
	require.Zero(t, r.Total.Current.Alerts.Firing)
	var b strings.Builder
	require.NoError(t, report.WriteMarkdown(&b, r))
	require.Contains(t, b.String(), "No alert fired in this range.")
	require.Contains(t, b.String(), "No SEV started in this range.")
}

func TestAServiceWithAlertsAndNoIncidents(t *testing.T) {
	fx := generate(14)
	for _, inc := range fx.incidents {
		require.NotEqual(t, "search", inc.Subject.Service, "the fixture gives search no incident")
	}
	s := fill(t, "sqlite://"+filepath.Join(t.TempDir(), "sw.db"), fx)
	r, err := report.Weekly(t.Context(), s, report.Options{Range: report.ISOWeek(2026, 12, berlin), Now: func() time.Time { return now }})
	require.NoError(t, err)
	i := slices.IndexFunc(r.Services, func(s report.Service) bool { return s.Name == "search" })
	require.GreaterOrEqual(t, i, 0)
	search := r.Services[i]
	require.Positive(t, search.Current.Alerts.Firing)
	require.Zero(t, search.Current.SEVs.Chaos)
	require.Equal(t, report.Mean{}, search.Current.SEVs.MTTD, "no chaos incident: MTTD has no data")
}

func TestAnAlertFiringAcrossTwoWeeksCountsInBoth(t *testing.T) {
	fx := fixture{alerts: []alert.Alert{{
		Fingerprint: "f1", Status: alert.Resolved, Labels: map[string]string{"alertname": "QueueBacklog", "service": "search"},
		StartsAt: time.Date(2026, 3, 22, 23, 50, 0, 0, berlin), EndsAt: time.Date(2026, 3, 23, 0, 20, 0, 0, berlin),
		Receiver: "steadywatch", Source: alert.SourceWebhook,
	}}}
	s := fill(t, "sqlite://"+filepath.Join(t.TempDir(), "sw.db"), fx)
	w13, err := report.Weekly(t.Context(), s, report.Options{Range: report.ISOWeek(2026, 13, berlin)})
	require.NoError(t, err)
	require.Equal(t, 1, w13.Total.Current.Alerts.Firing)
	require.Equal(t, 1, w13.Total.Previous.Alerts.Firing, "and in W12, the previous week")
	require.Equal(t, 1, w13.Total.Current.Alerts.Resolution.Samples, "resolved in W13")
	require.Zero(t, w13.Total.Previous.Alerts.Resolution.Samples)
	require.Equal(t, 1, w13.Total.Previous.Alerts.Open, "still firing at the end of W12")
	require.Equal(t, report.Seconds(20*time.Minute), w13.Services[0].Top[0].FiringTime, "clipped to W13")
	// In UTC the same alert lies wholly in W12.
	utc, err := report.Weekly(t.Context(), s, report.Options{Range: report.ISOWeek(2026, 13, time.UTC)})
	require.NoError(t, err)
	require.Zero(t, utc.Total.Current.Alerts.Firing)
	require.Equal(t, 1, utc.Total.Previous.Alerts.Firing)
}

func TestISOWeeks(t *testing.T) {
	w13 := report.ISOWeek(2026, 13, berlin)
	require.Equal(t, "2026-03-23T00:00:00+01:00", w13.From.Format(time.RFC3339))
	require.Equal(t, "2026-03-30T00:00:00+02:00", w13.To.Format(time.RFC3339))
	require.Equal(t, 167*time.Hour, w13.Duration(), "clocks go forward on 2026-03-29")
	require.Equal(t, 169*time.Hour, report.ISOWeek(2026, 43, berlin).Duration(), "and back on 2026-10-25")
	require.Equal(t, "2026-W12", w13.Previous().Week)
	require.Equal(t, 168*time.Hour, w13.Previous().Duration())
	w1 := report.ISOWeek(2026, 1, time.UTC)
	require.Equal(t, time.Date(2025, 12, 29, 0, 0, 0, 0, time.UTC), w1.From, "2026-W01 starts in 2025")
	require.Equal(t, "2025-W52", w1.Previous().Week)
	require.Equal(t, 53, report.WeeksIn(2026))
	require.Equal(t, 52, report.WeeksIn(2025))
	w53, err := report.ParseWeek("2026-W53", time.UTC)
	require.NoError(t, err)
	require.Equal(t, time.Date(2026, 12, 28, 0, 0, 0, 0, time.UTC), w53.From)
	require.Equal(t, "2027-W01", report.WeekOf(w53.To, time.UTC).Week)
	_, err = report.ParseWeek("2025-W53", time.UTC)
	require.EqualError(t, err, `"2025-W53": ISO year 2025 has weeks 01 to 52`)
	_, err = report.ParseWeek("2026-48", time.UTC)
	require.EqualError(t, err, `"2026-48" is not an ISO week such as 2026-W48`)
	require.Equal(t, "2026-W12", report.LastWeek(time.Date(2026, 3, 23, 0, 30, 0, 0, berlin), berlin).Week)
	ny := report.ISOWeek(2026, 13, mustLoad("America/New_York"))
	require.Equal(t, "2026-03-23T00:00:00-04:00", ny.From.Format(time.RFC3339))
}

// steadywatch's own abort alert says an experiment breached its SLO and
// was stopped: that is the experiment's outcome, not an outage nobody
// planned, so it opens no organic SEV, whatever its severity; it still
// counts as an alert (the demo's report listed it as an organic SEV1).
func TestTheAbortAlertOpensNoOrganicSEV(t *testing.T) {
	start := time.Date(2026, 3, 24, 10, 0, 0, 0, berlin)
	fire := func(fp, name string) alert.Alert {
		return alert.Alert{
			Fingerprint: fp, Status: alert.Resolved, StartsAt: start, EndsAt: start.Add(10 * time.Minute),
			Labels:   map[string]string{"alertname": name, "severity": "critical", "hypothesis": "web-survives-a-pod-kill"},
			Receiver: "steadywatch", Source: alert.SourceWebhook,
		}
	}
	fx := fixture{alerts: []alert.Alert{fire("f1", contract.AbortAlertName)}}
	s := fill(t, "sqlite://"+filepath.Join(t.TempDir(), "sw.db"), fx)
	r, err := report.Weekly(t.Context(), s, report.Options{Range: report.ISOWeek(2026, 13, berlin)})
	require.NoError(t, err)
	require.Equal(t, 1, r.Total.Current.Alerts.Firing, "the abort alert is an alert")
	require.Zero(t, r.Total.Current.SEVs.Organic, "and no organic SEV")

	// Another critical alert with the same labels is one.
	fx = fixture{alerts: []alert.Alert{fire("f2", "WebDown")}}
	s = fill(t, "sqlite://"+filepath.Join(t.TempDir(), "sw.db"), fx)
	r, err = report.Weekly(t.Context(), s, report.Options{Range: report.ISOWeek(2026, 13, berlin)})
	require.NoError(t, err)
	require.Equal(t, 1, r.Total.Current.SEVs.Organic)
}
