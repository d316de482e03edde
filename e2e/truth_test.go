package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/util/retry"

	"github.com/steadywatch/steadywatch/api"
	"github.com/steadywatch/steadywatch/chaos"
	"github.com/steadywatch/steadywatch/config"
	"github.com/steadywatch/steadywatch/hypothesis"
	"github.com/steadywatch/steadywatch/internal/testenv/scale"
	"github.com/steadywatch/steadywatch/verdict"
	"github.com/steadywatch/steadywatch/verdict/promsource"
)

// truthTolerance is how far steadywatch's MTTR and fault start may be from
// the oracle's, on top of the watch delivery delay the oracle measured for
// that fault.
const truthTolerance = 100 * time.Millisecond

// truthGap is how long the pods of a case stay unchanged between two
// faults, so that each incident can only belong to one: incidents are
// matched to the fault they start within a second of.
const truthGap = 2500 * time.Millisecond

// truthEnv is one case's namespace, nodes, oracle and steadywatch.
type truthEnv struct {
	t       *testing.T
	c       kubernetes.Interface
	ns      string
	nodes   []string
	service string
	o       *oracle
	sw      *instance
	// w is the case's workload.
	w workloadRef
	// killLate, if set, makes killPods time its DELETE to return that
	// long after a second ends: the API server dates the deletion in the
	// second that ends, a watch receives it in the next.
	killLate time.Duration
	// killLatency is how long the last DELETE took.
	killLatency time.Duration
	// holdByFinalizer makes killPods hold the replacements back by a
	// finalizer on the victims, removed after the hold, instead of by
	// cordoning the nodes (which DaemonSet pods tolerate).
	holdByFinalizer bool
}

// holdFinalizer keeps a killed pod terminating until the test removes it.
const holdFinalizer = "truth.steadywatch.io/hold"

// fault is one injected fault, the oracle's truth about it and the
// incident it must make.
type fault struct {
	truth
	// kinds are the incident kinds that describe the fault truthfully
	// (one, but for a stuck rollout).
	kinds  []chaos.Kind
	object api.Object
	// recovery is the hypothesis's recovery section for a bound of d
	// (the true value ± a margin): the verdict must pass above and fail
	// below.
	recovery func(d time.Duration) string
	// window is the hypothesis's chaos window; zero: [start−1s, start+1s].
	windowStart, windowEnd time.Time
	// boundTruth is the true value recovery's bound is measured against;
	// zero: the MTTR.
	boundTruth time.Duration
	// node, for a node fault, is the node, which has an incident of its
	// own beside the service's, ending at nodeEnd (Ready again).
	node    string
	nodeEnd time.Time
	// lost is set when the node stayed down until its pods were evicted.
	lost bool
}

type truthCase struct {
	name string
	// what names the fault kind in the error table.
	what   string
	reps   int
	setup  func(e *truthEnv)
	inject func(e *truthEnv, rep int) fault
	// settle waits until the case is ready for the next fault; nil: the
	// workload whole and steadywatch without open incidents.
	settle func(e *truthEnv)
}

// TestEveryInjectedFaultIsOneIncidentWithTheOraclesMTTRAndAnHonestVerdict
// injects each fault kind steadywatch watches, several times, each case in
// its own namespace with its own nodes and its own steadywatch, and checks
// every figure against the oracle (oracle_test.go): one incident per fault
// of the right kind, service and group; its start and MTTR within 100 ms
// plus the watch's delivery delay of the truth; MTBF samples only between
// distinct faults; and a hypothesis bounding the recovery just above the
// truth passes, just below fails.
func TestEveryInjectedFaultIsOneIncidentWithTheOraclesMTTRAndAnHonestVerdict(t *testing.T) {
	b := needBed(t)
	c := b.Client()
	table := &errorTable{}
	began := time.Now()
	// One steadywatch watches every case: server.Run sets client-go's
	// process-wide klog logger, which races with the client-go calls of
	// anything already running, so a second one cannot start beside the
	// first. Each case has its own service, namespace and nodes.
	cases := truthCases()
	envs := make([]*truthEnv, len(cases))
	var namespaces []string
	for i, tc := range cases {
		e := &truthEnv{
			t: t, c: c, ns: "truth-" + tc.name, service: strings.ReplaceAll(tc.name, "-", ""),
		}
		e.nodes = []string{e.ns + "-1", e.ns + "-2"}
		namespace(t, e.ns)
		// The first node only, so that the workload starts on it (the node
		// faults need its pods there), then the second.
		node(t, e.nodes[0], map[string]string{"pool": e.ns, "truth": "yes"})
		tc.setup(e)
		node(t, e.nodes[1], map[string]string{"pool": e.ns, "truth": "yes"})
		envs[i] = e
		namespaces = append(namespaces, e.ns)
	}
	sw := startSteadywatch(t, namespaces[0], t.TempDir(), func(cfg *config.Config) {
		cfg.Watch.Namespaces = namespaces
		cfg.Watch.NodeSelector = "truth=yes"
	})
	t.Logf("set up in %s", time.Since(began).Round(time.Second))
	t.Run("cases", func(t *testing.T) {
		for i, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				t.Parallel()
				e := envs[i]
				e.t, e.sw = t, sw
				runTruthCase(e, tc, table)
			})
		}
	})
	t.Logf("measured error, steadywatch − oracle, in ms (run %s, %s):\n%s",
		began.UTC().Format(time.RFC3339), time.Since(began).Round(time.Second), table)
}

