package server

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"maps"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/common/model"
	"github.com/stretchr/testify/require"
	"k8s.io/client-go/rest"

	"github.com/steadywatch/steadywatch/api"
	"github.com/steadywatch/steadywatch/config"
	"github.com/steadywatch/steadywatch/contract"
	"github.com/steadywatch/steadywatch/internal/testenv/fakeclock"
	"github.com/steadywatch/steadywatch/internal/testenv/waitfor"
	"github.com/steadywatch/steadywatch/store"
)

// hookReceiver is the webhooks' receiving end. It records every request
// it answers, by Idempotency-Key, independently of steadywatch's store:
// the first failFirst requests of each key get 500, the next 200.
type hookReceiver struct {
	failFirst int

	mu       sync.Mutex
	requests map[string]int // answered, by key
	accepted map[string]int // answered 200, by key
	bodies   map[string][]byte
	addr     string
	srv      *http.Server
}

func newHookReceiver(t *testing.T, failFirst int) *hookReceiver {
	h := &hookReceiver{failFirst: failFirst, requests: map[string]int{}, accepted: map[string]int{}, bodies: map[string][]byte{}}
	h.up(t, "127.0.0.1:0")
	t.Cleanup(h.down)
	return h
}

func (h *hookReceiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	key := r.Header.Get("Idempotency-Key")
	h.mu.Lock()
	defer h.mu.Unlock()
	h.requests[key]++
	if h.requests[key] <= h.failFirst {
		http.Error(w, "not now", http.StatusInternalServerError)
		return
	}
	h.accepted[key]++
	h.bodies[r.URL.Path+" "+key] = body
}

// up listens on addr (the address it had, to come back).
func (h *hookReceiver) up(t *testing.T, addr string) {
	lis, err := (&net.ListenConfig{}).Listen(t.Context(), "tcp", addr)
	require.NoError(t, err)
	h.mu.Lock()
	defer h.mu.Unlock()
	h.addr = lis.Addr().String()
	h.srv = &http.Server{Handler: h, ReadHeaderTimeout: 5 * time.Second}
	go h.srv.Serve(lis) //nolint:errcheck // ends with Close
}

// down closes the listener: connections are refused until up.
func (h *hookReceiver) down() {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.srv != nil {
		h.srv.Close() //nolint:errcheck,gosec // closing the test's server
		h.srv = nil
	}
}

func (h *hookReceiver) counts() (requests, accepted map[string]int) {
	h.mu.Lock()
	defer h.mu.Unlock()
	requests, accepted = map[string]int{}, map[string]int{}
	maps.Copy(requests, h.requests)
	maps.Copy(accepted, h.accepted)
	return requests, accepted
}

// serving is one serve run.
type serving struct {
	*Server
	stop func() error
}

// startServe runs serve on cfg until stop, with a Kubernetes API that
// never answers: the HTTP server, the store and the report delivery run
// regardless.
func startServe(t *testing.T, cfg config.Config, clock *fakeclock.Clock) *serving {
	t.Helper()
	return startServeWith(t, cfg, clock, nil)
}

// startServeWith is startServe with the options changed by with (nil:
// none).
func startServeWith(t *testing.T, cfg config.Config, clock *fakeclock.Clock, with func(*Options)) *serving {
	t.Helper()
	lis, err := (&net.ListenConfig{}).Listen(t.Context(), "tcp", "127.0.0.1:0")
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	started := make(chan *Server, 1)
	done := make(chan error, 1)
	o := Options{
		Config: cfg, Logger: slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelInfo})),
		RESTConfig: &rest.Config{Host: "http://127.0.0.1:1"}, Listener: lis,
		Now: clock.Now, Clock: clock,
		Started: func(s *Server) { started <- s },
	}
	if with != nil {
		with(&o)
	}
	go func() { done <- Run(ctx, o) }()
	var s *Server
	select {
	case s = <-started:
	case err := <-done:
		cancel()
		t.Fatalf("serve exited before serving: %v", err)
	}
	var once sync.Once
	var stopErr error
	stop := func() error {
		once.Do(func() {
			cancel()
			select {
			case stopErr = <-done:
			case <-time.After(30 * time.Second):
				t.Error("serve did not stop within 30s")
			}
		})
		return stopErr
	}
	t.Cleanup(func() { _ = stop() })
	return &serving{Server: s, stop: stop}
}

// deliveries reads the store's deliveries, by webhook/week.
func deliveries(t *testing.T, s *serving) map[string]store.Delivery {
	t.Helper()
	list, err := s.DB.Deliveries(t.Context(), store.DeliveryFilter{})
	require.NoError(t, err)
	out := map[string]store.Delivery{}
	for _, d := range list {
		out[d.Webhook+"/"+d.Week] = d
	}
	return out
}

