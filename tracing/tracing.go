// Package tracing exports steadywatch's OpenTelemetry spans (one per
// verdict, with its queries and tests as children) over OTLP/HTTP when the
// standard OpenTelemetry environment asks for it.
package tracing

import (
	"context"
	"fmt"
	"os"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
)

// Setup installs a global tracer provider exporting over OTLP/HTTP if
// OTEL_EXPORTER_OTLP_ENDPOINT or OTEL_EXPORTER_OTLP_TRACES_ENDPOINT is set
// (the exporter reads the rest of the standard OTEL_EXPORTER_OTLP_*
// variables: headers, timeout, TLS), and unless OTEL_TRACES_EXPORTER or
// OTEL_SDK_DISABLED say otherwise. It returns the function that flushes and
// stops it; without an endpoint the spans go nowhere and shutdown does
// nothing.
func Setup(ctx context.Context, version string) (shutdown func(context.Context) error, err error) {
	none := func(context.Context) error { return nil }
	if os.Getenv("OTEL_SDK_DISABLED") == "true" {
		return none, nil
	}
	switch os.Getenv("OTEL_TRACES_EXPORTER") {
	case "", "otlp":
	case "none":
		return none, nil
	default:
		return nil, fmt.Errorf("OTEL_TRACES_EXPORTER=%s: only otlp and none are supported", os.Getenv("OTEL_TRACES_EXPORTER"))
	}
	if os.Getenv("OTEL_EXPORTER_OTLP_ENDPOINT") == "" && os.Getenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT") == "" {
		return none, nil
	}
	exp, err := otlptracehttp.New(ctx)
	if err != nil {
		return nil, fmt.Errorf("OpenTelemetry OTLP exporter: %w", err)
	}
	// OTEL_SERVICE_NAME and OTEL_RESOURCE_ATTRIBUTES override these.
	res, err := resource.New(ctx,
		resource.WithAttributes(attribute.String("service.name", "steadywatch"), attribute.String("service.version", version)),
		resource.WithTelemetrySDK(), resource.WithFromEnv())
	if err != nil {
		return nil, fmt.Errorf("OpenTelemetry resource: %w", err)
	}
	tp := sdktrace.NewTracerProvider(sdktrace.WithBatcher(exp), sdktrace.WithResource(res))
	otel.SetTracerProvider(tp)
	return tp.Shutdown, nil
}
