/**
 * Bad input beyond the foundation's list (test/proxy/mcp-errors.test.ts): each case gets a clear
 * error for that request only, and the session (and other requests in flight) keep working.
 *
 *   - a client POST carrying a JSON-RPC response for a request nobody sent
 *   - two requests with the same id in flight in one session
 *   - an upstream SSE event, or JSON answer, larger than the gateway parses or buffers
 *   - an upstream answering non-MCP content (HTML 200, plain text), on a routed call and a fan-out
 *   - an upstream that hangs without headers, on a routed call and in a fan-out
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MAX_UPSTREAM_MESSAGE_BYTES } from '../../src/proxy/upstream/read.js';
import {
  backendOf,
  MCP_HEADERS,
  messagesOf,
  rawInitialize,
  targetOf,
  testGateways,
} from '../support/mcp-harness.js';
import { type FixtureServer, startFixture } from '../support/mcp-servers.js';
import { type RawUpstream, startRawUpstream } from '../support/raw-upstream.js';

const FANOUT_MS = 500;
const gateways = testGateways();
let good: FixtureServer;
let raw: RawUpstream;

beforeAll(async () => {
  [good, raw] = await Promise.all([startFixture({ name: 'good' }), startRawUpstream({ name: 'raw' })]);
});
afterAll(async () => {
  await Promise.all([good?.close(), raw?.close()]);
});

async function gatewayFor(
  targets: Array<[string, number]>,
  failureMode: 'FailOpen' | 'FailClosed' = 'FailClosed',
) {
  const gateway = await gateways.start(
    backendOf(
      targets.map(([name, port]) => targetOf(name, port)),
      { failureMode },
    ),
    { fanoutTimeoutMs: FANOUT_MS },
  );
  return gateway;
}

function post(url: string, session: string, message: unknown, signal?: AbortSignal) {
  return fetch(url, {
    method: 'POST',
    headers: { ...MCP_HEADERS, 'mcp-session-id': session, 'mcp-protocol-version': '2025-06-18' },
    body: JSON.stringify(message),
    signal,
  });
}

async function call(url: string, session: string, id: number | string, name: string, args: object = {}) {
  const response = await post(url, session, {
    jsonrpc: '2.0',
    id,
    method: 'tools/call',
    params: { name, arguments: args },
  });
  return { status: response.status, last: (await messagesOf(response)).at(-1) };
}

async function list(url: string, session: string, id = 99) {
  const response = await post(url, session, { jsonrpc: '2.0', id, method: 'tools/list' });
  return { status: response.status, last: (await messagesOf(response)).at(-1) };
}

/** The session still serves a normal call afterwards. */
async function stillWorks(url: string, session: string, name = 'good_echo') {
  const { last } = await call(url, session, 'after', name, { message: 'ok' });
  expect(last.result.content[0].text).toBe('Echo: ok');
}

describe('client sends a JSON-RPC response for an unknown request id', () => {
  it('multiplexed: 400 with a JSON-RPC error naming the id, nothing forwarded', async () => {
    const gateway = await gatewayFor([
      ['good', good.port],
      ['raw', raw.port],
    ]);
    const session = await rawInitialize(gateway.url);
    const seen = good.seen.length;
    const response = await post(gateway.url, session, { jsonrpc: '2.0', id: 'nobody-asked', result: {} });
    expect(response.status).toBe(400);
    const [body] = await messagesOf(response);
    expect(body).toMatchObject({
      id: null,
      error: { code: -32600, message: expect.stringContaining('nobody-asked') },
    });
    expect(good.seen.length).toBe(seen);
    await stillWorks(gateway.url, session);
  });

  it('transparent: passed to the one upstream as is; the session keeps working', async () => {
    const gateway = await gatewayFor([['good', good.port]]);
    const session = await rawInitialize(gateway.url);
    const response = await post(gateway.url, session, { jsonrpc: '2.0', id: 'nobody-asked', result: {} });
    expect(response.status).toBe(202);
    const forwarded = good.seen.at(-1)!.body as { id?: unknown };
    expect(forwarded.id).toBe('nobody-asked');
    await stillWorks(gateway.url, session, 'echo');
  });
});

