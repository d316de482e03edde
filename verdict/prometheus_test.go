package verdict_test

import (
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/steadywatch/steadywatch/chaos"
	"github.com/steadywatch/steadywatch/hypothesis"
	"github.com/steadywatch/steadywatch/promtest"
	"github.com/steadywatch/steadywatch/verdict"
)

// groupSim is how one group of a scenario behaves: Poisson-ish traffic of
// rps requests a second, lognormal latencies and independent errors. A zero
// errorRate exports no code="500" series at all, as a service does before
// its first error; rps 0 exports flat counters.
type groupSim struct {
	rps, median, sigma, errorRate float64
}

// scenario is a pair of groups; a group left out has no series.
type scenario struct {
	name   string
	groups map[chaos.Group]groupSim
}

// buckets are the latency histogram's upper bounds (without +Inf), fine
// enough for histogram_quantile to see a 50 % shift of the p99.
var buckets = []float64{0.025, 0.05, 0.1, 0.15, 0.2, 0.25, 0.3, 0.35, 0.4, 0.5, 0.6, 0.8, 1, 2.5}

// series is one generated series: its labels and one value per scrape.
type series struct {
	labels string
	values []float64
}

// simulate scrapes a group every 15 s for steps scrapes.
func simulate(rng *rand.Rand, s scenario, g chaos.Group, sim groupSim, steps int) (hist, counters []series) {
	labels := fmt.Sprintf(`scenario="%s",group="%s"`, s.name, g)
	bucketCounts := make([]series, len(buckets)+1)
	for i := range bucketCounts {
		le := "+Inf"
		if i < len(buckets) {
			le = strconv.FormatFloat(buckets[i], 'g', -1, 64)
		}
		bucketCounts[i] = series{labels: labels + `,le="` + le + `"`}
	}
	count, sum := series{labels: labels}, series{labels: labels}
	ok, failed := series{labels: labels + `,code="200"`}, series{labels: labels + `,code="500"`}
	cum := make([]float64, len(buckets)+1)
	var n, total, errs, oks float64
	for range steps {
		lambda := sim.rps * 15
		k := max(0, math.Round(lambda+math.Sqrt(lambda)*rng.NormFloat64()))
		for range int(k) {
			lat := sim.median * math.Exp(sim.sigma*rng.NormFloat64())
			for i := range cum {
				if i == len(buckets) || lat <= buckets[i] {
					cum[i]++
				}
			}
			n++
			total += lat
			if rng.Float64() < sim.errorRate {
				errs++
			} else {
				oks++
			}
		}
		for i := range cum {
			bucketCounts[i].values = append(bucketCounts[i].values, cum[i])
		}
		count.values = append(count.values, n)
		sum.values = append(sum.values, total)
		ok.values = append(ok.values, oks)
		failed.values = append(failed.values, errs)
	}
	hist = append(bucketCounts, count, sum)
	counters = []series{ok}
	if sim.errorRate > 0 {
		counters = append(counters, failed)
	}
	return hist, counters
}

// openMetrics generates the scenarios' data from a seeded generator, from
// start every 15 s for steps scrapes, as OpenMetrics text.
func openMetrics(seed uint64, start time.Time, steps int, scenarios []scenario) string {
	rng := rand.New(rand.NewPCG(seed, 1))
	var hist, buckets, counts, sums, counters []series
	for _, s := range scenarios {
		for _, g := range []chaos.Group{chaos.Control, chaos.Experimental} {
			sim, ok := s.groups[g]
			if !ok {
				continue
			}
			h, c := simulate(rng, s, g, sim, steps)
			n := len(h)
			buckets = append(buckets, h[:n-2]...)
			counts = append(counts, h[n-2])
			sums = append(sums, h[n-1])
			counters = append(counters, c...)
		}
	}
	hist = append(append(buckets, counts...), sums...)
	var b strings.Builder
	write := func(name string, ss []series) {
		for _, s := range ss {
			for i, v := range s.values {
				fmt.Fprintf(&b, "%s{%s} %s %d\n", name, s.labels, strconv.FormatFloat(v, 'g', -1, 64),
					start.Add(time.Duration(i)*15*time.Second).Unix())
			}
		}
	}
	b.WriteString("# HELP http_request_duration_seconds Request latency.\n# TYPE http_request_duration_seconds histogram\n")
	nb := len(buckets)
	write("http_request_duration_seconds_bucket", hist[:nb])
	write("http_request_duration_seconds_count", hist[nb:nb+len(counts)])
	write("http_request_duration_seconds_sum", hist[nb+len(counts):])
	b.WriteString("# HELP http_requests Requests.\n# TYPE http_requests counter\n")
	write("http_requests_total", counters)
	b.WriteString("# EOF\n")
	return b.String()
}

