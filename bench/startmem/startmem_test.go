// Package startmem measures what `steadywatch serve` holds resident once it
// is ready and watching an empty namespace (issue 16): the binary's RSS,
// split into anonymous memory and file pages, and the Go heap it reports.
//
// It is not in the default test run: set STEADYWATCH_BENCH_STARTMEM=1.
// STEADYWATCH_BIN measures a given binary instead of building this tree's
// (`make build`'s flags), so two builds compare on the same fake API server.
package startmem

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/steadywatch/steadywatch/internal/testenv/procmem"
	"github.com/steadywatch/steadywatch/internal/testenv/waitfor"
)

const (
	namespace = "empty"
	// settle is how long serve runs, once ready, before it is measured:
	// the informers' first resync-free minute starts, the first GC cycles
	// ran, the first scrape of itself happened. RSS is sampled through it
	// and the largest sample is reported beside the last.
	settle = 15 * time.Second
	// samples is how many times RSS is read during settle.
	samples = 15
)

func TestServeBaselineMemory(t *testing.T) {
	if os.Getenv("STEADYWATCH_BENCH_STARTMEM") == "" {
		t.Skip("a measurement, not a test: set STEADYWATCH_BENCH_STARTMEM=1")
	}
	bin := os.Getenv("STEADYWATCH_BIN")
	if bin == "" {
		bin = procmem.BuildSteadywatch(t)
	}
	info, err := os.Stat(bin) //nolint:gosec // the binary the person measuring named
	require.NoError(t, err)
	procmem.Evict(t, bin)

	api := emptyAPIServer(t)
	dir := t.TempDir()
	kubeconfig := filepath.Join(dir, "kubeconfig")
	require.NoError(t, os.WriteFile(kubeconfig, fmt.Appendf(nil, `apiVersion: v1
kind: Config
clusters: [{name: fake, cluster: {server: %q}}]
users: [{name: fake, user: {}}]
contexts: [{name: fake, context: {cluster: fake, user: fake}}]
current-context: fake
`, api.URL), 0o600))
	addr := freeAddr(t)
	// The process's environment but for the Go runtime's settings, so that
	// it runs with the binary's own defaults; GODEBUG and GOGC can be given
	// through STEADYWATCH_BENCH_ENV (space-separated NAME=value).
	env := []string{}
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "GOGC=") && !strings.HasPrefix(kv, "GOMEMLIMIT=") && !strings.HasPrefix(kv, "GODEBUG=") {
			env = append(env, kv)
		}
	}
	env = append(env, strings.Fields(os.Getenv("STEADYWATCH_BENCH_ENV"))...)
	logPath := filepath.Join(dir, "serve.log")
	logFile, err := os.Create(logPath)
	require.NoError(t, err)
	defer logFile.Close()
	cmd := exec.CommandContext(context.Background(), bin, "serve", "--listen", addr, //nolint:gosec // the binary the person measuring named
		"--kubeconfig", kubeconfig, "--namespace", namespace, "--data-dir", dir)
	cmd.Env = env
	cmd.Stdout, cmd.Stderr = logFile, logFile
	require.NoError(t, cmd.Start())
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		if t.Failed() {
			out, _ := os.ReadFile(logPath)
			t.Logf("serve's output:\n%s", out)
		}
	})
	base := "http://" + addr
	waitfor.True(t, 60*time.Second, "serve's /readyz", func() bool {
		code, _ := get(base + "/readyz")
		return code == http.StatusOK
	})
	pid := cmd.Process.Pid
	atReady := procmem.ReadStatus(t, pid)

	var peak, last procmem.Status
	tick := time.NewTicker(settle / samples)
	defer tick.Stop()
	for range samples {
		<-tick.C
		last = procmem.ReadStatus(t, pid)
		if last["VmRSS"] > peak["VmRSS"] {
			peak = last
		}
	}
	for _, m := range binaryMappings(t, pid, bin) {
		t.Logf("the binary's %s mapping: %5.1f MiB of %5.1f MiB resident", m.perms, procmem.MiB(m.rss), procmem.MiB(m.size))
	}
	code, body := get(base + "/metrics")
	require.Equal(t, http.StatusOK, code, "/metrics")
	m := procmem.GoMetrics(body)
	require.NotZero(t, m["go_memstats_heap_inuse_bytes"], "serve exports the Go runtime's memory")
	require.Empty(t, api.unanswered(), "requests the fake API server did not know")

	t.Logf("binary %s, %.1f MiB", bin, procmem.MiB(info.Size()))
	t.Logf("at /readyz:           RSS %5.1f MiB = anon %5.1f + file %5.1f", procmem.MiB(atReady["VmRSS"]), procmem.MiB(atReady["RssAnon"]), procmem.MiB(atReady["RssFile"]))
	t.Logf("%s later (last):   RSS %5.1f MiB = anon %5.1f + file %5.1f", settle, procmem.MiB(last["VmRSS"]), procmem.MiB(last["RssAnon"]), procmem.MiB(last["RssFile"]))
	t.Logf("largest sample:       RSS %5.1f MiB = anon %5.1f + file %5.1f; VmHWM %5.1f MiB", procmem.MiB(peak["VmRSS"]), procmem.MiB(peak["RssAnon"]), procmem.MiB(peak["RssFile"]), procmem.MiB(last["VmHWM"]))
	t.Logf("Go heap: in use %.1f MiB, live objects %.1f MiB, idle %.1f MiB (released %.1f); stacks %.1f MiB; runtime sys total %.1f MiB; %v goroutines",
		procmem.MiB(m["go_memstats_heap_inuse_bytes"]), procmem.MiB(m["go_memstats_heap_alloc_bytes"]), procmem.MiB(m["go_memstats_heap_idle_bytes"]),
		procmem.MiB(m["go_memstats_heap_released_bytes"]), procmem.MiB(m["go_memstats_stack_inuse_bytes"]), procmem.MiB(m["go_memstats_sys_bytes"]), m["go_goroutines"])
	t.Logf("STARTMEM rss_mib=%.1f anon_mib=%.1f file_mib=%.1f heap_inuse_mib=%.1f heap_alloc_mib=%.1f",
		procmem.MiB(last["VmRSS"]), procmem.MiB(last["RssAnon"]), procmem.MiB(last["RssFile"]), procmem.MiB(m["go_memstats_heap_inuse_bytes"]), procmem.MiB(m["go_memstats_heap_alloc_bytes"]))
}

