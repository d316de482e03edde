package config

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	promconfig "github.com/prometheus/common/config"
	"github.com/prometheus/common/model"
	"github.com/stretchr/testify/require"

	"github.com/steadywatch/steadywatch/internal/yamlnode"
)

func TestParseReadsEveryFieldOfTheGoodFile(t *testing.T) {
	got, err := Load(filepath.Join("testdata", "good.yml"))
	require.NoError(t, err)
	want := Config{
		Kubernetes: Kubernetes{
			Kubeconfig: "/etc/steadywatch/kubeconfig",
			Context:    "chaos-lab",
			QPS:        25.5,
			Burst:      40,
			Timeout:    model.Duration(time.Minute),
			LeaderElection: LeaderElection{
				Enabled: true, Namespace: "chaos", LeaseName: "steadywatch-lab", Identity: "sw-0",
				LeaseDuration: model.Duration(20 * time.Second), RenewDeadline: model.Duration(12 * time.Second),
				RetryPeriod: model.Duration(3 * time.Second),
			},
		},
		Listen:  "0.0.0.0:9100",
		DataDir: "/var/lib/steadywatch",
		Watch: Watch{
			Namespaces:         []string{"shop", "payments"},
			Selector:           "tier in (frontend, backend),!canary",
			NodeSelector:       "node-role.kubernetes.io/worker=",
			ServiceLabel:       "app",
			GroupLabel:         "example.com/chaos-group",
			ControlValue:       "baseline",
			ExperimentalValue:  "canary",
			Services:           []string{"cart", "checkout", "frontend"},
			Resync:             model.Duration(5 * time.Minute),
			CheckpointInterval: model.Duration(24 * time.Hour),
			HealthTolerance:    model.Duration(30 * time.Second),
		},
		Cluster: "prod-eu-1",
		Store:   "postgres://steadywatch@db.example.com:5432/steadywatch",
		Web: Web{
			ConfigFile: "/etc/steadywatch/web.yml", BearerTokenFile: "/etc/steadywatch/tokens.yml",
			ReadTimeout: model.Duration(10 * time.Second), WriteTimeout: model.Duration(20 * time.Second),
			IdleTimeout: model.Duration(2 * time.Minute), MaxConnections: 2048, EnableLifecycle: true,
		},
		Alerts: Alerts{
			MaxBodyBytes:     2 << 20,
			MaxBytesInFlight: 32 << 20,
			ServiceLabels:    []string{"svc"},
			NamespaceLabels:  []string{"ns", "kube_namespace"},
			GroupLabels:      []string{"chaos_group"},
			NodeLabels:       []string{"hostname"},
			SeverityLabel:    "priority",
			Detection:        Detection{Window: model.Duration(15 * time.Minute), Grace: model.Duration(time.Minute), AfterRecovery: model.Duration(30 * time.Second), From: DetectFromReceived},
			Pull: Pull{
				AlertmanagerURL: "https://alertmanager.example.com:9093", Interval: model.Duration(time.Minute),
				BasicAuth: BasicAuth{Username: "steadywatch", PasswordFile: "/etc/steadywatch/am-password"},
				TLS: TLS{
					CAFile: "/etc/steadywatch/ca.crt", CertFile: "/etc/steadywatch/client.crt", KeyFile: "/etc/steadywatch/client.key",
					ServerName: "alertmanager.internal", InsecureSkipVerify: true,
				},
			},
		},
		Verdicts: Verdicts{
			Hypotheses:    []string{"/etc/steadywatch/hypotheses", "/srv/more.yaml"},
			PrometheusURL: "http://prometheus.monitoring:9090", Interval: model.Duration(time.Minute),
			PrometheusHTTPClient: &HTTPClient{promconfig.HTTPClientConfig{
				BasicAuth: &promconfig.BasicAuth{Username: "steadywatch", PasswordFile: "/etc/steadywatch/prometheus-password"},
				TLSConfig: promconfig.TLSConfig{CAFile: "/etc/steadywatch/prometheus-ca.crt"},
				HTTPHeaders: &promconfig.Headers{Headers: map[string]promconfig.Header{
					"X-Scope-OrgID": {Values: []string{"chaos-lab"}},
				}},
				FollowRedirects: true, EnableHTTP2: true,
			}},
			AbortAlertmanagerURL: "http://alertmanager.monitoring:9093", ScrapeInterval: model.Duration(30 * time.Second),
			AbortAlertmanagerHTTPClient: &HTTPClient{promconfig.HTTPClientConfig{
				Authorization:   &promconfig.Authorization{Type: "Bearer", CredentialsFile: "/etc/steadywatch/am-token"},
				FollowRedirects: false, EnableHTTP2: true,
			}},
		},
		Reports: Reports{
			SeverityLevels: []SeverityLevel{{"page", "SEV1"}, {"ticket", "SEV3"}},
			ChaosLevel:     "SEV3", NoisyWithin: model.Duration(2 * time.Minute), FlapCount: 4,
			Delivery: Delivery{
				Schedule: Schedule{Weekday: "friday", Time: "16:30", TimeZone: "Europe/Berlin"},
				Webhooks: []Webhook{
					{Name: "ops-slack", URL: "https://hooks.slack.com/services/T000/B000/XXXX", Format: WebhookSlack, Link: "https://steadywatch.example.com"},
					{Name: "archive", URL: "http://archive.internal:8080/reports", Format: WebhookJSON, BearerTokenFile: "/etc/steadywatch/archive-token"},
				},
				MinBackoff: model.Duration(10 * time.Second), MaxBackoff: model.Duration(10 * time.Minute),
				MaxAttempts: 12, MaxAge: model.Duration(48 * time.Hour), Timeout: model.Duration(10 * time.Second),
			},
			DetectionBound: model.Duration(90 * time.Second),
		},
	}
	require.Equal(t, want, got)
}

func TestParseFillsWhatTheMinimalFileLeavesOutWithDefaults(t *testing.T) {
	got, err := Load(filepath.Join("testdata", "minimal.yml"))
	require.NoError(t, err)
	want := Default()
	want.Watch.Namespaces = []string{"shop"}
	require.Equal(t, want, got)
}