func truthCases() []truthCase {
	return []truthCase{
		{
			name: "kill-one", what: "pod kill (Deployment, 1 of 3, held 1 s; #2–#4 at a second's end)", reps: 5,
			setup: func(e *truthEnv) {
				e.w = workloadRef{"Deployment", "web"}
				createDeployment(e.t, e.c, scale.Deployment(e.ns, "web", e.service, "experimental", e.ns, 3))
			},
			inject: func(e *truthEnv, rep int) fault {
				// The API server dates a deletion in whole seconds; one
				// requested in a second's last milliseconds is seen by any
				// watch in the next (killLate).
				e.killLate = 0
				if rep >= 1 && rep <= 3 {
					e.killLate = time.Duration(2*rep-1) * time.Millisecond
				}
				// Held 1 s: a replacement Ready in ≈ 50 ms is inside the
				// verdict's margin, and a bound below it could not fail.
				return e.killPods(1, time.Second, nil)
			},
		},
		{
			name: "kill-two", what: "pod kill (Deployment, 2 of 4 at once, held 2 s)", reps: 3,
			setup: func(e *truthEnv) {
				e.w = workloadRef{"Deployment", "web"}
				createDeployment(e.t, e.c, scale.Deployment(e.ns, "web", e.service, "experimental", e.ns, 4))
			},
			inject: func(e *truthEnv, _ int) fault {
				return e.killPods(2, 2*time.Second, nil)
			},
		},
		{
			name: "sts-primary", what: "StatefulSet pod-0 kill, default grace, held 3 s (#1)", reps: 3,
			setup: func(e *truthEnv) {
				e.w = workloadRef{"StatefulSet", "db"}
				createStatefulSet(e.t, e.c, statefulSet(e.ns, "db", e.service, "experimental", e.ns, 2))
			},
			inject: func(e *truthEnv, _ int) fault {
				return e.killPods(1, 3*time.Second, nil)
			},
		},
		{
			name: "sts-primary-now", what: "StatefulSet pod-0 kill, grace 0, held 3 s", reps: 3,
			setup: func(e *truthEnv) {
				e.w = workloadRef{"StatefulSet", "db"}
				createStatefulSet(e.t, e.c, statefulSet(e.ns, "db", e.service, "experimental", e.ns, 2))
			},
			inject: func(e *truthEnv, _ int) fault {
				zero := int64(0)
				return e.killPods(1, 3*time.Second, &zero)
			},
		},
		{
			name: "daemonset", what: "DaemonSet pod kill (1 of 2), default grace or 0, held 2 s", reps: 3,
			setup: func(e *truthEnv) {
				e.w = workloadRef{"DaemonSet", "agent"}
				createDaemonSet(e.t, e.c, daemonSet(e.ns, "agent", e.service, "experimental", e.ns))
			},
			inject: func(e *truthEnv, rep int) fault {
				// Cordoning holds no DaemonSet pod back (they tolerate
				// it); a finalizer does: the DaemonSet controller replaces
				// a pod only once it is gone (holdByFinalizer). A kill
				// with its grace period or without.
				e.holdByFinalizer = true
				var grace *int64
				if rep%2 == 1 {
					grace = new(int64(0))
				}
				return e.killPods(1, 2*time.Second, grace)
			},
		},
		{
			name: "node-blip", what: "node NotReady 2 s and back (#4)", reps: 3,
			setup: func(e *truthEnv) {
				e.w = workloadRef{"Deployment", "cache"}
				createDeployment(e.t, e.c, scale.Deployment(e.ns, "cache", e.service, "experimental", e.ns, 2))
			},
			inject: func(e *truthEnv, _ int) fault {
				return e.failNode(e.nodes[0], false)
			},
			settle: settleUntainted,
		},
		{
			name: "node-lost", what: "node lost, its pods evicted (#4)", reps: 3,
			setup: func(e *truthEnv) {
				e.w = workloadRef{"Deployment", "queue"}
				createDeployment(e.t, e.c, scale.Deployment(e.ns, "queue", e.service, "experimental", e.ns, 2))
			},
			inject: loseNode,
		},
		{
			name: "node-lost-sts", what: "node lost, its StatefulSet pods evicted (#4)", reps: 3,
			setup: func(e *truthEnv) {
				e.w = workloadRef{"StatefulSet", "db"}
				createStatefulSet(e.t, e.c, statefulSet(e.ns, "db", e.service, "experimental", e.ns, 2))
			},
			inject: loseNode,
		},
		{
			name: "node-blip-ds", what: "node NotReady 2 s and back, its DaemonSet pod (#4)", reps: 3,
			setup: func(e *truthEnv) {
				// Created before the second node: one pod on the first, one
				// on the second once it joins.
				e.w = workloadRef{"DaemonSet", "agent"}
				createDaemonSet(e.t, e.c, daemonSet(e.ns, "agent", e.service, "experimental", e.ns))
			},
			inject: func(e *truthEnv, _ int) fault {
				return e.failNode(e.nodes[0], false)
			},
			settle: settleUntainted,
		},
		{
			name: "hpa", what: "HPA up 3→6 and back", reps: 3,
			setup:  setupHPA,
			inject: scaleHPA,
			settle: func(e *truthEnv) {
				e.o.await(e.t, 150*time.Second, "the HPA reading CPU metrics, at 3 replicas, the pods whole", time.Time{}, func(s *clusterState, _ *record) bool {
					h := s.hpas["api"]
					return h != nil && hpaScalingActive(h) && h.Status.DesiredReplicas == 3 && s.whole(e.w)
				})
				e.noOpenIncidents()
				e.o.quiet(e.t, truthGap)
			},
		},
		{
			name: "crash", what: "container OOMKilled / crash loop, back after 2 s (#5)", reps: 3,
			setup: func(e *truthEnv) {
				e.w = workloadRef{"Deployment", "worker"}
				createDeployment(e.t, e.c, scale.Deployment(e.ns, "worker", e.service, "experimental", e.ns, 2))
			},
			inject: func(e *truthEnv, rep int) fault {
				return e.crashContainer(rep%2 == 1)
			},
		},
		{
			name: "rollout", what: "rollout that never becomes available, rolled back", reps: 3,
			setup: func(e *truthEnv) {
				e.w = workloadRef{"Deployment", "api"}
				d := scale.Deployment(e.ns, "api", e.service, "experimental", e.ns, 3)
				one, zero := intstr.FromInt32(1), intstr.FromInt32(0)
				d.Spec.Strategy = appsv1.DeploymentStrategy{
					Type:          appsv1.RollingUpdateDeploymentStrategyType,
					RollingUpdate: &appsv1.RollingUpdateDeployment{MaxUnavailable: &one, MaxSurge: &zero},
				}
				createDeployment(e.t, e.c, d)
			},
			inject: func(e *truthEnv, rep int) fault {
				return e.stuckRollout(rep)
			},
		},
	}
}

// loseNode fails the node that holds the workload's pods now (they moved
// last time) until they are evicted and replaced elsewhere.
func loseNode(e *truthEnv, _ int) fault {
	var node string
	for _, p := range e.o.now().podsOf(e.w) {
		node = p.Spec.NodeName
	}
	require.NotEmpty(e.t, node)
	return e.failNode(node, true)
}

