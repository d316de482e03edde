package demo

import (
	"context"
	"fmt"
	"io/fs"
	"os"
	"slices"
	"sort"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/steadywatch/steadywatch/examples"
	"github.com/steadywatch/steadywatch/hypothesis"
	"github.com/steadywatch/steadywatch/internal/testenv/testbed"
	"github.com/steadywatch/steadywatch/pipelinesim"
	"github.com/steadywatch/steadywatch/verdict"
)

// experiment is one of the seeds' four experiments: a fault injected into
// the experimental group only, and the example hypothesis that judges it.
type experiment struct {
	// name is the example hypothesis's name and file (examples/<name>.yaml).
	name  string
	title string
	// inject runs the fault and returns when the cluster has done what it
	// does about it; the run's start and end are what a fixed window is
	// taken from.
	inject func(ctx context.Context, r *runner) (fault, error)
	// adapt is what the experiment changes of its example beyond the time
	// scale, given its fault (the attack's schedule as the window).
	adapt func(r *runner, f fault, at time.Time) Adaptation
	// broken is what a broken run (Options.Broken) does to the experiment
	// so that its verdict must not pass.
	broken breakage
}

// breakage is a defect a broken run sets up before the experiment's fault
// and undoes after its verdict: the demo's proof that each verdict can
// fail, and says why.
type breakage struct {
	what    string
	apply   func(ctx context.Context, r *runner) error
	restore func(ctx context.Context, r *runner) error
}

// dataNodes are the experimental group's data nodes, one per zone.
func dataNodes() []string {
	out := make([]string, 0, len(Zones))
	for _, z := range Zones {
		out = append(out, nodeName(experimentalGroup, "data", z))
	}
	return out
}

// cordon marks nodes (un)schedulable, as kubectl cordon and uncordon do.
func cordon(ctx context.Context, r *runner, unschedulable bool, nodes ...string) error {
	for _, n := range nodes {
		if _, err := patchNode(ctx, r.tb.Client(), n, fmt.Sprintf(`{"spec":{"unschedulable":%t}}`, unschedulable)); err != nil {
			return fmt.Errorf("cordoning %s: %w", n, err)
		}
	}
	return nil
}

// uncordonAll makes the experimental data nodes schedulable again and
// waits for the pipeline to be whole.
func uncordonAll(ctx context.Context, r *runner) error {
	// A cordoned node is no zone to spread over: the node without a
	// Postgres pod goes first, or a pending one would join the other in
	// its zone the moment that node is schedulable again.
	pods, err := podsOf(ctx, r.tb.Client(), "app="+postgresName(experimentalGroup))
	if err != nil {
		return err
	}
	nodes := dataNodes()
	sort.SliceStable(nodes, func(i, j int) bool { return !hosts(pods, nodes[i]) && hosts(pods, nodes[j]) })
	// One at a time: the pending pods are bound before the next node is
	// schedulable (a broken run at 1/25 found the pending Postgres pod
	// beside the other in its zone when both were uncordoned at once).
	for _, n := range nodes {
		if err := cordon(ctx, r, false, n); err != nil {
			return err
		}
		if err := r.wait(ctx, "the pending experimental data pods bound after uncordoning "+n, time.Minute, func(ctx context.Context) (bool, error) {
			pods, err := podsOf(ctx, r.tb.Client(), pipelinesim.GroupLabel+"="+experimentalGroup)
			if err != nil {
				return false, err
			}
			for _, pod := range pods {
				if pod.Spec.NodeName == "" && pod.DeletionTimestamp == nil && pod.Labels[pipelinesim.ComponentLabel] != pipelinesim.ComponentAPI {
					return false, nil
				}
			}
			return true, nil
		}); err != nil {
			return err
		}
	}
	p := pipeline{group: experimentalGroup}
	return r.wait(ctx, "the experimental pipeline whole again", 2*time.Minute, func(ctx context.Context) (bool, error) {
		ok, _, err := p.ready(ctx, r.tb.Client())
		return ok, err
	})
}

// hosts reports whether one of pods runs on node.
func hosts(pods []corev1.Pod, node string) bool {
	return slices.ContainsFunc(pods, func(p corev1.Pod) bool { return p.Spec.NodeName == node })
}

