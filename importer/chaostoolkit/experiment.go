package chaostoolkit

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"regexp"
	"slices"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/steadywatch/steadywatch/internal/yamlnode"
)

// The Prometheus extension's probes steadywatch imports: those of
// chaosprometheus/probes.py whose output a tolerance can bound. query and
// query_interval return Prometheus' response, compute_mean and
// nodes_cpu_usage_mean a number.
const promModule = "chaosprometheus.probes"

var promFuncs = []string{"query", "query_interval", "compute_mean", "nodes_cpu_usage_mean"}

// nodesCPUQuery is the query of nodes_cpu_usage_mean, as the extension
// writes it.
const nodesCPUQuery = `100 * (1 - avg(rate(node_cpu_seconds_total{mode="idle"}[1m])))`

// experiment is what Import reads of a Chaos Toolkit experiment.
type experiment struct {
	file   string
	title  string
	config map[string]*yaml.Node
	probes []*probe
	// ignored are the notes about the parts that never carry a steady state.
	ignored []Note
}

// nameFrom says where the default hypothesis name came from.
func (e *experiment) nameFrom(optName string) string {
	switch {
	case optName != "":
		return "name"
	case slug(e.title, "") != "":
		return "title"
	}
	return "file name"
}

// probe is one steady-state probe: imported when skip is empty.
type probe struct {
	index int
	name  string
	line  int
	path  string
	skip  string
	fn    string // module.func
	query string // a template, with the group placeholders
	slo   outBound
	// tolerance is the tolerance as written, for the metric's comment.
	tolerance string
}

func (p *probe) note(file, msg string) Note {
	return Note{File: file, Line: p.line, Path: p.path, Msg: msg}
}

func (p *probe) comment() string {
	c := fmt.Sprintf("From %s (%s), tolerance %s.", p.path, p.fn, oneLine(p.tolerance))
	if strings.HasSuffix(p.fn, ".compute_mean") || strings.HasSuffix(p.fn, ".nodes_cpu_usage_mean") {
		c += "\nChaos Toolkit bounds the mean over its window; steadywatch bounds each step of the window judged."
	}
	return c
}

func errAt(file string, n *yaml.Node, path, format string, args ...any) *Error {
	line := 0
	if n != nil {
		line = n.Line
	}
	return &Error{File: file, Line: line, Path: path, Err: fmt.Errorf(format, args...)}
}

// decode reads the first document of data, JSON or YAML.
func decode(data []byte, file string) (*experiment, error) {
	if err := yamlnode.CheckEncoding(file, data); err != nil {
		return nil, yamlnode.As[experimentFile](err)
	}
	// In valid JSON a tab is only ever white space, which YAML refuses
	// where JSON indents with it.
	if json.Valid(data) {
		data = bytes.ReplaceAll(data, []byte{'\t'}, []byte{' '})
	}
	var doc yaml.Node
	if err := yaml.NewDecoder(bytes.NewReader(data)).Decode(&doc); errors.Is(err, io.EOF) {
		return nil, &Error{File: file, Err: errors.New("no Chaos Toolkit experiment in the file")}
	} else if err != nil {
		if jerr := jsonError(data, file); jerr != nil {
			return nil, jerr
		}
		return nil, yamlnode.As[experimentFile](yamlnode.SyntaxError(file, err))
	}
	if len(doc.Content) == 0 || yamlnode.IsNull(yamlnode.Resolve(doc.Content[0])) {
		return nil, &Error{File: file, Err: errors.New("no Chaos Toolkit experiment in the file")}
	}
	root := yamlnode.Resolve(doc.Content[0])
	if root.Kind != yaml.MappingNode {
		return nil, errAt(file, root, "", "want a mapping (a Chaos Toolkit experiment), got %s", yamlnode.Describe(root))
	}
	e := &experiment{file: file}
	top, err := e.fields(root, "")
	if err != nil {
		return nil, err
	}
	if n := top.value("title"); n != nil {
		if e.title, err = e.str(n, "title"); err != nil {
			return nil, err
		}
	}
	if err := e.readConfig(top); err != nil {
		return nil, err
	}
	if err := e.readHypothesis(top); err != nil {
		return nil, err
	}
	for _, section := range []string{"method", "rollbacks"} {
		e.ignore(top, section)
	}
	return e, nil
}

// jsonError is the JSON syntax error of data, if it reads as JSON (it
// starts with "{") and neither YAML nor JSON can read it: JSON's error is
// the one that places the problem.
func jsonError(data []byte, file string) *Error {
	if !bytes.HasPrefix(bytes.TrimSpace(data), []byte("{")) {
		return nil
	}
	var v any
	serr, ok := errors.AsType[*json.SyntaxError](json.Unmarshal(data, &v))
	if !ok {
		return nil
	}
	off := min(int(serr.Offset), len(data))
	line := 1 + bytes.Count(data[:off], []byte("\n"))
	return &Error{File: file, Line: line, Err: fmt.Errorf("invalid JSON: %w", serr)}
}