// settleUntainted settles a node blip: the workload whole, and no node
// still carrying the NoExecute not-ready or unreachable taint of the blip
// before. The taint manager dates an eviction from when the taint was
// added, so a taint the node lifecycle controller has not yet removed
// evicts in the next blip, seconds early: CI saw a pod evicted 5 s after
// the first blip's taint, 62 ms after the second blip ended, and
// steadywatch rightly recorded a pod_deleted incident the case did not
// inject.
func settleUntainted(e *truthEnv) {
	t := e.t
	e.o.await(t, 60*time.Second, "the workload whole", time.Time{}, func(s *clusterState, _ *record) bool {
		return s.whole(e.w)
	})
	e.o.awaitNow(t, 60*time.Second, "the NoExecute taints of the last blip gone", func(s *clusterState) bool {
		for _, n := range s.nodes {
			for _, taint := range n.Spec.Taints {
				if taint.Effect == corev1.TaintEffectNoExecute && (taint.Key == corev1.TaintNodeNotReady || taint.Key == corev1.TaintNodeUnreachable) {
					return false
				}
			}
		}
		return true
	})
	e.noOpenIncidents()
	e.o.quiet(t, truthGap)
}

func runTruthCase(e *truthEnv, tc truthCase, table *errorTable) {
	t := e.t
	e.o = startOracle(t, e.c, e.ns, e.ns)
	settle := tc.settle
	if settle == nil {
		settle = func(e *truthEnv) {
			e.o.await(t, 60*time.Second, "the workload whole", time.Time{}, func(s *clusterState, _ *record) bool {
				return s.whole(e.w)
			})
			e.noOpenIncidents()
			e.o.quiet(t, truthGap)
		}
	}
	var faults []fault
	for rep := range tc.reps {
		settle(e)
		f := tc.inject(e, rep)
		lo, hi := f.mttrRange()
		t.Logf("%s #%d: oracle start %s, MTTR %.3fs, watch delay %s", tc.name, rep+1,
			f.start.UTC().Format("15:04:05.000"), f.mttr().Seconds(), f.delay.Round(time.Millisecond))
		if lo != hi {
			t.Logf("%s #%d: the replacement was stamped Ready %s before the cluster had it: MTTR between %.3fs and %.3fs",
				tc.name, rep+1, (hi - lo).Round(time.Millisecond), lo.Seconds(), hi.Seconds())
		}
		faults = append(faults, f)
	}
	settle(e)
	e.check(tc, faults, table)
}

// noOpenIncidents waits, without failing, until steadywatch has no open
// incident: what it still has open then is found by the checks.
func (e *truthEnv) noOpenIncidents() {
	_ = wait.PollUntilContextTimeout(e.t.Context(), 50*time.Millisecond, 20*time.Second, true, func(context.Context) (bool, error) {
		for _, inc := range e.incidents() {
			if inc.End == nil {
				return false, nil
			}
		}
		return true, nil
	})
}

func (e *truthEnv) incidents() []api.Incident {
	e.t.Helper()
	code, body, err := httpGet(e.sw.url + api.IncidentsPath)
	require.NoError(e.t, err)
	require.Equal(e.t, http.StatusOK, code, body)
	var list api.IncidentList
	require.NoError(e.t, json.Unmarshal([]byte(body), &list))
	require.False(e.t, list.Truncated)
	// The case's own: of its service, or of its nodes.
	var out []api.Incident
	for _, inc := range list.Incidents {
		if inc.Service == e.service || inc.Object.Kind == "Node" && slices.Contains(e.nodes, inc.Object.Name) {
			out = append(out, inc)
		}
	}
	return out
}

func (e *truthEnv) cordon(on bool) {
	for _, n := range e.nodes {
		setUnschedulable(e.t, e.c, n, on)
	}
}

// setFinalizer adds holdFinalizer to the pod, or removes every finalizer
// it has (the test's is its only one).
func (e *truthEnv) setFinalizer(pod string, on bool) {
	body := `{"metadata":{"finalizers":null}}`
	if on {
		body = fmt.Sprintf(`{"metadata":{"finalizers":[%q]}}`, holdFinalizer)
		// Whatever happens to the test, the pod must not stay behind.
		e.t.Cleanup(func() {
			_, _ = e.c.CoreV1().Pods(e.ns).Patch(context.Background(), pod, types.MergePatchType,
				[]byte(`{"metadata":{"finalizers":null}}`), metav1.PatchOptions{})
		})
	}
	_, err := e.c.CoreV1().Pods(e.ns).Patch(e.t.Context(), pod, types.MergePatchType, []byte(body), metav1.PatchOptions{})
	require.NoError(e.t, err, "pod %s: finalizer %s", pod, body)
}

// podRecovery is the recovery section for a pod kill: the MTTR and the
// replacement's readiness, both the same truth.
func podRecovery(d time.Duration) string {
	return fmt.Sprintf("mttr: %dms\n    replacementReady: %dms", d.Milliseconds(), d.Milliseconds())
}

func mttrRecovery(d time.Duration) string { return fmt.Sprintf("mttr: %dms", d.Milliseconds()) }

