//go:build !testbedbuildonly

// This file, helpers.go and apiserver.go run the control plane and use
// client-go; the tag testbedbuildonly leaves them out, so that
// `go run -tags testbedbuildonly ./cmd/testbed build` (make testbed-build)
// compiles only the build, in seconds, on a machine with empty caches.

package testbed

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
)

// Options configure Start.
type Options struct {
	// Binaries to run, from Ensure. New calls Ensure with Build when empty.
	Binaries Binaries
	// Build is used by New when Binaries is empty.
	Build BuildOptions

	// Dir holds the instance's state (etcd data, certificates, kubeconfig,
	// logs). Default: a new temporary directory, removed by Stop. A
	// caller-supplied Dir is left in place, logs included.
	Dir string

	// MetricsServer also starts metrics-server and registers the
	// metrics.k8s.io API, so HPAs can act on kwok's fake CPU usage.
	MetricsServer bool

	// KwokStages are kwok Stage documents added to the testbed's own (YAML,
	// separated by "---"). A stage with a weight above 0 takes precedence
	// over the testbed's stages of weight 0 where both match a resource, so
	// a caller can give some pods a lifecycle of their own (say, Running
	// but not Ready until something it runs marks them Ready).
	KwokStages string

	// Log receives progress and component failures. Default: discarded.
	Log *slog.Logger

	// StartTimeout bounds Start as a whole. Default: 2 minutes.
	StartTimeout time.Duration
}

// Testbed is a running control plane. Stop it when done.
type Testbed struct {
	log       *slog.Logger
	bins      Binaries
	dir       string
	removeDir bool
	token     string
	health    *healthChecker

	apiURL     string
	kubeconfig string
	restConfig *rest.Config
	client     kubernetes.Interface

	mu    sync.Mutex
	procs []*process
	// apiServer is how the kube-apiserver was started, so that
	// StartAPIServer can start it again the same way on the same port.
	apiServer      component
	apiServerPorts []int
	apiRestarts    int
	// apiMu serializes StopAPIServer, StartAPIServer and Stop.
	apiMu   sync.Mutex
	stopped bool // guarded by mu
	// crashes holds the first component that exited by itself (see
	// Crashed).
	crashes chan error

	stopOnce sync.Once
	stopErr  error
}

// Grace given to each stage of Stop before SIGKILL.
const stopGrace = 10 * time.Second

// Start runs a control plane and returns once every component is healthy and
// the default namespace has its default ServiceAccount (pods are rejected
// without it). ctx bounds start-up only: the processes run until Stop, or
// until the calling process dies.
func Start(ctx context.Context, opts Options) (*Testbed, error) {
	if opts.Log == nil {
		opts.Log = slog.New(slog.DiscardHandler)
	}
	if opts.StartTimeout == 0 {
		opts.StartTimeout = 2 * time.Minute
	}
	if !opts.Binaries.complete() {
		return nil, fmt.Errorf("testbed binaries in %q are incomplete: call Ensure first", opts.Binaries.Dir)
	}
	ctx, cancel := context.WithTimeout(ctx, opts.StartTimeout)
	defer cancel()

	tb := &Testbed{log: opts.Log, bins: opts.Binaries, dir: opts.Dir, crashes: make(chan error, 1)}
	if tb.dir == "" {
		dir, err := os.MkdirTemp("", "steadywatch-testbed-")
		if err != nil {
			return nil, fmt.Errorf("creating testbed dir: %w", err)
		}
		tb.dir, tb.removeDir = dir, true
	} else if err := os.MkdirAll(tb.dir, 0o755); err != nil {
		return nil, fmt.Errorf("creating testbed dir: %w", err)
	}
	if err := tb.start(ctx, opts); err != nil {
		return nil, errors.Join(fmt.Errorf("starting testbed: %w", err), tb.Stop())
	}
	return tb, nil
}

