/**
 * Two mcplane processes against one API server: both serve traffic, exactly one (the Lease holder)
 * writes status; SIGKILL the leader and the other takes over within the lease duration and writes
 * status for new objects, without having stopped serving.
 *
 * The two processes bind different loopback addresses (127.0.0.1 and 127.0.0.2), as two pods would
 * have two IPs, so both can open the Gateway's listener port.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { KubeApiServer } from '../support/kube/api-server.js';
import { kubeConfigFor } from '../support/kube/kubeconfig.js';
import { type FixtureServer, startFixture } from '../support/mcp-servers.js';
import { freePort } from '../support/ports.js';
import { type GatewayProcess, spawnGateway } from '../support/process.js';
import { CONTROLLER, walkthrough } from '../support/walkthrough.js';

const LEASE_MS = 3000;

interface Replica {
  readonly name: string;
  readonly address: string;
  readonly gateway: GatewayProcess;
}

async function isLeader(replica: Replica): Promise<boolean> {
  const text = await fetch(`http://127.0.0.1:${replica.gateway.adminPort}/metrics`)
    .then((r) => r.text())
    .catch(() => '');
  return /^mcplane_leader 1$/m.test(text);
}

describe('two replicas, one status writer', () => {
  let api: KubeApiServer;
  let dir: string;
  let upstream: FixtureServer;
  let gatewayPort: number;
  const replicas: Replica[] = [];

  async function startReplica(name: string, address: string, kubeconfig: string): Promise<Replica> {
    const gateway = await spawnGateway(
      [
        '--kubeconfig',
        kubeconfig,
        '--lease-namespace',
        'default',
        '--lease-duration',
        `${LEASE_MS}ms`,
        '--pod-name',
        name,
        '--log-level',
        'warn',
      ],
      { bindAddress: address },
    );
    const replica: Replica = { name, address, gateway };
    replicas.push(replica);
    return replica;
  }

  beforeAll(async () => {
    api = await KubeApiServer.start();
    upstream = await startFixture({ name: 'everything' });
    gatewayPort = await freePort();
    for (const obj of walkthrough(gatewayPort, upstream.port)) api.apply(obj);
    dir = await mkdtemp(join(tmpdir(), 'mcplane-ha-'));
    await writeFile(join(dir, 'kubeconfig'), kubeConfigFor(api.url).exportConfig());
  });

  afterAll(async () => {
    for (const r of replicas) if (r.gateway.process.exitCode === null) r.gateway.process.kill('SIGKILL');
    await upstream?.close();
    await api?.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('fails over status writing within the lease duration while both keep serving', async () => {
    const a = await startReplica('replica-a', '127.0.0.1', join(dir, 'kubeconfig'));
    const b = await startReplica('replica-b', '127.0.0.2', join(dir, 'kubeconfig'));
    await Promise.all([a.gateway.ready(), b.gateway.ready()]);
    await expect
      .poll(async () => (await isLeader(a)) !== (await isLeader(b)), { timeout: 10_000 })
      .toBe(true);
    const leader = (await isLeader(a)) ? a : b;
    const follower = leader === a ? b : a;

    // Both serve: a session on each.
    const clients = new Map<Replica, Client>();
    for (const r of [a, b]) {
      const client = new Client({ name: `client-${r.name}`, version: '1.0.0' });
      await client.connect(
        new StreamableHTTPClientTransport(new URL(`http://${r.address}:${gatewayPort}/mcp`)),
      );
      const echo = await client.callTool({ name: 'echo', arguments: { message: r.name } });
      expect(echo.content).toEqual([{ type: 'text', text: `Echo: ${r.name}` }]);
      clients.set(r, client);
    }

    // Traffic on the follower keeps flowing while the leader dies.
    let calls = 0;
    let errors = 0;
    let running = true;
    const traffic = (async () => {
      while (running) {
        try {
          await clients.get(follower)!.callTool({ name: 'echo', arguments: { message: 'x' } });
          calls += 1;
        } catch {
          errors += 1;
        }
        await new Promise((r) => setTimeout(r, 20));
      }
    })();

    const killedAt = performance.now();
    leader.gateway.process.kill('SIGKILL');
    await expect.poll(() => isLeader(follower), { timeout: LEASE_MS * 3, interval: 50 }).toBe(true);
    const takeoverMs = performance.now() - killedAt;
    console.log(
      `status-writer takeover after SIGKILL of the leader: ${takeoverMs.toFixed(0)} ms (lease ${LEASE_MS} ms)`,
    );
    expect(takeoverMs).toBeLessThan(LEASE_MS + 1500); // lease duration + one jittered retry period

    // The new leader writes status for objects that appear after the failover.
    api.apply({
      apiVersion: 'gateway.networking.k8s.io/v1',
      kind: 'HTTPRoute',
      metadata: { name: 'after-failover', namespace: 'default' },
      spec: {
        parentRefs: [{ name: 'agentgateway' }],
        hostnames: ['late.example.com'],
        rules: [{ backendRefs: [{ name: 'mcp-backend', group: 'gateway.kgateway.dev', kind: 'Backend' }] }],
      },
    });
    await expect
      .poll(
        () => {
          const status = api.get('HTTPRoute', 'default', 'after-failover')?.status as
            | { parents?: { controllerName: string }[] }
            | undefined;
          return status?.parents?.some((p) => p.controllerName === CONTROLLER) ?? false;
        },
        { timeout: 10_000 },
      )
      .toBe(true);

    running = false;
    await traffic;
    expect(errors, follower.gateway.logs()).toBe(0);
    expect(calls).toBeGreaterThan(10);
    await clients.get(follower)!.close();
  }, 90_000);
});
