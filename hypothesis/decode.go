package hypothesis

import (
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"

	"github.com/prometheus/common/model"
	"go.yaml.in/yaml/v3"

	"github.com/steadywatch/steadywatch/internal/yamlnode"
)

// The decoder follows config's: it walks yaml.v3's node tree itself so that
// every error names the field path and line, and it records the node of
// every field so that validation can name them too. It differs in that it
// decodes optional sections into pointers (nil when absent) and names the
// expected YAML type ("a duration", "a list") rather than the Go one: the
// Go types are the file's unexported wire types.

func syntaxError(filename string, err error) *Error {
	msg, line := yamlnode.Syntax(err)
	return &Error{File: filename, Line: line, Err: errors.New(msg)}
}

// maxSteps bounds the number of mapping entries visited per document, so
// that nested merge keys cannot make decoding exponential.
const maxSteps = 10000

type decoder struct {
	file  string
	nodes map[string]*yaml.Node // field path -> its value node
	// keys holds the line of the key of each section (mapping or list):
	// "spec.window: missing" is best shown at "spec:", not at the first
	// field under it.
	keys  map[string]int
	steps int
}

func newDecoder(file string) *decoder {
	return &decoder{file: file, nodes: make(map[string]*yaml.Node), keys: make(map[string]int)}
}

// fieldLine returns the line of the field at path, or false.
func (d *decoder) fieldLine(path string) (int, bool) {
	if l, ok := d.keys[path]; ok {
		return l, true
	}
	if n, ok := d.nodes[path]; ok {
		return n.Line, true
	}
	return 0, false
}

// line returns the line of the first of path and alt found in the file,
// else of the closest parent of path found, else 0.
func (d *decoder) line(path string, alt []string) int {
	for _, p := range append([]string{path}, alt...) {
		if l, ok := d.fieldLine(p); ok {
			return l
		}
	}
	for p := path; p != ""; {
		i := strings.LastIndexAny(p, ".[")
		if i < 0 {
			break
		}
		p = p[:i]
		if l, ok := d.fieldLine(p); ok {
			return l
		}
	}
	return 0
}

// lines returns the line of every field recorded.
func (d *decoder) lines() map[string]int {
	lines := make(map[string]int, len(d.nodes))
	for p := range d.nodes {
		lines[p], _ = d.fieldLine(p)
	}
	return lines
}

func (d *decoder) errorf(n *yaml.Node, path, format string, args ...any) *Error {
	return &Error{File: d.file, Line: n.Line, Path: path, Err: fmt.Errorf(format, args...)}
}

var (
	unmarshalerType         = reflect.TypeFor[yaml.Unmarshaler]()
	obsoleteUnmarshalerType = reflect.TypeFor[interface {
		UnmarshalYAML(unmarshal func(any) error) error
	}]()
	durationType = reflect.TypeFor[model.Duration]()
)

// defaulter is implemented by wire types with defaults other than their
// zero values. Sections held by pointers and list elements are built by
// the decoder, which sets their defaults before decoding onto them.
type defaulter interface{ setDefaults() }

func setDefaults(p reflect.Value) {
	if d, ok := reflect.TypeAssert[defaulter](p); ok {
		d.setDefaults()
	}
}

// yamlTyper is implemented by wire types that name their YAML type.
type yamlTyper interface{ yamlType() string }

// want names the YAML type a Go type is decoded from.
func want(t reflect.Type) string {
	if ty, ok := reflect.TypeAssert[yamlTyper](reflect.Zero(t)); ok {
		return ty.yamlType()
	}
	switch {
	case t == durationType:
		return "a duration"
	case t.Kind() == reflect.Pointer:
		return want(t.Elem())
	case t.Kind() == reflect.Struct:
		return "a mapping"
	case t.Kind() == reflect.Slice:
		return "a list"
	case t.Kind() == reflect.String:
		return "a string"
	case t.Kind() == reflect.Bool:
		return "true or false"
	case yamlnode.IsInteger(t.Kind()):
		return "an integer"
	case t.Kind() == reflect.Float32 || t.Kind() == reflect.Float64:
		return "a number"
	}
	return t.String()
}

