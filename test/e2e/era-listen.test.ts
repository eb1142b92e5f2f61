/**
 * A 2025 client's event stream in front of a 2026-07-28-only target (issue 12): the target has no
 * GET stream and no resources/subscribe, so mcplane listens for the session with
 * `subscriptions/listen` (list changes, and the resources the client subscribed to) and delivers
 * what the target announces on the client's GET stream, prefixed like any multiplexed message.
 * Real SDK clients (v1, and v2 in its default 2025 mode) and the SDK v2 modern-only fixture.
 *
 * And a 2026-07-28 client's own listen stream: what the backend's 2026 targets announce reaches it,
 * through one upstream listen per target however many clients listen.
 */
import { rm } from 'node:fs/promises';
import {
  Client as V2Client,
  StreamableHTTPClientTransport as V2Transport,
} from '@modelcontextprotocol/client';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import {
  ResourceUpdatedNotificationSchema,
  ToolListChangedNotificationSchema,
} from '@modelcontextprotocol/sdk/types.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Gateway } from '../../src/gateway.js';
import { startTestGateway } from '../support/gateway.js';
import { type FixtureServer, startFixture } from '../support/mcp-servers.js';
import { modernListen } from '../support/modern-wire.js';
import { freePort } from '../support/ports.js';
import { writeManifests } from '../support/standalone.js';
import { startDualEraServer, startModernServer, type V2FixtureServer } from '../support/v2-servers.js';

let modern: V2FixtureServer;
let other: FixtureServer;
let gateway: Gateway;
let dir: string;
let port: number;

beforeAll(async () => {
  [modern, other] = await Promise.all([
    startModernServer({ name: 'modern' }),
    startFixture({ name: 'other' }),
  ]);
  port = await freePort();
  dir = await writeManifests(port, [
    { name: 'solo', pathPrefix: '/solo', targets: [{ name: 'modern', port: modern.port }] },
    {
      name: 'mixed',
      pathPrefix: '/mixed',
      targets: [
        { name: 'modern', port: modern.port },
        { name: 'other', port: other.port },
      ],
    },
    // Unprefixed: a URI names no target, and the one serving it is not the first (by name).
    {
      name: 'flat',
      pathPrefix: '/flat',
      prefixMode: 'Never',
      targets: [
        { name: 'a-other', port: other.port },
        { name: 'z-modern', port: modern.port },
      ],
    },
  ]);
  gateway = await startTestGateway(['--manifests', dir]);
});

afterAll(async () => {
  await gateway?.stop();
  await Promise.all([modern?.close(), other?.close()]);
  if (dir) await rm(dir, { recursive: true, force: true });
});

/** Resolves with the first notification `matches` accepts, or rejects after `ms`. */
function waitFor<T>(list: T[], matches: (item: T) => boolean, ms = 5_000): Promise<T> {
  return new Promise((resolve, reject) => {
    const started = Date.now();
    const poll = setInterval(() => {
      const found = list.find(matches);
      if (found) {
        clearInterval(poll);
        resolve(found);
      } else if (Date.now() - started > ms) {
        clearInterval(poll);
        reject(new Error(`not seen within ${ms} ms: ${JSON.stringify(list)}`));
      }
    }, 20);
  });
}

/** The requests the target received for `method`, as JSON text of their bodies. */
const received = (method: string) =>
  modern.seen
    .map((r) => JSON.stringify(r.body ?? null))
    .filter((body) => body.includes(`"method":"${method}"`));
/** mcplane_listen_feeds as scraped. */
async function feeds(): Promise<number> {
  const text = await gateway.metrics.registry.getSingleMetricAsString('mcplane_listen_feeds');
  return Number(/^mcplane_listen_feeds (\S+)$/m.exec(text)?.[1]);
}

/** The body of the last subscriptions/listen the target received, as JSON text. */
const lastListen = () => received('subscriptions/listen').at(-1) ?? '';

