package report_test

import (
	"encoding/json"
	"fmt"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/steadywatch/steadywatch/alert"
	"github.com/steadywatch/steadywatch/chaos"
	"github.com/steadywatch/steadywatch/report"
)

// fault is a chaos incident of svc starting at start, detected after
// detectedAfter by the alert rule name (fingerprint fp); undetected if name
// is "" and undecided if fp is "" too.
func fault(id string, kind chaos.Kind, svc string, start time.Time, name, fp string, detectedAfter time.Duration) chaos.Incident {
	inc := chaos.Incident{
		ID: id, Kind: kind, Start: start, End: start.Add(30 * time.Minute), Events: 1,
		Subject: chaos.Subject{Namespace: "shop", Service: svc, Group: chaos.Experimental},
		Object:  chaos.Ref{Kind: "Deployment", Namespace: "shop", Name: svc},
	}
	switch {
	case name != "":
		inc.Detection = chaos.Detection{At: start.Add(detectedAfter), Alert: name, Fingerprint: fp}
	case fp != "":
		inc.Detection = chaos.Detection{Undetected: true}
	}
	return inc
}

// ruleAlert is an alert of rule name that fired at start for a minute and
// was delivered deliveries times.
func ruleAlert(name, fp, svc string, start time.Time, deliveries int) alert.Alert {
	return alert.Alert{
		Fingerprint: fp, Status: alert.Resolved, StartsAt: start, EndsAt: start.Add(time.Minute), ReceivedAt: start,
		Labels:   map[string]string{"alertname": name, "service": svc, "severity": "info"},
		Receiver: "steadywatch", Source: alert.SourceWebhook, Deliveries: deliveries,
	}
}

func TestTheDetectionBoundIncludesADetectionExactlyAtIt(t *testing.T) {
	from := w12.From
	incs := []chaos.Incident{
		fault("at-default", chaos.PodDeleted, "api", from.Add(time.Hour), "Down", "f", report.DefaultDetectionBound),
		fault("over-default", chaos.PodDeleted, "api", from.Add(2*time.Hour), "Down", "f", report.DefaultDetectionBound+time.Nanosecond),
		fault("at-2m", chaos.PodDeleted, "api", from.Add(3*time.Hour), "Down", "f", 2*time.Minute),
		fault("over-2m", chaos.PodDeleted, "api", from.Add(4*time.Hour), "Down", "f", 2*time.Minute+time.Nanosecond),
	}
	s := fill(t, "sqlite://"+filepath.Join(t.TempDir(), "sw.db"), fixture{incidents: incs})
	for _, tt := range []struct {
		bound          time.Duration
		within, late   int
		settingSeconds float64
	}{
		// At the default 5m: the two at or under 5m are in time.
		{0, 3, 1, 300},
		// At 2m: at-2m exactly at it is in time, a nanosecond more late.
		{2 * time.Minute, 1, 3, 120},
	} {
		r, err := report.Weekly(t.Context(), s, report.Options{Range: w12, DetectionBound: tt.bound, Now: func() time.Time { return now }})
		require.NoError(t, err)
		d := r.Total.Current.Detection
		require.Equal(t, 4, d.Faults)
		require.Equal(t, tt.within, d.WithinBound, "bound %s", tt.bound)
		require.Equal(t, tt.late, d.Late, "bound %s", tt.bound)
		require.InDelta(t, float64(tt.within)/4, *d.Share, 0)
		require.InDelta(t, tt.settingSeconds, time.Duration(r.Settings.DetectionBound).Seconds(), 0)
	}
	_, err := report.Weekly(t.Context(), s, report.Options{Range: w12, DetectionBound: -time.Nanosecond})
	require.EqualError(t, err, "report: Options.DetectionBound: must not be negative, got -1ns")
}

