// Package promtest runs real Prometheus and Alertmanager servers, from
// Debian's prometheus and prometheus-alertmanager packages, for tests: one
// server per call, on 127.0.0.1 and a free port, in the test's temporary
// directory.
//
//	func TestSomething(t *testing.T) {
//		am := promtest.StartAlertmanager(t, promtest.AlertmanagerOptions{})
//		prom := promtest.StartPrometheus(t, promtest.PrometheusOptions{
//			Rules:         map[string]string{"slo.yml": rules},
//			Alertmanagers: []string{am.Addr},
//		})
//		v, _, _, err := prom.API().Query(ctx, "up", time.Now()) // …
//		alerts, err := am.Client().Alert.GetAlerts(…)
//	}
//
// Either server is ready about 0.1 s after it starts. Prometheus then
// scrapes its targets, and finds its Alertmanagers, only about 5 s later:
// service discovery hands over its updates every 5 s.
// A server dies with the test binary, even a killed one (Pdeathsig), and is
// stopped when its test ends; its log is printed if the test failed, and is
// part of the error of a server that did not start.
//
// Without the binaries the Start functions, Promtool and Amtool fail the
// test and say to `apt-get install prometheus prometheus-alertmanager`;
// STEADYWATCH_SKIP_PROMETHEUS=1 skips those tests instead.
package promtest

import (
	"cmp"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/steadywatch/steadywatch/internal/testenv/childproc"
)

// SkipEnv, set to 1, makes the Start functions, Promtool and Amtool skip the
// test rather than run Prometheus' or Alertmanager's binaries.
const SkipEnv = "STEADYWATCH_SKIP_PROMETHEUS"

// installHint says how to get the binaries.
const installHint = "apt-get install prometheus prometheus-alertmanager (or run scripts/install-tools.sh), " +
	"or set " + SkipEnv + "=1 to skip the tests that need them"

// ErrNotInstalled is returned (wrapped) when a binary is missing.
var ErrNotInstalled = errors.New("not installed")

const (
	startTimeout = 30 * time.Second
	stopTimeout  = 10 * time.Second
	// startAttempts bounds the retries when another process takes the free
	// port between asking for it and the server binding it.
	startAttempts = 3
	// logTailBytes is how much of a server's log goes into an error.
	logTailBytes = 16 << 10
)

// The binaries, under the names Debian gives them first (upstream's
// Alertmanager is "alertmanager"), each searched on PATH and then in
// /usr/bin, where the packages put them whatever PATH a test runs with.
var (
	prometheusBin   = []string{"prometheus"}
	promtoolBin     = []string{"promtool"}
	alertmanagerBin = []string{"prometheus-alertmanager", "alertmanager"}
	amtoolBin       = []string{"amtool"}
)

// lookBinary returns the path of the first of names found on PATH or in
// dirs.
func lookBinary(names []string, dirs ...string) (string, error) {
	for _, name := range names {
		if p, err := exec.LookPath(name); err == nil {
			return p, nil
		}
	}
	for _, name := range names {
		for _, dir := range dirs {
			p := filepath.Join(dir, name)
			if fi, err := os.Stat(p); err == nil && fi.Mode().IsRegular() && fi.Mode()&0o111 != 0 {
				return p, nil
			}
		}
	}
	return "", fmt.Errorf("%s %w (looked on PATH and in %s): %s",
		strings.Join(names, " or "), ErrNotInstalled, strings.Join(dirs, ", "), installHint)
}

func binary(names []string) (string, error) { return lookBinary(names, "/usr/bin") }

func skipIfDisabled(t testing.TB) {
	t.Helper()
	if os.Getenv(SkipEnv) == "1" {
		t.Skipf("%s=1: skipping the test that needs Prometheus or Alertmanager", SkipEnv)
	}
}

// process is a running server, with what the harness adds: reloads,
// a stop that escalates, the log in errors.
type process struct {
	*childproc.Process
	stopOnce sync.Once
	stopErr  error
	stopping atomic.Bool
	crashed  chan error // see Prometheus.Crashed
}

func startProcess(ctx context.Context, name, logPath, bin string, args []string) (*process, error) {
	cp, err := childproc.Start(ctx, childproc.Options{Name: name, Bin: bin, Args: args, LogPath: logPath})
	if err != nil {
		return nil, err
	}
	p := &process{Process: cp, crashed: make(chan error, 1)}
	go func() {
		<-p.Exited()
		if !p.stopping.Load() {
			p.crashed <- fmt.Errorf("%s exited by itself (%w)\nlast lines of its log (%s):\n%s",
				p.Name, cmp.Or(p.WaitErr(), errors.New("exit status 0")), p.LogPath, p.logTail())
		}
	}()
	return p, nil
}

