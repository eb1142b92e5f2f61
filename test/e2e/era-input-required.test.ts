/**
 * A 2026-07-28 client and a 2025 target's requests to the client (issue 12): the target asks for an
 * elicitation or a sample in the middle of a tool call; mcplane parks the call, answers the client
 * `input_required` with the target's request and a sealed requestState, and turns the client's
 * retry (`inputResponses`) into the JSON-RPC response the target waits for — then the call ends
 * normally. Real SDK v2 client in `versionNegotiation: auto` (it speaks 2026-07-28 to mcplane), the
 * SDK v1 conformance fixture as the 2025 target, on 127.0.0.1; and raw HTTP for what the SDK hides.
 */
import { rm } from 'node:fs/promises';
import { Client, StreamableHTTPClientTransport } from '@modelcontextprotocol/client';
import { Client as V1Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport as V1Transport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { CreateMessageRequestSchema, ElicitRequestSchema } from '@modelcontextprotocol/sdk/types.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Gateway } from '../../src/gateway.js';
import { startTestGateway } from '../support/gateway.js';
import { modernPost } from '../support/modern-wire.js';
import { freePort } from '../support/ports.js';
import { writeManifests } from '../support/standalone.js';
import {
  type LegacyFixtureServer,
  startLegacyServer,
  startModernServer,
  type V2FixtureServer,
} from '../support/v2-servers.js';

let legacy: LegacyFixtureServer;
let modern: V2FixtureServer;
let modernUrl: URL;
let gateway: Gateway;
let dir: string;
let url: URL;

beforeAll(async () => {
  [legacy, modern] = await Promise.all([startLegacyServer(), startModernServer()]);
  const port = await freePort();
  url = new URL(`http://127.0.0.1:${port}/mcp`);
  modernUrl = new URL(`http://127.0.0.1:${port}/modern/mcp`);
  dir = await writeManifests(port, [
    { name: 'mcp', targets: [{ name: 'legacy', port: legacy.port }] },
    { name: 'modern', pathPrefix: '/modern', targets: [{ name: 'modern', port: modern.port }] },
  ]);
  gateway = await startTestGateway(['--manifests', dir]);
});

afterAll(async () => {
  await gateway?.stop();
  await Promise.all([legacy?.close(), modern?.close()]);
  if (dir) await rm(dir, { recursive: true, force: true });
});

/** A gauge's value as scraped. */
async function gauge(name: string): Promise<number> {
  const text = await gateway.metrics.registry.getSingleMetricAsString(name);
  return Number(new RegExp(`^${name} (\\S+)$`, 'm').exec(text)?.[1]);
}

describe('a 2026-07-28 client calling a 2025 target that asks it something', () => {
  it('answers an elicitation and a sampling request through input_required rounds', async () => {
    const client = new Client(
      { name: 'modern', version: '1.0.0' },
      { capabilities: { elicitation: { form: {} }, sampling: {} }, versionNegotiation: { mode: 'auto' } },
    );
    client.setRequestHandler('elicitation/create', async () => ({
      action: 'accept' as const,
      content: { name: 'Ada' },
    }));
    client.setRequestHandler('sampling/createMessage', async () => ({
      role: 'assistant' as const,
      content: { type: 'text' as const, text: 'sampled by the client' },
      model: 'test-model',
    }));
    await client.connect(new StreamableHTTPClientTransport(url));
    try {
      expect(client.getProtocolEra?.()).toBe('modern');
      const elicited = await client.callTool({ name: 'test_elicitation', arguments: { message: 'Name?' } });
      expect(JSON.stringify(elicited.content)).toContain('Ada');
      const sampled = await client.callTool({ name: 'test_sampling', arguments: { prompt: 'hi' } });
      expect(JSON.stringify(sampled.content)).toContain('sampled by the client');
    } finally {
      await client.close();
    }
  });

  it("on the wire: input_required with the target's request, a sealed state, a refused tampered state, then the result", async () => {
    const call = (id: number, params: Record<string, unknown>) =>
      modernPost(url, 'tools/call', { id, params, capabilities: { elicitation: {} } });
    const args = { name: 'test_elicitation', arguments: { message: 'Name?' } };
    const first = await call(1, { ...args });
    expect(first.status).toBe(200);
    expect(first.body.id).toBe(1);
    const { resultType, inputRequests, requestState } = first.body.result;
    expect(resultType).toBe('input_required');
    const [key, request] = Object.entries(inputRequests as Record<string, { method: string }>)[0]!;
    expect(request.method).toBe('elicitation/create');
    expect(typeof requestState).toBe('string');
    // The call waits on this replica, in an upstream session mcplane owns for the client's identity.
    expect(await gauge('mcplane_parked_calls')).toBe(1);
    expect(await gauge('mcplane_owned_sessions')).toBeGreaterThanOrEqual(1);
    const tampered = `${requestState.slice(0, -3)}${requestState.endsWith('AAA') ? 'BBB' : 'AAA'}`;
    const refused = await call(2, { ...args, requestState: tampered });
    expect(refused.status).toBe(400);
    expect(refused.body.error?.code).toBe(-32602);
    const inputResponses = { [key]: { action: 'accept', content: { name: 'Grace' } } };
    const done = await call(3, { ...args, inputResponses, requestState });
    expect(done.body.id).toBe(3);
    expect(done.body.result.resultType).toBe('complete');
    expect(JSON.stringify(done.body.result.content)).toContain('Grace');
    expect(await gauge('mcplane_parked_calls')).toBe(0);
    // The state continued one call: it does not open it again.
    const again = await call(4, { ...args, inputResponses, requestState });
    expect(again.status).toBe(400);
  });

  it('a client that did not declare elicitation gets no input request: the target is told it cannot answer', async () => {
    const answer = await modernPost(url, 'tools/call', {
      id: 9,
      params: { name: 'test_elicitation', arguments: { message: 'Name?' } },
    });
    const text = JSON.stringify(answer.body);
    expect(text).not.toContain('input_required');
    expect(text).toContain('"id":9');
  });
});

describe('a 2025 client (SDK v1) calling a 2026-07-28-only target that answers input_required', () => {
  it('is asked each input request as a server→client request, and gets the final result', async () => {
    const client = new V1Client(
      { name: 'legacy', version: '1.0.0' },
      { capabilities: { elicitation: {}, sampling: {} } },
    );
    const asked: string[] = [];
    client.setRequestHandler(ElicitRequestSchema, async (request) => {
      asked.push(`elicit: ${request.params.message}`);
      return { action: 'accept', content: { name: 'Ada' } };
    });
    client.setRequestHandler(CreateMessageRequestSchema, async () => {
      asked.push('sample');
      return { role: 'assistant', content: { type: 'text', text: 'Paris' }, model: 'test-model' };
    });
    await client.connect(new V1Transport(modernUrl));
    try {
      const hello = await client.callTool({ name: 'test_input_required_result_elicitation', arguments: {} });
      expect(JSON.stringify(hello.content)).toContain('Hello, Ada!');
      const sampled = await client.callTool({ name: 'test_input_required_result_sampling', arguments: {} });
      expect(JSON.stringify(sampled.content)).toContain('The model answered: Paris');
      expect(asked).toEqual(['elicit: What is your name?', 'sample']);
    } finally {
      await client.close();
    }
    // The target saw the retries with inputResponses (each hop stateless, 2026-07-28).
    const retries = modern.seen.filter((r) => JSON.stringify(r.body ?? '').includes('inputResponses'));
    expect(retries.length).toBe(2);
  });
});
