/**
 * The test API server itself, driven by real @kubernetes/client-node clients: the wire protocol the
 * reflectors, the status writer and the leader elector rely on.
 */
import {
  ApiException,
  CoordinationV1Api,
  CoreV1Api,
  CustomObjectsApi,
  PatchStrategy,
  setHeaderOptions,
  V1MicroTime,
  Watch,
} from '@kubernetes/client-node';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { KubeApiServer } from '../support/kube/api-server.js';
import { kubeConfigFor } from '../support/kube/kubeconfig.js';
import { gateway, httpRoute, service } from './fixtures.js';
import { delay, waitFor } from './harness.js';

const GW = { group: 'gateway.networking.k8s.io', version: 'v1' };
let server: KubeApiServer;
let co: CustomObjectsApi;
let core: CoreV1Api;
let leases: CoordinationV1Api;

beforeEach(async () => {
  server = await KubeApiServer.start();
  const kc = kubeConfigFor(server.url);
  co = kc.makeApiClient(CustomObjectsApi);
  core = kc.makeApiClient(CoreV1Api);
  leases = kc.makeApiClient(CoordinationV1Api);
});
afterEach(() => server.close());

async function apiError(p: Promise<unknown>): Promise<{ code: number; reason: string; message: string }> {
  try {
    await p;
  } catch (err) {
    expect(err).toBeInstanceOf(ApiException);
    const e = err as ApiException<string>;
    const status = JSON.parse(e.body) as { kind: string; reason: string; message: string; code: number };
    expect(status.kind).toBe('Status');
    expect(status.code).toBe(e.code);
    return { code: e.code, reason: status.reason, message: status.message };
  }
  throw new Error('expected the call to fail');
}

function collectWatch(path: string, query: Record<string, string | number | boolean | undefined>) {
  const events: { type: string; name?: string; rv?: string }[] = [];
  const done: { err?: unknown; ended: boolean } = { ended: false };
  const started = new Watch(kubeConfigFor(server.url)).watch(
    path,
    query,
    (type, obj) => events.push({ type, name: obj?.metadata?.name, rv: obj?.metadata?.resourceVersion }),
    (err) => Object.assign(done, { err, ended: true }),
  );
  return { events, done, started };
}

describe('lists', () => {
  it('pages over one consistent snapshot; every page carries the same RV; an expired token is 410', async () => {
    for (const name of ['a', 'b', 'c', 'd', 'e']) server.apply(httpRoute(name));
    const p1 = await co.listClusterCustomObject({ ...GW, plural: 'httproutes', limit: 2 });
    server.apply(httpRoute('aa')); // must not appear in the ongoing paginated list
    server.delete('HTTPRoute', 'default', 'e');
    const p2 = await co.listClusterCustomObject({
      ...GW,
      plural: 'httproutes',
      limit: 2,
      _continue: p1.metadata.continue,
    });
    const p3 = await co.listClusterCustomObject({
      ...GW,
      plural: 'httproutes',
      limit: 2,
      _continue: p2.metadata.continue,
    });
    const names = [...p1.items, ...p2.items, ...p3.items].map((o: any) => o.metadata.name);
    expect(names).toEqual(['a', 'b', 'c', 'd', 'e']);
    expect(new Set([p1, p2, p3].map((p) => p.metadata.resourceVersion)).size).toBe(1);
    expect(p1.metadata.remainingItemCount).toBe(3);
    expect(p3.metadata.continue).toBeUndefined();
    expect(p1.items[0].kind).toBe('HTTPRoute'); // custom resources carry kind in lists
    server.expireContinueTokens();
    const err = await apiError(
      co.listClusterCustomObject({ ...GW, plural: 'httproutes', limit: 2, _continue: p1.metadata.continue }),
    );
    expect(err).toMatchObject({ code: 410, reason: 'Expired' });
  });

  it('namespaced and all-namespaces lists, label selectors, built-in items without kind', async () => {
    server.apply(service('s1', 'a', { app: 'mcp' }));
    server.apply(service('s2', 'b', { app: 'mcp' }));
    server.apply(service('s3', 'a', { app: 'web' }));
    const rawList = async (path: string) => {
      const res = await fetch(server.url + path);
      expect(res.headers.get('content-type')).toBe('application/json');
      return (await res.json()) as { kind: string; items: any[] };
    };
    const all = await rawList('/api/v1/services?labelSelector=app%3Dmcp');
    expect(all.kind).toBe('ServiceList');
    expect(all.items.map((s) => s.metadata.name)).toEqual(['s1', 's2']);
    expect(all.items[0].kind).toBeUndefined();
    const inA = await core.listNamespacedService({ namespace: 'a', labelSelector: 'app!=mcp' });
    expect(inA.items.map((s) => s.metadata?.name)).toEqual(['s3']);
    const set = await rawList('/api/v1/services?labelSelector=app%20in%20(web,mcp),!missing');
    expect(set.items).toHaveLength(3);
    const bad = await fetch(`${server.url}/api/v1/services?labelSelector=a%3D%3D%3D`);
    expect(bad.status).toBe(400);
  });
});

