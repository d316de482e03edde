package reportbench

import (
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/steadywatch/steadywatch/alert"
	"github.com/steadywatch/steadywatch/report"
	"github.com/steadywatch/steadywatch/store"
	"github.com/steadywatch/steadywatch/tracker"
)

// small is a store the tests build in seconds, with every kind of alert.
var small = spec{alerts: 30_000, incidents: 300, seed: seed}

func TestGeneratorIsDeterministic(t *testing.T) {
	a, b := generate(small), generate(small)
	require.Equal(t, a.firings, b.firings)
	require.Equal(t, a.incidents, b.incidents)
	other := generate(spec{alerts: small.alerts, incidents: small.incidents, seed: seed + 1})
	require.NotEqual(t, a.firings, other.firings)
}

// TestGeneratorWritesEveryKind reads the store back, not the generator's
// records: the alerts are all there, with some of each kind.
func TestGeneratorWritesEveryKind(t *testing.T) {
	path := filepath.Join(t.TempDir(), "small.db")
	build(t, path, small)
	s, err := store.Open(t.Context(), path, store.Options{Existing: true})
	require.NoError(t, err)
	defer s.Close()

	var n, silenced, firing, long, selfResolved int
	byFP := map[string]int{}
	err = s.EachAlert(t.Context(), alert.Filter{}, func(a *alert.Alert) error {
		n++
		byFP[a.Fingerprint]++
		switch {
		case a.Source == alert.SourceAPI:
			silenced++
		case a.Status == alert.Firing:
			firing++
		case a.EndsAt.Sub(a.StartsAt) > 24*60*60e9:
			long++
		case a.EndsAt.Sub(a.StartsAt) <= report.DefaultNoisyWithin:
			selfResolved++
		}
		require.Less(t, a.StartsAt, genEnd)
		require.GreaterOrEqual(t, len(a.Labels), 8, "labels of realistic size")
		return nil
	})
	require.NoError(t, err)
	require.Equal(t, small.alerts, n)
	require.InDelta(t, 0.05, float64(silenced)/float64(n), 0.01, "5 %% silenced")
	require.Positive(t, firing, "still firing at the end")
	require.Positive(t, long, "firing for more than a day")
	require.InDelta(t, 0.4, float64(selfResolved)/float64(n), 0.1, "resolved by themselves (flapping and short)")
	flapping := 0
	for _, c := range byFP {
		if c >= 20 {
			flapping++
		}
	}
	require.Positive(t, flapping)

	incs, err := s.List(t.Context(), tracker.Filter{})
	require.NoError(t, err)
	require.Len(t, incs, small.incidents)
	detected := 0
	for _, inc := range incs {
		if inc.Detection.Fingerprint != "" {
			detected++
			require.Positive(t, byFP[inc.Detection.Fingerprint], "incident %s detected by an alert the store has", inc.ID)
		}
	}
	require.InDelta(t, 2.0/3, float64(detected)/float64(len(incs)), 0.1)
}

// TestFloorEqualsTheReport checks floor.sql against report.Weekly on a
// small store, both ways: a floor that aggregates something else is no
// floor.
func TestFloorEqualsTheReport(t *testing.T) {
	path := filepath.Join(t.TempDir(), "small.db")
	build(t, path, small)
	s, err := store.Open(t.Context(), path, store.Options{Existing: true})
	require.NoError(t, err)
	defer s.Close()
	r, err := report.Weekly(t.Context(), s, options())
	require.NoError(t, err)
	var noisy, flapping, open int
	for _, svc := range r.Services {
		noisy += svc.Current.Alerts.Noisy
		flapping += svc.Current.Alerts.Flapping
		open += svc.Current.Alerts.Open
	}
	require.Positive(t, noisy)
	require.Positive(t, flapping)
	require.Positive(t, open)
	out, _ := runFloor(t, path)
	checkFloor(t, r, out)
}
