package verdict_test

import (
	"context"
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
)

func attrs(s sdktrace.ReadOnlySpan) map[attribute.Key]attribute.Value {
	out := map[attribute.Key]attribute.Value{}
	for _, kv := range s.Attributes() {
		out[kv.Key] = kv.Value
	}
	return out
}

func TestJudgeTracesItsQueriesAndTests(t *testing.T) {
	sr := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(sr))
	f := newFakeProm()
	aa(f, "latency", 1, 1)
	for _, g := range []chaos.Group{chaos.Control, chaos.Experimental} {
		f.set("requests_rate", g, constant(nSamples, 20))
	}
	f.fail("requests_rate", chaos.Control, &v1.Error{Type: v1.ErrServer, Msg: "server error: 502"})
	j := newJudge(t, verdict.Options{Prometheus: f, Tracer: tp.Tracer("test"), RetryBackoff: time.Millisecond})
	v, err := j.Judge(t.Context(), hyp(t, fixedWindow, metrics(latencyMetric, errorRatioMetric)), after)
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
		f := newFakeProm()
		aa(f, "latency", 1, 1)
		busy := &v1.Error{Type: v1.ErrServer, Msg: "server error: 503"}
		f.fail("latency", chaos.Control, busy, busy, busy)
		j := newJudge(t, verdict.Options{Prometheus: f})
		began := time.Now()
		v, err := j.Judge(t.Context(), hyp(t, fixedWindow, metrics(latencyMetric)), after)
		require.NoError(t, err)
		require.Equal(t, verdict.Pass, v.Result, v.Reason)
		require.Equal(t, 4, f.callsOf("latency", chaos.Control))
		require.Equal(t, (250+500+1000)*time.Millisecond, time.Since(began))
	})

	t.Run("cancelling the context ends the wait", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			f := newFakeProm()
			aa(f, "latency", 1, 1)
			busy := &v1.Error{Type: v1.ErrServer, Msg: "server error: 503"}
			f.fail("latency", chaos.Control, busy, busy, busy)
			j := newJudge(t, verdict.Options{Prometheus: f, RetryBackoff: time.Hour})
			ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
			defer cancel()
			began := time.Now()
			_, err := j.Judge(ctx, hyp(t, fixedWindow, metrics(latencyMetric)), after)
			require.ErrorIs(t, err, context.DeadlineExceeded)
			require.Equal(t, time.Minute, time.Since(began))
		})
	})
}
