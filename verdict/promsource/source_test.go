package promsource_test

import (
	"context"
	"errors"
	"math"
	"testing"
	"testing/synctest"
	"time"

	v1 "github.com/prometheus/client_golang/api/prometheus/v1"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/otel/attribute"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/steadywatch/steadywatch/chaos"
	"github.com/steadywatch/steadywatch/verdict"
	"github.com/steadywatch/steadywatch/verdict/promsource"
	"github.com/steadywatch/steadywatch/verdict/verdicttest"
)

func TestABadQueryIsInconclusiveWithPrometheusError(t *testing.T) {
	f := newFakeAPI()
	aa(f, "latency", 1, 1)
	f.Fail("latency", chaos.Control, &v1.Error{Type: v1.ErrBadData, Msg: `parse error at char 3: unexpected "}"`})
	v, err := newJudge(t, promsource.Options{API: f}, verdict.Options{}).
		Judge(t.Context(), verdicttest.Hypothesis(t, fixedWindow, metrics(latencyMetric)), after)
	require.NoError(t, err)
	require.Equal(t, verdict.Inconclusive, v.Result, v.Reason)
	require.Contains(t, v.Reason, "only 0 % of the metrics' weight could be judged")
	m := v.Metrics[0]
	require.Equal(t, verdict.Inconclusive, m.Result, m.Reason)
	require.Contains(t, m.Reason, `control group: query failed: bad_data: parse error at char 3: unexpected "}"`)
	require.Truef(t, math.IsNaN(v.Score), "score %v", v.Score)
}

func TestLongWindowsAreQueriedInPiecesPrometheusAccepts(t *testing.T) {
	f := newFakeAPI()
	n := 30_000
	f.Set("latency", chaos.Control, verdicttest.Lognormal(1, n, 0.1, 0.3))
	f.Set("latency", chaos.Experimental, verdicttest.Lognormal(2, n, 0.1, 0.3))
	long := `window: {fixed: {start: 2026-03-01T12:00:00Z, end: 2026-03-06T12:00:00Z}}`
	// A hypothesis file cannot ask for 28,801 points a query any more
	// (hypothesis.MaxPoints); the source still splits what it is given.
	h := verdicttest.Hypothesis(t, long+"\n  step: 1m", metrics(latencyMetric))
	h.Step = step
	v, err := newJudge(t, promsource.Options{API: f}, verdict.Options{}).Judge(t.Context(), h, base.Add(10*24*time.Hour))
	require.NoError(t, err)
	require.Equal(t, 5*24*240+1, v.Metrics[0].Control.Samples)
	require.Equal(t, 3, f.Calls("latency", chaos.Control))
	for _, r := range f.Queries() {
		require.LessOrEqual(t, int(r.End.Sub(r.Start)/r.Step)+1, 11_000)
	}
}

