/**
 * Regression tests for peers' known 2026-07-28 failures (issue 12): a client's server/discover whose
 * Mcp-Method disagrees with its body gets the spec's error and leaves later requests unaffected
 * (agentgateway#3439); the client's version never reaches a target that does not speak it
 * (agentgateway#2982: forwarding the client's version to every upstream). Raw HTTP, so every header
 * is what the test says; real SDK v1 and v2 upstreams on 127.0.0.1.
 */
import { rm } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Gateway } from '../../src/gateway.js';
import { startTestGateway } from '../support/gateway.js';
import { type FixtureServer, startFixture } from '../support/mcp-servers.js';
import { modernPost as post } from '../support/modern-wire.js';
import { freePort } from '../support/ports.js';
import { writeManifests } from '../support/standalone.js';
import { startModernServer, type V2FixtureServer } from '../support/v2-servers.js';

let legacy: FixtureServer;
let modern: V2FixtureServer;
let gateway: Gateway;
let dir: string;
let url: string;

beforeAll(async () => {
  [legacy, modern] = await Promise.all([startFixture({ name: 'legacy' }), startModernServer()]);
  const port = await freePort();
  url = `http://127.0.0.1:${port}/mcp`;
  dir = await writeManifests(port, [
    {
      name: 'mixed',
      targets: [
        { name: 'legacy', port: legacy.port },
        { name: 'modern', port: modern.port },
      ],
    },
  ]);
  gateway = await startTestGateway(['--manifests', dir]);
});

afterAll(async () => {
  await gateway?.stop();
  await Promise.all([legacy?.close(), modern?.close()]);
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('peers’ 2026-07-28 failures', () => {
  it('a server/discover with a disagreeing Mcp-Method is refused (-32020) and later requests work', async () => {
    const bad = await post(url, 'server/discover', { id: 7, headers: { 'mcp-method': 'tools/list' } });
    expect(bad.status).toBe(400);
    expect(bad.body.error?.code).toBe(-32020);
    expect(bad.body.id).toBe(7);
    const discover = await post(url, 'server/discover');
    expect(discover.status).toBe(200);
    expect(discover.body.result.supportedVersions).toEqual(['2026-07-28']);
    expect(discover.body.result.resultType).toBe('complete');
    const tools = await post(url, 'tools/list');
    expect(tools.status).toBe(200);
    const names = (tools.body.result.tools as Array<{ name: string }>).map((t) => t.name);
    expect(names).toContain('legacy_echo');
    expect(names).toContain('modern_test_simple_text');
  });

  it('the client’s 2026-07-28 reaches only the target that speaks it; the legacy one gets its 2025 session', async () => {
    legacy.seen.length = 0;
    const echo = await post(url, 'tools/call', {
      params: { name: 'legacy_echo', arguments: { message: 'hi' } },
    });
    expect(echo.status).toBe(200);
    expect(echo.body.result.resultType).toBe('complete');
    expect(JSON.stringify(echo.body.result.content)).toContain('hi');
    const simple = await post(url, 'tools/call', {
      params: { name: 'modern_test_simple_text', arguments: {} },
    });
    expect(simple.status).toBe(200);
    const posts = legacy.seen.filter((r) => r.method === 'POST');
    expect(posts.length).toBeGreaterThan(0);
    for (const request of posts) {
      const method = (request.body as { method?: string } | undefined)?.method;
      const version = String(request.headers['mcp-protocol-version'] ?? '');
      // mcplane's own probe asks in 2026-07-28 (once per endpoint and age); nothing else does.
      if (method !== 'server/discover') expect(version === '' || version.startsWith('2025')).toBe(true);
      const meta = (request.body as { params?: { _meta?: Record<string, unknown> } }).params?._meta ?? {};
      expect(meta['io.modelcontextprotocol/protocolVersion']).toBeUndefined();
    }
    const modernVersions = modern.seen
      .filter((r) => r.method === 'POST')
      .map((r) => r.headers['mcp-protocol-version']);
    expect(new Set(modernVersions)).toEqual(new Set(['2026-07-28']));
  });

  it('a legacy client’s removed-method-free requests are untouched: GET/DELETE with 2026-07-28 are 405', async () => {
    const get = await fetch(url, {
      headers: { accept: 'text/event-stream', 'mcp-protocol-version': '2026-07-28' },
    });
    expect(get.status).toBe(405);
    const ping = await post(url, 'ping');
    expect(ping.status).toBe(404);
    expect(ping.body.error?.code).toBe(-32601);
  });

  it('a 2026-07-28 client closing its stream cancels the call upstream (the 2025 target hears notifications/cancelled)', async () => {
    legacy.seen.length = 0;
    const closing = new AbortController();
    const answer = fetch(url, {
      method: 'POST',
      signal: closing.signal,
      headers: {
        'content-type': 'application/json',
        accept: 'application/json, text/event-stream',
        'mcp-protocol-version': '2026-07-28',
        'mcp-method': 'tools/call',
        'mcp-name': 'legacy_sleep',
      },
      body: JSON.stringify({
        jsonrpc: '2.0',
        id: 'long',
        method: 'tools/call',
        params: {
          name: 'legacy_sleep',
          arguments: { ms: 5000 },
          _meta: {
            'io.modelcontextprotocol/protocolVersion': '2026-07-28',
            'io.modelcontextprotocol/clientCapabilities': {},
          },
        },
      }),
    }).catch(() => undefined);
    const method = (r: { body: unknown }) => (r.body as { method?: string } | undefined)?.method;
    await expect.poll(() => legacy.seen.some((r) => method(r) === 'tools/call')).toBe(true);
    closing.abort();
    await answer;
    await expect.poll(() => legacy.seen.some((r) => method(r) === 'notifications/cancelled')).toBe(true);
  });
});
