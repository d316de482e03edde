package hypothesis

import (
	"fmt"
	"math"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/prometheus/alertmanager/pkg/labels"
	"github.com/prometheus/common/model"
	"go.yaml.in/yaml/v3"
	k8slabels "k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/validation"

	"github.com/steadywatch/steadywatch/chaos"
	"github.com/steadywatch/steadywatch/experiment"
	"github.com/steadywatch/steadywatch/internal/yamlnode"
)

// The apiVersion and kind of a hypothesis document.
const (
	APIVersion = "steadywatch.io/v1alpha1"
	Kind       = "Hypothesis"
)

// The wire types mirror the file (and the custom resource it is to
// become); build converts them once into the domain types, validating as it
// goes. Fields that may be absent and whose zero value is meaningful are
// pointers.

type fileHypothesis struct {
	APIVersion string       `yaml:"apiVersion"`
	Kind       string       `yaml:"kind"`
	Metadata   fileMetadata `yaml:"metadata"`
	Spec       fileSpec     `yaml:"spec"`
}

type fileMetadata struct {
	Name string `yaml:"name"`
}

type fileSpec struct {
	Description string         `yaml:"description"`
	Service     string         `yaml:"service"`
	Namespace   string         `yaml:"namespace"`
	Groups      fileGroups     `yaml:"groups"`
	Window      fileWindow     `yaml:"window"`
	Baseline    fileBaseline   `yaml:"baseline"`
	Step        model.Duration `yaml:"step"`
	Metrics     []fileMetric   `yaml:"metrics"`
	Recovery    fileRecovery   `yaml:"recovery"`
	Judgement   fileJudgement  `yaml:"judgement"`
}

type fileGroups struct {
	Control      string `yaml:"control"`
	Experimental string `yaml:"experimental"`
}

type fileWindow struct {
	Fixed      *fileFixed      `yaml:"fixed"`
	Events     *fileEvents     `yaml:"events"`
	Experiment *fileExperiment `yaml:"experiment"`
}

type fileFixed struct {
	Start timestamp `yaml:"start"`
	End   timestamp `yaml:"end"`
}

type fileEvents struct {
	Kinds    []string       `yaml:"kinds"`
	Lookback model.Duration `yaml:"lookback"`
	Before   model.Duration `yaml:"before"`
	After    model.Duration `yaml:"after"`
}

func (e *fileEvents) SetDefaults() {
	e.Lookback = model.Duration(DefaultLookback)
	e.After = model.Duration(DefaultAfter)
}

type fileExperiment struct {
	Tool      string         `yaml:"tool"`
	Name      string         `yaml:"name"`
	Selector  *string        `yaml:"selector"`
	Namespace string         `yaml:"namespace"`
	Fault     string         `yaml:"fault"`
	Lookback  model.Duration `yaml:"lookback"`
	Before    model.Duration `yaml:"before"`
	After     model.Duration `yaml:"after"`
}

// SetDefaults gives an experiment window an event window's defaults.
func (e *fileExperiment) SetDefaults() {
	e.Lookback = model.Duration(DefaultLookback)
	e.After = model.Duration(DefaultAfter)
}

type fileBaseline struct {
	Duration model.Duration `yaml:"duration"`
}

type fileMetric struct {
	Name          string     `yaml:"name"`
	Query         string     `yaml:"query"`
	Ratio         *fileRatio `yaml:"ratio"`
	Direction     string     `yaml:"direction"`
	AllowedEffect *percent   `yaml:"allowedEffect"`
	Critical      bool       `yaml:"critical"`
	Weight        float64    `yaml:"weight"`
	SLO           *fileBound `yaml:"slo"`
	Aggregate     string     `yaml:"aggregate"`
}

func (m *fileMetric) SetDefaults() { m.Weight = DefaultWeight }

type fileRatio struct {
	Errors   string  `yaml:"errors"`
	Total    string  `yaml:"total"`
	MinTotal float64 `yaml:"minTotal"`
}

func (r *fileRatio) SetDefaults() { r.MinTotal = DefaultMinTotal }

type fileBound struct {
	Min *float64 `yaml:"min"`
	Max *float64 `yaml:"max"`
}

type fileRecovery struct {
	MTTR             *model.Duration `yaml:"mttr"`
	Alerts           []fileAlert     `yaml:"alerts"`
	HPA              *fileHPA        `yaml:"hpa"`
	ReplacementReady *model.Duration `yaml:"replacementReady"`
}

