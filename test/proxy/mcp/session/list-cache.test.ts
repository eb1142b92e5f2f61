/**
 * A session's kept list answers: a repeated merged tools/list is answered without asking targets
 * that promised to announce changes while their event stream is open, and never when that promise
 * cannot hold (the target announced a change, its stream ended, it declared no listChanged, the
 * operator turned the cache off). Real SDK servers and clients (which open the GET stream).
 */
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { ToolListChangedNotificationSchema } from '@modelcontextprotocol/sdk/types.js';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { intern, TargetLists } from '../../../../src/proxy/mcp/session/list-cache.js';
import {
  backendOf,
  connectClient,
  type Gateway,
  startGateway,
  targetOf,
  textOf,
} from '../../../support/mcp-harness.js';
import { type FixtureServer, type SeenRequest, startFixture } from '../../../support/mcp-servers.js';

let a: FixtureServer;
let b: FixtureServer;
let quiet: FixtureServer;
const open: Array<{ close(): Promise<void> }> = [];

beforeAll(async () => {
  [a, b, quiet] = await Promise.all([
    startFixture({ name: 'a' }),
    startFixture({ name: 'b' }),
    startFixture({ name: 'quiet', listChanged: false }),
  ]);
});
afterEach(async () => {
  await Promise.all(open.splice(0).map((o) => o.close()));
});
afterAll(async () => {
  await Promise.all([a, b, quiet].map((s) => s.close()));
});

async function gatewayFor(targets: FixtureServer[], listCache?: boolean): Promise<Gateway> {
  const backend = backendOf(targets.map((t) => targetOf(t.name, t.port)));
  const gateway = await startGateway(backend, listCache === undefined ? {} : { listCache });
  open.push(gateway);
  return gateway;
}

/**
 * A client (SDK: it opens its GET stream after the handshake), returned once the gateway holds an
 * answered event stream to each of `servers` for its session.
 */