func TestParseOfAnEmptyDocumentGivesTheDefaults(t *testing.T) {
	for _, tc := range []struct {
		name string
		data string
	}{
		{"an empty file", ""},
		{"a file of blank lines", "\n\n  \n"},
		{"a file of comments", "# nothing to see\n# here\n"},
		{"an explicit empty document", "---\n"},
		{"an explicit empty document with an end marker", "---\n...\n"},
		{"a null document", "~\n"},
		{"a null document spelt out", "null\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Parse([]byte(tc.data), "steadywatch.yml")
			require.NoError(t, err)
			require.Equal(t, Default(), got)
		})
	}
	got, err := Load(filepath.Join("testdata", "empty.yml"))
	require.NoError(t, err)
	require.Equal(t, Default(), got)
}

// invalidFiles maps every testdata/invalid-*.yml file to its exact error.
var invalidFiles = []struct {
	name string
	file string
	want string
}{
	{
		"a byte that is not UTF-8 is rejected at its line and column",
		"invalid-encoding-utf8.yml",
		"testdata/invalid-encoding-utf8.yml:3: column 18: invalid UTF-8 (byte 0xff): the file must be UTF-8",
	},
	{
		"a NUL byte is rejected at its line and column",
		"invalid-nul-byte.yml",
		"testdata/invalid-nul-byte.yml:1: column 23: control character U+0000 is not allowed in YAML",
	},
	{
		"an unknown top-level field is rejected",
		"invalid-unknown-field.yml",
		"testdata/invalid-unknown-field.yml:3: unknown field \"listne\" (did you mean \"listen\"?)",
	},
	{
		"an unknown nested field is rejected with its section",
		"invalid-unknown-nested-field.yml",
		"testdata/invalid-unknown-nested-field.yml:3: watch: unknown field \"selectr\" (did you mean \"selector\"?)",
	},
	{
		"a string where a number is expected is rejected",
		"invalid-wrong-type.yml",
		"testdata/invalid-wrong-type.yml:2: kubernetes.qps: want a number, got !!str `fast`",
	},
	{
		"a string where a list is expected is rejected",
		"invalid-wrong-type-list.yml",
		"testdata/invalid-wrong-type-list.yml:2: watch.namespaces: want a list, got !!str `shop`",
	},
	{
		"a string where a section is expected is rejected",
		"invalid-wrong-type-section.yml",
		"testdata/invalid-wrong-type-section.yml:1: kubernetes: want a mapping, got !!str `in-cluster`",
	},
	{
		"a list as the whole document is rejected",
		"invalid-top-level-list.yml",
		"testdata/invalid-top-level-list.yml:1: want a mapping, got !!seq",
	},
	{
		"a fractional burst is rejected rather than truncated",
		"invalid-fractional-burst.yml",
		"testdata/invalid-fractional-burst.yml:2: kubernetes.burst: want an integer, got !!float `1.5`",
	},
	{
		"a duration without a unit is rejected",
		"invalid-bad-duration.yml",
		`testdata/invalid-bad-duration.yml:2: kubernetes.timeout: not a valid duration string: "30"`,
	},
	{
		"a duration with an unknown unit is rejected",
		"invalid-bad-duration-unit.yml",
		`testdata/invalid-bad-duration-unit.yml:2: watch.checkpoint_interval: unknown unit " seconds" in duration "10 seconds"`,
	},
	{
		"a negative resync period is rejected",
		"invalid-negative-resync.yml",
		`testdata/invalid-negative-resync.yml:2: watch.resync: not a valid duration string: "-1m"`,
	},
	{
		"a negative qps is rejected",
		"invalid-negative-qps.yml",
		"testdata/invalid-negative-qps.yml:2: kubernetes.qps: must be a number greater than 0, got -5",
	},
	{
		"a zero burst is rejected",
		"invalid-zero-burst.yml",
		"testdata/invalid-zero-burst.yml:3: kubernetes.burst: must be at least 1, got 0",
	},
	{
		"a zero timeout is rejected",
		"invalid-zero-timeout.yml",
		"testdata/invalid-zero-timeout.yml:2: kubernetes.timeout: must be greater than 0, got 0s",
	},
	{
		"a listen address without a port is rejected",
		"invalid-listen-missing-port.yml",
		`testdata/invalid-listen-missing-port.yml:1: listen: "localhost" is not a valid host:port address: missing port in address`,
	},
	{
		"a listen port above 65535 is rejected",
		"invalid-listen-bad-port.yml",
		`testdata/invalid-listen-bad-port.yml:1: listen: invalid port "99999" in "[::1]:99999": must be a number between 0 and 65535`,
	},
	{
		"an upper-case cluster name is rejected",
		"invalid-cluster-name.yml",
		`testdata/invalid-cluster-name.yml:1: cluster: "Prod" is not a valid cluster name: a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')`,
	},
	{
		"an empty data directory is rejected",
		"invalid-empty-data-dir.yml",
		"testdata/invalid-empty-data-dir.yml:1: data_dir: must not be empty",
	},
	{
		"a namespace that is not a DNS-1123 label is rejected with its index",
		"invalid-namespace.yml",
		`testdata/invalid-namespace.yml:4: watch.namespaces[1]: "Bad_NS" is not a valid namespace name: ` +
			`a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', ` +
			`and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', ` +
			`regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')`,
	},
	{
		"a namespace listed twice is rejected at its second occurrence",
		"invalid-duplicate-namespace.yml",
		`testdata/invalid-duplicate-namespace.yml:5: watch.namespaces[2]: duplicate namespace "shop" (also watch.namespaces[0])`,
	},
	{
		"an unparsable selector is rejected",
		"invalid-selector.yml",
		`testdata/invalid-selector.yml:2: watch.selector: unable to parse requirement: found '', expected: ',' or ')'`,
	},
	{
		"an unparsable node selector is rejected",
		"invalid-node-selector.yml",
		`testdata/invalid-node-selector.yml:3: watch.node_selector: unable to parse requirement: found 'gpu', expected: in, notin, =, ==, !=, gt, lt`,
	},
	{
		"a label key with a space is rejected",
		"invalid-label-key.yml",
		`testdata/invalid-label-key.yml:2: watch.service_label: "app name" is not a valid label key: ` +
			`name part must consist of alphanumeric characters, '-', '_' or '.', ` +
			`and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', ` +
			`regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')`,
	},
	{
		"the same label for services and groups is rejected",
		"invalid-same-labels.yml",
		`testdata/invalid-same-labels.yml:3: watch.group_label: must differ from watch.service_label (both are "app")`,
	},
	{
		"a control value equal to the experimental value is rejected at the line that set it",
		"invalid-equal-group-values.yml",
		`testdata/invalid-equal-group-values.yml:3: watch.experimental_value: must differ from watch.control_value (both are "experimental")`,
	},
	{
		"a control value that is not a label value is rejected",
		"invalid-control-value.yml",
		`testdata/invalid-control-value.yml:2: watch.control_value: "control group" is not a valid label value: ` +
			`a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', ` +
			`and must start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', ` +
			`regex used for validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')`,
	},
	{
		"an empty experimental value is rejected",
		"invalid-empty-experimental-value.yml",
		"testdata/invalid-empty-experimental-value.yml:2: watch.experimental_value: must not be empty",
	},
	{
		"a service listed twice is rejected",
		"invalid-duplicate-service.yml",
		`testdata/invalid-duplicate-service.yml:4: watch.services[1]: duplicate service "cart" (also watch.services[0])`,
	},
	{
		"two YAML documents are rejected",
		"invalid-two-documents.yml",
		"testdata/invalid-two-documents.yml:2: multiple YAML documents are not allowed",
	},
	{
		"a zero checkpoint interval is rejected",
		"invalid-zero-checkpoint-interval.yml",
		"testdata/invalid-zero-checkpoint-interval.yml:2: watch.checkpoint_interval: must be greater than 0, got 0s",
	},
	{
		"a key given twice is rejected",
		"invalid-duplicate-key.yml",
		`testdata/invalid-duplicate-key.yml:4: watch: mapping key "selector" already defined at line 2`,
	},
	{
		"a YAML syntax error is reported without the yaml prefix",
		"invalid-syntax.yml",
		"testdata/invalid-syntax.yml:1: did not find expected ',' or ']'",
	},
	{
		"a mapping that merges itself is rejected",
		"invalid-merge-itself.yml",
		`testdata/invalid-merge-itself.yml:3: watch: anchor "watch" value contains itself`,
	},
	{
		"a zero webhook body limit is rejected",
		"invalid-zero-max-body.yml",
		"testdata/invalid-zero-max-body.yml:2: alerts.max_body_bytes: must be greater than 0, got 0",
	},
	{
		"a zero idle timeout is rejected",
		"invalid-zero-idle-timeout.yml",
		"testdata/invalid-zero-idle-timeout.yml:2: web.idle_timeout: must be greater than 0, got 0s",
	},
	{
		"a negative connection limit is rejected",
		"invalid-negative-max-connections.yml",
		"testdata/invalid-negative-max-connections.yml:2: web.max_connections: must be greater than 0, got -1",
	},
	{
		"fewer bytes in flight than one body are rejected",
		"invalid-in-flight-below-body.yml",
		"testdata/invalid-in-flight-below-body.yml:3: alerts.max_bytes_in_flight: must be at least alerts.max_body_bytes (2097152), got 1048576",
	},
	{
		"a Kubernetes label key is not an alert label name",
		"invalid-alert-label-name.yml",
		`testdata/invalid-alert-label-name.yml:4: alerts.service_labels[1]: "app.kubernetes.io/name" is not a valid Prometheus label name: want [a-zA-Z_][a-zA-Z0-9_]*`,
	},
	{
		"an alert label listed twice names both places",
		"invalid-duplicate-alert-label.yml",
		`testdata/invalid-duplicate-alert-label.yml:2: alerts.node_labels[1]: duplicate label "node" (also alerts.node_labels[0])`,
	},
	{
		"an empty severity label is rejected",
		"invalid-empty-severity-label.yml",
		"testdata/invalid-empty-severity-label.yml:2: alerts.severity_label: must not be empty",
	},
	{
		"a SEV level not written SEVn is rejected",
		"invalid-reports-level.yml",
		`testdata/invalid-reports-level.yml:4: reports.severity_levels[0].level: "P1" is not a SEV level: want SEV1, SEV2, …`,
	},
	{
		"an abbreviated delivery weekday is rejected with the choices",
		"invalid-delivery-weekday.yml",
		`testdata/invalid-delivery-weekday.yml:4: reports.delivery.schedule.weekday: "mon" is not one of monday, tuesday, wednesday, thursday, friday, saturday, sunday`,
	},
	{
		"a delivery time past 23:59 is rejected",
		"invalid-delivery-time.yml",
		`testdata/invalid-delivery-time.yml:4: reports.delivery.schedule.time: "24:00" is not a time of day HH:MM from 00:00 to 23:59`,
	},
	{
		"an unknown delivery time zone is rejected",
		"invalid-delivery-time-zone.yml",
		`testdata/invalid-delivery-time-zone.yml:4: reports.delivery.schedule.time_zone: "Mars/Olympus" is not a time zone such as UTC, Local or Europe/Berlin`,
	},
	{
		"a webhook URL without a scheme is rejected",
		"invalid-delivery-webhook-url.yml",
		`testdata/invalid-delivery-webhook-url.yml:5: reports.delivery.webhooks[0].url: "hooks.slack.com/services/T000": want an http:// or https:// URL`,
	},
	{
		"a zero detection bound of the reports is rejected",
		"invalid-reports-detection-bound.yml",
		"testdata/invalid-reports-detection-bound.yml:3: reports.detection_bound: must be greater than 0, got 0s",
	},
	{
		"a zero detection window is rejected",
		"invalid-zero-detection-window.yml",
		"testdata/invalid-zero-detection-window.yml:3: alerts.detection.window: must be greater than 0, got 0s",
	},
	{
		"a zero detection grace is rejected",
		"invalid-zero-detection-grace.yml",
		"testdata/invalid-zero-detection-grace.yml:3: alerts.detection.grace: must be greater than 0, got 0s",
	},
	{
		"an unknown detection time is rejected with the choices",
		"invalid-detection-from.yml",
		`testdata/invalid-detection-from.yml:3: alerts.detection.from: "ends_at" is not one of starts_at, received`,
	},
	{
		"an Alertmanager address without a scheme is rejected",
		"invalid-pull-url.yml",
		`testdata/invalid-pull-url.yml:3: alerts.pull.alertmanager_url: "alertmanager:9093": want an http:// or https:// URL`,
	},
	{
		"basic auth and a bearer token for the pull are exclusive",
		"invalid-pull-two-auths.yml",
		"testdata/invalid-pull-two-auths.yml:4: alerts.pull.basic_auth: at most one of basic_auth and bearer_token_file may be set",
	},
	{
		"an HTTP client beside the older pull fields it replaces is rejected",
		"invalid-pull-http-client-and-basic-auth.yml",
		"testdata/invalid-pull-http-client-and-basic-auth.yml:4: alerts.pull.http_client: replaces bearer_token_file, basic_auth and tls: set it alone",
	},
	{
		"a misspelt key of an HTTP client is named at its line, with the field meant",
		"invalid-http-client-unknown-field.yml",
		`testdata/invalid-http-client-unknown-field.yml:5: verdicts.prometheus_http_client.basic_auth: unknown field "usernme" (did you mean "username"?)`,
	},
	{
		"two credentials of one HTTP client are rejected with Prometheus's words",
		"invalid-http-client-two-auths.yml",
		"testdata/invalid-http-client-two-auths.yml:3: verdicts.abort_alertmanager_http_client: at most one of basic_auth, oauth2 & authorization must be configured",
	},
	{
		"a header Prometheus sets itself is refused",
		"invalid-http-client-header.yml",
		`testdata/invalid-http-client-header.yml:4: alerts.pull.http_client: setting header "Authorization" is not allowed`,
	},
	{
		"an HTTP client of the wrong type is rejected",
		"invalid-http-client-wrong-type.yml",
		"testdata/invalid-http-client-wrong-type.yml:3: verdicts.prometheus_http_client: cannot unmarshal !!int `3` into bool",
	},
	{
		"a client certificate without its key is rejected",
		"invalid-pull-cert-without-key.yml",
		"testdata/invalid-pull-cert-without-key.yml:4: alerts.pull.tls.key_file: cert_file and key_file must be set together",
	},
	{
		"hypotheses without a Prometheus to judge them against are rejected",
		"invalid-verdicts-no-prometheus.yml",
		"testdata/invalid-verdicts-no-prometheus.yml:2: verdicts.prometheus_url: must be set to judge verdicts.hypotheses",
	},
	{
		"a zero verdict interval is rejected",
		"invalid-verdicts-interval.yml",
		"testdata/invalid-verdicts-interval.yml:3: verdicts.interval: must be greater than 0, got 0s",
	},
	{
		"an abort Alertmanager without a host is rejected",
		"invalid-verdicts-abort-url.yml",
		`testdata/invalid-verdicts-abort-url.yml:2: verdicts.abort_alertmanager_url: "http://" has no host`,
	},
	{
		"a zero pull interval is rejected",
		"invalid-pull-interval.yml",
		"testdata/invalid-pull-interval.yml:4: alerts.pull.interval: must be greater than 0, got 0s",
	},
	{
		"an unsupported store is rejected with the supported schemes",
		"invalid-store-scheme.yml",
		`testdata/invalid-store-scheme.yml:1: store: unsupported scheme "mysql": want sqlite:// or postgres://`,
	},
}

