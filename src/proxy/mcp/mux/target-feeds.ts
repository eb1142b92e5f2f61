/**
 * What 2026-07-28 targets announce, for the 2026 clients listening on a backend (mux/listen.ts).
 * One upstream `subscriptions/listen` per 2026 target per backend and upstream credential,
 * however many clients listen: it asks for the list changes and for the union of the resources the
 * clients subscribed to, and is reopened when that union changes. Each notification goes to the
 * clients that asked for it, with the resource URI prefixed like any multiplexed answer. A feed the
 * target ends is opened again a moment later while anyone listens; the last client to leave closes
 * them. A 2025 target's feed is the GET stream of an upstream session mcplane opens for it (its
 * own identity, the resources subscribed in it), ended with the feed.
 */
import type { Readable } from 'node:stream';
import { credentialKey } from '../../../shared/digest.js';
import type { McpBackend, McpTarget } from '../../../shared/table.js';
import { sseMessages } from '../../upstream/read.js';
import { type Context, requestContext } from '../hop/context.js';
import { initializeTarget, pickEndpoint, sendInitialized } from '../hop/targets.js';
import { awaitResponse, post } from '../hop/upstream-call.js';
import { listenUpstream } from '../hop/upstream-streams.js';
import { prefixUri, shouldPrefix, splitUri } from '../rewrite/naming.js';
import { asObject, type JsonObject } from '../wire/jsonrpc.js';
import { GATEWAY_NAME, GATEWAY_VERSION, SUPPORTED_VERSIONS } from '../wire/protocol-version.js';

export type FeedContext = Pick<Context, 'deps' | 'backend' | 'access'>;

/** One client listen stream, as the feeds see it. */
export interface Subscriber {
  /** The notification methods it asked for (list changes, resources/updated). */
  readonly methods: ReadonlySet<string>;
  /** The resources it subscribed to, named as the client names them (prefixed on a multiplexed backend). */
  readonly uris: ReadonlySet<string>;
  deliver(notification: JsonObject): void;
}

/** A subscriber's place in the feeds: the resources they took of what it asked, and its way out. */
export interface Joined {
  readonly uris: ReadonlySet<string>;
  leave(): void;
}

interface Feed {
  readonly controller: AbortController;
  /** The resource URIs it asked for (the target's own), joined: a different set reopens it. */
  readonly uris: string;
}

interface Group {
  cx: FeedContext;
  readonly subscribers: Set<Subscriber>;
  /** Resources the subscribers asked for (as clients name them), with how many asked. */
  readonly uris: Map<string, number>;
  readonly feeds: Map<string, Feed>;
  /** A sync waiting: changes that come together reopen a feed once. */
  pending: NodeJS.Timeout | undefined;
  retry: NodeJS.Timeout | undefined;
}

/**
 * Distinct resources the feeds of one backend and credential ask for, over all its listeners (each
 * may ask for 256): the union goes upstream in one request, and listeners come and go freely.
 */
export const MAX_FEED_RESOURCES = 1024;
/** Listeners joining or leaving within this long reopen a feed once. */
const SYNC_AFTER_MS = 50;

/** How long after a feed ended (the target restarted, its pod went) it is opened again. */
const REOPEN_MS = 1_000;
/** ... and after it could not be opened (the target is unreachable). */
const RETRY_MS = 5_000;

const LIST_CHANGED: ReadonlySet<string> = new Set([
  'notifications/tools/list_changed',
  'notifications/prompts/list_changed',
  'notifications/resources/list_changed',
]);

export class TargetFeeds {
  readonly #groups = new Map<string, Group>();

