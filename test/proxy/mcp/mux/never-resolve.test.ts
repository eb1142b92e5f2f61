/**
 * `prefixMode: Never` finds who serves a name from the session's last full listing, listed again at
 * most once per RESOLVE_WINDOW_MS: a client calling unknown names no longer makes the gateway walk
 * every page of every target once per call (10 calls were 640 tools/list to a paginating target).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RESOLVE_WINDOW_MS } from '../../../../src/proxy/mcp/mux/lists.js';
import { MCP_HEADERS, messagesOf, rawInitialize, testGateways } from '../../../support/mcp-harness.js';
import { type FixtureServer, startFixture } from '../../../support/mcp-servers.js';

const gateways = testGateways();
let paged: FixtureServer;
let plain: FixtureServer;

beforeAll(async () => {
  // paged: tools/list in 3 pages of 2 (p0-0 … p2-1).
  [paged, plain] = await Promise.all([
    startFixture({ name: 'paged', pagedTools: 2 }),
    startFixture({ name: 'plain' }),
  ]);
});
afterAll(async () => {
  await Promise.all([paged.close(), plain.close()]);
});

const lists = (server: FixtureServer) =>
  server.seen.filter((r) => (r.body as { method?: string })?.method === 'tools/list').length;

async function callTool(url: string, session: string, id: string, name: string) {
  const response = await fetch(url, {
    method: 'POST',
    headers: { ...MCP_HEADERS, 'mcp-session-id': session },
    body: JSON.stringify({ jsonrpc: '2.0', id, method: 'tools/call', params: { name, arguments: {} } }),
  });
  return (await messagesOf(response)).at(-1);
}

describe(`prefixMode: Never, names resolved once per ${RESOLVE_WINDOW_MS} ms`, () => {
  it('10 unknown names, one after another: one walk of every page, each answered "Unknown tool"', async () => {
    const { url } = await gateways.over([paged, plain], { prefixMode: 'Never' });
    const session = await rawInitialize(url);
    const before = lists(paged);
    for (let i = 0; i < 10; i++) {
      const answer = await callTool(url, session, `u${i}`, `no-such-tool-${i}`);
      expect(answer).toMatchObject({ id: `u${i}`, error: { code: -32602 } });
      expect(answer.error.message).toContain(`Unknown tool "no-such-tool-${i}"`);
    }
    expect(lists(paged) - before).toBe(3);
    // The same listing routes a name from its last page, without listing again.
    const calls = paged.seen.length;
    await callTool(url, session, 'late', 'p2-1');
    expect(lists(paged) - before).toBe(3);
    const routed = paged.seen
      .slice(calls)
      .map((r) => r.body as { method?: string; params?: { name?: string } });
    expect(routed.some((b) => b.method === 'tools/call' && b.params?.name === 'p2-1')).toBe(true);
  });

  it('10 unknown names at once share one listing', async () => {
    const { url } = await gateways.over([paged, plain], { prefixMode: 'Never' });
    const session = await rawInitialize(url);
    const before = lists(paged);
    const answers = await Promise.all(
      Array.from({ length: 10 }, (_, i) => callTool(url, session, `c${i}`, `missing-${i}`)),
    );
    for (const answer of answers) expect(answer.error.code).toBe(-32602);
    expect(lists(paged) - before).toBe(3);
  });

  it('a known name (on the plain target) is routed as before', async () => {
    const { url } = await gateways.over([paged, plain], { prefixMode: 'Never' });
    const session = await rawInitialize(url);
    const answer = await callTool(url, session, 'w', 'whoami');
    expect(answer.result.content[0].text).toBe('plain');
  });
});
