// Package server wires the parts of `steadywatch serve` together: the
// watcher feeding the incident tracker, the durable store, the Alertmanager
// receiver, the exporter and the HTTP endpoints.
package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	versioncollector "github.com/prometheus/client_golang/prometheus/collectors/version"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/steadywatch/steadywatch/api"
	"github.com/steadywatch/steadywatch/chaos"
	"github.com/steadywatch/steadywatch/config"
	"github.com/steadywatch/steadywatch/contract"
	"github.com/steadywatch/steadywatch/experiment"
	"github.com/steadywatch/steadywatch/exporter"
	"github.com/steadywatch/steadywatch/receiver"
	"github.com/steadywatch/steadywatch/report/delivery"
	"github.com/steadywatch/steadywatch/store"
	"github.com/steadywatch/steadywatch/tracker"
	"github.com/steadywatch/steadywatch/verdict"
	"github.com/steadywatch/steadywatch/watcher"
	"github.com/steadywatch/steadywatch/web"
)

// Options configure Run.
type Options struct {
	Config config.Config
	// Logger is this Run's. client-go logs through klog's process-wide
	// logger, which the process sets once before it uses client-go (cli's
	// serve does): set here, it raced with the informers of another Run in
	// the same process.
	Logger *slog.Logger
	// RESTConfig, if set, is used instead of the kubeconfig in Config.
	RESTConfig *rest.Config
	// Listener, if set, is served instead of listening on Config.Listen.
	Listener net.Listener
	// Started, if set, is called once the HTTP server is listening, with the
	// parts tests want to inspect.
	Started func(*Server)
	// Now defaults to time.Now.
	Now func() time.Time
	// Clock is what the weekly report's delivery schedule and backoff
	// wait on (default the wall clock).
	Clock delivery.Clock
	// Reload reads the configuration again (the file, then the flags) for
	// a reload; nil: a reload fails, saying so.
	Reload func() (config.Config, error)
	// ReloadSignals are what reloads the configuration besides POST
	// /-/reload (cli's serve gives SIGHUP's).
	ReloadSignals <-chan os.Signal
	// NewCluster starts a named cluster on a store whose history is the
	// unnamed cluster's alone (serve --new-cluster): another
	// steadywatch's, not this one's to adopt (store.CheckHistory).
	NewCluster bool
}

// Server is a running steadywatch serve.
type Server struct {
	Addr    net.Addr
	Tracker *tracker.Tracker
	// Store is the tracker's view of the store: reads wait until the
	// incidents and events recorded before them are written.
	Store tracker.Store
	// DB is the durable store itself (alerts, inventory).
	DB      store.Store
	Watcher *watcher.Watcher
	// Experiments watches the chaos tools' experiments, on the leader
	// only.
	Experiments *experiment.Watcher
	Registry    *prometheus.Registry
	// Health follows the watches; Coverage is what the verdicts are told
	// of the times steadywatch watched (the store's spans and the live ones).
	Health   *watcher.Health
	Coverage verdict.CoverageSource
	// Leading reports whether this serve leads (always, without leader
	// election).
	Leading func() bool
}

// writesGrace is how long the last writes of the tracker are waited for
// once serve stops.
const writesGrace = 10 * time.Second

// historyHorizon is how far back closed incidents are read at start, for
// MTBF to continue: a service that failed longer ago starts afresh.
const historyHorizon = 30 * 24 * time.Hour

