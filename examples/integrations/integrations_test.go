// Package integrations_test checks the pipeline examples in this directory
// against the real steadywatch: their command lines against the CLI's flag
// set, their PromQL against the metrics the exporter registers, the web
// provider's JSONPath against a response of the API's handler, and each
// gate's conditions against the pass / fail / inconclusive verdicts it must
// tell apart (evaluated with the expression language Argo uses).
package integrations_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/expr-lang/expr"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/prometheus/promql/parser"
	"github.com/prometheus/prometheus/promql/promqltest"
	"github.com/stretchr/testify/require"
	"k8s.io/client-go/util/jsonpath"
	"sigs.k8s.io/yaml"

	"github.com/steadywatch/steadywatch/api"
	"github.com/steadywatch/steadywatch/cli"
	"github.com/steadywatch/steadywatch/contract"
	"github.com/steadywatch/steadywatch/exporter"
	"github.com/steadywatch/steadywatch/hypothesis"
	"github.com/steadywatch/steadywatch/verdict"
)

// gated is the hypothesis every example gates on.
const gated = "kill-postgres-replica"

// outcome is what a gate must do with a verdict: only a pass goes on.
type outcome string

const (
	goOn    outcome = "go on"
	stop    outcome = "stop"
	neither outcome = "neither" // Argo's Inconclusive: the Rollout pauses
)

func readYAML(t *testing.T, name string) map[string]any {
	t.Helper()
	b, err := os.ReadFile(name)
	require.NoError(t, err)
	var m map[string]any
	require.NoError(t, yaml.UnmarshalStrict(b, &m), name)
	return m
}

// dig walks m by map keys and list indices.
func dig(t *testing.T, m any, path ...any) any {
	t.Helper()
	for i, p := range path {
		switch k := p.(type) {
		case string:
			obj, ok := m.(map[string]any)
			require.True(t, ok, "at %v: not an object", path[:i])
			m, ok = obj[k]
			require.True(t, ok, "no %v", path[:i+1])
		case int:
			list, ok := m.([]any)
			require.True(t, ok, "at %v: not a list", path[:i])
			require.Less(t, k, len(list), "no %v", path[:i+1])
			m = list[k]
		}
	}
	return m
}

func str(t *testing.T, m any, path ...any) string {
	t.Helper()
	s, ok := dig(t, m, path...).(string)
	require.True(t, ok, "%v is not a string", path)
	return s
}

func strs(t *testing.T, v any) []string {
	t.Helper()
	list, ok := v.([]any)
	require.True(t, ok, "not a list: %v", v)
	out := make([]string, len(list))
	for i, e := range list {
		out[i], ok = e.(string)
		require.True(t, ok, "not a string: %v", e)
	}
	return out
}

// shellCommand is the steadywatch command line of a shell command: its
// words up to the first redirection or separator, quotes removed.
func shellCommand(t *testing.T, cmd string) []string {
	t.Helper()
	if i := strings.IndexAny(cmd, ">;|&"); i >= 0 {
		cmd = cmd[:i]
	}
	words := strings.Fields(cmd)
	for i, w := range words {
		words[i] = strings.Trim(w, `"'`)
	}
	require.Equal(t, "steadywatch", words[0], "command: %s", cmd)
	return words[1:]
}

// workflowTemplate returns the Workflow's template called name.
func workflowTemplate(t *testing.T, wf map[string]any, name string) map[string]any {
	t.Helper()
	for _, tmpl := range dig(t, wf, "spec", "templates").([]any) {
		if m := tmpl.(map[string]any); m["name"] == name {
			return m
		}
	}
	require.Fail(t, "no template "+name)
	return nil
}

// probe returns the Litmus ChaosEngine's probe called name.
func probe(t *testing.T, engine map[string]any, name string) map[string]any {
	t.Helper()
	for _, p := range dig(t, engine, "spec", "experiments", 0, "spec", "probe").([]any) {
		if m := p.(map[string]any); m["name"] == name {
			return m
		}
	}
	require.Fail(t, "no probe "+name)
	return nil
}

