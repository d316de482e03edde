package web

import (
	"fmt"
	"net"
	"net/http"
	"sync"
	"time"
)

// Defaults of Limits. The timeouts let a notification of 1 MiB arrive at
// 35 KB/s and a slow store take a minute, while a client that holds a
// connection without using it loses it; the connection limit keeps far
// below the usual 1,024 open files, with room for the store, the
// Kubernetes API and the files.
const (
	DefaultReadTimeout    = 30 * time.Second
	DefaultWriteTimeout   = 60 * time.Second
	DefaultIdleTimeout    = 90 * time.Second
	DefaultMaxConnections = 512
)

// Limits bound what a client can hold of a Server. Zero fields take their
// default.
type Limits struct {
	// ReadTimeout bounds the reading of a request, headers and body: a body
	// trickling in is cut off. It defaults to DefaultReadTimeout.
	ReadTimeout time.Duration
	// WriteTimeout bounds the time from the end of the request's headers
	// to the end of the response: reading the body, handling and answering.
	// It defaults to DefaultWriteTimeout.
	WriteTimeout time.Duration
	// IdleTimeout is how long a keep-alive connection may wait for its next
	// request. It defaults to DefaultIdleTimeout.
	IdleTimeout time.Duration
	// MaxConnections bounds the connections open at once. At the limit a
	// new connection makes the one idle the longest close; with none idle
	// it waits (in the listen backlog) until one closes or goes idle. It
	// defaults to DefaultMaxConnections.
	MaxConnections int
}

func (l Limits) withDefaults() (Limits, error) {
	for _, d := range []struct {
		name string
		v    *time.Duration
		def  time.Duration
	}{
		{"ReadTimeout", &l.ReadTimeout, DefaultReadTimeout},
		{"WriteTimeout", &l.WriteTimeout, DefaultWriteTimeout},
		{"IdleTimeout", &l.IdleTimeout, DefaultIdleTimeout},
	} {
		if *d.v < 0 {
			return l, fmt.Errorf("limits: %s %s is negative", d.name, *d.v)
		}
		if *d.v == 0 {
			*d.v = d.def
		}
	}
	if l.MaxConnections < 0 {
		return l, fmt.Errorf("limits: MaxConnections %d is negative", l.MaxConnections)
	}
	if l.MaxConnections == 0 {
		l.MaxConnections = DefaultMaxConnections
	}
	return l, nil
}

// connLimit is a listener that keeps at most max connections open. It
// learns which are idle from the server's ConnState: when one more is
// accepted at the limit, the connection idle the longest is closed for it
// (a keep-alive client reconnects; one flooding idle connections gets
// nothing), and with none idle it waits until one closes or goes idle.
type connLimit struct {
	net.Listener
	max int

	mu      sync.Mutex
	open    int
	peak    int
	idle    map[net.Conn]time.Time
	closing bool // an idle connection is being closed for a waiting one

	room      chan struct{} // a connection closed or went idle
	closed    chan struct{} // the listener closed
	closeOnce sync.Once
}

func newConnLimit(l net.Listener, limit int) *connLimit {
	return &connLimit{
		Listener: l, max: limit,
		idle:   make(map[net.Conn]time.Time),
		room:   make(chan struct{}, 1),
		closed: make(chan struct{}),
	}
}

// Accept accepts a connection first, so that an idle one is closed only
// for a client actually waiting, then waits for room for it.
func (l *connLimit) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	for {
		l.mu.Lock()
		if l.open < l.max {
			l.open++
			l.peak = max(l.peak, l.open)
			l.mu.Unlock()
			return &limitedConn{Conn: c, l: l}, nil
		}
		// One at a time: a wake-up before the last one closed (another
		// connection went idle meanwhile) must not close a second.
		var victim net.Conn
		if !l.closing {
			victim = l.oldestIdle()
			l.closing = victim != nil
		}
		l.mu.Unlock()
		if victim != nil {
			// In the background: a TLS connection's close writes an alert.
			// Its Close has released its room when it returns.
			go func() {
				_ = victim.Close()
				l.mu.Lock()
				l.closing = false
				l.mu.Unlock()
				l.wake()
			}()
		}
		select {
		case <-l.room:
		case <-l.closed:
			_ = c.Close()
			return nil, net.ErrClosed
		}
	}
}

// oldestIdle takes the connection idle the longest out of the idle ones;
// l.mu is held.
func (l *connLimit) oldestIdle() net.Conn {
	var oldest net.Conn
	var since time.Time
	for c, t := range l.idle {
		if oldest == nil || t.Before(since) {
			oldest, since = c, t
		}
	}
	if oldest != nil {
		delete(l.idle, oldest)
	}
	return oldest
}

func (l *connLimit) Close() error {
	l.closeOnce.Do(func() { close(l.closed) })
	return l.Listener.Close()
}

// track is the server's ConnState hook: it keeps the idle connections,
// and wakes an Accept waiting for room when one goes idle: it closes it.
func (l *connLimit) track(c net.Conn, s http.ConnState) {
	l.mu.Lock()
	if s != http.StateIdle {
		delete(l.idle, c)
		l.mu.Unlock()
		return
	}
	l.idle[c] = time.Now()
	l.mu.Unlock()
	l.wake()
}

func (l *connLimit) release() {
	l.mu.Lock()
	l.open--
	l.mu.Unlock()
	l.wake()
}

// wake tells an Accept waiting for room to look again.
func (l *connLimit) wake() {
	select {
	case l.room <- struct{}{}:
	default:
	}
}

type limitedConn struct {
	net.Conn
	l    *connLimit
	once sync.Once
}

func (c *limitedConn) Close() error {
	err := c.Conn.Close()
	c.once.Do(c.l.release)
	return err
}