describe('watches', () => {
  it('replays from an RV, streams live events, bookmarks on demand, ends cleanly on timeoutSeconds', async () => {
    server.apply(gateway('g1'));
    const rv = String(server.resourceVersion);
    server.apply(gateway('g2'));
    const w = collectWatch('/apis/gateway.networking.k8s.io/v1/gateways', {
      resourceVersion: rv,
      allowWatchBookmarks: true,
      timeoutSeconds: 1,
    });
    await w.started;
    server.apply(gateway('g2', 'default', 9999));
    server.delete('Gateway', 'default', 'g1');
    server.sendBookmarks();
    await waitFor(() => w.events.length === 4, 'events');
    expect(w.events.map((e) => `${e.type}:${e.name ?? ''}`)).toEqual([
      'ADDED:g2',
      'MODIFIED:g2',
      'DELETED:g1',
      'BOOKMARK:',
    ]);
    expect(w.events[3]!.rv).toBe(String(server.resourceVersion));
    await waitFor(() => w.done.ended, 'timeoutSeconds close', 3000);
    expect(w.done.err).toBeNull();
  });

  it('no RV: current state as ADDED; label selector transitions become ADDED/DELETED', async () => {
    server.apply(service('s1', 'default', { app: 'mcp' }));
    server.apply(service('s2', 'default', { app: 'web' }));
    const w = collectWatch('/api/v1/services', { labelSelector: 'app=mcp' });
    await w.started;
    server.apply(service('s2', 'default', { app: 'mcp' }));
    server.apply(service('s1', 'default', { app: 'web' }));
    await waitFor(() => w.events.length === 3, 'events');
    expect(w.events.map((e) => `${e.type}:${e.name}`)).toEqual(['ADDED:s1', 'ADDED:s2', 'DELETED:s1']);
    (await w.started).abort();
  });

  it('an RV older than the retention window: in-stream ERROR 410, or HTTP 410 when so configured', async () => {
    await server.close();
    server = await KubeApiServer.start({ historyLimit: 2 });
    for (const n of ['a', 'b', 'c', 'd']) server.apply(gateway(n));
    const w = collectWatch('/apis/gateway.networking.k8s.io/v1/gateways', { resourceVersion: '1' });
    await w.started;
    await waitFor(() => w.done.ended, 'closed after ERROR');
    expect(w.events.map((e) => e.type)).toEqual(['ERROR']);
    const ok = collectWatch('/apis/gateway.networking.k8s.io/v1/gateways', { resourceVersion: '2' });
    await ok.started;
    await waitFor(() => ok.events.length === 2, 'replay within window');
    (await ok.started).abort();
    await server.close();
    server = await KubeApiServer.start({ expiredWatch: 'http' });
    server.apply(gateway('a'));
    server.apply(gateway('b'));
    server.compact();
    const current = await fetch(
      `${server.url}/apis/gateway.networking.k8s.io/v1/gateways?watch=1&resourceVersion=${server.resourceVersion}`,
    );
    expect(current.status).toBe(200);
    await current.body?.cancel();
    const expired = await fetch(
      `${server.url}/apis/gateway.networking.k8s.io/v1/gateways?watch=true&resourceVersion=1`,
    );
    expect(expired.status).toBe(410);
    expect(((await expired.json()) as { reason: string }).reason).toBe('Expired');
  });
});