func TestCoverageJudgesNeitherInferredStartsNorScalings(t *testing.T) {
	from := w12.From
	missedCaught := fault("missed-caught", chaos.PodDeleted, "api", from.Add(time.Hour), "Down", "f", time.Hour)
	missedCaught.Missed = true
	missedDeaf := fault("missed-deaf", chaos.NodeNotReady, "api", from.Add(2*time.Hour), "", "x", 0)
	missedDeaf.Missed = true
	incs := []chaos.Incident{
		missedCaught, missedDeaf,
		fault("deaf", chaos.WorkloadDegraded, "api", from.Add(3*time.Hour), "", "x", 0),
		fault("undecided", chaos.ContainerRestarted, "api", from.Add(4*time.Hour), "", "", 0),
		fault("caught", chaos.PodDeleted, "api", from.Add(5*time.Hour), "Down", "f", time.Minute),
		fault("scaled", chaos.HPAScaledUp, "api", from.Add(6*time.Hour), "", "x", 0),
		fault("other", chaos.PodDeleted, "db", from.Add(7*time.Hour), "", "x", 0),
		// Last week's: not this week's fault.
		fault("before", chaos.PodDeleted, "api", from.Add(-time.Second), "", "x", 0),
	}
	r := weekly(t, fixture{incidents: incs})
	require.Len(t, r.Services, 2)
	api := r.Services[0]
	require.Equal(t, "api", api.Name)
	// Five failures: two with an inferred start and one the detector has
	// not judged (undecided), none of them judged; one caught in time and
	// one (deaf) not detected: coverage 1 of 2.
	require.Equal(t, report.Coverage{Faults: 5, WithinBound: 1, NotDetected: 1, Undecided: 1, StartInferred: 2, Share: new(1.0 / 2)}, api.Current.Detection)
	require.Equal(t, report.Coverage{Faults: 1, NotDetected: 1, Share: new(0.0)}, api.Previous.Detection)
	ids := []string{}
	for _, u := range api.Undetected {
		ids = append(ids, u.ID)
	}
	require.Equal(t, []string{"missed-deaf", "deaf", "undecided"}, ids, "oldest first; the caught missed one is not deaf")
	require.True(t, api.Undetected[0].StartInferred)
	require.True(t, api.Undetected[2].Undecided)
	require.False(t, api.Undetected[1].Undecided)
	require.Equal(t, "Deployment shop/api", api.Undetected[1].Object)
	// With db's deaf fault: 1 in time of 3 judged (6 − 2 inferred − 1
	// undecided).
	require.Equal(t, report.Coverage{Faults: 6, WithinBound: 1, NotDetected: 2, Undecided: 1, StartInferred: 2, Share: new(1.0 / 3)}, r.Total.Current.Detection)
}

