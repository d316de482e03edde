package testbed

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestEnsureBinaryBuildsOnceAndReusesTheCache(t *testing.T) {
	opts := BuildOptions{CacheDir: t.TempDir()}
	builds := 0
	build := func(_ context.Context, goCmd, dst string) error {
		builds++
		require.Equal(t, "go", goCmd)
		return os.WriteFile(dst, []byte("#!/bin/true\n"), 0o755) //nolint:gosec // an executable
	}
	first, err := EnsureBinary(t.Context(), opts, "tool", "v1.2.3", build, nil)
	require.NoError(t, err)
	require.Equal(t, 1, builds)
	require.True(t, strings.HasPrefix(first, opts.CacheDir+string(filepath.Separator)), first)
	require.Contains(t, first, "tool-v1.2.3-go")
	require.FileExists(t, first)

	again, err := EnsureBinary(t.Context(), opts, "tool", "v1.2.3", build, nil)
	require.NoError(t, err)
	require.Equal(t, first, again)
	require.Equal(t, 1, builds, "the cached binary is reused")

	other, err := EnsureBinary(t.Context(), opts, "tool", "v1.2.4", build, nil)
	require.NoError(t, err)
	require.NotEqual(t, first, other)
	require.Equal(t, 2, builds, "another version is built apart")
}

func TestEnsureBinaryKeepsNothingOfAFailedBuild(t *testing.T) {
	opts := BuildOptions{CacheDir: t.TempDir()}
	_, err := EnsureBinary(t.Context(), opts, "tool", "v1", func(_ context.Context, _, dst string) error {
		require.NoError(t, os.WriteFile(dst, []byte("half"), 0o644))
		return errors.New("compiler crashed")
	}, nil)
	require.ErrorContains(t, err, "building tool v1: compiler crashed")

	builds := 0
	bin, err := EnsureBinary(t.Context(), opts, "tool", "v1", func(_ context.Context, _, dst string) error {
		builds++
		return os.WriteFile(dst, []byte("whole"), 0o644)
	}, nil)
	require.NoError(t, err)
	require.Equal(t, 1, builds, "the failed build left nothing to reuse")
	got, err := os.ReadFile(bin)
	require.NoError(t, err)
	require.Equal(t, "whole", string(got))
}
