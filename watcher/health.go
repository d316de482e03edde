package watcher

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/steadywatch/steadywatch/chaos"
)

// DefaultHealthTolerance is how long a watch may be broken before Ready
// says so: a reconnect after the API server closed a watch takes a few
// hundred milliseconds.
const DefaultHealthTolerance = 5 * time.Second

// HealthOptions configure a Health.
type HealthOptions struct {
	// Tolerance is how long a resource's watch may be broken before Ready
	// reports it; 0 means DefaultHealthTolerance.
	Tolerance time.Duration
	Logger    *slog.Logger
	// Now defaults to time.Now.
	Now func() time.Time
	// OnError, if set, is told about every failed request or broken stream.
	OnError func(resource string, err error)
	// OnBreak and OnRestore, if set, are told when a resource's watch breaks
	// (the first failure of an outage) and when it is whole again. They are
	// called with Health's lock held and must not call back into it.
	OnBreak   func(resource string, at time.Time, err error)
	OnRestore func(resource string, brokeAt, at time.Time)
}

// Health follows whether the lists and watches of each watched resource
// reach the API server. It sees them on the wire (WrapTransport), not
// through client-go's reflector: the reflector retries a refused watch
// silently, so its error handler never hears of an API server that is gone
// (issue 11, #10: a 14 s cut left no trace but an INFO "very short watch").
type Health struct {
	opts HealthOptions
	log  *slog.Logger

	mu  sync.Mutex
	res map[string]*resourceHealth
}

type resourceHealth struct {
	// lastContact is Unix nanoseconds, set on every read of a watch stream
	// without taking the lock.
	lastContact atomic.Int64
	// broken holds, per request path (one per informer), when it broke;
	// the resource is broken while any path is.
	broken      map[string]time.Time
	brokenSince time.Time
	// lastBreak and lastRestore are when the latest outage began and
	// ended (zero while it lasts).
	lastBreak, lastRestore time.Time
	lastErr                error
	listed                 map[string]bool
	relists                uint64
}

