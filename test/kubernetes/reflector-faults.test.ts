/**
 * Faults between the reflectors and the API server. After each, the store must equal what a fresh
 * start would build, with no duplicate work and bounded request rates.
 */

import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { KIND_NAMES } from '../../src/shared/resources.js';
import { KubeApiServer } from '../support/kube/api-server.js';
import { gateway, httpRoute, seedAll, service } from './fixtures.js';
import { delay, expectConverged, type Harness, metricValue, startSource, waitFor } from './harness.js';

let server: KubeApiServer;
let h: Harness | undefined;

async function startSynced(timings = {}) {
  h = startSource(server, timings);
  await waitFor(() => h!.source.synced && server.watchCount() === KIND_NAMES.length, 'synced and watching');
  return h;
}

beforeEach(async () => {
  server = await KubeApiServer.start();
  for (const obj of seedAll()) server.apply(obj);
});

afterEach(async () => {
  await h?.source.stop();
  h = undefined;
  await server.close();
});

/** Change state while the client cannot see it: delete r1, modify r2, recreate r3 with a new UID, add r4. */
function changeBehindTheClientsBack(): string {
  server.delete('HTTPRoute', 'default', 'r1');
  server.apply({
    ...httpRoute('r2', 'team-a'),
    metadata: { name: 'r2', namespace: 'team-a', labels: { v: '2' } },
  });
  const oldUid = String((server.get('HTTPRoute', 'default', 'r3')!.metadata as { uid: string }).uid);
  server.delete('HTTPRoute', 'default', 'r3');
  server.apply(httpRoute('r3', 'default', 'other-backend'));
  server.apply(httpRoute('r4'));
  return oldUid;
}

describe('expired resourceVersions (410)', () => {
  it('in-stream ERROR 410 → relist: synthetic delete, update, delete+add for a recreated UID', async () => {
    await startSynced();
    const store = h!.store;
    const changes: string[] = [];
    store.onChange((kind) => changes.push(kind));
    server.pause();
    const oldUid = changeBehindTheClientsBack();
    server.compact();
    server.clearRequests();
    server.resume();
    await waitFor(() => store.get('HTTPRoute', 'default/r4') !== undefined, 'relisted');
    expect(store.get('HTTPRoute', 'default/r1')).toBeUndefined();
    expect(store.get('HTTPRoute', 'team-a/r2')?.metadata.labels).toEqual({ v: '2' });
    const r3 = store.get('HTTPRoute', 'default/r3')!;
    expect(r3.metadata.uid).not.toBe(oldUid);
    expect(r3.spec.rules?.[0]?.backendRefs?.[0]?.name).toBe('other-backend');
    // r1 delete, r2 update, r3 delete + add, r4 add: five writes, no rewrite of unchanged objects.
    expect(changes.filter((k) => k === 'HTTPRoute')).toHaveLength(5);
    expect(await metricValue(h!.metrics.reflectorRestarts, { kind: 'HTTPRoute', reason: 'expired' })).toBe(1);
    await waitFor(() => server.requestsFor('HTTPRoute', 'watch').length >= 2, 'watch after relist');
    const lastWatch = server.requestsFor('HTTPRoute', 'watch').at(-1)!;
    const lastList = server.requestsFor('HTTPRoute', 'list').at(-1)!;
    expect(lastList.query.continue).toBeTruthy(); // a paginated relist (pageSize 2)
    expect(Number(lastWatch.query.resourceVersion)).toBe(server.resourceVersion);
    await expectConverged(server, store);
  });

  it('HTTP 410 on the watch request → relist from scratch', async () => {
    await server.close();
    server = await KubeApiServer.start({ expiredWatch: 'http' });
    for (const obj of seedAll()) server.apply(obj);
    await startSynced();
    server.pause();
    changeBehindTheClientsBack();
    server.compact('HTTPRoute');
    server.clearRequests();
    server.resume();
    await waitFor(() => h!.store.get('HTTPRoute', 'default/r4') !== undefined, 'relisted');
    expect(server.requestsFor('HTTPRoute', 'watch').some((r) => r.status === 410)).toBe(true);
    expect(server.requestsFor('HTTPRoute', 'list').length).toBeGreaterThanOrEqual(1);
    await expectConverged(server, h!.store);
  });

  it('410 on a list continue token → the list restarts from page 1', async () => {
    server.inject({ kind: 'HTTPRoute', verb: 'list', continue: true }, { status: 410, reason: 'Expired' });
    await startSynced();
    const lists = server.requestsFor('HTTPRoute', 'list');
    expect(lists.map((r) => [r.query.continue ? 'next' : 'first', r.status])).toEqual([
      ['first', 200],
      ['next', 410],
      ['first', 200],
      ['next', 200],
    ]);
    expect(h!.store.count('HTTPRoute')).toBe(3);
    await expectConverged(server, h!.store);
  });
});

