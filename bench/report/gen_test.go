package reportbench

import (
	"cmp"
	"context"
	"fmt"
	"hash/fnv"
	"maps"
	"math/rand/v2"
	"slices"
	"strings"
	"time"

	"github.com/steadywatch/steadywatch/alert"
	"github.com/steadywatch/steadywatch/chaos"
	"github.com/steadywatch/steadywatch/store"
)

// genVersion names what generate writes: change it with anything that
// changes the stores it builds, so that cached SQLite files are rebuilt.
const genVersion = 1

// genBase is the Monday 00:00 UTC of 2026-W02, the first of the
// generator's genWeeks weeks.
var genBase = time.Date(2026, 1, 5, 0, 0, 0, 0, time.UTC)

const genWeeks = 12

// genEnd is the end of the generated weeks, the "now" of the reports.
var genEnd = genBase.Add(genWeeks * 7 * 24 * time.Hour)

// spec is the size of a generated store: alerts and incidents over
// weeks weeks from week first of the genWeeks (0 is genBase's); zero
// weeks is all genWeeks.
type spec struct {
	alerts, incidents int
	first, weeks      int
	seed              uint64
}

func (s spec) String() string {
	weeks := ""
	if s.weeks != 0 {
		weeks = fmt.Sprintf("-w%d+%d", s.first, s.weeks)
	}
	return fmt.Sprintf("v%d-a%d-i%d%s-s%d", genVersion, s.alerts, s.incidents, weeks, s.seed)
}

func (s spec) span() int { return cmp.Or(s.weeks, genWeeks) }

// start is the start of the store's first week, total its length.
func (s spec) start() time.Time { return genBase.Add(time.Duration(s.first) * 7 * 24 * time.Hour) }

func (s spec) total() time.Duration { return time.Duration(s.span()) * 7 * 24 * time.Hour }

var services = []string{
	"cart", "checkout", "payments", "search", "catalog", "auth", "gateway", "orders",
	"inventory", "shipping", "recommendations", "notifications", "billing", "accounts",
	"profile", "reviews", "ads", "email", "frontend", "currency",
}

// serviceName is service i of 40: the 20 above and their workers.
func serviceName(i int) string {
	if i < len(services) {
		return services[i]
	}
	return services[i-len(services)] + "-worker"
}

const serviceCount = 2 * 20

// alertNames are weighted by repetition: the usual suspects fire most.
var alertNames = []string{
	"HighErrorRate", "HighErrorRate", "HighErrorRate", "HighLatency", "HighLatency", "HighLatency",
	"KubePodCrashLooping", "KubePodCrashLooping", "KubePodNotReady", "KubeContainerWaiting",
	"KubeDeploymentReplicasMismatch", "KubeHpaMaxedOut", "CPUThrottlingHigh", "CPUThrottlingHigh",
	"KubeMemoryOvercommit", "ContainerOOMKilled", "TargetDown", "TargetDown", "SLOBurnRateFast",
	"SLOBurnRateSlow", "QueueBacklog", "DiskFull", "CertificateExpiring", "ProbeFailed",
}

var severities = []string{
	"critical", "error", "error", "warning", "warning", "warning", "warning", "warning", "info", "info",
}

var clusters = []string{"prod-eu-1", "prod-us-1"}

// fingerprint hashes labels as Alertmanager's does in spirit: FNV-1a over
// the sorted pairs.
func fingerprint(labels map[string]string) string {
	h := fnv.New64a()
	for _, k := range slices.Sorted(maps.Keys(labels)) {
		fmt.Fprintf(h, "%s\xff%s\xff", k, labels[k])
	}
	return fmt.Sprintf("%016x", h.Sum64())
}

// series is one alert rule's instance: its labels, and so its fingerprint.
type series struct {
	labels, annotations map[string]string
	fingerprint         string
	receiver, groupKey  string
	generatorURL        string
}

func newSeries(labels map[string]string, rng *rand.Rand) *series {
	svc, name := labels["service"], labels["alertname"]
	return &series{
		labels: labels,
		annotations: map[string]string{
			"summary": fmt.Sprintf("%s on %s/%s", name, labels["namespace"], labels["pod"]),
			"description": fmt.Sprintf("%s has been above its threshold (%.2f) for more than 5 minutes on %s "+
				"in cluster %s; see the dashboard for the error budget left this week.",
				name, rng.Float64(), labels["instance"], labels["cluster"]),
			"runbook_url": "https://runbooks.example.com/" + strings.ToLower(name),
			"dashboard":   "https://grafana.example.com/d/" + svc + "/overview",
		},
		fingerprint:  fingerprint(labels),
		receiver:     "team-" + labels["team"],
		groupKey:     fmt.Sprintf(`{}/{severity=%q}:{alertname=%q, service=%q}`, labels["severity"], name, svc),
		generatorURL: "http://prometheus-k8s-0.monitoring:9090/graph?g0.expr=job%3A" + name + "%3Aratio5m%7Bservice%3D%22" + svc + "%22%7D+%3E+0.01&g0.tab=1",
	}
}

