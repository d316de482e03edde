package report_test

import (
	"fmt"
	"hash/fnv"
	"maps"
	"math/rand/v2"
	"slices"
	"strings"
	"time"

	"github.com/steadywatch/steadywatch/alert"
	"github.com/steadywatch/steadywatch/chaos"
)

// fixture is a month of alerts and chaos incidents, and their detections.
type fixture struct {
	alerts    []alert.Alert
	incidents []chaos.Incident
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
// severities, some with no service) and chaos incidents (detected,
// undetected, open, inferred, one autoscaling) from Monday 2026-03-02
// (2026-W10) on, through the DST change of 2026-03-29 in Berlin.
func generate(seed uint64) fixture {
	rng := rand.New(rand.NewPCG(seed, seed^0x5eed))
	base := time.Date(2026, 3, 2, 0, 0, 0, 0, berlin).UTC()
	month := 35 * 24 * time.Hour
	var fx fixture
	seen := map[string]bool{}
	add := func(a alert.Alert) {
		key := a.Fingerprint + a.StartsAt.String()
		if seen[key] {
			return
		}
		seen[key] = true
		fx.alerts = append(fx.alerts, a)
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
	for i := range 16 {
		svc := services[rng.IntN(3)]
		start := base.Add(time.Duration(rng.Int64N(int64(month)))).Truncate(time.Second)
		inc := chaos.Incident{
			ID: fmt.Sprintf("inc-%02d", i), Kind: kinds[rng.IntN(len(kinds))],
			Subject: chaos.Subject{Namespace: "shop", Service: svc, Group: chaos.Experimental},
			Object:  chaos.Ref{Kind: "Deployment", Namespace: "shop", Name: svc},
			Start:   start, End: start.Add(time.Duration(2+rng.IntN(60)) * time.Minute), Events: 1,
		}
		switch i {
		case 0:
			inc.End = time.Time{} // still open
		case 1:
			inc.Missed = true
		case 2:
			inc.Kind = chaos.HPAScaledUp // no failure, no SEV
		}
		if rng.IntN(3) > 0 {
			labels := map[string]string{"alertname": "ServiceDown", "service": svc, "severity": severities[rng.IntN(3)*2]}
			a := newAlert(labels, start.Add(time.Duration(1+rng.IntN(4))*time.Minute), 3*time.Minute, false, false)
			add(a)
			inc.Detection = chaos.Detection{At: a.StartsAt, Alert: a.Name(), Fingerprint: a.Fingerprint}
		} else {
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