// killPods deletes n ready pods of the workload (for a StatefulSet, its
// first ones: pod-0 is the primary), with the nodes cordoned for hold if
// hold > 0 so that the replacements stay Pending that long.
func (e *truthEnv) killPods(n int, hold time.Duration, grace *int64) fault {
	t := e.t
	var victims []*corev1.Pod
	for _, p := range e.o.now().podsOf(e.w) {
		if ready, _ := podReady(p); ready {
			victims = append(victims, p)
		}
	}
	sort.Slice(victims, func(i, j int) bool { return victims[i].Name < victims[j].Name })
	require.GreaterOrEqual(t, len(victims), n)
	victims = victims[:n]
	uids := make([]types.UID, n)
	for i, p := range victims {
		uids[i] = p.UID
	}
	var released time.Time // when the cordon that held the replacements went
	switch {
	case hold > 0 && e.holdByFinalizer:
		for _, p := range victims {
			e.setFinalizer(p.Name, true)
		}
	case hold > 0:
		e.cordon(true)
	}
	if e.killLate > 0 {
		now := time.Now()
		time.Sleep(now.Truncate(time.Second).Add(time.Second + e.killLate - e.killLatency).Sub(now))
	}
	sw := timed(func() {
		var wg sync.WaitGroup
		for _, p := range victims {
			wg.Go(func() {
				assert.NoError(t, e.c.CoreV1().Pods(e.ns).Delete(t.Context(), p.Name, metav1.DeleteOptions{GracePeriodSeconds: grace}))
			})
		}
		wg.Wait()
	})
	e.killLatency = sw.after.Sub(sw.before)
	start, delay, deleted := e.o.podsKilled(t, uids, sw)
	switch {
	case hold > 0 && e.holdByFinalizer:
		// Held from the deletion: no replacement while a victim is
		// still there, terminating.
		time.Sleep(time.Until(deleted.Add(hold))) // the fault's duration, not a wait for a condition
		for _, p := range victims {
			e.setFinalizer(p.Name, false)
		}
	case hold > 0:
		// Held from when every replacement exists, unscheduled.
		e.o.await(t, 30*time.Second, "the replacements created", deleted, func(s *clusterState, _ *record) bool {
			var fresh int
			for _, p := range s.podsOf(e.w) {
				if !slices.Contains(uids, p.UID) && p.Spec.NodeName == "" {
					fresh++
				}
			}
			return fresh >= n
		})
		time.Sleep(hold) // the fault's duration, not a wait for a condition
		released = time.Now()
		e.cordon(false)
	}
	end, earliest := e.o.back(t, e.w, deleted, 60*time.Second)
	// While every node was cordoned no replacement could be bound, let
	// alone Ready: the truth is no earlier than the release, whatever
	// the whole second of kwok's Ready stamp allows (CI: a stamp of
	// .000 for a kill at .947 put the earliest 52 ms after it).
	if earliest.Before(released) {
		earliest = released
	}
	return fault{
		truth: truth{start: start, end: end, endEarliest: earliest, delay: delay},
		kinds: []chaos.Kind{chaos.PodDeleted}, object: api.Object{Kind: e.w.Kind, Namespace: e.ns, Name: e.w.Name},
		recovery: podRecovery,
	}
}

// failNode makes kwok report name NotReady, and Ready again: after 2 s
// (before the pods' 5 s NoExecute toleration ends), or, lost, once its
// pods were evicted and their replacements are Ready elsewhere.
func (e *truthEnv) failNode(name string, lost bool) fault {
	t := e.t
	sw := timed(func() { takeNodeDown(t, e.c, name) })
	delay := e.o.received(t, sw, "the label on "+name, func(obj runtime.Object) bool {
		n, ok := obj.(*corev1.Node)
		return ok && n.Name == name && n.Labels[notReadyLabel] == "true"
	})
	start := e.o.nodeReadiness(t, name, false, sw.before, 30*time.Second)
	var whole, wholeEarliest time.Time // the workload whole again
	if lost {
		// Evicted: the workload whole again with no pod on the node.
		r, _ := e.o.await(t, 90*time.Second, "the pods evicted and replaced", start, func(s *clusterState, _ *record) bool {
			for _, p := range s.podsOf(e.w) {
				if p.Spec.NodeName == name {
					return false
				}
			}
			return s.whole(e.w)
		})
		whole, wholeEarliest = readyMoment(&r)
		bringNodeBack(t, e.c, name, time.Now().Add(time.Second)) // the node stays down a while longer
	} else {
		bringNodeBack(t, e.c, name, start.Add(2*time.Second))
	}
	end := e.o.nodeReadiness(t, name, true, start, 30*time.Second)
	if !lost {
		e.reReady(name)
		// Back when the workload is whole with the node Ready again — or
		// with none of its pods left on the node: the node controller's
		// NoExecute taint can outlive a blip, so a later blip may see the
		// pods evicted at once (their 5 s toleration counted from the
		// taint's first time) and replaced elsewhere while the node is
		// still down (seen on 2 cores: whole again 0.51 s in).
		r, _ := e.o.await(t, 60*time.Second, e.w.Name+" whole again", start, func(s *clusterState, _ *record) bool {
			if !s.whole(e.w) {
				return false
			}
			if n := s.nodes[name]; n != nil && nodeIsReady(n) {
				return true
			}
			for _, p := range s.podsOf(e.w) {
				if p.Spec.NodeName == name {
					return false
				}
			}
			return true
		})
		whole, wholeEarliest = readyMoment(&r)
	}
	// The service's incident lasts until its workload is whole again; the
	// node's own (of no service: a node serves many) until it is Ready.
	return fault{
		truth: truth{start: start, end: whole, endEarliest: wholeEarliest, delay: delay},
		kinds: []chaos.Kind{chaos.NodeNotReady}, object: api.Object{Kind: e.w.Kind, Namespace: e.ns, Name: e.w.Name},
		node: name, nodeEnd: end, lost: lost,
		recovery: mttrRecovery,
	}
}

// reReady does for the pods of a node that came back what its kubelet
// would: the node controller marked them not Ready while the node was
// down, and kwok's stages only make Pending pods Ready.
func (e *truthEnv) reReady(name string) {
	t := e.t
	for _, p := range e.o.now().podsOf(e.w) {
		if p.Spec.NodeName != name {
			continue
		}
		err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
			cur, err := e.c.CoreV1().Pods(e.ns).Get(t.Context(), p.Name, metav1.GetOptions{})
			if err != nil {
				return err
			}
			if ready, _ := podReady(cur); ready || cur.DeletionTimestamp != nil || cur.Status.Phase != corev1.PodRunning {
				return nil
			}
			now := metav1.Now()
			for i := range cur.Status.Conditions {
				if c := &cur.Status.Conditions[i]; c.Type == corev1.PodReady || c.Type == corev1.ContainersReady {
					c.Status, c.LastTransitionTime = corev1.ConditionTrue, now
				}
			}
			_, err = e.c.CoreV1().Pods(e.ns).UpdateStatus(t.Context(), cur, metav1.UpdateOptions{})
			return err
		})
		require.NoError(t, err)
	}
}

