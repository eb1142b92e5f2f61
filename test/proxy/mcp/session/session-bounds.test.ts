/**
 * The bounds of a session, through a real listener: what a client sends in initialize (its size,
 * and what the gateway keeps of it), the one spelling of an id, --max-sessions counting every held
 * session, the maximum lifetime, and the idle TTL as a memory bound only.
 */

import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  backendOf,
  type Gateway,
  MCP_HEADERS,
  rawInitialize,
  targetOf,
  testGateways,
} from '../../../support/mcp-harness.js';
import { type RawUpstream, startRawUpstream } from '../../../support/raw-upstream.js';

let upstream: RawUpstream;
const gateways = testGateways();

beforeAll(async () => {
  upstream = await startRawUpstream({ name: 'raw' });
});
afterAll(async () => {
  await upstream.close();
});

const start = (options: Parameters<typeof gateways.start>[1] = {}) =>
  gateways.start(backendOf([targetOf('raw', upstream.port)]), options);

function initialize(url: string, params: object, id = 1) {
  return fetch(url, {
    method: 'POST',
    headers: MCP_HEADERS,
    body: JSON.stringify({ jsonrpc: '2.0', id, method: 'initialize', params }),
  });
}

function post(url: string, session: string, body: object = { jsonrpc: '2.0', id: 2, method: 'tools/list' }) {
  return fetch(url, {
    method: 'POST',
    headers: { ...MCP_HEADERS, 'mcp-session-id': session, 'mcp-protocol-version': '2025-06-18' },
    body: JSON.stringify(body),
  });
}

const initializes = () => upstream.received.filter((m) => m.method === 'initialize').length;

async function limitCount(gateway: Gateway, limit: string): Promise<number> {
  const metric = await gateway.metrics.limitRejections.get();
  return metric.values.find((v) => v.labels.limit === limit)?.value ?? 0;
}

const params = (extra: object = {}) => ({
  protocolVersion: '2025-06-18',
  capabilities: {},
  clientInfo: { name: 'bounds', version: '1' },
  ...extra,
});

describe('initialize params', () => {
  it('over --max-initialize-bytes: HTTP 400, JSON-RPC -32003 naming the flag, counted; no target is asked', async () => {
    const gateway = await start();
    const before = initializes();
    const big = params({ capabilities: { experimental: { blob: { text: 'x'.repeat(70 * 1024) } } } });
    const response = await initialize(gateway.url, big, 5);
    expect(response.status).toBe(400);
    const body = (await response.json()) as any;
    expect(body).toMatchObject({ id: 5, error: { code: -32003 } });
    expect(body.error.message).toMatch(/--max-initialize-bytes \(65536\)/);
    expect(response.headers.get('mcp-session-id')).toBeNull();
    expect(initializes()).toBe(before);
    expect(await limitCount(gateway, 'initialize_bytes')).toBe(1);
    // Just under the cap: accepted, and the target gets the params exactly as sent.
    const fits = params({ capabilities: { experimental: { blob: { text: 'x'.repeat(60 * 1024) } } } });
    const ok = await initialize(gateway.url, fits, 6);
    expect(ok.status).toBe(200);
    await ok.text();
    expect(upstream.received.at(-1)).toMatchObject({ method: 'initialize', params: fits });
  });

  it('huge params (cap raised) neither grow the id nor stay in memory', async () => {
    setFlagsFromString('--expose-gc');
    const gc = runInNewContext('gc') as () => void;
    const gateway = await start({ maxBodyBytes: 4 * 1024 * 1024, maxInitializeBytes: 4 * 1024 * 1024 });
    const huge = (n: number) =>
      params({
        capabilities: {
          roots: { listChanged: true },
          experimental: { blob: { text: `${n}`.repeat(1 << 20) } },
        },
        clientInfo: { name: `client-${n}-${'n'.repeat(1 << 19)}`, version: '1' },
      });
    const ids: string[] = [];
    const settle = () => {
      upstream.received.length = 0; // the fixture's own copies are not the gateway's
      gc();
      gc();
      return process.memoryUsage().heapUsed;
    };
    // Warm up first: the first requests allocate what every later one reuses (pools, compiled code).
    for (let n = 0; n < 5; n += 1) await (await initialize(gateway.url, params())).text();
    const before = settle();
    for (let n = 0; n < 30; n += 1) {
      const response = await initialize(gateway.url, huge(n));
      expect(response.status).toBe(200);
      await response.text();
      ids.push(response.headers.get('mcp-session-id')!);
    }
    const grown = settle() - before;
    // 30 sessions of 1.5 MB params each: ~4 KiB each now; before, ~100 MB (params and the ids sealing them).
    expect(grown).toBeLessThan(8 * 1024 * 1024);
    for (const id of ids) expect(id.length).toBeLessThan(600);
    expect((await gateway.metrics.sessionsActive.get()).values[0]?.value).toBe(35);
    // The sessions work.
    expect((await post(gateway.url, ids[29]!)).status).toBe(200);
  }, 60_000);
});

