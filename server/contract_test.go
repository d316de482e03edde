package server

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil/promlint"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"github.com/stretchr/testify/require"

	"github.com/steadywatch/steadywatch/alert"
	"github.com/steadywatch/steadywatch/chaos"
	"github.com/steadywatch/steadywatch/config"
	"github.com/steadywatch/steadywatch/contract"
	"github.com/steadywatch/steadywatch/detect"
	"github.com/steadywatch/steadywatch/experiment"
	"github.com/steadywatch/steadywatch/exporter"
	"github.com/steadywatch/steadywatch/internal/testenv/fakeclock"
	"github.com/steadywatch/steadywatch/receiver"
	"github.com/steadywatch/steadywatch/report/delivery"
	"github.com/steadywatch/steadywatch/store"
	"github.com/steadywatch/steadywatch/tracker"
	"github.com/steadywatch/steadywatch/verdict"
	"github.com/steadywatch/steadywatch/watcher"
	httpweb "github.com/steadywatch/steadywatch/web"
)

var update = flag.Bool("update", false, "rewrite testdata/metrics.golden")

const metricsGolden = "testdata/metrics.golden"

// TestMetricContract gathers what serve exports, every part registered on
// serve's registry as Run does and each family given a series, and checks
// it three ways: against testdata/metrics.golden (name, type, labels, help
// and buckets of each family; go test ./server -run TestMetricContract
// -update rewrites it), against contract.Metrics (so the contract the
// generators and the README read cannot drift from the exporter), and
// against Prometheus' naming conventions (promlint), which promlinter
// cannot check statically on names taken from the contract.
func TestMetricContract(t *testing.T) {
	reg, r := newRegistry("")
	exportEverything(t, r)
	mfs, err := reg.Gather()
	require.NoError(t, err)
	mfs = slices.DeleteFunc(mfs, func(mf *dto.MetricFamily) bool {
		return !strings.HasPrefix(mf.GetName(), contract.Namespace+"_")
	})

	got := make([]family, len(mfs))
	for i, mf := range mfs {
		got[i] = gathered(mf)
	}
	want := make([]family, len(contract.Metrics))
	for i, m := range contract.Metrics {
		want[i] = promised(m)
	}
	slices.SortFunc(want, func(a, b family) int { return strings.Compare(a.name, b.name) })
	require.Equal(t, want, got, "the exported families are not contract.Metrics")

	problems, err := promlint.NewWithMetricFamilies(mfs).Lint()
	require.NoError(t, err)
	require.Empty(t, problems)

	var b bytes.Buffer
	b.WriteString(goldenHeader)
	for _, f := range got {
		b.WriteString(f.String())
	}
	if *update {
		require.NoError(t, os.MkdirAll(filepath.Dir(metricsGolden), 0o755))
		require.NoError(t, os.WriteFile(metricsGolden, b.Bytes(), 0o644))
	}
	golden, err := os.ReadFile(metricsGolden)
	require.NoError(t, err, "run go test ./server -run TestMetricContract -update")
	require.Equal(t, string(golden), b.String(), "the exported metrics changed: if on purpose, run go test ./server -run TestMetricContract -update")
}

// goldenHeader opens testdata/metrics.golden with what no family lists.
var goldenHeader = "# Every series below, and the Go runtime's and process metrics, may also carry the label " +
	contract.LabelCluster + ": when the configuration names a cluster, its name.\n"

// TestEverySeriesCarriesTheClusterOnlyWhenOneIsConfigured scrapes /metrics
// as Prometheus would, every part registered, with and without a cluster:
// with one, every series of every family (the Go runtime's, the
// process's and build_info among them) carries it; without one, none has
// the label, as before clusters existed.
func TestEverySeriesCarriesTheClusterOnlyWhenOneIsConfigured(t *testing.T) {
	for _, tc := range []struct {
		name, cluster string
	}{
		{"a configured cluster labels every series", "eu-west-1"},
		{"no cluster labels none", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			reg, r := newRegistry(tc.cluster)
			exportEverything(t, r)
			rec := httptest.NewRecorder()
			httpweb.MetricsHandler(reg).ServeHTTP(rec, httptest.NewRequestWithContext(t.Context(), http.MethodGet, "/metrics", nil))
			require.Equal(t, http.StatusOK, rec.Code)
			parser := expfmt.NewTextParser(model.UTF8Validation)
			mfs, err := parser.TextToMetricFamilies(rec.Body)
			require.NoError(t, err)

			prefixes := map[string]bool{}
			series := 0
			for name, mf := range mfs {
				prefixes[strings.SplitN(name, "_", 2)[0]] = true
				for _, m := range mf.GetMetric() {
					series++
					var cluster *string
					for _, l := range m.GetLabel() {
						if l.GetName() == contract.LabelCluster {
							cluster = l.Value
						}
					}
					if tc.cluster == "" {
						require.Nil(t, cluster, "%s has a cluster label", name)
						continue
					}
					require.NotNil(t, cluster, "%s has no cluster label", name)
					require.Equal(t, tc.cluster, *cluster, name)
				}
			}
			require.Equal(t, map[string]bool{"go": true, "process": true, contract.Namespace: true}, prefixes,
				"the scrape holds the runtime's, the process's and steadywatch's families")
			require.Contains(t, mfs, contract.BuildInfo.Name)
			require.Greater(t, series, len(contract.Metrics))
		})
	}
}

