package generate_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/steadywatch/steadywatch/config"
	"github.com/steadywatch/steadywatch/generate"
)

func TestWithClusterWritesTheClusterIntoTheConfiguration(t *testing.T) {
	const cfg = "# mine\nlisten: \":8080\"\n"
	for _, tc := range []struct {
		name, data, cluster, want, err string
	}{
		{name: "no cluster leaves it as it is", data: cfg, want: cfg},
		{name: "a cluster is its first line", data: cfg, cluster: "eu-west-1", want: "cluster: eu-west-1\n" + cfg},
		{name: "the defaults get one too", data: "# The defaults\n", cluster: "a", want: "cluster: a\n# The defaults\n"},
		{name: "the cluster the configuration names already leaves it as it is", data: "cluster: a\n" + cfg, cluster: "a", want: "cluster: a\n" + cfg},
		{name: "another cluster than the configuration's is an error", data: "cluster: a\n", cluster: "b", err: `cluster "b": the configuration names cluster "a"`},
		{name: "a name that is not a cluster name is an error", data: cfg, cluster: "EU_1", err: `cluster: "EU_1" is not a valid cluster name`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := generate.WithCluster([]byte(tc.data), tc.cluster)
			if tc.err != "" {
				require.ErrorContains(t, err, tc.err)
				return
			}
			require.NoError(t, err)
			require.Equal(t, tc.want, string(got))
			parsed, err := config.Parse(got, "got")
			require.NoError(t, err)
			require.Equal(t, tc.cluster, parsed.Cluster)
		})
	}
}
