package testbed

import (
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/steadywatch/steadywatch/internal/testenv/fakeclock"
)

// fakeGo is a go command that answers the real build's calls in a blink:
// it writes a script for each binary asked for and fails the build of
// $FAKEGO_FAIL.
const fakeGo = `#!/bin/sh
echo "$*" >> "$FAKEGO_LOG"
out=
prev=
for a in "$@"; do
	[ "$prev" = "-o" ] && out=$a
	prev=$a
done
last=$a
bin() { [ "$FAKEGO_FAIL" = "$(basename "$1")" ] && { echo "compile error in $1" >&2; exit 1; }; printf '#!/bin/sh\necho v0\n' > "$1"; chmod 755 "$1"; }
case "$1 $2" in
"env GOVERSION") echo go1.99.0 ;;
"list -m")
	case "$3" in
	-json) printf '{"Path": "k8s.io/kubernetes", "GoMod": "%s"}\n' "$FAKEGO_KGOMOD" ;;
	*) echo v3.5.99 ;;
	esac ;;
"get -tool") ;;
"build -trimpath")
	case "$out" in
	*/) for c in kube-apiserver kube-controller-manager kube-scheduler; do bin "$out$c"; done ;;
	*) bin "$out" ;;
	esac ;;
"install -trimpath") n=${last%@*}; bin "$GOBIN/${n##*/}" ;;
"mod download") printf '{"Dir": "%s"}\n' "$FAKEGO_KWOKDIR" ;;
*) echo "fake go: unexpected $*" >&2; exit 2 ;;
esac
`

// useFakeGo returns build options whose go command is fakeGo, and the file
// it logs its calls to.
func useFakeGo(t *testing.T, fail string) (BuildOptions, string) {
	t.Helper()
	dir := t.TempDir()
	goCmd := filepath.Join(dir, "go")
	require.NoError(t, os.WriteFile(goCmd, []byte(fakeGo), 0o755)) //nolint:gosec // an executable
	kgomod := filepath.Join(dir, "k8s.go.mod")
	require.NoError(t, os.WriteFile(kgomod, []byte("module k8s.io/kubernetes\n\ngo 1.24.0\n\nreplace k8s.io/api => ./staging/src/k8s.io/api\n"), 0o644))
	kwokDir := filepath.Join(dir, "kwok")
	for _, f := range kwokStageFiles {
		p := filepath.Join(kwokDir, "kustomize", f)
		require.NoError(t, os.MkdirAll(filepath.Dir(p), 0o755))
		require.NoError(t, os.WriteFile(p, []byte("kind: Stage\n"), 0o644))
	}
	calls := filepath.Join(dir, "calls")
	t.Setenv("FAKEGO_LOG", calls)
	t.Setenv("FAKEGO_KGOMOD", kgomod)
	t.Setenv("FAKEGO_KWOKDIR", kwokDir)
	t.Setenv("FAKEGO_FAIL", fail)
	return BuildOptions{CacheDir: filepath.Join(dir, "cache"), GoCommand: goCmd}, calls
}

func realBuildDeps() ensureDeps {
	return ensureDeps{clock: fakeclock.New(time.Date(2026, 12, 7, 5, 0, 0, 0, time.UTC)), goVersion: goVersion, build: build}
}

func TestTheBuildLogsEachComponentAsItStartsAndEnds(t *testing.T) {
	opts, calls := useFakeGo(t, "")
	rec := &lines{}
	bins, err := ensure(t.Context(), opts, slog.New(rec), realBuildDeps())
	require.NoError(t, err)

	var steps []string
	for _, m := range rec.steps() {
		if strings.Contains(m, "so far") {
			steps = append(steps, m)
		}
	}
	require.Equal(t, []string{
		"downloading modules (0s so far; left after it: kube-apiserver, kube-controller-manager, kube-scheduler, etcd, kwok, metrics-server)",
		"modules downloaded in 0s (0s so far; left: kube-apiserver, kube-controller-manager, kube-scheduler, etcd, kwok, metrics-server)",
		"building kube-apiserver, kube-controller-manager, kube-scheduler (0s so far; left after it: etcd, kwok, metrics-server)",
		"kube-apiserver, kube-controller-manager, kube-scheduler built in 0s (0s so far; left: etcd, kwok, metrics-server)",
		"building etcd (0s so far; left after it: kwok, metrics-server)",
		"etcd built in 0s (0s so far; left: kwok, metrics-server)",
		"building kwok (0s so far; left after it: metrics-server)",
		"kwok built in 0s (0s so far; left: metrics-server)",
		"building metrics-server (0s so far; last step)",
		"metrics-server built in 0s (0s so far; left: nothing)",
	}, steps)
	require.Equal(t, "v3.5.99", readMarker(t, bins.Dir).EtcdVersion)
	require.Len(t, readMarker(t, bins.Dir).Files, 7)

	data, err := os.ReadFile(calls)
	require.NoError(t, err)
	var verbs []string
	for l := range strings.Lines(string(data)) {
		f := strings.Fields(l)
		verbs = append(verbs, f[0]+" "+f[1])
	}
	require.Equal(t, []string{
		"env GOVERSION",
		"list -m", "get -tool", "list -m", "get -tool", // modules: every download before the first compile
		"build -trimpath", "build -trimpath", "install -trimpath", "mod download", "install -trimpath",
	}, verbs)
}

func TestAFailedComponentBuildLeavesNothingTrusted(t *testing.T) {
	opts, _ := useFakeGo(t, Kwok)
	rec := &lines{}
	_, err := ensure(t.Context(), opts, slog.New(rec), realBuildDeps())
	require.ErrorContains(t, err, "building testbed binaries: go install")
	require.ErrorContains(t, err, "compile error in")
	require.Len(t, rec.containing("building kwok failed after 0s"), 1, "%q", rec.all())
	entries, err := os.ReadDir(opts.CacheDir)
	require.NoError(t, err)
	for _, e := range entries {
		require.True(t, strings.HasSuffix(e.Name(), ".lock"), "left in the cache: %s", e.Name())
	}
}
