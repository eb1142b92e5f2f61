/**
 * Leader election on a Lease against the in-process API server with the real client-node: exactly one
 * leader, takeover after a partitioned leader's Lease expires (judged by local observation), step-down
 * within renewDeadline, release on stop, and the MicroTime wire format.
 */
import { CoordinationV1Api, V1MicroTime } from '@kubernetes/client-node';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { LeaderElector, type LeaderElectorOptions } from '../../src/control/leader.js';
import { silentLogger } from '../../src/shared/logger.js';
import type { Metrics } from '../../src/shared/metrics.js';
import { KubeApiServer } from '../support/kube/api-server.js';
import { kubeConfigFor } from '../support/kube/kubeconfig.js';
import { testMetrics, waitFor } from './helpers.js';
import { PartitionProxy } from './partition-proxy.js';

// Fast timings: the Lease says 1 s (whole seconds on the wire), renew every 100 ms, give up after 500 ms.
const TIMINGS = { leaseDurationMs: 1000, renewDeadlineMs: 500, retryPeriodMs: 100 };
const LEASE_PATH = '/apis/coordination.k8s.io/v1/namespaces/mcplane/leases/mcplane-status';
const MICRO_TIME = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$/;

let server: KubeApiServer;
let electors: LeaderElector[];
let proxies: PartitionProxy[];

beforeEach(async () => {
  server = await KubeApiServer.start();
  electors = [];
  proxies = [];
});

afterEach(async () => {
  await Promise.all(electors.map((e) => e.stop()));
  await Promise.all(proxies.map((p) => p.close()));
  await server.close();
});

interface Tracked {
  elector: LeaderElector;
  metrics: Metrics;
  events: { what: 'started' | 'stopped'; at: number }[];
}

function elector(identity: string, url = server.url, overrides: Partial<LeaderElectorOptions> = {}): Tracked {
  const metrics = testMetrics();
  const e = new LeaderElector({
    kubeConfig: kubeConfigFor(url),
    namespace: 'mcplane',
    name: 'mcplane-status',
    identity,
    logger: silentLogger,
    metrics,
    ...TIMINGS,
    ...overrides,
  });
  const events: Tracked['events'] = [];
  e.onStartedLeading(() => events.push({ what: 'started', at: Date.now() }));
  e.onStoppedLeading(() => events.push({ what: 'stopped', at: Date.now() }));
  electors.push(e);
  return { elector: e, metrics, events };
}

function lease(): any {
  return server.get('Lease', 'mcplane', 'mcplane-status');
}

async function gauge(metrics: Metrics): Promise<number> {
  return (await metrics.leader.get()).values[0]?.value ?? 0;
}

