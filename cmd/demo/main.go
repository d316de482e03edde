// Command demo runs steadywatch's main job end to end on this machine, with
// the embedded default store: a local Kubernetes control plane (the
// testbed), Debian's Prometheus and Alertmanager, and steadywatch serve
// with SQLite; then a chaos experiment — one replica of the experimental
// group killed, its replacement kept from scheduling for a while — which
// steadywatch records (MTTR), sees detected by a real alert (MTTD) and
// judges against the control group (verdict, abort).
//
//	go run ./cmd/demo            # or: make demo
//	go run ./cmd/demo -keep      # and keep everything running until Ctrl-C
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/prometheus/common/model"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"

	"k8s.io/klog/v2"

	"github.com/steadywatch/steadywatch/api"
	"github.com/steadywatch/steadywatch/cli"
	"github.com/steadywatch/steadywatch/config"
	"github.com/steadywatch/steadywatch/hypothesis"
	"github.com/steadywatch/steadywatch/internal/testenv/hypyaml"
	"github.com/steadywatch/steadywatch/internal/testenv/promtest"
	"github.com/steadywatch/steadywatch/internal/testenv/testbed"
	"github.com/steadywatch/steadywatch/receiver"
	"github.com/steadywatch/steadywatch/rules"
	"github.com/steadywatch/steadywatch/server"
)

const ns = "shop"

// hypothesisYAML is the demo's hypothesis: web keeps 90 % of its replicas
// ready when one is killed, and recovers within a minute.
var hypothesisYAML = hypyaml.PodKill{
	Name: "web-survives-a-pod-kill", Namespace: ns, Recovery: true, Alerts: []string{"WebReplicasDown"},
	Description: "Killing one replica of web leaves at least 90 % of them ready, and it recovers within a minute",
}.YAML()

// alertRule is the team's own alert on the service, which detects the fault.
const alertRule = `groups:
  - name: shop
    rules:
      - alert: WebReplicasDown
        expr: steadywatch_workload_ready_ratio{namespace="shop", service="web"} < 1
        for: 2s
        labels: {severity: page}
        annotations: {summary: '{{ $labels.workload }} has {{ $value }} of its replicas ready'}
`

// checkpoint is serve's checkpoint interval in the demo.
const checkpoint = time.Second

func main() {
	dataDir := flag.String("data-dir", "demo-data", "steadywatch's data directory (its SQLite store)")
	keep := flag.Bool("keep", false, "keep everything running after the experiment, until Ctrl-C")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, *dataDir, *keep); err != nil && !errors.Is(err, context.Canceled) {
		fmt.Fprintln(os.Stderr, "demo:", err)
		os.Exit(1)
	}
}

func step(n int, format string, a ...any) {
	fmt.Printf("[%d/6] %s\n", n, fmt.Sprintf(format, a...))
}

