package demo

import (
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/promql/parser"
)

// durationRE is a duration as model.ParseDuration reads it (the order of
// the units is checked by parsing).
const durationRE = `(?:[0-9]+(?:ms|y|w|d|h|m|s))+`

var (
	rangeRE  = regexp.MustCompile(`^\[(\s*)(` + durationRE + `)(\s*)(?::(\s*)(` + durationRE + `)?(\s*))?\]`)
	offsetRE = regexp.MustCompile(`^(?i:offset)(\s+)(-?)(` + durationRE + `)\b`)
)

// scaleQuery divides the ranges of the range selectors and subqueries of a
// query template ([1m], [5m:30s]) and its offsets by scale. It reads the
// template as PromQL's lexer would, past strings, comments and the
// template's actions, and then proves the result: both queries, expanded,
// must parse, and read the same once every range, step and offset of the
// original is divided. The change names what changed, each once.
func scaleQuery(path, q string, scale int) (string, Change, error) {
	var b strings.Builder
	var from, to []string
	offsets := false
	last := 0
	for i := 0; i < len(q); {
		switch c := q[i]; {
		case strings.HasPrefix(q[i:], "{{"):
			start := i
			for start+2 < len(q) && q[start+2] == '{' {
				start++ // "{{{": the first brace is PromQL's
			}
			end := strings.Index(q[start+2:], "}}")
			if end < 0 {
				i = len(q)
				continue
			}
			i = start + 2 + end + 2
		case c == '"' || c == '\'' || c == '`':
			i = skipString(q, i)
		case c == '#':
			if j := strings.IndexByte(q[i:], '\n'); j >= 0 {
				i += j
			} else {
				i = len(q)
			}
		case c == '[':
			m := rangeRE.FindStringSubmatchIndex(q[i:])
			if m == nil {
				i++
				continue
			}
			sub := func(k int) string {
				if m[2*k] < 0 {
					return ""
				}
				return q[i+m[2*k] : i+m[2*k+1]]
			}
			r, err := scaleText(path, sub(2), scale)
			if err != nil {
				return "", Change{}, err
			}
			text := "[" + sub(1) + r + sub(3)
			if m[8] >= 0 { // a subquery
				step := sub(5)
				if step != "" {
					if step, err = scaleText(path, step, scale); err != nil {
						return "", Change{}, err
					}
				}
				text += ":" + sub(4) + step + sub(6)
			}
			text += "]"
			end := i + m[1]
			if text != q[i:end] {
				b.WriteString(q[last:i])
				b.WriteString(text)
				from, to = appendPair(from, to, q[i:end], text)
				last = end
			}
			i = end
		case isIdentByte(c) && (i == 0 || !isIdentByte(q[i-1])):
			m := offsetRE.FindStringSubmatchIndex(q[i:])
			if m == nil {
				for i < len(q) && isIdentByte(q[i]) {
					i++
				}
				continue
			}
			d, err := scaleText(path, q[i+m[6]:i+m[7]], scale)
			if err != nil {
				return "", Change{}, err
			}
			text := q[i:i+m[3]] + q[i+m[4]:i+m[5]] + d
			end := i + m[1]
			if text != q[i:end] {
				b.WriteString(q[last:i])
				b.WriteString(text)
				from, to = appendPair(from, to, q[i:end], text)
				last = end
				offsets = true
			}
			i = end
		default:
			i++
		}
	}
	b.WriteString(q[last:])
	out := b.String()
	if err := prove(path, q, out, scale); err != nil {
		return "", Change{}, err
	}
	if len(from) == 0 {
		return out, Change{}, nil
	}
	why := fmt.Sprintf("time scale 1/%d", scale)
	if offsets {
		why += " (offsets too)"
	}
	return out, Change{Path: path, From: strings.Join(from, ", "), To: strings.Join(to, ", "), Why: why}, nil
}

// appendPair adds a change of text once.
func appendPair(from, to []string, f, t string) ([]string, []string) {
	for i := range from {
		if from[i] == f && to[i] == t {
			return from, to
		}
	}
	return append(from, f), append(to, t)
}