  /** Feeds open (or opening) over all groups. */
  get size(): number {
    let n = 0;
    for (const group of this.#groups.values()) n += group.feeds.size;
    return n;
  }

  /**
   * The targets that may own `uri` as a client names it, each with its own URI: the one its prefix
   * names; on an unprefixed backend every target (a stateless listener has no listing that says
   * which serves it, and a target ignores a resource it does not have). None: no target could.
   */
  static owners(backend: McpBackend, uri: string): Array<{ target: McpTarget; uri: string }> {
    if (!shouldPrefix(backend.prefixMode, backend.targets.length))
      return backend.targets.map((target) => ({ target, uri }));
    const split = splitUri(uri);
    const target = split && backend.targets.find((t) => t.name === split.target);
    return target && split ? [{ target, uri: split.name }] : [];
  }

  /**
   * Start feeding a listener that asked for `methods` and the resources `asked` (named as the
   * client names them): it gets those the group can still take (MAX_FEED_RESOURCES).
   */
  join(
    cx: FeedContext,
    methods: ReadonlySet<string>,
    asked: Iterable<string>,
    deliver: (notification: JsonObject) => void,
  ): Joined {
    const key = groupKey(cx);
    let group = this.#groups.get(key);
    if (!group) {
      group = {
        cx,
        subscribers: new Set(),
        uris: new Map(),
        feeds: new Map(),
        pending: undefined,
        retry: undefined,
      };
      this.#groups.set(key, group);
    }
    group.cx = cx;
    const uris = new Set<string>();
    let added = false;
    for (const uri of asked) {
      const count = group.uris.get(uri);
      if (count === undefined && group.uris.size >= MAX_FEED_RESOURCES) continue;
      group.uris.set(uri, (count ?? 0) + 1);
      uris.add(uri);
      added ||= count === undefined;
    }
    const subscriber: Subscriber = { methods, uris, deliver };
    group.subscribers.add(subscriber);
    if (added || group.feeds.size === 0) this.#schedule(group);
    const leave = () => {
      if (!group.subscribers.delete(subscriber)) return;
      let removed = false;
      for (const uri of uris) {
        const count = group.uris.get(uri) ?? 1;
        if (count > 1) group.uris.set(uri, count - 1);
        else removed = group.uris.delete(uri) || removed;
      }
      if (group.subscribers.size === 0) this.#end(key, group);
      else if (removed) this.#schedule(group);
    };
    return { uris, leave };
  }

  /** The routing table changed this backend: feeds follow its new targets. */
  backendChanged(backend: McpBackend): void {
    for (const group of this.#groups.values()) {
      if (group.cx.backend.id !== backend.id) continue;
      group.cx = { ...group.cx, backend };
      this.#sync(group);
    }
  }

  close(): void {
    for (const [key, group] of [...this.#groups]) this.#end(key, group);
  }

  #schedule(group: Group): void {
    if (group.pending) return;
    group.pending = setTimeout(() => {
      group.pending = undefined;
      if (group.subscribers.size > 0) this.#sync(group);
    }, SYNC_AFTER_MS);
    group.pending.unref();
  }

  #end(key: string, group: Group): void {
    if (this.#groups.get(key) === group) this.#groups.delete(key);
    clearTimeout(group.pending);
    clearTimeout(group.retry);
    for (const feed of group.feeds.values()) feed.controller.abort();
    group.feeds.clear();
  }

  /** Open, reopen or close feeds so each target's matches what the group's subscribers ask. */
  #sync(group: Group): void {
    const { backend } = group.cx;
    const wanted = new Map<string, Set<string>>(backend.targets.map((t) => [t.name, new Set()]));
    for (const uri of group.uris.keys()) {
      for (const owner of TargetFeeds.owners(backend, uri)) wanted.get(owner.target.name)?.add(owner.uri);
    }
    for (const [name, feed] of group.feeds) {
      if (wanted.has(name)) continue;
      feed.controller.abort();
      group.feeds.delete(name);
    }
    for (const target of backend.targets) {
      const uris = [...wanted.get(target.name)!].sort();
      const joined = uris.join('\n');
      const feed = group.feeds.get(target.name);
      if (feed && feed.uris === joined) continue;
      feed?.controller.abort();
      const next: Feed = { controller: new AbortController(), uris: joined };
      group.feeds.set(target.name, next);
      void this.#run(group, target, next, uris);
    }
  }

  async #run(group: Group, target: McpTarget, feed: Feed, uris: readonly string[]): Promise<void> {
    const { cx } = group;
    const { signal } = feed.controller;
    const prefix = shouldPrefix(cx.backend.prefixMode, cx.backend.targets.length);
    /** When to open it again after it ended: never after a refusal (a target with no stream to give). */
    let reopenMs: number | undefined;
    let stream: FeedStream | undefined;
    try {
      const endpoint = pickEndpoint(target);
      const era = await cx.deps.eras.of(cx, target, endpoint, signal);
      if (era.kind === 'modern') {
        const hop = { endpoint, sessionId: undefined, protocolVersion: era.version };
        const body = await listenUpstream(cx, target, hop, uris, signal);
        stream = body && { body };
      } else stream = await legacyFeed(cx, target, signal, uris);
      if (!stream) return;
      reopenMs = REOPEN_MS;
      for await (const message of sseMessages(stream.body, target.name)) {
        const notification = asObject(message);
        const method = notification?.method;
        if (typeof method !== 'string' || 'id' in notification!) continue;
        if (LIST_CHANGED.has(method)) {
          for (const s of group.subscribers) if (s.methods.has(method)) s.deliver({ jsonrpc: '2.0', method });
        } else if (method === 'notifications/resources/updated') {
          const uri = asObject(notification!.params)?.uri;
          if (typeof uri !== 'string') continue;
          const named = prefix ? prefixUri(target.name, uri) : uri;
          for (const s of group.subscribers)
            if (s.uris.has(named)) s.deliver({ jsonrpc: '2.0', method, params: { uri: named } });
        }
      }
    } catch (error) {
      if (signal.aborted) return;
      reopenMs = RETRY_MS;
      cx.deps.logger.debug({ backend: cx.backend.id, target: target.name, err: error }, 'target feed ended');
    } finally {
      stream?.end?.();
      // Ended by the target (not by us): open it again while anyone still listens.
      if (reopenMs !== undefined && !signal.aborted && group.feeds.get(target.name) === feed) {
        group.feeds.delete(target.name);
        clearTimeout(group.retry);
        group.retry = setTimeout(() => {
          if (group.subscribers.size > 0) this.#sync(group);
        }, reopenMs);
        group.retry.unref();
      }
    }
  }
}

