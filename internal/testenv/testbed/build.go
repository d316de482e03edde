package testbed

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"
)

// Versions built by default. etcd is not listed: it is whatever 3.5.x the
// k8s.io/kubernetes module graph requires, so it always matches what that
// apiserver was tested against.
const (
	DefaultK8sVersion           = "v1.33.13"
	DefaultKwokVersion          = "v0.8.0"
	DefaultMetricsServerVersion = "v0.9.0"
)

// Names of the components, as used for binaries and log files.
const (
	Etcd                  = "etcd"
	KubeAPIServer         = "kube-apiserver"
	KubeControllerManager = "kube-controller-manager"
	KubeScheduler         = "kube-scheduler"
	Kwok                  = "kwok"
	MetricsServer         = "metrics-server"
)

const (
	completeMarker  = "complete"
	kwokStagesFile  = "kwok-stages.yaml"
	binSubdir       = "bin"
	wrapperModule   = "steadywatch-testbed-bin"
	sigsModule      = "steadywatch-testbed-sigs"
	outputTailLines = 30
)

// buildRecipe is part of the cache key, so a cache that build made another
// way is never taken for one of this recipe: bump it whenever build changes
// what it produces or how. r2: the three k8s commands are one multi-call
// binary; kwok and metrics-server are built in one module.
const buildRecipe = "r2"

// kwokStageFiles are the stage definitions (relative to the kwok module's
// kustomize/ directory) the testbed needs: without them kwok never marks nodes
// or pods Ready, and metrics-server gets nothing to scrape.
var kwokStageFiles = []string{
	"stage/node/fast/node-initialize.yaml",
	"stage/node/heartbeat-with-lease/node-heartbeat-with-lease.yaml",
	"stage/node/chaos/node-not-ready.yaml",
	"stage/pod/fast/pod-ready.yaml",
	"stage/pod/fast/pod-complete.yaml",
	"stage/pod/fast/pod-delete.yaml",
	"metrics/resource/metrics-resource.yaml",
	"metrics/usage/usage-from-annotation.yaml",
}

// BuildOptions selects what Ensure builds and where it caches it. Zero fields
// take the defaults.
type BuildOptions struct {
	K8sVersion           string // default DefaultK8sVersion
	KwokVersion          string // default DefaultKwokVersion
	MetricsServerVersion string // default DefaultMetricsServerVersion

	// CacheDir is the root that holds one directory per version set.
	// Default: $STEADYWATCH_CACHE_DIR, else os.UserCacheDir()/steadywatch/testbed.
	CacheDir string

	// GoCommand is the go tool used to build. Default: "go" from PATH.
	GoCommand string
}

func (o BuildOptions) withDefaults() BuildOptions {
	if o.K8sVersion == "" {
		o.K8sVersion = DefaultK8sVersion
	}
	if o.KwokVersion == "" {
		o.KwokVersion = DefaultKwokVersion
	}
	if o.MetricsServerVersion == "" {
		o.MetricsServerVersion = DefaultMetricsServerVersion
	}
	if o.GoCommand == "" {
		o.GoCommand = "go"
	}
	return o
}

func (o BuildOptions) cacheRoot() (string, error) {
	root := o.CacheDir
	if root == "" {
		root = os.Getenv("STEADYWATCH_CACHE_DIR")
	}
	if root == "" {
		ucd, err := os.UserCacheDir()
		if err != nil {
			return "", fmt.Errorf("locating user cache dir (set STEADYWATCH_CACHE_DIR): %w", err)
		}
		root = filepath.Join(ucd, "steadywatch", "testbed")
	}
	// GOBIN must be absolute, and the rename into place assumes one filesystem.
	abs, err := filepath.Abs(root)
	if err != nil {
		return "", fmt.Errorf("resolving cache dir %q: %w", root, err)
	}
	return abs, nil
}

// Binaries are the paths of a complete, cached build.
type Binaries struct {
	Dir                   string // the versioned cache directory
	Etcd                  string
	KubeAPIServer         string
	KubeControllerManager string
	KubeScheduler         string
	Kwok                  string
	MetricsServer         string
	KwokStages            string // kwok stage configuration, for kwok --config
}

func binariesIn(dir string) Binaries {
	bin := filepath.Join(dir, binSubdir)
	return Binaries{
		Dir:                   dir,
		Etcd:                  filepath.Join(bin, Etcd),
		KubeAPIServer:         filepath.Join(bin, KubeAPIServer),
		KubeControllerManager: filepath.Join(bin, KubeControllerManager),
		KubeScheduler:         filepath.Join(bin, KubeScheduler),
		Kwok:                  filepath.Join(bin, Kwok),
		MetricsServer:         filepath.Join(bin, MetricsServer),
		KwokStages:            filepath.Join(dir, kwokStagesFile),
	}
}

