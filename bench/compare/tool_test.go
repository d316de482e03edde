package compare

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/steadywatch/steadywatch/internal/testenv/childproc"
	"github.com/steadywatch/steadywatch/internal/testenv/procmem"
	"github.com/steadywatch/steadywatch/internal/testenv/testbed"
)

// ksmVersion is the kube-state-metrics the wrapper module in ksm/
// requires.
const ksmVersion = "v2.15.0"

// ksmBinary builds ksm/ (kube-state-metrics as a test tool, in a module of
// its own, so its k8s.io versions stay out of steadywatch's), once per
// version and go version, into the testbed's cache.
func ksmBinary(t *testing.T) string {
	t.Helper()
	dir, err := filepath.Abs("ksm")
	require.NoError(t, err)
	bin, err := testbed.EnsureBinary(t.Context(), testbed.BuildOptions{}, "kube-state-metrics", ksmVersion,
		func(ctx context.Context, goCmd, dst string) error {
			// As kube-state-metrics' own Makefile: static, stripped, the
			// version stamped.
			cmd := exec.CommandContext(ctx, goCmd, "build", "-trimpath",
				"-ldflags", "-s -w -X github.com/prometheus/common/version.Version="+ksmVersion, "-o", dst, ".")
			cmd.Dir = dir
			cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOWORK=off", "GOFLAGS=-mod=readonly")
			if out, err := cmd.CombinedOutput(); err != nil {
				return fmt.Errorf("%w: %s", err, out)
			}
			return nil
		}, testbed.TestLogger(t))
	require.NoError(t, err)
	return bin
}

// tool is one of the two exporters running as a process against the
// testbed.
type tool struct {
	name    string
	proc    *childproc.Process
	started time.Time
	metrics string // the exposition being compared
	runtime string // where its own go_memstats are
	ready   func() bool
}

func (tl *tool) pid() int { return tl.proc.Pid() }

// startTool starts bin with args and fails t with its log if it exits
// early.
func startTool(t *testing.T, name, bin string, args []string) *tool {
	t.Helper()
	procmem.Evict(t, bin)
	p, err := childproc.Start(t.Context(), childproc.Options{
		Name: name, Bin: bin, Args: args, LogPath: filepath.Join(t.TempDir(), name+".log"),
	})
	require.NoError(t, err)
	tl := &tool{name: name, proc: p, started: time.Now()}
	t.Cleanup(func() {
		p.Kill()
		if t.Failed() {
			t.Logf("%s's log:\n%s", name, p.LogTail(4096))
		}
	})
	return tl
}

func port(t *testing.T) int {
	t.Helper()
	p, err := childproc.FreePort(t.Context())
	require.NoError(t, err)
	return p
}

// startSteadywatch runs `steadywatch serve` on the testbed, watching all
// namespaces or the one given; synced is its /readyz (ready once its
// informers synced).
func startSteadywatch(t *testing.T, bin string, tb *testbed.Testbed, namespace string) *tool {
	t.Helper()
	addr := fmt.Sprintf("127.0.0.1:%d", port(t))
	args := []string{"serve", "--listen", addr, "--kubeconfig", tb.Kubeconfig(), "--data-dir", t.TempDir()}
	if namespace != "" {
		args = append(args, "--namespace", namespace)
	}
	tl := startTool(t, "steadywatch", bin, args)
	tl.metrics = "http://" + addr + "/metrics"
	tl.runtime = tl.metrics
	tl.ready = func() bool {
		code, _ := get(t.Context(), "http://"+addr+"/readyz")
		return code == http.StatusOK
	}
	return tl
}

// ksmResources are the kinds steadywatch watches: kube-state-metrics
// caches these only, so both hold the same objects (its default is 28
// kinds).
const ksmResources = "pods,nodes,deployments,statefulsets,daemonsets,horizontalpodautoscalers"

// startKSM runs kube-state-metrics on the testbed. It has no readiness
// for its caches (its telemetry /readyz only says its registry gathers),
// so synced is: every kind listed (its own kube_state_metrics_list_total
// counts a successful list), then a scrape of /metrics shows at least
// wantPods pods and wantNodes nodes.
func startKSM(t *testing.T, bin string, tb *testbed.Testbed, namespace string, wantPods, wantNodes int) *tool {
	t.Helper()
	p, tp := port(t), port(t)
	args := []string{
		"--kubeconfig", tb.Kubeconfig(), "--resources", ksmResources,
		"--host", "127.0.0.1", "--port", strconv.Itoa(p),
		"--telemetry-host", "127.0.0.1", "--telemetry-port", strconv.Itoa(tp),
	}
	if namespace != "" {
		args = append(args, "--namespaces", namespace)
	}
	tl := startTool(t, "kube-state-metrics", bin, args)
	tl.metrics = fmt.Sprintf("http://127.0.0.1:%d/metrics", p)
	tl.runtime = fmt.Sprintf("http://127.0.0.1:%d/metrics", tp)
	listed := false
	tl.ready = func() bool {
		if !listed {
			_, body := get(t.Context(), tl.runtime)
			listed = ksmListed(body, strings.Count(ksmResources, ",")+1)
			if !listed {
				return false
			}
		}
		var pods, nodes int
		_, err := scrape(t.Context(), tl.metrics, func(line string) {
			switch {
			case strings.HasPrefix(line, "kube_pod_info{"):
				pods++
			case strings.HasPrefix(line, "kube_node_info{"):
				nodes++
			}
		})
		return err == nil && pods >= wantPods && nodes >= wantNodes
	}
	return tl
}

// ksmListed reports whether kube-state-metrics' telemetry shows a
// successful list of each of kinds kinds.
func ksmListed(telemetry string, kinds int) bool {
	n := 0
	for line := range strings.Lines(telemetry) {
		if !strings.HasPrefix(line, "kube_state_metrics_list_total{") || !strings.Contains(line, `result="success"`) {
			continue
		}
		if v, err := strconv.ParseFloat(strings.TrimSpace(line[strings.LastIndexByte(line, ' ')+1:]), 64); err == nil && v > 0 {
			n++
		}
	}
	return n >= kinds
}

// scrapeClient keeps its connection and asks for no compression: the
// bytes compared are the exposition's own.
var scrapeClient = &http.Client{Transport: &http.Transport{DisableCompression: true}, Timeout: time.Minute}

// scrape reads url's exposition as Prometheus' text format, passing each
// sample line (not comments) to line, and returns the bytes read.
func scrape(ctx context.Context, url string, line func(string)) (int64, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil) //nolint:gosec // 127.0.0.1, a process this test started
	if err != nil {
		return 0, err
	}
	req.Header.Set("Accept", "text/plain;version=0.0.4")
	resp, err := scrapeClient.Do(req) //nolint:gosec // as above
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return 0, fmt.Errorf("GET %s: %s", url, resp.Status)
	}
	cr := &countingReader{r: resp.Body}
	sc := bufio.NewScanner(cr)
	sc.Buffer(make([]byte, 0, 64<<10), 4<<20)
	for sc.Scan() {
		if l := sc.Text(); l != "" && l[0] != '#' {
			line(l)
		}
	}
	return cr.n, sc.Err()
}

type countingReader struct {
	r io.Reader
	n int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

func get(ctx context.Context, url string) (int, string) {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil) //nolint:gosec // 127.0.0.1, a process this test started
	if err != nil {
		return 0, ""
	}
	resp, err := http.DefaultClient.Do(req) //nolint:gosec // as above
	if err != nil {
		return 0, ""
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}
