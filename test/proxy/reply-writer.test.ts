/**
 * Replies written to node:http (src/proxy/reply-writer.ts), over real sockets: each kind with its
 * headers, a reply in parts leaving in one write (joined when small, corked when large), a streamed answer that is ready at once leaving in one socket write with its headers, the
 * headers of a slow stream sent before its first chunk, a client that goes away cancelling the
 * stream, and a handler that fails answered 500.
 */
import type { Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { streamReply } from '../../src/proxy/mcp/wire/reply.js';
import { type ReplyHandler, serveReplies } from '../../src/proxy/reply-writer.js';
import { type HttpServer, listen } from '../../src/proxy/server.js';

let server: HttpServer | undefined;
afterEach(() => server?.destroy());

async function serve(handler: ReplyHandler): Promise<string> {
  server = await listen(serveReplies(handler), 0, '127.0.0.1');
  return `http://127.0.0.1:${server.port}/mcp`;
}

const encoder = new TextEncoder();

/** Count the socket writes the server makes on the request's connection. */
function countWrites(socket: Socket): { count: number } {
  const counted = { count: 0 };
  const target = socket as Socket & { _write: (...a: unknown[]) => void; _writev: (...a: unknown[]) => void };
  for (const name of ['_write', '_writev'] as const) {
    const original = target[name].bind(target);
    target[name] = (...args: unknown[]) => {
      counted.count += 1;
      original(...args);
    };
  }
  return counted;
}

describe('writeReply', () => {
  it('json, bytes and empty replies carry their status, headers and exact length', async () => {
    const replies = [
      { kind: 'json', status: 201, body: { ok: 'é' }, headers: { 'mcp-session-id': 'abc' } },
      { kind: 'bytes', status: 200, body: encoder.encode('{"raw":true}') },
      { kind: 'empty', status: 405, headers: { allow: 'POST' } },
    ] as const;
    let next = 0;
    const url = await serve(() => replies[next++]!);
    const json = await fetch(url, { method: 'POST' });
    expect(json.status).toBe(201);
    expect(json.headers.get('mcp-session-id')).toBe('abc');
    expect(json.headers.get('content-type')).toBe('application/json');
    expect(json.headers.get('content-length')).toBe(String(Buffer.byteLength('{"ok":"é"}')));
    expect(await json.json()).toEqual({ ok: 'é' });
    const bytes = await fetch(url, { method: 'POST' });
    expect(await bytes.text()).toBe('{"raw":true}');
    const empty = await fetch(url, { method: 'POST' });
    expect([empty.status, empty.headers.get('allow'), await empty.text()]).toEqual([405, 'POST', '']);
  });

  const big = 'x'.repeat(40 * 1024);
  it.each([
    [
      'small, joined',
      ['{"result":{"resultType":"complete",', '"é":1}', ',"id":7}'],
      '{"result":{"resultType":"complete","é":1},"id":7}',
    ],
    [
      'large, not copied',
      ['{"result":{"resultType":"complete","text":"', big, '"},"id":8}'],
      `{"result":{"resultType":"complete","text":"${big}"},"id":8}`,
    ],
  ])(
    'a bytes reply in parts (a spliced answer; %s) leaves in one socket write with its whole length',
    async (_, texts, text) => {
      let writes: { count: number } | undefined;
      const parts = texts.map((p) => encoder.encode(p));
      const url = await serve((request) => {
        writes = countWrites(request.incoming.socket);
        return { kind: 'bytes', status: 200, body: parts };
      });
      const response = await fetch(url, { method: 'POST' });
      expect(response.headers.get('content-length')).toBe(String(Buffer.byteLength(text)));
      expect(await response.text()).toBe(text);
      expect(writes?.count).toBe(1);
    },
  );

  it('a stream that is ready at once leaves in one socket write, headers and all', async () => {
    let writes: { count: number } | undefined;
    const url = await serve((request) => {
      writes = countWrites(request.incoming.socket);
      const body = new ReadableStream<Uint8Array>({
        start(controller) {
          controller.enqueue(encoder.encode('event: message\ndata: {"a":1}\n\n'));
          controller.enqueue(encoder.encode('event: message\ndata: {"b":2}\n\n'));
          controller.close();
        },
      });
      return streamReply('sse', body).reply;
    });
    const response = await fetch(url, { method: 'POST' });
    expect(response.headers.get('content-type')).toBe('text/event-stream');
    expect(await response.text()).toBe('event: message\ndata: {"a":1}\n\nevent: message\ndata: {"b":2}\n\n');
    expect(writes?.count).toBe(1);
  });

  it('a slow stream: its headers reach the client before its first chunk', async () => {
    let send: (() => void) | undefined;
    const url = await serve(() => {
      const body = new ReadableStream<Uint8Array>({
        start(controller) {
          send = () => {
            controller.enqueue(encoder.encode('data: late\n\n'));
            controller.close();
          };
        },
      });
      return streamReply('sse', body).reply;
    });
    const response = await fetch(url, { method: 'POST' }); // resolves on the headers alone
    expect(response.status).toBe(200);
    send!();
    expect(await response.text()).toBe('data: late\n\n');
  }, 5000);

  it('a client that goes away cancels the stream', async () => {
    let cancelled: (reason: unknown) => void = () => {};
    const cancel = new Promise((resolve) => {
      cancelled = resolve;
    });
    const url = await serve(() => {
      const body = new ReadableStream<Uint8Array>({
        start(controller) {
          controller.enqueue(encoder.encode(': open\n\n'));
        },
        cancel: (reason) => cancelled(reason),
      });
      return streamReply('sse', body).reply;
    });
    const controller = new AbortController();
    const response = await fetch(url, { method: 'POST', signal: controller.signal });
    const reader = response.body!.getReader();
    await reader.read();
    controller.abort();
    await expect(cancel).resolves.toBeUndefined();
  });

  it('a handler that throws, or whose promise fails, is answered 500 with a JSON-RPC error', async () => {
    let calls = 0;
    const url = await serve(() => {
      calls += 1;
      if (calls === 1) throw new Error('boom');
      return Promise.reject(new Error('boom'));
    });
    for (let i = 0; i < 2; i++) {
      const response = await fetch(url, { method: 'POST' });
      expect(response.status).toBe(500);
      expect(((await response.json()) as { error: { code: number } }).error.code).toBe(-32603);
    }
  });

  it('a header node:http refuses to write becomes a 500, not a crash', async () => {
    const url = await serve(() => ({ kind: 'empty', status: 200, headers: { 'x-bad': 'a\r\nb' } }));
    const response = await fetch(url, { method: 'POST' });
    expect(response.status).toBe(500);
  });
});