func run(ctx context.Context, dataDir string, keep bool) error {
	quiet := slog.New(slog.DiscardHandler)
	klog.SetSlogLogger(quiet) // client-go's retries are not the demo's story
	t0 := time.Now()
	// Each run is an experiment of its own, on a cluster of its own: the
	// previous run's incidents would be in its window.
	if err := os.RemoveAll(dataDir); err != nil {
		return err
	}
	fmt.Println("steadywatch demo: a pod-kill experiment on a local cluster, recorded, detected and judged")
	// At info level: a first run builds the control plane for half an hour
	// and says, step by step, how far it got.
	bins, err := testbed.Ensure(ctx, testbed.BuildOptions{}, slog.New(slog.NewTextHandler(os.Stderr, nil)))
	if err != nil {
		return err
	}
	tb, err := testbed.Start(ctx, testbed.Options{Binaries: bins, Log: quiet})
	if err != nil {
		return err
	}
	defer tb.Stop() //nolint:errcheck // best effort on the way out
	step(1, "Kubernetes control plane up (etcd, kube-apiserver, controller manager, scheduler, kwok) in %s", time.Since(t0).Round(100*time.Millisecond))

	c := tb.Client()
	if _, err := tb.CreateNamespace(ctx, ns); err != nil {
		return err
	}
	nodes := []string{"shop-1", "shop-2"}
	for _, n := range nodes {
		if _, err := tb.CreateNode(ctx, n, map[string]string{"pool": ns}); err != nil {
			return err
		}
	}
	for _, g := range []string{"control", "experimental"} {
		if err := createDeployment(ctx, tb, c, "web-"+g, g); err != nil {
			return err
		}
	}
	step(2, "namespace %s: web-control and web-experimental, 3 ready replicas each, on 2 nodes", ns)

	work, err := os.MkdirTemp("", "steadywatch-demo-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(work) //nolint:errcheck // a temporary directory, best effort
	swAddr, err := freeAddr()
	if err != nil {
		return err
	}
	hypFile := filepath.Join(work, "web.yaml")
	if err := os.WriteFile(hypFile, []byte(hypothesisYAML), 0o600); err != nil {
		return err
	}
	hyps, err := hypothesis.Load(hypFile)
	if err != nil {
		return err
	}
	generated, err := rules.Generate(config.Default(), hyps, rules.Options{})
	if err != nil {
		return err
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
	prom, err := promtest.NewPrometheus(ctx, promDir, promtest.PrometheusOptions{
		Config:        fmt.Sprintf("global: {scrape_interval: 1s, evaluation_interval: 1s}\nscrape_configs:\n  - job_name: steadywatch\n    static_configs: [{targets: [%q]}]\n", swAddr),
		Rules:         map[string]string{"shop.yml": alertRule, rules.RuleFileName: string(generated[0].Data)},
		Alertmanagers: []string{am.Addr},
	})
	if err != nil {
		return err
	}
	defer prom.Stop() //nolint:errcheck // best effort on the way out

	cfg := config.Default()
	cfg.Listen, cfg.DataDir = swAddr, dataDir
	cfg.Watch.Namespaces = []string{ns}
	cfg.Alerts.Detection.Grace = model.Duration(5 * time.Second)
	// The record of what steadywatch watched is written each checkpoint: the
	// verdict below may only judge time that is on record.
	cfg.Watch.CheckpointInterval = model.Duration(checkpoint)
	cfg.Verdicts = config.Verdicts{
		Hypotheses: []string{hypFile}, PrometheusURL: prom.URL(), Interval: model.Duration(time.Second),
		AbortAlertmanagerURL: am.URL(),
	}
	swCtx, stopSW := context.WithCancel(ctx)
	swDone := make(chan error, 1)
	go func() {
		swDone <- server.Run(swCtx, server.Options{Config: cfg, Logger: quiet, RESTConfig: tb.RESTConfig()})
	}()
	defer func() {
		stopSW()
		if err := <-swDone; err != nil {
			fmt.Fprintln(os.Stderr, "demo: steadywatch:", err)
		}
	}()
	sw := "http://" + swAddr
	if err := waitFor(ctx, 60*time.Second, func() (bool, error) {
		return get(ctx, sw+"/readyz", nil) == nil, nil
	}); err != nil {
		return fmt.Errorf("steadywatch not ready: %w", err)
	}
	step(3, "steadywatch %s (store %s), Prometheus %s, Alertmanager %s", sw, filepath.Join(dataDir, "steadywatch.db"), prom.URL(), am.URL())

	if err := waitFor(ctx, 90*time.Second, func() (bool, error) {
		return promValue(ctx, prom, `min(count_over_time(steadywatch_workload_ready_ratio{namespace="shop",service="web"}[15s]))`) >= 12, nil
	}); err != nil {
		return fmt.Errorf("no steady state in Prometheus: %w", err)
	}
	step(4, "steady state: both groups fully ready, scraped by Prometheus for 12 s")

	for _, n := range nodes {
		if err := cordon(ctx, c, n, true); err != nil {
			return err
		}
	}
	pods, err := c.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{LabelSelector: "app=web-experimental"})
	if err != nil {
		return err
	}
	victim := pods.Items[0].Name
	if err := c.CoreV1().Pods(ns).Delete(ctx, victim, metav1.DeleteOptions{}); err != nil {
		return err
	}
	kill := time.Now()
	step(5, "chaos: killed pod %s, its replacement unschedulable (nodes cordoned)", victim)
	if err := waitFor(ctx, 60*time.Second, func() (bool, error) {
		// The fault lasts until the team's alert fires: only an alert that
		// starts while the fault is open detects it.
		return promValue(ctx, prom, `sum_over_time((min(steadywatch_workload_ready_ratio{namespace="shop",group="experimental"}) < bool 0.9)[30s:1s])`) >= 4 &&
			promValue(ctx, prom, `count(ALERTS{alertname="WebReplicasDown",alertstate="firing"})`) >= 1, nil
	}); err != nil {
		return err
	}
	var v struct {
		Abort        bool     `json:"abort"`
		AbortReasons []string `json:"abort_reasons"`
	}
	if err := get(ctx, sw+api.VerdictsPath+"/web-survives-a-pod-kill", &v); err == nil && v.Abort {
		fmt.Printf("      abort raised (SteadywatchAbortExperiment sent to Alertmanager): %s\n", v.AbortReasons[0])
	}
	for _, n := range nodes {
		if err := cordon(ctx, c, n, false); err != nil {
			return err
		}
	}
	fmt.Printf("      nodes uncordoned %s after the kill\n", time.Since(kill).Round(100*time.Millisecond))

	// The verdict is final 15 s after the fault; the detection once the
	// grace has passed.
	var incidents api.IncidentList
	var vd struct {
		Running bool      `json:"running"`
		At      time.Time `json:"at"`
	}
	if err := waitFor(ctx, 90*time.Second, func() (bool, error) {
		if err := get(ctx, sw+api.VerdictsPath+"/web-survives-a-pod-kill", &vd); err != nil || vd.Running {
			return false, nil //nolint:nilerr // not judged yet
		}
		if err := get(ctx, sw+api.IncidentsPath+"?service=web", &incidents); err != nil {
			return false, nil //nolint:nilerr // not yet
		}
		return len(incidents.Incidents) > 0 && incidents.Incidents[0].Detection != nil && incidents.Incidents[0].End != nil, nil
	}); err != nil {
		return fmt.Errorf("no final verdict: %w", err)
	}
	step(6, "recovered; what steadywatch recorded and judged:")
	for _, inc := range incidents.Incidents {
		fmt.Printf("      incident %s on %s/%s: MTTR %.2fs", inc.Kind, inc.Object.Kind, inc.Object.Name, *inc.RecoverySeconds)
		if d := inc.Detection; d != nil && d.DetectionSeconds != nil {
			fmt.Printf(", detected by %s after %.2fs (MTTD)", d.Alert, *d.DetectionSeconds)
		}
		fmt.Println()
	}
	fmt.Println()
	// Judged as of serve's final verdict, once the watch record covers it.
	if err := waitFor(ctx, 10*time.Second, func() (bool, error) {
		return time.Since(vd.At) > 2*checkpoint, nil
	}); err != nil {
		return err
	}
	code := cli.Run(ctx, []string{
		"verdict", "-f", hypFile, "--prometheus", prom.URL(), "--data-dir", dataDir, "--log.level", "warn",
		"--at", vd.At.Format(time.RFC3339Nano),
	}, os.Stdin, os.Stdout, os.Stderr)
	fmt.Printf("\n`steadywatch verdict` exit code %d (0 pass, 1 fail, 2 inconclusive)\n", code)
	if err := writeReports(ctx, dataDir, t0); err != nil {
		return err
	}
	fmt.Printf("demo took %s\n", time.Since(t0).Round(time.Second))
	if keep {
		fmt.Printf("\nStill running: %s/metrics, %s/api/v1/incidents, Prometheus %s. Ctrl-C stops everything.\n", sw, sw, prom.URL())
		<-ctx.Done()
	}
	return nil
}

func createDeployment(ctx context.Context, tb *testbed.Testbed, c kubernetes.Interface, name, group string) error {
	labels := map[string]string{"app": name, "app.kubernetes.io/name": "web", "steadywatch.io/group": group}
	replicas := int32(3)
	d := &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns, Labels: labels},
		Spec: appsv1.DeploymentSpec{
			Replicas: &replicas,
			Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": name}},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: labels},
				Spec: corev1.PodSpec{
					NodeSelector: map[string]string{"pool": ns},
					Tolerations:  []corev1.Toleration{{Key: testbed.KwokTaintKey, Operator: corev1.TolerationOpExists, Effect: corev1.TaintEffectNoSchedule}},
					Containers: []corev1.Container{{Name: "web", Image: "fake", Resources: corev1.ResourceRequirements{
						Requests: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("100m")},
					}}},
				},
			},
		},
	}
	if _, err := c.AppsV1().Deployments(ns).Create(ctx, d, metav1.CreateOptions{}); err != nil {
		return err
	}
	return tb.WaitFor(ctx, 60*time.Second, func(ctx context.Context) (bool, error) {
		got, err := c.AppsV1().Deployments(ns).Get(ctx, name, metav1.GetOptions{})
		return err == nil && got.Status.ReadyReplicas == replicas, err
	})
}