type fileAlert struct {
	Name     string         `yaml:"name"`
	Matchers []string       `yaml:"matchers"`
	Within   model.Duration `yaml:"within"`
}

type fileHPA struct {
	Name           string         `yaml:"name"`
	MinReplicas    int64          `yaml:"minReplicas"`
	Within         model.Duration `yaml:"within"`
	BaselineWithin model.Duration `yaml:"baselineWithin"`
}

type fileJudgement struct {
	Confidence       float64 `yaml:"confidence"`
	PassScore        float64 `yaml:"passScore"`
	MarginalScore    float64 `yaml:"marginalScore"`
	MinJudged        float64 `yaml:"minJudged"`
	AbortOnHardBound bool    `yaml:"abortOnHardBound"`
}

func defaultFile() fileHypothesis {
	return fileHypothesis{Spec: fileSpec{
		Baseline: fileBaseline{Duration: model.Duration(DefaultBaseline)},
		Step:     model.Duration(DefaultStep),
		Judgement: fileJudgement{
			Confidence:       DefaultConfidence,
			PassScore:        DefaultPassScore,
			MarginalScore:    DefaultMarginalScore,
			MinJudged:        DefaultMinJudged,
			AbortOnHardBound: DefaultAbortOnHardBound,
		},
	}}
}

// percent is a relative effect: "20%" or the fraction 0.2.
type percent float64

func (percent) YAMLType() string { return `a percentage ("20%") or a fraction (0.2)` }

func (p *percent) UnmarshalYAML(n *yaml.Node) error {
	n = yamlnode.Resolve(n)
	switch n.ShortTag() {
	case "!!int", "!!float":
		var f float64
		if err := n.Decode(&f); err != nil {
			return err
		}
		if f > 1 {
			return fmt.Errorf("%s would be %s%%: write %s%% for %s percent, or a fraction of at most 1",
				n.Value, strconv.FormatFloat(f*100, 'g', -1, 64), n.Value, n.Value)
		}
		*p = percent(f)
		return nil
	case "!!str":
		num, ok := strings.CutSuffix(strings.TrimSpace(n.Value), "%")
		if ok {
			f, err := strconv.ParseFloat(strings.TrimSpace(num), 64)
			if err == nil && !math.IsInf(f, 0) && !math.IsNaN(f) {
				*p = percent(f / 100)
				return nil
			}
		}
	}
	return fmt.Errorf("want %s, got %s", p.YAMLType(), yamlnode.Describe(n))
}

// timestamp is an RFC 3339 time with its offset.
type timestamp struct{ time.Time }

func (timestamp) YAMLType() string { return "an RFC 3339 time" }

func (t *timestamp) UnmarshalYAML(n *yaml.Node) error {
	n = yamlnode.Resolve(n)
	v, err := time.Parse(time.RFC3339Nano, n.Value)
	if err != nil {
		return fmt.Errorf("%q is not an RFC 3339 time such as 2026-11-21T10:00:00Z", n.Value)
	}
	t.Time = v
	return nil
}

