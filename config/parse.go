package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"reflect"
	"slices"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/steadywatch/steadywatch/internal/yamlnode"
)

// Load reads the configuration file at path and parses it with [Parse].
// An error reading the file is returned as is (so errors.Is(err,
// fs.ErrNotExist) works); other errors are [*Error] values naming path.
func Load(path string) (Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return Config{}, err
	}
	return Parse(data, path)
}

// Parse parses a configuration file: it starts from [Default], decodes data
// strictly on top of it and validates the result. filename is only used in
// error messages.
//
// Decoding is strict: unknown fields, values of the wrong type, duplicate keys
// and more than one YAML document are errors. A field set to null keeps its
// default, except lists, which become empty. An empty document yields the
// defaults. Anchors, aliases and merge keys ("<<") are supported.
//
// Errors are [*Error] values reading "file:line: path: message", e.g.
//
//	steadywatch.yml:3: field listne not found in type config.Config
//	steadywatch.yml:7: watch.selector: unable to parse requirement: ...
func Parse(data []byte, filename string) (Config, error) {
	root, err := parseDocument(data, filename)
	if err != nil {
		return Config{}, err
	}
	cfg := Default()
	d := &decoder{file: filename, lines: make(map[string]int)}
	if root != nil {
		if err := d.decode(root, "", reflect.ValueOf(&cfg).Elem()); err != nil {
			return Config{}, err
		}
	}
	if err := cfg.validate(); err != nil {
		err.File = filename
		err.Line = d.line(err.Path, err.alt)
		return Config{}, err
	}
	return cfg, nil
}

// parseDocument parses data into a node tree and returns the content of its
// single document, or nil when there is no document or it is null.
func parseDocument(data []byte, filename string) (*yaml.Node, error) {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, nil
		}
		return nil, syntaxError(filename, err)
	}
	var next yaml.Node
	switch err := dec.Decode(&next); {
	case errors.Is(err, io.EOF):
	case err != nil:
		return nil, syntaxError(filename, err)
	default:
		return nil, &Error{File: filename, Line: next.Line, Err: errors.New("multiple YAML documents are not allowed")}
	}
	if doc.Kind != yaml.DocumentNode || len(doc.Content) == 0 || yamlnode.IsNull(yamlnode.Resolve(doc.Content[0])) {
		return nil, nil
	}
	return doc.Content[0], nil
}

func syntaxError(filename string, err error) *Error {
	msg, line := yamlnode.Syntax(err)
	return &Error{File: filename, Line: line, Err: errors.New(msg)}
}

// maxSteps bounds the number of mapping entries visited, so that nested merge
// keys cannot make decoding exponential.
const maxSteps = 10000

// decoder decodes a node tree into a Go value, checking field names itself so
// that every error can name the field path and line, and recording the line
// of every field so that validation errors can name it too.
type decoder struct {
	file  string
	lines map[string]int // field path -> line of its value
	steps int
}

// line returns the line of the first of path and alt found in the file, else
// of the closest parent of path found, else 0.
func (d *decoder) line(path string, alt []string) int {
	for _, p := range append([]string{path}, alt...) {
		if l, ok := d.lines[p]; ok {
			return l
		}
	}
	for p := path; p != ""; {
		i := strings.LastIndexAny(p, ".[")
		if i < 0 {
			break
		}
		p = p[:i]
		if l, ok := d.lines[p]; ok {
			return l
		}
	}
	return 0
}

func (d *decoder) errorf(n *yaml.Node, path, format string, args ...any) *Error {
	return &Error{File: d.file, Line: n.Line, Path: path, Err: fmt.Errorf(format, args...)}
}

var (
	unmarshalerType         = reflect.TypeFor[yaml.Unmarshaler]()
	obsoleteUnmarshalerType = reflect.TypeFor[interface {
		UnmarshalYAML(unmarshal func(any) error) error
	}]()
)

// decode decodes n into v, which must be addressable.
func (d *decoder) decode(n *yaml.Node, path string, v reflect.Value) *Error {
	if path != "" {
		d.lines[path] = n.Line
	}
	if pt := reflect.PointerTo(v.Type()); pt.Implements(unmarshalerType) || pt.Implements(obsoleteUnmarshalerType) {
		return d.leaf(n, path, v)
	}
	switch v.Kind() {
	case reflect.Struct:
		return d.decodeStruct(n, path, v)
	case reflect.Slice:
		return d.decodeSlice(n, path, v)
	default:
		return d.leaf(n, path, v)
	}
}

// leaf decodes a scalar with yaml.v3 itself.
func (d *decoder) leaf(n *yaml.Node, path string, v reflect.Value) *Error {
	if r := yamlnode.Resolve(n); r.Kind != yaml.ScalarNode {
		// yaml.v3 would name the innermost Go type (e.g. string for a
		// model.Duration); name the field's type instead.
		return d.errorf(n, path, "cannot unmarshal %s into %s", yamlnode.Describe(r), v.Type())
	} else if r.ShortTag() == "!!float" && yamlnode.IsInteger(v.Kind()) {
		// yaml.v3 truncates floats into integers ("1.5" becomes 1).
		return d.errorf(n, path, "cannot unmarshal %s into %s", yamlnode.Describe(r), v.Type())
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
		return d.errorf(n, path, "cannot unmarshal %s into %s", yamlnode.Describe(r), v.Type())
	}
	if len(r.Content) == 0 {
		v.Set(reflect.Zero(v.Type()))
		return nil
	}
	s := reflect.MakeSlice(v.Type(), len(r.Content), len(r.Content))
	for i, e := range r.Content {
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
		return d.errorf(n, path, "cannot unmarshal %s into %s", yamlnode.Describe(r), v.Type())
	}
	fields := structFields(v.Type())
	return d.mapping(r, path, v, fields, make(map[string]bool), []*yaml.Node{r})
}

// mapping decodes the entries of m into the struct v. Keys already in set
// were given by a mapping that merges m and take precedence. Entries given
// explicitly come first, then those of the merged mappings, in order.
func (d *decoder) mapping(m *yaml.Node, path string, v reflect.Value, fields map[string]int, set map[string]bool, stack []*yaml.Node) *Error {
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
			return d.errorf(k, path, "field %s not found in type %s", name, v.Type())
		}
		if set[name] {
			continue
		}
		set[name] = true
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
			if err := d.mapping(er, path, v, fields, set, append(stack, er)); err != nil {
				return err
			}
		}
	}
	return nil
}

// structFields maps the YAML names of t's fields to their indexes.
func structFields(t reflect.Type) map[string]int {
	fields := make(map[string]int, t.NumField())
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
	}
	return fields
}
