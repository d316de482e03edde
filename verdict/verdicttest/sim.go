// Package verdicttest generates deterministic steady-state data for tests
// of verdicts: for a real Prometheus, request latency histograms and
// request counters of a control and an experimental group, as OpenMetrics
// text for promtest.PrometheusOptions.OpenMetrics; for the judge alone,
// Source, a fake verdict.SampleSource of given series.
package verdicttest

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/steadywatch/steadywatch/chaos"
)

// GroupSim is how one group of a scenario behaves: Poisson-ish traffic of
// rps requests a second, lognormal latencies and independent errors. The
// code="500" series starts at the first error, as a service's does: a group
// without errors exports none at all. RPS 0 exports flat counters.
type GroupSim struct {
	RPS, Median, Sigma, ErrorRate float64
}

// Scenario is a pair of groups; a group left out has no series.
type Scenario struct {
	Name   string
	Groups map[chaos.Group]GroupSim
	// Chaos, if set, is how the experimental group behaves during the
	// chaos, [From, To) from the first scrape; before and after it behaves
	// as Groups says.
	Chaos *Chaos
}

// Chaos is a period in which the experimental group behaves differently.
type Chaos struct {
	From, To     time.Duration
	Experimental GroupSim
}

// buckets are the latency histogram's upper bounds (without +Inf), fine
// enough for histogram_quantile to see a 50 % shift of the p99.
var buckets = []float64{0.025, 0.05, 0.1, 0.15, 0.2, 0.25, 0.3, 0.35, 0.4, 0.5, 0.6, 0.8, 1, 2.5}

// series is one generated series: its labels and one value per scrape.
type series struct {
	labels string
	values []float64
	// from is the first scrape the series exists at: a service's error
	// counter appears at its first error.
	from int
}

// simulate scrapes a group every 15 s for steps scrapes.
func simulate(rng *rand.Rand, s Scenario, g chaos.Group, sim GroupSim, steps int) (hist, counters []series) {
	labels := fmt.Sprintf(`scenario="%s",group="%s"`, s.Name, g)
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
	normal := sim
	for step := range steps {
		sim := normal
		if c := s.Chaos; c != nil && g == chaos.Experimental {
			if at := time.Duration(step) * 15 * time.Second; at >= c.From && at < c.To {
				sim = c.Experimental
			}
		}
		lambda := sim.RPS * 15
		k := max(0, math.Round(lambda+math.Sqrt(lambda)*rng.NormFloat64()))
		for range int(k) {
			lat := sim.Median * math.Exp(sim.Sigma*rng.NormFloat64())
			for i := range cum {
				if i == len(buckets) || lat <= buckets[i] {
					cum[i]++
				}
			}
			n++
			total += lat
			if rng.Float64() < sim.ErrorRate {
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
	if first := slices.IndexFunc(failed.values, func(v float64) bool { return v > 0 }); first >= 0 {
		failed.from = first
		counters = append(counters, failed)
	}
	return hist, counters
}

// OpenMetrics generates the scenarios' data from a seeded generator, from
// start every 15 s for steps scrapes, as OpenMetrics text.
func OpenMetrics(seed uint64, start time.Time, steps int, scenarios []Scenario) string {
	rng := rand.New(rand.NewPCG(seed, 1)) //nolint:gosec // deterministic test data, on purpose
	var hist, buckets, counts, sums, counters []series
	for _, s := range scenarios {
		for _, g := range []chaos.Group{chaos.Control, chaos.Experimental} {
			sim, ok := s.Groups[g]
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
			for i, v := range s.values[s.from:] {
				i += s.from
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
