/**
 * `subscriptions/listen` for 2026-07-28 clients (issue 12): one SSE stream per listen request,
 * opened with `notifications/subscriptions/acknowledged` (the filter mcplane serves) and then the
 * backend's `list_changed` notifications, stamped with the subscription id (the listen request's
 * id). What mcplane announces today is its own: the backend's target set changed (a Service
 * labelled or unlabelled, a pod gone), which changes every merged list. Closing the stream ends
 * the subscription. Bounded: at most MAX_LISTENERS streams at once (429 beyond).
 */
import type { Deps } from '../hop/context.js';
import type { Outcome } from '../hop/outcome.js';
import { META_SUBSCRIPTION_ID } from '../wire/era.js';
import { JsonRpcCode, rpcErrorReply } from '../wire/errors.js';
import { asObject, type JsonRpcId } from '../wire/jsonrpc.js';
import { streamReply } from '../wire/reply.js';
import { SseStream } from '../wire/sse-stream.js';

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
  #count = 0;

  get size(): number {
    return this.#count;
  }

  /** Answer a listen request with its stream. */
  open(deps: Deps, backendId: string, id: JsonRpcId, params: Record<string, unknown> | undefined): Outcome {
    if (this.#count >= MAX_LISTENERS) {
      deps.metrics.limitRejected('listeners');
      const message = `Too many subscriptions/listen streams open (at most ${MAX_LISTENERS}); list again to see changes, or retry later`;
      return {
        reply: rpcErrorReply(429, JsonRpcCode.LimitExceeded, message, id),
        rpcError: JsonRpcCode.LimitExceeded,
      };
    }
    const filter = asObject(params?.notifications) ?? {};
    const accepted: Record<string, boolean> = {};
    const methods: string[] = [];
    for (const [flag, method] of KINDS) {
      if (filter[flag] !== true) continue;
      accepted[flag] = true;
      methods.push(method);
    }
    let listener: Listener | undefined;
    let end: (outcome: 'ok' | 'error') => void = () => {};
    const sse = new SseStream(
      deps.sseKeepAliveMs,
      () => {
        if (listener) this.#remove(backendId, listener);
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
    sse.send({
      jsonrpc: '2.0',
      method: 'notifications/subscriptions/acknowledged',
      params: { notifications: accepted, _meta: { [META_SUBSCRIPTION_ID]: id } },
    });
    return { reply: stream.reply };
  }

  /** The backend's target set changed: every list may have; returns how many streams were told. */
  targetsChanged(backendId: string): number {
    const set = this.#byBackend.get(backendId);
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
  }
}
