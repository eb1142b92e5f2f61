/** Shared setup for the Kubernetes source tests: a test API server, fast timings, store views. */
import { Writable } from 'node:stream';
import { Registry } from 'prom-client';
import {
  type KubeSource,
  type ReflectorTimings,
  startKubeSource,
} from '../../src/control/sources/kubernetes/index.js';
import { ResourceStore } from '../../src/control/sources/store.js';
import { createLogger, type Logger } from '../../src/shared/logger.js';
import { createMetrics, type Metrics } from '../../src/shared/metrics.js';
import { objectKey } from '../../src/shared/object-key.js';
import { KIND_NAMES } from '../../src/shared/resources.js';
import type { KubeApiServer } from '../support/kube/api-server.js';
import { kubeConfigFor } from '../support/kube/kubeconfig.js';

export const FAST: Partial<ReflectorTimings> = {
  backoffBaseMs: 5,
  backoffCapMs: 40,
  forbiddenCapMs: 80,
  connectTimeoutMs: 300,
  listTimeoutMs: 3000,
  inactivityMs: 400,
  watchTimeoutMinSeconds: 300,
  watchTimeoutMaxSeconds: 300,
  minWatchLifetimeMs: 50,
  backoffResetMs: 2000,
  absentPollMs: 40,
  resyncMs: 3_600_000,
  pageSize: 2,
};

export interface Harness {
  source: KubeSource;
  store: ResourceStore;
  metrics: Metrics;
  logger: Logger;
  logs: Record<string, unknown>[];
}

/** Start a source against `server` with millisecond timings and a log capture. */
export function startSource(
  server: KubeApiServer,
  timings: Partial<ReflectorTimings> = {},
  store = new ResourceStore(),
): Harness {
  const logs: Record<string, unknown>[] = [];
  const sink = new Writable({
    write(chunk, _enc, cb) {
      for (const line of String(chunk).split('\n').filter(Boolean)) logs.push(JSON.parse(line));
      cb();
    },
  });
  const logger = createLogger('debug', sink);
  const metrics = createMetrics(new Registry(), { processMetrics: false });
  const source = startKubeSource({
    kubeConfig: kubeConfigFor(server.url),
    store,
    logger,
    metrics,
    timings: { ...FAST, ...timings },
  });
  return { source, store, metrics, logger, logs };
}

export async function waitFor(check: () => boolean, what = 'condition', timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

/** Current value of a labelled counter or gauge (0 when never set). */
export async function metricValue(
  metric: { get(): Promise<{ values: { labels: Record<string, unknown>; value: number }[] }> },
  labels: Record<string, string>,
): Promise<number> {
  const { values } = await metric.get();
  const hit = values.find((v) => Object.entries(labels).every(([k, val]) => v.labels[k] === val));
  return hit?.value ?? 0;
}

export const delay = (ms: number) => new Promise((r) => setTimeout(r, ms));

const key = (meta: { namespace?: string; name: string }) => objectKey(meta.namespace, meta.name);

/** The store as comparable JSON: per kind, objects sorted by key. */
export function storeView(store: ResourceStore): Record<string, unknown[]> {
  const snap = store.snapshot();
  const view: Record<string, unknown[]> = {};
  for (const kind of KIND_NAMES) {
    view[kind] = [...snap[kind]]
      .sort((a, b) => (key(a.metadata) < key(b.metadata) ? -1 : 1))
      .map((o) => JSON.parse(JSON.stringify(o)));
  }
  return view;
}

/** What a fresh start against the server's current state builds. */
export async function freshView(server: KubeApiServer): Promise<Record<string, unknown[]>> {
  const fresh = startSource(server);
  try {
    await waitFor(() => fresh.source.synced, 'fresh source to sync');
    return storeView(fresh.store);
  } finally {
    await fresh.source.stop();
  }
}

/** Wait until the store equals what a fresh start would build (the invariant after every fault). */
export async function expectConverged(
  server: KubeApiServer,
  store: ResourceStore,
  timeoutMs = 5000,
): Promise<void> {
  const expected = await freshView(server);
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const actual = JSON.stringify(storeView(store));
    if (actual === JSON.stringify(expected)) return;
    if (Date.now() > deadline) {
      throw new Error(`store did not converge:\nexpected ${JSON.stringify(expected)}\nactual   ${actual}`);
    }
    await delay(10);
  }
}