func (b Binaries) executables() []string {
	return []string{b.Etcd, b.KubeAPIServer, b.KubeControllerManager, b.KubeScheduler, b.Kwok, b.MetricsServer}
}

// complete reports whether a previous build finished. The marker is written
// last, but the files are checked too so a hand-pruned cache is rebuilt
// rather than failing later at start-up.
func (b Binaries) complete() bool {
	if b.Dir == "" {
		return false
	}
	for _, p := range append(b.executables(), b.KwokStages, filepath.Join(b.Dir, completeMarker)) {
		fi, err := os.Stat(p)
		if err != nil || !fi.Mode().IsRegular() {
			return false
		}
	}
	return true
}

// buildInfo is the completion marker: written last into a build, it says
// what was built and holds the manifest Ensure checks the files against on
// every use, so a build cut short or a file damaged since is never taken.
type buildInfo struct {
	K8sVersion           string    `json:"k8sVersion"`
	EtcdVersion          string    `json:"etcdVersion"`
	KwokVersion          string    `json:"kwokVersion"`
	MetricsServerVersion string    `json:"metricsServerVersion"`
	GoVersion            string    `json:"goVersion"`
	Recipe               string    `json:"recipe,omitempty"`
	Built                time.Time `json:"built"`
	Took                 string    `json:"took"`
	// Files maps each of manifestFiles to its size and digest.
	Files map[string]fileSum `json:"files,omitempty"`
}

type fileSum struct {
	Size   int64  `json:"size"`
	SHA256 string `json:"sha256"`
}

// ensureDeps are what Ensure needs from outside, so tests can replace the
// 19-minute build and the clock its progress lines are timed on.
type ensureDeps struct {
	clock     clock
	goVersion func(ctx context.Context, goCmd string) (string, error)
	build     func(ctx context.Context, opts BuildOptions, tmp string, p *progress) (string, error)
}

// Ensure returns the testbed binaries, building them into the cache first if
// this version set has not been built yet. Concurrent callers (several test
// packages) serialise on a lock file; the loser waits and then reuses the
// winner's build. A cold build took 18m45s on two cores shared with other
// work (1 minute of it downloading modules; 27 CPU-minutes in all, see
// docs/benchmarks.md); it logs each step at info level as it goes.
//
// A build is made in a temporary directory beside the cache's and renamed
// into place once its completion marker, with every file's size and
// sha256, is written; each use checks the files against it, and a cache
// directory that fails the check is removed and rebuilt.
func Ensure(ctx context.Context, opts BuildOptions, log *slog.Logger) (Binaries, error) {
	return ensure(ctx, opts, log, ensureDeps{clock: realClock{}, goVersion: goVersion, build: build})
}

