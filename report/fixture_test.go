package report_test

import (
	"fmt"
	"hash/fnv"
	"maps"
	"math/rand/v2"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/steadywatch/steadywatch/alert"
	"github.com/steadywatch/steadywatch/chaos"
	"github.com/steadywatch/steadywatch/report"
)

// fixture is a month of alerts and chaos incidents, and their detections.
// fill saves each alert Deliveries times (at least once) as given: webhook
// notifications, or pulls for a silenced one (source api, no receiver).
type fixture struct {
	alerts    []alert.Alert
	incidents []chaos.Incident
	// pulls are, by alertKey, the Alertmanager API pulls that saved a
	// notified alert besides its notifications (see pullOf): one before its
	// first notification if first, and after its last notification after.
	pulls map[string]pulls
}

type pulls struct {
	first bool
	after int
}

func alertKey(a *alert.Alert) string { return a.Fingerprint + "@" + a.StartsAt.String() }

// pullOf is what alertpull saves of a listed alert: firing, with no
// receiver or group key, from the API.
func pullOf(a alert.Alert) alert.Alert {
	a.Status, a.EndsAt = alert.Firing, time.Time{}
	a.Receiver, a.GroupKey, a.Source = "", "", alert.SourceAPI
	return a
}

// notifications is how many webhook notifications of a fill saves: each
// save of a webhook alert as given; pulls never count.
func notifications(a *alert.Alert) int {
	if a.Source != alert.SourceWebhook {
		return 0
	}
	return max(1, a.Deliveries)
}

var berlin = mustLoad("Europe/Berlin")

func mustLoad(name string) *time.Location {
	loc, err := time.LoadLocation(name)
	if err != nil {
		panic(err)
	}
	return loc
}

func fingerprint(labels map[string]string) string {
	h := fnv.New64a()
	for _, k := range slices.Sorted(maps.Keys(labels)) {
		fmt.Fprintf(h, "%s=%s;", k, labels[k])
	}
	return fmt.Sprintf("%016x", h.Sum64())
}