func cordon(ctx context.Context, c kubernetes.Interface, node string, on bool) error {
	patch := fmt.Sprintf(`{"spec":{"unschedulable":%t}}`, on)
	_, err := c.CoreV1().Nodes().Patch(ctx, node, types.MergePatchType, []byte(patch), metav1.PatchOptions{})
	return err
}

func promValue(ctx context.Context, p *promtest.Prometheus, q string) float64 {
	v, _, _, err := p.API().Query(ctx, q, time.Now())
	if err != nil {
		return 0
	}
	if vec, ok := v.(model.Vector); ok && len(vec) > 0 {
		return float64(vec[0].Value)
	}
	return 0
}

// get GETs url and decodes its JSON into v (if not nil); non-200 is an error.
func get(ctx context.Context, url string, v any) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close() //nolint:errcheck // read to the end or abandoned
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%s: %s", url, resp.Status)
	}
	if v == nil {
		_, err = io.Copy(io.Discard, resp.Body)
		return err
	}
	return json.NewDecoder(resp.Body).Decode(v)
}

func waitFor(ctx context.Context, timeout time.Duration, cond func() (bool, error)) error {
	deadline := time.Now().Add(timeout)
	for {
		ok, err := cond()
		if err != nil {
			return err
		}
		if ok {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("not within %s", timeout)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(250 * time.Millisecond):
		}
	}
}

