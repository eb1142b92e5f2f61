/**
 * Each hop speaks its own target's revision (issue 12): a 2025 client (SDK v1) through mcplane to a
 * 2026-07-28-only target (SDK v2 `legacy: 'reject'`), to a legacy-only target, and to a backend that
 * mixes them. A 2025 session tries the handshake first (a dual-era target keeps every 2025 feature);
 * a target that refuses it is asked server/discover and spoken to statelessly from then on.
 */
import { rm } from 'node:fs/promises';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Gateway } from '../../src/gateway.js';
import { startTestGateway } from '../support/gateway.js';
import { freePort } from '../support/ports.js';
import { writeManifests } from '../support/standalone.js';
import {
  type LegacyFixtureServer,
  startLegacyServer,
  startModernServer,
  type V2FixtureServer,
} from '../support/v2-servers.js';

let modern: V2FixtureServer;
let legacy: LegacyFixtureServer;
let gateway: Gateway;
let dir: string;
let port: number;

beforeAll(async () => {
  [modern, legacy] = await Promise.all([startModernServer({ name: 'modern' }), startLegacyServer()]);
  port = await freePort();
  dir = await writeManifests(port, [
    { name: 'modern', pathPrefix: '/modern', targets: [{ name: 'modern', port: modern.port }] },
    {
      name: 'mixed',
      pathPrefix: '/mixed',
      targets: [
        { name: 'modern', port: modern.port },
        { name: 'legacy', port: legacy.port },
      ],
    },
  ]);
  gateway = await startTestGateway(['--manifests', dir]);
});

afterAll(async () => {
  await gateway?.stop();
  await Promise.all([modern?.close(), legacy?.close()]);
  if (dir) await rm(dir, { recursive: true, force: true });
});

async function connect(path: string): Promise<Client> {
  const client = new Client({ name: 'v1-client', version: '1.0.0' });
  await client.connect(new StreamableHTTPClientTransport(new URL(`http://127.0.0.1:${port}${path}/mcp`)));
  return client;
}

describe('a 2025 client (SDK v1)', () => {
  it('lists and calls tools of a 2026-07-28-only target: one refused initialize, then stateless hops', async () => {
    const client = await connect('/modern');
    try {
      const tools = (await client.listTools()).tools.map((t) => t.name);
      expect(tools).toContain('test_simple_text');
      const result = await client.callTool({ name: 'test_simple_text', arguments: {} });
      expect(JSON.stringify(result.content)).toContain('text');
      const prompts = (await client.listPrompts()).prompts.map((p) => p.name);
      expect(prompts.length).toBeGreaterThan(0);
    } finally {
      await client.close();
    }
    const methods = modern.seen.map(
      (r) => `${r.headers['mcp-protocol-version']} ${(r.body as { method?: string } | undefined)?.method}`,
    );
    // The target refused the handshake once; mcplane remembers that it speaks 2026-07-28 only.
    expect(methods.filter((m) => m.endsWith(' initialize')).length).toBe(1);
    expect(methods).toContain('2026-07-28 server/discover');
    expect(methods).toContain('2026-07-28 tools/call');
  });

  it('uses a backend mixing a modern and a legacy target; each with its own revision', async () => {
    const client = await connect('/mixed');
    try {
      const tools = (await client.listTools()).tools.map((t) => t.name);
      expect(tools).toContain('modern_test_simple_text');
      expect(tools).toContain('legacy_test_simple_text');
      for (const name of ['modern_test_simple_text', 'legacy_test_simple_text']) {
        const result = await client.callTool({ name, arguments: {} });
        expect(result.isError ?? false).toBe(false);
      }
    } finally {
      await client.close();
    }
  });
});
