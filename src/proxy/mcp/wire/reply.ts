/**
 * What the gateway answers one HTTP request with, before it becomes bytes. The layers below the
 * entry (service.ts) return a Reply; only the entry turns it into the HTTP response, so how replies
 * are written (web Response today) is decided in one place.
 */

export type Reply =
  /** A JSON value the gateway made; serialized when sent. */
  | {
      readonly kind: 'json';
      readonly status: number;
      readonly body: unknown;
      readonly headers?: Readonly<Record<string, string>>;
    }
  /** A JSON message as an upstream sent it, forwarded unparsed. */
  | { readonly kind: 'bytes'; readonly status: number; readonly body: Uint8Array }
  /** No body (202 for notifications and responses, 200 for DELETE, 405). */
  | { readonly kind: 'empty'; readonly status: number; readonly headers?: Readonly<Record<string, string>> }
  /** A body sent as it is produced: an SSE stream, or a large JSON reply passed through. */
  | {
      readonly kind: 'stream';
      readonly type: 'sse' | 'json';
      readonly body: ReadableStream<Uint8Array>;
      /** The upstream's Content-Length, for a JSON reply passed through. */
      readonly length?: number;
      /** Settles when the last byte is sent: 'error' when the stream broke off. */
      readonly ended: Promise<'ok' | 'error'>;
    };

export type StreamReply = Extract<Reply, { kind: 'stream' }>;

export function jsonReply(body: unknown, status = 200, headers?: Readonly<Record<string, string>>): Reply {
  return headers ? { kind: 'json', status, body, headers } : { kind: 'json', status, body };
}

export const accepted = (): Reply => ({ kind: 'empty', status: 202 });

/** A stream reply and the function that ends it (called once by whoever owns the stream). */
export function streamReply(
  type: 'sse' | 'json',
  body: ReadableStream<Uint8Array>,
  length?: number,
): { reply: StreamReply; end: (outcome: 'ok' | 'error') => void } {
  let end: (outcome: 'ok' | 'error') => void = () => {};
  const ended = new Promise<'ok' | 'error'>((resolve) => {
    end = resolve;
  });
  const reply: StreamReply =
    length === undefined
      ? { kind: 'stream', type, body, ended }
      : { kind: 'stream', type, body, length, ended };
  return { reply, end };
}

const JSON_HEADERS = { 'content-type': 'application/json' } as const;

export const SSE_HEADERS = {
  'content-type': 'text/event-stream',
  'cache-control': 'no-cache, no-transform',
  'x-accel-buffering': 'no',
} as const;

/** The web Response the HTTP layer writes. */
export function toResponse(reply: Reply): Response {
  switch (reply.kind) {
    case 'json':
      return new Response(JSON.stringify(reply.body), {
        status: reply.status,
        headers: reply.headers ? { ...JSON_HEADERS, ...reply.headers } : JSON_HEADERS,
      });
    case 'bytes':
      return new Response(reply.body, { status: reply.status, headers: JSON_HEADERS });
    case 'empty':
      return new Response(null, reply.headers ? { status: reply.status, headers: reply.headers } : reply);
    case 'stream':
      if (reply.type === 'sse') return new Response(reply.body, { status: 200, headers: SSE_HEADERS });
      return new Response(reply.body, {
        status: 200,
        headers: { ...JSON_HEADERS, 'content-length': String(reply.length) },
      });
  }
}
