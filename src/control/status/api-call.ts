/**
 * Small helpers around @kubernetes/client-node 1.4.0 calls: per-request timeouts, content types, and
 * reading the API server's Status out of an ApiException (whose body is raw text).
 */
import {
  type ConfigurationOptions,
  Observable,
  PatchStrategy,
  type RequestContext,
  type ResponseContext,
  setHeaderOptions,
} from '@kubernetes/client-node';

/**
 * ConfigurationOptions that abort the request after `timeoutMs` (1.4.0 has no request timeout of its
 * own, so a hung API server would otherwise stall the caller forever), optionally with a Content-Type
 * and a caller's signal (abort on shutdown).
 */
export function callOptions(
  timeoutMs: number,
  contentType?: PatchStrategy,
  signal?: AbortSignal,
): ConfigurationOptions {
  const timeout = {
    pre: (ctx: RequestContext) => {
      const deadline = AbortSignal.timeout(timeoutMs);
      ctx.setSignal(signal ? AbortSignal.any([deadline, signal]) : deadline);
      return new Observable(Promise.resolve(ctx));
    },
    post: (ctx: ResponseContext) => new Observable(Promise.resolve(ctx)),
  };
  const base: ConfigurationOptions = { middleware: [timeout], middlewareMergeStrategy: 'append' };
  return contentType ? setHeaderOptions('Content-Type', contentType, base) : base;
}

/** Merge patch: the generated patch methods default to JSON Patch, which a merge-shaped body fails. */
export function mergePatchOptions(timeoutMs: number): ConfigurationOptions {
  return callOptions(timeoutMs, PatchStrategy.MergePatch);
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
