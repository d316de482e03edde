package cli_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/steadywatch/steadywatch/chaos"
	"github.com/steadywatch/steadywatch/cli"
	"github.com/steadywatch/steadywatch/internal/testenv/promtest"
	"github.com/steadywatch/steadywatch/store"
	"github.com/steadywatch/steadywatch/verdict"
	"github.com/steadywatch/steadywatch/verdict/verdicttest"
)

// hypothesisFor is a hypothesis on one scenario of the generated data.
func hypothesisFor(scenario string) string {
	return `apiVersion: steadywatch.io/v1alpha1
kind: Hypothesis
metadata:
  name: ` + scenario + `
spec:
  service: api
  groups:
    control: scenario="` + scenario + `", group="control"
    experimental: scenario="` + scenario + `", group="experimental"
  window:
    fixed: {start: 2026-11-01T00:30:00Z, end: 2026-11-01T01:30:00Z}
  metrics:
    - name: p99-latency
      query: |
        histogram_quantile(0.99,
          sum by (le) (rate(http_request_duration_seconds_bucket{ {{ .Group }} }[1m])))
      direction: higherIsWorse
      allowedEffect: 20%
      critical: true
    - name: error-ratio
      ratio:
        errors: sum(rate(http_requests_total{code=~"5..", {{ .Group }} }[1m]))
        total: sum(rate(http_requests_total{ {{ .Group }} }[1m]))
        minTotal: 1000
      direction: higherIsWorse
      allowedEffect: 50%
      critical: true
`
}

