/**
 * The admin port (separate from listener ports): /metrics for Prometheus, /healthz for liveness,
 * /readyz for readiness, which explains itself when not ready, and /peer/revocations where replicas
 * exchange deleted sessions (authenticated: src/proxy/peers/).
 */
import { Hono } from 'hono';
import type { Metrics } from '../shared/metrics.js';

export interface Readiness {
  readonly ready: boolean;
  /** Why not ready (or what is degraded), e.g. `{ table: 'not built yet', HTTPRoute: 'syncing' }`. */
  readonly details: Readonly<Record<string, string>>;
}

export function createAdminApp(
  metrics: Metrics,
  readiness: () => Readiness,
  peers?: (request: Request) => Promise<Response>,
): Hono {
  const app = new Hono();
  app.get('/metrics', async () => {
    const body = await metrics.registry.metrics();
    return new Response(body, { headers: { 'content-type': metrics.registry.contentType } });
  });
  app.get('/healthz', () => new Response('ok\n', { headers: { 'content-type': 'text/plain' } }));
  app.get('/readyz', (c) => {
    const state = readiness();
    return c.json({ ready: state.ready, ...state.details }, state.ready ? 200 : 503);
  });
  if (peers) app.all('/peer/revocations', (c) => peers(c.req.raw));
  app.notFound((c) => c.text('mcplane admin: /metrics, /healthz, /readyz\n', 404));
  return app;
}