// build validates f and converts it into a Hypothesis. It returns the first
// problem found, in field order.
func (f *fileHypothesis) build() (Hypothesis, *Error) {
	switch f.APIVersion {
	case APIVersion:
	case "":
		return Hypothesis{}, fieldErrorf("apiVersion", "missing, want %s", APIVersion)
	default:
		return Hypothesis{}, fieldErrorf("apiVersion", "%q is not supported, want %s", f.APIVersion, APIVersion)
	}
	switch f.Kind {
	case Kind:
	case "":
		return Hypothesis{}, fieldErrorf("kind", "missing, want %s", Kind)
	default:
		return Hypothesis{}, fieldErrorf("kind", "%q is not supported, want %s", f.Kind, Kind)
	}
	if err := validateName("metadata.name", f.Metadata.Name); err != nil {
		return Hypothesis{}, err
	}
	s := &f.Spec
	h := Hypothesis{
		Name:        f.Metadata.Name,
		Description: s.Description,
		Service:     s.Service,
		Namespace:   s.Namespace,
		Groups:      Groups{Control: s.Groups.Control, Experimental: s.Groups.Experimental},
	}
	if h.Service == "" {
		return Hypothesis{}, fieldErrorf("spec.service", "missing: name the service whose chaos the hypothesis is about")
	}
	if errs := validation.IsValidLabelValue(h.Service); len(errs) > 0 {
		return Hypothesis{}, fieldErrorf("spec.service", "%q is not a valid label value: %s", h.Service, strings.Join(errs, "; "))
	}
	if h.Namespace != "" {
		if errs := validation.IsDNS1123Label(h.Namespace); len(errs) > 0 {
			return Hypothesis{}, fieldErrorf("spec.namespace", "%q is not a valid namespace name: %s", h.Namespace, strings.Join(errs, "; "))
		}
	}
	if err := s.Groups.validate(); err != nil {
		return Hypothesis{}, err
	}
	var err *Error
	if h.Window, err = s.Window.build(h.Namespace); err != nil {
		return Hypothesis{}, err
	}
	if h.Baseline = time.Duration(s.Baseline.Duration); h.Baseline <= 0 {
		return Hypothesis{}, fieldErrorf("spec.baseline.duration", "must be greater than 0, got %s", s.Baseline.Duration)
	}
	if h.Step = time.Duration(s.Step); h.Step <= 0 {
		return Hypothesis{}, fieldErrorf("spec.step", "must be greater than 0, got %s", s.Step)
	}
	if err := checkStep(h.Step, h.Window, h.Baseline); err != nil {
		return Hypothesis{}, err
	}
	groups := []namedSelector{{string(chaos.Control), h.Groups.Control}, {string(chaos.Experimental), h.Groups.Experimental}}
	names := make(map[string]int, len(s.Metrics))
	for i := range s.Metrics {
		path := fmt.Sprintf("spec.metrics[%d]", i)
		m, err := s.Metrics[i].build(path, groups)
		if err != nil {
			return Hypothesis{}, err
		}
		if j, dup := names[m.Name]; dup {
			return Hypothesis{}, fieldErrorf(path+".name", "duplicate metric %q (also spec.metrics[%d])", m.Name, j)
		}
		names[m.Name] = i
		m.groups = h.Groups
		h.Metrics = append(h.Metrics, m)
	}
	if h.Recovery, err = s.Recovery.build(); err != nil {
		return Hypothesis{}, err
	}
	if len(h.Metrics) == 0 && h.Recovery.empty() {
		return Hypothesis{}, fieldErrorf("spec", "nothing to judge: want at least one of metrics and recovery expectations")
	}
	if h.Judgement, err = s.Judgement.build(); err != nil {
		return Hypothesis{}, err
	}
	return h, nil
}

func validateName(path, name string) *Error {
	if name == "" {
		return fieldErrorf(path, "missing")
	}
	if errs := validation.IsDNS1123Label(name); len(errs) > 0 {
		return fieldErrorf(path, "%q is not a valid name: %s", name, strings.Join(errs, "; "))
	}
	return nil
}

func (g *fileGroups) validate() *Error {
	control, err := parseSelector("spec.groups.control", g.Control)
	if err != nil {
		return err
	}
	experimental, err := parseSelector("spec.groups.experimental", g.Experimental)
	if err != nil {
		return err
	}
	if control == experimental {
		err := fieldErrorf("spec.groups.experimental", "must select other series than spec.groups.control (both are {%s})", control)
		err.Alt = []string{"spec.groups.control"}
		return err
	}
	return nil
}

