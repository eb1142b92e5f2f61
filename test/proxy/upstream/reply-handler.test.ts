/**
 * The upstream POST handler on its own: a real undici Pool against a real HTTP server on 127.0.0.1.
 * JSON bodies arrive whole, SSE bodies stream with backpressure, failures name the target, and a
 * long-lived (per-connection) signal is left with no listeners after each call.
 */
import { getEventListeners } from 'node:events';
import { createServer, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Pool } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { UpstreamError } from '../../../src/proxy/upstream/errors.js';
import { MAX_UPSTREAM_MESSAGE_BYTES, readBytes, sseMessages } from '../../../src/proxy/upstream/read.js';
import { dispatchPost, STREAM_JSON_BYTES } from '../../../src/proxy/upstream/reply-handler.js';

let server: Server;
let pool: Pool;
let sseClosed = 0;

function sse(res: ServerResponse, count: number, size: number): void {
  res.writeHead(200, { 'content-type': 'text/event-stream' });
  let sent = 0;
  const pad = 'x'.repeat(size);
  const more = () => {
    while (sent < count) {
      sent += 1;
      const event = `event: message\ndata: ${JSON.stringify({ jsonrpc: '2.0', method: 'n', params: { sent, pad } })}\n\n`;
      if (!res.write(event)) {
        res.once('drain', more);
        return;
      }
    }
    res.end();
  };
  res.on('close', () => {
    if (!res.writableFinished) sseClosed += 1;
  });
  more();
}

