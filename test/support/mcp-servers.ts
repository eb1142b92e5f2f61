/**
 * Real MCP SDK servers for proxy tests: one McpServer per session, served by the SDK's
 * StreamableHTTPServerTransport on 127.0.0.1:0. Options make two servers differ (name, which
 * features they offer) so multiplexing has something to merge.
 */
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { InMemoryEventStore } from '@modelcontextprotocol/sdk/examples/shared/inMemoryEventStore.js';
import { completable } from '@modelcontextprotocol/sdk/server/completable.js';
import { McpServer, ResourceTemplate } from '@modelcontextprotocol/sdk/server/mcp.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import { ListToolsRequestSchema } from '@modelcontextprotocol/sdk/types.js';
import { z } from 'zod';
import { featureServerOptions, registerFeatures } from './mcp-features.js';

export interface FixtureOptions {
  /** serverInfo.name and the text the tools put in their answers. */
  readonly name: string;
  readonly tools?: boolean;
  readonly prompts?: boolean;
  readonly resources?: boolean;
  /** With resources: a `link_readme` tool whose result links and embeds `memo://readme`. */
  readonly links?: boolean;
  readonly instructions?: string;
  /** Extra tool names (each answers `<name>: <server name>`), e.g. to create collisions. */
  readonly extraTools?: readonly string[];
  /** Serve tools/list in pages of this many synthetic tools `p<page>-<n>` (3 pages), for pagination tests. */
  readonly pagedTools?: number;
  /** Delay before answering initialize (to test fan-out deadlines). */
  readonly initializeDelayMs?: number;
  /** Listen on this port instead of an ephemeral one (to bring a stopped server back). */
  readonly port?: number;
  /** Tools that ask the client: `sample`, `elicit`, `roots` (see mcp-features.ts). */
  readonly clientFeatures?: boolean;
  /** Logging capability, resource subscriptions and tools that notify on the session stream. */
  readonly notifications?: boolean;
  /** Experimental tasks (2025-11-25): a task store and the task tool `delay`. */
  readonly tasks?: boolean;
  /** Speak only this protocol revision (the server answers it whatever initialize asked for). */
  readonly pinVersion?: string;
  /** false: declare `tools.listChanged: false` (McpServer declares true), a server that never announces. */
  readonly listChanged?: boolean;
  /**
   * SEP-1699 polling (2025-11-25): an event store (priming events, resumption with Last-Event-ID,
   * the stream's `retry` this many ms) and the tool `poll`, which closes its own stream `closes`
   * times, `ms` apart, with a progress notification after each close, then answers `ms` later.
   */
  readonly polling?: { readonly retryMs: number };
  /** Called for every request as it arrives; what it returns is called when the response ends (tracing). */
  readonly onRequest?: (request: SeenRequest) => (() => void) | undefined;
}

export interface SeenRequest {
  readonly method: string;
  readonly headers: IncomingHttpHeaders;
  readonly body: unknown;
}

export interface FixtureServer {
  readonly name: string;
  readonly port: number;
  readonly url: string;
  /** Every HTTP request this server received, in order. */
  readonly seen: SeenRequest[];
  /** Upstream sessions currently open (deleted ones are removed). */
  readonly sessions: Map<string, StreamableHTTPServerTransport>;
  close(): Promise<void>;
}

export function buildServer(options: FixtureOptions): McpServer {
  const server = new McpServer(
    { name: options.name, version: '1.0.0' },
    {
      ...(options.instructions ? { instructions: options.instructions } : {}),
      ...featureServerOptions(options),
    },
  );
  if (options.tools ?? true) registerTools(server, options);
  registerFeatures(server, options);
  if (options.prompts) registerPrompts(server, options);
  if (options.resources) registerResources(server, options);
  if (options.pagedTools) paginateTools(server, options.pagedTools);
  if (options.listChanged === false) server.server.registerCapabilities({ tools: { listChanged: false } });
  return server;
}

