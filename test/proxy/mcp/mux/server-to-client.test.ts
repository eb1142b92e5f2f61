/**
 * Server→client traffic through a multiplexed backend (two targets): sampling, elicitation and
 * roots asked mid tool call reach the client with ids naming their target and the replies go back
 * to the asking upstream with its own id, on the call's stream and on the session stream; session
 * messages sent before the client opens its GET stream wait for it.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectFeatureClient, VERSIONS } from '../../../support/mcp-clients.js';
import {
  backendOf,
  type Gateway,
  MCP_HEADERS,
  messagesOf,
  rawInitialize,
  startGateway,
  targetOf,
  textOf,
} from '../../../support/mcp-harness.js';
import { type FixtureServer, type SeenRequest, startFixture } from '../../../support/mcp-servers.js';

let alpha: FixtureServer;
let beta: FixtureServer;
let gateway: Gateway;

beforeAll(async () => {
  [alpha, beta] = await Promise.all([
    startFixture({ name: 'alpha', clientFeatures: true, notifications: true, resources: true }),
    startFixture({ name: 'beta', clientFeatures: true, notifications: true }),
  ]);
  gateway = await startGateway(backendOf([targetOf('alpha', alpha.port), targetOf('beta', beta.port)]));
});
afterAll(async () => {
  await gateway.close();
  await Promise.all([alpha.close(), beta.close()]);
});

const body = (r: SeenRequest) => r.body as { id?: unknown; method?: string; result?: unknown; params?: any };

/** Replies (JSON-RPC responses) a fixture received from the gateway. */
const repliesSeen = (server: FixtureServer) =>
  server.seen.filter((r) => body(r)?.result !== undefined).map((r) => body(r).id);

describe.each(VERSIONS)('protocol %s', (version) => {
  it('sampling, elicitation and roots round-trip mid tool call on the call stream', async () => {
    const { client, transport, served } = await connectFeatureClient(gateway.url, version);
    expect(transport.protocolVersion).toBe(version);
    expect(textOf(await client.callTool({ name: 'alpha_sample' }))).toBe(
      'alpha sampled: answer to question from alpha',
    );
    expect(textOf(await client.callTool({ name: 'beta_roots' }))).toBe('beta roots: file:///work');
    if (version !== '2025-03-26') {
      expect(textOf(await client.callTool({ name: 'beta_elicit' }))).toBe(
        'beta elicited: accept client-of-beta',
      );
    }
    // The client saw ids naming the asking target; each upstream got its reply under its own id.
    expect(served[0]).toMatch(/^sampling\/createMessage mcplane\/alpha\/n\/\d+$/);
    expect(served[1]).toMatch(/^roots\/list mcplane\/beta\/n\/\d+$/);
    for (const id of [...repliesSeen(alpha), ...repliesSeen(beta)]) expect(typeof id).toBe('number');
    await client.close();
  });
});

describe('capabilities and routing', () => {
  it('forwards the client capabilities (sampling, elicitation, roots) to every target', async () => {
    const { client } = await connectFeatureClient(gateway.url);
    for (const server of [alpha, beta]) {
      const init = server.seen.filter((r) => body(r)?.method === 'initialize').at(-1)!;
      expect(body(init).params.capabilities).toMatchObject({
        sampling: {},
        elicitation: { form: {} },
        roots: { listChanged: true },
      });
    }
    await client.close();
  });

  it('two targets asking at once each get their own reply', async () => {
    const { client, served } = await connectFeatureClient(gateway.url);
    const alphaBefore = repliesSeen(alpha).length;
    const betaBefore = repliesSeen(beta).length;
    const [a, b] = await Promise.all([
      client.callTool({ name: 'alpha_sample' }),
      client.callTool({ name: 'beta_sample' }),
    ]);
    expect(textOf(a)).toBe('alpha sampled: answer to question from alpha');
    expect(textOf(b)).toBe('beta sampled: answer to question from beta');
    // Both upstream sessions number their first request 0: the client still told them apart.
    expect(served.sort()).toEqual([
      'sampling/createMessage mcplane/alpha/n/0',
      'sampling/createMessage mcplane/beta/n/0',
    ]);
    expect(repliesSeen(alpha).slice(alphaBefore)).toEqual([0]);
    expect(repliesSeen(beta).slice(betaBefore)).toEqual([0]);
    await client.close();
  });

  it('server requests on the session stream (not tied to the call) round-trip too', async () => {
    const { client, served } = await connectFeatureClient(gateway.url);
    const gets = () => alpha.seen.filter((r) => r.method === 'GET').length;
    await waitFor(() => gets() > 0 && beta.seen.some((r) => r.method === 'GET'));
    expect(textOf(await client.callTool({ name: 'alpha_sample', arguments: { via: 'session' } }))).toBe(
      'alpha sampled: answer to question from alpha',
    );
    expect(textOf(await client.callTool({ name: 'beta_elicit', arguments: { via: 'session' } }))).toBe(
      'beta elicited: accept client-of-beta',
    );
    expect(served).toEqual([
      'sampling/createMessage mcplane/alpha/n/0',
      'elicitation/create mcplane/beta/n/0',
    ]);
    await client.close();
  });
});