func (tb *Testbed) start(ctx context.Context, o Options) error {
	t0 := time.Now()
	for _, d := range []string{"logs", "etcd"} {
		if err := os.MkdirAll(filepath.Join(tb.dir, d), 0o755); err != nil {
			return fmt.Errorf("creating state dir: %w", err)
		}
	}
	pki, err := writePKI(filepath.Join(tb.dir, "pki"))
	if err != nil {
		return err
	}
	tok := make([]byte, 16)
	_, _ = rand.Read(tok) // never fails since Go 1.24
	tb.token = hex.EncodeToString(tok)
	tb.health = newHealthChecker(tb.token)
	tokens := filepath.Join(tb.dir, "pki", "tokens.csv")
	if err := os.WriteFile(tokens, []byte(tb.token+`,testbed-admin,testbed-admin,"system:masters"`+"\n"), 0o600); err != nil {
		return fmt.Errorf("writing token file: %w", err)
	}

	var etcdURL string
	if _, err := tb.launch(ctx, t0, component{
		name: Etcd, bin: tb.bins.Etcd, ports: 2, timeout: 30 * time.Second,
		args: func(p []int) []string {
			client, peer := localURL("http", p[0]), localURL("http", p[1])
			etcdURL = client
			return []string{
				"--name", "testbed",
				// Per port pair: an attempt that lost a port race may
				// already have bootstrapped a member with the old URLs.
				"--data-dir", filepath.Join(tb.dir, "etcd", strconv.Itoa(p[0])),
				"--listen-client-urls", client, "--advertise-client-urls", client,
				"--listen-peer-urls", peer, "--initial-advertise-peer-urls", peer,
				"--initial-cluster", "testbed=" + peer,
				// A throwaway cluster: no fsync, as kind and k3d clusters
				// on tmpfs, so that the shared disk's sync latency does not
				// make every API write (and the latencies measured
				// through them) wait on it.
				"--unsafe-no-fsync",
			}
		},
		health: func(p []int) string { return localURL("http", p[0]) + "/health" },
	}); err != nil {
		return err
	}

	apiServer := component{
		name: KubeAPIServer, bin: tb.bins.KubeAPIServer, ports: 1, timeout: 2 * time.Minute,
		args: func(p []int) []string {
			tb.apiURL = localURL("https", p[0])
			return []string{
				"--etcd-servers", etcdURL,
				"--bind-address", "127.0.0.1", "--advertise-address", "127.0.0.1", "--secure-port", strconv.Itoa(p[0]),
				"--cert-dir", filepath.Join(tb.dir, "pki"),
				"--client-ca-file", pki.clientCA,
				"--token-auth-file", tokens,
				"--authorization-mode", "RBAC",
				"--service-account-issuer", "https://kubernetes.default.svc",
				"--service-account-key-file", pki.saKey,
				"--service-account-signing-key-file", pki.saKey,
				"--service-cluster-ip-range", "10.96.0.0/16",
				// No kubernetes Service endpoints: nothing in-cluster dials the apiserver.
				"--endpoint-reconciler-type", "none",
				// Close open watches on SIGTERM (within 2 s) rather than
				// wait for them to end: with clients still connected (a
				// restart, not Stop) the apiserver otherwise outlives the
				// stop grace and is killed.
				"--shutdown-watch-termination-grace-period", "2s",
				"--requestheader-client-ca-file", pki.frontProxyCA,
				"--requestheader-allowed-names", pki.frontProxyClient,
				"--requestheader-username-headers", "X-Remote-User",
				"--requestheader-group-headers", "X-Remote-Group",
				"--requestheader-extra-headers-prefix", "X-Remote-Extra-",
				"--proxy-client-cert-file", pki.frontProxyCert,
				"--proxy-client-key-file", pki.frontProxyKey,
			}
		},
		health: func(p []int) string { return localURL("https", p[0]) + "/readyz" },
	}
	apiPorts, err := tb.launch(ctx, t0, apiServer)
	if err != nil {
		return err
	}
	tb.mu.Lock()
	tb.apiServer, tb.apiServerPorts = apiServer, apiPorts
	tb.mu.Unlock()
	if err := tb.initClients(); err != nil {
		return err
	}

	withKubeconfig := func(args ...string) []string {
		return append([]string{"--kubeconfig", tb.kubeconfig}, args...)
	}
	// The remaining components only need the apiserver, so they start
	// together: on two cores this saves about a second over the recipe's
	// one-after-another.
	// kwok plays 4 pod stages at a time by default: ~10 pods/s turn Ready on
	// two cores, half an hour for the 10,000-pod benchmark.
	kwokOptions := filepath.Join(tb.dir, "kwok-options.yaml")
	kwokConfig := kwokOptionsYAML
	if o.KwokStages != "" {
		// kwok reads its --config files as one stream of documents.
		kwokConfig += "\n---\n" + o.KwokStages
	}
	if err := os.WriteFile(kwokOptions, []byte(kwokConfig), 0o644); err != nil {
		return fmt.Errorf("writing kwok options: %w", err)
	}
	steps := []func(context.Context) error{
		func(ctx context.Context) error {
			_, err := tb.launch(ctx, t0, component{
				name: KubeControllerManager, bin: tb.bins.KubeControllerManager, ports: 1, timeout: time.Minute,
				args: func(p []int) []string {
					return withKubeconfig(
						"--bind-address", "127.0.0.1", "--secure-port", strconv.Itoa(p[0]),
						"--leader-elect=false",
						"--service-account-private-key-file", pki.saKey,
						// Tests of node failure want eviction in seconds, and HPA
						// tests want scaling decisions in seconds.
						"--node-monitor-grace-period", "20s",
						"--horizontal-pod-autoscaler-sync-period", HPASyncPeriod.String(),
						"--horizontal-pod-autoscaler-cpu-initialization-period", "10s",
						"--controllers", "*,bootstrapsigner,tokencleaner",
						// The defaults (20 QPS) make a 10,000-pod benchmark
						// cluster take half an hour to fill.
						"--kube-api-qps", "500", "--kube-api-burst", "1000",
						"--concurrent-replicaset-syncs", "10",
					)
				},
				health: func(p []int) string { return localURL("https", p[0]) + "/healthz" },
			})
			return err
		},
		func(ctx context.Context) error {
			_, err := tb.launch(ctx, t0, component{
				name: KubeScheduler, bin: tb.bins.KubeScheduler, ports: 1, timeout: time.Minute,
				args: func(p []int) []string {
					return withKubeconfig(
						"--bind-address", "127.0.0.1", "--secure-port", strconv.Itoa(p[0]),
						"--leader-elect=false",
						// Deprecated but honoured without --config; the default
						// 50 QPS limits binding to ~50 pods/s.
						"--kube-api-qps", "500", "--kube-api-burst", "1000")
				},
				health: func(p []int) string { return localURL("https", p[0]) + "/healthz" },
			})
			return err
		},
		func(ctx context.Context) error {
			_, err := tb.launch(ctx, t0, component{
				name: Kwok, bin: tb.bins.Kwok, ports: 1, timeout: time.Minute,
				args: func(p []int) []string {
					port := strconv.Itoa(p[0])
					return withKubeconfig(
						"--config", tb.bins.KwokStages, "--config", kwokOptions,
						// Only nodes created as fake; anything else is left alone.
						"--manage-all-nodes=false",
						"--manage-nodes-with-annotation-selector", "kwok.x-k8s.io/node=fake",
						// The node port is what metrics-server scrapes for kwok's fake kubelet metrics.
						"--server-address", "127.0.0.1:"+port, "--node-ip", "127.0.0.1", "--node-port", port,
						"--node-lease-duration-seconds", "40")
				},
				health: func(p []int) string { return localURL("http", p[0]) + "/healthz" },
			})
			return err
		},
		func(ctx context.Context) error {
			return tb.WaitFor(ctx, time.Minute, func(ctx context.Context) (bool, error) {
				return tb.serviceAccountExists(ctx, metav1.NamespaceDefault)
			})
		},
	}
	if o.MetricsServer {
		steps = append(steps, func(ctx context.Context) error {
			ports, err := tb.launch(ctx, t0, component{
				name: MetricsServer, bin: tb.bins.MetricsServer, ports: 1, timeout: time.Minute,
				args: func(p []int) []string {
					return withKubeconfig(
						"--authentication-kubeconfig", tb.kubeconfig, "--authorization-kubeconfig", tb.kubeconfig,
						"--bind-address", "127.0.0.1", "--secure-port", strconv.Itoa(p[0]),
						"--cert-dir", filepath.Join(tb.dir, "pki", "metrics-server"),
						"--kubelet-insecure-tls", "--kubelet-use-node-status-port",
						"--kubelet-preferred-address-types", "InternalIP",
						// metrics-server panics unless resolution > request timeout.
						"--metric-resolution", MetricResolution.String(), "--kubelet-request-timeout", "5s")
				},
				health: func(p []int) string { return localURL("https", p[0]) + "/livez" },
			})
			if err != nil {
				return err
			}
			return tb.registerMetricsAPI(ctx, ports[0])
		})
	}
	if err := runAll(ctx, steps...); err != nil {
		return err
	}
	tb.log.Info("testbed ready", "api", tb.apiURL, "dir", tb.dir, "after", time.Since(t0).Round(time.Millisecond))
	return nil
}