describe('writes', () => {
  it('create → 201 with server metadata; duplicate → 409 AlreadyExists; get 404 is a Status', async () => {
    const created = await co.createNamespacedCustomObject({
      ...GW,
      namespace: 'default',
      plural: 'gateways',
      body: gateway('g'),
    });
    expect(created.metadata).toMatchObject({ name: 'g', namespace: 'default', generation: 1 });
    expect(created.metadata.uid).toMatch(/^[0-9a-f-]{36}$/);
    expect(created.metadata.creationTimestamp).toMatch(/Z$/);
    expect(server.requests.at(-1)?.status).toBe(201);
    const dup = await apiError(
      co.createNamespacedCustomObject({
        ...GW,
        namespace: 'default',
        plural: 'gateways',
        body: gateway('g'),
      }),
    );
    expect(dup).toMatchObject({ code: 409, reason: 'AlreadyExists' });
    const missing = await apiError(
      co.getNamespacedCustomObject({ ...GW, namespace: 'default', plural: 'gateways', name: 'nope' }),
    );
    expect(missing).toMatchObject({ code: 404, reason: 'NotFound' });
  });

  it('replace: stale RV → 409 Conflict, missing RV on a CR → 422, generation bumps only on spec change', async () => {
    const g = server.apply(gateway('g')) as any;
    const put = (body: unknown) =>
      co.replaceNamespacedCustomObject({ ...GW, namespace: 'default', plural: 'gateways', name: 'g', body });
    const labelled = await put({ ...g, metadata: { ...g.metadata, labels: { a: 'b' } } });
    expect(labelled.metadata.generation).toBe(1);
    expect(Number(labelled.metadata.resourceVersion)).toBeGreaterThan(Number(g.metadata.resourceVersion));
    expect(await apiError(put(g))).toMatchObject({ code: 409, reason: 'Conflict' });
    const { resourceVersion: _, ...noRv } = labelled.metadata;
    expect(await apiError(put({ ...labelled, metadata: noRv }))).toMatchObject({
      code: 422,
      reason: 'Invalid',
    });
    const respec = await put({ ...labelled, spec: { ...labelled.spec, gatewayClassName: 'other' } });
    expect(respec.metadata.generation).toBe(2);
    // Built-in Services allow an unconditional update.
    server.apply(service('s'));
    const s = await core.replaceNamespacedService({
      name: 's',
      namespace: 'default',
      body: service('s', 'default', { x: 'y' }),
    });
    expect(s.metadata?.labels).toEqual({ x: 'y' });
  });

  it('status subresource: /status writes change only .status, main writes ignore .status, one MODIFIED each', async () => {
    const g = server.apply(gateway('g')) as any;
    const w = collectWatch('/apis/gateway.networking.k8s.io/v1/gateways', {
      resourceVersion: g.metadata.resourceVersion,
    });
    await w.started;
    const status = {
      conditions: [{ type: 'Accepted', status: 'True', reason: 'Accepted', observedGeneration: 1 }],
    };
    const patched = await co.patchNamespacedCustomObjectStatus(
      {
        ...GW,
        namespace: 'default',
        plural: 'gateways',
        name: 'g',
        body: { status, spec: { gatewayClassName: 'hacked' } },
      },
      setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
    );
    expect(patched.status).toEqual(status);
    expect(patched.spec.gatewayClassName).toBe('mcplane');
    expect(patched.metadata.generation).toBe(1);
    expect(server.requests.at(-1)?.headers['content-type']).toBe('application/merge-patch+json');
    const main = await co.replaceNamespacedCustomObject({
      ...GW,
      namespace: 'default',
      plural: 'gateways',
      name: 'g',
      body: { ...patched, status: { conditions: [] }, spec: { ...patched.spec, gatewayClassName: 'x' } },
    });
    expect(main.status).toEqual(status);
    expect(main.metadata.generation).toBe(2);
    const put = await co.replaceNamespacedCustomObjectStatus({
      ...GW,
      namespace: 'default',
      plural: 'gateways',
      name: 'g',
      body: { ...main, status: { addresses: [] } },
    });
    expect(put.status).toEqual({ addresses: [] });
    const unchanged = await co.replaceNamespacedCustomObjectStatus({
      ...GW,
      namespace: 'default',
      plural: 'gateways',
      name: 'g',
      body: put,
    });
    expect(unchanged.metadata.resourceVersion).toBe(put.metadata.resourceVersion); // no-op write
    await waitFor(() => w.events.length === 3, 'three MODIFIED');
    await delay(20);
    expect(w.events.map((e) => e.type)).toEqual(['MODIFIED', 'MODIFIED', 'MODIFIED']);
    (await w.started).abort();
  });

  it('merge patch follows RFC 7386; other patch types are 415; delete emits DELETED', async () => {
    server.apply({
      ...httpRoute('r'),
      metadata: { name: 'r', namespace: 'default', labels: { a: '1', b: '2' } },
    });
    const patched = await co.patchNamespacedCustomObject(
      {
        ...GW,
        namespace: 'default',
        plural: 'httproutes',
        name: 'r',
        body: { metadata: { labels: { a: null, c: '3' } }, spec: { hostnames: ['x.example'] } },
      },
      setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
    );
    expect(patched.metadata.labels).toEqual({ b: '2', c: '3' });
    expect(patched.spec.hostnames).toEqual(['x.example']);
    expect(patched.spec.parentRefs).toEqual([{ name: 'gw' }]);
    const jsonPatch = await apiError(
      co.patchNamespacedCustomObject({
        ...GW,
        namespace: 'default',
        plural: 'httproutes',
        name: 'r',
        body: [{ op: 'remove', path: '/spec' }],
      }),
    );
    expect(jsonPatch.code).toBe(415);
    await co.deleteNamespacedCustomObject({ ...GW, namespace: 'default', plural: 'httproutes', name: 'r' });
    expect(server.get('HTTPRoute', 'default', 'r')).toBeUndefined();
    expect(
      await apiError(
        co.deleteNamespacedCustomObject({ ...GW, namespace: 'default', plural: 'httproutes', name: 'r' }),
      ),
    ).toMatchObject({ code: 404 });
  });
});

