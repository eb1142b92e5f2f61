/**
 * Run one operation on several targets in parallel, each under its own deadline, and apply the
 * backend's failureMode: FailClosed fails the request naming the failed targets, FailOpen skips
 * them (unless every target failed).
 */
import { withDeadline } from '../../../shared/deadline.js';
import type { McpTarget } from '../../../shared/table.js';
import { toUpstreamError } from '../../upstream/errors.js';
import type { Context } from '../hop/context.js';
import { JsonRpcCode, RpcError } from '../wire/errors.js';

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
  const settled = await Promise.allSettled(
    targets.map((target) =>
      run(target, deadline.signal).catch((error: unknown) => {
        throw toUpstreamError(target.name, error, deadline.signal);
      }),
    ),
  ).finally(deadline.clear);
  const answers: Answer<T>[] = [];
  const failures: string[] = [];
  settled.forEach((outcome, index) => {
    const target = targets[index]!;
    if (outcome.status === 'fulfilled') answers.push({ target, value: outcome.value });
    else failures.push((outcome.reason as Error).message);
  });
  if (failures.length === 0) return answers;
  const failOpen = cx.backend.failureMode === 'FailOpen';
  if (failOpen && answers.length > 0) {
    cx.deps.logger.warn({ backend: cx.backend.id, failures }, 'targets skipped (FailOpen)');
    return answers;
  }
  throw new RpcError(JsonRpcCode.UpstreamUnavailable, failures.join('; '));
}