func TestJudgeRetriesTransientErrors(t *testing.T) {
	transient := []error{
		&v1.Error{Type: v1.ErrServer, Msg: "server error: 503"},
		&v1.Error{Type: v1.ErrTimeout, Msg: "query timed out in expression evaluation"},
		errors.New("dial tcp 127.0.0.1:9090: connect: connection refused"),
		&v1.Error{Type: v1.ErrClient, Msg: "client error: 429"},
	}
	for _, err := range transient {
		t.Run("retries "+err.Error(), func(t *testing.T) {
			f := newFakeAPI()
			aa(f, "latency", 1, 1)
			f.Fail("latency", chaos.Control, err, err)
			j := newJudge(t, promsource.Options{API: f, RetryBackoff: time.Millisecond}, verdict.Options{})
			v, jerr := j.Judge(t.Context(), verdicttest.Hypothesis(t, fixedWindow, metrics(latencyMetric)), after)
			require.NoError(t, jerr)
			require.Equal(t, verdict.Pass, v.Result, v.Reason)
			require.Equal(t, 3, f.Calls("latency", chaos.Control))
		})
	}
	permanent := []error{
		&v1.Error{Type: v1.ErrBadData, Msg: "invalid parameter"},
		&v1.Error{Type: v1.ErrExec, Msg: "found duplicate series for the match group"},
		&v1.Error{Type: v1.ErrClient, Msg: "client error: 404"},
	}
	for _, err := range permanent {
		t.Run("does not retry "+err.Error(), func(t *testing.T) {
			f := newFakeAPI()
			aa(f, "latency", 1, 1)
			f.Fail("latency", chaos.Control, err, err)
			j := newJudge(t, promsource.Options{API: f, RetryBackoff: time.Millisecond}, verdict.Options{})
			v, jerr := j.Judge(t.Context(), verdicttest.Hypothesis(t, fixedWindow, metrics(latencyMetric)), after)
			require.NoError(t, jerr)
			require.Equal(t, verdict.Inconclusive, v.Result)
			require.Equal(t, "vs control: control group: query failed: "+err.Error(), v.Metrics[0].Reason)
			require.Equal(t, 1, f.Calls("latency", chaos.Control))
		})
	}
	t.Run("gives up after Retries", func(t *testing.T) {
		f := newFakeAPI()
		aa(f, "latency", 1, 1)
		f.Fail("latency", chaos.Control, transient[0], transient[0], transient[0])
		j := newJudge(t, promsource.Options{API: f, Retries: 2, RetryBackoff: time.Millisecond}, verdict.Options{})
		v, err := j.Judge(t.Context(), verdicttest.Hypothesis(t, fixedWindow, metrics(latencyMetric)), after)
		require.NoError(t, err)
		require.Equal(t, verdict.Inconclusive, v.Result)
		require.Equal(t, "vs control: control group: query failed 3 times: server_error: server error: 503", v.Metrics[0].Reason)
		require.Equal(t, 3, f.Calls("latency", chaos.Control))
	})
	t.Run("negative Retries retries nothing", func(t *testing.T) {
		f := newFakeAPI()
		aa(f, "latency", 1, 1)
		f.Fail("latency", chaos.Control, transient[0])
		j := newJudge(t, promsource.Options{API: f, Retries: -1}, verdict.Options{})
		v, err := j.Judge(t.Context(), verdicttest.Hypothesis(t, fixedWindow, metrics(latencyMetric)), after)
		require.NoError(t, err)
		require.Equal(t, "vs control: control group: query failed 1 times: server_error: server error: 503", v.Metrics[0].Reason)
	})
}

func TestJudgeTracesItsQueriesAndTests(t *testing.T) {
	sr := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(sr))
	f := newFakeAPI()
	aa(f, "latency", 1, 1)
	for _, g := range []chaos.Group{chaos.Control, chaos.Experimental} {
		f.Set("requests_rate", g, verdicttest.Constant(nSamples, 20))
	}
	f.Fail("requests_rate", chaos.Control, &v1.Error{Type: v1.ErrServer, Msg: "server error: 502"})
	j := newJudge(t, promsource.Options{API: f, RetryBackoff: time.Millisecond}, verdict.Options{Tracer: tp.Tracer("test")})
	v, err := j.Judge(t.Context(), verdicttest.Hypothesis(t, fixedWindow, metrics(latencyMetric, errorRatioMetric)), after)
	require.NoError(t, err)
	require.Equal(t, verdict.Pass, v.Result, v.Reason)

	byName := map[string][]sdktrace.ReadOnlySpan{}
	for _, s := range sr.Ended() {
		byName[s.Name()] = append(byName[s.Name()], s)
	}
	require.Len(t, byName["verdict.Judge"], 1)
	root := byName["verdict.Judge"][0]
	a := attrs(root)
	require.Equal(t, "test", a["hypothesis"].AsString())
	require.Equal(t, "pass", a["result"].AsString())
	require.InDelta(t, 100, a["score"].AsFloat64(), 0)

	require.Len(t, byName["verdict.query"], 2+4, "two queries for the latency, four for the ratio")
	attempts := 0
	for _, s := range byName["verdict.query"] {
		require.Equal(t, root.SpanContext().SpanID(), s.Parent().SpanID())
		require.Equal(t, root.SpanContext().TraceID(), s.SpanContext().TraceID())
		a := attrs(s)
		require.Contains(t, []string{"latency", "error-ratio"}, a["metric"].AsString())
		require.Contains(t, []string{"control", "experimental"}, a["group"].AsString())
		require.NotEmpty(t, a["query"].AsString())
		attempts += int(a["attempts"].AsInt64())
	}
	require.Equal(t, 7, attempts, "one retry")

	require.Len(t, byName["verdict.test"], 2)
	tests := map[string]string{}
	for _, s := range byName["verdict.test"] {
		require.Equal(t, root.SpanContext().SpanID(), s.Parent().SpanID())
		a := attrs(s)
		tests[a["metric"].AsString()] = a["test"].AsString()
		require.Equal(t, "pass", a["class"].AsString())
	}
	require.Equal(t, map[string]string{"latency": "mann-whitney-hodges-lehmann", "error-ratio": "fisher-newcombe"}, tests)
}