// A small week worked out by hand, 2026-W12 against W11:
//
//	rule   firings (joined)  detected (kind)                         in W11
//	Disk   4 (1)             i1 pod_deleted after 2m                 i0 container_restarted
//	Down   2 (2)             i2 pod_deleted 1m, i3 workload_degr. 6m
//	Noise  3 (0)             -
//	Gone   0                 -                                       i6 workload_degraded
//
// and i4 pod_deleted, i5 container_restarted undetected in W12.
func TestPrecisionAndRecallWorkedByHand(t *testing.T) {
	from := w12.From
	h := func(n int) time.Time { return from.Add(time.Duration(n) * time.Hour) }
	prev := from.Add(-48 * time.Hour)
	incs := []chaos.Incident{
		fault("i0", chaos.ContainerRestarted, "cart", prev, "Disk", "d0", time.Minute),
		fault("i6", chaos.WorkloadDegraded, "cart", prev.Add(time.Hour), "Gone", "g0", 10*time.Minute),
		fault("i1", chaos.PodDeleted, "cart", h(1), "Disk", "d1", 2*time.Minute),
		fault("i2", chaos.PodDeleted, "cart", h(2), "Down", "w1", time.Minute),
		fault("i3", chaos.WorkloadDegraded, "cart", h(3), "Down", "w2", 6*time.Minute),
		fault("i4", chaos.PodDeleted, "cart", h(4), "", "x", 0),
		fault("i5", chaos.ContainerRestarted, "cart", h(5), "", "x", 0),
	}
	alerts := []alert.Alert{
		ruleAlert("Disk", "d0", "cart", prev.Add(time.Minute), 1),
		ruleAlert("Gone", "g0", "cart", prev.Add(time.Hour+10*time.Minute), 1),
		ruleAlert("Disk", "d1", "cart", h(1).Add(2*time.Minute), 2),
		ruleAlert("Disk", "d2", "cart", h(10), 2),
		ruleAlert("Disk", "d3", "cart", h(11), 2),
		ruleAlert("Disk", "d4", "cart", h(12), 2),
		ruleAlert("Down", "w1", "cart", h(2).Add(time.Minute), 1),
		ruleAlert("Down", "w2", "cart", h(3).Add(6*time.Minute), 3),
		ruleAlert("Noise", "n1", "cart", h(20), 1),
		ruleAlert("Noise", "n2", "cart", h(21), 1),
		ruleAlert("Noise", "n3", "cart", h(22), 1),
	}
	r := weekly(t, fixture{alerts: alerts, incidents: incs})
	require.Equal(t, []report.Rule{
		{
			// Pod deletions i1, i2, i4 and the restart i5: 1 of 4.
			Alert: "Disk", Firings: 4, Notifications: 8, Joined: 1, Precision: new(0.25),
			Kinds: []string{"container_restarted", "pod_deleted"}, Detected: 1, Faults: 4, Recall: new(0.25),
			TimeToDetect: report.Distribution{Samples: 1, Median: report.Seconds(2 * time.Minute), P90: report.Seconds(2 * time.Minute), Max: report.Seconds(2 * time.Minute)},
		},
		{
			// Fired, detected nothing: precision 0, recall no data.
			Alert: "Noise", Firings: 3, Notifications: 3, Joined: 0, Precision: new(0.0), Kinds: []string{},
		},
		{
			// Pod deletions i1, i2, i4 and the degradation i3: 2 of 4;
			// the median of 1m and 6m by nearest rank is 1m.
			Alert: "Down", Firings: 2, Notifications: 4, Joined: 2, Precision: new(1.0),
			Kinds: []string{"pod_deleted", "workload_degraded"}, Detected: 2, Faults: 4, Recall: new(0.5),
			TimeToDetect: report.Distribution{Samples: 2, Median: report.Seconds(time.Minute), P90: report.Seconds(6 * time.Minute), Max: report.Seconds(6 * time.Minute)},
		},
		{
			// Silent this week when i3 degraded cart: recall 0 of 1, and
			// no firing to be precise about.
			Alert: "Gone", Kinds: []string{"workload_degraded"}, Faults: 1, Recall: new(0.0),
		},
	}, r.Rules)

	cart := r.Services[0]
	require.Equal(t, 4+3+2, cart.Current.Alerts.Firing)
	require.Equal(t, 8+3+4, cart.Current.Alerts.Notifications)
	require.Equal(t, 2, cart.Previous.Alerts.Notifications)
	found := false
	for _, top := range cart.Top {
		if top.Alert == `Disk{service="cart",severity="info"}` {
			found = true
			require.Equal(t, 8, top.Notifications)
		}
	}
	require.True(t, found, "Disk is not among cart's most frequent alerts")
	// Coverage: i1 and i2 in time of 5 faults; last week i0 in time, i6
	// late.
	require.Equal(t, report.Coverage{Faults: 5, WithinBound: 2, Late: 1, NotDetected: 2, Share: new(0.4)}, r.Total.Current.Detection)
	require.Equal(t, report.Coverage{Faults: 2, WithinBound: 1, Late: 1, Share: new(0.5)}, r.Total.Previous.Detection)
	changes := map[string]report.Change{}
	for _, c := range r.Changes {
		changes[c.Name] = c
	}
	require.Equal(t, "share", changes["Detection coverage"].Unit)
	require.InDelta(t, -0.1, *changes["Detection coverage"].Delta, 1e-12)
	require.InDelta(t, 15.0, *changes["Notifications"].Current, 0)
	require.InDelta(t, 2.0, *changes["Notifications"].Previous, 0)

	// Top caps the rules, most firings first.
	s := fill(t, "sqlite://"+filepath.Join(t.TempDir(), "sw.db"), fixture{alerts: alerts, incidents: incs})
	capped, err := report.Weekly(t.Context(), s, report.Options{Range: w12, Top: 2, Now: func() time.Time { return now }})
	require.NoError(t, err)
	require.Len(t, capped.Rules, 2)
	require.Equal(t, "Disk", capped.Rules[0].Alert)
	require.Equal(t, "Noise", capped.Rules[1].Alert)
}