// outcomes waits until this serve has counted n outcomes of attempts
// (delivered, retry or failed) for each webhook, and the store holds
// attempts for week: the attempts are over, their outcomes recorded.
func outcomes(t *testing.T, s *serving, week string, n, attempts int) func() bool {
	return func() bool {
		// Counted once recorded: the store read after the count holds it.
		sums := map[string]float64{}
		for _, w := range []string{"ops", "chat"} {
			for _, r := range contract.DeliveryResults {
				sums[w] += deliveryCounter(t, s, w, r)
			}
		}
		ds := deliveries(t, s)
		for _, w := range []string{"ops", "chat"} {
			sum := sums[w]
			if sum < float64(n) || ds[w+"/"+week].Attempts < attempts {
				return false
			}
		}
		return true
	}
}

func allInState(t *testing.T, s *serving, week, state string) func() bool {
	return func() bool {
		ds := deliveries(t, s)
		return ds["ops/"+week].State == state && ds["chat/"+week].State == state
	}
}

func TestTheWeeklyReportIsDeliveredOnceAcrossFailuresAndRestarts(t *testing.T) {
	hook := newHookReceiver(t, 2)
	addr := hook.addr
	cfg := config.Default()
	cfg.DataDir = t.TempDir()
	cfg.Listen = "127.0.0.1:0"
	d := &cfg.Reports.Delivery
	d.Schedule = config.Schedule{Weekday: "monday", Time: "09:00", TimeZone: "UTC"}
	d.MinBackoff, d.MaxBackoff = model.Duration(time.Minute), model.Duration(10*time.Minute)
	d.Webhooks = []config.Webhook{
		{Name: "ops", URL: "http://" + addr + "/json", Format: config.WebhookJSON},
		{Name: "chat", URL: "http://" + addr + "/slack", Format: config.WebhookSlack, Link: "https://sw.example.com/"},
	}
	require.NoError(t, cfg.Validate())

	// Sunday of 2026-W47: the last schedule (Monday 16 November 09:00) is
	// more than max_age (24h) ago and this store has recorded nothing, so
	// it is not caught up.
	clock := fakeclock.New(time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC))
	s1 := startServe(t, cfg, clock)

	// Monday 09:00: W47 is recorded and attempted; the receiver fails the
	// first two attempts of each webhook, then goes down.
	clock.Set(time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC))
	waitfor.True(t, 20*time.Second, "the first attempts", outcomes(t, s1, "2026-W47", 1, 1))
	clock.Advance(time.Minute)
	waitfor.True(t, 20*time.Second, "the second attempts", outcomes(t, s1, "2026-W47", 2, 2))
	hook.down()
	clock.Advance(2 * time.Minute)
	waitfor.True(t, 20*time.Second, "the third attempts, refused", outcomes(t, s1, "2026-W47", 3, 3))
	ds := deliveries(t, s1)
	require.Len(t, ds, 2, "W46 was not caught up; only W47 is recorded")
	require.Equal(t, store.DeliveryPending, ds["ops/2026-W47"].State)
	require.Contains(t, ds["ops/2026-W47"].LastError, "connection refused")
	require.InDelta(t, 3.0, deliveryCounter(t, s1, "ops", contract.DeliveryRetry), 0, "2 answered 500 and 1 refused: retried")
	require.InDelta(t, 0.0, deliveryCounter(t, s1, "ops", contract.DeliveryDelivered), 0)
	require.NoError(t, s1.stop())

	// Down for 3 hours, receiver too; serve comes back first and resumes.
	clock.Advance(3 * time.Hour)
	s2 := startServe(t, cfg, clock)
	waitfor.True(t, 20*time.Second, "the attempts resumed at start", outcomes(t, s2, "2026-W47", 1, 4))
	hook.up(t, addr)
	clock.Advance(10 * time.Minute)
	waitfor.True(t, 20*time.Second, "W47 delivered", allInState(t, s2, "2026-W47", store.DeliveryDelivered))
	requests, accepted := hook.counts()
	require.Equal(t, map[string]int{"ops/2026-W47": 1, "chat/2026-W47": 1}, accepted)
	require.Equal(t, map[string]int{"ops/2026-W47": 3, "chat/2026-W47": 3}, requests, "2 answered 500, 2 refused, 1 accepted")
	require.Equal(t, 5, deliveries(t, s2)["ops/2026-W47"].Attempts)
	require.NoError(t, s2.stop())

	// The next Monday passes while serve is down: W48 is caught up at
	// start, W47 is not sent again.
	clock.Set(time.Date(2026, 11, 30, 11, 0, 0, 0, time.UTC))
	hook.mu.Lock()
	hook.failFirst = 0
	hook.mu.Unlock()
	s3 := startServe(t, cfg, clock)
	waitfor.True(t, 20*time.Second, "W48 delivered", allInState(t, s3, "2026-W48", store.DeliveryDelivered))
	_, accepted = hook.counts()
	require.Equal(t, map[string]int{"ops/2026-W47": 1, "chat/2026-W47": 1, "ops/2026-W48": 1, "chat/2026-W48": 1}, accepted,
		"every week delivered exactly once")
	require.Len(t, deliveries(t, s3), 4)
	require.InDelta(t, 1.0, deliveryCounter(t, s3, "ops", contract.DeliveryDelivered), 0)
	require.InDelta(t, 0.0, deliveryCounter(t, s3, "ops", contract.DeliveryRetry), 0)

	// What was sent: the JSON report of the week, and a Slack message
	// with a summary and a link to the Markdown report.
	hook.mu.Lock()
	jsonBody, slackBody := hook.bodies["/json ops/2026-W48"], hook.bodies["/slack chat/2026-W48"]
	hook.mu.Unlock()
	var rep struct {
		Range struct{ Week, From string }
	}
	require.NoError(t, json.Unmarshal(jsonBody, &rep), string(jsonBody))
	require.Equal(t, "2026-W48", rep.Range.Week)
	require.Equal(t, "2026-11-23T00:00:00Z", rep.Range.From)
	var msg struct {
		Text   string
		Blocks []struct {
			Type string
			Text struct{ Text string }
		}
	}
	require.NoError(t, json.Unmarshal(slackBody, &msg), string(slackBody))
	require.True(t, strings.HasPrefix(msg.Text, "steadywatch weekly report 2026-W48: 0 firing alerts, +0 on 2026-W47 (0)"), msg.Text)
	require.Contains(t, msg.Blocks[len(msg.Blocks)-1].Text.Text, "<https://sw.example.com"+api.WeeklyReportPath+"?week=2026-W48&format=md|")
}

