package chaostoolkit

import (
	"fmt"
	"math"
	"regexp"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/steadywatch/steadywatch/internal/yamlnode"
)

// readTolerance maps the tolerance n of a Prometheus probe to its SLO
// bound, or says in p.skip why it cannot be one. The forms are those
// chaoslib's hypothesis.py accepts: a scalar (the output must equal it), a
// list (two values: low <= output <= high; more: one of them) and a
// mapping of type probe, regex, jsonpath or range. A malformed range is an
// error, as it is for Chaos Toolkit.
func (p *probe) readTolerance(e *experiment, n *yaml.Node, path string) *Error {
	p.tolerance = flowText(n)
	switch n.Kind {
	case yaml.ScalarNode:
		switch n.ShortTag() {
		case "!!int", "!!float":
			p.skip = fmt.Sprintf("tolerance %s asks for exactly that value, and an SLO is a min and/or a max", n.Value)
			if f, ok := number(n); ok && f == 0 {
				p.skip += ": if the value cannot be negative, slo: {max: 0} says the same"
			}
		default:
			p.skip = fmt.Sprintf("tolerance %s compares the probe's whole output with %s, and an SLO is a min and/or a max of the query's value", p.tolerance, p.tolerance)
		}
		return nil
	case yaml.SequenceNode:
		if len(n.Content) == 2 {
			low, okLow := number(yamlnode.Resolve(n.Content[0]))
			high, okHigh := number(yamlnode.Resolve(n.Content[1]))
			if okLow && okHigh {
				p.bound(low, high)
				return nil
			}
		}
		p.skip = fmt.Sprintf("tolerance %s is a list of allowed values, and an SLO is a min and/or a max: a list of two numbers is a range", p.tolerance)
		return nil
	case yaml.MappingNode:
	default:
		return errAt(e.file, n, path, "want a value, a list or a mapping, got %s", yamlnode.Describe(n))
	}
	f, err := e.fields(n, path)
	if err != nil {
		return err
	}
	typ, err := e.required(f, path, "type")
	if err != nil {
		return err
	}
	const rewrite = "which steadywatch cannot express: write its condition as a min and/or max"
	switch typ {
	case "probe":
		fn := "no Python provider"
		if prov := f.value("provider"); prov != nil && prov.Kind == yaml.MappingNode {
			pf, err := e.fields(prov, path+".provider")
			if err != nil {
				return err
			}
			if m, fu := pf.value("module"), pf.value("func"); m != nil && fu != nil {
				fn = m.Value + "." + fu.Value
			}
		}
		p.skip = fmt.Sprintf("its tolerance is a probe (%s) that runs Python on the response, which steadywatch cannot run: write its condition as a min and/or max", fn)
	case "jsonpath":
		jp := ""
		if v := f.value("path"); v != nil && v.Kind == yaml.ScalarNode {
			jp = " (" + v.Value + ")"
		}
		p.skip = fmt.Sprintf("its tolerance is a jsonpath test of the response%s, %s", jp, rewrite)
	case "regex":
		p.skip = "its tolerance is a regex test of the response, " + rewrite
	case "range":
		r := f.value("range")
		switch {
		case r == nil:
			return errAt(e.file, n, path+".range", "missing")
		case r.Kind != yaml.SequenceNode:
			return errAt(e.file, r, path+".range", "want two numbers [low, high], got %s", yamlnode.Describe(r))
		case len(r.Content) != 2:
			return errAt(e.file, r, path+".range", "want two numbers [low, high], got %d values", len(r.Content))
		}
		var bounds [2]float64
		for i, b := range r.Content {
			b = yamlnode.Resolve(b)
			v, ok := number(b)
			if !ok {
				return errAt(e.file, b, fmt.Sprintf("%s.range[%d]", path, i), "want a number, got %s", yamlnode.Describe(b))
			}
			bounds[i] = v
		}
		if t := f.value("target"); t != nil {
			p.skip = fmt.Sprintf("its range tolerance has target %s, a field of the probe's output rather than the query's value", flowText(t))
			return nil
		}
		p.bound(bounds[0], bounds[1])
	default:
		return errAt(e.file, f.value("type"), path+".type", "%q is not one of probe, regex, jsonpath, range", typ)
	}
	return nil
}

// bound sets the SLO [low, high] (an infinite side is no bound), or says
// why there is none.
func (p *probe) bound(low, high float64) {
	switch {
	case low > high:
		p.skip = fmt.Sprintf("tolerance %s holds no value: its low bound is above its high bound", p.tolerance)
	case low == high:
		p.skip = fmt.Sprintf("tolerance %s asks for exactly one value, and an SLO is a min and/or a max", p.tolerance)
	case math.IsInf(low, -1) && math.IsInf(high, 1):
		p.skip = fmt.Sprintf("tolerance %s bounds nothing", p.tolerance)
	default:
		if !math.IsInf(low, -1) {
			p.slo.Min = &low
		}
		if !math.IsInf(high, 1) {
			p.slo.Max = &high
		}
	}
}

// number returns the value of a YAML number; NaN is none.
func number(n *yaml.Node) (float64, bool) {
	if n.Kind != yaml.ScalarNode || (n.ShortTag() != "!!int" && n.ShortTag() != "!!float") {
		return 0, false
	}
	var f float64
	if err := n.Decode(&f); err != nil || math.IsNaN(f) {
		return 0, false
	}
	return f, true
}

// plain matches the strings flowText writes without quotes.
var plain = regexp.MustCompile(`^[A-Za-z0-9_.$@\[\]-]+$`)

// flowText writes a tolerance on one line, for messages and comments:
// 200, [0, 0.5], {type: range, range: [0, 1]}; past 50 nodes (aliases can
// make a short file a large tree) it writes "...".
func flowText(n *yaml.Node) string {
	budget := 50
	return flowTextOf(n, &budget)
}

func flowTextOf(n *yaml.Node, budget *int) string {
	if *budget--; *budget < 0 {
		return "..."
	}
	n = yamlnode.Resolve(n)
	switch n.Kind {
	case yaml.ScalarNode:
		if n.ShortTag() == "!!str" && !plain.MatchString(n.Value) {
			return strconv.Quote(n.Value)
		}
		return n.Value
	case yaml.SequenceNode:
		parts := make([]string, len(n.Content))
		for i, c := range n.Content {
			parts[i] = flowTextOf(c, budget)
		}
		return "[" + strings.Join(parts, ", ") + "]"
	case yaml.MappingNode:
		parts := make([]string, 0, len(n.Content)/2)
		for i := 0; i+1 < len(n.Content); i += 2 {
			parts = append(parts, n.Content[i].Value+": "+flowTextOf(n.Content[i+1], budget))
		}
		return "{" + strings.Join(parts, ", ") + "}"
	}
	return yamlnode.Describe(n)
}
