package e2e

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/steadywatch/steadywatch/internal/testenv/syncbuf"

	"github.com/stretchr/testify/require"

	"github.com/steadywatch/steadywatch/internal/testenv/promtest"
	"github.com/steadywatch/steadywatch/store"
)

var (
	buildOnce sync.Once
	binary    string
	buildErr  error
)

// steadywatchBinary builds cmd/steadywatch once for the package.
func steadywatchBinary(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "steadywatch-e2e-bin-")
		if err != nil {
			buildErr = err
			return
		}
		binary = filepath.Join(dir, "steadywatch")
		out, err := exec.CommandContext(context.Background(), "go", "build", "-o", binary, "github.com/steadywatch/steadywatch/cmd/steadywatch").CombinedOutput()
		if err != nil {
			buildErr = fmt.Errorf("go build: %w\n%s", err, out)
		}
	})
	require.NoError(t, buildErr)
	return binary
}

// syncBuffer is a log destination the code's goroutines and the test share.
type syncBuffer = syncbuf.Buffer

func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := (&net.ListenConfig{}).Listen(t.Context(), "tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := l.Addr().String()
	require.NoError(t, l.Close())
	return addr
}

// serveProcess starts the steadywatch binary's serve command.
func serveProcess(t *testing.T, args ...string) (cmd *exec.Cmd, url string, stderr *syncBuffer) {
	t.Helper()
	addr := freeAddr(t)
	stderr = &syncBuffer{}
	cmd = exec.CommandContext(context.Background(), steadywatchBinary(t), append([]string{"serve", "--listen", addr}, args...)...)
	cmd.Stderr = stderr
	require.NoError(t, cmd.Start())
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			_ = cmd.Process.Kill()
			_ = cmd.Wait()
		}
		if t.Failed() {
			t.Logf("steadywatch stderr:\n%s", stderr)
		}
	})
	return cmd, "http://" + addr, stderr
}

// terminate sends SIGTERM and waits for a clean exit.
func terminate(t *testing.T, cmd *exec.Cmd) {
	t.Helper()
	require.NoError(t, cmd.Process.Signal(syscall.SIGTERM))
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		require.NoError(t, err, "exit status after SIGTERM")
	case <-time.After(20 * time.Second):
		t.Fatal("steadywatch did not exit within 20s of SIGTERM")
	}
}

func TestServeAgainstTheTestbedIsReadyAfterSyncAndStopsCleanlyOnSIGTERM(t *testing.T) {
	b := needBed(t)
	dataDir := t.TempDir()
	cmd, url, stderr := serveProcess(t, "--kubeconfig", b.Kubeconfig(), "--data-dir", dataDir)
	waitFor(t, 60*time.Second, "/readyz", func() (bool, error) {
		code, _, err := httpGet(url + "/readyz")
		return code == http.StatusOK, err
	})
	code, body, err := httpGet(url + "/metrics")
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, code)
	for _, want := range []string{
		`steadywatch_informer_synced{resource="pods"} 1`,
		`steadywatch_informer_synced{resource="nodes"} 1`,
		`steadywatch_build_info{`,
		`steadywatch_last_event_timestamp_seconds`,
	} {
		require.Contains(t, body, want)
	}
	terminate(t, cmd)
	db, err := store.Open(t.Context(), "", store.Options{DataDir: dataDir})
	require.NoError(t, err)
	defer db.Close()
	inv, ok, err := db.LoadInventory(t.Context())
	require.NoError(t, err)
	require.True(t, ok, "the inventory is saved on the way out")
	require.NotEmpty(t, inv.Cluster)
	// The log says it stopped, once, and what it flushed: the inventory
	// the store holds.
	log := stderr.String()
	for line := range strings.SplitSeq(log, "\n") {
		if strings.Contains(line, "msg=stop") || strings.Contains(line, `msg="stop`) {
			t.Log(line)
		}
	}
	require.Equal(t, 1, strings.Count(log, `msg="stopping: writing what is queued, saving the inventory"`), log)
	require.Equal(t, 1, strings.Count(log, "msg=stopped "), log)
	require.Contains(t, log, "inventory_saved_at="+inv.SavedAt.UTC().Format(time.RFC3339))
	require.Contains(t, log, "writes_dropped=0 verdicts_unstored=0")
}