func TestParseRejectsEachInvalidFileWithItsExactMessage(t *testing.T) {
	for _, tc := range invalidFiles {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join("testdata", tc.file)
			_, err := Load(path)
			require.EqualError(t, err, tc.want)

			var cerr *Error
			require.ErrorAs(t, err, &cerr)
			require.Equal(t, path, cerr.File)
			require.Positive(t, cerr.Line)
		})
	}
}

func TestEveryInvalidFileHasAnExpectedMessage(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("testdata", "invalid-*.yml"))
	require.NoError(t, err)
	tested := make(map[string]bool)
	for _, tc := range invalidFiles {
		require.False(t, tested[tc.file], "%s is tested twice", tc.file)
		tested[tc.file] = true
	}
	require.GreaterOrEqual(t, len(files), 15)
	for _, f := range files {
		require.True(t, tested[filepath.Base(f)], "%s has no test case", f)
	}
	require.Len(t, tested, len(files))
}

func TestParseErrors(t *testing.T) {
	for _, tc := range []struct {
		name string
		data string
		want string
	}{
		{
			"a byte that is not UTF-8 names its line and column",
			"listen: 127.0.0.1:9\xff\n",
			"steadywatch.yml:1: column 20: invalid UTF-8 (byte 0xff): the file must be UTF-8",
		},
		{
			"a NUL byte names its line and column",
			"watch:\n  selector: a=b\x00\n",
			"steadywatch.yml:2: column 16: control character U+0000 is not allowed in YAML",
		},
		{
			"a bad value in a flow mapping names its field",
			"kubernetes: {qps: 5, burst: many}\n",
			"steadywatch.yml:1: kubernetes.burst: want an integer, got !!str `many`",
		},
		{
			"a list where a duration is expected names the duration type",
			"watch:\n  resync: [1m]\n",
			"steadywatch.yml:2: watch.resync: want a duration, got !!seq",
		},
		{
			"a list where a string is expected is rejected",
			"listen: [a, b]\n",
			"steadywatch.yml:1: listen: want a string, got !!seq",
		},
		{
			"a list inside a string list is rejected with its index",
			"watch:\n  services:\n    - cart\n    - [a]\n",
			"steadywatch.yml:4: watch.services[1]: want a string, got !!seq",
		},
		{
			"a null namespace is an empty one",
			"watch:\n  namespaces:\n    - shop\n    -\n",
			`steadywatch.yml:4: watch.namespaces[1]: "" is not a valid namespace name: a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')`,
		},
		{
			"an infinite qps is rejected",
			"kubernetes:\n  qps: .inf\n",
			"steadywatch.yml:2: kubernetes.qps: must be a number greater than 0, got +Inf",
		},
		{
			"a burst too large for an int is rejected",
			"kubernetes:\n  burst: 100000000000000000000\n",
			"steadywatch.yml:2: kubernetes.burst: want an integer, got !!float `1000000...`",
		},
		{
			"a mapping key that is a list is rejected",
			"? [a]\n: 1\n",
			"steadywatch.yml:1: mapping key must be a scalar, not !!seq",
		},
		{
			"an unknown field brought in by a merge is rejected at its own line",
			"kubernetes: &k\n  qps: 3\nwatch:\n  <<: *k\n",
			"steadywatch.yml:2: watch: unknown field \"qps\", want one of namespaces, selector, node_selector, service_label, group_label, control_value, experimental_value, services, resync, checkpoint_interval, health_tolerance",
		},
		{
			"a merge of a scalar is rejected",
			"watch:\n  <<: 5\n",
			"steadywatch.yml:2: watch: map merge requires map or sequence of maps as the value",
		},
		{
			"an unknown anchor is reported without a line",
			"listen: *nowhere\n",
			"steadywatch.yml: unknown anchor 'nowhere' referenced",
		},
		{
			"a second empty document is still a second document",
			"listen: 127.0.0.1:1\n---\n",
			"steadywatch.yml:2: multiple YAML documents are not allowed",
		},
		{
			"a syntax error in a second document is reported",
			"listen: 127.0.0.1:1\n---\n[\n",
			"steadywatch.yml:3: did not find expected node content",
		},
		{
			"a clash of group values set only through the control value points at it",
			"watch:\n  group_label: chaos\n\n  control_value: experimental\n",
			`steadywatch.yml:4: watch.experimental_value: must differ from watch.control_value (both are "experimental")`,
		},
		{
			"an error through an alias points at the alias",
			"watch:\n  selector: &sel 'a in ('\n  node_selector: *sel\n",
			"steadywatch.yml:2: watch.selector: unable to parse requirement: found '', expected: ',', ')' or identifier",
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse([]byte(tc.data), "steadywatch.yml")
			require.EqualError(t, err, tc.want)
			var cerr *Error
			require.ErrorAs(t, err, &cerr)
		})
	}
}