describe('duplicate request ids in flight in one session', () => {
  for (const [mode, targets, tool] of [
    ['transparent', [['good', 0]], 'sleep'],
    [
      'multiplexed',
      [
        ['good', 0],
        ['raw', 1],
      ],
      'good_sleep',
    ],
  ] as const) {
    it(`${mode}: the second gets an error naming the id, the first completes`, async () => {
      const gateway = await gatewayFor(targets.map(([name, i]) => [name, i === 0 ? good.port : raw.port]));
      const session = await rawInitialize(gateway.url);
      const first = call(gateway.url, session, 7, tool, { ms: 400 });
      await new Promise((r) => setTimeout(r, 100));
      const second = await call(gateway.url, session, 7, tool, { ms: 10 });
      expect(second.last).toMatchObject({
        id: 7,
        error: { code: -32600, message: expect.stringMatching(/id 7 is already in flight/) },
      });
      expect((await first).last).toMatchObject({ id: 7, result: { content: [{ text: 'slept 400' }] } });
      // Once answered, the id may be used again.
      expect((await call(gateway.url, session, 7, tool, { ms: 1 })).last.result.content[0].text).toBe(
        'slept 1',
      );
    });
  }
});

describe('an upstream SSE event over the size limit', () => {
  it('multiplexed: the request gets an error naming the target; the session keeps working', async () => {
    const gateway = await gatewayFor([
      ['good', good.port],
      ['raw', raw.port],
    ]);
    const session = await rawInitialize(gateway.url);
    const started = performance.now();
    const { status, last } = await call(gateway.url, session, 1, 'raw_huge_event', {
      bytes: MAX_UPSTREAM_MESSAGE_BYTES + 1024,
    });
    const elapsed = performance.now() - started;
    expect(status).toBe(200);
    expect(last).toMatchObject({
      id: 1,
      error: { code: -32002, message: expect.stringMatching(/target "raw".*exceeds/) },
    });
    expect(elapsed).toBeLessThan(5_000); // bounded work, not quadratic re-scanning
    await stillWorks(gateway.url, session);
  }, 30_000);
});

describe('an upstream JSON answer over the size limit', () => {
  it('transparent path: the request gets an error naming the target, the body is not buffered whole', async () => {
    const gateway = await gatewayFor([['raw', raw.port]]);
    const session = await rawInitialize(gateway.url);
    const { status, last } = await call(gateway.url, session, 2, 'huge_json', {
      bytes: MAX_UPSTREAM_MESSAGE_BYTES + 1024,
    });
    expect(status).toBe(200);
    expect(last).toMatchObject({
      id: 2,
      error: {
        code: -32002,
        message: `target "raw" sent a message over ${MAX_UPSTREAM_MESSAGE_BYTES} bytes`,
      },
    });
    const { last: ok } = await call(gateway.url, session, 3, 'echo', { b: 2 });
    expect(ok.result.content[0].text).toBe('raw: {"b":2}');
  }, 30_000);
});