func TestServeWithAnUnreachableAPIServerRetriesAndIsNotReady(t *testing.T) {
	dead := freeAddr(t) // nothing listens here
	kubeconfig := filepath.Join(t.TempDir(), "kubeconfig")
	require.NoError(t, os.WriteFile(kubeconfig, []byte(`apiVersion: v1
kind: Config
clusters: [{name: dead, cluster: {server: "https://`+dead+`", insecure-skip-tls-verify: true}}]
users: [{name: u, user: {token: x}}]
contexts: [{name: dead, context: {cluster: dead, user: u}}]
current-context: dead
`), 0o600))
	cmd, url, stderr := serveProcess(t, "--kubeconfig", kubeconfig, "--data-dir", t.TempDir())
	waitFor(t, 30*time.Second, "two failed attempts logged", func() (bool, error) {
		return strings.Count(stderr.String(), "Kubernetes API unreachable; retrying") >= 2, nil
	})
	require.Contains(t, stderr.String(), "https://"+dead, "the log names the address")
	require.Contains(t, stderr.String(), "retry_in=1s", "backoff grows")
	code, body, err := httpGet(url + "/readyz")
	require.NoError(t, err)
	require.Equal(t, http.StatusServiceUnavailable, code)
	require.Contains(t, body, "https://"+dead)
	code, _, err = httpGet(url + "/healthz")
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, code, "alive while waiting")
	terminate(t, cmd)
}

func TestServeRejectsBadInputWithTheFieldNamed(t *testing.T) {
	cases := []struct {
		name string
		args []string
		file string
		want string
	}{
		{name: "a selector that does not parse", args: []string{"--selector", "app in (a"}, want: "watch.selector: "},
		{name: "a node selector that does not parse", args: []string{"--node-selector", "=x"}, want: "watch.node_selector: "},
		{name: "a namespace that is not a DNS label", args: []string{"--namespace", "Bad_NS"}, want: `watch.namespaces[0]: "Bad_NS" is not a valid namespace name`},
		{name: "a listen address without a port", args: []string{"--listen", "localhost"}, want: "listen: "},
		{name: "a config file with an unknown field", file: "watch:\n  selectr: a=b\n", want: "config.yml:2: watch: unknown field \"selectr\" (did you mean \"selector\"?)"},
		{name: "a config file that does not exist", args: []string{"--config", "/nonexistent/steadywatch.yml"}, want: "--config: open /nonexistent/steadywatch.yml"},
		{name: "an unknown flag", args: []string{"--no-such-flag"}, want: "flag provided but not defined: -no-such-flag"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			args := append([]string{"serve"}, tc.args...)
			if tc.file != "" {
				path := filepath.Join(t.TempDir(), "config.yml")
				require.NoError(t, os.WriteFile(path, []byte(tc.file), 0o600))
				args = append(args, "--config", path)
			}
			ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
			defer cancel()
			out, err := exec.CommandContext(ctx, steadywatchBinary(t), args...).CombinedOutput()
			var exit *exec.ExitError
			require.ErrorAs(t, err, &exit, "output: %s", out)
			require.Equal(t, 3, exit.ExitCode(), "usage errors exit 3; output: %s", out)
			require.Contains(t, string(out), tc.want)
		})
	}
}

