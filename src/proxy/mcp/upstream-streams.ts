/**
 * Merge the targets' own server→client streams (upstream GET) into the session's events: upstream
 * list_changed, resource updates, logging and server requests reach the client, rewritten like any
 * multiplexed message. A target without a stream (405) or whose stream ends is left alone; the
 * next client GET tries again.
 */
import type { McpTarget } from '../../shared/table.js';
import { sseMessages as readSse } from '../upstream/read.js';
import type { SessionExchange } from './context.js';
import { isTransparent } from './naming.js';
import { outbound } from './server-requests.js';
import type { TargetSession } from './session.js';

export function attachUpstreamStream(ex: SessionExchange, target: McpTarget, state: TargetSession): void {
  const { session, deps, backend } = ex;
  const events = session.events;
  if (state.sessionId === undefined) return;
  const signal = events.listen(target.name);
  if (!signal) return;
  const rewrite = isTransparent(backend.prefixMode, backend.targets.length)
    ? undefined
    : outbound(ex, target.name);
  (async () => {
    const body = await deps.upstreams.for(target).listen({ target, signal, ...state });
    if (!body) return;
    for await (const message of readSse(body, target.name)) {
      if (!events.send(rewrite ? rewrite(message) : message)) break;
    }
  })()
    .catch((error: unknown) => {
      if (signal.aborted) return;
      deps.logger.debug(
        { backend: backend.id, target: target.name, err: error },
        'upstream event stream ended',
      );
    })
    .finally(() => events.ended(target.name, signal));
}

/** Open the event stream of every started target that has none yet (the session must be active). */
export function attachUpstreamStreams(ex: SessionExchange): void {
  for (const target of ex.backend.targets) {
    const state = ex.session.targets.get(target.name);
    if (state) attachUpstreamStream(ex, target, state);
  }
}
