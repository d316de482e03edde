package demo

import (
	"errors"
	"log/slog"
	"testing"
	"time"

	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/rulefmt"
	"github.com/prometheus/prometheus/promql/parser"
	"github.com/stretchr/testify/require"
)

// TestTeamRulesLoadAsPrometheusLoadsThem checks the team's rules as
// Prometheus reads a rule file, the `for` durations scaled, and that a
// broken run leaves out exactly the latency alert.
func TestTeamRulesLoadAsPrometheusLoadsThem(t *testing.T) {
	scaled := func(d time.Duration) time.Duration { return d / 20 }
	alerts := map[bool][]string{}
	for _, withLatency := range []bool{true, false} {
		groups, errs := rulefmt.Parse([]byte(teamRules(scaled, withLatency)), false, model.LegacyValidation, parser.NewParser(parser.Options{}), slog.New(slog.DiscardHandler))
		require.NoError(t, errors.Join(errs...))
		for _, r := range groups.Groups[0].Rules {
			alerts[withLatency] = append(alerts[withLatency], r.Alert)
			if r.Alert == "KubeNodeNotReady" {
				require.Equal(t, model.Duration(45*time.Second), r.For, "kube-prometheus' 15m, scaled")
				require.Contains(t, r.Expr, "kube_node_status_condition", "the node label joins it to the node's incident")
			}
		}
	}
	require.Equal(t, []string{"PostgresReplicaDown", "KubeNodeNotReady", "ScaleAppHighLatency"}, alerts[true])
	require.Equal(t, []string{"PostgresReplicaDown", "KubeNodeNotReady"}, alerts[false])
}