// replicaNode is the node of the experimental group's Postgres replica.
func replicaNode(ctx context.Context, r *runner) (string, error) {
	sel := pipelinesim.GroupLabel + "=" + experimentalGroup + "," + pipelinesim.ComponentLabel + "=" + pipelinesim.ComponentReplica
	replicas, err := podsOf(ctx, r.tb.Client(), sel)
	if err != nil {
		return "", err
	}
	if len(replicas) == 0 || replicas[0].Spec.NodeName == "" {
		return "", fmt.Errorf("no scheduled Postgres replica in the experimental group")
	}
	return replicas[0].Spec.NodeName, nil
}

// setHPAMax sets the experimental API's HPA's maxReplicas.
func setHPAMax(ctx context.Context, r *runner, n int) error {
	patch := fmt.Sprintf(`{"spec":{"maxReplicas":%d}}`, n)
	_, err := r.tb.Client().AutoscalingV2().HorizontalPodAutoscalers(Namespace).Patch(ctx, apiName(experimentalGroup),
		types.MergePatchType, []byte(patch), metav1.PatchOptions{})
	if err != nil {
		return fmt.Errorf("setting the HPA's maxReplicas to %d: %w", n, err)
	}
	return nil
}

// fault is what an experiment did.
type fault struct {
	start, end time.Time
	notes      []string
}

// experimentalGroup is the group every fault is injected into.
const experimentalGroup = "experimental"

func experiments() []experiment {
	return []experiment{
		{
			name: "kill-postgres-replica", title: "kill the Postgres primary pod", inject: killPrimary,
			broken: breakage{
				what: "the killed pod's replacement kept unschedulable: both experimental data nodes cordoned",
				apply: func(ctx context.Context, r *runner) error {
					return cordon(ctx, r, true, dataNodes()...)
				},
				restore: uncordonAll,
			},
		},
		{
			name: "host-failure", title: "host failure: a data node of the experimental pipeline NotReady", inject: hostFailure,
			broken: breakage{
				what: "the evicted pods kept unschedulable: the other zone's experimental data node cordoned",
				apply: func(ctx context.Context, r *runner) error {
					failing, err := replicaNode(ctx, r)
					if err != nil {
						return err
					}
					for _, n := range dataNodes() {
						if n != failing {
							return cordon(ctx, r, true, n)
						}
					}
					return nil
				},
				restore: uncordonAll,
			},
			adapt: func(r *runner, _ fault, at time.Time) Adaptation {
				// Look back only to the end of the experiment before: its pod
				// deletion is not this one's.
				return Adaptation{Lookback: at.Sub(r.lastWindowEnd).Truncate(time.Second)}
			},
		},
		{
			name: "cpu-autoscaling", title: "CPU attack on the experimental API, the HPA scaling out and back", inject: cpuAttack,
			broken: breakage{
				what:    "the HPA capped at its 3 replicas (maxReplicas 3)",
				apply:   func(ctx context.Context, r *runner) error { return setHPAMax(ctx, r, apiReplicas) },
				restore: func(ctx context.Context, r *runner) error { return setHPAMax(ctx, r, apiMaxReplicas) },
			},
			adapt: func(r *runner, f fault, _ time.Time) Adaptation {
				return Adaptation{Window: &FixedWindow{Start: f.start, End: f.end}, Floors: hpaFloors(r.scaleDownWindow())}
			},
		},
		{
			name: "resource-exhaustion", title: "CPU hog in the experimental Flask containers", inject: cpuHog,
			// The rule is left out of the team's rules when Prometheus starts.
			broken: breakage{what: "the team's ScaleAppHighLatency alert rule removed"},
			adapt: func(_ *runner, f fault, _ time.Time) Adaptation {
				return Adaptation{Window: &FixedWindow{Start: f.start, End: f.end}}
			},
		},
	}
}

// killPrimary is the seeds' "Kill Stateful Replica Pod": the experimental
// group's Postgres primary pod deleted, as kubectl delete pod does.
func killPrimary(ctx context.Context, r *runner) (fault, error) {
	c := r.tb.Client()
	sel := pipelinesim.GroupLabel + "=" + experimentalGroup + "," + pipelinesim.ComponentLabel + "=" + pipelinesim.ComponentPrimary
	pods, err := podsOf(ctx, c, sel)
	if err != nil {
		return fault{}, err
	}
	if len(pods) != 1 {
		return fault{}, fmt.Errorf("want one Postgres primary in the experimental group, found %d", len(pods))
	}
	victim := pods[0].Name
	_, promotions := r.fo.did(0)
	start := time.Now()
	if err := c.CoreV1().Pods(Namespace).Delete(ctx, victim, metav1.DeleteOptions{}); err != nil {
		return fault{}, fmt.Errorf("deleting %s: %w", victim, err)
	}
	r.say("deleted pod %s (the primary)", victim)
	if r.o.Broken {
		f, err := r.outlast(ctx, "kill-postgres-replica", start, "the replacement, unschedulable,")
		f.notes, _ = r.fo.did(promotions)
		return f, err
	}
	p := pipeline{group: experimentalGroup}
	if err := r.wait(ctx, "a new primary and the killed pod back as a replica", 90*time.Second, func(ctx context.Context) (bool, error) {
		ok, _, err := p.ready(ctx, c)
		return ok, err
	}); err != nil {
		return fault{}, err
	}
	f := fault{start: start, end: time.Now()}
	did, _ := r.fo.did(promotions)
	f.notes = append(f.notes, did...)
	f.notes = append(f.notes, fmt.Sprintf("both Postgres pods serving again %s after the kill", f.end.Sub(start).Round(100*time.Millisecond)))
	return f, nil
}

