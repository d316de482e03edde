package config

import (
	"math"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/common/model"
	"github.com/stretchr/testify/require"
)

func TestTheDefaultConfigurationIsValid(t *testing.T) {
	c := Default()
	require.NoError(t, c.Validate())
	require.Equal(t, "127.0.0.1:9477", c.Listen)
	require.Equal(t, "./data", c.DataDir)
	require.InDelta(t, float32(50), c.Kubernetes.QPS, 0)
	require.Equal(t, 100, c.Kubernetes.Burst)
	require.Equal(t, model.Duration(30*time.Second), c.Kubernetes.Timeout)
	require.Equal(t, "app.kubernetes.io/name", c.Watch.ServiceLabel)
	require.Equal(t, "steadywatch.io/group", c.Watch.GroupLabel)
	require.Equal(t, "control", c.Watch.ControlValue)
	require.Equal(t, "experimental", c.Watch.ExperimentalValue)
	require.Zero(t, c.Watch.Resync)
	require.Equal(t, model.Duration(10*time.Second), c.Watch.CheckpointInterval)
}

func TestValidateAcceptsValuesSetProgrammatically(t *testing.T) {
	for _, tc := range []struct {
		name string
		set  func(*Config)
	}{
		{"listening on every interface is fine", func(c *Config) { c.Listen = ":9477" }},
		{"listening on an IPv6 address is fine", func(c *Config) { c.Listen = "[::1]:0" }},
		{"the highest port is fine", func(c *Config) { c.Listen = "localhost:65535" }},
		{"a tiny qps is fine", func(c *Config) { c.Kubernetes.QPS = 0.001 }},
		{"a burst of one is fine", func(c *Config) { c.Kubernetes.Burst = 1 }},
		{"a resync period is fine", func(c *Config) { c.Watch.Resync = model.Duration(time.Hour) }},
		{"set-based selectors are fine", func(c *Config) { c.Watch.Selector = "tier in (a,b),!canary,env!=prod" }},
		{"a prefixed group label is fine", func(c *Config) { c.Watch.GroupLabel = "chaos.example.com/group" }},
		{"an allow-list of services is fine", func(c *Config) { c.Watch.Services = []string{"cart", "Checkout_2"} }},
		{"an empty list of namespaces is fine", func(c *Config) { c.Watch.Namespaces = []string{} }},
		{"a cluster name is fine", func(c *Config) { c.Cluster = "prod-eu-1" }},
		{"a cluster name of 63 characters is fine", func(c *Config) { c.Cluster = strings.Repeat("a", 63) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := Default()
			tc.set(&c)
			require.NoError(t, c.Validate())
		})
	}
}

