/**
 * OpenTelemetry tracing end to end (issue 13, first part): mcplane configured only by the standard
 * OTEL_* variables exports over OTLP/HTTP to a real receiver; the client's W3C trace context (in
 * its headers, or in the message's `_meta`) parents mcplane's server span, each upstream hop is a
 * client span under it, and the upstream MCP server receives the hop's context in both its headers
 * and `_meta`. Real SDK clients and servers on 127.0.0.1.
 */
import { rm } from 'node:fs/promises';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Gateway } from '../../src/gateway.js';
import { samplerFromEnv, tracingWanted } from '../../src/shared/tracing.js';
import { startTestGateway } from '../support/gateway.js';
import { type FixtureServer, type SeenRequest, startFixture } from '../support/mcp-servers.js';
import { modernPost } from '../support/modern-wire.js';
import { type TestTracer, testTracer } from '../support/otel-sdk.js';
import { type OtlpReceiver, type ReceivedSpan, startOtlpReceiver } from '../support/otlp-receiver.js';
import { freePort } from '../support/ports.js';
import { writeManifests } from '../support/standalone.js';
import { startModernServer } from '../support/v2-servers.js';

const SERVER = 2;
const CLIENT = 3;

let alpha: FixtureServer;
let beta: FixtureServer;
let receiver: OtlpReceiver;
let gateway: Gateway;
let dir: string;
let port: number;

let agent: TestTracer;
let upstream: TestTracer;

/** The fixtures are MCP servers instrumented with the OpenTelemetry SDK: a server span per traced request. */
function traced(request: SeenRequest): (() => void) | undefined {
  if (request.headers.traceparent === undefined) return undefined;
  const method = (request.body as { method?: unknown } | undefined)?.method;
  const span = upstream.server(
    `upstream ${typeof method === 'string' ? method : request.method}`,
    request.headers,
  );
  return () => span.end();
}

beforeAll(async () => {
  receiver = await startOtlpReceiver();
  agent = testTracer('agent', receiver.url);
  upstream = testTracer('upstream-mcp-server', receiver.url);
  [alpha, beta] = await Promise.all([
    startFixture({ name: 'alpha', onRequest: traced }),
    startFixture({ name: 'beta', onRequest: traced }),
  ]);
  port = await freePort();
  dir = await writeManifests(port, [
    {
      name: 'mcp',
      targets: [
        { name: 'alpha', port: alpha.port },
        { name: 'beta', port: beta.port },
      ],
    },
  ]);
  gateway = await startTestGateway(
    ['--manifests', dir],
    {},
    {
      OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url,
      OTEL_SERVICE_NAME: 'mcplane-under-test',
      OTEL_BSP_SCHEDULE_DELAY: '50',
    },
  );
});

afterAll(async () => {
  await gateway?.stop();
  await Promise.all([agent?.shutdown(), upstream?.shutdown()]);
  await Promise.all([alpha?.close(), beta?.close(), receiver?.close()]);
  if (dir) await rm(dir, { recursive: true, force: true });
});

const hex = (n: number) =>
  Array.from({ length: n }, () => Math.floor(Math.random() * 16).toString(16)).join('');

/** The requests a fixture received that carry `traceId`, as [traceparent header, _meta traceparent]. */
function hopsSeen(fixture: FixtureServer, traceId: string): Array<[string | undefined, unknown]> {
  return fixture.seen
    .filter((r) => String(r.headers.traceparent ?? '').includes(traceId))
    .map((r) => [
      r.headers.traceparent as string | undefined,
      (r.body as { params?: { _meta?: Record<string, unknown> } } | undefined)?.params?._meta?.traceparent,
    ]);
}