async function until(condition: () => boolean, ms = 5_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('condition not met');
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe.each([
  ['solo', 'test://watched-resource'],
  ['mixed', 'modern+test://watched-resource'],
])('a 2025 client (SDK v1) in front of a 2026 target, %s backend', (backend, uri) => {
  it('gets resources/updated for what it subscribed to, list_changed, and nothing after unsubscribing', async () => {
    const client = new Client({ name: 'v1', version: '1.0.0' }, { capabilities: {} });
    const updated: string[] = [];
    const changed: string[] = [];
    client.setNotificationHandler(ResourceUpdatedNotificationSchema, (n) => {
      updated.push(n.params.uri);
    });
    client.setNotificationHandler(ToolListChangedNotificationSchema, (n) => {
      changed.push(n.method);
    });
    const transport = new StreamableHTTPClientTransport(new URL(`http://127.0.0.1:${port}/${backend}/mcp`));
    await client.connect(transport);
    try {
      expect(client.getServerCapabilities()?.resources?.subscribe).toBe(true);
      await client.subscribeResource({ uri });
      // The listen stream is reopened with the subscription in its filter.
      await until(() => lastListen().includes('test://watched-resource'));
      // The target never sees the 2025 methods it does not have.
      expect(received('resources/subscribe')).toEqual([]);
      // Give the reopened stream a moment to be acknowledged before the target announces.
      await new Promise((r) => setTimeout(r, 200));
      modern.notify.resourceUpdated('test://watched-resource');
      await waitFor(updated, (u) => u === uri);
      modern.notify.addTool();
      await waitFor(changed, () => true);
      expect((await client.listTools()).tools.some((t) => t.name.includes('added-'))).toBe(true);

      await client.unsubscribeResource({ uri });
      await until(() => !lastListen().includes('test://watched-resource'));
      await new Promise((r) => setTimeout(r, 200));
      const seenUpdates = updated.length;
      modern.notify.resourceUpdated('test://watched-resource');
      await new Promise((r) => setTimeout(r, 300));
      expect(updated.length).toBe(seenUpdates);
    } finally {
      await client.close();
    }
  });
});

describe('an SDK v2 client in its default (2025) mode', () => {
  it('subscribes through mcplane to a 2026 target and hears the update', async () => {
    const client = new V2Client({ name: 'v2-legacy', version: '1.0.0' }, { capabilities: {} });
    const updated: string[] = [];
    client.setNotificationHandler('notifications/resources/updated', (n) => {
      updated.push(n.params.uri);
    });
    await client.connect(new V2Transport(new URL(`http://127.0.0.1:${port}/solo/mcp`)));
    try {
      expect(client.getProtocolEra?.()).not.toBe('modern');
      await client.subscribeResource({ uri: 'test://watched-resource' });
      await until(() => lastListen().includes('test://watched-resource'));
      await new Promise((r) => setTimeout(r, 200));
      modern.notify.resourceUpdated('test://watched-resource');
      await waitFor(updated, (u) => u === 'test://watched-resource');
    } finally {
      await client.close();
    }
  });
});

describe('bounds', () => {
  it('a session keeps at most 256 subscriptions: the next is refused with a message to act on', async () => {
    const client = new Client({ name: 'many', version: '1.0.0' }, { capabilities: {} });
    await client.connect(new StreamableHTTPClientTransport(new URL(`http://127.0.0.1:${port}/solo/mcp`)));
    try {
      for (let i = 0; i < 256; i++) await client.subscribeResource({ uri: `test://template/${i}/data` });
      await expect(client.subscribeResource({ uri: 'test://template/256/data' })).rejects.toThrow(
        /at most 256/,
      );
      await expect(client.subscribeResource({ uri: `test://${'x'.repeat(3000)}` })).rejects.toThrow(
        /longer than 2048/,
      );
    } finally {
      await client.close();
    }
  });
});

describe('2026-07-28 clients listening (subscriptions/listen)', () => {
  it("hear the targets' list changes and their subscribed resources' updates, prefixed, over one upstream feed", async () => {
    const url = `http://127.0.0.1:${port}/mixed/mcp`;
    const feedsBefore = received('subscriptions/listen').length;
    const watcher = await modernListen(
      url,
      { toolsListChanged: true, resourceSubscriptions: ['modern+test://watched-resource', 'nobody+x://y'] },
      'watch',
    );
    const lists = await modernListen(url, { toolsListChanged: true, promptsListChanged: true }, 'lists');
    try {
      await expect.poll(() => watcher.heard[0]?.method).toBe('notifications/subscriptions/acknowledged');
      // Only resources a target of the backend serves are taken.
      expect(watcher.heard[0]?.params?.notifications).toEqual({
        toolsListChanged: true,
        resourceSubscriptions: ['modern+test://watched-resource'],
      });
      await until(() => lastListen().includes('test://watched-resource'));
      await new Promise((r) => setTimeout(r, 200));
      modern.notify.resourceUpdated('test://watched-resource');
      const updates = () => watcher.heard.filter((m) => m.method === 'notifications/resources/updated');
      await expect.poll(() => updates().length).toBe(1);
      expect(updates()[0]?.params?.uri).toBe('modern+test://watched-resource');
      expect(updates()[0]?.params?._meta).toEqual({ 'io.modelcontextprotocol/subscriptionId': 'watch' });
      // Not subscribed to resources: no update for the other listener.
      expect(lists.heard.some((m) => m.method === 'notifications/resources/updated')).toBe(false);

      modern.notify.addPrompt();
      await expect
        .poll(() => lists.heard.some((m) => m.method === 'notifications/prompts/list_changed'))
        .toBe(true);
      // The watcher did not ask for prompt changes.
      expect(watcher.heard.some((m) => m.method === 'notifications/prompts/list_changed')).toBe(false);
      // Two listeners, one backend: the target was asked once (changes within 50 ms reopen a feed
      // once), never once per listener per change; the feeds show in the metrics.
      expect(received('subscriptions/listen').length - feedsBefore).toBeLessThanOrEqual(2);
      expect(await feeds()).toBe(2); // the 2026 target's, and the 2025 fixture's own
    } finally {
      watcher.stop();
      lists.stop();
    }
    // The last listener gone, the feeds close.
    await expect.poll(feeds).toBe(0);
  });

  it('the listeners of one backend share at most 1,024 resources: the acknowledgement says what each got', async () => {
    const url = `http://127.0.0.1:${port}/mixed/mcp`;
    const streams: Array<Awaited<ReturnType<typeof modernListen>>> = [];
    try {
      for (let n = 0; n < 5; n++) {
        const uris = Array.from({ length: 256 }, (_, i) => `modern+test://template/${n}-${i}/data`);
        streams.push(await modernListen(url, { resourceSubscriptions: uris }, `many-${n}`));
      }
      const taken = async (n: number) => {
        await expect
          .poll(() => streams[n]!.heard[0]?.method)
          .toBe('notifications/subscriptions/acknowledged');
        const notifications = streams[n]!.heard[0]!.params?.notifications as {
          resourceSubscriptions?: unknown[];
        };
        return notifications.resourceSubscriptions?.length ?? 0;
      };
      expect([await taken(0), await taken(1), await taken(2), await taken(3), await taken(4)]).toEqual([
        256, 256, 256, 256, 0,
      ]);
      // One upstream listen carries the union, not one per listener.
      await until(() => (lastListen().match(/test:\/\/template\//g) ?? []).length === 1024);
    } finally {
      for (const stream of streams) stream.stop();
    }
  });

  it('on an unprefixed backend, a subscription is asked of every target, and the one serving it answers', async () => {
    const listen = await modernListen(
      `http://127.0.0.1:${port}/flat/mcp`,
      { resourceSubscriptions: ['test://watched-resource'] },
      'flat',
    );
    try {
      await expect.poll(() => listen.heard[0]?.method).toBe('notifications/subscriptions/acknowledged');
      await until(() => lastListen().includes('test://watched-resource'));
      await new Promise((r) => setTimeout(r, 200));
      modern.notify.resourceUpdated('test://watched-resource');
      await expect
        .poll(() => listen.heard.find((m) => m.method === 'notifications/resources/updated')?.params?.uri)
        .toBe('test://watched-resource');
    } finally {
      listen.stop();
    }
  });

  it('a listen stream with more than 256 resource subscriptions is refused', async () => {
    const many = Array.from({ length: 257 }, (_, i) => `modern+test://template/${i}/data`);
    const listen = await modernListen(`http://127.0.0.1:${port}/mixed/mcp`, { resourceSubscriptions: many });
    await expect.poll(() => listen.contentType).toContain('application/json');
    listen.stop();
  });
});

describe('2026-07-28 clients listening in front of a 2025 target', () => {
  it('hear its list changes and resource updates through a session mcplane holds for the feed', async () => {
    // A dual-era fixture spoken to as 2025 (--upstream-era legacy): its notifier reaches every 2025 session.
    const dual = await startDualEraServer({ name: 'dual' });
    const listenerPort = await freePort();
    const legacyDir = await writeManifests(listenerPort, [
      { name: 'old', targets: [{ name: 'old', port: dual.port }] },
    ]);
    const legacyGateway = await startTestGateway(['--manifests', legacyDir, '--upstream-era', 'legacy']);
    const url = `http://127.0.0.1:${listenerPort}/mcp`;
    const listen = await modernListen(url, {
      toolsListChanged: true,
      resourceSubscriptions: ['test://watched-resource'],
    });
    try {
      await expect.poll(() => listen.heard[0]?.method).toBe('notifications/subscriptions/acknowledged');
      // The feed's own session: initialized, subscribed, listening on its GET stream.
      await expect.poll(() => dual.legacySessions()).toBe(1);
      await expect
        .poll(() => dual.seen.some((r) => JSON.stringify(r.body ?? '').includes('"resources/subscribe"')))
        .toBe(true);
      await new Promise((r) => setTimeout(r, 200));
      dual.notify.addTool();
      await expect
        .poll(() => listen.heard.some((m) => m.method === 'notifications/tools/list_changed'))
        .toBe(true);
      dual.notify.resourceUpdated('test://watched-resource');
      await expect
        .poll(() => listen.heard.find((m) => m.method === 'notifications/resources/updated')?.params?.uri)
        .toBe('test://watched-resource');
      // The 2025 handshake only: the 2026 client's version never reached the target.
      expect(dual.seen.some((r) => r.headers['mcp-protocol-version'] === '2026-07-28')).toBe(false);
    } finally {
      listen.stop();
      // The last listener gone, the feed's session is ended upstream.
      await expect.poll(() => dual.legacySessions()).toBe(0);
      await legacyGateway.stop();
      await dual.close();
      await rm(legacyDir, { recursive: true, force: true });
    }
  });
});