func TestParseWithoutAFilenameNamesOnlyTheLine(t *testing.T) {
	_, err := Parse([]byte("watch:\n  selector: 'a in ('\n"), "")
	require.EqualError(t, err, "line 2: watch.selector: unable to parse requirement: found '', expected: ',', ')' or identifier")
}

func TestParseKeepsDefaultsForNullValues(t *testing.T) {
	data := "kubernetes:\n  qps:\n  timeout: ~\nlisten:\nwatch:\n  namespaces: ~\n  services: []\n  selector: null\n"
	got, err := Parse([]byte(data), "steadywatch.yml")
	require.NoError(t, err)
	require.Equal(t, Default(), got)

	got, err = Parse([]byte("kubernetes:\nwatch:\n"), "steadywatch.yml")
	require.NoError(t, err)
	require.Equal(t, Default(), got)
}

func TestParseFollowsAnchorsAliasesAndMergeKeys(t *testing.T) {
	data := `
kubernetes: &kube
  qps: 10
  burst: 20
watch:
  namespaces: &names [shop, payments]
  services: *names
  <<: [{selector: from-first=1, control_value: first}, {selector: from-second=1, node_selector: from-second=1}]
  control_value: explicit
`
	got, err := Parse([]byte(data), "steadywatch.yml")
	require.NoError(t, err)
	want := Default()
	want.Kubernetes.QPS = 10
	want.Kubernetes.Burst = 20
	want.Watch.Namespaces = []string{"shop", "payments"}
	want.Watch.Services = []string{"shop", "payments"}
	want.Watch.Selector = "from-first=1"      // earlier merged mappings win
	want.Watch.NodeSelector = "from-second=1" // ... but later ones still fill gaps
	want.Watch.ControlValue = "explicit"      // explicit keys win over merged ones
	require.Equal(t, want, got)
}

