package main

import (
	"os/exec"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// The binary's resident memory at start grows with what it links (issue
// 16: most of serve's RSS is the binary's own pages). These packages are
// heavy for what steadywatch would use of them.
var unlinked = []struct{ pkg, why string }{
	{"github.com/prometheus/alertmanager/notify", "webhook.Message alone links Alertmanager's notifiers, its cluster and a Kafka client (receiver decodes into its own copy)"},
	{"github.com/twmb/franz-go/pkg/kgo", "a Kafka client, through Alertmanager's notify"},
}

func TestTheBinaryDoesNotLinkHeavyPackagesItHasNoUseFor(t *testing.T) {
	out, err := exec.CommandContext(t.Context(), "go", "list", "-deps", ".").Output()
	require.NoError(t, err)
	deps := strings.Fields(string(out))
	// The list is the binary's: a package it does use is in it.
	require.Contains(t, deps, "github.com/prometheus/alertmanager/template")
	for _, u := range unlinked {
		require.False(t, slices.Contains(deps, u.pkg), "%s is linked: %s", u.pkg, u.why)
	}
}
