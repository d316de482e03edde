package chaos

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestTimestampBestPicksTheMorePreciseTime(t *testing.T) {
	second := time.Date(2025, 3, 1, 12, 0, 7, 0, time.UTC)
	for _, tc := range []struct {
		name string
		ts   Timestamp
		want time.Time
	}{
		{"an observation within the cluster's second refines it", Timestamp{Cluster: second, Observed: second.Add(420 * time.Millisecond)}, second.Add(420 * time.Millisecond)},
		{"an observation at the very start of the second refines it", Timestamp{Cluster: second, Observed: second}, second},
		{"an observation just before the next second refines it", Timestamp{Cluster: second, Observed: second.Add(time.Second - time.Nanosecond)}, second.Add(time.Second - time.Nanosecond)},
		{"an observation a second later was late, so the cluster's time wins", Timestamp{Cluster: second, Observed: second.Add(time.Second)}, second},
		{"an observation minutes later (a relist) leaves the cluster's time", Timestamp{Cluster: second, Observed: second.Add(5 * time.Minute)}, second},
		{"an observation before the cluster's time (clock skew) leaves the cluster's time", Timestamp{Cluster: second, Observed: second.Add(-time.Millisecond)}, second},
		{"without a cluster time the observation is all there is", Timestamp{Observed: second.Add(3 * time.Millisecond)}, second.Add(3 * time.Millisecond)},
		{"without an observation the cluster time is all there is", Timestamp{Cluster: second}, second},
		{"an empty timestamp is zero", Timestamp{}, time.Time{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			require.Equal(t, tc.want, tc.ts.Best())
		})
	}
}

func TestOnlyFaultsCountAsFailures(t *testing.T) {
	for _, tc := range []struct {
		kind Kind
		want bool
	}{
		{PodDeleted, true},
		{NodeNotReady, true},
		{WorkloadDegraded, true},
		{ContainerRestarted, true},
		{HPAScaledUp, false},
		{HPAScaledDown, false},
	} {
		t.Run(string(tc.kind), func(t *testing.T) {
			require.Equal(t, tc.want, tc.kind.IsFailure())
		})
	}
	require.Len(t, Kinds, 6, "every kind is listed for pre-declared series")
}

func TestRefNamesNamespacedAndClusterObjects(t *testing.T) {
	require.Equal(t, "Deployment/shop/web", Ref{Kind: "Deployment", Namespace: "shop", Name: "web"}.String())
	require.Equal(t, "Node/worker-1", Ref{Kind: "Node", Name: "worker-1"}.String())
}

func TestEventStringShowsTheBestTimeReplicasAndMissed(t *testing.T) {
	at := time.Date(2025, 3, 1, 12, 0, 7, 0, time.UTC)
	for _, tc := range []struct {
		name string
		ev   Event
		want string
	}{
		{
			"a pod deletion names the pod and the refined time",
			Event{Kind: PodDeleted, Object: Ref{Kind: "Pod", Namespace: "shop", Name: "web-1"}, At: Timestamp{Cluster: at, Observed: at.Add(250 * time.Millisecond)}},
			"pod_deleted Pod/shop/web-1 at 2025-03-01T12:00:07.25Z",
		},
		{
			"an autoscaler event shows the replicas it moved between",
			Event{Kind: HPAScaledUp, Object: Ref{Kind: "HorizontalPodAutoscaler", Namespace: "shop", Name: "web"}, At: Timestamp{Cluster: at}, FromReplicas: 3, ToReplicas: 6},
			"hpa_scaled_up HorizontalPodAutoscaler/shop/web at 2025-03-01T12:00:07Z (3→6)",
		},
		{
			"an inferred event is marked missed",
			Event{Kind: NodeNotReady, Object: Ref{Kind: "Node", Name: "worker-1"}, At: Timestamp{Cluster: at}, Missed: true},
			"node_not_ready Node/worker-1 at 2025-03-01T12:00:07Z [missed]",
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			require.Equal(t, tc.want, tc.ev.String())
		})
	}
}

func TestAnIncidentHasNoTimeToRecoverWhileOpen(t *testing.T) {
	start := time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)
	inc := Incident{Start: start}
	require.True(t, inc.Open())
	require.Zero(t, inc.TimeToRecover())

	inc.End = start.Add(3500 * time.Millisecond)
	require.False(t, inc.Open())
	require.Equal(t, 3500*time.Millisecond, inc.TimeToRecover())
}

func TestPlausibleDropsClusterTimesThatContradictTheWatch(t *testing.T) {
	base := time.Date(2026, 11, 21, 12, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		name     string
		ts       Timestamp
		prevSeen time.Time
		want     time.Time
	}{
		{"a cluster time within the observed second is kept", Timestamp{Cluster: base, Observed: base.Add(300 * time.Millisecond)}, base.Add(-time.Minute), base.Add(300 * time.Millisecond)},
		{"a cluster time before the previous state was last seen is dropped", Timestamp{Cluster: base.Add(-time.Hour), Observed: base}, base.Add(-10 * time.Second), base},
		{"a cluster time in the future of the observation is dropped", Timestamp{Cluster: base.Add(time.Minute), Observed: base}, time.Time{}, base},
		{"an old cluster time without a previous sighting is kept", Timestamp{Cluster: base.Add(-time.Hour), Observed: base}, time.Time{}, base.Add(-time.Hour)},
		{"a cluster time alone is kept", Timestamp{Cluster: base}, base.Add(time.Hour), base},
	} {
		t.Run(tc.name, func(t *testing.T) {
			require.Equal(t, tc.want, tc.ts.Plausible(tc.prevSeen).Best())
		})
	}
}

func TestTimeToDetectOnlyOnceDetected(t *testing.T) {
	start := time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		name    string
		d       Detection
		want    time.Duration
		ok      bool
		decided bool
	}{
		{"an undecided incident has no time to detect", Detection{}, 0, false, false},
		{"an undetected incident has none either", Detection{Undetected: true}, 0, false, true},
		{"a detected incident's is the detection time less the start", Detection{At: start.Add(90 * time.Second), Alert: "HighErrorRate", Fingerprint: "f1"}, 90 * time.Second, true, true},
		{"a detection at the very start takes no time", Detection{At: start, Fingerprint: "f1"}, 0, true, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			inc := Incident{Start: start, Detection: tc.d}
			got, ok := inc.TimeToDetect()
			require.Equal(t, tc.ok, ok)
			require.Equal(t, tc.want, got)
			require.Equal(t, tc.decided, tc.d.Decided())
		})
	}
}

func TestDetectionValidateNamesTheField(t *testing.T) {
	at := time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		name string
		d    Detection
		want string
	}{
		{"a detection with its alert is valid", Detection{At: at, Alert: "HighErrorRate", Fingerprint: "f1"}, ""},
		{"an undetected verdict alone is valid", Detection{Undetected: true}, ""},
		{"a detection needs a time", Detection{Alert: "HighErrorRate", Fingerprint: "f1"}, "detection.at: not set"},
		{"a detection needs the alert's fingerprint", Detection{At: at, Alert: "HighErrorRate"}, "detection.fingerprint: not set"},
		{"undetected cannot name an alert", Detection{Undetected: true, Fingerprint: "f1"}, "detection: undetected, yet names a time or an alert"},
		{"undetected cannot have a time", Detection{Undetected: true, At: at}, "detection: undetected, yet names a time or an alert"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.d.Validate()
			if tc.want == "" {
				require.NoError(t, err)
				return
			}
			require.EqualError(t, err, tc.want)
		})
	}
}