func TestVerdictExitCodesAndOutputAgainstARealPrometheus(t *testing.T) {
	start := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	healthy := verdicttest.GroupSim{RPS: 20, Median: 0.1, Sigma: 0.5, ErrorRate: 0.001}
	slow := healthy
	slow.Median *= 1.5
	idle := verdicttest.GroupSim{Median: 0.1, Sigma: 0.5}
	both := func(c, e verdicttest.GroupSim) map[chaos.Group]verdicttest.GroupSim {
		return map[chaos.Group]verdicttest.GroupSim{chaos.Control: c, chaos.Experimental: e}
	}
	prom := promtest.StartPrometheus(t, promtest.PrometheusOptions{
		Config: "global: {}\n",
		OpenMetrics: verdicttest.OpenMetrics(7, start, 2*240+1, []verdicttest.Scenario{
			{Name: "steady", Groups: both(healthy, healthy)},
			// Slow during the window, [30m, 90m), only.
			{Name: "slow", Groups: both(healthy, healthy), Chaos: &verdicttest.Chaos{From: 30 * time.Minute, To: 90 * time.Minute, Experimental: slow}},
			{Name: "idle", Groups: both(idle, idle)},
		}),
	})
	dir := t.TempDir()
	for _, s := range []string{"steady", "slow", "idle"} {
		require.NoError(t, os.WriteFile(filepath.Join(dir, s+".yaml"), []byte(hypothesisFor(s)), 0o600))
	}
	file := func(s string) string { return filepath.Join(dir, s+".yaml") }
	at := "2026-11-01T02:00:00Z"

	t.Run("a passing hypothesis exits 0 with its table", func(t *testing.T) {
		code, out, stderr := run(t, "verdict", "-f", file("steady"), "--prometheus", prom.URL(), "--at", at)
		require.Equal(t, cli.ExitOK, code, "stdout:\n%s\nstderr:\n%s", out, stderr)
		require.Contains(t, out, "steady  PASS  score 100")
		require.Contains(t, out, "window 2026-11-01T00:30:00Z – 2026-11-01T01:30:00Z, at 2026-11-01T02:00:00Z")
		require.Regexp(t, `METRIC +RESULT +CONTROL +EXPERIMENTAL +EFFECT +INTERVAL +P\(E>C\) +COHEN'S H +ALLOWED +SLO +REASON`, out)
		require.Regexp(t, `p99-latency \(critical\) +pass +0\.\d+ \(n=241\) +0\.\d+ \(n=241\) +[+-]\S+ +\[\S+, \S+\] 98% +0\.[3-6]\d +- +\+0\.\d+`, out)
		require.Regexp(t, `error-ratio \(critical\) +pass +\S+ \(n=241\) +\S+ \(n=241\) +[+-]\S+ +\[\S+, \S+\] 98% +- +[+-]0\.\d\d +\+`, out)
	})
	t.Run("a failing hypothesis exits 1 and says why", func(t *testing.T) {
		code, out, _ := run(t, "verdict", "-f", file("slow"), "--prometheus", prom.URL(), "--at", at)
		require.Equal(t, cli.ExitFail, code, out)
		require.Contains(t, out, "slow  FAIL")
		require.Contains(t, out, "reason: critical metric p99-latency failed (high)")
		require.Regexp(t, `p99-latency \(critical\) +high `, out)
	})
	t.Run("an inconclusive hypothesis exits 2 with the reason", func(t *testing.T) {
		code, out, _ := run(t, "verdict", "-f", file("idle"), "--prometheus", prom.URL(), "--at", at)
		require.Equal(t, cli.ExitInconclusive, code, out)
		require.Contains(t, out, "idle  INCONCLUSIVE  score -")
		require.Contains(t, out, "no data for the experimental group: its 241 samples are all NaN")
		require.Contains(t, out, "too little traffic")
	})
	t.Run("of several, a failure wins; JSON carries every verdict", func(t *testing.T) {
		code, out, _ := run(t, "verdict", "-f", dir, "--prometheus", prom.URL(), "--at", at, "--output", "json")
		require.Equal(t, cli.ExitFail, code, out)
		var got struct {
			Verdicts []struct {
				Hypothesis string   `json:"hypothesis"`
				Result     string   `json:"result"`
				Score      *float64 `json:"score"`
				Metrics    []struct {
					Name   string `json:"name"`
					Result string `json:"result"`
					Effect *struct {
						Superiority *float64 `json:"superiority"`
						CohensH     *float64 `json:"cohens_h"`
					} `json:"effect"`
				} `json:"metrics"`
			} `json:"verdicts"`
		}
		require.NoError(t, json.Unmarshal([]byte(out), &got))
		results := map[string]string{}
		for _, v := range got.Verdicts {
			results[v.Hypothesis] = v.Result
			require.Len(t, v.Metrics, 2)
			if v.Hypothesis == "steady" {
				// the standardized effect: superiority for a value, h for a ratio
				for _, m := range v.Metrics {
					require.NotNil(t, m.Effect, m.Name)
					require.Equal(t, m.Name == "error-ratio", m.Effect.CohensH != nil, m.Name)
					require.Equal(t, m.Name != "error-ratio", m.Effect.Superiority != nil, m.Name)
				}
			}
		}
		require.Equal(t, map[string]string{"idle": "inconclusive", "slow": "fail", "steady": "pass"}, results)
	})
	t.Run("--hypothesis picks one: inconclusive without the failure exits 2", func(t *testing.T) {
		code, _, _ := run(t, "verdict", "-f", dir, "--hypothesis", "idle", "--hypothesis", "steady",
			"--prometheus", prom.URL(), "--at", at)
		require.Equal(t, cli.ExitInconclusive, code)
	})
	t.Run("--record keeps a verdict in the store's history once, as serve does", func(t *testing.T) {
		dbFile := filepath.Join(t.TempDir(), "sw.db")
		db, err := store.Open(t.Context(), dbFile, store.Options{})
		require.NoError(t, err)
		require.NoError(t, db.Close())
		history := func() []verdict.Transition {
			db, err := store.Open(t.Context(), dbFile, store.Options{Existing: true})
			require.NoError(t, err)
			defer db.Close()
			var out []verdict.Transition
			require.NoError(t, db.EachVerdict(t.Context(), time.Time{}, time.Time{}, func(tr *verdict.Transition) error {
				out = append(out, *tr)
				return nil
			}))
			return out
		}
		for range 2 {
			code, out, stderr := run(t, "verdict", "-f", file("slow"), "--prometheus", prom.URL(), "--at", at, "--store", dbFile, "--record")
			require.Equal(t, cli.ExitFail, code, "stdout:\n%s\nstderr:\n%s", out, stderr)
		}
		got := history()
		require.Len(t, got, 1, "judged again, the final verdict is not recorded again")
		require.Equal(t, "slow", got[0].Hypothesis)
		require.Equal(t, verdict.Fail, got[0].Result)
		require.True(t, got[0].Final, "judged after the window's end")
		require.Equal(t, time.Date(2026, 11, 1, 2, 0, 0, 0, time.UTC), got[0].At.UTC())
		require.Contains(t, string(got[0].Verdict), `"hypothesis":"slow"`)

		// Without --record nothing is recorded. (With the store, steady is
		// inconclusive: no steadywatch watched its window.)
		code, out, _ := run(t, "verdict", "-f", file("steady"), "--prometheus", prom.URL(), "--at", at, "--store", dbFile)
		require.Equal(t, cli.ExitInconclusive, code, out)
		require.Len(t, history(), 1)
		code, out, _ = run(t, "verdict", "-f", file("steady"), "--prometheus", prom.URL(), "--at", at, "--store", dbFile, "--record")
		require.Equal(t, cli.ExitInconclusive, code, out)
		require.Len(t, history(), 2, "with it, it is")
	})
	t.Run("--record --cluster records in that cluster's history only", func(t *testing.T) {
		dbFile := filepath.Join(t.TempDir(), "sw.db")
		db, err := store.Open(t.Context(), dbFile, store.Options{})
		require.NoError(t, err)
		require.NoError(t, db.Close())
		code, out, stderr := run(t, "verdict", "-f", file("slow"), "--prometheus", prom.URL(), "--at", at,
			"--store", dbFile, "--record", "--cluster", "east")
		require.Equal(t, cli.ExitFail, code, "stdout:\n%s\nstderr:\n%s", out, stderr)
		db, err = store.Open(t.Context(), dbFile, store.Options{Existing: true})
		require.NoError(t, err)
		defer db.Close()
		all, err := db.ForCluster(store.AllClusters)
		require.NoError(t, err)
		latest, err := all.LatestVerdicts(t.Context(), time.Time{})
		require.NoError(t, err)
		require.Len(t, latest, 1)
		require.Equal(t, "east", latest[0].Cluster)
		require.Equal(t, "slow", latest[0].Hypothesis)
	})
	t.Run("an unreachable Prometheus is inconclusive, never a pass", func(t *testing.T) {
		code, out, _ := run(t, "verdict", "-f", file("steady"), "--prometheus", "http://127.0.0.1:1", "--at", at, "--timeout", "20s")
		require.Equal(t, cli.ExitInconclusive, code, out)
		require.Contains(t, out, "127.0.0.1:1")
	})
}