// generate writes, from seed, a month of alerts (short, long, still firing,
// flapping, silenced, across week boundaries, in several services and
// severities, some with no service, some delivered more than once, some
// pulled from Alertmanager's API besides their notifications) and
// chaos incidents (detected in time, late or not at all, undecided, open,
// inferred, one autoscaling; detected by several alert rules) from Monday
// 2026-03-02 (2026-W10) on, through the DST change of 2026-03-29 in Berlin.
func generate(seed uint64) fixture {
	rng := rand.New(rand.NewPCG(seed, seed^0x5eed))
	// more draws what the alert quality figures added, so that rng draws
	// what it drew before they were.
	more := rand.New(rand.NewPCG(seed^0x9a11, seed))
	// pull draws the API pulls of notified alerts, apart for the same
	// reason.
	pull := rand.New(rand.NewPCG(seed^0x9011, seed^1))
	base := time.Date(2026, 3, 2, 0, 0, 0, 0, berlin).UTC()
	month := 35 * 24 * time.Hour
	fx := fixture{pulls: map[string]pulls{}}
	seen := map[string]bool{}
	add := func(a alert.Alert) {
		key := alertKey(&a)
		if seen[key] {
			return
		}
		seen[key] = true
		fx.alerts = append(fx.alerts, a)
		if a.Source == alert.SourceWebhook {
			// With alerts.pull on, most notified alerts are pulled too:
			// some before their notification (group_wait), some again
			// after (annotations that changed, a restart, the
			// resolution).
			if p := (pulls{first: pull.IntN(4) == 0, after: max(0, pull.IntN(5)-1)}); p.first || p.after > 0 {
				fx.pulls[key] = p
			}
		}
	}
	newAlert := func(labels map[string]string, start time.Time, d time.Duration, firing, silenced bool) alert.Alert {
		a := alert.Alert{
			Fingerprint: fingerprint(labels), Status: alert.Resolved, Labels: labels,
			StartsAt: start, EndsAt: start.Add(d), ReceivedAt: start.Add(30 * time.Second),
			Receiver: "steadywatch", Source: alert.SourceWebhook,
		}
		if firing {
			a.Status, a.EndsAt = alert.Firing, time.Time{}
		}
		if silenced {
			a.Receiver, a.Source = "", alert.SourceAPI
		}
		// Notified once, or repeated up to three times more (pulled, if
		// silenced); fill saves it this many times.
		a.Deliveries = 1 + max(0, more.IntN(6)-2)
		return a
	}
	services := []string{"cart", "checkout", "payments", "search", ""}
	names := []string{"HighErrorRate", "HighLatency", "PodCrashLooping", "DiskFull"}
	severities := []string{"critical", "error", "warning", "warning", "info", ""}
	for range 500 {
		labels := map[string]string{
			"alertname": names[rng.IntN(len(names))],
			"instance":  fmt.Sprintf("10.0.0.%d:8080", rng.IntN(3)),
		}
		if s := services[rng.IntN(len(services))]; s != "" {
			labels["service"] = s
		}
		if s := severities[rng.IntN(len(severities))]; s != "" {
			labels["severity"] = s
		}
		start := base.Add(time.Duration(rng.Int64N(int64(month)))).Truncate(time.Second)
		var d time.Duration
		firing := false
		switch p := rng.IntN(10); {
		case p < 4:
			d = time.Duration(30+rng.IntN(330)) * time.Second
		case p < 8:
			d = time.Duration(10+rng.IntN(350)) * time.Minute
		case p < 9:
			d = time.Duration(24+rng.IntN(96)) * time.Hour
		default:
			firing = true
		}
		if firing && labels["severity"] != "" && start.Before(time.Date(2026, 3, 30, 0, 0, 0, 0, berlin)) {
			// A SEV alert still firing keeps its service's organic SEV
			// open and takes in every later one: only the last weeks
			// have them, so that the first have organic SEVs that end.
			labels["severity"] = "info"
		}
		add(newAlert(labels, start, d, firing, rng.IntN(10) == 0))
	}
	// Flapping: one alert firing five times on a Tuesday of 2026-W12.
	flap := map[string]string{"alertname": "HighLatency", "service": "cart", "severity": "warning", "instance": "10.0.0.9:8080"}
	for i := range 5 {
		add(newAlert(maps.Clone(flap), time.Date(2026, 3, 17, 10, 0, 0, 0, berlin).Add(time.Duration(i)*20*time.Minute), 2*time.Minute, false, false))
	}
	// Across the Berlin boundary of 2026-W12 and W13.
	add(newAlert(map[string]string{"alertname": "QueueBacklog", "service": "search", "severity": "critical"},
		time.Date(2026, 3, 22, 23, 50, 0, 0, berlin), 30*time.Minute, false, false))
	// Resolved exactly at the Berlin start of 2026-W13: not firing in it,
	// but resolved in it.
	add(newAlert(map[string]string{"alertname": "QueueBacklog", "service": "search", "severity": "warning"},
		time.Date(2026, 3, 22, 23, 0, 0, 0, berlin), time.Hour, false, false))

	// Chaos incidents, some detected by an alert of their service.
	kinds := []chaos.Kind{chaos.PodDeleted, chaos.WorkloadDegraded, chaos.ContainerRestarted}
	rules := []string{"ServiceDown", "ServiceDown", "HighErrorRate", "PodCrashLooping"}
	// The first 16 draw from rng as before; the rest from more, the last
	// 5 in 2026-W12 (Berlin), so that it has each kind of detection.
	w12 := time.Date(2026, 3, 16, 0, 0, 0, 0, berlin).UTC()
	for i := range 40 {
		r := rng
		if i >= 16 {
			r = more
		}
		svc := services[r.IntN(3)]
		start := base.Add(time.Duration(r.Int64N(int64(month)))).Truncate(time.Second)
		if i >= 35 {
			start = w12.Add(time.Duration(r.Int64N(int64(6 * 24 * time.Hour)))).Truncate(time.Second)
		}
		inc := chaos.Incident{
			ID: fmt.Sprintf("inc-%02d", i), Kind: kinds[r.IntN(len(kinds))],
			Subject: chaos.Subject{Namespace: "shop", Service: svc, Group: chaos.Experimental},
			Object:  chaos.Ref{Kind: "Deployment", Namespace: "shop", Name: svc},
			Start:   start, End: start.Add(time.Duration(2+r.IntN(60)) * time.Minute), Events: 1,
		}
		switch i {
		case 0:
			inc.End = time.Time{} // still open
		case 1:
			inc.Missed = true
		case 2:
			inc.Kind = chaos.HPAScaledUp // no failure, no SEV
		case 20, 36:
			inc.Missed = true
		}
		switch det := r.IntN(3); {
		case i == 35 || i == 36:
			inc.Detection = chaos.Detection{Undetected: true}
		case i == 39:
			// Undecided, in 2026-W12.
		case i == 37 || i == 38:
			// Detected a second past the bound, late; and exactly at it,
			// in time.
			labels := map[string]string{"alertname": rules[(i-37)*2], "service": svc, "severity": "critical"}
			a := newAlert(labels, start.Add(5*time.Minute+time.Duration(38-i)*time.Second), 3*time.Minute, false, false)
			add(a)
			inc.Detection = chaos.Detection{At: a.StartsAt, Alert: a.Name(), Fingerprint: a.Fingerprint}
		case det > 0:
			name := "ServiceDown"
			if i >= 16 {
				name = rules[more.IntN(len(rules))]
			}
			labels := map[string]string{"alertname": name, "service": svc, "severity": severities[r.IntN(3)*2]}
			delay := time.Duration(1+r.IntN(4)) * time.Minute
			if i >= 16 && more.IntN(3) == 0 {
				delay += 4 * time.Minute // 5m to 8m: in time at 5m, late after
			}
			a := newAlert(labels, start.Add(delay), 3*time.Minute, false, false)
			add(a)
			inc.Detection = chaos.Detection{At: a.StartsAt, Alert: a.Name(), Fingerprint: a.Fingerprint}
		case i >= 16 && more.IntN(4) == 0:
			// Undecided: the detector has not judged it.
		default:
			inc.Detection = chaos.Detection{Undetected: true}
		}
		fx.incidents = append(fx.incidents, inc)
	}
	slices.SortFunc(fx.alerts, func(a, b alert.Alert) int {
		if c := a.StartsAt.Compare(b.StartsAt); c != 0 {
			return c
		}
		return strings.Compare(a.Fingerprint, b.Fingerprint)
	})
	return fx
}

