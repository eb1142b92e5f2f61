/**
 * The admin server's /peer/revocations over real HTTP: only a request with a valid MAC from a key of
 * the ring changes anything (missing, tampered, foreign, stale, or replayed with another body: 401,
 * nothing revoked); a pull's answer is authenticated and bound to its request; and two PeerSyncs
 * push and pull through it.
 */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAdminApp } from '../../../src/proxy/admin.js';
import { KeyRing, Revocations } from '../../../src/proxy/mcp/index.js';
import { PEER_AUTH_HEADER, PeerAuth } from '../../../src/proxy/peers/peer-auth.js';
import { peerEndpoint } from '../../../src/proxy/peers/peer-endpoint.js';
import { PeerSync } from '../../../src/proxy/peers/peer-sync.js';
import { type HttpServer, listen, serveFetch } from '../../../src/proxy/server.js';
import { silentLogger } from '../../../src/shared/logger.js';
import { createMetrics, type Metrics } from '../../../src/shared/metrics.js';

const K1 = `k1:${'a1'.repeat(32)}`;
const K2 = `k2:${'b2'.repeat(32)}`;
const HOUR = 3_600_000;
const PATH = '/peer/revocations';

interface Replica {
  readonly address: string;
  readonly revocations: Revocations;
  readonly metrics: Metrics;
  readonly server: HttpServer;
}

const started: Replica[] = [];

async function replica(spec: string): Promise<Replica> {
  const metrics = createMetrics(undefined, { processMetrics: false });
  const revocations = new Revocations({ maxEntries: 1000, lifetimeMs: HOUR });
  const auth = new PeerAuth(KeyRing.fromSpec(spec));
  const app = createAdminApp(
    metrics,
    () => ({ ready: true, details: {} }),
    peerEndpoint({ auth, revocations, logger: silentLogger, metrics }),
  );
  const server = await listen(serveFetch(app.fetch), 0, '127.0.0.1');
  const made = { address: `127.0.0.1:${server.port}`, revocations, metrics, server };
  started.push(made);
  return made;
}

afterAll(async () => {
  for (const { server, revocations } of started) {
    revocations.close();
    server.destroy();
    await server.close();
  }
});

const entry = (): [string, number] => [randomBytes(12).toString('base64url'), Math.floor(Date.now() / 1000)];
const push = (revoked: Array<[string, number]>, floor = 0) => JSON.stringify({ floor, revoked });