// hostFailure is the seeds' "Host failures": the experimental data node
// that hosts the Postgres replica (not the primary: the seeds' lesson) and
// a Spark worker stops reporting; the node lifecycle controller taints it,
// its pods are evicted and rescheduled on the other zone's data node. The
// node comes back once the team's KubeNodeNotReady alert has fired.
func hostFailure(ctx context.Context, r *runner) (fault, error) {
	c := r.tb.Client()
	node, err := replicaNode(ctx, r)
	if err != nil {
		return fault{}, err
	}
	onNode, err := podsOf(ctx, c, pipelinesim.GroupLabel+"="+experimentalGroup)
	if err != nil {
		return fault{}, err
	}
	var names []string
	for _, pod := range onNode {
		if pod.Spec.NodeName == node {
			names = append(names, pod.Name)
		}
	}
	start := time.Now()
	if err := takeNodeDown(ctx, c, node); err != nil {
		return fault{}, err
	}
	r.say("node %s NotReady (it ran %s); its pods are evicted after %s", node, strings.Join(names, ", "), r.scaled(5*time.Minute))
	p := pipeline{group: experimentalGroup}
	off := func(ctx context.Context) (bool, error) { // no pod of the group left on the node
		pods, err := podsOf(ctx, c, pipelinesim.GroupLabel+"="+experimentalGroup)
		if err != nil {
			return false, err
		}
		for _, pod := range pods {
			if pod.Spec.NodeName == node {
				return false, nil
			}
		}
		return true, nil
	}
	if err := r.wait(ctx, "the node's pods evicted", 120*time.Second, off); err != nil {
		return fault{}, err
	}
	notes := []string{fmt.Sprintf("its pods (%s) evicted %s after the failure", strings.Join(names, ", "), time.Since(start).Round(100*time.Millisecond))}
	if r.o.Broken {
		notes[0] += ", with nowhere to go"
	} else {
		if err := r.wait(ctx, "the evicted pods rescheduled and Ready in the other zone", 120*time.Second, func(ctx context.Context) (bool, error) {
			if ok, _, err := p.ready(ctx, c); !ok || err != nil {
				return false, err
			}
			return off(ctx)
		}); err != nil {
			return fault{}, err
		}
		notes = append(notes, fmt.Sprintf("its pods rescheduled and Ready %s after the failure", time.Since(start).Round(100*time.Millisecond)))
	}
	if err := r.wait(ctx, "the KubeNodeNotReady alert to fire", 120*time.Second, func(ctx context.Context) (bool, error) {
		return r.promValue(ctx, `count(ALERTS{alertname="KubeNodeNotReady",alertstate="firing"})`) >= 1, nil
	}); err != nil {
		return fault{}, err
	}
	if err := bringNodeBack(ctx, c, node); err != nil {
		return fault{}, err
	}
	if err := r.wait(ctx, "the node Ready again", 60*time.Second, func(ctx context.Context) (bool, error) {
		return nodeReady(ctx, c, node)
	}); err != nil {
		return fault{}, err
	}
	f := fault{start: start, end: time.Now()}
	f.notes = append(notes, fmt.Sprintf("node %s Ready again %s after the failure", node, f.end.Sub(start).Round(100*time.Millisecond)))
	return f, nil
}

