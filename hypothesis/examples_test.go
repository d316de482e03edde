package hypothesis

import (
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestTheExamplesLoad(t *testing.T) {
	hs, err := Load(filepath.Join("..", "examples"))
	require.NoError(t, err)
	names := make([]string, len(hs))
	for i, h := range hs {
		names[i] = h.Name
	}
	require.Equal(t, []string{"cpu-autoscaling", "host-failure", "kill-postgres-replica", "resource-exhaustion"}, names)
}
