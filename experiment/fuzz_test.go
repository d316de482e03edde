package experiment_test

import (
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/yaml"

	"github.com/steadywatch/steadywatch/experiment"
)

// The tools' objects are written by other controllers, or by hand: whatever
// they hold, reading them never panics, and a Chaos Mesh experiment read
// without error never ends before it starts.
func FuzzFromObjects(f *testing.F) {
	for _, doc := range []string{
		engine(completedPass),
		result("web-chaos-pod-delete", "pod-delete", "2026-03-01T10:00:12Z", greenResult),
		podKill + "status:\n\texperiment:\n\t\tdesiredPhase: Stop\n\t\tcontainerRecords:\n\t\t- {id: a, events: [{type: Succeeded, operation: Apply, timestamp: \"2026-03-01T10:00:02Z\"}]}\n",
		`{"kind":"PodChaos","status":{"conditions":[{"type":"AllRecovered","status":"True"}],"experiment":{"containerRecords":[{"events":[{"type":"Succeeded","operation":"Recover","timestamp":"2026-03-01T10:00:01Z"},{"type":"Succeeded","operation":"Apply","timestamp":"2026-03-01T10:00:02Z"}]}]}}}`,
		`{"kind":"ChaosEngine","status":{"experiments":[{"name":1}]}}`,
	} {
		j, err := yaml.YAMLToJSON([]byte(tabs(doc)))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(j)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		u := &unstructured.Unstructured{}
		if err := u.UnmarshalJSON(data); err != nil {
			return
		}
		_, _ = experiment.FromLitmus(u, []*unstructured.Unstructured{u})
		x, err := experiment.FromChaosMesh(u)
		if err == nil && !x.Running() && x.End.Before(x.Start) {
			t.Fatalf("ends at %s before it starts at %s", x.End, x.Start)
		}
	})
}
