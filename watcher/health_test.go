package watcher

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"syscall"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/require"
	"k8s.io/client-go/kubernetes/fake"

	"github.com/steadywatch/steadywatch/internal/testclock"
)

// fakeAPI answers the health transport's requests as a test tells it.
type fakeAPI struct {
	mu sync.Mutex
	// down refuses every request.
	down bool
	// streams are the bodies of the watches it answered, to break.
	streams []*io.PipeWriter
}

func (f *fakeAPI) RoundTrip(req *http.Request) (*http.Response, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.down {
		return nil, &netError{syscall.ECONNREFUSED}
	}
	if req.URL.Query().Get("watch") == "true" {
		r, w := io.Pipe()
		f.streams = append(f.streams, w)
		return &http.Response{StatusCode: http.StatusOK, Status: "200 OK", Body: r, Request: req}, nil
	}
	return &http.Response{StatusCode: http.StatusOK, Status: "200 OK", Body: io.NopCloser(strings.NewReader("{}")), Request: req}, nil
}

// cut breaks every open watch stream and refuses new requests.
func (f *fakeAPI) cut() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.down = true
	for _, w := range f.streams {
		_ = w.CloseWithError(io.ErrUnexpectedEOF)
	}
	f.streams = nil
}

func (f *fakeAPI) restore() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.down = false
}

type netError struct{ errno syscall.Errno }

func (e *netError) Error() string { return "dial tcp 127.0.0.1:6443: connect: " + e.errno.Error() }

func request(t *testing.T, rt http.RoundTripper, url string) (*http.Response, error) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, "https://10.0.0.1:6443"+url, nil)
	require.NoError(t, err)
	return rt.RoundTrip(req)
}

func TestResourceOfAPath(t *testing.T) {
	for _, tc := range []struct {
		path, resource string
	}{
		{"/api/v1/pods", "pods"},
		{"/api/v1/namespaces/shop/pods", "pods"},
		{"/api/v1/nodes", "nodes"},
		{"/apis/apps/v1/namespaces/shop/deployments", "deployments"},
		{"/apis/apps/v1/statefulsets", "statefulsets"},
		{"/apis/autoscaling/v2/namespaces/shop/horizontalpodautoscalers", "horizontalpodautoscalers"},
		{"/api/v1/namespaces/shop/pods/pods", ""}, // a pod named pods
		{"/api/v1/namespaces/kube-system", ""},
		{"/api/v1/namespaces/shop/configmaps", ""},
		{"/version", ""},
	} {
		got, ok := resourceOf(tc.path)
		require.Equal(t, tc.resource != "", ok, tc.path)
		require.Equal(t, tc.resource, got, tc.path)
	}
}

