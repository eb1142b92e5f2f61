/**
 * Issue 13, acceptance 3: what a client sends never becomes a series. 10,000 distinct method names
 * and 10,000 distinct tool names (half of them named for a real target, so they reach it) add no
 * series to the exposition, and a target listing 5,000 tools labels at most --metrics-max-tools of
 * them. Real SDK servers, raw HTTP clients.
 */
import { rm } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Gateway } from '../../src/gateway.js';
import { startTestGateway } from '../support/gateway.js';
import { MCP_HEADERS, rawInitialize } from '../support/mcp-harness.js';
import { type FixtureServer, startFixture } from '../support/mcp-servers.js';
import { freePort } from '../support/ports.js';
import { writeManifests } from '../support/standalone.js';

const CAP = 50;
const MANY_TOOLS = 5_000;
const DISTINCT = 10_000;

let big: FixtureServer;
let small: FixtureServer;
let gateway: Gateway;
let dir: string;
let url: string;

beforeAll(async () => {
  [big, small] = await Promise.all([
    startFixture({ name: 'big', extraTools: Array.from({ length: MANY_TOOLS }, (_, i) => `tool${i}`) }),
    startFixture({ name: 'small' }),
  ]);
  const port = await freePort();
  url = `http://127.0.0.1:${port}/mcp`;
  dir = await writeManifests(port, [
    {
      name: 'wide',
      targets: [
        { name: 'big', port: big.port },
        { name: 'small', port: small.port },
      ],
    },
  ]);
  gateway = await startTestGateway(['--manifests', dir, '--metrics-max-tools', String(CAP)]);
}, 60_000);

afterAll(async () => {
  await gateway?.stop();
  await Promise.all([big?.close(), small?.close()]);
  if (dir) await rm(dir, { recursive: true, force: true });
});

/** The exposition's series (every sample line). */
async function series(): Promise<string[]> {
  const text = await gateway.metrics.registry.metrics();
  return text.split('\n').filter((line) => line !== '' && !line.startsWith('#'));
}

async function send(session: string, body: unknown): Promise<void> {
  const response = await fetch(url, {
    method: 'POST',
    headers: { ...MCP_HEADERS, 'mcp-session-id': session, 'mcp-protocol-version': '2025-06-18' },
    body: JSON.stringify(body),
  });
  await response.arrayBuffer();
}

/** Run `count` requests, `width` at a time. */
async function each(count: number, width: number, one: (i: number) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: width }, async () => {
      while (next < count) await one(next++);
    }),
  );
}

const call = (id: number, name: string) => ({
  jsonrpc: '2.0',
  id,
  method: 'tools/call',
  params: { name, arguments: {} },
});

describe('metric cardinality under hostile names', () => {
  it('10,000 client-sent method names and 10,000 tool names add no series', async () => {
    const session = await rawInitialize(url);
    await send(session, { jsonrpc: '2.0', id: 0, method: 'tools/list' });
    // One of each kind first: their series exist from here on.
    await send(session, { jsonrpc: '2.0', id: 1, method: 'made/up-0' });
    await send(session, call(2, 'big_nope-0'));
    await send(session, call(3, 'nowhere-0'));
    const before = await series();

    await each(DISTINCT, 16, (i) => send(session, { jsonrpc: '2.0', id: 10 + i, method: `made/up-${i}` }));
    await each(DISTINCT / 2, 16, (i) => send(session, call(20_000 + i, `big_nope-${i}`)));
    await each(DISTINCT / 2, 16, (i) => send(session, call(30_000 + i, `nowhere-${i}`)));

    const after = await series();
    const added = after.filter((line) => !before.some((b) => b.split(' ')[0] === line.split(' ')[0]));
    expect(added).toEqual([]);
    expect(after.filter((line) => /made\/up|nope-|nowhere-/.test(line))).toEqual([]);
    // They were counted, under bounded labels.
    const other = after.find((line) =>
      line.startsWith(
        'mcp_server_operation_duration_seconds_count{route="default/wide/0/0",backend="agentgateway.dev/AgentgatewayBackend/default/wide",mcp_method_name="other",gen_ai_tool_name=""',
      ),
    );
    expect(Number(other?.split(' ')[1])).toBeGreaterThanOrEqual(DISTINCT);
  }, 120_000);

  it(`a target listing ${MANY_TOOLS} tools labels at most --metrics-max-tools (${CAP}) of them`, async () => {
    const session = await rawInitialize(url);
    await send(session, { jsonrpc: '2.0', id: 0, method: 'tools/list' });
    await each(200, 8, (i) => send(session, call(i + 1, `big_tool${i * 25}`)));
    const tools = new Set<string>();
    for (const line of await series()) {
      const match = /^mcp_server_operation_duration_seconds_count\{.*gen_ai_tool_name="([^"]*)"/.exec(line);
      if (match?.[1]) tools.add(match[1]);
    }
    tools.delete('other');
    expect(tools.size).toBeGreaterThan(0);
    expect(tools.size).toBeLessThanOrEqual(CAP);
    expect([...tools].every((t) => /^(big|small)_/.test(t))).toBe(true);
  }, 120_000);
});
