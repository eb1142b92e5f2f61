/**
 * The status writer against the in-process API server with the real @kubernetes/client-node: wire
 * format (merge patch, Content-Type), HTTPRoute read-modify-write with 409 retries, no write when
 * nothing changed, lastTransitionTime, leadership gating, error handling.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { ResourceStore } from '../../src/control/sources/store.js';
import { StatusWriter, type StatusWriterOptions } from '../../src/control/status-writer.js';
import { createLogger } from '../../src/shared/logger.js';
import type { Metrics } from '../../src/shared/metrics.js';
import { KubeApiServer } from '../support/kube/api-server.js';
import { kubeConfigFor } from '../support/kube/kubeconfig.js';
import {
  CONTROLLER,
  classStatus,
  cond,
  counterValue,
  gateway,
  gatewayClass,
  gatewayStatus,
  httpRoute,
  newStore,
  ourParent,
  routeStatus,
  syncStore,
  testMetrics,
  theirParent,
  waitFor,
} from './helpers.js';

const GW_STATUS_PATH = '/apis/gateway.networking.k8s.io/v1/namespaces/default/gateways/gw/status';
const CLASS_STATUS_PATH = '/apis/gateway.networking.k8s.io/v1/gatewayclasses/mcplane/status';
const ROUTE_STATUS_PATH = '/apis/gateway.networking.k8s.io/v1/namespaces/default/httproutes/route/status';
const ALL_KINDS = ['GatewayClass', 'Gateway', 'HTTPRoute', 'Backend', 'AgentgatewayBackend'] as const;

let server: KubeApiServer;
let store: ResourceStore;
let metrics: Metrics;
let writer: StatusWriter;
let logLines: string[];
let clock: Date;

beforeEach(async () => {
  server = await KubeApiServer.start();
  store = newStore();
  metrics = testMetrics();
  logLines = [];
  clock = new Date('2025-06-01T10:00:00.000Z');
});

afterEach(async () => {
  await writer?.stop();
  await server.close();
});

function makeWriter(overrides: Partial<StatusWriterOptions> = {}): StatusWriter {
  const logger = createLogger('debug', { write: (line: string) => void logLines.push(line) });
  writer = new StatusWriter({
    kubeConfig: kubeConfigFor(server.url),
    store,
    controllerName: CONTROLLER,
    logger,
    metrics,
    conflictBackoffMs: 5,
    retryBackoffMs: 20,
    clock: () => clock,
    ...overrides,
  });
  return writer;
}

function statusWrites() {
  return server.requests.filter((r) => r.path.endsWith('/status') && r.method !== 'GET');
}

function sync() {
  syncStore(server, store, ALL_KINDS);
}

describe('owned statuses (merge patch)', () => {
  it('patches Gateway and GatewayClass /status with application/merge-patch+json', async () => {
    server.apply(gatewayClass);
    server.apply(gateway);
    sync();
    const w = makeWriter();
    w.setLeader(true);
    w.update([classStatus(), gatewayStatus()]);
    await w.idle();

    const writes = statusWrites();
    expect(writes.map((r) => `${r.method} ${r.path} ${r.status}`).sort()).toEqual([
      `PATCH ${CLASS_STATUS_PATH} 200`,
      `PATCH ${GW_STATUS_PATH} 200`,
    ]);
    for (const r of writes) expect(r.headers['content-type']).toBe('application/merge-patch+json');
    const gw = server.get('Gateway', 'default', 'gw')!;
    expect(gw.status).toEqual({
      conditions: [
        { ...cond('Accepted', true, 'Accepted'), lastTransitionTime: '2025-06-01T10:00:00Z' },
        { ...cond('Programmed', true, 'Programmed'), lastTransitionTime: '2025-06-01T10:00:00Z' },
      ],
      listeners: [
        {
          name: 'http',
          attachedRoutes: 1,
          supportedKinds: [{ group: 'gateway.networking.k8s.io', kind: 'HTTPRoute' }],
          conditions: [{ ...cond('Accepted', true, 'Accepted'), lastTransitionTime: '2025-06-01T10:00:00Z' }],
        },
      ],
    });
    expect(await counterValue(metrics, { kind: 'Gateway', result: 'ok' })).toBe(1);
    expect(await counterValue(metrics, { kind: 'GatewayClass', result: 'ok' })).toBe(1);
  });

  it('writes Backend (gateway.kgateway.dev) and AgentgatewayBackend status on their own paths', async () => {
    server.apply({
      apiVersion: 'gateway.kgateway.dev/v1alpha1',
      kind: 'Backend',
      metadata: { name: 'kb', namespace: 'default' },
      spec: { type: 'MCP', mcp: { targets: [{ static: { name: 't', host: 'h', port: 80 } }] } },
    });
    server.apply({
      apiVersion: 'agentgateway.dev/v1alpha1',
      kind: 'AgentgatewayBackend',
      metadata: { name: 'ab', namespace: 'default' },
      spec: { mcp: { targets: [{ name: 't', static: { host: 'h', port: 80 } }] } },
    });
    sync();
    expect(store.count('Backend') + store.count('AgentgatewayBackend')).toBe(2);
    const w = makeWriter();
    w.setLeader(true);
    const accepted = { conditions: [cond('Accepted', true, 'Accepted')] };
    w.update([
      { ref: { kind: 'Backend', namespace: 'default', name: 'kb' }, status: accepted },
      { ref: { kind: 'AgentgatewayBackend', namespace: 'default', name: 'ab' }, status: accepted },
    ]);
    await w.idle();
    expect(
      statusWrites()
        .map((r) => `${r.method} ${r.path} ${r.headers['content-type']}`)
        .sort(),
    ).toEqual([
      'PATCH /apis/agentgateway.dev/v1alpha1/namespaces/default/agentgatewaybackends/ab/status application/merge-patch+json',
      'PATCH /apis/gateway.kgateway.dev/v1alpha1/namespaces/default/backends/kb/status application/merge-patch+json',
    ]);
    expect(server.get('Backend', 'default', 'kb')!.status).toMatchObject({
      conditions: [{ type: 'Accepted' }],
    });
  });

  it('does not write when the object already shows the desired status, nor while the watch lags', async () => {
    server.apply(gateway);
    sync();
    const w = makeWriter();
    w.setLeader(true);
    w.update([gatewayStatus()]);
    await w.idle();
    expect(statusWrites()).toHaveLength(1);

    // The store has not seen our write yet (the watch lags): the same desired status is not rewritten.
    w.update([gatewayStatus()]);
    await w.idle();
    expect(statusWrites()).toHaveLength(1);

    // Our write comes back through the "watch": still nothing to do, even a minute later.
    sync();
    clock = new Date('2025-06-01T10:01:00.000Z');
    w.update([gatewayStatus()]);
    await w.idle();
    expect(statusWrites()).toHaveLength(1);
    expect(server.requests.filter((r) => r.path === GW_STATUS_PATH)).toHaveLength(1);
  });

  it('keeps lastTransitionTime while a condition status holds and bumps it when the status flips', async () => {
    server.apply(gateway);
    sync();
    const w = makeWriter();
    w.setLeader(true);
    w.update([gatewayStatus(true, 'Programmed')]);
    await w.idle();
    sync();

    const programmed = () =>
      ((server.get('Gateway', 'default', 'gw')!.status as any).conditions as any[]).find(
        (c) => c.type === 'Programmed',
      );
    const accepted = () =>
      ((server.get('Gateway', 'default', 'gw')!.status as any).conditions as any[]).find(
        (c) => c.type === 'Accepted',
      );

    // Same status, new reason/message: written, time kept.
    clock = new Date('2025-06-01T11:00:00.000Z');
    const sameStatusNewReason = gatewayStatus(true, 'Programmed');
    (sameStatusNewReason.status.conditions as any[])[1] = {
      ...cond('Programmed', true, 'Programmed'),
      message: 'reworded',
    };
    w.update([sameStatusNewReason]);
    await w.idle();
    expect(statusWrites()).toHaveLength(2);
    expect(programmed()).toMatchObject({ message: 'reworded', lastTransitionTime: '2025-06-01T10:00:00Z' });
    sync();

    // The status flips: new time for that condition only.
    clock = new Date('2025-06-01T12:00:00.000Z');
    w.update([gatewayStatus(false, 'Invalid')]);
    await w.idle();
    expect(programmed()).toMatchObject({ status: 'False', lastTransitionTime: '2025-06-01T12:00:00Z' });
    expect(accepted()).toMatchObject({ status: 'True', lastTransitionTime: '2025-06-01T10:00:00Z' });
  });

  it('removes status keys it no longer produces (the patch nulls them)', async () => {
    server.apply({
      ...gateway,
      status: { conditions: [], addresses: [{ type: 'IPAddress', value: '10.0.0.1' }] },
    });
    sync();
    const w = makeWriter();
    w.setLeader(true);
    w.update([gatewayStatus()]);
    await w.idle();
    const patch = statusWrites()[0]!.body as any;
    expect(patch.status.addresses).toBeNull();
    expect(server.get('Gateway', 'default', 'gw')!.status).not.toHaveProperty('addresses');
  });
});

describe('HTTPRoute parents (read-modify-write)', () => {
  it('keeps another controller’s entry and retries the PUT on an injected 409', async () => {
    server.apply(httpRoute({ parents: [theirParent()] }));
    sync();
    const rvBefore = (server.get('HTTPRoute', 'default', 'route')!.metadata as any).resourceVersion;
    server.failNext({ kind: 'HTTPRoute', verb: 'update' }, 409);
    const w = makeWriter();
    w.setLeader(true);
    w.update([routeStatus([ourParent()])]);
    await w.idle();

    const traffic = server.requests
      .filter((r) => r.path === ROUTE_STATUS_PATH)
      .map((r) => `${r.method} ${r.status}`);
    expect(traffic).toEqual(['GET 200', 'PUT 409', 'GET 200', 'PUT 200']);
    const put = server.requests.filter((r) => r.method === 'PUT').at(-1)!;
    expect(put.headers['content-type']).toBe('application/json');
    expect((put.body as any).metadata.resourceVersion).toBe(rvBefore);
    const parents = (server.get('HTTPRoute', 'default', 'route')!.status as any).parents as any[];
    expect(parents).toHaveLength(2);
    expect(parents[0]).toEqual(theirParent());
    expect(parents[1]).toMatchObject({ controllerName: CONTROLLER, parentRef: { name: 'gw' } });
    expect(parents[1].conditions[0].lastTransitionTime).toBe('2025-06-01T10:00:00Z');
    expect(await counterValue(metrics, { kind: 'HTTPRoute', result: 'conflict' })).toBe(1);
    expect(await counterValue(metrics, { kind: 'HTTPRoute', result: 'ok' })).toBe(1);
  });

  it('re-reads after a real conflict and merges with the entry another controller wrote meanwhile', async () => {
    server.apply(httpRoute({ parents: [] }));
    sync();
    // Hold our PUT while another controller writes the route: the server then answers 409 for real.
    server.inject({ kind: 'HTTPRoute', verb: 'update' }, { delayMs: 80 }, 1);
    const w = makeWriter();
    w.setLeader(true);
    w.update([routeStatus([ourParent()])]);
    await waitFor(() => server.requests.some((r) => r.method === 'PUT'));
    server.apply(httpRoute({ parents: [theirParent()] }));
    await w.idle();
    expect(server.requests.filter((r) => r.method === 'PUT').map((r) => r.status)).toEqual([409, 200]);
    const parents = (server.get('HTTPRoute', 'default', 'route')!.status as any).parents as any[];
    expect(parents[0]).toEqual(theirParent());
    expect(parents[1]).toMatchObject({ controllerName: CONTROLLER });
  });

  it('does not PUT when our entries are already there (in any order)', async () => {
    const ours = {
      ...ourParent(),
      conditions: (ourParent().conditions as any[]).map((c) => ({
        ...c,
        lastTransitionTime: '2024-01-01T00:00:00Z',
      })),
    };
    server.apply(httpRoute({ parents: [ours, theirParent()] }));
    sync();
    const w = makeWriter();
    w.setLeader(true);
    w.update([routeStatus([ourParent()])]);
    await w.idle();
    expect(server.requests.filter((r) => r.path === ROUTE_STATUS_PATH)).toHaveLength(0);
  });

  it('removes our entries from a route translate() no longer reports, keeping theirs', async () => {
    const w = makeWriter();
    w.setLeader(true);
    server.apply(httpRoute({ parents: [] }));
    sync();
    w.update([routeStatus([ourParent()])]);
    await w.idle();
    sync();
    expect((server.get('HTTPRoute', 'default', 'route')!.status as any).parents).toHaveLength(1);
    server.apply(
      httpRoute({
        parents: [...(server.get('HTTPRoute', 'default', 'route')!.status as any).parents, theirParent()],
      }),
    );
    sync();

    w.update([]); // the route detached from our Gateway
    await w.idle();
    expect((server.get('HTTPRoute', 'default', 'route')!.status as any).parents).toEqual([theirParent()]);
    // And nothing more once the store has seen it.
    sync();
    const before = server.requests.length;
    w.update([]);
    await w.idle();
    expect(server.requests.length).toBe(before);
  });

  it('gives up a round after the attempt limit and retries later', async () => {
    server.apply(httpRoute({ parents: [] }));
    sync();
    server.failNext({ kind: 'HTTPRoute', verb: 'update' }, 409, 3);
    const w = makeWriter({ conflictAttempts: 2 });
    w.setLeader(true);
    w.update([routeStatus([ourParent()])]);
    await waitFor(
      () => ((server.get('HTTPRoute', 'default', 'route')!.status as any).parents ?? []).length === 1,
    );
    await w.idle(); // the write that stored it is still reading its reply
    expect(server.requests.filter((r) => r.method === 'PUT').map((r) => r.status)).toEqual([
      409, 409, 409, 200,
    ]);
    expect(logLines.some((l) => l.includes('kept conflicting') && l.includes('"name":"route"'))).toBe(true);
    expect(await counterValue(metrics, { kind: 'HTTPRoute', result: 'conflict' })).toBe(3);
  });
});

describe('leadership and failures', () => {
  it('writes nothing until leading, then everything that differs; stops at once on losing the Lease', async () => {
    server.apply(gatewayClass);
    server.apply(gateway);
    sync();
    const w = makeWriter({ concurrency: 1 });
    w.update([classStatus(), gatewayStatus()]);
    await new Promise((r) => setTimeout(r, 30));
    expect(statusWrites()).toHaveLength(0);

    // Slow down the first write so that leadership is lost while it is in flight.
    server.inject({ verb: 'patch' }, { delayMs: 100 }, 1);
    w.setLeader(true);
    await waitFor(() => statusWrites().length === 1);
    w.setLeader(false);
    await w.idle();
    await new Promise((r) => setTimeout(r, 50));
    expect(statusWrites()).toHaveLength(1); // the second object was never written

    w.setLeader(true);
    await w.idle();
    expect(statusWrites()).toHaveLength(2);
  });

  it('logs a failed write with kind/namespace/name and the API message, counts it, and retries', async () => {
    server.apply(gateway);
    sync();
    server.failNext({ verb: 'patch' }, 500);
    const w = makeWriter();
    w.setLeader(true);
    w.update([gatewayStatus()]);
    await waitFor(
      () => server.get('Gateway', 'default', 'gw')!.status !== undefined,
      3000,
      'the retried write',
    );
    await w.idle(); // the server holds the status a moment before the writer has read the reply and counted it
    const line = logLines.find((l) => l.includes('status write failed'));
    expect(line).toBeDefined();
    expect(JSON.parse(line!)).toMatchObject({
      kind: 'Gateway',
      namespace: 'default',
      name: 'gw',
      code: 500,
      error: 'injected 500',
    });
    expect(await counterValue(metrics, { kind: 'Gateway', result: 'error' })).toBe(1);
    expect(await counterValue(metrics, { kind: 'Gateway', result: 'ok' })).toBe(1);
  });

  it('cuts a hung write at the request timeout and retries it', async () => {
    server.apply(gateway);
    sync();
    server.inject({ verb: 'patch' }, { hang: true });
    const w = makeWriter({ requestTimeoutMs: 150 });
    const started = Date.now();
    w.setLeader(true);
    w.update([gatewayStatus()]);
    await waitFor(
      () => server.get('Gateway', 'default', 'gw')!.status !== undefined,
      3000,
      'the retried write',
    );
    await w.idle();
    const failed = JSON.parse(logLines.find((l) => l.includes('status write failed'))!);
    expect(failed).toMatchObject({ kind: 'Gateway', name: 'gw', error: 'request timed out' });
    expect(failed.time - started).toBeGreaterThanOrEqual(145); // not before the timeout (timers may round down)
    expect(await counterValue(metrics, { kind: 'Gateway', result: 'error' })).toBe(1);
    expect(await counterValue(metrics, { kind: 'Gateway', result: 'ok' })).toBe(1);
  });

  it('does not retry a status the server rejects as invalid until it changes', async () => {
    server.apply(gateway);
    sync();
    server.failNext({ verb: 'patch' }, 422, 1);
    const w = makeWriter();
    w.setLeader(true);
    w.update([gatewayStatus()]);
    await w.idle();
    await new Promise((r) => setTimeout(r, 60)); // longer than the retry backoff
    w.update([gatewayStatus()]);
    await w.idle();
    expect(statusWrites().map((r) => r.status)).toEqual([422]);
    expect(logLines.some((l) => l.includes('rejected by the API server') && l.includes('"code":422'))).toBe(
      true,
    );

    w.update([gatewayStatus(false, 'Invalid')]); // a new desired status is tried again
    await w.idle();
    expect(statusWrites().map((r) => r.status)).toEqual([422, 200]);
  });

  it('skips objects that are gone (404) without retrying', async () => {
    server.apply(gateway);
    sync();
    server.delete('Gateway', 'default', 'gw'); // the store has not seen the delete yet
    const w = makeWriter();
    w.setLeader(true);
    w.update([gatewayStatus()]);
    await w.idle();
    await new Promise((r) => setTimeout(r, 60));
    expect(statusWrites().map((r) => r.status)).toEqual([404]);
    expect(await counterValue(metrics, { kind: 'Gateway', result: 'error' })).toBe(0);
  });
});