// family is what the contract promises of a metric family.
type family struct {
	name, typ, help string
	labels          []string  // sorted
	buckets         []float64 // a histogram's, +Inf left out
}

func (f family) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "# HELP %s %s\n# TYPE %s %s\n", f.name, f.help, f.name, f.typ)
	if len(f.labels) > 0 {
		fmt.Fprintf(&b, "# LABELS %s %s\n", f.name, strings.Join(f.labels, " "))
	}
	if len(f.buckets) > 0 {
		les := make([]string, len(f.buckets))
		for i, le := range f.buckets {
			les[i] = strconv.FormatFloat(le, 'g', -1, 64)
		}
		fmt.Fprintf(&b, "# BUCKETS %s %s\n", f.name, strings.Join(les, " "))
	}
	return b.String()
}

func promised(m contract.Metric) family {
	f := family{name: m.Name, typ: string(m.Type), help: m.Help, labels: slices.Sorted(slices.Values(m.Labels))}
	if m.Type == contract.Histogram {
		f.buckets = m.Buckets
	}
	return f
}

func gathered(mf *dto.MetricFamily) family {
	f := family{name: mf.GetName(), typ: strings.ToLower(mf.GetType().String()), help: mf.GetHelp()}
	for _, m := range mf.GetMetric() {
		for _, l := range m.GetLabel() {
			if !slices.Contains(f.labels, l.GetName()) {
				f.labels = append(f.labels, l.GetName())
			}
		}
		if f.buckets == nil && m.GetHistogram() != nil {
			for _, b := range m.GetHistogram().GetBucket() {
				f.buckets = append(f.buckets, b.GetUpperBound())
			}
		}
	}
	slices.Sort(f.labels)
	return f
}

