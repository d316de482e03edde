package cli_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/steadywatch/steadywatch/cli"
)

func TestCheckArgs(t *testing.T) {
	for _, tc := range []struct {
		name, want string
		args       []string
	}{
		{name: "a verdict with its files and Prometheus is accepted", args: []string{
			"verdict", "-f", "/hypotheses", "--hypothesis", "checkout", "--prometheus", "http://prometheus:9090", "--timeout", "5m",
		}},
		{name: "a flag verdict does not have is refused", want: "flag provided but not defined: -prom", args: []string{
			"verdict", "-f", "/hypotheses", "--prom", "http://prometheus:9090",
		}},
		{name: "a verdict without Prometheus is refused", want: "--prometheus: the Prometheus URL is required", args: []string{
			"verdict", "-f", "/hypotheses",
		}},
		{name: "a verdict with a bad --output is refused", want: `--output: "yaml" is not one of table, json`, args: []string{
			"verdict", "-f", "/h", "--prometheus", "http://p:9090", "--output", "yaml",
		}},
		{name: "a command that cannot be checked is refused", want: `"serve": only verdict's command lines can be checked`, args: []string{
			"serve",
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := cli.CheckArgs(tc.args)
			if tc.want == "" {
				require.NoError(t, err)
				return
			}
			require.EqualError(t, err, tc.want)
		})
	}
}
