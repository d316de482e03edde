// Package web serves steadywatch's HTTP endpoints in one place: the
// listener, the exporter-toolkit web configuration (TLS, headers, rate
// limit) with basic-auth users and bearer tokens, the probes, the metrics
// and the routes of the API and the receiver.
package web

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// ReadHeaderTimeout bounds how long a client may take to send a request's
// headers, so that slow clients cannot hold connections open for ever.
const ReadHeaderTimeout = 10 * time.Second

// DrainTimeout is how long a graceful Shutdown should give the requests in
// flight.
const DrainTimeout = 5 * time.Second

// Options configure a Server.
type Options struct {
	// Config is how to serve: TLS, authentication, headers, rate limit.
	// nil serves plain HTTP without authentication.
	Config *Config
	// Address is where Start listens, such as ":8080" or "127.0.0.1:0",
	// unless Listener is set.
	Address string
	// Listener, if set, is served instead of listening on Address.
	Listener net.Listener
	// Logger defaults to discarding.
	Logger *slog.Logger
	// Limits bound the connections and the time a client may hold them.
	Limits Limits
	// Registerer gets the server's metrics (the refused requests); nil
	// leaves them unregistered.
	Registerer prometheus.Registerer
}

// Route is a handler served on a Server.
type Route struct {
	// Pattern is an http.ServeMux pattern, such as "GET /api/v1/verdicts".
	Pattern string
	Handler http.Handler
	// Open routes are served without authentication: handlers that
	// authenticate by themselves. Their pattern's path must be literal.
	Open bool
}

// Routes are what a Server serves besides HealthPath, which is always
// served.
type Routes struct {
	// Metrics, if not nil, is served at MetricsPath (see MetricsHandler).
	Metrics http.Handler
	// Ready answers ReadyPath; nil is always ready.
	Ready Readiness
	// Handlers are the other routes.
	Handlers []Route
}

// Server serves Routes as the Config says; the probes are never
// authenticated.
type Server struct {
	cfg     Config
	auth    *Auth
	address string
	lis     net.Listener
	log     *slog.Logger
	limits  Limits
	conns   *connLimit

	srv  *http.Server
	done chan error
}

// New checks the configuration and returns a Server that has not started.
func New(o Options) (*Server, error) {
	limits, err := o.Limits.withDefaults()
	if err != nil {
		return nil, err
	}
	s := &Server{address: o.Address, lis: o.Listener, log: o.Logger, limits: limits}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if o.Config != nil {
		s.cfg = *o.Config
		s.cfg.OpenPaths = slices.Clone(o.Config.OpenPaths)
	} else {
		s.cfg = Config{Config: defaultConfig()}
	}
	if o.Listener == nil && o.Address == "" {
		return nil, errors.New("no address to listen on")
	}
	auth, err := NewAuth(AuthOptions{
		BasicAuthUsers: s.cfg.BasicAuthUsers(), BearerTokens: s.cfg.BearerTokens,
		Logger: s.log.With("component", "auth"), Registerer: o.Registerer,
	})
	if err != nil {
		return nil, err
	}
	s.auth = auth
	return s, nil
}

// Auth is the configured authentication, for handlers that authenticate by
// themselves (receiver.Options.Auth) and are routed Open.
func (s *Server) Auth() *Auth { return s.auth }

// Start listens, unless a Listener was given, and serves r in the
// background until Shutdown.
func (s *Server) Start(ctx context.Context, r Routes) error {
	if s.srv != nil {
		return errors.New("web server started twice")
	}
	open := []string{HealthPath, ReadyPath}
	for i, rt := range r.Handlers {
		if rt.Handler == nil {
			return fmt.Errorf("routes.handlers[%d] (%s): no handler", i, rt.Pattern)
		}
		if rt.Open {
			path, err := literalPath(rt.Pattern)
			if err != nil {
				return fmt.Errorf("routes.handlers[%d]: %w", i, err)
			}
			open = append(open, path)
		}
	}
	if s.lis == nil {
		lis, err := (&net.ListenConfig{}).Listen(ctx, "tcp", s.address)
		if err != nil {
			return fmt.Errorf("listen: %w", err)
		}
		s.lis = lis
	}
	ready := r.Ready
	if ready == nil {
		ready = func() (bool, string) { return true, "" }
	}
	mux := probes(r.Metrics, ready)
	for _, rt := range r.Handlers {
		mux.Handle(rt.Pattern, rt.Handler)
	}
	cfg := s.cfg
	cfg.OpenPaths = append(slices.Clone(s.cfg.OpenPaths), open...)
	s.conns = newConnLimit(s.lis, s.limits.MaxConnections)
	s.srv = &http.Server{
		Handler:           mux,
		ReadHeaderTimeout: min(ReadHeaderTimeout, s.limits.ReadTimeout),
		ReadTimeout:       s.limits.ReadTimeout,
		WriteTimeout:      s.limits.WriteTimeout,
		IdleTimeout:       s.limits.IdleTimeout,
		ConnState:         s.conns.track,
	}
	s.done = make(chan error, 1)
	go func() {
		s.done <- cfg.serve(s.srv, s.conns, s.log.With("component", "http"), s.auth)
		close(s.done) // a second Shutdown finds nothing to report
	}()
	return nil
}

// literalPath returns the path of a ServeMux pattern without wildcards:
// the request path Config.Serve compares with its OpenPaths.
func literalPath(pattern string) (string, error) {
	path := pattern
	if _, p, ok := strings.Cut(pattern, " "); ok {
		path = strings.TrimLeft(p, " \t")
	}
	if !strings.HasPrefix(path, "/") || strings.ContainsAny(path, "{}") {
		return "", fmt.Errorf("open route %q: the path must be literal, without host or wildcards", pattern)
	}
	return path, nil
}

// Addr is the address served, once listening.
func (s *Server) Addr() net.Addr {
	if s.lis == nil {
		return nil
	}
	return s.lis.Addr()
}

// Shutdown stops accepting requests and waits for those in flight until
// ctx ends (a drain cut short is logged, not returned). It returns why the
// server stopped serving if that was not Shutdown.
func (s *Server) Shutdown(ctx context.Context) error {
	if s.srv == nil {
		return nil
	}
	if err := s.srv.Shutdown(ctx); err != nil {
		s.log.Warn("HTTP shutdown", "err", err)
	}
	if err := <-s.done; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("http server: %w", err)
	}
	return nil
}