// exportEverything builds, on reg, every part of serve that exports
// metrics, with the constructors Run uses, and makes each family hold at
// least one series: an empty vector is not exposed at all.
func exportEverything(t *testing.T, reg prometheus.Registerer) {
	t.Helper()
	ctx := t.Context()
	t0 := time.Date(2026, 3, 14, 9, 0, 0, 0, time.UTC)
	web := chaos.Subject{Namespace: "shop", Service: "web", Group: chaos.Experimental}
	db := chaos.Subject{Namespace: "shop", Service: "db", Group: chaos.Experimental}
	deleted := func(id string, s chaos.Subject) chaos.Incident {
		return chaos.Incident{
			ID: id, Kind: chaos.PodDeleted, Subject: s,
			Object: chaos.Ref{Kind: "Deployment", Namespace: s.Namespace, Name: s.Service}, Start: t0, Events: 1,
		}
	}

	// The exporter's event metrics and the watch health.
	metrics := exporter.NewMetrics(reg)
	metrics.Event(chaos.Event{Kind: chaos.PodDeleted, Subject: web, Missed: true})
	recovered := deleted("recovered", web)
	recovered.End = t0.Add(time.Minute)
	metrics.Recovered(recovered)
	recovered.Missed = true
	metrics.Recovered(recovered)
	metrics.TimeBetweenFailures(web, time.Hour)
	metrics.WatchError("pods", context.DeadlineExceeded)
	reg.MustRegister(exporter.NewWatchHealthCollector(watcher.NewHealth(watcher.HealthOptions{})))

	// The store and the write queue in front of it.
	st, err := store.Open(ctx, "", store.Options{DataDir: t.TempDir()})
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, st.Close()) })
	store.NewWriteBehind(st, nil, reg)

	// Detection: one incident an alert detected, one none did.
	for _, inc := range []chaos.Incident{deleted("detected", web), deleted("undetected", db)} {
		require.NoError(t, st.Save(ctx, inc))
	}
	_, err = st.SaveAlerts(ctx, []alert.Alert{{
		Fingerprint: "f1", Status: alert.Firing, Source: "webhook",
		Labels:   map[string]string{"alertname": "HighErrorRate", "namespace": "shop", "service": "web", "group": "experimental"},
		StartsAt: t0.Add(30 * time.Second), ReceivedAt: t0.Add(time.Minute),
	}})
	require.NoError(t, err)
	detector, err := detect.New(detect.Options{Store: st, Alerts: st, Registerer: reg})
	require.NoError(t, err)
	require.NoError(t, detector.Sweep(ctx, t0.Add(time.Hour)))

	// The Alertmanager puller, after one successful pull.
	am := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprint(w, "[]")
	}))
	t.Cleanup(am.Close)
	puller, err := newPuller(config.Pull{AlertmanagerURL: am.URL}, st, nil, reg)
	require.NoError(t, err)
	_, err = puller.PullOnce(ctx)
	require.NoError(t, err)

	// The webhook receiver, after one notification.
	rcv, err := receiver.New(receiver.Options{Sink: detector.Sink(st), Registerer: reg})
	require.NoError(t, err)
	body, err := os.ReadFile("../receiver/testdata/alertmanager-0.25-webhook.json")
	require.NoError(t, err)
	rec := httptest.NewRecorder()
	rcv.ServeHTTP(rec, httptest.NewRequestWithContext(ctx, http.MethodPost, receiver.Path, bytes.NewReader(body)))
	require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())

	// The server's authentication, after one refused request.
	auth, err := httpweb.NewAuth(httpweb.AuthOptions{BearerTokens: []string{"0123456789abcdef-token"}, Registerer: reg})
	require.NoError(t, err)
	rec = httptest.NewRecorder()
	auth.WrapNamed(contract.HandlerWebhook, rcv).ServeHTTP(rec, httptest.NewRequestWithContext(ctx, http.MethodPost, receiver.Path, nil))
	require.Equal(t, http.StatusUnauthorized, rec.Code, rec.Body.String())

	// The weekly report's delivery to one webhook.
	deliveryCfg := config.Default().Reports.Delivery
	deliveryCfg.Webhooks = []config.Webhook{{Name: "ops", URL: "http://127.0.0.1:1", Format: config.WebhookJSON}}
	_, err = delivery.New(delivery.Options{Config: deliveryCfg, Store: reportSource{Store: st, incidents: st}, Registerer: reg})
	require.NoError(t, err)

	// The experiments recorded, and the chaos tools' resources watched.
	experiments := exporter.NewExperimentMetrics(reg)
	experiments.SaveError()
	reg.MustRegister(exporter.NewExperimentResourcesCollector(watchingNone{}))

	// Leadership.
	newLeadership(reg).set(true)
	newReloader(config.Default(), nil, nil, nil, reg, slog.New(slog.DiscardHandler), time.Now)

	// The state snapshot: an open incident, a workload, synced informers.
	reg.MustRegister(exporter.NewStateCollector(state{
		open:      []chaos.Incident{deleted("open", web)},
		workloads: []tracker.WorkloadStatus{{Ref: chaos.Ref{Kind: "Deployment", Namespace: "shop", Name: "web"}, Subject: web, Desired: 3, Ready: 2}},
	}, synced{"pods": true}))

	// A verdict with every kind of evidence.
	superiority, h := 0.7, 0.05
	board := verdict.NewBoard()
	reg.MustRegister(exporter.NewVerdictCollector(board))
	board.Record(verdict.Verdict{
		Hypothesis: "kill-web", At: t0, Result: verdict.Pass, Score: 100, Running: true,
		Metrics: []verdict.Metric{{
			Name: "latency", Result: verdict.Pass, PValue: 0.2,
			Control: verdict.Summary{Samples: 10, Value: 0.1}, Experimental: verdict.Summary{Samples: 10, Value: 0.11},
			Effect: &verdict.Effect{Estimate: 0.01, Low: 0, High: 0.02, Allowed: 0.05, Superiority: &superiority},
		}, {
			Name: "error-ratio", Result: verdict.Pass, PValue: 0.3,
			Control:      verdict.Summary{Samples: 10, Value: 0.01, Errors: 10, Total: 1000},
			Experimental: verdict.Summary{Samples: 10, Value: 0.012, Errors: 12, Total: 1000},
			Effect:       &verdict.Effect{Estimate: 0.002, Low: -0.007, High: 0.011, Allowed: 0.01, CohensH: &h},
		}},
	})
}

type state struct {
	open      []chaos.Incident
	workloads []tracker.WorkloadStatus
}

func (s state) OpenIncidents() []chaos.Incident     { return s.open }
func (s state) Workloads() []tracker.WorkloadStatus { return s.workloads }
func (s state) LastEvent() time.Time                { return time.Time{} }

type synced map[string]bool

// watchingNone is an experiment watcher that found no chaos tool.
type watchingNone struct{}

func (watchingNone) Watching() []experiment.Resource { return nil }

func (s synced) ResourcesSynced() map[string]bool { return s }

// Serve takes the cluster from its configuration: its /metrics, as
// Prometheus scrapes it over HTTP, has cluster="<name>" on every series.
func TestServeExportsTheConfiguredCluster(t *testing.T) {
	cfg := config.Default()
	cfg.DataDir = t.TempDir()
	cfg.Listen = "127.0.0.1:0"
	cfg.Cluster = "eu-west-1"
	require.NoError(t, cfg.Validate())
	s := startServe(t, cfg, fakeclock.New(time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC)))

	req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, "http://"+s.Addr.String()+httpweb.MetricsPath, nil)
	require.NoError(t, err)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
	parser := expfmt.NewTextParser(model.UTF8Validation)
	mfs, err := parser.TextToMetricFamilies(resp.Body)
	require.NoError(t, err)
	require.Contains(t, mfs, contract.BuildInfo.Name)
	for name, mf := range mfs {
		for _, m := range mf.GetMetric() {
			var cluster string
			for _, l := range m.GetLabel() {
				if l.GetName() == contract.LabelCluster {
					cluster = l.GetValue()
				}
			}
			require.Equal(t, cfg.Cluster, cluster, name)
		}
	}
	require.NoError(t, s.stop())
}
