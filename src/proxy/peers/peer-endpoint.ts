/**
 * The admin server's `/peer/revocations`: `POST` takes revocations a peer pushes, `GET` answers a
 * peer that pulls (all of them, or with `?since=<ms>` those added since). Every request must carry a
 * valid peer MAC (peer-auth.ts); one without gets 401 and changes nothing.
 */
import type { Logger } from '../../shared/logger.js';
import type { Metrics } from '../../shared/metrics.js';
import type { Revocations } from '../mcp/index.js';
import { PEER_AUTH_HEADER, type PeerAuth } from './peer-auth.js';
import { MAX_PUSH_BYTES, PEER_PATH, type PullMessage, pushSchema } from './peer-messages.js';

export interface PeerEndpointOptions {
  readonly auth: PeerAuth;
  readonly revocations: Revocations;
  readonly logger: Logger;
  readonly metrics: Metrics;
}

const text = (status: number, body: string) =>
  new Response(`${body}\n`, { status, headers: { 'content-type': 'text/plain' } });

/** The body as text, or undefined when it is longer than `max` bytes (read no further). */
async function bodyWithin(request: Request, max: number): Promise<string | undefined> {
  if (Number(request.headers.get('content-length') ?? 0) > max) return undefined;
  if (!request.body) return '';
  const chunks: Uint8Array[] = [];
  let size = 0;
  for await (const chunk of request.body) {
    size += chunk.byteLength;
    if (size > max) return undefined;
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString('utf8');
}

export function peerEndpoint(options: PeerEndpointOptions): (request: Request) => Promise<Response> {
  const { auth, revocations, logger, metrics } = options;
  const count = (result: 'ok' | 'unauthorized' | 'invalid') =>
    metrics.peerRequests.labels('receive', result).inc();
  return async (request) => {
    const url = new URL(request.url);
    if (url.pathname !== PEER_PATH) return text(404, 'not found');
    const header = request.headers.get(PEER_AUTH_HEADER);
    const path = `${url.pathname}${url.search}`;
    if (request.method === 'GET') {
      if (!auth.verifyRequest(header, 'GET', path, '')) {
        count('unauthorized');
        return text(401, 'peer authentication failed');
      }
      const since = Number(url.searchParams.get('since') ?? 0);
      const answer: PullMessage = {
        floor: revocations.floor,
        revoked: revocations.entries(Number.isFinite(since) ? since : 0).map(([id, s]) => [id, s]),
        now: Date.now(),
      };
      const body = JSON.stringify(answer);
      count('ok');
      return new Response(body, {
        headers: { 'content-type': 'application/json', [PEER_AUTH_HEADER]: auth.signResponse(header!, body) },
      });
    }
    if (request.method !== 'POST') return text(405, 'GET or POST');
    const body = await bodyWithin(request, MAX_PUSH_BYTES);
    if (body === undefined) {
      count('invalid');
      return text(413, `a push is at most ${MAX_PUSH_BYTES} bytes`);
    }
    if (!auth.verifyRequest(header, 'POST', path, body)) {
      count('unauthorized');
      logger.warn('peer push refused: missing or invalid MAC');
      return text(401, 'peer authentication failed');
    }
    let parsed: ReturnType<typeof pushSchema.safeParse>;
    try {
      parsed = pushSchema.safeParse(JSON.parse(body));
    } catch {
      parsed = pushSchema.safeParse(undefined);
    }
    if (!parsed.success) {
      count('invalid');
      return text(400, 'not a revocation push');
    }
    revocations.merge(parsed.data.revoked, parsed.data.floor);
    count('ok');
    return new Response(null, { status: 204 });
  };
}