// commandLines are the steadywatch command lines of the examples, by
// example.
func commandLines(t *testing.T) map[string][]string {
	t.Helper()
	wf := readYAML(t, "argo-workflow.yaml")
	engine := readYAML(t, "litmus-chaosengine.yaml")
	ctk := readChaosToolkit(t)
	return map[string][]string{
		"argo-workflow.yaml":           strs(t, dig(t, workflowTemplate(t, wf, "verdict"), "container", "args")),
		"litmus-chaosengine.yaml":      shellCommand(t, str(t, probe(t, engine, "steadywatch-verdict-cli"), "cmdProbe/inputs", "command")),
		"chaostoolkit-experiment.json": ctk.SteadyStateHypothesis.Probes[0].Provider.Arguments,
	}
}

func flagValue(args []string, name string) string {
	for i, a := range args {
		if (a == "-"+name || a == "--"+name) && i+1 < len(args) {
			return args[i+1]
		}
	}
	return ""
}

func TestCommandLinesParseWithTheCLIsFlags(t *testing.T) {
	for example, args := range commandLines(t) {
		t.Run(example, func(t *testing.T) {
			require.NoError(t, cli.CheckArgs(args))

			// The hypothesis it names is in the example file it reads.
			file := flagValue(args, "f")
			hyps, err := hypothesis.Load(filepath.Join("..", filepath.Base(file)))
			require.NoError(t, err)
			require.True(t, slices.ContainsFunc(hyps, func(h hypothesis.Hypothesis) bool { return h.Name == gated }))
			require.Equal(t, gated, flagValue(args, "hypothesis"))

			// A renamed flag breaks it.
			renamed := slices.Clone(args)
			renamed[slices.Index(renamed, "--prometheus")] = "--prometheus-url"
			require.ErrorContains(t, cli.CheckArgs(renamed), "flag provided but not defined: -prometheus-url")
		})
	}
}

// TestExitCodesAreTheCLIs pins the exit codes the examples and the README
// gate on to the CLI's.
func TestExitCodesAreTheCLIs(t *testing.T) {
	require.Equal(t, 0, cli.ExitOK)
	require.Equal(t, 1, cli.ExitFail)
	require.Equal(t, 2, cli.ExitInconclusive)
	require.Equal(t, 3, cli.ExitUsage)
}

// describing is a Registerer that only describes what is registered.
type describing struct{ ch chan *prometheus.Desc }

func (d describing) Register(c prometheus.Collector) error { c.Describe(d.ch); return nil }
func (d describing) MustRegister(cs ...prometheus.Collector) {
	for _, c := range cs {
		c.Describe(d.ch)
	}
}
func (d describing) Unregister(prometheus.Collector) bool { return true }

var descRE = regexp.MustCompile(`^Desc\{fqName: "([^"]+)", .*variableLabels: \{([^}]*)\}\}$`)

// exported are the metric families the exporter registers, with their
// labels, read from their descriptors.
func exported(t *testing.T) map[string][]string {
	t.Helper()
	d := describing{ch: make(chan *prometheus.Desc, 1000)}
	exporter.NewMetrics(d)
	d.MustRegister(exporter.NewVerdictCollector(verdict.NewBoard()),
		exporter.NewStateCollector(nil, nil), exporter.NewWatchHealthCollector(nil))
	close(d.ch)
	out := map[string][]string{}
	for desc := range d.ch {
		m := descRE.FindStringSubmatch(desc.String())
		require.NotNil(t, m, "descriptor %s", desc)
		var labels []string
		if m[2] != "" {
			labels = strings.Split(m[2], ",")
		}
		out[m[1]] = labels
	}
	require.Contains(t, out, contract.HypothesisVerdict.Name)
	return out
}

// queries are the PromQL expressions of the examples, the Rollouts
// template's arguments put in.
func queries(t *testing.T) map[string]string {
	t.Helper()
	tmpl := readYAML(t, "argo-rollouts-prometheus.yaml")
	engine := readYAML(t, "litmus-chaosengine.yaml")
	return map[string]string{
		"argo-rollouts-prometheus.yaml": withArgs(t, tmpl, str(t, tmpl, "spec", "metrics", 0, "provider", "prometheus", "query")),
		"litmus-chaosengine.yaml":       str(t, probe(t, engine, "steadywatch-verdict-metric"), "promProbe/inputs", "query"),
	}
}