describe('LeaderElector', () => {
  it('creates the Lease with MicroTime timestamps and leads', async () => {
    const a = elector('a');
    a.elector.start();
    await waitFor(() => a.elector.isLeader, 3000, 'a to lead');
    const create = server.requests.find((r) => r.method === 'POST')!;
    expect(create.path).toBe('/apis/coordination.k8s.io/v1/namespaces/mcplane/leases');
    expect(create.status).toBe(201);
    const spec = (create.body as any).spec;
    expect(spec).toMatchObject({ holderIdentity: 'a', leaseDurationSeconds: 1, leaseTransitions: 0 });
    expect(spec.acquireTime).toMatch(MICRO_TIME);
    expect(spec.renewTime).toMatch(MICRO_TIME);
    expect(await gauge(a.metrics)).toBe(1);
    expect(a.events.map((e) => e.what)).toEqual(['started']);

    // Renewals are PUTs with the resourceVersion, every retryPeriod, each moving renewTime.
    const firstRenew = lease().spec.renewTime;
    await waitFor(
      () => server.requests.filter((r) => r.method === 'PUT' && r.status === 200).length >= 3,
      2000,
      'renewals',
    );
    const put = server.requests.find((r) => r.method === 'PUT')!;
    expect(put.path).toBe(LEASE_PATH);
    expect((put.body as any).metadata.resourceVersion).toMatch(/^\d+$/);
    expect((put.body as any).spec.renewTime).toMatch(MICRO_TIME);
    expect(lease().spec.renewTime).not.toBe(firstRenew);
    expect(lease().spec.acquireTime).toBe(spec.acquireTime);
  });

  it('elects exactly one of two replicas, and keeps it', async () => {
    const a = elector('a');
    const b = elector('b');
    a.elector.start();
    b.elector.start();
    await waitFor(() => a.elector.isLeader || b.elector.isLeader, 3000, 'a leader');
    const leader = a.elector.isLeader ? a : b;
    const follower = leader === a ? b : a;
    // Several lease durations: the follower must never think the (renewing) Lease expired.
    const until = Date.now() + 1500;
    while (Date.now() < until) {
      expect(a.elector.isLeader && b.elector.isLeader).toBe(false);
      await new Promise((r) => setTimeout(r, 20));
    }
    expect(leader.elector.isLeader).toBe(true);
    expect(follower.events).toEqual([]);
    expect(lease().spec.holderIdentity).toBe(leader === a ? 'a' : 'b');
    expect(await gauge(follower.metrics)).toBe(0);
  });

  it('a partitioned leader steps down within renewDeadline; the other takes over after the lease expires', async () => {
    const proxy = await PartitionProxy.start(server.url);
    proxies.push(proxy);
    const a = elector('a', proxy.url, { requestTimeoutMs: 200 });
    a.elector.start();
    await waitFor(() => a.elector.isLeader, 3000, 'a to lead');
    const b = elector('b');
    b.elector.start();
    await new Promise((r) => setTimeout(r, 300));
    expect(b.elector.isLeader).toBe(false);

    proxy.cut();
    const cutAt = Date.now();
    await waitFor(() => !a.elector.isLeader, 2000, 'a to step down');
    await waitFor(() => b.elector.isLeader, 4000, 'b to take over');
    const stoppedAt = a.events.find((e) => e.what === 'stopped')!.at;
    const startedAt = b.events.find((e) => e.what === 'started')!.at;
    // a: its last renew was at most one retryPeriod before the cut; deadline 500 ms after that.
    expect(stoppedAt - cutAt).toBeLessThanOrEqual(TIMINGS.renewDeadlineMs + 150);
    // b: the Lease is 1 s; b saw its last change at most one (jittered) retry after it happened.
    expect(startedAt - cutAt).toBeGreaterThanOrEqual(TIMINGS.leaseDurationMs - 100);
    expect(startedAt - cutAt).toBeLessThanOrEqual(TIMINGS.leaseDurationMs + 4 * TIMINGS.retryPeriodMs + 200);
    expect(startedAt).toBeGreaterThan(stoppedAt); // never two leaders at once
    expect(lease().spec).toMatchObject({ holderIdentity: 'b', leaseTransitions: 1 });
    expect(await gauge(a.metrics)).toBe(0);
    expect(await gauge(b.metrics)).toBe(1);

    // Healed, a keeps contending as a follower and does not take the Lease back.
    proxy.heal();
    await new Promise((r) => setTimeout(r, 600));
    expect(a.elector.isLeader).toBe(false);
    expect(b.elector.isLeader).toBe(true);
  });

  it('releases the Lease on stop so the other replica takes over at once', async () => {
    const a = elector('a');
    a.elector.start();
    await waitFor(() => a.elector.isLeader, 3000, 'a to lead');
    const b = elector('b', server.url, { leaseDurationMs: 10_000, renewDeadlineMs: 5000 });
    b.elector.start();
    await new Promise((r) => setTimeout(r, 250));
    expect(b.elector.isLeader).toBe(false);

    const stopAt = Date.now();
    await a.elector.stop();
    expect(a.elector.isLeader).toBe(false);
    expect(a.events.map((e) => e.what)).toEqual(['started', 'stopped']);
    const released = server.requests.filter((r) => r.method === 'PUT').at(-1)!;
    expect((released.body as any).spec.holderIdentity).toBeUndefined();
    expect((released.body as any).spec.leaseDurationSeconds).toBe(1);
    // Well under any lease duration (b would otherwise wait ≥ 1 s).
    await waitFor(() => b.elector.isLeader, 800, 'b to take over');
    expect(Date.now() - stopAt).toBeLessThan(600);
    expect(lease().spec).toMatchObject({
      holderIdentity: 'b',
      leaseTransitions: 1,
      leaseDurationSeconds: 10,
    });
  });

  it('steps down when another replica holds the Lease, then keeps contending', async () => {
    const a = elector('a');
    a.elector.start();
    await waitFor(() => a.elector.isLeader, 3000, 'a to lead');
    // Someone else (say, a replica with a skewed view) writes itself in as holder.
    const current = lease();
    server.apply({
      ...current,
      spec: { ...current.spec, holderIdentity: 'intruder', renewTime: new V1MicroTime().toISOString() },
    });
    await waitFor(() => !a.elector.isLeader, 1000, 'a to step down');
    // The intruder never renews: a observes no change for the lease duration and takes over again.
    await waitFor(() => a.elector.isLeader, 3000, 'a to re-acquire');
    expect(a.events.map((e) => e.what)).toEqual(['started', 'stopped', 'started']);
    expect(lease().spec.holderIdentity).toBe('a');
  });

  it('the API server rejects a Lease time with 3 fractional digits (so the 6 we send are needed)', async () => {
    const api = kubeConfigFor(server.url).makeApiClient(CoordinationV1Api);
    const body = {
      metadata: { name: 'plain-date', namespace: 'mcplane' },
      spec: {
        holderIdentity: 'x',
        leaseDurationSeconds: 1,
        renewTime: new Date(1_000),
        acquireTime: new Date(1_000),
      },
    };
    const failure = await api.createNamespacedLease({ namespace: 'mcplane', body }).catch((e: unknown) => e);
    expect((failure as any).code).toBe(400);
    expect(JSON.parse((failure as any).body).message).toContain('1970-01-01T00:00:01.000Z');
    // The same Lease with V1MicroTime is accepted.
    body.spec.renewTime = new V1MicroTime(1_000);
    body.spec.acquireTime = new V1MicroTime(1_000);
    const created = await api.createNamespacedLease({ namespace: 'mcplane', body });
    expect(String(created.spec?.renewTime)).toBe('1970-01-01T00:00:01.000000Z');
  });

  it('rejects inconsistent timings with a clear error', () => {
    expect(() => elector('x', server.url, { leaseDurationMs: 1000, renewDeadlineMs: 1000 })).toThrow(
      /leaseDuration > renewDeadline > retryPeriod/,
    );
  });
});
