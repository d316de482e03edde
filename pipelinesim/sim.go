// Package pipelinesim serves the steady-state metrics of the seeds' data pipeline
// (a Flask API behind an HPA, a Postgres primary and read replica) for the
// demo's kwok cluster, where no real Flask or Postgres runs: it watches the
// pipeline's pods and nodes, and every series moves because the cluster did.
// Time only advances counters at the rates the cluster's last state set.
//
// Label conventions (set by the demo's manifests, see the constants):
// pods carry steadywatch.io/group=<group> and app.kubernetes.io/component
// set to api, primary, replica or worker (Spark); an API pod's kwok.x-k8s.io/usage-cpu annotation
// over its CPU request is its CPU utilisation. A pod serves if it is Ready,
// not terminating, and its node is not NotReady. Every series carries
// steadywatch_io_group="<group>", as Prometheus' pod discovery would name it,
// so Prometheus scrapes Start's URL as one static target (no relabelling).
//
// The model, per group, with n ready API replicas:
//   - flask_http_request_total{method,status}: the offered load is served up
//     to n × ReplicaCapacity; status 200 while the primary serves; while it
//     does not, each request waits for it up to DBRetryBudget, and is a 200
//     when it serves again in time, a 500 when the budget runs out (so a
//     primary down for good fails requests at the rate they arrive, a
//     budget after it went); with n = 0 the whole offered load gets 503 (no
//     endpoint) at once.
//   - flask_http_request_exceptions_total{method,status}: the 500s (the
//     database connection still fails after the retries).
//   - flask_http_request_duration_seconds{method}: requests are split evenly
//     among the replicas; each replica's times are exponential with mean
//     BaseLatency × 1/(1−ρ) × max(1, cpu/CPUTarget), ρ = served / capacity
//     (capped at 0.95): fewer replicas or a starved pod raise latency, the
//     HPA adding replicas lowers it. A request that waited for the primary
//     adds its wait; one that failed took DBRetryBudget.
//   - pg_stat_database_xact_commit{datname="lmd"}: CommitsPerRequest per
//     successful request, counted when it succeeds.
//   - pg_up{pod,role}: 1 for a serving Postgres pod, 0 for one that is not.
//   - pg_replication_lag_seconds{pod}: a replica's lag grows one second per
//     second while it or the primary does not serve, and falls by CatchUp
//     per second to 0 once both do. A serving primary reports 0, as
//     postgres_exporter's pg_replication query does outside recovery (so a
//     promoted replica reports 0 at once); a primary that does not serve
//     reports nothing.
//   - metrics_executor_completedTasks_total, metrics_executor_failedTasks_total
//     (Spark's Prometheus servlet): each serving worker finishes
//     TasksPerWorker tasks a second, which complete while the primary serves
//     and fail writing their results while it does not; a worker that stops
//     serving fails its InFlightTasks at once.
package pipelinesim

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"net"
	"net/http"
	"slices"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	listersv1 "k8s.io/client-go/listers/core/v1"
	"k8s.io/client-go/tools/cache"
)

// Options configure a Sim.
type Options struct {
	// Client reads the cluster.
	Client kubernetes.Interface
	// Namespace is where the pipeline's pods are; "" is every namespace.
	Namespace string
	// Groups are the groups served; DefaultGroups if empty.
	Groups []string
	// Model is the traffic model; zero fields take DefaultModel's.
	Model Model
	// Now is the clock; time.Now if nil.
	Now func() time.Time
	// Log receives informer errors; discarded if nil.
	Log *slog.Logger
}

// Sim computes the pipeline's metrics from the cluster's state.
type Sim struct {
	model   Model
	groups  []string
	now     func() time.Time
	log     *slog.Logger
	factory informers.SharedInformerFactory
	pods    listersv1.PodLister
	nodes   listersv1.NodeLister
	synced  []cache.InformerSynced
	reg     *prometheus.Registry

	mu      sync.Mutex
	started bool // informers synced: the state is the cluster's
	last    time.Time
	state   map[string]groupState
	rates   map[string]Rates
	totals  map[string]*totals
	// waiting is each group's requests that wait for its primary, oldest
	// first.
	waiting map[string][]waiting
}

// waiting are requests that arrived at a constant rate over [from, to]
// while the primary did not serve.
type waiting struct {
	from, to time.Time
	rate     float64   // per second
	means    []float64 // the mean service times of the replicas that took them
}

// totals are a group's counters, as floats: they grow by rate × time.
type totals struct {
	ok, serverErrors, unavailable, commits float64
	sparkCompleted, sparkFailed            float64
	buckets                                []float64 // cumulative, per Model.Buckets
	count, sum                             float64
	lag                                    map[string]float64 // by replica pod
}

