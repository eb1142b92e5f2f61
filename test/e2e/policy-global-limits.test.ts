/**
 * Per-identity × per-tool limits shared by two replicas through a real redis-server: a policy's
 * `global` descriptors (`jwt.sub`, `mcp.tool.name`) with the budget in `limitOverride`, counted by
 * mcplane itself in the Redis its `backendRef` names. Each bucket admits exactly its budget across
 * both replicas; with Redis stopped, a FailOpen replica admits and a FailClosed one refuses, both
 * promptly and both stay up; when Redis is back the limits apply again.
 */
import { rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { JWTPayload } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Gateway } from '../../src/gateway.js';
import { startTestGateway } from '../support/gateway.js';
import { testIssuer } from '../support/jwt.js';
import { type FixtureServer, startFixture } from '../support/mcp-servers.js';
import { freePort } from '../support/ports.js';
import { type RedisServer, startRedis } from '../support/redis.js';
import { writeManifests } from '../support/standalone.js';

const ISSUER = 'https://idp.test';
const BUDGET = 4;

let redis: RedisServer;
let upstream: FixtureServer;
const replicas: Array<{ gateway: Gateway; dir: string; url: string }> = [];
let sign: (claims: JWTPayload) => Promise<string>;

function policies(jwks: string, redisPort: number, failureMode: string): string {
  return `apiVersion: v1
kind: Service
metadata: { name: redis, namespace: default }
spec:
  ports: [{ name: redis, port: 6379 }]
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: { name: redis-1, namespace: default, labels: { kubernetes.io/service-name: redis } }
addressType: IPv4
ports: [{ name: redis, port: ${redisPort} }]
endpoints: [{ addresses: [127.0.0.1] }]
---
apiVersion: agentgateway.dev/v1alpha1
kind: AgentgatewayPolicy
metadata: { name: jwt, namespace: default }
spec:
  targetRefs: [{ group: gateway.networking.k8s.io, kind: Gateway, name: gw }]
  traffic:
    jwtAuthentication:
      providers: [{ issuer: ${ISSUER}, jwks: { inline: '${jwks}' } }]
---
apiVersion: agentgateway.dev/v1alpha1
kind: AgentgatewayPolicy
metadata: { name: per-user-tool, namespace: default }
spec:
  targetRefs: [{ group: gateway.networking.k8s.io, kind: HTTPRoute, name: mcp }]
  traffic:
    rateLimit:
      conditional:
        - condition: mcp.method == "tools/call"
          policy:
            global:
              domain: mcp
              backendRef: { kind: Service, name: redis, port: 6379 }
              failureMode: ${failureMode}
              descriptors:
                - entries: [{ name: user, expression: jwt.sub }, { name: tool, expression: mcp.tool.name }]
                  limitOverride: '{"unit": "minute", "requestsPerUnit": ${BUDGET}}'
`;
}

const HEADERS = { 'content-type': 'application/json', accept: 'application/json, text/event-stream' };

async function session(url: string, bearer: string): Promise<Record<string, string>> {
  const auth = { ...HEADERS, authorization: `Bearer ${bearer}` };
  const init = await fetch(url, {
    method: 'POST',
    headers: auth,
    body: JSON.stringify({
      jsonrpc: '2.0',
      id: 0,
      method: 'initialize',
      params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'raw', version: '1' } },
    }),
  });
  expect(init.status).toBe(200);
  await init.text();
  return {
    ...auth,
    'mcp-session-id': init.headers.get('mcp-session-id')!,
    'mcp-protocol-version': '2025-06-18',
  };
}

let nextId = 1;
async function call(url: string, headers: Record<string, string>, tool: string): Promise<number> {
  const args = tool === 'add' ? { a: 1, b: 2 } : { message: 'hi' };
  const response = await fetch(url, {
    method: 'POST',
    headers,
    body: JSON.stringify({
      jsonrpc: '2.0',
      id: nextId++,
      method: 'tools/call',
      params: { name: tool, arguments: args },
    }),
  });
  await response.text();
  return response.status;
}

beforeAll(async () => {
  redis = await startRedis();
  upstream = await startFixture({ name: 'calc' });
  const idp = await testIssuer(ISSUER);
  sign = (claims) => idp.sign(claims);
  for (const failureMode of ['FailOpen', 'FailClosed']) {
    const port = await freePort();
    const dir = await writeManifests(port, [
      { name: 'mcp', targets: [{ name: 'calc', port: upstream.port }] },
    ]);
    await writeFile(join(dir, 'policies.yaml'), policies(idp.jwks, redis.port, failureMode));
    const gateway = await startTestGateway(['--manifests', dir]);
    replicas.push({ gateway, dir, url: `http://127.0.0.1:${port}/mcp` });
  }
});

afterAll(async () => {
  for (const r of replicas) {
    await r.gateway.stop();
    await rm(r.dir, { recursive: true, force: true });
  }
  await upstream?.close();
  await redis?.stop();
});

describe('global limits in Redis, shared by replicas', () => {
  it('admits exactly the budget per identity × tool across both replicas', async () => {
    const [a, b] = replicas;
    for (const user of ['alice', 'bob']) {
      const bearer = await sign({ sub: user });
      const onA = await session(a!.url, bearer);
      const onB = await session(b!.url, bearer);
      for (const tool of ['echo', 'add']) {
        const statuses = await Promise.all(
          Array.from({ length: BUDGET + 3 }, (_, i) =>
            i % 2 === 0 ? call(a!.url, onA, tool) : call(b!.url, onB, tool),
          ),
        );
        expect(
          statuses.filter((s) => s === 200),
          `${user} × ${tool}: ${statuses}`,
        ).toHaveLength(BUDGET);
        expect(statuses.filter((s) => s === 429)).toHaveLength(3);
      }
    }
    const { values } = await replicas[0]!.gateway.metrics.rateLimitRejections.get();
    expect(values.filter((v) => v.labels.limit === 'global').length).toBeGreaterThan(0);
  });

  it('follows each failureMode while Redis is down, stays up, and counts again when it is back', async () => {
    const [open, closed] = replicas;
    const bearer = await sign({ sub: 'carol' });
    const onOpen = await session(open!.url, bearer);
    const onClosed = await session(closed!.url, bearer);
    await redis.stop();
    const started = performance.now();
    const whileDown = await Promise.all(
      Array.from({ length: BUDGET + 2 }, () =>
        Promise.all([call(open!.url, onOpen, 'echo'), call(closed!.url, onClosed, 'echo')]),
      ),
    );
    expect(performance.now() - started).toBeLessThan(3_000);
    expect(whileDown.map(([o]) => o)).toEqual(Array(BUDGET + 2).fill(200)); // FailOpen admits
    expect(whileDown.map(([, c]) => c)).toEqual(Array(BUDGET + 2).fill(429)); // FailClosed refuses
    expect(open!.gateway.readiness().ready && closed!.gateway.readiness().ready).toBe(true);
    await redis.start();
    // The clients reconnect in the background; then the budget is counted again.
    const deadline = Date.now() + 10_000;
    let statuses: number[] = [];
    while (Date.now() < deadline) {
      const dave = await session(closed!.url, await sign({ sub: `dave-${Date.now()}` }));
      statuses = [];
      for (let i = 0; i < BUDGET + 1; i++) statuses.push(await call(closed!.url, dave, 'add'));
      if (statuses.filter((s) => s === 200).length === BUDGET) break;
      await new Promise((r) => setTimeout(r, 200));
    }
    expect(statuses).toEqual([...Array(BUDGET).fill(200), 429]);
  });
});
