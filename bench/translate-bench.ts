/**
 * Control-plane cost: translate() over a generated world of S Services (each with an EndpointSlice),
 * B AgentgatewayBackends selecting them by label, and R HTTPRoutes, spread over 100 namespaces.
 * Run in its own process with --expose-gc so heap figures are not polluted by the load generator:
 *   node --expose-gc --import tsx bench/translate-bench.ts --services 10000 --backends 1000 --routes 1000
 * Prints one JSON line (TranslateFigures, or {error}).
 */
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { parseResource } from '../src/control/sources/parse.js';
import { DEFAULT_CONTROLLER_NAME, translate } from '../src/control/translate/index.js';
import { emptySnapshot, type KindName, type ResourceByKind, type Snapshot } from '../src/shared/resources.js';

export interface TranslateFigures {
  readonly services: number;
  readonly backends: number;
  readonly routes: number;
  readonly runs: number;
  readonly minMs: number;
  readonly medianMs: number;
  /** Heap still held by one translate() result (table + statuses), MiB. */
  readonly retainedMiB: number;
  /** Heap growth while one translate() ran, before collection (garbage included), MiB. */
  readonly allocatedMiB: number;
  /** What came out, so a translate that silently drops everything is visible. */
  readonly tableRoutes: number;
  readonly tableTargets: number;
  readonly statuses: number;
}

const NAMESPACES = 100;

/** Raw objects, as they would come from the API server or YAML. */
export function generateWorld(services: number, backends: number, routes: number): unknown[] {
  const out: unknown[] = [
    {
      apiVersion: 'gateway.networking.k8s.io/v1',
      kind: 'GatewayClass',
      metadata: { name: 'mcplane', generation: 1 },
      spec: { controllerName: DEFAULT_CONTROLLER_NAME },
    },
    {
      apiVersion: 'gateway.networking.k8s.io/v1',
      kind: 'Gateway',
      metadata: { name: 'bench', namespace: 'gateway-system', generation: 1 },
      spec: {
        gatewayClassName: 'mcplane',
        listeners: [
          { name: 'http', port: 8080, protocol: 'HTTP', allowedRoutes: { namespaces: { from: 'All' } } },
        ],
      },
    },
  ];
  const ns = (i: number) => `ns-${i % NAMESPACES}`;
  for (let i = 0; i < NAMESPACES; i++) {
    out.push({
      apiVersion: 'v1',
      kind: 'Namespace',
      metadata: { name: `ns-${i}`, labels: { team: `t${i % 7}` } },
    });
  }
  const appsPerNamespace = Math.max(1, Math.ceil(backends / NAMESPACES));
  for (let i = 0; i < services; i++) {
    const name = `svc-${i}`;
    const app = `app-${Math.floor(i / NAMESPACES) % appsPerNamespace}`;
    out.push({
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name, namespace: ns(i), labels: { app, tier: 'mcp' }, uid: `uid-svc-${i}`, generation: 1 },
      spec: {
        clusterIP: `10.96.${(i >> 8) & 255}.${i & 255}`,
        selector: { app: name },
        ports: [{ name: 'mcp', port: 3001, targetPort: 3001, appProtocol: 'agentgateway.dev/mcp' }],
      },
    });
    out.push({
      apiVersion: 'discovery.k8s.io/v1',
      kind: 'EndpointSlice',
      metadata: {
        name: `${name}-abcde`,
        namespace: ns(i),
        labels: { 'kubernetes.io/service-name': name },
      },
      addressType: 'IPv4',
      endpoints: [0, 1].map((e) => ({
        addresses: [`10.${e + 1}.${(i >> 8) & 255}.${i & 255}`],
        conditions: { ready: true, serving: true, terminating: false },
      })),
      ports: [{ name: 'mcp', port: 3001, protocol: 'TCP' }],
    });
  }
  for (let j = 0; j < backends; j++) {
    out.push({
      apiVersion: 'agentgateway.dev/v1alpha1',
      kind: 'AgentgatewayBackend',
      metadata: { name: `backend-${j}`, namespace: ns(j), generation: 1 },
      spec: {
        mcp: {
          targets: [
            {
              name: 'selected',
              selector: {
                services: { matchLabels: { app: `app-${Math.floor(j / NAMESPACES) % appsPerNamespace}` } },
              },
            },
          ],
        },
      },
    });
  }
  for (let r = 0; r < routes; r++) {
    out.push({
      apiVersion: 'gateway.networking.k8s.io/v1',
      kind: 'HTTPRoute',
      metadata: { name: `route-${r}`, namespace: ns(r), generation: 1 },
      spec: {
        parentRefs: [{ name: 'bench', namespace: 'gateway-system' }],
        rules: [
          {
            matches: [{ path: { type: 'PathPrefix', value: `/${ns(r)}/route-${r}/mcp` } }],
            backendRefs: [
              {
                group: 'agentgateway.dev',
                kind: 'AgentgatewayBackend',
                name: `backend-${r % Math.max(1, backends)}`,
              },
            ],
          },
        ],
      },
    });
  }
  return out;
}

