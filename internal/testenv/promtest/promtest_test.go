package promtest_test

import (
	"context"
	"crypto/tls"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/go-openapi/strfmt"
	amalert "github.com/prometheus/alertmanager/api/v2/client/alert"
	"github.com/prometheus/alertmanager/api/v2/models"
	"github.com/prometheus/common/model"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/crypto/bcrypt"

	"github.com/steadywatch/steadywatch/internal/testenv/promtest"

	"github.com/steadywatch/steadywatch/internal/testenv/childproc"
)

const waitTimeout = 30 * time.Second

const rules = `groups:
  - name: promtest
    rules:
      - record: promtest:answer
        expr: vector(42)
      - alert: PromtestAlwaysFiring
        expr: vector(1)
        labels:
          severity: page
        annotations:
          summary: always firing
`

// queryScalar returns the value of query's only sample.
func queryScalar(ctx context.Context, p *promtest.Prometheus, query string) (float64, error) {
	v, _, _, err := p.API().Query(ctx, query, time.Now())
	if err != nil {
		return 0, err
	}
	vec, ok := v.(model.Vector)
	if !ok || len(vec) != 1 {
		return 0, fmt.Errorf("%s: want one sample, got %v", query, v)
	}
	return float64(vec[0].Value), nil
}

func TestPrometheusScrapesItselfEvaluatesRulesAndSendsAlerts(t *testing.T) {
	am := promtest.StartAlertmanager(t, promtest.AlertmanagerOptions{})
	p := promtest.StartPrometheus(t, promtest.PrometheusOptions{
		Rules:         map[string]string{"promtest.yml": rules},
		Alertmanagers: []string{am.Addr},
	})
	ctx := t.Context()

	t.Run("it scrapes itself", func(t *testing.T) {
		require.EventuallyWithT(t, func(c *assert.CollectT) {
			up, err := queryScalar(ctx, p, `up{job="prometheus"}`)
			require.NoError(c, err)
			require.InDelta(c, 1.0, up, 0)
		}, waitTimeout, 20*time.Millisecond)
	})

	t.Run("it evaluates the rules of the options", func(t *testing.T) {
		require.EventuallyWithT(t, func(c *assert.CollectT) {
			answer, err := queryScalar(ctx, p, "promtest:answer")
			require.NoError(c, err)
			require.InDelta(c, 42.0, answer, 0)
		}, waitTimeout, 20*time.Millisecond)
	})

	t.Run("its alerts reach the Alertmanager", func(t *testing.T) {
		require.EventuallyWithT(t, func(c *assert.CollectT) {
			got, err := am.Client().Alert.GetAlerts(amalert.NewGetAlertsParamsWithContext(ctx))
			require.NoError(c, err)
			require.Len(c, got.Payload, 1)
			require.Equal(c, models.LabelSet{"alertname": "PromtestAlwaysFiring", "severity": "page"}, got.Payload[0].Labels)
			require.Equal(c, "always firing", got.Payload[0].Annotations["summary"])
		}, waitTimeout, 20*time.Millisecond)
	})
}

func TestPrometheusReloadsRulesWrittenLater(t *testing.T) {
	p := promtest.StartPrometheus(t, promtest.PrometheusOptions{})
	ctx := t.Context()
	require.NoError(t, os.WriteFile(filepath.Join(p.RulesDir, "later.yml"), []byte(rules), 0o644))
	require.NoError(t, p.Reload(ctx))
	got, err := p.API().Rules(ctx, nil)
	require.NoError(t, err)
	require.Len(t, got.Groups, 1)
	require.Equal(t, filepath.Join(p.RulesDir, "later.yml"), got.Groups[0].File)

	t.Run("a broken rule file makes Reload fail with Prometheus' error", func(t *testing.T) {
		broken := "groups:\n  - name: broken\n    rules:\n      - record: broken\n        expr: sum(\n"
		require.NoError(t, os.WriteFile(filepath.Join(p.RulesDir, "broken.yml"), []byte(broken), 0o644))
		err := p.Reload(ctx)
		require.ErrorContains(t, err, "500 Internal Server Error")
		require.ErrorContains(t, err, "broken.yml")
		require.ErrorContains(t, err, "unclosed left parenthesis")
	})
}