describe('tracing on (OTEL_EXPORTER_OTLP_ENDPOINT set)', () => {
  it("a 2025 client's traceparent header parents the server span; each hop is a client span; the upstream gets the context", async () => {
    const traceId = hex(32);
    const parentId = hex(16);
    const transport = new StreamableHTTPClientTransport(new URL(`http://127.0.0.1:${port}/mcp`), {
      requestInit: { headers: { traceparent: `00-${traceId}-${parentId}-01` } },
    });
    const client = new Client({ name: 'traced', version: '1.0.0' });
    await client.connect(transport);
    try {
      await client.listTools();
      await client.callTool({ name: 'alpha_echo', arguments: { message: 'traced' } });
    } finally {
      await client.close();
    }
    const inTrace = () => receiver.spans.filter((s) => s.traceId === traceId);
    await expect
      .poll(() => inTrace().some((s) => s.name === 'tools/call alpha_echo'), { timeout: 5000 })
      .toBe(true);
    const call = inTrace().find((s) => s.name === 'tools/call alpha_echo')!;
    expect(call.kind).toBe(SERVER);
    expect(call.parentSpanId).toBe(parentId);
    expect(call.service).toBe('mcplane-under-test');
    expect(call.attributes).toMatchObject({
      'mcp.method.name': 'tools/call',
      'gen_ai.tool.name': 'alpha_echo',
      'mcplane.target': 'alpha',
      'mcplane.session.present': true,
    });
    // Never the session id, never the arguments.
    expect(JSON.stringify(call.attributes)).not.toContain('traced');
    await expect
      .poll(() => inTrace().some((s) => s.kind === CLIENT && s.parentSpanId === call.spanId), {
        timeout: 5000,
      })
      .toBe(true);
    const hop = inTrace().find((s) => s.kind === CLIENT && s.parentSpanId === call.spanId)!;
    expect(hop.attributes).toMatchObject({ 'mcp.method.name': 'tools/call', 'mcplane.target': 'alpha' });
    // The upstream got the hop's context, in the header and in _meta.
    const seen = hopsSeen(alpha, traceId);
    expect(seen.some(([header]) => header === `00-${traceId}-${hop.spanId}-01`)).toBe(true);
    expect(seen.some(([, meta]) => meta === `00-${traceId}-${hop.spanId}-01`)).toBe(true);
    // tools/list fans out: one client span per target, siblings under the list's server span.
    const list = inTrace().find((s) => s.kind === SERVER && s.name === 'tools/list');
    expect(list).toBeDefined();
    await expect
      .poll(() => inTrace().filter((s) => s.kind === CLIENT && s.parentSpanId === list!.spanId).length)
      .toBe(2);
  });

  it("a 2026-07-28 client's traceparent in _meta parents the server span", async () => {
    const traceId = hex(32);
    const parentId = hex(16);
    const listed = await modernPost(`http://127.0.0.1:${port}/mcp`, 'tools/list', {
      params: { _meta: { traceparent: `00-${traceId}-${parentId}-01` } },
    });
    expect(listed.status).toBe(200);
    await expect
      .poll(
        () =>
          receiver.spans.find(
            (s) => s.traceId === traceId && s.kind === SERVER && s.service === 'mcplane-under-test',
          )?.parentSpanId,
        {
          timeout: 5000,
        },
      )
      .toBe(parentId);
  });

  it("one trace: the client's span, mcplane's server span, a client span per hop, the upstream server's span", async () => {
    const turn = agent.root('agent turn');
    const traceparent = agent.traceparent(turn);
    const traceId = turn.spanContext().traceId;
    const transport = new StreamableHTTPClientTransport(new URL(`http://127.0.0.1:${port}/mcp`), {
      requestInit: { headers: { traceparent } },
    });
    const client = new Client({ name: 'traced-agent', version: '1.0.0' });
    await client.connect(transport);
    try {
      await client.callTool({ name: 'beta_echo', arguments: { message: 'one trace' } });
      await client.listTools();
    } finally {
      await client.close();
    }
    // A 2026-07-28 request of the same turn, its context in _meta.
    const modern = await modernPost(`http://127.0.0.1:${port}/mcp`, 'tools/call', {
      params: { name: 'alpha_echo', arguments: { message: 'modern' }, _meta: { traceparent } },
    });
    expect(modern.status).toBe(200);
    turn.end();

    const inTrace = () => receiver.spans.filter((s) => s.traceId === traceId);
    const find = (service: string, name: string, parent?: ReceivedSpan) =>
      inTrace().filter(
        (s) => s.service === service && s.name === name && (!parent || s.parentSpanId === parent.spanId),
      );
    const children = (parent: ReceivedSpan, kind: number) =>
      inTrace().filter((s) => s.kind === kind && s.parentSpanId === parent.spanId);
    await expect.poll(() => find('agent', 'agent turn').length, { timeout: 5000 }).toBe(1);
    const root = find('agent', 'agent turn')[0]!;

    // tools/call: client span → mcplane server span → hop → the upstream's server span.
    await expect
      .poll(() => find('mcplane-under-test', 'tools/call beta_echo', root).length, { timeout: 5000 })
      .toBe(1);
    const call = find('mcplane-under-test', 'tools/call beta_echo', root)[0]!;
    await expect.poll(() => children(call, CLIENT).length, { timeout: 5000 }).toBe(1);
    const hop = children(call, CLIENT)[0]!;
    await expect
      .poll(() => find('upstream-mcp-server', 'upstream tools/call', hop).length, { timeout: 5000 })
      .toBe(1);

    // tools/list fans out: a hop per target, each parenting that target's own server span.
    await expect.poll(() => find('mcplane-under-test', 'tools/list', root).length, { timeout: 5000 }).toBe(1);
    const list = find('mcplane-under-test', 'tools/list', root)[0]!;
    await expect.poll(() => children(list, CLIENT).length, { timeout: 5000 }).toBe(2);
    for (const listHop of children(list, CLIENT))
      await expect
        .poll(() => find('upstream-mcp-server', 'upstream tools/list', listHop).length, { timeout: 5000 })
        .toBe(1);

    // The 2026-07-28 request: the same chain.
    await expect
      .poll(() => find('mcplane-under-test', 'tools/call alpha_echo', root).length, { timeout: 5000 })
      .toBe(1);
    const modernCall = find('mcplane-under-test', 'tools/call alpha_echo', root)[0]!;
    await expect.poll(() => children(modernCall, CLIENT).length, { timeout: 5000 }).toBeGreaterThan(0);
    const modernHop = children(modernCall, CLIENT).find((s) => s.name === 'tools/call')!;
    await expect
      .poll(() => find('upstream-mcp-server', 'upstream tools/call', modernHop).length, { timeout: 5000 })
      .toBe(1);

    // Nothing of the turn escaped into another trace.
    expect(new Set(inTrace().map((s) => s.service))).toEqual(
      new Set(['agent', 'mcplane-under-test', 'upstream-mcp-server']),
    );
  });

  it('a hop to a 2026-07-28 target carries the context in its headers and, framed in the same pass, in _meta', async () => {
    const modern = await startModernServer({ name: 'modern' });
    const modernPort = await freePort();
    const modernDir = await writeManifests(modernPort, [
      { name: 'era', prefixMode: 'Always', targets: [{ name: 'm', port: modern.port }] },
    ]);
    const traced = await startTestGateway(
      ['--manifests', modernDir],
      {},
      { OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url, OTEL_BSP_SCHEDULE_DELAY: '50' },
    );
    try {
      const traceId = hex(32);
      const transport = new StreamableHTTPClientTransport(new URL(`http://127.0.0.1:${modernPort}/mcp`), {
        requestInit: { headers: { traceparent: `00-${traceId}-${hex(16)}-01` } },
      });
      const client = new Client({ name: 'traced-2025', version: '1.0.0' });
      await client.connect(transport);
      await client.callTool({ name: 'm_echo', arguments: { message: 'to 2026' } });
      await client.close();
      const call = modern.seen.find(
        (r) =>
          (r.body as { method?: string } | undefined)?.method === 'tools/call' &&
          String(r.headers.traceparent).includes(traceId),
      );
      expect(call).toBeDefined();
      const meta = (call!.body as { params: { _meta: Record<string, unknown> } }).params._meta;
      expect(meta.traceparent).toBe(call!.headers.traceparent);
      // Framed once: the 2026 fields and the trace context side by side.
      expect(meta['io.modelcontextprotocol/protocolVersion']).toBe('2026-07-28');
      await expect
        .poll(
          () =>
            receiver.spans.find(
              (s) => s.kind === CLIENT && String(call!.headers.traceparent).includes(s.spanId),
            )?.traceId,
          { timeout: 5000 },
        )
        .toBe(traceId);
    } finally {
      await traced.stop();
      await modern.close();
      await rm(modernDir, { recursive: true, force: true });
    }
  });

  it('exports JSON OTLP the receiver understands', () => {
    expect(receiver.rejected).toEqual([]);
  });
});

