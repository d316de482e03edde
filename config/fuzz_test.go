package config

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func FuzzParse(f *testing.F) {
	files, err := filepath.Glob(filepath.Join("testdata", "*.yml"))
	if err != nil {
		f.Fatal(err)
	}
	for _, file := range append(files, "example.yml") {
		data, err := os.ReadFile(file)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	for _, s := range []string{
		"watch: &w\n  <<: [*w]\n",
		"watch:\n  <<: [&a {selector: a=b}, *a]\n  namespaces: &n [a, b]\n  services: *n\n",
		"kubernetes: {qps: 1e3, burst: 0x10, timeout: 1h30m}\n",
		"? !!merge <<\n: {}\n",
		"listen: !!binary aGVsbG86MQ==\n",
		"%YAML 1.1\n---\nlisten: ':1'\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := Parse(data, "fuzz.yml")
		if err != nil {
			if strings.TrimSpace(err.Error()) == "" {
				t.Fatalf("empty error message for %q", data)
			}
			if _, ok := errors.AsType[*Error](err); !ok {
				t.Fatalf("error %q is a %T, not a *config.Error", err, err)
			}
			if !strings.HasPrefix(err.Error(), "fuzz.yml") {
				t.Fatalf("error %q does not name the file", err)
			}
			return
		}
		if err := c.Validate(); err != nil {
			t.Fatalf("Parse(%q) succeeded but Validate fails: %v", data, err)
		}
	})
}
