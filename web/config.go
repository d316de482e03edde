package web

import (
	"bytes"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"

	toolkit "github.com/prometheus/exporter-toolkit/web"
	yamlv2 "go.yaml.in/yaml/v2"
	"go.yaml.in/yaml/v3"
	"golang.org/x/crypto/bcrypt"
	"golang.org/x/time/rate"
)

// Config is how steadywatch is served: an exporter-toolkit web
// configuration file (tls_server_config, http_server_config, rate_limit,
// basic_auth_users), read with exporter-toolkit's own validation and types
// so that the same file works for every Prometheus exporter and for
// `promtool check web-config`,
//
//	tls_server_config:
//	  cert_file: tls.crt            # relative to this file
//	  key_file: tls.key
//	basic_auth_users:
//	  alertmanager: $2y$10$...      # bcrypt hash (htpasswd -nBC 10 "")
//
// plus steadywatch's bearer tokens, which that format lacks and which live
// in a file of their own, so that the web configuration stays valid for
// exporter-toolkit (see LoadBearerTokens):
//
//	bearer_tokens:
//	  - 8c0e4d3b0a5f4f1e9d7c6b5a4f3e2d1c
//	bearer_token_file: /var/run/secrets/steadywatch/webhook-token
//
// The files are read once; the certificate and key files at each TLS
// handshake.
type Config struct {
	toolkit.Config
	BearerTokens []string
	// OpenPaths are request paths Serve lets through without
	// authentication: health probes, and handlers that authenticate by
	// themselves (a receiver.Receiver with Options.Auth, which counts its
	// 401s). A Server sets them from its Routes.
	OpenPaths []string
}

// LoadConfig reads an exporter-toolkit web configuration file and, if
// bearerTokenFile is not empty, a bearer token file. Either path may be
// empty; with both empty the result serves plain HTTP without
// authentication.
func LoadConfig(webConfigFile, bearerTokenFile string) (*Config, error) {
	c := &Config{Config: defaultConfig()}
	if webConfigFile != "" {
		data, err := os.ReadFile(webConfigFile)
		if err != nil {
			return nil, err
		}
		// The same decoding as exporter-toolkit's, whose loader is not
		// exported.
		if err := yamlv2.UnmarshalStrict(data, &c.Config); err != nil {
			return nil, yamlError(webConfigFile, err)
		}
		c.TLSConfig.SetDirectory(filepath.Dir(webConfigFile))
		// Checked here too, as exporter-toolkit's message does not say
		// which user's hash is wrong.
		for _, user := range slices.Sorted(maps.Keys(c.Users)) {
			if _, err := bcrypt.Cost([]byte(c.Users[user])); err != nil {
				return nil, fmt.Errorf("%s: basic_auth_users.%s: not a bcrypt hash: %w", webConfigFile, user, err)
			}
		}
		// What Serve would otherwise find out late: the headers and the
		// certificate files.
		if err := toolkit.Validate(webConfigFile); err != nil {
			return nil, yamlError(webConfigFile, err)
		}
	}
	if bearerTokenFile != "" {
		tokens, err := LoadBearerTokens(bearerTokenFile)
		if err != nil {
			return nil, err
		}
		c.BearerTokens = tokens
	}
	return c, nil
}

// defaultConfig holds exporter-toolkit's defaults.
func defaultConfig() toolkit.Config {
	return toolkit.Config{
		TLSConfig: toolkit.TLSConfig{
			MinVersion: tls.VersionTLS12,
			MaxVersion: tls.VersionTLS13,
		},
		HTTPConfig: toolkit.HTTPConfig{HTTP2: true},
	}
}

// BasicAuthUsers returns the users and their bcrypt password hashes.
func (c *Config) BasicAuthUsers() map[string]string {
	users := make(map[string]string, len(c.Users))
	for u, h := range c.Users {
		users[u] = string(h)
	}
	return users
}

// TLS returns the server's TLS configuration, or nil if tls_server_config
// is empty. The certificate and key files are read again at each
// handshake, so a renewed certificate is picked up without a restart.
func (c *Config) TLS() (*tls.Config, error) {
	if !c.TLSConfig.IsEnabled() {
		return nil, nil
	}
	return toolkit.ConfigToTLSConfig(&c.TLSConfig)
}

// Auth returns the authentication middleware for the configured users and
// tokens.
func (c *Config) Auth(log *slog.Logger) (*Auth, error) {
	return NewAuth(AuthOptions{BasicAuthUsers: c.BasicAuthUsers(), BearerTokens: c.BearerTokens, Logger: log})
}

// Serve serves srv on l as exporter-toolkit's Serve does — TLS,
// HTTP/2 on or off, the extra headers and the rate limit — and, in place of
// its basic-auth-only check, authenticates every request with Auth, which
// also takes bearer tokens. It returns what srv.Serve or srv.ServeTLS
// returns: http.ErrServerClosed after srv.Shutdown.
func (c *Config) Serve(srv *http.Server, l net.Listener, log *slog.Logger) error {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	auth, err := c.Auth(log)
	if err != nil {
		return err
	}
	return c.serve(srv, l, log, auth)
}

