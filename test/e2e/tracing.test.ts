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
import { type FixtureServer, startFixture } from '../support/mcp-servers.js';
import { modernPost } from '../support/modern-wire.js';
import { type OtlpReceiver, startOtlpReceiver } from '../support/otlp-receiver.js';
import { freePort } from '../support/ports.js';
import { writeManifests } from '../support/standalone.js';

const SERVER = 2;
const CLIENT = 3;

let alpha: FixtureServer;
let beta: FixtureServer;
let receiver: OtlpReceiver;
let gateway: Gateway;
let dir: string;
let port: number;

beforeAll(async () => {
  [alpha, beta, receiver] = await Promise.all([
    startFixture({ name: 'alpha' }),
    startFixture({ name: 'beta' }),
    startOtlpReceiver(),
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
      .poll(() => receiver.spans.find((s) => s.traceId === traceId && s.kind === SERVER)?.parentSpanId, {
        timeout: 5000,
      })
      .toBe(parentId);
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
