package server

import (
	"context"
	"fmt"
	"log/slog"
	goruntime "runtime"
	"runtime/debug"
	"slices"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/util/flowcontrol"

	"github.com/steadywatch/steadywatch/chaos"
	"github.com/steadywatch/steadywatch/config"
	"github.com/steadywatch/steadywatch/detect"
	"github.com/steadywatch/steadywatch/experiment"
	"github.com/steadywatch/steadywatch/exporter"
	"github.com/steadywatch/steadywatch/store"
	"github.com/steadywatch/steadywatch/tracker"
	"github.com/steadywatch/steadywatch/verdict"
	"github.com/steadywatch/steadywatch/watcher"
	"github.com/steadywatch/steadywatch/web"
)

// The parts Run wires together, each built (and, for those that run in the
// background, started) by one function here.

// withDefaults fills in the logger and the clock.
func (o Options) withDefaults() Options {
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	return o
}

// background runs goroutines that each stop when asked, in the reverse
// order of their start.
type background struct {
	mu    sync.Mutex
	stops []func()
}

// start runs f in a goroutine with a context derived from ctx, cancelled by
// stop (or by ctx).
func (b *background) start(ctx context.Context, f func(ctx context.Context)) {
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		f(ctx)
	}()
	b.mu.Lock()
	defer b.mu.Unlock()
	b.stops = append(b.stops, func() {
		cancel()
		<-done
	})
}

// stop cancels the goroutines, last started first, each waited for before
// the next.
func (b *background) stop() {
	b.mu.Lock()
	stops := b.stops
	b.stops = nil
	b.mu.Unlock()
	for _, stop := range slices.Backward(stops) {
		stop()
	}
}

// newHTTPServer reads the web configuration (TLS, basic auth, bearer
// tokens) and makes the server that listens on Config.Listen.
func newHTTPServer(o Options, reg prometheus.Registerer) (*web.Server, error) {
	webCfg, err := web.LoadConfig(o.Config.Web.ConfigFile, o.Config.Web.BearerTokenFile)
	if err != nil {
		return nil, fmt.Errorf("web: %w", err)
	}
	wc := o.Config.Web
	srv, err := web.New(web.Options{
		Config: webCfg, Address: o.Config.Listen, Listener: o.Listener, Logger: o.Logger, Registerer: reg,
		Limits: web.Limits{
			ReadTimeout: time.Duration(wc.ReadTimeout), WriteTimeout: time.Duration(wc.WriteTimeout),
			IdleTimeout: time.Duration(wc.IdleTimeout), MaxConnections: wc.MaxConnections,
		},
	})
	if err != nil {
		return nil, fmt.Errorf("web: %w", err)
	}
	return srv, nil
}

// cluster is the connection to the Kubernetes API and the health of its
// watches.
type cluster struct {
	client kubernetes.Interface
	// dynamic and discovery read the chaos tools' objects (package
	// experiment), through the rest config of client.
	dynamic   dynamic.Interface
	discovery experiment.Discovery
	// election is the leader election's client (see electionConfig).
	election kubernetes.Interface
	address  string
	health   *watcher.Health
}

// connect makes the Kubernetes client. The health of the watches is read
// on the wire, around every request: client-go's reflector retries a
// refused watch without telling anyone. Its breaks and restorations are
// what coverage records.
func connect(o Options, reg prometheus.Registerer, metrics *exporter.Metrics, coverage *coverageRecorder) (cluster, error) {
	restCfg, address, err := restConfig(o, o.Config)
	if err != nil {
		return cluster{}, configError(err)
	}
	// Built-in objects in protobuf, as kube-state-metrics and the
	// controllers ask for them: smaller on the wire and cheaper to decode
	// than JSON, the first list of 10,000 pods above all (docs/benchmarks.md,
	// side by side with kube-state-metrics). JSON stays accepted, for what
	// is served only that way.
	restCfg.ContentType = runtime.ContentTypeProtobuf
	restCfg.AcceptContentTypes = runtime.ContentTypeProtobuf + "," + runtime.ContentTypeJSON
	health := watcher.NewHealth(watcher.HealthOptions{
		Tolerance: time.Duration(o.Config.Watch.HealthTolerance), Logger: o.Logger.With("component", "watcher"), Now: o.Now,
		OnError: metrics.WatchError, OnBreak: coverage.broke, OnRestore: coverage.restored,
	})
	reg.MustRegister(exporter.NewWatchHealthCollector(health))
	// Before the health's wrap: the Lease's requests are not the watches'.
	election, err := kubernetes.NewForConfig(electionConfig(restCfg, o.Config.Kubernetes))
	if err != nil {
		return cluster{}, fmt.Errorf("kubernetes client for %s: %w", address, err)
	}
	restCfg.Wrap(health.WrapTransport)
	client, err := kubernetes.NewForConfig(restCfg)
	if err != nil {
		return cluster{}, fmt.Errorf("kubernetes client for %s: %w", address, err)
	}
	// The chaos tools' objects are read as JSON: dynamic.NewForConfig sets
	// it over the protobuf asked for above.
	dyn, err := dynamic.NewForConfig(restCfg)
	if err != nil {
		return cluster{}, fmt.Errorf("kubernetes client for %s: %w", address, err)
	}
	return cluster{
		client: client, dynamic: dyn, discovery: client.Discovery(), election: election, address: address, health: health,
	}, nil
}

