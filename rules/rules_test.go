package rules

import (
	"flag"
	"log/slog"
	"math/rand/v2"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/rulefmt"
	"github.com/stretchr/testify/require"
	"go.yaml.in/yaml/v3"

	"github.com/steadywatch/steadywatch/config"
	"github.com/steadywatch/steadywatch/hypothesis"
	"github.com/steadywatch/steadywatch/internal/testenv/promtest"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/golden")

func load(t *testing.T, paths ...string) []hypothesis.Hypothesis {
	t.Helper()
	hs, err := hypothesis.Load(paths...)
	require.NoError(t, err)
	return hs
}

func generate(t *testing.T, hs []hypothesis.Hypothesis, o Options) map[string][]byte {
	t.Helper()
	files, err := Generate(config.Default(), hs, o)
	require.NoError(t, err)
	out := map[string][]byte{}
	for _, f := range files {
		out[f.Name] = f.Data
	}
	require.Len(t, out, 2)
	return out
}

// write puts the files in dir and returns their paths by name.
func write(t *testing.T, dir string, files map[string][]byte) map[string]string {
	t.Helper()
	paths := map[string]string{}
	for name, data := range files {
		paths[name] = filepath.Join(dir, name)
		require.NoError(t, os.WriteFile(paths[name], data, 0o600))
	}
	return paths
}

func TestGoldenFilesFromTheExamples(t *testing.T) {
	files := generate(t, load(t, "../examples"), Options{})
	for name, data := range files {
		golden := filepath.Join("testdata", "golden", name)
		if *update {
			require.NoError(t, os.MkdirAll(filepath.Dir(golden), 0o750))
			require.NoError(t, os.WriteFile(golden, data, 0o600))
		}
		want, err := os.ReadFile(golden)
		require.NoError(t, err, "go test ./rules -run Golden -update writes it")
		require.Equal(t, string(want), string(data), "%s differs from the golden file; -update rewrites it", name)
	}
}

// spec returns the rule groups of a PrometheusRule object as a rule file.
func spec(t *testing.T, object []byte) []byte {
	t.Helper()
	var obj struct {
		APIVersion string             `yaml:"apiVersion"`
		Kind       string             `yaml:"kind"`
		Metadata   map[string]any     `yaml:"metadata"`
		Spec       rulefmt.RuleGroups `yaml:"spec"`
	}
	dec := yaml.NewDecoder(strings.NewReader(string(object)))
	dec.KnownFields(true)
	require.NoError(t, dec.Decode(&obj))
	require.Equal(t, "monitoring.coreos.com/v1", obj.APIVersion)
	require.Equal(t, "PrometheusRule", obj.Kind)
	require.Equal(t, "steadywatch", obj.Metadata["name"])
	out, err := yaml.Marshal(obj.Spec)
	require.NoError(t, err)
	return out
}

func TestGeneratedFilesLoadInPrometheus(t *testing.T) {
	for _, tc := range []struct {
		name  string
		paths []string
	}{
		{"the example hypotheses", []string{"../examples"}},
		{"the unit tests' hypotheses", []string{"testdata/unit/hypotheses.yaml"}},
		{"no hypothesis", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var hs []hypothesis.Hypothesis
			if tc.paths != nil {
				hs = load(t, tc.paths...)
			}
			files := generate(t, hs, Options{})
			ruleFiles := map[string][]byte{
				RuleFileName:              files[RuleFileName],
				"prometheusrule-spec.yml": spec(t, files[PrometheusRuleFileName]),
			}
			var file, object rulefmt.RuleGroups
			require.NoError(t, yaml.Unmarshal(files[RuleFileName], &file))
			require.NoError(t, yaml.Unmarshal(ruleFiles["prometheusrule-spec.yml"], &object))
			require.Equal(t, file, object, "the PrometheusRule's spec holds the rule file's groups")
			for name, data := range ruleFiles {
				_, errs := rulefmt.Parse(data, false, model.UTF8Validation, promql, slog.New(slog.DiscardHandler))
				require.Empty(t, errs, name)
			}
			paths := write(t, t.TempDir(), ruleFiles)
			promtest.CheckRules(t, paths[RuleFileName], paths["prometheusrule-spec.yml"])
		})
	}
}

func TestPromtoolUnitTests(t *testing.T) {
	dir := t.TempDir()
	write(t, dir, map[string][]byte{RuleFileName: generate(t, load(t, "testdata/unit/hypotheses.yaml"), Options{})[RuleFileName]})
	tests, err := filepath.Glob("testdata/unit/*_test.yml")
	require.NoError(t, err)
	require.NotEmpty(t, tests)
	var paths []string
	for _, p := range tests {
		data, err := os.ReadFile(p)
		require.NoError(t, err)
		paths = append(paths, write(t, dir, map[string][]byte{filepath.Base(p): data})[filepath.Base(p)])
	}
	promtest.TestRules(t, paths...)
}

