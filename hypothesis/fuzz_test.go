package hypothesis

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/steadywatch/steadywatch/chaos"
)

func FuzzParse(f *testing.F) {
	files, err := filepath.Glob(filepath.Join("testdata", "*.yaml"))
	if err != nil {
		f.Fatal(err)
	}
	examples, err := filepath.Glob(filepath.Join("..", "examples", "*.yaml"))
	if err != nil {
		f.Fatal(err)
	}
	for _, file := range append(files, examples...) {
		data, err := os.ReadFile(file)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	for _, s := range []string{
		"spec: &s\n  <<: [*s]\n",
		"---\n---\n~\n",
		minimalWith("  metrics:\n    - {name: m, query: 'x{{{.Group}}', slo: {max: 1}}\n"),
		minimalWith("  metrics:\n    - name: m\n      query: >\n        x{ {{ .Group }} }\n\n          + \n      slo: {max: 1}\n"),
		minimalWith("  metrics:\n    - {name: m, query: \"x{ {{ .Group }} }\\n[\", slo: {max: 1}}\n"),
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		hs, err := Parse(data, "fuzz.yaml")
		if err != nil {
			if strings.TrimSpace(err.Error()) == "" {
				t.Fatalf("empty error message for %q", data)
			}
			if _, ok := errors.AsType[*Error](err); !ok {
				t.Fatalf("error %q is a %T, not a *hypothesis.Error", err, err)
			}
			if !strings.HasPrefix(err.Error(), "fuzz.yaml") {
				t.Fatalf("error %q does not name the file", err)
			}
			return
		}
		if len(hs) == 0 {
			t.Fatalf("Parse(%q) found no hypothesis and no error", data)
		}
		// What was accepted is usable: every query parses for both groups.
		for _, h := range hs {
			if h.Source.Line < 1 {
				t.Fatalf("hypothesis %s has no line", h.Name)
			}
			for _, m := range h.Metrics {
				for _, g := range []chaos.Group{chaos.Control, chaos.Experimental} {
					if _, err := promql.ParseExpr(m.Query(g)); err != nil {
						t.Fatalf("metric %s of %q: %s query %q does not parse: %v", m.Name, data, g, m.Query(g), err)
					}
				}
			}
		}
	})
}
