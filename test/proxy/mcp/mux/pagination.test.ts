/**
 * Merged lists keep every page of every target reachable through gateway cursors.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { backendOf, connectClient, targetOf, testGateways } from '../../../support/mcp-harness.js';
import { type FixtureServer, startFixture } from '../../../support/mcp-servers.js';

let paged: FixtureServer;
let plain: FixtureServer;
const gateways = testGateways();

beforeAll(async () => {
  [paged, plain] = await Promise.all([
    startFixture({ name: 'paged', pagedTools: 2 }),
    startFixture({ name: 'plain' }),
  ]);
});
afterAll(async () => {
  await Promise.all([paged.close(), plain.close()]);
});

describe('pagination', () => {
  it('walks every page of every target with gateway cursors', async () => {
    const gateway = await gateways.start(
      backendOf([targetOf('paged', paged.port), targetOf('plain', plain.port)]),
    );
    const client = await connectClient(gateway.url);
    const pages: string[][] = [];
    let cursor: string | undefined;
    do {
      const page = await client.listTools(cursor ? { cursor } : undefined);
      pages.push(page.tools.map((t) => t.name));
      cursor = page.nextCursor;
    } while (cursor && pages.length < 10);
    expect(pages).toHaveLength(3);
    expect(pages[0]).toEqual([
      'paged_p0-0',
      'paged_p0-1',
      'plain_echo',
      'plain_add',
      'plain_whoami',
      'plain_count',
      'plain_sleep',
      'plain_grow',
    ]);
    expect(pages[1]).toEqual(['paged_p1-0', 'paged_p1-1']);
    expect(pages[2]).toEqual(['paged_p2-0', 'paged_p2-1']);
    await expect(client.listTools({ cursor: 'not-ours' })).rejects.toMatchObject({ code: -32602 });
    await client.close();
  });

  it('passes upstream cursors through untouched for a transparent backend', async () => {
    const gateway = await gateways.start(backendOf([targetOf('paged', paged.port)]));
    const client = await connectClient(gateway.url);
    const first = await client.listTools();
    expect(first.nextCursor).toBe('1');
    expect((await client.listTools({ cursor: '2' })).tools.map((t) => t.name)).toEqual(['p2-0', 'p2-1']);
    await client.close();
  });
});