func (d *decoder) mismatch(n *yaml.Node, path string, t reflect.Type) *Error {
	return d.errorf(n, path, "want %s, got %s", want(t), yamlnode.Describe(yamlnode.Resolve(n)))
}

// decode decodes n into v, which must be addressable.
func (d *decoder) decode(n *yaml.Node, path string, v reflect.Value) *Error {
	if path != "" {
		d.nodes[path] = n
	}
	if pt := reflect.PointerTo(v.Type()); pt.Implements(unmarshalerType) || pt.Implements(obsoleteUnmarshalerType) {
		return d.leaf(n, path, v)
	}
	switch v.Kind() {
	case reflect.Pointer:
		if yamlnode.IsNull(yamlnode.Resolve(n)) {
			v.Set(reflect.Zero(v.Type()))
			return nil
		}
		p := reflect.New(v.Type().Elem())
		setDefaults(p)
		if err := d.decode(n, path, p.Elem()); err != nil {
			return err
		}
		v.Set(p)
		return nil
	case reflect.Struct:
		return d.decodeStruct(n, path, v)
	case reflect.Slice:
		return d.decodeSlice(n, path, v)
	default:
		return d.leaf(n, path, v)
	}
}

// leaf decodes a scalar with yaml.v3 itself, after checking its tag:
// yaml.v3 would truncate floats into integers and name Go types.
func (d *decoder) leaf(n *yaml.Node, path string, v reflect.Value) *Error {
	r := yamlnode.Resolve(n)
	if r.Kind != yaml.ScalarNode {
		return d.mismatch(n, path, v.Type())
	}
	pt := reflect.PointerTo(v.Type())
	custom := pt.Implements(unmarshalerType) || pt.Implements(obsoleteUnmarshalerType)
	if !custom && !yamlnode.IsNull(r) {
		tag := r.ShortTag()
		switch k := v.Kind(); {
		case k == reflect.Bool && tag != "!!bool",
			yamlnode.IsInteger(k) && tag != "!!int",
			(k == reflect.Float32 || k == reflect.Float64) && tag != "!!int" && tag != "!!float":
			return d.mismatch(n, path, v.Type())
		}
	}
	err := n.Decode(v.Addr().Interface())
	if err == nil {
		return nil
	}
	if te, ok := errors.AsType[*yaml.TypeError](err); ok {
		msgs := make([]string, len(te.Errors))
		for i, e := range te.Errors {
			msgs[i], _ = yamlnode.StripYAML(e)
		}
		if len(msgs) == 1 && strings.HasPrefix(msgs[0], "cannot unmarshal ") {
			// An integer too large for its field.
			return d.mismatch(n, path, v.Type())
		}
		return &Error{File: d.file, Line: n.Line, Path: path, Err: errors.New(yamlnode.NonEmpty(strings.Join(msgs, "; "), err))}
	}
	if msg, _ := yamlnode.StripYAML(err.Error()); msg != err.Error() {
		err = errors.New(yamlnode.NonEmpty(msg, err))
	}
	return &Error{File: d.file, Line: n.Line, Path: path, Err: err}
}

func (d *decoder) decodeSlice(n *yaml.Node, path string, v reflect.Value) *Error {
	r := yamlnode.Resolve(n)
	if yamlnode.IsNull(r) {
		v.Set(reflect.Zero(v.Type()))
		return nil
	}
	if r.Kind != yaml.SequenceNode {
		return d.mismatch(n, path, v.Type())
	}
	if len(r.Content) == 0 {
		v.Set(reflect.Zero(v.Type()))
		return nil
	}
	s := reflect.MakeSlice(v.Type(), len(r.Content), len(r.Content))
	for i, e := range r.Content {
		if d.steps++; d.steps > maxSteps {
			return d.errorf(e, path, "document contains excessive aliasing")
		}
		setDefaults(s.Index(i).Addr())
		if err := d.decode(e, fmt.Sprintf("%s[%d]", path, i), s.Index(i)); err != nil {
			return err
		}
	}
	v.Set(s)
	return nil
}

