/**
 * OpenTelemetry tracing, off unless an OTLP endpoint is configured the standard way
 * (`OTEL_EXPORTER_OTLP_ENDPOINT` or `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`; `OTEL_SDK_DISABLED=true` or
 * `OTEL_TRACES_EXPORTER=none` keep it off). Off, nothing here runs: callers hold `undefined`. On,
 * spans go to the OTLP/HTTP exporter in batches (it reads the other `OTEL_EXPORTER_OTLP_*`
 * variables itself), sampled by `OTEL_TRACES_SAMPLER` / `OTEL_TRACES_SAMPLER_ARG` (default
 * parent-based, always on), named by `OTEL_SERVICE_NAME` (default `mcplane`). W3C trace context is
 * read from and written to HTTP headers and to MCP `_meta` (`traceparent`, `tracestate`).
 */
import type { Attributes, Span, SpanStatusCode, Tracer } from '@opentelemetry/api';
import type { Sampler } from '@opentelemetry/sdk-trace';

export type { Attributes, Span };

/**
 * OpenTelemetry's ERROR status, as a constant: the instrumented modules mark failed spans with it
 * without loading the OpenTelemetry API (startTracing loads it, only when tracing is on).
 */
export const SPAN_STATUS_ERROR = 2 as SpanStatusCode.ERROR;

type Env = Readonly<Record<string, string | undefined>>;

/** What instrumented code calls; `undefined` in its place means tracing is off. */
export interface Tracing {
  /** A server span whose parent is the W3C context in `headers`, else in `meta` (MCP `_meta`). */
  serverSpan(name: string, headers: HeaderCarrier, meta: unknown, startTime: number): Span;
  /** A client span under `parent` (the request's server span: passed along, not kept in async context). */
  clientSpan(parent: Span | undefined, name: string, attributes: Attributes): Span;
  /** The active context's `traceparent` / `tracestate`, for headers and `_meta`. */
  carrier(span: Span): Record<string, string>;
  shutdown(): Promise<void>;
}

/** On when an OTLP endpoint is set and the SDK is not disabled. */
export function tracingWanted(env: Env): boolean {
  if (env.OTEL_SDK_DISABLED?.trim().toLowerCase() === 'true') return false;
  if (env.OTEL_TRACES_EXPORTER?.trim().toLowerCase() === 'none') return false;
  return Boolean(env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT || env.OTEL_EXPORTER_OTLP_ENDPOINT);
}

/** The sampler `OTEL_TRACES_SAMPLER` names (unknown names: the default, parent-based always on). */
export async function samplerFromEnv(env: Env): Promise<Sampler> {
  const { AlwaysOffSampler, AlwaysOnSampler, ParentBasedSampler, TraceIdRatioBasedSampler } = await import(
    '@opentelemetry/sdk-trace'
  );
  const ratio = Number(env.OTEL_TRACES_SAMPLER_ARG ?? '1');
  const valid = Number.isFinite(ratio) && ratio >= 0 && ratio <= 1 ? ratio : 1;
  switch (env.OTEL_TRACES_SAMPLER?.trim().toLowerCase()) {
    case 'always_on':
      return new AlwaysOnSampler();
    case 'always_off':
      return new AlwaysOffSampler();
    case 'traceidratio':
      return new TraceIdRatioBasedSampler(valid);
    case 'parentbased_always_off':
      return new ParentBasedSampler({ root: new AlwaysOffSampler() });
    case 'parentbased_traceidratio':
      return new ParentBasedSampler({ root: new TraceIdRatioBasedSampler(valid) });
    default:
      return new ParentBasedSampler({ root: new AlwaysOnSampler() });
  }
}

/**
 * Tracing as the environment asks, or undefined (off). The API and SDK are loaded only here, so a
 * gateway without tracing never loads them.
 */
