package demo

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"maps"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/common/model"
	"go.yaml.in/yaml/v3"

	"github.com/steadywatch/steadywatch/hypothesis"
	"github.com/steadywatch/steadywatch/internal/yamlnode"
)

// Adaptation says how the demo changes an example hypothesis file.
type Adaptation struct {
	// TimeScale divides every duration; at least 1.
	TimeScale int
	// Namespace replaces spec.namespace when not "".
	Namespace string
	// Window, when set, replaces spec.window with a fixed window: the
	// demo's attack schedule.
	Window *FixedWindow
	// Lookback, when above 0, replaces the event or experiment window's
	// lookback after scaling, so that an experiment does not look back into
	// the one before it.
	Lookback time.Duration
	// Floors raise scaled durations, by field path (e.g.
	// "spec.recovery.hpa.within"), to what the testbed's controllers can
	// meet.
	Floors map[string]Floor
	// Set replaces scalar values, by field path (e.g. "spec.recovery.mttr":
	// "1s" for the demo's deliberately broken runs), after everything else.
	Set map[string]string
}

// FixedWindow is a window given by its times.
type FixedWindow struct {
	Start, End time.Time
}

// Floor is the least a scaled duration may be, and why.
type Floor struct {
	Min time.Duration
	Why string
}

// Change is one field the adaptation changed: From is its value in the
// example file (marked "(default)" when the file left it to its default),
// To its value in the adapted one. A query's change names only the ranges
// and offsets that changed.
type Change struct {
	Path, From, To, Why string
}

// Why a field changed.
const (
	whySchedule = "the demo's attack schedule"
	whyLookback = "the demo's lookback: an experiment does not look back into the one before it"
	whySet      = "set by the demo"
	whyNS       = "the demo's namespace"
)

// field is a field of the hypothesis file format that is scaled: every
// model.Duration of hypothesis/file.go's wire types, and the PromQL
// templates. The parent is a path whose "[]" stands for every item of a
// list; def is the default that applies when the file leaves the field out
// (so the demo scales it too); before lists the fields the default is
// written in front of, to keep the format's order.
type field struct {
	parent, key string
	query       bool
	def         time.Duration
	before      []string
}

var fields = []field{
	{parent: "spec.window.events", key: "lookback", def: hypothesis.DefaultLookback, before: []string{"before", "after"}},
	{parent: "spec.window.events", key: "before"},
	{parent: "spec.window.events", key: "after", def: hypothesis.DefaultAfter},
	{parent: "spec.window.experiment", key: "lookback", def: hypothesis.DefaultLookback, before: []string{"before", "after"}},
	{parent: "spec.window.experiment", key: "before"},
	{parent: "spec.window.experiment", key: "after", def: hypothesis.DefaultAfter},
	{parent: "spec.baseline", key: "duration", def: hypothesis.DefaultBaseline},
	{parent: "spec", key: "step", def: hypothesis.DefaultStep, before: []string{"metrics", "recovery", "judgement"}},
	{parent: "spec.metrics[]", key: "query", query: true},
	{parent: "spec.metrics[].ratio", key: "errors", query: true},
	{parent: "spec.metrics[].ratio", key: "total", query: true},
	{parent: "spec.recovery", key: "mttr"},
	{parent: "spec.recovery.alerts[]", key: "within"},
	{parent: "spec.recovery.hpa", key: "within"},
	{parent: "spec.recovery.hpa", key: "baselineWithin"},
	{parent: "spec.recovery", key: "replacementReady"},
}