func ensure(ctx context.Context, opts BuildOptions, log *slog.Logger, deps ensureDeps) (Binaries, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	opts = opts.withDefaults()
	root, err := opts.cacheRoot()
	if err != nil {
		return Binaries{}, err
	}
	goVersion, err := deps.goVersion(ctx, opts.GoCommand)
	if err != nil {
		return Binaries{}, err
	}
	// The go version is part of the key because kwok and metrics-server need a
	// recent toolchain and a toolchain upgrade should not silently keep stale binaries.
	key := cacheKey(opts, goVersion)
	dir := filepath.Join(root, key)
	bins := binariesIn(dir)
	if _, err := verify(dir); err == nil {
		return bins, nil
	}

	if err := os.MkdirAll(root, 0o755); err != nil {
		return Binaries{}, fmt.Errorf("creating cache dir: %w", err)
	}
	unlock, err := lockFile(ctx, filepath.Join(root, key+".lock"), log)
	if err != nil {
		return Binaries{}, err
	}
	defer unlock()
	_, err = verify(dir)
	switch {
	case err == nil:
		log.Info("testbed binaries were built by another process", "dir", dir)
		return bins, nil
	case !errors.Is(err, errNotBuilt):
		log.Warn("removing testbed cache that is not a complete build; rebuilding it", "dir", dir, "reason", err.Error())
		if err := os.RemoveAll(dir); err != nil {
			return Binaries{}, fmt.Errorf("removing incomplete cache dir: %w", err)
		}
	}

	// Holding the lock means no build is running, so leftovers are from killed ones.
	stale, _ := filepath.Glob(filepath.Join(root, key+".tmp-*"))
	for _, s := range stale {
		log.Debug("removing stale partial build", "dir", s)
		_ = os.RemoveAll(s)
	}

	tmp, err := os.MkdirTemp(root, key+".tmp-")
	if err != nil {
		return Binaries{}, fmt.Errorf("creating build dir: %w", err)
	}
	defer func() { _ = os.RemoveAll(tmp) }() // already gone after a successful rename
	// MkdirTemp's 0700 would otherwise become the cache dir's mode.
	if err := os.Chmod(tmp, 0o755); err != nil { //nolint:gosec // G302 targets files; a directory needs its x bits
		return Binaries{}, fmt.Errorf("creating build dir: %w", err)
	}

	start := deps.clock.Now()
	log.Info("building testbed binaries, once per version set (from empty caches on 2 idle cores: 14 min; longer beside other work)",
		"k8s", opts.K8sVersion, "kwok", opts.KwokVersion, "metrics-server", opts.MetricsServerVersion, "go", goVersion, "dir", dir)
	p := newProgress(log, deps.clock, buildSteps...)
	etcdVersion, err := deps.build(ctx, opts, tmp, p)
	if err != nil {
		return Binaries{}, fmt.Errorf("building testbed binaries: %w", err)
	}
	files, err := sumFiles(tmp)
	if err != nil {
		return Binaries{}, err
	}
	took := deps.clock.Now().Sub(start)
	if err := writeMarker(tmp, buildInfo{
		K8sVersion: opts.K8sVersion, EtcdVersion: etcdVersion, KwokVersion: opts.KwokVersion,
		MetricsServerVersion: opts.MetricsServerVersion, GoVersion: goVersion, Recipe: buildRecipe,
		Built: time.Now().UTC(), Took: took.Round(time.Second).String(), Files: files,
	}); err != nil {
		return Binaries{}, err
	}
	// Only a build this process removed above, or one damaged meanwhile by
	// hand, can be there; rename cannot replace a non-empty directory.
	if err := os.RemoveAll(dir); err != nil {
		return Binaries{}, fmt.Errorf("removing incomplete cache dir: %w", err)
	}
	if err := os.Rename(tmp, dir); err != nil {
		return Binaries{}, fmt.Errorf("moving build into cache: %w", err)
	}
	log.Info("built testbed binaries", "dir", dir, "took", elapsed(took))
	if _, err := verify(dir); err != nil {
		return Binaries{}, fmt.Errorf("build finished but %s is not complete: %w", dir, err)
	}
	return bins, nil
}

// cacheKey names the cache directory of a build of opts' versions with
// goVersion by this buildRecipe.
func cacheKey(opts BuildOptions, goVersion string) string {
	return strings.Join([]string{opts.K8sVersion, opts.KwokVersion, opts.MetricsServerVersion, goVersion, buildRecipe}, "-")
}

var errNotBuilt = errors.New("not built")

// manifestFiles are the files of a build the marker's manifest covers,
// relative to its directory.
func manifestFiles() []string {
	b := binariesIn("")
	out := []string{kwokStagesFile}
	for _, p := range b.executables() {
		out = append(out, filepath.ToSlash(p))
	}
	return out
}

// verify returns the marker of the complete build in dir, or why it is
// not one: errNotBuilt if there is no dir.
func verify(dir string) (buildInfo, error) {
	if _, err := os.Stat(dir); errors.Is(err, fs.ErrNotExist) {
		return buildInfo{}, errNotBuilt
	}
	data, err := os.ReadFile(filepath.Join(dir, completeMarker))
	if errors.Is(err, fs.ErrNotExist) {
		return buildInfo{}, errors.New("no completion marker: the build did not finish")
	}
	if err != nil {
		return buildInfo{}, fmt.Errorf("reading completion marker: %w", err)
	}
	var info buildInfo
	if err := json.Unmarshal(data, &info); err != nil {
		return buildInfo{}, fmt.Errorf("reading completion marker: %w", err)
	}
	if len(info.Files) == 0 {
		// Builds before manifests wrote such markers, under keys without
		// a recipe: this one was not written by Ensure.
		return info, errors.New("the completion marker has no manifest")
	}
	for _, rel := range manifestFiles() {
		want, ok := info.Files[rel]
		if !ok {
			return info, fmt.Errorf("the manifest has no %s", rel)
		}
		got, err := sumFile(filepath.Join(dir, filepath.FromSlash(rel)))
		if err != nil {
			return info, fmt.Errorf("%s: %w", rel, err)
		}
		if got.Size != want.Size {
			return info, fmt.Errorf("%s is %d bytes, the manifest says %d", rel, got.Size, want.Size)
		}
		if got.SHA256 != want.SHA256 {
			return info, fmt.Errorf("%s has sha256 %s, the manifest says %s", rel, got.SHA256, want.SHA256)
		}
	}
	return info, nil
}