// withArgs puts an AnalysisTemplate's argument values in s, as Argo
// Rollouts does with {{args.NAME}}.
func withArgs(t *testing.T, tmpl map[string]any, s string) string {
	t.Helper()
	for _, a := range dig(t, tmpl, "spec", "args").([]any) {
		arg := a.(map[string]any)
		s = strings.ReplaceAll(s, "{{args."+arg["name"].(string)+"}}", arg["value"].(string))
	}
	require.NotContains(t, s, "{{")
	return s
}

func TestQueriesUseExportedMetrics(t *testing.T) {
	metrics := exported(t)
	for example, q := range queries(t) {
		t.Run(example, func(t *testing.T) {
			e, err := parser.NewParser(parser.Options{}).ParseExpr(q)
			require.NoError(t, err)
			selectors := 0
			parser.Inspect(e, func(n parser.Node, _ []parser.Node) error {
				vs, ok := n.(*parser.VectorSelector)
				if !ok {
					return nil
				}
				selectors++
				labels, ok := metrics[vs.Name]
				require.True(t, ok, "%s is not a metric steadywatch exports", vs.Name)
				for _, m := range vs.LabelMatchers {
					if m.Name != "__name__" && m.Name != contract.LabelCluster {
						require.Contains(t, labels, m.Name, "%s has no label %s", vs.Name, m.Name)
					}
				}
				return nil
			})
			require.Positive(t, selectors)
		})
	}
}

// exposition is what serve's /metrics shows for a board holding v (none:
// nothing judged yet), as a promqltest load block.
func exposition(t *testing.T, v *verdict.Verdict) string {
	t.Helper()
	board := verdict.NewBoard()
	if v != nil {
		board.Record(*v)
	}
	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(exporter.NewVerdictCollector(board))
	mfs, err := reg.Gather()
	require.NoError(t, err)
	var b strings.Builder
	b.WriteString("load 1m\n")
	for _, mf := range mfs {
		for _, m := range mf.GetMetric() {
			var labels []string
			for _, l := range m.GetLabel() {
				labels = append(labels, l.GetName()+"="+strconv.Quote(l.GetValue()))
			}
			val := m.GetGauge().GetValue()
			if m.GetCounter() != nil {
				val = m.GetCounter().GetValue()
			}
			b.WriteString("  " + mf.GetName() + "{" + strings.Join(labels, ",") + "} " + strconv.FormatFloat(val, 'g', -1, 64) + "\n")
		}
	}
	return b.String()
}

func judged(r verdict.Result) *verdict.Verdict {
	return &verdict.Verdict{Hypothesis: gated, Result: r, Score: 50, At: time.Date(2026, 12, 7, 0, 0, 0, 0, time.UTC)}
}

// evalQuery is q's instant vector at the start of load, as Argo's
// Prometheus provider hands it to its conditions.
func evalQuery(t *testing.T, load, q string) []float64 {
	t.Helper()
	storage := promqltest.LoadedStorage(t, load)
	engine := promqltest.NewTestEngine(t, false, 0, 1000)
	query, err := engine.NewInstantQuery(context.Background(), storage, nil, q, time.Unix(0, 0))
	require.NoError(t, err)
	res := query.Exec(context.Background())
	require.NoError(t, res.Err)
	vec, err := res.Vector()
	require.NoError(t, err)
	out := make([]float64, len(vec))
	for i, s := range vec {
		out[i] = s.F
	}
	return out
}

// argoCondition evaluates an Argo Rollouts condition on result as its
// evaluate package does: an expr program over {result}.
func argoCondition(t *testing.T, condition string, result any) bool {
	t.Helper()
	env := map[string]any{"result": result}
	program, err := expr.Compile(condition, expr.Env(env), expr.AsBool())
	require.NoError(t, err, condition)
	out, err := expr.Run(program, env)
	require.NoError(t, err, condition)
	return out.(bool)
}

// argoOutcome is what the AnalysisTemplate's first metric makes of result.
func argoOutcome(t *testing.T, tmpl map[string]any, result any) outcome {
	t.Helper()
	success := argoCondition(t, str(t, tmpl, "spec", "metrics", 0, "successCondition"), result)
	failure := argoCondition(t, str(t, tmpl, "spec", "metrics", 0, "failureCondition"), result)
	require.False(t, success && failure, "result %v both succeeds and fails", result)
	switch {
	case success:
		return goOn
	case failure:
		return stop
	}
	return neither
}