// TestEveryAlertHasAFiringAndASilentUnitTest reads the promtool unit tests:
// each alert generated must be expected to fire in one and to stay silent in
// another.
func TestEveryAlertHasAFiringAndASilentUnitTest(t *testing.T) {
	groups, err := Groups(config.Default(), load(t, "testdata/unit/hypotheses.yaml"), Options{})
	require.NoError(t, err)
	fires, silent := map[string]bool{}, map[string]bool{}
	tests, err := filepath.Glob("testdata/unit/*_test.yml")
	require.NoError(t, err)
	for _, p := range tests {
		data, err := os.ReadFile(p)
		require.NoError(t, err)
		var file struct {
			RuleFiles []string `yaml:"rule_files"`
			Tests     []struct {
				AlertRuleTest []struct {
					Alertname string           `yaml:"alertname"`
					ExpAlerts []map[string]any `yaml:"exp_alerts"`
				} `yaml:"alert_rule_test"`
			} `yaml:"tests"`
		}
		require.NoError(t, yaml.Unmarshal(data, &file))
		require.Equal(t, []string{RuleFileName}, file.RuleFiles, p)
		for _, tc := range file.Tests {
			for _, a := range tc.AlertRuleTest {
				if len(a.ExpAlerts) > 0 {
					fires[a.Alertname] = true
				} else {
					silent[a.Alertname] = true
				}
			}
		}
	}
	var alerts []string
	for _, g := range groups {
		for _, r := range g.Rules {
			if r.Alert != "" && !slices.Contains(alerts, r.Alert) {
				alerts = append(alerts, r.Alert)
			}
		}
	}
	require.Len(t, alerts, 7)
	for _, a := range alerts {
		require.True(t, fires[a], "no unit test expects %s to fire", a)
		require.True(t, silent[a], "no unit test expects %s to stay silent", a)
	}
}

func TestEveryAlertHasARunbook(t *testing.T) {
	data, err := os.ReadFile("runbooks.md")
	require.NoError(t, err)
	anchors := map[string]bool{}
	for _, m := range regexp.MustCompile(`(?m)^## (\w+)$`).FindAllStringSubmatch(string(data), -1) {
		anchors[strings.ToLower(m[1])] = true
	}
	groups, err := Groups(config.Default(), load(t, "../examples", "testdata/unit/hypotheses.yaml"), Options{})
	require.NoError(t, err)
	for _, g := range groups {
		for _, r := range g.Rules {
			if r.Alert == "" {
				continue
			}
			anchor, ok := strings.CutPrefix(r.Annotations["runbook_url"], DefaultRunbookURL+"#")
			require.True(t, ok, "%s: runbook_url %s", r.Alert, r.Annotations["runbook_url"])
			require.True(t, anchors[anchor], "runbooks.md has no section %q for %s", anchor, r.Alert)
		}
	}
}

func TestOutputDependsOnlyOnTheInput(t *testing.T) {
	hs := load(t, "../examples", "testdata/unit/hypotheses.yaml")
	want := generate(t, hs, Options{})
	for range 5 {
		shuffled := slices.Clone(hs)
		rand.Shuffle(len(shuffled), func(i, j int) { shuffled[i], shuffled[j] = shuffled[j], shuffled[i] })
		require.Equal(t, want, generate(t, shuffled, Options{}))
	}
}

// rulesOf returns the rules of groups with the given alert or record name.
func rulesOf(groups []rulefmt.RuleGroup, name string) []rulefmt.Rule {
	var out []rulefmt.Rule
	for _, g := range groups {
		for _, r := range g.Rules {
			if r.Alert == name || r.Record == name {
				out = append(out, r)
			}
		}
	}
	return out
}

