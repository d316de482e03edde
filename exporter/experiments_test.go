package exporter_test

import (
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil/promlint"
	"github.com/stretchr/testify/require"

	"github.com/steadywatch/steadywatch/experiment"
	"github.com/steadywatch/steadywatch/exporter"
)

type watching []experiment.Resource

func (w watching) Watching() []experiment.Resource { return w }

// Each chaos tool's resource is exported, watched or not, so that a user
// sees whether the CRDs were found; the counts of each tool start at 0 and
// a tool the store would refuse is not counted.
func TestExperimentMetricsAreExportedPerToolAndResource(t *testing.T) {
	reg := prometheus.NewRegistry()
	m := exporter.NewExperimentMetrics(reg)
	reg.MustRegister(exporter.NewExperimentResourcesCollector(watching{experiment.Resources[2], experiment.ChaosEngines}))
	m.Recorded(experiment.ChaosMesh)
	m.Recorded(experiment.ChaosMesh)
	m.Recorded("gremlin")
	m.SaveError()
	p := &pipeline{reg: reg}
	p.requireExposition(t, `
# HELP steadywatch_experiments_recorded_total Readings of chaos experiments (a start, each change, the end) saved to the store, by tool (litmus, chaos-mesh).
# TYPE steadywatch_experiments_recorded_total counter
steadywatch_experiments_recorded_total{tool="chaos-mesh"} 2
steadywatch_experiments_recorded_total{tool="litmus"} 0
# HELP steadywatch_experiment_save_errors_total Failed attempts to save a reading of a chaos experiment to the store; the latest reading of each experiment is kept and retried.
# TYPE steadywatch_experiment_save_errors_total counter
steadywatch_experiment_save_errors_total 1
# HELP steadywatch_experiment_resources_watched Whether a chaos tool's resource (podchaos.chaos-mesh.org, chaosengines.litmuschaos.io…) is watched (1) or not (0): not served by the cluster (yet), or this serve does not lead.
# TYPE steadywatch_experiment_resources_watched gauge
steadywatch_experiment_resources_watched{resource="chaosengines.litmuschaos.io"} 1
steadywatch_experiment_resources_watched{resource="chaosresults.litmuschaos.io"} 0
steadywatch_experiment_resources_watched{resource="iochaos.chaos-mesh.org"} 0
steadywatch_experiment_resources_watched{resource="networkchaos.chaos-mesh.org"} 0
steadywatch_experiment_resources_watched{resource="podchaos.chaos-mesh.org"} 1
steadywatch_experiment_resources_watched{resource="stresschaos.chaos-mesh.org"} 0
steadywatch_experiment_resources_watched{resource="timechaos.chaos-mesh.org"} 0
`)
	mfs, err := reg.Gather()
	require.NoError(t, err)
	problems, err := promlint.NewWithMetricFamilies(mfs).Lint()
	require.NoError(t, err)
	require.Empty(t, problems)
}