// deliveryCounter is serve's steadywatch_report_deliveries_total of a
// webhook and result.
func deliveryCounter(t *testing.T, s *serving, webhook, result string) float64 {
	t.Helper()
	mfs, err := s.Registry.Gather()
	require.NoError(t, err)
	for _, mf := range mfs {
		if mf.GetName() != contract.ReportDeliveries.Name {
			continue
		}
		for _, m := range mf.GetMetric() {
			labels := map[string]string{}
			for _, l := range m.GetLabel() {
				labels[l.GetName()] = l.GetValue()
			}
			if labels[contract.LabelWebhook] == webhook && labels[contract.LabelResult] == result {
				return m.GetCounter().GetValue()
			}
		}
	}
	t.Fatalf("no %s{webhook=%q,result=%q}", contract.ReportDeliveries.Name, webhook, result)
	return 0
}

func TestTheWeeklyReportAPIIsBehindTheAPIsAuthentication(t *testing.T) {
	dir := t.TempDir()
	tokens := filepath.Join(dir, "tokens.yml")
	const token = "0123456789abcdef-report-token"
	require.NoError(t, os.WriteFile(tokens, []byte("bearer_tokens: ["+token+"]\n"), 0o600))
	cfg := config.Default()
	cfg.DataDir = dir
	cfg.Web.BearerTokenFile = tokens
	s := startServe(t, cfg, fakeclock.New(time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)))
	get := func(auth, query string) (int, http.Header, []byte) {
		req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, "http://"+s.Addr.String()+api.WeeklyReportPath+query, nil)
		require.NoError(t, err)
		if auth != "" {
			req.Header.Set("Authorization", "Bearer "+auth)
		}
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		defer resp.Body.Close()
		body, err := io.ReadAll(resp.Body)
		require.NoError(t, err)
		return resp.StatusCode, resp.Header, body
	}
	code, _, _ := get("", "")
	require.Equal(t, http.StatusUnauthorized, code)
	code, _, _ = get("wrong-token-0123456789", "")
	require.Equal(t, http.StatusUnauthorized, code)
	code, header, body := get(token, "?format=md")
	require.Equal(t, http.StatusOK, code, string(body))
	require.Equal(t, "text/markdown; charset=utf-8", header.Get("Content-Type"))
	require.Contains(t, string(body), "2026-W47", "the last whole week of the serve's clock")
	code, _, body = get(token, "?week=2026-W99")
	require.Equal(t, http.StatusBadRequest, code)
	require.Contains(t, string(body), "query parameter week")
}
