package web

import (
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"
	"golang.org/x/crypto/bcrypt"

	"github.com/steadywatch/steadywatch/contract"
	"github.com/steadywatch/steadywatch/internal/contractprom"
)

// MinBearerTokenLength keeps guessable tokens out of the configuration.
const MinBearerTokenLength = 16

// fakeHash is compared against for unknown users, so that the time taken
// does not tell which users exist. It is exporter-toolkit's, the bcrypt
// hash of "fakepassword".
const fakeHash = "$2y$10$QOauhQNbBCuQDKes6eFzPeMqBSjb7Mr5DUmpZ/VcEd00UAV/LDeSi"

// maxCachedLogins bounds the cache of successful basic-auth logins.
const maxCachedLogins = 256

// UnauthorizedLogInterval is how often a refused request is logged for
// each problem ("no credentials", "invalid bearer token", ...): the first
// line says so, the next one, that often later, how many were not logged
// meanwhile. steadywatch_http_unauthorized_total counts them all.
const UnauthorizedLogInterval = 10 * time.Second

// AuthOptions configure Auth. With neither users nor tokens, Auth lets
// every request through, as exporter-toolkit does without basic_auth_users.
type AuthOptions struct {
	// BasicAuthUsers maps user names to bcrypt hashes of their passwords:
	// the basic_auth_users of an exporter-toolkit web configuration file
	// (see Config.BasicAuthUsers).
	BasicAuthUsers map[string]string
	// BearerTokens are accepted in "Authorization: Bearer <token>", the
	// authorization.credentials of Alertmanager's webhook http_config (see
	// LoadBearerTokens).
	BearerTokens []string
	// Logger defaults to discarding.
	Logger *slog.Logger
	// Registerer gets steadywatch_http_unauthorized_total; nil leaves it
	// unregistered.
	Registerer prometheus.Registerer
}

// Auth is middleware that lets through requests with a valid basic-auth
// user or bearer token and answers others 401 with WWW-Authenticate.
type Auth struct {
	users  map[string]string
	tokens [][sha256.Size]byte
	log    *slog.Logger

	// bcrypt is slow on purpose; like exporter-toolkit, remember logins that
	// succeeded and run one comparison at a time, so a flood of requests
	// costs one core, not all of them.
	bcryptMu sync.Mutex
	mu       sync.Mutex
	logins   map[[sha256.Size]byte]struct{}

	unauthorized *prometheus.CounterVec
	now          func() time.Time
	logMu        sync.Mutex
	logged       map[string]*problemLog
}

// problemLog is when a problem was last logged and how many refusals
// were not logged since.
type problemLog struct {
	at         time.Time
	suppressed int
}

// NewAuth checks the password hashes and tokens and returns an Auth.
func NewAuth(o AuthOptions) (*Auth, error) {
	a := &Auth{
		users:  make(map[string]string, len(o.BasicAuthUsers)),
		log:    o.Logger,
		logins: make(map[[sha256.Size]byte]struct{}),
		now:    time.Now,
		logged: make(map[string]*problemLog),
	}
	a.unauthorized = contractprom.CounterVec(promauto.With(o.Registerer), contract.HTTPUnauthorized)
	if a.log == nil {
		a.log = slog.New(slog.DiscardHandler)
	}
	for _, user := range slices.Sorted(maps.Keys(o.BasicAuthUsers)) {
		hash := o.BasicAuthUsers[user]
		if _, err := bcrypt.Cost([]byte(hash)); err != nil {
			return nil, fmt.Errorf("basic_auth_users.%s: not a bcrypt hash: %w", user, err)
		}
		a.users[user] = hash
	}
	for i, t := range o.BearerTokens {
		if err := checkToken(t); err != nil {
			return nil, fmt.Errorf("bearer_tokens[%d]: %w", i, err)
		}
		a.tokens = append(a.tokens, sha256.Sum256([]byte(t)))
	}
	return a, nil
}

func checkToken(t string) error {
	switch {
	case t == "":
		return errors.New("empty")
	case strings.ContainsFunc(t, func(r rune) bool { return r <= ' ' || r == 0x7f }):
		return errors.New("contains white space or control characters")
	case len(t) < MinBearerTokenLength:
		return fmt.Errorf("shorter than %d characters", MinBearerTokenLength)
	}
	return nil
}

// Enabled reports whether Auth checks anything.
func (a *Auth) Enabled() bool { return len(a.users) > 0 || len(a.tokens) > 0 }

