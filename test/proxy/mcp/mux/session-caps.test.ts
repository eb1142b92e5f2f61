/**
 * One session cannot starve a target: --max-session-inflight bounds the requests a session has in
 * flight, --max-session-target-calls the upstream calls it has open to one target (a streamed
 * answer until its stream ends). Beyond either: 429, Retry-After: 1, -32003 naming the flag. Before,
 * 130 slow calls from one client took the target's whole connection pool and another client's
 * initialize failed.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  connectClient,
  type Gateway,
  limitCount,
  MCP_HEADERS,
  messagesOf,
  rawInitialize,
  testGateways,
  textOf,
} from '../../../support/mcp-harness.js';
import { type FixtureServer, startFixture } from '../../../support/mcp-servers.js';
import { modernPost } from '../../../support/modern-wire.js';
import { type RawUpstream, startRawUpstream } from '../../../support/raw-upstream.js';

const gateways = testGateways();
let good: FixtureServer;
let raw: RawUpstream;

beforeAll(async () => {
  [good, raw] = await Promise.all([startFixture({ name: 'good' }), startRawUpstream({ name: 'raw' })]);
});
afterAll(async () => {
  await Promise.all([good.close(), raw.close()]);
});

async function send(gateway: Gateway, session: string, message: object) {
  const response = await fetch(gateway.url, {
    method: 'POST',
    headers: { ...MCP_HEADERS, 'mcp-session-id': session },
    body: JSON.stringify(message),
  });
  return {
    status: response.status,
    retryAfter: response.headers.get('retry-after'),
    last: (await messagesOf(response)).at(-1),
  };
}

const call = (id: string | number, name: string, args: object = {}) => ({
  jsonrpc: '2.0',
  id,
  method: 'tools/call',
  params: { name, arguments: args },
});

/** Until the upstream has received the tools/call with these ids. */
const arrived = (...ids: Array<string | number>) =>
  expect
    .poll(() => ids.every((id) => raw.received.some((m) => m.id === id && m.method === 'tools/call')))
    .toBe(true);

describe('the issue: one session with many slow calls', () => {
  it('cannot keep another session from initializing and calling; its excess calls get 429', async () => {
    const SLOW = 140;
    const SLEEP_MS = 4_000;
    const gateway = await gateways.over([good]);
    const greedy = await rawInitialize(gateway.url);
    let slowDone = 0;
    let refused = 0;
    const calls = Array.from({ length: SLOW }, (_, i) =>
      send(gateway, greedy, call(i, 'sleep', { ms: SLEEP_MS })).then((answer) => {
        if (answer.status === 429) refused += 1;
        else slowDone += 1;
        return answer;
      }),
    );
    // 16 calls run (--max-session-target-calls); the other 124 are refused at once.
    await expect.poll(() => refused, { timeout: SLEEP_MS / 2 }).toBe(SLOW - 16);

    const other = await connectClient(gateway.url, 'other');
    const echo = await other.callTool({ name: 'echo', arguments: { message: 'still served' } });
    expect(textOf(echo)).toBe('Echo: still served');
    // ... while the first session's calls were still running.
    expect(slowDone).toBe(0);
    await other.close();

    const answers = await Promise.all(calls);
    const ok = answers.filter((a) => a.status === 200);
    expect(ok).toHaveLength(16);
    for (const a of ok) expect(a.last.result.content[0].text).toBe(`slept ${SLEEP_MS}`);
    for (const a of answers.filter((a) => a.status !== 200)) {
      expect(a.status).toBe(429);
      expect(a.retryAfter).toBe('1');
      expect(a.last.error.code).toBe(-32003);
      expect(a.last.error.message).toMatch(/--max-session-inflight|--max-session-target-calls/);
    }
    const counted =
      (await limitCount(gateway.metrics, 'session_inflight')) +
      (await limitCount(gateway.metrics, 'session_target_calls'));
    expect(counted).toBe(SLOW - 16);
    // The session itself is fine once its calls are done.
    expect((await send(gateway, greedy, call('after', 'echo', { message: 'x' }))).last.result).toBeDefined();
  }, 30_000);
});

