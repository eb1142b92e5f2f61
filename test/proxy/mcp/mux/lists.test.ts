/**
 * Lists and the merged handshake of a multiplexed backend: every page of several paged targets,
 * fan-out only to targets that offer a list, capabilities only where some target has them, and
 * the protocol version negotiated with the client while each target keeps its own on its hop.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectFeatureClient, VERSIONS } from '../../../support/mcp-clients.js';
import { connectClient, postInitialize, testGateways, textOf } from '../../../support/mcp-harness.js';
import { type FixtureServer, type SeenRequest, startFixture } from '../../../support/mcp-servers.js';

let pagedA: FixtureServer;
let pagedB: FixtureServer;
let full: FixtureServer;
let toolsOnly: FixtureServer;
let old: FixtureServer;
const gateways = testGateways();

beforeAll(async () => {
  [pagedA, pagedB, full, toolsOnly, old] = await Promise.all([
    startFixture({ name: 'pa', pagedTools: 2 }),
    startFixture({ name: 'pb', pagedTools: 3 }),
    startFixture({ name: 'full', prompts: true, resources: true, notifications: true }),
    startFixture({ name: 'tools-only' }),
    startFixture({ name: 'old', pinVersion: '2025-03-26' }),
  ]);
});
afterAll(async () => {
  await Promise.all([pagedA, pagedB, full, toolsOnly, old].map((s) => s.close()));
});

const methodOf = (r: SeenRequest) => (r.body as { method?: string } | undefined)?.method;

describe('pagination', () => {
  it('walks two targets with three pages each, page by page', async () => {
    const client = await connectClient((await gateways.over([pagedA, pagedB])).url);
    const pages: string[][] = [];
    let cursor: string | undefined;
    do {
      const page = await client.listTools(cursor ? { cursor } : undefined);
      pages.push(page.tools.map((t) => t.name));
      cursor = page.nextCursor;
    } while (cursor && pages.length < 10);
    expect(pages).toEqual([
      ['pa_p0-0', 'pa_p0-1', 'pb_p0-0', 'pb_p0-1', 'pb_p0-2'],
      ['pa_p1-0', 'pa_p1-1', 'pb_p1-0', 'pb_p1-1', 'pb_p1-2'],
      ['pa_p2-0', 'pa_p2-1', 'pb_p2-0', 'pb_p2-1', 'pb_p2-2'],
    ]);
    // Each upstream saw its own cursors, never the gateway's.
    const cursors = pagedB.seen
      .filter((r) => methodOf(r) === 'tools/list')
      .map((r) => (r.body as { params?: { cursor?: string } }).params?.cursor);
    expect(cursors.slice(-3)).toEqual([undefined, '1', '2']);
    await client.close();
  });
});

describe('capability-aware fan-out', () => {
  it('a tools-only target beside a full one: every list works and only the full one is asked', async () => {
    const client = await connectClient((await gateways.over([full, toolsOnly])).url);
    expect(client.getServerCapabilities()).toEqual({
      tools: { listChanged: true },
      prompts: { listChanged: true },
      resources: { listChanged: true, subscribe: true },
      logging: {},
      completions: {},
    });
    expect((await client.listPrompts()).prompts.map((p) => p.name)).toEqual(['full_greet']);
    expect((await client.listResources()).resources.map((r) => r.uri)).toEqual(['full+memo://readme']);
    expect((await client.listResourceTemplates()).resourceTemplates.map((t) => t.uriTemplate)).toEqual([
      'full+note://{id}',
    ]);
    const tools = (await client.listTools()).tools.map((t) => t.name);
    expect(tools).toContain('tools-only_echo');
    expect(tools).toContain('full_echo');
    const asked = new Set(toolsOnly.seen.map(methodOf));
    for (const method of ['prompts/list', 'resources/list', 'resources/templates/list', 'logging/setLevel']) {
      expect(asked.has(method)).toBe(false);
    }
    await client.setLoggingLevel('debug');
    expect(new Set(toolsOnly.seen.map(methodOf)).has('logging/setLevel')).toBe(false);
    await client.close();
  });

  it('targets with tools only: the merged handshake advertises tools and nothing else', async () => {
    const client = await connectClient((await gateways.over([toolsOnly, pagedA])).url);
    expect(client.getServerCapabilities()).toEqual({ tools: { listChanged: true } });
    expect(client.getInstructions()).toBeUndefined();
    await client.close();
  });
});

describe('protocol versions', () => {
  it.each(VERSIONS)('a %s client gets %s; each target keeps the version it negotiated', async (version) => {
    const gateway = await gateways.over([old, toolsOnly]);
    const { client, transport } = await connectFeatureClient(gateway.url, version);
    expect(transport.protocolVersion).toBe(version);
    const oldSeen = old.seen.length;
    const otherSeen = toolsOnly.seen.length;
    expect(textOf(await client.callTool({ name: 'old_whoami' }))).toBe('old');
    expect(textOf(await client.callTool({ name: 'tools-only_whoami' }))).toBe('tools-only');
    const versionsSent = (server: FixtureServer, since: number) =>
      new Set(server.seen.slice(since).map((r) => r.headers['mcp-protocol-version']));
    expect(versionsSent(old, oldSeen)).toEqual(new Set(['2025-03-26']));
    expect(versionsSent(toolsOnly, otherSeen)).toEqual(new Set([version]));
    await client.close();
  });

  it('a client asking for an unknown revision gets the newest the gateway speaks', async () => {
    const gateway = await gateways.over([old, toolsOnly]);
    const response = await postInitialize(gateway.url, '2099-01-01');
    expect(response.status).toBe(200);
    expect(((await response.json()) as { result: { protocolVersion: string } }).result.protocolVersion).toBe(
      '2025-11-25',
    );
  });
});