describe('an upstream that answers non-MCP content', () => {
  for (const kind of ['html', 'text'] as const) {
    it(`${kind} on a routed call: an error naming the target and the content type`, async () => {
      const gateway = await gatewayFor([
        ['good', good.port],
        ['raw', raw.port],
      ]);
      const session = await rawInitialize(gateway.url);
      const { last } = await call(gateway.url, session, 3, `raw_${kind}`);
      expect(last).toMatchObject({
        id: 3,
        error: {
          code: -32002,
          message: `target "raw" is not an MCP server: it answered with content type "text/${kind === 'html' ? 'html' : 'plain'}"`,
        },
      });
      await stillWorks(gateway.url, session);
    });

    it(`${kind} on the transparent path: the same clear error`, async () => {
      const gateway = await gatewayFor([['raw', raw.port]]);
      const session = await rawInitialize(gateway.url);
      const { last } = await call(gateway.url, session, 3, kind);
      expect(last.error.message).toContain('target "raw" is not an MCP server');
      const { last: ok } = await call(gateway.url, session, 4, 'echo', { a: 1 });
      expect(ok.result.content[0].text).toBe('raw: {"a":1}');
    });
  }

  it('in a fan-out: FailClosed names the target, FailOpen skips it', async () => {
    const html = await startRawUpstream({ name: 'html', misbehave: { 'tools/list': 'html' } });
    try {
      const closed = await gatewayFor([
        ['good', good.port],
        ['html', html.port],
      ]);
      const session = await rawInitialize(closed.url);
      const { last } = await list(closed.url, session);
      expect(last.error).toMatchObject({
        code: -32002,
        message: expect.stringContaining('target "html" is not an MCP server'),
      });
      await stillWorks(closed.url, session);

      const open = await gatewayFor(
        [
          ['good', good.port],
          ['html', html.port],
        ],
        'FailOpen',
      );
      const openSession = await rawInitialize(open.url);
      const names = (await list(open.url, openSession)).last.result.tools.map(
        (t: { name: string }) => t.name,
      );
      expect(names).toContain('good_echo');
      expect(names.some((n: string) => n.startsWith('html_'))).toBe(false);
    } finally {
      await html.close();
    }
  });
});

describe('an upstream that hangs without sending headers', () => {
  it('routed call: only that request waits; the client giving up cancels it upstream', async () => {
    const gateway = await gatewayFor([
      ['good', good.port],
      ['raw', raw.port],
    ]);
    const session = await rawInitialize(gateway.url);
    const aborted = raw.aborted;
    const hung = post(
      gateway.url,
      session,
      { jsonrpc: '2.0', id: 'h', method: 'tools/call', params: { name: 'raw_hang' } },
      AbortSignal.timeout(800),
    );
    // Meanwhile the session serves other requests, on both targets.
    await stillWorks(gateway.url, session);
    expect((await call(gateway.url, session, 5, 'raw_echo', { n: 1 })).last.result.content[0].text).toBe(
      'raw: {"n":1}',
    );
    await expect(hung).rejects.toThrow(/abort|timeout/i);
    await expect.poll(() => raw.aborted, { timeout: 2000 }).toBeGreaterThan(aborted);
    // ... and the upstream is told, so it can stop working on it.
    await expect
      .poll(
        () =>
          raw.received.some(
            (m) =>
              m.method === 'notifications/cancelled' &&
              (m.params as { requestId?: unknown })?.requestId === 'h',
          ),
        { timeout: 2000 },
      )
      .toBe(true);
    await stillWorks(gateway.url, session);
  });

  it('fan-out: the list fails after the per-target deadline naming it (FailClosed) or skips it (FailOpen)', async () => {
    const hanging = await startRawUpstream({ name: 'hanging', misbehave: { 'tools/list': 'hang' } });
    try {
      const closed = await gatewayFor([
        ['good', good.port],
        ['hanging', hanging.port],
      ]);
      const session = await rawInitialize(closed.url);
      const started = performance.now();
      const { last } = await list(closed.url, session);
      expect(performance.now() - started).toBeLessThan(FANOUT_MS + 1000);
      expect(last.error).toMatchObject({ code: -32002, message: 'target "hanging" did not answer in time' });
      await stillWorks(closed.url, session);
      // The hung upstream request was given up, not left open.
      await expect.poll(() => hanging.open.size, { timeout: 2000 }).toBe(0);

      const open = await gatewayFor(
        [
          ['good', good.port],
          ['hanging', hanging.port],
        ],
        'FailOpen',
      );
      const openSession = await rawInitialize(open.url);
      const names = (await list(open.url, openSession)).last.result.tools.map(
        (t: { name: string }) => t.name,
      );
      expect(names).toContain('good_echo');
    } finally {
      await hanging.close();
    }
  });
});