// component describes how to run and health-check one binary on fresh ports.
type component struct {
	name    string
	bin     string
	ports   int
	timeout time.Duration
	args    func(ports []int) []string
	health  func(ports []int) string
}

// launch starts c on free ports and waits for it to be healthy, retrying on
// new ports if it lost the race for one.
func (tb *Testbed) launch(ctx context.Context, t0 time.Time, c component) ([]int, error) {
	const attempts = 3
	for attempt := 1; ; attempt++ {
		ports, err := freePorts(ctx, c.ports)
		if err != nil {
			return nil, err
		}
		p, err := startProcess(ctx, c.name, tb.dir, filepath.Join(tb.dir, "logs", c.name+".log"), c.bin, c.args(ports), tb.log, tb.crash)
		if err != nil {
			return nil, err
		}
		tb.track(p)
		err = tb.health.wait(ctx, p, c.health(ports), c.timeout)
		if err == nil {
			p.healthy.Store(true)
			tb.log.Info("component healthy", "component", c.name, "pid", p.pid(), "ports", ports,
				"after", time.Since(t0).Round(time.Millisecond))
			return ports, nil
		}
		if attempt == attempts || !errors.Is(err, errPortInUse) {
			return nil, err
		}
		tb.log.Warn("component lost a port race; retrying on new ports", "component", c.name, "ports", ports)
		if err := p.stop(stopGrace, tb.log); err != nil {
			return nil, err
		}
		tb.untrack(p)
	}
}