// NewHealth returns a Health with every watched resource up and never
// contacted.
func NewHealth(o HealthOptions) *Health {
	if o.Tolerance <= 0 {
		o.Tolerance = DefaultHealthTolerance
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	h := &Health{opts: o, log: o.Logger, res: map[string]*resourceHealth{}}
	for _, r := range Resources {
		h.res[r] = &resourceHealth{broken: map[string]time.Time{}, listed: map[string]bool{}}
	}
	return h
}

// Resource names the watched resource a request is for, from its path:
// /api/v1/pods, /api/v1/namespaces/NS/pods, /apis/GROUP/VERSION/deployments
// and so on. Requests for single objects or anything else are not watches.
func resourceOf(path string) (string, bool) {
	parts := strings.Split(strings.Trim(path, "/"), "/")
	switch {
	case len(parts) >= 2 && parts[0] == "api":
		parts = parts[2:]
	case len(parts) >= 3 && parts[0] == "apis":
		parts = parts[3:]
	default:
		return "", false
	}
	if len(parts) == 3 && parts[0] == "namespaces" {
		parts = parts[2:]
	}
	if len(parts) != 1 || !slices.Contains(Resources, parts[0]) {
		return "", false
	}
	return parts[0], true
}

// WrapTransport wraps the transport of the watcher's Kubernetes client
// (rest.Config.Wrap): every list and watch of a watched resource reports
// its outcome, and every read of a watch stream counts as contact.
func (h *Health) WrapTransport(rt http.RoundTripper) http.RoundTripper {
	return &healthTransport{h: h, next: rt}
}

type healthTransport struct {
	h    *Health
	next http.RoundTripper
}

func (t *healthTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	resource, ok := resourceOf(req.URL.Path)
	if !ok || req.Method != http.MethodGet {
		return t.next.RoundTrip(req)
	}
	q := req.URL.Query()
	watching := q.Get("watch") == "true" || q.Get("watch") == "1"
	// A list is one request without continue (its first page), or a watch
	// that starts with the initial events (client-go's watch-list).
	list := (!watching && q.Get("continue") == "") || (watching && q.Get("sendInitialEvents") == "true")
	path := req.URL.Path
	res, err := t.next.RoundTrip(req)
	switch {
	case err != nil:
		if !stoppedByClient(req) {
			t.h.failed(resource, path, err)
		}
		return res, err
	case watching && q.Get("sendInitialEvents") == "true" && res.StatusCode == http.StatusUnprocessableEntity:
		// An API server without streaming lists: client-go falls back
		// to a plain list at once.
		return res, nil
	case res.StatusCode >= 400 && res.StatusCode != http.StatusGone:
		// 410 Gone is an expired resource version: client-go relists.
		t.h.failed(resource, path, fmt.Errorf("%s %s: %s", req.Method, path, res.Status))
		return res, nil
	}
	if watching && !list && t.h.isBroken(resource, path) {
		// A watch resumed after an outage is back once it delivers an
		// event or stays open: an API server that restarted answers the
		// old resourceVersion with 200 and at once an ERROR event (410
		// Expired), and client-go lists again only after a backoff;
		// until then nothing is watched.
		t.h.touch(resource)
		b := &watchBody{ReadCloser: res.Body, h: t.h, resource: resource, path: path, req: req, answered: t.h.opts.Now()}
		b.pending.Store(true)
		b.timer = time.AfterFunc(resumeGrace, b.resumed)
		res.Body = b
		return res, nil
	}
	t.h.contacted(resource, path, list, t.h.opts.Now())
	if watching {
		res.Body = &watchBody{ReadCloser: res.Body, h: t.h, resource: resource, path: path, req: req}
	}
	return res, nil
}

// resumeGrace is how long a watch resumed after an outage must stay open
// without an error to count as back when it delivers nothing: an expired
// resourceVersion is answered at once.
const resumeGrace = time.Second

// isErrorEvent reports whether a watch stream begins with an ERROR event,
// in JSON or in protobuf (a 4-byte length, then the event's type as its
// field 1); false while head is too short to tell.
func isErrorEvent(head []byte) (isErr, decided bool) {
	const jsonError, protoError = `{"type":"ERROR"`, "\n\x05ERROR"
	if trimmed := bytes.TrimLeft(head, " \t\r\n"); len(trimmed) > 0 && trimmed[0] == '{' {
		if len(trimmed) < len(jsonError) {
			return false, false
		}
		return bytes.HasPrefix(trimmed, []byte(jsonError)), true
	}
	if len(head) < 4+len(protoError) {
		return false, false
	}
	return string(head[4:4+len(protoError)]) == protoError, true
}

// watchBody reports a watch stream that breaks, as opposed to one the API
// server ends (its watch timeout: io.EOF) or client-go stops (Close).
type watchBody struct {
	io.ReadCloser
	h        *Health
	resource string
	path     string
	req      *http.Request
	closed   atomic.Bool
	// pending is set on a watch resumed after an outage until it is known
	// to be back (its first event, or resumeGrace without an error) or not
	// (an ERROR event, or its end); answered is when the API server
	// answered it.
	pending  atomic.Bool
	answered time.Time
	timer    *time.Timer
	head     []byte // the stream's first bytes while pending
}

// resumed marks a resumed watch back, as of its answer.
func (b *watchBody) resumed() {
	if b.pending.CompareAndSwap(true, false) {
		b.h.contacted(b.resource, b.path, false, b.answered)
	}
}

// settle decides a resumed watch by the first event it delivers; ended
// says the stream ended before telling. Reads of one body do not overlap.
func (b *watchBody) settle(data []byte, ended bool) {
	if b.timer == nil || !b.pending.Load() {
		return
	}
	b.head = append(b.head, data...)
	isErr, decided := isErrorEvent(b.head)
	switch {
	case decided && !isErr:
		b.timer.Stop()
		b.resumed()
	case decided || ended:
		// An error or the end: client-go lists again, and that list is
		// the watch's return.
		b.timer.Stop()
		b.pending.Store(false)
	default:
		return
	}
	b.head = nil
}

func (b *watchBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	if n > 0 {
		b.h.touch(b.resource)
	}
	if n > 0 || err != nil {
		b.settle(p[:n], err != nil)
	}
	if err != nil && !errors.Is(err, io.EOF) && !b.closed.Load() && !stoppedByClient(b.req) {
		b.h.failed(b.resource, b.path, fmt.Errorf("watch %s: %w", b.path, err))
	}
	return n, err
}

// stoppedByClient reports whether the client ended the request itself: its
// context was cancelled, or its deadline passed — kubernetes.timeout bounds
// watches too (http.Client.Timeout), so client-go's watches end every 30 s
// with "request canceled", and resume.
func stoppedByClient(req *http.Request) bool {
	ctx := req.Context()
	if ctx.Err() != nil {
		return true
	}
	deadline, ok := ctx.Deadline()
	return ok && !time.Now().Before(deadline)
}

func (b *watchBody) Close() error {
	b.closed.Store(true)
	if b.timer != nil && b.pending.CompareAndSwap(true, false) {
		b.timer.Stop()
	}
	return b.ReadCloser.Close()
}

func (h *Health) touch(resource string) {
	if r := h.res[resource]; r != nil {
		r.lastContact.Store(h.opts.Now().UnixNano())
	}
}

func (h *Health) failed(resource, path string, err error) {
	if h.opts.OnError != nil {
		h.opts.OnError(resource, err)
	}
	now := h.opts.Now()
	h.mu.Lock()
	defer h.mu.Unlock()
	r := h.res[resource]
	r.lastErr = err
	if _, ok := r.broken[path]; !ok {
		r.broken[path] = now
	}
	if !r.brokenSince.IsZero() {
		return
	}
	r.brokenSince, r.lastBreak, r.lastRestore = now, now, time.Time{}
	h.log.Warn("watch of the Kubernetes API broken; steadywatch misses what happens to this resource until it is back",
		"resource", resource, "err", err)
	if h.opts.OnBreak != nil {
		h.opts.OnBreak(resource, now, err)
	}
}

// isBroken reports whether the requests on path are in an outage.
func (h *Health) isBroken(resource, path string) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	_, broken := h.res[resource].broken[path]
	return broken
}

