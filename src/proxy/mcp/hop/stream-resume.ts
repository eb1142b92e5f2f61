/**
 * A call's SSE answer from a 2025 target that may close it before the response (SEP-1699 polling):
 * mcplane resumes it with the target's session (upstream/sse-resume.ts), so the client's stream
 * goes on. 2026-07-28 targets have no sessions and no resumption: their streams are left as they are.
 */
import type { Readable } from 'node:stream';
import type { McpTarget } from '../../../shared/table.js';
import { resumableSse } from '../../upstream/sse-resume.js';
import type { TargetSession } from '../session/session.js';
import { isModernVersion } from '../wire/era.js';
import type { JsonRpcId } from '../wire/jsonrpc.js';
import type { SessionContext } from './context.js';
import { answersCall } from './sse-answer.js';

/** Whether the target could take a closed call stream back up (it has a session to GET it in). */
export function canResume(target: McpTarget, state: TargetSession): boolean {
  return (
    target.protocol !== 'SSE' && state.sessionId !== undefined && !isModernVersion(state.protocolVersion)
  );
}

/** `body`, followed across the target's closes until the response to `id` when it can be resumed. */
export function followedSse(
  cx: SessionContext,
  target: McpTarget,
  state: TargetSession,
  id: JsonRpcId,
  body: Readable,
): Readable {
  if (!canResume(target, state)) return body;
  const { upstreams, metrics } = cx.deps;
  const credential = cx.access.upstreamCredential;
  return resumableSse(body, {
    target: target.name,
    // The session the call went out in (postToTarget may have renewed it on the way).
    resume: (lastEventId, signal) =>
      upstreams.for(target).listen({
        target,
        signal,
        ...(cx.session.targets.get(target.name) ?? state),
        ...(credential ? { credential } : {}),
        headers: { 'last-event-id': lastEventId },
      }),
    answers: (data) => answersCall(data, id),
    onResume: (result) => metrics.upstreamStreamResumes.labels(cx.backend.id, target.name, result).inc(),
  });
}