func sumFiles(dir string) (map[string]fileSum, error) {
	files := map[string]fileSum{}
	for _, rel := range manifestFiles() {
		s, err := sumFile(filepath.Join(dir, filepath.FromSlash(rel)))
		if err != nil {
			return nil, fmt.Errorf("%s: %w", rel, err)
		}
		files[rel] = s
	}
	return files, nil
}

func sumFile(path string) (fileSum, error) {
	f, err := os.Open(path)
	if err != nil {
		return fileSum{}, err
	}
	defer func() { _ = f.Close() }()
	h := sha256.New()
	n, err := io.Copy(h, f)
	if err != nil {
		return fileSum{}, err
	}
	return fileSum{Size: n, SHA256: hex.EncodeToString(h.Sum(nil))}, nil
}

// writeMarker writes the completion marker into dir through a rename, so
// a reader sees the old marker or the new one, never half of one.
func writeMarker(dir string, info buildInfo) error {
	data, err := json.MarshalIndent(info, "", "  ")
	if err != nil {
		return fmt.Errorf("encoding build info: %w", err)
	}
	tmp := filepath.Join(dir, completeMarker+".tmp")
	if err := os.WriteFile(tmp, append(data, '\n'), 0o644); err != nil {
		return fmt.Errorf("writing completion marker: %w", err)
	}
	if err := os.Rename(tmp, filepath.Join(dir, completeMarker)); err != nil {
		return fmt.Errorf("writing completion marker: %w", err)
	}
	return nil
}

// EnsureBinary returns the path of another test tool's binary, cached
// beside the testbed's under the same root (one directory per name,
// version and go version), building it first with build if it is not
// there. build writes the binary to dst, using goCmd; it is moved into
// place only once complete, so a killed build leaves nothing to reuse.
// Concurrent callers serialise on a lock file as Ensure's do.
func EnsureBinary(ctx context.Context, opts BuildOptions, name, version string, build func(ctx context.Context, goCmd, dst string) error, log *slog.Logger) (string, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	opts = opts.withDefaults()
	root, err := opts.cacheRoot()
	if err != nil {
		return "", err
	}
	goVersion, err := goVersion(ctx, opts.GoCommand)
	if err != nil {
		return "", err
	}
	key := strings.Join([]string{name, version, goVersion}, "-")
	dir := filepath.Join(root, key)
	bin := filepath.Join(dir, name)
	if fi, err := os.Stat(bin); err == nil && fi.Mode().IsRegular() {
		return bin, nil
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", fmt.Errorf("creating cache dir: %w", err)
	}
	unlock, err := lockFile(ctx, filepath.Join(root, key+".lock"), log)
	if err != nil {
		return "", err
	}
	defer unlock()
	if fi, err := os.Stat(bin); err == nil && fi.Mode().IsRegular() {
		return bin, nil
	}
	tmp := bin + ".tmp"
	start := time.Now()
	log.Info("building "+name+" (first run only)", "version", version, "go", goVersion, "dir", dir)
	if err := build(ctx, opts.GoCommand, tmp); err != nil {
		_ = os.Remove(tmp)
		return "", fmt.Errorf("building %s %s: %w", name, version, err)
	}
	if err := os.Rename(tmp, bin); err != nil {
		return "", fmt.Errorf("moving %s into the cache: %w", name, err)
	}
	log.Info("built "+name, "path", bin, "took", time.Since(start).Round(time.Second))
	return bin, nil
}

// k8sStep builds the three k8s commands as one multi-call binary: they
// share most of their code, and one link of it takes the place of three.
var k8sStep = buildStep(KubeAPIServer + ", " + KubeControllerManager + ", " + KubeScheduler)

// sigsStep builds kwok and metrics-server in one go build, in a module of
// their own: they need k8s.io libraries newer than the k8s commands', and
// built together they compile those once, not once each.
var sigsStep = buildStep(Kwok + ", " + MetricsServer)

// buildSteps are build's steps, in order.
var buildSteps = []step{downloadStep, k8sStep, buildStep(Etcd), sigsStep}