// regularSeries is series i of the store: a deterministic function of the
// seed and i, so that it is rebuilt rather than kept.
func regularSeries(seed, i uint64) *series {
	rng := rand.New(rand.NewPCG(seed, 2*i))
	svc := rng.IntN(serviceCount)
	name := serviceName(svc)
	team := services[svc%len(services)]
	hash := rng.Uint64()
	labels := map[string]string{
		"alertname":  alertNames[rng.IntN(len(alertNames))],
		"service":    name,
		"namespace":  "shop-" + team,
		"severity":   severities[rng.IntN(len(severities))],
		"job":        name,
		"endpoint":   "http-metrics",
		"container":  name,
		"cluster":    clusters[rng.IntN(len(clusters))],
		"prometheus": "monitoring/k8s",
		"team":       team,
		"pod":        fmt.Sprintf("%s-%08x-%05x", name, hash>>32, hash&0xfffff),
		"instance":   fmt.Sprintf("10.%d.%d.%d:8080", rng.IntN(256), rng.IntN(256), rng.IntN(256)),
	}
	return newSeries(labels, rng)
}

// detectingSeries is the alert that detected incident inc.
func detectingSeries(inc *chaos.Incident) *series {
	rng := rand.New(rand.NewPCG(uint64(len(inc.ID)), 0))
	labels := map[string]string{
		"alertname":  "KubePodNotReady",
		"service":    inc.Subject.Service,
		"namespace":  inc.Subject.Namespace,
		"severity":   "critical",
		"job":        "kube-state-metrics",
		"cluster":    clusters[0],
		"prometheus": "monitoring/k8s",
		"pod":        inc.Object.Name + "-" + inc.ID,
	}
	return newSeries(labels, rng)
}

// firing is one alert of the store before its labels are filled in.
type firing struct {
	// series indexes the regular series, unless inc, 1-based, names the
	// incident the alert detected.
	series   uint64
	inc      int
	silenced bool
	// still is an alert still firing at the end.
	still      bool
	start, dur time.Duration // since genBase
}

// generated is a store's contents, compact: alerts are filled in from
// their series as they are written.
type generated struct {
	spec      spec
	firings   []firing
	incidents []chaos.Incident
}

// generate builds spec's store contents: spec.incidents chaos incidents
// (two thirds detected by an alert of their own) and spec.alerts alerts in
// all, the rest from series of four kinds: ordinary (a few firings a week,
// 30 % resolving by themselves in under 5 minutes), rare, flapping (bursts
// of short firings) and long-running (days; some still firing at the end);
// 5 % silenced (known only from the API).
func generate(sp spec) *generated {
	g := &generated{spec: sp}
	rng := rand.New(rand.NewPCG(sp.seed, 0x5eed))
	total := sp.total()
	kinds := []chaos.Kind{chaos.PodDeleted, chaos.PodDeleted, chaos.WorkloadDegraded, chaos.ContainerRestarted, chaos.NodeNotReady}
	for i := range sp.incidents {
		svc := serviceName(rng.IntN(serviceCount))
		start := rng.Int64N(int64(total - time.Hour))
		inc := chaos.Incident{
			ID: fmt.Sprintf("inc-%06d", i), Kind: kinds[rng.IntN(len(kinds))],
			Subject: chaos.Subject{Namespace: "shop-" + strings.TrimSuffix(svc, "-worker"), Service: svc, Group: chaos.Experimental},
			Object:  chaos.Ref{Kind: "Deployment", Namespace: "shop", Name: svc},
			Start:   sp.start().Add(time.Duration(start)).Truncate(time.Second),
			Events:  1 + rng.IntN(3),
		}
		inc.End = inc.Start.Add(time.Duration(60+rng.IntN(1800)) * time.Second)
		switch p := rng.IntN(100); {
		case p < 5:
			inc.Kind = chaos.HPAScaledUp
		case p < 7:
			inc.Missed = true
		case p == 7 && i%4 == 0:
			inc.End = time.Time{}
		}
		if rng.IntN(3) > 0 && len(g.firings) < sp.alerts {
			at := inc.Start.Add(time.Duration(30+rng.IntN(180)) * time.Second)
			g.firings = append(g.firings, firing{
				inc: i + 1, start: at.Sub(genBase), dur: inc.End.Sub(at) + time.Minute,
				still: inc.End.IsZero(),
			})
			s := detectingSeries(&inc)
			inc.Detection = chaos.Detection{At: at, Alert: s.labels["alertname"], Fingerprint: s.fingerprint}
		} else {
			inc.Detection = chaos.Detection{Undetected: true}
		}
		g.incidents = append(g.incidents, inc)
	}
	for i := uint64(0); len(g.firings) < sp.alerts; i++ {
		g.firings = seriesFirings(g.firings, sp, i, total)
	}
	g.firings = g.firings[:sp.alerts]
	slices.SortFunc(g.firings, func(x, y firing) int { return cmp.Compare(x.start, y.start) })
	return g
}