var cases = []struct {
	name     string
	verdict  *verdict.Verdict
	rollouts outcome
}{
	{"a pass goes on", judged(verdict.Pass), goOn},
	{"a fail stops", judged(verdict.Fail), stop},
	{"an inconclusive verdict pauses, never goes on", judged(verdict.Inconclusive), neither},
}

func TestRolloutsPrometheusGateGoesOnOnlyOnAPass(t *testing.T) {
	tmpl := readYAML(t, "argo-rollouts-prometheus.yaml")
	q := queries(t)["argo-rollouts-prometheus.yaml"]
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got := evalQuery(t, exposition(t, tc.verdict), q)
			require.Len(t, got, 1)
			require.Equal(t, tc.rollouts, argoOutcome(t, tmpl, got))
		})
	}
	t.Run("a hypothesis not judged yet pauses", func(t *testing.T) {
		got := evalQuery(t, exposition(t, nil), q)
		require.Equal(t, neither, argoOutcome(t, tmpl, got))
	})
}

func TestLitmusPromProbePassesOnlyOnAPass(t *testing.T) {
	inputs := dig(t, probe(t, readYAML(t, "litmus-chaosengine.yaml"), "steadywatch-verdict-metric"), "promProbe/inputs")
	require.Equal(t, "==", str(t, inputs, "comparator", "criteria"))
	want, err := strconv.ParseFloat(str(t, inputs, "comparator", "value"), 64)
	require.NoError(t, err)
	q := queries(t)["litmus-chaosengine.yaml"]
	for _, tc := range append(cases, struct {
		name     string
		verdict  *verdict.Verdict
		rollouts outcome
	}{"not judged yet stops", nil, neither}) {
		t.Run(tc.name, func(t *testing.T) {
			got := evalQuery(t, exposition(t, tc.verdict), q)
			require.Len(t, got, 1)
			require.Equal(t, tc.verdict != nil && tc.verdict.Result == verdict.Pass, got[0] == want, "value %v", got[0])
		})
	}
}

// apiResponse is the body of GET /api/v1/verdicts from the API's handler
// on a board holding vs.
func apiResponse(t *testing.T, vs ...*verdict.Verdict) any {
	t.Helper()
	board := verdict.NewBoard()
	for _, v := range vs {
		board.Record(*v)
	}
	mux := http.NewServeMux()
	mux.Handle("GET "+api.VerdictsPath, api.Verdicts(board))
	srv := httptest.NewServer(mux)
	defer srv.Close()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, srv.URL+api.VerdictsPath, nil)
	require.NoError(t, err)
	resp, err := srv.Client().Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	var body any
	require.NoError(t, json.Unmarshal(b, &body))
	return body
}

// webResult is what Argo's web provider hands to the conditions: the first
// value the JSONPath selects; false if it selects none (an Error
// measurement).
func webResult(t *testing.T, path string, body any) (any, bool) {
	t.Helper()
	jp := jsonpath.New("metrics")
	require.NoError(t, jp.Parse(path))
	results, err := jp.FindResults(body)
	require.NoError(t, err)
	for _, rs := range results {
		for _, r := range rs {
			return r.Interface(), true
		}
	}
	return nil, false
}

func TestRolloutsWebGateGoesOnOnlyOnAPass(t *testing.T) {
	tmpl := readYAML(t, "argo-rollouts-web.yaml")
	web := dig(t, tmpl, "spec", "metrics", 0, "provider", "web")
	require.True(t, strings.HasSuffix(str(t, web, "url"), api.VerdictsPath), "url %s", str(t, web, "url"))
	path := withArgs(t, tmpl, str(t, web, "jsonPath"))
	other := judged(verdict.Pass)
	other.Hypothesis = "another-hypothesis"
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			// Another hypothesis's verdict, before and after, is not picked.
			opposite := judged(verdict.Fail)
			if tc.verdict.Result == verdict.Fail {
				opposite = judged(verdict.Pass)
			}
			opposite.Hypothesis = "another-hypothesis"
			result, ok := webResult(t, path, apiResponse(t, other, tc.verdict, opposite))
			require.True(t, ok)
			require.Equal(t, string(tc.verdict.Result), result)
			require.Equal(t, tc.rollouts, argoOutcome(t, tmpl, result))
		})
	}
	t.Run("a hypothesis not judged yet selects nothing: an error, not a pass", func(t *testing.T) {
		_, ok := webResult(t, path, apiResponse(t, other))
		require.False(t, ok)
	})
}