function registerTools(server: McpServer, options: FixtureOptions): void {
  server.registerTool(
    'echo',
    { description: 'Echo a message', inputSchema: { message: z.string() } },
    async ({ message }) => ({ content: [{ type: 'text', text: `Echo: ${message}` }] }),
  );
  server.registerTool(
    'add',
    { description: 'Add two numbers', inputSchema: { a: z.number(), b: z.number() } },
    async ({ a, b }) => ({ content: [{ type: 'text', text: String(a + b) }] }),
  );
  server.registerTool('whoami', { description: 'Name of the server that answered' }, async () => ({
    content: [{ type: 'text', text: options.name }],
  }));
  // Sends progress notifications before the result, so the answer is an SSE stream.
  server.registerTool(
    'count',
    { description: 'Count to n with progress', inputSchema: { n: z.number() } },
    async ({ n }, extra) => {
      const token = extra._meta?.progressToken;
      for (let i = 1; i <= n; i++) {
        if (token !== undefined) {
          await extra.sendNotification({
            method: 'notifications/progress',
            params: { progressToken: token, progress: i, total: n },
          });
        }
        await new Promise((resolve) => setTimeout(resolve, 5));
      }
      return { content: [{ type: 'text', text: `counted to ${n}` }] };
    },
  );
  server.registerTool(
    'sleep',
    { description: 'Answer after ms milliseconds', inputSchema: { ms: z.number() } },
    async ({ ms }) => {
      await new Promise((resolve) => setTimeout(resolve, ms));
      return { content: [{ type: 'text', text: `slept ${ms}` }] };
    },
  );
  // Registering a tool makes the SDK send notifications/tools/list_changed on the GET stream.
  let grown = 0;
  server.registerTool('grow', { description: 'Add a tool named grown-<n>' }, async () => {
    grown += 1;
    const name = `grown-${grown}`;
    server.registerTool(name, { description: 'grown' }, async () => ({
      content: [{ type: 'text', text: name }],
    }));
    return { content: [{ type: 'text', text: name }] };
  });
  if (options.polling) registerPolling(server, options.name);
  for (const extra of options.extraTools ?? []) {
    server.registerTool(extra, { description: `extra ${extra}` }, async () => ({
      content: [{ type: 'text', text: `${extra}: ${options.name}` }],
    }));
  }
}

function registerPolling(server: McpServer, name: string): void {
  server.registerTool(
    'poll',
    {
      description: 'Close the call stream `closes` times (the client resumes it), then answer',
      inputSchema: { closes: z.number(), ms: z.number() },
    },
    async ({ closes, ms }, extra) => {
      const token = extra._meta?.progressToken;
      for (let i = 1; i <= closes; i++) {
        extra.closeSSEStream?.();
        await new Promise((resolve) => setTimeout(resolve, ms));
        if (token !== undefined) {
          await extra.sendNotification({
            method: 'notifications/progress',
            params: { progressToken: token, progress: i, total: closes },
          });
        }
      }
      // SDK clients drop a progress notification that arrives together with the result.
      await new Promise((resolve) => setTimeout(resolve, ms));
      return { content: [{ type: 'text', text: `${name} polled ${closes} times` }] };
    },
  );
}

function registerPrompts(server: McpServer, options: FixtureOptions): void {
  server.registerPrompt(
    'greet',
    {
      description: 'Greet someone',
      argsSchema: {
        who: completable(z.string(), (value) => ['alice', 'bob'].filter((n) => n.startsWith(value))),
      },
    },
    ({ who }) => ({
      messages: [{ role: 'user', content: { type: 'text', text: `Hello ${who} from ${options.name}` } }],
    }),
  );
}

