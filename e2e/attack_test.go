package e2e

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/alertmanager/notify/webhook"
	"github.com/prometheus/alertmanager/template"
	"github.com/stretchr/testify/require"

	"github.com/steadywatch/steadywatch/alert"
	"github.com/steadywatch/steadywatch/receiver"
	"github.com/steadywatch/steadywatch/store"
)

// The attacks of an operator's worst day, on a real steadywatch process
// with its shipped limits (issue 13): memory under concurrent large
// bodies, connections under an idle flood, and slow bodies.
const (
	attackBodies       = 64
	attackBodyBytes    = 1_000_000 // under the default alerts.max_body_bytes, 1 MiB
	attackRounds       = 3
	attackRSSCeiling   = 512 << 20 // half the shipped memory limit (1 GiB)
	attackIdleConns    = 2000      // four times the default web.max_connections
	attackDefaultLimit = 512
	attackSlowBodies   = 20
	attackReadTimeout  = 3 * time.Second
)

func TestAnAttackOnTheHTTPServerIsBoundedInMemoryAndConnectionsAndLosesNoAcknowledgedAlert(t *testing.T) {
	b := needBed(t)
	const ns = "attack"
	namespace(t, ns)
	dataDir := t.TempDir()
	cfg := filepath.Join(t.TempDir(), "steadywatch.yml")
	// The shipped limits, but for the read timeout: the slow bodies are
	// cut after it, and 30 s would only make the test slow.
	require.NoError(t, os.WriteFile(cfg, fmt.Appendf(nil, "web:\n  read_timeout: %s\n", attackReadTimeout), 0o600))
	cmd, url, _ := serveProcess(t, "--config", cfg, "--kubeconfig", b.Kubeconfig(), "--namespace", ns, "--data-dir", dataDir)
	webhookURL := url + receiver.Path
	waitFor(t, 60*time.Second, "/readyz", func() (bool, error) {
		code, _, err := httpGet(url + "/readyz")
		return code == http.StatusOK, err
	})
	pid := cmd.Process.Pid
	baseline := procStatusBytes(t, pid, "VmRSS")

	var acked []string // the notifications answered 200, by their alerts' fingerprint prefix
	t.Run("64 concurrent 1 MB bodies", func(t *testing.T) {
		client := &http.Client{Timeout: 60 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: attackBodies}}
		defer client.CloseIdleConnections()
		var (
			mu           sync.Mutex
			ok, busy     int
			otherAnswers []string
		)
		for round := range attackRounds {
			var wg sync.WaitGroup
			for i := range attackBodies {
				prefix := fmt.Sprintf("%02x%04x", round, i)
				body := bigNotification(prefix, attackBodyBytes)
				wg.Go(func() {
					req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, webhookURL, bytes.NewReader(body))
					if err != nil {
						panic(err)
					}
					req.Header.Set("Content-Type", "application/json")
					resp, err := client.Do(req)
					mu.Lock()
					defer mu.Unlock()
					if err != nil {
						otherAnswers = append(otherAnswers, err.Error())
						return
					}
					_, _ = io.Copy(io.Discard, resp.Body)
					_ = resp.Body.Close()
					switch {
					case resp.StatusCode == http.StatusOK:
						ok++
						acked = append(acked, prefix)
					case resp.StatusCode == http.StatusServiceUnavailable && resp.Header.Get("Retry-After") != "":
						busy++
					default:
						otherAnswers = append(otherAnswers, resp.Status)
					}
				})
			}
			wg.Wait()
		}
		peak := procStatusBytes(t, pid, "VmHWM")
		sample := bigNotification("000000", attackBodyBytes)
		require.InDelta(t, attackBodyBytes, len(sample), attackBodyBytes/10, "body size")
		t.Logf("RELIABILITY memory: %d rounds of %d concurrent %d-byte bodies: %d stored (200), %d told to retry (503 + Retry-After); "+
			"RSS %d MiB before, peak %d MiB (ceiling %d MiB)",
			attackRounds, attackBodies, attackBodyBytes, ok, busy, baseline>>20, peak>>20, attackRSSCeiling>>20)
		require.Empty(t, otherAnswers, "every body answered 200, or 503 with Retry-After")
		require.Positive(t, ok, "some bodies were stored")
		require.Less(t, peak, int64(attackRSSCeiling), "peak RSS")
	})

	t.Run("an idle connection flood", func(t *testing.T) {
		host := strings.TrimPrefix(url, "http://")
		var conns []net.Conn
		defer func() {
			for _, c := range conns {
				_ = c.Close()
			}
		}()
		// Each connection makes one request and stays open, idle, as a
		// keep-alive client's would.
		for i := range attackIdleConns {
			c, err := (&net.Dialer{Timeout: 5 * time.Second}).DialContext(t.Context(), "tcp", host)
			require.NoError(t, err, "connection %d", i)
			conns = append(conns, c)
			_, err = fmt.Fprintf(c, "GET /healthz HTTP/1.1\r\nHost: %s\r\n\r\n", host)
			require.NoError(t, err)
		}
		// The health and webhook endpoints answer under the flood.
		start := time.Now()
		code, _, err := httpGet(url + "/healthz")
		require.NoError(t, err)
		require.Equal(t, http.StatusOK, code)
		code, err = postNotification(t.Context(), &http.Client{Timeout: 10 * time.Second}, webhookURL, emptyNotification)
		require.NoError(t, err)
		require.Equal(t, http.StatusOK, code)
		answered := time.Since(start)
		held := openSockets(t, pid)
		t.Logf("RELIABILITY connections: %d idle keep-alive connections opened; steadywatch holds %d sockets (web.max_connections %d); "+
			"/healthz and the webhook answered in %s", attackIdleConns, held, attackDefaultLimit, answered.Round(time.Millisecond))
		require.LessOrEqual(t, held, attackDefaultLimit+32, "sockets held beyond the connection limit (the rest: listener, store, API)")
	})

	t.Run("slow bodies are cut at the read timeout", func(t *testing.T) {
		host := strings.TrimPrefix(url, "http://")
		var wg sync.WaitGroup
		cut := make(chan time.Duration, attackSlowBodies)
		for range attackSlowBodies {
			c, err := (&net.Dialer{Timeout: 5 * time.Second}).DialContext(t.Context(), "tcp", host)
			require.NoError(t, err)
			defer c.Close()
			_, err = fmt.Fprintf(c, "POST %s HTTP/1.1\r\nHost: %s\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n{", receiver.Path, host)
			require.NoError(t, err)
			start := time.Now()
			wg.Go(func() {
				// A byte a second until the server gives up on the body.
				for time.Since(start) < 4*attackReadTimeout {
					if _, err := c.Write([]byte(" ")); err != nil {
						cut <- time.Since(start)
						return
					}
					// An answer (the server refusing the body) or a closed
					// connection ends it; a second of silence paces it.
					_ = c.SetReadDeadline(time.Now().Add(time.Second))
					if _, err := bufio.NewReader(c).ReadByte(); err == nil || !isTimeout(err) {
						cut <- time.Since(start)
						return
					}
				}
			})
		}
		code, _, err := httpGet(url + "/healthz")
		require.NoError(t, err)
		require.Equal(t, http.StatusOK, code, "/healthz while the slow bodies trickle")
		wg.Wait()
		close(cut)
		var longest time.Duration
		n := 0
		for d := range cut {
			n++
			longest = max(longest, d)
		}
		t.Logf("RELIABILITY slow bodies: %d of %d cut, the last after %s (web.read_timeout %s)", n, attackSlowBodies, longest.Round(time.Millisecond), attackReadTimeout)
		require.Equal(t, attackSlowBodies, n, "every slow body cut off")
		require.Less(t, longest, attackReadTimeout+2*time.Second)
	})

	// Nothing acknowledged was lost: every alert of every body answered
	// 200 is in the store after a clean stop.
	terminate(t, cmd)
	db, err := store.Open(t.Context(), "", store.Options{DataDir: dataDir, Existing: true})
	require.NoError(t, err)
	defer db.Close()
	stored, err := db.Alerts(t.Context(), alert.Filter{})
	require.NoError(t, err)
	have := map[string]int{}
	for _, a := range stored {
		have[a.Fingerprint[:6]]++
	}
	lost := 0
	for _, prefix := range acked {
		if have[prefix] == 0 {
			lost++
		}
	}
	t.Logf("RELIABILITY: %d of %d acknowledged large notifications lost", lost, len(acked))
	require.Zero(t, lost)
}