// The election's rate limit: a get and an update per retry, with room.
const (
	electionQPS   = 5
	electionBurst = 10
)

// electionConfig is the leader election's copy of rc: its own rate
// limiter, so that the informers' requests, throttled by kubernetes.qps
// (a relist of every namespace takes the whole burst), never delay a
// renewal past renew_deadline; and a timeout of retry_period (at most
// kubernetes.timeout), so that a request that hangs leaves time for
// other tries before the leader steps down (a try's update is cut by then
// anyway: cutLock).
func electionConfig(rc *rest.Config, k config.Kubernetes) *rest.Config {
	ec := rest.CopyConfig(rc)
	ec.RateLimiter = flowcontrol.NewTokenBucketRateLimiter(electionQPS, electionBurst)
	ec.Timeout = min(time.Duration(k.Timeout), k.LeaderElection.RenewTimeout())
	ec.UserAgent = rc.UserAgent + "/leader-election"
	return ec
}

// ready is /readyz: ready once the hypotheses' steps are checked (on
// every replica), and once the informers synced and while every watch is
// up. A follower (kubernetes.leader_election) watches nothing and is
// ready: it receives webhooks and answers the API from the store.
func ready(k8s cluster, w *watcher.Watcher, ship *leadership, steps *stepCheck) func() (bool, string) {
	return func() (bool, string) {
		if ok, why := steps.ready(); !ok {
			return false, why
		}
		if !ship.Leading() {
			return true, ""
		}
		if !w.Synced() {
			return false, "informers have not synced with the Kubernetes API at " + k8s.address
		}
		if ok, why := k8s.health.Ready(); !ok {
			return false, why + " (Kubernetes API at " + k8s.address + ")"
		}
		return true, ""
	}
}

// closeStore closes the store, logging a failure: Run is returning.
func closeStore(db store.Store, log *slog.Logger) {
	if err := db.Close(); err != nil {
		log.Error("closing the store", "err", err)
	}
}

// startAlerts starts the detector, which joins alerts to the incidents
// they detect (on every replica: the store records a detection once), and
// returns the sink the webhook receiver stores alerts through and the
// optional pull of Alertmanager's API, which only the leader runs.
func startAlerts(ctx context.Context, parts *background, o Options, db store.Store, reg prometheus.Registerer) (detect.AlertSaver, func(context.Context), error) {
	cfg, log := o.Config, o.Logger
	detector, err := detect.New(detect.Options{
		Store: db, Alerts: db,
		Window: time.Duration(cfg.Alerts.Detection.Window), Grace: time.Duration(cfg.Alerts.Detection.Grace),
		AfterRecovery: time.Duration(cfg.Alerts.Detection.AfterRecovery),
		From:          detect.From(cfg.Alerts.Detection.From),
		Labels: detect.Labels{
			Namespace: cfg.Alerts.NamespaceLabels, Service: cfg.Alerts.ServiceLabels,
			Group: cfg.Alerts.GroupLabels, Node: cfg.Alerts.NodeLabels,
		},
		GroupValues: map[string]chaos.Group{
			cfg.Watch.ControlValue: chaos.Control, cfg.Watch.ExperimentalValue: chaos.Experimental,
		},
		Registerer: reg, Logger: log.With("component", "detect"), Now: o.Now,
	})
	if err != nil {
		return nil, nil, err
	}
	parts.start(ctx, detector.Run)
	sink := detector.Sink(db)
	puller, err := newPuller(cfg.Alerts.Pull, sink, log.With("component", "alertpull"), reg)
	if err != nil {
		return nil, nil, err
	}
	if puller == nil {
		return sink, nil, nil
	}
	pull := func(ctx context.Context) {
		if err := puller.Run(ctx); err != nil && ctx.Err() == nil {
			log.Error("pulling alerts from Alertmanager stopped", "err", err)
		}
	}
	return sink, pull, nil
}