describe('--max-session-inflight', () => {
  it('a request beyond it: 429, Retry-After: 1, -32003 naming the flag, with its id; counted', async () => {
    const gateway = await gateways.over([raw], undefined, { maxSessionInflight: 2 });
    const session = await rawInitialize(gateway.url);
    const slow = [1, 2].map((id) => send(gateway, session, call(id, 'silent_json', { ms: 500 })));
    await arrived(1, 2);
    const received = raw.received.length;
    const over = await send(gateway, session, call(3, 'echo'));
    expect(over.status).toBe(429);
    expect(over.retryAfter).toBe('1');
    expect(over.last).toMatchObject({ id: 3, error: { code: -32003 } });
    expect(over.last.error.message).toContain('at most 2 at once (--max-session-inflight)');
    expect(raw.received.length).toBe(received);
    expect(await limitCount(gateway.metrics, 'session_inflight')).toBe(1);
    // Other sessions have their own count.
    const other = await rawInitialize(gateway.url);
    expect((await send(gateway, other, call(3, 'echo'))).status).toBe(200);
    for (const answer of await Promise.all(slow)) expect(answer.status).toBe(200);
    expect((await send(gateway, session, call(3, 'echo'))).status).toBe(200);
  });
});

describe('--max-session-target-calls', () => {
  it('a streamed answer holds its place until its stream ends', async () => {
    const gateway = await gateways.over([raw], undefined, { maxSessionTargetCalls: 2 });
    const session = await rawInitialize(gateway.url);
    // SSE headers at once, the result 600 ms later: the gateway has answered, the stream is open.
    const streams = ['s1', 's2'].map((id) => send(gateway, session, call(id, 'silent_sse', { ms: 600 })));
    await arrived('s1', 's2');
    const over = await send(gateway, session, call('s3', 'echo'));
    expect(over.status).toBe(429);
    expect(over.retryAfter).toBe('1');
    expect(over.last).toMatchObject({ id: 's3', error: { code: -32003 } });
    expect(over.last.error.message).toContain('target "raw"');
    expect(over.last.error.message).toContain('--max-session-target-calls');
    expect(await limitCount(gateway.metrics, 'session_target_calls')).toBe(1);
    for (const answer of await Promise.all(streams)) {
      expect(answer.last.result.content[0].text).toBe('silent for 600 ms');
    }
    // Streams ended: the places are free, and JSON answers give theirs back at once.
    for (const id of ['s4', 's5', 's6'])
      expect((await send(gateway, session, call(id, 'echo'))).status).toBe(200);
  });

  it('does not add up 2026-07-28 clients: each request is its own, though they share one upstream session', async () => {
    const gateway = await gateways.over([raw], undefined, { maxSessionTargetCalls: 2 });
    // Four anonymous clients at once run in the one session the gateway owns for the route; the
    // bound is one session's, and each of these requests has one call open.
    const streams = ['m1', 'm2', 'm3', 'm4'].map((id) =>
      modernPost(gateway.url, 'tools/call', { id, params: { name: 'silent_sse', arguments: { ms: 600 } } }),
    );
    for (const answer of await Promise.all(streams)) {
      expect(answer.status).toBe(200);
      expect(answer.body.result.content[0].text).toBe('silent for 600 ms');
    }
    expect(await limitCount(gateway.metrics, 'session_target_calls')).toBe(0);
  });

  it('in a fan-out: FailClosed answers 429 naming the target and the flag; FailOpen skips the target', async () => {
    for (const failureMode of ['FailClosed', 'FailOpen'] as const) {
      const gateway = await gateways.over(
        [good, raw],
        { failureMode },
        { maxSessionTargetCalls: 1, listCache: false },
      );
      const session = await rawInitialize(gateway.url);
      const id = `busy-${failureMode}`;
      const busy = send(gateway, session, call(id, 'raw_silent_json', { ms: 600 }));
      await arrived(id);
      const listed = await send(gateway, session, { jsonrpc: '2.0', id: 'list', method: 'tools/list' });
      if (failureMode === 'FailClosed') {
        expect(listed.status).toBe(429);
        expect(listed.retryAfter).toBe('1');
        expect(listed.last).toMatchObject({ id: 'list', error: { code: -32003 } });
        expect(listed.last.error.message).toContain('target "raw"');
        expect(listed.last.error.message).toContain('--max-session-target-calls');
      } else {
        expect(listed.status).toBe(200);
        const names = listed.last.result.tools.map((t: { name: string }) => t.name);
        expect(names).toContain('good_echo');
        expect(names.some((n: string) => n.startsWith('raw_'))).toBe(false);
      }
      expect((await busy).status).toBe(200);
      // The call is done: the list reaches both targets again.
      const again = await send(gateway, session, { jsonrpc: '2.0', id: 'again', method: 'tools/list' });
      expect(again.last.result.tools.map((t: { name: string }) => t.name)).toContain('raw_echo');
    }
  });
});
