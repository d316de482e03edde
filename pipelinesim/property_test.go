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

// expected is a minute of requests and commits for what the record says,
// with the default model: 100 req/s offered, 50 per serving replica.
func (r record) expected() view {
	n := r.serving()
	if n == 0 {
		return view{unavailable: 6000}
	}
	served := min(6000, float64(n)*3000)
	if r.primaryReady {
		return view{ok: served, commits: served, requests: served}
	}
	return view{serverErrors: served, exceptions: served, requests: served}
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
			for step := range 25 {
				what := chaosStep(t, b, rng, &rec, &next)
				// Once the informers hold the recorded cluster, no refresh
				// can compute a state between the old and the new.
				require.Eventually(t, func() bool { return informed(b, rec) }, 10*time.Second, time.Millisecond, what)
				b.until("experimental", what, func(r Rates) bool {
					return r.ReadyAPI == rec.serving() && r.PrimaryReady == rec.primaryReady
				})
				d := b.over(time.Minute)
				got := d.of("experimental")
				got.meanLatency, got.sparkCompleted, got.sparkFailed = 0, 0, 0
				require.Equal(t, rec.expected(), got, "step %d: %s", step, what)
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
