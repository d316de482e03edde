package yamlnode

import (
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"

	"go.yaml.in/yaml/v3"
)

// MaxSteps bounds the number of mapping entries and list elements a
// Decoder visits through aliases and merge keys, so that nested merges
// cannot make decoding exponential. What a file spells out itself is not
// counted: its length is the bound of that.
const MaxSteps = 10000

// Style is what a Decoder says about the two problems whose wording is
// its user's: a value of the wrong YAML kind for a Go type, and a key that
// names no field.
type Style struct {
	// Mismatch says that n (resolved) cannot be decoded into t.
	Mismatch func(n *yaml.Node, t reflect.Type) string
	// UnknownField says that name is not one of the fields of t, whose
	// YAML names are names, in declaration order.
	UnknownField func(name string, names []string, t reflect.Type) string
}

// FieldError is a problem at a place in a document: its file, the line of
// the offending node and the field path. Each user turns it into an [Error]
// of its kind of document (see [As]).
type FieldError struct {
	File string
	Line int
	Path string
	Err  error
}

// Error reads "file:line: path: message", so that a [NodeDecoder] can return
// a FieldError as an error.
func (e *FieldError) Error() string {
	return Message(e.File, e.Line, e.Path, e.Err, "invalid document")
}

// SyntaxError is yaml.v3's err as a FieldError of file, with yaml.v3's
// wording taken off and its line taken out.
func SyntaxError(file string, err error) *FieldError {
	msg, line := Syntax(err)
	return &FieldError{File: file, Line: line, Err: errors.New(msg)}
}

// Defaulter is implemented by types with defaults other than their zero
// values. Values the decoder creates (the targets of pointers, list
// elements) get their defaults before it decodes onto them.
type Defaulter interface{ SetDefaults() }

// NodeDecoder is implemented by types that decode their node themselves,
// whatever its kind: a section whose schema is another project's, such as
// an HTTP client configuration of prometheus/common. Its error is reported
// at the field's path and line, unless it is a *FieldError: that one names
// its own place within the node, its Path (relative to the field's) and
// Line.
type NodeDecoder interface{ DecodeNode(n *yaml.Node) error }

// Decoder decodes a yaml.v3 node tree into Go values strictly — unknown
// fields, duplicate keys, values of the wrong kind, floats for integers
// are errors — walking the tree itself so that every error names the
// field path and line. It records where each field is, so that
// validation after decoding can name lines too. Anchors, aliases and
// merge keys are supported. A null keeps a struct's defaults and makes a
// list empty and a pointer nil; optional sections are pointers.
type Decoder struct {
	file  string
	style Style
	nodes map[string]*yaml.Node // field path -> its value node
	// keys holds the line of the key of each section (mapping or list):
	// "spec.window: missing" is best shown at "spec:", not at the first
	// field under it.
	keys map[string]int
	// steps counts the entries and elements visited through an alias or
	// a merge; aliased > 0 while decoding one.
	steps, aliased int
}

// NewDecoder returns a Decoder for a document of file that words its
// errors as s says.
func NewDecoder(file string, s Style) *Decoder {
	return &Decoder{file: file, style: s, nodes: make(map[string]*yaml.Node), keys: make(map[string]int)}
}

// Node returns the value node of the field at path, or nil.
func (d *Decoder) Node(path string) *yaml.Node { return d.nodes[path] }

// FieldLine returns the line of the field at path: of its key for a
// section, of its value otherwise.
func (d *Decoder) FieldLine(path string) (int, bool) {
	if l, ok := d.keys[path]; ok {
		return l, true
	}
	if n, ok := d.nodes[path]; ok {
		return n.Line, true
	}
	return 0, false
}

// Line returns the line of the first of path and alt found in the
// document, else of the closest parent of path found, else 0.
func (d *Decoder) Line(path string, alt []string) int {
	for _, p := range append([]string{path}, alt...) {
		if l, ok := d.FieldLine(p); ok {
			return l
		}
	}
	for p := path; p != ""; {
		i := strings.LastIndexAny(p, ".[")
		if i < 0 {
			break
		}
		p = p[:i]
		if l, ok := d.FieldLine(p); ok {
			return l
		}
	}
	return 0
}

// Lines returns the line of every field decoded.
func (d *Decoder) Lines() map[string]int {
	lines := make(map[string]int, len(d.nodes))
	for p := range d.nodes {
		lines[p], _ = d.FieldLine(p)
	}
	return lines
}

func (d *Decoder) errorf(n *yaml.Node, path, format string, args ...any) *FieldError {
	return &FieldError{File: d.file, Line: n.Line, Path: path, Err: fmt.Errorf(format, args...)}
}

func (d *Decoder) mismatch(n *yaml.Node, path string, t reflect.Type) *FieldError {
	return d.errorf(n, path, "%s", d.style.Mismatch(Resolve(n), t))
}

var (
	unmarshalerType         = reflect.TypeFor[yaml.Unmarshaler]()
	obsoleteUnmarshalerType = reflect.TypeFor[interface {
		UnmarshalYAML(unmarshal func(any) error) error
	}]()
)

func customUnmarshaler(t reflect.Type) bool {
	pt := reflect.PointerTo(t)
	return pt.Implements(unmarshalerType) || pt.Implements(obsoleteUnmarshalerType)
}

func setDefaults(p reflect.Value) {
	if d, ok := reflect.TypeAssert[Defaulter](p); ok {
		d.SetDefaults()
	}
}