// build builds the window; namespace is the hypothesis's, an experiment
// window's default.
func (w *fileWindow) build(namespace string) (Window, *Error) {
	var set []string
	for _, f := range []struct {
		name string
		set  bool
	}{{"fixed", w.Fixed != nil}, {"events", w.Events != nil}, {"experiment", w.Experiment != nil}} {
		if f.set {
			set = append(set, f.name)
		}
	}
	switch {
	case len(set) == 0:
		return Window{}, fieldErrorf("spec.window", "missing: want fixed (start and end), events or experiment")
	case len(set) > 1:
		return Window{}, fieldErrorf("spec.window."+set[1], "%s and %s are exclusive: set one", set[0], set[1])
	case w.Experiment != nil:
		ew, err := w.Experiment.build(namespace)
		if err != nil {
			return Window{}, err
		}
		return Window{Experiment: ew}, nil
	case w.Fixed != nil:
		f := w.Fixed
		switch {
		case f.Start.IsZero():
			return Window{}, fieldErrorf("spec.window.fixed.start", "missing")
		case f.End.IsZero():
			return Window{}, fieldErrorf("spec.window.fixed.end", "missing")
		case !f.End.After(f.Start.Time):
			return Window{}, fieldErrorf("spec.window.fixed.end", "must be after start (%s), got %s",
				f.Start.Format(time.RFC3339), f.End.Format(time.RFC3339))
		}
		return Window{Fixed: &FixedWindow{Start: f.Start.Time, End: f.End.Time}}, nil
	}
	e := w.Events
	ew := &EventWindow{Lookback: time.Duration(e.Lookback), Before: time.Duration(e.Before), After: time.Duration(e.After)}
	for i, k := range e.Kinds {
		path := fmt.Sprintf("spec.window.events.kinds[%d]", i)
		if !slices.Contains(chaos.Kinds, chaos.Kind(k)) {
			return Window{}, fieldErrorf(path, "unknown event kind %q, want one of %s", k, kindList())
		}
		if j := slices.Index(ew.Kinds, chaos.Kind(k)); j >= 0 {
			return Window{}, fieldErrorf(path, "duplicate kind %q (also spec.window.events.kinds[%d])", k, j)
		}
		ew.Kinds = append(ew.Kinds, chaos.Kind(k))
	}
	if len(ew.Kinds) == 0 {
		ew.Kinds = slices.Clone(chaos.Kinds)
	}
	if ew.Lookback <= 0 {
		return Window{}, fieldErrorf("spec.window.events.lookback", "must be greater than 0, got %s", e.Lookback)
	}
	return Window{Events: ew}, nil
}

func (e *fileExperiment) build(namespace string) (*ExperimentWindow, *Error) {
	const path = "spec.window.experiment"
	out := &ExperimentWindow{
		Tool: experiment.Tool(e.Tool), Name: e.Name, Namespace: e.Namespace, Fault: e.Fault,
		Lookback: time.Duration(e.Lookback), Before: time.Duration(e.Before), After: time.Duration(e.After),
	}
	switch out.Tool {
	case experiment.Litmus, experiment.ChaosMesh:
	case "":
		return nil, fieldErrorf(path+".tool", "missing, want %s or %s", experiment.Litmus, experiment.ChaosMesh)
	default:
		return nil, fieldErrorf(path+".tool", "%q is not one of %s, %s", e.Tool, experiment.Litmus, experiment.ChaosMesh)
	}
	switch {
	case e.Selector != nil && out.Name != "":
		return nil, fieldErrorf(path+".selector", "name and selector are exclusive: set one")
	case e.Selector != nil:
		sel, err := k8slabels.Parse(*e.Selector)
		if err != nil {
			return nil, fieldErrorf(path+".selector", "%q is not a label selector: %v", *e.Selector, err)
		}
		if sel.Empty() {
			return nil, fieldErrorf(path+".selector", "%q selects every experiment: give at least one requirement (team=shop, fault in (pod-delete)…)", *e.Selector)
		}
		out.Selector = sel
	case out.Name == "":
		return nil, fieldErrorf(path+".name", "missing: name the %s object (%s) whose run is the window, or select objects by their labels with selector",
			out.Tool, toolKinds(out.Tool))
	default:
		if errs := validation.IsDNS1123Subdomain(out.Name); len(errs) > 0 {
			return nil, fieldErrorf(path+".name", "%q is not a valid object name: %s", out.Name, strings.Join(errs, "; "))
		}
	}
	if out.Namespace == "" {
		if namespace == "" {
			return nil, fieldErrorf(path+".namespace", "missing: name the namespace of %s (the hypothesis has no spec.namespace to default to)", out.object())
		}
		out.Namespace = namespace
	} else if errs := validation.IsDNS1123Label(out.Namespace); len(errs) > 0 {
		return nil, fieldErrorf(path+".namespace", "%q is not a valid namespace name: %s", out.Namespace, strings.Join(errs, "; "))
	}
	if f := out.Fault; f != "" && (strings.TrimSpace(f) != f || strings.ContainsFunc(f, unicode.IsControl)) {
		return nil, fieldErrorf(path+".fault", "%q is not a fault name (pod-delete, pod-kill…): no surrounding spaces or control characters", f)
	}
	if out.Lookback <= 0 {
		return nil, fieldErrorf(path+".lookback", "must be greater than 0, got %s", e.Lookback)
	}
	return out, nil
}