beforeAll(async () => {
  server = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      switch (req.url) {
        case '/json':
          res.writeHead(200, { 'content-type': 'application/json', 'mcp-session-id': 'up-1' });
          res.end('{"jsonrpc":"2.0","id":1,"result":{}}');
          return;
        case '/accepted':
          res.writeHead(202).end();
          return;
        case '/gone':
          res.writeHead(404).end('no such session');
          return;
        case '/json-big': {
          const body = JSON.stringify({ jsonrpc: '2.0', id: 1, result: { text: 'y'.repeat(300_000) } });
          res.writeHead(200, {
            'content-type': 'application/json',
            'content-length': Buffer.byteLength(body),
          });
          res.end(body);
          return;
        }
        case '/json-big-chunked':
          res.writeHead(200, { 'content-type': 'application/json' });
          res.write('{"jsonrpc":"2.0","id":1,"result":{"text":"');
          res.end(`${'z'.repeat(100_000)}"}}`);
          return;
        case '/json-declared-huge':
          res.writeHead(200, {
            'content-type': 'application/json',
            'content-length': MAX_UPSTREAM_MESSAGE_BYTES + 1,
          });
          res.write('{"jsonrpc":');
          return; // never finishes: the client must give up at the headers
        case '/html':
          res.writeHead(200, { 'content-type': 'text/html' }).end('<p>hello</p>');
          return;
        case '/sse-big':
          sse(res, 2_000, 1_000);
          return;
        case '/sse-endless':
          sse(res, Number.MAX_SAFE_INTEGER, 100);
          return;
        default:
          res.writeHead(500).end();
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  pool = new Pool(`http://127.0.0.1:${(server.address() as AddressInfo).port}`);
});

afterAll(async () => {
  await pool.destroy();
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});

const post = (path: string, signal?: AbortSignal, hadSession = true, passThrough = false) =>
  dispatchPost(
    pool,
    { method: 'POST', path, body: '{}', headers: { 'content-type': 'application/json' } },
    't',
    signal,
    { hadSession, passThrough },
  );

describe('dispatchPost', () => {
  it('a JSON reply arrives whole with the upstream session id; 202 is accepted', async () => {
    const reply = await post('/json');
    expect(reply).toMatchObject({ kind: 'json', sessionId: 'up-1' });
    if (reply.kind !== 'json') throw new Error('not json');
    expect(JSON.parse(reply.body.toString())).toEqual({ jsonrpc: '2.0', id: 1, result: {} });
    expect(await post('/accepted')).toEqual({ kind: 'accepted', sessionId: undefined });
  });

  it('a pass-through caller gets a large JSON reply with a declared length as a stream', async () => {
    const streamed = await post('/json-big', undefined, true, true);
    if (streamed.kind !== 'json-stream') throw new Error(`expected json-stream, got ${streamed.kind}`);
    expect(streamed.length).toBeGreaterThan(STREAM_JSON_BYTES);
    const bytes = await readBytes(streamed.body, 't');
    expect(bytes.length).toBe(streamed.length);
    expect(JSON.parse(bytes.toString()).result.text).toHaveLength(300_000);
    // Not asked for pass-through, or no declared length, or small: collected as before.
    expect((await post('/json-big')).kind).toBe('json');
    expect((await post('/json-big-chunked', undefined, true, true)).kind).toBe('json');
    expect((await post('/json', undefined, true, true)).kind).toBe('json');
  });

  it('a JSON reply that declares more than the message limit is refused at its headers', async () => {
    const started = performance.now();
    await expect(post('/json-declared-huge', undefined, true, true)).rejects.toThrow(
      `target "t" sent a message over ${MAX_UPSTREAM_MESSAGE_BYTES} bytes`,
    );
    expect(performance.now() - started).toBeLessThan(2_000);
  });

  it('failures are UpstreamErrors naming the target and the kind of failure', async () => {
    await expect(post('/gone')).rejects.toMatchObject({ failure: 'session-expired', target: 't' });
    await expect(post('/gone', undefined, false)).rejects.toMatchObject({ failure: 'status', status: 404 });
    await expect(post('/html')).rejects.toThrow(
      'target "t" is not an MCP server: it answered with content type "text/html"',
    );
    await expect(post('/nowhere')).rejects.toBeInstanceOf(UpstreamError);
    // The connection is still usable after each of them.
    expect((await post('/json')).kind).toBe('json');
  });

  it('a large SSE body read slowly arrives complete (backpressure, no loss)', async () => {
    const reply = await post('/sse-big');
    if (reply.kind !== 'sse') throw new Error('not sse');
    let count = 0;
    for await (const message of sseMessages(reply.body, 't')) {
      count += 1;
      expect((message as { params: { sent: number } }).params.sent).toBe(count);
      if (count % 200 === 0) await new Promise((resolve) => setTimeout(resolve, 5));
    }
    expect(count).toBe(2_000);
  });

  it('aborting the signal ends an SSE reply upstream; a long-lived signal keeps no listeners', async () => {
    const connection = new AbortController();
    for (let i = 0; i < 20; i++) await post('/json', connection.signal);
    // One shared listener per signal (shared/abort-hooks.ts), however many calls used it.
    expect(getEventListeners(connection.signal, 'abort').length).toBeLessThanOrEqual(1);

    const closedBefore = sseClosed;
    const reply = await post('/sse-endless', connection.signal);
    if (reply.kind !== 'sse') throw new Error('not sse');
    expect(getEventListeners(connection.signal, 'abort')).toHaveLength(1);
    const reading = (async () => {
      for await (const _ of sseMessages(reply.body, 't')) {
        // keep reading until the abort ends the stream
      }
    })();
    connection.abort(new DOMException('client went away', 'AbortError'));
    await expect(reading).rejects.toMatchObject({ failure: 'aborted' });
    await expect.poll(() => sseClosed).toBe(closedBefore + 1);
    expect(getEventListeners(connection.signal, 'abort')).toHaveLength(0);
    await expect(post('/json', connection.signal)).rejects.toMatchObject({ failure: 'aborted' });
  });

  it('a request still queued for a connection is answered at once when its signal aborts', async () => {
    const single = new Pool(`http://127.0.0.1:${(server.address() as AddressInfo).port}`, { connections: 1 });
    const options = { method: 'POST' as const, path: '/sse-endless', body: '{}', headers: {} };
    const holder = await dispatchPost(single, options, 't', undefined, { hadSession: true });
    const client = new AbortController();
    const queued = dispatchPost(single, { ...options, path: '/json' }, 't', client.signal, {
      hadSession: true,
    });
    client.abort(new DOMException('client went away', 'AbortError'));
    await expect(queued).rejects.toMatchObject({ failure: 'aborted' });
    if (holder.kind === 'sse') holder.body.destroy();
    await single.destroy();
  });

  it('a reader that stops early cancels the SSE reply upstream', async () => {
    const closedBefore = sseClosed;
    const reply = await post('/sse-endless');
    if (reply.kind !== 'sse') throw new Error('not sse');
    for await (const _ of sseMessages(reply.body, 't')) break;
    await expect.poll(() => sseClosed).toBe(closedBefore + 1);
  });
});
