/**
 * Governance through a real listener, as a platform team would configure it: an AgentgatewayPolicy
 * with JWT authentication on the Gateway (an inline JWKS; tokens signed here with jose), tools
 * filtered per group claim on the backend, a denied tool, and a per-tool local rate limit on the
 * route. Real SDK clients and real upstream MCP servers on 127.0.0.1.
 */
import { rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type { JWTPayload } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Gateway } from '../../src/gateway.js';
import { startTestGateway } from '../support/gateway.js';
import { type TestIssuer, testIssuer } from '../support/jwt.js';
import { postInitialize } from '../support/mcp-harness.js';
import { type FixtureServer, startFixture } from '../support/mcp-servers.js';
import { modernPost } from '../support/modern-wire.js';
import { freePort } from '../support/ports.js';
import { writeManifests } from '../support/standalone.js';

const ISSUER = 'https://idp.test';

let docs: FixtureServer;
let calc: FixtureServer;
let gateway: Gateway;
let dir: string;
let port: number;
let url: string;
let idp: TestIssuer;

function token(
  claims: JWTPayload,
  options: { foreignKey?: boolean; issuer?: string; audience?: string; expiresIn?: string } = {},
) {
  return idp.sign(claims, { audience: url, ...options });
}

async function connect(
  bearer: string,
): Promise<{ client: Client; transport: StreamableHTTPClientTransport }> {
  const transport = new StreamableHTTPClientTransport(new URL(url), {
    requestInit: { headers: { authorization: `Bearer ${bearer}` } },
  });
  const client = new Client({ name: 'governance-test', version: '1.0.0' });
  await client.connect(transport);
  return { client, transport };
}

async function post(body: unknown, headers: Record<string, string> = {}): Promise<Response> {
  return fetch(url, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      accept: 'application/json, text/event-stream',
      ...headers,
    },
    body: JSON.stringify(body),
  });
}

async function counterValue(name: 'authorizationDenials' | 'rateLimitRejections' | 'authentications') {
  const { values } = await gateway.metrics[name].get();
  return values.reduce((sum, v) => sum + v.value, 0);
}

beforeAll(async () => {
  idp = await testIssuer(ISSUER, 'RS256');
  docs = await startFixture({ name: 'docs' });
  calc = await startFixture({ name: 'calc' });
  port = await freePort();
  url = `http://127.0.0.1:${port}/mcp`;
  dir = await writeManifests(port, [
    {
      name: 'mcp',
      targets: [
        { name: 'docs', port: docs.port },
        { name: 'calc', port: calc.port },
      ],
    },
  ]);
  const policies = `apiVersion: agentgateway.dev/v1alpha1
kind: AgentgatewayPolicy
metadata: { name: jwt, namespace: default }
spec:
  targetRefs: [{ group: gateway.networking.k8s.io, kind: Gateway, name: gw }]
  traffic:
    jwtAuthentication:
      providers:
        - issuer: ${ISSUER}
          audiences: [${url}]
          jwks: { inline: '${idp.jwks}' }
---
apiVersion: agentgateway.dev/v1alpha1
kind: AgentgatewayPolicy
metadata: { name: tools-by-group, namespace: default }
spec:
  targetRefs: [{ group: agentgateway.dev, kind: AgentgatewayBackend, name: mcp }]
  backend:
    mcp:
      authorization:
        policy: { matchExpressions: ['"eng" in jwt.groups || mcp.tool.name == "echo"'] }
---
apiVersion: agentgateway.dev/v1alpha1
kind: AgentgatewayPolicy
metadata: { name: no-sleep, namespace: default }
spec:
  targetRefs: [{ group: agentgateway.dev, kind: AgentgatewayBackend, name: mcp }]
  backend:
    mcp:
      authorization:
        action: Deny
        policy: { matchExpressions: ['mcp.tool.name == "sleep" && mcp.tool.target == "calc"'] }
---
apiVersion: agentgateway.dev/v1alpha1
kind: AgentgatewayPolicy
metadata: { name: add-limit, namespace: default }
spec:
  targetRefs: [{ group: gateway.networking.k8s.io, kind: HTTPRoute, name: mcp }]
  traffic:
    rateLimit:
      conditional:
        - condition: mcp.tool.name == "add"
          policy: { local: [{ requests: 3, unit: Minutes }] }
`;
  await writeFile(
    join(dir, 'policies.yaml'),
    `${policies}---
apiVersion: agentgateway.dev/v1alpha1
kind: AgentgatewayPolicy
metadata: { name: browser, namespace: default }
spec:
  targetRefs: [{ group: gateway.networking.k8s.io, kind: Gateway, name: gw }]
  traffic:
    cors: { allowOrigins: [https://app.example], maxAge: 600 }
`,
  );
  gateway = await startTestGateway(['--manifests', dir]);
});