func freeAddr() (string, error) {
	l, err := (&net.ListenConfig{}).Listen(context.Background(), "tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	addr := l.Addr().String()
	return addr, l.Close()
}

// reportFormats are the formats of the demo's report, each written to
// dataDir/report.<format>.
var reportFormats = []string{"md", "html", "json"}

// writeReports writes the report of the demo's run — from its start,
// whole minutes, to a minute from now — into dataDir with
// `steadywatch report weekly`, reading the store serve writes, and prints
// the Markdown one's SEV section.
func writeReports(ctx context.Context, dataDir string, t0 time.Time) error {
	from := t0.UTC().Truncate(time.Minute)
	to := time.Now().UTC().Truncate(time.Minute).Add(time.Minute)
	var files []string
	for _, f := range reportFormats {
		out := filepath.Join(dataDir, "report."+f)
		var stderr bytes.Buffer
		if code := cli.Run(ctx, []string{
			"report", "weekly", "--data-dir", dataDir, "--from", from.Format(time.RFC3339), "--to", to.Format(time.RFC3339),
			"--format", f, "-o", out,
		}, os.Stdin, os.Stdout, &stderr); code != 0 {
			return fmt.Errorf("steadywatch report weekly --format %s: exit code %d: %s", f, code, stderr.String())
		}
		files = append(files, out)
	}
	md, err := os.ReadFile(files[0])
	if err != nil {
		return err
	}
	fmt.Printf("\nThe demo's report (`steadywatch report weekly --from %s --to %s`), its SEVs:\n\n%s\nWritten: %s\n",
		from.Format(time.RFC3339), to.Format(time.RFC3339), section(string(md), "## SEVs by service"), strings.Join(files, ", "))
	return nil
}

// section returns the Markdown section of md that starts with the heading
// title, up to the next heading of its level or higher.
func section(md, title string) string {
	i := strings.Index(md, "\n"+title+"\n")
	if i < 0 {
		return "(no section " + title + ")\n"
	}
	rest := md[i+1:]
	level := strings.Count(strings.Fields(title)[0], "#")
	lines := strings.SplitAfter(rest, "\n")
	var b strings.Builder
	b.WriteString(lines[0])
	for _, l := range lines[1:] {
		if h := strings.Fields(l); len(h) > 0 && strings.Trim(h[0], "#") == "" && len(h[0]) <= level {
			break
		}
		b.WriteString(l)
	}
	return b.String()
}