describe('the session stream before the client opens it', () => {
  async function post(session: string, message: object): Promise<Response> {
    return fetch(gateway.url, {
      method: 'POST',
      headers: { ...MCP_HEADERS, 'mcp-session-id': session, 'mcp-protocol-version': '2025-06-18' },
      body: JSON.stringify({ jsonrpc: '2.0', ...message }),
    });
  }

  const upstreamGets = () =>
    alpha.seen.filter((r) => r.method === 'GET').length + beta.seen.filter((r) => r.method === 'GET').length;

  async function initialized(): Promise<string> {
    const session = await rawInitialize(gateway.url);
    expect((await post(session, { method: 'notifications/initialized' })).status).toBe(202);
    return session;
  }

  it('a session that is only initialized opens no upstream stream; its first request opens them all', async () => {
    const before = upstreamGets();
    const session = await initialized();
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(upstreamGets()).toBe(before);
    const listed = await messagesOf(await post(session, { id: 1, method: 'tools/list' }));
    expect(listed[0].result.tools.length).toBeGreaterThan(0);
    // Both targets were answered before the request went on (it waits for them).
    expect(upstreamGets()).toBe(before + 2);
  });

  function openStream(session: string) {
    const controller = new AbortController();
    const response = fetch(gateway.url, {
      headers: { accept: 'text/event-stream', 'mcp-session-id': session },
      signal: controller.signal,
    });
    let text = '';
    const messages: any[] = [];
    const reading = response.then(async (r) => {
      const reader = r.body!.getReader();
      const decoder = new TextDecoder();
      for (;;) {
        const { done, value } = await reader.read().catch(() => ({ done: true, value: undefined }));
        if (done) return;
        text += decoder.decode(value, { stream: true });
        for (let end = text.indexOf('\n\n'); end !== -1; end = text.indexOf('\n\n')) {
          const data = text
            .slice(0, end)
            .split('\n')
            .find((line) => line.startsWith('data: '));
          if (data) messages.push(JSON.parse(data.slice(6)));
          text = text.slice(end + 2);
        }
      }
    });
    return { messages, close: () => controller.abort(), reading };
  }

  it('a log line sent before the GET stream opens is delivered when it does, named for its target', async () => {
    const session = await initialized();
    const logged = await messagesOf(
      await post(session, {
        id: 2,
        method: 'tools/call',
        params: { name: 'alpha_log', arguments: { level: 'info', data: 'early bird' } },
      }),
    );
    expect(textOf(logged[0].result)).toBe('alpha logged');
    const stream = openStream(session);
    await waitFor(() => stream.messages.length > 0);
    expect(stream.messages[0]).toEqual({
      jsonrpc: '2.0',
      method: 'notifications/message',
      params: { level: 'info', logger: 'alpha/fixture', data: 'early bird' },
    });
    stream.close();
  });

  it('a server request waits for the stream; the reply completes the call', async () => {
    const session = await initialized();
    const call = post(session, {
      id: 3,
      method: 'tools/call',
      params: { name: 'beta_sample', arguments: { via: 'session' } },
    });
    await waitFor(() =>
      beta.seen.some(
        (r) => body(r)?.params?.name === 'sample' && body(r).params.arguments?.via === 'session',
      ),
    );
    const stream = openStream(session);
    await waitFor(() => stream.messages.some((m) => m.method === 'sampling/createMessage'));
    const request = stream.messages.find((m) => m.method === 'sampling/createMessage');
    expect(request.id).toMatch(/^mcplane\/beta\/n\/\d+$/);
    const reply = await post(session, {
      id: request.id,
      result: { role: 'assistant', model: 'm', content: { type: 'text', text: 'late answer' } },
    });
    expect(reply.status).toBe(202);
    const [answer] = await messagesOf(await call);
    expect(textOf(answer.result)).toBe('beta sampled: late answer');
    stream.close();
  });

  it('a reply to a server request this session never got is a 400 naming the id', async () => {
    const session = await initialized();
    for (const id of ['mcplane/nosuch/n/1', 'not-ours', 7]) {
      const reply = await post(session, { id, result: {} });
      expect(reply.status).toBe(400);
      const [error] = await messagesOf(reply);
      expect(error.error.code).toBe(-32600);
      expect(error.error.message).toContain(JSON.stringify(id));
    }
  });
});

async function waitFor(check: () => boolean, timeoutMs = 5000): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (!check()) {
    if (performance.now() > deadline) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}