func TestVerdictRefusesBadInputWithExitCode3(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "good.yaml")
	require.NoError(t, os.WriteFile(good, []byte(hypothesisFor("steady")), 0o600))
	bad := filepath.Join(dir, "bad.yaml")
	require.NoError(t, os.WriteFile(bad, []byte(strings.Replace(hypothesisFor("x"), "allowedEffect: 20%", "allowedEffect: lots", 1)), 0o600))
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"no file", []string{"--prometheus", "http://p:9090"}, "-f: a hypothesis file or directory is required"},
		{"a missing file", []string{"-f", filepath.Join(dir, "nope.yaml"), "--prometheus", "http://p:9090"}, "-f: stat " + filepath.Join(dir, "nope.yaml") + ": no such file or directory"},
		{"a bad file names its line and field", []string{"-f", bad, "--prometheus", "http://p:9090"}, bad + `:18: spec.metrics[0].allowedEffect: want a percentage ("20%") or a fraction (0.2), got !!str ` + "`lots`"},
		{"no Prometheus", []string{"-f", good}, "--prometheus: the Prometheus URL is required"},
		{"--record without a store", []string{"-f", good, "--prometheus", "http://p:9090", "--record"}, "--record: needs the store to record in, --store or --data-dir"},
		{"--cluster of every cluster", []string{"-f", good, "--prometheus", "http://p:9090", "--store", filepath.Join(dir, "nope.db"), "--cluster", "*"}, "--cluster: a hypothesis is judged on one cluster's watch, not on every cluster's (*)"},
		{"--cluster without a store", []string{"-f", good, "--prometheus", "http://p:9090", "--cluster", "east"}, "--cluster: needs the store to read, --store or --data-dir"},
		{"--cluster not a cluster's name", []string{"-f", good, "--prometheus", "http://p:9090", "--store", filepath.Join(dir, "nope.db"), "--cluster", "East"}, `--cluster: "East" is not a valid cluster name: a lowercase RFC 1123 label`},
		{"a bad time", []string{"-f", good, "--prometheus", "http://p:9090", "--at", "noon"}, `--at: "noon" is neither an RFC 3339 time nor Unix seconds`},
		{"a bad output", []string{"-f", good, "--prometheus", "http://p:9090", "--output", "yaml"}, `--output: "yaml" is not one of table, json`},
		{"an unknown hypothesis", []string{"-f", good, "--prometheus", "http://p:9090", "--hypothesis", "other"}, `--hypothesis: no hypothesis "other" in the files (they have steady)`},
		{"a Prometheus URL that is not one, as serve says", []string{"-f", good, "--prometheus", "not a url"}, `--prometheus: "not a url": want an http:// or https:// URL`},
		{"a Prometheus URL without a host", []string{"-f", good, "--prometheus", "http://"}, `--prometheus: "http://" has no host`},
		{
			"a data directory that holds no store is named, never created",
			[]string{"-f", good, "--prometheus", "http://p:9090", "--data-dir", filepath.Join(dir, "typo")},
			"--data-dir: store: sqlite://" + filepath.Join(dir, "typo", "steadywatch.db") + ": no steadywatch store there: " + filepath.Join(dir, "typo", "steadywatch.db") + " does not exist (serve creates it)",
		},
		{
			"a store file that does not exist is named, never created",
			[]string{"-f", good, "--prometheus", "http://p:9090", "--store", filepath.Join(dir, "nope.db")},
			"--store: store: sqlite://" + filepath.Join(dir, "nope.db") + ": no steadywatch store there: " + filepath.Join(dir, "nope.db") + " does not exist (serve creates it)",
		},
		{"a step shorter than the scrape interval names the file, line, step and interval", []string{"-f", good, "--prometheus", "http://p:9090", "--scrape-interval", "1m"}, good + ":5: spec.step: 15s is shorter than the scrape interval of 1m: the samples between two scrapes repeat the same value; use a step of at least 1m (--scrape-interval)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, out, stderr := run(t, append([]string{"verdict"}, tc.args...)...)
			require.Equal(t, cli.ExitUsage, code, "stdout: %s", out)
			require.Contains(t, stderr, tc.want)
			require.Empty(t, out)
		})
	}
	require.NoDirExists(t, filepath.Join(dir, "typo"))
	require.NoFileExists(t, filepath.Join(dir, "nope.db"))
}