// Crashed receives, once, the first component (etcd, kube-apiserver,
// kube-controller-manager, kube-scheduler, kwok, metrics-server) that
// exited by itself after it was healthy: its exit status and the last
// lines of its log. Stop, StopAPIServer and a restart do not count.
func (tb *Testbed) Crashed() <-chan error { return tb.crashes }

// crash records a component's own exit; only the first is kept.
func (tb *Testbed) crash(err error) {
	if tb.closed() {
		return
	}
	select {
	case tb.crashes <- err:
	default:
	}
}

func (tb *Testbed) track(p *process) {
	tb.mu.Lock()
	defer tb.mu.Unlock()
	tb.procs = append(tb.procs, p)
}

func (tb *Testbed) untrack(p *process) {
	tb.mu.Lock()
	defer tb.mu.Unlock()
	for i, q := range tb.procs {
		if q == p {
			tb.procs = append(tb.procs[:i], tb.procs[i+1:]...)
			return
		}
	}
}

func (tb *Testbed) closed() bool {
	tb.mu.Lock()
	defer tb.mu.Unlock()
	return tb.stopped
}

func (tb *Testbed) processes() []*process {
	tb.mu.Lock()
	defer tb.mu.Unlock()
	return append([]*process(nil), tb.procs...)
}

func localURL(scheme string, port int) string {
	return fmt.Sprintf("%s://127.0.0.1:%d", scheme, port)
}

