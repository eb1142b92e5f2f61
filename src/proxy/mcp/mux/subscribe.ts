/**
 * resources/subscribe and resources/unsubscribe from a 2025 client for a resource of a 2026-07-28
 * target, which has neither: the session keeps the subscribed URIs per target (bounded), and the
 * target's listen stream (hop/upstream-streams.ts) asks for them — a change reopens it with the new
 * set. The target's `notifications/resources/updated` then reach the client's GET stream as a 2025
 * target's would. Answered by the gateway.
 */
import type { McpTarget } from '../../../shared/table.js';
import type { SessionContext } from '../hop/context.js';
import { answered, type Outcome } from '../hop/outcome.js';
import { attachUpstreamStream } from '../hop/upstream-streams.js';
import type { TargetSession } from '../session/session.js';
import { MAX_SESSION_SUBSCRIPTIONS } from '../session/session-events.js';
import { isModernVersion } from '../wire/era.js';
import { invalidParams } from '../wire/errors.js';
import { type JsonRpcId, resultResponse } from '../wire/jsonrpc.js';
import { LimitError } from '../wire/limits.js';

/**
 * The longest resource URI mcplane keeps a subscription for (it becomes a key and goes upstream in
 * each listen): a 2025 session's subscribe, and a 2026 listen's resourceSubscriptions.
 */
export const MAX_SUBSCRIBED_URI = 2048;

/** A subscribe or unsubscribe this target cannot take itself: the gateway keeps it instead. */
export function isKeptSubscription(method: string, state: TargetSession): boolean {
  return (
    (method === 'resources/subscribe' || method === 'resources/unsubscribe') &&
    isModernVersion(state.protocolVersion ?? null)
  );
}

/** `uri` is the target's own (de-prefixed). */
export function keepSubscription(
  cx: SessionContext,
  target: McpTarget,
  state: TargetSession,
  method: string,
  uri: unknown,
  id: JsonRpcId,
): Outcome {
  if (typeof uri !== 'string') throw invalidParams(`${method}: params.uri must be a string`);
  if (uri.length > MAX_SUBSCRIBED_URI)
    throw invalidParams(`${method}: params.uri is longer than ${MAX_SUBSCRIBED_URI} characters`);
  const events = cx.session.events;
  let changed: boolean;
  if (method === 'resources/unsubscribe') changed = events.unsubscribe(target.name, uri);
  else {
    const kept = events.subscribe(target.name, uri);
    if (kept === 'full') {
      cx.deps.metrics.limitRejected('subscriptions');
      throw new LimitError(
        'subscriptions',
        `Too many resource subscriptions in this session: at most ${MAX_SESSION_SUBSCRIPTIONS}; unsubscribe from some first`,
        400,
      );
    }
    changed = kept === 'added';
  }
  if (changed && events.isListening(target.name)) {
    events.stopListening(target.name);
    void attachUpstreamStream(cx, target, state);
  }
  return answered(resultResponse(id, {}));
}
