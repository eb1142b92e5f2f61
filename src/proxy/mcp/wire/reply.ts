/**
 * What the gateway answers one HTTP request with, before it becomes bytes. The layers below the
 * entry (service.ts) return a Reply; only the entry turns it into the HTTP response, so how replies
 * are written is decided in one place (src/proxy/reply-writer.ts writes them to node:http).
 */

export type Reply =
  /** A JSON value the gateway made; serialized when sent. */
  | {
      readonly kind: 'json';
      readonly status: number;
      readonly body: unknown;
      readonly headers?: Readonly<Record<string, string>>;
    }
  /**
   * A JSON message as an upstream sent it, forwarded unparsed; or in parts, spliced
   * (wire/answer-splice.ts), the first part holding the message's start up to its result.
   */
  | {
      readonly kind: 'bytes';
      readonly status: number;
      readonly body: Uint8Array | readonly Uint8Array[];
      readonly headers?: Readonly<Record<string, string>>;
    }
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
      readonly headers?: Readonly<Record<string, string>>;
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

/** A Reply rather than some other answer a layer may give (policy's Access). */
export function isReply(value: object): value is Reply {
  return 'kind' in value;
}

/** `reply` with `headers` added to its own (which they replace when named the same). */
export function withHeaders(reply: Reply, headers: Readonly<Record<string, string>>): Reply {
  return { ...reply, headers: reply.headers ? { ...reply.headers, ...headers } : headers };
}

/** A `bytes` reply's body as one buffer (parts are joined: for the rare reader of a whole body). */
export function wholeBytes(body: Uint8Array | readonly Uint8Array[]): Uint8Array {
  return body instanceof Uint8Array ? body : Buffer.concat(body);
}
