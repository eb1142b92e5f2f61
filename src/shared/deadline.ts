/**
 * Bounded waits both halves use. Built by hand rather than with AbortSignal.any() over
 * AbortSignal.timeout(): on Node 20 such a combined signal can be garbage-collected before its
 * timer fires, which silently turns a deadline into none.
 */

/** A signal that aborts after `ms` or when `parent` does; `clear()` releases the timer and listener. */
export function withDeadline(
  parent: AbortSignal | undefined,
  ms: number,
): { signal: AbortSignal; clear: () => void } {
  const controller = new AbortController();
  const onAbort = () => controller.abort(parent?.reason);
  const timer = setTimeout(() => {
    controller.abort(new DOMException(`deadline of ${ms} ms passed`, 'TimeoutError'));
  }, ms);
  if (parent?.aborted) onAbort();
  else parent?.addEventListener('abort', onAbort, { once: true });
  return {
    signal: controller.signal,
    clear: () => {
      clearTimeout(timer);
      parent?.removeEventListener('abort', onAbort);
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

/** A duration as a flag gives it (`25s`, `1500ms`, `2m`), for messages that name a flag's value. */
export function formatDuration(ms: number): string {
  if (ms > 0 && ms % 3_600_000 === 0) return `${ms / 3_600_000}h`;
  if (ms > 0 && ms % 60_000 === 0) return `${ms / 60_000}m`;
  if (ms % 1000 === 0) return `${ms / 1000}s`;
  return `${ms}ms`;
}
