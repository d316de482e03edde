// Package argotypes decodes the Argo Workflows example of
// examples/integrations into Argo Workflows' own Go types. It is a module
// of its own so that Argo's module (v4.0.5, with its dependencies) never
// enters steadywatch's: the Workflow CRD with a schema is 842 KB and not
// to be had here to dry-run against, so its types are the check.
package argotypes

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	wfv1 "github.com/argoproj/argo-workflows/v4/pkg/apis/workflow/v1alpha1"
	kjson "sigs.k8s.io/json"
	"sigs.k8s.io/yaml"
)

// decode reads a Workflow strictly, as the apiserver's strict field
// validation does (sigs.k8s.io/json): a key Argo's types do not have, in
// any case but its own (encoding/json would take entryPoint for
// entrypoint), or twice, is an error.
func decode(data []byte) (*wfv1.Workflow, error) {
	j, err := yaml.YAMLToJSON(data)
	if err != nil {
		return nil, err
	}
	var wf wfv1.Workflow
	strict, err := kjson.UnmarshalStrict(j, &wf, kjson.DisallowDuplicateFields, kjson.DisallowUnknownFields)
	if err != nil {
		return nil, err
	}
	if len(strict) > 0 {
		return nil, errors.Join(strict...)
	}
	return &wf, nil
}

func TestTheWorkflowExampleDecodesIntoArgosTypes(t *testing.T) {
	data, err := os.ReadFile(filepath.Join("..", "argo-workflow.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	wf, err := decode(data)
	if err != nil {
		t.Fatalf("argo-workflow.yaml: %v", err)
	}
	if wf.Kind != "Workflow" || wf.APIVersion != "argoproj.io/v1alpha1" {
		t.Fatalf("kind %s, apiVersion %s", wf.Kind, wf.APIVersion)
	}
	templates := map[string]*wfv1.Template{}
	for i := range wf.Spec.Templates {
		templates[wf.Spec.Templates[i].Name] = &wf.Spec.Templates[i]
	}
	if templates[wf.Spec.Entrypoint] == nil {
		t.Fatalf("entrypoint %q names no template", wf.Spec.Entrypoint)
	}
	// Every step runs a template of the Workflow.
	steps := 0
	for _, tmpl := range wf.Spec.Templates {
		for _, group := range tmpl.Steps {
			for _, s := range group.Steps {
				steps++
				if templates[s.Template] == nil {
					t.Errorf("template %s, step %s: template %q is not in the Workflow", tmpl.Name, s.Name, s.Template)
				}
			}
		}
	}
	if steps != 3 {
		t.Errorf("%d steps, want the kill, the wait and the gate", steps)
	}
	// The gate: steadywatch verdict in a container, retried on exit 2 only.
	gate := templates["verdict"]
	if gate == nil || gate.Container == nil {
		t.Fatal("no verdict template running a container")
	}
	if len(gate.Container.Args) == 0 || gate.Container.Args[0] != "verdict" {
		t.Errorf("the gate runs %v, want steadywatch verdict", gate.Container.Args)
	}
	rs := gate.RetryStrategy
	if rs == nil || rs.Limit == nil || rs.Limit.IntValue() != 2 || rs.Expression != "asInt(lastRetry.exitCode) == 2" {
		t.Errorf("retry strategy %+v, want 2 retries on exit code 2", rs)
	}
	kill := templates["kill-replica"]
	if kill == nil || kill.Resource == nil || kill.Resource.Action != "create" || !strings.Contains(kill.Resource.Manifest, "kind: PodChaos") {
		t.Errorf("kill-replica: want a resource template creating the PodChaos")
	}
	if wait := templates["recover"]; wait == nil || wait.Suspend == nil || wait.Suspend.Duration != "16m" {
		t.Errorf("recover: want a 16m suspend, past the hypothesis's 15-minute window")
	}
}

// The check fails on what a user gets wrong: a misspelled key anywhere, a
// value of the wrong type.
func TestAMistakeInTheWorkflowIsRefused(t *testing.T) {
	data, err := os.ReadFile(filepath.Join("..", "argo-workflow.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct{ name, old, new string }{
		{"a misspelled spec key", "  entrypoint: experiment", "  entryPoint: experiment"},
		{"a misspelled retry key", "        retryPolicy: Always", "        retry_policy: Always"},
		{"a misspelled container key", "        volumeMounts:", "        volumeMount:"},
		{"a list where a map belongs", `      suspend:
        duration: "16m"`, `      suspend:
        - duration: "16m"`},
	} {
		t.Run(c.name, func(t *testing.T) {
			broken := strings.Replace(string(data), c.old, c.new, 1)
			if broken == string(data) {
				t.Fatalf("the example has no %q to break", c.old)
			}
			if _, err := decode([]byte(broken)); err == nil {
				t.Errorf("accepted with %q", c.new)
			}
		})
	}
}
