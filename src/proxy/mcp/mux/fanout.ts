/**
 * Run one operation on several targets in parallel, each under its own deadline, and apply the
 * backend's failureMode: FailClosed fails the request naming the failed targets, FailOpen skips
 * them (unless every target failed). A target refused by a bound (LimitError, e.g. the session has
 * too many calls open to it) fails the same way; when only bounds failed, the request gets the
 * limit answer (429, -32003) naming each target and the flag, since retrying helps.
 */
import { setMaxListeners } from 'node:events';
import { withDeadline } from '../../../shared/deadline.js';
import type { McpTarget } from '../../../shared/table.js';
import { toUpstreamError } from '../../upstream/errors.js';
import type { Context } from '../hop/context.js';
import { JsonRpcCode, RpcError } from '../wire/errors.js';
import { LimitError } from '../wire/limits.js';

export interface Answer<T> {
  readonly target: McpTarget;
  readonly value: T;
}

export async function fanOut<T>(
  cx: Context,
  targets: readonly McpTarget[],
  run: (target: McpTarget, signal: AbortSignal) => Promise<T>,
): Promise<Answer<T>[]> {
  const deadline = withDeadline(cx.signal, cx.deps.fanoutTimeoutMs);
  // Each target's request listens on the deadline: up to 128 of them is by design, not a leak.
  if (targets.length > 8) setMaxListeners(targets.length + 8, deadline.signal);
  const settled = await Promise.allSettled(
    targets.map((target) =>
      run(target, deadline.signal).catch((error: unknown) => {
        throw error instanceof LimitError ? error : toUpstreamError(target.name, error, deadline.signal);
      }),
    ),
  ).finally(deadline.clear);
  const answers: Answer<T>[] = [];
  const failures: string[] = [];
  let limit: LimitError | undefined;
  let unlimited = 0;
  settled.forEach((outcome, index) => {
    const target = targets[index]!;
    if (outcome.status === 'fulfilled') answers.push({ target, value: outcome.value });
    else {
      failures.push((outcome.reason as Error).message);
      if (outcome.reason instanceof LimitError) limit = outcome.reason;
      else unlimited += 1;
    }
  });
  if (failures.length === 0) return answers;
  const failOpen = cx.backend.failureMode === 'FailOpen';
  if (failOpen && answers.length > 0) {
    cx.deps.logger.warn({ backend: cx.backend.id, failures }, 'targets skipped (FailOpen)');
    return answers;
  }
  const message = failures.join('; ');
  if (limit && unlimited === 0) throw new LimitError(limit.limit, message, limit.status);
  throw new RpcError(JsonRpcCode.UpstreamUnavailable, message);
}
