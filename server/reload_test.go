package server

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/require"

	"github.com/steadywatch/steadywatch/config"
	"github.com/steadywatch/steadywatch/contract"
	"github.com/steadywatch/steadywatch/hypothesis"
	"github.com/steadywatch/steadywatch/internal/testenv/fakeclock"
	"github.com/steadywatch/steadywatch/internal/testenv/waitfor"
	"github.com/steadywatch/steadywatch/store"
	"github.com/steadywatch/steadywatch/verdict"
)

// emptyPrometheus answers every query with no series.
func emptyPrometheus(t *testing.T) string {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		switch {
		case strings.HasSuffix(r.URL.Path, "/query_range"):
			_, _ = io.WriteString(w, `{"status":"success","data":{"resultType":"matrix","result":[]}}`)
		case strings.HasSuffix(r.URL.Path, "/query"):
			_, _ = io.WriteString(w, `{"status":"success","data":{"resultType":"vector","result":[]}}`)
		default:
			http.NotFound(w, r)
		}
	}))
	t.Cleanup(srv.Close)
	return srv.URL
}

// judged lists the hypotheses GET /api/v1/verdicts gives.
func judged(t *testing.T, s *serving) []string {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, "http://"+s.Addr.String()+"/api/v1/verdicts", nil)
	require.NoError(t, err)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
	var body struct {
		Verdicts []struct {
			Hypothesis string `json:"hypothesis"`
		} `json:"verdicts"`
	}
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&body))
	var names []string
	for _, v := range body.Verdicts {
		names = append(names, v.Hypothesis)
	}
	slices.Sort(names)
	return names
}

func postReload(t *testing.T, s *serving) (int, string) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, "http://"+s.Addr.String()+ReloadPath, nil)
	require.NoError(t, err)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp.StatusCode, string(body)
}

func gaugeValue(t *testing.T, s *serving, m contract.Metric) float64 {
	t.Helper()
	mfs, err := s.Registry.Gather()
	require.NoError(t, err)
	for _, mf := range mfs {
		if mf.GetName() == m.Name {
			return mf.GetMetric()[0].GetGauge().GetValue()
		}
	}
	t.Fatalf("%s not exported", m.Name)
	return 0
}

