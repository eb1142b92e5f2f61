/**
 * mcplane as an OAuth 2.1 resource server in front of real MCP servers, with a real authorization
 * server (oidc-provider, test/support/oauth-server.ts): an SDK client starts unauthenticated,
 * follows the 401 and the RFC 9728 metadata, registers, completes authorization code + PKCE with a
 * resource indicator, and lists and calls tools; what it sees depends on its group claim. Upstream,
 * each user's token is exchanged (RFC 8693) for one meant for the upstream, once per user, and the
 * client's token never leaves the gateway. Tokens for another audience, expired, signed by an
 * unknown key or from another issuer are refused with 401 and a challenge.
 */
import { rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createRemoteJWKSet, decodeJwt, jwtVerify } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Gateway } from '../../src/gateway.js';
import { startTestGateway } from '../support/gateway.js';
import { postInitialize } from '../support/mcp-harness.js';
import { type FixtureServer, startFixture } from '../support/mcp-servers.js';
import { type AuthServer, runSdkOAuthFlow, startAuthServer } from '../support/oauth-server.js';
import { freePort } from '../support/ports.js';
import { writeManifests } from '../support/standalone.js';

const UPSTREAM_AUDIENCE = 'https://tools.internal.example/mcp';

let as: AuthServer;
let upstream: FixtureServer;
let brokenUpstream: FixtureServer;
let gateway: Gateway;
let dir: string;
let port: number;
let url: string;

beforeAll(async () => {
  as = await startAuthServer();
  upstream = await startFixture({ name: 'tools' });
  brokenUpstream = await startFixture({ name: 'broken' });
  port = await freePort();
  url = `http://127.0.0.1:${port}/mcp`;
  dir = await writeManifests(port, [
    { name: 'mcp', pathPrefix: '/mcp', targets: [{ name: 'tools', port: upstream.port }] },
    { name: 'broken', pathPrefix: '/broken', targets: [{ name: 'legacy', port: brokenUpstream.port }] },
  ]);
  const exchange = (name: string, secret: string) => `apiVersion: v1
kind: Secret
metadata: { name: ${name}, namespace: default }
stringData: { clientSecret: '${secret}' }`;
  await writeFile(
    join(dir, 'policies.yaml'),
    `${exchange('exchange-client', as.confidentialClient.clientSecret)}
---
${exchange('wrong-client', 'not-the-secret')}
---
apiVersion: agentgateway.dev/v1alpha1
kind: AgentgatewayPolicy
metadata: { name: oauth, namespace: default }
spec:
  targetRefs: [{ group: gateway.networking.k8s.io, kind: Gateway, name: gw }]
  traffic:
    jwtAuthentication:
      providers:
        - issuer: ${as.issuer}
          audiences: [${url}, http://127.0.0.1:${port}/broken]
          jwks: { remote: { url: ${as.jwksUrl}, cacheDuration: 5m } }
      mcp:
        resourceMetadata: { scopesSupported: [mcp:tools] }
---
apiVersion: agentgateway.dev/v1alpha1
kind: AgentgatewayPolicy
metadata: { name: tools, namespace: default }
spec:
  targetRefs: [{ group: agentgateway.dev, kind: AgentgatewayBackend, name: mcp }]
  backend:
    auth:
      oauthTokenExchange:
        url: ${as.tokenEndpoint}
        clientAuth: { clientId: ${as.confidentialClient.clientId}, secretRef: { name: exchange-client } }
        resources: [${UPSTREAM_AUDIENCE}]
    mcp:
      authorization:
        policy: { matchExpressions: ['"eng" in jwt.groups || mcp.tool.name == "echo"'] }
---
apiVersion: agentgateway.dev/v1alpha1
kind: AgentgatewayPolicy
metadata: { name: broken-exchange, namespace: default }
spec:
  targetRefs: [{ group: agentgateway.dev, kind: AgentgatewayBackend, name: broken }]
  backend:
    auth:
      oauthTokenExchange:
        url: ${as.tokenEndpoint}
        clientAuth: { clientId: ${as.confidentialClient.clientId}, secretRef: { name: wrong-client } }
        resources: [${UPSTREAM_AUDIENCE}]
`,
  );
  gateway = await startTestGateway(['--manifests', dir]);
}, 30_000);

afterAll(async () => {
  await gateway?.stop();
  await upstream?.close();
  await brokenUpstream?.close();
  await as?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});

const post = (to: string, token?: string) =>
  postInitialize(to, '2025-06-18', token ? { authorization: `Bearer ${token}` } : {});

