package testbed

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/steadywatch/steadywatch/internal/testenv/fakeclock"
)

const fakeGoVersion = "go1.99.0"

// fakeBuilder stands in for the 19-minute control-plane build: each step
// writes its binaries, a shell script that prints a version, into the build
// directory.
type fakeBuilder struct {
	builds atomic.Int32
	// during, if set, runs in the middle of the etcd step, after
	// kube-apiserver and friends are written: an error fails the build.
	during func(ctx context.Context) error
}

func (f *fakeBuilder) build(ctx context.Context, _ BuildOptions, tmp string, p *progress) (string, error) {
	f.builds.Add(1)
	bin := filepath.Join(tmp, binSubdir)
	write := func(names ...string) func() error {
		return func() error {
			for _, n := range names {
				if err := writeFakeBinary(filepath.Join(bin, n), "exit 0"); err != nil {
					return err
				}
			}
			return nil
		}
	}
	if err := p.run(downloadStep, func() error { return os.MkdirAll(bin, 0o755) }); err != nil {
		return "", err
	}
	if err := p.run(k8sStep, write(KubeAPIServer, KubeControllerManager, KubeScheduler)); err != nil {
		return "", err
	}
	if err := p.run(buildStep(Etcd), func() error {
		if err := write(Etcd)(); err != nil {
			return err
		}
		if f.during != nil {
			return f.during(ctx)
		}
		return nil
	}); err != nil {
		return "", err
	}
	return "v3.5.0", p.run(sigsStep, func() error {
		if err := write(Kwok, MetricsServer)(); err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(tmp, kwokStagesFile), []byte("kind: Stage\n"), 0o644)
	})
}

// writeFakeBinary writes a script that prints a version, then runs tail.
func writeFakeBinary(path, tail string) error {
	return os.WriteFile(path, []byte("#!/bin/sh\necho \"$0 v0.0.0\"\n"+tail+"\n"), 0o755) //nolint:gosec // an executable
}

func (f *fakeBuilder) deps() ensureDeps {
	return ensureDeps{
		clock:     fakeclock.New(time.Date(2026, 12, 7, 5, 0, 0, 0, time.UTC)),
		goVersion: func(context.Context, string) (string, error) { return fakeGoVersion, nil },
		build:     f.build,
	}
}

func fakeCacheDir(opts BuildOptions) string {
	return filepath.Join(opts.CacheDir, strings.Join([]string{DefaultK8sVersion, DefaultKwokVersion, DefaultMetricsServerVersion, fakeGoVersion, buildRecipe}, "-"))
}

func readMarker(t *testing.T, dir string) buildInfo {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(dir, completeMarker))
	require.NoError(t, err)
	var info buildInfo
	require.NoError(t, json.Unmarshal(data, &info))
	return info
}

// requireNothingTrusted checks that the cache root holds no build a later
// Ensure could take: no versioned directory, no partial one left behind.
func requireNothingTrusted(t *testing.T, opts BuildOptions) {
	t.Helper()
	require.NoDirExists(t, fakeCacheDir(opts))
	tmps, err := filepath.Glob(fakeCacheDir(opts) + ".tmp-*")
	require.NoError(t, err)
	require.Empty(t, tmps, "partial builds left behind")
}

func TestEnsureWritesAManifestOfEveryFileAndReusesTheBuild(t *testing.T) {
	opts := BuildOptions{CacheDir: t.TempDir()}
	f := &fakeBuilder{}
	rec := &lines{}
	bins, err := ensure(t.Context(), opts, slog.New(rec), f.deps())
	require.NoError(t, err)
	require.Equal(t, fakeCacheDir(opts), bins.Dir)
	require.EqualValues(t, 1, f.builds.Load())

	info := readMarker(t, bins.Dir)
	require.Equal(t, "v3.5.0", info.EtcdVersion)
	require.Equal(t, fakeGoVersion, info.GoVersion)
	want := map[string]fileSum{}
	for _, rel := range manifestFiles() {
		data, err := os.ReadFile(filepath.Join(bins.Dir, rel))
		require.NoError(t, err)
		want[rel] = fileSum{Size: int64(len(data)), SHA256: sha256Hex(data)}
	}
	require.Len(t, want, 7, "six binaries and the kwok stages")
	require.Equal(t, want, info.Files)
	require.Contains(t, rec.all(), "kwok, metrics-server built in 0s (0s so far; left: nothing)", "the build's progress goes to Ensure's log")

	again, err := ensure(t.Context(), opts, slog.New(rec), f.deps())
	require.NoError(t, err)
	require.Equal(t, bins, again)
	require.EqualValues(t, 1, f.builds.Load(), "the verified cache is reused")
}

