package web_test

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"path/filepath"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/require"

	"github.com/steadywatch/steadywatch/web"
)

// fetch sends a request to srv and returns the status code and body.
func fetch(t *testing.T, srv *web.Server, method, path string, authorize func(*http.Request)) (int, string) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), method, "http://"+srv.Addr().String()+path, nil)
	require.NoError(t, err)
	if authorize != nil {
		authorize(req)
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp.StatusCode, string(body)
}

func text(s string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { fmt.Fprint(w, s) })
}

func start(t *testing.T, o web.Options, r web.Routes) *web.Server {
	t.Helper()
	if o.Address == "" && o.Listener == nil {
		o.Address = "127.0.0.1:0"
	}
	srv, err := web.New(o)
	require.NoError(t, err)
	require.NoError(t, srv.Start(t.Context(), r))
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.WithoutCancel(t.Context()), web.DrainTimeout)
		defer cancel()
		require.NoError(t, srv.Shutdown(ctx))
	})
	return srv
}

func TestAServerWithAuthenticationLetsOnlyTheProbesAndOpenRoutesThroughWithout(t *testing.T) {
	webConfig := writeFile(t, filepath.Join(t.TempDir(), "web.yml"), "basic_auth_users:\n  alertmanager: "+bcryptHash(t, password)+"\n")
	cfg, err := web.LoadConfig(webConfig, "")
	require.NoError(t, err)
	srv := start(t, web.Options{Config: cfg}, web.Routes{
		Metrics: web.MetricsHandler(prometheus.NewRegistry()),
		Ready:   func() (bool, string) { return false, "informers have not synced" },
		Handlers: []web.Route{
			{Pattern: "GET /api/v1/things", Handler: text("things")},
			{Pattern: "POST /api/v1/hook", Handler: text("hooked"), Open: true},
		},
	})
	login := func(r *http.Request) { r.SetBasicAuth("alertmanager", password) }

	for _, tc := range []struct {
		name, method, path string
		authorize          func(*http.Request)
		code               int
		body               string
	}{
		{name: "health is open", method: http.MethodGet, path: web.HealthPath, code: http.StatusOK, body: "ok\n"},
		{name: "readiness is open and says why not", method: http.MethodGet, path: web.ReadyPath, code: http.StatusServiceUnavailable, body: "not ready: informers have not synced\n"},
		{name: "an open route is served without credentials", method: http.MethodPost, path: "/api/v1/hook", code: http.StatusOK, body: "hooked"},
		{name: "metrics need credentials", method: http.MethodGet, path: web.MetricsPath, code: http.StatusUnauthorized, body: "unauthorized: no credentials\n"},
		{name: "metrics are served with credentials", method: http.MethodGet, path: web.MetricsPath, authorize: login, code: http.StatusOK},
		{name: "a route not open needs credentials", method: http.MethodGet, path: "/api/v1/things", code: http.StatusUnauthorized, body: "unauthorized: no credentials\n"},
		{name: "a route not open is served with credentials", method: http.MethodGet, path: "/api/v1/things", authorize: login, code: http.StatusOK, body: "things"},
		{name: "an unknown path needs credentials before it is not found", method: http.MethodGet, path: "/nowhere", code: http.StatusUnauthorized, body: "unauthorized: no credentials\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, body := fetch(t, srv, tc.method, tc.path, tc.authorize)
			require.Equal(t, tc.code, code)
			if tc.body != "" {
				require.Equal(t, tc.body, body)
			}
		})
	}
}

func TestAServerWithoutConfigServesEverythingAndIsReadyWithoutAReadiness(t *testing.T) {
	l, err := (&net.ListenConfig{}).Listen(t.Context(), "tcp", "127.0.0.1:0")
	require.NoError(t, err)
	srv := start(t, web.Options{Listener: l}, web.Routes{
		Handlers: []web.Route{{Pattern: "GET /api/v1/things", Handler: text("things")}},
	})

	require.Equal(t, l.Addr(), srv.Addr(), "the given listener is served")
	for path, want := range map[string]int{
		web.ReadyPath:     http.StatusOK,
		"/api/v1/things":  http.StatusOK,
		web.MetricsPath:   http.StatusNotFound, // no Metrics handler
		"/api/v1/nothing": http.StatusNotFound,
	} {
		code, _ := fetch(t, srv, http.MethodGet, path, nil)
		require.Equal(t, want, code, path)
	}
}