func TestValidateNamesTheFieldOfValuesSetProgrammaticallyWithoutALine(t *testing.T) {
	for _, tc := range []struct {
		name string
		set  func(*Config)
		want string
	}{
		{
			"a zero qps is rejected",
			func(c *Config) { c.Kubernetes.QPS = 0 },
			"kubernetes.qps: must be a number greater than 0, got 0",
		},
		{
			"a NaN qps is rejected",
			func(c *Config) { c.Kubernetes.QPS = float32(math.NaN()) },
			"kubernetes.qps: must be a number greater than 0, got NaN",
		},
		{
			"a negative burst is rejected",
			func(c *Config) { c.Kubernetes.Burst = -1 },
			"kubernetes.burst: must be at least 1, got -1",
		},
		{
			"a negative timeout is rejected",
			func(c *Config) { c.Kubernetes.Timeout = model.Duration(-time.Second) },
			"kubernetes.timeout: must be greater than 0, got -1s",
		},
		{
			"an empty listen address is rejected",
			func(c *Config) { c.Listen = "" },
			"listen: must not be empty",
		},
		{
			"a listen address with too many colons is rejected",
			func(c *Config) { c.Listen = "::1:80" },
			`listen: "::1:80" is not a valid host:port address: too many colons in address`,
		},
		{
			"a named port is rejected",
			func(c *Config) { c.Listen = "localhost:http" },
			`listen: invalid port "http" in "localhost:http": must be a number between 0 and 65535`,
		},
		{
			"an empty port is rejected",
			func(c *Config) { c.Listen = "localhost:" },
			`listen: invalid port "" in "localhost:": must be a number between 0 and 65535`,
		},
		{
			"a signed port is rejected",
			func(c *Config) { c.Listen = "localhost:+80" },
			`listen: invalid port "+80" in "localhost:+80": must be a number between 0 and 65535`,
		},
		{
			"a cluster name with an upper-case letter is rejected",
			func(c *Config) { c.Cluster = "Prod-eu" },
			`cluster: "Prod-eu" is not a valid cluster name: a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')`,
		},
		{
			"a cluster name of 64 characters is rejected",
			func(c *Config) { c.Cluster = strings.Repeat("a", 64) },
			`cluster: "` + strings.Repeat("a", 64) + `" is not a valid cluster name: must be no more than 63 characters`,
		},
		{
			"an empty data directory is rejected",
			func(c *Config) { c.DataDir = "" },
			"data_dir: must not be empty",
		},
		{
			"an empty namespace is rejected",
			func(c *Config) { c.Watch.Namespaces = []string{""} },
			`watch.namespaces[0]: "" is not a valid namespace name: a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')`,
		},
		{
			"a namespace longer than 63 characters is rejected",
			func(c *Config) { c.Watch.Namespaces = []string{"shop", strings.Repeat("a", 64)} },
			`watch.namespaces[1]: "` + strings.Repeat("a", 64) + `" is not a valid namespace name: must be no more than 63 characters`,
		},
		{
			"a duplicate namespace is rejected",
			func(c *Config) { c.Watch.Namespaces = []string{"a", "b", "b"} },
			`watch.namespaces[2]: duplicate namespace "b" (also watch.namespaces[1])`,
		},
		{
			"a bad selector from a flag is rejected",
			func(c *Config) { c.Watch.Selector = "app=" + strings.Repeat("x", 64) },
			`watch.selector: unable to parse requirement: values[0][app]: Invalid value: "` + strings.Repeat("x", 64) + `": must be no more than 63 bytes`,
		},
		{
			"a bad node selector from a flag is rejected",
			func(c *Config) { c.Watch.NodeSelector = "a b" },
			"watch.node_selector: unable to parse requirement: found 'b', expected: in, notin, =, ==, !=, gt, lt",
		},
		{
			"an empty service label is rejected",
			func(c *Config) { c.Watch.ServiceLabel = "" },
			`watch.service_label: "" is not a valid label key: name part must be non-empty; name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')`,
		},
		{
			"a group label with an empty prefix is rejected",
			func(c *Config) { c.Watch.GroupLabel = "/group" },
			`watch.group_label: "/group" is not a valid label key: prefix part must be non-empty`,
		},
		{
			"equal service and group labels are rejected",
			func(c *Config) { c.Watch.GroupLabel = c.Watch.ServiceLabel },
			`watch.group_label: must differ from watch.service_label (both are "app.kubernetes.io/name")`,
		},
		{
			"an empty control value is rejected",
			func(c *Config) { c.Watch.ControlValue = "" },
			"watch.control_value: must not be empty",
		},
		{
			"an experimental value longer than a label value is rejected",
			func(c *Config) { c.Watch.ExperimentalValue = strings.Repeat("e", 64) },
			`watch.experimental_value: "` + strings.Repeat("e", 64) + `" is not a valid label value: must be no more than 63 bytes`,
		},
		{
			"equal control and experimental values are rejected",
			func(c *Config) { c.Watch.ExperimentalValue = "control" },
			`watch.experimental_value: must differ from watch.control_value (both are "control")`,
		},
		{
			"an empty service in the allow-list is rejected",
			func(c *Config) { c.Watch.Services = []string{"cart", ""} },
			"watch.services[1]: must not be empty",
		},
		{
			"a service that is not a label value is rejected",
			func(c *Config) { c.Watch.Services = []string{"my cart"} },
			`watch.services[0]: "my cart" is not a valid label value: a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', regex used for validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')`,
		},
		{
			"a negative resync period is rejected",
			func(c *Config) { c.Watch.Resync = model.Duration(-time.Minute) },
			"watch.resync: must not be negative, got -1m",
		},
		{
			"a negative checkpoint interval is rejected",
			func(c *Config) { c.Watch.CheckpointInterval = model.Duration(-time.Second) },
			"watch.checkpoint_interval: must be greater than 0, got -1s",
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := Default()
			tc.set(&c)
			err := c.Validate()
			require.EqualError(t, err, tc.want)
			var cerr *Error
			require.ErrorAs(t, err, &cerr)
			require.Zero(t, cerr.Line)
			require.Empty(t, cerr.File)
			require.Equal(t, tc.want, cerr.Path+": "+cerr.Err.Error())
		})
	}
}

