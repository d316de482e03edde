package demo

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/common/model"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/klog/v2"

	"github.com/steadywatch/steadywatch/cli"
	"github.com/steadywatch/steadywatch/config"
	"github.com/steadywatch/steadywatch/examples"
	"github.com/steadywatch/steadywatch/internal/testenv/promtest"
	"github.com/steadywatch/steadywatch/internal/testenv/testbed"
	"github.com/steadywatch/steadywatch/pipelinesim"
	"github.com/steadywatch/steadywatch/receiver"
	"github.com/steadywatch/steadywatch/server"
	"github.com/steadywatch/steadywatch/verdict"
)

// Options configure Run.
type Options struct {
	// Out is the output folder: the hypotheses as judged, the verdicts
	// (JSON), the generated dashboards and rules, the week's report, the
	// store, and progress.log saying how far the run got. Emptied first.
	Out string
	// Once exits after the experiments instead of keeping Prometheus,
	// Alertmanager and steadywatch running until ctx is done.
	Once bool
	// TimeScale divides every duration of the example hypotheses (and the
	// Kubernetes defaults they assume): 20 makes a seed minute 3 s.
	TimeScale int
	// Only runs only the experiments named (their hypotheses' names);
	// all four if empty.
	Only []string
	// Broken runs each experiment with a defect that its verdict must
	// not pass (the replacement unschedulable, the HPA capped, the team's
	// alert rule removed): each verdict says why it fails.
	Broken bool
	// Stdout receives the demo's story; Log its details (build progress).
	Stdout io.Writer
	Log    *slog.Logger
}

// DefaultTimeScale makes the seeds' minutes the demo's 2.4 seconds: the
// four experiments run in under 5 minutes (docs/benchmarks.md).
const DefaultTimeScale = 25

// runner is one run of the demo.
type runner struct {
	o    Options
	tb   *testbed.Testbed
	prom *promtest.Prometheus
	fo   *failover
	data string // steadywatch's data directory
	// changes are the changes made to each example hypothesis, by name:
	// its fault's window once it ran.
	changes map[string][]Change
	// lastWindowEnd is the end of the last judged window.
	lastWindowEnd time.Time
	progress      *os.File
	lastStep      string // what the run was doing, for progress.log's last line
	t0            time.Time
	// crash ends the run because a component it started stopped by
	// itself (ErrCrashed).
	crash context.CancelCauseFunc
	// steadiness is what watchSteady last saw (see gap).
	steadiness struct {
		sync.Mutex
		since  time.Time // the first steady look after the last unsteady one; zero while unsteady
		why    string    // what was unsteady at the last look
		looked time.Time
	}
}

// ErrCrashed marks a run ended by a component the demo started (the
// control plane's, Prometheus, Alertmanager, steadywatch) that stopped
// by itself.
var ErrCrashed = errors.New("a component the demo started stopped by itself")

// Result is what one experiment's verdict came to, as the demo's JSON
// output (verdicts/<name>.json) holds it.
type Result struct {
	Experiment string    `json:"experiment"`
	Title      string    `json:"title"`
	FaultStart time.Time `json:"fault_start"`
	FaultEnd   time.Time `json:"fault_end"`
	Notes      []string  `json:"notes,omitempty"`
	// Broken is the defect a broken run set up (Options.Broken).
	Broken  string          `json:"broken,omitempty"`
	Changes []Change        `json:"changes"`
	Verdict verdict.Verdict `json:"verdict"`
}