func TestAlertmanagerKeepsAPostedAlert(t *testing.T) {
	am := promtest.StartAlertmanager(t, promtest.AlertmanagerOptions{})
	ctx := t.Context()
	startsAt := time.Now().Add(-time.Minute).UTC().Truncate(time.Millisecond)
	_, err := am.Client().Alert.PostAlerts(amalert.NewPostAlertsParamsWithContext(ctx).WithAlerts(models.PostableAlerts{{
		Alert:       models.Alert{Labels: models.LabelSet{"alertname": "Posted", "service": "api"}},
		Annotations: models.LabelSet{"summary": "posted by the test"},
		StartsAt:    strfmt.DateTime(startsAt),
	}}))
	require.NoError(t, err)

	got, err := am.Client().Alert.GetAlerts(amalert.NewGetAlertsParamsWithContext(ctx))
	require.NoError(t, err)
	require.Len(t, got.Payload, 1)
	a := got.Payload[0]
	require.Equal(t, models.LabelSet{"alertname": "Posted", "service": "api"}, a.Labels)
	require.Equal(t, models.LabelSet{"summary": "posted by the test"}, a.Annotations)
	require.True(t, startsAt.Equal(time.Time(*a.StartsAt)), "startsAt %s, want %s", a.StartsAt, startsAt)
	require.NotEmpty(t, *a.Fingerprint)
}

func TestAlertmanagerWithBasicAuth(t *testing.T) {
	hash, err := bcrypt.GenerateFromPassword([]byte("s3cret"), bcrypt.MinCost)
	require.NoError(t, err)
	am := promtest.StartAlertmanager(t, promtest.AlertmanagerOptions{
		WebConfig: "basic_auth_users:\n  steadywatch: " + string(hash) + "\n",
		Username:  "steadywatch",
		Password:  "s3cret",
	})
	ctx := t.Context()

	_, err = am.Client().Alert.GetAlerts(amalert.NewGetAlertsParamsWithContext(ctx))
	require.NoError(t, err, "the client sends the credentials")

	req, err := http.NewRequestWithContext(ctx, http.MethodGet, am.URL()+"/api/v2/alerts", http.NoBody)
	require.NoError(t, err)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	require.NoError(t, resp.Body.Close())
	require.Equal(t, http.StatusUnauthorized, resp.StatusCode, "a request without them is refused")
}

func TestABrokenConfigFailsWithTheServersOwnError(t *testing.T) {
	if os.Getenv(promtest.SkipEnv) == "1" {
		t.Skipf("%s=1", promtest.SkipEnv)
	}
	const badPrometheus = "global:\n  scrape_intervall: 1s\n"
	const badAlertmanager = "route:\n  receiver: nowhere\nreceivers:\n  - name: somewhere\n"

	t.Run("NewPrometheus returns it", func(t *testing.T) {
		_, err := promtest.NewPrometheus(t.Context(), t.TempDir(), promtest.PrometheusOptions{Config: badPrometheus})
		require.ErrorContains(t, err, "prometheus exited while starting")
		require.ErrorContains(t, err, "field scrape_intervall not found")
	})

	t.Run("StartPrometheus fails the test with it", func(t *testing.T) {
		ft := runFake(t, func(ft *fakeTB) { promtest.StartPrometheus(ft, promtest.PrometheusOptions{Config: badPrometheus}) })
		require.True(t, ft.failed, "the test failed")
		require.Contains(t, ft.msg, "field scrape_intervall not found")
	})

	t.Run("NewAlertmanager returns it", func(t *testing.T) {
		_, err := promtest.NewAlertmanager(t.Context(), t.TempDir(), promtest.AlertmanagerOptions{Config: badAlertmanager})
		require.ErrorContains(t, err, "alertmanager exited while starting")
		require.ErrorContains(t, err, `undefined receiver \"nowhere\"`)
	})

	t.Run("StartAlertmanager fails the test with it", func(t *testing.T) {
		ft := runFake(t, func(ft *fakeTB) {
			promtest.StartAlertmanager(ft, promtest.AlertmanagerOptions{Config: badAlertmanager})
		})
		require.True(t, ft.failed, "the test failed")
		require.Contains(t, ft.msg, `undefined receiver \"nowhere\"`)
	})
}

