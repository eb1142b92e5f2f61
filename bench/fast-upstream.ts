/**
 * A fast MCP upstream for the benchmark: raw `node:http` and canned JSON, answering in a few µs, so the
 * proxy in front of it (not the upstream) is what limits the calls per second. It speaks the same
 * streamable HTTP wire protocol as `upstream.ts` and lists the same tools (`echo`, `add`, `sleep`,
 * `big` and `extra_<i>` fillers, with the schemas the SDK server publishes), so the load generator's
 * checks and mcplane's pass unchanged:
 *
 * - `initialize` opens a session (`Mcp-Session-Id`), the version negotiated as the SDK does;
 * - `notifications/*` → 202; `ping` → `{}`; `tools/list` → the tools; `tools/call` `echo` →
 *   `Echo: <message>`, `big` → `kib` KiB of text, `add`, `sleep`, `extra_<i>` as upstream.ts;
 * - GET opens the session's (silent) event stream, DELETE ends the session;
 * - a request without a session that is not `initialize` → 400, an unknown session → 404.
 *
 * `--sse` answers POSTs with an SSE stream (one `message` event) instead of a JSON body. Run as its own
 * process, like upstream.ts:
 *   node --import tsx bench/fast-upstream.ts --port 0 --name fast [--extra-tools 16] [--sse] [--max-sessions N]
 * It prints one JSON line `{"ready":true,"port":N,"pid":P}` once listening.
 */
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { serveAsChild, upstreamArgs } from './child.js';

export interface FastUpstreamOptions {
  /** 0 picks a free port. */
  readonly port: number;
  readonly name: string;
  /** Filler tools beyond the four real ones. */
  readonly extraTools: number;
  readonly sse: boolean;
  /** Sessions kept; the least recently used is dropped beyond this. */
  readonly maxSessions: number;
}

/** What the SDK server (1.32) accepts; anything else is answered with the newest, as it does. */
const SUPPORTED_VERSIONS = ['2025-11-25', '2025-06-18', '2025-03-26', '2024-11-05', '2024-10-07'];
const SCHEMA = 'http://json-schema.org/draft-07/schema#';

function tool(name: string, description: string, properties: Record<string, unknown>) {
  return {
    name,
    description,
    inputSchema: { $schema: SCHEMA, type: 'object', properties, required: Object.keys(properties) },
    execution: { taskSupport: 'forbidden' },
  };
}

/** The tools upstream.ts registers, as its SDK server lists them. */
export function fastTools(name: string, extraTools: number): unknown[] {
  return [
    tool('echo', 'Echo the message back', { message: { type: 'string' } }),
    tool('add', 'Add two numbers', { a: { type: 'number' }, b: { type: 'number' } }),
    tool('sleep', 'Wait ms milliseconds', { ms: { type: 'integer', minimum: 0, maximum: 60_000 } }),
    tool('big', 'Return kib KiB of text', { kib: { type: 'integer', minimum: 0, maximum: 16_384 } }),
    ...Array.from({ length: extraTools }, (_, i) =>
      tool(`extra_${i}`, `Filler tool ${i} of ${name}: returns its own name`, {
        message: { type: 'string' },
      }),
    ),
  ];
}

const textResult = (text: string) => JSON.stringify({ content: [{ type: 'text', text }] });

interface Rpc {
  readonly id?: unknown;
  readonly method?: unknown;
  readonly params?: { name?: unknown; arguments?: Record<string, unknown>; protocolVersion?: unknown };
}

