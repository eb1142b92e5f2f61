/**
 * Upstream health reaches the Backend's status (issue 13): against the in-process Kubernetes API
 * server, the leader writes a `Healthy` condition on each MCP backend — True while its targets
 * answer, False naming a target that stopped (probed every 200 ms here), True again once it is back.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Gateway } from '../../src/gateway.js';
import { startTestGateway } from '../support/gateway.js';
import { KubeApiServer } from '../support/kube/api-server.js';
import { kubeConfigFor } from '../support/kube/kubeconfig.js';
import { type FixtureServer, startFixture } from '../support/mcp-servers.js';
import { freePort } from '../support/ports.js';
import { condition, walkthrough } from '../support/walkthrough.js';

describe('the Backend status carries the health of its targets', () => {
  let api: KubeApiServer;
  let dir: string;
  let upstream: FixtureServer | undefined;
  let upstreamPort: number;
  let gateway: Gateway;

  beforeAll(async () => {
    api = await KubeApiServer.start();
    upstream = await startFixture({ name: 'everything' });
    upstreamPort = upstream.port;
    for (const obj of walkthrough(await freePort(), upstreamPort)) api.apply(obj);
    dir = await mkdtemp(join(tmpdir(), 'mcplane-health-'));
    const kubeconfig = join(dir, 'kubeconfig');
    await writeFile(kubeconfig, kubeConfigFor(api.url).exportConfig());
    gateway = await startTestGateway([
      '--kubeconfig',
      kubeconfig,
      '--lease-namespace',
      'default',
      '--upstream-probe-interval',
      '200ms',
    ]);
  });

  afterAll(async () => {
    await gateway?.stop();
    await upstream?.close();
    await api?.close();
    await rm(dir, { recursive: true, force: true });
  });

  const healthy = () => condition(api.get('Backend', 'default', 'mcp-backend')?.status, 'Healthy');

  it('True, then False naming the stopped target, then True when it answers again', async () => {
    await expect.poll(() => healthy()?.status, { timeout: 10_000 }).toBe('True');
    expect(healthy()?.reason).toBe('TargetsHealthy');
    // translate()'s own conditions are still there beside it.
    expect(condition(api.get('Backend', 'default', 'mcp-backend')?.status, 'ResolvedRefs')?.status).toBe(
      'True',
    );

    await upstream!.close();
    upstream = undefined;
    await expect.poll(() => healthy()?.status, { timeout: 10_000 }).toBe('False');
    expect(healthy()?.reason).toBe('TargetsDown');
    expect(healthy()?.message).toMatch(/Targets down .*: \S+/);

    upstream = await startFixture({ name: 'everything', port: upstreamPort });
    await expect.poll(() => healthy()?.status, { timeout: 10_000 }).toBe('True');
  }, 40_000);
});
