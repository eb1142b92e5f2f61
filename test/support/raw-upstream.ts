/**
 * A hand-written streamable-HTTP MCP upstream whose misbehaviour tests choose: it speaks just enough
 * MCP (initialize, tools/list, notifications) and answers `tools/call` by tool name:
 *
 *   silent_sse   SSE headers at once, then not one byte for `ms`, then the result (the stream's end
 *                20 ms after it)
 *   silent_json  no headers at all for `ms`, then a JSON result
 *   hang         never answers (no headers) until the client goes away
 *   huge_event   one SSE event of `bytes` bytes of text content
 *   huge_json    a JSON result of `bytes` bytes of text content
 *   drip_json    a JSON result of `bytes` bytes (Content-Length declared): half now, the rest after `ms`
 *   html / text  HTTP 200 with text/html or text/plain (not MCP)
 *   flood        SSE: `count` log notifications of about `bytes` bytes each (`data.seq` 0, 1, …), then
 *                the result; written as fast as the gateway takes them, never faster (it waits for
 *                'drain'), and counted in `written`
 *   echo         a normal JSON result
 *   rpc_error    (not listed) a JSON-RPC error answer, -32603
 *   closes_early (not listed) SSE: a SEP-1699 priming event (`id: <name>-1`, `retry: 0`), then the
 *                stream's end, no answer; resuming it is refused (GET is 405 without `events`)
 *
 * `misbehave` makes every request of one method misbehave the same way (for fan-outs). With
 * `events`, a GET opens the session's event stream and floods it the same way (else GET is 405).
 */

import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/** How long after its last event `silent_sse` ends its stream. */
const END_AFTER_MS = 20;

export type Misbehaviour = 'hang' | 'html' | 'text';

export interface RawUpstreamOptions {
  readonly name?: string;
  /** method → how to answer it instead of properly. */
  readonly misbehave?: Readonly<Record<string, Misbehaviour>>;
  /** Answer GET with an event stream of this many log notifications of about `bytes` bytes each. */
  readonly events?: { readonly count: number; readonly bytes: number };
  /** How long the server keeps an idle keep-alive connection (Node's default: 5 s). */
  readonly keepAliveMs?: number;
  /** A new UUID Mcp-Session-Id per initialize (as SDK servers do) instead of `<name>-session`. */
  readonly uuidSessions?: boolean;
}

export interface RawUpstream {
  readonly name: string;
  readonly port: number;
  readonly url: string;
  /** Requests currently open (hanging ones included). */
  readonly open: Set<ServerResponse>;
  /** Requests whose client went away before we answered. */
  aborted: number;
  /** The most requests open at once since it was last set (set it to 0 to measure a stretch). */
  peak: number;
  /** TCP connections from clients (the gateway's pool) currently open. */
  readonly sockets: number;
  /** TCP connections accepted so far. */
  readonly connections: number;
  /** Every JSON-RPC message received, in order. */
  readonly received: Array<Record<string, unknown>>;
  /** Bytes of flood events (tool `flood`, the GET event stream) that `res.write` accepted. */
  readonly written: number;
  close(): Promise<void>;
}

/** The tools every raw upstream lists. */
export const TOOLS = [
  'silent_sse',
  'silent_json',
  'hang',
  'huge_event',
  'huge_json',
  'drip_json',
  'html',
  'text',
  'flood',
  'echo',
].map((name) => ({
  name,
  description: name,
  inputSchema: {
    type: 'object',
    properties: { ms: { type: 'number' }, bytes: { type: 'number' }, count: { type: 'number' } },
  },
}));

/** One SSE event: a log notification whose `data.seq` numbers it, padded to about `bytes` bytes. */
export function floodEvent(seq: number, bytes: number): string {
  const message = {
    jsonrpc: '2.0',
    method: 'notifications/message',
    params: { level: 'info', logger: 'flood', data: { seq, pad: 'x'.repeat(Math.max(0, bytes - 120)) } },
  };
  return `event: message\ndata: ${JSON.stringify(message)}\n\n`;
}

/**
 * Write `count` flood events, waiting for 'drain' whenever the socket's buffer is full, as a
 * well-behaved server does; `wrote` counts what was accepted. Resolves false if the reader went away.
 */
async function flood(
  res: ServerResponse,
  count: number,
  bytes: number,
  wrote: (n: number) => void,
): Promise<boolean> {
  for (let seq = 0; seq < count; seq++) {
    if (res.destroyed) return false;
    const event = floodEvent(seq, bytes);
    wrote(Buffer.byteLength(event));
    if (!res.write(event)) {
      await new Promise<void>((resolve) => {
        const done = () => {
          res.off('drain', done).off('close', done);
          resolve();
        };
        res.on('drain', done).on('close', done);
      });
    }
  }
  return !res.destroyed;
}

async function body(req: IncomingMessage): Promise<Record<string, unknown> | undefined> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  try {
    return JSON.parse(Buffer.concat(chunks).toString('utf8')) as Record<string, unknown>;
  } catch {
    return undefined;
  }
}

function misbehave(res: ServerResponse, how: Misbehaviour): void {
  if (how === 'hang') return;
  res.writeHead(200, { 'content-type': how === 'html' ? 'text/html' : 'text/plain' });
  res.end(how === 'html' ? '<!doctype html><html><body>Login required</body></html>' : 'OK');
}

