/**
 * The largest backend the schemas allow (128 targets, each answering with a UUID session id) gives
 * an Mcp-Session-Id under 4 KiB: it passes Node's and nginx's default header limits (the JSON ids of
 * earlier releases took ~150 characters a target, 19 KB here, and the listener answered 431). The
 * session works end to end through real listeners, and on a second gateway with the same key without
 * a new handshake: all 128 targets are in the id.
 */
import { rm } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Gateway } from '../../src/gateway.js';
import { KeyRing } from '../../src/proxy/mcp/index.js';
import { Session } from '../../src/proxy/mcp/session/session.js';
import { startTestGateway } from '../support/gateway.js';
import { MCP_HEADERS, messagesOf, postInitialize } from '../support/mcp-harness.js';
import { freePort } from '../support/ports.js';
import { type RawUpstream, startRawUpstream, TOOLS } from '../support/raw-upstream.js';
import { writeManifests } from '../support/standalone.js';

const KEY = `k1:${'7c'.repeat(32)}`;
const TARGETS = 128;

let upstream: RawUpstream;
const gateways: Gateway[] = [];
const dirs: string[] = [];
const urls: string[] = [];

beforeAll(async () => {
  upstream = await startRawUpstream({ name: 'light', uuidSessions: true });
  const targets = Array.from({ length: TARGETS }, (_, i) => ({
    name: `target-${String(i).padStart(3, '0')}`,
    port: upstream.port,
  }));
  for (let i = 0; i < 2; i += 1) {
    const port = await freePort();
    const dir = await writeManifests(port, [{ name: 'wide', pathPrefix: '/mcp', targets }]);
    dirs.push(dir);
    gateways.push(await startTestGateway(['--manifests', dir, '--session-key', KEY]));
    urls.push(`http://127.0.0.1:${port}/mcp`);
  }
});

afterAll(async () => {
  await Promise.all(gateways.map((g) => g.stop()));
  await upstream?.close();
  await Promise.all(dirs.map((dir) => rm(dir, { recursive: true, force: true })));
});

const initializes = () => upstream.received.filter((m) => m.method === 'initialize').length;

async function call(url: string, session: string, id: number, tool: string) {
  const response = await fetch(url, {
    method: 'POST',
    headers: { ...MCP_HEADERS, 'mcp-session-id': session, 'mcp-protocol-version': '2025-06-18' },
    body: JSON.stringify({ jsonrpc: '2.0', id, method: 'tools/call', params: { name: tool, arguments: {} } }),
  });
  return { status: response.status, messages: await messagesOf(response) };
}

describe('a session over 128 targets', () => {
  it('has an id under 4 KiB that carries every target, and works on both gateways', async () => {
    const response = await postInitialize(urls[0]!);
    expect(response.status).toBe(200);
    await response.text();
    const session = response.headers.get('mcp-session-id')!;
    expect(session.length).toBeLessThan(4096);
    expect(initializes()).toBe(TARGETS);

    // Every target's upstream session is in the id.
    const route = gateways[0]!.publisher.current.listeners[0]!.routes[0]!;
    if (route.action.type !== 'mcp') throw new Error('expected an MCP route');
    const opened = Session.open(KeyRing.fromSpec(KEY), session, route.action.backend) as Session;
    expect(opened.targets.size).toBe(TARGETS);
    expect(new Set([...opened.targets.values()].map((t) => t.sessionId)).size).toBe(TARGETS);

    const first = await call(urls[0]!, session, 2, 'target-127_echo');
    expect(first.status).toBe(200);
    expect(first.messages.at(-1).result.content[0].text).toBe('light: {}');
    // The other gateway serves it from the id alone: no target is initialized again.
    const second = await call(urls[1]!, session, 3, 'target-000_echo');
    expect(second.status).toBe(200);
    expect(second.messages.at(-1).result.content[0].text).toBe('light: {}');
    const listed = await fetch(urls[1]!, {
      method: 'POST',
      headers: { ...MCP_HEADERS, 'mcp-session-id': session, 'mcp-protocol-version': '2025-06-18' },
      body: JSON.stringify({ jsonrpc: '2.0', id: 4, method: 'tools/list' }),
    });
    expect(listed.status).toBe(200);
    expect((await messagesOf(listed)).at(-1).result.tools).toHaveLength(TARGETS * TOOLS.length);
    expect(initializes()).toBe(TARGETS);
    // The upstream saw each call under the session id the target's initialize gave.
    const calls = upstream.received.filter((m) => m.method === 'tools/call');
    expect(calls).toHaveLength(2);
  }, 60_000);
});