// Run runs the demo. See the package documentation.
func Run(ctx context.Context, o Options) (err error) {
	if o.TimeScale == 0 {
		o.TimeScale = DefaultTimeScale
	}
	if o.Out == "" {
		o.Out = "demo-out"
	}
	if o.Stdout == nil {
		o.Stdout = os.Stdout
	}
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	r := &runner{o: o, t0: time.Now(), data: filepath.Join(o.Out, "data"), lastStep: "the start"}
	// Each run is an experiment of its own, on a cluster of its own.
	if err := os.RemoveAll(o.Out); err != nil {
		return err
	}
	for _, d := range []string{"hypotheses", "verdicts", "generated", "data"} {
		if err := os.MkdirAll(filepath.Join(o.Out, d), 0o750); err != nil {
			return err
		}
	}
	if r.progress, err = os.Create(filepath.Join(o.Out, "progress.log")); err != nil {
		return err
	}
	defer func() {
		switch {
		case err == nil:
			r.logf("done in %s", time.Since(r.t0).Round(time.Second))
		case errors.Is(err, context.Canceled):
			r.logf("interrupted after %s during %s; everything the demo started is stopped", time.Since(r.t0).Round(time.Second), r.lastStep)
		default:
			// The last line says how it ended; a longer error (a
			// component's log) goes above it.
			first, _, long := strings.Cut(err.Error(), "\n")
			if long {
				r.logf("the error in full:\n%s", err)
			}
			r.logf("failed after %s during %s: %s; everything the demo started is stopped", time.Since(r.t0).Round(time.Second), r.lastStep, first)
		}
		_ = r.progress.Close()
	}()
	ctx, r.crash = context.WithCancelCause(ctx)
	defer r.crash(nil)
	err = r.run(ctx)
	// Whatever the run was waiting for when a component died, the death
	// is why it ended.
	if cause := context.Cause(ctx); err != nil && errors.Is(cause, ErrCrashed) {
		err = cause
	}
	return err
}

// watch ends the run if a component reports it stopped by itself.
func (r *runner) watch(ctx context.Context, crashed <-chan error) {
	go func() {
		select {
		case err := <-crashed:
			r.crash(fmt.Errorf("%w: %w", ErrCrashed, err))
		case <-ctx.Done():
		}
	}()
}

// say prints a line of the story, indented under its step.
func (r *runner) say(format string, a ...any) {
	fmt.Fprintf(r.o.Stdout, "      "+format+"\n", a...)
}

// step prints and records a step.
func (r *runner) step(format string, a ...any) {
	msg := fmt.Sprintf(format, a...)
	r.lastStep = msg
	fmt.Fprintf(r.o.Stdout, "[%5.1fs] %s\n", time.Since(r.t0).Seconds(), msg)
	r.logf("%s", msg)
}

func (r *runner) logf(format string, a ...any) {
	if r.progress != nil {
		fmt.Fprintf(r.progress, "%s %s\n", time.Now().UTC().Format(time.RFC3339), fmt.Sprintf(format, a...))
	}
}

// scaled is d divided by the time scale.
func (r *runner) scaled(d time.Duration) time.Duration { return d / time.Duration(r.o.TimeScale) }

// scaleDownWindow is the HPAs' scale-down stabilisation: Kubernetes'
// default 5m, scaled.
func (r *runner) scaleDownWindow() time.Duration { return r.scaled(5 * time.Minute) }

// wait polls cond every 250ms until it holds, saying every 15 s what it
// still waits for.
func (r *runner) wait(ctx context.Context, what string, timeout time.Duration, cond func(ctx context.Context) (bool, error)) error {
	start := time.Now()
	next := start.Add(15 * time.Second)
	for {
		ok, err := cond(ctx)
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			return fmt.Errorf("waiting for %s: %w", what, err)
		}
		if ok {
			return nil
		}
		if time.Since(start) > timeout {
			return fmt.Errorf("%s: not within %s", what, timeout)
		}
		if time.Now().After(next) {
			r.say("… still waiting for %s (%s)", what, time.Since(start).Round(time.Second))
			next = next.Add(15 * time.Second)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(250 * time.Millisecond):
		}
	}
}

func (r *runner) promValue(ctx context.Context, q string) float64 {
	v, _, _, err := r.prom.API().Query(ctx, q, time.Now())
	if err != nil {
		return 0
	}
	if vec, ok := v.(model.Vector); ok && len(vec) > 0 {
		return float64(vec[0].Value)
	}
	return 0
}

func (r *runner) selected() []experiment {
	if len(r.o.Only) == 0 {
		return experiments()
	}
	var out []experiment
	for _, e := range experiments() {
		for _, n := range r.o.Only {
			if n == e.name {
				out = append(out, e)
			}
		}
	}
	return out
}