describe('network failures and server errors', () => {
  it('destroyed watch sockets → backoff reconnect from the last RV, no relist, no duplicate adds', async () => {
    await startSynced();
    const changes: string[] = [];
    h!.store.onChange((kind) => changes.push(kind));
    server.clearRequests();
    server.destroyWatches();
    await waitFor(() => server.watchCount() === KIND_NAMES.length, 're-watching');
    expect(server.requestsFor(undefined, 'list')).toHaveLength(0);
    expect(changes).toEqual([]);
    server.apply(gateway('gw-new'));
    await waitFor(() => h!.store.get('Gateway', 'default/gw-new') !== undefined, 'event after reconnect');
    expect(changes).toEqual(['Gateway']);
    expect(await metricValue(h!.metrics.reflectorRestarts, { kind: 'Gateway', reason: 'error' })).toBe(1);
    await expectConverged(server, h!.store);
  });

  it('500s for a while on list and watch, then recovery; retries back off and never stop', async () => {
    server.inject({ kind: 'Service' }, { status: 500, message: 'etcdserver: leader changed' }, 8);
    h = startSource(server);
    await waitFor(
      () => h!.source.readiness().Service?.startsWith('error: list: 500') === true,
      'error reason shown',
    );
    await waitFor(() => h!.source.synced, 'synced after 500s');
    expect(server.requestsFor('Service', 'list').filter((r) => r.status === 500)).toHaveLength(8);
    expect(h.source.readiness().Service).toBe('synced');
    server.inject({ kind: 'Service', verb: 'watch' }, { status: 500 }, 5);
    server.closeWatches('Service');
    await waitFor(
      () => server.requestsFor('Service', 'watch').filter((r) => r.status === 200).length >= 2,
      'rewatch',
    );
    server.apply(service('svc-late'));
    await waitFor(() => h!.store.get('Service', 'default/svc-late') !== undefined, 'events flow again');
    await expectConverged(server, h!.store);
  });

  it('backoff delays grow (full jitter with random pinned to 1) and are capped', async () => {
    server.inject({ kind: 'Namespace', verb: 'list' }, { status: 503 }, 6);
    h = startSource(server, { random: () => 0.999, backoffBaseMs: 10, backoffCapMs: 60 });
    await waitFor(() => h!.source.synced, 'synced', 8000);
    const at = server.requestsFor('Namespace', 'list').map((r) => r.at);
    const gaps = at.slice(1, 7).map((t, i) => t - at[i]!);
    // steps 10, 20, 40, 60 (cap), 60, 60 ms
    expect(gaps[2]).toBeGreaterThanOrEqual(30);
    expect(gaps.reduce((a, b) => a + b, 0)).toBeGreaterThanOrEqual(220);
    expect(gaps[1]!).toBeLessThan(gaps[3]!);
    expect(Math.max(...gaps)).toBeLessThan(200);
  });

  it('429 with Retry-After is honoured', async () => {
    server.failNext({ kind: 'Gateway', verb: 'list' }, 429, 1, 1);
    h = startSource(server, { backoffCapMs: 5000 });
    await waitFor(() => h!.source.synced, 'synced', 5000);
    const [first, second] = server.requestsFor('Gateway', 'list');
    expect(second!.at - first!.at).toBeGreaterThanOrEqual(950);
  });

  it('silence after headers → the inactivity watchdog re-watches', async () => {
    server.inject({ kind: 'Gateway', verb: 'watch' }, { silent: true });
    h = startSource(server, { inactivityMs: 150 });
    await waitFor(() => h!.source.synced, 'synced');
    await waitFor(() => server.requestsFor('Gateway', 'watch').length >= 2, 'second watch', 3000);
    const [silent, next] = server.requestsFor('Gateway', 'watch');
    expect(next!.query.resourceVersion).toBe(silent!.query.resourceVersion);
    const logs = h.logs.filter((l) => l.reflector === 'Gateway');
    const listed = logs.find((l) => l.msg === 'listed')!;
    const failed = logs.find((l) => String(l.error).startsWith('INACTIVITY'))!;
    expect(Number(failed.time) - Number(listed.time)).toBeGreaterThanOrEqual(145);
    server.apply(gateway('after-silence'));
    await waitFor(
      () => h!.store.get('Gateway', 'default/after-silence') !== undefined,
      'events after watchdog',
    );
  });

  it('no response headers → the connect timeout fires and the next attempt succeeds', async () => {
    server.inject({ kind: 'Gateway', verb: 'watch' }, { hang: true });
    h = startSource(server, { connectTimeoutMs: 100 });
    await waitFor(() => server.requestsFor('Gateway', 'watch').length >= 2, 'second watch', 3000);
    // Client-side clock (log times): the watch started right after the list and failed 100 ms later.
    const logs = h.logs.filter((l) => l.reflector === 'Gateway');
    const listed = logs.find((l) => l.msg === 'listed')!;
    const failed = logs.find((l) => String(l.error).startsWith('CONNECT_TIMEOUT'))!;
    expect(Number(failed.time) - Number(listed.time)).toBeGreaterThanOrEqual(95);
    server.apply(gateway('after-hang'));
    await waitFor(() => h!.store.get('Gateway', 'default/after-hang') !== undefined, 'events after timeout');
    await waitFor(() => server.watchCount() === KIND_NAMES.length, 'hung request released');
  });

  it('a hung list is cut at the list timeout and retried', async () => {
    server.inject({ kind: 'Gateway', verb: 'list' }, { hang: true });
    const started = Date.now();
    h = startSource(server, { listTimeoutMs: 200 });
    await waitFor(() => h!.source.synced, 'synced after the retry', 5000);
    const lists = server.requestsFor('Gateway', 'list');
    expect(lists.length).toBeGreaterThanOrEqual(2); // the hung one, then the pages of the retry
    // One clock (the server runs in this process): cut no sooner than the list timeout, and soon after.
    const failed = h.logs.find((l) => l.reflector === 'Gateway' && l.msg === 'list failed')!;
    expect(failed.error).toBe('LIST_TIMEOUT: no complete list within 200 ms');
    expect(Number(failed.time) - started).toBeGreaterThanOrEqual(195); // timers may round down a little
    expect(lists[1]!.at - started).toBeLessThan(2000);
    expect(await metricValue(h.metrics.reflectorRestarts, { kind: 'Gateway', reason: 'error' })).toBe(1);
    await expectConverged(server, h.store);
  });

  it('hot-loop guard: a server that ends every watch at once gets a bounded request rate', async () => {
    server.inject({ kind: 'Gateway', verb: 'watch' }, { closeImmediately: true }, Infinity);
    h = startSource(server, { backoffBaseMs: 20, backoffCapMs: 200, minWatchLifetimeMs: 100 });
    await waitFor(() => h!.source.synced, 'synced');
    await delay(1000);
    const watches = server.requestsFor('Gateway', 'watch').length;
    expect(watches).toBeGreaterThan(2);
    expect(watches).toBeLessThan(25); // client-node's informer makes ~1700/s here
  });
});

describe('API server restart', () => {
  it('losing history (RVs move on, watchers cut): the store ends equal to a fresh start', async () => {
    await startSynced();
    await server.restart({
      downMs: 50,
      during: () => {
        changeBehindTheClientsBack();
        server.delete('Service', 'team-a', 'svc-b');
        server.apply(gateway('gw-during-restart'));
      },
    });
    await waitFor(() => h!.store.get('Gateway', 'default/gw-during-restart') !== undefined, 'caught up');
    await expectConverged(server, h!.store);
    expect(h!.store.get('Service', 'team-a/svc-b')).toBeUndefined();
    expect(h!.source.synced).toBe(true);
  });
});