func TestWorkflowRetriesOnlyInconclusive(t *testing.T) {
	retry := dig(t, workflowTemplate(t, readYAML(t, "argo-workflow.yaml"), "verdict"), "retryStrategy")
	condition := str(t, retry, "expression")
	for code, want := range map[int]bool{
		cli.ExitOK: false, cli.ExitFail: false, cli.ExitInconclusive: true, cli.ExitUsage: false,
	} {
		// Argo Workflows' retry expressions see the exit code as a string.
		env := map[string]any{
			"lastRetry": map[string]any{"exitCode": strconv.Itoa(code), "status": "Failed"},
			"asInt":     func(s string) int { n, _ := strconv.Atoi(s); return n },
		}
		program, err := expr.Compile(condition, expr.Env(env), expr.AsBool())
		require.NoError(t, err)
		out, err := expr.Run(program, env)
		require.NoError(t, err)
		require.Equal(t, want, out, "exit code %d", code)
	}
}

func TestLitmusCmdProbePassesOnlyOnExit0(t *testing.T) {
	inputs := dig(t, probe(t, readYAML(t, "litmus-chaosengine.yaml"), "steadywatch-verdict-cli"), "cmdProbe/inputs")
	require.True(t, strings.HasSuffix(str(t, inputs, "command"), "; echo $?"), "the probe compares the exit code it prints")
	require.Equal(t, "int", str(t, inputs, "comparator", "type"))
	require.Equal(t, "==", str(t, inputs, "comparator", "criteria"))
	require.Equal(t, strconv.Itoa(cli.ExitOK), str(t, inputs, "comparator", "value"))
}

// chaosToolkitExperiment follows the Chaos Toolkit's experiment format
// (chaostoolkit.org reference: experiment, steady-state hypothesis,
// probe, process provider), only the fields the example uses.
type chaosToolkitExperiment struct {
	Version     string   `json:"version"`
	Title       string   `json:"title"`
	Description string   `json:"description"`
	Tags        []string `json:"tags"`
	Runtime     struct {
		Hypothesis struct {
			Strategy string `json:"strategy"`
		} `json:"hypothesis"`
	} `json:"runtime"`
	SteadyStateHypothesis struct {
		Title  string                 `json:"title"`
		Probes []chaosToolkitActivity `json:"probes"`
	} `json:"steady-state-hypothesis"`
	Method    []chaosToolkitActivity `json:"method"`
	Rollbacks []chaosToolkitActivity `json:"rollbacks"`
}

type chaosToolkitActivity struct {
	Type      string `json:"type"`
	Name      string `json:"name"`
	Tolerance *int   `json:"tolerance,omitempty"`
	Provider  struct {
		Type      string   `json:"type"`
		Path      string   `json:"path"`
		Arguments []string `json:"arguments"`
		Timeout   float64  `json:"timeout,omitempty"`
	} `json:"provider"`
	Pauses *struct {
		Before float64 `json:"before,omitempty"`
		After  float64 `json:"after,omitempty"`
	} `json:"pauses,omitempty"`
}

func readChaosToolkit(t *testing.T) chaosToolkitExperiment {
	t.Helper()
	b, err := os.ReadFile("chaostoolkit-experiment.json")
	require.NoError(t, err)
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	var e chaosToolkitExperiment
	require.NoError(t, dec.Decode(&e))
	return e
}

func TestChaosToolkitExperimentGatesOnExit0(t *testing.T) {
	e := readChaosToolkit(t)
	require.NotEmpty(t, e.Title)
	require.NotEmpty(t, e.Method)
	// Before the method there is no window to judge.
	require.Equal(t, "after-method-only", e.Runtime.Hypothesis.Strategy)
	require.Len(t, e.SteadyStateHypothesis.Probes, 1)
	p := e.SteadyStateHypothesis.Probes[0]
	require.Equal(t, "probe", p.Type)
	require.Equal(t, "process", p.Provider.Type)
	require.Equal(t, "steadywatch", p.Provider.Path)
	// A process probe's integer tolerance is the exit code it wants.
	require.NotNil(t, p.Tolerance)
	require.Equal(t, cli.ExitOK, *p.Tolerance)
	// The probe outlives verdict's own --timeout, so that steadywatch,
	// not the toolkit, says a judgement took too long (inconclusive).
	timeout, err := time.ParseDuration(flagValue(p.Provider.Arguments, "timeout"))
	require.NoError(t, err)
	require.Greater(t, p.Provider.Timeout, timeout.Seconds())
	for _, a := range e.Method {
		require.Equal(t, "action", a.Type)
	}
}