// toolKinds names the objects of a tool that are experiments.
func toolKinds(t experiment.Tool) string {
	if t == experiment.Litmus {
		return "a ChaosEngine"
	}
	k := experiment.ChaosMeshKinds
	return "a " + strings.Join(k[:len(k)-1], ", ") + " or " + k[len(k)-1]
}

func kindList() string {
	s := make([]string, len(chaos.Kinds))
	for i, k := range chaos.Kinds {
		s[i] = string(k)
	}
	return strings.Join(s, ", ")
}

func (m *fileMetric) build(path string, groups []namedSelector) (Metric, *Error) {
	if err := validateName(path+".name", m.Name); err != nil {
		return Metric{}, err
	}
	out := Metric{Name: m.Name, Critical: m.Critical, Weight: m.Weight}
	switch {
	case m.Query == "" && m.Ratio == nil:
		return Metric{}, fieldErrorf(path, "want query or ratio")
	case m.Query != "" && m.Ratio != nil:
		return Metric{}, fieldErrorf(path+".ratio", "query and ratio are exclusive: set one")
	case m.Query != "":
		t, err := parseTemplate(path+".query", m.Query)
		if err != nil {
			return Metric{}, err
		}
		if err := checkQuery(path+".query", t, groups); err != nil {
			return Metric{}, err
		}
		out.Value = t
	default:
		r, err := m.Ratio.build(path+".ratio", groups)
		if err != nil {
			return Metric{}, err
		}
		out.Ratio = r
	}
	switch Direction(m.Direction) {
	case HigherIsWorse, LowerIsWorse, Either:
		if m.AllowedEffect == nil {
			return Metric{}, fieldErrorf(path+".allowedEffect", "missing: a direction needs the effect it allows")
		}
	case "":
		if m.AllowedEffect != nil {
			return Metric{}, fieldErrorf(path+".direction", "missing: want %s, %s or %s with allowedEffect", HigherIsWorse, LowerIsWorse, Either)
		}
	default:
		return Metric{}, fieldErrorf(path+".direction", "%q is not one of %s, %s, %s", m.Direction, HigherIsWorse, LowerIsWorse, Either)
	}
	out.Direction = Direction(m.Direction)
	if m.AllowedEffect != nil {
		if e := float64(*m.AllowedEffect); !(e > 0) {
			return Metric{}, fieldErrorf(path+".allowedEffect", "must be greater than 0%%, got %s%%", strconv.FormatFloat(e*100, 'g', -1, 64))
		}
		out.AllowedEffect = float64(*m.AllowedEffect)
	}
	if !(m.Weight > 0) || math.IsInf(m.Weight, 0) {
		return Metric{}, fieldErrorf(path+".weight", "must be a number greater than 0, got %s", strconv.FormatFloat(m.Weight, 'g', -1, 64))
	}
	if m.SLO != nil {
		b, err := m.SLO.build(path+".slo", out.Ratio != nil)
		if err != nil {
			return Metric{}, err
		}
		out.SLO = &b
	}
	if !out.Compared() && out.SLO == nil {
		return Metric{}, fieldErrorf(path, "nothing to judge: want direction and allowedEffect, an slo, or both")
	}
	switch a := Aggregate(m.Aggregate); a {
	case "":
	case AggregateSum, AggregateAvg, AggregateMax, AggregateMin:
		if out.Ratio != nil && a != AggregateSum {
			return Metric{}, fieldErrorf(path+".aggregate", "%q cannot combine a ratio's counts: they add up, want %s", a, AggregateSum)
		}
		out.Aggregate = a
	default:
		return Metric{}, fieldErrorf(path+".aggregate", "%q is not one of %s, %s, %s, %s", m.Aggregate, AggregateSum, AggregateAvg, AggregateMax, AggregateMin)
	}
	return out, nil
}