// New builds a Sim; Run starts it.
func New(opts Options) (*Sim, error) {
	if opts.Client == nil {
		return nil, errors.New("pipelinesim: a client is required")
	}
	s := &Sim{
		model:   opts.Model.withDefaults(),
		groups:  slices.Clone(opts.Groups),
		now:     opts.Now,
		log:     opts.Log,
		reg:     prometheus.NewRegistry(),
		state:   map[string]groupState{},
		rates:   map[string]Rates{},
		totals:  map[string]*totals{},
		waiting: map[string][]waiting{},
	}
	if len(s.groups) == 0 {
		s.groups = slices.Clone(DefaultGroups)
	}
	if s.now == nil {
		s.now = time.Now
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	for _, g := range s.groups {
		s.totals[g] = &totals{buckets: make([]float64, len(s.model.Buckets)), lag: map[string]float64{}}
	}
	// No resync: only the cluster's changes move the metrics.
	s.factory = informers.NewSharedInformerFactoryWithOptions(opts.Client, 0, informers.WithNamespace(opts.Namespace))
	pods, nodes := s.factory.Core().V1().Pods(), s.factory.Core().V1().Nodes()
	s.pods, s.nodes = pods.Lister(), nodes.Lister()
	handler := cache.ResourceEventHandlerFuncs{
		AddFunc:    func(any) { s.refresh() },
		UpdateFunc: func(any, any) { s.refresh() },
		DeleteFunc: func(any) { s.refresh() },
	}
	for _, inf := range []cache.SharedIndexInformer{pods.Informer(), nodes.Informer()} {
		if _, err := inf.AddEventHandler(handler); err != nil {
			return nil, fmt.Errorf("pipelinesim: %w", err)
		}
		s.synced = append(s.synced, inf.HasSynced)
	}
	s.reg.MustRegister(collector{s})
	return s, nil
}

// Run watches the cluster until ctx is done.
func (s *Sim) Run(ctx context.Context) error {
	s.factory.Start(ctx.Done())
	defer s.factory.Shutdown()
	if !cache.WaitForCacheSync(ctx.Done(), s.synced...) {
		return ctx.Err()
	}
	s.mu.Lock()
	s.started, s.last = true, s.now()
	s.mu.Unlock()
	s.refresh()
	<-ctx.Done()
	return nil
}

// Synced reports whether the Sim has read the cluster's state.
func (s *Sim) Synced() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.started
}

// Rates are group's current rates.
func (s *Sim) Rates(group string) Rates {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.rates[group]
}

// Handler serves the metrics in the Prometheus exposition format.
func (s *Sim) Handler() http.Handler {
	return promhttp.HandlerFor(s.reg, promhttp.HandlerOpts{})
}

// Gatherer gathers the metrics (for tests and other exporters).
func (s *Sim) Gatherer() prometheus.Gatherer { return s.reg }

// refresh advances the counters to now at the old state's rates, then
// reads the new state.
func (s *Sim) refresh() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.started {
		return
	}
	s.advance()
	pods, err := s.pods.List(labels.Everything())
	if err != nil {
		s.log.Error("listing pods", "err", err)
		return
	}
	nodeReady := func(name string) bool {
		n, err := s.nodes.Get(name)
		return err != nil || nodeIsReady(n) // an unknown node: trust the pod
	}
	state := map[string]groupState{}
	for _, g := range s.groups {
		state[g] = groupState{postgres: map[string]pgPod{}, workers: map[string]bool{}}
	}
	for _, p := range pods {
		g, ok := state[p.Labels[GroupLabel]]
		if !ok {
			continue
		}
		ready := podReady(p, nodeReady)
		switch role := p.Labels[ComponentLabel]; role {
		case ComponentAPI:
			if ready {
				g.api = append(g.api, apiPod{cpuUtilisation: cpuUtilisation(p)})
			}
		case ComponentPrimary, ComponentReplica:
			g.postgres[p.Name] = pgPod{role: role, ready: ready}
			if role == ComponentPrimary && ready {
				g.primaryReady = true
			}
		case ComponentWorker:
			if ready {
				g.workers[p.Name] = true
			}
		}
		state[p.Labels[GroupLabel]] = g
	}
	for g, st := range state {
		// A worker that stops serving (NotReady, its node lost, deleted)
		// fails the tasks it was running.
		for name := range s.state[g].workers {
			if !st.workers[name] {
				s.totals[g].sparkFailed += s.model.InFlightTasks
			}
		}
	}
	s.state = state
	for g, st := range state {
		s.rates[g] = s.model.rates(st)
		if st.primaryReady {
			s.primaryBack(g)
		}
	}
}

// advance grows the totals from s.last to now at the current rates.
func (s *Sim) advance() {
	now, from := s.now(), s.last
	if !now.After(from) {
		return
	}
	dt := now.Sub(from).Seconds()
	s.last = now
	for g, r := range s.rates {
		t := s.totals[g]
		t.ok += r.OK * dt
		t.unavailable += r.Unavailable * dt
		t.commits += r.Commits * dt
		t.sparkCompleted += r.SparkCompleted * dt
		t.sparkFailed += r.SparkFailed * dt
		if r.OK > 0 {
			t.observe(s.model.Buckets, r.OK*dt, avg(r.MeanLatency, func(m float64) float64 { return m }), func(b float64) float64 {
				return avg(r.MeanLatency, func(m float64) float64 { return 1 - math.Exp(-b/m) })
			})
		}
		if r.Waiting > 0 {
			s.waiting[g] = append(s.waiting[g], waiting{from: from, to: now, rate: r.Waiting, means: r.MeanLatency})
		}
		s.timeOut(g, now)
		for name, p := range s.state[g].postgres {
			if p.role != ComponentReplica {
				continue
			}
			if p.ready && r.PrimaryReady {
				t.lag[name] = math.Max(0, t.lag[name]-s.model.CatchUp*dt)
			} else {
				t.lag[name] += dt
			}
		}
	}
}