func TestChaosToolkitValidates(t *testing.T) {
	chaos, err := exec.LookPath("chaos")
	if err != nil {
		t.Skip("chaos (the Chaos Toolkit's CLI) is not installed: the experiment is checked by strict decoding only")
	}
	out, err := exec.CommandContext(t.Context(), chaos, "validate", "chaostoolkit-experiment.json").CombinedOutput()
	require.NoError(t, err, "%s", out)
}

// crdSchema is the openAPIV3Schema of kind's CRD in the e2e test data (the
// tools' own definitions, copied unchanged).
func crdSchema(t *testing.T, file, kind string) map[string]any {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("..", "..", "e2e", "testdata", file))
	require.NoError(t, err)
	for doc := range strings.SplitSeq(string(data), "\n---") {
		var crd map[string]any
		require.NoError(t, yaml.Unmarshal([]byte(doc), &crd))
		if crd == nil || dig(t, crd, "spec", "names", "kind") != kind {
			continue
		}
		return dig(t, crd, "spec", "versions", 0, "schema", "openAPIV3Schema").(map[string]any)
	}
	require.Fail(t, "no CRD of "+kind+" in "+file)
	return nil
}

// checkKeys reports the first key of v that its schema does not name,
// where the schema names its properties, even where it also keeps unknown
// fields (the apiserver would keep a misspelled key there without a word).
func checkKeys(path string, v any, schema map[string]any) error {
	switch v := v.(type) {
	case map[string]any:
		props, ok := schema["properties"].(map[string]any)
		if !ok {
			if add, ok := schema["additionalProperties"].(map[string]any); ok {
				for k, e := range v {
					if err := checkKeys(path+"."+k, e, add); err != nil {
						return err
					}
				}
			}
			return nil
		}
		for k, e := range v {
			sub, ok := props[k].(map[string]any)
			if !ok {
				return fmt.Errorf("%s.%s: not a field of the tool's schema", path, k)
			}
			if err := checkKeys(path+"."+k, e, sub); err != nil {
				return err
			}
		}
	case []any:
		if items, ok := schema["items"].(map[string]any); ok {
			for i, e := range v {
				if err := checkKeys(path+"["+strconv.Itoa(i)+"]", e, items); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

func TestExampleKeysAreTheToolsSchemas(t *testing.T) {
	for _, ex := range []struct{ example, crds, kind, misspelled string }{
		{"litmus-chaosengine.yaml", "chaos-crds/litmus/chaos_crds.yaml", "ChaosEngine", ".spec.experiments[0].spec.probe[0].promProbe/inputs.comparatr"},
		{"argo-rollouts-prometheus.yaml", "argo-crds/rollouts/analysis-template-crd.yaml", "AnalysisTemplate", ".spec.metrics[0].successCondtion"},
		{"argo-rollouts-web.yaml", "argo-crds/rollouts/analysis-template-crd.yaml", "AnalysisTemplate", ".spec.metrics[0].provider.web.jsonpath"},
	} {
		t.Run(ex.example, func(t *testing.T) {
			schema := crdSchema(t, ex.crds, ex.kind)
			obj := readYAML(t, ex.example)
			require.Equal(t, ex.kind, obj["kind"])
			require.NoError(t, checkKeys("", obj, schema))

			// The same key misspelled fails.
			cut := strings.LastIndex(ex.misspelled, ".")
			parent := obj
			for p := range strings.SplitSeq(strings.TrimPrefix(ex.misspelled[:cut], "."), ".") {
				name, index, list := strings.Cut(strings.TrimSuffix(p, "]"), "[")
				next := parent[name]
				if list {
					n, err := strconv.Atoi(index)
					require.NoError(t, err)
					next = next.([]any)[n]
				}
				parent = next.(map[string]any)
			}
			parent[ex.misspelled[cut+1:]] = "x"
			require.EqualError(t, checkKeys("", obj, schema), ex.misspelled+": not a field of the tool's schema")
		})
	}
}