func TestParseBoundsExponentialMerges(t *testing.T) {
	for _, tc := range []struct {
		name string
		data string
	}{
		{"nested merges that would expand ten billion entries are cut short", func() string {
			// Each mapping merges the previous one ten times.
			var b strings.Builder
			b.WriteString("watch:\n  <<:\n    - &l0 {selector: x=y}\n")
			for i := 1; i <= 10; i++ {
				fmt.Fprintf(&b, "    - &l%d {<<: [%s*l%d]}\n", i, strings.Repeat(fmt.Sprintf("*l%d, ", i-1), 9), i-1)
			}
			return b.String()
		}()},
		{"a merge of twenty thousand aliases is cut short", "watch:\n  <<: [&m {selector: x=y}, " + strings.Repeat("*m, ", 20000) + "*m]\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			start := time.Now()
			_, err := Parse([]byte(tc.data), "steadywatch.yml")
			require.ErrorContains(t, err, "document contains excessive aliasing")
			require.Less(t, time.Since(start), 5*time.Second)
		})
	}
}

func TestLoadReturnsTheErrorOfAMissingFile(t *testing.T) {
	_, err := Load(filepath.Join(t.TempDir(), "nope.yml"))
	require.ErrorIs(t, err, fs.ErrNotExist)
}

func TestTheExampleFileParsesToTheDefaultsPlusItsExamples(t *testing.T) {
	got, err := Load("example.yml")
	require.NoError(t, err)
	want := Default()
	want.Watch.Namespaces = []string{"shop", "payments"}
	want.Watch.Services = []string{"cart", "checkout"}
	want.Alerts.Pull.AlertmanagerURL = "http://127.0.0.1:9093"
	want.Verdicts.Hypotheses = []string{"/etc/steadywatch/hypotheses"}
	want.Verdicts.PrometheusURL = "http://127.0.0.1:9090"
	want.Reports.Delivery.Webhooks = []Webhook{{
		Name: "ops-slack", URL: "https://hooks.slack.com/services/T000/B000/XXXX", Format: WebhookSlack,
		Link: "https://steadywatch.example.com",
	}}
	require.Equal(t, want, got)
}

