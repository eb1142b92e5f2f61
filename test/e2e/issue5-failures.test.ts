/**
 * Three targets, one killed while traffic flows. FailOpen: 200 lists and calls on the other two
 * keep working with zero errors, and a call to the dead one names it. FailClosed: lists fail with an
 * error naming the dead target while calls routed to the others still work. Either way, when the
 * target comes back on its address its tools reappear in the same session, without a gateway restart.
 * (test/proxy/mcp-failure-mode.test.ts covers targets that are down or slow from the start.)
 */
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { afterEach, describe, expect, it } from 'vitest';
import {
  backendOf,
  connectClient,
  type Gateway,
  startGateway,
  targetOf,
  textOf,
} from '../support/mcp-harness.js';
import { type FixtureServer, startFixture } from '../support/mcp-servers.js';

const NAMES = ['alpha', 'beta', 'gamma'] as const;
const OPS = 200;
const KILL_AT = 60;
const CONCURRENCY = 4;

let servers: FixtureServer[] = [];
let gateway: Gateway | undefined;
let client: Client | undefined;

afterEach(async () => {
  await client?.close().catch(() => {});
  await gateway?.close();
  await Promise.all(servers.map((s) => s.close().catch(() => {})));
  servers = [];
});

async function setUp(failureMode: 'FailOpen' | 'FailClosed') {
  servers = await Promise.all(NAMES.map((name) => startFixture({ name })));
  gateway = await startGateway(
    backendOf(
      servers.map((s) => targetOf(s.name, s.port)),
      { failureMode },
    ),
  );
  client = await connectClient(gateway.url);
  return client;
}

const toolNames = async (c: Client) => (await c.listTools()).tools.map((t) => t.name);

/** Run `ops` operations, CONCURRENCY at a time, calling `kill` once op `killAt` starts. */
async function traffic(
  ops: number,
  killAt: number,
  kill: () => Promise<void>,
  op: (i: number) => Promise<void>,
) {
  const errors: string[] = [];
  let next = 0;
  let killed: Promise<void> | undefined;
  const worker = async () => {
    while (next < ops) {
      const i = next++;
      if (i === killAt) killed = kill();
      await op(i).catch((error: Error) => errors.push(`op ${i}: ${error.message}`));
    }
  };
  await Promise.all(Array.from({ length: CONCURRENCY }, worker));
  await killed;
  return errors;
}

/** Stop gamma and start it again on the same port, as a restarted pod would be. */
async function restartGamma(): Promise<void> {
  const gamma = servers[2]!;
  servers[2] = await startFixture({ name: 'gamma', port: gamma.port });
}

describe('a target dies under load', () => {
  it('FailOpen: the other two keep answering lists and calls with zero errors', async () => {
    const c = await setUp('FailOpen');
    expect(await toolNames(c)).toEqual(expect.arrayContaining(['alpha_echo', 'beta_echo', 'gamma_echo']));
    let listsWithoutGamma = 0;
    const errors = await traffic(
      OPS,
      KILL_AT,
      () => servers[2]!.close(),
      async (i) => {
        if (i % 2 === 0) {
          const names = await toolNames(c);
          if (!names.includes('alpha_echo') || !names.includes('beta_add'))
            throw new Error(`list ${i}: ${names}`);
          if (!names.includes('gamma_echo')) listsWithoutGamma += 1;
        } else {
          const target = i % 4 === 1 ? 'alpha' : 'beta';
          const answer = textOf(
            await c.callTool({ name: `${target}_echo`, arguments: { message: `m${i}` } }),
          );
          if (answer !== `Echo: m${i}`) throw new Error(`call ${i}: ${answer}`);
        }
      },
    );
    expect(errors).toEqual([]);
    expect(listsWithoutGamma).toBeGreaterThan(0);
    await expect(c.callTool({ name: 'gamma_echo', arguments: { message: 'x' } })).rejects.toMatchObject({
      code: -32002,
      message: expect.stringContaining('target "gamma"'),
    });

    await restartGamma();
    await expect.poll(async () => toolNames(c), { timeout: 10_000, interval: 200 }).toContain('gamma_echo');
    expect(textOf(await c.callTool({ name: 'gamma_whoami', arguments: {} }))).toBe('gamma');
  }, 60_000);

  it('FailClosed: lists fail naming the dead target, routed calls to the others still work', async () => {
    const c = await setUp('FailClosed');
    await servers[2]!.close();
    await expect(c.listTools()).rejects.toMatchObject({
      code: -32002,
      message: expect.stringMatching(/target "gamma" is unreachable: connection (refused|reset|closed)/),
    });
    await expect(c.callTool({ name: 'gamma_echo', arguments: { message: 'x' } })).rejects.toMatchObject({
      message: expect.stringContaining('target "gamma"'),
    });
    expect(textOf(await c.callTool({ name: 'alpha_echo', arguments: { message: 'still' } }))).toBe(
      'Echo: still',
    );
    expect(textOf(await c.callTool({ name: 'beta_add', arguments: { a: 2, b: 3 } }))).toBe('5');

    await restartGamma();
    await expect
      .poll(async () => toolNames(c).catch((error: Error) => [error.message]), {
        timeout: 10_000,
        interval: 200,
      })
      .toContain('gamma_echo');
    expect(textOf(await c.callTool({ name: 'gamma_whoami', arguments: {} }))).toBe('gamma');
    // A new session sees all three as well.
    const fresh = await connectClient(gateway!.url);
    expect(await toolNames(fresh)).toEqual(expect.arrayContaining(['alpha_echo', 'beta_echo', 'gamma_echo']));
    await fresh.close();
  }, 60_000);
});