// Run serves until ctx ends, then shuts down gracefully: the HTTP server
// drains, the informers stop and the inventory is saved.
func Run(ctx context.Context, o Options) error {
	o = o.withDefaults()
	log, cfg := o.Logger, o.Config
	if err := cfg.Validate(); err != nil {
		return configError(err)
	}
	gather, reg := newRegistry(cfg.Cluster)
	httpSrv, err := newHTTPServer(o, reg)
	if err != nil {
		return configError(err)
	}
	metrics := exporter.NewMetrics(reg)
	coverage := newCoverageRecorder(nil, log.With("component", "coverage"), o.Now)
	k8s, err := connect(o, reg, metrics, coverage)
	if err != nil {
		return err
	}

	db, err := store.Open(ctx, cfg.Store, store.Options{Logger: log.With("component", "store"), DataDir: cfg.DataDir, Cluster: cfg.Cluster})
	if err != nil {
		return err
	}
	defer closeStore(db, log)
	if !o.NewCluster {
		if err := store.CheckHistory(ctx, db, cfg.Cluster); errors.As(err, new(*store.HiddenHistoryError)) {
			return configError(err)
		} else if err != nil {
			return err
		}
	}
	coverage.db = db // before anything reads it: the recorder runs once the watcher exists

	// Each part below runs until Run returns; they stop in reverse order,
	// before the store closes.
	var parts background
	defer parts.stop()
	writes := store.NewWriteBehind(db, log.With("component", "store"), reg)
	// The queue is written until the very end: after the informers stopped,
	// what is left gets 10 more seconds.
	var drained store.Drained // read once parts stopped
	parts.start(context.WithoutCancel(ctx), func(ctx context.Context) { drained = writes.Run(ctx, writesGrace) })
	incidents := tracker.New(tracker.Options{
		Logger: log.With("component", "incident"), Store: writes, Recorder: metrics, Now: o.Now,
	})
	alerts, pull, err := startAlerts(ctx, &parts, o, db, reg)
	if err != nil {
		return err
	}
	rcv, err := receiver.New(receiver.Options{
		Sink: alerts, Logger: log.With("component", "receiver"), Registerer: reg, Now: o.Now,
		MaxBodyBytes: cfg.Alerts.MaxBodyBytes, MaxInFlightBytes: cfg.Alerts.MaxBytesInFlight,
		ServiceLabels: cfg.Alerts.ServiceLabels,
		SeverityLabel: cfg.Alerts.SeverityLabel, Auth: httpSrv.Auth(),
	})
	if err != nil {
		return err
	}
	w, err := newWatcher(o, k8s, incidents)
	if err != nil {
		return err
	}
	reg.MustRegister(exporter.NewStateCollector(incidents, w))
	experiments, err := newExperimentWatch(o, k8s, db, reg)
	if err != nil {
		return err
	}
	verdicts := verdict.NewBoard()
	reg.MustRegister(exporter.NewVerdictCollector(verdicts))
	reports := reportSource{Store: db, incidents: writes}
	deliverer, err := newDelivery(o, reports, reg)
	if err != nil {
		return err
	}
	// A part that finds the configuration wrong late (the verdict loop,
	// once Prometheus told its scrape intervals) ends serve with it.
	runCtx, stopRun := context.WithCancel(ctx)
	defer stopRun()
	fatal := make(chan error, 1)
	fail := func(err error) {
		select {
		case fatal <- err:
		default:
		}
		stopRun()
	}
	build := newVerdicts(o, writes, db, coverage, verdicts)
	loop, err := build(nil, cfg)
	if err != nil {
		return err
	}
	steps := newStepCheck(loop, fail)
	if steps != nil {
		parts.start(runCtx, steps.run)
	}
	judge := newVerdictRunner(loop, verdicts, steps)
	reloads := newReloader(cfg, o.Reload, build, judge, reg, log.With("component", "reload"), o.Now)
	parts.start(ctx, func(ctx context.Context) { reloadOnSignal(ctx, o.ReloadSignals, reloads) })
	ship := newLeadership(reg)
	clusters := &api.Clusters{Own: cfg.Cluster, Views: db}
	listVerdicts, oneVerdict := verdictHandlers(verdicts, db, ship, judge.names, clusters)

	err = httpSrv.Start(ctx, web.Routes{
		Metrics: web.MetricsHandler(gather),
		Ready:   ready(k8s, w, ship, steps),
		Handlers: []web.Route{
			// The receiver authenticates by itself, counting what it
			// refuses.
			{Pattern: receiver.Path, Handler: rcv, Open: true},
			{Pattern: "GET " + api.VerdictsPath, Handler: listVerdicts},
			{Pattern: "GET " + api.VerdictPath, Handler: oneVerdict},
			{Pattern: "GET " + api.IncidentsPath, Handler: api.Incidents(writes, clusters, log.With("component", "api"))},
			{Pattern: "GET " + api.ExperimentsPath, Handler: api.Experiments(api.ExperimentsOptions{
				Source: db, Faults: writes, Clusters: clusters, Now: o.Now, Logger: log.With("component", "api"),
			})},
			{Pattern: "GET " + api.WeeklyReportPath, Handler: api.WeeklyReport(api.WeeklyReportOptions{
				Source: reports, Base: reportOptions(&cfg), Now: o.Now,
				Logger: log.With("component", "api"), Clusters: clusters,
			})},
			{Pattern: "POST " + ReloadPath, Handler: reloads.handler(cfg.Web.EnableLifecycle)},
		},
	})
	if err != nil {
		return err
	}
	if o.Started != nil {
		o.Started(&Server{
			Addr: httpSrv.Addr(), Tracker: incidents, Store: writes, DB: db, Watcher: w, Experiments: experiments.watcher, Registry: gather,
			Health: k8s.health, Coverage: coverage, Leading: ship.Leading,
		})
	}

	// What only the leader does: watch (and record the coverage of the
	// watches), record the chaos tools' experiments, judge, pull
	// Alertmanager, deliver the reports. A new
	// leader starts from the store: run restores the inventory and the
	// open incidents before it watches.
	saves := &inventorySaves{Store: db}
	lead := func(ctx context.Context) error {
		var mine background
		defer mine.stop()
		mine.start(ctx, func(ctx context.Context) {
			coverage.run(ctx, time.Duration(cfg.Watch.CheckpointInterval), w.Synced)
		})
		mine.start(ctx, experiments.run)
		if pull != nil {
			mine.start(ctx, pull)
		}
		mine.start(ctx, deliverer.Run)
		mine.start(ctx, judge.run)
		return run(ctx, log, cfg, k8s.client, k8s.address, incidents, w, saves, writes)
	}
	lead = flushingLead(writes, writesGrace, lead)
	shutdown := &shutdownLog{log: log, writes: writes}
	context.AfterFunc(runCtx, shutdown.begin)
	// The Lease lost: another replica may lead once it expires. What this
	// one has not written is stale and would undo the new leader's
	// incidents; it is dropped at once, not once lead wound down.
	var discarded atomic.Int64
	onLost := func() {
		saves.loseLease()
		if n := writes.Discard(); n > 0 {
			discarded.Add(int64(n))
			log.Warn("lost the leader lease: dropped the writes not in the store yet", "writes", n)
		}
	}
	runErr := runLeading(runCtx, cfg.Kubernetes.LeaderElection, k8s.election, ship, log.With("component", "leader"), lead, onLost)
	stopRun() // if the leading ended by itself: serve stops all the same
	if errors.Is(runErr, errLostLease) {
		onLost() // lost before lead ran: nothing queued, but nothing more either
	}
	select {
	case err := <-fatal:
		runErr = errors.Join(err, runErr)
	default:
	}

	shutdownCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), web.DrainTimeout)
	defer cancel()
	if err := httpSrv.Shutdown(shutdownCtx); err != nil {
		runErr = errors.Join(runErr, err)
	}
	parts.stop() // the queue's final drain among them
	shutdown.done(stopped{drained: drained, discarded: int(discarded.Load()), unstored: judge.unstoredCount(), inventory: saves.last()})
	return runErr
}

