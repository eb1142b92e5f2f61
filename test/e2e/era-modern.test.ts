/**
 * 2026-07-28 requests through a real listener (issue 12): headers are checked against the body
 * (-32020, HTTP 400) before anything else, a body without the client's capabilities is -32602, and
 * mcplane answers server/discover itself. A mismatched request leaves nothing behind: the next ones
 * are served as before (agentgateway#3439 blocked them), 2025 handshakes included.
 */
import { rm } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Gateway } from '../../src/gateway.js';
import { startTestGateway } from '../support/gateway.js';
import { messagesOf, rawInitialize } from '../support/mcp-harness.js';
import { type FixtureServer, startFixture } from '../support/mcp-servers.js';
import { freePort } from '../support/ports.js';
import { writeManifests } from '../support/standalone.js';

let upstream: FixtureServer;
let gateway: Gateway;
let dir: string;
let url: string;

beforeAll(async () => {
  upstream = await startFixture({ name: 'up' });
  const port = await freePort();
  url = `http://127.0.0.1:${port}/mcp`;
  dir = await writeManifests(port, [{ name: 'mcp', targets: [{ name: 'up', port: upstream.port }] }]);
  gateway = await startTestGateway(['--manifests', dir]);
});

afterAll(async () => {
  await gateway?.stop();
  await upstream?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});

const discover = (method = 'server/discover', capabilities?: object) =>
  fetch(url, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      accept: 'application/json, text/event-stream',
      'mcp-protocol-version': '2026-07-28',
      'mcp-method': method,
    },
    body: JSON.stringify({
      jsonrpc: '2.0',
      id: 7,
      method: 'server/discover',
      params: {
        _meta: {
          'io.modelcontextprotocol/protocolVersion': '2026-07-28',
          ...(capabilities ? { 'io.modelcontextprotocol/clientCapabilities': capabilities } : {}),
        },
      },
    }),
  });

describe('a 2025 client', () => {
  it('never gets a 404 for an unknown method while it has a session (clients read 404 as "session expired")', async () => {
    const session = await rawInitialize(url);
    const response = await fetch(url, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        accept: 'application/json, text/event-stream',
        'mcp-session-id': session,
        'mcp-protocol-version': '2025-06-18',
      },
      body: JSON.stringify({ jsonrpc: '2.0', id: 3, method: 'server/discover', params: {} }),
    });
    expect(response.status).not.toBe(404);
    expect(JSON.stringify(await messagesOf(response))).toContain('-32601');
  });
});

describe('a 2026-07-28 client', () => {
  it('whose Mcp-Method disagrees with the body gets HeaderMismatch, and later requests are unaffected', async () => {
    const mismatched = await discover('tools/list');
    expect(mismatched.status).toBe(400);
    expect(await mismatched.json()).toMatchObject({ id: 7, error: { code: -32020 } });
    const incomplete = await discover();
    expect(incomplete.status).toBe(400);
    expect(await incomplete.json()).toMatchObject({ id: 7, error: { code: -32602 } });
    const agreed = await discover('server/discover', {});
    expect(agreed.status).toBe(200);
    expect(await agreed.json()).toMatchObject({
      id: 7,
      result: { supportedVersions: ['2026-07-28'], resultType: 'complete' },
    });
    // The 2025 handshake still works.
    expect(await rawInitialize(url)).toBeTruthy();
  });

  it('gets 405 on a GET (2026-07-28 has no GET stream) and -32022 for a version mcplane does not serve', async () => {
    const response = await fetch(url, {
      headers: { accept: 'text/event-stream', 'mcp-protocol-version': '2026-07-28' },
    });
    expect(response.status).toBe(405);
    expect(response.headers.get('allow')).toBe('POST');
    const later = await fetch(url, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        accept: 'application/json, text/event-stream',
        'mcp-protocol-version': 'v999.0.0',
      },
      body: JSON.stringify({ jsonrpc: '2.0', id: 9, method: 'server/discover', params: {} }),
    });
    expect(later.status).toBe(400);
    expect(await later.json()).toMatchObject({
      id: 9,
      error: { code: -32022, data: { supported: ['2026-07-28'], requested: 'v999.0.0' } },
    });
  });
});