// incidentsRead are the fixture's incidents the report reads: those that
// started in [span, until).
func incidentsRead(fx fixture, span, until time.Time) []chaos.Incident {
	var out []chaos.Incident
	for _, inc := range fx.incidents {
		if !inc.Start.Before(span) && inc.Start.Before(until) {
			out = append(out, inc)
		}
	}
	return out
}

func failureService(inc *chaos.Incident) string {
	if inc.Subject.Service == "" {
		return report.NoService
	}
	return inc.Subject.Service
}

func ratio(n, of int) *float64 {
	if of == 0 {
		return nil
	}
	v := float64(n) / float64(of)
	return &v
}

// expectCoverage computes, by brute force over the fixture, how each
// service's chaos failures that started in rg were detected within bound,
// and the ones nothing detected, oldest first. A fault the detector has
// not judged (neither a detection nor Undetected) is undecided, and like
// an inferred start left out of the coverage's denominator.
func expectCoverage(fx fixture, rg report.Range, span, until time.Time, bound time.Duration) (map[string]report.Coverage, map[string][]report.UndetectedFault) {
	cov := map[string]report.Coverage{}
	deaf := map[string][]report.UndetectedFault{}
	incs := incidentsRead(fx, span, until)
	slices.SortStableFunc(incs, func(a, b chaos.Incident) int { return a.Start.Compare(b.Start) })
	for i := range incs {
		inc := &incs[i]
		if inc.Kind == chaos.HPAScaledUp || inc.Kind == chaos.HPAScaledDown || inc.Start.Before(rg.From) || !inc.Start.Before(rg.To) {
			continue
		}
		svc := failureService(inc)
		c := cov[svc]
		c.Faults++
		caught := !inc.Detection.At.IsZero()
		switch {
		case inc.Missed:
			c.StartInferred++
		case !caught && !inc.Detection.Undetected:
			c.Undecided++
		case !caught:
			c.NotDetected++
		case inc.Detection.At.Sub(inc.Start) > bound:
			c.Late++
		default:
			c.WithinBound++
		}
		c.Share = ratio(c.WithinBound, c.Faults-c.StartInferred-c.Undecided)
		cov[svc] = c
		if !caught {
			deaf[svc] = append(deaf[svc], report.UndetectedFault{
				ID: inc.ID, Fault: string(inc.Kind), Service: svc, Namespace: inc.Subject.Namespace, Group: string(inc.Subject.Group),
				Object: fmt.Sprintf("%s %s/%s", inc.Object.Kind, inc.Object.Namespace, inc.Object.Name),
				Start:  inc.Start, StartInferred: inc.Missed, Undecided: !inc.Detection.Undetected,
			})
		}
	}
	return cov, deaf
}

