package verdict_test

import (
	"fmt"
	"math"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/steadywatch/steadywatch/alert"
	"github.com/steadywatch/steadywatch/chaos"
	"github.com/steadywatch/steadywatch/tracker"
	"github.com/steadywatch/steadywatch/verdict"
)

var (
	shopExperimental = chaos.Subject{Namespace: "shop", Service: "api", Group: chaos.Experimental}
	apiDeployment    = chaos.Ref{Kind: "Deployment", Namespace: "shop", Name: "api"}
	apiHPA           = chaos.Ref{Kind: "HorizontalPodAutoscaler", Namespace: "shop", Name: "api"}
)

// inc is an incident of the experimental api in shop, starting start after
// base and lasting took (open if took is 0).
func inc(kind chaos.Kind, start, took time.Duration) chaos.Incident {
	i := chaos.Incident{
		ID: string(kind) + start.String(), Kind: kind, Subject: shopExperimental, Object: apiDeployment,
		Start: base.Add(start), Events: 1,
	}
	if took > 0 {
		i.End = i.Start.Add(took)
	}
	return i
}

// nodeIncident is the experimental api's share of a node's failure,
// starting start after base, lasting took, with evicted pods evicted.
func nodeIncident(start, took time.Duration, evicted int) chaos.Incident {
	i := inc(chaos.NodeNotReady, start, took)
	i.Object = chaos.Ref{Kind: "StatefulSet", Namespace: "shop", Name: "api"}
	i.Evicted, i.Events = evicted, 1+evicted
	return i
}

// eviction is the taint manager deleting a pod of the experimental api at.
func eviction(at time.Duration) chaos.Event {
	return chaos.Event{
		Kind: chaos.PodDeleted, Subject: shopExperimental, Object: chaos.Ref{Kind: "Pod", Namespace: "shop", Name: "api-0"},
		At: chaos.Timestamp{Observed: base.Add(at)}, Reason: "taint_manager",
	}
}

func scaled3(kind chaos.Kind, at time.Duration, from, to int32) chaos.Event {
	return chaos.Event{
		Kind: kind, Subject: shopExperimental, Object: apiHPA, At: chaos.Timestamp{Observed: base.Add(at)},
		FromReplicas: from, ToReplicas: to,
	}
}

func firing(name string, at time.Duration) alert.Alert {
	return alert.Alert{Fingerprint: name + at.String(), Status: alert.Firing, Labels: map[string]string{"alertname": name}, StartsAt: base.Add(at)}
}

// withLabels is a with more labels.
func withLabels(a alert.Alert, kv ...string) alert.Alert {
	for i := 0; i+1 < len(kv); i += 2 {
		a.Labels[kv[i]] = kv[i+1]
	}
	a.Fingerprint += fmt.Sprint(kv)
	return a
}

