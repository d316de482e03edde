package contract_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/steadywatch/steadywatch/contract"
)

func TestCheckCluster(t *testing.T) {
	for _, ok := range []string{"", "east", "eu-west-1", "a", "0", "a23456789012345678901234567890123456789012345678901234567890123"} {
		require.NoError(t, contract.CheckCluster(ok), ok)
	}
	for _, bad := range []string{"East", "a_b", "-x", "x-", "*", "a.b", "a234567890123456789012345678901234567890123456789012345678901234"} {
		require.ErrorContains(t, contract.CheckCluster(bad), `"`+bad+`" is not a valid cluster name: `, bad)
	}
}
