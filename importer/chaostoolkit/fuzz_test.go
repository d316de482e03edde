package chaostoolkit_test

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/steadywatch/steadywatch/hypothesis"
	"github.com/steadywatch/steadywatch/importer/chaostoolkit"
)

func FuzzImport(f *testing.F) {
	files, err := filepath.Glob(filepath.Join("testdata", "*"))
	if err != nil {
		f.Fatal(err)
	}
	for _, file := range files {
		data, err := os.ReadFile(file)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	for _, s := range []string{
		"a: &a [*a]\n",
		"steady-state-hypothesis: &h\n  probes: [*h]\n",
		`{"steady-state-hypothesis": {"probes": [{"name": "p", "tolerance": [0, 1e400], "provider": {"type": "python", "module": "chaosprometheus.probes", "func": "query", "arguments": {"query": "x#"}}}]}}`,
		"configuration: {q: '${q}'}\nsteady-state-hypothesis: {probes: [{name: p, tolerance: [0, 1], provider: {type: python, module: chaosprometheus.probes, func: query, arguments: {query: '${q}'}}}]}\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		res, err := chaostoolkit.Import(data, "fuzz.json", chaostoolkit.Options{Service: "s"})
		if err != nil {
			if strings.TrimSpace(err.Error()) == "" {
				t.Fatalf("empty error message for %q", data)
			}
			if !strings.HasPrefix(err.Error(), "fuzz.json") {
				t.Fatalf("error %q does not name the file", err)
			}
			if errors.Is(err, chaostoolkit.ErrNothingImported) && (res == nil || len(res.Skipped) == 0) {
				t.Fatalf("nothing imported from %q and nothing said why", data)
			}
			return
		}
		// What was imported loads, one metric per probe imported.
		hs, err := hypothesis.Parse(res.File, "out.yaml")
		if err != nil {
			t.Fatalf("the import of %q does not load: %v\n%s", data, err, res.File)
		}
		if len(hs) != 1 || len(hs[0].Metrics) != len(res.Metrics) {
			t.Fatalf("the import of %q has %d hypotheses, want 1 with %d metrics:\n%s", data, len(hs), len(res.Metrics), res.File)
		}
	})
}