func TestValidateReportsTheFirstProblemInFieldOrder(t *testing.T) {
	c := Default()
	c.Watch.CheckpointInterval = 0
	c.Watch.Selector = "("
	c.Listen = "nowhere"
	c.Kubernetes.Burst = 0
	require.EqualError(t, c.Validate(), "kubernetes.burst: must be at least 1, got 0")
	c.Kubernetes.Burst = 1
	require.EqualError(t, c.Validate(), `listen: "nowhere" is not a valid host:port address: missing port in address`)
	c.Listen = ":0"
	require.ErrorContains(t, c.Validate(), "watch.selector: ")
	c.Watch.Selector = ""
	require.EqualError(t, c.Validate(), "watch.checkpoint_interval: must be greater than 0, got 0s")
}

func TestGroupClassifiesLabelValues(t *testing.T) {
	c := Default()
	c.Watch.ControlValue = "baseline"
	c.Watch.ExperimentalValue = "chaos"
	for _, tc := range []struct {
		name  string
		value string
		want  string
	}{
		{"the control value is the control group", "baseline", GroupControl},
		{"the experimental value is the experimental group", "chaos", GroupExperimental},
		{"another value is no group", "control", GroupNone},
		{"a value differing only in case is no group", "Baseline", GroupNone},
		{"a missing label is no group", "", GroupNone},
	} {
		t.Run(tc.name, func(t *testing.T) {
			require.Equal(t, tc.want, c.Group(tc.value))
		})
	}
	require.Equal(t, "control", GroupControl)
	require.Equal(t, "experimental", GroupExperimental)
	require.Equal(t, "none", GroupNone)
}

func TestServiceSanitisesAndFiltersLabelValues(t *testing.T) {
	all := Default()
	listed := Default()
	listed.Watch.Services = []string{"cart", "checkout"}
	long := strings.Repeat("é", 70)
	for _, tc := range []struct {
		name  string
		c     Config
		value string
		want  string
	}{
		{"a service is kept without an allow-list", all, "frontend", "frontend"},
		{"an empty value stays empty", all, "", ""},
		{"an empty value stays empty with an allow-list", listed, "", ""},
		{"a listed service is kept", listed, "cart", "cart"},
		{"an unlisted service is other", listed, "frontend", ServiceOther},
		{"invalid UTF-8 is replaced", all, "ca\xffrt", "ca\uFFFDrt"},
		{"a long value is cut to 63 runes", all, long, strings.Repeat("é", 63)},
		{"a value of exactly 63 runes is kept", all, strings.Repeat("é", 63), strings.Repeat("é", 63)},
		{"a long unlisted value is other", listed, long, ServiceOther},
	} {
		t.Run(tc.name, func(t *testing.T) {
			require.Equal(t, tc.want, tc.c.Service(tc.value))
		})
	}
}
