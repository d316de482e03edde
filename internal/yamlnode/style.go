package yamlnode

import (
	"fmt"
	"reflect"
	"strings"

	"github.com/prometheus/common/model"
	"go.yaml.in/yaml/v3"
)

// Typer is implemented by types that name the YAML they are decoded from
// themselves ("a percentage", "an RFC 3339 time").
type Typer interface{ YAMLType() string }

var durationType = reflect.TypeFor[model.Duration]()

// Want names the YAML type a Go type is decoded from, in the words of a
// user who writes YAML and may not know Go: "a duration", "a list".
func Want(t reflect.Type) string {
	if ty, ok := reflect.TypeAssert[Typer](reflect.Zero(t)); ok {
		return ty.YAMLType()
	}
	switch {
	case t == durationType:
		return "a duration"
	case t.Kind() == reflect.Pointer:
		return Want(t.Elem())
	case t.Kind() == reflect.Struct, t.Kind() == reflect.Map:
		return "a mapping"
	case t.Kind() == reflect.Slice:
		return "a list"
	case t.Kind() == reflect.String:
		return "a string"
	case t.Kind() == reflect.Bool:
		return "true or false"
	case IsInteger(t.Kind()):
		return "an integer"
	case t.Kind() == reflect.Float32 || t.Kind() == reflect.Float64:
		return "a number"
	}
	return t.String()
}

// UnknownField says that name is not a field, suggesting the field it is
// likely a misspelling of, else listing the fields there are.
func UnknownField(name string, names []string) string {
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

// UserStyle words a Decoder's errors for a user who writes YAML: the YAML
// type a field wants rather than the Go one, and the field a misspelt key
// likely meant. The configuration and the hypothesis files both use it.
var UserStyle = Style{
	Mismatch: func(n *yaml.Node, t reflect.Type) string {
		return fmt.Sprintf("want %s, got %s", Want(t), Describe(n))
	},
	UnknownField: func(name string, names []string, _ reflect.Type) string { return UnknownField(name, names) },
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