// Adapt returns src, a hypothesis file of one hypothesis, adapted as a
// says, and every field it changed in the file's order. It edits the YAML
// node tree, so that comments and the order of the fields survive, and
// checks that the result loads as a hypothesis. Nothing to change returns
// src as it is.
func Adapt(src []byte, a Adaptation) ([]byte, []Change, error) {
	if a.TimeScale < 1 {
		return nil, nil, fmt.Errorf("time scale %d: must be at least 1", a.TimeScale)
	}
	doc, err := document(src)
	if err != nil {
		return nil, nil, err
	}
	ad := &adapter{a: a, root: yamlnode.Resolve(doc.Content[0]), recs: map[string]*record{}, durs: map[string]*duration{}}
	if err := ad.adapt(); err != nil {
		return nil, nil, err
	}
	changes := ad.changes()
	out := src
	if len(changes) > 0 {
		var b bytes.Buffer
		enc := yaml.NewEncoder(&b)
		enc.SetIndent(2)
		if err := enc.Encode(doc); err != nil {
			return nil, nil, fmt.Errorf("writing the adapted hypothesis: %w", err)
		}
		if err := enc.Close(); err != nil {
			return nil, nil, fmt.Errorf("writing the adapted hypothesis: %w", err)
		}
		out = b.Bytes()
	}
	if _, err := hypothesis.Parse(out, "adapted"); err != nil {
		return nil, nil, fmt.Errorf("the adapted hypothesis does not load: %w", err)
	}
	return out, changes, nil
}

// document returns the one document of src that is not empty.
func document(src []byte) (*yaml.Node, error) {
	dec := yaml.NewDecoder(bytes.NewReader(src))
	var found *yaml.Node
	for n := 0; ; {
		var doc yaml.Node
		if err := dec.Decode(&doc); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			msg, line := yamlnode.Syntax(err)
			return nil, errors.New(yamlnode.Message("", line, "", nil, msg))
		}
		if doc.Kind != yaml.DocumentNode || len(doc.Content) == 0 || yamlnode.IsNull(yamlnode.Resolve(doc.Content[0])) {
			continue
		}
		if n++; n > 1 {
			return nil, fmt.Errorf("line %d: want one hypothesis per file, found a second", doc.Line)
		}
		found = &doc
	}
	if found == nil {
		return nil, errors.New("no hypothesis in the file")
	}
	if found.Content[0].Kind == yaml.AliasNode || yamlnode.Resolve(found.Content[0]).Kind != yaml.MappingNode {
		return nil, fmt.Errorf("line %d: want a hypothesis, a mapping", found.Content[0].Line)
	}
	return found, nil
}

// record is a changed field: its value in the example file, where it was
// written there (for the order of the changes) and its change.
type record struct {
	orig   string
	line   int
	seq    int
	change Change
	node   *yaml.Node // the field's value now
}

// duration is a scaled duration field.
type duration struct {
	path   string
	node   *yaml.Node
	scaled time.Duration
}

type adapter struct {
	a    Adaptation
	root *yaml.Node
	recs map[string]*record
	// durs are the duration fields by path; an alias of a field already
	// scaled is a second path to the same duration.
	durs map[string]*duration
}

func (ad *adapter) why() string { return "time scale 1/" + strconv.Itoa(ad.a.TimeScale) }

// note records that the field at path, whose value is node, now reads to;
// orig is its value in the example file, the first time it changes.
func (ad *adapter) note(path string, node *yaml.Node, orig, from, to, why string, line int) {
	r, ok := ad.recs[path]
	if !ok {
		r = &record{orig: orig, line: line, seq: len(ad.recs), change: Change{Path: path, From: from}}
		ad.recs[path] = r
	}
	r.node, r.change.To, r.change.Why = node, to, why
}

// changes lists the changes in the order of the example file, leaving out
// fields whose value came back to what it was.
func (ad *adapter) changes() []Change {
	recs := slices.Collect(maps.Values(ad.recs))
	slices.SortFunc(recs, func(a, b *record) int {
		if a.line != b.line {
			return a.line - b.line
		}
		return a.seq - b.seq
	})
	var out []Change
	for _, r := range recs {
		if r.node != nil && r.node.Kind == yaml.ScalarNode && r.node.Value == r.orig {
			continue
		}
		out = append(out, r.change)
	}
	return out
}