// build produces everything under tmp and returns the etcd version it used.
// It started as build() in the shared testbed.sh recipe.
func build(ctx context.Context, opts BuildOptions, tmp string, p *progress) (string, error) {
	log := p.log
	g := goRunner{goCmd: opts.GoCommand, dir: filepath.Join(tmp, "src"), log: log}
	sigs := goRunner{goCmd: opts.GoCommand, dir: filepath.Join(tmp, "src-sigs"), log: log}
	bin := filepath.Join(tmp, binSubdir)
	for _, d := range []string{g.dir, sigs.dir, bin} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return "", fmt.Errorf("creating %s: %w", d, err)
		}
	}
	// Modules of our own isolate the go commands from any module or
	// workspace the caller happens to be in.
	if err := os.WriteFile(filepath.Join(g.dir, "go.mod"), []byte("module "+wrapperModule+"\n"), 0o644); err != nil {
		return "", fmt.Errorf("writing wrapper go.mod: %w", err)
	}
	// A go line older than any tool's, which go get raises to the newest the
	// tools ask for: it sets the binaries' GODEBUG defaults, as each tool's
	// own go line would in a go install.
	if err := os.WriteFile(filepath.Join(sigs.dir, "go.mod"), []byte("module "+sigsModule+"\n\ngo 1.21\n"), 0o644); err != nil {
		return "", fmt.Errorf("writing wrapper go.mod: %w", err)
	}
	if err := writeMulticallMain(g.dir); err != nil {
		return "", err
	}
	sigsCmds := []string{"sigs.k8s.io/kwok/cmd/" + Kwok, "sigs.k8s.io/metrics-server/cmd/" + MetricsServer}

	var etcdVersion string
	if err := p.run(downloadStep, func() error {
		// The two modules share no download worth waiting for: resolve them at once.
		sigsErr := make(chan error, 1)
		go func() {
			sigsErr <- sigs.run(ctx, nil, "get", "-tool", sigsCmds[0]+"@"+opts.KwokVersion, sigsCmds[1]+"@"+opts.MetricsServerVersion)
		}()
		var err error
		etcdVersion, err = resolveModules(ctx, g, opts)
		return errors.Join(err, <-sigsErr)
	}); err != nil {
		return "", err
	}

	minor, _, _ := strings.Cut(strings.TrimPrefix(opts.K8sVersion, "v1."), ".")
	ld := []string{"-s", "-w"}
	for _, p := range []string{"k8s.io/component-base/version", "k8s.io/client-go/pkg/version"} {
		ld = append(ld,
			"-X", p+".gitVersion="+opts.K8sVersion,
			"-X", p+".gitMajor=1",
			"-X", p+".gitMinor="+minor,
			"-X", p+".gitTreeState=clean")
	}
	if err := p.run(k8sStep, func() error {
		log.Debug("building the k8s commands", "version", opts.K8sVersion)
		if err := g.run(ctx, nil, buildArgs(strings.Join(ld, " "), "-o", filepath.Join(bin, KubeAPIServer), ".")...); err != nil {
			return err
		}
		return linkCommands(bin)
	}); err != nil {
		return "", err
	}
	if err := p.run(buildStep(Etcd), func() error {
		log.Debug("building etcd", "version", etcdVersion)
		return g.run(ctx, nil, buildArgs("-s -w", "-o", filepath.Join(bin, Etcd), "go.etcd.io/etcd/server/v3")...)
	}); err != nil {
		return "", err
	}
	if err := p.run(sigsStep, func() error {
		log.Debug("building kwok and metrics-server", "kwok", opts.KwokVersion, "metrics-server", opts.MetricsServerVersion)
		if err := sigs.run(ctx, nil, buildArgs("-s -w", append([]string{"-o", bin + string(filepath.Separator)}, sigsCmds...)...)...); err != nil {
			return err
		}
		var kwokMod struct{ Dir, Error string }
		if err := sigs.json(ctx, &kwokMod, "mod", "download", "-json", "sigs.k8s.io/kwok@"+opts.KwokVersion); err != nil {
			return err
		}
		if kwokMod.Error != "" || kwokMod.Dir == "" {
			return fmt.Errorf("downloading kwok module: %s", kwokMod.Error)
		}
		return writeKwokStages(filepath.Join(tmp, kwokStagesFile), kwokMod.Dir)
	}); err != nil {
		return "", err
	}
	return etcdVersion, nil
}

// buildArgs are the arguments of a go build with ldflags, then rest. Every
// ldflags has -s -w: the binaries keep no symbol table or DWARF, which no
// test reads (stack traces use the pcln table). So the compiler writes no
// DWARF either, which the linker would throw away: 6% less CPU for
// k8s.io/client-go/kubernetes from an empty build cache (two runs each).
func buildArgs(ldflags string, rest ...string) []string {
	return append([]string{"build", "-trimpath", "-ldflags", ldflags, "-gcflags", "all=-dwarf=false"}, rest...)
}

