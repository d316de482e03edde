package tracing_test

import (
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/otel"
	coltrace "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	"google.golang.org/protobuf/proto"

	"github.com/steadywatch/steadywatch/tracing"
)

func TestSpansAreExportedOverOTLPWhenAnEndpointIsSet(t *testing.T) {
	var mu sync.Mutex
	var (
		got  []*coltrace.ExportTraceServiceRequest
		errs []error
	)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		body, err := io.ReadAll(r.Body)
		if err == nil && r.URL.Path != "/v1/traces" {
			err = errors.New("posted to " + r.URL.Path)
		}
		var req coltrace.ExportTraceServiceRequest
		if err == nil {
			err = proto.Unmarshal(body, &req)
		}
		if err != nil {
			errs = append(errs, err)
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		got = append(got, &req)
	}))
	defer srv.Close()
	t.Setenv("OTEL_EXPORTER_OTLP_ENDPOINT", srv.URL)
	t.Setenv("OTEL_TRACES_EXPORTER", "")
	t.Setenv("OTEL_SDK_DISABLED", "")

	shutdown, err := tracing.Setup(t.Context(), "1.2.3")
	require.NoError(t, err)
	_, span := otel.Tracer("test").Start(t.Context(), "verdict.Judge")
	span.End()
	require.NoError(t, shutdown(t.Context())) // flushes

	mu.Lock()
	defer mu.Unlock()
	require.Empty(t, errs)
	require.Len(t, got, 1)
	rs := got[0].GetResourceSpans()[0]
	attrs := map[string]string{}
	for _, a := range rs.GetResource().GetAttributes() {
		attrs[a.GetKey()] = a.GetValue().GetStringValue()
	}
	require.Equal(t, "steadywatch", attrs["service.name"])
	require.Equal(t, "1.2.3", attrs["service.version"])
	require.Equal(t, "verdict.Judge", rs.GetScopeSpans()[0].GetSpans()[0].GetName())
}

func TestWithoutAnEndpointNothingIsExported(t *testing.T) {
	t.Setenv("OTEL_EXPORTER_OTLP_ENDPOINT", "")
	t.Setenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "")
	before := otel.GetTracerProvider()
	shutdown, err := tracing.Setup(t.Context(), "1.2.3")
	require.NoError(t, err)
	require.NoError(t, shutdown(t.Context()))
	require.Equal(t, before, otel.GetTracerProvider())
}

func TestAnUnsupportedExporterIsRefused(t *testing.T) {
	t.Setenv("OTEL_TRACES_EXPORTER", "zipkin")
	_, err := tracing.Setup(t.Context(), "1.2.3")
	require.EqualError(t, err, "OTEL_TRACES_EXPORTER=zipkin: only otlp and none are supported")
}
