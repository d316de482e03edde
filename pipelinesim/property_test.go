package pipelinesim

import (
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
)

// record is the test's own account of the experimental group's API pods
// and primary, kept from what it did to the cluster, not from the sim.
type record struct {
	api          map[string]apiRecord
	nodeBReady   bool
	primaryReady bool
}

type apiRecord struct {
	node  string
	ready bool
}

func (r record) serving() int {
	n := 0
	for _, p := range r.api {
		if p.ready && (p.node != "experimental-b" || r.nodeBReady) {
			n++
		}
	}
	return n
}

// taken is the requests per second the API takes (the rest of the 100 req/s
// offered get 503 at once if no replica serves): 50 per serving replica.
func (r record) taken() float64 {
	return min(100, 50*float64(r.serving()))
}

// expected is the minute that starts with a change from what was (which
// held for the minute before) to what r says, with the default model.
// Requests taken while the primary is down wait up to a second for it: a
// minute's last second of them is settled in the next, 200s if the primary
// is back then, 500s if not; the rest fail a second after they came.
func (r record) expected(wasRate float64, wasPrimaryReady bool) view {
	var v view
	if r.serving() == 0 {
		v.unavailable = 6000
	}
	if r.primaryReady {
		v.ok = 60 * r.taken()
	} else {
		v.serverErrors = 59 * r.taken()
	}
	if !wasPrimaryReady {
		if r.primaryReady {
			v.ok += wasRate
		} else {
			v.serverErrors += wasRate
		}
	}
	v.commits, v.exceptions, v.requests = v.ok, v.serverErrors, v.ok+v.serverErrors
	return v
}

func TestAnyRunOfExperimentalChaosMovesOnlyTheExperimentalGroupAndAsTheClusterSays(t *testing.T) {
	for seed := range uint64(3) {
		t.Run(fmt.Sprint("seed ", seed), func(t *testing.T) {
			rng := rand.New(rand.NewPCG(seed, 18))
			b := startBed(t)
			rec := record{api: map[string]apiRecord{}, nodeBReady: true, primaryReady: true}
			for i, zone := range []string{"a", "b", "a"} {
				rec.api[fmt.Sprintf("scale-app-experimental-%d", i)] = apiRecord{node: "experimental-" + zone, ready: true}
			}
			next := 3
			// Each window starts where the last ended: requests that waited
			// for the primary are settled when it is back, at the change.
			last := b.scrape()
			for step := range 25 {
				wasRate, wasPrimaryReady := rec.taken(), rec.primaryReady
				what := chaosStep(t, b, rng, &rec, &next)
				// Once the informers hold the recorded cluster, no refresh
				// can compute a state between the old and the new.
				require.Eventually(t, func() bool { return informed(b, rec) }, 10*time.Second, time.Millisecond, what)
				b.until("experimental", what, func(r Rates) bool {
					return r.ReadyAPI == rec.serving() && r.PrimaryReady == rec.primaryReady
				})
				b.clock.Advance(time.Minute)
				d := delta{before: last, after: b.scrape()}
				last = d.after
				got := d.of("experimental")
				got.meanLatency, got.sparkCompleted, got.sparkFailed = 0, 0, 0
				require.Equal(t, rec.expected(wasRate, wasPrimaryReady), got, "step %d: %s", step, what)
				requireView(t, steady, d.of("control"), fmt.Sprintf("control after step %d: %s", step, what))
			}
		})
	}
}

// informed is whether the sim's informers hold what rec says.
func informed(b *bed, rec record) bool {
	pods, err := b.sim.pods.Pods(ns).List(labels.SelectorFromSet(labels.Set{GroupLabel: "experimental", ComponentLabel: ComponentAPI}))
	if err != nil || len(pods) != len(rec.api) {
		return false
	}
	for _, p := range pods {
		r, ok := rec.api[p.Name]
		if !ok || podReady(p, func(string) bool { return true }) != r.ready {
			return false
		}
	}
	n, err := b.sim.nodes.Get("experimental-b")
	if err != nil || nodeIsReady(n) != rec.nodeBReady {
		return false
	}
	p, err := b.sim.pods.Pods(ns).Get(primary)
	return err == nil && podReady(p, func(string) bool { return true }) == rec.primaryReady
}

