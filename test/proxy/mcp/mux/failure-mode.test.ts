/**
 * Upstreams that are down or slow, under FailClosed and FailOpen.
 */
import { createServer } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { backendOf, connectClient, targetOf, testGateways, textOf } from '../../../support/mcp-harness.js';
import { type FixtureServer, startFixture } from '../../../support/mcp-servers.js';

let alpha: FixtureServer;
let slow: FixtureServer;
let deadPort: number;
const gateways = testGateways();

/** A port nothing listens on: bind, read the port, close. */
async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

beforeAll(async () => {
  alpha = await startFixture({ name: 'alpha' });
  slow = await startFixture({ name: 'slow', initializeDelayMs: 3000 });
  deadPort = await freePort();
});
afterAll(async () => {
  await Promise.all([alpha.close(), slow.close()]);
});

async function gatewayWith(
  failureMode: 'FailClosed' | 'FailOpen',
  extra = targetOf('down', deadPort),
  fanoutTimeoutMs = 2000,
) {
  const gateway = await gateways.start(backendOf([targetOf('alpha', alpha.port), extra], { failureMode }), {
    fanoutTimeoutMs,
  });
  return gateway;
}

describe('FailClosed', () => {
  it('fails initialize with an error naming the unreachable target', async () => {
    const gateway = await gatewayWith('FailClosed');
    await expect(connectClient(gateway.url)).rejects.toThrow(
      /target "down" is unreachable: connection refused/,
    );
  });

  it('fails on a slow target with an error naming it (per-target deadline)', async () => {
    const gateway = await gatewayWith('FailClosed', targetOf('slow', slow.port), 300);
    await expect(connectClient(gateway.url)).rejects.toThrow(/target "slow" did not answer in time/);
  });
});

describe('FailOpen', () => {
  it('skips the dead target: the rest answer, calls to the dead one name it', async () => {
    const gateway = await gatewayWith('FailOpen');
    const client = await connectClient(gateway.url);
    const names = (await client.listTools()).tools.map((t) => t.name);
    expect(names).toContain('alpha_echo');
    expect(names.some((n) => n.startsWith('down_'))).toBe(false);
    expect(textOf(await client.callTool({ name: 'alpha_echo', arguments: { message: 'ok' } }))).toBe(
      'Echo: ok',
    );
    await expect(client.callTool({ name: 'down_echo', arguments: { message: 'x' } })).rejects.toMatchObject({
      code: -32002,
      message: expect.stringContaining('target "down"'),
    });
    await client.close();
  });

  it('skips a slow target after the fan-out deadline', async () => {
    const gateway = await gatewayWith('FailOpen', targetOf('slow', slow.port), 300);
    const started = performance.now();
    const client = await connectClient(gateway.url);
    expect(performance.now() - started).toBeLessThan(2000);
    expect(client.getServerVersion()?.name).toBe('mcplane');
    await client.close();
  });

  it('fails when every target is down', async () => {
    const gateway = await gateways.start(
      backendOf([targetOf('down', deadPort)], { failureMode: 'FailOpen' }),
    );
    await expect(connectClient(gateway.url)).rejects.toThrow(/target "down" is unreachable/);
  });
});

describe('SSE targets', () => {
  it('pointed at a server without an SSE endpoint, fail naming the target', async () => {
    const gateway = await gatewayWith(
      'FailClosed',
      targetOf('legacy', alpha.port, { protocol: 'SSE', path: '/sse' }),
    );
    await expect(connectClient(gateway.url)).rejects.toThrow(
      /target "legacy" refused its event stream \(HTTP 400\)/,
    );
  });
});