func TestTheExampleFileSetsEveryField(t *testing.T) {
	data, err := os.ReadFile("example.yml")
	require.NoError(t, err)
	root, err := parseDocument(data, "example.yml")
	require.NoError(t, err)
	cfg := Default()
	d := newDecoder("example.yml")
	require.Nil(t, decode(d, root, "", reflect.ValueOf(&cfg).Elem()))
	lines := d.Lines()
	for _, path := range fieldPaths(reflect.TypeFor[Config](), "") {
		require.Contains(t, lines, path, "example.yml does not set %s", path)
	}
}

func TestTheGoodFileSetsEveryFieldToANonDefaultValue(t *testing.T) {
	got, err := Load(filepath.Join("testdata", "good.yml"))
	require.NoError(t, err)
	def := reflect.ValueOf(Default())
	// Exclusive with a field good.yml sets; read by the test after this one.
	exclusive := map[string]bool{"alerts.pull.bearer_token_file": true, "alerts.pull.http_client": true}
	var walk func(v, d reflect.Value, path string)
	walk = func(v, d reflect.Value, path string) {
		for i := range v.NumField() {
			name, _, _ := strings.Cut(v.Type().Field(i).Tag.Get("yaml"), ",")
			if v.Field(i).Kind() == reflect.Struct && v.Field(i).Type() != reflect.TypeFor[model.Duration]() {
				walk(v.Field(i), d.Field(i), yamlnode.JoinPath(path, name))
				continue
			}
			if exclusive[yamlnode.JoinPath(path, name)] {
				continue
			}
			require.NotEqual(t, d.Field(i).Interface(), v.Field(i).Interface(), "%s has its default value", yamlnode.JoinPath(path, name))
		}
	}
	walk(reflect.ValueOf(got), def, "")
}

func TestThePullReadsABearerTokenFile(t *testing.T) {
	got, err := Parse([]byte("alerts:\n  pull:\n    alertmanager_url: http://am:9093\n    bearer_token_file: /etc/sw/am-token\n"), "steadywatch.yml")
	require.NoError(t, err)
	require.Equal(t, "/etc/sw/am-token", got.Alerts.Pull.BearerTokenFile)
}

// fieldPaths lists the YAML paths of the leaf fields of t.
func fieldPaths(t reflect.Type, prefix string) []string {
	var paths []string
	fields, _ := yamlnode.StructFields(t)
	for name, i := range fields {
		path := yamlnode.JoinPath(prefix, name)
		if ft := t.Field(i).Type; ft.Kind() == reflect.Struct {
			paths = append(paths, fieldPaths(ft, path)...)
		} else {
			paths = append(paths, path)
		}
	}
	return paths
}

func TestErrorMessagesLeaveOutUnknownParts(t *testing.T) {
	inner := errors.New("boom")
	for _, tc := range []struct {
		name string
		err  *Error
		want string
	}{
		{"a full error has every part", &Error{File: "f.yml", Line: 3, Path: "watch.selector", Err: inner}, "f.yml:3: watch.selector: boom"},
		{"an error without a line names the file", &Error{File: "f.yml", Path: "listen", Err: inner}, "f.yml: listen: boom"},
		{"an error without a file names the line", &Error{Line: 3, Err: inner}, "line 3: boom"},
		{"an error without a location names the path", &Error{Path: "listen", Err: inner}, "listen: boom"},
		{"an error without a cause still says something", &Error{Path: "listen"}, "listen: invalid configuration"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			require.EqualError(t, tc.err, tc.want)
		})
	}
	require.ErrorIs(t, &Error{Err: inner}, inner)
}

// The bound on aliasing counts what aliases and merges expand, not what a
// file spells out (issue 13 #11).
func TestParseReadsALongConfigurationWithoutAliases(t *testing.T) {
	var b strings.Builder
	b.WriteString("watch:\n  namespaces:\n")
	for i := range 20000 {
		fmt.Fprintf(&b, "    - ns-%d\n", i)
	}
	cfg, err := Parse([]byte(b.String()), "steadywatch.yml")
	require.NoError(t, err)
	require.Len(t, cfg.Watch.Namespaces, 20000)
}

