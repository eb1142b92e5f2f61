/**
 * The OAuth harness on its own, without mcplane: a real authorization server (oidc-provider, see
 * test/support/oauth-server.ts) and a small MCP server protected with the SDK's own server-side
 * pieces (requireBearerAuth, mcpAuthMetadataRouter), reached by the real SDK client through the
 * whole flow: 401 → RFC 9728 metadata → dynamic registration → authorization with PKCE and a
 * resource indicator → JWT access token → tools. Then RFC 8693 token exchange and the tokens the
 * resource server must refuse.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { auth } from '@modelcontextprotocol/sdk/client/auth.js';
import { InvalidTokenError } from '@modelcontextprotocol/sdk/server/auth/errors.js';
import { requireBearerAuth } from '@modelcontextprotocol/sdk/server/auth/middleware/bearerAuth.js';
import {
  getOAuthProtectedResourceMetadataUrl,
  mcpAuthMetadataRouter,
} from '@modelcontextprotocol/sdk/server/auth/router.js';
import type { AuthInfo } from '@modelcontextprotocol/sdk/server/auth/types.js';
import { createMcpExpressApp } from '@modelcontextprotocol/sdk/server/express.js';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import type { OAuthMetadata } from '@modelcontextprotocol/sdk/shared/auth.js';
import { createRemoteJWKSet, decodeJwt, type JWTPayload, jwtVerify } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  ACCESS_TOKEN_TYPE,
  type AuthServer,
  AutoLoginOAuthProvider,
  runSdkOAuthFlow,
  startAuthServer,
  TOKEN_EXCHANGE_GRANT,
} from '../support/oauth-server.js';

interface ProtectedMcp {
  readonly url: string;
  readonly metadataUrl: string;
  /** Claims of every token the verifier accepted, in order. */
  readonly seen: JWTPayload[];
  close(): Promise<void>;
}

type AuthedRequest = IncomingMessage & { auth?: AuthInfo; body?: unknown };