func (ad *adapter) adapt() error {
	spec := lookup(ad.root, "spec")
	if spec != nil {
		spec = yamlnode.Resolve(spec)
	}
	if ad.a.Namespace != "" {
		if err := ad.namespace(spec); err != nil {
			return err
		}
	}
	if ad.a.Window != nil {
		if err := ad.window(spec); err != nil {
			return err
		}
	}
	if spec != nil && spec.Kind == yaml.MappingNode && ad.a.TimeScale > 1 && lookup(spec, "baseline") == nil {
		// Its default, scaled, is written into it below.
		before := []string{"step", "metrics", "recovery", "judgement"}
		b := &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map", Style: yaml.FlowStyle, Line: insertLine(spec, before)}
		insert(spec, "baseline", b, before...)
	}
	// The fields written in place first, so that a change is listed
	// under the path of its anchor rather than of an alias to it; then
	// aliases and the defaults to write.
	type later struct {
		f    field
		path string
		m    *yaml.Node
	}
	var rest []later
	for _, f := range fields {
		for _, p := range parents(ad.root, f.parent) {
			if v := lookup(p.node, f.key); v == nil || v.Kind == yaml.AliasNode {
				rest = append(rest, later{f, p.path, p.node})
				continue
			}
			if err := ad.scale(f, p.path, p.node); err != nil {
				return err
			}
		}
	}
	for _, l := range rest {
		if err := ad.scale(l.f, l.path, l.m); err != nil {
			return err
		}
	}
	for _, path := range slices.Sorted(maps.Keys(ad.a.Floors)) {
		if err := ad.floor(path, ad.a.Floors[path]); err != nil {
			return err
		}
	}
	if ad.a.Lookback > 0 {
		if err := ad.lookback(); err != nil {
			return err
		}
	}
	for _, path := range slices.Sorted(maps.Keys(ad.a.Set)) {
		if err := ad.set(path, ad.a.Set[path]); err != nil {
			return err
		}
	}
	return nil
}

func (ad *adapter) namespace(spec *yaml.Node) error {
	const path = "spec.namespace"
	if spec == nil || spec.Kind != yaml.MappingNode {
		return errors.New("spec: not in the file, so there is no namespace to set")
	}
	n := lookup(spec, "namespace")
	if n == nil {
		n = scalar(ad.a.Namespace)
		line := spec.Line
		if k := keyOf(spec, "service"); k != nil {
			line = k.Line
		}
		insert(spec, "namespace", n, "groups", "window", "baseline", "step", "metrics", "recovery", "judgement")
		ad.note(path, n, "", "(none)", ad.a.Namespace, whyNS, line)
		return nil
	}
	n = yamlnode.Resolve(n)
	if n.Kind != yaml.ScalarNode {
		return fmt.Errorf("line %d: %s: want a namespace, got %s", n.Line, path, yamlnode.Describe(n))
	}
	ad.note(path, n, n.Value, n.Value, ad.a.Namespace, whyNS, n.Line)
	setScalar(n, ad.a.Namespace)
	return nil
}

// window writes the demo's attack schedule: into the file's fixed window
// when it has one (its comments kept), else in place of its window.
func (ad *adapter) window(spec *yaml.Node) error {
	w := ad.a.Window
	start, end := w.Start.Format(time.RFC3339Nano), w.End.Format(time.RFC3339Nano)
	var win *yaml.Node
	if spec != nil && spec.Kind == yaml.MappingNode {
		win = lookup(spec, "window")
	}
	if win == nil {
		return errors.New("spec.window: not in the file, so there is no window to replace")
	}
	rw := yamlnode.Resolve(win)
	if rw.Kind == yaml.MappingNode && len(rw.Content) == 2 {
		if f := lookup(rw, "fixed"); f != nil {
			f = yamlnode.Resolve(f)
			s, e := lookup(f, "start"), lookup(f, "end")
			if s != nil && e != nil && s.Kind == yaml.ScalarNode && e.Kind == yaml.ScalarNode && len(f.Content) == 4 {
				ad.note("spec.window.fixed.start", s, s.Value, s.Value, start, whySchedule, s.Line)
				ad.note("spec.window.fixed.end", e, e.Value, e.Value, end, whySchedule, e.Line)
				setScalar(s, start)
				setScalar(e, end)
				return nil
			}
		}
	}
	from := oneLine(rw)
	fixed := &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map", Style: yaml.FlowStyle}
	fixed.Content = []*yaml.Node{scalar("start"), scalar(start), scalar("end"), scalar(end)}
	line := win.Line
	*win = yaml.Node{Kind: yaml.MappingNode, Tag: "!!map", Content: []*yaml.Node{scalar("fixed"), fixed}}
	ad.note("spec.window", nil, "", from, "{fixed: {start: "+start+", end: "+end+"}}", whySchedule, line)
	return nil
}