func (h *Health) contacted(resource, path string, list bool, now time.Time) {
	h.mu.Lock()
	defer h.mu.Unlock()
	r := h.res[resource]
	if now.UnixNano() > r.lastContact.Load() {
		r.lastContact.Store(now.UnixNano())
	}
	if list {
		if r.listed[path] {
			r.relists++
		}
		r.listed[path] = true
	}
	if _, ok := r.broken[path]; !ok {
		return
	}
	delete(r.broken, path)
	if len(r.broken) > 0 || r.brokenSince.IsZero() {
		return
	}
	since := r.brokenSince
	r.brokenSince, r.lastErr, r.lastRestore = time.Time{}, nil, now
	h.log.Info("watch of the Kubernetes API back", "resource", resource,
		"broken_since", since, "outage", now.Sub(since).Round(time.Millisecond))
	if h.opts.OnRestore != nil {
		h.opts.OnRestore(resource, since, now)
	}
}

// Snapshot returns the health of every watched resource, in Resources order.
func (h *Health) Snapshot() []chaos.WatchHealth {
	h.mu.Lock()
	defer h.mu.Unlock()
	out := make([]chaos.WatchHealth, 0, len(Resources))
	for _, name := range Resources {
		r := h.res[name]
		wh := chaos.WatchHealth{Resource: name, Up: r.brokenSince.IsZero(), BrokenSince: r.brokenSince, Relists: r.relists}
		if r.lastErr != nil {
			wh.LastErr = r.lastErr.Error()
		}
		if ns := r.lastContact.Load(); ns != 0 {
			wh.LastContact = time.Unix(0, ns).UTC()
		}
		out = append(out, wh)
	}
	return out
}

// BrokenSince returns when the resource's current outage began; zero while
// its watch is whole.
func (h *Health) BrokenSince(resource string) time.Time {
	h.mu.Lock()
	defer h.mu.Unlock()
	if r := h.res[resource]; r != nil {
		return r.brokenSince
	}
	return time.Time{}
}

// LastOutage returns when the resource's latest outage began and ended
// (to is zero while it lasts); both zero if its watch never broke. What
// vanished meanwhile was last seen when it began.
func (h *Health) LastOutage(resource string) (from, to time.Time) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if r := h.res[resource]; r != nil {
		return r.lastBreak, r.lastRestore
	}
	return time.Time{}, time.Time{}
}

// Ready reports whether every resource's watch is whole, or broken for less
// than the tolerance; if not, the reason names the resources, since when,
// and the latest error.
func (h *Health) Ready() (bool, string) {
	now := h.opts.Now()
	var broken []string
	for _, wh := range h.Snapshot() {
		if wh.Up || now.Sub(wh.BrokenSince) < h.opts.Tolerance {
			continue
		}
		broken = append(broken, fmt.Sprintf("the %s watch has been broken since %s (%s): %s",
			wh.Resource, wh.BrokenSince.UTC().Format(time.RFC3339), now.Sub(wh.BrokenSince).Round(time.Second), wh.LastErr))
	}
	if len(broken) == 0 {
		return true, ""
	}
	return false, strings.Join(broken, "; ")
}
