/**
 * A hand-written legacy HTTP+SSE MCP server (protocol 2024-11-05) that honours backpressure, which
 * the SDK's SSEServerTransport does not (it writes without looking at 'drain'). GET /sse opens a
 * session's event stream and announces `/messages?sessionId=…`; POST /messages answers 202 and the
 * answer goes on the stream. It speaks just enough MCP (initialize, tools/list, ping) and two tools:
 *
 *   flood   `count` events of about `bytes` bytes (`seq` 0, 1, …), then the result: progress for the
 *           call when it carries a progress token, else log notifications (which the gateway routes
 *           to the session's listener). Written as fast as the reader takes them, never faster (it
 *           waits for 'drain'), and counted in `written`.
 *   echo    the result `echo <message>` at once (behind whatever the stream still has to send).
 */
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface RawLegacySse {
  readonly name: string;
  readonly port: number;
  /** Bytes of flood events that `res.write` accepted, over every stream. */
  readonly written: number;
  /** Open event streams by session id. */
  readonly streams: ReadonlyMap<string, ServerResponse>;
  close(): Promise<void>;
}

export const TOOLS = ['flood', 'echo'].map((name) => ({
  name,
  description: name,
  inputSchema: {
    type: 'object',
    properties: { count: { type: 'number' }, bytes: { type: 'number' }, message: { type: 'string' } },
  },
}));

/** One flood event: progress (with `token`) or a log notification, numbered by `seq`, about `bytes` long. */
export function legacyFloodEvent(seq: number, bytes: number, token: string | number | undefined): string {
  const pad = 'x'.repeat(Math.max(0, bytes - 140));
  const message =
    token === undefined
      ? {
          jsonrpc: '2.0',
          method: 'notifications/message',
          params: { level: 'info', logger: 'flood', data: { seq, pad } },
        }
      : {
          jsonrpc: '2.0',
          method: 'notifications/progress',
          params: { progressToken: token, progress: seq, message: pad },
        };
  return `event: message\ndata: ${JSON.stringify(message)}\n\n`;
}

/** Wait until `res` can take more (or is gone). */
function drained(res: ServerResponse): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      res.off('drain', done).off('close', done);
      resolve();
    };
    res.on('drain', done).on('close', done);
  });
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

export async function startRawLegacySse(name: string): Promise<RawLegacySse> {
  const streams = new Map<string, ServerResponse>();
  const state = { written: 0 };
  const send = (res: ServerResponse, message: unknown) => {
    if (!res.destroyed) res.write(`event: message\ndata: ${JSON.stringify(message)}\n\n`);
  };

  async function flood(
    res: ServerResponse,
    id: unknown,
    count: number,
    bytes: number,
    token?: string | number,
  ) {
    for (let seq = 0; seq < count; seq++) {
      if (res.destroyed) return;
      const event = legacyFloodEvent(seq, bytes, token);
      state.written += Buffer.byteLength(event);
      if (!res.write(event)) await drained(res);
    }
    send(res, { jsonrpc: '2.0', id, result: { content: [{ type: 'text', text: `flooded ${count}` }] } });
  }

  function answer(res: ServerResponse, message: Record<string, unknown>): void {
    const { id, method } = message;
    if (id === undefined || typeof method !== 'string') return; // notifications, responses
    const params = (message.params ?? {}) as {
      name?: string;
      arguments?: { count?: number; bytes?: number; message?: string };
      _meta?: { progressToken?: string | number };
    };
    if (method === 'tools/call' && params.name === 'flood') {
      const { count = 0, bytes = 0 } = params.arguments ?? {};
      void flood(res, id, count, bytes, params._meta?.progressToken);
      return;
    }
    const text = (value: string) => ({ content: [{ type: 'text', text: value }] });
    const results: Record<string, unknown> = {
      initialize: {
        protocolVersion: '2024-11-05',
        capabilities: { tools: {}, logging: {} },
        serverInfo: { name, version: '1.0.0' },
      },
      'tools/list': { tools: TOOLS },
      ping: {},
    };
    if (method === 'tools/call' && params.name === 'echo') {
      send(res, { jsonrpc: '2.0', id, result: text(`echo ${params.arguments?.message ?? ''}`) });
    } else if (method in results) {
      send(res, { jsonrpc: '2.0', id, result: results[method] });
    } else {
      send(res, { jsonrpc: '2.0', id, error: { code: -32601, message: `no ${method}` } });
    }
  }

  const server = createServer(async (req, res) => {
    const url = new URL(req.url ?? '/', 'http://fixture');
    if (req.method === 'GET' && url.pathname === '/sse') {
      const sessionId = randomUUID();
      streams.set(sessionId, res);
      res.once('close', () => streams.delete(sessionId));
      res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
      res.write(`event: endpoint\ndata: /messages?sessionId=${sessionId}\n\n`);
      return;
    }
    if (req.method === 'POST' && url.pathname === '/messages') {
      const stream = streams.get(url.searchParams.get('sessionId') ?? '');
      const message = await body(req);
      if (!stream) return void res.writeHead(404).end('Could not find session');
      res.writeHead(202).end('Accepted');
      if (message) answer(stream, message);
      return;
    }
    res.writeHead(404).end();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    name,
    port,
    streams,
    get written() {
      return state.written;
    },
    async close() {
      for (const res of streams.values()) res.destroy();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
