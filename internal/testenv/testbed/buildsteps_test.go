package testbed

import (
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/steadywatch/steadywatch/internal/testenv/fakeclock"
)

// fakeGo is a go command that answers the real build's calls in a blink:
// it writes a script for each binary asked for and fails the build of
// $FAKEGO_FAIL. Each call is logged with the base name of the directory it
// ran in; building the package "." needs a main.go there.
const fakeGo = `#!/bin/sh
echo "$(basename "$(pwd)"): $*" >> "$FAKEGO_LOG"
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
	*/) seen=; for a in "$@"; do if [ "$seen" ]; then bin "$out${a##*/}"; elif [ "$a" = "$out" ]; then seen=1; fi; done ;;
	*) [ "$last" != . ] || [ -f main.go ] || { echo "no main.go in $PWD" >&2; exit 1; }; bin "$out" ;;
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
		"building kwok, metrics-server (0s so far; last step)",
		"kwok, metrics-server built in 0s (0s so far; left: nothing)",
	}, steps)
	info := readMarker(t, bins.Dir)
	require.Equal(t, "v3.5.99", info.EtcdVersion)
	require.Equal(t, buildRecipe, info.Recipe)
	require.Len(t, info.Files, 7)

	// One multi-call binary, linked once, under each k8s command's name.
	apiserver, err := os.Stat(bins.KubeAPIServer)
	require.NoError(t, err)
	for _, p := range []string{bins.KubeControllerManager, bins.KubeScheduler} {
		fi, err := os.Stat(p)
		require.NoError(t, err)
		require.True(t, os.SameFile(apiserver, fi), "%s is not kube-apiserver's binary", p)
	}
	etcd, err := os.Stat(bins.Etcd)
	require.NoError(t, err)
	require.False(t, os.SameFile(apiserver, etcd))

	data, err := os.ReadFile(calls)
	require.NoError(t, err)
	var verbs []string
	for l := range strings.Lines(string(data)) {
		f := strings.Fields(l)
		verbs = append(verbs, f[0]+" "+f[1]+" "+f[2])
	}
	// The two modules resolve at once, so their calls interleave.
	require.ElementsMatch(t, []string{
		"src: list -m", "src: get -tool", "src: list -m", "src: get -tool",
		"src-sigs: get -tool",
	}, verbs[1:6], "modules: every download before the first compile")
	require.Equal(t, "testbed: env GOVERSION", verbs[0])
	require.Equal(t, []string{
		"src: build -trimpath", "src: build -trimpath", // the multi-call binary, etcd
		"src-sigs: build -trimpath", "src-sigs: mod download",
	}, verbs[6:])
	require.Contains(t, string(data), "src: build -trimpath -ldflags -s -w ")
	// -w drops the DWARF the compiler would write for the linker to throw away.
	for l := range strings.Lines(string(data)) {
		if strings.Contains(l, ": build ") {
			require.Contains(t, l, " -gcflags all=-dwarf=false ", "every build compiles without DWARF")
		}
	}
}

func TestTheMultiCallBinaryRunsTheCommandItIsNamedOrGiven(t *testing.T) {
	goCmd, err := exec.LookPath("go")
	if err != nil {
		t.Skip("no go command on PATH")
	}
	// Stand-ins for the packages the multi-call main imports: each command
	// prints its name and arguments when cli.Run runs it.
	dir := t.TempDir()
	stubs := map[string]string{
		"cobra/go.mod":                               "module github.com/spf13/cobra\n",
		"cobra/cobra.go":                             "package cobra\n\ntype Command struct {\n\tUse  string\n\tArgs []string\n}\n\nfunc (c *Command) SetArgs(a []string) { c.Args = a }\n",
		"base/go.mod":                                "module k8s.io/component-base\n\nrequire github.com/spf13/cobra v0.0.0\n",
		"base/cli/run.go":                            "package cli\n\nimport (\n\t\"fmt\"\n\n\t\"github.com/spf13/cobra\"\n)\n\nfunc Run(c *cobra.Command) int {\n\tfmt.Println(\"ran\", c.Use, c.Args)\n\treturn 0\n}\n",
		"base/logs/json/register/r.go":               "package register\n",
		"base/metrics/prometheus/clientgo/c.go":      "package clientgo\n",
		"base/metrics/prometheus/version/v.go":       "package version\n",
		"k8s/go.mod":                                 "module k8s.io/kubernetes\n\nrequire github.com/spf13/cobra v0.0.0\n",
		"k8s/cmd/kube-apiserver/app/app.go":          "package app\n\nimport \"github.com/spf13/cobra\"\n\nfunc NewAPIServerCommand() *cobra.Command { return &cobra.Command{Use: \"kube-apiserver\"} }\n",
		"k8s/cmd/kube-controller-manager/app/app.go": "package app\n\nimport \"github.com/spf13/cobra\"\n\nfunc NewControllerManagerCommand() *cobra.Command {\n\treturn &cobra.Command{Use: \"kube-controller-manager\"}\n}\n",
		"k8s/cmd/kube-scheduler/app/app.go":          "package app\n\nimport \"github.com/spf13/cobra\"\n\ntype Option func()\n\nfunc NewSchedulerCommand(...Option) *cobra.Command { return &cobra.Command{Use: \"kube-scheduler\"} }\n",
	}
	for name, text := range stubs {
		p := filepath.Join(dir, "stub", filepath.FromSlash(name))
		require.NoError(t, os.MkdirAll(filepath.Dir(p), 0o755))
		require.NoError(t, os.WriteFile(p, []byte(text), 0o644))
	}
	require.NoError(t, os.WriteFile(filepath.Join(dir, "go.mod"), []byte("module "+wrapperModule+"\n\ngo 1.24.0\n\n"+
		"require (\n\tgithub.com/spf13/cobra v0.0.0\n\tk8s.io/component-base v0.0.0\n\tk8s.io/kubernetes v0.0.0\n)\n\n"+
		"replace (\n\tgithub.com/spf13/cobra => ./stub/cobra\n\tk8s.io/component-base => ./stub/base\n\tk8s.io/kubernetes => ./stub/k8s\n)\n"), 0o644))

	require.NoError(t, writeMulticallMain(dir))
	bin := filepath.Join(dir, binSubdir)
	g := goRunner{goCmd: goCmd, dir: dir, log: slog.New(slog.DiscardHandler)}
	require.NoError(t, g.run(t.Context(), []string{"GOFLAGS=-mod=mod", "GOPROXY=off"}, "build", "-o", filepath.Join(bin, KubeAPIServer), "."))
	require.NoError(t, linkCommands(bin))

	run := func(name string, args ...string) (string, error) {
		out, err := exec.CommandContext(t.Context(), filepath.Join(bin, name), args...).CombinedOutput()
		return string(out), err
	}
	for _, name := range []string{KubeAPIServer, KubeControllerManager, KubeScheduler} {
		out, err := run(name, "--version")
		require.NoError(t, err, out)
		require.Equal(t, "ran "+name+" [--version]\n", out, "run as %s", name)
	}
	require.NoError(t, os.Link(filepath.Join(bin, KubeAPIServer), filepath.Join(bin, "control-plane")))
	out, err := run("control-plane", KubeScheduler, "--leader-elect=false")
	require.NoError(t, err, out)
	require.Equal(t, "ran kube-scheduler [--leader-elect=false]\n", out, "the first argument names the command")
	out, err = run(KubeAPIServer, KubeScheduler)
	require.NoError(t, err, out)
	require.Equal(t, "ran kube-apiserver [kube-scheduler]\n", out, "the name it is run as comes first")

	for _, args := range [][]string{nil, {"etcd"}} {
		out, err = run("control-plane", args...)
		var exit *exec.ExitError
		require.ErrorAs(t, err, &exit, "%v: %s", args, out)
		require.Equal(t, 2, exit.ExitCode())
		require.Contains(t, out, "usage: kube-apiserver|kube-controller-manager|kube-scheduler [flags]")
	}
}

func TestAFailedComponentBuildLeavesNothingTrusted(t *testing.T) {
	opts, _ := useFakeGo(t, Kwok)
	rec := &lines{}
	_, err := ensure(t.Context(), opts, slog.New(rec), realBuildDeps())
	require.ErrorContains(t, err, "building testbed binaries: go build")
	require.ErrorContains(t, err, "compile error in")
	require.Len(t, rec.containing("building kwok, metrics-server failed after 0s"), 1, "%q", rec.all())
	entries, err := os.ReadDir(opts.CacheDir)
	require.NoError(t, err)
	for _, e := range entries {
		require.True(t, strings.HasSuffix(e.Name(), ".lock"), "left in the cache: %s", e.Name())
	}
}
