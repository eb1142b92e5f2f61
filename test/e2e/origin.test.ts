/**
 * Origin and Host checks through real listeners. A listener bound to `::ffff:127.0.0.1` is loopback
 * (by address) and refuses a rebinding Host and a foreign Origin. The non-loopback policy (what a
 * 0.0.0.0 bind, the chart, gets: Origin checked, Host not) is served here in-process by
 * createGatewayApp with `loopback: false` on 127.0.0.1, since tests bind nothing but loopback.
 */

import { rm } from 'node:fs/promises';
import { request } from 'node:http';
import { createServer } from 'node:net';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Gateway } from '../../src/gateway.js';
import { createGatewayApp } from '../../src/proxy/gateway-app.js';
import { McpService } from '../../src/proxy/mcp/index.js';
import { TrustedProxies } from '../../src/proxy/policy/forwarded.js';
import { Guards } from '../../src/proxy/policy/guards.js';
import { originPolicy } from '../../src/proxy/rebinding.js';
import { serveReplies } from '../../src/proxy/reply-writer.js';
import { type HttpServer, listen } from '../../src/proxy/server.js';
import { silentLogger } from '../../src/shared/logger.js';
import { createMetrics, type Metrics } from '../../src/shared/metrics.js';
import { startTestGateway } from '../support/gateway.js';
import { backendOf, TEST_KEYS, tableOf, targetOf } from '../support/mcp-harness.js';
import { type FixtureServer, startFixture } from '../support/mcp-servers.js';
import { freePort } from '../support/ports.js';
import { writeManifests } from '../support/standalone.js';

/** One POST initialize with chosen Host and Origin headers (fetch cannot set Host). */
function post(
  port: number,
  headers: Record<string, string>,
): Promise<{ status: number; body: { error?: { message: string } } }> {
  const body = JSON.stringify({
    jsonrpc: '2.0',
    id: 1,
    method: 'initialize',
    params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'raw', version: '1' } },
  });
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: '127.0.0.1',
        port,
        path: '/mcp',
        method: 'POST',
        agent: false,
        headers: {
          host: `127.0.0.1:${port}`,
          'content-type': 'application/json',
          accept: 'application/json, text/event-stream',
          ...headers,
        },
      },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (text += chunk));
        res.on('end', () => {
          const json = text.startsWith('{') ? text : (/^data: (.*)$/m.exec(text)?.[1] ?? '{}');
          resolve({ status: res.statusCode ?? 0, body: JSON.parse(json) });
        });
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

async function originRejections(metrics: Metrics): Promise<number> {
  const { values } = await metrics.limitRejections.get();
  return values.find((v) => v.labels.limit === 'origin')?.value ?? 0;
}

let upstream: FixtureServer;

beforeAll(async () => {
  upstream = await startFixture({ name: 'up' });
});

afterAll(async () => {
  await upstream?.close();
});

/** Whether this kernel lets us bind an IPv4-mapped IPv6 address (no IPv6: it does not). */
const mappedBind = await new Promise<string | undefined>((resolve) => {
  const probe = createServer();
  probe.once('error', (err: NodeJS.ErrnoException) => resolve(err.code ?? err.message));
  probe.listen(0, '::ffff:127.0.0.1', () => probe.close(() => resolve(undefined)));
});

describe.skipIf(mappedBind !== undefined)(
  `a listener bound to ::ffff:127.0.0.1 is loopback${mappedBind ? ` (skipped: the kernel refuses to bind it: ${mappedBind})` : ''}`,
  () => {
    let gateway: Gateway;
    let dir: string;
    let port: number;

    beforeAll(async () => {
      port = await freePort();
      dir = await writeManifests(port, [{ name: 'mcp', targets: [{ name: 'up', port: upstream.port }] }]);
      gateway = await startTestGateway(['--manifests', dir, '--bind-address', '::ffff:127.0.0.1']);
    });

    afterAll(async () => {
      await gateway?.stop();
      if (dir) await rm(dir, { recursive: true, force: true });
    });

    it('refuses a rebinding Host and a foreign Origin with 403, and serves loopback ones', async () => {
      const rebound = await post(port, { host: `attacker.example:${port}` });
      expect(rebound.status).toBe(403);
      expect(rebound.body.error?.message).toContain('Host "attacker.example');
      const foreign = await post(port, { origin: 'http://attacker.example' });
      expect(foreign.status).toBe(403);
      expect(foreign.body.error?.message).toContain('--allowed-origins=http://attacker.example');
      expect(await originRejections(gateway.metrics)).toBe(2);

      expect((await post(port, {})).status).toBe(200);
      expect((await post(port, { host: `localhost:${port}`, origin: 'http://localhost:6274' })).status).toBe(
        200,
      );
    });
  },
);

