/**
 * Run one operation on several targets in parallel, each under its own deadline, and apply the
 * backend's failureMode: FailClosed fails the request naming the failed targets, FailOpen skips
 * them (unless every target failed). Also the two bounded waits the multiplexer uses.
 */
import { JsonRpcCode } from '../../shared/errors.js';
import type { McpTarget } from '../../shared/table.js';
import { toUpstreamError } from '../upstream/errors.js';
import type { Exchange } from './context.js';
import { RpcError } from './jsonrpc.js';

export interface Answer<T> {
  readonly target: McpTarget;
  readonly value: T;
}

export async function fanOut<T>(
  ex: Exchange,
  targets: readonly McpTarget[],
  run: (target: McpTarget, signal: AbortSignal) => Promise<T>,
): Promise<Answer<T>[]> {
  const deadline = withDeadline(ex.signal, ex.deps.fanoutTimeoutMs);
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
  const failOpen = ex.backend.failureMode === 'FailOpen';
  if (failOpen && answers.length > 0) {
    ex.deps.logger.warn({ backend: ex.backend.id, failures }, 'targets skipped (FailOpen)');
    return answers;
  }
  throw new RpcError(JsonRpcCode.UpstreamUnavailable, failures.join('; '));
}

/**
 * A signal that aborts after `ms` or when `parent` does. Built by hand because signals from
 * AbortSignal.any() over AbortSignal.timeout() can be garbage-collected before they fire (Node 20),
 * which silently turns a deadline into none.
 */
export function withDeadline(parent: AbortSignal, ms: number): { signal: AbortSignal; clear: () => void } {
  const controller = new AbortController();
  const onAbort = () => controller.abort(parent.reason);
  const timer = setTimeout(() => {
    controller.abort(new DOMException(`deadline of ${ms} ms passed`, 'TimeoutError'));
  }, ms);
  if (parent.aborted) onAbort();
  else parent.addEventListener('abort', onAbort, { once: true });
  return {
    signal: controller.signal,
    clear: () => {
      clearTimeout(timer);
      parent.removeEventListener('abort', onAbort);
    },
  };
}

/** Whether `pending` settles within `ms` (one timer and one promise: this runs for every call). */
export function settledWithin(pending: Promise<unknown>, ms: number): Promise<boolean> {
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, ms, false);
    const settled = () => {
      clearTimeout(timer);
      resolve(true);
    };
    pending.then(settled, settled);
  });
}