async function client(gateway: Gateway, servers: FixtureServer[]): Promise<Client> {
  const gets = (s: FixtureServer) => s.seen.filter((r) => r.method === 'GET').length;
  const before = servers.map(gets);
  const c = await connectClient(gateway.url);
  open.unshift(c); // closed before its gateway
  for (let i = 0; i < 200 && servers.some((s, n) => gets(s) === before[n]); i++) {
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  await new Promise((resolve) => setTimeout(resolve, 20)); // the gateway reads the stream's headers
  return c;
}

const isList = (r: SeenRequest) => (r.body as { method?: string } | undefined)?.method === 'tools/list';
const listsSeen = (server: FixtureServer) => server.seen.filter(isList).length;

async function cacheCount(gateway: Gateway, result: 'hit' | 'miss'): Promise<number> {
  const metric = await gateway.metrics.registry.getSingleMetric('mcplane_list_cache_total')?.get();
  return (
    metric?.values.find((v) => v.labels.method === 'tools/list' && v.labels.result === result)?.value ?? 0
  );
}

describe('kept list answers', () => {
  it('answers a repeated merged tools/list without asking the targets, and counts hits', async () => {
    const gateway = await gatewayFor([a, b]);
    const c = await client(gateway, [a, b]);
    const before = [listsSeen(a), listsSeen(b)];
    const first = await c.listTools();
    for (let i = 0; i < 5; i++) expect(await c.listTools()).toEqual(first);
    expect([listsSeen(a), listsSeen(b)]).toEqual([before[0]! + 1, before[1]! + 1]);
    expect(await cacheCount(gateway, 'miss')).toBe(2);
    expect(await cacheCount(gateway, 'hit')).toBe(10);
    // Calls still route by the names of the kept list.
    expect(textOf(await c.callTool({ name: 'b_whoami' }))).toBe('b');
  });

  it("a target's list_changed drops its kept list only: the next list asks it again, and shows the change", async () => {
    const gateway = await gatewayFor([a, b]);
    const c = await client(gateway, [a, b]);
    const changed: number[] = [];
    c.setNotificationHandler(ToolListChangedNotificationSchema, async () => {
      changed.push(Date.now());
    });
    await c.listTools();
    const before = [listsSeen(a), listsSeen(b)];
    // Relisting at once after the call that changed the list (an agent that does not wait for the
    // notification) must already see the new tool, every time.
    for (let n = 1; n <= 5; n++) {
      expect(textOf(await c.callTool({ name: 'a_grow' }))).toBe(`grown-${n}`);
      const names = (await c.listTools()).tools.map((t) => t.name);
      expect(names).toContain(`a_grown-${n}`);
    }
    expect(listsSeen(a)).toBe(before[0]! + 5);
    expect(listsSeen(b)).toBe(before[1]); // b announced nothing: its kept list served every time
    await expect.poll(() => changed.length).toBe(5);
  });

  it('stops keeping when the target closes its event stream', async () => {
    const gateway = await gatewayFor([a, b]);
    const c = await client(gateway, [a, b]);
    await c.listTools();
    await c.listTools();
    const before = listsSeen(a);
    const sessionsOfA = [...a.sessions.values()];
    for (const transport of sessionsOfA) transport.closeStandaloneSSEStream();
    await new Promise((resolve) => setTimeout(resolve, 50));
    await c.listTools();
    await c.listTools();
    expect(listsSeen(a)).toBe(before + 2); // nothing would tell us of a change now
  });

  it('never keeps the list of a target that does not declare listChanged', async () => {
    const gateway = await gatewayFor([a, quiet]);
    const c = await client(gateway, [a, quiet]);
    const before = [listsSeen(a), listsSeen(quiet)];
    for (let i = 0; i < 3; i++) await c.listTools();
    expect([listsSeen(a), listsSeen(quiet)]).toEqual([before[0]! + 1, before[1]! + 3]);
  });

  it('--list-cache=false: every list asks every target', async () => {
    const gateway = await gatewayFor([a, b], false);
    const c = await client(gateway, [a, b]);
    const before = [listsSeen(a), listsSeen(b)];
    for (let i = 0; i < 3; i++) await c.listTools();
    expect([listsSeen(a), listsSeen(b)]).toEqual([before[0]! + 3, before[1]! + 3]);
    expect(await cacheCount(gateway, 'hit')).toBe(0);
  });

  it('a backend whose targets change keeps nothing from before', async () => {
    const gateway = await gatewayFor([a, b]);
    const c = await client(gateway, [a, b]);
    await c.listTools();
    const before = listsSeen(a);
    gateway.swap(backendOf([targetOf('a', a.port)]));
    gateway.swap(backendOf([targetOf('a', a.port), targetOf('b', b.port)]));
    await c.listTools();
    expect(listsSeen(a)).toBe(before + 1);
  });
});

describe('TargetLists and intern', () => {
  it('drops an answer requested before an announcement, and what an announcement names', () => {
    const lists = new TargetLists({});
    const before = lists.version;
    lists.forget(['tools/list']); // list_changed arrived while the answer was on its way
    lists.keep('tools/list', { tools: [] }, before);
    expect(lists.get('tools/list')).toBeUndefined();
    lists.keep('tools/list', { tools: [] }, lists.version);
    lists.keep('prompts/list', { prompts: [] }, lists.version);
    lists.forget(['prompts/list']);
    expect(lists.get('tools/list')).toEqual({ tools: [] });
    expect(lists.get('prompts/list')).toBeUndefined();
    lists.forget();
    expect(lists.size).toBe(0);
  });

  it('holds equal answers once, and different ones apart', () => {
    const first = intern('tools/list', { tools: [{ name: 'interned-x' }] });
    expect(intern('tools/list', { tools: [{ name: 'interned-x' }] })).toBe(first);
    expect(intern('tools/list', { tools: [{ name: 'interned-y' }] })).not.toBe(first);
    expect(intern('prompts/list', { tools: [{ name: 'interned-x' }] })).not.toBe(first);
  });

  it('two sessions keeping equal answers hold one copy', () => {
    const [one, two] = [new TargetLists({}), new TargetLists({})];
    one.keep('tools/list', { tools: [{ name: 'shared-z' }] }, one.version);
    two.keep('tools/list', { tools: [{ name: 'shared-z' }] }, two.version);
    expect(one.get('tools/list')).toBeDefined();
    expect(one.get('tools/list')).toBe(two.get('tools/list'));
  });
});

describe('kept lists across a backend change', () => {
  it('a stream opened while the backend had one target still announces after a second joined', async () => {
    const gateway = await gatewayFor([a]);
    const c = await client(gateway, [a]);
    await c.listTools(); // transparent: the target's own list
    gateway.swap(backendOf([targetOf('a', a.port), targetOf('b', b.port)]));
    await c.listTools();
    await c.listTools();
    expect(textOf(await c.callTool({ name: 'a_grow' }))).toBe('grown-1');
    expect((await c.listTools()).tools.map((t) => t.name)).toContain('a_grown-1');
  });
});
