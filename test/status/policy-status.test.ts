/**
 * AgentgatewayPolicies in Kubernetes mode: watched like every other kind, and their status written
 * per ancestor on the in-process API server by the elected writer: Accepted for a valid policy,
 * Invalid with the expression and the parse error for bad CEL, nothing at all for a policy that
 * only targets another controller's Gateway.
 */
import { afterEach, beforeEach, expect, it } from 'vitest';
import type { KubeSource } from '../../src/control/sources/kubernetes/index.js';
import { KubeApiServer } from '../support/kube/api-server.js';
import { CONTROLLER, startStatusLoop, waitFor } from './helpers.js';

let server: KubeApiServer;
let stopAll: () => Promise<void>;

beforeEach(async () => {
  server = await KubeApiServer.start();
});

afterEach(async () => {
  await stopAll?.();
  await server.close();
});

const gateway = (name: string, className: string) => ({
  apiVersion: 'gateway.networking.k8s.io/v1',
  kind: 'Gateway',
  metadata: { name, namespace: 'default' },
  spec: {
    gatewayClassName: className,
    listeners: [
      { name: 'http', port: 8080, protocol: 'HTTP', allowedRoutes: { namespaces: { from: 'All' } } },
    ],
  },
});

const policy = (name: string, spec: Record<string, unknown>) => ({
  apiVersion: 'agentgateway.dev/v1alpha1',
  kind: 'AgentgatewayPolicy',
  metadata: { name, namespace: 'default', generation: 1 },
  spec,
});

const objects = [
  {
    apiVersion: 'gateway.networking.k8s.io/v1',
    kind: 'GatewayClass',
    metadata: { name: 'mcplane' },
    spec: { controllerName: CONTROLLER },
  },
  gateway('gw', 'mcplane'),
  gateway('their-gw', 'someone-else'),
  {
    apiVersion: 'agentgateway.dev/v1alpha1',
    kind: 'AgentgatewayBackend',
    metadata: { name: 'tools', namespace: 'default' },
    spec: { mcp: { targets: [{ name: 'docs', static: { host: 'docs.example', port: 80 } }] } },
  },
  {
    apiVersion: 'gateway.networking.k8s.io/v1',
    kind: 'HTTPRoute',
    metadata: { name: 'mcp', namespace: 'default' },
    spec: {
      parentRefs: [{ name: 'gw' }],
      rules: [{ backendRefs: [{ group: 'agentgateway.dev', kind: 'AgentgatewayBackend', name: 'tools' }] }],
    },
  },
  policy('jwt', {
    targetRefs: [{ group: 'gateway.networking.k8s.io', kind: 'Gateway', name: 'gw' }],
    traffic: {
      jwtAuthentication: {
        providers: [{ issuer: 'https://idp.example', jwks: { remote: { url: 'https://idp.example/jwks' } } }],
      },
    },
  }),
  policy('bad-cel', {
    targetRefs: [{ group: 'gateway.networking.k8s.io', kind: 'HTTPRoute', name: 'mcp' }],
    backend: { mcp: { authorization: { policy: { matchExpressions: ['jwt.sub =='] } } } },
  }),
  policy('theirs', {
    targetRefs: [{ group: 'gateway.networking.k8s.io', kind: 'Gateway', name: 'their-gw' }],
    traffic: { authorization: { policy: { matchExpressions: ['true'] } } },
  }),
];

function start(): KubeSource {
  const loop = startStatusLoop(server);
  stopAll = loop.stop;
  return loop.source;
}

type Ancestor = {
  ancestorRef: Record<string, unknown>;
  controllerName: string;
  conditions: Record<string, unknown>[];
};
const ancestors = (name: string): Ancestor[] | undefined =>
  (server.get('AgentgatewayPolicy', 'default', name)?.status as { ancestors?: Ancestor[] } | undefined)
    ?.ancestors;

it('writes each policy status per ancestor, and none for a policy about another controller', async () => {
  for (const o of objects) server.apply(o);
  start();
  await waitFor(
    () => ancestors('jwt') !== undefined && ancestors('bad-cel') !== undefined,
    5000,
    'policy status',
  );
  expect(ancestors('jwt')).toEqual([
    {
      ancestorRef: { group: 'gateway.networking.k8s.io', kind: 'Gateway', namespace: 'default', name: 'gw' },
      controllerName: CONTROLLER,
      conditions: [
        {
          type: 'Accepted',
          status: 'True',
          reason: 'Accepted',
          message: 'Policy accepted',
          observedGeneration: 1,
          lastTransitionTime: expect.stringMatching(/Z$/),
        },
      ],
    },
  ]);
  const [bad] = ancestors('bad-cel')!;
  expect(bad!.ancestorRef).toMatchObject({ kind: 'HTTPRoute', name: 'mcp' });
  expect(bad!.conditions[0]).toMatchObject({ type: 'Accepted', status: 'False', reason: 'Invalid' });
  expect(String(bad!.conditions[0]!.message)).toContain('invalid CEL "jwt.sub =="');
  await new Promise((r) => setTimeout(r, 300));
  expect(ancestors('theirs')).toBeUndefined();
});

it("keeps another controller's ancestors (agentgateway beside mcplane), and removes only ours when the policy leaves", async () => {
  const theirs = {
    ancestorRef: {
      group: 'gateway.networking.k8s.io',
      kind: 'Gateway',
      namespace: 'default',
      name: 'their-gw',
    },
    controllerName: 'agentgateway.dev/agentgateway',
    conditions: [
      {
        type: 'Accepted',
        status: 'True',
        reason: 'Accepted',
        message: 'theirs',
        lastTransitionTime: '2026-01-01T00:00:00Z',
      },
    ],
  };
  for (const o of objects) {
    if ((o.metadata as { name: string }).name === 'jwt')
      server.apply({ ...o, status: { ancestors: [theirs] } });
    else server.apply(o);
  }
  start();
  await waitFor(() => (ancestors('jwt') ?? []).length === 2, 5000, 'both controllers in ancestors');
  expect(ancestors('jwt')![0]).toEqual(theirs);
  expect(ancestors('jwt')![1]!.controllerName).toBe(CONTROLLER);
  // The policy now targets only their Gateway: our entry goes, theirs stays.
  const current = server.get('AgentgatewayPolicy', 'default', 'jwt')!;
  const spec = current.spec as Record<string, unknown>;
  server.apply({
    ...current,
    spec: {
      ...spec,
      targetRefs: [{ group: 'gateway.networking.k8s.io', kind: 'Gateway', name: 'their-gw' }],
    },
  });
  await waitFor(() => (ancestors('jwt') ?? []).length === 1, 5000, 'our entry removed');
  expect(ancestors('jwt')).toEqual([theirs]);
});
