/**
 * Kubernetes mode: replicas find each other through the EndpointSlices of --peer-service (what the
 * chart's headless `<release>-peers` Service gives them), read from the store the Kubernetes source
 * fills. A DELETE on one replica reaches the other through those endpoints (and not the replica
 * itself, found by its pod name), and a replica that starts later pulls it before it is ready.
 *
 * Replica A serves the walk-through; B and C watch another controller name, so that three
 * in-process replicas do not contend for one listener port: their revocation sets are what is
 * checked, through the same authenticated pull a peer makes.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Gateway } from '../../src/gateway.js';
import { KeyRing } from '../../src/proxy/mcp/index.js';
import { parseToken } from '../../src/proxy/mcp/session/key-ring.js';
import { PEER_AUTH_HEADER, PeerAuth } from '../../src/proxy/peers/peer-auth.js';
import { startTestGateway } from '../support/gateway.js';
import { KubeApiServer } from '../support/kube/api-server.js';
import { kubeConfigFor } from '../support/kube/kubeconfig.js';
import { rawInitialize } from '../support/mcp-harness.js';
import { type FixtureServer, startFixture } from '../support/mcp-servers.js';
import { freePort } from '../support/ports.js';
import { walkthrough } from '../support/walkthrough.js';

const KEY = `k1:${'4b'.repeat(32)}`;
const PEERS = 'mcplane-peers';

let api: KubeApiServer;
let dir: string;
let kubeconfig: string;
let upstream: FixtureServer;
let gatewayPort: number;
const gateways: Gateway[] = [];

const replica = async (pod: string, controller?: string) => {
  const gateway = await startTestGateway([
    '--kubeconfig',
    kubeconfig,
    '--lease-namespace',
    'default',
    '--session-key',
    KEY,
    '--peer-service',
    PEERS,
    '--pod-name',
    pod,
    ...(controller ? ['--controller-name', controller] : []),
  ]);
  gateways.push(gateway);
  return gateway;
};

/** One slice per replica: in-process replicas share 127.0.0.1 and differ by admin port. */
const slice = (pod: string, adminPort: number) => ({
  apiVersion: 'discovery.k8s.io/v1',
  kind: 'EndpointSlice',
  metadata: {
    name: `${PEERS}-${pod}`,
    namespace: 'default',
    labels: { 'kubernetes.io/service-name': PEERS },
  },
  addressType: 'IPv4',
  endpoints: [
    { addresses: ['127.0.0.1'], conditions: { ready: true }, targetRef: { kind: 'Pod', name: pod } },
  ],
  ports: [{ name: 'admin', port: adminPort, protocol: 'TCP' }],
});

const auth = new PeerAuth(KeyRing.fromSpec(KEY));
async function revokedOn(gateway: Gateway): Promise<string[]> {
  const path = '/peer/revocations';
  const header = auth.signRequest('GET', path, '');
  const response = await fetch(`http://127.0.0.1:${gateway.adminPort}${path}`, {
    headers: { [PEER_AUTH_HEADER]: header },
  });
  const body = await response.text();
  expect(auth.verifyResponse(response.headers.get(PEER_AUTH_HEADER), header, body)).toBe(true);
  return (JSON.parse(body) as { revoked: [string, number][] }).revoked.map(([id]) => id);
}

const pushes = async (gateway: Gateway) =>
  (await gateway.metrics.peerRequests.get()).values
    .filter((v) => v.labels.op === 'push')
    .reduce((sum, v) => sum + v.value, 0);

beforeAll(async () => {
  api = await KubeApiServer.start();
  upstream = await startFixture({ name: 'everything' });
  gatewayPort = await freePort();
  for (const obj of walkthrough(gatewayPort, upstream.port)) api.apply(obj);
  dir = await mkdtemp(join(tmpdir(), 'mcplane-peers-'));
  kubeconfig = join(dir, 'kubeconfig');
  await writeFile(kubeconfig, kubeConfigFor(api.url).exportConfig());
});

afterAll(async () => {
  await Promise.all(gateways.map((g) => g.stop()));
  await upstream?.close();
  await api?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('peers from EndpointSlices', () => {
  it('a DELETE on one replica reaches the replicas of --peer-service, now and when they start', async () => {
    const a = await replica('pod-a');
    const b = await replica('pod-b', 'example.com/elsewhere');
    api.apply(slice('pod-a', a.adminPort));
    api.apply(slice('pod-b', b.adminPort));
    await expect
      .poll(() => a.store.count('EndpointSlice') >= 3 && b.store.count('EndpointSlice') >= 3)
      .toBe(true);

    const session = await rawInitialize(`http://127.0.0.1:${gatewayPort}/mcp`);
    const id = parseToken(session)!.id;
    const deleted = await fetch(`http://127.0.0.1:${gatewayPort}/mcp`, {
      method: 'DELETE',
      headers: { 'mcp-session-id': session },
    });
    expect(deleted.status).toBe(200);
    const started = performance.now();
    await expect.poll(() => revokedOn(b), { timeout: 1000, interval: 20 }).toContain(id);
    expect(performance.now() - started).toBeLessThan(1000);
    // One push, to B: A found itself among the endpoints by its pod name and left itself out.
    expect(await pushes(a)).toBe(1);

    // C starts after the DELETE: its slice is listed, and it pulls from A and B before it is ready.
    const cAdmin = await freePort();
    api.apply(slice('pod-c', cAdmin));
    const c = await startTestGateway(
      [
        '--kubeconfig',
        kubeconfig,
        '--lease-namespace',
        'default',
        '--session-key',
        KEY,
        '--peer-service',
        PEERS,
        '--pod-name',
        'pod-c',
        '--controller-name',
        'example.com/elsewhere',
      ],
      { adminPort: cAdmin },
    );
    gateways.push(c);
    expect(await revokedOn(c)).toContain(id);
  }, 60_000);
});