// seriesFirings appends the firings of regular series i.
func seriesFirings(out []firing, sp spec, i uint64, total time.Duration) []firing {
	rng := rand.New(rand.NewPCG(sp.seed, 2*i+1))
	add := func(start, dur time.Duration, still bool) {
		out = append(out, firing{
			series: i, start: sp.start().Sub(genBase) + start.Truncate(time.Second), dur: dur.Truncate(time.Second),
			still: still, silenced: rng.IntN(20) == 0,
		})
	}
	switch p := rng.IntN(100); {
	case p < 4: // flapping: bursts of 5 to 20 short firings
		bursts := 1 + rng.IntN(8)
		slot := total / time.Duration(bursts)
		for b := range bursts {
			at := time.Duration(b)*slot + time.Duration(rng.Int64N(int64(slot/2)))
			for range 5 + rng.IntN(16) {
				d := time.Duration(60+rng.IntN(180)) * time.Second
				add(at, d, false)
				at += d + time.Duration(300+rng.IntN(600))*time.Second
			}
		}
	case p < 6: // long-running: days, the last perhaps still firing
		n := 1 + rng.IntN(3)
		slot := total / time.Duration(n)
		for k := range n {
			d := time.Duration(24+rng.IntN(96)) * time.Hour
			at := time.Duration(k)*slot + time.Duration(rng.Int64N(int64(slot-d)))
			add(at, d, k == n-1 && rng.IntN(3) == 0)
		}
	default: // ordinary or rare
		n := 1 + rng.IntN(3)
		if p < 73 {
			n = 2 + rng.IntN(18)
		}
		slot := total / time.Duration(n)
		for k := range n {
			var d time.Duration
			if rng.IntN(10) < 3 {
				d = time.Duration(30+rng.IntN(270)) * time.Second
			} else {
				d = time.Duration(5+rng.IntN(355)) * time.Minute
			}
			at := time.Duration(k)*slot + time.Duration(rng.Int64N(int64(slot-d)))
			add(at, d, false)
		}
	}
	return out
}

// alert fills in f.
func (g *generated) alert(f firing, regular func(uint64) *series) alert.Alert {
	var s *series
	if f.inc > 0 {
		s = detectingSeries(&g.incidents[f.inc-1])
	} else {
		s = regular(f.series)
	}
	start := genBase.Add(f.start)
	a := alert.Alert{
		Fingerprint: s.fingerprint, Status: alert.Resolved, Labels: s.labels, Annotations: s.annotations,
		StartsAt: start, EndsAt: start.Add(f.dur), GeneratorURL: s.generatorURL,
		Receiver: s.receiver, GroupKey: s.groupKey, ReceivedAt: start.Add(15 * time.Second), Source: alert.SourceWebhook,
	}
	if f.inc > 0 {
		a.ReceivedAt = start
	}
	if f.still {
		a.Status, a.EndsAt = alert.Firing, time.Time{}
	}
	if f.silenced {
		a.Receiver, a.GroupKey, a.Source = "", "", alert.SourceAPI
	}
	return a
}

// saveBatch is how many alerts one SaveAlerts call writes while filling.
const saveBatch = 2000

// fill writes g into s: the incidents and their detections, then the
// alerts in start order (as they would have arrived), saveBatch at a time.
func (g *generated) fill(ctx context.Context, s store.Store) error {
	for i := range g.incidents {
		inc := g.incidents[i]
		if err := s.Save(ctx, inc); err != nil {
			return err
		}
		if _, err := s.SetDetection(ctx, inc.ID, inc.Detection); err != nil {
			return err
		}
	}
	regular := func(i uint64) *series { return regularSeries(g.spec.seed, i) }
	batch := make([]alert.Alert, 0, saveBatch)
	for part := range slices.Chunk(g.firings, saveBatch) {
		batch = batch[:0]
		for _, f := range part {
			batch = append(batch, g.alert(f, regular))
		}
		n, err := s.SaveAlerts(ctx, batch)
		if err != nil {
			return err
		}
		if n != len(batch) {
			return fmt.Errorf("saved %d new alerts of %d: the generator repeated (fingerprint, startsAt)", n, len(batch))
		}
	}
	return nil
}
