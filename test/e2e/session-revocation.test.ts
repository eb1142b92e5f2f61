/**
 * Sessions end on every replica. Three mcplane processes share one --session-key and know each
 * other through --peers, in front of a real SDK upstream. A session is used through each of them;
 * a DELETE on one is refused by all three within a second, and none of them starts the deleted
 * upstream session again. A replica restarted afterwards pulls the deletion from its peers before
 * it reports ready, and refuses the id too.
 */
import { rm } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MCP_HEADERS, messagesOf, rawInitialize } from '../support/mcp-harness.js';
import { type FixtureServer, startFixture } from '../support/mcp-servers.js';
import { freePort } from '../support/ports.js';
import { type GatewayProcess, spawnGateway } from '../support/process.js';
import { writeManifests } from '../support/standalone.js';

const KEY = `k1:${'3e'.repeat(32)}`;
const REPLICAS = 3;

let upstream: FixtureServer;
const admins: number[] = [];
const listeners: number[] = [];
const dirs: string[] = [];
const replicas: GatewayProcess[] = [];

async function startReplica(index: number): Promise<GatewayProcess> {
  const peers = admins.filter((_, i) => i !== index).map((port) => `127.0.0.1:${port}`);
  const replica = await spawnGateway(
    ['--manifests', dirs[index]!, '--session-key', KEY, '--peers', peers.join(','), '--log-level', 'warn'],
    { adminPort: admins[index]! },
  );
  replicas[index] = replica;
  return replica;
}

const url = (index: number) => `http://127.0.0.1:${listeners[index]}/mcp`;

async function rpc(index: number, session: string, id: number, method: string, params: object = {}) {
  const response = await fetch(url(index), {
    method: 'POST',
    headers: { ...MCP_HEADERS, 'mcp-session-id': session, 'mcp-protocol-version': '2025-06-18' },
    body: JSON.stringify({ jsonrpc: '2.0', id, method, params }),
  });
  return { status: response.status, messages: await messagesOf(response) };
}

const initializes = () =>
  upstream.seen.filter((r) => (r.body as { method?: string } | undefined)?.method === 'initialize').length;

beforeAll(async () => {
  upstream = await startFixture({ name: 'main' });
  for (let i = 0; i < REPLICAS; i += 1) {
    admins.push(await freePort());
    listeners.push(await freePort());
  }
  for (let i = 0; i < REPLICAS; i += 1) {
    dirs.push(
      await writeManifests(listeners[i]!, [
        { name: 'main', pathPrefix: '/mcp', targets: [{ name: 'main', port: upstream.port }] },
      ]),
    );
  }
  await Promise.all(Array.from({ length: REPLICAS }, (_, i) => startReplica(i)));
  await Promise.all(replicas.map((replica) => replica.ready()));
}, 60_000);

afterAll(async () => {
  for (const replica of replicas) if (replica?.process.exitCode === null) replica.process.kill('SIGKILL');
  await upstream?.close();
  await Promise.all(dirs.map((dir) => rm(dir, { recursive: true, force: true })));
});

describe('DELETE ends a session on every replica', () => {
  it('all replicas refuse the id within a second, none re-initializes the upstream, and a restarted replica still refuses it', async () => {
    const session = await rawInitialize(url(0));
    const initialized = await fetch(url(0), {
      method: 'POST',
      headers: { ...MCP_HEADERS, 'mcp-session-id': session, 'mcp-protocol-version': '2025-06-18' },
      body: JSON.stringify({ jsonrpc: '2.0', method: 'notifications/initialized' }),
    });
    expect(initialized.status).toBe(202);
    for (let i = 0; i < REPLICAS; i += 1) {
      const called = await rpc(i, session, 10 + i, 'tools/call', { name: 'whoami', arguments: {} });
      expect(called.status, `replica ${i}`).toBe(200);
      expect(called.messages.at(-1).result.content[0].text).toBe('main');
    }
    expect(initializes()).toBe(1);
    expect(upstream.sessions.size).toBe(1);

    const deleted = await fetch(url(1), { method: 'DELETE', headers: { 'mcp-session-id': session } });
    expect(deleted.status).toBe(200);
    const started = performance.now();
    expect(upstream.sessions.size).toBe(0);
    // `ping` is answered by the gateway itself: polling it cannot touch the upstream.
    const refused = new Set<number>();
    while (refused.size < REPLICAS && performance.now() - started < 5000) {
      for (let i = 0; i < REPLICAS; i += 1) {
        if (!refused.has(i) && (await rpc(i, session, 20, 'ping')).status === 404) refused.add(i);
      }
    }
    const elapsed = performance.now() - started;
    expect([...refused].sort()).toEqual([0, 1, 2]);
    expect(elapsed).toBeLessThan(1000);
    console.info(`every replica refused the deleted session ${elapsed.toFixed(0)} ms after the DELETE`);

    for (let i = 0; i < REPLICAS; i += 1) {
      const called = await rpc(i, session, 30 + i, 'tools/call', { name: 'whoami', arguments: {} });
      expect(called.status, `replica ${i}`).toBe(404);
      expect(called.messages[0].error.code).toBe(-32001);
    }
    expect(initializes()).toBe(1);
    expect(upstream.sessions.size).toBe(0);

    // A restarted replica has nothing in memory: it learns the deletion from its peers.
    const restarted = replicas[2]!;
    restarted.process.kill('SIGTERM');
    expect(await restarted.exited).toBe(0);
    const again = await startReplica(2);
    await again.ready();
    expect((await rpc(2, session, 40, 'tools/call', { name: 'whoami', arguments: {} })).status).toBe(404);
    expect(initializes()).toBe(1);
    // Other sessions are unharmed, on every replica.
    const other = await rawInitialize(url(2));
    for (let i = 0; i < REPLICAS; i += 1) expect((await rpc(i, other, 50 + i, 'ping')).status).toBe(200);
  }, 90_000);
});