// newRegistry returns the registry serve exports (its Gatherer, for
// /metrics) and the Registerer every part registers on, the Go runtime,
// process and build metrics already on it. With a cluster, the Registerer
// adds contract.LabelCluster to every series, so that the series of many
// steadywatches in one Thanos or Mimir stay apart and nothing registered
// escapes the label; without one it is the registry itself and the
// exposition is unchanged.
func newRegistry(cluster string) (*prometheus.Registry, prometheus.Registerer) {
	reg := prometheus.NewRegistry()
	var r prometheus.Registerer = reg
	if cluster != "" {
		r = prometheus.WrapRegistererWith(prometheus.Labels{contract.LabelCluster: cluster}, reg)
	}
	r.MustRegister(
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		versioncollector.NewCollector(contract.Namespace),
	)
	return reg, r
}

// run waits for the cluster, restores the inventory, watches, and saves the
// inventory periodically and on the way out.
func run(ctx context.Context, log *slog.Logger, cfg config.Config, client kubernetes.Interface,
	address string, incidents *tracker.Tracker, w *watcher.Watcher, db store.Store, writes flusher,
) error {
	if err := w.WaitForAPI(ctx); err != nil {
		if ctx.Err() != nil {
			return nil // asked to stop while waiting: not a failure
		}
		return err
	}
	cluster := clusterID(ctx, client, address)
	saved, ok, err := db.LoadInventory(ctx)
	switch {
	case err != nil:
		log.Warn("ignoring unreadable inventory; vanished objects will not be reported", "err", err)
	case ok && saved.Cluster != cluster:
		log.Warn("ignoring inventory of another cluster", "saved", saved.Cluster, "now", cluster)
	case ok:
		incidents.Restore(saved)
		log.Info("restored inventory", "saved_at", saved.SavedAt, "pods", len(saved.Pods))
	}
	history, err := loadHistory(ctx, db)
	if err != nil {
		if ctx.Err() != nil {
			return nil // asked to stop (or the Lease lost) while reading: not a failure
		}
		return fmt.Errorf("reading incidents from the store: %w", err)
	}
	incidents.RestoreHistory(history)
	if len(history) > 0 {
		open := 0
		for i := range history {
			if history[i].Open() {
				open++
			}
		}
		log.Info("restored incidents", "open", open, "since", time.Now().Add(-historyHorizon).Format(time.RFC3339))
	}

	var wg sync.WaitGroup
	watchCtx, stop := context.WithCancel(ctx)
	defer stop()
	var watchErr error
	wg.Go(func() { watchErr = w.Run(watchCtx) })

	// A checkpoint that would write what the last one wrote is skipped: on
	// 10,000 pods the write (3.2 MB of JSON into SQLite) was a quarter of
	// serve's CPU in the deletion benchmark, CPU the informers share.
	var written *tracker.Inventory
	checkpoint := func() {
		snap := incidents.Snapshot()
		snap.Cluster = cluster
		if written != nil && snap.SameState(*written) {
			return
		}
		saveCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
		defer cancel()
		if err := db.SaveInventory(saveCtx, snap); errors.Is(err, errInventoryLost) {
			log.Warn("the last inventory checkpoint is not written", "err", err)
			return
		} else if err != nil {
			log.Error("saving inventory", "err", err)
			written = nil
			return
		}
		written = &snap
	}
	tick := time.NewTicker(time.Duration(cfg.Watch.CheckpointInterval))
	defer tick.Stop()
	// Only a tracker that has seen the whole cluster may replace the saved
	// inventory: one stopped during its first list knows only part of it.
	// ListedOnce, not Synced: the watcher stops being synced as soon as
	// ctx ends, which raced with the last checkpoint of a serve stopped
	// within its first interval.
loop:
	for {
		select {
		case <-ctx.Done():
			break loop
		case <-tick.C:
			if w.Synced() {
				checkpoint()
			}
		}
	}
	stop()
	wg.Wait()
	if lostLease(ctx) {
		// Another replica may lead by now: the inventory it saves is the
		// one to keep.
		log.Warn("lost the leader lease: the last inventory checkpoint is not written")
		return watchErr
	}
	if !w.ListedOnce() {
		return watchErr
	}
	// The incidents the tracker queued (those the watch stopping closed)
	// land before the inventory that no longer holds them open: a next
	// leader restoring the inventory without them would not find them.
	flushCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), writesGrace)
	defer cancel()
	if err := writes.Flush(flushCtx); err != nil {
		log.Error("writing the incidents failed: the last inventory checkpoint is not written", "err", err)
		return watchErr
	}
	checkpoint()
	return watchErr
}