func TestSkipEnvSkipsRatherThanStarts(t *testing.T) {
	t.Setenv(promtest.SkipEnv, "1")
	tests := []struct {
		name string
		use  func(t testing.TB)
	}{
		{"StartPrometheus", func(t testing.TB) { promtest.StartPrometheus(t, promtest.PrometheusOptions{}) }},
		{"StartAlertmanager", func(t testing.TB) { promtest.StartAlertmanager(t, promtest.AlertmanagerOptions{}) }},
		{"Promtool", func(t testing.TB) { _, _ = promtest.Promtool(t, "--version") }},
		{"Amtool", func(t testing.TB) { _, _ = promtest.Amtool(t, "--version") }},
	}
	for _, tt := range tests {
		t.Run(tt.name+" skips", func(t *testing.T) {
			ft := runFake(t, func(ft *fakeTB) { tt.use(ft) })
			require.True(t, ft.skipped)
			require.False(t, ft.failed)
			require.Contains(t, ft.msg, promtest.SkipEnv+"=1")
		})
	}
}

func TestPromtool(t *testing.T) {
	dir := t.TempDir()
	write := func(name, content string) string {
		p := filepath.Join(dir, name)
		require.NoError(t, os.WriteFile(p, []byte(content), 0o644))
		return p
	}
	good := write("good.yml", rules)
	bad := write("bad.yml", "groups:\n  - name: bad\n    rules:\n      - record: bad\n        expr: rate(x[5m]\n")
	unitTests := write("good_test.yml", `rule_files: [good.yml]
evaluation_interval: 1m
tests:
  - interval: 1m
    promql_expr_test:
      - expr: promtest:answer
        eval_time: 1m
        exp_samples:
          - labels: promtest:answer
            value: 42
`)
	failingTests := write("failing_test.yml", strings.ReplaceAll(mustRead(t, unitTests), "value: 42", "value: 41"))

	t.Run("CheckRules accepts good rules", func(t *testing.T) {
		promtest.CheckRules(t, good)
	})
	t.Run("CheckRules fails the test with promtool's complaint about bad ones", func(t *testing.T) {
		ft := runFake(t, func(ft *fakeTB) { promtest.CheckRules(ft, bad) })
		require.True(t, ft.failed)
		require.Contains(t, ft.msg, "promtool check rules")
		require.Contains(t, ft.msg, "unclosed left parenthesis")
	})
	t.Run("TestRules passes passing rule tests", func(t *testing.T) {
		promtest.TestRules(t, unitTests)
	})
	t.Run("TestRules fails the test on failing rule tests", func(t *testing.T) {
		ft := runFake(t, func(ft *fakeTB) { promtest.TestRules(ft, failingTests) })
		require.True(t, ft.failed)
		require.Contains(t, ft.msg, "FAILED")
		require.Contains(t, ft.msg, `exp: {__name__="promtest:answer"} 4.1E+01`)
	})
	t.Run("Promtool returns the output and the exit status", func(t *testing.T) {
		out, err := promtest.Promtool(t, "check", "rules", bad)
		var exit *exec.ExitError
		require.ErrorAs(t, err, &exit)
		require.Equal(t, 1, exit.ExitCode())
		require.Contains(t, out, "unclosed left parenthesis")
	})
	t.Run("Amtool checks an Alertmanager configuration", func(t *testing.T) {
		out, err := promtest.Amtool(t, "check-config", write("am.yml", promtest.DefaultAlertmanagerConfig))
		require.NoError(t, err, out)
		out, err = promtest.Amtool(t, "check-config", write("bad-am.yml", "route:\n  receiver: nowhere\n"))
		require.Error(t, err)
		require.Contains(t, out, `undefined receiver "nowhere"`)
	})
}

func mustRead(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	return string(b)
}

// fakeTB records what a harness function does to its test instead of doing
// it: Fatalf and Skipf end the function, as they would a test.
type fakeTB struct {
	testing.TB
	failed, skipped bool
	msg             string
}

func (f *fakeTB) Helper() {}

func (f *fakeTB) Fatalf(format string, args ...any) {
	f.failed, f.msg = true, fmt.Sprintf(format, args...)
	runtime.Goexit()
}

func (f *fakeTB) Skipf(format string, args ...any) {
	f.skipped, f.msg = true, fmt.Sprintf(format, args...)
	runtime.Goexit()
}

// runFake runs use with a fakeTB around t, on a goroutine of its own, which
// Fatalf and Skipf may end.
func runFake(t *testing.T, use func(ft *fakeTB)) *fakeTB {
	t.Helper()
	ft := &fakeTB{TB: t}
	done := make(chan struct{})
	go func() {
		defer close(done)
		use(ft)
	}()
	<-done
	return ft
}