function registerResources(server: McpServer, options: FixtureOptions): void {
  server.registerResource('readme', 'memo://readme', { mimeType: 'text/plain' }, async (uri) => ({
    contents: [{ uri: uri.href, text: `readme of ${options.name}` }],
  }));
  server.registerResource(
    'note',
    new ResourceTemplate('note://{id}', {
      list: undefined,
      complete: { id: (value) => ['one', 'two', 'three'].filter((n) => n.startsWith(value)) },
    }),
    { mimeType: 'text/plain' },
    async (uri, { id }) => ({ contents: [{ uri: uri.href, text: `note ${String(id)} of ${options.name}` }] }),
  );
  // A tool whose result points at a resource, linked and embedded.
  if (options.links) {
    server.registerTool('link_readme', { description: 'Point at the readme resource' }, async () => ({
      content: [
        { type: 'resource_link', uri: 'memo://readme', name: 'readme' },
        { type: 'resource', resource: { uri: 'memo://readme', text: `readme of ${options.name}` } },
      ],
    }));
  }
}

function paginateTools(server: McpServer, pageSize: number): void {
  server.server.setRequestHandler(ListToolsRequestSchema, (request) => {
    const page = Number(request.params?.cursor ?? '0');
    const tools = Array.from({ length: pageSize }, (_, n) => ({
      name: `p${page}-${n}`,
      inputSchema: { type: 'object' as const },
    }));
    return page < 2 ? { tools, nextCursor: String(page + 1) } : { tools };
  });
}

async function readBody(req: import('node:http').IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  if (chunks.length === 0) return undefined;
  try {
    return JSON.parse(Buffer.concat(chunks).toString('utf8'));
  } catch {
    return undefined;
  }
}

function isInitialize(body: unknown): boolean {
  return typeof body === 'object' && body !== null && (body as { method?: unknown }).method === 'initialize';
}

/** Start one fixture server on 127.0.0.1:0. */
export async function startFixture(options: FixtureOptions): Promise<FixtureServer> {
  const sessions = new Map<string, StreamableHTTPServerTransport>();
  const seen: SeenRequest[] = [];
  const httpServer: Server = createServer(async (req, res) => {
    const body = req.method === 'POST' ? await readBody(req) : undefined;
    const request = { method: req.method ?? '', headers: req.headers, body };
    seen.push(request);
    const ended = options.onRequest?.(request);
    if (ended) res.once('close', ended);
    const sessionId = req.headers['mcp-session-id'];
    let transport = typeof sessionId === 'string' ? sessions.get(sessionId) : undefined;
    if (!transport && isInitialize(body)) {
      if (options.initializeDelayMs) await new Promise((r) => setTimeout(r, options.initializeDelayMs));
      const created = new StreamableHTTPServerTransport({
        sessionIdGenerator: () => randomUUID(),
        ...(options.polling
          ? { eventStore: new InMemoryEventStore(), retryInterval: options.polling.retryMs }
          : {}),
        onsessioninitialized: (id) => {
          sessions.set(id, created);
        },
        onsessionclosed: (id) => {
          sessions.delete(id);
        },
      });
      await buildServer(options).connect(created);
      transport = created;
    }
    if (!transport) {
      res.writeHead(typeof sessionId === 'string' ? 404 : 400, { 'content-type': 'application/json' });
      res.end(
        JSON.stringify({ jsonrpc: '2.0', id: null, error: { code: -32001, message: 'Session not found' } }),
      );
      return;
    }
    if (options.pinVersion && isInitialize(body)) {
      (body as { params: { protocolVersion: string } }).params.protocolVersion = options.pinVersion;
    }
    await transport.handleRequest(req, res, body);
  });
  await new Promise<void>((resolve) => httpServer.listen(options.port ?? 0, '127.0.0.1', resolve));
  const port = (httpServer.address() as AddressInfo).port;
  return {
    name: options.name,
    port,
    url: `http://127.0.0.1:${port}/mcp`,
    seen,
    sessions,
    async close() {
      for (const transport of sessions.values()) await transport.close().catch(() => {});
      httpServer.closeAllConnections();
      await new Promise<void>((resolve) => httpServer.close(() => resolve()));
    },
  };
}
