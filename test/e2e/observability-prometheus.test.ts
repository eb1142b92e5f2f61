/**
 * Issue 13, acceptance 2 and upstream health: a real Prometheus (Debian's, scraping every second)
 * scrapes mcplane while real SDK clients call real SDK servers through it, and the PromQL an
 * operator would write answers what the test did: the per-tool p99, the error ratio, and
 * `mcplane_upstream_up`. A target that stops is marked down, leaves the merged tool list (clients
 * get list_changed), and comes back when it answers again.
 */
import { rm } from 'node:fs/promises';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { ToolListChangedNotificationSchema } from '@modelcontextprotocol/sdk/types.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Gateway } from '../../src/gateway.js';
import { startTestGateway } from '../support/gateway.js';
import { type FixtureServer, startFixture } from '../support/mcp-servers.js';
import { freePort } from '../support/ports.js';
import { type Prometheus, type Sample, startPrometheus } from '../support/prometheus.js';
import { type RawUpstream, startRawUpstream } from '../support/raw-upstream.js';
import { writeManifests } from '../support/standalone.js';

let alpha: FixtureServer;
let delta: RawUpstream;
let beta: FixtureServer | undefined;
let betaPort: number;
let gateway: Gateway;
let prometheus: Prometheus;
let dir: string;
let port: number;

beforeAll(async () => {
  [alpha, beta, delta] = await Promise.all([
    startFixture({ name: 'alpha' }),
    startFixture({ name: 'beta' }),
    startRawUpstream({ name: 'delta' }),
  ]);
  betaPort = beta.port;
  // gamma: a port nobody listens on.
  const [listener, gammaPort] = await Promise.all([freePort(), freePort()]);
  port = listener;
  dir = await writeManifests(port, [
    {
      name: 'tools',
      failureMode: 'FailOpen',
      targets: [
        { name: 'alpha', port: alpha.port },
        { name: 'beta', port: betaPort },
        { name: 'gamma', port: gammaPort },
        { name: 'delta', port: delta.port },
      ],
    },
  ]);
  gateway = await startTestGateway([
    '--manifests',
    dir,
    '--upstream-probe-interval',
    '500ms',
    '--upstream-down-grace',
    '1s',
  ]);
  prometheus = await startPrometheus(`127.0.0.1:${gateway.adminPort}`);
}, 60_000);

afterAll(async () => {
  await gateway?.stop();
  await prometheus?.stop();
  await Promise.all([alpha?.close(), beta?.close(), delta?.close()]);
  if (dir) await rm(dir, { recursive: true, force: true });
});

const byLabel = (samples: Sample[], label: string) =>
  Object.fromEntries(samples.map((s) => [s.metric[label] ?? '', s.value]));

async function connect(): Promise<{ client: Client; changed: () => number }> {
  const client = new Client({ name: 'observability', version: '1.0.0' });
  let changed = 0;
  client.setNotificationHandler(ToolListChangedNotificationSchema, async () => {
    changed += 1;
  });
  await client.connect(new StreamableHTTPClientTransport(new URL(`http://127.0.0.1:${port}/mcp`)));
  return { client, changed: () => changed };
}

describe('a real Prometheus scraping mcplane', () => {
  it('answers the per-tool p99, the error ratio and mcplane_upstream_up', async () => {
    const { client } = await connect();
    try {
      const names = (await client.listTools()).tools.map((t) => t.name);
      expect(names).toContain('alpha_echo');
      expect(names).toContain('beta_sleep');
      for (let i = 0; i < 20; i++)
        await client.callTool({ name: 'alpha_echo', arguments: { message: `m${i}` } });
      await Promise.all(
        Array.from({ length: 10 }, () => client.callTool({ name: 'beta_sleep', arguments: { ms: 150 } })),
      );
      // delta answers with its own JSON-RPC error: it counts by its code.
      for (let i = 0; i < 5; i++)
        await expect(client.callTool({ name: 'delta_rpc_error', arguments: {} })).rejects.toThrow(/failed/);
      // gamma never answers: the gateway answers -32002 naming it.
      for (let i = 0; i < 10; i++) {
        await expect(client.callTool({ name: 'gamma_echo', arguments: { message: 'x' } })).rejects.toThrow(
          /gamma/,
        );
      }
    } finally {
      await client.close();
    }

    const calls = 'mcp_server_operation_duration_seconds_count{mcp_method_name="tools/call"}';
    await prometheus.until(`sum(${calls})`, (s) => s[0]?.value === 45);

    const p99 = byLabel(
      await prometheus.query(
        'histogram_quantile(0.99, sum by (le, gen_ai_tool_name) (mcp_server_operation_duration_seconds_bucket{mcp_method_name="tools/call"}))',
      ),
      'gen_ai_tool_name',
    );
    expect(p99.beta_sleep).toBeGreaterThan(0.1);
    expect(p99.beta_sleep).toBeLessThanOrEqual(0.25);
    expect(p99.alpha_echo).toBeLessThan(0.1);
    // A tool no target listed is never a label of its own.
    expect(Object.keys(p99).sort()).toEqual(['alpha_echo', 'beta_sleep', 'other']);

    const [ratio] = await prometheus.query(
      'sum(mcp_server_operation_duration_seconds_count{mcp_method_name="tools/call",error_type!=""}) / ' +
        `sum(${calls})`,
    );
    expect(ratio?.value).toBeCloseTo(15 / 45, 6);
    const errors = byLabel(
      await prometheus.query(`sum by (error_type) (${calls.replace('}', ',error_type!=""}')})`),
      'error_type',
    );
    expect(errors).toEqual({ '-32002': 10, '-32603': 5 });

    const up = byLabel(await prometheus.until('mcplane_upstream_up', (s) => s.length === 4), 'target');
    expect(up).toEqual({ alpha: 1, beta: 1, gamma: 0, delta: 1 });

    const hops = byLabel(
      await prometheus.query(
        'sum by (error_type) (mcp_client_operation_duration_seconds_count{target="gamma"})',
      ),
      'error_type',
    );
    expect(hops.unreachable).toBeGreaterThan(0);
    expect(hops['']).toBeUndefined();
  }, 60_000);

  it('a target that stops leaves the merged list (list_changed) and comes back when it answers', async () => {
    const { client, changed } = await connect();
    try {
      expect((await client.listTools()).tools.map((t) => t.name)).toContain('beta_echo');
      await beta!.close();
      beta = undefined;
      await prometheus.until('mcplane_upstream_up{target="beta"}', (s) => s[0]?.value === 0);
      await expect.poll(changed, { timeout: 10_000 }).toBeGreaterThan(0);
      const without = (await client.listTools()).tools.map((t) => t.name);
      expect(without).toContain('alpha_echo');
      expect(without.filter((n) => n.startsWith('beta_'))).toEqual([]);

      const before = changed();
      beta = await startFixture({ name: 'beta', port: betaPort });
      await prometheus.until('mcplane_upstream_up{target="beta"}', (s) => s[0]?.value === 1);
      await expect.poll(changed, { timeout: 10_000 }).toBeGreaterThan(before);
      expect((await client.listTools()).tools.map((t) => t.name)).toContain('beta_echo');
      const echo = await client.callTool({ name: 'beta_echo', arguments: { message: 'back' } });
      expect(echo.content).toEqual([{ type: 'text', text: 'Echo: back' }]);
    } finally {
      await client.close();
    }
  }, 60_000);
});
