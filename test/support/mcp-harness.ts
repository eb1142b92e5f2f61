/**
 * A tiny gateway for proxy tests: @hono/node-server on 127.0.0.1:0 serving McpService for one
 * McpBackend (swappable, as a routing-table swap would), without the listener manager.
 */
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { Registry } from 'prom-client';
import { afterAll } from 'vitest';
import { KeyRing, McpService, type McpServiceOptions } from '../../src/proxy/mcp/index.js';
import { serveReplies } from '../../src/proxy/reply-writer.js';
import { type HttpServer, listen } from '../../src/proxy/server.js';
import { silentLogger } from '../../src/shared/logger.js';
import { createMetrics, type LimitName, type Metrics } from '../../src/shared/metrics.js';
import type { TableChange } from '../../src/shared/publisher.js';
import type { FailureMode, McpBackend, McpTarget, PrefixMode, RoutingTable } from '../../src/shared/table.js';

export const ROUTE = { id: 'default/mcp/0/0', routeName: 'default/mcp' };

export function targetOf(name: string, port: number, extra: Partial<McpTarget> = {}): McpTarget {
  return {
    name,
    protocol: 'StreamableHTTP',
    path: '/mcp',
    host: '127.0.0.1',
    port,
    endpoints: [],
    source: 'static',
    ...extra,
  };
}

export function backendOf(
  targets: McpTarget[],
  options: { prefixMode?: PrefixMode; failureMode?: FailureMode; name?: string } = {},
): McpBackend {
  const name = options.name ?? 'mcp-backend';
  return {
    id: `gateway.kgateway.dev/Backend/default/${name}`,
    namespace: 'default',
    name,
    prefixMode: options.prefixMode ?? 'Conditional',
    failureMode: options.failureMode ?? 'FailClosed',
    sessionRouting: 'Stateful',
    targets,
  };
}

export function tableOf(version: number, backend: McpBackend): RoutingTable {
  return {
    version,
    listeners: [
      {
        port: 8080,
        gatewayListeners: ['default/gw/http'],
        routes: [
          {
            ...ROUTE,
            hostname: '*',
            path: { type: 'PathPrefix', value: '/' },
            headers: [],
            queryParams: [],
            action: { type: 'mcp', backend },
          },
        ],
      },
    ],
  };
}

export interface Gateway {
  readonly url: string;
  readonly service: McpService;
  readonly metrics: Metrics;
  backend: McpBackend;
  /** Swap the backend and tell the service, as TablePublisher.onChange would. */
  swap(next: McpBackend): void;
  close(): Promise<void>;
}

export const TEST_KEYS = KeyRing.fromSpec(`k1:${'11'.repeat(32)}`);

export async function startGateway(
  backend: McpBackend,
  options: Partial<McpServiceOptions> = {},
): Promise<Gateway> {
  const metrics = createMetrics(new Registry(), { processMetrics: false });
  const service = new McpService({
    logger: silentLogger,
    metrics,
    keyRing: TEST_KEYS,
    sessionIdleTtlMs: 60_000,
    maxSessions: 1000,
    maxBodyBytes: 1024 * 1024,
    fanoutTimeoutMs: 2_000,
    sseKeepAliveMs: 15_000,
    ...options,
  });
  let version = 1;
  const gateway = {
    url: '',
    service,
    metrics,
    backend,
    swap(next: McpBackend) {
      const previous = tableOf(version, gateway.backend);
      version += 1;
      gateway.backend = next;
      const change: TableChange = { previous, next: tableOf(version, next), changedAt: performance.now() };
      service.onTableChange(change);
    },
    async close() {
      await service.close(1000);
      const closed = server.close();
      server.destroy();
      await closed;
    },
  };
  // The listeners' own HTTP adapter (src/proxy/server.ts), so its connection signal is what aborts.
  const server: HttpServer = await listen(
    serveReplies((request, connection) => service.handle(request, gateway.backend, ROUTE, connection.signal)),
    0,
    '127.0.0.1',
  );
  gateway.url = `http://127.0.0.1:${server.port}/mcp`;
  return gateway;
}

type BackendOptions = Parameters<typeof backendOf>[1];

/**
 * The gateways a test file (or a describe block) starts, each closed after its tests: call once at
 * the top, then `gateways.over([alpha, beta])` for a gateway in front of fixture servers (named and
 * reached by their name and port), or `gateways.start(backend)` for any backend.
 */
export function testGateways(defaults: Partial<McpServiceOptions> = {}) {
  const started: Gateway[] = [];
  afterAll(async () => {
    await Promise.all(started.splice(0).map((g) => g.close()));
  });
  const start = async (backend: McpBackend, options: Partial<McpServiceOptions> = {}) => {
    const gateway = await startGateway(backend, { ...defaults, ...options });
    started.push(gateway);
    return gateway;
  };
  return {
    start,
    over: (
      servers: ReadonlyArray<{ readonly name: string; readonly port: number }>,
      backendOptions?: BackendOptions,
      options?: Partial<McpServiceOptions>,
    ) =>
      start(
        backendOf(
          servers.map((s) => targetOf(s.name, s.port)),
          backendOptions,
        ),
        options,
      ),
  };
}

export async function connectClient(url: string, name = 'test-client'): Promise<Client> {
  const client = new Client({ name, version: '1.0.0' });
  await client.connect(new StreamableHTTPClientTransport(new URL(url)));
  return client;
}

export const MCP_HEADERS = {
  'content-type': 'application/json',
  accept: 'application/json, text/event-stream',
} as const;

/** POST an initialize request over fetch, as a client would; returns the raw response. */
export function postInitialize(
  url: string,
  protocolVersion = '2025-06-18',
  /** More headers: a bearer token, an Origin. */
  headers: Readonly<Record<string, string>> = {},
): Promise<Response> {
  return fetch(url, {
    method: 'POST',
    headers: { ...MCP_HEADERS, ...headers },
    body: JSON.stringify({
      jsonrpc: '2.0',
      id: 1,
      method: 'initialize',
      params: { protocolVersion, capabilities: {}, clientInfo: { name: 'raw', version: '1' } },
    }),
  });
}

/** Raw initialize over fetch; returns the session id. */
export async function rawInitialize(url: string, protocolVersion = '2025-06-18'): Promise<string> {
  const response = await postInitialize(url, protocolVersion);
  if (response.status !== 200)
    throw new Error(`initialize failed: ${response.status} ${await response.text()}`);
  await response.text();
  return response.headers.get('mcp-session-id')!;
}

export function textOf(result: unknown): string {
  const content = (result as { content?: Array<{ type: string; text?: string }> }).content ?? [];
  return content.map((c) => c.text ?? '').join('');
}

/**
 * The JSON-RPC messages of a response, whether the gateway answered JSON or SSE (a SEP-1699
 * priming event's empty data is not a message).
 */
export async function messagesOf(response: Response): Promise<any[]> {
  const text = await response.text();
  if (!(response.headers.get('content-type') ?? '').startsWith('text/event-stream'))
    return [JSON.parse(text)];
  return text
    .split('\n')
    .filter((line) => line.startsWith('data: ') && line.length > 6)
    .map((line) => JSON.parse(line.slice(6)));
}

/** How often a bound refused something: mcplane_limit_rejections_total{limit}. */
export async function limitCount(metrics: Metrics, limit: LimitName): Promise<number> {
  const { values } = await metrics.limitRejections.get();
  return values.find((v) => v.labels.limit === limit)?.value ?? 0;
}
