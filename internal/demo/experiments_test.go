package demo

import (
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/steadywatch/steadywatch/verdict"
)

// adaptedRunner is a runner whose output folder holds the example
// hypotheses adapted at scale, as a run writes them before its attacks.
func adaptedRunner(t *testing.T, scale int) *runner {
	t.Helper()
	r := &runner{o: Options{Out: t.TempDir(), TimeScale: scale}}
	require.NoError(t, os.MkdirAll(filepath.Join(r.o.Out, "hypotheses"), 0o750))
	for _, e := range experiments() {
		_, err := r.adapt(e, r.placeholder(e))
		require.NoError(t, err, e.name)
	}
	return r
}

// The demo's step is floored at its 1 s scrape while the queries' ranges
// are scaled: the CPU attack's 10m is 30 s at 1/20, ten of its [1m]/20 =
// 3 s ranges as the example had ten 1m ones, but 24 s at 1/25, eight of
// [1m]/25 = 2.4 s rounded up to 3 steps, too few for a verdict (it needs
// verdict.DefaultMinSamples). The hog's 30m at a 30 s step keeps its
// ratio at both scales.
func TestAttackLengthKeepsTheExamplesIndependentSamples(t *testing.T) {
	for _, c := range []struct {
		scale      int
		name       string
		want       time.Duration
		lengthened bool
	}{
		{20, "cpu-autoscaling", 30 * time.Second, false},
		{25, "cpu-autoscaling", 30 * time.Second, true},
		{20, "resource-exhaustion", 90 * time.Second, false},
		{25, "resource-exhaustion", 72 * time.Second, false},
	} {
		r := adaptedRunner(t, c.scale)
		got, why, err := r.attackLength(c.name)
		require.NoError(t, err)
		assert.Equal(t, c.want, got, "%s at 1/%d", c.name, c.scale)
		assert.Equal(t, c.lengthened, why != "", "%s at 1/%d: %q", c.name, c.scale, why)
		if c.lengthened {
			assert.Contains(t, why, "the attack lasts 30s, not the example's 10m scaled (24s)")
		}
		// Samples one step apart over the window, thinned to one per
		// 3-step range: at least as many as a verdict needs.
		if c.name == "cpu-autoscaling" {
			assert.GreaterOrEqual(t, int(got/(3*time.Second))+1, verdict.DefaultMinSamples)
		}
	}
}

// What an experiment's first window sample reaches back over: the kill's
// window starts 5m (scaled) before the deletion and its queries' longest
// range is 1m; the host failure's is 5m; a fixed window has no before.
func TestLeadIsTheWindowsBeforeAndTheLongestRange(t *testing.T) {
	r := adaptedRunner(t, 20)
	for name, want := range map[string][2]time.Duration{
		"kill-postgres-replica": {15 * time.Second, 18 * time.Second},
		"host-failure":          {15 * time.Second, 30 * time.Second},
		"cpu-autoscaling":       {0, 3 * time.Second},
		"resource-exhaustion":   {0, 6 * time.Second},
	} {
		i := slices.IndexFunc(experiments(), func(e experiment) bool { return e.name == name })
		require.GreaterOrEqual(t, i, 0)
		before, need, err := r.lead(experiments()[i])
		require.NoError(t, err)
		assert.Equal(t, want, [2]time.Duration{before, need}, name)
	}
}

// Steadiness begins at the first steady look after the last unsteady one,
// and is only told of a look made after it was asked.
func TestSteadySinceIsTheFirstSteadyLookAfterTheLastUnsteadyOne(t *testing.T) {
	r := &runner{}
	t0 := time.Date(2026, 12, 7, 15, 0, 0, 0, time.UTC)
	at := func(s int) time.Time { return t0.Add(time.Duration(s) * time.Second) }
	since, why := r.steadySince(t0)
	assert.True(t, since.IsZero())
	assert.Contains(t, why, "not looked at since")

	r.noteSteady(at(1), false, "hpa/scale-app-experimental at 4 replicas")
	since, why = r.steadySince(at(1))
	assert.True(t, since.IsZero())
	assert.Equal(t, "hpa/scale-app-experimental at 4 replicas", why)

	r.noteSteady(at(2), true, "")
	r.noteSteady(at(3), true, "")
	since, _ = r.steadySince(at(1))
	assert.Equal(t, at(2), since, "from the first steady look, not the latest")
	since, why = r.steadySince(at(4))
	assert.True(t, since.IsZero(), "asked after the last look: not known yet")
	assert.Contains(t, why, "not looked at since")

	r.noteSteady(at(4), false, "node x not Ready")
	r.noteSteady(at(5), true, "")
	since, _ = r.steadySince(at(4))
	assert.Equal(t, at(5), since, "an unsteady look starts it again")
}

// The HPA's bounds are scaled with the demo's time, but not below what the
// testbed's metrics pipeline takes to see a load come and go (15 s; 12 s of
// scale-down stabilisation on top at 1/25): at 1/25 the example's 3m and
// 10m are 7.2 s and 24 s, floored to 15 s and 27 s; at 1/4 they are 45 s
// and 2m30s, above the floors, kept.
func TestTheHPAsBoundsAreNotScaledBelowTheTestbedsMetricsPipeline(t *testing.T) {
	for _, c := range []struct {
		scale        int
		within, back time.Duration
	}{
		{25, 15 * time.Second, 27 * time.Second},
		{4, 45 * time.Second, 150 * time.Second},
	} {
		r := adaptedRunner(t, c.scale)
		h, err := r.judged("cpu-autoscaling")
		require.NoError(t, err)
		require.NotNil(t, h.Recovery.HPA)
		assert.Equal(t, c.within, h.Recovery.HPA.Within, "1/%d", c.scale)
		assert.Equal(t, c.back, h.Recovery.HPA.BaselineWithin, "1/%d", c.scale)
	}
}
