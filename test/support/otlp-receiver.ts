/**
 * A real OTLP/HTTP trace receiver on 127.0.0.1 for tests: takes `POST /v1/traces` in the JSON
 * encoding the OTLP/HTTP exporter sends, and keeps every span it got, flattened.
 */
import { createServer, type Server } from 'node:http';

export interface ReceivedSpan {
  readonly traceId: string;
  readonly spanId: string;
  readonly parentSpanId?: string;
  readonly name: string;
  /** 2 = server, 3 = client (OTLP's SpanKind numbers). */
  readonly kind: number;
  readonly attributes: Record<string, unknown>;
  readonly status?: { code?: number };
  readonly service?: string;
}

export interface OtlpReceiver {
  readonly url: string;
  readonly spans: ReceivedSpan[];
  /** Bodies that were not JSON OTLP (a wrong encoding would show here). */
  readonly rejected: string[];
  close(): Promise<void>;
}

interface OtlpValue {
  stringValue?: string;
  intValue?: string | number;
  boolValue?: boolean;
  doubleValue?: number;
}

const value = (v: OtlpValue | undefined): unknown =>
  v?.stringValue ?? (v?.intValue !== undefined ? Number(v.intValue) : (v?.boolValue ?? v?.doubleValue));

export async function startOtlpReceiver(): Promise<OtlpReceiver> {
  const spans: ReceivedSpan[] = [];
  const rejected: string[] = [];
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const text = Buffer.concat(chunks).toString('utf8');
      try {
        const body = JSON.parse(text) as {
          resourceSpans?: Array<{
            resource?: { attributes?: Array<{ key: string; value: OtlpValue }> };
            scopeSpans?: Array<{ spans?: Array<Record<string, unknown>> }>;
          }>;
        };
        for (const resourceSpans of body.resourceSpans ?? []) {
          const service = resourceSpans.resource?.attributes?.find((a) => a.key === 'service.name')?.value;
          for (const scope of resourceSpans.scopeSpans ?? []) {
            for (const span of scope.spans ?? []) {
              const attributes: Record<string, unknown> = {};
              for (const a of (span.attributes ?? []) as Array<{ key: string; value: OtlpValue }>)
                attributes[a.key] = value(a.value);
              spans.push({
                traceId: String(span.traceId),
                spanId: String(span.spanId),
                ...(span.parentSpanId ? { parentSpanId: String(span.parentSpanId) } : {}),
                name: String(span.name),
                kind: Number(span.kind),
                attributes,
                status: span.status as { code?: number },
                service: String(value(service)),
              });
            }
          }
        }
        res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
      } catch {
        rejected.push(`${req.headers['content-type']}: ${text.slice(0, 80)}`);
        res.writeHead(400).end();
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  return {
    url: `http://127.0.0.1:${port}`,
    spans,
    rejected,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
