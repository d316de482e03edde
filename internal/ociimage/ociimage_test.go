package ociimage

import (
	"archive/tar"
	"crypto/sha256"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/stretchr/testify/require"
)

// staticBinary builds testdata/fakebin statically, stamped with version.
func staticBinary(t *testing.T, version string) string {
	t.Helper()
	out := filepath.Join(t.TempDir(), "steadywatch")
	cmd := exec.CommandContext(t.Context(), "go", "build", "-trimpath", "-ldflags", "-s -w -X main.version="+version, "-o", out, "./testdata/fakebin") //nolint:gosec // the test's own version string
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux")
	b, err := cmd.CombinedOutput()
	require.NoError(t, err, string(b))
	return out
}

func options(bin, version string) Options {
	return Options{
		Binary: bin, CACerts: "/etc/ssl/certs/ca-certificates.crt", Arch: runtime.GOARCH,
		Version: version, Revision: "0123abc", Created: time.Date(2026, 12, 5, 9, 0, 0, 0, time.UTC),
		Source: "https://github.com/steadywatch/steadywatch", Licenses: "NOASSERTION",
	}
}

func TestTheImageRunsItsBinaryAsNonRootWithItsLabels(t *testing.T) {
	if _, err := os.Stat("/etc/ssl/certs/ca-certificates.crt"); err != nil {
		t.Skip("no CA bundle on this machine")
	}
	bin := staticBinary(t, "v1.2.3")
	img, err := Build(options(bin, "v1.2.3"))
	require.NoError(t, err)
	path := filepath.Join(t.TempDir(), "image.tar")
	require.NoError(t, WriteFile(path, "ghcr.io/steadywatch/steadywatch:v1.2.3", img))

	// Read back from the file, as docker load would.
	got, err := tarball.ImageFromPath(path, nil)
	require.NoError(t, err)
	cf, err := got.ConfigFile()
	require.NoError(t, err)
	require.Equal(t, "linux", cf.OS)
	require.Equal(t, runtime.GOARCH, cf.Architecture)
	require.Equal(t, []string{"/steadywatch"}, cf.Config.Entrypoint)
	require.Equal(t, "65532:65532", cf.Config.User)
	require.Contains(t, cf.Config.ExposedPorts, "9477/tcp")
	require.Equal(t, "v1.2.3", cf.Config.Labels["org.opencontainers.image.version"])
	require.Equal(t, "0123abc", cf.Config.Labels["org.opencontainers.image.revision"])
	require.Equal(t, "2026-12-05T09:00:00Z", cf.Config.Labels["org.opencontainers.image.created"])
	for _, l := range []string{LabelTitle, LabelDescription, LabelSource, LabelLicenses} {
		require.NotEmpty(t, cf.Config.Labels[l], l)
	}

	layers, err := got.Layers()
	require.NoError(t, err)
	require.Len(t, layers, 1)
	rc, err := layers[0].Uncompressed()
	require.NoError(t, err)
	defer rc.Close()
	files := map[string]*tar.Header{}
	var inImage []byte
	tr := tar.NewReader(rc)
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		require.NoError(t, err)
		files[h.Name] = h
		if h.Name == "steadywatch" || h.Name == "/steadywatch" {
			inImage, err = io.ReadAll(tr)
			require.NoError(t, err)
		}
	}
	require.NotNil(t, inImage, "no /steadywatch in the layer: %v", files)
	want, err := os.ReadFile(bin)
	require.NoError(t, err)
	require.Equal(t, sha256.Sum256(want), sha256.Sum256(inImage), "the binary in the image is the one built")

	// The binary taken out of the image runs.
	if runtime.GOOS == "linux" {
		out := filepath.Join(t.TempDir(), "steadywatch")
		require.NoError(t, os.WriteFile(out, inImage, 0o755)) //nolint:gosec // an executable, in the test's own directory
		b, err := exec.CommandContext(t.Context(), out, "version").Output()
		require.NoError(t, err)
		require.Equal(t, "steadywatch, version v1.2.3\n", string(b))
	}

	// Reproducible: the same inputs give the same digest, another version
	// another.
	again, err := Build(options(bin, "v1.2.3"))
	require.NoError(t, err)
	d1, err := img.Digest()
	require.NoError(t, err)
	d2, err := again.Digest()
	require.NoError(t, err)
	require.Equal(t, d1, d2)
	other, err := Build(options(bin, "v1.2.4"))
	require.NoError(t, err)
	d3, err := other.Digest()
	require.NoError(t, err)
	require.NotEqual(t, d1, d3)
}

func TestAnImageRefusesABinaryItCannotRun(t *testing.T) {
	notELF := filepath.Join(t.TempDir(), "script")
	require.NoError(t, os.WriteFile(notELF, []byte("#!/bin/sh\necho hi\n"), 0o755)) //nolint:gosec // an executable, in the test's own directory
	_, err := Build(options(notELF, "v1"))
	require.Error(t, err)
	require.Contains(t, err.Error(), notELF)

	if runtime.GOOS == "linux" {
		// /bin/true is dynamically linked: it needs a loader the image lacks.
		_, err = Build(options("/bin/true", "v1"))
		require.Error(t, err)
		require.Contains(t, err.Error(), "/bin/true")
	}
}