// chaosStep does one random thing to the experimental group and records it.
func chaosStep(t *testing.T, b *bed, rng *rand.Rand, rec *record, next *int) string {
	t.Helper()
	pods := b.client.CoreV1().Pods(ns)
	names := make([]string, 0, len(rec.api))
	for name := range rec.api {
		names = append(names, name)
	}
	switch op := rng.IntN(5); {
	case op == 0 && len(names) > 0: // an API pod deleted
		name := names[rng.IntN(len(names))]
		require.NoError(t, pods.Delete(t.Context(), name, metav1.DeleteOptions{}))
		delete(rec.api, name)
		return "deleted " + name
	case op == 1 && len(names) > 0: // an API pod's readiness flipped
		name := names[rng.IntN(len(names))]
		p := rec.api[name]
		p.ready = !p.ready
		_, err := pods.Update(t.Context(), newAPIPod("experimental", name, p.node, "10m", p.ready), metav1.UpdateOptions{})
		require.NoError(t, err)
		rec.api[name] = p
		return fmt.Sprintf("%s ready=%v", name, p.ready)
	case op == 2: // zone b's node fails or comes back
		rec.nodeBReady = !rec.nodeBReady
		_, err := b.client.CoreV1().Nodes().UpdateStatus(t.Context(), node("experimental-b", rec.nodeBReady), metav1.UpdateOptions{})
		require.NoError(t, err)
		return fmt.Sprintf("node experimental-b ready=%v", rec.nodeBReady)
	case op == 3: // the primary fails or comes back
		rec.primaryReady = !rec.primaryReady
		_, err := pods.Update(t.Context(), newPGPod("experimental", primary, ComponentPrimary, "experimental-a", rec.primaryReady), metav1.UpdateOptions{})
		require.NoError(t, err)
		return fmt.Sprintf("primary ready=%v", rec.primaryReady)
	default: // the HPA or a ReplicaSet adds a pod, in either zone
		name := fmt.Sprintf("scale-app-experimental-%d", *next)
		*next++
		p := apiRecord{node: "experimental-" + []string{"a", "b"}[rng.IntN(2)], ready: rng.IntN(2) == 0}
		_, err := pods.Create(t.Context(), newAPIPod("experimental", name, p.node, "10m", p.ready), metav1.CreateOptions{})
		require.NoError(t, err)
		rec.api[name] = p
		return fmt.Sprintf("added %s on %s ready=%v", name, p.node, p.ready)
	}
}

func TestAnySpellsOfThePrimaryCountEachRequestOnceAsTheRetryBudgetSays(t *testing.T) {
	const budget = 1.0 // seconds, the default
	for seed := range uint64(3) {
		t.Run(fmt.Sprint("seed ", seed), func(t *testing.T) {
			rng := rand.New(rand.NewPCG(seed, 90))
			b := startBed(t)
			first := b.scrape()
			// The test's own account of the experimental group at 100 req/s
			// and a mean service time of 30 ms: served at once, waited and
			// then served, failed at the budget, and their total time.
			var ok, failed, seconds float64
			ms := func(lo, hi int) time.Duration { return time.Duration(lo+rng.IntN(hi-lo+1)) * time.Millisecond }
			for range 8 {
				up := ms(500, 3000)
				b.clock.Advance(up)
				ok += 100 * up.Seconds()
				seconds += 100 * up.Seconds() * 0.03

				spell := ms(0, 2500)
				b.setPrimary(false)
				// Scrapes at random moments of the spell settle the failed
				// requests in pieces.
				for left := spell; left > 0; {
					step := min(left, ms(1, 1500))
					b.clock.Advance(step)
					left -= step
					b.scrape()
				}
				b.setPrimary(true)
				waited := min(spell.Seconds(), budget)
				ok += 100 * waited
				seconds += 100 * waited * (waited/2 + 0.03)
				failed += 100 * (spell.Seconds() - waited)
				seconds += 100 * (spell.Seconds() - waited) * budget
			}
			d := delta{before: first, after: b.scrape()}
			got := d.of("experimental")
			require.InDelta(t, ok, got.ok, 1, "200s")
			require.InDelta(t, ok, got.commits, 1, "commits")
			require.InDelta(t, failed, got.serverErrors, 1, "500s")
			require.Zero(t, got.unavailable)
			require.InDelta(t, ok+failed, got.requests, 1, "each request counted once")
			sum := d.after["flask_http_request_duration_seconds_sum{method=GET,steadywatch_io_group=experimental}"] -
				d.before["flask_http_request_duration_seconds_sum{method=GET,steadywatch_io_group=experimental}"]
			require.InDelta(t, seconds, sum, 1e-6, "the requests' time")
		})
	}
}