// checkStep refuses a step below MinStep, and one that makes more than
// MaxPoints points per query over the longest period queried: the fixed
// window, or the longest an event or experiment window can be (before +
// lookback + after), or the baseline.
func checkStep(step time.Duration, w Window, baseline time.Duration) *Error {
	if step < MinStep {
		return fieldErrorf("spec.step", "must be at least %s, got %s: a step shorter than the scrape interval only repeats the same samples",
			model.Duration(MinStep), model.Duration(step))
	}
	span, what := baseline, "baseline"
	switch {
	case w.Fixed != nil && w.Fixed.End.Sub(w.Fixed.Start) > span:
		span, what = w.Fixed.End.Sub(w.Fixed.Start), "window"
	case w.Events != nil && w.Events.Before+w.Events.Lookback+w.Events.After > span:
		span, what = w.Events.Before+w.Events.Lookback+w.Events.After, "longest window (before + lookback + after)"
	case w.Experiment != nil && w.Experiment.Before+w.Experiment.Lookback+w.Experiment.After > span:
		span, what = w.Experiment.Before+w.Experiment.Lookback+w.Experiment.After, "longest window (before + lookback + after)"
	}
	if points := int64(span/step) + 1; points > MaxPoints {
		least := (span + MaxPoints - 2) / (MaxPoints - 1)
		least = (least + time.Second - 1).Truncate(time.Second)
		return fieldErrorf("spec.step", "%s makes %d points per query over the %s of %s, more than the %d Prometheus allows: use a step of at least %s",
			model.Duration(step), points, what, model.Duration(span), MaxPoints, model.Duration(least))
	}
	return nil
}

func (r *fileRatio) build(path string, groups []namedSelector) (*Ratio, *Error) {
	out := &Ratio{MinTotal: r.MinTotal}
	for _, q := range []struct {
		name string
		text string
		dst  *Template
	}{{"errors", r.Errors, &out.Errors}, {"total", r.Total, &out.Total}} {
		p := path + "." + q.name
		if q.text == "" {
			return nil, fieldErrorf(p, "missing")
		}
		t, err := parseTemplate(p, q.text)
		if err != nil {
			return nil, err
		}
		if err := checkQuery(p, t, groups); err != nil {
			return nil, err
		}
		*q.dst = t
	}
	if !(r.MinTotal > 0) || math.IsInf(r.MinTotal, 0) {
		return nil, fieldErrorf(path+".minTotal", "must be a number greater than 0, got %s", strconv.FormatFloat(r.MinTotal, 'g', -1, 64))
	}
	return out, nil
}

func (b *fileBound) build(path string, ratio bool) (Bound, *Error) {
	out := unbounded()
	if b.Min == nil && b.Max == nil {
		return Bound{}, fieldErrorf(path, "want min, max or both")
	}
	for _, v := range []struct {
		name string
		val  *float64
		dst  *float64
	}{{"min", b.Min, &out.Min}, {"max", b.Max, &out.Max}} {
		if v.val == nil {
			continue
		}
		f := *v.val
		if math.IsNaN(f) || math.IsInf(f, 0) {
			return Bound{}, fieldErrorf(path+"."+v.name, "must be a finite number, got %s", strconv.FormatFloat(f, 'g', -1, 64))
		}
		if ratio && (f < 0 || f > 1) {
			return Bound{}, fieldErrorf(path+"."+v.name, "a ratio is between 0 and 1 (1%% is 0.01), got %s", strconv.FormatFloat(f, 'g', -1, 64))
		}
		*v.dst = f
	}
	if out.Min >= out.Max {
		return Bound{}, fieldErrorf(path+".max", "must be greater than min (%s), got %s",
			strconv.FormatFloat(out.Min, 'g', -1, 64), strconv.FormatFloat(out.Max, 'g', -1, 64))
	}
	return out, nil
}