// multicallMain is the wrapper module's main package: kube-apiserver,
// kube-controller-manager and kube-scheduler in one binary. It imports what
// the three commands' own mains import and runs their command as they do.
const multicallMain = `// Code generated by steadywatch's testbed build. DO NOT EDIT.

// Command ` + wrapperModule + ` is kube-apiserver, kube-controller-manager
// and kube-scheduler, linked once: it runs the one it is named as, else the
// one its first argument names.
package main

import (
	"fmt"
	"os"
	"path/filepath"
	_ "time/tzdata" // for CronJob time zones

	"github.com/spf13/cobra"
	"k8s.io/component-base/cli"
	_ "k8s.io/component-base/logs/json/register"
	_ "k8s.io/component-base/metrics/prometheus/clientgo"
	_ "k8s.io/component-base/metrics/prometheus/version"
	apiserver "k8s.io/kubernetes/cmd/kube-apiserver/app"
	controllermanager "k8s.io/kubernetes/cmd/kube-controller-manager/app"
	scheduler "k8s.io/kubernetes/cmd/kube-scheduler/app"
)

var commands = map[string]func() *cobra.Command{
	"kube-apiserver":          apiserver.NewAPIServerCommand,
	"kube-controller-manager": controllermanager.NewControllerManagerCommand,
	"kube-scheduler":          func() *cobra.Command { return scheduler.NewSchedulerCommand() },
}

func main() {
	name, args := filepath.Base(os.Args[0]), os.Args[1:]
	if _, ok := commands[name]; !ok && len(args) > 0 {
		name, args = args[0], args[1:]
	}
	newCommand, ok := commands[name]
	if !ok {
		fmt.Fprintln(os.Stderr, "usage: kube-apiserver|kube-controller-manager|kube-scheduler [flags]\n   or: ` + wrapperModule + ` kube-apiserver|kube-controller-manager|kube-scheduler [flags]")
		os.Exit(2)
	}
	cmd := newCommand()
	cmd.SetArgs(args)
	os.Exit(cli.Run(cmd))
}
`

func writeMulticallMain(dir string) error {
	if err := os.WriteFile(filepath.Join(dir, "main.go"), []byte(multicallMain), 0o644); err != nil {
		return fmt.Errorf("writing the multi-call main: %w", err)
	}
	return nil
}

// linkCommands gives the multi-call binary, built as kube-apiserver, the
// names of the other two commands. Hard links, not symlinks: each name is a
// regular file, as complete() and the manifest expect.
func linkCommands(bin string) error {
	for _, name := range []string{KubeControllerManager, KubeScheduler} {
		if err := os.Link(filepath.Join(bin, KubeAPIServer), filepath.Join(bin, name)); err != nil {
			return fmt.Errorf("linking %s to the multi-call binary: %w", name, err)
		}
	}
	return nil
}

// resolveModules writes the wrapper module's requirements for the k8s
// commands and etcd and returns the etcd version. go get -tool loads every
// package the tools import (it adds a requirement for each), fetching the
// modules in parallel, so this step downloads all the compile needs and its
// time is the downloads'. A bare go mod download after it would fetch more:
// with the module cache of a finished build and GOPROXY=off it still wanted
// 4 modules.
func resolveModules(ctx context.Context, g goRunner, opts BuildOptions) (string, error) {
	// `go install k8s.io/kubernetes/cmd/...@v` is refused because k8s.io/kubernetes
	// replaces its staging repos with local paths; a wrapper module that
	// replaces them with the published v0.X.Y tags builds the same code.
	var kmod struct{ GoMod, Error string }
	if err := g.json(ctx, &kmod, "list", "-m", "-json", "k8s.io/kubernetes@"+opts.K8sVersion); err != nil {
		return "", err
	}
	if kmod.Error != "" || kmod.GoMod == "" {
		return "", fmt.Errorf("resolving k8s.io/kubernetes@%s: %s", opts.K8sVersion, kmod.Error)
	}
	kgomod, err := os.ReadFile(kmod.GoMod)
	if err != nil {
		return "", fmt.Errorf("reading k8s go.mod: %w", err)
	}
	staging, err := stagingVersion(opts.K8sVersion)
	if err != nil {
		return "", err
	}
	wrapper, nrepl := wrapperGoMod(kgomod, staging)
	if nrepl == 0 {
		return "", fmt.Errorf("no ./staging replace directives found in %s", kmod.GoMod)
	}
	g.log.Debug("writing wrapper module", "staging_replaces", nrepl, "staging_version", staging)
	if err := os.WriteFile(filepath.Join(g.dir, "go.mod"), wrapper, 0o644); err != nil {
		return "", fmt.Errorf("writing wrapper go.mod: %w", err)
	}
	// The commands' main packages stand for the multi-call main, which
	// imports what they import.
	args := []string{"get", "-tool"}
	for _, c := range []string{KubeAPIServer, KubeControllerManager, KubeScheduler} {
		args = append(args, "k8s.io/kubernetes/cmd/"+c+"@"+opts.K8sVersion)
	}
	if err := g.run(ctx, nil, args...); err != nil {
		return "", err
	}
	// etcd's own go.mod replace directives are ignored inside our module, so
	// the server builds against the client libraries k8s already pins.
	etcdVersion, err := g.output(ctx, "list", "-m", "-f", "{{.Version}}", "go.etcd.io/etcd/client/v3")
	if err != nil {
		return "", err
	}
	etcdVersion = strings.TrimSpace(etcdVersion)
	g.log.Debug("etcd version from k8s module graph", "version", etcdVersion)
	if err := g.run(ctx, nil, "get", "-tool", "go.etcd.io/etcd/server/v3@"+etcdVersion); err != nil {
		return "", err
	}
	return etcdVersion, nil
}

