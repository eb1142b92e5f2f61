/**
 * Small helpers around @kubernetes/client-node 1.4.0 calls: per-call deadlines, content types, and
 * reading the API server's Status out of an ApiException (whose body is raw text).
 */
import {
  type ConfigurationOptions,
  Observable,
  type PatchStrategy,
  type RequestContext,
  type ResponseContext,
  setHeaderOptions,
} from '@kubernetes/client-node';
import { withDeadline } from '../../shared/deadline.js';

export interface CallOptions {
  /** E.g. PatchStrategy.MergePatch: the generated patch methods default to JSON Patch. */
  readonly contentType?: PatchStrategy;
  /** Aborts the call too (shutdown). */
  readonly signal?: AbortSignal;
}

/**
 * Run one client-node call under a deadline of `timeoutMs`: 1.4.0 has no request timeout of its own,
 * so a hung API server would otherwise stall the caller for ever. The deadline covers the whole call,
 * body included, and its timer is released as soon as the call settles.
 */
export async function timedCall<T>(
  timeoutMs: number,
  call: (options: ConfigurationOptions) => Promise<T>,
  { contentType, signal }: CallOptions = {},
): Promise<T> {
  const deadline = withDeadline(signal, timeoutMs);
  try {
    return await call(requestOptions(deadline.signal, contentType));
  } finally {
    deadline.clear();
  }
}

/** ConfigurationOptions that attach `signal` to the request, and a Content-Type when given. */
function requestOptions(signal: AbortSignal, contentType: PatchStrategy | undefined): ConfigurationOptions {
  const attach = {
    pre: (ctx: RequestContext) => {
      ctx.setSignal(signal);
      return new Observable(Promise.resolve(ctx));
    },
    post: (ctx: ResponseContext) => new Observable(Promise.resolve(ctx)),
  };
  const base: ConfigurationOptions = { middleware: [attach], middlewareMergeStrategy: 'append' };
  return contentType ? setHeaderOptions('Content-Type', contentType, base) : base;
}

export interface ApiFailure {
  /** HTTP status, or undefined for a transport failure (refused, reset, timed out). */
  readonly code: number | undefined;
  /** The server's Status message, or the transport error's message. */
  readonly message: string;
  readonly reason: string | undefined;
}

/** Normalise anything a client-node call rejects with. */
export function apiFailure(err: unknown): ApiFailure {
  if (typeof err === 'object' && err !== null && 'code' in err && typeof err.code === 'number') {
    const body = 'body' in err ? err.body : undefined;
    const status = parseStatus(body);
    return {
      code: err.code,
      message: status?.message ?? (err instanceof Error ? err.message : String(err)),
      reason: status?.reason,
    };
  }
  if (err instanceof Error) {
    const message =
      err.name === 'AbortError' || err.name === 'TimeoutError' ? 'request timed out' : err.message;
    return { code: undefined, message, reason: undefined };
  }
  return { code: undefined, message: String(err), reason: undefined };
}

function parseStatus(body: unknown): { message?: string; reason?: string } | undefined {
  let value = body;
  if (typeof body === 'string') {
    try {
      value = JSON.parse(body);
    } catch {
      return body ? { message: body.slice(0, 500) } : undefined;
    }
  }
  if (typeof value !== 'object' || value === null) return undefined;
  const { message, reason } = value as Record<string, unknown>;
  return {
    ...(typeof message === 'string' ? { message } : {}),
    ...(typeof reason === 'string' ? { reason } : {}),
  };
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