// Wrap returns next behind authentication. Its refusals are counted by
// the path of the route they were for if next is an *http.ServeMux, else
// as contract.HandlerOther.
func (a *Auth) Wrap(next http.Handler) http.Handler {
	mux, _ := next.(*http.ServeMux)
	return a.wrap(func(r *http.Request) string {
		if mux == nil {
			return contract.HandlerOther
		}
		if _, pattern := mux.Handler(r); pattern != "" {
			if _, path, ok := strings.Cut(pattern, " "); ok {
				return strings.TrimLeft(path, " \t")
			}
			return pattern
		}
		return contract.HandlerOther
	}, next)
}

// WrapNamed returns next behind authentication, its refusals counted as
// handler's.
func (a *Auth) WrapNamed(handler string, next http.Handler) http.Handler {
	return a.wrap(func(*http.Request) string { return handler }, next)
}

func (a *Auth) wrap(handler func(*http.Request) string, next http.Handler) http.Handler {
	if !a.Enabled() {
		return next
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ok, problem := a.check(r)
		if ok {
			next.ServeHTTP(w, r)
			return
		}
		name := handler(r)
		a.unauthorized.WithLabelValues(name).Inc()
		a.logRefusal(r, name, problem)
		if len(a.users) > 0 {
			w.Header().Add("WWW-Authenticate", `Basic realm="steadywatch", charset="UTF-8"`)
		}
		if len(a.tokens) > 0 {
			challenge := `Bearer realm="steadywatch"`
			if problem == "invalid bearer token" {
				challenge += `, error="invalid_token"`
			}
			w.Header().Add("WWW-Authenticate", challenge)
		}
		http.Error(w, "unauthorized: "+problem, http.StatusUnauthorized)
	})
}

// logRefusal logs the first refusal of each problem every
// UnauthorizedLogInterval, with how many were not logged since the last
// line: an unauthenticated client must not be able to flood the log.
func (a *Auth) logRefusal(r *http.Request, handler, problem string) {
	a.logMu.Lock()
	now := a.now()
	p := a.logged[problem]
	if p != nil && now.Sub(p.at) < UnauthorizedLogInterval {
		p.suppressed++
		a.logMu.Unlock()
		return
	}
	if p == nil {
		p = &problemLog{}
		a.logged[problem] = p // a few problems, all ours: the map stays small
	}
	suppressed := p.suppressed
	p.at, p.suppressed = now, 0
	a.logMu.Unlock()
	a.log.Warn("Unauthenticated request", "handler", handler, "remote", r.RemoteAddr, "problem", problem,
		"suppressed", suppressed)
}

// check reports whether r is authenticated and, if not, why.
func (a *Auth) check(r *http.Request) (bool, string) {
	h := r.Header.Get("Authorization")
	scheme, credentials, _ := strings.Cut(h, " ")
	switch {
	case h == "":
		return false, "no credentials"
	case strings.EqualFold(scheme, "Basic") && len(a.users) > 0:
		user, pass, ok := r.BasicAuth()
		if !ok {
			return false, "malformed basic credentials"
		}
		if !a.login(user, pass) {
			return false, "invalid user or password"
		}
		return true, ""
	case strings.EqualFold(scheme, "Bearer") && len(a.tokens) > 0:
		if !a.token(strings.TrimSpace(credentials)) {
			return false, "invalid bearer token"
		}
		return true, ""
	default:
		return false, "unsupported authorization scheme"
	}
}

func (a *Auth) login(user, pass string) bool {
	hash, known := a.users[user]
	if !known {
		hash = fakeHash
	}
	key := sha256.Sum256([]byte(strings.Join([]string{user, hash, pass}, "\x00")))
	a.mu.Lock()
	_, cached := a.logins[key]
	a.mu.Unlock()
	if cached {
		return true
	}
	a.bcryptMu.Lock()
	err := bcrypt.CompareHashAndPassword([]byte(hash), []byte(pass))
	a.bcryptMu.Unlock()
	if err != nil || !known {
		return false
	}
	a.mu.Lock()
	if len(a.logins) >= maxCachedLogins {
		clear(a.logins)
	}
	a.logins[key] = struct{}{}
	a.mu.Unlock()
	return true
}

// token compares t with every configured token in constant time; hashing
// first makes the comparison independent of the tokens' lengths too.
func (a *Auth) token(t string) bool {
	sum := sha256.Sum256([]byte(t))
	match := 0
	for i := range a.tokens {
		match |= subtle.ConstantTimeCompare(sum[:], a.tokens[i][:])
	}
	return match == 1
}
