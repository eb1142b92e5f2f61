/**
 * No client string becomes a metric label: a client that sends thousands of made-up method names
 * (requests and notifications, through a transparent and a multiplexed backend) adds no series to
 * /metrics. prom-client keeps every series it saw, so each name used to cost memory and scrape time
 * for the life of the process.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Metrics } from '../../../src/shared/metrics.js';
import { type Gateway, MCP_HEADERS, rawInitialize, testGateways } from '../../support/mcp-harness.js';
import { type FixtureServer, startFixture } from '../../support/mcp-servers.js';

const NAMES = 5_000;
const gateways = testGateways();
let alpha: FixtureServer;
let beta: FixtureServer;

beforeAll(async () => {
  [alpha, beta] = await Promise.all([startFixture({ name: 'alpha' }), startFixture({ name: 'beta' })]);
});
afterAll(async () => {
  await Promise.all([alpha.close(), beta.close()]);
});

/** Series on /metrics: every sample line. */
async function series(metrics: Metrics): Promise<number> {
  const text = await metrics.registry.metrics();
  return text.split('\n').filter((line) => line !== '' && !line.startsWith('#')).length;
}

function send(gateway: Gateway, session: string, method: string, id: number | undefined) {
  const message = id === undefined ? { jsonrpc: '2.0', method } : { jsonrpc: '2.0', id, method };
  return fetch(gateway.url, {
    method: 'POST',
    headers: { ...MCP_HEADERS, 'mcp-session-id': session },
    body: JSON.stringify(message),
  }).then(async (response) => {
    await response.text();
    return response.status;
  });
}

/** Send `count` distinct methods, alternating requests and notifications, 16 at a time. */
async function flood(gateway: Gateway, session: string, prefix: string, count: number): Promise<number[]> {
  const statuses: number[] = [];
  let next = 0;
  const worker = async () => {
    while (next < count) {
      const n = next++;
      statuses.push(
        await send(gateway, session, `${prefix}/${n}-${'x'.repeat(n % 40)}`, n % 2 ? n : undefined),
      );
    }
  };
  await Promise.all(Array.from({ length: 16 }, worker));
  return statuses;
}

describe('made-up method names', () => {
  it(`${NAMES} distinct names add no series, transparent or multiplexed`, async () => {
    const transparent = await gateways.over([alpha]);
    const multiplexed = await gateways.over([alpha, beta]);
    for (const gateway of [transparent, multiplexed]) {
      const session = await rawInitialize(gateway.url);
      // Warm-up: one made-up request and notification create the `other` series.
      await flood(gateway, session, 'warm-up', 2);
      const before = await series(gateway.metrics);
      const statuses = await flood(gateway, session, 'made-up', NAMES / 2);
      expect(new Set(statuses)).toEqual(new Set([200, 202]));
      expect(await series(gateway.metrics)).toBe(before);
    }
    // The notifications went upstream (so the hop layer labelled them too).
    expect(
      alpha.seen.filter((r) => String((r.body as { method?: string })?.method).startsWith('made-up/')).length,
    ).toBeGreaterThan(NAMES / 2);
  }, 120_000);
});