func TestHealthSeesAnOutageClientGoRetriesSilently(t *testing.T) {
	clk := testclock.New(t0)
	var logs bytes.Buffer
	var (
		mu                sync.Mutex
		errs              int
		breaks, restores  []string
		brokeAt, backAt   time.Time
		restoredOutageLen time.Duration
	)
	h := NewHealth(HealthOptions{
		Tolerance: 5 * time.Second, Now: clk.Now,
		Logger:  slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelInfo})),
		OnError: func(string, error) { mu.Lock(); errs++; mu.Unlock() },
		OnBreak: func(r string, at time.Time, _ error) { breaks = append(breaks, r); brokeAt = at },
		OnRestore: func(r string, from, at time.Time) {
			restores = append(restores, r)
			backAt, restoredOutageLen = at, at.Sub(from)
		},
	})
	api := &fakeAPI{}
	rt := h.WrapTransport(api)

	// An informer lists, then watches.
	res, err := request(t, rt, "/api/v1/namespaces/shop/pods?limit=500")
	require.NoError(t, err)
	require.NoError(t, res.Body.Close())
	res, err = request(t, rt, "/api/v1/namespaces/shop/pods?watch=true&resourceVersion=10") //nolint:bodyclose // a refused request has no body; the test closes or breaks the others
	require.NoError(t, err)
	stream := res.Body
	ready, _ := h.Ready()
	require.True(t, ready)
	require.Equal(t, t0, h.Snapshot()[0].LastContact)

	clk.Advance(time.Second)
	api.cut()
	_, err = stream.Read(make([]byte, 10))
	require.ErrorIs(t, err, io.ErrUnexpectedEOF)

	pods := h.Snapshot()[0]
	require.Equal(t, "pods", pods.Resource)
	require.False(t, pods.Up, "the broken stream is an outage")
	require.Equal(t, t0.Add(time.Second), pods.BrokenSince)
	require.Equal(t, t0, pods.LastContact)
	ready, _ = h.Ready()
	require.True(t, ready, "within the tolerance")

	// client-go retries the watch, refused each time.
	for range 5 {
		clk.Advance(time.Second)
		_, err := request(t, rt, "/api/v1/namespaces/shop/pods?watch=true&resourceVersion=10") //nolint:bodyclose // a refused request has no body; the test closes or breaks the others
		require.Error(t, err)
	}
	ready, why := h.Ready()
	require.False(t, ready, "broken for 5 s, the tolerance")
	require.Equal(t, "the pods watch has been broken since 2025-03-01T12:00:01Z (5s): dial tcp 127.0.0.1:6443: connect: connection refused", why)
	require.Equal(t, []string{"pods"}, breaks, "one break per outage")
	require.Equal(t, t0.Add(time.Second), brokeAt)
	require.Equal(t, 6, errs, "the broken stream and five refused watches")
	require.Equal(t, 1, strings.Count(logs.String(), "level=WARN"), "one warning per outage, not per retry: %s", logs.String())
	from, to := h.LastOutage("pods")
	require.Equal(t, t0.Add(time.Second), from)
	require.True(t, to.IsZero(), "not over")
	for _, wh := range h.Snapshot()[1:] {
		require.True(t, wh.Up, "%s is not broken by the pods watch", wh.Resource)
	}

	// Back: the reflector relists.
	api.restore()
	clk.Advance(time.Second)
	res, err = request(t, rt, "/api/v1/namespaces/shop/pods?limit=500")
	require.NoError(t, err)
	require.NoError(t, res.Body.Close())
	pods = h.Snapshot()[0]
	require.True(t, pods.Up)
	require.Equal(t, uint64(1), pods.Relists)
	require.Equal(t, t0.Add(7*time.Second), pods.LastContact)
	require.Equal(t, []string{"pods"}, restores)
	require.Equal(t, t0.Add(7*time.Second), backAt)
	require.Equal(t, 6*time.Second, restoredOutageLen)
	require.Contains(t, logs.String(), `level=INFO msg="watch of the Kubernetes API back" resource=pods broken_since=2025-03-01T12:00:01.000Z outage=6s`)
	from, to = h.LastOutage("pods")
	require.Equal(t, t0.Add(time.Second), from, "the last outage stays known after it ended")
	require.Equal(t, t0.Add(7*time.Second), to)
	ready, _ = h.Ready()
	require.True(t, ready)
}

