package cli_test

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/steadywatch/steadywatch/chaos"
	"github.com/steadywatch/steadywatch/cli"
	"github.com/steadywatch/steadywatch/internal/testenv/promtest"
	"github.com/steadywatch/steadywatch/verdict/verdicttest"
)

// TestVerdictReachesAPrometheusBehindBasicAuthAndTLS judges against a real
// Prometheus 2.42 that serves TLS and requires basic auth, through
// --prometheus-http-config, a file of Prometheus's own HTTP client
// configuration whose relative file names are relative to it.
func TestVerdictReachesAPrometheusBehindBasicAuthAndTLS(t *testing.T) {
	start := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	healthy := verdicttest.GroupSim{RPS: 20, Median: 0.1, Sigma: 0.5, ErrorRate: 0.001}
	sw := promtest.NewSecureWeb(t)
	prom := promtest.StartPrometheus(t, sw.Prometheus(promtest.PrometheusOptions{
		Config: "global: {}\n",
		OpenMetrics: verdicttest.OpenMetrics(7, start, 2*240+1, []verdicttest.Scenario{
			{Name: "steady", Groups: map[chaos.Group]verdicttest.GroupSim{chaos.Control: healthy, chaos.Experimental: healthy}},
		}),
	}))
	dir := t.TempDir()
	hyp := filepath.Join(dir, "steady.yaml")
	require.NoError(t, os.WriteFile(hyp, []byte(hypothesisFor("steady")), 0o600))
	ca, err := os.ReadFile(sw.CAFile)
	require.NoError(t, err)
	require.NoError(t, os.MkdirAll(filepath.Join(dir, "secrets"), 0o700))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "secrets", "ca.crt"), ca, 0o600)) //nolint:gosec // the test's own temporary directory
	require.NoError(t, os.WriteFile(filepath.Join(dir, "secrets", "right"), []byte(sw.Password), 0o600))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "secrets", "wrong"), []byte(sw.Password+"x"), 0o600))
	httpConfig := func(name, body string) string {
		path := filepath.Join(dir, name)
		require.NoError(t, os.WriteFile(path, []byte(body), 0o600))
		return path
	}
	good := httpConfig("good.yml", "basic_auth: {username: "+sw.Username+", password_file: secrets/right}\ntls_config: {ca_file: secrets/ca.crt}\n")
	wrong := httpConfig("wrong.yml", "basic_auth: {username: "+sw.Username+", password_file: secrets/wrong}\ntls_config: {ca_file: secrets/ca.crt}\n")
	args := []string{"verdict", "-f", hyp, "--prometheus", prom.URL(), "--at", "2026-11-01T02:00:00Z", "--scrape-interval", "15s"}

	t.Run("with the right configuration it judges", func(t *testing.T) {
		code, out, stderr := run(t, append(args, "--prometheus-http-config", good)...)
		require.Equal(t, cli.ExitOK, code, "stdout:\n%s\nstderr:\n%s", out, stderr)
		require.Contains(t, out, "steady  PASS")
	})
	t.Run("with a wrong password nothing is judged and it says why", func(t *testing.T) {
		code, out, stderr := run(t, append(args, "--prometheus-http-config", wrong)...)
		require.Equal(t, cli.ExitInconclusive, code, "stdout:\n%s\nstderr:\n%s", out, stderr)
		require.Contains(t, out+stderr, "prometheus answered 401 Unauthorized: its HTTP client configuration has no credentials, or wrong ones")
	})
	t.Run("without the configuration the certificate is not trusted", func(t *testing.T) {
		code, out, stderr := run(t, args...)
		require.Equal(t, cli.ExitInconclusive, code, "stdout:\n%s\nstderr:\n%s", out, stderr)
		require.Contains(t, out+stderr, "x509: certificate signed by unknown authority")
	})
	t.Run("a bad configuration is refused with exit 3", func(t *testing.T) {
		bad := httpConfig("bad.yml", "basic_auth: {usernme: x}\n")
		code, out, stderr := run(t, append(args, "--prometheus-http-config", bad)...)
		require.Equal(t, cli.ExitUsage, code, "stdout:\n%s\nstderr:\n%s", out, stderr)
		require.Contains(t, stderr, "--prometheus-http-config: yaml: unmarshal errors:")
		require.Contains(t, stderr, "field usernme not found")
		code, _, stderr = run(t, append(args, "--prometheus-http-config", filepath.Join(dir, "nope.yml"))...)
		require.Equal(t, cli.ExitUsage, code)
		require.Contains(t, stderr, "--prometheus-http-config: open "+filepath.Join(dir, "nope.yml")+": no such file or directory")
	})
}
