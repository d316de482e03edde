package web_test

import (
	"bufio"
	"errors"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/steadywatch/steadywatch/web"
)

// readsBody is a webhook-like route: it reads the whole body first.
var readsBody = web.Route{
	Pattern: "POST /hook", Open: true,
	Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, err := io.Copy(io.Discard, r.Body); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		_, _ = io.WriteString(w, "stored")
	}),
}

// keepAlive opens a connection, gets /healthz on it and leaves it open
// and idle, as a keep-alive client between requests does.
func keepAlive(t *testing.T, srv *web.Server) net.Conn {
	t.Helper()
	c, err := (&net.Dialer{}).DialContext(t.Context(), "tcp", srv.Addr().String())
	require.NoError(t, err)
	t.Cleanup(func() { _ = c.Close() })
	require.NoError(t, c.SetDeadline(time.Now().Add(10*time.Second)))
	_, err = io.WriteString(c, "GET /healthz HTTP/1.1\r\nHost: steadywatch\r\n\r\n")
	require.NoError(t, err)
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	require.NoError(t, err)
	_, err = io.Copy(io.Discard, resp.Body)
	require.NoError(t, err)
	require.NoError(t, resp.Body.Close())
	require.Equal(t, http.StatusOK, resp.StatusCode)
	return c
}

// closedWithin reports whether the server closes c within d (what c
// receives meanwhile is read and dropped).
func closedWithin(c net.Conn, d time.Duration) bool {
	if err := c.SetReadDeadline(time.Now().Add(d)); err != nil {
		return false
	}
	_, err := io.Copy(io.Discard, c)
	var ne net.Error
	return !errors.As(err, &ne) || !ne.Timeout()
}

// newClient makes one connection per request.
func newClient() *http.Client {
	return &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
}

func answers(t *testing.T, c *http.Client, srv *web.Server, method, path, body string) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), method, "http://"+srv.Addr().String()+path, strings.NewReader(body))
	require.NoError(t, err)
	resp, err := c.Do(req)
	require.NoError(t, err, "%s %s", method, path)
	defer resp.Body.Close()
	_, err = io.Copy(io.Discard, resp.Body)
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, resp.StatusCode, "%s %s", method, path)
}

func TestAFloodOfIdleConnectionsKeepsNeitherTheProbesNorTheWebhookFromAnswering(t *testing.T) {
	const limit = 8
	// The idle timeout is long: the idle connections make room because
	// new ones wait, not because they time out.
	srv := start(t, web.Options{Limits: web.Limits{MaxConnections: limit, IdleTimeout: time.Hour}},
		web.Routes{Handlers: []web.Route{readsBody}})
	flood := make([]net.Conn, limit)
	for i := range flood {
		flood[i] = keepAlive(t, srv)
	}

	// Each from a client of its own that keeps its connection too: each
	// new connection makes the flood's oldest idle one close.
	for _, r := range []struct{ method, path, body string }{
		{http.MethodGet, web.HealthPath, ""},
		{http.MethodGet, web.ReadyPath, ""},
		{http.MethodPost, "/hook", `{"alerts":[]}`},
	} {
		tr := &http.Transport{}
		t.Cleanup(tr.CloseIdleConnections)
		answers(t, &http.Client{Timeout: 10 * time.Second, Transport: tr}, srv, r.method, r.path, r.body)
	}

	require.LessOrEqual(t, web.PeakConnections(srv), limit)
	closed := 0
	for _, fc := range flood {
		if closedWithin(fc, 100*time.Millisecond) {
			closed++
		}
	}
	require.Equal(t, 3, closed, "one idle connection closed for each new one")
}

func TestAnIdleKeepAliveConnectionIsClosedAfterTheIdleTimeout(t *testing.T) {
	srv := start(t, web.Options{Limits: web.Limits{IdleTimeout: 200 * time.Millisecond}}, web.Routes{})
	c := keepAlive(t, srv)
	require.True(t, closedWithin(c, 10*time.Second), "the idle connection is still open after 10s")
}