// e2eHypothesis is testdata/e2e.yaml for a scenario and a window.
func e2eHypothesis(t *testing.T, scenario, window string) *hypothesis.Hypothesis {
	t.Helper()
	tmpl, err := os.ReadFile("testdata/e2e.yaml")
	require.NoError(t, err)
	doc := strings.NewReplacer("SCENARIO", scenario, "WINDOW", window).Replace(string(tmpl))
	hs, err := hypothesis.Parse([]byte(doc), "e2e.yaml")
	require.NoError(t, err)
	require.Len(t, hs, 1)
	return &hs[0]
}

// TestJudgeAgainstPrometheus judges generated data through a real
// Prometheus 2.42 and real PromQL: rate, histogram_quantile, sum by.
func TestJudgeAgainstPrometheus(t *testing.T) {
	start := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	healthy := groupSim{rps: 20, median: 0.1, sigma: 0.5, errorRate: 0.001}
	slow := healthy
	slow.median *= 1.5
	noErrors, failing := healthy, healthy
	noErrors.errorRate, failing.errorRate = 0, 0.03
	idle := groupSim{median: 0.1, sigma: 0.5}
	om := openMetrics(42, start, 2*240+1, []scenario{
		{"aa", map[chaos.Group]groupSim{chaos.Control: healthy, chaos.Experimental: healthy}},
		{"slow", map[chaos.Group]groupSim{chaos.Control: healthy, chaos.Experimental: slow}},
		{"errors", map[chaos.Group]groupSim{chaos.Control: noErrors, chaos.Experimental: failing}},
		{"idle", map[chaos.Group]groupSim{chaos.Control: idle, chaos.Experimental: idle}},
		{"half", map[chaos.Group]groupSim{chaos.Control: healthy}},
	})
	p := promtest.StartPrometheus(t, promtest.PrometheusOptions{Config: "global: {}\n", OpenMetrics: om})
	j := newJudge(t, verdict.Options{Prometheus: p.API()})
	const (
		window   = "fixed: {start: 2026-11-01T00:30:00Z, end: 2026-11-01T01:30:00Z}"
		dayEarly = "fixed: {start: 2026-10-31T00:30:00Z, end: 2026-10-31T01:30:00Z}"
	)
	at := start.Add(2 * time.Hour)

	type metricWant struct {
		result verdict.Result
		reason string
	}
	for _, tc := range []struct {
		name     string
		scenario string
		window   string
		at       time.Time
		want     verdict.Result
		reason   string
		metrics  map[string]metricWant
		abort    string
	}{
		{
			name: "an A/A experiment passes", scenario: "aa", window: window, at: at,
			want: verdict.Pass, reason: "score 100 at or above the pass score 95",
			metrics: map[string]metricWant{
				"p99-latency":  {verdict.Pass, "SLO: all 241 samples of the experimental group within max 0.45"},
				"mean-latency": {verdict.Pass, ""},
				"error-ratio":  {verdict.Pass, "no significant change"},
				"throughput":   {verdict.Pass, ""},
			},
		},
		{
			name: "latency 50 % up in the experiment fails", scenario: "slow", window: window, at: at,
			want: verdict.Fail, reason: "critical metric p99-latency failed (high): vs control: significant increase",
			metrics: map[string]metricWant{
				"p99-latency":  {verdict.High, "of the experimental group above the max 0.45"},
				"mean-latency": {verdict.High, "exceeds the allowed"},
				"error-ratio":  {verdict.Pass, ""},
				"throughput":   {verdict.Pass, ""},
			},
		},
		{
			name: "latency 50 % up while the experiment runs aborts on its SLO", scenario: "slow", window: window,
			at:   start.Add(time.Hour),
			want: verdict.Fail, reason: "critical metric p99-latency failed (high)",
			metrics: map[string]metricWant{"p99-latency": {verdict.High, "of 121 samples"}},
			abort:   "metric p99-latency violates its SLO max 0.45: ",
		},
		{
			name: "errors up from a control without any fails", scenario: "errors", window: window, at: at,
			want: verdict.Fail, reason: "critical metric error-ratio failed (high)",
			metrics: map[string]metricWant{
				"p99-latency": {verdict.Pass, ""},
				"error-ratio": {verdict.High, "vs 0 of"},
			},
		},
		{
			name: "no traffic is inconclusive: NaN quantiles, too little traffic", scenario: "idle", window: window, at: at,
			want: verdict.Inconclusive, reason: "only 25 % of the metrics' weight could be judged (minJudged 100 %)",
			metrics: map[string]metricWant{
				"p99-latency":  {verdict.Inconclusive, "no data for the experimental group: its 241 samples are all NaN"},
				"mean-latency": {verdict.Inconclusive, "no data for the experimental group: its 241 samples are all NaN"},
				"error-ratio":  {verdict.Inconclusive, "too little traffic in the experimental group (0 < minTotal 1000)"},
				"throughput":   {verdict.Pass, "no significant change"},
			},
		},
		{
			name: "a missing group is inconclusive", scenario: "half", window: window, at: at,
			want: verdict.Inconclusive, reason: "only 0 % of the metrics' weight could be judged",
			metrics: map[string]metricWant{
				"p99-latency": {verdict.Inconclusive, "no data for the experimental group: the query returned no series"},
				"error-ratio": {verdict.Inconclusive, "no data for the experimental group: the total query returned no series"},
			},
		},
		{
			name: "a window without data is inconclusive", scenario: "aa", window: dayEarly, at: at,
			want: verdict.Inconclusive, reason: "only 0 % of the metrics' weight could be judged",
			metrics: map[string]metricWant{
				"p99-latency": {verdict.Inconclusive, "vs control: no data for the experimental group: the query returned no series"},
				"throughput":  {verdict.Inconclusive, "no data for the experimental group: the query returned no series"},
			},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			v, err := j.Judge(t.Context(), e2eHypothesis(t, tc.scenario, tc.window), tc.at)
			require.NoError(t, err)
			require.Equal(t, tc.want, v.Result, v.Reason)
			require.Contains(t, v.Reason, tc.reason)
			byName := map[string]verdict.Metric{}
			for _, m := range v.Metrics {
				byName[m.Name] = m
			}
			for name, want := range tc.metrics {
				m := byName[name]
				require.Equalf(t, want.result, m.Result, "%s: %s", name, m.Reason)
				require.Containsf(t, m.Reason, want.reason, "%s", name)
			}
			require.Equal(t, tc.abort != "", v.Abort)
			require.Equal(t, tc.at.Before(v.Window.End), v.Running)
			if tc.abort != "" {
				require.Len(t, v.AbortReasons, 1)
				require.Contains(t, v.AbortReasons[0], tc.abort)
			}
			t.Logf("%s: %s", v.Result, v.Reason)
			for _, m := range v.Metrics {
				t.Logf("  %s %s: %s", m.Name, m.Result, m.Reason)
			}
		})
	}

	t.Run("the error counts come from rate × step through sum by", func(t *testing.T) {
		v, err := j.Judge(t.Context(), e2eHypothesis(t, "errors", window), at)
		require.NoError(t, err)
		m := v.Metrics[2]
		require.Equal(t, "error-ratio", m.Name)
		require.Zero(t, m.Control.Errors)
		require.Contains(t, m.Reason, "an errors query with no series counted as 0 errors")
		// 20 requests a second for an hour, 3 % of them errors.
		require.InEpsilon(t, 72_000, m.Control.Total, 0.05)
		require.InEpsilon(t, 72_000, m.Experimental.Total, 0.05)
		require.InEpsilon(t, 0.03, m.Experimental.Value, 0.1)
		require.Equal(t, 241, m.Experimental.Samples)
	})
}