// kubelet writes a pod's status as its kubelet would: kwok's stages make
// containers run and never crash, so the test plays the kubelet of a
// container that is OOM-killed or crash-loops. It returns the stopwatch
// around the write that succeeded.
func (e *truthEnv) kubelet(name string, state corev1.ContainerState, restarts int32, ready bool) (sw stopwatch) {
	t := e.t
	err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
		p, err := e.c.CoreV1().Pods(e.ns).Get(t.Context(), name, metav1.GetOptions{})
		if err != nil {
			return err
		}
		require.NotEmpty(t, p.Status.ContainerStatuses, "pod %s has no container status", name)
		cs := &p.Status.ContainerStatuses[0]
		if cs.State.Terminated != nil {
			cs.LastTerminationState = cs.State
		}
		cs.State, cs.RestartCount, cs.Ready = state, restarts, ready
		status := corev1.ConditionFalse
		if ready {
			status = corev1.ConditionTrue
		}
		now := metav1.Now()
		for i := range p.Status.Conditions {
			if c := &p.Status.Conditions[i]; (c.Type == corev1.PodReady || c.Type == corev1.ContainersReady) && c.Status != status {
				c.Status, c.LastTransitionTime = status, now
			}
		}
		sw = timed(func() { _, err = e.c.CoreV1().Pods(e.ns).UpdateStatus(t.Context(), p, metav1.UpdateOptions{}) })
		return err
	})
	require.NoError(t, err)
	return sw
}

// crashContainer kills the container of one pod of the workload: OOMKilled
// and restarted 2 s later, or, loop, crashing twice more in
// CrashLoopBackOff before it runs again. The pod stays; it is one fault.
func (e *truthEnv) crashContainer(loop bool) fault {
	t := e.t
	var victim *corev1.Pod
	for _, p := range e.o.now().podsOf(e.w) {
		if victim == nil || p.Name < victim.Name {
			victim = p
		}
	}
	require.NotNil(t, victim)
	restarts := victim.Status.ContainerStatuses[0].RestartCount
	terminated := func(reason string, code int32) corev1.ContainerState {
		now := metav1.Now()
		return corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{
			Reason: reason, ExitCode: code, StartedAt: now, FinishedAt: now,
		}}
	}
	running := func() corev1.ContainerState {
		return corev1.ContainerState{Running: &corev1.ContainerStateRunning{StartedAt: metav1.Now()}}
	}
	backOff := corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: "CrashLoopBackOff"}}
	var sw stopwatch
	if loop {
		sw = e.kubelet(victim.Name, terminated("Error", 1), restarts, false)
		for range 2 {
			time.Sleep(500 * time.Millisecond) // the kubelet's back-off, shortened
			restarts++
			e.kubelet(victim.Name, backOff, restarts, false)
			time.Sleep(500 * time.Millisecond)
			e.kubelet(victim.Name, terminated("Error", 1), restarts, false)
		}
		time.Sleep(500 * time.Millisecond)
	} else {
		sw = e.kubelet(victim.Name, terminated("OOMKilled", 137), restarts, false)
		time.Sleep(2 * time.Second) // the fault's duration
	}
	delay := e.o.received(t, sw, "the crash", func(obj runtime.Object) bool {
		p, ok := obj.(*corev1.Pod)
		if !ok || p.UID != victim.UID {
			return false
		}
		ready, _ := podReady(p)
		return !ready
	})
	start := sw.before
	e.kubelet(victim.Name, running(), restarts+1, true)
	end, earliest := e.o.back(t, e.w, start, 30*time.Second)
	return fault{
		truth:    truth{start: start, end: end, endEarliest: earliest, delay: delay},
		kinds:    []chaos.Kind{chaos.ContainerRestarted},
		object:   api.Object{Kind: e.w.Kind, Namespace: e.ns, Name: e.w.Name},
		recovery: mttrRecovery,
	}
}

// stuckRollout changes the Deployment's pods to need a node that does not
// exist: the rollout takes one old pod away (maxUnavailable 1) and its
// replacement never gets ready; after 2 s the change is rolled back.
func (e *truthEnv) stuckRollout(rep int) fault {
	t := e.t
	patch := func(pool string) stopwatch {
		body := fmt.Sprintf(`{"spec":{"template":{"spec":{"nodeSelector":{"pool":%q}}}}}`, pool)
		return timed(func() {
			_, err := e.c.AppsV1().Deployments(e.ns).Patch(t.Context(), e.w.Name, types.StrategicMergePatchType, []byte(body), metav1.PatchOptions{})
			require.NoError(t, err)
		})
	}
	sw := patch(fmt.Sprintf("nowhere-%d", rep))
	delay := e.o.received(t, sw, "the new template", func(obj runtime.Object) bool {
		d, ok := obj.(*appsv1.Deployment)
		return ok && d.Name == e.w.Name && d.Spec.Template.Spec.NodeSelector["pool"] != e.ns
	})
	start, seen := e.o.degraded(t, e.w, sw.before)
	e.o.await(t, 30*time.Second, "the new pod pending", sw.before, func(s *clusterState, _ *record) bool {
		for _, p := range s.podsOf(e.w) {
			if p.Spec.NodeSelector["pool"] != e.ns && p.Status.Phase == corev1.PodPending {
				return true
			}
		}
		return false
	})
	time.Sleep(2 * time.Second) // the fault's duration
	patch(e.ns)
	end, earliest := e.o.back(t, e.w, seen, 60*time.Second)
	return fault{
		truth: truth{start: start, end: end, endEarliest: earliest, delay: delay},
		// The rollout's first step deletes an old pod: a pod deletion
		// that leaves the workload short, or its degradation; both are
		// the truth, as long as it is one incident.
		kinds:  []chaos.Kind{chaos.PodDeleted, chaos.WorkloadDegraded},
		object: api.Object{Kind: e.w.Kind, Namespace: e.ns, Name: e.w.Name},
		// replacementReady is about pods killed, not this.
		recovery: mttrRecovery,
	}
}

func setupHPA(e *truthEnv) {
	t := e.t
	e.w = workloadRef{"Deployment", "api"}
	createDeployment(t, e.c, scale.Deployment(e.ns, "api", e.service, "experimental", e.ns, 3))
	minReplicas, zero, fifty := int32(3), int32(0), int32(50)
	hpa := &autoscalingv2.HorizontalPodAutoscaler{
		ObjectMeta: metav1.ObjectMeta{Name: "api", Namespace: e.ns},
		Spec: autoscalingv2.HorizontalPodAutoscalerSpec{
			ScaleTargetRef: autoscalingv2.CrossVersionObjectReference{APIVersion: "apps/v1", Kind: "Deployment", Name: "api"},
			MinReplicas:    &minReplicas,
			MaxReplicas:    6,
			Metrics: []autoscalingv2.MetricSpec{{
				Type: autoscalingv2.ResourceMetricSourceType,
				Resource: &autoscalingv2.ResourceMetricSource{
					Name:   corev1.ResourceCPU,
					Target: autoscalingv2.MetricTarget{Type: autoscalingv2.UtilizationMetricType, AverageUtilization: &fifty},
				},
			}},
			Behavior: &autoscalingv2.HorizontalPodAutoscalerBehavior{
				ScaleDown: &autoscalingv2.HPAScalingRules{StabilizationWindowSeconds: &zero},
			},
		},
	}
	_, err := e.c.AutoscalingV2().HorizontalPodAutoscalers(e.ns).Create(t.Context(), hpa, metav1.CreateOptions{})
	require.NoError(t, err)
	// The case's settle waits until the HPA reads CPU metrics.
}