// Decode decodes n, the field at path ("" for the document), into v,
// which must be addressable.
func (d *Decoder) Decode(n *yaml.Node, path string, v reflect.Value) *FieldError {
	if n.Kind == yaml.AliasNode {
		d.aliased++
		defer func() { d.aliased-- }()
	}
	if path != "" {
		d.nodes[path] = n
	}
	if nd, ok := reflect.TypeAssert[NodeDecoder](v.Addr()); ok {
		if err := nd.DecodeNode(n); err != nil {
			if fe, ok := errors.AsType[*FieldError](err); ok {
				return &FieldError{File: d.file, Line: fe.Line, Path: JoinPath(path, fe.Path), Err: fe.Err}
			}
			line, ok := d.FieldLine(path)
			if !ok {
				line = n.Line
			}
			return &FieldError{File: d.file, Line: line, Path: path, Err: err}
		}
		return nil
	}
	if customUnmarshaler(v.Type()) {
		return d.leaf(n, path, v)
	}
	switch v.Kind() {
	case reflect.Pointer:
		if IsNull(Resolve(n)) {
			v.Set(reflect.Zero(v.Type()))
			return nil
		}
		p := reflect.New(v.Type().Elem())
		setDefaults(p)
		if err := d.Decode(n, path, p.Elem()); err != nil {
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
// yaml.v3 would truncate floats into integers and name the innermost Go
// type (string for a model.Duration).
func (d *Decoder) leaf(n *yaml.Node, path string, v reflect.Value) *FieldError {
	r := Resolve(n)
	if r.Kind != yaml.ScalarNode {
		return d.mismatch(n, path, v.Type())
	}
	if !customUnmarshaler(v.Type()) && !IsNull(r) {
		tag := r.ShortTag()
		switch k := v.Kind(); {
		case k == reflect.Bool && tag != "!!bool",
			IsInteger(k) && tag != "!!int",
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
			msgs[i], _ = StripYAML(e)
		}
		if len(msgs) == 1 && strings.HasPrefix(msgs[0], "cannot unmarshal ") {
			// An integer too large for its field.
			return d.mismatch(n, path, v.Type())
		}
		return &FieldError{File: d.file, Line: n.Line, Path: path, Err: errors.New(NonEmpty(strings.Join(msgs, "; "), err))}
	}
	if msg, _ := StripYAML(err.Error()); msg != err.Error() {
		err = errors.New(NonEmpty(msg, err))
	}
	return &FieldError{File: d.file, Line: n.Line, Path: path, Err: err}
}

func (d *Decoder) decodeSlice(n *yaml.Node, path string, v reflect.Value) *FieldError {
	r := Resolve(n)
	if IsNull(r) {
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
		if err := d.step(e, path); err != nil {
			return err
		}
		setDefaults(s.Index(i).Addr())
		if err := d.Decode(e, fmt.Sprintf("%s[%d]", path, i), s.Index(i)); err != nil {
			return err
		}
	}
	v.Set(s)
	return nil
}

func (d *Decoder) decodeStruct(n *yaml.Node, path string, v reflect.Value) *FieldError {
	r := Resolve(n)
	if IsNull(r) {
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
func (d *Decoder) mapping(m *yaml.Node, path string, v reflect.Value, set map[string]bool, stack []*yaml.Node) *FieldError {
	fields, names := StructFields(v.Type())
	seen := make(map[string]int, len(m.Content)/2)
	var merges []*yaml.Node
	for i := 0; i+1 < len(m.Content); i += 2 {
		if err := d.step(m.Content[i], path); err != nil {
			return err
		}
		k, val := m.Content[i], m.Content[i+1]
		kr := Resolve(k)
		if kr.Kind != yaml.ScalarNode {
			return d.errorf(k, path, "mapping key must be a scalar, not %s", kr.ShortTag())
		}
		name := kr.Value
		if line, dup := seen[name]; dup {
			return d.errorf(k, path, "mapping key %q already defined at line %d", name, line)
		}
		seen[name] = k.Line
		if IsMerge(kr) {
			merges = append(merges, val)
			continue
		}
		idx, ok := fields[name]
		if !ok {
			return d.errorf(k, path, "%s", d.style.UnknownField(name, names, v.Type()))
		}
		if set[name] {
			continue
		}
		set[name] = true
		if r := Resolve(val); r.Kind == yaml.MappingNode || r.Kind == yaml.SequenceNode {
			d.keys[JoinPath(path, name)] = k.Line
		}
		if err := d.Decode(val, JoinPath(path, name), v.Field(idx)); err != nil {
			return err
		}
	}
	for _, mv := range merges {
		list := []*yaml.Node{mv}
		if r := Resolve(mv); r.Kind == yaml.SequenceNode {
			list = r.Content
		}
		for _, e := range list {
			er := Resolve(e)
			if er.Kind != yaml.MappingNode {
				return d.errorf(e, path, "map merge requires map or sequence of maps as the value")
			}
			if slices.Contains(stack, er) {
				return d.errorf(e, path, "anchor %q value contains itself", er.Anchor)
			}
			// A merged mapping is spelt out elsewhere: each of its
			// entries counts as expanded.
			d.aliased++
			err := d.mapping(er, path, v, set, append(stack, er))
			d.aliased--
			if err != nil {
				return err
			}
		}
	}
	return nil
}

// step counts an entry or element n at path if an alias or merge brought
// it, and refuses it beyond MaxSteps.
func (d *Decoder) step(n *yaml.Node, path string) *FieldError {
	if d.aliased == 0 {
		return nil
	}
	if d.steps++; d.steps > MaxSteps {
		return d.errorf(n, path, "document contains excessive aliasing: aliases and merge keys expand to more than %d entries", MaxSteps)
	}
	return nil
}

// StructFields maps the YAML names of t's fields to their indexes, and
// lists the names in declaration order. A field without a yaml tag is
// named in lower case.
func StructFields(t reflect.Type) (map[string]int, []string) {
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