// expectRules computes, by brute force over the fixture, the alert rules'
// figures of rg, whose previous range is prev, most firings first.
func expectRules(fx fixture, rg, prev report.Range, span, until time.Time) []report.Rule {
	in := func(r report.Range, t time.Time) bool { return !t.Before(r.From) && t.Before(r.To) }
	incs := incidentsRead(fx, span, until)
	rules := map[string]*report.Rule{}
	get := func(name string) *report.Rule {
		if rules[name] == nil {
			rules[name] = &report.Rule{Alert: name}
		}
		return rules[name]
	}
	for i := range fx.alerts {
		a := &fx.alerts[i]
		if a.StartsAt.Before(span) || !a.StartsAt.Before(until) || a.Source == alert.SourceAPI && a.Receiver == "" {
			continue
		}
		resolved := a.Status == alert.Resolved
		if !a.StartsAt.Before(rg.To) || resolved && !a.EndsAt.After(rg.From) && a.StartsAt.Before(rg.From) {
			continue
		}
		r := get(a.Labels["alertname"])
		r.Firings++
		r.Notifications += notifications(a)
		for _, inc := range incs {
			if inc.Detection.Fingerprint == a.Fingerprint && (inc.Detection.At.Equal(a.StartsAt) || inc.Detection.At.Equal(a.ReceivedAt)) {
				r.Joined++
				break
			}
		}
	}
	kinds := map[string]map[chaos.Kind]bool{}
	ttd := map[string][]time.Duration{}
	for _, inc := range incs {
		if inc.Kind == chaos.HPAScaledUp || inc.Kind == chaos.HPAScaledDown || inc.Detection.At.IsZero() {
			continue
		}
		name := inc.Detection.Alert
		if in(rg, inc.Start) || in(prev, inc.Start) {
			if kinds[name] == nil {
				kinds[name] = map[chaos.Kind]bool{}
			}
			kinds[name][inc.Kind] = true
			get(name)
		}
		if in(rg, inc.Start) {
			get(name).Detected++
			if !inc.Missed {
				ttd[name] = append(ttd[name], inc.Detection.At.Sub(inc.Start))
			}
		}
	}
	var out []report.Rule
	for name, r := range rules {
		r.Precision = ratio(r.Joined, r.Firings)
		r.Kinds = []string{}
		for _, k := range []chaos.Kind{chaos.ContainerRestarted, chaos.NodeNotReady, chaos.PodDeleted, chaos.WorkloadDegraded} {
			if !kinds[name][k] {
				continue
			}
			r.Kinds = append(r.Kinds, string(k))
			for _, inc := range incs {
				if inc.Kind == k && in(rg, inc.Start) {
					r.Faults++
				}
			}
		}
		r.Recall = ratio(r.Detected, r.Faults)
		r.TimeToDetect = dist(ttd[name])
		out = append(out, *r)
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Firings != out[j].Firings {
			return out[i].Firings > out[j].Firings
		}
		return out[i].Alert < out[j].Alert
	})
	if len(out) > 20 {
		out = out[:20]
	}
	if out == nil {
		out = []report.Rule{}
	}
	return out
}
