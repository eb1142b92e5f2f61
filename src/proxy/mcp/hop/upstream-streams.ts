/**
 * Merge the targets' own server→client streams (upstream GET) into the session's events: upstream
 * list_changed, resource updates, logging and server requests reach the client, rewritten like any
 * multiplexed message. A target without a stream (405) or whose stream ends is left alone; the
 * next client GET tries again. Each target's stream waits while the client's GET stream is full,
 * so a client that does not read pauses its targets rather than filling the gateway's memory.
 */

import type { Readable } from 'node:stream';
import { settledWithin } from '../../../shared/deadline.js';
import type { McpTarget } from '../../../shared/table.js';
import { sseMessages as readSse } from '../../upstream/read.js';
import { isTransparent } from '../rewrite/naming.js';
import type { TargetSession } from '../session/session.js';
import { FIRST_REQUEST_GRACE_MS } from '../session/session-events.js';
import { isModernVersion, META_SUBSCRIPTION_ID } from '../wire/era.js';
import { asObject } from '../wire/jsonrpc.js';
import type { Context, SessionContext } from './context.js';
import { outboundFor } from './session-rewrite.js';
import { type Hop, post } from './upstream-call.js';

/** How long a request waits for its session's target event streams to be answered. */
const STREAM_WAIT_MS = 1_000;

/**
 * Open a target's event stream unless one is open (undefined then). Resolves once the upstream
 * answered the GET (or refused it), so a caller can wait until what the target sends next has
 * somewhere to go.
 */
export function attachUpstreamStream(
  cx: SessionContext,
  target: McpTarget,
  state: TargetSession,
): Promise<void> | undefined {
  const { session, deps, backend } = cx;
  const events = session.events;
  const modern = isModernVersion(state.protocolVersion ?? null);
  if (state.sessionId === undefined && !modern) return undefined;
  const signal = events.listen(target.name);
  if (!signal) return undefined;
  const rewrite = isTransparent(backend.prefixMode, backend.targets.length)
    ? undefined
    : outboundFor(cx, target.name);
  let answered: () => void = () => {};
  const opened = new Promise<void>((resolve) => {
    answered = resolve;
  });
  (async () => {
    const credential = cx.access.upstreamCredential;
    const body = modern
      ? await listenModern(cx, target, state, signal)
      : await deps.upstreams
          .for(target)
          .listen({ target, signal, ...state, ...(credential ? { credential } : {}) });
    answered();
    if (!body) return;
    events.streaming(target.name, signal, state);
    const limits = deps.sessionBuffer;
    for await (const read of readSse(body, target.name)) {
      const message = modern ? fromListen(read) : read;
      if (message === undefined) continue;
      // Every target waits on the same client stream; the next message is read once it has room.
      while (events.full) await events.ready();
      // outbound() notes list_changed; a stream opened while the backend had one target (and
      // kept after a second joined) is not rewritten, but what it announces still counts.
      if (!rewrite) events.heard(target.name, message);
      if (!events.send(rewrite ? rewrite(message) : message, limits)) break;
    }
  })()
    .catch((error: unknown) => {
      if (signal.aborted) return;
      deps.logger.debug(
        { backend: backend.id, target: target.name, err: error },
        'upstream event stream ended',
      );
    })
    .finally(() => {
      answered();
      events.ended(target.name, signal);
    });
  return opened;
}

/**
 * A 2025 session's event stream from a 2026-07-28 target, which has no GET stream: its listen for
 * list changes and the resources the client subscribed to (mux/subscribe.ts).
 */
function listenModern(
  cx: SessionContext,
  target: McpTarget,
  state: TargetSession,
  signal: AbortSignal,
): Promise<Readable | undefined> {
  const uris = cx.session.events.subscriptions(target.name);
  return listenUpstream(cx, target, state, uris, signal).catch(() => undefined);
}

/**
 * A 2026-07-28 target's `subscriptions/listen` for its list changes and the resources `uris`:
 * the SSE body, or undefined when the target refused or answered at once.
 */
export async function listenUpstream(
  cx: Pick<Context, 'deps' | 'backend' | 'access'>,
  target: McpTarget,
  hop: Hop,
  uris: readonly string[],
  signal: AbortSignal,
): Promise<Readable | undefined> {
  const notifications = {
    toolsListChanged: true,
    promptsListChanged: true,
    resourcesListChanged: true,
    ...(uris.length > 0 ? { resourceSubscriptions: uris } : {}),
  };
  const body = JSON.stringify({
    jsonrpc: '2.0',
    id: 'mcplane-listen',
    method: 'subscriptions/listen',
    params: { notifications },
  });
  const reply = await post(cx, target, hop, 'subscriptions/listen', body, signal);
  return reply.kind === 'sse' ? reply.body : undefined;
}

/**
 * What of a listen stream a 2025 client gets: the notifications, without the acknowledgement, the
 * stream's final response or the subscription id (its own `_meta` key, meaningless to a 2025 client).
 */
function fromListen(message: unknown): unknown {
  const object = asObject(message);
  if (!object || typeof object.method !== 'string' || 'id' in object) return undefined;
  if (object.method === 'notifications/subscriptions/acknowledged') return undefined;
  const params = asObject(object.params);
  const meta = asObject(params?._meta);
  if (!params || !meta || !(META_SUBSCRIPTION_ID in meta)) return message;
  const { [META_SUBSCRIPTION_ID]: _, ...rest } = meta;
  return { ...object, params: { ...params, _meta: rest } };
}

/** Open the event stream of every started target that has none yet (the session must be active). */
export function attachUpstreamStreams(cx: SessionContext): Promise<void> {
  const opening: Promise<void>[] = [];
  for (const target of cx.backend.targets) {
    const state = cx.session.targets.get(target.name);
    const opened = state && attachUpstreamStream(cx, target, state);
    if (opened) opening.push(opened);
  }
  if (opening.length === 0) return Promise.resolve();
  const all = Promise.all(opening).then(() => {});
  cx.session.events.opening = all;
  void all.then(() => {
    if (cx.session.events.opening === all) cx.session.events.opening = undefined;
  });
  return all;
}

/**
 * Before a request goes upstream: on the session's first request (the client is using it now; a
 * bare handshake opens nothing, so idle and abandoned sessions hold no upstream connections) listen
 * to its targets; and while the session's target streams are still being opened (by this, or by the
 * client's GET an instant ago), wait briefly for them, so what a target sends on its stream during
 * this call has somewhere to go. Undefined when there is nothing to wait for (the usual case).
 */
export function streamsReady(cx: SessionContext): Promise<void> | undefined {
  const events = cx.session.events;
  if (!events.started) {
    events.expect(FIRST_REQUEST_GRACE_MS);
    void attachUpstreamStreams(cx);
  }
  const opening = events.opening;
  return opening && settledWithin(opening, STREAM_WAIT_MS).then(() => {});
}
