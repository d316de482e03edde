package server

import (
	"context"
	"crypto/rand"
	"log/slog"
	"slices"
	"sync"
	"time"

	"github.com/steadywatch/steadywatch/chaos"
	"github.com/steadywatch/steadywatch/internal/timex"
	"github.com/steadywatch/steadywatch/store"
)

// coverageRecorder writes to the store the spans this serve really watched
// each resource (chaos.WatchSpan): from the informers' sync, moved on by a
// heartbeat each checkpoint interval, cut where a watch breaks and begun
// again where it is back, ended at shutdown. The verdicts read them: a
// window steadywatch did not watch cannot pass (issue 11, #8 and #10).
type coverageRecorder struct {
	db      store.Store
	log     *slog.Logger
	now     func() time.Time
	session string
	kick    chan struct{}

	mu      sync.Mutex
	started bool
	broken  map[string]bool
	open    map[string]*chaos.WatchSpan
	// ended holds spans that ended and are not saved yet.
	ended []chaos.WatchSpan
}

func newCoverageRecorder(db store.Store, log *slog.Logger, now func() time.Time) *coverageRecorder {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &coverageRecorder{
		db: db, log: log, now: now, session: rand.Text()[:12], kick: make(chan struct{}, 1),
		broken: map[string]bool{}, open: map[string]*chaos.WatchSpan{},
	}
}

// start begins a span for every resource whose watch is whole: the
// informers have listed everything, so from now on nothing goes unseen.
func (c *coverageRecorder) start(at time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.started {
		return
	}
	c.started = true
	for _, r := range chaos.WatchedResources {
		if !c.broken[r] {
			c.open[r] = &chaos.WatchSpan{Session: c.session, Resource: r, From: at, To: at}
		}
	}
	c.signal()
}

// broke ends the resource's span where its watch broke (Health.OnBreak).
func (c *coverageRecorder) broke(resource string, at time.Time, err error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.broken[resource] = true
	sp := c.open[resource]
	if sp == nil {
		return
	}
	delete(c.open, resource)
	sp.To = timex.Max(sp.To, at)
	sp.Ended = chaos.SpanBroken
	if err != nil {
		sp.Err = err.Error()
	}
	c.ended = append(c.ended, *sp)
	c.signal()
}

// restored begins a new span where the watch is back (Health.OnRestore).
func (c *coverageRecorder) restored(resource string, _, at time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.broken[resource] = false
	if !c.started || c.open[resource] != nil {
		return
	}
	c.open[resource] = &chaos.WatchSpan{Session: c.session, Resource: resource, From: at, To: at}
	c.signal()
}

func (c *coverageRecorder) signal() {
	select {
	case c.kick <- struct{}{}:
	default:
	}
}

// flush moves the open spans on to now and saves what changed. With stop,
// the open spans end now.
func (c *coverageRecorder) flush(ctx context.Context, stop bool) {
	now := c.now()
	c.mu.Lock()
	spans := c.ended
	c.ended = nil
	for _, r := range chaos.WatchedResources {
		sp := c.open[r]
		if sp == nil {
			continue
		}
		sp.To = timex.Max(sp.To, now)
		if stop {
			sp.Ended = chaos.SpanStopped
			delete(c.open, r)
		}
		spans = append(spans, *sp)
	}
	c.mu.Unlock()
	if len(spans) == 0 {
		return
	}
	saveCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	if err := c.db.SaveCoverage(saveCtx, spans); err != nil {
		c.log.Error("saving the watch coverage; retrying at the next heartbeat", "err", err)
		c.mu.Lock()
		for _, sp := range spans {
			if sp.Ended != chaos.SpanOpen {
				c.ended = append(c.ended, sp)
			}
		}
		c.mu.Unlock()
	}
}

// run waits for synced to hold, starts the spans, and saves them each
// interval and at once when a watch breaks or comes back, until ctx ends;
// then it ends them.
func (c *coverageRecorder) run(ctx context.Context, interval time.Duration, synced func() bool) {
	poll := time.NewTicker(100 * time.Millisecond)
	defer poll.Stop()
	for !synced() {
		select {
		case <-ctx.Done():
			return
		case <-poll.C:
		}
	}
	c.start(c.now())
	tick := time.NewTicker(interval)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			c.flush(ctx, true)
			return
		case <-tick.C:
		case <-c.kick:
		}
		c.flush(ctx, false)
	}
}

// Coverage implements verdict.CoverageSource: the stored spans, with this
// serve's open spans reaching to now (its heartbeat lags).
func (c *coverageRecorder) Coverage(ctx context.Context, since, until time.Time) ([]chaos.WatchSpan, error) {
	spans, err := c.db.Coverage(ctx, since, until)
	if err != nil {
		return nil, err
	}
	now := c.now()
	c.mu.Lock()
	defer c.mu.Unlock()
	mine := slices.Clone(c.ended) // ended, not saved yet
	for _, sp := range c.open {
		live := *sp
		live.To = timex.Max(live.To, now)
		mine = append(mine, live)
	}
	for _, live := range mine {
		i := slices.IndexFunc(spans, func(s chaos.WatchSpan) bool {
			return s.Session == live.Session && s.Resource == live.Resource && s.From.Equal(live.From)
		})
		if i >= 0 {
			spans[i] = live
		} else {
			spans = append(spans, live)
		}
	}
	return spans, nil
}