// initClients writes the kubeconfig the other components (and users) use and
// builds our own client from the same credentials.
func (tb *Testbed) initClients() error {
	tb.kubeconfig = filepath.Join(tb.dir, "kubeconfig")
	kc := fmt.Sprintf(`apiVersion: v1
kind: Config
clusters:
- name: testbed
  cluster:
    server: %q
    insecure-skip-tls-verify: true
users:
- name: admin
  user:
    token: %q
contexts:
- name: testbed
  context:
    cluster: testbed
    user: admin
current-context: testbed
`, tb.apiURL, tb.token)
	if err := os.WriteFile(tb.kubeconfig, []byte(kc), 0o600); err != nil {
		return fmt.Errorf("writing kubeconfig: %w", err)
	}
	tb.restConfig = &rest.Config{
		Host:            tb.apiURL,
		BearerToken:     tb.token,
		TLSClientConfig: rest.TLSClientConfig{Insecure: true},
		// Tests create objects in bursts; client-go's default 5 QPS would
		// dominate their run time.
		QPS:   100,
		Burst: 200,
	}
	client, err := kubernetes.NewForConfig(tb.restConfig)
	if err != nil {
		return fmt.Errorf("creating client: %w", err)
	}
	tb.client = client
	return nil
}

func (tb *Testbed) serviceAccountExists(ctx context.Context, namespace string) (bool, error) {
	_, err := tb.client.CoreV1().ServiceAccounts(namespace).Get(ctx, "default", metav1.GetOptions{})
	switch {
	case err == nil:
		return true, nil
	case apierrors.IsNotFound(err):
		return false, nil
	default:
		return false, fmt.Errorf("getting default ServiceAccount in %s: %w", namespace, err)
	}
}

var apiServiceGVR = schema.GroupVersionResource{Group: "apiregistration.k8s.io", Version: "v1", Resource: "apiservices"}

// registerMetricsAPI makes the aggregator proxy metrics.k8s.io to
// metrics-server. The ExternalName Service lets it reach a process on
// loopback instead of a pod. It waits until the aggregator reports the API
// Available, because the first requests after registering get 403s.
func (tb *Testbed) registerMetricsAPI(ctx context.Context, port int) error {
	svc := &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: MetricsServer, Namespace: metav1.NamespaceSystem},
		Spec:       corev1.ServiceSpec{Type: corev1.ServiceTypeExternalName, ExternalName: "localhost"},
	}
	if _, err := tb.client.CoreV1().Services(metav1.NamespaceSystem).Create(ctx, svc, metav1.CreateOptions{}); err != nil {
		return fmt.Errorf("creating metrics-server Service: %w", err)
	}
	dyn, err := dynamic.NewForConfig(tb.restConfig)
	if err != nil {
		return fmt.Errorf("creating dynamic client: %w", err)
	}
	apiService := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "apiregistration.k8s.io/v1",
		"kind":       "APIService",
		"metadata":   map[string]any{"name": "v1beta1.metrics.k8s.io"},
		"spec": map[string]any{
			"group":                 "metrics.k8s.io",
			"version":               "v1beta1",
			"service":               map[string]any{"namespace": metav1.NamespaceSystem, "name": MetricsServer, "port": int64(port)},
			"insecureSkipTLSVerify": true,
			"groupPriorityMinimum":  int64(100),
			"versionPriority":       int64(100),
		},
	}}
	if _, err := dyn.Resource(apiServiceGVR).Create(ctx, apiService, metav1.CreateOptions{}); err != nil {
		return fmt.Errorf("registering metrics APIService: %w", err)
	}
	err = tb.WaitFor(ctx, time.Minute, func(ctx context.Context) (bool, error) {
		obj, err := dyn.Resource(apiServiceGVR).Get(ctx, "v1beta1.metrics.k8s.io", metav1.GetOptions{})
		if err != nil {
			return false, fmt.Errorf("getting metrics APIService: %w", err)
		}
		conds, _, _ := unstructured.NestedSlice(obj.Object, "status", "conditions")
		for _, c := range conds {
			m, _ := c.(map[string]any)
			if m["type"] == "Available" && m["status"] == "True" {
				return true, nil
			}
		}
		return false, nil
	})
	if err != nil {
		return fmt.Errorf("metrics APIService not available: %w", err)
	}
	return nil
}