func TestEnsureRebuildsACacheWhoseFilesDoNotMatchTheManifest(t *testing.T) {
	for _, tc := range []struct {
		name   string
		damage func(t *testing.T, b Binaries)
		reason string
	}{{
		name:   "a truncated binary",
		damage: func(t *testing.T, b Binaries) { require.NoError(t, os.Truncate(b.KubeAPIServer, 10)) },
		reason: "bin/kube-apiserver is 10 bytes, the manifest says",
	}, {
		name: "a binary of the same size but other bytes",
		damage: func(t *testing.T, b Binaries) {
			data, err := os.ReadFile(b.Etcd)
			require.NoError(t, err)
			data[len(data)-2] ^= 1
			require.NoError(t, os.WriteFile(b.Etcd, data, 0o755)) //nolint:gosec // an executable
		},
		reason: "bin/etcd has sha256",
	}, {
		name:   "a missing kwok stages file",
		damage: func(t *testing.T, b Binaries) { require.NoError(t, os.Remove(b.KwokStages)) },
		reason: "kwok-stages.yaml:",
	}, {
		name:   "no completion marker",
		damage: func(t *testing.T, b Binaries) { require.NoError(t, os.Remove(filepath.Join(b.Dir, completeMarker))) },
		reason: "no completion marker",
	}, {
		// Caches built before manifests had such a marker, under keys
		// without a recipe: one under this key was not written by Ensure.
		name: "a completion marker without a manifest",
		damage: func(t *testing.T, b Binaries) {
			require.NoError(t, writeMarker(b.Dir, buildInfo{K8sVersion: DefaultK8sVersion, EtcdVersion: "v3.5.0"}))
		},
		reason: "the completion marker has no manifest",
	}, {
		name: "an unreadable completion marker",
		damage: func(t *testing.T, b Binaries) {
			require.NoError(t, os.WriteFile(filepath.Join(b.Dir, completeMarker), []byte(`{"k8sVersion": "v1.`), 0o644))
		},
		reason: "reading completion marker",
	}} {
		t.Run(tc.name, func(t *testing.T) {
			opts := BuildOptions{CacheDir: t.TempDir()}
			f := &fakeBuilder{}
			bins, err := ensure(t.Context(), opts, nil, f.deps())
			require.NoError(t, err)
			tc.damage(t, bins)

			rec := &lines{}
			again, err := ensure(t.Context(), opts, slog.New(rec), f.deps())
			require.NoError(t, err)
			require.Equal(t, bins, again)
			require.EqualValues(t, 2, f.builds.Load(), "rebuilt")
			removed := rec.containing("removing testbed cache that is not a complete build")
			require.Len(t, removed, 1, "%q", rec.all())
			require.Contains(t, removed[0], tc.reason)
			require.Len(t, readMarker(t, again.Dir).Files, 7)
		})
	}
}