function post(target: Replica, body: string, header?: string) {
  return fetch(`http://${target.address}${PATH}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(header ? { [PEER_AUTH_HEADER]: header } : {}) },
    body,
  });
}

describe('peer authentication', () => {
  let receiver: Replica;
  const signer = new PeerAuth(KeyRing.fromSpec(`${K1},${K2}`)); // mid-rotation: k1 first, k2 known

  beforeAll(async () => {
    receiver = await replica(`${K2},${K1}`); // rotated: signs with k2, still accepts k1
  });

  it('a valid push is taken', async () => {
    const one = entry();
    const body = push([one]);
    const response = await post(receiver, body, signer.signRequest('POST', PATH, body));
    expect(response.status).toBe(204);
    expect(receiver.revocations.has(one[0])).toBe(true);
  });

  it('missing, tampered, foreign, stale or replayed with another body: 401 and nothing changes', async () => {
    const victim = entry();
    const body = push([victim], Date.now());
    const good = signer.signRequest('POST', PATH, body);
    const flip = (text: string) => text.slice(0, -2) + (text.at(-2) === 'A' ? 'B' : 'A') + text.slice(-1);
    const foreign = new PeerAuth(KeyRing.fromSpec(`k1:${'c3'.repeat(32)}`)).signRequest('POST', PATH, body);
    const stale = new PeerAuth(KeyRing.fromSpec(K1), () => Date.now() - 120_000).signRequest(
      'POST',
      PATH,
      body,
    );
    const otherBody = push([entry()]);
    const replayedFor = signer.signRequest('POST', PATH, otherBody);
    const otherPath = signer.signRequest('POST', '/other', body);
    for (const [what, header] of [
      ['missing', undefined],
      ['tampered', flip(good)],
      ['unknown key id', good.replace(/^k1\./, 'k9.')],
      ['foreign key', foreign],
      ['stale', stale],
      ['replayed with another body', replayedFor],
      ['signed for another path', otherPath],
      ['garbage', 'k1.x.y'],
    ] as const) {
      const response = await post(receiver, body, header);
      expect(response.status, what).toBe(401);
    }
    expect(receiver.revocations.has(victim[0])).toBe(false);
    expect(receiver.revocations.floor).toBe(0);
    const counted = await receiver.metrics.peerRequests.get();
    expect(counted.values.find((v) => v.labels.result === 'unauthorized')?.value).toBe(8);
    // And the genuine one still works.
    expect((await post(receiver, body, good)).status).toBe(204);
    expect(receiver.revocations.has(victim[0])).toBe(true);
  });

  it('a pull needs a MAC; its answer is signed for that request only', async () => {
    expect((await fetch(`http://${receiver.address}${PATH}`)).status).toBe(401);
    const header = signer.signRequest('GET', PATH, '');
    const response = await fetch(`http://${receiver.address}${PATH}`, {
      headers: { [PEER_AUTH_HEADER]: header },
    });
    expect(response.status).toBe(200);
    const body = await response.text();
    const mac = response.headers.get(PEER_AUTH_HEADER);
    expect(signer.verifyResponse(mac, header, body)).toBe(true);
    expect(signer.verifyResponse(mac, signer.signRequest('GET', PATH, ''), body)).toBe(false);
    expect(signer.verifyResponse(mac, header, body.replace('"floor":', '"floor": '))).toBe(false);
    expect(JSON.parse(body).revoked.length).toBeGreaterThan(0);
  });

  it('a malformed push with a valid MAC is refused and changes nothing', async () => {
    const body = JSON.stringify({ floor: -1, revoked: [['short', 1]] });
    const response = await post(receiver, body, signer.signRequest('POST', PATH, body));
    expect(response.status).toBe(400);
  });
});

describe('PeerSync', () => {
  it('pushes a local revocation to every peer in one batch, and a starting replica pulls what it missed', async () => {
    const [a, b, c] = await Promise.all([replica(K1), replica(K1), replica(K1)]);
    const auth = new PeerAuth(KeyRing.fromSpec(K1));
    const sync = (from: Replica, to: Replica[]) =>
      new PeerSync({
        auth,
        revocations: from.revocations,
        peers: () => to.map((r) => r.address),
        logger: silentLogger,
        metrics: from.metrics,
        batchMs: 20,
      });
    const fromA = sync(a, [b, c]);
    await fromA.start();
    const ids = [entry(), entry(), entry()];
    for (const [key, seconds] of ids) a.revocations.revoke(key, seconds * 1000);
    await expect
      .poll(() => ids.every(([key]) => b.revocations.has(key) && c.revocations.has(key)))
      .toBe(true);
    const pushes = (await a.metrics.peerRequests.get()).values.find(
      (v) => v.labels.op === 'push' && v.labels.result === 'ok',
    );
    expect(pushes?.value).toBe(2); // one per peer for the three

    // A fourth replica starting now pulls everything from its peers before it is ready.
    const d = await replica(K1);
    const fromD = sync(d, [a, b]);
    expect(fromD.ready).toBe(false);
    await fromD.start();
    expect(fromD.ready).toBe(true);
    for (const [key] of ids) expect(d.revocations.has(key)).toBe(true);
    // Peers that do not answer do not hold a start up for long.
    const lonely = sync(await replica(K1), [{ address: '127.0.0.1:9' } as Replica]);
    await lonely.start();
    expect(lonely.ready).toBe(true);
    await Promise.all([fromA.stop(), fromD.stop(), lonely.stop()]);
  });
});