describe('session id spelling', () => {
  it('only the exact id opens the session: padding, stray characters or other trailing bits get 404, before and after DELETE', async () => {
    const gateway = await start();
    const id = await rawInitialize(gateway.url);
    const variants = [`${id}=`, `${id}\tx`, `${id}%`, `${id}.`];
    for (const variant of variants) expect((await post(gateway.url, variant)).status, variant).toBe(404);
    expect((await post(gateway.url, id)).status).toBe(200);
    const deleted = await fetch(gateway.url, { method: 'DELETE', headers: { 'mcp-session-id': id } });
    expect(deleted.status).toBe(200);
    for (const variant of [id, ...variants])
      expect((await post(gateway.url, variant)).status, variant).toBe(404);
  });
});

describe('--max-sessions', () => {
  it('counts busy sessions: with every place held by an open stream, a new session and a reopened id get 503', async () => {
    const gateway = await start({ maxSessions: 3 });
    const other = await start(); // same key: its ids open on `gateway` too
    const streams: AbortController[] = [];
    for (let i = 0; i < 3; i += 1) {
      const id = await rawInitialize(gateway.url);
      const controller = new AbortController();
      const get = await fetch(gateway.url, {
        headers: { accept: 'text/event-stream', 'mcp-session-id': id, 'mcp-protocol-version': '2025-06-18' },
        signal: controller.signal,
      });
      expect(get.status).toBe(200);
      streams.push(controller);
    }
    const before = initializes();
    const refused = await initialize(gateway.url, params(), 9);
    expect(refused.status).toBe(503);
    expect(refused.headers.get('retry-after')).toBe('1');
    const body = (await refused.json()) as any;
    expect(body).toMatchObject({ id: 9, error: { code: -32003 } });
    expect(body.error.message).toMatch(/--max-sessions \(3\)/);
    expect(initializes()).toBe(before);
    // An id issued elsewhere would need a fourth place here.
    const elsewhere = await rawInitialize(other.url);
    const reopened = await post(gateway.url, elsewhere);
    expect(reopened.status).toBe(503);
    expect(((await reopened.json()) as any).error.message).toMatch(/--max-sessions/);
    expect(await limitCount(gateway, 'sessions')).toBe(2);
    expect((await gateway.metrics.sessionsActive.get()).values[0]?.value).toBe(3);
    // One client goes: its session becomes idle, and makes room.
    streams.shift()!.abort();
    await expect
      .poll(async () => (await gateway.metrics.sseStreamsOpen.get()).values[0]?.value, { timeout: 5000 })
      .toBe(2);
    expect((await post(gateway.url, elsewhere)).status).toBe(200);
    expect((await gateway.metrics.sessionsActive.get()).values[0]?.value).toBe(3);
    for (const controller of streams) controller.abort();
  });
});

describe('session lifetime', () => {
  it('an id past --session-max-lifetime gets 404 on every replica, counted', async () => {
    const gateway = await start({ sessionMaxLifetimeMs: 500 });
    const other = await start({ sessionMaxLifetimeMs: 500 });
    const id = await rawInitialize(gateway.url);
    expect((await post(gateway.url, id)).status).toBe(200);
    await new Promise((resolve) => setTimeout(resolve, 600));
    expect((await post(gateway.url, id)).status).toBe(404);
    expect((await post(other.url, id)).status).toBe(404);
    expect(await limitCount(gateway, 'session_lifetime')).toBe(1);
    expect(await limitCount(other, 'session_lifetime')).toBe(1);
  });

  it('--session-idle-ttl only frees memory: an idle session reopens from its id, without a new handshake', async () => {
    const gateway = await start({ sessionIdleTtlMs: 100 });
    const id = await rawInitialize(gateway.url);
    const before = initializes();
    await expect
      .poll(async () => (await gateway.metrics.sessionsActive.get()).values[0]?.value, { timeout: 5000 })
      .toBe(0);
    expect((await post(gateway.url, id)).status).toBe(200);
    expect(initializes()).toBe(before);
    expect((await gateway.metrics.sessionsActive.get()).values[0]?.value).toBe(1);
  });
});