func TestHealthTellsAnEndedOrStoppedWatchFromABrokenOne(t *testing.T) {
	clk := testclock.New(t0)
	h := NewHealth(HealthOptions{Now: clk.Now})
	api := &fakeAPI{}
	rt := h.WrapTransport(api)

	res, err := request(t, rt, "/apis/apps/v1/deployments?watch=true") //nolint:bodyclose // a refused request has no body; the test closes or breaks the others
	require.NoError(t, err)
	api.mu.Lock()
	w := api.streams[0]
	api.mu.Unlock()
	go func() {
		_, _ = w.Write([]byte(`{"type":"BOOKMARK"}`))
		_ = w.Close() // the API server's watch timeout: a clean end
	}()
	clk.Advance(time.Second)
	_, err = io.ReadAll(res.Body)
	require.NoError(t, err)
	dep := h.Snapshot()[3]
	require.Equal(t, "deployments", dep.Resource)
	require.True(t, dep.Up)
	require.Equal(t, t0.Add(time.Second), dep.LastContact, "a bookmark is contact")

	res, err = request(t, rt, "/apis/apps/v1/deployments?watch=true")
	require.NoError(t, err)
	require.NoError(t, res.Body.Close(), "client-go stops the watch")
	_, err = res.Body.Read(make([]byte, 1))
	require.Error(t, err)
	require.True(t, h.Snapshot()[3].Up, "a watch client-go stopped is no outage")

	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	api.cut()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "https://10.0.0.1:6443/apis/apps/v1/deployments?watch=true", nil)
	require.NoError(t, err)
	_, err = rt.RoundTrip(req) //nolint:bodyclose // a refused request has no body; the test closes or breaks the others
	require.Error(t, err)
	require.True(t, h.Snapshot()[3].Up, "a request of a watcher that stops is no outage")

	_, err = request(t, rt, "/api/v1/namespaces/kube-system") //nolint:bodyclose // a refused request has no body; the test closes or breaks the others
	require.Error(t, err)
	for _, wh := range h.Snapshot() {
		require.True(t, wh.Up, "other requests say nothing about the watches: %s", wh.Resource)
	}
}