// fields is a mapping's entries by key.
type fields struct {
	node  *yaml.Node
	keys  map[string]*yaml.Node
	value func(string) *yaml.Node
}

// fields returns the entries of the mapping n at path, refusing duplicate
// keys (YAML parsers disagree on which one wins).
func (e *experiment) fields(n *yaml.Node, path string) (*fields, *Error) {
	f := &fields{node: n, keys: map[string]*yaml.Node{}}
	vals := map[string]*yaml.Node{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k := yamlnode.Resolve(n.Content[i])
		if k.Kind != yaml.ScalarNode {
			continue
		}
		if prev, dup := f.keys[k.Value]; dup {
			return nil, errAt(e.file, k, yamlnode.JoinPath(path, k.Value), "duplicate key (also line %d)", prev.Line)
		}
		f.keys[k.Value] = k
		vals[k.Value] = yamlnode.Resolve(n.Content[i+1])
	}
	f.value = func(k string) *yaml.Node { return vals[k] }
	return f, nil
}

// mapping returns the fields of n, which must be a mapping (of what).
func (e *experiment) mapping(n *yaml.Node, path, what string) (*fields, *Error) {
	if n.Kind != yaml.MappingNode {
		if what != "" {
			what = " (" + what + ")"
		}
		return nil, errAt(e.file, n, path, "want a mapping%s, got %s", what, yamlnode.Describe(n))
	}
	return e.fields(n, path)
}

// str returns the string n at path.
func (e *experiment) str(n *yaml.Node, path string) (string, *Error) {
	if n.Kind != yaml.ScalarNode || n.ShortTag() != "!!str" {
		return "", errAt(e.file, n, path, "want a string, got %s", yamlnode.Describe(n))
	}
	return n.Value, nil
}

// required returns the string field key of f, at path.
func (e *experiment) required(f *fields, path, key string) (string, *Error) {
	n := f.value(key)
	if n == nil {
		return "", errAt(e.file, f.node, yamlnode.JoinPath(path, key), "missing")
	}
	return e.str(n, yamlnode.JoinPath(path, key))
}

func (e *experiment) readConfig(top *fields) *Error {
	n := top.value("configuration")
	if n == nil || yamlnode.IsNull(n) {
		return nil
	}
	f, err := e.mapping(n, "configuration", "")
	if err != nil {
		return err
	}
	e.config = map[string]*yaml.Node{}
	for k := range f.keys {
		e.config[k] = f.value(k)
	}
	if k, ok := f.keys["prometheus_base_url"]; ok {
		e.ignored = append(e.ignored, Note{
			File: e.file, Line: k.Line, Path: "configuration.prometheus_base_url",
			Msg: "not imported: steadywatch verdict takes the Prometheus URL as --prometheus (or verdicts.prometheus_url in the configuration)",
		})
	}
	return nil
}

func (e *experiment) readHypothesis(top *fields) *Error {
	const path = "steady-state-hypothesis"
	n := top.value(path)
	if n == nil || yamlnode.IsNull(n) {
		return &Error{File: e.file, Path: path, Err: errors.New("missing: the experiment has no steady-state probes to import")}
	}
	hyp, err := e.mapping(n, path, "")
	if err != nil {
		return err
	}
	probes := hyp.value("probes")
	switch {
	case probes == nil:
		return errAt(e.file, n, path+".probes", "missing: no steady-state probes to import")
	case probes.Kind != yaml.SequenceNode:
		return errAt(e.file, probes, path+".probes", "want a list, got %s", yamlnode.Describe(probes))
	case len(probes.Content) == 0:
		return errAt(e.file, probes, path+".probes", "empty: no steady-state probes to import")
	}
	for i, pn := range probes.Content {
		p, err := e.readProbe(yamlnode.Resolve(pn), i, fmt.Sprintf("%s.probes[%d]", path, i))
		if err != nil {
			return err
		}
		e.probes = append(e.probes, p)
	}
	return nil
}

