/**
 * JSON-RPC batches (2025-03-26 sessions) are bounded: a batch longer than --max-batch-size, with a
 * request id twice, an id already in flight, an id beyond ±(2^53−1) or more requests than the
 * session has room for is refused whole with nothing dispatched; an accepted batch runs at most
 * BATCH_CONCURRENCY messages at once. Before, one 1 MB POST of 20,000 tools/list fanned out 20,000
 * calls at once.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BATCH_CONCURRENCY } from '../../../../src/proxy/mcp/mux/batch.js';
import {
  type Gateway,
  limitCount,
  MCP_HEADERS,
  rawInitialize,
  testGateways,
} from '../../../support/mcp-harness.js';
import { type FixtureServer, startFixture } from '../../../support/mcp-servers.js';
import { type RawUpstream, startRawUpstream } from '../../../support/raw-upstream.js';

const LEGACY = '2025-03-26';
const gateways = testGateways();
let good: FixtureServer;
let raw: RawUpstream;

beforeAll(async () => {
  [good, raw] = await Promise.all([startFixture({ name: 'good' }), startRawUpstream({ name: 'raw' })]);
});
afterAll(async () => {
  await Promise.all([good.close(), raw.close()]);
});

async function postText(gateway: Gateway, session: string, text: string) {
  const response = await fetch(gateway.url, {
    method: 'POST',
    headers: { ...MCP_HEADERS, 'mcp-session-id': session, 'mcp-protocol-version': LEGACY },
    body: text,
  });
  const body = await response.text();
  return { status: response.status, headers: response.headers, body: body ? JSON.parse(body) : undefined };
}

const postBatch = (gateway: Gateway, session: string, batch: unknown[]) =>
  postText(gateway, session, JSON.stringify(batch));

const lists = (count: number, from = 0) =>
  Array.from({ length: count }, (_, i) => ({ jsonrpc: '2.0', id: from + i, method: 'tools/list' }));

const call = (id: string | number, name: string, args: object = {}) => ({
  jsonrpc: '2.0',
  id,
  method: 'tools/call',
  params: { name, arguments: args },
});

const upstreamLists = () => good.seen.filter((r) => (r.body as { method?: string })?.method === 'tools/list');

describe('--max-batch-size', () => {
  it('a longer batch: 400 with one -32003 error naming the flag, nothing dispatched, counted', async () => {
    const gateway = await gateways.over([good]);
    const session = await rawInitialize(gateway.url, LEGACY);
    const before = upstreamLists().length;
    const { status, body } = await postBatch(gateway, session, lists(33));
    expect(status).toBe(400);
    expect(Array.isArray(body)).toBe(false);
    expect(body).toMatchObject({ id: null, error: { code: -32003 } });
    expect(body.error.message).toContain('--max-batch-size');
    expect(body.error.message).toContain('at most 32');
    expect(upstreamLists().length).toBe(before);
    expect(await limitCount(gateway.metrics, 'batch_size')).toBe(1);

    // The issue's ~1 MB POST of 20,000 tools/list: refused the same way, not one upstream call.
    const flood = await postBatch(gateway, session, lists(20_000));
    expect(flood.status).toBe(400);
    expect(flood.body.error.code).toBe(-32003);
    expect(upstreamLists().length).toBe(before);
    expect(await limitCount(gateway.metrics, 'batch_size')).toBe(2);

    // At the bound: served, one answer per request.
    const full = await postBatch(gateway, session, lists(32));
    expect(full.status).toBe(200);
    expect(full.body.map((m: { id: number }) => m.id)).toEqual(lists(32).map((m) => m.id));
    expect(full.body.every((m: { result?: { tools?: unknown[] } }) => m.result?.tools?.length)).toBe(true);
  });
});

describe('bounded concurrency', () => {
  it(`an accepted batch runs at most ${BATCH_CONCURRENCY} messages at once`, async () => {
    const gateway = await gateways.over([raw]);
    const session = await rawInitialize(gateway.url, LEGACY);
    raw.peak = 0;
    const batch = Array.from({ length: 12 }, (_, i) => call(i, 'silent_json', { ms: 100 }));
    const { status, body } = await postBatch(gateway, session, batch);
    expect(status).toBe(200);
    expect(body).toHaveLength(12);
    expect(body.every((m: { result?: unknown }) => m.result)).toBe(true);
    expect(raw.peak).toBe(BATCH_CONCURRENCY);
  });
});

describe('request ids in a batch', () => {
  it('the same id twice: 400, -32600 naming the id, nothing dispatched, counted', async () => {
    const gateway = await gateways.over([raw]);
    const session = await rawInitialize(gateway.url, LEGACY);
    const received = raw.received.length;
    const { status, body } = await postBatch(gateway, session, [
      call('a', 'echo'),
      call('twice', 'echo'),
      { jsonrpc: '2.0', method: 'notifications/initialized' },
      call('twice', 'echo'),
    ]);
    expect(status).toBe(400);
    expect(body).toMatchObject({ id: null, error: { code: -32600 } });
    expect(body.error.message).toContain('request id "twice" appears more than once in this batch');
    expect(raw.received.length).toBe(received);
    expect(await limitCount(gateway.metrics, 'batch_duplicate_id')).toBe(1);
    // 1 and "1" are different ids.
    const distinct = await postBatch(gateway, session, [call(1, 'echo'), call('1', 'echo')]);
    expect(distinct.status).toBe(200);
    expect(distinct.body.map((m: { id: unknown }) => m.id)).toEqual([1, '1']);
  });

  it('an id already in flight in the session: 400 naming it, as for a single request, nothing dispatched', async () => {
    const gateway = await gateways.over([raw]);
    const session = await rawInitialize(gateway.url, LEGACY);
    const slow = postBatch(gateway, session, [call('slow', 'silent_json', { ms: 600 })]);
    await expect
      .poll(() => raw.received.some((m) => m.id === 'slow' && m.method === 'tools/call'))
      .toBe(true);
    const received = raw.received.length;
    const { status, body } = await postBatch(gateway, session, [call('other', 'echo'), call('slow', 'echo')]);
    expect(status).toBe(400);
    expect(body.error).toMatchObject({ code: -32600 });
    expect(body.error.message).toContain('request id "slow" is already in flight in this session');
    expect(raw.received.length).toBe(received);
    expect((await slow).body[0]).toMatchObject({ id: 'slow', result: {} });
    // Answered: the id is free again.
    expect((await postBatch(gateway, session, [call('slow', 'echo')])).status).toBe(200);
  });

  it('an id beyond ±(2^53−1): the whole batch is refused, 400, -32600, nothing dispatched', async () => {
    const gateway = await gateways.over([raw]);
    const session = await rawInitialize(gateway.url, LEGACY);
    const received = raw.received.length;
    const text = `[${JSON.stringify(call('a', 'echo'))},{"jsonrpc":"2.0","id":9007199254740993,"method":"tools/list"}]`;
    const { status, body } = await postText(gateway, session, text);
    expect(status).toBe(400);
    expect(body).toMatchObject({ id: null, error: { code: -32600 } });
    expect(body.error.message).toContain(
      'id must be a string of at most 256 characters or an integer within ±(2^53−1)',
    );
    expect(raw.received.length).toBe(received);
  });
});

describe('batches and --max-session-inflight', () => {
  it('each request counts: a batch the session has no room for gets 429 and nothing runs', async () => {
    const gateway = await gateways.over([raw], undefined, { maxSessionInflight: 4 });
    const session = await rawInitialize(gateway.url, LEGACY);
    const received = raw.received.length;
    const over = await postBatch(
      gateway,
      session,
      [1, 2, 3, 4, 5].map((i) => call(i, 'echo')),
    );
    expect(over.status).toBe(429);
    expect(over.headers.get('retry-after')).toBe('1');
    expect(over.body).toMatchObject({ id: null, error: { code: -32003 } });
    expect(over.body.error.message).toContain('--max-session-inflight');
    expect(raw.received.length).toBe(received);
    expect(await limitCount(gateway.metrics, 'session_inflight')).toBe(1);

    // Notifications hold no place: four requests and two notifications fit.
    const notification = { jsonrpc: '2.0', method: 'notifications/initialized' };
    const fits = await postBatch(gateway, session, [
      ...[1, 2, 3, 4].map((i) => call(i, 'echo')),
      notification,
      notification,
    ]);
    expect(fits.status).toBe(200);
    expect(fits.body).toHaveLength(4);

    // A request in flight takes one place: then four more do not fit.
    const slow = postBatch(gateway, session, [call('slow', 'silent_json', { ms: 500 })]);
    await expect
      .poll(() => raw.received.some((m) => m.id === 'slow' && m.method === 'tools/call'))
      .toBe(true);
    const crowded = await postBatch(
      gateway,
      session,
      [1, 2, 3, 4].map((i) => call(i, 'echo')),
    );
    expect(crowded.status).toBe(429);
    await slow;
    expect(
      (
        await postBatch(
          gateway,
          session,
          [1, 2, 3, 4].map((i) => call(i, 'echo')),
        )
      ).status,
    ).toBe(200);
  });
});