func TestAReloadSwapsTheHypothesesAndABadOneKeepsThem(t *testing.T) {
	dir := t.TempDir()
	hyp := filepath.Join(dir, "h.yaml")
	write := func(text string) { require.NoError(t, os.WriteFile(hyp, []byte(text), 0o600)) }
	write(strings.ReplaceAll(killPostgresYAML, "NAME", "alpha"))
	cfgFile := filepath.Join(dir, "steadywatch.yml")
	require.NoError(t, os.WriteFile(cfgFile, []byte(`listen: 127.0.0.1:0
store: `+filepath.Join(dir, "sw.db")+`
web: {enable_lifecycle: true}
verdicts:
  hypotheses: [`+hyp+`]
  prometheus_url: `+emptyPrometheus(t)+`
  scrape_interval: 15s
  interval: 50ms
`), 0o600))
	cfg, err := config.Load(cfgFile)
	require.NoError(t, err)

	clock := fakeclock.New(time.Date(2026, 11, 21, 10, 5, 0, 0, time.UTC))
	signals := make(chan os.Signal, 1)
	s := startServeWith(t, cfg, clock, func(o *Options) {
		o.Reload = func() (config.Config, error) { return config.Load(cfgFile) }
		o.ReloadSignals = signals
	})
	waitfor.True(t, 10*time.Second, "alpha judged", func() bool { return slices.Equal(judged(t, s), []string{"alpha"}) })
	require.InDelta(t, 1.0, gaugeValue(t, s, contract.ConfigLastReloadSuccessful), 0)
	started := gaugeValue(t, s, contract.ConfigLastReloadSuccessTime)
	require.InDelta(t, float64(clock.Now().Unix()), started, 1)

	// A hypothesis that does not load: 500 naming the file and line, the
	// metric 0, alpha judged on.
	write(strings.ReplaceAll(strings.ReplaceAll(killPostgresYAML, "NAME", "beta"), "slo: {max: 1}", "slo: {max: oops}"))
	code, body := postReload(t, s)
	require.Equal(t, http.StatusInternalServerError, code)
	require.Contains(t, body, "h.yaml:11")
	require.Contains(t, body, "slo")
	require.InDelta(t, 0.0, gaugeValue(t, s, contract.ConfigLastReloadSuccessful), 0)
	require.InDelta(t, started, gaugeValue(t, s, contract.ConfigLastReloadSuccessTime), 0, "the last success is still the start")
	require.Equal(t, []string{"alpha"}, judged(t, s))

	// Fixed: beta replaces alpha.
	clock.Advance(time.Minute)
	write(strings.ReplaceAll(killPostgresYAML, "NAME", "beta"))
	code, body = postReload(t, s)
	require.Equal(t, http.StatusOK, code, body)
	require.InDelta(t, 1.0, gaugeValue(t, s, contract.ConfigLastReloadSuccessful), 0)
	require.InDelta(t, started+60, gaugeValue(t, s, contract.ConfigLastReloadSuccessTime), 0.001)
	waitfor.True(t, 10*time.Second, "beta judged, alpha gone", func() bool { return slices.Equal(judged(t, s), []string{"beta"}) })

	// SIGHUP: both hypotheses.
	clock.Advance(time.Minute)
	write(strings.ReplaceAll(killPostgresYAML, "NAME", "beta") + "---\n" + strings.ReplaceAll(killPostgresYAML, "NAME", "gamma"))
	signals <- syscall.SIGHUP
	waitfor.True(t, 10*time.Second, "beta and gamma judged", func() bool { return slices.Equal(judged(t, s), []string{"beta", "gamma"}) })
	require.InDelta(t, started+120, gaugeValue(t, s, contract.ConfigLastReloadSuccessTime), 0.001)

	// A GET is not a reload.
	req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, "http://"+s.Addr.String()+ReloadPath, nil)
	require.NoError(t, err)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	require.NoError(t, resp.Body.Close())
	require.Equal(t, http.StatusMethodNotAllowed, resp.StatusCode)
}

func TestTheReloadEndpointIsOffUnlessEnabled(t *testing.T) {
	dir := t.TempDir()
	cfg := config.Default()
	cfg.Listen = "127.0.0.1:0"
	cfg.Store = filepath.Join(dir, "sw.db")
	reloaded := 0
	s := startServeWith(t, cfg, fakeclock.New(time.Now()), func(o *Options) {
		o.Reload = func() (config.Config, error) { reloaded++; return cfg, nil }
	})
	code, body := postReload(t, s)
	require.Equal(t, http.StatusForbidden, code)
	require.Contains(t, body, "web.enable_lifecycle")
	require.Zero(t, reloaded)
}

func TestRestartOnlyNamesTheSectionsAReloadDoesNotApply(t *testing.T) {
	old := config.Default()
	cfg := old
	require.Empty(t, restartOnly(old, cfg))
	cfg.Verdicts.Hypotheses = []string{"x.yaml"}
	cfg.Verdicts.Interval *= 2
	require.Empty(t, restartOnly(old, cfg), "verdicts are applied")
	cfg.Watch.Selector = "app=x"
	cfg.Store = "postgres://x"
	require.Equal(t, []string{"store", "watch"}, restartOnly(old, cfg))
}

