/**
 * An SDK v2 client that negotiates (`versionNegotiation: { mode: 'auto' }`, 2026-07-28 first)
 * through mcplane: mcplane answers its server/discover itself, and the client stays on 2026-07-28
 * (no initialize, no session) while the upstream behind mcplane is a 2025 (SDK v1) server; an SDK
 * v2 client in its default (legacy) mode uses the 2025 handshake as before. Real clients
 * (@modelcontextprotocol/client 2.4.0), a real upstream on 127.0.0.1.
 */
import { rm } from 'node:fs/promises';
import { Client, StreamableHTTPClientTransport } from '@modelcontextprotocol/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Gateway } from '../../src/gateway.js';
import { startTestGateway } from '../support/gateway.js';
import { type FixtureServer, startFixture } from '../support/mcp-servers.js';
import { freePort } from '../support/ports.js';
import { writeManifests } from '../support/standalone.js';

let upstream: FixtureServer;
let gateway: Gateway;
let dir: string;
let url: URL;

beforeAll(async () => {
  upstream = await startFixture({ name: 'up' });
  const port = await freePort();
  url = new URL(`http://127.0.0.1:${port}/mcp`);
  dir = await writeManifests(port, [{ name: 'mcp', targets: [{ name: 'up', port: upstream.port }] }]);
  gateway = await startTestGateway(['--manifests', dir]);
});

afterAll(async () => {
  await gateway?.stop();
  await upstream?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('SDK v2 clients through mcplane', () => {
  it.each([
    ['auto (2026-07-28, which mcplane serves)', { mode: 'auto' as const }],
    ['legacy (the default)', undefined],
  ])('%s: connects, lists and calls tools', async (_what, versionNegotiation) => {
    const client = new Client(
      { name: 'v2-client', version: '1.0.0' },
      versionNegotiation ? { versionNegotiation } : {},
    );
    const seen: string[] = [];
    const recording = async (input: string | URL | Request, init?: RequestInit) => {
      const response = await fetch(input, init);
      const headers = new Headers(init?.headers);
      const body = typeof init?.body === 'string' ? (JSON.parse(init.body) as { method?: string }) : {};
      seen.push(
        `${headers.get('mcp-protocol-version') ?? '-'} ${body.method ?? init?.method} ${response.status}`,
      );
      return response;
    };
    await client.connect(new StreamableHTTPClientTransport(url, { fetch: recording }));
    try {
      if (versionNegotiation) {
        // mcplane answered the probe; everything after it is 2026-07-28, without a handshake.
        expect(seen[0]).toBe('2026-07-28 server/discover 200');
        expect(seen.some((line) => line.includes('initialize'))).toBe(false);
      } else {
        expect(seen.every((line) => !line.startsWith('2026'))).toBe(true);
      }
      const tools = (await client.listTools()).tools.map((t) => t.name);
      expect(tools).toContain('echo');
      const result = await client.callTool({ name: 'echo', arguments: { message: 'both eras' } });
      expect(JSON.stringify(result)).toContain('Echo: both eras');
      if (versionNegotiation) expect(seen.every((line) => line.startsWith('2026-07-28'))).toBe(true);
    } finally {
      await client.close();
    }
  });
});
