/**
 * Merge the targets' own server→client streams (upstream GET) into the session's GET stream:
 * upstream list_changed, resource updates, logging and server requests reach the client, rewritten
 * like any multiplexed message. A target without a stream (405) or whose stream ends is left alone.
 */
import type { McpTarget } from '../../shared/table.js';
import { sseMessages as readSse } from '../upstream/read.js';
import type { SessionExchange } from './context.js';
import { isTransparent } from './naming.js';
import { outbound } from './server-requests.js';
import type { TargetSession } from './session.js';

export function attachUpstreamStream(ex: SessionExchange, target: McpTarget, state: TargetSession): void {
  const { session, deps, backend } = ex;
  const sink = session.stream;
  const abort = session.streamAbort;
  if (!sink || sink.closed || !abort || state.sessionId === undefined) return;
  const rewrite = isTransparent(backend.prefixMode, backend.targets.length)
    ? undefined
    : outbound(ex, target.name);
  (async () => {
    const body = await deps.upstreams.for(target).listen({ target, signal: abort.signal, ...state });
    if (!body) return;
    for await (const message of readSse(body, target.name)) {
      if (!sink.send(rewrite ? rewrite(message) : message)) break;
    }
  })().catch((error: unknown) => {
    if (abort.signal.aborted) return;
    deps.logger.debug(
      { backend: backend.id, target: target.name, err: error },
      'upstream event stream ended',
    );
  });
}

export function attachUpstreamStreams(ex: SessionExchange): void {
  for (const target of ex.backend.targets) {
    const state = ex.session.targets.get(target.name);
    if (state) attachUpstreamStream(ex, target, state);
  }
}
