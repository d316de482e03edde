package dashboards_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"github.com/stretchr/testify/require"

	"github.com/steadywatch/steadywatch/dashboards"
)

// The schemas are grafana-foundation-sdk's own (testdata/grafana-schema,
// from the SDK version the dashboards are built with), validated with a
// full draft-07 implementation, since no Grafana server can run here.
const schemaDir = "testdata/grafana-schema"

// schemas compiles the Grafana JSON schemas on demand.
type schemas struct {
	c     *jsonschema.Compiler
	cache map[string]*jsonschema.Schema
}

func newSchemas(t *testing.T) *schemas {
	t.Helper()
	c := jsonschema.NewCompiler()
	c.DefaultDraft(jsonschema.Draft7)
	c.AssertFormat()
	entries, err := os.ReadDir(schemaDir)
	require.NoError(t, err)
	for _, e := range entries {
		if !strings.HasSuffix(e.Name(), ".jsonschema.json") {
			continue
		}
		f, err := os.Open(filepath.Join(schemaDir, e.Name()))
		require.NoError(t, err)
		doc, err := jsonschema.UnmarshalJSON(f)
		require.NoError(t, f.Close())
		require.NoError(t, err, e.Name())
		require.NoError(t, c.AddResource(schemaURL(e.Name()), doc))
	}
	return &schemas{c: c, cache: map[string]*jsonschema.Schema{}}
}

func schemaURL(file string) string {
	return "https://schemas.steadywatch.test/grafana/" + file
}

// has reports whether there is a schema file for a panel type; the
// state-timeline panel's file is statetimeline.
func (s *schemas) file(panelType string) (string, bool) {
	name := strings.ReplaceAll(panelType, "-", "") + ".jsonschema.json"
	_, err := os.Stat(filepath.Join(schemaDir, name))
	return name, err == nil
}

// get compiles a schema location, "file.json" or "file.json#/definitions/X";
// ok is false when the file has no such definition.
func (s *schemas) get(t *testing.T, loc string) (*jsonschema.Schema, bool) {
	t.Helper()
	if sch, ok := s.cache[loc]; ok {
		return sch, true
	}
	sch, err := s.c.Compile(schemaURL(loc))
	if _, ok := errors.AsType[*jsonschema.JSONPointerNotFoundError](err); ok {
		return nil, false
	}
	require.NoError(t, err, loc)
	s.cache[loc] = sch
	return sch, true
}

func (s *schemas) validate(t *testing.T, loc string, v any) error {
	t.Helper()
	sch, ok := s.get(t, loc)
	require.True(t, ok, "no schema %s", loc)
	return sch.Validate(v)
}

// validateDashboard checks a dashboard against the dashboard schema, each
// panel's options, field config and overrides against its type's schema,
// and each query against the Prometheus query schema. It returns every
// problem found.
func (s *schemas) validateDashboard(t *testing.T, d map[string]any) []string {
	t.Helper()
	var problems []string
	report := func(where string, err error) {
		if err != nil {
			problems = append(problems, fmt.Sprintf("%s: %v", where, err))
		}
	}
	report("dashboard", s.validate(t, "dashboard.jsonschema.json", d))
	for _, p := range panels(d) {
		where := fmt.Sprintf("panel %v %q", p["id"], p["title"])
		typ, _ := p["type"].(string)
		file, ok := s.file(typ)
		if !ok {
			problems = append(problems, fmt.Sprintf("%s: no schema for panel type %q in %s: copy it from the SDK's jsonschema/", where, typ, schemaDir))
			continue
		}
		report(where+" options", s.validate(t, file+"#/definitions/Options", p["options"]))

		fc, _ := p["fieldConfig"].(map[string]any)
		defaults, _ := fc["defaults"].(map[string]any)
		custom, hasCustom := defaults["custom"]
		fieldSchema, hasFieldSchema := s.get(t, file+"#/definitions/FieldConfig")
		switch {
		case hasCustom && hasFieldSchema:
			report(where+" fieldConfig.defaults.custom", fieldSchema.Validate(custom))
		case hasCustom:
			problems = append(problems, fmt.Sprintf("%s: fieldConfig.defaults.custom set, but %s defines no FieldConfig", where, file))
		}
		// An override's custom.X property is a FieldConfig field set for
		// some series: checked as {X: value}, so a misspelt id fails too.
		overrides, _ := fc["overrides"].([]any)
		for i, o := range overrides {
			props, _ := o.(map[string]any)["properties"].([]any)
			for _, prop := range props {
				pm := prop.(map[string]any)
				id, _ := pm["id"].(string)
				name, isCustom := strings.CutPrefix(id, "custom.")
				if !isCustom {
					continue
				}
				if !hasFieldSchema {
					problems = append(problems, fmt.Sprintf("%s: override %d sets %s, but %s defines no FieldConfig", where, i, id, file))
					continue
				}
				report(fmt.Sprintf("%s override %d %s", where, i, id), fieldSchema.Validate(map[string]any{name: pm["value"]}))
			}
		}

		targets, _ := p["targets"].([]any)
		if len(targets) == 0 {
			problems = append(problems, where+": no queries")
		}
		for i, q := range targets {
			report(fmt.Sprintf("%s target %d", where, i), s.validate(t, "prometheus.jsonschema.json", q))
		}
	}
	return problems
}