func TestJudgeRecovery(t *testing.T) {
	const hour = time.Hour
	for _, tc := range []struct {
		name      string
		recovery  string
		incidents []chaos.Incident
		events    []chaos.Event
		alerts    []alert.Alert
		noStore   bool
		at        time.Time
		// want is each expectation's name, result, observed seconds (NaN
		// for none) and a part of its reason.
		want    []verdict.Expectation
		verdict verdict.Result
	}{
		{
			name:     "incidents recovered within the MTTR pass, ignoring the control group's and HPA scaling",
			recovery: "mttr: 3m",
			incidents: []chaos.Incident{
				inc(chaos.PodDeleted, 5*time.Minute, 2*time.Minute),
				inc(chaos.NodeNotReady, 20*time.Minute, 150*time.Second),
				func() chaos.Incident {
					i := inc(chaos.PodDeleted, 6*time.Minute, 10*time.Minute)
					i.Subject.Group = chaos.Control
					return i
				}(),
				inc(chaos.HPAScaledUp, 7*time.Minute, 30*time.Minute),
			},
			at: after,
			want: []verdict.Expectation{{
				Name: "mttr", Result: verdict.Pass, Observed: 150,
				Reason: "all 2 incidents recovered within 3m0s (slowest 2m30s: node_not_ready Deployment/shop/api at 2026-03-01T12:20:00Z)",
			}},
			verdict: verdict.Pass,
		},
		{
			name:      "an incident slower than the MTTR fails",
			recovery:  "mttr: 3m",
			incidents: []chaos.Incident{inc(chaos.PodDeleted, 5*time.Minute, 2*time.Minute), inc(chaos.WorkloadDegraded, 30*time.Minute, 4*time.Minute)},
			at:        after,
			want: []verdict.Expectation{{
				Name: "mttr", Result: verdict.Fail, Observed: 240,
				Reason: "1 of 2 incidents not recovered within 3m0s: workload_degraded Deployment/shop/api at 2026-03-01T12:30:00Z took 4m0s",
			}},
			verdict: verdict.Fail,
		},
		{
			name:      "an incident open for less than the MTTR is pending",
			recovery:  "mttr: 3m",
			incidents: []chaos.Incident{inc(chaos.PodDeleted, 5*time.Minute, 0)},
			at:        base.Add(7 * time.Minute),
			want: []verdict.Expectation{{
				Name: "mttr", Result: verdict.Inconclusive, Observed: math.NaN(),
				Reason:    "1 of 1 incidents not recovered yet, within 3m0s so far: pod_deleted Deployment/shop/api at 2026-03-01T12:05:00Z open for 2m0s",
				DecidedBy: base.Add(8*time.Minute + time.Nanosecond),
			}},
			verdict: verdict.Inconclusive,
		},
		{
			name:      "an incident still within the MTTR after the window is pending, and the verdict not final",
			recovery:  "mttr: 3m",
			incidents: []chaos.Incident{inc(chaos.PodDeleted, 58*time.Minute, 0)},
			at:        winEnd.Add(30 * time.Second),
			want: []verdict.Expectation{{
				Name: "mttr", Result: verdict.Inconclusive, Observed: math.NaN(),
				Reason:    "1 of 1 incidents not recovered yet, within 3m0s so far: pod_deleted Deployment/shop/api at 2026-03-01T12:58:00Z open for 2m30s",
				DecidedBy: base.Add(61*time.Minute + time.Nanosecond),
			}},
			verdict: verdict.Inconclusive,
		},
		{
			name:      "a recovery after the window passes, and is decided once the watch's events of its time have had 2 steps to arrive",
			recovery:  "mttr: 3m",
			incidents: []chaos.Incident{inc(chaos.PodDeleted, 58*time.Minute, 150*time.Second)},
			at:        winEnd.Add(40 * time.Second),
			want: []verdict.Expectation{{
				Name: "mttr", Result: verdict.Pass, Observed: 150,
				Reason:    "all 1 incidents recovered within 3m0s",
				DecidedBy: winEnd.Add(30*time.Second + 2*step),
			}},
			verdict: verdict.Pass,
		},
		{
			name:      "a recovery after the window, 2 steps before the judgement, is decided",
			recovery:  "mttr: 3m",
			incidents: []chaos.Incident{inc(chaos.PodDeleted, 58*time.Minute, 150*time.Second)},
			at:        winEnd.Add(30*time.Second + 2*step),
			want:      []verdict.Expectation{{Name: "mttr", Result: verdict.Pass, Observed: 150, Reason: "all 1 incidents recovered within 3m0s"}},
			verdict:   verdict.Pass,
		},
		{
			name:      "an incident open past the MTTR after the window fails, finally",
			recovery:  "mttr: 3m",
			incidents: []chaos.Incident{inc(chaos.PodDeleted, 58*time.Minute, 0)},
			at:        base.Add(61*time.Minute + time.Nanosecond),
			want: []verdict.Expectation{{
				Name: "mttr", Result: verdict.Fail, Observed: 180.000000001,
				Reason: "1 of 1 incidents not recovered within 3m0s: pod_deleted Deployment/shop/api at 2026-03-01T12:58:00Z (still open) took 3m0.000000001s",
			}},
			verdict: verdict.Fail,
		},
		{
			name:      "an incident that recovers after the time of judgement counts as open then",
			recovery:  "mttr: 3m",
			incidents: []chaos.Incident{inc(chaos.PodDeleted, 5*time.Minute, 10*time.Minute)},
			at:        base.Add(9 * time.Minute),
			want: []verdict.Expectation{{
				Name: "mttr", Result: verdict.Fail, Observed: 240,
				Reason: "pod_deleted Deployment/shop/api at 2026-03-01T12:05:00Z (still open) took 4m0s",
			}},
			verdict: verdict.Fail,
		},
		{
			name:      "an incident open for longer than the MTTR fails",
			recovery:  "mttr: 3m",
			incidents: []chaos.Incident{inc(chaos.PodDeleted, 5*time.Minute, 0)},
			at:        after,
			want: []verdict.Expectation{{
				Name: "mttr", Result: verdict.Fail, Observed: (56 * time.Minute).Seconds(),
				Reason: "(still open) took 56m0s",
			}},
			verdict: verdict.Fail,
		},
		{
			name:     "no incident is inconclusive",
			recovery: "mttr: 3m",
			at:       after,
			want: []verdict.Expectation{{
				Name: "mttr", Result: verdict.Inconclusive, Observed: math.NaN(),
				Reason: "no incident of service api in namespace shop in the experimental group between 2026-03-01T12:00:00Z and 2026-03-01T13:00:00Z",
			}},
			verdict: verdict.Inconclusive,
		},
		{
			name:     "without a store, recovery is inconclusive",
			recovery: "mttr: 3m\n    replacementReady: 1m\n    hpa: {name: api, minReplicas: 4, within: 3m, baselineWithin: 10m}\n    alerts: [{name: ApiDown, within: 5m}]",
			noStore:  true,
			at:       after,
			want: []verdict.Expectation{
				{Name: "mttr", Result: verdict.Inconclusive, Observed: math.NaN(), Reason: "no store of incidents to measure it on: give steadywatch verdict --store or --data-dir (serve judges with its own)"},
				{Name: "replacement_ready", Result: verdict.Inconclusive, Observed: math.NaN(), Reason: "no store of incidents to measure it on: give steadywatch verdict --store or --data-dir (serve judges with its own)"},
				{Name: "alert/ApiDown", Result: verdict.Inconclusive, Observed: math.NaN(), Reason: "no store of alerts to measure it on: give steadywatch verdict --store or --data-dir (serve judges with its own)"},
				{Name: "hpa/api", Result: verdict.Inconclusive, Observed: math.NaN(), Reason: "no store of chaos events to measure it on: give steadywatch verdict --store or --data-dir (serve judges with its own)"},
				{Name: "hpa/api/baseline", Result: verdict.Inconclusive, Observed: math.NaN(), Reason: "no store of chaos events to measure it on: give steadywatch verdict --store or --data-dir (serve judges with its own)"},
			},
			verdict: verdict.Inconclusive,
		},
		{
			name:      "a replacement Ready in time passes; other kinds do not count",
			recovery:  "replacementReady: 1m",
			incidents: []chaos.Incident{inc(chaos.PodDeleted, 5*time.Minute, 50*time.Second), inc(chaos.WorkloadDegraded, 8*time.Minute, 5*time.Minute)},
			at:        after,
			want: []verdict.Expectation{{
				Name: "replacement_ready", Result: verdict.Pass, Observed: 50,
				Reason: "all 1 incidents recovered within 1m0s",
			}},
			verdict: verdict.Pass,
		},
		{
			name:      "a replacement Ready late fails",
			recovery:  "replacementReady: 1m",
			incidents: []chaos.Incident{inc(chaos.PodDeleted, 5*time.Minute, 70*time.Second)},
			at:        after,
			want:      []verdict.Expectation{{Name: "replacement_ready", Result: verdict.Fail, Observed: 70, Reason: "took 1m10s"}},
			verdict:   verdict.Fail,
		},
		{
			// The demo's host failure: the node's evictions join its
			// incident, and no pod_deleted incident of their own is made.
			name:      "a node's evicted pods count from their first eviction to the node incident's recovery",
			recovery:  "replacementReady: 1m",
			incidents: []chaos.Incident{nodeIncident(5*time.Minute, 80*time.Second, 2)},
			events:    []chaos.Event{eviction(5*time.Minute + 20*time.Second), eviction(5*time.Minute + 25*time.Second)},
			at:        after,
			want: []verdict.Expectation{{
				Name: "replacement_ready", Result: verdict.Pass, Observed: 60,
				Reason: "all 1 incidents recovered within 1m0s (slowest 1m0s: node_not_ready StatefulSet/shop/api at 2026-03-01T12:05:00Z, from its first eviction at 2026-03-01T12:05:20Z)",
			}},
			verdict: verdict.Pass,
		},
		{
			name:      "a node's evicted pods Ready a second after the bound fail",
			recovery:  "replacementReady: 59s",
			incidents: []chaos.Incident{nodeIncident(5*time.Minute, 80*time.Second, 2)},
			events:    []chaos.Event{eviction(5*time.Minute + 20*time.Second)},
			at:        after,
			want:      []verdict.Expectation{{Name: "replacement_ready", Result: verdict.Fail, Observed: 60, Reason: "took 1m0s"}},
			verdict:   verdict.Fail,
		},
		{
			name:      "a node incident with evictions but none on record is no evidence",
			recovery:  "replacementReady: 1m",
			incidents: []chaos.Incident{nodeIncident(5*time.Minute, 80*time.Second, 2)},
			at:        after,
			want: []verdict.Expectation{{
				Name: "replacement_ready", Result: verdict.Inconclusive, Observed: math.NaN(),
				Reason: "1 of 1 incidents have evicted pods whose eviction is not on record; when they were deleted is unknown",
			}},
			verdict: verdict.Inconclusive,
		},
		{
			name:      "a node incident without evictions has no replacement to wait for",
			recovery:  "replacementReady: 1m",
			incidents: []chaos.Incident{nodeIncident(5*time.Minute, 80*time.Second, 0)},
			at:        after,
			want: []verdict.Expectation{{
				Name: "replacement_ready", Result: verdict.Inconclusive, Observed: math.NaN(),
				Reason: "no incident of service api in namespace shop in the experimental group",
			}},
			verdict: verdict.Inconclusive,
		},
		{
			name:     "an alert starting within its time passes with the MTTD",
			recovery: "alerts: [{name: ApiDown, within: 5m}]",
			alerts:   []alert.Alert{firing("ApiDown", -10*time.Minute), firing("Other", time.Minute), firing("ApiDown", 2*time.Minute), firing("ApiDown", 3*time.Minute)},
			at:       after,
			want: []verdict.Expectation{{
				Name: "alert/ApiDown", Result: verdict.Pass, Observed: 120,
				Reason: "ApiDown started 2m0s after the chaos start (within 5m0s)",
			}},
			verdict: verdict.Pass,
		},
		{
			name:     "an alert starting too late fails",
			recovery: "alerts: [{name: ApiDown, within: 5m}]",
			alerts:   []alert.Alert{firing("ApiDown", 6*time.Minute)},
			at:       after,
			want: []verdict.Expectation{{
				Name: "alert/ApiDown", Result: verdict.Fail, Observed: math.NaN(),
				Reason: "ApiDown did not start within 5m0s of the chaos start",
			}},
			verdict: verdict.Fail,
		},
		{
			name:     "an alert's matchers pick this experiment's alerts",
			recovery: `alerts: [{name: ApiDown, matchers: ['service="api"', 'severity=~"page|critical"'], within: 5m}]`,
			alerts: []alert.Alert{
				withLabels(firing("ApiDown", time.Minute), "service", "web", "severity", "page"),
				withLabels(firing("ApiDown", 2*time.Minute), "service", "api", "severity", "ticket"),
				withLabels(firing("ApiDown", 3*time.Minute), "service", "api", "severity", "critical"),
			},
			at: after,
			want: []verdict.Expectation{{
				Name: `alert/ApiDown{service="api",severity=~"page|critical"}`, Result: verdict.Pass, Observed: 180,
				Reason: `ApiDown{service="api",severity=~"page|critical"} started 3m0s after the chaos start (within 5m0s)`,
			}},
			verdict: verdict.Pass,
		},
		{
			name:     "alerts of the name that the matchers rule out do not count, and are said",
			recovery: `alerts: [{name: ApiDown, matchers: ['service="api"'], within: 5m}]`,
			alerts:   []alert.Alert{withLabels(firing("ApiDown", time.Minute), "service", "web"), firing("ApiDown", 2*time.Minute)},
			at:       after,
			want: []verdict.Expectation{{
				Name: `alert/ApiDown{service="api"}`, Result: verdict.Fail, Observed: math.NaN(),
				Reason: `ApiDown{service="api"} did not start within 5m0s of the chaos start (2 ApiDown alerts with other labels did)`,
			}},
			verdict: verdict.Fail,
		},
		{
			name:     "a negative matcher excludes",
			recovery: `alerts: [{name: ApiDown, matchers: ['env!="staging"'], within: 5m}]`,
			alerts:   []alert.Alert{withLabels(firing("ApiDown", time.Minute), "env", "staging"), firing("ApiDown", 4*time.Minute)},
			at:       after,
			want: []verdict.Expectation{{
				Name: `alert/ApiDown{env!="staging"}`, Result: verdict.Pass, Observed: 240,
				Reason: `started 4m0s after`,
			}},
			verdict: verdict.Pass,
		},
		{
			name:     "an alert not seen yet is pending until its time and delivery have passed",
			recovery: "alerts: [{name: ApiDown, within: 5m}]",
			at:       base.Add(5*time.Minute + 30*time.Second),
			want: []verdict.Expectation{{
				Name: "alert/ApiDown", Result: verdict.Inconclusive, Observed: math.NaN(),
				Reason:    "ApiDown has not started yet; it may until 2026-03-01T12:05:00Z (and take 45s to arrive)",
				DecidedBy: base.Add(5*time.Minute + verdict.AlertDelay),
			}},
			verdict: verdict.Inconclusive,
		},
		{
			name:     "an alert not seen when its time and delivery have passed fails, decided",
			recovery: "alerts: [{name: ApiDown, within: 5m}]",
			at:       base.Add(5*time.Minute + verdict.AlertDelay),
			want: []verdict.Expectation{{
				Name: "alert/ApiDown", Result: verdict.Fail, Observed: math.NaN(),
				Reason: "ApiDown did not start within 5m0s of the chaos start",
			}},
			verdict: verdict.Fail,
		},
		{
			name:     "an HPA not up when its time has passed fails, decided, and has no baseline to return to",
			recovery: "hpa: {name: api, minReplicas: 4, within: 3m, baselineWithin: 10m}",
			at:       base.Add(3 * time.Minute),
			want: []verdict.Expectation{
				{Name: "hpa/api", Result: verdict.Fail, Observed: math.NaN(), Reason: "api did not scale up within 3m0s of the chaos start"},
				{Name: "hpa/api/baseline", Result: verdict.Inconclusive, Observed: math.NaN(), Reason: "api did not scale up: there is no baseline to return to"},
			},
			verdict: verdict.Fail,
		},
		{
			name:     "an HPA scaling up in time and back passes both",
			recovery: "hpa: {name: api, minReplicas: 4, within: 3m, baselineWithin: 10m}",
			events: []chaos.Event{
				scaled3(chaos.HPAScaledUp, time.Minute, 3, 4), scaled3(chaos.HPAScaledUp, 2*time.Minute, 4, 6),
				scaled3(chaos.HPAScaledDown, hour+2*time.Minute, 6, 4), scaled3(chaos.HPAScaledDown, hour+6*time.Minute, 4, 3),
			},
			at: base.Add(2 * hour),
			want: []verdict.Expectation{
				{Name: "hpa/api", Result: verdict.Pass, Observed: 60, Reason: "api scaled 3→4 replicas 1m0s after the chaos start (at least 4 within 3m0s)"},
				{Name: "hpa/api/baseline", Result: verdict.Pass, Observed: 360, Reason: "api was back at 3 replicas (baseline 3) 6m0s after the chaos end (within 10m0s)"},
			},
			verdict: verdict.Pass,
		},
		{
			name:     "an HPA scaling too little and staying up fails both",
			recovery: "hpa: {name: api, minReplicas: 5, within: 3m, baselineWithin: 10m}",
			events:   []chaos.Event{scaled3(chaos.HPAScaledUp, time.Minute, 3, 4), scaled3(chaos.HPAScaledUp, 4*time.Minute, 4, 6)},
			at:       base.Add(2 * hour),
			want: []verdict.Expectation{
				{Name: "hpa/api", Result: verdict.Fail, Observed: math.NaN(), Reason: "api reached only 4 replicas within 3m0s of the chaos start, fewer than 5"},
				{Name: "hpa/api/baseline", Result: verdict.Fail, Observed: math.NaN(), Reason: "api was not back at its baseline of 3 replicas 10m0s after the chaos end (at 6)"},
			},
			verdict: verdict.Fail,
		},
		{
			name:     "an HPA that did not scale fails, with no baseline to return to",
			recovery: "hpa: {name: api, minReplicas: 4, within: 3m, baselineWithin: 10m}",
			events: []chaos.Event{func() chaos.Event {
				e := scaled3(chaos.HPAScaledUp, time.Minute, 3, 9)
				e.Object.Name = "other"
				return e
			}()},
			at: base.Add(2 * hour),
			want: []verdict.Expectation{
				{Name: "hpa/api", Result: verdict.Fail, Observed: math.NaN(), Reason: "api did not scale up within 3m0s of the chaos start"},
				{Name: "hpa/api/baseline", Result: verdict.Inconclusive, Observed: math.NaN(), Reason: "api did not scale up: there is no baseline to return to"},
			},
			verdict: verdict.Fail,
		},
		{
			name:     "an HPA is pending while it may still scale, and return",
			recovery: "hpa: {name: api, minReplicas: 4, within: 3m, baselineWithin: 10m}",
			events:   []chaos.Event{scaled3(chaos.HPAScaledUp, time.Minute, 3, 4)},
			at:       base.Add(30 * time.Second),
			want: []verdict.Expectation{
				{Name: "hpa/api", Result: verdict.Inconclusive, Observed: math.NaN(), Reason: "api has not reached 4 replicas yet (at most 0 so far); it may until 2026-03-01T12:03:00Z", DecidedBy: base.Add(3 * time.Minute)},
				{Name: "hpa/api/baseline", Result: verdict.Inconclusive, Observed: math.NaN(), Reason: "api has not scaled up yet: there is no baseline to return to so far", DecidedBy: winEnd.Add(10 * time.Minute)},
			},
			verdict: verdict.Inconclusive,
		},
		{
			name:     "an HPA back before baselineWithin has passed is pending: it must stay back until then",
			recovery: "hpa: {name: api, minReplicas: 4, within: 3m, baselineWithin: 10m}",
			events:   []chaos.Event{scaled3(chaos.HPAScaledUp, time.Minute, 3, 4), scaled3(chaos.HPAScaledDown, hour+3*time.Minute, 4, 3)},
			at:       base.Add(hour + 5*time.Minute),
			want: []verdict.Expectation{
				{Name: "hpa/api", Result: verdict.Pass, Observed: 60, Reason: "api scaled 3→4"},
				{
					Name: "hpa/api/baseline", Result: verdict.Inconclusive, Observed: math.NaN(),
					Reason:    "api is back at 3 replicas (baseline 3) 3m0s after the chaos end; it must stay there until 2026-03-01T13:10:00Z",
					DecidedBy: winEnd.Add(10 * time.Minute),
				},
			},
			verdict: verdict.Inconclusive,
		},
		{
			name:     "an HPA back and up again within baselineWithin fails its return",
			recovery: "hpa: {name: api, minReplicas: 4, within: 3m, baselineWithin: 10m}",
			events: []chaos.Event{
				scaled3(chaos.HPAScaledUp, time.Minute, 3, 4), scaled3(chaos.HPAScaledDown, hour+3*time.Minute, 4, 3),
				scaled3(chaos.HPAScaledUp, hour+6*time.Minute, 3, 4),
			},
			at: base.Add(2 * hour),
			want: []verdict.Expectation{
				{Name: "hpa/api", Result: verdict.Pass, Observed: 60, Reason: "api scaled 3→4"},
				{Name: "hpa/api/baseline", Result: verdict.Fail, Observed: math.NaN(), Reason: "api was not back at its baseline of 3 replicas 10m0s after the chaos end (at 4)"},
			},
			verdict: verdict.Fail,
		},
		{
			name:     "an HPA up in time is pending its return until baselineWithin has passed",
			recovery: "hpa: {name: api, minReplicas: 4, within: 3m, baselineWithin: 10m}",
			events:   []chaos.Event{scaled3(chaos.HPAScaledUp, time.Minute, 3, 4), scaled3(chaos.HPAScaledDown, hour+20*time.Minute, 4, 3)},
			at:       base.Add(hour + 5*time.Minute),
			want: []verdict.Expectation{
				{Name: "hpa/api", Result: verdict.Pass, Observed: 60, Reason: "api scaled 3→4"},
				{Name: "hpa/api/baseline", Result: verdict.Inconclusive, Observed: math.NaN(), Reason: "api is not back at its baseline of 3 replicas yet; it may until 2026-03-01T13:10:00Z", DecidedBy: winEnd.Add(10 * time.Minute)},
			},
			verdict: verdict.Inconclusive,
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o := verdict.Options{Samples: newSource()}
			if !tc.noStore {
				s := tracker.NewMemoryStore()
				for _, i := range tc.incidents {
					require.NoError(t, s.Save(t.Context(), i))
				}
				for _, e := range tc.events {
					require.NoError(t, s.SaveEvent(t.Context(), e))
				}
				o.Store, o.Alerts = s, &fakeAlerts{alerts: tc.alerts}
			}
			h := hyp(t, fixedWindow, "  recovery:\n    "+tc.recovery+"\n")
			v, err := newJudge(t, o).Judge(t.Context(), h, tc.at)
			require.NoError(t, err)
			require.Len(t, v.Recovery, len(tc.want))
			for i, want := range tc.want {
				got := v.Recovery[i]
				require.Equal(t, want.Name, got.Name)
				require.Equal(t, want.Result, got.Result, got.Reason)
				require.Contains(t, got.Reason, want.Reason)
				require.Equal(t, want.DecidedBy, got.DecidedBy, "decided by, %s", got.Reason)
				if math.IsNaN(want.Observed) {
					require.Truef(t, math.IsNaN(got.Observed), "observed %v", got.Observed)
				} else {
					require.InDelta(t, want.Observed, got.Observed, 1e-9)
				}
			}
			require.Equal(t, tc.verdict, v.Result, v.Reason)
			// Final: judged after the window, with nothing that waiting
			// may still change.
			undecided := slices.ContainsFunc(tc.want, func(x verdict.Expectation) bool { return !x.DecidedBy.IsZero() })
			require.Equal(t, !tc.at.Before(winEnd) && !undecided, verdict.IsFinal(h, &v), "final")
		})
	}
}

