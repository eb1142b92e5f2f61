/**
 * JSON-RPC ids travel as the client wrote them or not at all: a number JSON.parse cannot hold
 * exactly (beyond ±(2^53−1)) or a fraction is refused, where it used to be answered under another id.
 * Bodies are raw JSON text, since JSON.stringify could not even write such an id.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MCP_HEADERS, rawInitialize, testGateways } from '../../../support/mcp-harness.js';
import { type FixtureServer, startFixture } from '../../../support/mcp-servers.js';

const gateways = testGateways();
let upstream: FixtureServer;
let url: string;
let session: string;

beforeAll(async () => {
  upstream = await startFixture({ name: 'alpha' });
  url = (await gateways.over([upstream])).url;
  session = await rawInitialize(url);
});
afterAll(async () => {
  await upstream.close();
});

async function postRaw(text: string) {
  const response = await fetch(url, {
    method: 'POST',
    headers: { ...MCP_HEADERS, 'mcp-session-id': session },
    body: text,
  });
  return { status: response.status, text: await response.text() };
}

describe('numeric JSON-RPC ids', () => {
  it.each([
    ['2^53 + 1', '9007199254740993'],
    ['2^53', '9007199254740992'],
    ['-(2^53 + 1)', '-9007199254740993'],
    ['1e300', '1e300'],
    ['a fraction', '1.5'],
  ])('a request with id %s → 400, -32600 with id null, nothing forwarded', async (_name, id) => {
    const seen = upstream.seen.length;
    const { status, text } = await postRaw(`{"jsonrpc":"2.0","id":${id},"method":"tools/list"}`);
    expect(status).toBe(400);
    const body = JSON.parse(text);
    expect(body.id).toBeNull();
    expect(body.error.code).toBe(-32600);
    expect(body.error.message).toContain(
      'id must be a string of at most 256 characters or an integer within ±(2^53−1)',
    );
    expect(upstream.seen.length).toBe(seen);
  });

  it('a ping with id 2^53 + 1 is not answered under the rounded id', async () => {
    const { text } = await postRaw('{"jsonrpc":"2.0","id":9007199254740993,"method":"ping"}');
    expect(text).not.toContain('9007199254740992');
  });

  it('a response with an id beyond 2^53 is refused too', async () => {
    const { status, text } = await postRaw('{"jsonrpc":"2.0","id":9007199254740993,"result":{}}');
    expect(status).toBe(400);
    expect(JSON.parse(text)).toMatchObject({ id: null, error: { code: -32600 } });
  });

  it('ids up to ±(2^53−1) travel unchanged, to the upstream and back', async () => {
    for (const id of ['9007199254740991', '-9007199254740991', '0']) {
      const { status, text } = await postRaw(`{"jsonrpc":"2.0","id":${id},"method":"tools/list"}`);
      expect(status).toBe(200);
      expect(text).toContain(`"id":${id}`);
      expect(text).toContain('"echo"');
    }
    const { text } = await postRaw('{"jsonrpc":"2.0","id":9007199254740991,"method":"ping"}');
    expect(text).toContain('"id":9007199254740991');
  });
});