// scale scales the field f of the mapping at path, or writes its default
// scaled when the file leaves it out.
func (ad *adapter) scale(f field, parent string, m *yaml.Node) error {
	path := parent + "." + f.key
	v := lookup(m, f.key)
	if v == nil {
		if f.query || f.def == 0 || ad.a.TimeScale == 1 {
			return nil
		}
		line := insertLine(m, f.before)
		scaled := scaleDuration(f.def, ad.a.TimeScale)
		n := scalar(model.Duration(scaled).String())
		insert(m, f.key, n, f.before...)
		ad.durs[path] = &duration{path: path, node: n, scaled: scaled}
		ad.note(path, n, "", model.Duration(f.def).String()+" (default)", n.Value, ad.why(), line)
		return nil
	}
	n := yamlnode.Resolve(v)
	for _, d := range ad.durs {
		if d.node == n {
			ad.durs[path] = d // an alias: scaled once
			return nil
		}
	}
	if n.Kind != yaml.ScalarNode || yamlnode.IsNull(n) {
		what := "a duration"
		if f.query {
			what = "a PromQL query"
		}
		return fmt.Errorf("line %d: %s: want %s, got %s", n.Line, path, what, yamlnode.Describe(n))
	}
	if f.query {
		q, c, err := scaleQuery(path, n.Value, ad.a.TimeScale)
		if err != nil {
			return fmt.Errorf("line %d: %w", n.Line, err)
		}
		if q != n.Value {
			ad.note(path, n, n.Value, c.From, c.To, c.Why, n.Line)
			setScalar(n, q)
		}
		ad.durs[path] = &duration{path: path, node: n, scaled: -1}
		return nil
	}
	d, err := model.ParseDuration(strings.TrimSpace(n.Value))
	if err != nil {
		return errors.New(yamlnode.Message("", n.Line, path, err, ""))
	}
	scaled := scaleDuration(time.Duration(d), ad.a.TimeScale)
	ad.durs[path] = &duration{path: path, node: n, scaled: scaled}
	if scaled != time.Duration(d) {
		to := model.Duration(scaled).String()
		ad.note(path, n, n.Value, n.Value, to, ad.why(), n.Line)
		setScalar(n, to)
	}
	return nil
}

func (ad *adapter) floor(path string, f Floor) error {
	d, ok := ad.durs[path]
	if !ok || d.scaled < 0 {
		if n := get(ad.root, path); n != nil {
			return fmt.Errorf("floor %s: not a duration field of the hypothesis", path)
		}
		return fmt.Errorf("floor %s: not in the file", path)
	}
	if d.scaled >= f.Min {
		return nil
	}
	why := f.Why
	if r, ok := ad.recs[path]; ok {
		why = fmt.Sprintf("%s (1/%d would be %s)", f.Why, ad.a.TimeScale, r.change.To)
	}
	to := model.Duration(f.Min).String()
	ad.note(path, d.node, d.node.Value, d.node.Value, to, why, d.node.Line)
	setScalar(d.node, to)
	d.scaled = f.Min
	return nil
}