func TestDashboardsValidateAgainstGrafanaSchemas(t *testing.T) {
	s := newSchemas(t)
	for name, o := range cases(t) {
		t.Run(name, func(t *testing.T) {
			files, err := dashboards.Generate(o)
			require.NoError(t, err)
			for _, file := range dashboardFiles {
				d := decode(t, files[file])
				require.NotEmpty(t, panels(d), file)
				require.Empty(t, s.validateDashboard(t, d), file)
			}
		})
	}
}

// The validation is only worth something if it rejects what Grafana would
// not load: each of these breaks one part of a generated dashboard.
func TestSchemaValidationRejectsBrokenDashboards(t *testing.T) {
	s := newSchemas(t)
	files, err := dashboards.Generate(goldenOptions(t))
	require.NoError(t, err)
	original := files[dashboards.ExperimentJSON]

	firstOf := func(d map[string]any, typ string) map[string]any {
		for _, p := range panels(d) {
			if p["type"] == typ {
				return p
			}
		}
		t.Fatalf("no %s panel", typ)
		return nil
	}
	for _, tc := range []struct {
		name   string
		break_ func(d map[string]any)
		want   string
	}{
		{"an unknown top-level field", func(d map[string]any) { d["tittle"] = "x" }, "dashboard"},
		{"a template variable without a name", func(d map[string]any) {
			delete(d["templating"].(map[string]any)["list"].([]any)[0].(map[string]any), "name")
		}, "dashboard"},
		{"a timeseries legend in an unknown display mode", func(d map[string]any) {
			firstOf(d, "timeseries")["options"].(map[string]any)["legend"].(map[string]any)["displayMode"] = "sideways"
		}, "options"},
		{"a stat panel without its reduce options", func(d map[string]any) {
			delete(firstOf(d, "stat")["options"].(map[string]any), "reduceOptions")
		}, "options"},
		{"a state timeline filled beyond 100 %", func(d map[string]any) {
			firstOf(d, "state-timeline")["fieldConfig"].(map[string]any)["defaults"].(map[string]any)["custom"].(map[string]any)["fillOpacity"] = 150
		}, "fieldConfig.defaults.custom"},
		{"an override of a misspelt custom property", func(d map[string]any) {
			for _, p := range panels(d) {
				overrides, _ := p["fieldConfig"].(map[string]any)["overrides"].([]any)
				if len(overrides) > 0 {
					props := overrides[0].(map[string]any)["properties"].([]any)
					props[0] = map[string]any{"id": "custom.lineStyel", "value": map[string]any{"fill": "dash"}}
					return
				}
			}
			t.Fatal("no override")
		}, "custom.lineStyel"},
		{"a query with an unknown format", func(d map[string]any) {
			firstOf(d, "timeseries")["targets"].([]any)[0].(map[string]any)["format"] = "csv"
		}, "target 0"},
		{"a panel of a type without a schema", func(d map[string]any) { firstOf(d, "stat")["type"] = "gauge" }, "no schema"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := decode(t, bytes.Clone(original))
			require.Empty(t, s.validateDashboard(t, d), "unbroken")
			tc.break_(d)
			problems := s.validateDashboard(t, d)
			require.NotEmpty(t, problems)
			require.Contains(t, strings.Join(problems, "\n"), tc.want)
		})
	}
}

// The targets are checked against the Prometheus query schema, not taken
// on trust from the SDK's types.
func TestPrometheusTargetSchemaRequiresAnExpression(t *testing.T) {
	s := newSchemas(t)
	var q any
	require.NoError(t, json.Unmarshal([]byte(`{"refId": "A", "legendFormat": "x"}`), &q))
	require.Error(t, s.validate(t, "prometheus.jsonschema.json", q))
	require.NoError(t, json.Unmarshal([]byte(`{"refId": "A", "expr": "up"}`), &q))
	require.NoError(t, s.validate(t, "prometheus.jsonschema.json", q))
}
