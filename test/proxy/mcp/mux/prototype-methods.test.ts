/**
 * A method name is looked up in Maps, never on a plain object: `toString`, `constructor`,
 * `__proto__`… are unknown methods like any other, not the prototype's members.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PROTOTYPE_NAMES } from '../../../support/hostile.js';
import { MCP_HEADERS, messagesOf, rawInitialize, testGateways } from '../../../support/mcp-harness.js';
import { type FixtureServer, startFixture } from '../../../support/mcp-servers.js';

const gateways = testGateways();
let alpha: FixtureServer;
let beta: FixtureServer;

beforeAll(async () => {
  [alpha, beta] = await Promise.all([startFixture({ name: 'alpha' }), startFixture({ name: 'beta' })]);
});
afterAll(async () => {
  await Promise.all([alpha.close(), beta.close()]);
});

async function call(url: string, session: string, id: number, method: string) {
  const response = await fetch(url, {
    method: 'POST',
    headers: { ...MCP_HEADERS, 'mcp-session-id': session },
    body: JSON.stringify({ jsonrpc: '2.0', id, method }),
  });
  return { status: response.status, message: (await messagesOf(response)).at(-1) };
}

describe('methods named like Object.prototype members', () => {
  it('multiplexed: each is -32601 Method not found', async () => {
    const { url } = await gateways.over([alpha, beta]);
    const session = await rawInitialize(url);
    for (const [i, method] of PROTOTYPE_NAMES.entries()) {
      const { status, message } = await call(url, session, i, method);
      expect(status, method).toBe(200);
      expect(message, method).toEqual({
        jsonrpc: '2.0',
        id: i,
        error: { code: -32601, message: `Method not found: ${method}` },
      });
    }
  });

  it('transparent: forwarded to the upstream, which answers -32601', async () => {
    const { url } = await gateways.over([alpha]);
    const session = await rawInitialize(url);
    for (const [i, method] of PROTOTYPE_NAMES.entries()) {
      const seen = alpha.seen.length;
      const { message } = await call(url, session, i, method);
      expect(message, method).toMatchObject({ id: i, error: { code: -32601 } });
      expect(alpha.seen.slice(seen).some((r) => (r.body as { method?: string })?.method === method)).toBe(
        true,
      );
    }
  });
});