func (ad *adapter) lookback() error {
	to := model.Duration(ad.a.Lookback).String()
	for _, kind := range []string{"events", "experiment"} {
		path := "spec.window." + kind + ".lookback"
		if d, ok := ad.durs[path]; ok {
			ad.note(path, d.node, d.node.Value, d.node.Value, to, whyLookback, d.node.Line)
			setScalar(d.node, to)
			d.scaled = ad.a.Lookback
			return nil
		}
		m := get(ad.root, "spec.window."+kind)
		if m == nil {
			continue
		}
		if m = yamlnode.Resolve(m); m.Kind != yaml.MappingNode {
			continue
		}
		// Left to its default at a time scale of 1.
		n := scalar(to)
		insert(m, "lookback", n, "before", "after")
		ad.note(path, n, "", model.Duration(hypothesis.DefaultLookback).String()+" (default)", to, whyLookback, m.Line)
		return nil
	}
	return errors.New("lookback: spec.window has no events or experiment window to set it in")
}

func (ad *adapter) set(path, value string) error {
	n := get(ad.root, path)
	if n == nil {
		return fmt.Errorf("set %s: not in the file", path)
	}
	n = yamlnode.Resolve(n)
	if n.Kind != yaml.ScalarNode {
		return fmt.Errorf("set %s: want a field with a single value, got %s", path, yamlnode.Describe(n))
	}
	orig := n.Value
	from := n.Value
	if r, ok := ad.recs[path]; ok {
		orig = r.orig
		if from = r.orig; from == "" {
			from = r.change.From
		}
		r.change.From = from
	}
	ad.note(path, n, orig, from, value, whySet, n.Line)
	n.Value, n.Tag, n.Style = value, "", 0
	if strings.Contains(value, "\n") {
		n.Style = yaml.LiteralStyle
	}
	return nil
}

// scaleDuration divides d by scale, rounded up to the next millisecond
// (away from 0): no range or bound scales to nothing.
func scaleDuration(d time.Duration, scale int) time.Duration {
	if scale == 1 {
		return d
	}
	if d < 0 && d != math.MinInt64 {
		return -scaleDuration(-d, scale)
	}
	ms := d.Milliseconds()
	if d%time.Millisecond != 0 {
		ms++
	}
	q := ms / int64(scale)
	if ms%int64(scale) != 0 {
		q++
	}
	return time.Duration(q) * time.Millisecond
}

// setScalar writes a scalar value in place, keeping its style unless it
// was written plain as something other than a string (a number, a time).
func setScalar(n *yaml.Node, v string) {
	n.Value = v
	if n.Style&(yaml.DoubleQuotedStyle|yaml.SingleQuotedStyle|yaml.LiteralStyle|yaml.FoldedStyle) == 0 {
		n.Tag = ""
	}
}

func scalar(v string) *yaml.Node { return &yaml.Node{Kind: yaml.ScalarNode, Value: v} }

// oneLine writes n as flow YAML on one line, without comments.
func oneLine(n *yaml.Node) string {
	c := flowCopy(n, 0)
	b, err := yaml.Marshal(c)
	if err != nil {
		return yamlnode.Describe(n)
	}
	return strings.TrimSpace(string(b))
}

func flowCopy(n *yaml.Node, depth int) *yaml.Node {
	c := *n
	c.HeadComment, c.LineComment, c.FootComment = "", "", ""
	if c.Kind == yaml.MappingNode || c.Kind == yaml.SequenceNode {
		c.Style |= yaml.FlowStyle
	}
	if depth > 20 {
		c.Content = nil
		return &c
	}
	c.Content = make([]*yaml.Node, len(n.Content))
	for i, k := range n.Content {
		c.Content[i] = flowCopy(k, depth+1)
	}
	return &c
}

// A path names a field as the hypothesis's errors do:
// "spec.recovery.alerts[0].within". A parent pattern writes "[]" for every
// item of a list.

type located struct {
	path string
	node *yaml.Node // a mapping
}