func isIdentByte(c byte) bool {
	return c == '_' || c == ':' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
}

// skipString returns the offset after the string literal starting at i:
// PromQL's strings are quoted with ", ' (with backslash escapes) or `.
func skipString(q string, i int) int {
	quote := q[i]
	for j := i + 1; j < len(q); j++ {
		switch {
		case q[j] == '\\' && quote != '`':
			j++
		case q[j] == quote:
			return j + 1
		}
	}
	return len(q)
}

func scaleText(path, s string, scale int) (string, error) {
	d, err := model.ParseDuration(s)
	if err != nil {
		return "", fmt.Errorf("%s: %w", path, err)
	}
	return model.Duration(scaleDuration(time.Duration(d), scale)).String(), nil
}

// proofMatcher stands for a group's matchers when a query is parsed.
const proofMatcher = `steadywatch_demo="proof"`

var promql = parser.NewParser(parser.Options{})

// prove checks that scaled is orig with its durations divided by scale:
// both parse, as steadywatch parses a query (its placeholders replaced by
// label matchers), and orig with every range, subquery step and offset
// divided reads as scaled.
func prove(path, orig, scaled string, scale int) error {
	want, err := promql.ParseExpr(expand(orig))
	if err != nil {
		return fmt.Errorf("%s: does not parse: %w", path, err)
	}
	got, err := promql.ParseExpr(expand(scaled))
	if err != nil {
		return fmt.Errorf("%s: does not parse once scaled: %w", path, err)
	}
	wantRanges := durations(want)
	for i := range wantRanges {
		wantRanges[i] = scaleDuration(wantRanges[i], scale)
	}
	parser.Inspect(want, func(n parser.Node, _ []parser.Node) error {
		switch n := n.(type) {
		case *parser.MatrixSelector:
			n.Range = scaleDuration(n.Range, scale)
		case *parser.SubqueryExpr:
			n.Range = scaleDuration(n.Range, scale)
			n.Step = scaleDuration(n.Step, scale)
			n.OriginalOffset = scaleDuration(n.OriginalOffset, scale)
		case *parser.VectorSelector:
			n.OriginalOffset = scaleDuration(n.OriginalOffset, scale)
		}
		return nil
	})
	if gotRanges := durations(got); !slices.Equal(gotRanges, wantRanges) {
		return fmt.Errorf("%s: its ranges would be %v at time scale 1/%d, not %v: a range this adaptation does not read (write it as [5m])",
			path, fmtDurations(wantRanges), scale, fmtDurations(gotRanges))
	}
	if want.String() != got.String() {
		return fmt.Errorf("%s: scaled to 1/%d it reads %s, want %s", path, scale, got, want)
	}
	return nil
}

// durations lists the ranges of the range selectors and subqueries of e.
func durations(e parser.Expr) []time.Duration {
	var out []time.Duration
	parser.Inspect(e, func(n parser.Node, _ []parser.Node) error {
		switch n := n.(type) {
		case *parser.MatrixSelector:
			out = append(out, n.Range)
		case *parser.SubqueryExpr:
			out = append(out, n.Range)
		}
		return nil
	})
	return out
}

func fmtDurations(ds []time.Duration) string {
	s := make([]string, len(ds))
	for i, d := range ds {
		s[i] = "[" + model.Duration(d).String() + "]"
	}
	return strings.Join(s, " ")
}

// expand replaces the placeholders of a query template with label
// matchers, as hypothesis.Template.Expand does: an action is "{{" to the
// next "}}", and of "{{{" the first brace is PromQL's.
func expand(q string) string {
	var b strings.Builder
	for {
		i := strings.Index(q, "{{")
		if i < 0 {
			break
		}
		for i+2 < len(q) && q[i+2] == '{' {
			i++
		}
		j := strings.Index(q[i+2:], "}}")
		if j < 0 {
			break
		}
		b.WriteString(q[:i])
		b.WriteString(proofMatcher)
		q = q[i+2+j+2:]
	}
	b.WriteString(q)
	return b.String()
}
