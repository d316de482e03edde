package hypothesis

import (
	"fmt"
	"reflect"
	"strings"

	"github.com/prometheus/common/model"
	"go.yaml.in/yaml/v3"

	"github.com/steadywatch/steadywatch/internal/yamlnode"
)

// Hypothesis files are decoded by yamlnode's strict decoder, as the
// configuration is. Its errors here name the expected YAML type ("a
// duration", "a list") rather than the Go one, the Go types being the
// file's unexported wire types, and suggest the field a misspelt key
// likely meant.

func newDecoder(file string) *yamlnode.Decoder { return yamlnode.NewDecoder(file, style) }

var style = yamlnode.Style{
	Mismatch: func(n *yaml.Node, t reflect.Type) string {
		return fmt.Sprintf("want %s, got %s", want(t), yamlnode.Describe(n))
	},
	UnknownField: func(name string, names []string, _ reflect.Type) string { return unknownField(name, names) },
}

// decode decodes n into v, which must be addressable.
func decode(d *yamlnode.Decoder, n *yaml.Node, path string, v reflect.Value) *Error {
	return yamlnode.As[hypothesisFile](d.Decode(n, path, v))
}

var durationType = reflect.TypeFor[model.Duration]()

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