describe('configuration', () => {
  it('is off unless an OTLP endpoint is set, and off when the SDK is disabled', () => {
    expect(tracingWanted({})).toBe(false);
    expect(tracingWanted({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:4318' })).toBe(true);
    expect(tracingWanted({ OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'http://127.0.0.1:4318/v1/traces' })).toBe(
      true,
    );
    expect(tracingWanted({ OTEL_EXPORTER_OTLP_ENDPOINT: 'x', OTEL_SDK_DISABLED: 'true' })).toBe(false);
    expect(tracingWanted({ OTEL_EXPORTER_OTLP_ENDPOINT: 'x', OTEL_TRACES_EXPORTER: 'none' })).toBe(false);
  });

  it('samples as OTEL_TRACES_SAMPLER says (parent-based always on by default)', async () => {
    expect((await samplerFromEnv({})).toString()).toContain('ParentBased');
    expect((await samplerFromEnv({ OTEL_TRACES_SAMPLER: 'always_off' })).toString()).toContain('AlwaysOff');
    const ratio = await samplerFromEnv({
      OTEL_TRACES_SAMPLER: 'parentbased_traceidratio',
      OTEL_TRACES_SAMPLER_ARG: '0.25',
    });
    expect(ratio.toString()).toContain('0.25');
  });
});