describe('a listener not bound to loopback (0.0.0.0, the chart) checks Origin, not Host', () => {
  let metrics: Metrics;
  let service: McpService;
  let servers: HttpServer[] = [];

  async function serve(allowedOrigins: readonly string[]): Promise<number> {
    const backend = backendOf([targetOf('up', upstream.port)]);
    const table = tableOf(1, backend);
    const app = createGatewayApp({
      port: 8080, // the table's listener port; the socket is bound wherever listen() puts it
      loopback: false,
      origins: originPolicy(allowedOrigins),
      table: () => table,
      mcp: service,
      guards: new Guards({ logger: silentLogger, metrics, trustedProxies: new TrustedProxies([]) }),
      logger: silentLogger,
      metrics,
    });
    const server = await listen(serveReplies(app.serve), 0, '127.0.0.1');
    servers.push(server);
    return server.port;
  }

  beforeAll(() => {
    metrics = createMetrics(new Registry(), { processMetrics: false });
    service = new McpService({
      logger: silentLogger,
      metrics,
      keyRing: TEST_KEYS,
      sessionIdleTtlMs: 60_000,
      maxSessions: 100,
      maxBodyBytes: 1024 * 1024,
      fanoutTimeoutMs: 2000,
      sseKeepAliveMs: 15_000,
    });
  });

  afterAll(async () => {
    await service.close(1000);
    for (const server of servers) server.destroy();
    await Promise.all(servers.map((s) => s.close()));
    servers = [];
  });

  it('refuses a present Origin that is not allowed with 403 and says how to allow it', async () => {
    const port = await serve([]);
    const before = await originRejections(metrics);
    const foreign = await post(port, { origin: 'https://attacker.example' });
    expect(foreign.status).toBe(403);
    expect(foreign.body).toMatchObject({ jsonrpc: '2.0', id: null, error: { code: -32600 } });
    expect(foreign.body.error?.message).toContain('Origin "https://attacker.example" is not allowed');
    expect(foreign.body.error?.message).toContain('--allowed-origins=https://attacker.example');
    const opaque = await post(port, { origin: 'null' });
    expect(opaque.status).toBe(403);
    expect(opaque.body.error?.message).toContain('--allowed-origins=null');
    expect((await post(port, { origin: 'http://attacker.example/page' })).status).toBe(403);
    expect(await originRejections(metrics)).toBe(before + 3);
  });

  it('serves requests without an Origin whatever their Host, and loopback origins', async () => {
    const port = await serve([]);
    // A Service name, an ingress host: on a non-loopback listener the Host is for route matching.
    expect((await post(port, { host: 'agentgateway.mcp-system.svc' })).status).toBe(200);
    expect((await post(port, { origin: 'http://localhost:6274' })).status).toBe(200);
    expect((await post(port, { origin: 'http://127.0.0.1:6274' })).status).toBe(200);
    // A whole MCP session from a loopback origin, as the Inspector through `kubectl port-forward`.
    const client = new Client({ name: 'browser-like', version: '1.0.0' });
    await client.connect(
      new StreamableHTTPClientTransport(new URL(`http://127.0.0.1:${port}/mcp`), {
        requestInit: { headers: { origin: 'http://localhost:6274' } },
      }),
    );
    const tools = await client.listTools();
    expect(tools.tools.map((t) => t.name)).toContain('echo');
    await client.close();
  });

  it('serves the origins listed in --allowed-origins, and any with *', async () => {
    const listed = await serve(['https://app.example.com', 'null']);
    expect((await post(listed, { origin: 'https://app.example.com' })).status).toBe(200);
    expect((await post(listed, { origin: 'null' })).status).toBe(200);
    expect((await post(listed, { origin: 'https://app.example.com.attacker.example' })).status).toBe(403);
    const any = await serve(['*']);
    expect((await post(any, { origin: 'https://anything.example' })).status).toBe(200);
  });
});