func (r *fileRecovery) build() (Recovery, *Error) {
	var out Recovery
	if r.MTTR != nil {
		if *r.MTTR <= 0 {
			return Recovery{}, fieldErrorf("spec.recovery.mttr", "must be greater than 0, got %s", *r.MTTR)
		}
		out.MTTR = time.Duration(*r.MTTR)
	}
	names := make(map[string]int, len(r.Alerts))
	for i, a := range r.Alerts {
		path := fmt.Sprintf("spec.recovery.alerts[%d]", i)
		if a.Name == "" {
			return Recovery{}, fieldErrorf(path+".name", "missing")
		}
		if !utf8.ValidString(a.Name) {
			return Recovery{}, fieldErrorf(path+".name", "%q is not a valid alert name", a.Name)
		}
		var ms labels.Matchers
		for k, text := range a.Matchers {
			m, err := labels.ParseMatcher(text)
			if err != nil {
				return Recovery{}, fieldErrorf(fmt.Sprintf("%s.matchers[%d]", path, k), "%s is not an Alertmanager matcher: %v", text, err)
			}
			if m.Name == model.AlertNameLabel {
				return Recovery{}, fieldErrorf(fmt.Sprintf("%s.matchers[%d]", path, k), "alertname is set by name, not by a matcher")
			}
			ms = append(ms, m)
		}
		sort.Sort(ms)
		exp := AlertExpectation{Name: a.Name, Matchers: ms, Within: time.Duration(a.Within)}
		if j, dup := names[exp.String()]; dup {
			return Recovery{}, fieldErrorf(path+".name", "duplicate alert %s (also spec.recovery.alerts[%d])", exp, j)
		}
		names[exp.String()] = i
		if a.Within <= 0 {
			return Recovery{}, fieldErrorf(path+".within", "must be greater than 0, got %s", a.Within)
		}
		out.Alerts = append(out.Alerts, exp)
	}
	if h := r.HPA; h != nil {
		const path = "spec.recovery.hpa"
		if h.Name == "" {
			return Recovery{}, fieldErrorf(path+".name", "missing")
		}
		if errs := validation.IsDNS1123Subdomain(h.Name); len(errs) > 0 {
			return Recovery{}, fieldErrorf(path+".name", "%q is not a valid HorizontalPodAutoscaler name: %s", h.Name, strings.Join(errs, "; "))
		}
		if h.MinReplicas < 1 || h.MinReplicas > math.MaxInt32 {
			return Recovery{}, fieldErrorf(path+".minReplicas", "must be between 1 and %d, got %d", math.MaxInt32, h.MinReplicas)
		}
		if h.Within <= 0 {
			return Recovery{}, fieldErrorf(path+".within", "must be greater than 0, got %s", h.Within)
		}
		if h.BaselineWithin <= 0 {
			return Recovery{}, fieldErrorf(path+".baselineWithin", "must be greater than 0, got %s", h.BaselineWithin)
		}
		out.HPA = &HPAExpectation{
			Name:           h.Name,
			MinReplicas:    int32(h.MinReplicas),
			Within:         time.Duration(h.Within),
			BaselineWithin: time.Duration(h.BaselineWithin),
		}
	}
	if r.ReplacementReady != nil {
		if *r.ReplacementReady <= 0 {
			return Recovery{}, fieldErrorf("spec.recovery.replacementReady", "must be greater than 0, got %s", *r.ReplacementReady)
		}
		out.ReplacementReady = time.Duration(*r.ReplacementReady)
	}
	return out, nil
}

func (r *Recovery) empty() bool {
	return r.MTTR == 0 && len(r.Alerts) == 0 && r.HPA == nil && r.ReplacementReady == 0
}

func (j *fileJudgement) build() (Judgement, *Error) {
	const path = "spec.judgement"
	if !(j.Confidence > 0.5 && j.Confidence < 1) {
		return Judgement{}, fieldErrorf(path+".confidence", "must be between 0.5 and 1 (exclusive), got %s", formatFloat(j.Confidence))
	}
	for _, s := range []struct {
		name string
		v    float64
	}{{"passScore", j.PassScore}, {"marginalScore", j.MarginalScore}} {
		if !(s.v >= 0 && s.v <= 100) {
			return Judgement{}, fieldErrorf(path+"."+s.name, "must be between 0 and 100, got %s", formatFloat(s.v))
		}
	}
	if j.MarginalScore > j.PassScore {
		err := fieldErrorf(path+".marginalScore", "must not be greater than passScore (%s), got %s", formatFloat(j.PassScore), formatFloat(j.MarginalScore))
		err.Alt = []string{path + ".passScore"}
		return Judgement{}, err
	}
	if !(j.MinJudged > 0 && j.MinJudged <= 1) {
		return Judgement{}, fieldErrorf(path+".minJudged", "must be a fraction greater than 0 and at most 1, got %s", formatFloat(j.MinJudged))
	}
	return Judgement{
		Confidence:       j.Confidence,
		PassScore:        j.PassScore,
		MarginalScore:    j.MarginalScore,
		MinJudged:        j.MinJudged,
		AbortOnHardBound: j.AbortOnHardBound,
	}, nil
}

func formatFloat(f float64) string { return strconv.FormatFloat(f, 'g', -1, 64) }
