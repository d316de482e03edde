package hypothesis

import (
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/steadywatch/steadywatch/internal/yamlnode"
)

// valuePosition returns the file line and the column on it (both 1-based)
// of the byte at offset pos of a scalar's value, so that an error inside a
// multi-line query points at its own line. The column counts from the
// start of the value's text on that line. ok is false when the value's
// layout in the file cannot be traced back (escapes in quoted scalars,
// more-indented lines of folded ones, ...).
func valuePosition(n *yaml.Node, pos int, src []string) (line, col int, ok bool) {
	r := yamlnode.Resolve(n)
	v := r.Value
	if r.Kind != yaml.ScalarNode || pos < 0 || pos > len(v) || r.Line < 1 || r.Line > len(src) {
		return 0, 0, false
	}
	// The end of the input, where PromQL reports what is unclosed, is the
	// end of the last line, not the line after a block scalar's final break.
	pos = min(pos, len(strings.TrimRight(v, "\n")))
	switch {
	case r.Style&yaml.LiteralStyle != 0:
		// Lines are kept as they are, blank ones included.
		before := v[:pos]
		return r.Line + 1 + strings.Count(before, "\n"), pos - strings.LastIndexByte(before, '\n'), true
	case r.Style&yaml.FoldedStyle != 0:
		return foldedPosition(v, pos, src, r.Line)
	case r.Style&(yaml.SingleQuotedStyle|yaml.DoubleQuotedStyle) != 0:
		// Only a quoted value written on one line without escapes.
		q := "'"
		if r.Style&yaml.DoubleQuotedStyle != 0 {
			q = `"`
		}
		text := src[r.Line-1]
		if c := r.Column - 1; c >= 0 && strings.HasPrefix(text[min(c, len(text)):], q+v+q) && !strings.Contains(v, q) && !strings.Contains(v, `\`) {
			return r.Line, pos + 1, true
		}
		return 0, 0, false
	case r.Style&(yaml.TaggedStyle|yaml.FlowStyle) == r.Style:
		return plainPosition(v, pos, src, r.Line, r.Column)
	}
	return 0, 0, false
}

// foldedLine is a line of a folded or plain scalar as it enters folding.
type foldedLine struct {
	text string // without indentation; empty for a blank line
	line int    // 1-based
}

// fold joins lines as YAML folds them: a line break between two text lines
// becomes a space, and n blank lines between them become n line breaks.
// It returns the result and the offset in it where each text line starts.
func fold(lines []foldedLine) (string, []int) {
	var b strings.Builder
	starts := make([]int, len(lines))
	blank, first := 0, true
	for i, l := range lines {
		if l.text == "" {
			blank++
			continue
		}
		switch {
		case first:
			b.WriteString(strings.Repeat("\n", blank))
		case blank == 0:
			b.WriteByte(' ')
		default:
			b.WriteString(strings.Repeat("\n", blank))
		}
		starts[i] = b.Len()
		b.WriteString(l.text)
		blank, first = 0, false
	}
	return b.String(), starts
}

// locateFolded finds the text line holding offset pos of the folded value.
func locateFolded(v string, pos int, lines []foldedLine) (line, col int, ok bool) {
	folded, starts := fold(lines)
	if folded != strings.TrimRight(v, "\n") {
		return 0, 0, false
	}
	line, col = 0, 0
	for i, l := range lines {
		if l.text != "" && starts[i] <= pos {
			line, col = l.line, min(pos-starts[i], len(l.text))+1
		}
	}
	return line, col, line > 0
}

// foldedPosition places an offset of a ">" block scalar whose indicator is
// on line ind.
func foldedPosition(v string, pos int, src []string, ind int) (line, col int, ok bool) {
	var lines []foldedLine
	indent := -1
	for i := ind; i < len(src); i++ {
		text := strings.TrimRight(src[i], " \t\r")
		if text == "" {
			lines = append(lines, foldedLine{line: i + 1})
			continue
		}
		n := len(text) - len(strings.TrimLeft(text, " "))
		if indent < 0 {
			indent = n
		}
		if n < indent {
			break
		}
		if n > indent || text[n] == '\t' {
			return 0, 0, false // more-indented lines keep their breaks
		}
		lines = append(lines, foldedLine{text: text[n:], line: i + 1})
	}
	return locateFolded(v, pos, lines)
}

// plainPosition places an offset of a plain scalar starting at line and
// column; a multi-line plain scalar folds like a ">" one.
func plainPosition(v string, pos int, src []string, line, column int) (int, int, bool) {
	first := src[line-1]
	if column-1 > len(first) {
		return 0, 0, false
	}
	lines := []foldedLine{{text: strings.TrimRight(first[column-1:], " \t\r"), line: line}}
	for i := line; i < len(src); i++ {
		folded, _ := fold(lines)
		if len(folded) >= len(v) {
			break
		}
		lines = append(lines, foldedLine{text: strings.TrimSpace(src[i]), line: i + 1})
	}
	return locateFolded(v, pos, lines)
}