// scaleHPA loads the pods until the real HPA controller scales the
// Deployment 3→6, then unloads them until it scales back. The truth is
// the Deployment's spec.replicas as the oracle saw it change.
func scaleHPA(e *truthEnv, _ int) fault {
	t := e.t
	load := timed(func() { setCPUUsage(t, e.c, e.ns, "api", "90m") })
	start, _ := e.o.replicas(t, "api", load.before, 90*time.Second, func(n int32) bool { return n > 3 })
	reached, _ := e.o.replicas(t, "api", start, 60*time.Second, func(n int32) bool { return n >= 6 })
	// The new pods start at the template's 10m: 6 × 50m average is the
	// target, so the HPA stays at 6 until all are unloaded.
	unload := timed(func() { setCPUUsage(t, e.c, e.ns, "api", "10m") })
	delay := e.o.received(t, unload, "the unloaded pods", func(obj runtime.Object) bool {
		p, ok := obj.(*corev1.Pod)
		return ok && p.Annotations["kwok.x-k8s.io/usage-cpu"] == "10m" && p.Labels["app"] == "api"
	})
	end, _ := e.o.replicas(t, "api", unload.before, 90*time.Second, func(n int32) bool { return n <= 3 })
	return fault{
		truth:  truth{start: start, end: end, delay: delay},
		kinds:  []chaos.Kind{chaos.HPAScaledUp},
		object: api.Object{Kind: "HorizontalPodAutoscaler", Namespace: e.ns, Name: "api"},
		// Judged from the load on: reaching 6 within the bound, and back
		// at 3 within the same bound's share after the load is off.
		recovery: func(d time.Duration) string {
			return fmt.Sprintf("hpa: {name: api, minReplicas: 6, within: %dms, baselineWithin: %dms}",
				d.Milliseconds(), d.Milliseconds()+end.Sub(unload.before).Milliseconds()-reached.Sub(load.before).Milliseconds())
		},
		windowStart: load.before, windowEnd: unload.before,
		boundTruth: reached.Sub(load.before),
	}
}

// check compares steadywatch's incidents, MTBF and verdicts with the
// oracle's faults.
func (e *truthEnv) check(tc truthCase, faults []fault, table *errorTable) {
	t := e.t
	incs := e.incidents()
	explained := make([]bool, len(incs))
	type match struct {
		all []api.Incident
		inc *api.Incident
	}
	matches := make([]match, len(faults))
	for i, f := range faults {
		var nodeIncs []api.Incident
		for k := range incs {
			inc := &incs[k]
			if inc.Start.Before(f.start.Add(-time.Second)) || inc.Start.After(f.end.Add(time.Second)) {
				continue
			}
			explained[k] = true
			if f.node != "" && inc.Object == (api.Object{Kind: "Node", Name: f.node}) {
				nodeIncs = append(nodeIncs, *inc)
				continue
			}
			matches[i].all = append(matches[i].all, *inc)
		}
		if f.node != "" {
			e.checkNodeIncident(tc, i, f, nodeIncs, table)
		}
		for k := range matches[i].all {
			if slices.Contains(f.kinds, matches[i].all[k].Kind) && matches[i].inc == nil {
				matches[i].inc = &matches[i].all[k]
			}
		}
		if m := matches[i].inc; m != nil && m.RecoverySeconds != nil {
			table.add(tc.what, m.Start.Sub(f.start), f.off(time.Duration(*m.RecoverySeconds*float64(time.Second))), f.delay)
		}
	}
	for i, f := range faults {
		m := matches[i]
		tol := truthTolerance + max(f.delay, 0)
		name := fmt.Sprintf("fault #%d (%s at %s, oracle MTTR %.3fs)", i+1, tc.what, f.start.UTC().Format("15:04:05.000"), f.mttr().Seconds())
		t.Logf("%s: steadywatch: %s", name, describeIncidents(m.all))
		assert.Len(t, m.all, 1, "%s: one incident, not %s", name, describeIncidents(m.all))
		if !assert.NotNil(t, m.inc, "%s: an incident of kind %v", name, f.kinds) {
			continue
		}
		inc := m.inc
		assert.Equal(t, e.service, inc.Service, "%s: service", name)
		assert.Equal(t, "experimental", inc.Group, "%s: group", name)
		assert.Equal(t, f.object, inc.Object, "%s: object", name)
		assert.False(t, inc.Missed, "%s: seen live, not missed", name)
		if !assert.NotNil(t, inc.RecoverySeconds, "%s: recovered", name) {
			continue
		}
		assert.InDelta(t, 0, inc.Start.Sub(f.start).Seconds(), tol.Seconds(),
			"%s: fault start %s within %s of the oracle's %s", name, inc.Start.UTC().Format("15:04:05.000"), tol, f.start.UTC().Format("15:04:05.000"))
		lo, hi := f.mttrRange()
		off := f.off(time.Duration(*inc.RecoverySeconds * float64(time.Second)))
		if !assert.InDelta(t, 0, off.Seconds(), tol.Seconds(), "%s: MTTR %.3fs within %s of the oracle's %.3f–%.3fs",
			name, *inc.RecoverySeconds, tol, lo.Seconds(), hi.Seconds()) {
			t.Logf("%s: what the oracle saw:\n%s", name, e.o.history(f.start.Add(-time.Second), f.end.Add(time.Second)))
		}
	}
	for k, inc := range incs {
		assert.True(t, explained[k], "an incident no fault explains: %s", describeIncidents([]api.Incident{inc}))
	}
	e.checkMTBF(faults)
	for i, f := range faults {
		e.checkVerdict(tc, i, f)
	}
}