// outlast waits, in a broken run, until the fault's unrecovered state has
// outlasted the example's replacementReady bound (scaled) by a second:
// whatever the verdict says then, it cannot be a recovery in time.
func (r *runner) outlast(ctx context.Context, name string, start time.Time, what string) (fault, error) {
	h, err := r.example(name)
	if err != nil {
		return fault{}, err
	}
	until := start.Add(r.scaled(h.Recovery.ReplacementReady) + time.Second)
	if err := r.wait(ctx, what+" to outlast the replacementReady bound", time.Until(until)+time.Second, func(context.Context) (bool, error) {
		return time.Now().After(until), nil
	}); err != nil {
		return fault{}, err
	}
	return fault{start: start, end: time.Now()}, nil
}

// judged is the experiment's hypothesis as the demo judges it
// (hypotheses/<name>.yaml in the output folder).
func (r *runner) judged(name string) (hypothesis.Hypothesis, error) {
	path := r.hypothesisFile(experiment{name: name})
	data, err := os.ReadFile(path)
	if err != nil {
		return hypothesis.Hypothesis{}, err
	}
	return only(data, path)
}

// only parses the one hypothesis of a file.
func only(data []byte, path string) (hypothesis.Hypothesis, error) {
	hs, err := hypothesis.Parse(data, path)
	if err != nil {
		return hypothesis.Hypothesis{}, err
	}
	if len(hs) != 1 {
		return hypothesis.Hypothesis{}, fmt.Errorf("%s: want one hypothesis, found %d", path, len(hs))
	}
	return hs[0], nil
}

// example is the example hypothesis of that name, as written.
func (r *runner) example(name string) (hypothesis.Hypothesis, error) {
	src, err := fs.ReadFile(examples.Hypotheses, name+".yaml")
	if err != nil {
		return hypothesis.Hypothesis{}, err
	}
	return only(src, "examples/"+name+".yaml")
}

// attackLength is how long the example's attack lasted (its fixed
// window), scaled, unless that holds fewer independent samples than the
// example's window had: the step is floored at the demo's scrape interval
// while the queries' ranges are scaled, so a scaled window can hold fewer
// ranges' worth of samples than the original (10m at 1/25 is 24 s, eight
// 3 s ranges where the example had ten 1m ones). The attack then lasts as
// many ranges as the example's, and why says so.
func (r *runner) attackLength(name string) (length time.Duration, why string, err error) {
	h, err := r.example(name)
	if err != nil {
		return 0, "", err
	}
	if h.Window.Fixed == nil {
		return 0, "", fmt.Errorf("examples/%s.yaml: want a fixed window (the attack's schedule)", name)
	}
	orig := h.Window.Fixed.End.Sub(h.Window.Fixed.Start)
	scaled := r.scaled(orig)
	d, err := r.judged(name)
	if err != nil {
		return 0, "", err
	}
	if len(d.Metrics) != len(h.Metrics) {
		return 0, "", fmt.Errorf("hypotheses/%s.yaml: not the example's metrics", name)
	}
	length = scaled
	for i := range h.Metrics {
		span := verdict.IndependentSpan(&h, &h.Metrics[i])
		n := orig / span // the example's window, in independent samples' spans
		demoSpan := verdict.IndependentSpan(&d, &d.Metrics[i])
		if need := n * demoSpan; need > length {
			length = need
			why = fmt.Sprintf("the attack lasts %s, not the example's %s scaled (%s): at the demo's %s step its window holds the %d independent samples of %s's %s range that the example's had (one per %s)",
				length, hypothesis.FormatDuration(orig), scaled, hypothesis.FormatDuration(d.Step), n, h.Metrics[i].Name,
				hypothesis.FormatDuration(d.Metrics[i].LongestRange()), hypothesis.FormatDuration(demoSpan))
		}
	}
	return length, why, nil
}

