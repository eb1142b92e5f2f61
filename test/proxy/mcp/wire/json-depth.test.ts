/**
 * Deeply nested JSON is refused before it is parsed: re-serialising a message that nests a few
 * thousand levels (a batch item, a multiplexed call's params) overflowed the stack and answered 500.
 * And a string id longer than 256 characters is refused, so a session's in-flight ids stay small.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MAX_JSON_DEPTH, nestsDeeperThan } from '../../../../src/proxy/mcp/wire/json-depth.js';
import {
  limitCount,
  MCP_HEADERS,
  messagesOf,
  rawInitialize,
  testGateways,
} from '../../../support/mcp-harness.js';
import { type FixtureServer, startFixture } from '../../../support/mcp-servers.js';

const nested = (depth: number) => `${'['.repeat(depth)}1${']'.repeat(depth)}`;

describe('nestsDeeperThan', () => {
  it('counts objects and arrays inside one another, not brackets in strings', () => {
    expect(nestsDeeperThan(nested(3), 3)).toBe(false);
    expect(nestsDeeperThan(nested(4), 3)).toBe(true);
    expect(nestsDeeperThan('{"a":{"b":[1,{"c":2}]}}', 3)).toBe(true);
    expect(nestsDeeperThan('{"a":{"b":[1,{"c":2}]}}', 4)).toBe(false);
    expect(nestsDeeperThan(`{"s":"${'['.repeat(50)}"}`, 3)).toBe(false);
    expect(nestsDeeperThan(`{"s":"\\"${'['.repeat(50)}"}`, 3)).toBe(false);
    expect(nestsDeeperThan('[[],[],[]]', 2)).toBe(false);
  });
});

describe('through a multiplexed backend', () => {
  const gateways = testGateways();
  let alpha: FixtureServer;
  let beta: FixtureServer;
  let url: string;
  let session: string;
  beforeAll(async () => {
    [alpha, beta] = await Promise.all([startFixture({ name: 'alpha' }), startFixture({ name: 'beta' })]);
    url = (await gateways.over([alpha, beta])).url;
    session = await rawInitialize(url);
  });
  afterAll(async () => {
    await Promise.all([alpha.close(), beta.close()]);
  });

  const post = async (text: string) => {
    const response = await fetch(url, {
      method: 'POST',
      headers: { ...MCP_HEADERS, 'mcp-session-id': session },
      body: text,
    });
    return { status: response.status, body: (await messagesOf(response)).at(-1) };
  };

  it('a tools/call whose arguments nest 6,000 deep → 400, -32600 naming the bound, counted (it was a 500)', async () => {
    const gateway = await gateways.over([alpha, beta]);
    const sid = await rawInitialize(gateway.url);
    const response = await fetch(gateway.url, {
      method: 'POST',
      headers: { ...MCP_HEADERS, 'mcp-session-id': sid },
      body: `{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"alpha_echo","arguments":{"message":${nested(6000)}}}}`,
    });
    expect(response.status).toBe(400);
    const body = (await response.json()) as any;
    expect(body).toMatchObject({ id: null, error: { code: -32600 } });
    expect(body.error.message).toContain(`more than ${MAX_JSON_DEPTH} levels deep`);
    expect(await limitCount(gateway.metrics, 'json_depth')).toBe(1);
  });

  it('nesting within the bound is served as before', async () => {
    const { status, body } = await post(
      `{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"alpha_echo","arguments":{"message":"hi","extra":${nested(MAX_JSON_DEPTH - 10)}}}}`,
    );
    expect(status).toBe(200);
    expect(body.result.content[0].text).toBe('Echo: hi');
  });

  it('a string id over 256 characters → 400, -32600 with id null; 256 are served', async () => {
    const long = await post(JSON.stringify({ jsonrpc: '2.0', id: 'x'.repeat(257), method: 'ping' }));
    expect(long.status).toBe(400);
    expect(long.body).toMatchObject({ id: null, error: { code: -32600 } });
    const fits = await post(JSON.stringify({ jsonrpc: '2.0', id: 'y'.repeat(256), method: 'ping' }));
    expect(fits).toMatchObject({ status: 200, body: { id: 'y'.repeat(256), result: {} } });
  });
});
