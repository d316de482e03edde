// Package test checks the Helm chart in deploy/helm/steadywatch through the
// Helm SDK: it lints, renders as intended for each set of values, refuses
// the values it must, and renders the same objects as steadywatch generate
// kubernetes. A module of its own, so that the SDK's k8s.io versions do not
// become the main module's.
package test

import (
	"context"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	"helm.sh/helm/v4/pkg/action"
	"helm.sh/helm/v4/pkg/chart/common"
	"helm.sh/helm/v4/pkg/chart/v2/loader"
	kubefake "helm.sh/helm/v4/pkg/kube/fake"
	release "helm.sh/helm/v4/pkg/release/v1"
	releaseutil "helm.sh/helm/v4/pkg/release/v1/util"
	"helm.sh/helm/v4/pkg/storage"
	"helm.sh/helm/v4/pkg/storage/driver"
	"sigs.k8s.io/yaml"
)

// repo is the repository's root; chartDir the chart.
var (
	repo     = filepath.Join("..", "..", "..")
	chartDir = filepath.Join("..", "steadywatch")
)

// object is a rendered manifest, decoded as the API server would see it.
type object map[string]any

func (o object) kind() string {
	k, _ := o["kind"].(string)
	return k
}

func (o object) name() string {
	n, _ := o.meta()["name"].(string)
	return n
}

func (o object) meta() map[string]any {
	m, _ := o["metadata"].(map[string]any)
	return m
}

// key names an object as kind/namespace/name.
func (o object) key() string {
	ns, _ := o.meta()["namespace"].(string)
	return o.kind() + "/" + ns + "/" + o.name()
}

// get walks a path of map keys and slice indexes.
func (o object) get(t *testing.T, path ...any) any {
	t.Helper()
	var cur any = map[string]any(o)
	for i, p := range path {
		switch k := p.(type) {
		case string:
			m, ok := cur.(map[string]any)
			require.Truef(t, ok, "%s: %v is not a map at %v", o.key(), path[:i], cur)
			cur = m[k]
		case int:
			s, ok := cur.([]any)
			require.Truef(t, ok, "%s: %v is not a list", o.key(), path[:i])
			require.Lessf(t, k, len(s), "%s: %v has %d items", o.key(), path[:i], len(s))
			cur = s[k]
		}
	}
	return cur
}

// render renders the chart as release "steadywatch" in namespace with vals
// on top of values.yaml, as helm template does.
func render(t *testing.T, namespace string, vals map[string]any) ([]object, error) {
	t.Helper()
	return renderNamed(t, "steadywatch", namespace, vals)
}

func renderNamed(t *testing.T, name, namespace string, vals map[string]any) ([]object, error) {
	t.Helper()
	ch, err := loader.Load(chartDir)
	require.NoError(t, err)
	cfg := action.NewConfiguration()
	cfg.Releases = storage.Init(driver.NewMemory())
	cfg.KubeClient = &kubefake.PrintingKubeClient{Out: io.Discard, LogOutput: io.Discard}
	cfg.Capabilities = common.DefaultCapabilities
	install := action.NewInstall(cfg)
	install.DryRunStrategy = action.DryRunClient
	install.ReleaseName = name
	install.Namespace = namespace
	install.Replace = true
	rel, err := install.RunWithContext(context.Background(), ch, vals)
	if err != nil {
		return nil, err
	}
	r, ok := rel.(*release.Release)
	require.True(t, ok, "a v1 release")
	return decode(t, r.Manifest), nil
}

// mustRender renders and fails the test on an error.
func mustRender(t *testing.T, vals map[string]any) map[string]object {
	t.Helper()
	objs, err := render(t, "monitoring", vals)
	require.NoError(t, err)
	return byKind(t, objs)
}

// byKind indexes objects by kind/name, failing on a duplicate.
func byKind(t *testing.T, objs []object) map[string]object {
	t.Helper()
	out := map[string]object{}
	for _, o := range objs {
		k := o.kind() + "/" + o.name()
		if ns, _ := o.meta()["namespace"].(string); ns != "" && ns != "monitoring" {
			k = o.kind() + "/" + ns + "/" + o.name()
		}
		_, dup := out[k]
		require.Falsef(t, dup, "two objects %s", k)
		out[k] = o
	}
	return out
}

// decode splits a multi-document manifest and decodes each document.
func decode(t *testing.T, manifest string) []object {
	t.Helper()
	docs := releaseutil.SplitManifests(manifest)
	keys := make([]string, 0, len(docs))
	for k := range docs {
		keys = append(keys, k)
	}
	sort.Sort(releaseutil.BySplitManifestsOrder(keys))
	var out []object
	for _, k := range keys {
		var o object
		require.NoError(t, yaml.Unmarshal([]byte(docs[k]), &o), docs[k])
		if o == nil {
			continue
		}
		out = append(out, o)
	}
	return out
}

// decodeFile decodes the documents of a YAML file.
func decodeFile(t *testing.T, path string) []object {
	t.Helper()
	data, err := os.ReadFile(path)
	require.NoError(t, err)
	var out []object
	for doc := range strings.SplitSeq(string(data), "\n---\n") {
		var o object
		require.NoError(t, yaml.Unmarshal([]byte(doc), &o), doc)
		if o != nil {
			out = append(out, o)
		}
	}
	return out
}

func kinds(objs map[string]object) []string {
	out := make([]string, 0, len(objs))
	for k := range objs {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
