/**
 * --max-session-target-calls: the upstream calls one session has open to one target at once (list
 * pages and forwarded calls; a streamed answer until its stream ends). One session's slow calls then
 * hold at most that many of the target's pooled connections, and other sessions still get theirs.
 * The counts live beside the session (a WeakMap, so session.ts stays as it is): one small Map per
 * session that has called upstream, gone with the session. A 2026-07-28 request's view of its owned
 * session (Session.view) is not counted: it is one request, with at most one call per target open
 * at once, and counting each view would only make and drop a Map per call.
 */
import type { McpTarget } from '../../../shared/table.js';
import type { Rewrite } from '../rewrite/outbound.js';
import type { Session, TargetSession } from '../session/session.js';
import type { JsonRpcId } from '../wire/jsonrpc.js';
import { LimitError } from '../wire/limits.js';
import type { SessionContext } from './context.js';
import { forward } from './forward.js';
import { limited, type Outcome } from './outcome.js';

const open = new WeakMap<Session, Map<string, number>>();

/** Count one call of the session to `target`; over the bound, the (counted) error to answer with. */
function acquireCall(cx: SessionContext, target: string): LimitError | undefined {
  if (cx.session.owner) return undefined;
  let calls = open.get(cx.session);
  if (calls === undefined) {
    calls = new Map();
    open.set(cx.session, calls);
  }
  const count = calls.get(target) ?? 0;
  const max = cx.deps.limits.maxSessionTargetCalls;
  if (count >= max) {
    cx.deps.metrics.limitRejected('session_target_calls');
    return new LimitError(
      'session_target_calls',
      `Too many calls in flight from this session to target "${target}": at most ${max} at once (--max-session-target-calls); retry when one has finished`,
    );
  }
  calls.set(target, count + 1);
  return undefined;
}

function releaseCall(session: Session, target: string): void {
  const calls = open.get(session);
  const count = calls?.get(target);
  if (calls === undefined || count === undefined) return;
  if (count <= 1) calls.delete(target);
  else calls.set(target, count - 1);
}

/** Run one upstream call (a list page, a fan-out's call) counted; over the bound, throw the LimitError. */
export async function countedCall<T>(cx: SessionContext, target: string, run: () => Promise<T>): Promise<T> {
  const refused = acquireCall(cx, target);
  if (refused) throw refused;
  try {
    return await run();
  } finally {
    releaseCall(cx.session, target);
  }
}

/** forward(), counted: the call keeps its place until its answer is sent (a stream: until it ends). */
export function forwardCounted(
  cx: SessionContext,
  target: McpTarget,
  state: TargetSession,
  method: string,
  body: string,
  id: JsonRpcId,
  rewrite?: Rewrite,
): Promise<Outcome> {
  const refused = acquireCall(cx, target.name);
  if (refused) return Promise.resolve(limited(refused, id));
  const { session } = cx;
  // forward() never rejects (an upstream failure is an Outcome) and releases on every path.
  const release = session.owner ? undefined : () => releaseCall(session, target.name);
  return forward(cx, target, state, method, body, id, rewrite, release);
}
