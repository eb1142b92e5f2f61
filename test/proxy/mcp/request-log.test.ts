/**
 * Request logs: one structured info line per finished MCP request naming route, backend, target,
 * method, tool or prompt, status, outcome and duration, and never what the request carried.
 */
import type { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { subjectField } from '../../../src/proxy/mcp/request-log.js';
import { createLogger, type LogLevel } from '../../../src/shared/logger.js';
import { startTracing } from '../../../src/shared/tracing.js';
import { backendOf, connectClient, ROUTE, targetOf, testGateways } from '../../support/mcp-harness.js';
import { type FixtureServer, startFixture } from '../../support/mcp-servers.js';
import { startOtlpReceiver } from '../../support/otlp-receiver.js';

let alpha: FixtureServer;
let beta: FixtureServer;
const gateways = testGateways();

beforeAll(async () => {
  [alpha, beta] = await Promise.all([
    startFixture({ name: 'alpha', prompts: true }),
    startFixture({ name: 'beta' }),
  ]);
});
afterAll(async () => {
  await Promise.all([alpha.close(), beta.close()]);
});

async function logged(level: LogLevel, options: Parameters<typeof gateways.start>[1] = {}) {
  const raw: string[] = [];
  const logger = createLogger(level, { write: (line: string) => raw.push(line) });
  const backend = backendOf([targetOf('alpha', alpha.port), targetOf('beta', beta.port)]);
  const gateway = await gateways.start(backend, { logger, ...options });
  const requests = () =>
    raw.map((line) => JSON.parse(line) as Record<string, unknown>).filter((l) => l.msg === 'mcp request');
  return { gateway, backend, raw, requests };
}

describe('request logs', () => {
  it('one info line per request with where it went and how it ended, nothing it carried', async () => {
    const { gateway, backend, raw, requests } = await logged('info');
    const client = await connectClient(gateway.url);
    const sessionId = (client.transport as StreamableHTTPClientTransport).sessionId!;
    const before = requests().length;
    await client.callTool({ name: 'beta_echo', arguments: { message: 'top-secret-argument' } });
    await client.getPrompt({ name: 'alpha_greet', arguments: { who: 'classified-name' } });
    await client.listTools();
    await expect(client.callTool({ name: 'nosuch_echo', arguments: { message: 'x' } })).rejects.toThrow();
    await client.close();

    const lines = requests().slice(before);
    const byMethod = (method: string) => lines.filter((l) => l.method === method);
    expect(byMethod('tools/call')[0]).toMatchObject({
      level: 30,
      route: ROUTE.id,
      backend: backend.id,
      method: 'tools/call',
      target: 'beta',
      tool: 'beta_echo',
      status: 200,
      outcome: 'ok',
      durationMs: expect.any(Number),
    });
    expect(byMethod('prompts/get')[0]).toMatchObject({ target: 'alpha', prompt: 'alpha_greet', status: 200 });
    expect(byMethod('tools/list')[0]).toMatchObject({ method: 'tools/list', status: 200, outcome: 'ok' });
    expect(byMethod('tools/list')[0]).not.toHaveProperty('target');
    // The unknown tool is the gateway's own JSON-RPC error: named, with its code.
    expect(byMethod('tools/call')[1]).toMatchObject({ tool: 'nosuch_echo', rpcError: -32602 });
    expect(byMethod('tools/call')[1]).not.toHaveProperty('target');

    const text = raw.join('');
    expect(text).not.toContain('top-secret-argument');
    expect(text).not.toContain('classified-name');
    expect(text).not.toContain(sessionId);
  });

  it('writes nothing per request when the level is above info', async () => {
    const { gateway, raw } = await logged('warn');
    const client = await connectClient(gateway.url);
    await client.callTool({ name: 'beta_whoami' });
    await client.close();
    expect(raw.filter((line) => line.includes('mcp request'))).toEqual([]);
  });

  it('carries the trace and span ids of the request when tracing is on', async () => {
    const receiver = await startOtlpReceiver();
    const tracing = await startTracing({ OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url }, 'test');
    try {
      const { gateway, requests } = await logged('info', { tracing: tracing! });
      const client = await connectClient(gateway.url);
      await client.callTool({ name: 'beta_whoami' });
      await client.close();
      const call = requests().find((l) => l.method === 'tools/call');
      expect(call?.trace_id).toMatch(/^[0-9a-f]{32}$/);
      expect(call?.span_id).toMatch(/^[0-9a-f]{16}$/);
    } finally {
      await tracing?.shutdown();
      await receiver.close();
    }
  });

  it('names an authenticated caller by a digest unless --log-subject says otherwise', () => {
    const principal = 'https://issuer.example\nuser-42';
    expect(subjectField(principal, 'hash')).toMatch(/^[0-9a-f]{16}$/);
    expect(subjectField(principal, 'hash')).not.toContain('user-42');
    expect(subjectField(principal, 'plain')).toBe('https://issuer.example user-42');
    expect(subjectField(principal, 'off')).toBeUndefined();
    expect(subjectField('', 'plain')).toBeUndefined();
  });
});