// TestAVerdictNotStoredBeforeAReloadIsStoredAfterIt: the loop a reload
// replaces hands the new one what the store had not taken, also of a
// hypothesis the reload removed.
func TestAVerdictNotStoredBeforeAReloadIsStoredAfterIt(t *testing.T) {
	db, err := store.Open(t.Context(), filepath.Join(t.TempDir(), "sw.db"), store.Options{})
	require.NoError(t, err)
	defer db.Close()
	hist := &flakyHistory{Store: db, failing: true}
	now := time.Date(2026, 11, 21, 10, 5, 0, 0, time.UTC)
	newLoop := func(hs []hypothesis.Hypothesis) *verdictLoop {
		return &verdictLoop{
			judge: &scriptedJudge{script: []verdict.Verdict{{Result: verdict.Pass, Running: true, Score: 100}}}, hypotheses: hs,
			verdicts: verdict.NewBoard(), history: hist, interval: time.Minute, log: slog.New(slog.NewTextHandler(t.Output(), nil)),
			now: func() time.Time { return now }, final: map[string]bool{},
		}
	}
	old := newLoop(killPostgres(t))
	old.judgeAll(t.Context())
	require.Empty(t, history(t, db), "the store failed")

	renamed := killPostgres(t)
	renamed[0].Name = "kill-postgres-2"
	next := newLoop(renamed)
	next.adopt(old)
	hist.failing = false
	now = now.Add(time.Minute)
	next.judgeAll(t.Context())
	require.Equal(t, []string{"10:05 pass running", "10:06 pass running"}, history(t, db),
		"the removed hypothesis's verdict judged before the reload is stored, and the new one's")
}

// TestASectionNeedingARestartIsNamedAtEachReloadUntilRestarted: a reload
// does not apply watch, so the running watch is still the old one at the
// next reload, which names it again.
func TestASectionNeedingARestartIsNamedAtEachReloadUntilRestarted(t *testing.T) {
	running := config.Default()
	edited := running
	edited.Watch.Selector = "app=x"
	var logs strings.Builder
	r := newReloader(running, func() (config.Config, error) { return edited, nil },
		func(context.Context, config.Config) (*verdictLoop, error) { return nil, nil },
		newVerdictRunner(nil, verdict.NewBoard(), nil), prometheus.NewRegistry(),
		slog.New(slog.NewTextHandler(&logs, nil)), time.Now)
	for i := range 2 {
		logs.Reset()
		require.NoError(t, r.reload(t.Context(), "test"))
		require.Contains(t, logs.String(), `applied at the next restart only" fields=watch`, "reload %d", i+1)
	}
	edited = running
	logs.Reset()
	require.NoError(t, r.reload(t.Context(), "test"))
	require.NotContains(t, logs.String(), "restart", "back as it runs")
}

// switchableHistory is a store whose SaveVerdict fails while failing.
type switchableHistory struct {
	store.Store
	failing atomic.Bool
	saves   atomic.Int32
}

func (s *switchableHistory) SaveVerdict(ctx context.Context, t verdict.Transition) error {
	s.saves.Add(1)
	if s.failing.Load() {
		return errors.New("disk full")
	}
	return s.Store.SaveVerdict(ctx, t)
}

// TestAReloadToNoHypothesesStoresWhatTheLoopHadNot: with no loop to hand
// them to, the verdicts the store had refused are stored at the swap.
func TestAReloadToNoHypothesesStoresWhatTheLoopHadNot(t *testing.T) {
	db, err := store.Open(t.Context(), filepath.Join(t.TempDir(), "sw.db"), store.Options{})
	require.NoError(t, err)
	defer db.Close()
	hist := &switchableHistory{Store: db}
	hist.failing.Store(true)
	now := time.Date(2026, 11, 21, 10, 5, 0, 0, time.UTC)
	board := verdict.NewBoard()
	loop := &verdictLoop{
		judge: &scriptedJudge{script: []verdict.Verdict{{Result: verdict.Pass, Running: true, Score: 100}}}, hypotheses: killPostgres(t),
		verdicts: board, history: hist, interval: time.Hour, log: slog.New(slog.NewTextHandler(t.Output(), nil)),
		now: func() time.Time { return now },
	}
	r := newVerdictRunner(loop, board, nil)
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan struct{})
	go func() { defer close(done); r.run(ctx) }()
	waitfor.True(t, 10*time.Second, "the loop to try to store its verdict", func() bool { return hist.saves.Load() >= 1 })
	hist.failing.Store(false)
	r.swap(nil)
	waitfor.True(t, 10*time.Second, "the verdict stored", func() bool { return len(history(t, db)) == 1 })
	require.Equal(t, []string{"10:05 pass running"}, history(t, db))
	cancel()
	<-done
}