// Only a judged failure exits 1: trouble reaching what the verdict is
// judged on — a PostgreSQL store that does not answer, a Prometheus that
// hangs past --timeout — is inconclusive, exit 2, with what went wrong on
// stderr (issue 13 #7: both exited 1).
func TestVerdictTroubleExitsInconclusiveNeverFail(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "good.yaml")
	require.NoError(t, os.WriteFile(good, []byte(hypothesisFor("steady")), 0o600))
	hung := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(_ http.ResponseWriter, r *http.Request) {
		select {
		case <-hung:
		case <-r.Context().Done():
		}
	}))
	t.Cleanup(func() {
		close(hung)
		srv.Close()
	})
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"an unreachable PostgreSQL store", []string{"--prometheus", "http://127.0.0.1:1", "--store", "postgres://sw@127.0.0.1:1/sw?connect_timeout=5"}, "store: postgres://sw@127.0.0.1:1/sw?connect_timeout=5: "},
		{"a Prometheus that hangs past --timeout", []string{"--prometheus", srv.URL, "--scrape-interval", "15s", "--timeout", "2s"}, "context deadline exceeded"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, out, stderr := run(t, append([]string{"verdict", "-f", good}, tc.args...)...)
			require.Equal(t, cli.ExitInconclusive, code, "stdout: %s\nstderr: %s", out, stderr)
			require.Contains(t, stderr, tc.want)
		})
	}
}

