// Package rules generates steadywatch's Prometheus recording and alerting
// rules, as a rule file and as a PrometheusRule object, from the
// configuration and the hypothesis files the verdict service judges.
package rules

import (
	"cmp"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"strings"

	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/rulefmt"
	"github.com/prometheus/prometheus/promql/parser"

	"github.com/steadywatch/steadywatch/config"
	"github.com/steadywatch/steadywatch/hypothesis"
)

// Output file names written by Generate.
const (
	// RuleFileName is the plain Prometheus rule file (rule_files:).
	RuleFileName = "steadywatch.rules.yml"
	// PrometheusRuleFileName is the same rules as a Prometheus Operator
	// PrometheusRule object (monitoring.coreos.com/v1).
	PrometheusRuleFileName = "steadywatch.prometheusrule.yaml"
)

// The severities the alerts are written with: page wants a person now,
// ticket within working hours (the SRE Workbook's terms).
const (
	Page   = "page"
	Ticket = "ticket"
)

// Defaults of Options.
const (
	DefaultJob        = "steadywatch"
	DefaultSEVLabel   = "sev"
	DefaultRunbookURL = "https://github.com/steadywatch/steadywatch/blob/main/rules/runbooks.md"
	DefaultName       = "steadywatch"
)

// DefaultSEV maps the severities to SEV levels.
var DefaultSEV = map[string]string{Page: "sev2", Ticket: "sev4"}

// Options tune the generated rules beyond what the configuration says.
type Options struct {
	// Job is the job label of Prometheus' scrape of steadywatch, watched by
	// SteadywatchWatcherDown (default DefaultJob).
	Job string
	// SEV maps each severity (Page, Ticket) to the SEV level written in the
	// SEVLabel label; missing ones take DefaultSEV's.
	SEV map[string]string
	// SEVLabel is the label holding the SEV level (default DefaultSEVLabel).
	// The severity itself goes in the configuration's
	// alerts.severity_label, the label steadywatch counts alerts by.
	SEVLabel string
	// RunbookURL is the runbook page; each alert links to its anchor,
	// RunbookURL#alertname in lower case (default DefaultRunbookURL).
	RunbookURL string
	// Name, Namespace and Labels are the PrometheusRule object's metadata
	// (Name defaults to DefaultName; Labels are added to its
	// app.kubernetes.io labels, e.g. the release label an operator's
	// ruleSelector wants).
	Name      string
	Namespace string
	Labels    map[string]string
}

func (o Options) withDefaults(cfg config.Config) (Options, error) {
	o.Job = cmp.Or(o.Job, DefaultJob)
	o.SEVLabel = cmp.Or(o.SEVLabel, DefaultSEVLabel)
	o.RunbookURL = cmp.Or(o.RunbookURL, DefaultRunbookURL)
	o.Name = cmp.Or(o.Name, DefaultName)
	sev := maps.Clone(DefaultSEV)
	maps.Copy(sev, o.SEV)
	o.SEV = sev
	for _, s := range slices.Sorted(maps.Keys(o.SEV)) {
		if !model.LabelValue(o.SEV[s]).IsValid() || o.SEV[s] == "" {
			return o, fmt.Errorf("rules: Options.SEV[%q]: %q is not a label value", s, o.SEV[s])
		}
	}
	if !model.LegacyValidation.IsValidLabelName(o.SEVLabel) {
		return o, fmt.Errorf("rules: Options.SEVLabel: %q is not a label name", o.SEVLabel)
	}
	if sl := cfg.Alerts.SeverityLabel; sl == o.SEVLabel || !model.LegacyValidation.IsValidLabelName(sl) {
		return o, fmt.Errorf("rules: alerts.severity_label: %q is not a label name other than Options.SEVLabel", sl)
	}
	return o, nil
}

// File is one generated file.
type File struct {
	Name string
	Data []byte
}

// Generate returns the rule file (RuleFileName) and the PrometheusRule object
// (PrometheusRuleFileName) for cfg and the hypotheses, in that order. The
// output depends only on its input, byte for byte: hypotheses are taken in
// name order. Every expression is parsed and the rule file validated with
// Prometheus' rulefmt before it is returned.
func Generate(cfg config.Config, hypotheses []hypothesis.Hypothesis, o Options) ([]File, error) {
	o, err := o.withDefaults(cfg)
	if err != nil {
		return nil, err
	}
	groups, err := groups(cfg, hypotheses, o)
	if err != nil {
		return nil, err
	}
	ruleFile, err := marshalRuleFile(groups)
	if err != nil {
		return nil, err
	}
	if err := validate(ruleFile); err != nil {
		return nil, err
	}
	object, err := marshalPrometheusRule(groups, o)
	if err != nil {
		return nil, err
	}
	return []File{{RuleFileName, ruleFile}, {PrometheusRuleFileName, object}}, nil
}

// Groups returns the rule groups Generate writes.
func Groups(cfg config.Config, hypotheses []hypothesis.Hypothesis, o Options) ([]rulefmt.RuleGroup, error) {
	o, err := o.withDefaults(cfg)
	if err != nil {
		return nil, err
	}
	return groups(cfg, hypotheses, o)
}

func groups(cfg config.Config, hypotheses []hypothesis.Hypothesis, o Options) ([]rulefmt.RuleGroup, error) {
	hs := slices.Clone(hypotheses)
	slices.SortStableFunc(hs, func(a, b hypothesis.Hypothesis) int { return strings.Compare(a.Name, b.Name) })
	for i := 1; i < len(hs); i++ {
		if hs[i].Name == hs[i-1].Name {
			return nil, fmt.Errorf("rules: hypothesis %q is given twice (%s and %s)", hs[i].Name, hs[i-1].Source, hs[i].Source)
		}
	}
	g := &generator{cfg: cfg, o: o}
	var out []rulefmt.RuleGroup
	for _, rg := range []rulefmt.RuleGroup{g.reliability(), g.weekly(), g.steadyState(hs), g.sli(hs), g.alerts(hs)} {
		if len(rg.Rules) > 0 {
			out = append(out, rg)
		}
	}
	if g.err != nil {
		return nil, g.err
	}
	return out, nil
}

// generator collects the first error met while building rules, so the
// builders read as lists of rules.
type generator struct {
	cfg config.Config
	o   Options
	err error
}

var promql = parser.NewParser(parser.Options{})

// check parses each rule's expression, naming the rule in the error.
func (g *generator) check(rules ...rulefmt.Rule) []rulefmt.Rule {
	for _, r := range rules {
		if _, err := promql.ParseExpr(r.Expr); err != nil && g.err == nil {
			g.err = fmt.Errorf("rules: %s: %w", cmp.Or(r.Alert, r.Record), err)
		}
	}
	return rules
}

// validate parses the rule file as Prometheus loads it.
func validate(data []byte) error {
	_, errs := rulefmt.Parse(data, false, model.LegacyValidation, promql, slog.New(slog.DiscardHandler))
	return errors.Join(errs...)
}
