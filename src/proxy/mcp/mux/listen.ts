/**
 * `subscriptions/listen` for 2026-07-28 clients (issue 12): one SSE stream per listen request,
 * opened with `notifications/subscriptions/acknowledged` (the filter mcplane serves) and then,
 * stamped with the subscription id (the listen request's id): the backend's `list_changed` when its
 * target set changes (a Service labelled or unlabelled, a pod gone), which changes every merged
 * list, and what its 2026 targets announce (target-feeds.ts) — their list changes and updates of
 * the resources the client subscribed to (those its policy lets it read). Closing the stream ends
 * the subscription. Bounded: at most MAX_LISTENERS streams at once (429 beyond),
 * MAX_LISTEN_RESOURCES resources per stream, and MAX_FEED_RESOURCES distinct ones per backend and
 * credential (target-feeds.ts; the acknowledgement lists what a stream got).
 */
import type { McpBackend } from '../../../shared/table.js';
import type { Context } from '../hop/context.js';
import type { Outcome } from '../hop/outcome.js';
import { META_SUBSCRIPTION_ID } from '../wire/era.js';
import { JsonRpcCode, rpcErrorReply } from '../wire/errors.js';
import { asObject, type JsonObject, type JsonRpcId } from '../wire/jsonrpc.js';
import { streamReply } from '../wire/reply.js';
import { SseStream } from '../wire/sse-stream.js';
import { MAX_SUBSCRIBED_URI } from './subscribe.js';
import { type Joined, TargetFeeds } from './target-feeds.js';

/** Resources one listen stream may subscribe to (more are refused). */
export const MAX_LISTEN_RESOURCES = 256;

export const MAX_LISTENERS = 10_000;

/** The list kinds a listener may ask for, and the notification each gets. */
const KINDS = [
  ['toolsListChanged', 'notifications/tools/list_changed'],
  ['promptsListChanged', 'notifications/prompts/list_changed'],
  ['resourcesListChanged', 'notifications/resources/list_changed'],
] as const;

interface Listener {
  readonly sse: SseStream;
  readonly id: JsonRpcId;
  /** The notification methods it asked for. */
  readonly methods: readonly string[];
}

export class Listeners {
  /** backend id → its open listen streams. */
  readonly #byBackend = new Map<string, Set<Listener>>();
  readonly #feeds = new TargetFeeds();
  #count = 0;

  get size(): number {
    return this.#count;
  }

  /** Upstream feeds open for them. */
  get feeds(): number {
    return this.#feeds.size;
  }

  /** Answer a listen request with its stream. */
  open(
    cx: Pick<Context, 'deps' | 'backend' | 'access'>,
    id: JsonRpcId,
    params: Record<string, unknown> | undefined,
  ): Outcome {
    const { deps } = cx;
    const backendId = cx.backend.id;
    if (this.#count >= MAX_LISTENERS) {
      deps.metrics.limitRejected('listeners');
      const message = `Too many subscriptions/listen streams open (at most ${MAX_LISTENERS}); list again to see changes, or retry later`;
      return {
        reply: rpcErrorReply(429, JsonRpcCode.LimitExceeded, message, id),
        rpcError: JsonRpcCode.LimitExceeded,
      };
    }
    const filter = asObject(params?.notifications) ?? {};
    const accepted: Record<string, unknown> = {};
    const methods: string[] = [];
    for (const [flag, method] of KINDS) {
      if (filter[flag] !== true) continue;
      accepted[flag] = true;
      methods.push(method);
    }
    const asked = Array.isArray(filter.resourceSubscriptions) ? filter.resourceSubscriptions : [];
    if (asked.length > MAX_LISTEN_RESOURCES) {
      return {
        reply: rpcErrorReply(
          400,
          JsonRpcCode.InvalidParams,
          `Invalid params: at most ${MAX_LISTEN_RESOURCES} resourceSubscriptions per subscriptions/listen`,
          id,
        ),
        rpcError: JsonRpcCode.InvalidParams,
      };
    }
    // Only resources a target may serve and the caller may read wherever they would be asked for;
    // the acknowledgement says which.
    const uris = new Set<string>();
    for (const uri of asked) {
      if (typeof uri !== 'string' || uri.length > MAX_SUBSCRIBED_URI) continue;
      const owners = TargetFeeds.owners(cx.backend, uri);
      const readable = owners.every((o) =>
        cx.access.allows({ kind: 'resource', target: o.target.name, name: o.uri }, 'call'),
      );
      if (owners.length > 0 && readable) uris.add(uri);
    }
    let listener: Listener | undefined;
    let joined: Joined | undefined;
    let end: (outcome: 'ok' | 'error') => void = () => {};
    const sse = new SseStream(
      deps.sseKeepAliveMs,
      () => {
        if (listener) this.#remove(backendId, listener);
        joined?.leave();
        deps.metrics.sseStreamsOpen.dec();
        end('ok');
      },
      deps.sse,
    );
    const stream = streamReply('sse', sse.readable);
    end = stream.end;
    listener = { sse, id, methods };
    let set = this.#byBackend.get(backendId);
    if (!set) {
      set = new Set();
      this.#byBackend.set(backendId, set);
    }
    set.add(listener);
    this.#count += 1;
    deps.metrics.sseStreamsOpen.inc();
    if (uris.size > 0) methods.push('notifications/resources/updated');
    joined = this.#feeds.join(cx, new Set(methods), uris, (notification: JsonObject) => {
      const params = asObject(notification.params) ?? {};
      sse.send({ ...notification, params: { ...params, _meta: { [META_SUBSCRIPTION_ID]: id } } });
    });
    if (joined.uris.size > 0) accepted.resourceSubscriptions = [...joined.uris];
    sse.send({
      jsonrpc: '2.0',
      method: 'notifications/subscriptions/acknowledged',
      params: { notifications: accepted, _meta: { [META_SUBSCRIPTION_ID]: id } },
    });
    return { reply: stream.reply };
  }

  /**
   * The backend's target set changed: every list may have, and the feeds follow its targets;
   * returns how many streams were told.
   */
  targetsChanged(backend: McpBackend): number {
    this.#feeds.backendChanged(backend);
    const set = this.#byBackend.get(backend.id);
    if (!set) return 0;
    for (const { sse, id, methods } of set) {
      for (const method of methods)
        sse.send({ jsonrpc: '2.0', method, params: { _meta: { [META_SUBSCRIPTION_ID]: id } } });
    }
    return set.size;
  }

  #remove(backendId: string, listener: Listener): void {
    const set = this.#byBackend.get(backendId);
    if (!set?.delete(listener)) return;
    this.#count -= 1;
    if (set.size === 0) this.#byBackend.delete(backendId);
  }

  close(): void {
    for (const set of [...this.#byBackend.values()]) for (const { sse } of [...set]) sse.close();
    this.#feeds.close();
  }
}