describe('the MCP authorization flow through mcplane', () => {
  it('an SDK client authorizes with PKCE and a resource indicator, then sees and calls what its group allows', async () => {
    const alice = await runSdkOAuthFlow(url, { sub: 'alice' });
    const bob = await runSdkOAuthFlow(url, { sub: 'bob' });
    try {
      const aliceTools = (await alice.listTools()).tools.map((t) => t.name);
      expect(aliceTools).toContain('add');
      expect((await bob.listTools()).tools.map((t) => t.name)).toEqual(['echo']);
      for (let i = 0; i < 3; i++) {
        const result = await alice.callTool({ name: 'add', arguments: { a: i, b: 1 } });
        expect(JSON.stringify(result)).toContain(String(i + 1));
      }
      await bob.callTool({ name: 'echo', arguments: { message: 'hi' } });
      await expect(bob.callTool({ name: 'add', arguments: { a: 1, b: 1 } })).rejects.toThrow(/Unknown tool/);
    } finally {
      await alice.close();
      await bob.close();
    }
  });

  it('sends each user upstream with an exchanged token for the upstream audience, exchanged once per user', async () => {
    const jwks = createRemoteJWKSet(new URL(as.jwksUrl));
    const tokens = new Set(upstream.seen.map((r) => r.headers.authorization));
    expect(tokens.size).toBe(2); // alice's and bob's, each reused for every request
    const subs = new Set<string>();
    for (const header of tokens) {
      expect(header).toMatch(/^Bearer /);
      const { payload } = await jwtVerify(header!.slice(7), jwks, {
        issuer: as.issuer,
        audience: UPSTREAM_AUDIENCE,
      });
      subs.add(String(payload.sub));
    }
    expect(subs).toEqual(new Set(['alice', 'bob']));
    expect(as.exchangeCount()).toBe(2);
    // The client's own token (audience: mcplane's URL) never reaches the upstream.
    for (const header of tokens) expect(decodeJwt(header!.slice(7)).aud).not.toBe(url);
    const { values } = await gateway.metrics.tokenExchanges.get();
    expect(values.find((v) => v.labels.outcome === 'ok')?.value).toBe(2);
  });

  it('answers a failed exchange with a JSON-RPC error that names the target', async () => {
    const brokenUrl = `http://127.0.0.1:${port}/broken`;
    const token = await as.mintToken({ sub: 'alice', audience: brokenUrl, scope: 'mcp:tools' });
    const response = await post(brokenUrl, token);
    expect(response.status).toBe(502);
    const body = (await response.json()) as { error: { code: number; message: string } };
    expect(body.error.code).toBe(-32002);
    expect(body.error.message).toContain('legacy');
    expect(body.error.message).toContain('invalid_client');
    expect(brokenUpstream.seen).toHaveLength(0);
  });
});

describe('tokens mcplane refuses', () => {
  const cases: Array<[string, () => Promise<string>]> = [
    [
      'a token for another audience',
      () => as.mintToken({ sub: 'alice', audience: 'https://elsewhere.example/mcp', scope: 'mcp:tools' }),
    ],
    [
      'an expired token',
      () => as.mintToken({ sub: 'alice', audience: url, scope: 'mcp:tools', expiresInSec: -120 }),
    ],
    [
      'a token signed by an unknown key',
      () => as.mintWithKey({ sub: 'alice', audience: url, scope: 'mcp:tools' }),
    ],
    [
      'a token from another issuer',
      () =>
        as.mintWithKey({
          sub: 'alice',
          audience: url,
          scope: 'mcp:tools',
          issuer: 'https://other-issuer.example',
        }),
    ],
  ];
  it.each(cases)('%s: 401 invalid_token with the metadata URL', async (_what, make) => {
    const response = await post(url, await make());
    expect(response.status).toBe(401);
    const challenge = response.headers.get('www-authenticate') ?? '';
    expect(challenge).toMatch(/^Bearer /);
    expect(challenge).toContain('error="invalid_token"');
    expect(challenge).toContain(
      `resource_metadata="http://127.0.0.1:${port}/.well-known/oauth-protected-resource/mcp"`,
    );
  });

  it('a valid token without the required scope: 403 insufficient_scope', async () => {
    const token = await as.mintToken({ sub: 'alice', audience: url, scope: 'other' });
    const response = await post(url, token);
    expect(response.status).toBe(403);
    expect(response.headers.get('www-authenticate')).toContain('error="insufficient_scope"');
    expect(response.headers.get('www-authenticate')).toContain('scope="mcp:tools"');
  });
});