// checkOnly rejects an unknown experiment name.
func checkOnly(only []string) error {
	for _, n := range only {
		found := false
		var names []string
		for _, e := range experiments() {
			names = append(names, e.name)
			found = found || e.name == n
		}
		if !found {
			return fmt.Errorf("no experiment %q: the demo's are %s", n, strings.Join(names, ", "))
		}
	}
	return nil
}

func (r *runner) run(ctx context.Context) error {
	if err := checkOnly(r.o.Only); err != nil {
		return err
	}
	// Before anything starts: Prometheus and Alertmanager are installed.
	if err := promtest.CheckBinaries(); err != nil {
		return err
	}
	klog.SetSlogLogger(slog.New(slog.DiscardHandler)) // client-go's retries are not the demo's story
	fmt.Fprintf(r.o.Stdout, "steadywatch demo: the seeds' four chaos experiments on a local cluster, each judged experimental against control (time scale 1/%d: a seed minute is %s)\n",
		r.o.TimeScale, r.scaled(time.Minute))

	bins, err := testbed.Ensure(ctx, testbed.BuildOptions{}, r.o.Log)
	if err != nil {
		return err
	}
	r.tb, err = testbed.Start(ctx, testbed.Options{Binaries: bins, MetricsServer: true, KwokStages: kwokStages})
	if err != nil {
		return err
	}
	defer r.tb.Stop() //nolint:errcheck // best effort on the way out
	r.watch(ctx, r.tb.Crashed())
	r.step("Kubernetes control plane up: etcd, kube-apiserver, controller manager, scheduler, kwok, metrics-server")

	c := r.tb.Client()
	if _, err := r.tb.CreateNamespace(ctx, Namespace); err != nil {
		return err
	}
	for _, g := range pipelinesim.DefaultGroups {
		p := pipeline{group: g, evictAfter: r.scaled(5 * time.Minute), scaleDownWindow: r.scaleDownWindow()}
		if err := p.deploy(ctx, r.tb); err != nil {
			return err
		}
	}
	r.fo = newFailover(c, r.o.Log, r.scaled(time.Minute))
	foCtx, stopFO := context.WithCancel(ctx)
	defer stopFO()
	go r.fo.run(foCtx)
	go r.watchSteady(foCtx)
	for _, g := range pipelinesim.DefaultGroups {
		p := pipeline{group: g}
		if err := r.wait(ctx, "the "+g+" pipeline Ready", 120*time.Second, func(ctx context.Context) (bool, error) {
			ok, _, err := p.ready(ctx, c)
			return ok, err
		}); err != nil {
			_, missing, _ := p.ready(ctx, c)
			return fmt.Errorf("%w: %s", err, missing)
		}
	}
	r.step("namespace %s: control and experimental pipelines Ready, each an API (HPA 3–9) on its API nodes, Postgres primary + replica and 2 Spark workers on its data nodes, in %s",
		Namespace, strings.Join(Zones, " and "))

	sim, err := pipelinesim.Start(ctx, pipelinesim.Options{Client: c, Namespace: Namespace})
	if err != nil {
		return err
	}
	defer sim.Close() //nolint:errcheck // best effort on the way out

	// The hypotheses as the demo judges them, for the generated rules and
	// dashboards; the fixed windows are placeholders until each attack.
	hypDir := filepath.Join(r.o.Out, "hypotheses")
	r.changes = map[string][]Change{}
	for _, e := range r.selected() {
		ch, err := r.adapt(e, r.placeholder(e))
		if err != nil {
			return err
		}
		r.changes[e.name] = ch
	}
	n, err := r.writeChanges()
	if err != nil {
		return err
	}
	r.step("the examples' hypotheses adapted to the demo in %d changes (durations 1/%d, the fault's window), each listed with why in %s",
		n, r.o.TimeScale, filepath.Join(hypDir, "ADAPTED.md"))

	work, err := os.MkdirTemp("", "steadywatch-demo-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(work) //nolint:errcheck // a temporary directory, best effort
	swAddr, err := freeAddr()
	if err != nil {
		return err
	}
	genDir := filepath.Join(r.o.Out, "generated")
	var genErr bytes.Buffer
	if code := cli.Run(ctx, []string{"generate", "all", "--hypotheses", hypDir, "--out", genDir, "--external-url", "http://" + swAddr},
		nil, io.Discard, &genErr); code != 0 {
		return fmt.Errorf("steadywatch generate all: exit code %d: %s", code, genErr.String())
	}
	generatedRules, err := os.ReadFile(filepath.Join(genDir, "rules", "steadywatch.rules.yml"))
	if err != nil {
		return fmt.Errorf("the generated rules: %w", err)
	}
	amDir, promDir := filepath.Join(work, "alertmanager"), filepath.Join(work, "prometheus")
	for _, d := range []string{amDir, promDir} {
		if err := os.Mkdir(d, 0o750); err != nil {
			return err
		}
	}
	am, err := promtest.NewAlertmanager(ctx, amDir, promtest.AlertmanagerOptions{Config: fmt.Sprintf(`route:
  receiver: steadywatch
  group_by: [alertname, namespace, service]
  group_wait: 1s
  group_interval: 1s
  repeat_interval: 1h
receivers:
  - name: steadywatch
    webhook_configs: [{url: "http://%s%s", send_resolved: true}]
`, swAddr, receiver.Path)})
	if err != nil {
		return err
	}
	defer am.Stop() //nolint:errcheck // best effort on the way out
	r.watch(ctx, am.Crashed())
	simTarget := strings.TrimSuffix(strings.TrimPrefix(sim.URL, "http://"), "/metrics")
	r.prom, err = promtest.NewPrometheus(ctx, promDir, promtest.PrometheusOptions{
		Config: fmt.Sprintf(`global: {scrape_interval: 1s, evaluation_interval: 1s}
scrape_configs:
  - job_name: steadywatch
    static_configs: [{targets: [%q]}]
  - job_name: pipeline
    static_configs: [{targets: [%q]}]
`, swAddr, simTarget),
		Rules:         map[string]string{"team.yml": teamRules(r.scaled, !r.o.Broken), "steadywatch.yml": string(generatedRules)},
		Alertmanagers: []string{am.Addr},
	})
	if err != nil {
		return err
	}
	defer r.prom.Stop() //nolint:errcheck // best effort on the way out
	r.watch(ctx, r.prom.Crashed())

	cfg := config.Default()
	cfg.Listen, cfg.DataDir = swAddr, r.data
	cfg.Watch.Namespaces = []string{Namespace}
	cfg.Alerts.Detection.Grace = model.Duration(5 * time.Second)
	cfg.Watch.CheckpointInterval = model.Duration(time.Second)
	swCtx, stopSW := context.WithCancel(ctx)
	swDone := make(chan error, 1)
	go func() {
		err := server.Run(swCtx, server.Options{Config: cfg, Logger: slog.New(slog.DiscardHandler), RESTConfig: r.tb.RESTConfig()})
		if swCtx.Err() == nil {
			r.crash(fmt.Errorf("%w: steadywatch serve on %s stopped: %w", ErrCrashed, swAddr, cmp.Or(err, errors.New("without an error"))))
		}
		swDone <- err
	}()
	defer func() {
		stopSW()
		if err := <-swDone; err != nil && context.Cause(ctx) == nil {
			fmt.Fprintln(r.o.Stdout, "demo: steadywatch:", err)
		}
	}()
	sw := "http://" + swAddr
	if err := r.wait(ctx, "steadywatch ready", 60*time.Second, func(ctx context.Context) (bool, error) {
		return httpGet(ctx, sw+"/readyz") == nil, nil
	}); err != nil {
		return err
	}
	r.step("steadywatch %s (SQLite store in %s), pipeline simulator %s, Prometheus %s, Alertmanager %s", sw, r.data, sim.URL, r.prom.URL(), am.URL())

	// The first window starts window.before ahead of its fault, and its
	// first sample summarises the longest range of its queries before
	// that: so much of steady state is scraped first.
	first := r.selected()[0]
	_, need, err := r.lead(first)
	if err != nil {
		return err
	}
	need = need.Round(time.Second) + time.Second
	if err := r.wait(ctx, "a steady state in Prometheus", 120*time.Second, func(ctx context.Context) (bool, error) {
		q := fmt.Sprintf(`min(count_over_time(flask_http_request_total{status="200"}[%ds]))`, int((need + 2*time.Second).Seconds()))
		return r.promValue(ctx, q) >= need.Seconds(), nil
	}); err != nil {
		return err
	}
	r.step("steady state: both pipelines serving, scraped for %s (what %s's first sample needs)", need, first.name)

	var results []Result
	for i, e := range r.selected() {
		if !r.lastWindowEnd.IsZero() {
			if err := r.gap(ctx, e); err != nil {
				return err
			}
		}
		r.step("experiment %d/%d: %s (hypothesis %s)", i+1, len(r.selected()), e.title, e.name)
		if r.o.Broken {
			r.say("broken on purpose: %s", e.broken.what)
			if e.broken.apply != nil {
				if err := e.broken.apply(ctx, r); err != nil {
					return fmt.Errorf("experiment %s: breaking it: %w", e.name, err)
				}
			}
		}
		f, err := e.inject(ctx, r)
		if err != nil {
			return fmt.Errorf("experiment %s: %w", e.name, err)
		}
		for _, n := range f.notes {
			r.say("%s", n)
		}
		res, err := r.judge(ctx, e, f)
		if err != nil {
			return fmt.Errorf("experiment %s: %w", e.name, err)
		}
		if r.o.Broken {
			if e.broken.restore != nil {
				if err := e.broken.restore(ctx, r); err != nil {
					return fmt.Errorf("experiment %s: undoing its defect: %w", e.name, err)
				}
			}
		}
		results = append(results, res)
		r.changes[e.name] = res.Changes
		if _, err := r.writeChanges(); err != nil {
			return err
		}
		r.lastWindowEnd = res.Verdict.Window.End
	}
	if err := r.writeReports(ctx); err != nil {
		return err
	}
	r.step("summary:")
	for _, res := range results {
		r.say("%-22s %-12s %s", res.Experiment, strings.ToUpper(string(res.Verdict.Result)), res.Verdict.Reason)
	}
	r.say("written: %s", r.o.Out)
	if !r.o.Once {
		r.step("still running: steadywatch %s/metrics and %s/api/v1/incidents, Prometheus %s, Alertmanager %s. Ctrl-C stops everything.",
			sw, sw, r.prom.URL(), am.URL())
		<-ctx.Done()
		if cause := context.Cause(ctx); errors.Is(cause, ErrCrashed) {
			return cause // Ctrl-C is how this run ends; a crash is not
		}
	}
	return nil
}

// placeholder is the experiment's adaptation before it ran: its fixed
// window (an attack's schedule) is a placeholder minute, from now.
func (r *runner) placeholder(e experiment) Adaptation {
	if e.adapt == nil {
		return Adaptation{}
	}
	now := time.Now()
	a := e.adapt(r, fault{start: now, end: now.Add(time.Minute)}, now.Add(time.Hour))
	a.Lookback = 0
	return a
}

// lead is what the experiment's hypothesis (as the demo judges it) needs
// ahead of its fault: before, the part of its window before the fault
// (window.before; none for a fixed window, the attack's own schedule),
// and need, before plus the longest range a metric's query summarises,
// which its window's first sample reaches back over.
func (r *runner) lead(e experiment) (before, need time.Duration, err error) {
	h, err := r.judged(e.name)
	if err != nil {
		return 0, 0, err
	}
	switch {
	case h.Window.Events != nil:
		before = h.Window.Events.Before
	case h.Window.Experiment != nil:
		before = h.Window.Experiment.Before
	}
	var reach time.Duration
	for i := range h.Metrics {
		reach = max(reach, h.Metrics[i].LongestRange())
	}
	return before, before + reach, nil
}

// gap waits until experiment e may start after the one before: its window
// must not overlap the last one (its fault at least its window.before
// after that window's end), and what its first sample reaches back over
// must be steady state again (both pipelines whole at their baseline,
// every node up: see steady), scraped. A fixed window and a short reach
// start sooner than a uniform gap would allow; the HPA's slow return
// after a CPU attack holds the next one back as long as it takes.
func (r *runner) gap(ctx context.Context, e experiment) error {
	before, need, err := r.lead(e)
	if err != nil {
		return err
	}
	for {
		var since time.Time
		var why string
		asked := time.Now()
		if err := r.wait(ctx, "both pipelines back to their steady state", 3*time.Minute, func(context.Context) (bool, error) {
			since, why = r.steadySince(asked)
			return !since.IsZero(), nil
		}); err != nil {
			return fmt.Errorf("before experiment %s: %w (at the last look: %s)", e.name, err, why)
		}
		// The metrics follow the cluster at the next scrape.
		until := r.lastWindowEnd.Add(before + time.Second)
		if t := since.Add(scrapeInterval + need + time.Second); t.After(until) {
			until = t
		}
		unsteady := false
		if err := r.wait(ctx, fmt.Sprintf("%s of steady state before %s's window", need, e.name), time.Until(until)+time.Second, func(context.Context) (bool, error) {
			if s, _ := r.steadySince(time.Time{}); !s.Equal(since) {
				unsteady = true // it changed meanwhile: count again
				return true, nil
			}
			return time.Now().After(until), nil
		}); err != nil || !unsteady {
			return err
		}
	}
}

// steadyEvery is how often watchSteady looks.
const steadyEvery = time.Second

// watchSteady looks at the cluster every steadyEvery until ctx ends and
// keeps when it was last found unsteady: steadiness then begins no earlier
// than the first look after that.
func (r *runner) watchSteady(ctx context.Context) {
	for {
		ok, why, err := r.steady(ctx)
		if ctx.Err() != nil {
			return
		}
		if err != nil {
			ok, why = false, err.Error()
		}
		r.noteSteady(time.Now(), ok, why)
		select {
		case <-ctx.Done():
			return
		case <-time.After(steadyEvery):
		}
	}
}

// noteSteady records a look at the cluster at now.
func (r *runner) noteSteady(now time.Time, ok bool, why string) {
	r.steadiness.Lock()
	defer r.steadiness.Unlock()
	switch {
	case !ok:
		r.steadiness.since, r.steadiness.why = time.Time{}, why
	case r.steadiness.since.IsZero():
		r.steadiness.since, r.steadiness.why = now, ""
	}
	r.steadiness.looked = now
}

// steadySince is since when the pipelines have been steady as of a look
// after t, zero if they are not (and why not).
func (r *runner) steadySince(t time.Time) (time.Time, string) {
	r.steadiness.Lock()
	defer r.steadiness.Unlock()
	if r.steadiness.looked.Before(t) {
		return time.Time{}, "not looked at since " + t.Format(time.TimeOnly)
	}
	return r.steadiness.since, r.steadiness.why
}

// steady reports whether both pipelines are as deployed: every pod Ready,
// the APIs at their HPAs' minimum with no scaling pending, every node
// Ready and schedulable. Else it says what differs.
func (r *runner) steady(ctx context.Context) (bool, string, error) {
	c := r.tb.Client()
	for _, g := range pipelinesim.DefaultGroups {
		ok, missing, err := pipeline{group: g}.ready(ctx, c)
		if err != nil || !ok {
			return false, g + ": " + missing, err
		}
		h, err := c.AutoscalingV2().HorizontalPodAutoscalers(Namespace).Get(ctx, apiName(g), metav1.GetOptions{})
		if err != nil {
			return false, "", err
		}
		base := int32(1)
		if h.Spec.MinReplicas != nil {
			base = *h.Spec.MinReplicas
		}
		if h.Status.CurrentReplicas != base || h.Status.DesiredReplicas != base {
			return false, fmt.Sprintf("hpa/%s at %d replicas, wanting %d (baseline %d)", h.Name, h.Status.CurrentReplicas, h.Status.DesiredReplicas, base), nil
		}
		pods, err := c.CoreV1().Pods(Namespace).List(ctx, metav1.ListOptions{
			LabelSelector: pipelinesim.GroupLabel + "=" + g + "," + pipelinesim.ComponentLabel + "=" + pipelinesim.ComponentAPI,
		})
		if err != nil {
			return false, "", err
		}
		if n := len(pods.Items); n != int(base) {
			return false, fmt.Sprintf("%s: %d API pods, %d wanted", g, n, base), nil
		}
	}
	nodes, err := c.CoreV1().Nodes().List(ctx, metav1.ListOptions{})
	if err != nil {
		return false, "", err
	}
	for i := range nodes.Items {
		n := &nodes.Items[i]
		if n.Spec.Unschedulable {
			return false, "node " + n.Name + " cordoned", nil
		}
		for _, cond := range n.Status.Conditions {
			if cond.Type == corev1.NodeReady && cond.Status != corev1.ConditionTrue {
				return false, "node " + n.Name + " not Ready", nil
			}
		}
	}
	return true, "", nil
}

// adapt writes the experiment's hypothesis as the demo judges it.
func (r *runner) adapt(e experiment, a Adaptation) ([]Change, error) {
	src, err := fs.ReadFile(examples.Hypotheses, e.name+".yaml")
	if err != nil {
		return nil, err
	}
	a.TimeScale = r.o.TimeScale
	if a.Floors == nil {
		a.Floors = map[string]Floor{}
	}
	if _, ok := a.Floors["spec.step"]; !ok {
		a.Floors["spec.step"] = Floor{Min: scrapeInterval, Why: "the demo's Prometheus scrapes every second: a shorter step only repeats samples"}
	}
	out, changes, err := Adapt(src, a)
	if err != nil {
		return nil, fmt.Errorf("adapting examples/%s.yaml: %w", e.name, err)
	}
	return changes, os.WriteFile(r.hypothesisFile(e), out, 0o600)
}

// scrapeInterval is the demo's Prometheus' scrape and evaluation interval.
const scrapeInterval = time.Second

// writeChanges lists every change the demo made to each example's
// hypothesis in hypotheses/ADAPTED.md, and returns how many there are.
func (r *runner) writeChanges() (int, error) {
	es, changes, scale := r.selected(), r.changes, r.o.TimeScale
	path := filepath.Join(r.o.Out, "hypotheses", "ADAPTED.md")
	var b strings.Builder
	n := 0
	fmt.Fprintf(&b, "# The examples' hypotheses as the demo judges them\n\n"+
		"The demo runs the seeds' experiments %d times faster than they are written for: each duration, range and offset below is the example's divided by %d (rounded up to the millisecond), and the fault's window is the one the demo ran. Nothing else differs from examples/.\n", scale, scale)
	for _, e := range es {
		fmt.Fprintf(&b, "\n## %s (examples/%s.yaml)\n\n| where | example | demo | why |\n|---|---|---|---|\n", e.name, e.name)
		for _, c := range changes[e.name] {
			n++
			fmt.Fprintf(&b, "| `%s` | `%s` | `%s` | %s |\n", c.Path, mdCell(c.From), mdCell(c.To), mdCell(c.Why))
		}
	}
	return n, os.WriteFile(path, []byte(b.String()), 0o600)
}

// mdCell makes s fit in a Markdown table cell.
func mdCell(s string) string {
	return strings.NewReplacer("|", "\\|", "\n", " ").Replace(s)
}

func (r *runner) hypothesisFile(e experiment) string {
	return filepath.Join(r.o.Out, "hypotheses", e.name+".yaml")
}

// judge waits for the experiment's verdict to be final and writes it.
func (r *runner) judge(ctx context.Context, e experiment, f fault) (Result, error) {
	res := Result{Experiment: e.name, Title: e.title, FaultStart: f.start, FaultEnd: f.end, Notes: f.notes}
	var v verdict.Verdict
	err := r.wait(ctx, "the verdict to be final", 5*time.Minute, func(ctx context.Context) (bool, error) {
		at := time.Now().Add(-2 * time.Second) // what Prometheus has scraped
		if at.Before(f.end.Add(time.Second)) {
			return false, nil
		}
		a := Adaptation{}
		if e.adapt != nil {
			a = e.adapt(r, f, at)
		}
		changes, err := r.adapt(e, a)
		if err != nil {
			return false, err
		}
		res.Changes = changes
		var out, stderr bytes.Buffer
		code := cli.Run(ctx, []string{
			"verdict", "-f", r.hypothesisFile(e), "--prometheus", r.prom.URL(), "--data-dir", r.data,
			"--at", at.Format(time.RFC3339Nano), "--output", "json", "--log.level", "error",
		}, nil, &out, &stderr)
		if code > 2 {
			return false, fmt.Errorf("steadywatch verdict: exit code %d: %s", code, stderr.String())
		}
		var vs struct{ Verdicts []verdict.Verdict }
		if err := json.Unmarshal(out.Bytes(), &vs); err != nil || len(vs.Verdicts) != 1 {
			return false, fmt.Errorf("steadywatch verdict (exit code %d): %w: %s", code, err, stderr.String())
		}
		v = vs.Verdicts[0]
		if v.Window.Start.IsZero() && at.Before(f.end.Add(settle)) {
			return false, nil // the fault's events may not be stored yet
		}
		// Final once nothing may still be met: an HPA's return, an alert,
		// a recovery within its bound.
		return !v.Running && v.DecidedBy().IsZero(), nil
	})
	if err != nil {
		return res, err
	}
	res.Verdict = v
	fmt.Fprintln(r.o.Stdout)
	code := cli.Run(ctx, []string{
		"verdict", "-f", r.hypothesisFile(e), "--prometheus", r.prom.URL(), "--data-dir", r.data,
		"--at", v.At.Format(time.RFC3339Nano), "--log.level", "error", "--record",
	}, nil, r.o.Stdout, r.o.Stdout)
	fmt.Fprintf(r.o.Stdout, "\n      `steadywatch verdict` exit code %d (0 pass, 1 fail, 2 inconclusive)\n", code)
	if r.o.Broken {
		res.Broken = e.broken.what
	}
	return res, r.writeResult(res)
}

// writeResult writes an experiment's result as verdicts/<name>.json.
func (r *runner) writeResult(res Result) error {
	data, err := json.MarshalIndent(res, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(r.o.Out, "verdicts", res.Experiment+".json"), append(data, '\n'), 0o600)
}

// settle is how long after a fault the demo waits for steadywatch to have
// stored its events before it takes a verdict without them as final.
const settle = 15 * time.Second

// writeReports writes the week's report (the demo's run in it) with
// `steadywatch report weekly`.
func (r *runner) writeReports(ctx context.Context) error {
	from := r.t0.UTC().Truncate(time.Minute)
	to := time.Now().UTC().Truncate(time.Minute).Add(time.Minute)
	for _, f := range []string{"md", "html", "json"} {
		var stderr bytes.Buffer
		if code := cli.Run(ctx, []string{
			"report", "weekly", "--data-dir", r.data, "--from", from.Format(time.RFC3339), "--to", to.Format(time.RFC3339),
			"--format", f, "-o", filepath.Join(r.o.Out, "report."+f),
		}, nil, io.Discard, &stderr); code != 0 {
			return fmt.Errorf("steadywatch report weekly --format %s: exit code %d: %s", f, code, stderr.String())
		}
	}
	return nil
}

func httpGet(ctx context.Context, url string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close() //nolint:errcheck // drained below
	_, _ = io.Copy(io.Discard, resp.Body)
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%s: %s", url, resp.Status)
	}
	return nil
}

func freeAddr() (string, error) {
	l, err := (&net.ListenConfig{}).Listen(context.Background(), "tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	addr := l.Addr().String()
	return addr, l.Close()
}
