/**
 * Pure pieces of the legacy HTTP+SSE transport (protocol 2024-11-05): where the `endpoint` event
 * says to POST, what an outgoing message is, and how one message is framed as an SSE event.
 */

export type RpcId = string | number;

/** A JSON-RPC id (or progress token) as a map key: 1 and "1" are different ids. */
export function idKey(id: RpcId): string {
  return typeof id === 'number' ? `n${id}` : `s${id}`;
}

function isId(value: unknown): value is RpcId {
  return typeof value === 'string' || (typeof value === 'number' && Number.isFinite(value));
}

function asRecord(value: unknown): Record<string, unknown> | undefined {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
    ? (value as Record<string, unknown>)
    : undefined;
}

/** The http(s) origin of `host:port` the way URL.origin spells it (default ports dropped). */
export function originOf(host: string, port: number): string {
  const bracketed = host.includes(':') && !host.startsWith('[') ? `[${host}]` : host;
  return new URL(`http://${bracketed}:${port}`).origin;
}

/**
 * Resolve the `endpoint` event's data (absolute URL, `?sessionId=…`, or a path) against the SSE
 * URL. Only same-origin endpoints are accepted: an upstream must not steer the gateway (and the
 * client's messages) to another host.
 */
export function resolveEndpoint(
  data: string,
  streamUrl: string,
  origins: readonly string[],
  target: string,
): { readonly path: string } | { readonly error: string } {
  const text = data.trim();
  let url: URL;
  try {
    if (text === '') throw new Error('empty');
    url = new URL(text, streamUrl);
  } catch {
    return { error: `target "${target}" sent an endpoint event that is not a URL` };
  }
  if (!origins.includes(url.origin)) {
    return {
      error: `target "${target}" announced its message endpoint on another origin; only same-origin endpoints are accepted`,
    };
  }
  return { path: url.pathname + url.search };
}

/** What the gateway is about to POST, as far as routing its answer needs. */
export type Outgoing =
  | {
      readonly kind: 'request';
      readonly message: Record<string, unknown>;
      readonly id: RpcId;
      readonly method: string;
      /** idKey() of params._meta.progressToken, when the client asked for progress. */
      readonly progressKey: string | undefined;
    }
  | { readonly kind: 'cancel'; readonly message: Record<string, unknown>; readonly requestId: RpcId }
  | { readonly kind: 'other' };

export function classifyOutgoing(body: string | Uint8Array): Outgoing {
  let parsed: unknown;
  try {
    parsed = JSON.parse(typeof body === 'string' ? body : Buffer.from(body).toString('utf8'));
  } catch {
    return { kind: 'other' };
  }
  const message = asRecord(parsed);
  if (!message || typeof message.method !== 'string') return { kind: 'other' };
  const params = asRecord(message.params);
  if (isId(message.id)) {
    const token = asRecord(params?._meta)?.progressToken;
    const progressKey = isId(token) ? idKey(token) : undefined;
    return { kind: 'request', message, id: message.id, method: message.method, progressKey };
  }
  if (message.method === 'notifications/cancelled' && isId(params?.requestId)) {
    return { kind: 'cancel', message, requestId: params.requestId };
  }
  return { kind: 'other' };
}

/** What the upstream sent on its event stream, as far as routing it needs. */
export type Incoming =
  | { readonly kind: 'response'; readonly id: RpcId; readonly message: Record<string, unknown> }
  | { readonly kind: 'progress'; readonly tokenKey: string }
  | { readonly kind: 'unsolicited' };

export function classifyIncoming(message: unknown): Incoming | undefined {
  const m = asRecord(message);
  if (!m) return undefined;
  if (typeof m.method !== 'string') {
    return isId(m.id) ? { kind: 'response', id: m.id, message: m } : undefined;
  }
  if (m.method === 'notifications/progress' && m.id === undefined) {
    const token = asRecord(m.params)?.progressToken;
    if (isId(token)) return { kind: 'progress', tokenKey: idKey(token) };
  }
  return { kind: 'unsolicited' };
}

/** One JSON-RPC message as an SSE `message` event (multi-line JSON gets one data line per line). */
export function frame(json: string): Buffer {
  const data = json.includes('\n') ? json.replaceAll('\n', '\ndata: ') : json;
  return Buffer.from(`event: message\ndata: ${data}\n\n`);
}
