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

	"golang.org/x/crypto/bcrypt"
)

// MinBearerTokenLength keeps guessable tokens out of the configuration.
const MinBearerTokenLength = 16

// fakeHash is compared against for unknown users, so that the time taken
// does not tell which users exist. It is exporter-toolkit's, the bcrypt
// hash of "fakepassword".
const fakeHash = "$2y$10$QOauhQNbBCuQDKes6eFzPeMqBSjb7Mr5DUmpZ/VcEd00UAV/LDeSi"

// maxCachedLogins bounds the cache of successful basic-auth logins.
const maxCachedLogins = 256

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
}

// NewAuth checks the password hashes and tokens and returns an Auth.
func NewAuth(o AuthOptions) (*Auth, error) {
	a := &Auth{
		users:  make(map[string]string, len(o.BasicAuthUsers)),
		log:    o.Logger,
		logins: make(map[[sha256.Size]byte]struct{}),
	}
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

// Wrap returns next behind authentication.
func (a *Auth) Wrap(next http.Handler) http.Handler {
	if !a.Enabled() {
		return next
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ok, problem := a.check(r)
		if ok {
			next.ServeHTTP(w, r)
			return
		}
		a.log.Warn("Unauthenticated webhook request", "remote", r.RemoteAddr, "problem", problem)
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