func TestTheDeliveryIsCheckedOnBothSidesOfEachBound(t *testing.T) {
	const webhook = "    webhooks:\n      - name: %s\n        url: %s\n        format: %s\n"
	for _, tc := range []struct {
		name, yaml, want string
	}{
		{"00:00 is a time of day", "    schedule:\n      time: \"00:00\"\n", ""},
		{"23:59 is a time of day", "    schedule:\n      time: \"23:59\"\n", ""},
		{"24:00 is not", "    schedule:\n      time: \"24:00\"\n", `x.yml:4: reports.delivery.schedule.time: "24:00" is not a time of day HH:MM from 00:00 to 23:59`},
		{"23:60 is not", "    schedule:\n      time: \"23:60\"\n", `x.yml:4: reports.delivery.schedule.time: "23:60" is not a time of day HH:MM from 00:00 to 23:59`},
		{"9:00 is not HH:MM", "    schedule:\n      time: \"9:00\"\n", `x.yml:4: reports.delivery.schedule.time: "9:00" is not a time of day HH:MM from 00:00 to 23:59`},
		{"sunday is a weekday", "    schedule:\n      weekday: sunday\n", ""},
		{"Monday is not spelt so", "    schedule:\n      weekday: Monday\n", `x.yml:4: reports.delivery.schedule.weekday: "Monday" is not one of monday, tuesday, wednesday, thursday, friday, saturday, sunday`},
		{"an empty time zone", "    schedule:\n      time_zone: \"\"\n", `x.yml:4: reports.delivery.schedule.time_zone: "" is not a time zone such as UTC, Local or Europe/Berlin`},
		{"Europe/Berlin is a time zone", "    schedule:\n      time_zone: Europe/Berlin\n", ""},
		{"a name of 63 characters", fmt.Sprintf(webhook, strings.Repeat("a", 63), "http://h", "json"), ""},
		{
			"a name of 64 characters", fmt.Sprintf(webhook, strings.Repeat("a", 64), "http://h", "json"),
			`x.yml:4: reports.delivery.webhooks[0].name: "` + strings.Repeat("a", 64) + `" is not 1 to 63 letters, digits, '.', '_' or '-'`,
		},
		{"an empty name", fmt.Sprintf(webhook, `""`, "http://h", "json"), `x.yml:4: reports.delivery.webhooks[0].name: "" is not 1 to 63 letters, digits, '.', '_' or '-'`},
		{"a name with a slash", fmt.Sprintf(webhook, "a/b", "http://h", "json"), `x.yml:4: reports.delivery.webhooks[0].name: "a/b" is not 1 to 63 letters, digits, '.', '_' or '-'`},
		{
			"a name twice", fmt.Sprintf(webhook, "a", "http://h", "json") + "      - name: a\n        url: http://h\n        format: json\n",
			`x.yml:7: reports.delivery.webhooks[1].name: duplicate name "a" (also reports.delivery.webhooks[0])`,
		},
		{"no URL", "    webhooks:\n      - name: a\n        format: json\n", "x.yml:4: reports.delivery.webhooks[0].url: must be set"},
		{"an ftp URL", fmt.Sprintf(webhook, "a", "ftp://h", "json"), `x.yml:5: reports.delivery.webhooks[0].url: "ftp://h": want an http:// or https:// URL`},
		{"an unknown format", fmt.Sprintf(webhook, "a", "http://h", "teams"), `x.yml:6: reports.delivery.webhooks[0].format: "teams" is not one of slack, json`},
		{"a link without a host", fmt.Sprintf(webhook, "a", "http://h", "slack") + "        link: http://\n", `x.yml:7: reports.delivery.webhooks[0].link: "http://" has no host`},
		{"a zero min_backoff", "    min_backoff: 0s\n", "x.yml:3: reports.delivery.min_backoff: must be greater than 0, got 0s"},
		{"max_backoff at min_backoff", "    min_backoff: 1m\n    max_backoff: 1m\n", ""},
		{"max_backoff below min_backoff", "    min_backoff: 1m\n    max_backoff: 59s\n", "x.yml:4: reports.delivery.max_backoff: must be at least reports.delivery.min_backoff (1m), got 59s"},
		{"max_attempts 0", "    max_attempts: 0\n", ""},
		{"max_attempts -1", "    max_attempts: -1\n", "x.yml:3: reports.delivery.max_attempts: must be at least 0, got -1"},
		{"a zero max_age", "    max_age: 0s\n", "x.yml:3: reports.delivery.max_age: must be greater than 0, got 0s"},
		{"a max_age of 1ms", "    max_age: 1ms\n", ""},
		{"a zero timeout", "    timeout: 0s\n", "x.yml:3: reports.delivery.timeout: must be greater than 0, got 0s"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse([]byte("reports:\n  delivery:\n"+tc.yaml), "x.yml")
			if tc.want == "" {
				require.NoError(t, err)
				return
			}
			require.EqualError(t, err, tc.want)
		})
	}
}

func TestTheReportsDetectionBoundMustBePositive(t *testing.T) {
	for _, tc := range []struct {
		name, value string
		want        model.Duration
		err         string
	}{
		{"the least positive duration is accepted", "1ms", model.Duration(time.Millisecond), ""},
		{"an hour is accepted", "1h", model.Duration(time.Hour), ""},
		{"zero is rejected", "0s", 0, "steadywatch.yml:2: reports.detection_bound: must be greater than 0, got 0s"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Parse([]byte("reports:\n  detection_bound: "+tc.value+"\n"), "steadywatch.yml")
			if tc.err != "" {
				require.EqualError(t, err, tc.err)
				return
			}
			require.NoError(t, err)
			require.Equal(t, tc.want, got.Reports.DetectionBound)
		})
	}
	got, err := Parse(nil, "steadywatch.yml")
	require.NoError(t, err)
	require.Equal(t, model.Duration(5*time.Minute), got.Reports.DetectionBound, "the default")
	_, err = Parse([]byte("reports:\n  detection_bound: -1m\n"), "steadywatch.yml")
	require.ErrorContains(t, err, "steadywatch.yml:2:", "a negative duration is no duration")
}

