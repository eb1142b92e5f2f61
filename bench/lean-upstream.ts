/**
 * A lean MCP upstream for the phases that hold many sessions (the session ramp, the memory phase):
 * plain `node:http`, JSON answers, one entry per session in a Map. The SDK upstream (upstream.ts)
 * builds an `McpServer` and a transport per session (~30–90 KiB each) and would be the bottleneck
 * long before mcplane at tens of thousands of sessions.
 *
 * Speaks the 2025 streamable HTTP server side that mcplane uses: `initialize` without a session
 * (answers with `Mcp-Session-Id`), then requests with it: `notifications/*` (202), `ping`, `tools/list`
 * (`echo`, `add`), `tools/call`; DELETE ends a session, GET is refused with 405 (no server→client
 * stream, so mcplane holds no upstream connection per session), any other request without a session
 * gets 400 (so mcplane's `server/discover` probe reads a 2025 server). Unknown session: 404.
 *
 *   node --import tsx bench/lean-upstream.ts --port 0 --name one [--max-sessions N]
 * prints `{"ready":true,"port":N,"pid":P}` once listening; exits when stdin closes or on SIGTERM.
 */
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { parseArgs } from 'node:util';
import { ROOT, type RunningUpstream } from './candidates.js';
import { serveAsChild } from './child.js';
import { spawnChild, waitForLine } from './proc.js';

/** Tools each lean upstream lists. */
export const LEAN_TOOLS = 2;

const VERSIONS = ['2025-06-18', '2025-03-26', '2024-11-05'];
const TOOLS = [
  {
    name: 'echo',
    description: 'Echo the message back',
    inputSchema: {
      type: 'object',
      properties: { message: { type: 'string' } },
      required: ['message'],
    },
  },
  {
    name: 'add',
    description: 'Add two numbers',
    inputSchema: {
      type: 'object',
      properties: { a: { type: 'number' }, b: { type: 'number' } },
      required: ['a', 'b'],
    },
  },
];

type Rpc = { jsonrpc?: string; id?: string | number; method?: string; params?: Record<string, unknown> };

function send(
  res: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): void {
  const text = body === undefined ? '' : JSON.stringify(body);
  res.writeHead(status, {
    ...headers,
    ...(body === undefined ? {} : { 'content-type': 'application/json' }),
    'content-length': String(Buffer.byteLength(text)),
  });
  res.end(text);
}

const rpcError = (id: Rpc['id'] | null, code: number, message: string) => ({
  jsonrpc: '2.0',
  id: id ?? null,
  error: { code, message },
});

function answer(message: Rpc, name: string): unknown {
  const { id, method, params } = message;
  const result = (value: unknown) => ({ jsonrpc: '2.0', id, result: value });
  switch (method) {
    case 'ping':
      return result({});
    case 'tools/list':
      return result({ tools: TOOLS });
    case 'tools/call': {
      const args = (params?.arguments ?? {}) as Record<string, unknown>;
      if (params?.name === 'echo' && typeof args.message === 'string')
        return result({ content: [{ type: 'text', text: `Echo: ${args.message}` }] });
      if (params?.name === 'add' && typeof args.a === 'number' && typeof args.b === 'number')
        return result({ content: [{ type: 'text', text: String(args.a + args.b) }] });
      return rpcError(id, -32602, `${name}: unknown tool or bad arguments`);
    }
    default:
      return rpcError(id, -32601, `${name}: method not found: ${String(method)}`);
  }
}

export function serveLean(options: { port: number; name: string; maxSessions: number }) {
  // Insertion order is age: beyond the cap the oldest session goes (abandoning clients never DELETE).
  const sessions = new Set<string>();
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    if (!req.url?.startsWith('/mcp')) return send(res, 404, rpcError(null, -32601, 'no MCP endpoint'));
    const sid = req.headers['mcp-session-id'];
    if (typeof sid === 'string' && !sessions.has(sid))
      return send(res, 404, rpcError(null, -32001, 'session not found'));
    if (req.method === 'GET') return send(res, 405, undefined, { allow: 'POST, DELETE' });
    if (req.method === 'DELETE') {
      if (typeof sid === 'string') sessions.delete(sid);
      return send(res, 200, undefined);
    }
    if (req.method !== 'POST') return send(res, 405, undefined, { allow: 'POST, DELETE' });
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      let message: Rpc;
      try {
        message = JSON.parse(Buffer.concat(chunks).toString('utf8')) as Rpc;
      } catch {
        return send(res, 400, rpcError(null, -32700, 'body is not JSON'));
      }
      if (typeof message !== 'object' || message === null || Array.isArray(message))
        return send(res, 400, rpcError(null, -32600, 'one JSON-RPC message per request'));
      if (typeof sid !== 'string') {
        if (message.method !== 'initialize')
          return send(res, 400, rpcError(message.id, -32000, 'Mcp-Session-Id header required'));
        const asked = message.params?.protocolVersion;
        const id = randomUUID();
        sessions.add(id);
        if (sessions.size > options.maxSessions) sessions.delete(sessions.values().next().value!);
        return send(
          res,
          200,
          {
            jsonrpc: '2.0',
            id: message.id,
            result: {
              protocolVersion: typeof asked === 'string' && VERSIONS.includes(asked) ? asked : VERSIONS[0],
              capabilities: { tools: {} },
              serverInfo: { name: options.name, version: '1.0.0' },
            },
          },
          { 'mcp-session-id': id },
        );
      }
      if (message.id === undefined) return send(res, 202, undefined); // a notification
      send(res, 200, answer(message, options.name));
    });
  });
  server.keepAliveTimeout = 120_000;
  return {
    server,
    sessions: () => sessions.size,
    listen: () =>
      new Promise<number>((resolve, reject) => {
        server.once('error', reject);
        server.listen(options.port, '127.0.0.1', () => {
          const address = server.address();
          resolve(typeof address === 'object' && address ? address.port : options.port);
        });
      }),
  };
}

/** A lean upstream as a child process of the harness (stopped with the others by proc.ts). */
export async function startLeanUpstream(name: string, maxSessions: number): Promise<RunningUpstream> {
  const child = spawnChild(
    `lean upstream ${name}`,
    process.execPath,
    [
      '--import',
      'tsx',
      'bench/lean-upstream.ts',
      '--port',
      '0',
      '--name',
      name,
      '--max-sessions',
      String(maxSessions),
    ],
    ROOT,
  );
  const line = await waitForLine(child, (l) => l.startsWith('{"ready"'), 20_000);
  const { port } = JSON.parse(line) as { port: number };
  return { name, port, urls: [`http://127.0.0.1:${port}/mcp`], pids: () => [child.pid], stop: child.stop };
}

await serveAsChild(import.meta.url, async () => {
  const { values } = parseArgs({
    options: {
      port: { type: 'string', default: '0' },
      name: { type: 'string', default: 'lean' },
      'max-sessions': { type: 'string', default: '100000' },
    },
  });
  const lean = serveLean({
    port: Number(values.port),
    name: values.name,
    maxSessions: Number(values['max-sessions']),
  });
  const port = await lean.listen();
  return {
    port,
    close: () =>
      new Promise<void>((resolve) => {
        lean.server.closeAllConnections();
        lean.server.close(() => resolve());
      }),
  };
});