func TestJudgeBacksOffExponentially(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := newFakeAPI()
		aa(f, "latency", 1, 1)
		busy := &v1.Error{Type: v1.ErrServer, Msg: "server error: 503"}
		f.Fail("latency", chaos.Control, busy, busy, busy)
		j := newJudge(t, promsource.Options{API: f}, verdict.Options{})
		began := time.Now()
		v, err := j.Judge(t.Context(), verdicttest.Hypothesis(t, fixedWindow, metrics(latencyMetric)), after)
		require.NoError(t, err)
		require.Equal(t, verdict.Pass, v.Result, v.Reason)
		require.Equal(t, 4, f.Calls("latency", chaos.Control))
		require.Equal(t, (250+500+1000)*time.Millisecond, time.Since(began))
	})

	t.Run("cancelling the context ends the wait", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			f := newFakeAPI()
			aa(f, "latency", 1, 1)
			busy := &v1.Error{Type: v1.ErrServer, Msg: "server error: 503"}
			f.Fail("latency", chaos.Control, busy, busy, busy)
			j := newJudge(t, promsource.Options{API: f, RetryBackoff: time.Hour}, verdict.Options{})
			ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
			defer cancel()
			began := time.Now()
			_, err := j.Judge(ctx, verdicttest.Hypothesis(t, fixedWindow, metrics(latencyMetric)), after)
			require.ErrorIs(t, err, context.DeadlineExceeded)
			require.Equal(t, time.Minute, time.Since(began))
		})
	})
}

func attrs(s sdktrace.ReadOnlySpan) map[attribute.Key]attribute.Value {
	out := map[attribute.Key]attribute.Value{}
	for _, kv := range s.Attributes() {
		out[kv.Key] = kv.Value
	}
	return out
}

func TestNewChecksItsOptions(t *testing.T) {
	for _, tc := range []struct {
		o   promsource.Options
		vo  verdict.Options
		err string
	}{
		{promsource.Options{}, verdict.Options{}, "promsource: Options.URL or Options.API is required"},
		{promsource.Options{URL: "http://[::1"}, verdict.Options{}, `promsource: Options.URL: parse "http://[::1": missing ']' in host`},
		{promsource.Options{API: newFakeAPI(), QueryTimeout: -time.Second}, verdict.Options{}, "promsource: Options.QueryTimeout -1s: must be ≥ 0"},
		{promsource.Options{API: newFakeAPI(), RetryBackoff: -time.Second}, verdict.Options{}, "promsource: Options.RetryBackoff -1s: must be ≥ 0"},
		{promsource.Options{API: newFakeAPI()}, verdict.Options{Samples: verdicttest.NewSource(base, step)}, "promsource: verdict.Options.Samples is set: NewJudge sets it to Prometheus"},
		{promsource.Options{API: newFakeAPI()}, verdict.Options{MinSamples: -1}, "verdict: Options.MinSamples -1: must be ≥ 0"},
	} {
		_, err := promsource.NewJudge(tc.o, tc.vo)
		require.EqualError(t, err, tc.err)
	}
	require.NoError(t, promsource.CheckURL("http://127.0.0.1:9090"))
	require.EqualError(t, promsource.CheckURL("http://[::1"), `parse "http://[::1": missing ']' in host`)
}