// checkNodeIncident checks the node's own incident of a node fault: one,
// from NotReady to Ready as the oracle saw them.
func (e *truthEnv) checkNodeIncident(tc truthCase, i int, f fault, incs []api.Incident, table *errorTable) {
	t := e.t
	name := fmt.Sprintf("fault #%d (%s at %s), node %s", i+1, tc.what, f.start.UTC().Format("15:04:05.000"), f.node)
	// The premise: the node went NotReady once. kwok once set it NotReady
	// again just after it was Ready (see bringNodeBack).
	from, to := f.start.Add(-time.Second), f.end.Add(time.Second)
	if to.Before(f.nodeEnd.Add(time.Second)) {
		to = f.nodeEnd.Add(time.Second)
	}
	assert.Equal(t, 1, e.o.nodeDowns(f.node, from, to), "%s: the test's premise: the node went NotReady once, by the test's own watch:\n%s",
		name, e.o.history(from, to))
	if !assert.Len(t, incs, 1, "%s: one incident of the node, not %s", name, describeIncidents(incs)) {
		return
	}
	inc := incs[0]
	assert.Equal(t, chaos.NodeNotReady, inc.Kind, "%s: kind", name)
	if !assert.NotNil(t, inc.RecoverySeconds, "%s: recovered", name) {
		return
	}
	truthMTTR := f.nodeEnd.Sub(f.start)
	got := time.Duration(*inc.RecoverySeconds * float64(time.Second))
	table.add(tc.what+" — the node's own incident", inc.Start.Sub(f.start), got-truthMTTR, f.delay)
	tol := truthTolerance + max(f.delay, 0)
	assert.InDelta(t, 0, inc.Start.Sub(f.start).Seconds(), tol.Seconds(), "%s: NotReady within %s of the oracle's", name, tol)
	assert.InDelta(t, truthMTTR.Seconds(), *inc.RecoverySeconds, tol.Seconds(), "%s: MTTR (NotReady → Ready) within %s of the oracle's %s", name, tol, truthMTTR)
	// The pods evicted while the node was down: as many as the oracle saw
	// leave it, each one an eviction the controller's events name.
	deleted, evicted := e.o.awaitEvictionEvents(f.node, f.start, f.nodeEnd, 10*time.Second)
	t.Logf("%s: evicted: steadywatch %d, oracle %d pods gone from the node, %d TaintManagerEviction events", name, inc.Evicted, deleted, evicted)
	assert.Equal(t, deleted, evicted, "%s: every pod gone from the node while it was down was evicted by the taint eviction controller", name)
	assert.Equal(t, deleted, inc.Evicted, "%s: evictions counted", name)
	if f.lost {
		assert.Positive(t, deleted, "%s: a lost node's pods are evicted", name)
	}
}

func describeIncidents(incs []api.Incident) string {
	if len(incs) == 0 {
		return "none"
	}
	var parts []string
	for _, inc := range incs {
		s := fmt.Sprintf("%s %s/%s service=%q group=%q start %s", inc.Kind, inc.Object.Kind, inc.Object.Name,
			inc.Service, inc.Group, inc.Start.UTC().Format("15:04:05.000"))
		if inc.RecoverySeconds != nil {
			s += fmt.Sprintf(" MTTR %.3fs", *inc.RecoverySeconds)
		} else {
			s += " open"
		}
		parts = append(parts, s)
	}
	return fmt.Sprintf("%d incidents: %s", len(incs), strings.Join(parts, "; "))
}

// checkMTBF: one sample between each two consecutive failures, of the
// time between their starts; none for what is no failure.
func (e *truthEnv) checkMTBF(faults []fault) {
	t := e.t
	var starts []time.Time
	var tol time.Duration
	for _, f := range faults {
		if f.kinds[0].IsFailure() {
			starts = append(starts, f.start)
			tol += 2 * (truthTolerance + max(f.delay, 0))
		}
	}
	mfs := scrape(t, e.sw.url)
	var count uint64
	var sum float64
	m := series(mfs, "steadywatch_time_between_failures_seconds", map[string]string{"service": e.service, "group": "experimental"})
	if m != nil {
		count, sum = m.GetHistogram().GetSampleCount(), m.GetHistogram().GetSampleSum()
	}
	// One sample between each two consecutive failures; together they
	// span the first to the last.
	var want uint64
	var wantSum float64
	for i := 1; i < len(starts); i++ {
		want++
		wantSum += starts[i].Sub(starts[i-1]).Seconds()
	}
	t.Logf("MTBF: %d samples summing %.3fs; oracle %d, %.3fs", count, sum, want, wantSum)
	assert.Equal(t, want, count, "MTBF samples: one between each two consecutive faults")
	assert.InDelta(t, wantSum, sum, tol.Seconds(), "MTBF samples add up to the time from the first fault to the last")
}

// checkVerdict judges a hypothesis whose recovery bound is just above the
// truth (pass) and just below (fail), against steadywatch's store. It has
// no metrics, so Prometheus is never asked: an address nothing listens on
// would make every query inconclusive.
func (e *truthEnv) checkVerdict(tc truthCase, i int, f fault) {
	t := e.t
	lo, hi := f.boundTruth, f.boundTruth
	if f.boundTruth == 0 {
		lo, hi = f.mttrRange()
	}
	margin := truthTolerance + max(f.delay, 0) + 50*time.Millisecond
	from, until := f.windowStart, f.windowEnd
	if from.IsZero() {
		from, until = f.start.Add(-time.Second), f.start.Add(time.Second)
	}
	judge, err := promsource.NewJudge(promsource.Options{URL: "http://127.0.0.1:1"}, verdict.Options{Store: e.sw.Store})
	require.NoError(t, err)
	for _, c := range []struct {
		bound time.Duration
		want  verdict.Result
	}{
		{hi + margin, verdict.Pass},
		{lo - margin, verdict.Fail},
	} {
		if c.bound <= 0 {
			// A bound test tests both sides: a fault too short to bound
			// from below must be held longer, not skip its fail side.
			t.Errorf("%s fault #%d: the true value %s–%s is within the margin %s of 0: no bound below it can fail",
				tc.name, i+1, lo, hi, margin)
			continue
		}
		// No metrics are judged: the step only sets how long after the
		// window its last events are given to arrive (2 steps) before the
		// verdict is final.
		doc := fmt.Sprintf(`apiVersion: steadywatch.io/v1alpha1
kind: Hypothesis
metadata:
  name: truth-%d
spec:
  service: %s
  step: 1s
  groups:
    control: group="control"
    experimental: group="experimental"
  window:
    fixed: {start: %s, end: %s}
  recovery:
    %s
`, i+1, e.service, from.UTC().Format(time.RFC3339Nano), until.UTC().Format(time.RFC3339Nano), f.recovery(c.bound))
		hs, err := hypothesis.Parse([]byte(doc), "truth.yaml")
		require.NoError(t, err, doc)
		v, err := judge.Judge(t.Context(), &hs[0], time.Now())
		require.NoError(t, err)
		if by := v.DecidedBy(); !by.IsZero() {
			// Decided only then (an HPA must stay back until its
			// bound ends, a few hundred ms from now): judged then.
			require.Less(t, time.Until(by), time.Minute, "decided by %s: %s", by, v.Reason)
			time.Sleep(time.Until(by))
			v, err = judge.Judge(t.Context(), &hs[0], time.Now())
			require.NoError(t, err)
			require.True(t, v.DecidedBy().IsZero(), "still undecided after %s: %s", by, v.Reason)
		}
		assert.Equal(t, c.want, v.Result, "fault #%d, true value %s–%s, bound %s: %s", i+1, lo, hi, c.bound, v.Reason)
	}
}

