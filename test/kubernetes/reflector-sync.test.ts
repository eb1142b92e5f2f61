/**
 * The Kubernetes source against the in-process API server with real @kubernetes/client-node:
 * initial sync, readiness, live events, validation, re-watch, optional CRDs, RBAC, stop().
 */

import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { KIND_NAMES, KINDS } from '../../src/shared/resources.js';
import { KubeApiServer } from '../support/kube/api-server.js';
import { agwBackend, gateway, httpRoute, seedAll, service } from './fixtures.js';
import {
  delay,
  expectConverged,
  type Harness,
  metricValue,
  startSource,
  storeView,
  waitFor,
} from './harness.js';

let server: KubeApiServer;
let h: Harness | undefined;

beforeEach(async () => {
  server = await KubeApiServer.start();
  for (const obj of seedAll()) server.apply(obj);
});

afterEach(async () => {
  await h?.source.stop();
  h = undefined;
  await server.close();
});

describe('initial sync and readiness', () => {
  it('is not synced while one list is delayed, then synced with every kind in the store', async () => {
    server.inject({ kind: 'HTTPRoute', verb: 'list' }, { delayMs: 300 });
    h = startSource(server);
    await waitFor(() => h!.source.readiness().Gateway === 'synced', 'Gateway synced');
    expect(h.source.synced).toBe(false);
    expect(h.source.readiness().HTTPRoute).toBe('syncing');
    let calls = 0;
    h.source.onSynced(() => calls++);
    await waitFor(() => h!.source.synced, 'all synced');
    await delay(10);
    expect(calls).toBe(1);
    expect(Object.values(h.source.readiness()).every((s) => s === 'synced')).toBe(true);
    const view = storeView(h.store);
    expect(view.HTTPRoute).toHaveLength(3);
    expect(view.Service).toHaveLength(3);
    expect(view.Namespace).toHaveLength(2);
    expect(view.EndpointSlice).toHaveLength(2);
    expect(h.store.get('Gateway', 'default/gw')?.spec.listeners[0]?.port).toBe(8080);
    expect(await metricValue(h.metrics.reflectorSynced, { kind: 'HTTPRoute' })).toBe(1);
    expect(await metricValue(h.metrics.objects, { kind: 'Service' })).toBe(3);
  });

  it('reads only Secrets labelled mcplane.dev/credentials=true, listing and watching with that selector', async () => {
    const secret = (name: string, labels: Record<string, string>) => ({
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { name, namespace: 'default', labels },
      stringData: { key: 'value' },
    });
    server.apply(secret('for-mcplane', { 'mcplane.dev/credentials': 'true' }));
    server.apply(secret('someone-elses', { app: 'db' }));
    h = startSource(server);
    await waitFor(() => h!.source.synced, 'synced');
    expect(h.store.snapshot().Secret.map((s) => s.metadata.name)).toEqual(['for-mcplane']);
    server.apply(secret('later', {}));
    server.apply(secret('later-labelled', { 'mcplane.dev/credentials': 'true' }));
    await waitFor(() => h!.store.get('Secret', 'default/later-labelled') !== undefined, 'labelled Secret');
    expect(h.store.get('Secret', 'default/later')).toBeUndefined();
    const reads = [...server.requestsFor('Secret', 'list'), ...server.requestsFor('Secret', 'watch')];
    expect(reads.length).toBeGreaterThan(1);
    for (const r of reads) expect(r.query.labelSelector).toBe('mcplane.dev/credentials=true');
  });

  it('lists in pages of the configured size and watches from the list resourceVersion with bookmarks', async () => {
    h = startSource(server);
    await waitFor(() => h!.source.synced, 'synced');
    const lists = server.requestsFor('HTTPRoute', 'list');
    expect(lists.map((r) => r.query.limit)).toEqual(['2', '2']);
    expect(lists[1]?.query.continue).toBeTruthy();
    await waitFor(() => server.requestsFor('HTTPRoute', 'watch').length === 1, 'watch');
    const watch = server.requestsFor('HTTPRoute', 'watch')[0]!;
    expect(watch.path).toBe('/apis/gateway.networking.k8s.io/v1/httproutes');
    expect(watch.query).toMatchObject({ watch: 'true', allowWatchBookmarks: 'true', timeoutSeconds: '300' });
    expect(Number(watch.query.resourceVersion)).toBe(server.resourceVersion);
    expect(watch.headers.authorization).toBe('Bearer test-token');
    expect(server.requestsFor('Service', 'list')[0]?.path).toBe('/api/v1/services');
  });

  it('applies live ADDED / MODIFIED / DELETED events', async () => {
    h = startSource(server);
    await waitFor(() => h!.source.synced, 'synced');
    server.apply(gateway('gw2', 'team-a', 9090));
    await waitFor(() => h!.store.get('Gateway', 'team-a/gw2') !== undefined, 'gw2 added');
    server.apply(gateway('gw2', 'team-a', 9191));
    await waitFor(
      () => h!.store.get('Gateway', 'team-a/gw2')?.spec.listeners[0]?.port === 9191,
      'gw2 modified',
    );
    server.delete('HTTPRoute', 'default', 'r1');
    await waitFor(() => h!.store.get('HTTPRoute', 'default/r1') === undefined, 'r1 deleted');
    expect(server.requestsFor('Gateway', 'list')).toHaveLength(1);
    await expectConverged(server, h.store);
  });

  it('logs an invalid object with kind, name and field path, and keeps it out of the store', async () => {
    h = startSource(server);
    await waitFor(() => h!.source.synced, 'synced');
    const bad = agwBackend('mcp');
    (bad.spec.mcp.targets[0] as Record<string, unknown>).targtes = 1;
    server.apply(bad);
    await waitFor(() => h!.store.get('AgentgatewayBackend', 'default/mcp') === undefined, 'invalid removed');
    const log = h.logs.find((l) => String(l.msg).includes('invalid AgentgatewayBackend default/mcp'));
    expect(log?.msg).toMatch(/spec\.mcp\.targets\.0/);
    server.apply(agwBackend('mcp'));
    await waitFor(() => h!.store.get('AgentgatewayBackend', 'default/mcp') !== undefined, 'valid again');
  });

  it('re-watches from the bookmark resourceVersion after a clean close, without relisting', async () => {
    h = startSource(server);
    await waitFor(() => h!.source.synced && server.watchCount('Gateway') === 1, 'watching');
    server.apply(service('unrelated')); // moves the global RV on without a Gateway event
    server.sendBookmarks('Gateway');
    const bookmarkRv = String(server.resourceVersion);
    await delay(30);
    server.clearRequests();
    server.closeWatches('Gateway');
    await waitFor(() => server.requestsFor('Gateway', 'watch').length === 1, 're-watch');
    expect(server.requestsFor('Gateway', 'watch')[0]?.query.resourceVersion).toBe(bookmarkRv);
    expect(server.requestsFor('Gateway', 'list')).toHaveLength(0);
    expect(await metricValue(h.metrics.reflectorRestarts, { kind: 'Gateway', reason: 'closed' })).toBe(1);
  });

  it('treats an absent optional CRD as synced-and-empty and picks it up once installed', async () => {
    await server.close();
    server = await KubeApiServer.start({ uninstalled: ['Backend'] });
    for (const obj of seedAll()) if (obj.kind !== 'Backend') server.apply(obj);
    h = startSource(server);
    await waitFor(() => h!.source.synced, 'synced with Backend absent');
    expect(KINDS.Backend.optional).toBe(true);
    expect(h.source.readiness().Backend).toBe('absent');
    server.installKind('Backend');
    server.apply({
      ...agwBackend('x'),
      apiVersion: 'gateway.kgateway.dev/v1alpha1',
      kind: 'Backend',
      spec: {},
    });
    await waitFor(() => h!.store.get('Backend', 'default/x') !== undefined, 'Backend picked up');
    expect(h.source.readiness().Backend).toBe('synced');
    server.uninstallKind('Backend');
    await waitFor(() => h!.source.readiness().Backend === 'absent', 'absent again');
    expect(storeView(h.store).Backend).toEqual([]);
  });

  it('a required kind that is not installed keeps the source unsynced and says so', async () => {
    await server.close();
    server = await KubeApiServer.start({ uninstalled: ['HTTPRoute'] });
    h = startSource(server);
    await waitFor(() => h!.source.readiness().HTTPRoute?.startsWith('error:') === true, 'HTTPRoute error');
    expect(h.source.readiness().HTTPRoute).toContain('httproutes not installed');
    expect(h.source.synced).toBe(false);
    server.installKind('HTTPRoute');
    await waitFor(() => h!.source.synced, 'synced after install');
  });

  it('403 on one kind: readiness names it, the others keep working, it recovers when allowed', async () => {
    const rule = server.inject(
      { kind: 'Service', verb: 'list' },
      { status: 403, message: 'services is forbidden' },
      Infinity,
    );
    h = startSource(server);
    await waitFor(() => h!.source.readiness().Service === 'error: RBAC: cannot list services', 'RBAC reason');
    await waitFor(() => h!.source.readiness().Gateway === 'synced', 'Gateway synced');
    expect(h.source.synced).toBe(false);
    server.apply(gateway('gw3'));
    await waitFor(() => h!.store.get('Gateway', 'default/gw3') !== undefined, 'other kinds still flow');
    rule.remaining = 0;
    await waitFor(() => h!.source.synced, 'synced once allowed');
    expect(
      await metricValue(h.metrics.reflectorRestarts, { kind: 'Service', reason: 'forbidden' }),
    ).toBeGreaterThan(0);
  });

  it('a store listener that throws does not stop the reflector', async () => {
    h = startSource(server);
    await waitFor(() => h!.source.synced, 'synced');
    h.store.onChange(() => {
      throw new Error('listener bug');
    });
    server.apply(httpRoute('r9'));
    server.apply(httpRoute('r10'));
    await waitFor(() => h!.store.get('HTTPRoute', 'default/r10') !== undefined, 'events still applied');
    expect(h.logs.some((l) => l.msg === 'a resource store listener threw')).toBe(true);
    await expectConverged(server, h.store);
  });

  it('stop() leaves no open sockets and writes nothing afterwards', async () => {
    h = startSource(server);
    await waitFor(() => h!.source.synced && server.watchCount() === KIND_NAMES.length, 'all watching');
    expect(server.openConnections).toBeGreaterThanOrEqual(9);
    await h.source.stop();
    await waitFor(() => server.openConnections === 0, 'no connections', 2000);
    const before = JSON.stringify(storeView(h.store));
    const requests = server.requests.length;
    server.apply(gateway('after-stop'));
    await delay(100);
    expect(JSON.stringify(storeView(h.store))).toBe(before);
    expect(server.requests.length).toBe(requests);
  });

  it('stop() during a hanging list and during backoff leaves no sockets', async () => {
    server.inject({ kind: 'Gateway', verb: 'list' }, { hang: true });
    server.inject({ kind: 'Service', verb: 'list' }, { status: 500 }, Infinity);
    h = startSource(server, { listTimeoutMs: 60_000, backoffBaseMs: 200, backoffCapMs: 5000 });
    await waitFor(() => server.requestsFor('Service', 'list').length >= 1, 'service failing');
    await delay(50);
    await h.source.stop();
    await waitFor(() => server.openConnections === 0, 'no connections', 2000);
    const requests = server.requests.length;
    await delay(300);
    expect(server.requests.length).toBe(requests);
  });
});