// logTail returns the end of the server's log.
func (p *process) logTail() string { return p.LogTail(logTailBytes) }

// logSize is the log's current size, for logSince.
func (p *process) logSize() int64 {
	fi, err := os.Stat(p.LogPath)
	if err != nil {
		return 0
	}
	return fi.Size()
}

// logSince returns what the server logged after the log had size offset.
func (p *process) logSince(offset int64) string {
	f, err := os.Open(p.LogPath)
	if err != nil {
		return fmt.Sprintf("(cannot read the log: %v)", err)
	}
	defer f.Close() //nolint:errcheck // read-only
	if _, err := f.Seek(offset, io.SeekStart); err != nil {
		return fmt.Sprintf("(cannot read the log: %v)", err)
	}
	b, err := io.ReadAll(io.LimitReader(f, logTailBytes))
	if err != nil {
		return fmt.Sprintf("(cannot read the log: %v)", err)
	}
	return strings.TrimRight(string(b), "\n")
}

// reload POSTs to the server's /-/reload. The answer to a failed reload
// does not always say what was wrong (Prometheus' does not name a broken
// rule file), so the error includes what the server logged meanwhile.
func (p *process) reload(ctx context.Context, baseURL string, a access) error {
	offset := p.logSize()
	if err := post(ctx, a, baseURL+"/-/reload"); err != nil {
		return fmt.Errorf("%w\n%s log:\n%s", err, p.Name, p.logSince(offset))
	}
	return nil
}

func (p *process) withLog(err error) error {
	return fmt.Errorf("%w\n%s log (%s):\n%s", err, p.Name, p.LogPath, p.logTail())
}

func (p *process) kill() { p.Kill() }

// stop sends SIGTERM, and SIGKILL if the server is still running after
// stopTimeout.
func (p *process) stop() error {
	p.stopping.Store(true)
	p.stopOnce.Do(func() {
		if err := p.Cmd.Process.Signal(syscall.SIGTERM); err != nil {
			<-p.Exited() // it had exited already
			return
		}
		select {
		case <-p.Exited():
		case <-time.After(stopTimeout):
			p.kill()
			p.stopErr = p.withLog(fmt.Errorf("%s did not stop within %s of SIGTERM; killed it", p.Name, stopTimeout))
		}
	})
	return p.stopErr
}

// launch starts a server on a free port and waits until GET url/-/ready
// succeeds. args gives the server's arguments for a listen address; a port
// another process took first makes it try again on another.
func launch(ctx context.Context, name, logPath, bin string, args func(addr string) ([]string, error),
	ready func(ctx context.Context, baseURL string) error,
) (*process, string, error) {
	for attempt := 1; ; attempt++ {
		port, err := pickPort(ctx)
		if err != nil {
			return nil, "", err
		}
		addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
		argv, err := args(addr)
		if err != nil {
			return nil, "", err
		}
		p, err := startProcess(ctx, name, logPath, bin, argv)
		if err != nil {
			return nil, "", err
		}
		err = p.waitReady(ctx, port, ready)
		if err == nil {
			return p, addr, nil
		}
		p.kill()
		err = p.withLog(err)
		if attempt == startAttempts || !strings.Contains(p.logTail(), "address already in use") {
			return nil, "", err
		}
	}
}

// waitReady waits until the process listens on port and ready succeeds,
// the process exits, or startTimeout passes. Whoever answers on the port
// must be this process: a server of another test that took the port first
// would answer ready too.
func (p *process) waitReady(ctx context.Context, port int, ready func(ctx context.Context, baseURL string) error) error {
	ctx, cancel := context.WithTimeout(ctx, startTimeout)
	defer cancel()
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	baseURL := "http://" + net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	for {
		err := fmt.Errorf("not listening on port %d", port)
		if listens(p.Pid(), port) {
			attempt, cancelAttempt := context.WithTimeout(ctx, 2*time.Second)
			err = ready(attempt, baseURL)
			cancelAttempt()
			if err == nil {
				return nil
			}
		}
		select {
		case <-p.Exited():
			return fmt.Errorf("%s exited while starting: %w", p.Name, cmp.Or(p.WaitErr(), errors.New("exit status 0")))
		case <-ctx.Done():
			return fmt.Errorf("%s was not ready within %s: %w", p.Name, startTimeout, err)
		case <-tick.C:
		}
	}
}