// newWatcher makes the informers that feed the tracker, for the
// namespaces, selectors and services configured.
func newWatcher(o Options, k8s cluster, incidents *tracker.Tracker) (*watcher.Watcher, error) {
	wc := o.Config.Watch
	selector, _ := labels.Parse(wc.Selector)         // validated by Run
	nodeSelector, _ := labels.Parse(wc.NodeSelector) // validated by Run
	subjects := watcher.Subjects{
		ServiceLabel: wc.ServiceLabel, GroupLabel: wc.GroupLabel,
		ControlValue: wc.ControlValue, ExperimentalValue: wc.ExperimentalValue,
	}
	if len(wc.Services) > 0 {
		subjects.Services = map[string]struct{}{}
		for _, s := range wc.Services {
			subjects.Services[s] = struct{}{}
		}
	}
	return watcher.New(watcher.Options{
		Client: k8s.client, Address: k8s.address, Sink: incidents, Subjects: subjects,
		Namespaces: wc.Namespaces, Selector: selector, NodeSelector: nodeSelector,
		Resync: time.Duration(wc.Resync), Logger: o.Logger.With("component", "watcher"), Now: o.Now,
		Health:   k8s.health,
		OnSynced: func() { releaseListGarbage(o.Logger) },
	})
}

// releaseListGarbage collects the informers' first list and returns its
// memory to the OS. The list's decoded pages are garbage once the
// informers hold their objects, but they set the GC's target: at 10,090
// pods the heap goal reached 229 MiB while 29 MiB stayed live, and with
// a quiet cluster nothing allocates enough to reach it again, so the
// garbage stayed resident (docs/benchmarks.md, issue 16). One forced
// collection per list costs a few milliseconds of the GC.
func releaseListGarbage(log *slog.Logger) {
	var before, after goruntime.MemStats
	goruntime.ReadMemStats(&before)
	debug.FreeOSMemory()
	goruntime.ReadMemStats(&after)
	log.Info("collected the first list's garbage",
		"heap_in_use_before_mib", before.HeapInuse>>20, "heap_in_use_mib", after.HeapInuse>>20,
		"released_mib", (after.HeapReleased-min(after.HeapReleased, before.HeapReleased))>>20)
}

// newVerdicts builds the verdict loop of cfg's hypotheses (nil: none);
// ctx bounds the checks it makes against Prometheus on a reload.
func newVerdicts(o Options, events tracker.Store, db store.Store, coverage verdict.CoverageSource,
	board *verdict.Board,
) func(ctx context.Context, cfg config.Config) (*verdictLoop, error) {
	return func(ctx context.Context, cfg config.Config) (*verdictLoop, error) {
		if len(cfg.Verdicts.Hypotheses) == 0 {
			return nil, nil
		}
		loop, err := newVerdictLoop(cfg.Verdicts, cfg.Kubernetes.LeaderElection, events, db, coverage, board, o.Logger.With("component", "verdict"), o.Now)
		if err != nil {
			return nil, err
		}
		if ctx != nil {
			// A reload: a step shorter than Prometheus's scrape interval
			// keeps the hypotheses running. (At the start, every replica
			// checks in a stepCheck, before it is ready.)
			if err := loop.checkIntervals(ctx); err != nil {
				return nil, err
			}
		}
		return loop, nil
	}
}

// newStepCheck is the check of loop's steps against Prometheus's scrape
// intervals at the start (nil without hypotheses); fail ends serve.
func newStepCheck(loop *verdictLoop, fail func(error)) *stepCheck {
	if loop == nil {
		return nil
	}
	return &stepCheck{check: loop.checkIntervals, fail: fail, url: loop.cfg.PrometheusURL, done: make(chan struct{})}
}

// stepCheck checks the hypotheses' steps against Prometheus' scrape
// intervals on every replica, before it is ready: a configuration that is
// wrong fails the rollout on the first replica, leader or not.
type stepCheck struct {
	check func(context.Context) error
	fail  func(error)
	url   string
	// done is closed once the steps are checked and fine.
	done chan struct{}
}

// run checks, then marks the check done or fails serve.
func (c *stepCheck) run(ctx context.Context) {
	if err := c.check(ctx); err != nil {
		c.fail(err)
		return
	}
	if ctx.Err() == nil {
		close(c.done)
	}
}

// ready is whether the check is done (a nil check has nothing to do).
func (c *stepCheck) ready() (bool, string) {
	if c == nil {
		return true, ""
	}
	select {
	case <-c.done:
		return true, ""
	default:
		return false, "the hypotheses' steps are being checked against the scrape intervals of Prometheus at " + c.url
	}
}