// Learning the scrape intervals from a Prometheus that accepts the request
// and never answers takes up to 10 s; serve's health, metrics and webhook
// answer meanwhile, the informers sync, and the hypotheses are judged
// after (review: the lookup ran before the HTTP server started, which then
// answered nothing for 10 s). /readyz waits for the lookup, saying so.
func TestServeAnswersWhileLearningTheScrapeIntervalFromAHungPrometheus(t *testing.T) {
	b := needBed(t)
	hung := make(chan struct{})
	prom := httptest.NewServer(http.HandlerFunc(func(_ http.ResponseWriter, r *http.Request) {
		select {
		case <-hung:
		case <-r.Context().Done():
		}
	}))
	t.Cleanup(func() {
		close(hung)
		prom.Close()
	})
	dir := t.TempDir()
	cfg := filepath.Join(dir, "steadywatch.yml")
	hyp, err := filepath.Abs("../examples/kill-postgres-replica.yaml")
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(cfg, fmt.Appendf(nil, "verdicts:\n  hypotheses: [%s]\n  prometheus_url: %s\n", hyp, prom.URL), 0o600))
	_, url, stderr := serveProcess(t, "--config", cfg, "--kubeconfig", b.Kubeconfig(), "--data-dir", dir)
	started := time.Now()
	waitFor(t, 30*time.Second, "/healthz", func() (bool, error) {
		code, _, _ := httpGet(url + "/healthz") // refused until it listens
		return code == http.StatusOK, nil
	})
	answered := time.Since(started)
	learnt := strings.Contains(stderr.String(), "the scrape interval is unknown")
	t.Logf("/healthz answered %s after the start; interval lookup over by then: %t", answered.Round(time.Millisecond), learnt)
	require.False(t, learnt, "/healthz answered only after the 10 s lookup gave up")
	// The informers do not wait for it either: a pod deleted meanwhile is
	// seen (review: they started only once the lookup was over, 10 s late).
	waitFor(t, 30*time.Second, "the informers to sync", func() (bool, error) {
		return strings.Contains(stderr.String(), "informers synced; watching"), nil
	})
	synced := time.Since(started)
	learnt = strings.Contains(stderr.String(), "the scrape interval is unknown")
	t.Logf("informers synced %s after the start; interval lookup over by then: %t", synced.Round(time.Millisecond), learnt)
	require.False(t, learnt, "the informers synced only after the 10 s lookup gave up")
	// /readyz does wait, saying why: a replica is ready once its
	// hypotheses' steps are checked, or the check gave up (issue 15: a
	// step too short fails the rollout on every replica, leader or not).
	code, body, err := httpGet(url + "/readyz")
	require.NoError(t, err)
	if !strings.Contains(stderr.String(), "the scrape interval is unknown") { // still looking it up
		require.Equal(t, http.StatusServiceUnavailable, code, body)
		require.Contains(t, body, "the hypotheses' steps are being checked against the scrape intervals of Prometheus at "+prom.URL)
	}
	waitFor(t, 30*time.Second, "/readyz", func() (bool, error) {
		code, _, _ := httpGet(url + "/readyz")
		return code == http.StatusOK, nil
	})
	t.Logf("/readyz answered 200 %s after the start", time.Since(started).Round(time.Millisecond))
	require.Contains(t, stderr.String(), "the scrape interval is unknown", "ready only once the lookup gave up")
	waitFor(t, 30*time.Second, "the lookup to give up and the hypotheses to be judged", func() (bool, error) {
		return strings.Contains(stderr.String(), "judging hypotheses"), nil
	})
}

// A step shorter than the scrape interval Prometheus gives is learnt after
// serve started (the lookup runs in the verdict loop's goroutine): serve
// still ends with exit 3 and the error names the file, the step and the
// interval, as when the files are wrong from the start.
func TestServeEndsWithExit3WhenPrometheusTellsAScrapeIntervalLongerThanAStep(t *testing.T) {
	b := needBed(t)
	// examples/kill-postgres-replica.yaml has step: 15s.
	prom := promtest.StartConfigServer(t, func() string {
		return "global: {scrape_interval: 1m, evaluation_interval: 1m}\nscrape_configs: [{job_name: app, scrape_interval: 15s1ms}]\n"
	})
	dir := t.TempDir()
	cfg := filepath.Join(dir, "steadywatch.yml")
	hyp, err := filepath.Abs("../examples/kill-postgres-replica.yaml")
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(cfg, fmt.Appendf(nil, "verdicts:\n  hypotheses: [%s]\n  prometheus_url: %s\n", hyp, prom.URL), 0o600))
	ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, steadywatchBinary(t), "serve", "--listen", freeAddr(t), "--config", cfg,
		"--kubeconfig", b.Kubeconfig(), "--data-dir", dir).CombinedOutput()
	var exit *exec.ExitError
	require.ErrorAs(t, err, &exit, "output: %s", out)
	require.Equal(t, 3, exit.ExitCode(), "a configuration error exits 3; output: %s", out)
	require.Contains(t, string(out), hyp+":")
	require.Contains(t, string(out), "spec.step: 15s is shorter than the scrape interval of 15s1ms")
}
