/**
 * The OpenTelemetry SDK as an instrumented client or MCP server would use it, for trace tests: a
 * tracer exporting every span at once over OTLP/HTTP to the test's receiver under its own service
 * name, and W3C context in and out of headers. Independent of mcplane's own tracing module.
 */
import { ROOT_CONTEXT, type Span, SpanKind, trace } from '@opentelemetry/api';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { SimpleSpanProcessor, TracerProvider } from '@opentelemetry/sdk-trace';

export interface TestTracer {
  /** A root span (the client's own). */
  root(name: string): Span;
  /** A server span whose parent is the W3C context in these headers. */
  server(name: string, headers: Readonly<Record<string, unknown>>): Span;
  /** The `traceparent` header of a span. */
  traceparent(span: Span): string;
  shutdown(): Promise<void>;
}

const propagator = new W3CTraceContextPropagator();

export function testTracer(service: string, receiverUrl: string): TestTracer {
  const provider = new TracerProvider({
    resource: resourceFromAttributes({ 'service.name': service }),
    spanProcessors: [
      new SimpleSpanProcessor({ exporter: new OTLPTraceExporter({ url: `${receiverUrl}/v1/traces` }) }),
    ],
  });
  const tracer = provider.getTracer(service);
  return {
    root: (name) => tracer.startSpan(name, { kind: SpanKind.CLIENT }, ROOT_CONTEXT),
    server(name, headers) {
      const parent = propagator.extract(ROOT_CONTEXT, headers, {
        keys: (carrier) => Object.keys(carrier),
        get: (carrier, key) => {
          const value = carrier[key];
          return typeof value === 'string' ? value : undefined;
        },
      });
      return tracer.startSpan(name, { kind: SpanKind.SERVER }, parent);
    },
    traceparent(span) {
      const carrier: Record<string, string> = {};
      propagator.inject(trace.setSpan(ROOT_CONTEXT, span), carrier, {
        set: (c, key, value) => {
          c[key] = value;
        },
      });
      return carrier.traceparent!;
    },
    shutdown: () => provider.shutdown(),
  };
}
