package promtest

import (
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/steadywatch/steadywatch/internal/testenv/childproc"
)

func TestPrometheusConfig(t *testing.T) {
	const rulesDir = "/tmp/x/rules"
	tests := []struct {
		name    string
		o       PrometheusOptions
		want    string
		wantErr string
	}{
		{
			name: "an empty config is the default one, scraping the server itself",
			want: `global:
  scrape_interval: 1s
  evaluation_interval: 1s
scrape_configs:
  - job_name: prometheus
    static_configs:
      - targets: ['127.0.0.1:9999']
rule_files:
  - /tmp/x/rules/*
`,
		},
		{
			name: "the caller's rule files and comments are kept",
			o:    PrometheusOptions{Config: "# mine\nrule_files:\n  - /etc/mine.yml # too\n"},
			want: "# mine\nrule_files:\n  - /etc/mine.yml # too\n  - /tmp/x/rules/*\n",
		},
		{
			name: "an empty rule_files is filled",
			o:    PrometheusOptions{Config: "rule_files:\n"},
			want: "rule_files:\n  - /tmp/x/rules/*\n",
		},
		{
			name: "Alertmanagers are added after the caller's",
			o: PrometheusOptions{
				Config:        "alerting:\n  alertmanagers:\n    - static_configs:\n        - targets: [am:9093]\n",
				Alertmanagers: []string{"127.0.0.1:1", "127.0.0.1:2"},
			},
			want: `alerting:
  alertmanagers:
    - static_configs:
        - targets: ['am:9093']
    - static_configs:
        - targets: ['127.0.0.1:1', '127.0.0.1:2']
rule_files:
  - /tmp/x/rules/*
`,
		},
		{
			name: "SelfAddr is replaced everywhere",
			o:    PrometheusOptions{Config: "scrape_configs:\n  - job_name: me\n    static_configs: [{targets: [PROMTEST_SELF]}]\n"},
			want: "scrape_configs:\n  - job_name: me\n    static_configs: [{targets: ['127.0.0.1:9999']}]\nrule_files:\n  - /tmp/x/rules/*\n",
		},
		{
			name:    "a rule_files that is not a list is an error",
			o:       PrometheusOptions{Config: "rule_files: /etc/mine.yml\n"},
			wantErr: "prometheus configuration: rule_files: want a list",
		},
		{
			name:    "alerting that is not a mapping is an error",
			o:       PrometheusOptions{Config: "alerting: []\n", Alertmanagers: []string{"127.0.0.1:1"}},
			wantErr: "prometheus configuration: alerting: want a mapping",
		},
		{
			name:    "a config that is not a mapping is an error",
			o:       PrometheusOptions{Config: "- a\n"},
			wantErr: "prometheus configuration: want a YAML mapping",
		},
		{
			name:    "invalid YAML is an error",
			o:       PrometheusOptions{Config: "global: [\n"},
			wantErr: "prometheus configuration: yaml: line 1: did not find expected node content",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := prometheusConfig(tt.o, "127.0.0.1:9999", rulesDir)
			if tt.wantErr != "" {
				require.EqualError(t, err, tt.wantErr)
				return
			}
			require.NoError(t, err)
			require.Equal(t, tt.want, got)
		})
	}
}

func TestLookBinary(t *testing.T) {
	dir := t.TempDir()
	t.Run("a missing binary says which package to install", func(t *testing.T) {
		_, err := lookBinary([]string{"steadywatch-no-such-server", "steadywatch-nor-this"}, dir)
		require.ErrorIs(t, err, ErrNotInstalled)
		require.ErrorContains(t, err, "steadywatch-no-such-server or steadywatch-nor-this not installed (looked on PATH and in "+dir+")")
		require.ErrorContains(t, err, "apt-get install prometheus prometheus-alertmanager")
		require.ErrorContains(t, err, SkipEnv+"=1")
	})
	t.Run("a binary off PATH is found in the fallback directories", func(t *testing.T) {
		want := filepath.Join(dir, "steadywatch-off-path")
		require.NoError(t, os.WriteFile(want, []byte("#!/bin/sh\n"), 0o755)) //nolint:gosec // an executable
		got, err := lookBinary([]string{"steadywatch-off-path"}, "/nonexistent", dir)
		require.NoError(t, err)
		require.Equal(t, want, got)
	})
	t.Run("a file that is not executable is not a binary", func(t *testing.T) {
		require.NoError(t, os.WriteFile(filepath.Join(dir, "steadywatch-not-exec"), nil, 0o644))
		_, err := lookBinary([]string{"steadywatch-not-exec"}, dir)
		require.ErrorIs(t, err, ErrNotInstalled)
	})
}

// Not parallel: it replaces pickPort.
func TestAPortTakenByAnotherServerIsRetried(t *testing.T) {
	if os.Getenv(SkipEnv) == "1" {
		t.Skipf("%s=1", SkipEnv)
	}
	// Another server, which answers anything, took the port first: its
	// answers must not pass for Alertmanager's.
	other := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	defer other.Close()
	takenPort := other.Listener.Addr().(*net.TCPAddr).Port

	var picked []int
	pickPort = func(ctx context.Context) (int, error) {
		port, err := childproc.FreePort(ctx)
		if len(picked) == 0 {
			port = takenPort
		}
		picked = append(picked, port)
		return port, err
	}
	t.Cleanup(func() { pickPort = childproc.FreePort })

	am := StartAlertmanager(t, AlertmanagerOptions{})
	require.Len(t, picked, 2, "one retry")
	require.Equal(t, takenPort, picked[0])
	require.Equal(t, net.JoinHostPort("127.0.0.1", strconv.Itoa(picked[1])), am.Addr)
}

func TestCheckBinariesNamesEveryMissingOneAndHowToInstall(t *testing.T) {
	empty := t.TempDir()
	t.Setenv("PATH", empty)
	err := checkBinaries(empty)
	require.ErrorIs(t, err, ErrNotInstalled)
	require.EqualError(t, err, "prometheus, promtool, prometheus-alertmanager or alertmanager not installed (looked on PATH and in "+empty+
		"): install Debian's packages with `sudo apt-get install prometheus prometheus-alertmanager`, or run `sudo scripts/install-tools.sh`")

	// One of them present: only the others are named.
	bin := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(bin, "alertmanager"), []byte("#!/bin/sh\n"), 0o755)) //nolint:gosec // an executable
	err = checkBinaries(bin)
	require.ErrorContains(t, err, "prometheus, promtool not installed")

	for _, name := range []string{"prometheus", "promtool"} {
		require.NoError(t, os.WriteFile(filepath.Join(bin, name), []byte("#!/bin/sh\n"), 0o755)) //nolint:gosec // an executable
	}
	require.NoError(t, checkBinaries(bin))
}