// stagingVersion maps v1.X.Y to the v0.X.Y tag of the staging repos.
func stagingVersion(k8sVersion string) (string, error) {
	rest, ok := strings.CutPrefix(k8sVersion, "v1.")
	if !ok || !strings.Contains(rest, ".") {
		return "", fmt.Errorf("unsupported kubernetes version %q (want v1.X.Y)", k8sVersion)
	}
	return "v0." + rest, nil
}

// wrapperGoMod derives the wrapper module's go.mod from k8s.io/kubernetes'
// go.mod: same go and godebug lines (they change runtime defaults), and every
// "=> ./staging/..." replace pointed at the published tag instead.
func wrapperGoMod(kgomod []byte, stagingVersion string) ([]byte, int) {
	var head, repl []string
	inGodebug := false
	sc := bufio.NewScanner(bytes.NewReader(kgomod))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		f := strings.Fields(line)
		switch {
		case inGodebug:
			head = append(head, line)
			inGodebug = line != ")"
		case len(f) >= 2 && (f[0] == "go" || f[0] == "godebug"):
			head = append(head, line)
			inGodebug = f[0] == "godebug" && f[1] == "("
		case len(f) >= 3 && f[1] == "=>" && strings.HasPrefix(f[2], "./staging"):
			repl = append(repl, fmt.Sprintf("\t%s => %s %s", f[0], f[0], stagingVersion))
		case len(f) >= 4 && f[0] == "replace" && f[2] == "=>" && strings.HasPrefix(f[3], "./staging"):
			repl = append(repl, fmt.Sprintf("\t%s => %s %s", f[1], f[1], stagingVersion))
		}
	}
	var b strings.Builder
	fmt.Fprintf(&b, "module %s\n\n", wrapperModule)
	for _, h := range head {
		b.WriteString(h + "\n")
	}
	b.WriteString("\nreplace (\n")
	for _, r := range repl {
		b.WriteString(r + "\n")
	}
	b.WriteString(")\n")
	return []byte(b.String()), len(repl)
}

func writeKwokStages(dst, kwokDir string) error {
	var b bytes.Buffer
	for _, f := range kwokStageFiles {
		data, err := os.ReadFile(filepath.Join(kwokDir, "kustomize", f))
		if err != nil {
			return fmt.Errorf("reading kwok stage: %w", err)
		}
		b.Write(bytes.TrimRight(data, "\n"))
		b.WriteString("\n---\n")
	}
	if err := os.WriteFile(dst, b.Bytes(), 0o644); err != nil {
		return fmt.Errorf("writing kwok stages: %w", err)
	}
	return nil
}

func goVersion(ctx context.Context, goCmd string) (string, error) {
	out, err := exec.CommandContext(ctx, goCmd, "env", "GOVERSION").Output()
	if err != nil {
		return "", fmt.Errorf("running %s env GOVERSION (the testbed is built with the go tool): %w", goCmd, err)
	}
	v := strings.TrimSpace(string(out))
	if v == "" {
		return "", errors.New("go env GOVERSION printed nothing")
	}
	// Development toolchains report things like "devel go1.27-abcdef +X:foo".
	return strings.Map(func(r rune) rune {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '.', r == '_':
			return r
		}
		return '_'
	}, v), nil
}

// goRunner runs the go tool in the wrapper module directory.
type goRunner struct {
	goCmd string
	dir   string
	log   *slog.Logger
}