/** An MCP server (one tool, `whoami`) that only answers JWT access tokens for its own URL. */
async function startProtectedMcp(as: AuthServer): Promise<ProtectedMcp> {
  const app = createMcpExpressApp({ host: '127.0.0.1' });
  const server: Server = await new Promise((resolve) => {
    const s: Server = app.listen(0, '127.0.0.1', () => resolve(s));
  });
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/mcp`;
  const metadataUrl = getOAuthProtectedResourceMetadataUrl(new URL(url));
  const jwks = createRemoteJWKSet(new URL(as.jwksUrl));
  const seen: JWTPayload[] = [];

  const verifier = {
    async verifyAccessToken(token: string): Promise<AuthInfo> {
      let claims: JWTPayload;
      try {
        ({ payload: claims } = await jwtVerify(token, jwks, {
          issuer: as.issuer,
          audience: url,
          typ: 'at+jwt',
        }));
      } catch (error) {
        throw new InvalidTokenError(`token refused: ${(error as Error).name}`);
      }
      seen.push(claims);
      return {
        token,
        clientId: String(claims.client_id),
        scopes: typeof claims.scope === 'string' ? claims.scope.split(' ') : [],
        ...(claims.exp === undefined ? {} : { expiresAt: claims.exp }),
        resource: new URL(url),
        extra: { claims },
      };
    },
  };

  const oauthMetadata = (await (await fetch(as.discoveryUrl)).json()) as OAuthMetadata;
  app.use(
    mcpAuthMetadataRouter({
      oauthMetadata,
      resourceServerUrl: new URL(url),
      scopesSupported: ['mcp:tools'],
      resourceName: 'oauth harness test server',
    }),
  );
  const bearer = requireBearerAuth({
    verifier,
    resourceMetadataUrl: metadataUrl,
    expectedResource: new URL(url),
  });

  app.post('/mcp', bearer, async (req: AuthedRequest, res: ServerResponse) => {
    const mcp = new McpServer({ name: 'protected', version: '1.0.0' });
    mcp.registerTool('whoami', { description: 'The caller, as the access token says' }, (extra) => {
      const claims = (extra.authInfo?.extra?.claims ?? {}) as JWTPayload;
      return {
        content: [{ type: 'text', text: JSON.stringify({ sub: claims.sub, groups: claims.groups }) }],
      };
    });
    const transport = new StreamableHTTPServerTransport({ sessionIdGenerator: undefined });
    res.on('close', () => {
      void transport.close();
      void mcp.close();
    });
    await mcp.connect(transport);
    await transport.handleRequest(req, res, req.body);
  });
  const notAllowed = (_req: IncomingMessage, res: ServerResponse) => {
    res.writeHead(405, { allow: 'POST' }).end();
  };
  app.get('/mcp', bearer, notAllowed);
  app.delete('/mcp', bearer, notAllowed);

  return {
    url,
    metadataUrl,
    seen,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

/** A bare initialize with a bearer token: the status the resource server answers. */
async function initializeWith(url: string, token: string): Promise<Response> {
  return fetch(url, {
    method: 'POST',
    headers: {
      authorization: `Bearer ${token}`,
      'content-type': 'application/json',
      accept: 'application/json, text/event-stream',
    },
    body: JSON.stringify({
      jsonrpc: '2.0',
      id: 1,
      method: 'initialize',
      params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'raw', version: '1' } },
    }),
  });
}

describe('OAuth harness: oidc-provider + SDK client against an SDK-protected MCP server', () => {
  let as: AuthServer;
  let mcp: ProtectedMcp;
  let aliceToken: string;

  beforeAll(async () => {
    as = await startAuthServer();
    mcp = await startProtectedMcp(as);
  });

  afterAll(async () => {
    await mcp?.close();
    await as?.close();
  });

  it('challenges with 401 and serves RFC 9728 metadata naming the authorization server', async () => {
    const response = await initializeWith(mcp.url, 'not-a-jwt');
    expect(response.status).toBe(401);
    expect(response.headers.get('www-authenticate')).toContain(`resource_metadata="${mcp.metadataUrl}"`);
    const metadata = (await (await fetch(mcp.metadataUrl)).json()) as Record<string, unknown>;
    expect(metadata).toMatchObject({ resource: mcp.url, authorization_servers: [as.issuer] });
  });

  it('the SDK client registers, authorizes as alice with PKCE and a resource indicator, and calls the tool', async () => {
    const provider = new AutoLoginOAuthProvider('alice');
    const client = await runSdkOAuthFlow(mcp.url, { sub: 'alice' }, { provider });
    try {
      const { tools } = await client.listTools();
      expect(tools.map((t) => t.name)).toEqual(['whoami']);
      const result = await client.callTool({ name: 'whoami', arguments: {} });
      const [content] = result.content as { type: string; text: string }[];
      expect(JSON.parse(content?.text ?? '{}')).toEqual({ sub: 'alice', groups: ['eng'] });
    } finally {
      await client.close();
    }

    const asked = provider.authorizationUrls[0];
    expect(asked?.searchParams.get('resource')).toBe(mcp.url);
    expect(asked?.searchParams.get('code_challenge_method')).toBe('S256');
    expect(asked?.searchParams.get('scope')).toBe('mcp:tools');

    const claims = mcp.seen.at(-1);
    expect(claims).toMatchObject({
      iss: as.issuer,
      aud: mcp.url,
      sub: 'alice',
      groups: ['eng'],
      email: 'alice@example.test',
      scope: 'mcp:tools',
      client_id: provider.clientInformation()?.client_id,
    });
    aliceToken = provider.tokens()?.access_token ?? '';
    expect(decodeJwt(aliceToken).aud).toBe(mcp.url);
    expect(provider.tokens()?.refresh_token).toBeTruthy();
  });

  it('without advertised scopes the default scope applies; refresh keeps the audience and the claims', async () => {
    // Resource metadata with no scopes_supported: the SDK then asks for no scope at all.
    const bare = createServer((req, res) => {
      if (req.url?.startsWith('/.well-known/oauth-protected-resource')) {
        const resource = `http://127.0.0.1:${(bare.address() as AddressInfo).port}/mcp`;
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ resource, authorization_servers: [as.issuer] }));
      } else {
        res.writeHead(404).end();
      }
    });
    await new Promise<void>((resolve) => bare.listen(0, '127.0.0.1', resolve));
    try {
      const url = `http://127.0.0.1:${(bare.address() as AddressInfo).port}/mcp`;
      const provider = new AutoLoginOAuthProvider('bob');
      expect(await auth(provider, { serverUrl: url })).toBe('REDIRECT');
      expect(provider.authorizationUrls[0]?.searchParams.has('scope')).toBe(false);
      expect(await auth(provider, { serverUrl: url, authorizationCode: provider.takeCode() })).toBe(
        'AUTHORIZED',
      );
      const first = provider.tokens();
      expect(first?.scope).toBe('mcp:tools');
      expect(first?.refresh_token).toBeTruthy();
      // Tokens in hand with a refresh token: auth() refreshes (with the same resource).
      expect(await auth(provider, { serverUrl: url })).toBe('AUTHORIZED');
      const second = provider.tokens();
      expect(second?.access_token).not.toBe(first?.access_token);
      expect(decodeJwt(second?.access_token ?? '')).toMatchObject({
        aud: url,
        sub: 'bob',
        groups: ['sales'],
      });
    } finally {
      await new Promise((resolve) => bare.close(resolve));
    }
  });

  it('logs in the loginAs account when the login_hint names nobody', async () => {
    as.loginAs('bob');
    const provider = new AutoLoginOAuthProvider('nobody');
    const client = await runSdkOAuthFlow(mcp.url, { sub: 'nobody' }, { provider });
    await client.close();
    as.loginAs(undefined);
    expect(decodeJwt(provider.tokens()?.access_token ?? '')).toMatchObject({ sub: 'bob', groups: ['sales'] });
  });

  it('exchanges alice’s token (RFC 8693) for another audience, same subject; that token is refused here', async () => {
    expect(aliceToken).toBeTruthy();
    const other = `${new URL(mcp.url).origin}/other-mcp`;
    const before = as.exchangeCount();
    const { status, body } = await as.exchangeToken({ subjectToken: aliceToken, resource: other });
    expect(status).toBe(200);
    expect(body).toMatchObject({
      issued_token_type: ACCESS_TOKEN_TYPE,
      token_type: 'Bearer',
      scope: 'mcp:tools',
    });
    const exchanged = String(body.access_token);
    expect(decodeJwt(exchanged)).toMatchObject({
      iss: as.issuer,
      aud: other,
      sub: 'alice',
      groups: ['eng'],
      client_id: as.confidentialClient.clientId,
    });
    expect(as.exchangeCount()).toBe(before + 1);
    expect(as.exchanges().at(-1)).toEqual({
      clientId: as.confidentialClient.clientId,
      sub: 'alice',
      audience: other,
    });

    const refused = await initializeWith(mcp.url, exchanged);
    expect(refused.status).toBe(401);
    expect(refused.headers.get('www-authenticate')).toContain('error="invalid_token"');

    // With `audience` instead of `resource`, for this server: accepted here.
    const back = await as.exchangeToken({ subjectToken: aliceToken, audience: mcp.url });
    expect(back.status).toBe(200);
    expect((await initializeWith(mcp.url, String(back.body.access_token))).status).toBe(200);
    expect(as.exchangeCount()).toBe(before + 2);
  });

  it('refuses exchanges of bad subject tokens (invalid_grant), with a wrong secret, by a public client, without a target', async () => {
    const before = as.exchangeCount();
    const forged = await as.mintWithKey({ sub: 'alice', audience: mcp.url });
    for (const subjectToken of [
      'garbage',
      forged,
      await as.mintToken({ sub: 'alice', audience: mcp.url, expiresInSec: -60 }),
    ]) {
      const { status, body } = await as.exchangeToken({ subjectToken, resource: mcp.url });
      expect(status).toBe(400);
      expect(body.error).toBe('invalid_grant');
    }
    const wrongSecret = await as.exchangeToken({
      subjectToken: aliceToken,
      resource: mcp.url,
      clientId: as.confidentialClient.clientId,
      clientSecret: 'wrong',
    });
    expect(wrongSecret.status).toBe(401);
    expect(wrongSecret.body.error).toBe('invalid_client');
    // A public client (dynamic registration may list the grant) is not allowed to exchange.
    const registered = await fetch(as.registrationEndpoint, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        redirect_uris: ['http://127.0.0.1/cb'],
        token_endpoint_auth_method: 'none',
        grant_types: ['authorization_code', TOKEN_EXCHANGE_GRANT],
      }),
    });
    expect(registered.status).toBe(201);
    const { client_id: publicId } = (await registered.json()) as { client_id: string };
    const publicClient = await as.exchangeToken({
      subjectToken: aliceToken,
      resource: mcp.url,
      clientId: publicId,
    });
    expect(publicClient.body.error).toBe('unauthorized_client');
    const noTarget = await as.exchangeToken({ subjectToken: aliceToken });
    expect(noTarget.body.error).toBe('invalid_target');
    expect(as.exchangeCount()).toBe(before);
  });

  it('minted tokens verify against the published JWKS; other audiences, unknown keys and expiry do not', async () => {
    const good = await as.mintToken({ sub: 'bob', audience: mcp.url, scope: 'mcp:tools' });
    expect(decodeJwt(good)).toMatchObject({ iss: as.issuer, sub: 'bob', groups: ['sales'], aud: mcp.url });
    expect((await initializeWith(mcp.url, good)).status).toBe(200);
    expect(mcp.seen.at(-1)).toMatchObject({ sub: 'bob', groups: ['sales'] });

    const refused = [
      await as.mintToken({ sub: 'bob', audience: 'http://127.0.0.1:1/elsewhere' }),
      await as.mintWithKey({ sub: 'bob', audience: mcp.url }),
      await as.mintWithKey({ sub: 'bob', audience: mcp.url, kid: 'unknown-kid' }),
      await as.mintWithKey({ sub: 'bob', audience: mcp.url, issuer: 'https://evil.example' }),
      await as.mintToken({ sub: 'bob', audience: mcp.url, expiresInSec: -60 }),
    ];
    for (const token of refused) {
      const response = await initializeWith(mcp.url, token);
      expect(response.status).toBe(401);
      expect(response.headers.get('www-authenticate')).toContain(`resource_metadata="${mcp.metadataUrl}"`);
    }
    expect(as.serverErrors()).toEqual([]);
  });
});