export async function startRawUpstream(options: RawUpstreamOptions = {}): Promise<RawUpstream> {
  const name = options.name ?? 'raw';
  const open = new Set<ServerResponse>();
  const state = { aborted: 0, peak: 0, sockets: 0, connections: 0, written: 0 };
  const wrote = (n: number) => {
    state.written += n;
  };
  const received: Array<Record<string, unknown>> = [];
  const server: Server = createServer(async (req, res) => {
    open.add(res);
    state.peak = Math.max(state.peak, open.size);
    res.once('close', () => {
      open.delete(res);
      if (!res.writableFinished) state.aborted += 1;
    });
    if (req.method === 'GET') {
      if (!options.events) return void res.writeHead(405).end();
      res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
      res.flushHeaders();
      // Held open after the last event, as an event stream is, until the gateway closes it.
      return void flood(res, options.events.count, options.events.bytes, wrote);
    }
    if (req.method === 'DELETE') return void res.writeHead(200).end();
    const message = await body(req);
    if (message) received.push(message);
    const method = String(message?.method ?? '');
    const id = message?.id;
    if (id === undefined) return void res.writeHead(202).end(); // notifications, responses
    const how = options.misbehave?.[method];
    if (how) return misbehave(res, how);
    const json = (result: unknown) => {
      const given = req.headers['mcp-session-id'];
      const sessionId =
        method === 'initialize' && options.uuidSessions ? randomUUID() : (given ?? `${name}-session`);
      res.writeHead(200, { 'content-type': 'application/json', 'mcp-session-id': sessionId });
      res.end(JSON.stringify({ jsonrpc: '2.0', id, result }));
    };
    if (method === 'initialize') {
      const params = message?.params as { protocolVersion?: string } | undefined;
      return json({
        protocolVersion: params?.protocolVersion ?? '2025-06-18',
        capabilities: { tools: {} },
        serverInfo: { name, version: '1.0.0' },
      });
    }
    if (method === 'tools/list') return json({ tools: TOOLS });
    if (method !== 'tools/call') {
      res.writeHead(200, { 'content-type': 'application/json' });
      return void res.end(JSON.stringify({ jsonrpc: '2.0', id, error: { code: -32601, message: 'no' } }));
    }
    const params = message?.params as {
      name?: string;
      arguments?: { ms?: number; bytes?: number; count?: number };
    };
    const ms = params.arguments?.ms ?? 0;
    const text = (value: string) => ({ content: [{ type: 'text', text: value }] });
    switch (params.name) {
      case 'silent_sse':
        res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
        res.flushHeaders();
        setTimeout(() => {
          const reply = { jsonrpc: '2.0', id, result: text(`silent for ${ms} ms`) };
          // The stream's end a little after the event, as an SDK server's two writes may arrive.
          res.write(`event: message\ndata: ${JSON.stringify(reply)}\n\n`);
          setTimeout(() => res.end(), END_AFTER_MS);
        }, ms);
        return;
      case 'closes_early':
        res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
        return void res.end(`id: ${name}-1\nretry: 0\ndata: \n\n`);
      case 'silent_json':
        setTimeout(() => json(text(`silent for ${ms} ms`)), ms);
        return;
      case 'hang':
        return;
      case 'huge_event': {
        const reply = JSON.stringify({
          jsonrpc: '2.0',
          id,
          result: text('x'.repeat(params.arguments?.bytes ?? 0)),
        });
        res.writeHead(200, { 'content-type': 'text/event-stream' });
        return void res.end(`event: message\ndata: ${reply}\n\n`);
      }
      case 'huge_json':
        return json(text('x'.repeat(params.arguments?.bytes ?? 0)));
      case 'drip_json': {
        const reply = Buffer.from(
          JSON.stringify({ jsonrpc: '2.0', id, result: text('x'.repeat(params.arguments?.bytes ?? 0)) }),
        );
        res.writeHead(200, { 'content-type': 'application/json', 'content-length': reply.length });
        const half = Math.floor(reply.length / 2);
        res.write(reply.subarray(0, half));
        setTimeout(() => res.end(reply.subarray(half)), ms);
        return;
      }
      case 'flood': {
        res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
        const { count = 0, bytes = 0 } = params.arguments ?? {};
        if (await flood(res, count, bytes, wrote)) {
          res.end(
            `event: message\ndata: ${JSON.stringify({ jsonrpc: '2.0', id, result: text(`flooded ${count}`) })}\n\n`,
          );
        }
        return;
      }
      case 'html':
      case 'text':
        return misbehave(res, params.name);
      case 'rpc_error': // unlisted: a JSON-RPC error answer, as JSON
        res.writeHead(200, { 'content-type': 'application/json' });
        return void res.end(
          JSON.stringify({ jsonrpc: '2.0', id, error: { code: -32603, message: 'failed' } }),
        );
      default:
        return json(text(`${name}: ${JSON.stringify(params.arguments ?? {})}`));
    }
  });
  if (options.keepAliveMs !== undefined) server.keepAliveTimeout = options.keepAliveMs;
  server.on('connection', (socket) => {
    state.connections += 1;
    state.sockets += 1;
    socket.once('close', () => {
      state.sockets -= 1;
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    name,
    port,
    url: `http://127.0.0.1:${port}/mcp`,
    open,
    received,
    get aborted() {
      return state.aborted;
    },
    get written() {
      return state.written;
    },
    set aborted(value: number) {
      state.aborted = value;
    },
    get peak() {
      return state.peak;
    },
    set peak(value: number) {
      state.peak = value;
    },
    get sockets() {
      return state.sockets;
    },
    get connections() {
      return state.connections;
    },
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
