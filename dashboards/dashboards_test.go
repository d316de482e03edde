package dashboards_test

import (
	"bytes"
	"encoding/json"
	"flag"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/stretchr/testify/require"
	"go.yaml.in/yaml/v3"

	"github.com/steadywatch/steadywatch/config"
	"github.com/steadywatch/steadywatch/dashboards"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/golden")

const goldenDir = "testdata/golden"

var allFiles = []string{
	dashboards.ExperimentConfigMap, dashboards.ExperimentJSON,
	dashboards.ReliabilityConfigMap, dashboards.ReliabilityJSON,
	dashboards.WeeklyConfigMap, dashboards.WeeklyJSON,
}

func TestGeneratedFilesMatchGoldenFiles(t *testing.T) {
	files, err := dashboards.Generate(goldenOptions(t))
	require.NoError(t, err)
	require.Equal(t, allFiles, slices.Sorted(maps.Keys(files)))
	if *update {
		require.NoError(t, os.RemoveAll(goldenDir))
		require.NoError(t, dashboards.Write(goldenDir, files))
	}
	for _, name := range allFiles {
		want, err := os.ReadFile(filepath.Join(goldenDir, name))
		require.NoError(t, err, "run go test ./dashboards -update")
		require.Equal(t, string(want), string(files[name]), "%s differs: run go test ./dashboards -update and review the diff", name)
	}
}

func TestGenerateIsDeterministic(t *testing.T) {
	first, err := dashboards.Generate(goldenOptions(t))
	require.NoError(t, err)
	for range 5 {
		again, err := dashboards.Generate(goldenOptions(t))
		require.NoError(t, err)
		require.Equal(t, first, again)
	}
}

func TestConfigMapsHoldTheDashboardsForTheSidecar(t *testing.T) {
	for _, tc := range []struct {
		cm, json string
	}{
		{dashboards.ExperimentConfigMap, dashboards.ExperimentJSON},
		{dashboards.ReliabilityConfigMap, dashboards.ReliabilityJSON},
		{dashboards.WeeklyConfigMap, dashboards.WeeklyJSON},
	} {
		t.Run(tc.cm, func(t *testing.T) {
			t.Run("with a namespace and folder", func(t *testing.T) {
				files, err := dashboards.Generate(goldenOptions(t))
				require.NoError(t, err)
				var cm struct {
					APIVersion string `yaml:"apiVersion"`
					Kind       string `yaml:"kind"`
					Metadata   struct {
						Name        string            `yaml:"name"`
						Namespace   string            `yaml:"namespace"`
						Labels      map[string]string `yaml:"labels"`
						Annotations map[string]string `yaml:"annotations"`
					} `yaml:"metadata"`
					Data map[string]string `yaml:"data"`
				}
				dec := yaml.NewDecoder(bytes.NewReader(files[tc.cm]))
				dec.KnownFields(true)
				require.NoError(t, dec.Decode(&cm))
				require.Equal(t, "v1", cm.APIVersion)
				require.Equal(t, "ConfigMap", cm.Kind)
				require.Equal(t, "monitoring", cm.Metadata.Namespace)
				require.Equal(t, "1", cm.Metadata.Labels[dashboards.SidecarLabel])
				require.Equal(t, map[string]string{dashboards.FolderAnnotation: "steadywatch"}, cm.Metadata.Annotations)
				require.Len(t, cm.Data, 1)
				require.JSONEq(t, string(files[tc.json]), cm.Data[tc.json])
				require.NotContains(t, cm.Data[tc.json], "\n", "compact, to stay small for kubectl apply")
			})
			t.Run("without", func(t *testing.T) {
				files, err := dashboards.Generate(dashboards.Options{Config: config.Default()})
				require.NoError(t, err)
				require.NotContains(t, string(files[tc.cm]), "namespace:")
				require.NotContains(t, string(files[tc.cm]), "annotations:")
			})
		})
	}
}

func TestExperimentDashboardHasARowPerHypothesis(t *testing.T) {
	o := goldenOptions(t)
	files, err := dashboards.Generate(o)
	require.NoError(t, err)
	d := decode(t, files[dashboards.ExperimentJSON])

	var rows []string
	for _, p := range d["panels"].([]any) {
		if pm := p.(map[string]any); pm["type"] == "row" {
			rows = append(rows, pm["title"].(string))
		}
	}
	want := []string{"Overview"}
	for _, h := range o.Hypotheses {
		want = append(want, h.Name+": "+h.Description)
	}
	require.Equal(t, want, rows)

	// Each compared metric has its two groups and its effect; a metric
	// judged only by its SLO has no effect panel.
	titles := map[string]bool{}
	for _, p := range panels(d) {
		titles[p["title"].(string)] = true
	}
	require.True(t, titles["postgres-replication-lag: control vs experimental"])
	require.False(t, titles["postgres-replication-lag: effect"])
	require.True(t, titles["postgres-commits: effect"])

	var variables []string
	for _, v := range d["templating"].(map[string]any)["list"].([]any) {
		variables = append(variables, v.(map[string]any)["name"].(string))
	}
	require.Equal(t, []string{"datasource", "cluster", "hypothesis", "service", "group"}, variables)
}

// Panel ids are unique and the grid has no overlapping panels, so Grafana
// lays the dashboards out as generated.
func TestPanelsHaveUniqueIDsAndDoNotOverlap(t *testing.T) {
	for name, o := range cases(t) {
		t.Run(name, func(t *testing.T) {
			files, err := dashboards.Generate(o)
			require.NoError(t, err)
			for _, file := range dashboardFiles {
				var d struct {
					Panels []struct {
						ID      int    `json:"id"`
						Type    string `json:"type"`
						Title   string `json:"title"`
						GridPos struct{ H, W, X, Y int }
					} `json:"panels"`
				}
				require.NoError(t, json.Unmarshal(files[file], &d))
				ids := map[int]bool{}
				taken := map[[2]int]string{}
				for _, p := range d.Panels {
					require.False(t, ids[p.ID], "%s: id %d twice", file, p.ID)
					ids[p.ID] = true
					require.LessOrEqual(t, p.GridPos.X+p.GridPos.W, 24, "%s: %q", file, p.Title)
					for y := p.GridPos.Y; y < p.GridPos.Y+p.GridPos.H; y++ {
						for x := p.GridPos.X; x < p.GridPos.X+p.GridPos.W; x++ {
							other, ok := taken[[2]int{x, y}]
							require.False(t, ok, "%s: %q overlaps %q", file, p.Title, other)
							taken[[2]int{x, y}] = p.Title
						}
					}
				}
			}
		})
	}
}

func TestServiceVariableFollowsTheAllowList(t *testing.T) {
	service := func(o dashboards.Options) map[string]any {
		files, err := dashboards.Generate(o)
		require.NoError(t, err)
		d := decode(t, files[dashboards.ReliabilityJSON])
		for _, v := range d["templating"].(map[string]any)["list"].([]any) {
			if vm := v.(map[string]any); vm["name"] == "service" {
				return vm
			}
		}
		t.Fatal("no service variable")
		return nil
	}
	listed := service(goldenOptions(t))
	require.Equal(t, "custom", listed["type"])
	require.Equal(t, "postgres,scale-app,other", listed["query"])

	seen := service(dashboards.Options{Config: config.Default()})
	require.Equal(t, "query", seen["type"])
	require.Equal(t, `label_values(steadywatch_chaos_events_total{cluster=~"$cluster"}, service)`, seen["query"], "the services of the clusters chosen")
}

func TestWriteCreatesTheFiles(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "out")
	files := map[string][]byte{"a.json": []byte("{}\n"), "b.yaml": []byte("x: 1\n")}
	require.NoError(t, dashboards.Write(dir, files))
	for name, want := range files {
		got, err := os.ReadFile(filepath.Join(dir, name))
		require.NoError(t, err)
		require.Equal(t, want, got)
	}
}

func TestTooManyHypothesesForAConfigMapAreAnError(t *testing.T) {
	o := goldenOptions(t)
	for range 40 {
		o.Hypotheses = append(o.Hypotheses, examples(t)...)
	}
	_, err := dashboards.Generate(o)
	require.ErrorContains(t, err, "more than a ConfigMap holds")
}
