/**
 * Sessions across processes: a session started on one mcplane process continues on a second
 * process with the same --session-key after the first has stopped — same Mcp-Session-Id, no
 * re-initialize (the upstream sees exactly one initialize). A tampered id, and an id issued for
 * another backend, get 404 from the second process.
 */
import { rm } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MCP_HEADERS, messagesOf, rawInitialize } from '../support/mcp-harness.js';
import { type FixtureServer, startFixture } from '../support/mcp-servers.js';
import { freePort } from '../support/ports.js';
import { type GatewayProcess, spawnGateway } from '../support/process.js';
import { writeManifests } from '../support/standalone.js';

const KEY = `k1:${'5a'.repeat(32)}`;

let upstream: FixtureServer;
let other: FixtureServer;
let dir: string;
let port: number;
const processes: GatewayProcess[] = [];

async function startMcplane(): Promise<GatewayProcess> {
  const mcplane = await spawnGateway(['--manifests', dir, '--session-key', KEY, '--log-level', 'warn']);
  processes.push(mcplane);
  await mcplane.ready();
  return mcplane;
}

async function stop(mcplane: GatewayProcess): Promise<void> {
  mcplane.process.kill('SIGTERM');
  expect(await mcplane.exited).toBe(0);
}

async function rpc(path: string, session: string, id: number, method: string, params: object = {}) {
  const response = await fetch(`http://127.0.0.1:${port}${path}`, {
    method: 'POST',
    headers: { ...MCP_HEADERS, 'mcp-session-id': session, 'mcp-protocol-version': '2025-06-18' },
    body: JSON.stringify({ jsonrpc: '2.0', id, method, params }),
  });
  return { status: response.status, messages: await messagesOf(response) };
}

const initializes = (server: FixtureServer) =>
  server.seen.filter((r) => (r.body as { method?: string } | undefined)?.method === 'initialize').length;

beforeAll(async () => {
  [upstream, other] = await Promise.all([startFixture({ name: 'main' }), startFixture({ name: 'other' })]);
  port = await freePort();
  dir = await writeManifests(port, [
    { name: 'main', pathPrefix: '/mcp', targets: [{ name: 'main', port: upstream.port }] },
    { name: 'other', pathPrefix: '/other', targets: [{ name: 'other', port: other.port }] },
  ]);
});

afterAll(async () => {
  for (const { process: child } of processes) if (child.exitCode === null) child.kill('SIGKILL');
  await Promise.all([upstream?.close(), other?.close()]);
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('a session moves between mcplane processes', () => {
  it('continues on a second process with the same key; tampered and foreign ids get 404', async () => {
    const first = await startMcplane();
    const session = await rawInitialize(`http://127.0.0.1:${port}/mcp`);
    const foreign = await rawInitialize(`http://127.0.0.1:${port}/other`);
    const initialized = await fetch(`http://127.0.0.1:${port}/mcp`, {
      method: 'POST',
      headers: { ...MCP_HEADERS, 'mcp-session-id': session, 'mcp-protocol-version': '2025-06-18' },
      body: JSON.stringify({ jsonrpc: '2.0', method: 'notifications/initialized' }),
    });
    expect(initialized.status).toBe(202);
    const before = await rpc('/mcp', session, 2, 'tools/call', { name: 'whoami', arguments: {} });
    expect(before.messages.at(-1).result.content[0].text).toBe('main');
    await stop(first);
    expect(initializes(upstream)).toBe(1);

    await startMcplane();
    const listed = await rpc('/mcp', session, 3, 'tools/list');
    expect(listed.status).toBe(200);
    expect(listed.messages.at(-1).result.tools.map((t: { name: string }) => t.name)).toContain('echo');
    const called = await rpc('/mcp', session, 4, 'tools/call', {
      name: 'echo',
      arguments: { message: 'moved' },
    });
    expect(called.messages.at(-1)).toMatchObject({ id: 4, result: { content: [{ text: 'Echo: moved' }] } });
    // Same upstream session, no new handshake.
    expect(initializes(upstream)).toBe(1);
    expect(upstream.sessions.size).toBe(1);

    // Flip one character of the sealed part: authentication fails.
    const dot = session.indexOf('.');
    const flipped = session[dot + 5] === 'A' ? 'B' : 'A';
    const tampered = `${session.slice(0, dot + 5)}${flipped}${session.slice(dot + 6)}`;
    const bad = await rpc('/mcp', tampered, 5, 'tools/list');
    expect(bad.status).toBe(404);
    expect(bad.messages[0].error).toMatchObject({ message: expect.stringMatching(/Session not found/) });

    // A valid id, sealed with the same key, but issued for the other backend.
    const wrong = await rpc('/mcp', foreign, 6, 'tools/list');
    expect(wrong.status).toBe(404);
    // ... which still works where it belongs.
    const right = await rpc('/other', foreign, 7, 'tools/call', { name: 'whoami', arguments: {} });
    expect(right.messages.at(-1).result.content[0].text).toBe('other');
    // And the moved session is unharmed by the bad requests.
    const again = await rpc('/mcp', session, 8, 'tools/call', { name: 'whoami', arguments: {} });
    expect(again.messages.at(-1).result.content[0].text).toBe('main');
  }, 90_000);
});
