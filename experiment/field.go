package experiment

import (
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"
)

// The tools' objects are read as JSON maps. Every accessor here names the
// field it could not read, since an object another controller wrote can be
// anything: absent fields read as zero values, wrong ones as errors.

type fieldError struct {
	path string
	msg  string
}

func (e *fieldError) Error() string { return e.path + ": " + e.msg }

func typeName(v any) string {
	switch v.(type) {
	case string:
		return "a string"
	case map[string]any:
		return "an object"
	case []any:
		return "a list"
	case bool:
		return "a boolean"
	case int64, float64:
		return "a number"
	case nil:
		return "null"
	}
	return fmt.Sprintf("%T", v)
}

// node is a value found at a path, to read on from.
type node struct {
	path string
	v    any
}

func root(m map[string]any) node { return node{v: m} }

func (n node) join(key string) string {
	if n.path == "" {
		return key
	}
	return n.path + "." + key
}

// get returns the field key of an object; absent (or null) reads as a
// node holding nil.
func (n node) get(key string) (node, error) {
	if n.v == nil {
		return node{path: n.join(key)}, nil
	}
	m, ok := n.v.(map[string]any)
	if !ok {
		return node{}, &fieldError{n.path, "expected an object, got " + typeName(n.v)}
	}
	return node{path: n.join(key), v: m[key]}, nil
}

// at follows keys from n.
func (n node) at(keys ...string) (node, error) {
	var err error
	for _, k := range keys {
		if n, err = n.get(k); err != nil {
			return node{}, err
		}
	}
	return n, nil
}

func (n node) str(keys ...string) (string, error) {
	f, err := n.at(keys...)
	if err != nil || f.v == nil {
		return "", err
	}
	s, ok := f.v.(string)
	if !ok {
		return "", &fieldError{f.path, "expected a string, got " + typeName(f.v)}
	}
	return s, nil
}

// text reads a string or a number as text: a field some versions of a
// tool write as one and some as the other (Litmus's probe success).
func (n node) text(keys ...string) (string, error) {
	f, err := n.at(keys...)
	if err != nil || f.v == nil {
		return "", err
	}
	switch v := f.v.(type) {
	case string:
		return v, nil
	case int64:
		return strconv.FormatInt(v, 10), nil
	case float64:
		return strconv.FormatFloat(v, 'f', -1, 64), nil
	}
	return "", &fieldError{f.path, "expected a string or a number, got " + typeName(f.v)}
}

func (n node) list(keys ...string) ([]node, error) {
	f, err := n.at(keys...)
	if err != nil || f.v == nil {
		return nil, err
	}
	l, ok := f.v.([]any)
	if !ok {
		return nil, &fieldError{f.path, "expected a list, got " + typeName(f.v)}
	}
	out := make([]node, len(l))
	for i, v := range l {
		out[i] = node{path: fmt.Sprintf("%s[%d]", f.path, i), v: v}
	}
	return out, nil
}

func (n node) strings(keys ...string) ([]string, error) {
	items, err := n.list(keys...)
	if err != nil {
		return nil, err
	}
	out := make([]string, 0, len(items))
	for _, it := range items {
		s, err := it.str()
		if err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	return out, nil
}

// object reads an object's fields in key order.
func (n node) object(keys ...string) ([]string, map[string]node, error) {
	f, err := n.at(keys...)
	if err != nil || f.v == nil {
		return nil, nil, err
	}
	m, ok := f.v.(map[string]any)
	if !ok {
		return nil, nil, &fieldError{f.path, "expected an object, got " + typeName(f.v)}
	}
	out := make(map[string]node, len(m))
	for k, v := range m {
		out[k] = node{path: f.join(k), v: v}
	}
	return slices.Sorted(maps.Keys(m)), out, nil
}

// time reads an RFC 3339 timestamp, as metav1.Time writes it.
func (n node) time(keys ...string) (time.Time, error) {
	f, err := n.at(keys...)
	if err != nil {
		return time.Time{}, err
	}
	s, err := f.str()
	if err != nil || s == "" {
		return time.Time{}, err
	}
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		return time.Time{}, &fieldError{f.path, fmt.Sprintf("%q is not an RFC 3339 time", s)}
	}
	return t.UTC(), nil
}

// pairs writes "k=v" pairs of an object of strings, in key order,
// comma-separated.
func (n node) pairs(keys ...string) (string, error) {
	ks, fields, err := n.object(keys...)
	if err != nil {
		return "", err
	}
	var parts []string
	for _, k := range ks {
		v, err := fields[k].str()
		if err != nil {
			return "", err
		}
		parts = append(parts, k+"="+v)
	}
	return strings.Join(parts, ","), nil
}

// words joins the non-empty "name=value" parts with spaces.
type words []string

func (w *words) add(name, value string) {
	if value != "" {
		*w = append(*w, name+"="+value)
	}
}

func (w words) String() string { return strings.Join(w, " ") }