func (e *experiment) readProbe(n *yaml.Node, i int, path string) (*probe, *Error) {
	f, err := e.mapping(n, path, "a probe")
	if err != nil {
		return nil, err
	}
	p := &probe{index: i, line: n.Line, path: path}
	if ref := f.value("ref"); ref != nil && f.value("name") == nil {
		p.skip = fmt.Sprintf("a reference to the activity %s, which steadywatch does not follow: write the probe out in the hypothesis", yamlnode.Describe(ref))
		return p, nil
	}
	if p.name, err = e.required(f, path, "name"); err != nil {
		return nil, err
	}
	path = fmt.Sprintf("%s %q", path, p.name)
	p.path = path
	tol := f.value("tolerance")
	if tol == nil {
		return nil, errAt(e.file, n, path+".tolerance", "missing: Chaos Toolkit requires one on every probe of the hypothesis")
	}
	if t := f.value("type"); t != nil {
		typ, err := e.str(t, path+".type")
		if err != nil {
			return nil, err
		}
		if typ != "probe" {
			p.skip = fmt.Sprintf("an activity of type %q, not a probe", typ)
			return p, nil
		}
	}
	prov := f.value("provider")
	if prov == nil {
		return nil, errAt(e.file, n, path+".provider", "missing")
	}
	pf, err := e.mapping(prov, path+".provider", "")
	if err != nil {
		return nil, err
	}
	typ, err := e.required(pf, path+".provider", "type")
	if err != nil {
		return nil, err
	}
	const only = "steadywatch imports Prometheus queries (" + promModule + ") only"
	if typ != "python" {
		article := "a"
		if typ == "http" {
			article = "an"
		}
		p.skip = fmt.Sprintf("%s %s probe; %s", article, typ, only)
		return p, nil
	}
	module, err := e.required(pf, path+".provider", "module")
	if err != nil {
		return nil, err
	}
	fn, err := e.required(pf, path+".provider", "func")
	if err != nil {
		return nil, err
	}
	p.fn = module + "." + fn
	switch {
	case module != promModule:
		p.skip = fmt.Sprintf("a Python probe of %s; %s", module, only)
		return p, nil
	case !slices.Contains(promFuncs, fn):
		p.skip = fmt.Sprintf("%s has no function %s; steadywatch imports %s and %s",
			promModule, fn, strings.Join(promFuncs[:len(promFuncs)-1], ", "), promFuncs[len(promFuncs)-1])
		return p, nil
	}
	query := nodesCPUQuery
	if fn != "nodes_cpu_usage_mean" {
		args := pf.value("arguments")
		if args == nil {
			return nil, errAt(e.file, prov, path+".provider.arguments.query", "missing")
		}
		af, err := e.mapping(args, path+".provider.arguments", "")
		if err != nil {
			return nil, err
		}
		if query, err = e.required(af, path+".provider.arguments", "query"); err != nil {
			return nil, err
		}
	}
	if err := p.readTolerance(e, tol, path+".tolerance"); err != nil {
		return nil, err
	}
	if p.skip != "" {
		return p, nil
	}
	if query, p.skip = e.substitute(query); p.skip != "" {
		return p, nil
	}
	p.query, p.skip = groupTemplate(query)
	return p, nil
}

// varRef is a Chaos Toolkit substitution ($name or ${name}, as Python's
// string.Template), or an escaped dollar.
var varRef = regexp.MustCompile(`\$\$|\$\{([_a-zA-Z][_a-zA-Z0-9]*)\}|\$([_a-zA-Z][_a-zA-Z0-9]*)`)

// substitute puts the experiment's configuration values into q, as Chaos
// Toolkit does before it runs the probe. A ${name} that steadywatch
// cannot resolve skips the probe; a $name that the configuration does not
// define is left as it is (as safe_substitute does).
func (e *experiment) substitute(q string) (string, string) {
	var reason string
	out := varRef.ReplaceAllStringFunc(q, func(m string) string {
		if m == "$$" {
			return "$"
		}
		sub := varRef.FindStringSubmatch(m)
		name, braced := sub[1], true
		if name == "" {
			name, braced = sub[2], false
		}
		v, ok := e.config[name]
		switch {
		case !ok && !braced:
			return m
		case !ok:
			reason = cmpOr(reason, fmt.Sprintf("its query uses ${%s}, which the experiment's configuration does not define: write the value into the query", name))
		case v.Kind == yaml.ScalarNode && v.ShortTag() != "!!null":
			return v.Value
		case v.Kind == yaml.MappingNode:
			from := "a value steadywatch cannot read"
			for i := 0; i+1 < len(v.Content); i += 2 {
				if v.Content[i].Value == "key" {
					from = "the environment variable " + v.Content[i+1].Value
				}
			}
			reason = cmpOr(reason, fmt.Sprintf("its query uses ${%s}, which the configuration takes from %s: write the value into the query", name, from))
		default:
			reason = cmpOr(reason, fmt.Sprintf("its query uses ${%s}, whose configuration value is not a string or a number: write the value into the query", name))
		}
		return m
	})
	return out, reason
}

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// ignore notes that the list section of the experiment is not imported.
func (e *experiment) ignore(top *fields, section string) {
	n := top.value(section)
	if n == nil || n.Kind != yaml.SequenceNode || len(n.Content) == 0 {
		return
	}
	var names []string
	for _, a := range n.Content {
		a = yamlnode.Resolve(a)
		switch a.Kind {
		case yaml.ScalarNode:
			names = append(names, a.Value)
		case yaml.MappingNode:
			for i := 0; i+1 < len(a.Content); i += 2 {
				if k := a.Content[i].Value; k == "name" || k == "ref" {
					names = append(names, yamlnode.Resolve(a.Content[i+1]).Value)
					break
				}
			}
		}
	}
	what := "1 activity"
	if len(n.Content) > 1 {
		what = fmt.Sprintf("%d activities", len(n.Content))
	}
	e.ignored = append(e.ignored, Note{File: e.file, Line: top.keys[section].Line, Path: section, Msg: fmt.Sprintf(
		"not imported: %s (%s): steadywatch does not run the chaos, it judges the window around the chaos events it records",
		what, strings.Join(names, ", "))})
}