// timeOut fails group's requests that have waited the whole retry budget
// by now: those that arrived by now − budget.
func (s *Sim) timeOut(group string, now time.Time) {
	budget := s.model.DBRetryBudget
	cutoff := now.Add(-budget)
	t, w := s.totals[group], s.waiting[group]
	for len(w) > 0 && w[0].from.Before(cutoff) {
		end := w[0].to
		if cutoff.Before(end) {
			end = cutoff
		}
		n := w[0].rate * end.Sub(w[0].from).Seconds()
		t.serverErrors += n
		t.observe(s.model.Buckets, n, budget.Seconds(), func(b float64) float64 {
			if b >= budget.Seconds() {
				return 1
			}
			return 0
		})
		if end.Equal(w[0].to) {
			w = w[1:]
		} else {
			w[0].from = end
		}
	}
	s.waiting[group] = w
}

// primaryBack serves group's waiting requests (none has waited longer than
// the budget: advance timed those out) now that its primary serves again.
func (s *Sim) primaryBack(group string) {
	t, e := s.totals[group], s.last
	for _, w := range s.waiting[group] {
		n := w.rate * w.to.Sub(w.from).Seconds()
		t.ok += n
		t.commits += n * s.model.CommitsPerRequest
		// The waits are uniform over [e − to, e − from].
		shortest, longest := e.Sub(w.to).Seconds(), e.Sub(w.from).Seconds()
		t.observe(s.model.Buckets, n, (shortest+longest)/2+avg(w.means, func(m float64) float64 { return m }), func(b float64) float64 {
			return avg(w.means, func(m float64) float64 { return waitedShare(b, shortest, longest, m) })
		})
	}
	delete(s.waiting, group)
}

// waitedShare is the share of requests that take at most b seconds when
// each waits a time uniform over [shortest, longest] and is then served in
// an exponential time of the given mean.
func waitedShare(b, shortest, longest, mean float64) float64 {
	if b <= shortest {
		return 0
	}
	if longest <= shortest {
		return 1 - math.Exp(-(b-shortest)/mean)
	}
	// ∫ P(service ≤ b − w) dw over the waits, with u = b − w.
	lo, hi := math.Max(0, b-longest), b-shortest
	return (hi - lo - mean*(math.Exp(-lo/mean)-math.Exp(-hi/mean))) / (longest - shortest)
}

// observe adds n requests averaging mean seconds to the latency histogram,
// share(b) of them at most b seconds long. It counts them at once: adding
// each replica's share apart would floor the count one off.
func (t *totals) observe(buckets []float64, n, mean float64, share func(b float64) float64) {
	for i, b := range buckets {
		t.buckets[i] += n * share(b)
	}
	t.count += n
	t.sum += n * mean
}

// avg is f's mean over the replicas' mean service times: requests are split
// evenly among them.
func avg(means []float64, f func(float64) float64) float64 {
	var sum float64
	for _, m := range means {
		sum += f(m)
	}
	return sum / float64(len(means))
}

// Server is a Sim serving its metrics over HTTP.
type Server struct {
	// URL is the metrics endpoint, http://127.0.0.1:<port>/metrics.
	URL    string
	Sim    *Sim
	cancel context.CancelFunc
	done   chan error
	srv    *http.Server
}

// Start runs a Sim, waits until it has read the cluster, and serves its
// metrics on 127.0.0.1 (a free port) until Close.
func Start(ctx context.Context, opts Options) (*Server, error) {
	s, err := New(opts)
	if err != nil {
		return nil, err
	}
	var lc net.ListenConfig
	l, err := lc.Listen(ctx, "tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("pipelinesim: %w", err)
	}
	ctx, cancel := context.WithCancel(ctx)
	srv := &Server{URL: "http://" + l.Addr().String() + "/metrics", Sim: s, cancel: cancel, done: make(chan error, 2)}
	go func() { srv.done <- s.Run(ctx) }()
	if !cache.WaitForCacheSync(ctx.Done(), s.Synced) {
		cancel()
		_ = l.Close()
		return nil, fmt.Errorf("pipelinesim: reading the cluster: %w", ctx.Err())
	}
	mux := http.NewServeMux()
	mux.Handle("/metrics", s.Handler())
	srv.srv = &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go func() {
		if err := srv.srv.Serve(l); !errors.Is(err, http.ErrServerClosed) {
			srv.done <- err
		}
	}()
	return srv, nil
}

// Close stops serving and watching.
func (s *Server) Close() error {
	err := s.srv.Close()
	s.cancel()
	return errors.Join(err, <-s.done)
}