describe('leases', () => {
  const lease = (holder: string, renewTime: unknown) => ({
    metadata: { name: 'leader', namespace: 'mcplane' },
    spec: {
      holderIdentity: holder,
      leaseDurationSeconds: 15,
      acquireTime: renewTime,
      renewTime,
      leaseTransitions: 0,
    },
  });

  it('MicroTime needs 6 fractional digits (a plain Date is 400); updates need the current RV', async () => {
    const bad = await apiError(
      leases.createNamespacedLease({ namespace: 'mcplane', body: lease('a', new Date()) as any }),
    );
    expect(bad).toMatchObject({ code: 400, reason: 'BadRequest' });
    expect(bad.message).toContain('6 fractional digits');
    const created = await leases.createNamespacedLease({
      namespace: 'mcplane',
      body: lease('a', new V1MicroTime()) as any,
    });
    const wire = server.get('Lease', 'mcplane', 'leader') as any;
    expect(wire.spec.renewTime).toMatch(/\.\d{6}Z$/);
    const rv = created.metadata?.resourceVersion;
    const renewed = await leases.replaceNamespacedLease({
      name: 'leader',
      namespace: 'mcplane',
      body: {
        ...lease('a', new V1MicroTime()),
        metadata: { name: 'leader', namespace: 'mcplane', resourceVersion: rv },
      } as any,
    });
    expect(renewed.metadata?.resourceVersion).not.toBe(rv);
    const stale = await apiError(
      leases.replaceNamespacedLease({
        name: 'leader',
        namespace: 'mcplane',
        body: {
          ...lease('b', new V1MicroTime()),
          metadata: { name: 'leader', namespace: 'mcplane', resourceVersion: rv },
        } as any,
      }),
    );
    expect(stale).toMatchObject({ code: 409, reason: 'Conflict' });
    const noRv = await apiError(
      leases.replaceNamespacedLease({
        name: 'leader',
        namespace: 'mcplane',
        body: lease('b', new V1MicroTime()) as any,
      }),
    );
    expect(noRv.code).toBe(422);
  });
});