/** An open feed: its SSE body, and what ends the upstream session behind it (a 2025 target's). */
interface FeedStream {
  readonly body: Readable;
  readonly end?: () => void;
}

/**
 * A 2025 target's feed: a session of mcplane's own (its identity, no client capabilities),
 * subscribed to the resources, and its GET stream; the session is ended with the feed.
 */
async function legacyFeed(
  cx: FeedContext,
  target: McpTarget,
  signal: AbortSignal,
  uris: readonly string[],
): Promise<FeedStream | undefined> {
  const context = requestContext(cx.deps, cx.backend, cx.access, signal);
  const params = {
    protocolVersion: SUPPORTED_VERSIONS[0],
    capabilities: {},
    clientInfo: { name: GATEWAY_NAME, version: GATEWAY_VERSION },
  };
  const { state } = await initializeTarget(context, target, 'mcplane-feed', params, signal);
  if (state.sessionId === undefined) return undefined;
  const credential = cx.access.upstreamCredential;
  const upstream = { target, ...state, ...(credential ? { credential } : {}) };
  const end = () => {
    const deadline = AbortSignal.timeout(cx.deps.fanoutTimeoutMs);
    void cx.deps.upstreams
      .for(target)
      .terminate({ ...upstream, signal: deadline })
      .catch(() => {});
  };
  try {
    await sendInitialized(context, target, state);
    for (const [n, uri] of uris.entries()) {
      const body = JSON.stringify({
        jsonrpc: '2.0',
        id: `mcplane-feed-${n}`,
        method: 'resources/subscribe',
        params: { uri },
      });
      // A resource this target refuses (not its own, on an unprefixed backend) leaves the feed up.
      await post(context, target, state, 'resources/subscribe', body, signal)
        .then((reply) => awaitResponse(reply, target.name))
        .catch((error: unknown) => {
          if (signal.aborted) throw error;
        });
    }
    const body = await cx.deps.upstreams.for(target).listen({ ...upstream, signal });
    if (body) return { body, end };
  } catch (error) {
    end();
    throw error;
  }
  end();
  return undefined;
}

/** Feeds are shared by the clients of a backend that reach its targets with the same credential. */
function groupKey(cx: FeedContext): string {
  return `${cx.backend.id}\n${credentialKey(cx.access.upstreamCredential)}`;
}
