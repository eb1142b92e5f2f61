/** The outbound rewrite of one target's messages for this request's session and backend. */
import { shouldPrefix } from '../rewrite/naming.js';
import { outbound, type Rewrite } from '../rewrite/outbound.js';
import type { SessionContext } from './context.js';

export function outboundFor(cx: SessionContext, target: string): Rewrite {
  const { backend, session, toClient } = cx;
  const rewrite = outbound(target, shouldPrefix(backend.prefixMode, backend.targets.length), (notification) =>
    session.events.heard(target, notification),
  );
  return toClient ? (message) => toClient(rewrite(message)) : rewrite;
}
