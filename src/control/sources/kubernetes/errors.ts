/**
 * One shape for every failure a list or watch can end with (ApiException, FetchError, HTTP status,
 * timeouts), and the decision each calls for.
 */
export interface KubeError {
  /** HTTP status, when the server answered. */
  status?: number;
  /**
   * Node/network error code (ECONNRESET, ...) or our own: CONNECT_TIMEOUT, INACTIVITY, PREMATURE_CLOSE,
   * LIST_TIMEOUT.
   */
  code?: string;
  /** metav1.Status reason (Expired, Forbidden, ...), when the server sent one. */
  reason?: string;
  message: string;
  retryAfterMs?: number;
}

export type ErrorAction = 'relist' | 'forbidden' | 'not-found' | 'retry';

export function classify(error: KubeError): ErrorAction {
  switch (error.status) {
    case 410:
      return 'relist';
    case 403:
      return 'forbidden';
    case 404:
      return 'not-found';
    default:
      // Network errors, timeouts, 401 (token rotation), 408, 429, 5xx, and anything else: retry forever.
      return 'retry';
  }
}

/** Short text for readiness and logs: `403 Forbidden: ...`, `ECONNRESET: ...`. */
export function describe(error: KubeError): string {
  const head =
    error.status !== undefined ? `${error.status}${error.reason ? ` ${error.reason}` : ''}` : error.code;
  return head ? `${head}: ${error.message}` : error.message;
}

interface StatusBody {
  message?: unknown;
  reason?: unknown;
}

/** Parse a metav1.Status body (raw text or object) into reason and message, when it is one. */
export function parseStatus(body: unknown): { reason?: string; message?: string } {
  let value: unknown = body;
  if (typeof body === 'string') {
    try {
      value = JSON.parse(body);
    } catch {
      return { message: body.slice(0, 200) || undefined };
    }
  }
  if (typeof value !== 'object' || value === null) return {};
  const status = value as StatusBody;
  return {
    reason: typeof status.reason === 'string' ? status.reason : undefined,
    message: typeof status.message === 'string' ? status.message : undefined,
  };
}

export function retryAfterMs(value: unknown): number | undefined {
  const seconds = Number(value);
  return Number.isFinite(seconds) && seconds >= 0 ? seconds * 1000 : undefined;
}

/** Convert whatever a generated client threw (ApiException, FetchError, AbortError) into a KubeError. */
export function toKubeError(err: unknown): KubeError {
  const e = (err ?? {}) as {
    code?: unknown;
    body?: unknown;
    headers?: Record<string, string>;
    message?: unknown;
    name?: unknown;
    type?: unknown;
  };
  if (typeof e.code === 'number') {
    const status = parseStatus(e.body);
    return {
      status: e.code,
      reason: status.reason,
      message: status.message ?? `HTTP ${e.code}`,
      retryAfterMs: retryAfterMs(e.headers?.['retry-after']),
    };
  }
  const message = typeof e.message === 'string' ? e.message : String(err);
  const code = typeof e.code === 'string' ? e.code : typeof e.name === 'string' ? e.name : undefined;
  return { code, message };
}