// serve is Serve with auth made from c already: a Server's, shared with
// the handlers that authenticate by themselves.
func (c *Config) serve(srv *http.Server, l net.Listener, log *slog.Logger, auth *Auth) error {
	h := srv.Handler
	if h == nil {
		h = http.DefaultServeMux
	}
	if open := c.OpenPaths; len(open) > 0 && auth.Enabled() {
		authed := auth.Wrap(h)
		inner := h
		h = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if slices.Contains(open, r.URL.Path) {
				inner.ServeHTTP(w, r)
				return
			}
			authed.ServeHTTP(w, r)
		})
	} else {
		h = auth.Wrap(h)
	}
	if c.RateLimiterConfig.Interval != 0 {
		h = rateLimit(rate.NewLimiter(rate.Every(c.RateLimiterConfig.Interval), c.RateLimiterConfig.Burst), h)
	}
	if len(c.HTTPConfig.Header) > 0 {
		h = headers(c.HTTPConfig.Header, h)
	}
	srv.Handler = h
	if srv.ErrorLog == nil {
		// TLS handshake failures and the like, which net/http would
		// otherwise print to the standard logger.
		srv.ErrorLog = slog.NewLogLogger(log.Handler(), slog.LevelWarn)
	}

	tlsConfig, err := c.TLS()
	if err != nil {
		return err
	}
	if tlsConfig == nil {
		log.Info("Serving without TLS", "address", l.Addr().String(), "authentication", auth.Enabled())
		return srv.Serve(l)
	}
	if !c.HTTPConfig.HTTP2 {
		srv.TLSNextProto = make(map[string]func(*http.Server, *tls.Conn, http.Handler))
	}
	srv.TLSConfig = tlsConfig
	log.Info("Serving with TLS", "address", l.Addr().String(), "http2", c.HTTPConfig.HTTP2, "authentication", auth.Enabled())
	return srv.ServeTLS(l, "", "")
}

func rateLimit(l *rate.Limiter, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !l.Allow() {
			http.Error(w, http.StatusText(http.StatusTooManyRequests), http.StatusTooManyRequests)
			return
		}
		next.ServeHTTP(w, r)
	})
}

func headers(hs map[string]string, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		for k, v := range hs {
			w.Header().Set(k, v)
		}
		next.ServeHTTP(w, r)
	})
}

// bearerTokenFile is the format of a bearer token file:
//
//	bearer_tokens:
//	  - 8c0e4d3b0a5f4f1e9d7c6b5a4f3e2d1c
//	bearer_token_file: /var/run/secrets/steadywatch/webhook-token
type bearerTokenFile struct {
	BearerTokens []string `yaml:"bearer_tokens"`
	// BearerTokenFile holds one more token, such as a mounted Kubernetes
	// Secret; white space around it is ignored. A relative path is relative
	// to the bearer token file.
	BearerTokenFile string `yaml:"bearer_token_file"`
}

// LoadBearerTokens reads a bearer token file:
//
//	bearer_tokens: [<token>, ...]
//	bearer_token_file: <path of a file holding one token>
//
// Unknown fields are errors, and so are tokens shorter than
// MinBearerTokenLength or containing white space. Errors name the file, the
// line and the field.
func LoadBearerTokens(path string) ([]string, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var f bearerTokenFile
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&f); err != nil && !errors.Is(err, io.EOF) {
		return nil, yamlError(path, err)
	}
	var root yaml.Node
	_ = yaml.Unmarshal(data, &root) // decoded above already; only for line numbers
	lines := tokenLines(&root)

	tokens := make([]string, 0, len(f.BearerTokens)+1)
	for i, t := range f.BearerTokens {
		if err := checkToken(t); err != nil {
			return nil, fmt.Errorf("%s:%d: bearer_tokens[%d]: %w", path, lines.item(i), i, err)
		}
		tokens = append(tokens, t)
	}
	if f.BearerTokenFile != "" {
		file := f.BearerTokenFile
		if !filepath.IsAbs(file) {
			file = filepath.Join(filepath.Dir(path), file)
		}
		b, err := os.ReadFile(file)
		if err != nil {
			return nil, fmt.Errorf("%s:%d: bearer_token_file: %w", path, lines.file, err)
		}
		t := strings.TrimSpace(string(b))
		if err := checkToken(t); err != nil {
			return nil, fmt.Errorf("%s:%d: bearer_token_file: token in %s: %w", path, lines.file, file, err)
		}
		tokens = append(tokens, t)
	}
	if len(tokens) == 0 {
		return nil, fmt.Errorf("%s: no bearer_tokens and no bearer_token_file", path)
	}
	return tokens, nil
}

// yamlError turns go-yaml's "line 3: field x not found" into
// "file:3: field x not found", reporting the first problem only. Both
// go-yaml v2 (exporter-toolkit's) and v3 errors are understood.
func yamlError(path string, err error) error {
	msg := strings.TrimPrefix(err.Error(), "yaml: ")
	if typeErr, ok := errors.AsType[*yaml.TypeError](err); ok && len(typeErr.Errors) > 0 {
		msg = typeErr.Errors[0]
	}
	if typeErr, ok := errors.AsType[*yamlv2.TypeError](err); ok && len(typeErr.Errors) > 0 {
		msg = typeErr.Errors[0]
	}
	if rest, ok := strings.CutPrefix(msg, "line "); ok {
		if n, msg, ok := strings.Cut(rest, ": "); ok {
			return fmt.Errorf("%s:%s: %s", path, n, msg)
		}
	}
	return fmt.Errorf("%s: %s", path, msg)
}

type lines struct {
	tokens []int
	file   int
}

func (l lines) item(i int) int {
	if i < len(l.tokens) {
		return l.tokens[i]
	}
	return 0
}

func tokenLines(root *yaml.Node) lines {
	var l lines
	if root.Kind != yaml.DocumentNode || len(root.Content) == 0 || root.Content[0].Kind != yaml.MappingNode {
		return l
	}
	m := root.Content[0].Content
	for i := 0; i+1 < len(m); i += 2 {
		switch m[i].Value {
		case "bearer_tokens":
			for _, n := range m[i+1].Content {
				l.tokens = append(l.tokens, n.Line)
			}
		case "bearer_token_file":
			l.file = m[i+1].Line
		}
	}
	return l
}