// errorTable collects steadywatch − oracle per fault kind.
type errorTable struct {
	mu    sync.Mutex
	order []string
	rows  map[string]*errorRow
}

type errorRow struct{ start, mttr, delay []float64 }

func (tb *errorTable) add(what string, start, mttr, delay time.Duration) {
	tb.mu.Lock()
	defer tb.mu.Unlock()
	if tb.rows == nil {
		tb.rows = map[string]*errorRow{}
	}
	r := tb.rows[what]
	if r == nil {
		r = &errorRow{}
		tb.rows[what] = r
		tb.order = append(tb.order, what)
	}
	ms := func(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
	r.start = append(r.start, ms(start))
	r.mttr = append(r.mttr, ms(mttr))
	r.delay = append(r.delay, ms(delay))
}

func (tb *errorTable) String() string {
	tb.mu.Lock()
	defer tb.mu.Unlock()
	var b strings.Builder
	b.WriteString("| fault | n | start p50 | start p99 | start max | MTTR p50 | MTTR p99 | MTTR max | watch delay p50 / max |\n")
	b.WriteString("|---|---|---|---|---|---|---|---|---|\n")
	for _, what := range tb.order {
		r := tb.rows[what]
		fmt.Fprintf(&b, "| %s | %d | %.0f | %.0f | %.0f | %.0f | %.0f | %.0f | %.0f / %.0f |\n", what, len(r.start),
			quantile(r.start, 0.5), quantile(r.start, 0.99), maxAbs(r.start),
			quantile(r.mttr, 0.5), quantile(r.mttr, 0.99), maxAbs(r.mttr),
			quantile(r.delay, 0.5), quantile(r.delay, 1))
	}
	return b.String()
}

// quantile is the nearest-rank q-quantile.
func quantile(xs []float64, q float64) float64 {
	s := slices.Clone(xs)
	slices.Sort(s)
	i := int(math.Ceil(q*float64(len(s)))) - 1
	return s[max(i, 0)]
}

// maxAbs is the value farthest from 0, with its sign.
func maxAbs(xs []float64) float64 {
	var m float64
	for _, x := range xs {
		if math.Abs(x) > math.Abs(m) {
			m = x
		}
	}
	return m
}

// statefulSet builds a StatefulSet of fake pods like deployment's.
func statefulSet(ns, name, service, group, pool string, replicas int32) *appsv1.StatefulSet {
	d := scale.Deployment(ns, name, service, group, pool, replicas)
	return &appsv1.StatefulSet{
		ObjectMeta: d.ObjectMeta,
		Spec: appsv1.StatefulSetSpec{
			Replicas: &replicas, Selector: d.Spec.Selector, Template: d.Spec.Template, ServiceName: name,
		},
	}
}

// daemonSet builds a DaemonSet of fake pods like deployment's, on the
// nodes labelled pool=<pool>.
func daemonSet(ns, name, service, group, pool string) *appsv1.DaemonSet {
	d := scale.Deployment(ns, name, service, group, pool, 1)
	return &appsv1.DaemonSet{
		ObjectMeta: d.ObjectMeta,
		Spec:       appsv1.DaemonSetSpec{Selector: d.Spec.Selector, Template: d.Spec.Template},
	}
}

func createDaemonSet(t *testing.T, c kubernetes.Interface, d *appsv1.DaemonSet) {
	t.Helper()
	_, err := c.AppsV1().DaemonSets(d.Namespace).Create(t.Context(), d, metav1.CreateOptions{})
	require.NoError(t, err)
	err = wait.PollUntilContextTimeout(t.Context(), 20*time.Millisecond, 60*time.Second, true, func(ctx context.Context) (bool, error) {
		got, err := c.AppsV1().DaemonSets(d.Namespace).Get(ctx, d.Name, metav1.GetOptions{})
		if err != nil {
			return false, nil //nolint:nilerr // retried until the deadline
		}
		st := &got.Status
		return st.DesiredNumberScheduled > 0 && st.NumberReady == st.DesiredNumberScheduled && st.ObservedGeneration == got.Generation, nil
	})
	if err != nil {
		t.Fatalf("daemonset %s/%s not ready within 60s: %v\n%s", d.Namespace, d.Name, err, describePods(c, d.Namespace))
	}
}

func createStatefulSet(t *testing.T, c kubernetes.Interface, s *appsv1.StatefulSet) {
	t.Helper()
	_, err := c.AppsV1().StatefulSets(s.Namespace).Create(t.Context(), s, metav1.CreateOptions{})
	require.NoError(t, err)
	err = wait.PollUntilContextTimeout(t.Context(), 20*time.Millisecond, 60*time.Second, true, func(ctx context.Context) (bool, error) {
		got, err := c.AppsV1().StatefulSets(s.Namespace).Get(ctx, s.Name, metav1.GetOptions{})
		if err != nil {
			return false, nil //nolint:nilerr // retried until the deadline
		}
		return got.Status.ReadyReplicas == *s.Spec.Replicas && got.Status.ObservedGeneration == got.Generation, nil
	})
	if err != nil {
		t.Fatalf("statefulset %s/%s not ready within 60s: %v\n%s", s.Namespace, s.Name, err, describePods(c, s.Namespace))
	}
}
