package hypothesis

import (
	"reflect"

	"go.yaml.in/yaml/v3"

	"github.com/steadywatch/steadywatch/internal/yamlnode"
)

// Hypothesis files are decoded by yamlnode's strict decoder, as the
// configuration is, worded for users (yamlnode.UserStyle): the expected
// YAML type ("a duration", "a list") rather than the Go one, and the field
// a misspelt key likely meant. The file's wire types name their own YAML
// type (yamlnode.Typer).

func newDecoder(file string) *yamlnode.Decoder { return yamlnode.NewDecoder(file, yamlnode.UserStyle) }

// decode decodes n into v, which must be addressable.
func decode(d *yamlnode.Decoder, n *yaml.Node, path string, v reflect.Value) *Error {
	return yamlnode.As[hypothesisFile](d.Decode(n, path, v))
}
