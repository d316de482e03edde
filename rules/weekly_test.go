package rules

import (
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/rulefmt"
	"github.com/stretchr/testify/require"

	"github.com/steadywatch/steadywatch/config"
	"github.com/steadywatch/steadywatch/contract"
)

func weeklyGroup(t *testing.T) rulefmt.RuleGroup {
	t.Helper()
	groups, err := Groups(config.Default(), nil, Options{})
	require.NoError(t, err)
	for _, g := range groups {
		if g.Name == WeeklyGroup {
			return g
		}
	}
	t.Fatalf("no group %s", WeeklyGroup)
	return rulefmt.RuleGroup{}
}

var (
	sumBy       = regexp.MustCompile(`^sum by \(([^)]*)\)`)
	increaseWin = regexp.MustCompile(`increase\([^\[]+\[(\w+)\]\)`)
)

// The weekly records tile time only if every increase spans the group's
// interval; and their names say what they hold, level:metric:operation,
// the level being the labels they keep besides the cluster (which every
// record keeps, so that the names stay those of one cluster).
func TestWeeklyRecordsTileTheirGroupsInterval(t *testing.T) {
	g := weeklyGroup(t)
	require.Equal(t, model.Duration(WeeklyInterval), g.Interval)
	require.Len(t, g.Rules, 11)
	for _, r := range g.Rules {
		t.Run(r.Record, func(t *testing.T) {
			level, metric, op, ok := cutRecord(r.Record)
			require.True(t, ok, "not level:metric:operation")
			require.True(t, strings.HasPrefix(metric, "steadywatch_"), metric)
			require.Equal(t, "increase"+duration(WeeklyInterval), op)

			by := sumBy.FindStringSubmatch(r.Expr)
			require.NotNil(t, by, r.Expr)
			kept, ok := strings.CutPrefix(by[1], contract.LabelCluster+", ")
			require.True(t, ok, "every record keeps the cluster first: %s", by[1])
			require.Equal(t, level, strings.ReplaceAll(kept, ", ", "_"), "the level names the labels kept besides the cluster")

			windows := increaseWin.FindAllStringSubmatch(r.Expr, -1)
			require.NotEmpty(t, windows)
			for _, w := range windows {
				d, err := model.ParseDuration(w[1])
				require.NoError(t, err)
				require.Equal(t, WeeklyInterval, time.Duration(d))
			}
			require.Contains(t, r.Expr, "["+duration(weeklyBirthLookback)+"] offset "+duration(WeeklyInterval))
		})
	}
}

func cutRecord(name string) (level, metric, op string, ok bool) {
	parts := strings.Split(name, ":")
	if len(parts) != 3 {
		return "", "", "", false
	}
	return parts[0], parts[1], parts[2], true
}

// The failures-only records leave the autoscaler's kinds out, as the
// report's SEVs do; the detector observes failures only.
func TestWeeklyIncidentRecordsAreFailuresOnly(t *testing.T) {
	for _, r := range weeklyGroup(t).Rules {
		switch r.Record {
		case WeeklyIncidentsRecovered, WeeklyRecoveryCount, WeeklyRecoverySum:
			require.Contains(t, r.Expr, `kind=~"pod_deleted|node_not_ready|workload_degraded|container_restarted"`, r.Record)
			require.NotContains(t, r.Expr, "hpa", r.Record)
		}
	}
}