func TestHealthCountsEveryErrorStatusButGone(t *testing.T) {
	for _, tc := range []struct {
		status int
		broken bool
	}{
		{http.StatusOK, false},
		{http.StatusGone, false},
		{http.StatusForbidden, true},
		{http.StatusTooManyRequests, true},
		{http.StatusServiceUnavailable, true},
	} {
		t.Run(http.StatusText(tc.status), func(t *testing.T) {
			h := NewHealth(HealthOptions{Now: testclock.New(t0).Now})
			rt := h.WrapTransport(roundTripFunc(func(req *http.Request) (*http.Response, error) {
				return &http.Response{StatusCode: tc.status, Status: http.StatusText(tc.status), Body: http.NoBody, Request: req}, nil
			}))
			_, err := request(t, rt, "/api/v1/nodes?limit=500") //nolint:bodyclose // a refused request has no body; the test closes or breaks the others
			require.NoError(t, err)
			require.Equal(t, !tc.broken, h.Snapshot()[1].Up)
		})
	}
	t.Run("a streaming list refused: client-go lists instead", func(t *testing.T) {
		h := NewHealth(HealthOptions{Now: testclock.New(t0).Now})
		rt := h.WrapTransport(roundTripFunc(func(req *http.Request) (*http.Response, error) {
			return &http.Response{StatusCode: http.StatusUnprocessableEntity, Body: http.NoBody, Request: req}, nil
		}))
		_, err := request(t, rt, "/api/v1/nodes?watch=true&sendInitialEvents=true&resourceVersionMatch=NotOlderThan") //nolint:bodyclose // a refused request has no body; the test closes or breaks the others
		require.NoError(t, err)
		require.True(t, h.Snapshot()[1].Up)
		_, err = request(t, rt, "/api/v1/nodes?watch=true") //nolint:bodyclose // a refused request has no body; the test closes or breaks the others
		require.NoError(t, err)
		require.False(t, h.Snapshot()[1].Up, "any other refusal is")
	})
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

func TestATombstoneAfterAnOutageTellsWhenThePodWasLastInView(t *testing.T) {
	clk := testclock.New(t0)
	for _, tc := range []struct {
		name      string
		restored  time.Duration // after the break at t0; <0: still broken
		relist    time.Duration
		seenUntil time.Time
	}{
		{"right after the outage", 15 * time.Second, 16 * time.Second, t0},
		{"during it", -1, 10 * time.Second, t0},
		{"long after it: an expired watch, not the outage", 15 * time.Second, 15*time.Second + relistAfterOutage, time.Time{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			clk.Set(t0)
			h := NewHealth(HealthOptions{Now: clk.Now})
			h.failed("pods", "/api/v1/namespaces/shop/pods", io.ErrUnexpectedEOF)
			if tc.restored >= 0 {
				clk.Advance(tc.restored)
				h.contacted("pods", "/api/v1/namespaces/shop/pods", true, clk.Now())
			}
			clk.Set(t0.Add(tc.relist))
			s := &sink{}
			o := testOptions(fake.NewClientset(), s)
			o.Health, o.Now = h, clk.Now
			w, err := New(o)
			require.NoError(t, err)
			w.podHandler().OnDelete(cacheTombstone("shop/web-1", readyPod("web-1", "StatefulSet", "web", "")))
			calls := s.Calls()
			require.Len(t, calls, 1)
			require.True(t, calls[0].Missed)
			require.Equal(t, tc.seenUntil, calls[0].Pod.SeenUntil)
		})
	}
}

func TestAWatchTheClientTimedOutIsNoOutage(t *testing.T) {
	h := NewHealth(HealthOptions{Now: testclock.New(t0).Now})
	api := &fakeAPI{}
	rt := h.WrapTransport(api)
	// http.Client.Timeout gives the request a deadline; when it passes,
	// the transport's read fails with "request canceled", and the context
	// may not say so yet: its own timer races the client's.
	ctx := passedDeadline{Context: t.Context(), deadline: time.Now().Add(-time.Millisecond)}
	req, err := http.NewRequestWithContext(context.WithoutCancel(t.Context()), http.MethodGet, "https://10.0.0.1:6443/api/v1/pods?watch=true", nil)
	require.NoError(t, err)
	res, err := rt.RoundTrip(req) //nolint:bodyclose // a refused request has no body; the test closes or breaks the others
	require.NoError(t, err)
	res.Body.(*watchBody).req = req.WithContext(ctx)
	api.mu.Lock()
	require.NoError(t, api.streams[0].CloseWithError(errors.New("net/http: request canceled")))
	api.mu.Unlock()
	_, err = res.Body.Read(make([]byte, 1))
	require.Error(t, err)
	require.True(t, h.Snapshot()[0].Up, "the client's own timeout is no outage")
}

// passedDeadline is a context whose deadline passed a moment ago and whose
// timer has not fired yet.
type passedDeadline struct {
	context.Context
	deadline time.Time
}

func (c passedDeadline) Deadline() (time.Time, bool) { return c.deadline, true }

// After an API server restart client-go resumes its watch from the old
// resourceVersion; the new API server answers 200 and, at once, an ERROR
// event (410 Expired), and client-go relists after a backoff. Until that
// list nothing is watched: /readyz said ready about a second early, and a
// pod seen Ready at the relist counted as seen live (e2e
// TestFaultsAroundAnAPIServerRestartAreMeasuredOrFlaggedMissed: MTTR 0.5 s
// late). A resumed watch is back once it delivers an event, or stays open.
func TestAWatchResumedAfterAnOutageIsBackOnlyOnceItDelivers(t *testing.T) {
	const (
		jsonExpired = `{"type":"ERROR","object":{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":"too old resource version: 10 (20)","reason":"Expired","code":410}}` + "\n"
		jsonAdded   = `{"type":"ADDED","object":{"kind":"Pod","apiVersion":"v1","metadata":{"name":"a","resourceVersion":"21"}}}` + "\n"
		// Protobuf, as client-go asks for: a 4-byte length, then the
		// WatchEvent with its type as field 1; client-go reads the length
		// on its own first.
		protoLength  = "\x00\x00\x00e"
		protoExpired = "\n\x05ERROR\x12\\\nZk8s\x00\n\f\n\x02v1\x12\x06Status\x12B\n\x06\n\x00\x12\x00\x1a\x00\x12\aFailure\x1a#too old resource version"
		protoAdded   = "\n\x05ADDED\x12\\\nZk8s\x00\n\t\n\x02v1\x12\x03Pod\x12\xe2\x14\n\xce\r\n\x17before-59f9988965-pkxj"
	)
	for _, tc := range []struct {
		name string
		// chunks is what the resumed watch delivers first, read by read;
		// none for nothing.
		chunks []string
		back   bool
	}{
		{"an expired resourceVersion (JSON) is not back: client-go relists", []string{jsonExpired}, false},
		{"an expired resourceVersion (protobuf) is not back: client-go relists", []string{protoLength, protoExpired}, false},
		{"an event (JSON) is back, dated at the answer", []string{jsonAdded}, true},
		{"an event (protobuf) is back, dated at the answer", []string{protoLength, protoAdded}, true},
		{"a watch that stays open without a word is back, dated at the answer", nil, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				clk := testclock.New(t0)
				h := NewHealth(HealthOptions{Now: clk.Now})
				var (
					mu      sync.Mutex
					down    bool
					streams []*io.PipeWriter
				)
				rt := h.WrapTransport(roundTripFunc(func(req *http.Request) (*http.Response, error) {
					mu.Lock()
					defer mu.Unlock()
					if down {
						return nil, &netError{syscall.ECONNREFUSED}
					}
					if req.URL.Query().Get("watch") == "true" {
						r, w := io.Pipe()
						streams = append(streams, w)
						return &http.Response{StatusCode: http.StatusOK, Status: "200 OK", Body: r, Request: req}, nil
					}
					return &http.Response{StatusCode: http.StatusOK, Status: "200 OK", Body: io.NopCloser(strings.NewReader("{}")), Request: req}, nil
				}))
				const watchURL = "/api/v1/namespaces/shop/pods?watch=true&resourceVersion=10&allowWatchBookmarks=true"
				mu.Lock()
				down = true
				mu.Unlock()
				_, err := request(t, rt, watchURL) //nolint:bodyclose // refused: no body
				require.Error(t, err)
				require.False(t, h.Snapshot()[0].Up)

				clk.Advance(10 * time.Second)
				mu.Lock()
				down = false
				mu.Unlock()
				answered := clk.Now()
				res, err := request(t, rt, watchURL)
				require.NoError(t, err)
				defer func() { _ = res.Body.Close() }()
				go func() { _, _ = io.Copy(io.Discard, res.Body) }() // client-go's decoder
				clk.Advance(100 * time.Millisecond)
				mu.Lock()
				w := streams[len(streams)-1]
				mu.Unlock()
				for _, c := range tc.chunks {
					_, err := w.Write([]byte(c))
					require.NoError(t, err)
				}
				if !tc.back {
					_ = w.Close() // the API server ends the stream after the error
				}
				time.Sleep(2 * time.Second) // fake time: past the grace of a silent watch
				synctest.Wait()
				pods := h.Snapshot()[0]
				require.Equal(t, tc.back, pods.Up, "%+v", pods)
				_, to := h.LastOutage("pods")
				if tc.back {
					require.Equal(t, answered, to, "back when the API server answered")
					_ = w.Close()
					return
				}
				require.True(t, to.IsZero())
				ready, _ := h.Ready()
				require.False(t, ready, "broken for 10 s: not ready until client-go has listed again")

				// client-go relists: now it is back.
				clk.Advance(800 * time.Millisecond)
				relisted := clk.Now()
				res2, err := request(t, rt, "/api/v1/namespaces/shop/pods?limit=500")
				require.NoError(t, err)
				require.NoError(t, res2.Body.Close())
				require.True(t, h.Snapshot()[0].Up)
				_, to = h.LastOutage("pods")
				require.Equal(t, relisted, to)
			})
		})
	}
}
