package yamlnode_test

import (
	"errors"
	"testing"

	"github.com/stretchr/testify/require"
	"go.yaml.in/yaml/v3"

	"github.com/steadywatch/steadywatch/internal/yamlnode"
)

func TestMessageLeavesOutWhatIsUnknown(t *testing.T) {
	problem := errors.New("must not be empty")
	for _, tc := range []struct {
		file string
		line int
		path string
		err  error
		want string
	}{
		{"a.yml", 3, "watch.selector", problem, "a.yml:3: watch.selector: must not be empty"},
		{"a.yml", 0, "listen", problem, "a.yml: listen: must not be empty"},
		{"", 7, "", problem, "line 7: must not be empty"},
		{"", 0, "data_dir", nil, "data_dir: invalid thing"},
	} {
		require.Equal(t, tc.want, yamlnode.Message(tc.file, tc.line, tc.path, tc.err, "invalid thing"))
	}
}

func TestSyntaxStripsYAMLsPrefixesAndKeepsTheFirstLine(t *testing.T) {
	var v struct{ A int }
	err := yaml.Unmarshal([]byte("a: x\nb: [\n"), &v)
	require.Error(t, err)
	msg, line := yamlnode.Syntax(err)
	require.Equal(t, 2, line, msg)
	require.NotContains(t, msg, "yaml: ")

	err = yaml.Unmarshal([]byte("a: one\n"), &v)
	msg, line = yamlnode.Syntax(err)
	require.Equal(t, 1, line)
	require.Equal(t, "cannot unmarshal !!str `one` into int", msg)
}

func TestDescribeShortensLongScalars(t *testing.T) {
	require.Equal(t, "!!str `abc`", yamlnode.Describe(&yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: "abc"}))
	require.Equal(t, "!!str `abcdefg...`", yamlnode.Describe(&yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: "abcdefghijklmno"}))
	require.Equal(t, "!!seq", yamlnode.Describe(&yaml.Node{Kind: yaml.SequenceNode, Tag: "!!seq"}))
}
