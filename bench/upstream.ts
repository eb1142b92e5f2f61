/**
 * A zero-latency MCP upstream for the benchmark: the real SDK McpServer behind its streamable HTTP
 * transport, stateful sessions, on 127.0.0.1. Tools: `echo`, `add`, `sleep` (ms), `big` (N KiB of text)
 * and optionally `extra_<i>` filler tools so tools/list has a realistic size.
 *
 * Run as its own process so the load generator and the upstream do not share an event loop:
 *   node --import tsx bench/upstream.ts --port 0 --name one [--extra-tools 16] [--sse] [--max-sessions N]
 * It prints one JSON line `{"ready":true,"port":N,"pid":P}` once listening.
 */
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import { isInitializeRequest } from '@modelcontextprotocol/sdk/types.js';
import { z } from 'zod';
import { serveAsChild, upstreamArgs } from './child.js';

export interface UpstreamOptions {
  /** 0 picks a free port. */
  readonly port: number;
  /** Server name reported in initialize (and in the text of `echo` when `tagEcho`). */
  readonly name: string;
  /** Filler tools beyond the four real ones. */
  readonly extraTools: number;
  /** Answer POSTs with SSE streams (the SDK default) instead of plain JSON bodies. */
  readonly sse: boolean;
  /** Sessions kept; the least recently used is closed beyond this (abandoned clients never DELETE). */
  readonly maxSessions: number;
}

export interface Upstream {
  readonly port: number;
  readonly sessions: () => number;
  readonly close: () => Promise<void>;
}

// Shared across sessions: a per-session McpServer is unavoidable in the SDK, per-session schemas are not.
const echoShape = { message: z.string() };
const addShape = { a: z.number(), b: z.number() };
const sleepShape = { ms: z.number().int().min(0).max(60_000) };
const bigShape = { kib: z.number().int().min(0).max(16_384) };
const bigTexts = new Map<number, string>();

function text(value: string) {
  return { content: [{ type: 'text' as const, text: value }] };
}

type JsonStreams = Map<string, { resolveJson?: (response: Response) => void }>;

/**
 * Works around modelcontextprotocol/typescript-sdk#2559 (SDK 1.32; the v1.x fix is pending): in
 * JSON-response mode the transport never removes a finished request's stream mapping, so every
 * response stays reachable for the session's life. Long runs of 64 KiB results filled the
 * upstream's 4 GB heap (~120 KB kept per call) and slowed every window before that. Each mapping is
 * now removed as its response is handed over; a no-op if the SDK's internals change.
 */
function releaseFinishedJsonStreams(transport: StreamableHTTPServerTransport): void {
  const inner = (transport as unknown as { _webStandardTransport?: { _streamMapping?: unknown } })
    ._webStandardTransport;
  const streams = inner?._streamMapping;
  if (!(streams instanceof Map)) return;
  const mapping = streams as JsonStreams;
  const set = mapping.set.bind(mapping);
  mapping.set = (id, entry) => {
    const resolve = entry.resolveJson;
    if (resolve) {
      entry.resolveJson = (response) => {
        mapping.delete(id);
        resolve(response);
      };
    }
    return set(id, entry);
  };
}

function buildServer(options: UpstreamOptions): McpServer {
  const server = new McpServer({ name: options.name, version: '1.0.0' });
  server.registerTool(
    'echo',
    { description: 'Echo the message back', inputSchema: echoShape },
    ({ message }) => text(`Echo: ${message}`),
  );
  server.registerTool('add', { description: 'Add two numbers', inputSchema: addShape }, ({ a, b }) =>
    text(String(a + b)),
  );
  server.registerTool(
    'sleep',
    { description: 'Wait ms milliseconds', inputSchema: sleepShape },
    async ({ ms }) => {
      await sleep(ms);
      return text(`slept ${ms}`);
    },
  );
  server.registerTool('big', { description: 'Return kib KiB of text', inputSchema: bigShape }, ({ kib }) => {
    let body = bigTexts.get(kib);
    if (body === undefined) {
      body = 'x'.repeat(kib * 1024);
      bigTexts.set(kib, body);
    }
    return text(body);
  });
  for (let i = 0; i < options.extraTools; i++) {
    server.registerTool(
      `extra_${i}`,
      { description: `Filler tool ${i} of ${options.name}: returns its own name`, inputSchema: echoShape },
      () => text(`extra_${i}`),
    );
  }
  return server;
}

function sendError(res: ServerResponse, status: number, code: number, message: string): void {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify({ jsonrpc: '2.0', error: { code, message }, id: null }));
}

async function readJson(req: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return JSON.parse(Buffer.concat(chunks).toString('utf8'));
}

export async function startUpstream(options: UpstreamOptions): Promise<Upstream> {
  // Insertion order doubles as LRU order: a touched session is moved to the end.
  const sessions = new Map<string, StreamableHTTPServerTransport>();

  const evict = (): void => {
    while (sessions.size > options.maxSessions) {
      const [oldest, transport] = sessions.entries().next().value as [string, StreamableHTTPServerTransport];
      sessions.delete(oldest);
      void transport.close();
    }
  };

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    if (!req.url?.startsWith('/mcp')) return sendError(res, 404, -32601, `no MCP endpoint at ${req.url}`);
    const sid = req.headers['mcp-session-id'];
    if (typeof sid === 'string') {
      const transport = sessions.get(sid);
      if (!transport) return sendError(res, 404, -32001, 'session not found');
      sessions.delete(sid);
      sessions.set(sid, transport);
      return transport.handleRequest(req, res);
    }
    if (req.method !== 'POST') return sendError(res, 400, -32000, 'Mcp-Session-Id header required');
    let body: unknown;
    try {
      body = await readJson(req);
    } catch {
      return sendError(res, 400, -32700, 'body is not JSON');
    }
    if (!isInitializeRequest(body)) return sendError(res, 400, -32000, 'no session: send initialize first');
    const transport: StreamableHTTPServerTransport = new StreamableHTTPServerTransport({
      sessionIdGenerator: randomUUID,
      enableJsonResponse: !options.sse,
      onsessioninitialized: (id) => {
        sessions.set(id, transport);
        evict();
      },
    });
    transport.onclose = () => {
      if (transport.sessionId) sessions.delete(transport.sessionId);
    };
    if (!options.sse) releaseFinishedJsonStreams(transport);
    await buildServer(options).connect(transport);
    await transport.handleRequest(req, res, body);
  };

  const server: Server = createServer((req, res) => {
    handle(req, res).catch((err: unknown) => {
      if (!res.headersSent) sendError(res, 500, -32603, (err as Error).message);
      else res.destroy();
    });
  });
  server.keepAliveTimeout = 120_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, '127.0.0.1', () => resolve());
  });
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : options.port;
  return {
    port,
    sessions: () => sessions.size,
    close: async () => {
      for (const transport of sessions.values()) await transport.close();
      sessions.clear();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

await serveAsChild(import.meta.url, () => startUpstream(upstreamArgs({ name: 'upstream', extraTools: 0 })));
