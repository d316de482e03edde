package test

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// helmOnly are what only Helm's objects carry: the chart's and release's
// bookkeeping labels, and the checksums that restart the pods when the
// ConfigMaps change.
var helmOnly = []string{"helm.sh/chart", "app.kubernetes.io/managed-by", "app.kubernetes.io/version"}

// normalise drops helmOnly labels and checksum annotations, everywhere
// labels and annotations appear (the object's and its pod template's), and
// the status (generate writes the empty status of a Go object; the API
// server owns it).
func normalise(o object) object {
	delete(o, "status")
	var walk func(v any)
	walk = func(v any) {
		switch v := v.(type) {
		case map[string]any:
			for k, child := range v {
				switch k {
				case "labels":
					if l, ok := child.(map[string]any); ok {
						for _, h := range helmOnly {
							delete(l, h)
						}
					}
				case "annotations":
					if a, ok := child.(map[string]any); ok {
						for name := range a {
							if strings.HasPrefix(name, "checksum/") {
								delete(a, name)
							}
						}
						if len(a) == 0 {
							delete(v, k)
						}
					}
				}
				walk(child)
			}
		case []any:
			for _, child := range v {
				walk(child)
			}
		}
	}
	walk(map[string]any(o))
	return o
}

// chartValues are the chart values for what generate kubernetes takes.
func chartValues(t *testing.T, configFile string, hypotheses map[string]string, image string, port int) map[string]any {
	t.Helper()
	config, err := os.ReadFile(configFile)
	require.NoError(t, err)
	repo, tag, ok := strings.Cut(image, ":")
	require.True(t, ok)
	h := map[string]any{}
	for name, content := range hypotheses {
		h[name] = content
	}
	return map[string]any{
		"image":      map[string]any{"repository": repo, "tag": tag},
		"port":       port,
		"config":     map[string]any{"inline": string(config)},
		"hypotheses": map[string]any{"inline": h},
	}
}

func compare(t *testing.T, generated []object, chart []object) {
	t.Helper()
	want := map[string]object{}
	for _, o := range generated {
		want[o.key()] = normalise(o)
	}
	got := map[string]object{}
	for _, o := range chart {
		got[o.key()] = normalise(o)
	}
	require.ElementsMatch(t, keys(want), keys(got), "the same objects")
	for k, w := range want {
		require.Equal(t, w, got[k], k)
	}
}

func keys(m map[string]object) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	return out
}

// TestTheChartRendersWhatGenerateKubernetesWrites: for the input of
// deploy/generated/kubernetes (scripts/generate.sh: deploy/steadywatch.yml,
// the hypotheses of examples/, namespace monitoring, the default image, the
// configuration's port), which make check-generated keeps equal to what
// steadywatch generate kubernetes writes, the chart's release
// "steadywatch" renders the same objects.
func TestTheChartRendersWhatGenerateKubernetesWrites(t *testing.T) {
	hyps := map[string]string{}
	files, err := filepath.Glob(filepath.Join(repo, "examples", "*.yaml"))
	require.NoError(t, err)
	require.NotEmpty(t, files)
	for _, f := range files {
		data, err := os.ReadFile(f)
		require.NoError(t, err)
		hyps[filepath.Base(f)] = string(data)
	}
	chart, err := render(t, "monitoring",
		chartValues(t, filepath.Join(repo, "deploy", "steadywatch.yml"), hyps, "ghcr.io/steadywatch/steadywatch:latest", 9477))
	require.NoError(t, err)
	compare(t, decodeFile(t, filepath.Join(repo, "deploy", "generated", "kubernetes", "steadywatch.yaml")), chart)
}

// TestTheChartRendersWhatGenerateKubernetesWritesForOtherInput runs
// steadywatch generate kubernetes itself on another namespace, image and
// port, with no hypotheses, without a cluster and with one (--cluster and
// the chart's value cluster), which then is the configuration's.
func TestTheChartRendersWhatGenerateKubernetesWritesForOtherInput(t *testing.T) {
	if testing.Short() {
		t.Skip("builds steadywatch")
	}
	for _, cluster := range []string{"", "eu-west-1"} {
		t.Run("cluster "+cluster, func(t *testing.T) {
			dir := t.TempDir()
			config := filepath.Join(dir, "steadywatch.yml")
			const text = "listen: \":8080\"\nwatch:\n  namespaces: [shop]\n"
			require.NoError(t, os.WriteFile(config, []byte(text), 0o600))
			root, err := filepath.Abs(repo)
			require.NoError(t, err)
			args := []string{
				"run", "./cmd/steadywatch", "generate", "kubernetes", "--config", config,
				"--namespace", "chaos", "--image", "registry.example/sw:v1.2.3", "--out", dir,
			}
			values := chartValues(t, config, nil, "registry.example/sw:v1.2.3", 8080)
			want := text
			if cluster != "" {
				args = append(args, "--cluster", cluster)
				values["cluster"] = cluster
				want = "cluster: " + cluster + "\n" + text
			}
			cmd := exec.CommandContext(t.Context(), "go", args...)
			cmd.Dir = root
			out, err := cmd.CombinedOutput()
			require.NoError(t, err, string(out))

			chart, err := render(t, "chaos", values)
			require.NoError(t, err)
			generated := decodeFile(t, filepath.Join(dir, "steadywatch.yaml"))
			compare(t, generated, chart)
			found := 0
			for _, o := range chart {
				if o.kind() == "ConfigMap" && o.name() == "steadywatch" {
					found++
					require.Equal(t, want, o.get(t, "data", "steadywatch.yml"))
				}
			}
			require.Equal(t, 1, found, "the configuration's ConfigMap")
		})
	}
}
