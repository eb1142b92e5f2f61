/** Shared pieces for the status-writer and leader-election tests. */
import { Registry } from 'prom-client';
import { LeaderElector } from '../../src/control/leader.js';
import { Reconciler } from '../../src/control/reconciler.js';
import { type KubeSource, startKubeSource } from '../../src/control/sources/kubernetes/index.js';
import { parseResource } from '../../src/control/sources/parse.js';
import { ResourceStore } from '../../src/control/sources/store.js';
import { StatusWriter } from '../../src/control/status-writer.js';
import { silentLogger } from '../../src/shared/logger.js';
import { createMetrics, type Metrics } from '../../src/shared/metrics.js';
import { TablePublisher } from '../../src/shared/publisher.js';
import type { KindName } from '../../src/shared/resources.js';
import type { Condition, ObjectStatus } from '../../src/shared/status.js';
import type { KubeApiServer } from '../support/kube/api-server.js';
import { kubeConfigFor } from '../support/kube/kubeconfig.js';

export const CONTROLLER = 'mcplane.dev/gateway-controller';
export const OTHER_CONTROLLER = 'example.com/other-controller';

export function testMetrics(): Metrics {
  return createMetrics(new Registry(), { processMetrics: false });
}

export async function counterValue(metrics: Metrics, labels: Record<string, string>): Promise<number> {
  const { values } = await metrics.statusWrites.get();
  const hit = values.find((v) =>
    Object.entries(labels).every(([k, val]) => (v.labels as Record<string, unknown>)[k] === val),
  );
  return hit?.value ?? 0;
}

/** Copy the server's objects of some kinds into a store, as the reflectors would. */
export function syncStore(server: KubeApiServer, store: ResourceStore, kinds: readonly KindName[]): void {
  for (const kind of kinds) {
    const objects = server.list(kind).map((raw) => {
      const parsed = parseResource(raw);
      if (!parsed.ok) throw new Error(`fixture does not parse: ${JSON.stringify(parsed)}`);
      return parsed.resource.object;
    });
    store.replace(kind, objects as never);
  }
}

export function newStore(): ResourceStore {
  return new ResourceStore();
}

export async function waitFor(check: () => boolean, timeoutMs = 5000, what = 'condition'): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > until) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

export function cond(type: string, ok: boolean, reason: string, generation = 1): Condition {
  return {
    type,
    status: ok ? 'True' : 'False',
    reason,
    message: `${type} ${reason}`,
    observedGeneration: generation,
  };
}

// --- fixtures -------------------------------------------------------------------------------------

export const gatewayClass = {
  apiVersion: 'gateway.networking.k8s.io/v1',
  kind: 'GatewayClass',
  metadata: { name: 'mcplane' },
  spec: { controllerName: CONTROLLER },
};

export const gateway = {
  apiVersion: 'gateway.networking.k8s.io/v1',
  kind: 'Gateway',
  metadata: { name: 'gw', namespace: 'default' },
  spec: { gatewayClassName: 'mcplane', listeners: [{ name: 'http', port: 8080, protocol: 'HTTP' }] },
};

export function httpRoute(status?: Record<string, unknown>) {
  return {
    apiVersion: 'gateway.networking.k8s.io/v1',
    kind: 'HTTPRoute',
    metadata: { name: 'route', namespace: 'default' },
    spec: { parentRefs: [{ name: 'gw' }, { name: 'their-gw' }], rules: [{}] },
    ...(status ? { status } : {}),
  };
}

export function theirParent() {
  return {
    parentRef: { name: 'their-gw' },
    controllerName: OTHER_CONTROLLER,
    conditions: [
      {
        type: 'Accepted',
        status: 'True',
        reason: 'Accepted',
        message: 'theirs',
        lastTransitionTime: '2020-01-01T00:00:00Z',
      },
    ],
  };
}

export function ourParent(
  accepted = true,
  message = 'Accepted by listener(s) http',
): Record<string, unknown> {
  return {
    parentRef: { group: 'gateway.networking.k8s.io', kind: 'Gateway', namespace: 'default', name: 'gw' },
    controllerName: CONTROLLER,
    conditions: [
      { ...cond('Accepted', accepted, accepted ? 'Accepted' : 'NotAllowedByListeners'), message },
      cond('ResolvedRefs', true, 'ResolvedRefs'),
    ],
  };
}

export function gatewayStatus(programmed = true, reason = 'Programmed'): ObjectStatus {
  return {
    ref: { kind: 'Gateway', namespace: 'default', name: 'gw' },
    generation: 1,
    status: {
      conditions: [cond('Accepted', true, 'Accepted'), cond('Programmed', programmed, reason)],
      listeners: [
        {
          name: 'http',
          attachedRoutes: 1,
          supportedKinds: [{ group: 'gateway.networking.k8s.io', kind: 'HTTPRoute' }],
          conditions: [cond('Accepted', true, 'Accepted')],
        },
      ],
    },
  };
}

export function classStatus(): ObjectStatus {
  return {
    ref: { kind: 'GatewayClass', name: 'mcplane' },
    generation: 1,
    status: { conditions: [cond('Accepted', true, 'Accepted')] },
  };
}

export function routeStatus(parents: readonly Record<string, unknown>[]): ObjectStatus {
  return {
    ref: { kind: 'HTTPRoute', namespace: 'default', name: 'route' },
    generation: 1,
    status: { parents },
  };
}

/**
 * The whole status loop against the test API server, as gateway.ts wires it: reflectors fill a
 * store, the reconciler translates, the elected writer writes. Returns what to stop.
 */
export function startStatusLoop(server: KubeApiServer): { source: KubeSource; stop: () => Promise<void> } {
  const kubeConfig = kubeConfigFor(server.url);
  const store = newStore();
  const metrics = testMetrics();
  const logger = silentLogger;
  const source = startKubeSource({
    kubeConfig,
    store,
    logger,
    metrics,
    timings: { backoffBaseMs: 5, backoffCapMs: 40, connectTimeoutMs: 1000, inactivityMs: 5000 },
  });
  const writer = new StatusWriter({ kubeConfig, store, controllerName: CONTROLLER, logger, metrics });
  const reconciler = new Reconciler({
    store,
    publisher: new TablePublisher(),
    translateOptions: { controllerName: CONTROLLER, clusterDomain: 'cluster.local' },
    logger,
    metrics,
    debounceMs: 10,
    onStatuses: (s) => writer.update(s),
  });
  const elector = new LeaderElector({
    kubeConfig,
    namespace: 'mcplane',
    name: 'mcplane-status',
    identity: 'replica-1',
    leaseDurationMs: 2000,
    renewDeadlineMs: 1000,
    retryPeriodMs: 200,
    logger,
    metrics,
  });
  elector.onStartedLeading(() => writer.setLeader(true));
  elector.onStoppedLeading(() => writer.setLeader(false));
  source.onSynced(() => reconciler.start());
  elector.start();
  return {
    source,
    stop: async () => {
      reconciler.stop();
      await writer.stop();
      await elector.stop();
      await source.stop();
    },
  };
}