func TestEnsureKeepsNothingOfAnInterruptedBuild(t *testing.T) {
	for _, tc := range []struct {
		name    string
		during  func(ctx context.Context, cancel context.CancelFunc) error
		wantErr string
	}{{
		name: "its context is cancelled mid-way",
		during: func(ctx context.Context, cancel context.CancelFunc) error {
			cancel()
			<-ctx.Done()
			return ctx.Err()
		},
		wantErr: "building testbed binaries: context canceled",
	}, {
		name:    "a step fails",
		during:  func(context.Context, context.CancelFunc) error { return errors.New("go build: exit status 1") },
		wantErr: "building testbed binaries: go build: exit status 1",
	}} {
		t.Run(tc.name, func(t *testing.T) {
			opts := BuildOptions{CacheDir: t.TempDir()}
			ctx, cancel := context.WithCancel(t.Context())
			defer cancel()
			f := &fakeBuilder{during: func(ctx context.Context) error { return tc.during(ctx, cancel) }}
			rec := &lines{}
			_, err := ensure(ctx, opts, slog.New(rec), f.deps())
			require.EqualError(t, err, tc.wantErr)
			require.Len(t, rec.containing("building etcd failed after"), 1, "%q", rec.all())
			requireNothingTrusted(t, opts)

			f.during = nil
			bins, err := ensure(t.Context(), opts, nil, f.deps())
			require.NoError(t, err)
			require.EqualValues(t, 2, f.builds.Load(), "the interrupted build left nothing to reuse")
			require.Len(t, readMarker(t, bins.Dir).Files, 7)
		})
	}
}

// A disk that fills after the last step fails the completion marker: the
// build, binaries and all, is not kept, and the next Ensure builds again.
func TestEnsureKeepsNothingOfABuildWhoseMarkerCannotBeWritten(t *testing.T) {
	opts := BuildOptions{CacheDir: t.TempDir()}
	f := &fakeBuilder{}
	deps := f.deps()
	deps.build = func(ctx context.Context, opts BuildOptions, tmp string, p *progress) (string, error) {
		v, err := f.build(ctx, opts, tmp, p)
		if err != nil {
			return "", err
		}
		// A directory where the marker is first written fails that write,
		// as a full disk would.
		return v, os.Mkdir(filepath.Join(tmp, completeMarker+".tmp"), 0o755)
	}
	_, err := ensure(t.Context(), opts, nil, deps)
	require.ErrorContains(t, err, "writing completion marker")
	requireNothingTrusted(t, opts)

	bins, err := ensure(t.Context(), opts, nil, f.deps())
	require.NoError(t, err)
	require.EqualValues(t, 2, f.builds.Load(), "the failed build left nothing to reuse")
	require.Len(t, readMarker(t, bins.Dir).Files, 7)
}

func TestEnsureTakesNoCacheOfAnEarlierRecipe(t *testing.T) {
	opts := BuildOptions{CacheDir: t.TempDir()}
	f := &fakeBuilder{}
	bins, err := ensure(t.Context(), opts, nil, f.deps())
	require.NoError(t, err)
	// The same versions built by the first recipe (three links, kwok and
	// metrics-server each in its own module), manifest and all: its key had
	// no recipe.
	r1 := filepath.Join(opts.CacheDir, strings.Join([]string{DefaultK8sVersion, DefaultKwokVersion, DefaultMetricsServerVersion, fakeGoVersion}, "-"))
	require.NoError(t, os.Rename(bins.Dir, r1))

	again, err := ensure(t.Context(), opts, nil, f.deps())
	require.NoError(t, err)
	require.EqualValues(t, 2, f.builds.Load(), "rebuilt rather than taken from the earlier recipe's cache")
	require.Equal(t, bins, again)
	require.NotEqual(t, r1, again.Dir)
	require.Equal(t, buildRecipe, readMarker(t, again.Dir).Recipe)
	require.FileExists(t, filepath.Join(r1, completeMarker), "the earlier recipe's cache is left as it was")
}

func TestEnsureDoesNotTakeTheBuildDirOfAKilledBuild(t *testing.T) {
	opts := BuildOptions{CacheDir: t.TempDir()}
	f := &fakeBuilder{}
	bins, err := ensure(t.Context(), opts, nil, f.deps())
	require.NoError(t, err)
	// A build killed with SIGKILL just before its rename: complete, marker and all.
	killed := fakeCacheDir(opts) + ".tmp-123"
	require.NoError(t, os.Rename(bins.Dir, killed))

	again, err := ensure(t.Context(), opts, nil, f.deps())
	require.NoError(t, err)
	require.EqualValues(t, 2, f.builds.Load(), "rebuilt rather than taken from the temporary dir")
	require.Equal(t, bins, again)
	require.NoDirExists(t, killed)
}

func sha256Hex(data []byte) string {
	sum := sha256.Sum256(data)
	return hex.EncodeToString(sum[:])
}
