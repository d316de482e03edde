package yamlnode_test

import (
	"errors"
	"fmt"
	"reflect"
	"testing"

	"github.com/stretchr/testify/require"
	"go.yaml.in/yaml/v3"

	"github.com/steadywatch/steadywatch/internal/yamlnode"
)

type item struct {
	Name   string `yaml:"name"`
	Weight int    `yaml:"weight"`
}

func (i *item) SetDefaults() { i.Weight = 1 }

type doc struct {
	Title   string  `yaml:"title"`
	Enabled bool    `yaml:"enabled"`
	Ratio   float64 `yaml:"ratio"`
	Items   []item  `yaml:"items"`
	Extra   *item   `yaml:"extra"`
	Nested  struct {
		Count int `yaml:"count"`
	} `yaml:"nested"`
}

var testStyle = yamlnode.Style{
	Mismatch: func(n *yaml.Node, t reflect.Type) string { return fmt.Sprintf("%s is not a %s", n.ShortTag(), t) },
	UnknownField: func(name string, names []string, _ reflect.Type) string {
		return fmt.Sprintf("no %s in %v", name, names)
	},
}

func decode(t *testing.T, src string) (doc, *yamlnode.Decoder, *yamlnode.FieldError) {
	t.Helper()
	var n yaml.Node
	require.NoError(t, yaml.Unmarshal([]byte(src), &n))
	d := yamlnode.NewDecoder("test.yml", testStyle)
	var out doc
	out.Title = "default"
	err := d.Decode(n.Content[0], "", reflect.ValueOf(&out).Elem())
	return out, d, err
}

func TestDecoderDecodesWithDefaultsMergesAndLines(t *testing.T) {
	_, _, err := decode(t, `base: &b {name: x}
items:
  - <<: *b
    weight: 5
  - name: y
extra: {name: z}
nested:
  count: 3
ratio: 2
`)
	require.NotNil(t, err, "base is not a field")
	require.Equal(t, "no base in [title enabled ratio items extra nested]", err.Err.Error())

	got, d, err := decode(t, `items:
  - {<<: {name: x, weight: 9}, weight: 5}
  - name: y
extra: {name: z}
nested:
  count: 3
ratio: 2
`)
	require.Nil(t, err)
	require.Equal(t, "default", got.Title, "a field left out keeps its default")
	require.Equal(t, []item{{Name: "x", Weight: 5}, {Name: "y", Weight: 1}}, got.Items,
		"an explicit key wins over a merged one; list elements get their defaults")
	require.Equal(t, &item{Name: "z", Weight: 1}, got.Extra, "so do the targets of pointers")
	require.Equal(t, 3, got.Nested.Count)
	require.InDelta(t, 2.0, got.Ratio, 0, "an integer is a fine float")
	require.Equal(t, 2, d.Line("items[0].weight", nil))
	require.Equal(t, 5, d.Line("nested", nil), "a section is placed at its key")
	require.Equal(t, 6, d.Line("nested.count", nil))
	require.Equal(t, 4, d.Line("extra.missing", nil), "an unknown path at its closest parent")
	require.Equal(t, 7, d.Line("nowhere", []string{"ratio"}), "or at an alternative")
	require.Equal(t, 0, d.Line("nowhere", nil))
	require.Equal(t, 3, d.Node("items[1].name").Line)
}

func TestDecoderRejectsWhatYAMLv3WouldBend(t *testing.T) {
	for src, want := range map[string]string{
		"nested: {count: 1.5}":                  "line 1: nested.count: !!float is not a int",
		"nested: {count: 99999999999999999999}": "line 1: nested.count: !!float is not a int",
		"enabled: yes":                          "line 1: enabled: !!str is not a bool",
		"ratio: [1]":                            "line 1: ratio: !!seq is not a float64",
		"items: {name: x}":                      "line 1: items: !!map is not a []yamlnode_test.item",
		"title: a\ntitle: b":                    "line 2: : mapping key \"title\" already defined at line 1",
		"extra: {nam: x}":                       "line 1: extra: no nam in [name weight]",
	} {
		t.Run(src, func(t *testing.T) {
			_, _, err := decode(t, src)
			require.NotNil(t, err)
			require.Equal(t, want, fmt.Sprintf("line %d: %s: %v", err.Line, err.Path, err.Err))
		})
	}
}

// keys decodes any node itself: it keeps the keys of a mapping and refuses
// anything else.
type keys struct{ names []string }

func (k *keys) DecodeNode(n *yaml.Node) error {
	r := yamlnode.Resolve(n)
	if r.Kind != yaml.MappingNode {
		return fmt.Errorf("%s is not a mapping", r.ShortTag())
	}
	for i := 0; i < len(r.Content); i += 2 {
		if r.Content[i].Value == "bad" {
			return &yamlnode.FieldError{Line: r.Content[i].Line, Path: "bad", Err: errors.New("a bad key")}
		}
		k.names = append(k.names, r.Content[i].Value)
	}
	return nil
}

func TestANodeDecoderDecodesItsNodeWhateverItsKind(t *testing.T) {
	type section struct {
		Title string `yaml:"title"`
		Own   keys   `yaml:"own"`
		Ptr   *keys  `yaml:"ptr"`
	}
	decodeSection := func(src string) (section, *yamlnode.FieldError) {
		var n yaml.Node
		require.NoError(t, yaml.Unmarshal([]byte(src), &n))
		var out section
		err := yamlnode.NewDecoder("test.yml", testStyle).Decode(n.Content[0], "", reflect.ValueOf(&out).Elem())
		return out, err
	}
	got, err := decodeSection("title: t\nown: {a: 1, b: {c: 2}}\nptr:\n  d: 3\n")
	require.Nil(t, err)
	require.Equal(t, []string{"a", "b"}, got.Own.names, "the decoder's own mapping, not the struct walk")
	require.Equal(t, &keys{names: []string{"d"}}, got.Ptr, "through a pointer too")

	got, err = decodeSection("title: t\nptr: ~\n")
	require.Nil(t, err)
	require.Nil(t, got.Ptr, "a null pointer stays nil")

	_, err = decodeSection("title: t\nptr:\n  - d\n")
	require.NotNil(t, err)
	require.Equal(t, "line 2: ptr: !!seq is not a mapping", fmt.Sprintf("line %d: %s: %v", err.Line, err.Path, err.Err),
		"its error is at the field's path, on its key's line")

	_, err = decodeSection("title: t\nptr:\n  d: 3\n  bad: 4\n")
	require.NotNil(t, err)
	require.Equal(t, "line 4: ptr.bad: a bad key", fmt.Sprintf("line %d: %s: %v", err.Line, err.Path, err.Err),
		"a FieldError of its own names its place within the node")
}
