/**
 * One active health probe of one target (hop/health.ts decides when): a 2026-07-28 target is asked
 * `server/discover`, a 2025 target `ping` outside any session — a stateful server refuses that with
 * a 4xx, which still shows it serving. The hop reports its own outcome to Health (upstream-call.ts).
 * Legacy HTTP+SSE targets have no request outside their event stream: they are never probed.
 */
import { type Deps, OPEN_ACCESS } from './context.js';
import type { Probe } from './health.js';
import { pickEndpoint } from './targets.js';
import { awaitResponse, post } from './upstream-call.js';

export function healthProbe(deps: Deps): Probe {
  return async (backend, target) => {
    if (target.protocol === 'SSE') return;
    const cx = { deps, backend, access: OPEN_ACCESS };
    const signal = AbortSignal.timeout(deps.fanoutTimeoutMs);
    const endpoint = pickEndpoint(target);
    const era = await deps.eras.of(cx, target, endpoint, signal);
    const modern = era.kind === 'modern';
    const method = modern ? 'server/discover' : 'ping';
    const hop = { endpoint, sessionId: undefined, protocolVersion: modern ? era.version : undefined };
    const body = JSON.stringify({ jsonrpc: '2.0', id: 'mcplane-health', method, params: {} });
    await awaitResponse(await post(cx, target, hop, method, body, signal), target.name);
  };
}