// A fault the detector has not judged yet is neither detected nor deaf:
// it is counted but, like an inferred start, left out of the coverage.
func TestUndecidedFaultsAreLeftOutOfTheCoverage(t *testing.T) {
	from := w12.From
	h := func(n int) time.Time { return from.Add(time.Duration(n) * time.Hour) }
	caught := func(id string, n int) chaos.Incident {
		return fault(id, chaos.PodDeleted, "api", h(n), "Down", "f", time.Minute)
	}
	deaf := func(id string, n int) chaos.Incident { return fault(id, chaos.PodDeleted, "api", h(n), "", "x", 0) }
	undecided := func(id string, n int) chaos.Incident { return fault(id, chaos.PodDeleted, "api", h(n), "", "", 0) }

	t.Run("a week of undecided faults only has no coverage", func(t *testing.T) {
		r := weekly(t, fixture{incidents: []chaos.Incident{undecided("u1", 1), undecided("u2", 2)}})
		d := r.Total.Current.Detection
		require.Equal(t, report.Coverage{Faults: 2, Undecided: 2}, d)
		require.Nil(t, d.Share)
		require.Equal(t, d, r.Services[0].Current.Detection)

		var js strings.Builder
		require.NoError(t, report.WriteJSON(&js, r))
		var doc struct {
			Total struct {
				Current struct {
					Detection map[string]any `json:"detection"`
				} `json:"current"`
			} `json:"total"`
		}
		require.NoError(t, json.Unmarshal([]byte(js.String()), &doc))
		det := doc.Total.Current.Detection
		require.Contains(t, det, "coverage")
		require.Nil(t, det["coverage"], "no data, not 0")
		require.InDelta(t, 2.0, det["undecided"], 0)
		require.InDelta(t, 0.0, det["not_detected"], 0)

		var md strings.Builder
		require.NoError(t, report.WriteMarkdown(&md, r))
		require.Contains(t, md.String(), "| **All services** | 2 | 0 | 0 | 0 | 2 | 0 | no data |")
		require.NotContains(t, md.String(), "| 0% |")
		for _, c := range r.Changes {
			if c.Name == "Detection coverage" {
				require.Nil(t, c.Current)
			}
		}

		var csvOut strings.Builder
		require.NoError(t, report.WriteCSV(&csvOut, r))
		require.Contains(t, csvOut.String(), ",,faults_undecided,2,2\n")
		require.Contains(t, csvOut.String(), ",,detection_coverage,,0\n")
	})

	// By hand: caught, deaf and two undecided: 1 in time of 2 judged,
	// not of 4. One more decided fault moves the share, one more
	// undecided does not.
	base := []chaos.Incident{caught("c1", 1), deaf("d1", 2), undecided("u1", 3), undecided("u2", 4)}
	for _, tt := range []struct {
		name   string
		extra  []chaos.Incident
		want   report.Coverage
		within string
	}{
		{
			"mixed: the undecided are not in the denominator", nil,
			report.Coverage{Faults: 4, WithinBound: 1, NotDetected: 1, Undecided: 2, Share: new(1.0 / 2)},
			"50%",
		},
		{
			"one more caught in time: 2 of 3",
			[]chaos.Incident{caught("c2", 5)},
			report.Coverage{Faults: 5, WithinBound: 2, NotDetected: 1, Undecided: 2, Share: new(2.0 / 3)},
			"67%",
		},
		{
			"one more deaf: 1 of 3",
			[]chaos.Incident{deaf("d2", 5)},
			report.Coverage{Faults: 5, WithinBound: 1, NotDetected: 2, Undecided: 2, Share: new(1.0 / 3)},
			"33%",
		},
		{
			"one more undecided: still 1 of 2",
			[]chaos.Incident{undecided("u3", 5)},
			report.Coverage{Faults: 5, WithinBound: 1, NotDetected: 1, Undecided: 3, Share: new(1.0 / 2)},
			"50%",
		},
	} {
		t.Run(tt.name, func(t *testing.T) {
			r := weekly(t, fixture{incidents: append(slices.Clone(base), tt.extra...)})
			require.Equal(t, tt.want, r.Total.Current.Detection)
			require.Equal(t, tt.want, r.Services[0].Current.Detection)
			var md strings.Builder
			require.NoError(t, report.WriteMarkdown(&md, r))
			require.Contains(t, md.String(), fmt.Sprintf("| **All services** | %d | %d | 0 | %d | %d | 0 | %s |",
				tt.want.Faults, tt.want.WithinBound, tt.want.NotDetected, tt.want.Undecided, tt.within))
			var csvOut strings.Builder
			require.NoError(t, report.WriteCSV(&csvOut, r))
			require.Contains(t, csvOut.String(), fmt.Sprintf(",,faults_undecided,%d,%d\n", tt.want.Undecided, tt.want.Undecided))
			require.Contains(t, csvOut.String(), fmt.Sprintf(",,detection_coverage,%s,%d\n",
				strconv.FormatFloat(*tt.want.Share, 'f', -1, 64), tt.want.Faults-tt.want.Undecided))
		})
	}
}