// parents returns the mappings pattern names, with their paths.
func parents(root *yaml.Node, pattern string) []located {
	at := []located{{"", root}}
	for part := range strings.SplitSeq(pattern, ".") {
		key, every := strings.CutSuffix(part, "[]")
		var next []located
		for _, l := range at {
			v := lookup(l.node, key)
			if v == nil {
				continue
			}
			v = yamlnode.Resolve(v)
			path := yamlnode.JoinPath(l.path, key)
			if !every {
				next = append(next, located{path, v})
				continue
			}
			if v.Kind != yaml.SequenceNode {
				continue
			}
			for i, item := range v.Content {
				next = append(next, located{fmt.Sprintf("%s[%d]", path, i), yamlnode.Resolve(item)})
			}
		}
		at = next
	}
	out := at[:0]
	for _, l := range at {
		if l.node.Kind == yaml.MappingNode {
			out = append(out, l)
		}
	}
	return out
}

// get returns the value at path, nil if the file has none.
func get(root *yaml.Node, path string) *yaml.Node {
	n := root
	for part := range strings.SplitSeq(path, ".") {
		key, rest, _ := strings.Cut(part, "[")
		if key == "" {
			return nil
		}
		if n = lookup(yamlnode.Resolve(n), key); n == nil {
			return nil
		}
		for rest != "" {
			idx, after, ok := strings.Cut(rest, "]")
			i, err := strconv.Atoi(idx)
			if !ok || err != nil || strconv.Itoa(i) != idx {
				return nil
			}
			s := yamlnode.Resolve(n)
			if s.Kind != yaml.SequenceNode || i < 0 || i >= len(s.Content) {
				return nil
			}
			n = s.Content[i]
			if rest, ok = strings.CutPrefix(after, "["); !ok && after != "" {
				return nil
			}
		}
	}
	return n
}

// lookup returns the value of key in the mapping m, following merge keys
// ("<<") as yaml.v3 does: the mapping's own keys first.
func lookup(m *yaml.Node, key string) *yaml.Node { return lookupDepth(m, key, 0) }

func lookupDepth(m *yaml.Node, key string, depth int) *yaml.Node {
	if m.Kind != yaml.MappingNode || depth > 8 {
		return nil
	}
	var merged []*yaml.Node
	for i := 0; i+1 < len(m.Content); i += 2 {
		k := yamlnode.Resolve(m.Content[i])
		if yamlnode.IsMerge(k) {
			merged = append(merged, yamlnode.Resolve(m.Content[i+1]))
			continue
		}
		if k.Kind == yaml.ScalarNode && k.Value == key {
			return m.Content[i+1]
		}
	}
	for _, mm := range merged {
		items := []*yaml.Node{mm}
		if mm.Kind == yaml.SequenceNode {
			items = mm.Content
		}
		for _, it := range items {
			if v := lookupDepth(yamlnode.Resolve(it), key, depth+1); v != nil {
				return v
			}
		}
	}
	return nil
}

// keyOf returns the key node of key in the mapping m itself.
func keyOf(m *yaml.Node, key string) *yaml.Node {
	for i := 0; i+1 < len(m.Content); i += 2 {
		if k := m.Content[i]; k.Kind == yaml.ScalarNode && k.Value == key {
			return k
		}
	}
	return nil
}

// insertLine is the line of the example file a field inserted into m
// by insert comes at.
func insertLine(m *yaml.Node, before []string) int {
	for _, k := range before {
		if kn := keyOf(m, k); kn != nil {
			return kn.Line
		}
	}
	line := m.Line
	for _, n := range m.Content {
		line = max(line, n.Line)
	}
	return line
}

// insert adds key: v to the mapping m in front of the first of before it
// has, else at its end.
func insert(m *yaml.Node, key string, v *yaml.Node, before ...string) {
	at := len(m.Content) &^ 1
	for i := 0; i+1 < len(m.Content); i += 2 {
		if k := m.Content[i]; k.Kind == yaml.ScalarNode && slices.Contains(before, k.Value) {
			at = i
			break
		}
	}
	m.Content = slices.Insert(m.Content, at, scalar(key), v)
}