// fakePrometheus answers /api/v1/status/config with doc (404 if empty)
// and every other request with 404; asked counts the configuration
// requests.
func fakePrometheus(t *testing.T, doc string) (url string, asked *atomic.Int32) {
	t.Helper()
	s := promtest.StartConfigServer(t, func() string { return doc })
	return s.URL, &s.Asked
}

// Issue 11 #11: without --scrape-interval the intervals are learnt from
// --prometheus; a step below them is refused (exit 3), one at them goes
// on to the judgement (here inconclusive: the fake answers no query).
func TestVerdictLearnsTheScrapeIntervalFromPrometheus(t *testing.T) {
	file := filepath.Join(t.TempDir(), "h.yaml") // step: 15s (the default)
	require.NoError(t, os.WriteFile(file, []byte(hypothesisFor("steady")), 0o600))
	const jobs = "global: {scrape_interval: 1m, evaluation_interval: 1m}\nscrape_configs: [{job_name: app, scrape_interval: %s}, {job_name: node}]\n"
	at := "2026-11-01T02:00:00Z"

	t.Run("a step below the shortest interval is refused", func(t *testing.T) {
		url, asked := fakePrometheus(t, fmt.Sprintf(jobs, "15s1ms"))
		code, out, stderr := run(t, "verdict", "-f", file, "--prometheus", url, "--at", at)
		require.Equal(t, cli.ExitUsage, code, "stdout: %s", out)
		require.Contains(t, stderr, file+":5: spec.step: 15s is shorter than the scrape interval of 15s1ms (job app, the shortest of all for a selector that names no known job, learnt from Prometheus): the samples between two scrapes repeat the same value; use a step of at least 15s1ms (--prometheus; --scrape-interval overrides)")
		require.Empty(t, out)
		require.Equal(t, int32(1), asked.Load())
	})
	t.Run("a step at the shortest interval is judged", func(t *testing.T) {
		url, asked := fakePrometheus(t, fmt.Sprintf(jobs, "15s"))
		code, out, stderr := run(t, "verdict", "-f", file, "--prometheus", url, "--at", at)
		require.Equal(t, cli.ExitInconclusive, code, "stdout: %s\nstderr: %s", out, stderr)
		require.NotContains(t, stderr, "spec.step")
		require.Equal(t, int32(1), asked.Load())
	})
	t.Run("--scrape-interval wins and Prometheus is not asked", func(t *testing.T) {
		url, asked := fakePrometheus(t, fmt.Sprintf(jobs, "15s1ms"))
		code, out, stderr := run(t, "verdict", "-f", file, "--prometheus", url, "--at", at, "--scrape-interval", "15s")
		require.Equal(t, cli.ExitInconclusive, code, "stdout: %s\nstderr: %s", out, stderr)
		require.Zero(t, asked.Load())
	})
	t.Run("a Prometheus that cannot tell is warned about and the verdict goes on", func(t *testing.T) {
		url, _ := fakePrometheus(t, "") // 404, as Thanos or Mimir
		code, out, stderr := run(t, "verdict", "-f", file, "--prometheus", url, "--at", at)
		require.Equal(t, cli.ExitInconclusive, code, "stdout: %s\nstderr: %s", out, stderr)
		require.Regexp(t, `level=WARN msg="the scrape interval is unknown: the hypotheses' steps are not checked against it" err="Prometheus /api/v1/status/config: client_error: client error: 404"`, stderr)
	})
	t.Run("a Prometheus that scrapes nothing is warned about too", func(t *testing.T) {
		url, asked := fakePrometheus(t, "global: {scrape_interval: 1m}\n")
		code, out, stderr := run(t, "verdict", "-f", file, "--prometheus", url, "--at", at)
		require.Equal(t, cli.ExitInconclusive, code, "stdout: %s\nstderr: %s", out, stderr)
		require.Contains(t, stderr, "no scrape_configs")
		require.Equal(t, int32(1), asked.Load())
	})
}