export async function startTracing(env: Env, version: string): Promise<Tracing | undefined> {
  if (!tracingWanted(env)) return undefined;
  const [
    { ROOT_CONTEXT, SpanKind, SpanStatusCode, trace },
    { W3CTraceContextPropagator },
    { OTLPTraceExporter },
  ] = await Promise.all([
    import('@opentelemetry/api'),
    import('@opentelemetry/core'),
    import('@opentelemetry/exporter-trace-otlp-http'),
  ]);
  if (SpanStatusCode.ERROR !== SPAN_STATUS_ERROR)
    throw new Error('OpenTelemetry API: unexpected SpanStatusCode.ERROR');
  const [{ envDetector, resourceFromAttributes }, { BatchSpanProcessor, TracerProvider }] = await Promise.all(
    [import('@opentelemetry/resources'), import('@opentelemetry/sdk-trace')],
  );
  const detected = envDetector.detect();
  const delay = Number(env.OTEL_BSP_SCHEDULE_DELAY ?? '0');
  const provider = new TracerProvider({
    resource: resourceFromAttributes({
      'service.name': env.OTEL_SERVICE_NAME || 'mcplane',
      'service.version': version,
    }).merge(resourceFromAttributes(detected.attributes ?? {})),
    sampler: await samplerFromEnv(env),
    spanProcessors: [
      new BatchSpanProcessor({
        exporter: new OTLPTraceExporter({ url: tracesUrl(env) }),
        ...(delay > 0 ? { scheduledDelayMillis: delay } : {}),
      }),
    ],
  });
  // No global context manager: the request's span travels in the proxy's own Context (an async
  // context manager would tax every promise of the process, traced or not).
  const propagator = new W3CTraceContextPropagator();
  const tracer: Tracer = provider.getTracer('mcplane', version);
  return {
    serverSpan(name, headers, meta, startTime) {
      let parent = propagator.extract(ROOT_CONTEXT, headers, HEADERS_GETTER);
      if (!trace.getSpanContext(parent) && meta && typeof meta === 'object')
        parent = propagator.extract(ROOT_CONTEXT, meta as Record<string, unknown>, META_GETTER);
      return tracer.startSpan(name, { kind: SpanKind.SERVER, startTime }, parent);
    },
    clientSpan(parent, name, attributes) {
      const within = parent ? trace.setSpan(ROOT_CONTEXT, parent) : ROOT_CONTEXT;
      return tracer.startSpan(name, { kind: SpanKind.CLIENT, attributes }, within);
    },
    carrier(span) {
      const carrier: Record<string, string> = {};
      propagator.inject(trace.setSpan(ROOT_CONTEXT, span), carrier, {
        set: (c, key, value) => {
          c[key] = value;
        },
      });
      return carrier;
    },
    async shutdown() {
      await provider.shutdown().catch(() => {});
    },
  };
}

/**
 * Where spans go: the traces endpoint as given, else `/v1/traces` under the general one (the
 * exporter reads the rest of the OTEL_EXPORTER_OTLP_* variables itself).
 */
export function tracesUrl(env: Env): string {
  const traces = env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT?.trim();
  if (traces) return traces;
  return `${(env.OTEL_EXPORTER_OTLP_ENDPOINT ?? '').trim().replace(/\/+$/, '')}/v1/traces`;
}

/** A request's headers as the proxy reads them (web `Headers` is one). */
export interface HeaderCarrier {
  get(name: string): string | null;
  forEach(visit: (value: string, name: string) => void): void;
}

const HEADERS_GETTER = {
  keys: (carrier: HeaderCarrier) => {
    const names: string[] = [];
    carrier.forEach((_, name) => {
      names.push(name);
    });
    return names;
  },
  get: (carrier: HeaderCarrier, key: string) => carrier.get(key) ?? undefined,
};

/** `_meta` values are a client's: only strings of a sane length are read. */
const META_GETTER = {
  keys: (carrier: Record<string, unknown>) => Object.keys(carrier),
  get: (carrier: Record<string, unknown>, key: string) => {
    const value = Object.hasOwn(carrier, key) ? carrier[key] : undefined;
    return typeof value === 'string' && value.length <= 512 ? value : undefined;
  },
};