func TestLeaderElectionNeedsPostgreSQLAndOrderedDurations(t *testing.T) {
	const pg = "store: postgres://sw@db:5432/sw\n"
	for _, tc := range []struct{ name, yaml, want string }{
		{"off with SQLite", "kubernetes:\n  leader_election:\n    enabled: false\n", ""},
		// serve's --store may set it: Validate checks once it is applied.
		{"on with no store yet", "kubernetes:\n  leader_election:\n    enabled: true\n", ""},
		{
			"on with a SQLite URL", "store: sqlite:///var/lib/sw.db\nkubernetes:\n  leader_election:\n    enabled: true\n",
			"x.yml:4: kubernetes.leader_election.enabled: needs a PostgreSQL store (store: postgres://…) that the replicas share; SQLite is one replica's file: run one replica without leader election",
		},
		{"on with PostgreSQL", pg + "kubernetes:\n  leader_election:\n    enabled: true\n", ""},
		{
			"a bad namespace", pg + "kubernetes:\n  leader_election:\n    enabled: true\n    namespace: Ops\n",
			`x.yml:5: kubernetes.leader_election.namespace: "Ops" is not a namespace name: a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')`,
		},
		{
			"an empty lease name", pg + "kubernetes:\n  leader_election:\n    enabled: true\n    lease_name: ''\n",
			"x.yml:5: kubernetes.leader_election.lease_name: must be set",
		},
		{
			"a lease name with a slash", pg + "kubernetes:\n  leader_election:\n    enabled: true\n    lease_name: a/b\n",
			`x.yml:5: kubernetes.leader_election.lease_name: "a/b" is not an object name: a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')`,
		},
		// A leader's last successful renewal may take up to retry_period
		// (serve cuts it then), after which it leads on for up to
		// retry_period + renew_deadline; a follower may take over 1 s
		// before lease_duration (client-go compares the records at second
		// precision).
		{"the defaults, at renew_deadline + 2 × retry_period + 1s", pg + "kubernetes:\n  leader_election:\n    enabled: true\n", ""},
		{
			"lease_duration at renew_deadline + 2 × retry_period + 1s", pg +
				"kubernetes:\n  leader_election:\n    enabled: true\n    lease_duration: 10s\n    renew_deadline: 5s\n    retry_period: 2s\n", "",
		},
		{
			"lease_duration just below renew_deadline + 2 × retry_period + 1s", pg +
				"kubernetes:\n  leader_election:\n    enabled: true\n    lease_duration: 10s\n    renew_deadline: 5001ms\n    retry_period: 2s\n",
			"x.yml:5: kubernetes.leader_election.lease_duration: must be at least renew_deadline + 2 × retry_period + 1s (10s1ms) in whole seconds " +
				"(client-go writes 10s of 10s to the Lease), got 10s: " +
				"a leader that cannot renew leads on for up to renew_deadline + retry_period after its last renewal, which took up to retry_period " +
				"(serve cuts a renewal not through by then), and a follower may take over up to 1s before lease_duration has passed " +
				"(client-go compares the Lease's records to the second): two replicas would lead at once",
		},
		{
			"the defaults but a retry_period 1ms longer", pg +
				"kubernetes:\n  leader_election:\n    enabled: true\n    retry_period: 2001ms\n",
			// No lease_duration line: the error is on leader_election's.
			"x.yml:3: kubernetes.leader_election.lease_duration: must be at least renew_deadline + 2 × retry_period + 1s (15s2ms) in whole seconds " +
				"(client-go writes 15s of 15s to the Lease), got 15s: " +
				"a leader that cannot renew leads on for up to renew_deadline + retry_period after its last renewal, which took up to retry_period " +
				"(serve cuts a renewal not through by then), and a follower may take over up to 1s before lease_duration has passed " +
				"(client-go compares the Lease's records to the second): two replicas would lead at once",
		},
		// client-go writes the lease duration to the Lease in whole
		// seconds, and followers wait that long: 4999ms is 4s.
		{
			"a lease_duration of whole seconds past the bound", pg +
				"kubernetes:\n  leader_election:\n    enabled: true\n    lease_duration: 5s\n    renew_deadline: 1500ms\n    retry_period: 1s\n", "",
		},
		{
			"a lease_duration past the bound that client-go cuts to whole seconds below it", pg +
				"kubernetes:\n  leader_election:\n    enabled: true\n    lease_duration: 4999ms\n    renew_deadline: 1500ms\n    retry_period: 1s\n",
			"x.yml:5: kubernetes.leader_election.lease_duration: must be at least renew_deadline + 2 × retry_period + 1s (4s500ms) in whole seconds " +
				"(client-go writes 4s of 4s999ms to the Lease), got 4s999ms: " +
				"a leader that cannot renew leads on for up to renew_deadline + retry_period after its last renewal, which took up to retry_period " +
				"(serve cuts a renewal not through by then), and a follower may take over up to 1s before lease_duration has passed " +
				"(client-go compares the Lease's records to the second): two replicas would lead at once",
		},
		{
			"renew_deadline at lease_duration", pg + "kubernetes:\n  leader_election:\n    enabled: true\n    lease_duration: 10s\n    renew_deadline: 10s\n",
			"x.yml:6: kubernetes.leader_election.renew_deadline: must be greater than 0 and less than lease_duration (10s), got 10s",
		},
		// client-go refuses renew_deadline <= 1.2 × retry_period (its
		// JitterFactor): 1.2 × 1s is 1200ms.
		{
			"renew_deadline just above 1.2 × retry_period", pg +
				"kubernetes:\n  leader_election:\n    enabled: true\n    renew_deadline: 1201ms\n    retry_period: 1s\n", "",
		},
		{
			"renew_deadline at 1.2 × retry_period", pg +
				"kubernetes:\n  leader_election:\n    enabled: true\n    renew_deadline: 1200ms\n    retry_period: 1s\n",
			"x.yml:6: kubernetes.leader_election.retry_period: must be greater than 0 and less than renew_deadline (1s200ms) / 1.2 " +
				"(client-go's jitter on retries), got 1s",
		},
		{"retry_period just below renew_deadline / 1.2", pg + "kubernetes:\n  leader_election:\n    enabled: true\n    lease_duration: 28s\n    retry_period: 8333ms\n", ""},
		{
			"retry_period just above renew_deadline / 1.2", pg + "kubernetes:\n  leader_election:\n    enabled: true\n    retry_period: 8334ms\n",
			"x.yml:5: kubernetes.leader_election.retry_period: must be greater than 0 and less than renew_deadline (10s) / 1.2 " +
				"(client-go's jitter on retries), got 8s334ms",
		},
		{
			"retry_period at renew_deadline", pg + "kubernetes:\n  leader_election:\n    enabled: true\n    retry_period: 10s\n",
			"x.yml:5: kubernetes.leader_election.retry_period: must be greater than 0 and less than renew_deadline (10s) / 1.2 " +
				"(client-go's jitter on retries), got 10s",
		},
		{
			"a zero lease_duration", pg + "kubernetes:\n  leader_election:\n    enabled: true\n    lease_duration: 0s\n",
			"x.yml:5: kubernetes.leader_election.lease_duration: must be greater than 0, got 0s",
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse([]byte(tc.yaml), "x.yml")
			if tc.want == "" {
				require.NoError(t, err)
				return
			}
			require.EqualError(t, err, tc.want)
		})
	}
}

func TestValidateRefusesLeaderElectionOnTheDefaultSQLiteStore(t *testing.T) {
	cfg := Default()
	cfg.Kubernetes.LeaderElection.Enabled = true
	require.EqualError(t, cfg.Validate(), "kubernetes.leader_election.enabled: needs a PostgreSQL store (store: postgres://…) that the replicas share; "+
		"SQLite is one replica's file: run one replica without leader election")
	cfg.Store = "sqlite:///var/lib/sw.db"
	require.Error(t, cfg.Validate())
	cfg.Store = "postgresql://sw@db/sw"
	require.NoError(t, cfg.Validate())
	cfg.Kubernetes.LeaderElection.Enabled = false
	cfg.Store = ""
	require.NoError(t, cfg.Validate())
}