describe('installation and faults', () => {
  it('an uninstalled kind is 404 until installed', async () => {
    server.uninstallKind('Backend');
    const list = () =>
      co.listClusterCustomObject({ group: 'gateway.kgateway.dev', version: 'v1alpha1', plural: 'backends' });
    expect(await apiError(list())).toMatchObject({ code: 404, reason: 'NotFound' });
    server.installKind('Backend');
    expect((await list()).items).toEqual([]);
  });

  it('injected statuses hit only the next N matching requests; Retry-After is sent', async () => {
    const rule = server.failNext({ kind: 'Gateway', verb: 'list' }, 429, 2, 3);
    const list = () => co.listClusterCustomObject({ ...GW, plural: 'gateways' });
    const first = await fetch(`${server.url}/apis/gateway.networking.k8s.io/v1/gateways`);
    expect([first.status, first.headers.get('retry-after')]).toEqual([429, '3']);
    expect(await apiError(list())).toMatchObject({ code: 429 });
    expect((await list()).items).toEqual([]);
    expect(rule.hits).toBe(2);
    server.failNext({ path: '/api/v1/services' }, 403);
    expect(await apiError(core.listServiceForAllNamespaces())).toMatchObject({
      code: 403,
      reason: 'Forbidden',
    });
  });

  it('restart: history lost, watchers cut, RVs jump ahead, objects kept', async () => {
    server.apply(gateway('g'));
    const rv = server.resourceVersion;
    const w = collectWatch('/apis/gateway.networking.k8s.io/v1/gateways', { resourceVersion: String(rv) });
    await w.started;
    await server.restart();
    await waitFor(() => w.done.ended, 'watch cut');
    expect(w.done.err).toBeTruthy();
    expect(server.resourceVersion).toBeGreaterThan(rv + 100);
    expect(server.get('Gateway', 'default', 'g')).toBeDefined();
    const again = collectWatch('/apis/gateway.networking.k8s.io/v1/gateways', {
      resourceVersion: String(rv),
    });
    await again.started;
    await waitFor(() => again.done.ended, 'expired');
    expect(again.events.map((e) => e.type)).toEqual(['ERROR']);
  });

  it('unknown paths and bad bodies are Status errors with application/json', async () => {
    const unknown = await fetch(`${server.url}/apis/example.com/v1/widgets`);
    expect([unknown.status, unknown.headers.get('content-type')]).toEqual([404, 'application/json']);
    const badJson = await fetch(`${server.url}/api/v1/namespaces/default/services`, {
      method: 'POST',
      body: '{nope',
    });
    expect(badJson.status).toBe(400);
    expect(((await badJson.json()) as { kind: string }).kind).toBe('Status');
  });
});