func (d *decoder) decodeStruct(n *yaml.Node, path string, v reflect.Value) *Error {
	r := yamlnode.Resolve(n)
	if yamlnode.IsNull(r) {
		return nil // keep the defaults
	}
	if r.Kind != yaml.MappingNode {
		return d.mismatch(n, path, v.Type())
	}
	return d.mapping(r, path, v, make(map[string]bool), []*yaml.Node{r})
}

// mapping decodes the entries of m into the struct v. Keys already in set
// were given by a mapping that merges m and take precedence. Entries given
// explicitly come first, then those of the merged mappings, in order.
func (d *decoder) mapping(m *yaml.Node, path string, v reflect.Value, set map[string]bool, stack []*yaml.Node) *Error {
	fields, names := structFields(v.Type())
	seen := make(map[string]int, len(m.Content)/2)
	var merges []*yaml.Node
	for i := 0; i+1 < len(m.Content); i += 2 {
		if d.steps++; d.steps > maxSteps {
			return d.errorf(m.Content[i], path, "document contains excessive aliasing")
		}
		k, val := m.Content[i], m.Content[i+1]
		kr := yamlnode.Resolve(k)
		if kr.Kind != yaml.ScalarNode {
			return d.errorf(k, path, "mapping key must be a scalar, not %s", kr.ShortTag())
		}
		name := kr.Value
		if line, dup := seen[name]; dup {
			return d.errorf(k, path, "mapping key %q already defined at line %d", name, line)
		}
		seen[name] = k.Line
		if yamlnode.IsMerge(kr) {
			merges = append(merges, val)
			continue
		}
		idx, ok := fields[name]
		if !ok {
			return d.errorf(k, path, "%s", unknownField(name, names))
		}
		if set[name] {
			continue
		}
		set[name] = true
		if r := yamlnode.Resolve(val); r.Kind == yaml.MappingNode || r.Kind == yaml.SequenceNode {
			d.keys[yamlnode.JoinPath(path, name)] = k.Line
		}
		if err := d.decode(val, yamlnode.JoinPath(path, name), v.Field(idx)); err != nil {
			return err
		}
	}
	for _, mv := range merges {
		list := []*yaml.Node{mv}
		if r := yamlnode.Resolve(mv); r.Kind == yaml.SequenceNode {
			list = r.Content
		}
		for _, e := range list {
			er := yamlnode.Resolve(e)
			if er.Kind != yaml.MappingNode {
				return d.errorf(e, path, "map merge requires map or sequence of maps as the value")
			}
			if slices.Contains(stack, er) {
				return d.errorf(e, path, "anchor %q value contains itself", er.Anchor)
			}
			if err := d.mapping(er, path, v, set, append(stack, er)); err != nil {
				return err
			}
		}
	}
	return nil
}

// unknownField says that name is not a field, suggesting the field it is
// likely a misspelling of, or else listing the fields.
func unknownField(name string, names []string) string {
	best, bestDist := "", 3
	for _, n := range names {
		if dist := editDistance(strings.ToLower(name), strings.ToLower(n)); dist < bestDist {
			best, bestDist = n, dist
		}
	}
	if best != "" {
		return fmt.Sprintf("unknown field %q (did you mean %q?)", name, best)
	}
	return fmt.Sprintf("unknown field %q, want one of %s", name, strings.Join(names, ", "))
}

// editDistance is the Levenshtein distance between a and b, in bytes.
func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

// structFields maps the YAML names of t's fields to their indexes, and
// lists the names in declaration order.
func structFields(t reflect.Type) (map[string]int, []string) {
	fields := make(map[string]int, t.NumField())
	names := make([]string, 0, t.NumField())
	for i := range t.NumField() {
		f := t.Field(i)
		if !f.IsExported() {
			continue
		}
		name, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
		switch name {
		case "-":
			continue
		case "":
			name = strings.ToLower(f.Name)
		}
		fields[name] = i
		names = append(names, name)
	}
	return fields, names
}