// loadHistory returns the open incidents and those that started within
// historyHorizon.
func loadHistory(ctx context.Context, db store.Store) ([]chaos.Incident, error) {
	open, err := db.List(ctx, tracker.Filter{OpenOnly: true})
	if err != nil {
		return nil, err
	}
	recent, err := db.List(ctx, tracker.Filter{Since: time.Now().Add(-historyHorizon)})
	if err != nil {
		return nil, err
	}
	seen := make(map[string]bool, len(open))
	for i := range open {
		seen[open[i].ID] = true
	}
	for i := range recent {
		if !seen[recent[i].ID] {
			open = append(open, recent[i])
		}
	}
	return open, nil
}

// clusterID names the cluster by its kube-system namespace's UID, which
// survives API server address changes, so an inventory is never compared
// with another cluster's objects.
func clusterID(ctx context.Context, client kubernetes.Interface, address string) string {
	ns, err := client.CoreV1().Namespaces().Get(ctx, "kube-system", metav1.GetOptions{})
	if err != nil {
		return address
	}
	return string(ns.UID)
}

func restConfig(o Options, cfg config.Config) (*rest.Config, string, error) {
	rc := o.RESTConfig
	if rc == nil {
		rules := clientcmd.NewDefaultClientConfigLoadingRules()
		if cfg.Kubernetes.Kubeconfig != "" {
			rules.ExplicitPath = cfg.Kubernetes.Kubeconfig
		}
		overrides := &clientcmd.ConfigOverrides{CurrentContext: cfg.Kubernetes.Context}
		var err error
		rc, err = clientcmd.NewNonInteractiveDeferredLoadingClientConfig(rules, overrides).ClientConfig()
		if err != nil {
			where := cfg.Kubernetes.Kubeconfig
			if where == "" {
				where = "in-cluster config, $KUBECONFIG or ~/.kube/config"
			}
			return nil, "", fmt.Errorf("kubernetes.kubeconfig: loading %s: %w", where, err)
		}
	}
	rc = rest.CopyConfig(rc)
	rc.QPS = cfg.Kubernetes.QPS
	rc.Burst = cfg.Kubernetes.Burst
	// kubernetes.timeout bounds each request but the watches, which last
	// minutes by design (client-go's reflector asks for 5–10 minutes).
	rc.Timeout = 0
	rc.Wrap(requestTimeout(time.Duration(cfg.Kubernetes.Timeout)))
	rc.UserAgent = "steadywatch"
	return rc, rc.Host, nil
}
