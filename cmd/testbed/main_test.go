package main

import (
	"os/exec"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// make testbed-build compiles this command with -tags testbedbuildonly on
// a machine whose caches may be empty: then it must need nothing but the
// standard library and its own two packages (client-go alone took minutes
// to download and compile before the build could start).
func TestTheBuildOnlyCommandNeedsOnlyTheStandardLibrary(t *testing.T) {
	out, err := exec.CommandContext(t.Context(), "go", "list", "-deps", "-tags", "testbedbuildonly",
		"-f", "{{if not .Standard}}{{.ImportPath}}{{end}}", ".").Output()
	require.NoError(t, err)
	assert.Equal(t, []string{
		"github.com/steadywatch/steadywatch/internal/testenv/testbed",
		"github.com/steadywatch/steadywatch/cmd/testbed",
	}, strings.Fields(string(out)))
}

func TestTheBuildOnlyCommandSaysUpIsNotInIt(t *testing.T) {
	saved := up
	up = nil // as in a build with -tags testbedbuildonly
	t.Cleanup(func() { up = saved })
	err := run([]string{"up"})
	require.ErrorContains(t, err, "this build of testbed only builds")
}