func (g goRunner) command(ctx context.Context, env []string, args ...string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, g.goCmd, args...)
	cmd.Dir = g.dir
	// Static binaries need no C toolchain; GOWORK=off keeps a go.work in a
	// parent directory from capturing the wrapper module.
	cmd.Env = append(append(os.Environ(), "CGO_ENABLED=0", "GOWORK=off"), env...)
	cmd.SysProcAttr = childSysProcAttr()
	// Kill the whole group: compile and link run as children of the go command.
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = 5 * time.Second
	return cmd
}

// run streams the command's output to the debug log and includes its tail in
// the error.
func (g goRunner) run(ctx context.Context, env []string, args ...string) error {
	out := newLineLogger(g.log, "go "+args[0])
	cmd := g.command(ctx, env, args...)
	cmd.Stdout, cmd.Stderr = out, out
	g.log.Debug("running go", "args", args)
	err := cmd.Run()
	out.flush()
	if err != nil {
		return fmt.Errorf("go %s: %w\n%s", strings.Join(args, " "), err, out.tail())
	}
	return nil
}

// output returns stdout; stderr goes to the debug log.
func (g goRunner) output(ctx context.Context, args ...string) (string, error) {
	stdout, err := g.capture(ctx, args...)
	if err != nil {
		return "", err
	}
	return string(stdout), nil
}

// json decodes the command's stdout even when it fails, because go list and
// go mod download report per-module problems in an Error field.
func (g goRunner) json(ctx context.Context, v any, args ...string) error {
	stdout, runErr := g.capture(ctx, args...)
	if jerr := json.Unmarshal(stdout, v); jerr != nil {
		if runErr != nil {
			return runErr
		}
		return fmt.Errorf("decoding output of go %s: %w", strings.Join(args, " "), jerr)
	}
	return nil
}

// capture runs go with args and returns its stdout, also when it fails; the
// error names the command and ends with the last lines of its stderr, which
// goes to the debug log.
func (g goRunner) capture(ctx context.Context, args ...string) ([]byte, error) {
	errOut := newLineLogger(g.log, "go "+args[0])
	var stdout bytes.Buffer
	cmd := g.command(ctx, nil, args...)
	cmd.Stdout, cmd.Stderr = &stdout, errOut
	g.log.Debug("running go", "args", args)
	err := cmd.Run()
	errOut.flush()
	if err != nil {
		err = fmt.Errorf("go %s: %w\n%s", strings.Join(args, " "), err, errOut.tail())
	}
	return stdout.Bytes(), err
}

// lineLogger is an io.Writer that logs each complete line at debug level and
// remembers the last few for error messages.
type lineLogger struct {
	mu    sync.Mutex
	log   *slog.Logger
	src   string
	buf   []byte
	lines []string
}

var _ io.Writer = (*lineLogger)(nil)

func newLineLogger(log *slog.Logger, src string) *lineLogger {
	return &lineLogger{log: log, src: src}
}

func (l *lineLogger) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.buf = append(l.buf, p...)
	for {
		i := bytes.IndexByte(l.buf, '\n')
		if i < 0 {
			break
		}
		l.emit(string(l.buf[:i]))
		l.buf = l.buf[i+1:]
	}
	return len(p), nil
}

func (l *lineLogger) emit(line string) {
	line = strings.TrimRight(line, "\r")
	if line == "" {
		return
	}
	l.log.Debug(line, "src", l.src)
	l.lines = append(l.lines, line)
	if len(l.lines) > outputTailLines {
		l.lines = l.lines[len(l.lines)-outputTailLines:]
	}
}

func (l *lineLogger) flush() {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.buf) > 0 {
		l.emit(string(l.buf))
		l.buf = nil
	}
}

func (l *lineLogger) tail() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.lines) == 0 {
		return "(no output)"
	}
	return strings.Join(l.lines, "\n")
}

// lockFile takes an exclusive flock on path, polling so that ctx can cancel
// the wait. The returned func releases it.
func lockFile(ctx context.Context, path string, log *slog.Logger) (func(), error) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return nil, fmt.Errorf("opening build lock: %w", err)
	}
	waiting := false
	for {
		err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
		if err == nil {
			return func() {
				_ = syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
				_ = f.Close()
			}, nil
		}
		if !errors.Is(err, syscall.EWOULDBLOCK) && !errors.Is(err, syscall.EINTR) {
			_ = f.Close()
			return nil, fmt.Errorf("locking %s: %w", path, err)
		}
		if !waiting {
			log.Info("another process is building the testbed binaries; waiting for it", "lock", path)
			waiting = true
		}
		select {
		case <-ctx.Done():
			_ = f.Close()
			return nil, fmt.Errorf("waiting for build lock %s: %w", path, context.Cause(ctx))
		case <-time.After(250 * time.Millisecond):
		}
	}
}