// childEnv makes the test binary, started again by
// TestServerDiesWithTheTestBinary, start a server and wait to be killed.
const childEnv = "PROMTEST_CHILD"

func TestServerDiesWithTheTestBinary(t *testing.T) {
	if os.Getenv(childEnv) == "1" {
		dir, err := os.MkdirTemp("", "promtest-child-")
		if err != nil {
			fmt.Println("error", err)
			os.Exit(1)
		}
		p, err := promtest.NewPrometheus(context.Background(), dir, promtest.PrometheusOptions{})
		if err != nil {
			fmt.Println("error", err)
			os.Exit(1)
		}
		fmt.Println("server", p.Pid(), dir)
		select {} // until killed
	}
	if os.Getenv(promtest.SkipEnv) == "1" {
		t.Skipf("%s=1", promtest.SkipEnv)
	}

	childproc.RequireDiesWithTestBinary(t, "TestServerDiesWithTheTestBinary", childEnv, waitTimeout)
}

func TestStopStopsTheServer(t *testing.T) {
	am := promtest.StartAlertmanager(t, promtest.AlertmanagerOptions{})
	require.NoError(t, am.Stop())
	require.False(t, childproc.Alive(am.Pid()))
	require.NoError(t, am.Stop(), "a second Stop (the test's cleanup) is harmless")
	select {
	case err := <-am.Crashed():
		t.Fatalf("Stop is not a crash: %v", err)
	default:
	}
}

func TestAServerThatDiesByItselfIsReported(t *testing.T) {
	p := promtest.StartPrometheus(t, promtest.PrometheusOptions{})
	require.NoError(t, syscall.Kill(p.Pid(), syscall.SIGKILL))
	select {
	case err := <-p.Crashed():
		require.ErrorContains(t, err, "prometheus exited by itself (signal: killed)")
		require.ErrorContains(t, err, "prometheus.log")
	case <-time.After(waitTimeout):
		t.Fatalf("a killed Prometheus was not reported within %s", waitTimeout)
	}
}

func TestSecuredServersAreReachedOverTLSWithTheirCredentials(t *testing.T) {
	sw := promtest.NewSecureWeb(t)
	ctx := t.Context()
	for _, tc := range []struct {
		name  string
		start func(t *testing.T) (url string, reload func(context.Context) error)
	}{
		{"prometheus", func(t *testing.T) (string, func(context.Context) error) {
			p := promtest.StartPrometheus(t, sw.Prometheus(promtest.PrometheusOptions{}))
			_, err := p.API().Buildinfo(ctx)
			require.NoError(t, err, "the harness's API client passes")
			return p.URL(), p.Reload
		}},
		{"alertmanager", func(t *testing.T) (string, func(context.Context) error) {
			am := promtest.StartAlertmanager(t, sw.Alertmanager(promtest.AlertmanagerOptions{}))
			_, err := am.Client().Alert.GetAlerts(amalert.NewGetAlertsParamsWithContext(ctx))
			require.NoError(t, err, "the harness's API client passes")
			return am.URL(), am.Reload
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			url, reload := tc.start(t)
			require.True(t, strings.HasPrefix(url, "https://127.0.0.1:"), url)
			require.NoError(t, reload(ctx))

			get := func(client *http.Client, user, password string) (int, error) {
				req, err := http.NewRequestWithContext(ctx, http.MethodGet, url+"/-/ready", http.NoBody)
				require.NoError(t, err)
				if user != "" {
					req.SetBasicAuth(user, password)
				}
				resp, err := client.Do(req)
				if err != nil {
					return 0, err
				}
				require.NoError(t, resp.Body.Close())
				return resp.StatusCode, nil
			}
			trusting := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: sw.RootCAs, MinVersion: tls.VersionTLS12}}}
			code, err := get(trusting, sw.Username, sw.Password)
			require.NoError(t, err)
			require.Equal(t, http.StatusOK, code)
			code, err = get(trusting, sw.Username, sw.Password+"x")
			require.NoError(t, err)
			require.Equal(t, http.StatusUnauthorized, code, "a wrong password is refused")
			_, err = get(&http.Client{}, sw.Username, sw.Password)
			require.ErrorContains(t, err, "certificate signed by unknown authority", "the system's roots do not trust it")
		})
	}
}
