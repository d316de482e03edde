package e2e

import (
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/steadywatch/steadywatch/api"
	"github.com/steadywatch/steadywatch/internal/testenv/hypyaml"
	"github.com/steadywatch/steadywatch/internal/testenv/promtest"
	"github.com/steadywatch/steadywatch/server"
)

// reloadHypothesis is a hypothesis about a service nothing happens to:
// judged inconclusive (no chaos) every interval.
func reloadHypothesis(name string) string {
	return hypyaml.PodKill{Name: name, Namespace: "reload"}.YAML()
}

// verdictTimes lists the judged hypotheses, with when each was judged.
func verdictTimes(url string) (map[string]time.Time, error) {
	code, body, err := httpGet(url + api.VerdictsPath)
	if err != nil {
		return nil, err
	}
	if code != http.StatusOK {
		return nil, fmt.Errorf("GET %s: %d %s", api.VerdictsPath, code, body)
	}
	var list api.VerdictList
	if err := json.Unmarshal([]byte(body), &list); err != nil {
		return nil, err
	}
	out := map[string]time.Time{}
	for _, v := range list.Verdicts {
		out[v.Hypothesis] = v.At
	}
	return out, nil
}

func judgedNames(m map[string]time.Time) []string {
	names := make([]string, 0, len(m))
	for n := range m {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}

// reloadGauges reads the two reload metrics from /metrics.
func reloadGauges(t *testing.T, url string) (ok, at float64) {
	t.Helper()
	mfs := scrape(t, url)
	return value(mfs, "steadywatch_config_last_reload_successful", nil),
		value(mfs, "steadywatch_config_last_reload_success_timestamp_seconds", nil)
}

// The built binary reloads its hypotheses on SIGHUP and POST /-/reload: a
// file that does not parse keeps the running hypothesis judged, the
// metric 0 and the log naming the file and line; the fixed file with the
// hypothesis renamed replaces it, the metric 1 with a later timestamp.
func TestServeReloadsItsHypothesesOnSIGHUPAndPOSTAndKeepsThemOnABadFile(t *testing.T) {
	b := needBed(t)
	namespace(t, "reload")
	prom := promtest.StartPrometheus(t, promtest.PrometheusOptions{})
	dir := t.TempDir()
	hyp := filepath.Join(dir, "web.yaml")
	write := func(text string) { require.NoError(t, os.WriteFile(hyp, []byte(text), 0o600)) }
	write(reloadHypothesis("web-before"))
	cfg := filepath.Join(dir, "steadywatch.yml")
	require.NoError(t, os.WriteFile(cfg, fmt.Appendf(nil,
		"verdicts:\n  hypotheses: [%s]\n  prometheus_url: %s\n  interval: 1s\n", hyp, prom.URL()), 0o600))
	cmd, url, stderr := serveProcess(t, "--config", cfg, "--kubeconfig", b.Kubeconfig(), "--data-dir", dir,
		"--namespace", "reload", "--web.enable-lifecycle")

	waitFor(t, 60*time.Second, "web-before judged", func() (bool, error) {
		m, err := verdictTimes(url)
		return slices.Equal(judgedNames(m), []string{"web-before"}), err
	})
	ok, started := reloadGauges(t, url)
	requireValue(t, 1, ok, "nothing reloaded yet")
	require.False(t, math.IsNaN(started), "the start counts as a reload")

	// A syntax error: "namespace" indented under "service"'s scalar. Its
	// line is counted here, not taken from steadywatch.
	bad := reloadHypothesis("web-after")
	bad = strings.Replace(bad, "\n  namespace: reload", "\n   namespace: reload", 1)
	badLine := slices.IndexFunc(strings.Split(bad, "\n"), func(l string) bool { return l == "   namespace: reload" }) + 1
	require.Positive(t, badLine)
	write(bad)
	failedAt := time.Now()
	require.NoError(t, cmd.Process.Signal(syscall.SIGHUP))
	waitFor(t, 30*time.Second, "steadywatch_config_last_reload_successful 0", func() (bool, error) {
		ok, _ := reloadGauges(t, url)
		return ok == 0, nil
	})
	where := fmt.Sprintf("%s:%d", hyp, badLine)
	failure := ""
	for line := range strings.SplitSeq(stderr.String(), "\n") {
		if strings.Contains(line, "reloading the configuration failed") {
			failure = line
		}
	}
	t.Logf("the failed reload, as logged: %s", failure)
	require.Contains(t, failure, where, "the log line names the file and line")
	require.Contains(t, failure, "hangup", "the log line names the trigger")
	_, at := reloadGauges(t, url)
	requireValue(t, started, at, "a failed reload is not a success")
	// The old hypothesis is still judged: a verdict after the failure.
	waitFor(t, 30*time.Second, "web-before judged after the failed reload", func() (bool, error) {
		m, err := verdictTimes(url)
		return slices.Equal(judgedNames(m), []string{"web-before"}) && m["web-before"].After(failedAt), err
	})

	// Fixed, with the hypothesis renamed: POST /-/reload.
	write(reloadHypothesis("web-after"))
	before := time.Now()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, url+server.ReloadPath, nil)
	require.NoError(t, err)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	require.NoError(t, resp.Body.Close())
	after := time.Now()
	require.Equal(t, http.StatusOK, resp.StatusCode)
	ok, at = reloadGauges(t, url)
	requireValue(t, 1, ok)
	t.Logf("reload timestamp: %.3f at the start, %.3f after the POST (sent at %.3f, answered at %.3f)",
		started, at, float64(before.UnixNano())/1e9, float64(after.UnixNano())/1e9)
	require.Greater(t, at, started, "the timestamp advanced")
	// Within the POST's round trip (the gauge has nanoseconds as float).
	require.GreaterOrEqual(t, at, float64(before.UnixNano())/1e9-1e-3)
	require.LessOrEqual(t, at, float64(after.UnixNano())/1e9+1e-3)
	waitFor(t, 30*time.Second, "web-after judged, web-before gone", func() (bool, error) {
		m, err := verdictTimes(url)
		return slices.Equal(judgedNames(m), []string{"web-after"}), err
	})
	terminate(t, cmd)
}
