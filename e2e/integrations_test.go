package e2e

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic"
	"sigs.k8s.io/yaml"
)

// installCRDsFor installs the CRDs of file as installCRDs does, and
// deletes at the end of the test those it installed, so that a later test
// that wants them absent (the experiment watcher's) finds them absent.
func installCRDsFor(t *testing.T, dyn dynamic.Interface, file string) {
	t.Helper()
	data, err := os.ReadFile(file)
	require.NoError(t, err)
	for doc := range strings.SplitSeq(string(data), "\n---") {
		j, err := yaml.YAMLToJSON([]byte(doc))
		require.NoError(t, err)
		crd := &unstructured.Unstructured{}
		if strings.TrimSpace(string(j)) == "null" || crd.UnmarshalJSON(j) != nil || crd.GetName() == "" {
			continue
		}
		_, err = dyn.Resource(crdGVR).Get(t.Context(), crd.GetName(), metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			name := crd.GetName()
			t.Cleanup(func() {
				// t.Context() is done by the time cleanups run.
				err := dyn.Resource(crdGVR).Delete(context.Background(), name, metav1.DeleteOptions{})
				if err != nil && !apierrors.IsNotFound(err) {
					t.Errorf("deleting CRD %s: %v", name, err)
				}
			})
		} else {
			require.NoError(t, err)
		}
	}
	installCRDs(t, dyn, file)
}

// dryRun creates the object of an example file with a server-side dry run
// and strict field validation: the apiserver checks it against the CRD's
// schema, unknown fields included, and keeps nothing.
func dryRun(t *testing.T, dyn dynamic.Interface, gvr schema.GroupVersionResource, obj *unstructured.Unstructured) error {
	t.Helper()
	_, err := dyn.Resource(gvr).Namespace(obj.GetNamespace()).Create(t.Context(), obj, metav1.CreateOptions{
		DryRun: []string{metav1.DryRunAll}, FieldValidation: metav1.FieldValidationStrict,
	})
	return err
}

func readExample(t *testing.T, name string) *unstructured.Unstructured {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("..", "examples", "integrations", name))
	require.NoError(t, err)
	j, err := yaml.YAMLToJSON(data)
	require.NoError(t, err)
	obj := &unstructured.Unstructured{}
	require.NoError(t, obj.UnmarshalJSON(j))
	return obj
}

func TestIntegrationExamplesDryRun(t *testing.T) {
	b := needBed(t)
	dyn := dynamic.NewForConfigOrDie(b.RESTConfig())
	namespace(t, "pipeline")
	installCRDsFor(t, dyn, filepath.Join("testdata", "chaos-crds", "litmus", "chaos_crds.yaml"))
	installCRDsFor(t, dyn, filepath.Join("testdata", "argo-crds", "rollouts", "analysis-template-crd.yaml"))
	installCRDsFor(t, dyn, filepath.Join("testdata", "chaos-crds", "chaos-mesh", "crds.yaml"))

	engines := schema.GroupVersionResource{Group: "litmuschaos.io", Version: "v1alpha1", Resource: "chaosengines"}
	templates := schema.GroupVersionResource{Group: "argoproj.io", Version: "v1alpha1", Resource: "analysistemplates"}
	t.Run("the Argo Workflow's PodChaos", func(t *testing.T) {
		// The Workflow CRD is not in testdata (see its README): the chaos
		// the workflow creates is checked instead.
		wf := readExample(t, "argo-workflow.yaml")
		templates, _, err := unstructured.NestedSlice(wf.Object, "spec", "templates")
		require.NoError(t, err)
		var manifest string
		for _, tmpl := range templates {
			if m, ok, _ := unstructured.NestedString(tmpl.(map[string]any), "resource", "manifest"); ok {
				manifest = m
			}
		}
		j, err := yaml.YAMLToJSON([]byte(manifest))
		require.NoError(t, err)
		obj := &unstructured.Unstructured{}
		require.NoError(t, obj.UnmarshalJSON(j))
		require.Equal(t, "PodChaos", obj.GetKind())
		podChaos := schema.GroupVersionResource{Group: "chaos-mesh.org", Version: "v1alpha1", Resource: "podchaos"}
		require.NoError(t, dryRun(t, dyn, podChaos, obj))
	})

	for _, ex := range []struct {
		file string
		gvr  schema.GroupVersionResource
		// misspell breaks the object in a way its schema rejects, with
		// rejected in the apiserver's answer.
		misspell func(obj map[string]any)
		rejected string
	}{
		// ChaosEngine's spec keeps unknown fields
		// (x-kubernetes-preserve-unknown-fields), so a misspelled key
		// passes the apiserver (examples/integrations checks the keys
		// against this schema): break a pattern instead.
		{"litmus-chaosengine.yaml", engines, func(obj map[string]any) {
			// Not NestedSlice: it returns a copy.
			exp := obj["spec"].(map[string]any)["experiments"].([]any)[0].(map[string]any)
			p := exp["spec"].(map[string]any)["probe"].([]any)[1].(map[string]any)
			p["type"] = "cmdprobe"
		}, "spec.experiments[0].spec.probe[1].type"},
		{"argo-rollouts-prometheus.yaml", templates, func(obj map[string]any) {
			m := obj["spec"].(map[string]any)["metrics"].([]any)[0].(map[string]any)
			m["successCondtion"] = m["successCondition"]
		}, `unknown field "spec.metrics[0].successCondtion"`},
		{"argo-rollouts-web.yaml", templates, func(obj map[string]any) {
			web := obj["spec"].(map[string]any)["metrics"].([]any)[0].(map[string]any)["provider"].(map[string]any)["web"].(map[string]any)
			web["jsonpath"] = web["jsonPath"]
		}, `unknown field "spec.metrics[0].provider.web.jsonpath"`},
	} {
		t.Run(ex.file, func(t *testing.T) {
			require.NoError(t, dryRun(t, dyn, ex.gvr, readExample(t, ex.file)))

			// The premise: the schema is checked, so a misspelled field fails.
			bad := readExample(t, ex.file)
			ex.misspell(bad.Object)
			err := dryRun(t, dyn, ex.gvr, bad)
			require.Error(t, err)
			require.Contains(t, err.Error(), ex.rejected)
		})
	}
}