// cpuAttack is the seeds' "CPU Usage Auto-Scaling": every experimental
// node at full CPU for the attack. On kwok's nodes the attack is the CPU
// usage kwok reports for the API pods: 180m spread over the replicas (60m
// each of three, 120 % of the HPA's 50 % target of their 100m request),
// less on each as the HPA adds pods; then back to idle.
func cpuAttack(ctx context.Context, r *runner) (fault, error) {
	c := r.tb.Client()
	attack, why, err := r.attackLength("cpu-autoscaling")
	if err != nil {
		return fault{}, err
	}
	start := time.Now()
	actx, cancel := context.WithTimeout(ctx, attack)
	errc := make(chan error, 1)
	go func() { errc <- cpuLoad(actx, c, experimentalGroup, 180, nil) }()
	r.say("CPU attack on the experimental API pods for %s", attack)
	maxReplicas := int32(0)
	_ = r.wait(actx, "the attack to end", attack+time.Second, func(ctx context.Context) (bool, error) {
		h, err := c.AutoscalingV2().HorizontalPodAutoscalers(Namespace).Get(ctx, apiName(experimentalGroup), metav1.GetOptions{})
		if err == nil {
			maxReplicas = max(maxReplicas, h.Status.DesiredReplicas)
		}
		return false, nil
	})
	cancel()
	if err := <-errc; err != nil {
		return fault{}, err
	}
	end := time.Now()
	pods, err := podsOf(ctx, c, "app="+apiName(experimentalGroup))
	if err != nil {
		return fault{}, err
	}
	if err := setCPU(ctx, c, pods, apiIdleCPU); err != nil {
		return fault{}, err
	}
	f := fault{start: start, end: end}
	if why != "" {
		f.notes = append(f.notes, why)
	}
	f.notes = append(f.notes, fmt.Sprintf("the HPA wanted up to %d replicas during the attack", maxReplicas))
	// Back when the HPA has set the Deployment to its baseline and the
	// pod it added is gone; the HPA's own status says so only at its next
	// sync, seconds later.
	if err := r.wait(ctx, "the API back to its 3 replicas", 150*time.Second, func(ctx context.Context) (bool, error) {
		d, err := c.AppsV1().Deployments(Namespace).Get(ctx, apiName(experimentalGroup), metav1.GetOptions{})
		return err == nil && d.Spec.Replicas != nil && *d.Spec.Replicas == apiReplicas && d.Status.Replicas == apiReplicas, err
	}); err != nil {
		return fault{}, err
	}
	f.notes = append(f.notes, fmt.Sprintf("back to %d replicas %s after the attack", apiReplicas, time.Since(end).Round(100*time.Millisecond)))
	return f, nil
}

// cpuHog is the seeds' "Resource exhaustion of containers": a CPU hog in
// the experimental Flask containers running at the time (as Litmus'
// pod-cpu-hog targets the pods it finds): kwok reports 80m for them, 160 %
// of the HPA's target, which starves them and slows their requests. Pods
// the HPA adds meanwhile are not hogged.
func cpuHog(ctx context.Context, r *runner) (fault, error) {
	c := r.tb.Client()
	attack, why, err := r.attackLength("resource-exhaustion")
	if err != nil {
		return fault{}, err
	}
	pods, err := podsOf(ctx, c, "app="+apiName(experimentalGroup))
	if err != nil {
		return fault{}, err
	}
	start := time.Now()
	if err := setCPU(ctx, c, pods, "80m"); err != nil {
		return fault{}, err
	}
	r.say("CPU hog in %d experimental API pods for %s", len(pods), attack)
	if err := r.wait(ctx, "the hog to end", attack+time.Second, func(context.Context) (bool, error) {
		return time.Since(start) >= attack, nil
	}); err != nil {
		return fault{}, err
	}
	end := time.Now()
	if pods, err = podsOf(ctx, c, "app="+apiName(experimentalGroup)); err != nil {
		return fault{}, err
	}
	if err := setCPU(ctx, c, pods, apiIdleCPU); err != nil {
		return fault{}, err
	}
	f := fault{start: start, end: end}
	if why != "" {
		f.notes = append(f.notes, why)
	}
	return f, nil
}

// hpaFloors keeps the HPA's bounds above what the testbed's metrics
// pipeline takes, which does not shrink with the demo's time: the HPA
// sees a load only once metrics-server has sampled it (every
// testbed.MetricResolution) and its controller has looked (every
// testbed.HPASyncPeriod), and scales back only after its scale-down
// stabilisation (scaleDown, runner.scaleDownWindow) on top. A CI run saw
// the scale-up later than 1/25 of the example's 3m (7.2s).
func hpaFloors(scaleDown time.Duration) map[string]Floor {
	see := testbed.MetricResolution + testbed.HPASyncPeriod
	return map[string]Floor{
		"spec.recovery.hpa.within": {
			Min: see,
			Why: fmt.Sprintf("the testbed's HPA sees a load up to %s after it starts (metrics-server samples every %s, the HPA controller looks every %s)",
				see, testbed.MetricResolution, testbed.HPASyncPeriod),
		},
		"spec.recovery.hpa.baselineWithin": {
			Min: scaleDown + see,
			Why: fmt.Sprintf("the HPA scales back after its %s stabilisation and up to %s more for the testbed to see the load gone (metrics-server samples every %s, the HPA controller looks every %s)",
				scaleDown, see, testbed.MetricResolution, testbed.HPASyncPeriod),
		},
	}
}
