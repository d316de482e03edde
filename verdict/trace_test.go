package verdict_test

import (
	"testing"

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
	f := newSource()
	aa(f, "latency", 1, 1)
	for _, g := range []chaos.Group{chaos.Control, chaos.Experimental} {
		f.Set("requests_rate", g, constant(nSamples, 20))
	}
	j := newJudge(t, verdict.Options{Samples: f, Tracer: tp.Tracer("test")})
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
	for _, s := range byName["verdict.query"] {
		require.Equal(t, root.SpanContext().SpanID(), s.Parent().SpanID())
		require.Equal(t, root.SpanContext().TraceID(), s.SpanContext().TraceID())
		a := attrs(s)
		require.Contains(t, []string{"latency", "error-ratio"}, a["metric"].AsString())
		require.Contains(t, []string{"control", "experimental"}, a["group"].AsString())
		require.NotEmpty(t, a["query"].AsString())
	}

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