export async function startFastUpstream(
  options: FastUpstreamOptions,
): Promise<{ port: number; close: () => Promise<void> }> {
  const toolsResult = JSON.stringify({ tools: fastTools(options.name, options.extraTools) });
  const toolNames = new Set(
    fastTools(options.name, options.extraTools).map((t) => (t as { name: string }).name),
  );
  const bigResults = new Map<number, string>();
  /** Session id → its open GET stream, if any. Insertion order doubles as LRU order. */
  const sessions = new Map<string, ServerResponse | undefined>();

  const drop = (sid: string) => {
    const stream = sessions.get(sid);
    sessions.delete(sid);
    stream?.end();
  };

  const send = (res: ServerResponse, status: number, sid: string | undefined, json: string) => {
    const headers: Record<string, string | number> = {};
    if (sid !== undefined) headers['mcp-session-id'] = sid;
    if (options.sse && status === 200) {
      headers['content-type'] = 'text/event-stream';
      headers['cache-control'] = 'no-cache';
      res.writeHead(status, headers);
      res.end(`event: message\ndata: ${json}\n\n`);
      return;
    }
    headers['content-type'] = 'application/json';
    headers['content-length'] = Buffer.byteLength(json);
    res.writeHead(status, headers);
    res.end(json);
  };
  const reply = (id: unknown, result: string) =>
    `{"result":${result},"jsonrpc":"2.0","id":${JSON.stringify(id)}}`;
  const failure = (id: unknown, code: number, message: string) =>
    JSON.stringify({ jsonrpc: '2.0', id: id ?? null, error: { code, message } });

  const call = async (rpc: Rpc): Promise<string> => {
    const name = rpc.params?.name;
    const args = rpc.params?.arguments ?? {};
    if (typeof name !== 'string' || !toolNames.has(name))
      return JSON.stringify({
        content: [{ type: 'text', text: `MCP error -32602: Tool ${String(name)} not found` }],
        isError: true,
      });
    switch (name) {
      case 'echo':
        return textResult(`Echo: ${String(args.message)}`);
      case 'add':
        return textResult(String(Number(args.a) + Number(args.b)));
      case 'sleep':
        await new Promise((r) => setTimeout(r, Number(args.ms) || 0));
        return textResult(`slept ${Number(args.ms) || 0}`);
      case 'big': {
        const kib = Number(args.kib) || 0;
        let result = bigResults.get(kib);
        if (result === undefined) {
          result = textResult('x'.repeat(kib * 1024));
          bigResults.set(kib, result);
        }
        return result;
      }
      default:
        return textResult(name);
    }
  };

  const post = async (req: IncomingMessage, res: ServerResponse, body: string) => {
    let rpc: Rpc;
    try {
      rpc = JSON.parse(body) as Rpc;
    } catch {
      return send(res, 400, undefined, failure(null, -32700, 'Parse error'));
    }
    if (Array.isArray(rpc) || typeof rpc !== 'object' || rpc === null)
      return send(res, 400, undefined, failure(null, -32600, 'batches are not served here'));
    const header = req.headers['mcp-session-id'];
    if (rpc.method === 'initialize') {
      if (typeof header === 'string')
        return send(res, 400, undefined, failure(rpc.id, -32600, 'already initialized'));
      const sid = randomUUID();
      sessions.set(sid, undefined);
      if (sessions.size > options.maxSessions) drop(sessions.keys().next().value as string);
      const asked = rpc.params?.protocolVersion;
      const version = SUPPORTED_VERSIONS.includes(asked as string) ? asked : SUPPORTED_VERSIONS[0];
      const result = JSON.stringify({
        protocolVersion: version,
        capabilities: { tools: { listChanged: true } },
        serverInfo: { name: options.name, version: '1.0.0' },
      });
      return send(res, 200, sid, reply(rpc.id, result));
    }
    if (typeof header !== 'string')
      return send(
        res,
        400,
        undefined,
        failure(rpc.id, -32000, 'Bad Request: Mcp-Session-Id header required'),
      );
    if (!sessions.has(header)) return send(res, 404, undefined, failure(rpc.id, -32001, 'Session not found'));
    const stream = sessions.get(header);
    sessions.delete(header);
    sessions.set(header, stream);
    if (rpc.id === undefined) {
      // A notification (or a response to a request of ours, which we never send).
      res.writeHead(202).end();
      return;
    }
    switch (rpc.method) {
      case 'ping':
        return send(res, 200, header, reply(rpc.id, '{}'));
      case 'tools/list':
        return send(res, 200, header, reply(rpc.id, toolsResult));
      case 'tools/call':
        return send(res, 200, header, reply(rpc.id, await call(rpc)));
      default:
        return send(res, 200, header, failure(rpc.id, -32601, 'Method not found'));
    }
  };

  const listen = (req: IncomingMessage, res: ServerResponse, sid: string) => {
    if (sessions.get(sid) !== undefined)
      return send(res, 409, undefined, failure(null, -32000, 'Conflict: only one SSE stream per session'));
    res.writeHead(200, {
      'content-type': 'text/event-stream',
      'cache-control': 'no-cache, no-transform',
      'mcp-session-id': sid,
    });
    res.flushHeaders();
    sessions.set(sid, res);
    req.socket.setTimeout(0);
    res.on('close', () => {
      if (sessions.get(sid) === res) sessions.set(sid, undefined);
    });
  };

  const server = createServer((req, res) => {
    if (!req.url?.startsWith('/mcp')) return send(res, 404, undefined, failure(null, -32601, 'no MCP here'));
    const sid = req.headers['mcp-session-id'];
    if (req.method === 'POST') {
      const chunks: Buffer[] = [];
      req.on('data', (chunk: Buffer) => chunks.push(chunk));
      req.on('end', () => {
        const body =
          chunks.length === 1 ? chunks[0]!.toString('utf8') : Buffer.concat(chunks).toString('utf8');
        post(req, res, body).catch((err: unknown) => {
          if (!res.headersSent) send(res, 500, undefined, failure(null, -32603, (err as Error).message));
          else res.destroy();
        });
      });
      return;
    }
    if (typeof sid !== 'string')
      return send(res, 400, undefined, failure(null, -32000, 'Bad Request: Mcp-Session-Id header required'));
    if (!sessions.has(sid)) return send(res, 404, undefined, failure(null, -32001, 'Session not found'));
    if (req.method === 'GET') return listen(req, res, sid);
    if (req.method === 'DELETE') {
      drop(sid);
      res.writeHead(200).end();
      return;
    }
    res.writeHead(405, { allow: 'GET, POST, DELETE' }).end();
  });
  server.keepAliveTimeout = 120_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, '127.0.0.1', () => resolve());
  });
  const address = server.address();
  return {
    port: typeof address === 'object' && address ? address.port : options.port,
    close: async () => {
      for (const sid of [...sessions.keys()]) drop(sid);
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

await serveAsChild(import.meta.url, () => startFastUpstream(upstreamArgs({ name: 'fast', extraTools: 16 })));
