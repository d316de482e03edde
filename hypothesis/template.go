package hypothesis

import (
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/promql/parser"
)

// Placeholder is the only template action a query may hold. It stands for
// a group's label matchers, so it belongs inside a selector's braces:
//
//	rate(flask_http_request_total{status=~"5..", {{ .Group }} }[1m])
//
// Spaces inside the action are optional ("{{.Group}}"), and a brace may
// touch it: in "x{{{ .Group }}}" the outer braces are the selector's.
const Placeholder = "{{ .Group }}"

// Template is a PromQL query with [Placeholder]s for a group's matchers.
type Template struct {
	text  string
	holes []span // the placeholders, in order
}

type span struct{ start, end int }

// String returns the template as written.
func (t Template) String() string { return t.text }

// IsZero reports whether t is the zero Template, as for a ratio metric's
// value query.
func (t Template) IsZero() bool { return t.text == "" }

// Expand returns the query with every placeholder replaced by sel, a list
// of label matchers such as `steadywatch_io_group="control"`.
func (t Template) Expand(sel string) string {
	var b strings.Builder
	b.Grow(len(t.text) + len(t.holes)*len(sel))
	last := 0
	for _, h := range t.holes {
		b.WriteString(t.text[last:h.start])
		b.WriteString(sel)
		last = h.end
	}
	b.WriteString(t.text[last:])
	return b.String()
}

// sourcePos maps a byte offset in t.Expand(sel) to the offset in t of the
// text it came from: a position inside an expanded placeholder maps to the
// placeholder.
func (t Template) sourcePos(sel string, p int) int {
	delta := 0
	for _, h := range t.holes {
		hs := h.start + delta
		if p < hs {
			break
		}
		if p < hs+len(sel) {
			return h.start
		}
		delta += len(sel) - (h.end - h.start)
	}
	return p - delta
}

// posError is a problem at a byte offset of a field's value. Parse turns
// the offset into the line and column in the file, so a problem inside a
// multi-line block scalar points at its own line.
type posError struct {
	pos int    // byte offset in the value
	col int    // 1-based column on the reported line, once known
	msg string // what is wrong, after "at char N: "
}

func (e *posError) Error() string {
	col := e.col
	if col == 0 {
		col = e.pos + 1
	}
	return "parse error at char " + strconv.Itoa(col) + ": " + e.msg
}

func posErrorf(path string, pos int, format string, args ...any) *Error {
	return &Error{Path: path, Err: &posError{pos: pos, msg: fmt.Sprintf(format, args...)}}
}

// parseTemplate finds the placeholders of s and rejects any other
// template action.
func parseTemplate(path, s string) (Template, *Error) {
	t := Template{text: s}
	for i := 0; i < len(s); {
		j := strings.Index(s[i:], "{{")
		if j < 0 {
			break
		}
		start := i + j
		for start+2 < len(s) && s[start+2] == '{' {
			start++ // "{{{": the first brace is PromQL's
		}
		k := strings.Index(s[start+2:], "}}")
		if k < 0 {
			return Template{}, posErrorf(path, start, "unclosed template action: %q has no }}", s[start:])
		}
		end := start + 2 + k + 2
		if strings.TrimSpace(s[start+2:end-2]) != ".Group" {
			return Template{}, posErrorf(path, start, "unsupported template action %s: only %s is allowed", s[start:end], Placeholder)
		}
		t.holes = append(t.holes, span{start, end})
		i = end
	}
	if len(t.holes) == 0 {
		return Template{}, fieldErrorf(path, "has no %s placeholder, so it would select the same series for both groups", Placeholder)
	}
	return t, nil
}

var promql = parser.NewParser(parser.Options{})

// MaxQueryBytes bounds the length of an expanded query: many placeholders
// and long matchers would otherwise multiply into a query too large to
// send (and to hold).
const MaxQueryBytes = 64 << 10

// expandedLen is the length of t.Expand(sel), computed without expanding.
func (t Template) expandedLen(sel string) int {
	n := len(t.text)
	for _, h := range t.holes {
		n += len(sel) - (h.end - h.start)
	}
	return n
}

// checkQuery parses t expanded with each group's matchers. The query must
// be one a range query can evaluate: an instant vector or a scalar.
func checkQuery(path string, t Template, groups []namedSelector) *Error {
	var firstErr error
	for i, g := range groups {
		if n := t.expandedLen(g.sel); n > MaxQueryBytes {
			return fieldErrorf(path, "is %d bytes long once expanded for the %s group, more than %d", n, g.name, MaxQueryBytes)
		}
		q := t.Expand(g.sel)
		expr, err := promql.ParseExpr(q)
		if err != nil {
			if i > 0 && firstErr == nil {
				return queryError(path, t, g, err, " (with the "+g.name+" group's matchers)")
			}
			return queryError(path, t, g, err, "")
		}
		if typ := expr.Type(); typ != parser.ValueTypeVector && typ != parser.ValueTypeScalar {
			return fieldErrorf(path, "is a %s, want an instant vector or a scalar", typeName(typ))
		}
	}
	return nil
}

func queryError(path string, t Template, g namedSelector, err error, suffix string) *Error {
	if perrs, ok := errors.AsType[parser.ParseErrors](err); ok && len(perrs) > 0 {
		pe := perrs[0]
		pos := t.sourcePos(g.sel, int(pe.PositionRange.Start))
		return posErrorf(path, pos, "%v%s", pe.Err, suffix)
	}
	return fieldErrorf(path, "%v%s", err, suffix)
}

// namedSelector is a group's name and label matchers.
type namedSelector struct{ name, sel string }

// parseSelector parses a group's label matchers and returns them in a
// canonical form, so that two spellings of one selection compare equal.
func parseSelector(path, sel string) (string, *Error) {
	if strings.TrimSpace(sel) == "" {
		return "", fieldErrorf(path, "must not be empty")
	}
	if strings.Contains(sel, "{{") {
		return "", fieldErrorf(path, "must be label matchers, not a template")
	}
	ms, err := promql.ParseMetricSelector("{" + sel + "}")
	if err != nil {
		if perrs, ok := errors.AsType[parser.ParseErrors](err); ok && len(perrs) > 0 {
			pos := max(int(perrs[0].PositionRange.Start)-1, 0)
			return "", posErrorf(path, min(pos, len(sel)), "%v", perrs[0].Err)
		}
		return "", &Error{Path: path, Err: err}
	}
	canon := make([]string, 0, len(ms))
	for _, m := range ms {
		if m.Name == model.MetricNameLabel {
			return "", fieldErrorf(path, "must not match the metric name (%s): the group is added to every selector of a query", m)
		}
		canon = append(canon, m.String())
	}
	slices.Sort(canon)
	return strings.Join(canon, ","), nil
}

// typeName names a PromQL value type as the documentation does.
func typeName(t parser.ValueType) string {
	switch t {
	case parser.ValueTypeMatrix:
		return "range vector"
	case parser.ValueTypeVector:
		return "instant vector"
	}
	return string(t)
}