func TestJudgeRecoveryWithMetrics(t *testing.T) {
	s := tracker.NewMemoryStore()
	require.NoError(t, s.Save(t.Context(), inc(chaos.PodDeleted, 5*time.Minute, 0)))
	f := newSource()
	aa(f, "latency", 1, 1)
	h := hyp(t, fixedWindow, metrics(latencyMetric)+"  recovery: {mttr: 3m}\n")
	j := newJudge(t, verdict.Options{Samples: f, Store: s})

	v, err := j.Judge(t.Context(), h, base.Add(6*time.Minute))
	require.NoError(t, err)
	require.Equal(t, verdict.Inconclusive, v.Result)
	require.Equal(t, "score 100 at or above the pass score 95, but recovery expectations are not judged yet: "+
		"mttr (1 of 1 incidents not recovered yet, within 3m0s so far: pod_deleted Deployment/shop/api at 2026-03-01T12:05:00Z open for 1m0s)", v.Reason)

	v, err = j.Judge(t.Context(), h, after)
	require.NoError(t, err)
	require.Equal(t, verdict.Fail, v.Result)
	require.Equal(t, "recovery expectation mttr failed: 1 of 1 incidents not recovered within 3m0s: "+
		"pod_deleted Deployment/shop/api at 2026-03-01T12:05:00Z (still open) took 56m0s", v.Reason)
	require.InDelta(t, 100, v.Score, 0)
}