// fakeAPI is an API server whose cluster has no objects: lists are empty
// and watches stay open without an event, as a real one's do for an empty
// namespace.
type fakeAPI struct {
	*httptest.Server
	mu      sync.Mutex
	unknown []string
}

func (f *fakeAPI) unanswered() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.unknown
}

// lists are the kinds of the lists serve's informers make.
var lists = map[string]string{
	"pods":                     `"apiVersion":"v1","kind":"PodList"`,
	"nodes":                    `"apiVersion":"v1","kind":"NodeList"`,
	"deployments":              `"apiVersion":"apps/v1","kind":"DeploymentList"`,
	"statefulsets":             `"apiVersion":"apps/v1","kind":"StatefulSetList"`,
	"daemonsets":               `"apiVersion":"apps/v1","kind":"DaemonSetList"`,
	"horizontalpodautoscalers": `"apiVersion":"autoscaling/v2","kind":"HorizontalPodAutoscalerList"`,
}

func emptyAPIServer(t *testing.T) *fakeAPI {
	t.Helper()
	f := &fakeAPI{}
	f.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		switch r.URL.Path {
		case "/version":
			_, _ = io.WriteString(w, `{"major":"1","minor":"33","gitVersion":"v1.33.13"}`)
			return
		case "/api/v1/namespaces/kube-system": // the cluster's identity
			_, _ = io.WriteString(w, `{"apiVersion":"v1","kind":"Namespace","metadata":{"name":"kube-system","uid":"6a1d5e0c-0000-4000-8000-000000000016","resourceVersion":"1"}}`)
			return
		}
		kind, ok := lists[r.URL.Path[strings.LastIndexByte(r.URL.Path, '/')+1:]]
		if !ok || r.Method != http.MethodGet {
			f.mu.Lock()
			f.unknown = append(f.unknown, r.Method+" "+r.URL.String())
			f.mu.Unlock()
			http.NotFound(w, r)
			return
		}
		if r.URL.Query().Get("watch") == "true" {
			w.WriteHeader(http.StatusOK)
			if r.URL.Query().Get("sendInitialEvents") == "true" {
				// client-go's streaming list: no object, then the bookmark
				// that ends the initial events.
				_, _ = fmt.Fprintf(w, `{"type":"BOOKMARK","object":{%s,"metadata":{"resourceVersion":"1","annotations":{"k8s.io/initial-events-end":"true"}}}}`+"\n",
					strings.TrimSuffix(kind, `List"`)+`"`)
			}
			w.(http.Flusher).Flush()
			<-r.Context().Done()
			return
		}
		_, _ = fmt.Fprintf(w, `{%s,"metadata":{"resourceVersion":"1"},"items":[]}`, kind)
	}))
	t.Cleanup(func() {
		f.CloseClientConnections()
		f.Close()
	})
	return f
}

func get(url string) (int, string) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return 0, ""
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, ""
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := (&net.ListenConfig{}).Listen(t.Context(), "tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := l.Addr().String()
	require.NoError(t, l.Close())
	return addr
}

type mapping struct {
	perms     string
	size, rss int64
}

// binaryMappings are the resident parts of the binary's mappings (text,
// read-only data, data), from /proc/PID/smaps.
func binaryMappings(t *testing.T, pid int, bin string) []mapping {
	t.Helper()
	f, err := os.Open(fmt.Sprintf("/proc/%d/smaps", pid))
	require.NoError(t, err)
	defer f.Close()
	abs, err := filepath.Abs(bin)
	require.NoError(t, err)
	var ms []mapping
	var cur *mapping
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		switch {
		case len(fields) >= 5 && strings.Contains(fields[0], "-") && !strings.HasSuffix(fields[0], ":"):
			cur = nil
			if len(fields) == 6 && fields[5] == abs {
				ms = append(ms, mapping{perms: fields[1]})
				cur = &ms[len(ms)-1]
			}
		case cur != nil && len(fields) == 3 && (fields[0] == "Size:" || fields[0] == "Rss:"):
			kb, err := strconv.ParseInt(fields[1], 10, 64)
			require.NoError(t, err)
			if fields[0] == "Size:" {
				cur.size = kb << 10
			} else {
				cur.rss = kb << 10
			}
		}
	}
	require.NoError(t, sc.Err())
	return ms
}