// bigNotification is a notification of about size bytes, its alerts'
// fingerprints starting with prefix (6 hex digits).
func bigNotification(prefix string, size int) []byte {
	msg := webhook.Message{
		Data: &template.Data{
			Receiver: "steadywatch", Status: "firing",
			GroupLabels: template.KV{"alertname": "Attack"}, CommonLabels: template.KV{"alertname": "Attack"},
			CommonAnnotations: template.KV{}, ExternalURL: "http://alertmanager:9093",
		},
		Version: receiver.Version, GroupKey: `{}:{alertname="Attack"}`,
	}
	// Many small alerts of many labels, the costliest shape to decode
	// (a map per alert): about 400 bytes each.
	start := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	for i := 0; ; i++ {
		labels := template.KV{"alertname": "Attack", "service": "checkout", "n": strconv.Itoa(i)}
		for k := range 8 {
			labels[fmt.Sprintf("label_%d", k)] = fmt.Sprintf("value-%d-%d", k, i)
		}
		msg.Alerts = append(msg.Alerts, template.Alert{
			Status: "firing", Fingerprint: fmt.Sprintf("%s%010x", prefix, i),
			Labels: labels, Annotations: template.KV{"summary": "attack " + strconv.Itoa(i)},
			StartsAt: start.Add(time.Duration(i) * time.Second),
		})
		if (i+1)*430 >= size-2000 {
			break
		}
	}
	body, err := json.Marshal(msg)
	if err != nil {
		panic(err)
	}
	return body
}

// procStatusBytes reads a "kB" field of /proc/PID/status, in bytes.
func procStatusBytes(t *testing.T, pid int, field string) int64 {
	t.Helper()
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	require.NoError(t, err)
	for line := range strings.Lines(string(data)) {
		if rest, ok := strings.CutPrefix(line, field+":"); ok {
			kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
			require.NoError(t, err, line)
			return kb << 10
		}
	}
	t.Fatalf("no %s in /proc/%d/status", field, pid)
	return 0
}

// openSockets counts the sockets process pid holds.
func openSockets(t *testing.T, pid int) int {
	t.Helper()
	dir := fmt.Sprintf("/proc/%d/fd", pid)
	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	n := 0
	for _, e := range entries {
		if target, err := os.Readlink(filepath.Join(dir, e.Name())); err == nil && strings.HasPrefix(target, "socket:") {
			n++
		}
	}
	return n
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}