func TestASlowBodyIsCutOffByTheReadTimeoutAndMakesRoomForOthers(t *testing.T) {
	const limit = 2
	srv := start(t, web.Options{Limits: web.Limits{MaxConnections: limit, ReadTimeout: 500 * time.Millisecond, IdleTimeout: time.Hour}},
		web.Routes{Handlers: []web.Route{readsBody}})

	// Every connection the server allows trickles a body that would take
	// 100 s: one byte every 100 ms.
	cut := make(chan time.Duration, limit)
	for range limit {
		c, err := (&net.Dialer{}).DialContext(t.Context(), "tcp", srv.Addr().String())
		require.NoError(t, err)
		t.Cleanup(func() { _ = c.Close() })
		_, err = io.WriteString(c, "POST /hook HTTP/1.1\r\nHost: steadywatch\r\nContent-Length: 1000\r\n\r\n")
		require.NoError(t, err)
		go func() {
			begin := time.Now()
			for range 1000 {
				if _, err := c.Write([]byte("x")); err != nil {
					break
				}
				time.Sleep(100 * time.Millisecond) // the attack itself: a trickle
			}
			cut <- time.Since(begin)
		}()
	}

	// A new request waits for a free connection, and gets one once the
	// read timeout has cut the slow bodies.
	answers(t, newClient(), srv, http.MethodGet, web.HealthPath, "")
	for range limit {
		select {
		case d := <-cut:
			require.Less(t, d, 20*time.Second, "the slow body was not cut off")
		case <-time.After(20 * time.Second):
			t.Fatal("a slow body is still being read after 20s")
		}
	}
	require.LessOrEqual(t, web.PeakConnections(srv), limit)
}

func TestNewRefusesNegativeLimits(t *testing.T) {
	for _, tc := range []struct {
		limits web.Limits
		want   string
	}{
		{web.Limits{ReadTimeout: -time.Second}, "limits: ReadTimeout -1s is negative"},
		{web.Limits{WriteTimeout: -time.Second}, "limits: WriteTimeout -1s is negative"},
		{web.Limits{IdleTimeout: -time.Second}, "limits: IdleTimeout -1s is negative"},
		{web.Limits{MaxConnections: -1}, "limits: MaxConnections -1 is negative"},
	} {
		_, err := web.New(web.Options{Address: "127.0.0.1:0", Limits: tc.limits})
		require.EqualError(t, err, tc.want)
	}
}

// accepted is a listener that says each connection it accepts.
type accepted struct {
	net.Listener
	conns chan struct{}
}

func (l accepted) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err == nil {
		l.conns <- struct{}{}
	}
	return c, err
}

// At the limit with every connection busy, a new connection waits; when
// one of them finishes its request and goes idle, the idle one makes room
// at once, not after its idle timeout.
func TestAConnectionThatGoesIdleMakesRoomForAWaitingOne(t *testing.T) {
	entered, release := make(chan struct{}, 1), make(chan struct{})
	busy := web.Route{
		Pattern: "GET /busy", Open: true,
		Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			entered <- struct{}{}
			select {
			case <-release:
			case <-r.Context().Done():
			}
			_, _ = io.WriteString(w, "done")
		}),
	}
	lis, err := (&net.ListenConfig{}).Listen(t.Context(), "tcp", "127.0.0.1:0")
	require.NoError(t, err)
	acc := accepted{Listener: lis, conns: make(chan struct{}, 2)}
	srv := start(t, web.Options{Listener: acc, Limits: web.Limits{MaxConnections: 1, IdleTimeout: time.Hour}},
		web.Routes{Handlers: []web.Route{busy}})
	wait := func(c <-chan struct{}, what string) {
		t.Helper()
		select {
		case <-c:
		case <-time.After(10 * time.Second):
			t.Fatal(what + " not within 10s")
		}
	}

	// The one connection allowed is busy on a request, kept alive after it.
	c, err := (&net.Dialer{}).DialContext(t.Context(), "tcp", srv.Addr().String())
	require.NoError(t, err)
	t.Cleanup(func() { _ = c.Close() })
	require.NoError(t, c.SetDeadline(time.Now().Add(20*time.Second)))
	_, err = io.WriteString(c, "GET /busy HTTP/1.1\r\nHost: steadywatch\r\n\r\n")
	require.NoError(t, err)
	wait(acc.conns, "the busy connection accepted")
	wait(entered, "the busy request handled")

	// Another client comes and waits for room.
	served := make(chan error, 1)
	go func() {
		req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, "http://"+srv.Addr().String()+web.HealthPath, nil)
		if err != nil {
			served <- err
			return
		}
		resp, err := newClient().Do(req)
		if err == nil {
			err = resp.Body.Close()
		}
		served <- err
	}()
	wait(acc.conns, "the waiting connection accepted")

	// The busy request ends; its connection goes idle and is closed for
	// the waiting client.
	close(release)
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	require.NoError(t, err)
	require.NoError(t, resp.Body.Close())
	select {
	case err := <-served:
		require.NoError(t, err)
	case <-time.After(5 * time.Second):
		t.Fatal("the waiting client is not served 5s after the only connection went idle")
	}
	require.True(t, closedWithin(c, 5*time.Second), "the idle connection was not closed for the waiting one")
	require.LessOrEqual(t, web.PeakConnections(srv), 1)
}