// runAll runs fns concurrently and returns the first error, cancelling the
// others' context when one fails.
func runAll(ctx context.Context, fns ...func(context.Context) error) error {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	var (
		wg    sync.WaitGroup
		once  sync.Once
		first error
	)
	for _, fn := range fns {
		wg.Go(func() {
			if err := fn(ctx); err != nil {
				once.Do(func() { first = err })
				cancel(err)
			}
		})
	}
	wg.Wait()
	return first
}

// Kubeconfig is the path of a kubeconfig with admin (system:masters) access.
func (tb *Testbed) Kubeconfig() string { return tb.kubeconfig }

// RESTConfig returns a fresh copy of an admin client configuration.
func (tb *Testbed) RESTConfig() *rest.Config { return rest.CopyConfig(tb.restConfig) }

// Client is an admin clientset.
func (tb *Testbed) Client() kubernetes.Interface { return tb.client }

// Dir is the instance's state directory.
func (tb *Testbed) Dir() string { return tb.dir }

// APIServerURL is the apiserver's https URL on 127.0.0.1.
func (tb *Testbed) APIServerURL() string { return tb.apiURL }

// Stop terminates every component (SIGTERM, then SIGKILL after a grace
// period), waits for them to exit and removes the state directory if Start
// created it. It is safe to call more than once.
func (tb *Testbed) Stop() error {
	tb.stopOnce.Do(func() { tb.stopErr = tb.stop() })
	return tb.stopErr
}

func (tb *Testbed) stop() error {
	tb.apiMu.Lock()
	defer tb.apiMu.Unlock()
	tb.mu.Lock()
	tb.stopped = true
	tb.mu.Unlock()
	// etcd goes last so the apiserver can shut down cleanly; the rest stop
	// together because the apiserver's and metrics-server's graceful
	// shutdowns take about a second each.
	var first, etcd []*process
	for _, p := range tb.processes() {
		if p.name == Etcd {
			etcd = append(etcd, p)
		} else {
			first = append(first, p)
		}
	}
	var (
		mu   sync.Mutex
		errs []error
		wg   sync.WaitGroup
	)
	stopAll := func(ps []*process) {
		for _, p := range ps {
			wg.Go(func() {
				if err := p.stop(stopGrace, tb.log); err != nil {
					mu.Lock()
					errs = append(errs, err)
					mu.Unlock()
				}
			})
		}
		wg.Wait()
	}
	t0 := time.Now()
	stopAll(first)
	stopAll(etcd)
	if tb.removeDir {
		if err := os.RemoveAll(tb.dir); err != nil {
			errs = append(errs, fmt.Errorf("removing testbed dir: %w", err))
		}
	}
	tb.log.Info("testbed stopped", "took", time.Since(t0).Round(time.Millisecond))
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("stopping testbed: %w", err)
	}
	return nil
}

const kwokOptionsYAML = `apiVersion: config.kwok.x-k8s.io/v1alpha1
kind: KwokConfiguration
options:
  podPlayStageParallelism: 32
  nodePlayStageParallelism: 8
  # A configuration document replaces kwok's defaults for these too. With
  # 4 lease workers, 500 busy nodes miss renewals and go Unknown.
  nodeLeaseParallelism: 16
  podsOnNodeSyncParallelism: 1
`