// listens reports whether process pid has a TCP socket listening on
// 127.0.0.1:port, by the socket's inode in /proc/net/tcp and among the
// process's descriptors.
func listens(pid, port int) bool {
	table, err := os.ReadFile("/proc/net/tcp")
	if err != nil {
		return false
	}
	local := fmt.Sprintf("0100007F:%04X", port)
	const listen = "0A"
	var socket string
	for line := range strings.Lines(string(table)) {
		// sl local_address rem_address st tx:rx tr:when retrnsmt uid timeout inode
		f := strings.Fields(line)
		if len(f) > 9 && f[1] == local && f[3] == listen {
			socket = "socket:[" + f[9] + "]"
			break
		}
	}
	if socket == "" {
		return false
	}
	fdDir := fmt.Sprintf("/proc/%d/fd", pid)
	fds, err := os.ReadDir(fdDir)
	if err != nil {
		return false
	}
	for _, fd := range fds {
		if link, err := os.Readlink(filepath.Join(fdDir, fd.Name())); err == nil && link == socket {
			return true
		}
	}
	return false
}

// getOK is a readiness probe: GET baseURL+path answers 200, baseURL's
// scheme replaced by a's.
func getOK(path string, a access) func(ctx context.Context, baseURL string) error {
	return func(ctx context.Context, baseURL string) error {
		return do(ctx, http.MethodGet, a, a.scheme()+"://"+strings.TrimPrefix(baseURL, "http://")+path)
	}
}

// access is how a harness reaches its server, the way its web
// configuration (--web.config.file) wants: basic-auth credentials if user
// is set, HTTPS trusting rootCAs if set.
type access struct {
	user, password string
	rootCAs        *x509.CertPool
}

func (a access) scheme() string {
	if a.rootCAs != nil {
		return "https"
	}
	return "http"
}

// client is an HTTP client that reaches the server as a says.
func (a access) client() *http.Client {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	if a.rootCAs != nil {
		tr.TLSClientConfig = &tls.Config{RootCAs: a.rootCAs, MinVersion: tls.VersionTLS12}
	}
	var rt http.RoundTripper = tr
	if a.user != "" {
		rt = basicAuth{user: a.user, password: a.password, next: tr}
	}
	return &http.Client{Transport: rt}
}

// basicAuth sends basic-auth credentials with every request.
type basicAuth struct {
	user, password string
	next           http.RoundTripper
}

func (b basicAuth) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	r.SetBasicAuth(b.user, b.password)
	return b.next.RoundTrip(r)
}

// pickPort is childproc.FreePort; a test replaces it to hand out a taken
// port.
var pickPort = childproc.FreePort

// writeFile writes content to dir/name, creating dir.
func writeFile(dir, name, content string) (string, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	p := filepath.Join(dir, name)
	return p, os.WriteFile(p, []byte(content), 0o644)
}

// post POSTs to url as a says, and returns the response body in the error
// of a non-2xx answer.
func post(ctx context.Context, a access, url string) error {
	return do(ctx, http.MethodPost, a, url)
}

// do sends an empty request as a says, and returns the response body in the
// error of a non-2xx answer.
func do(ctx context.Context, method string, a access, url string) error {
	req, err := http.NewRequestWithContext(ctx, method, url, http.NoBody)
	if err != nil {
		return err
	}
	resp, err := a.client().Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close() //nolint:errcheck // read-only
	body, _ := io.ReadAll(io.LimitReader(resp.Body, logTailBytes))
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("%s %s: %s: %s", method, url, resp.Status, strings.TrimSpace(string(body)))
	}
	return nil
}

// CheckBinaries returns one error naming every binary of Prometheus'
// and Alertmanager's that is missing, and how to install them: for a
// program (the demo) to say so before it starts anything.
func CheckBinaries() error { return checkBinaries("/usr/bin") }

func checkBinaries(dirs ...string) error {
	var missing []string
	for _, names := range [][]string{prometheusBin, promtoolBin, alertmanagerBin} {
		if _, err := lookBinary(names, dirs...); err != nil {
			missing = append(missing, strings.Join(names, " or "))
		}
	}
	if len(missing) == 0 {
		return nil
	}
	return fmt.Errorf("%s %w (looked on PATH and in %s): install Debian's packages with "+
		"`sudo apt-get install prometheus prometheus-alertmanager`, or run `sudo scripts/install-tools.sh`",
		strings.Join(missing, ", "), ErrNotInstalled, strings.Join(dirs, ", "))
}