func TestRulesFollowTheHypotheses(t *testing.T) {
	hs := load(t, "testdata/unit/hypotheses.yaml") // cpu-hog, kill-db
	byName := func(name string) hypothesis.Hypothesis {
		i := slices.IndexFunc(hs, func(h hypothesis.Hypothesis) bool { return h.Name == name })
		require.GreaterOrEqual(t, i, 0)
		return hs[i]
	}
	for _, tc := range []struct {
		name  string
		hs    []hypothesis.Hypothesis
		cfg   func(*config.Config)
		o     Options
		check func(t *testing.T, groups []rulefmt.RuleGroup)
	}{
		{
			name: "a ratio metric with an SLO max gets its SLI recorded and a page and a ticket burn-rate alert",
			hs:   []hypothesis.Hypothesis{byName("kill-db")},
			check: func(t *testing.T, groups []rulefmt.RuleGroup) {
				require.Len(t, rulesOf(groups, SLIErrors), 1)
				require.Len(t, rulesOf(groups, SLIRequests), 1)
				for _, w := range SLIWindows {
					require.Len(t, rulesOf(groups, SLIErrorRatio+duration(w)), 1)
				}
				burns := rulesOf(groups, ErrorBudgetBurn)
				require.Len(t, burns, 2)
				require.Equal(t, Page, burns[0].Labels["severity"])
				require.Contains(t, burns[0].Expr, "ratio_rate1h{hypothesis=\"kill-db\", metric=\"errors\", group=\"experimental\"} > (14.4 * 0.01)")
				require.Contains(t, burns[0].Expr, "[6h]) * 21600 >= 500")
				require.Equal(t, Ticket, burns[1].Labels["severity"])
				require.Contains(t, burns[1].Expr, "ratio_rate3d{hypothesis=\"kill-db\", metric=\"errors\", group=\"experimental\"} > (1 * 0.01)")
			},
		},
		{
			name: "without an SLO on a ratio there is no SLI, and no burn-rate alert",
			hs:   []hypothesis.Hypothesis{byName("cpu-hog")},
			check: func(t *testing.T, groups []rulefmt.RuleGroup) {
				require.Empty(t, rulesOf(groups, SLIErrors))
				require.Empty(t, rulesOf(groups, SLIErrorRatio+"5m"))
				require.Empty(t, rulesOf(groups, ErrorBudgetBurn))
				for _, g := range groups {
					require.NotEqual(t, "steadywatch.slo", g.Name, "an empty group is left out")
				}
			},
		},
		{
			name: "the MTTR bound is the for of RecoveryTooSlow",
			hs:   hs,
			check: func(t *testing.T, groups []rulefmt.RuleGroup) {
				slow := rulesOf(groups, RecoveryTooSlow)
				require.Len(t, slow, 2)
				require.Equal(t, "cpu-hog", slow[0].Labels["hypothesis"])
				require.Equal(t, "10m", slow[0].For.String())
				require.Equal(t, "3m", slow[1].For.String())
				require.Contains(t, slow[1].Expr, `service="db", group="experimental"`)
			},
		},
		{
			name: "an expected alert is checked only for a window from chaos events, offset by its time and the detection grace",
			hs:   hs,
			cfg:  func(c *config.Config) { c.Alerts.Detection.Grace = model.Duration(2 * 60e9) },
			check: func(t *testing.T, groups []rulefmt.RuleGroup) {
				missed := rulesOf(groups, ChaosWithoutDetection)
				require.Len(t, missed, 2, "the undetected counter's, and kill-db's DBDown")
				require.Equal(t, "DBDown", missed[1].Labels["expected_alert"])
				require.Contains(t, missed[1].Expr, `[10m] offset 7m`)
			},
		},
		{
			name: "severities map to the SEV levels given, in the configured severity label",
			hs:   hs,
			cfg:  func(c *config.Config) { c.Alerts.SeverityLabel = "priority" },
			o:    Options{SEV: map[string]string{Page: "sev1"}, SEVLabel: "sev_level"},
			check: func(t *testing.T, groups []rulefmt.RuleGroup) {
				down := rulesOf(groups, WatcherDown)[0]
				require.Equal(t, map[string]string{"priority": Page, "sev_level": "sev1"}, down.Labels)
				failed := rulesOf(groups, HypothesisFailed)[0]
				require.Equal(t, map[string]string{"priority": Ticket, "sev_level": "sev4"}, failed.Labels)
			},
		},
		{
			name: "the watcher's job and the runbook follow the options",
			hs:   nil,
			o:    Options{Job: "sw", RunbookURL: "https://wiki.example/runbooks"},
			check: func(t *testing.T, groups []rulefmt.RuleGroup) {
				down := rulesOf(groups, WatcherDown)[0]
				require.Equal(t, "up{job=\"sw\"} == 0\nor\nabsent(up{job=\"sw\"})", down.Expr)
				require.Equal(t, "https://wiki.example/runbooks#steadywatchwatcherdown", down.Annotations["runbook_url"])
			},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := config.Default()
			if tc.cfg != nil {
				tc.cfg(&cfg)
			}
			groups, err := Groups(cfg, tc.hs, tc.o)
			require.NoError(t, err)
			tc.check(t, groups)
		})
	}
}

func TestBadInputIsAnError(t *testing.T) {
	hs := load(t, "testdata/unit/hypotheses.yaml")
	for _, tc := range []struct {
		name string
		hs   []hypothesis.Hypothesis
		cfg  func(*config.Config)
		o    Options
		err  string
	}{
		{
			name: "a hypothesis given twice",
			hs:   append(slices.Clone(hs), hs[0]),
			err:  `rules: hypothesis "kill-db" is given twice (testdata/unit/hypotheses.yaml:3 and testdata/unit/hypotheses.yaml:3)`,
		},
		{
			name: "a SEV level that is no label value",
			o:    Options{SEV: map[string]string{Ticket: "\xff"}},
			err:  `rules: Options.SEV["ticket"]: "\xff" is not a label value`,
		},
		{
			name: "a SEV label that is no label name",
			o:    Options{SEVLabel: "sev-level"},
			err:  `rules: Options.SEVLabel: "sev-level" is not a label name`,
		},
		{
			name: "the SEV label the same as the severity label",
			o:    Options{SEVLabel: "severity"},
			err:  `rules: alerts.severity_label: "severity" is not a label name other than Options.SEVLabel`,
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := config.Default()
			if tc.cfg != nil {
				tc.cfg(&cfg)
			}
			_, err := Generate(cfg, tc.hs, tc.o)
			require.EqualError(t, err, tc.err)
		})
	}
}