afterAll(async () => {
  await gateway?.stop();
  await docs?.close();
  await calc?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('authentication (MCP authorization spec: RFC 9728, RFC 8707)', () => {
  it('answers a request without a token 401 with a challenge that points at the metadata', async () => {
    const response = await postInitialize(url);
    expect(response.status).toBe(401);
    const challenge = response.headers.get('www-authenticate');
    expect(challenge).toBe(
      `Bearer resource_metadata="http://127.0.0.1:${port}/.well-known/oauth-protected-resource/mcp"`,
    );
    const metadata = await fetch(`http://127.0.0.1:${port}/.well-known/oauth-protected-resource/mcp`);
    expect(metadata.status).toBe(200);
    expect(metadata.headers.get('access-control-allow-origin')).toBe('*');
    expect(await metadata.json()).toMatchObject({ resource: url, authorization_servers: [ISSUER] });
  });

  it.each([
    ['another audience', () => token({ sub: 'alice' }, { audience: 'https://other.example/mcp' })],
    ['an expired token', () => token({ sub: 'alice' }, { expiresIn: '-2m' })],
    ['an unknown signing key', () => token({ sub: 'alice' }, { foreignKey: true })],
    ['another issuer', () => token({ sub: 'alice' }, { issuer: 'https://evil.example' })],
    ['garbage', async () => 'not-a-jwt'],
  ])('refuses %s with 401 invalid_token', async (_what, make) => {
    const response = await postInitialize(url, '2025-06-18', { authorization: `Bearer ${await make()}` });
    expect(response.status).toBe(401);
    const challenge = response.headers.get('www-authenticate') ?? '';
    expect(challenge).toContain('error="invalid_token"');
    expect(challenge).toContain('resource_metadata="');
    const text = await response.text();
    expect(text).not.toContain('eyJ'); // no token echoed back
  });
});

describe('authorization: one rule set for what an identity sees and calls', () => {
  it('shows each identity exactly the tools it may call, and answers the others as unknown', async () => {
    const alice = await connect(await token({ sub: 'alice', groups: ['eng'] }));
    const bob = await connect(await token({ sub: 'bob', groups: ['sales'] }));
    try {
      const aliceTools = (await alice.client.listTools()).tools.map((t) => t.name).sort();
      const bobTools = (await bob.client.listTools()).tools.map((t) => t.name).sort();
      expect(aliceTools).toContain('calc_add');
      expect(aliceTools).not.toContain('calc_sleep'); // denied for everyone
      expect(aliceTools).toContain('docs_sleep');
      expect(bobTools).toEqual(['calc_echo', 'docs_echo']);
      for (const name of [...aliceTools, 'calc_sleep']) {
        const args = name.endsWith('echo') ? { message: 'hi' } : name.endsWith('add') ? { a: 1, b: 2 } : {};
        const call = async (c: Client) => {
          try {
            await c.callTool({ name, arguments: name.endsWith('sleep') ? { ms: 1 } : args });
            return true;
          } catch (error) {
            expect(String(error)).toContain('Unknown tool');
            return false;
          }
        };
        if (name.endsWith('add')) continue; // limited below
        expect(await call(bob.client)).toBe(bobTools.includes(name));
        expect(await call(alice.client)).toBe(aliceTools.includes(name));
      }
      expect(await counterValue('authorizationDenials')).toBeGreaterThan(0);
    } finally {
      await alice.client.close();
      await bob.client.close();
    }
  });

  it('binds a session to the identity that started it', async () => {
    const alice = await connect(await token({ sub: 'alice', groups: ['eng'] }));
    try {
      const sessionId = alice.transport.sessionId!;
      const asBob = await post(
        { jsonrpc: '2.0', id: 2, method: 'tools/list' },
        {
          authorization: `Bearer ${await token({ sub: 'bob', groups: ['eng'] })}`,
          'mcp-session-id': sessionId,
          'mcp-protocol-version': '2025-06-18',
        },
      );
      expect(asBob.status).toBe(404);
      const asAlice = await post(
        { jsonrpc: '2.0', id: 3, method: 'tools/list' },
        {
          authorization: `Bearer ${await token({ sub: 'alice', groups: ['eng'] })}`,
          'mcp-session-id': sessionId,
          'mcp-protocol-version': '2025-06-18',
        },
      );
      expect(asAlice.status).toBe(200);
    } finally {
      await alice.client.close();
    }
  });
});

describe('rate limits', () => {
  it('admits exactly the budget of a per-tool limit, then answers 429 with Retry-After and retryAfterMs', async () => {
    const bearer = await token({ sub: 'carol', groups: ['eng'] });
    const alice = await connect(bearer);
    try {
      const sessionId = alice.transport.sessionId!;
      const headers = {
        authorization: `Bearer ${bearer}`,
        'mcp-session-id': sessionId,
        'mcp-protocol-version': '2025-06-18',
      };
      const results: number[] = [];
      let last: Response | undefined;
      for (let i = 0; i < 5; i++) {
        last = await post(
          {
            jsonrpc: '2.0',
            id: 10 + i,
            method: 'tools/call',
            params: { name: 'calc_add', arguments: { a: 1, b: i } },
          },
          headers,
        );
        results.push(last.status);
        if (i < 4) await last.text();
      }
      expect(results).toEqual([200, 200, 200, 429, 429]);
      expect(Number(last!.headers.get('retry-after'))).toBeGreaterThan(0);
      const body = (await last!.json()) as { error: { code: number; data: { retryAfterMs: number } } };
      expect(body.error.code).toBe(-32003);
      expect(body.error.data.retryAfterMs).toBeGreaterThan(0);
      // Other tools are not limited by the add limit.
      const echo = await alice.client.callTool({ name: 'calc_echo', arguments: { message: 'still here' } });
      expect(JSON.stringify(echo)).toContain('still here');
      expect(await counterValue('rateLimitRejections')).toBeGreaterThanOrEqual(2);
    } finally {
      await alice.client.close();
    }
  });
});

describe('CORS for browser-based clients', () => {
  const APP = 'https://app.example';

  it('answers a preflight from an allowed origin, and refuses another origin', async () => {
    const allowed = await fetch(url, {
      method: 'OPTIONS',
      headers: {
        origin: APP,
        'access-control-request-method': 'POST',
        'access-control-request-headers': 'authorization',
      },
    });
    expect(allowed.status).toBe(204);
    expect(allowed.headers.get('access-control-allow-origin')).toBe(APP);
    expect(allowed.headers.get('access-control-allow-headers')).toContain('authorization');
    expect(allowed.headers.get('access-control-max-age')).toBe('600');
    const other = await fetch(url, {
      method: 'OPTIONS',
      headers: { origin: 'https://evil.example', 'access-control-request-method': 'POST' },
    });
    expect(other.status).toBe(403);
  });

  it('lets the allowed origin read the 401 challenge and, with a token, the session id', async () => {
    const challenged = await postInitialize(url, '2025-06-18', { origin: APP });
    expect(challenged.status).toBe(401);
    expect(challenged.headers.get('access-control-allow-origin')).toBe(APP);
    expect(challenged.headers.get('access-control-expose-headers')).toContain('www-authenticate');
    const bearer = await token({ sub: 'dora', groups: ['eng'] });
    const served = await postInitialize(url, '2025-06-18', {
      origin: APP,
      authorization: `Bearer ${bearer}`,
    });
    expect(served.status).toBe(200);
    expect(served.headers.get('access-control-allow-origin')).toBe(APP);
    expect(served.headers.get('access-control-expose-headers')).toContain('mcp-session-id');
    expect(served.headers.get('mcp-session-id')).toBeTruthy();
  });
});

describe('the same policies for 2026-07-28 clients (no session)', () => {
  const as = async (claims: JWTPayload) => ({ authorization: `Bearer ${await token(claims)}` });

  it('challenges a request without a token 401, like a 2025 one', async () => {
    const answer = await fetch(url, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        accept: 'application/json, text/event-stream',
        'mcp-protocol-version': '2026-07-28',
        'mcp-method': 'tools/list',
      },
      body: JSON.stringify({
        jsonrpc: '2.0',
        id: 1,
        method: 'tools/list',
        params: {
          _meta: {
            'io.modelcontextprotocol/protocolVersion': '2026-07-28',
            'io.modelcontextprotocol/clientCapabilities': {},
          },
        },
      }),
    });
    expect(answer.status).toBe(401);
    expect(answer.headers.get('www-authenticate')).toContain('resource_metadata="');
  });

  it('lists per identity (cacheScope private) and refuses what the identity may not call as unknown', async () => {
    const bob = await as({ sub: 'bob', groups: ['sales'] });
    const listed = await modernPost(url, 'tools/list', { headers: bob });
    expect(listed.status).toBe(200);
    expect(listed.body.result.tools.map((t: { name: string }) => t.name).sort()).toEqual([
      'calc_echo',
      'docs_echo',
    ]);
    expect(listed.body.result.cacheScope).toBe('private');
    const echo = await modernPost(url, 'tools/call', {
      id: 2,
      headers: bob,
      params: { name: 'docs_echo', arguments: { message: 'modern' } },
    });
    expect(JSON.stringify(echo.body.result)).toContain('modern');
    const refused = await modernPost(url, 'tools/call', {
      id: 3,
      headers: bob,
      params: { name: 'calc_add', arguments: { a: 1, b: 2 } },
    });
    expect(refused.body.error?.code).toBe(-32602);
    expect(refused.body.error?.message).toContain('Unknown tool');
  });

  it('counts the same per-tool rate limit (3 a minute on the route): past it, 429 with -32003', async () => {
    const erin = await as({ sub: 'erin', groups: ['eng'] });
    const answers: Array<Awaited<ReturnType<typeof modernPost>>> = [];
    for (let i = 0; i < 4; i++) {
      answers.push(
        await modernPost(url, 'tools/call', {
          id: 20 + i,
          headers: erin,
          params: { name: 'calc_add', arguments: { a: 1, b: i } },
        }),
      );
    }
    // Four calls over a budget of three (that 2025 sessions may have spent already): one at least is refused.
    const refused = answers.filter((a) => a.status === 429);
    expect(refused.length).toBeGreaterThanOrEqual(1);
    expect(refused[0]!.body.error?.code).toBe(-32003);
    expect(answers.filter((a) => a.status === 200).length).toBeLessThanOrEqual(3);
    // Another tool is not limited by it.
    const echo = await modernPost(url, 'tools/call', {
      id: 30,
      headers: erin,
      params: { name: 'calc_echo', arguments: { message: 'unlimited' } },
    });
    expect(JSON.stringify(echo.body.result)).toContain('unlimited');
  });
});