func TestStartRefusesRoutesItCannotServeAsAsked(t *testing.T) {
	for _, tc := range []struct {
		name  string
		route web.Route
		want  string
	}{
		{
			name:  "an open route with a wildcard, which the open paths cannot match",
			route: web.Route{Pattern: "GET /api/v1/verdicts/{hypothesis}", Handler: text(""), Open: true},
			want:  `routes.handlers[0]: open route "GET /api/v1/verdicts/{hypothesis}": the path must be literal, without host or wildcards`,
		},
		{
			name:  "an open route with a host",
			route: web.Route{Pattern: "example.com/hook", Handler: text(""), Open: true},
			want:  `routes.handlers[0]: open route "example.com/hook": the path must be literal, without host or wildcards`,
		},
		{
			name:  "a route without a handler",
			route: web.Route{Pattern: "GET /api/v1/things"},
			want:  "routes.handlers[0] (GET /api/v1/things): no handler",
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv, err := web.New(web.Options{Address: "127.0.0.1:0"})
			require.NoError(t, err)

			err = srv.Start(t.Context(), web.Routes{Handlers: []web.Route{tc.route}})

			require.EqualError(t, err, tc.want)
			require.Nil(t, srv.Addr(), "nothing listened")
		})
	}
}

func TestNewNeedsAnAddressOrAListener(t *testing.T) {
	_, err := web.New(web.Options{})

	require.EqualError(t, err, "no address to listen on")
}

func TestStartFailsOnAnAddressInUse(t *testing.T) {
	l, err := (&net.ListenConfig{}).Listen(t.Context(), "tcp", "127.0.0.1:0")
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, l.Close()) })
	srv, err := web.New(web.Options{Address: l.Addr().String()})
	require.NoError(t, err)

	err = srv.Start(t.Context(), web.Routes{})

	require.ErrorContains(t, err, "listen: ")
	require.ErrorContains(t, err, "address already in use")
}

func TestShutdownLetsTheRequestsInFlightFinish(t *testing.T) {
	entered, release := make(chan struct{}), make(chan struct{})
	srv, err := web.New(web.Options{Address: "127.0.0.1:0"})
	require.NoError(t, err)
	require.NoError(t, srv.Start(t.Context(), web.Routes{Handlers: []web.Route{{
		Pattern: "GET /slow",
		Handler: http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			close(entered)
			<-release
			fmt.Fprint(w, "done")
		}),
	}}}))
	type answer struct {
		code int
		body string
		err  error
	}
	answered := make(chan answer, 1)
	go func() {
		req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, "http://"+srv.Addr().String()+"/slow", nil)
		if err != nil {
			answered <- answer{err: err}
			return
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			answered <- answer{err: err}
			return
		}
		defer resp.Body.Close()
		body, err := io.ReadAll(resp.Body)
		answered <- answer{resp.StatusCode, string(body), err}
	}()
	select {
	case <-entered:
	case <-time.After(10 * time.Second):
		t.Fatal("the request never reached the handler")
	}

	shutdown := make(chan error, 1)
	go func() { shutdown <- srv.Shutdown(context.WithoutCancel(t.Context())) }()
	select {
	case err := <-shutdown:
		t.Fatalf("Shutdown returned with a request in flight: %v", err)
	case <-time.After(100 * time.Millisecond):
	}
	close(release)

	select {
	case a := <-answered:
		require.Equal(t, answer{code: http.StatusOK, body: "done"}, a)
	case <-time.After(10 * time.Second):
		t.Fatal("the request in flight was not answered")
	}
	select {
	case err := <-shutdown:
		require.NoError(t, err)
	case <-time.After(10 * time.Second):
		t.Fatal("Shutdown did not return once the request was answered")
	}
	require.NoError(t, srv.Shutdown(t.Context()), "a second Shutdown has nothing to report")
}
