/**
 * The whole status loop on the real parts: reflectors fill the store from the API server, the
 * reconciler runs translate(), the elected leader's writer writes status, the writes come back through
 * the watch, and the loop settles (no write causes another). Then a route detaches: our parents entry
 * goes, another controller's stays.
 */
import { afterEach, beforeEach, expect, it } from 'vitest';
import type { KubeSource } from '../../src/control/sources/kubernetes/index.js';
import { KubeApiServer } from '../support/kube/api-server.js';
import { CONTROLLER, OTHER_CONTROLLER, startStatusLoop, theirParent, waitFor } from './helpers.js';

let server: KubeApiServer;
let stopAll: () => Promise<void>;

beforeEach(async () => {
  server = await KubeApiServer.start();
});

afterEach(async () => {
  await stopAll?.();
  await server.close();
});

const objects = [
  {
    apiVersion: 'gateway.networking.k8s.io/v1',
    kind: 'GatewayClass',
    metadata: { name: 'mcplane' },
    spec: { controllerName: CONTROLLER },
  },
  {
    apiVersion: 'gateway.networking.k8s.io/v1',
    kind: 'Gateway',
    metadata: { name: 'gw', namespace: 'default' },
    spec: {
      gatewayClassName: 'mcplane',
      listeners: [
        { name: 'http', port: 8080, protocol: 'HTTP', allowedRoutes: { namespaces: { from: 'All' } } },
      ],
    },
  },
  {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name: 'everything', namespace: 'default', labels: { app: 'everything' } },
    spec: { ports: [{ name: 'http', port: 3001, appProtocol: 'kgateway.dev/mcp' }] },
  },
  {
    apiVersion: 'gateway.kgateway.dev/v1alpha1',
    kind: 'Backend',
    metadata: { name: 'mcp-backend', namespace: 'default' },
    spec: {
      type: 'MCP',
      mcp: {
        name: 'mcp',
        targets: [{ selectors: { serviceSelector: { matchLabels: { app: 'everything' } } } }],
      },
    },
  },
];

function route(parentRefs: Record<string, unknown>[]) {
  return {
    apiVersion: 'gateway.networking.k8s.io/v1',
    kind: 'HTTPRoute',
    metadata: { name: 'route', namespace: 'default' },
    spec: {
      parentRefs,
      rules: [{ backendRefs: [{ group: 'gateway.kgateway.dev', kind: 'Backend', name: 'mcp-backend' }] }],
    },
    status: { parents: [theirParent()] },
  };
}

function start(): { source: KubeSource } {
  const loop = startStatusLoop(server);
  stopAll = loop.stop;
  return { source: loop.source };
}

const statusWrites = () => server.requests.filter((r) => r.path.endsWith('/status') && r.method !== 'GET');
const parents = () => ((server.get('HTTPRoute', 'default', 'route')!.status as any)?.parents ?? []) as any[];

it('writes status once, settles, and removes only our parents entry when a route detaches', async () => {
  for (const o of objects) server.apply(o);
  server.apply(route([{ name: 'gw' }, { name: 'their-gw' }]));
  start();

  await waitFor(
    () => parents().some((p) => p.controllerName === CONTROLLER),
    5000,
    'our route parents entry',
  );
  await waitFor(
    () => (server.get('Gateway', 'default', 'gw')!.status as any)?.listeners?.[0]?.attachedRoutes === 1,
  );
  expect((server.get('GatewayClass', undefined, 'mcplane')!.status as any).conditions).toMatchObject([
    { type: 'Accepted', status: 'True' },
  ]);
  expect((server.get('Backend', 'default', 'mcp-backend')!.status as any).conditions[0]).toMatchObject({
    type: 'Accepted',
    status: 'True',
    lastTransitionTime: expect.stringMatching(/Z$/),
  });
  expect(parents()[0]).toEqual(theirParent());

  // Our writes come back through the watch and trigger rebuilds; none of them may write again.
  await new Promise((r) => setTimeout(r, 300));
  const settled = statusWrites().length;
  // Exactly one write per object: everything was in the store before the first rebuild.
  expect(
    statusWrites()
      .map((r) => `${r.method} ${r.path.split('/').slice(-3, -1).join('/')} ${r.status}`)
      .sort(),
  ).toEqual([
    'PATCH backends/mcp-backend 200',
    'PATCH gatewayclasses/mcplane 200',
    'PATCH gateways/gw 200',
    'PUT httproutes/route 200',
  ]);
  await new Promise((r) => setTimeout(r, 500));
  expect(statusWrites()).toHaveLength(settled);

  // The route leaves our Gateway: our entry goes, theirs stays.
  const current = server.get('HTTPRoute', 'default', 'route')!;
  server.apply({ ...current, spec: { ...(current.spec as object), parentRefs: [{ name: 'their-gw' }] } });
  await waitFor(() => !parents().some((p) => p.controllerName === CONTROLLER), 5000, 'our entry to go');
  expect(parents().map((p) => p.controllerName)).toEqual([OTHER_CONTROLLER]);
});