export function toSnapshot(raw: readonly unknown[]): Snapshot {
  const snap = emptySnapshot() as { -readonly [K in KindName]: ResourceByKind[K][] };
  for (const object of raw) {
    const parsed = parseResource(object);
    if (!parsed.ok) throw new Error(`generated ${parsed.id} is invalid: ${parsed.problems.join('; ')}`);
    (snap[parsed.resource.kind] as unknown[]).push(parsed.resource.object);
  }
  return snap;
}

function heapMiB(): number {
  return process.memoryUsage().heapUsed / 1024 / 1024;
}

function gc(): void {
  (globalThis as { gc?: () => void }).gc?.();
}

export function measureTranslate(
  services: number,
  backends: number,
  routes: number,
  runs: number,
): TranslateFigures {
  const snapshot = toSnapshot(generateWorld(services, backends, routes));
  const options = { controllerName: DEFAULT_CONTROLLER_NAME, clusterDomain: 'cluster.local' };
  translate(snapshot, options); // warm-up: JIT, caches
  const times: number[] = [];
  let allocatedMiB = 0;
  let retainedMiB = 0;
  let result = translate(snapshot, options);
  for (let i = 0; i < runs; i++) {
    result = undefined as unknown as typeof result;
    gc();
    const before = heapMiB();
    const start = process.hrtime.bigint();
    result = translate(snapshot, options);
    times.push(Number(process.hrtime.bigint() - start) / 1e6);
    allocatedMiB = Math.max(allocatedMiB, heapMiB() - before);
    gc();
    retainedMiB = heapMiB() - before;
  }
  times.sort((a, b) => a - b);
  const listeners = result.table.listeners;
  const tableRoutes = listeners.reduce((n, l) => n + l.routes.length, 0);
  const tableTargets = listeners.reduce(
    (n, l) =>
      n + l.routes.reduce((m, r) => m + (r.action.type === 'mcp' ? r.action.backend.targets.length : 0), 0),
    0,
  );
  return {
    services,
    backends,
    routes,
    runs,
    minMs: times[0]!,
    medianMs: times[Math.floor(times.length / 2)]!,
    retainedMiB,
    allocatedMiB,
    tableRoutes,
    tableTargets,
    statuses: result.statuses.length,
  };
}

function main(): void {
  const { values } = parseArgs({
    options: {
      services: { type: 'string', default: '10000' },
      backends: { type: 'string', default: '1000' },
      routes: { type: 'string', default: '1000' },
      runs: { type: 'string', default: '5' },
    },
  });
  try {
    const figures = measureTranslate(
      Number(values.services),
      Number(values.backends),
      Number(values.routes),
      Number(values.runs),
    );
    process.stdout.write(`${JSON.stringify(figures)}\n`);
  } catch (err) {
    process.stdout.write(`${JSON.stringify({ error: (err as Error).message })}\n`);
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) main();
