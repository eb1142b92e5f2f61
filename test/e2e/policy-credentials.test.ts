/**
 * Credentials from Secrets, through a real listener: API keys (plain, JSON with metadata, and a
 * `keyHash`) authenticate callers and feed `apiKey` to the rules; `backend.auth` puts a credential
 * from another Secret on every upstream request, and the client's own key never reaches the upstream.
 */
import { createHash } from 'node:crypto';
import { rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Gateway } from '../../src/gateway.js';
import { startTestGateway } from '../support/gateway.js';
import { postInitialize } from '../support/mcp-harness.js';
import { type FixtureServer, startFixture } from '../support/mcp-servers.js';
import { freePort } from '../support/ports.js';
import { writeManifests } from '../support/standalone.js';

let upstream: FixtureServer;
let gateway: Gateway;
let dir: string;
let url: string;

const hashed = createHash('sha256').update('k-hashed').digest('hex');

beforeAll(async () => {
  upstream = await startFixture({ name: 'up' });
  const port = await freePort();
  url = `http://127.0.0.1:${port}/mcp`;
  dir = await writeManifests(port, [{ name: 'mcp', targets: [{ name: 'up', port: upstream.port }] }]);
  await writeFile(
    join(dir, 'policies.yaml'),
    `apiVersion: v1
kind: Secret
metadata: { name: team-keys, namespace: default, labels: { mcplane.dev/credentials: "true" } }
stringData:
  ci: k-ci
  alice: '{"key": "k-alice", "metadata": {"group": "eng"}}'
  robot: '{"keyHash": "sha256:${hashed}", "metadata": {"group": "sales"}}'
---
apiVersion: v1
kind: Secret
metadata: { name: upstream-token, namespace: default, labels: { mcplane.dev/credentials: "true" } }
data:
  Authorization: ${Buffer.from('Bearer upstream-secret').toString('base64')}
---
apiVersion: agentgateway.dev/v1alpha1
kind: AgentgatewayPolicy
metadata: { name: keys, namespace: default }
spec:
  targetRefs: [{ group: gateway.networking.k8s.io, kind: Gateway, name: gw }]
  traffic:
    apiKeyAuthentication:
      secretRef: { name: team-keys }
---
apiVersion: agentgateway.dev/v1alpha1
kind: AgentgatewayPolicy
metadata: { name: upstream, namespace: default }
spec:
  targetRefs: [{ group: agentgateway.dev, kind: AgentgatewayBackend, name: mcp }]
  backend:
    auth:
      secretRef: { name: upstream-token }
    mcp:
      authorization:
        policy: { matchExpressions: ['apiKey.group == "eng" || mcp.tool.name == "echo"'] }
`,
  );
  gateway = await startTestGateway(['--manifests', dir]);
});

afterAll(async () => {
  await gateway?.stop();
  await upstream?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});

async function tools(key: string): Promise<string[]> {
  const client = new Client({ name: 'keys', version: '1' });
  await client.connect(
    new StreamableHTTPClientTransport(new URL(url), {
      requestInit: { headers: { authorization: `Bearer ${key}` } },
    }),
  );
  try {
    const names = (await client.listTools()).tools.map((t) => t.name).sort();
    await client.callTool({ name: 'echo', arguments: { message: 'hi' } });
    return names;
  } finally {
    await client.close();
  }
}

describe('API keys from a Secret', () => {
  it('refuses a missing or unknown key with 401, and never echoes it', async () => {
    for (const headers of [{}, { authorization: 'Bearer k-wrong' }] as Record<string, string>[]) {
      const response = await postInitialize(url, '2025-06-18', headers);
      expect(response.status).toBe(401);
      expect(await response.text()).not.toContain('k-wrong');
    }
  });

  it('admits each kind of entry, and its metadata decides what the caller sees', async () => {
    expect(await tools('k-alice')).toContain('add'); // group eng: everything
    expect(await tools('k-hashed')).toEqual(['echo']); // group sales, stored as a hash
    expect(await tools('k-ci')).toEqual(['echo']); // no metadata
  });
});

describe('backend.auth', () => {
  it('sends the Secret credential upstream, never the client key', async () => {
    await tools('k-alice');
    const auths = upstream.seen.map((r) => r.headers.authorization);
    expect(auths.length).toBeGreaterThan(0);
    expect(new Set(auths)).toEqual(new Set(['Bearer upstream-secret']));
    expect(JSON.stringify(upstream.seen.map((r) => r.headers))).not.toContain('k-alice');
  });
});
